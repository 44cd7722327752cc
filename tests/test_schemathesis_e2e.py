"""Property-based API testing with schemathesis against the merged OpenAPI document, through
nginx, on the whole running platform: no operation answers 5xx, responses conform to their
documented schemas, and every error body is the platform's `{"code": int, "message": str}`."""

from __future__ import annotations

import json
import os
import time
from collections import Counter
from dataclasses import dataclass
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.core.result import Ok
from schemathesis.core.transport import Response
from schemathesis.specs.openapi.checks import response_schema_conformance

from tests.stack import Stack

pytestmark = pytest.mark.e2e

MAX_EXAMPLES = int(os.environ.get("SCHEMATHESIS_MAX_EXAMPLES", "15"))
# Bulk cancel-all / close-all: they take no input to generate, and would only undo the
# fuzzer's own orders and positions mid-run (their item versions are fuzzed).
EXCLUDED = {("DELETE", "/v2/orders"), ("DELETE", "/v2/positions")}


@dataclass(frozen=True)
class Finding:
    operation: str
    mode: str
    check: str
    request: str
    status: int
    response: str
    sent: dict[str, Any] | None = None  # the whole request, for a reproducer

    def __str__(self) -> str:
        return (
            f"{self.operation} [{self.mode}] {self.check}\n  request: {self.request}\n"
            f"  answer: {self.status} {self.response}"
        )


def error_shape_problem(response: Response) -> str | None:
    """Every 4xx/5xx of the platform is `{"code": int, "message": str}`."""
    if response.status_code < 400:
        return None
    try:
        body = response.json()
    except ValueError:
        return "error body is not JSON"
    if not (
        isinstance(body, dict)
        and isinstance(body.get("code"), int)
        and isinstance(body.get("message"), str)
    ):
        return "error body is not {code: int, message: str}"
    return None


def send(case: Any, base_url: str, headers: dict[str, str]) -> Response:
    """Call the operation, waiting out nginx's rate limit (429 is not what is tested here)."""
    for _ in range(60):
        response: Response = case.call(base_url=base_url, headers=headers, timeout=60)
        if response.status_code != 429:
            return response
        time.sleep(0.25)
    return response


def describe(response: Response) -> str:
    request = response.request
    body = request.body
    if isinstance(body, bytes):
        body = body.decode(errors="replace")
    return f"{request.method} {request.url} {(body or '')[:300]}"


def fuzz(
    operation: Any,
    mode: GenerationMode,
    base_url: str,
    auth: dict[str, str],
    tally: Counter[int],
) -> list[Finding]:
    """Generated requests for one operation in one mode, and what the checks found."""
    name = f"{operation.method.upper()} {operation.path}"
    found: list[Finding] = []

    @given(case=operation.as_strategy(generation_mode=mode))
    @settings(
        max_examples=MAX_EXAMPLES,
        deadline=None,
        database=None,
        derandomize=True,
        suppress_health_check=list(HealthCheck),
        phases=[Phase.explicit, Phase.generate],
    )
    def exercise(case: Any) -> None:
        response = send(case, base_url, auth)
        tally[response.status_code] += 1
        problems = []
        if problem := error_shape_problem(response):
            problems.append(problem)
        try:
            case.validate_response(
                response, headers=auth, checks=[not_a_server_error, response_schema_conformance]
            )
        except (Exception, BaseExceptionGroup) as failure:  # schemathesis' FailureGroup
            problems.append(" ".join(str(failure).split("Reproduce with")[0].split())[:400])
        found.extend(
            Finding(
                name,
                mode.value,
                problem,
                describe(response),
                response.status_code,
                response.text[:300],
                sent=as_sent(response),
            )
            for problem in problems
        )

    try:
        exercise()
    except Unsatisfiable:
        assert mode is GenerationMode.NEGATIVE, name  # nothing there to make invalid
    return found


def as_sent(response: Response) -> dict[str, Any]:
    request = response.request
    body = request.body
    return {
        "method": request.method,
        "url": request.url,
        "content_type": request.headers.get("Content-Type"),
        "body": body.decode(errors="replace") if isinstance(body, bytes) else body,
    }


def test_no_operation_answers_5xx_or_breaks_its_documented_schema_under_generated_input(
    stack: Stack,
) -> None:
    stack.create_user("fuzzer", scopes="read,trade,admin")
    key = stack.keys["fuzzer"]
    auth = {"APCA-API-KEY-ID": key["key_id"], "APCA-API-SECRET-KEY": key["secret"]}
    with stack.client() as client:
        document = client.get("/openapi.json").json()
    assert document["info"]["x-missing-services"] == []
    schema = schemathesis.openapi.from_dict(document)
    findings: list[Finding] = []
    tally: Counter[int] = Counter()
    started = time.monotonic()
    tested = 0
    for result in schema.get_all_operations():
        if not isinstance(result, Ok):
            findings.append(Finding("?", "-", f"unloadable operation: {result.err()}", "", 0, ""))
            continue
        operation = result.ok()
        if (operation.method.upper(), operation.path) in EXCLUDED:
            continue
        tested += 1
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            # a few examples per operation and mode are enough to route a bug
            findings += fuzz(operation, mode, stack.url, auth, tally)[:3]
    elapsed = time.monotonic() - started
    if findings and (keep := os.environ.get("SCHEMATHESIS_FINDINGS_FILE")):
        with open(keep, "w") as out:
            for finding in findings:
                out.write(json.dumps({**finding.__dict__}) + "\n")
    print(f"schemathesis: {tested} operations, {sum(tally.values())} requests in {elapsed:.0f} s")
    print(f"statuses: {dict(sorted(tally.items()))}")
    assert tested >= 40
    assert tally[200] > 0
    assert not findings, "\n".join(map(str, findings)) + server_side_errors(stack)


def server_side_errors(stack: Stack) -> str:
    """nginx's error lines and the services' last tracebacks, to route a finding."""
    lines: list[str] = []
    for log in sorted((stack.var_dir / "log").glob("*.log")):
        text = log.read_text(errors="replace").splitlines()
        hits = [line for line in text if "Traceback" in line or "[error]" in line]
        for line in hits[-2:]:
            try:
                record = json.loads(line)
                line = f"{record.get('message')}: {record.get('error', '')[-1500:]}"
            except ValueError:
                pass
            lines.append(f"--- {log.name}: {line[-1800:]}")
    return "\n" + "\n".join(lines)


def test_a_json_body_over_nginxs_memory_buffer_gets_a_4xx_not_a_5xx(stack: Stack) -> None:
    with stack.client("alice") as client:
        answer = client.post("/webhooks", json={"url": "https://x.invalid/" + "a" * 20_000})
    assert answer.status_code == 422, answer.text


def test_the_merged_document_is_valid_openapi_that_schemathesis_can_load(stack: Stack) -> None:
    with stack.client() as client:
        document = client.get("/openapi.json").json()
    schema = schemathesis.openapi.from_dict(document)
    broken = [str(r.err()) for r in schema.get_all_operations() if not isinstance(r, Ok)]
    assert broken == []
    assert document["components"]["securitySchemes"].keys() >= {"ApcaKeyId", "ApcaSecret"}
