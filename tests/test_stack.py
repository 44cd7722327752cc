import os
import signal

import pytest

from tests.stack import Stack, private_var_dir, running_stack

SERVICES = ["gateway", "market-data", "index", "trading", "portfolio", "export"]


@pytest.mark.e2e
def test_every_service_answers_healthz_through_nginx(stack: Stack) -> None:
    with stack.client() as client:
        assert client.get("/healthz").status_code == 200
        for service in SERVICES:
            response = client.get(f"/healthz/{service}")
            assert response.status_code == 200, (service, response.text)


def _group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    return True


@pytest.mark.e2e
def test_make_down_leaves_no_process_behind() -> None:
    with private_var_dir() as var_dir:
        with running_stack(var_dir):
            pids = [int(p.read_text()) for p in (var_dir / "run").glob("*.pid")]
            assert len(pids) >= 13
        assert not any(_group_alive(pid) for pid in pids)
        assert not list((var_dir / "run").glob("*.pid"))


@pytest.mark.e2e
def test_readyz_through_nginx_is_200_when_every_service_is_ready(stack: Stack) -> None:
    with stack.client() as client:
        response = client.get("/readyz")
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["ready"] is True
    assert body["not_ready"] == []
    assert body["services"] == dict.fromkeys(SERVICES, "ready")
    # Each service's consumer lag, as it reports it: portfolio reads orders, accounts, ticks.
    groups = {c["group"]: c for c in body["bus"]["portfolio"]["consumers"]}
    assert {"portfolio-orders", "portfolio-accounts", "portfolio-ticks"} <= set(groups)
    assert all(c["lag"] is None or c["lag"] >= 0 for c in groups.values())


@pytest.mark.e2e
def test_readyz_through_nginx_names_the_services_that_are_not_ready() -> None:
    with private_var_dir() as var_dir, running_stack(var_dir) as stack:
        pids = {p.stem: int(p.read_text()) for p in (var_dir / "run").glob("*.pid")}
        # Frozen, not killed: the supervisor restarts a dead process within a second or two.
        os.killpg(pids["index"], signal.SIGSTOP)
        try:
            with stack.client() as client:
                response = client.get("/readyz")
        finally:
            os.killpg(pids["index"], signal.SIGCONT)
        assert response.status_code == 503, response.text
        body = response.json()
        assert body["ready"] is False
        assert body["not_ready"] == ["index"]
        assert body["services"]["trading"] == "ready"
