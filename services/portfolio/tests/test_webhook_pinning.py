"""A delivery connects to the address that was checked, with the URL's host in Host: a name
that re-resolves between the check and the connection (DNS rebinding) is never looked up
again."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest
from cryptography.fernet import Fernet
from portfolio.adapters.secrets import SecretBox
from portfolio.adapters.webhooks import RetryPolicy, WebhookSender
from portfolio.domain.webhook_targets import TargetRefused
from sqlalchemy import create_engine


class Receiver:
    def __init__(self) -> None:
        self.hosts: list[str] = []
        self.paths: list[str] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                self.rfile.read(int(self.headers["Content-Length"]))
                receiver.hosts.append(self.headers["Host"])
                receiver.paths.append(self.path)
                self.send_response(204)
                self.end_headers()

            def log_message(self, *_: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    started = Receiver()
    yield started
    started.server.shutdown()


class Rebinding:
    """A resolver whose answers change: first the receiver's address, then anything else."""

    def __init__(self, *answers: str) -> None:
        self.answers = list(answers)
        self.asked: list[str] = []

    async def __call__(self, host: str) -> list[str]:
        self.asked.append(host)
        return [self.answers.pop(0) if len(self.answers) > 1 else self.answers[0]]


def sender(resolve: Rebinding, *, allow_private: bool) -> WebhookSender:
    return WebhookSender(
        create_engine("sqlite://"),
        SecretBox([Fernet.generate_key().decode()]),
        httpx.AsyncClient(trust_env=False),
        RetryPolicy(timeout_s=5),
        allow_private=allow_private,
        resolve=resolve,
    )


def test_a_delivery_goes_to_the_checked_address_with_the_names_host_header(
    receiver: Receiver,
) -> None:
    # "hooks.rebind.invalid" exists in no DNS: the request can only have used the pinned address
    resolve = Rebinding("127.0.0.1", "10.0.0.1")
    url = f"http://hooks.rebind.invalid:{receiver.port}/hook?x=1"
    answer = asyncio.run(sender(resolve, allow_private=True).post(url, b"{}", {}))
    assert answer.status_code == 204
    assert receiver.hosts == [f"hooks.rebind.invalid:{receiver.port}"]
    assert receiver.paths == ["/hook?x=1"]
    assert resolve.asked == ["hooks.rebind.invalid"]  # resolved once, for the check


def test_a_name_that_resolves_to_a_private_address_is_refused_before_any_connection(
    receiver: Receiver,
) -> None:
    resolve = Rebinding("127.0.0.1")
    url = f"http://hooks.rebind.invalid:{receiver.port}/hook"
    with pytest.raises(TargetRefused, match="not a public address"):
        asyncio.run(sender(resolve, allow_private=False).post(url, b"{}", {}))
    assert receiver.hosts == []
