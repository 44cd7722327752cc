"""Webhook URLs: public http(s) only unless private networks are allowed."""

from __future__ import annotations

import pytest
from portfolio.domain.webhook_targets import TargetRefused, check_addresses, check_url


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:8080/hook",
        "http://localhost/hook",
        "http://api.localhost/hook",
        "http://[::1]/hook",
        "http://10.1.2.3/hook",
        "http://192.168.0.10/hook",
        "http://169.254.169.254/latest/meta-data",  # cloud metadata
        "http://0.0.0.0/hook",
        "http://[fd00::1]/hook",
        "ftp://hooks.example.com/hook",
        "hooks.example.com/hook",
        "https://user:pw@hooks.example.com/hook",
    ],
)
def test_private_local_and_malformed_targets_are_refused(url: str) -> None:
    with pytest.raises(TargetRefused):
        check_url(url, allow_private=False)


def test_public_targets_pass_and_private_ones_pass_when_allowed() -> None:
    assert check_url("https://Hooks.Example.com./alert", allow_private=False) == "hooks.example.com"
    assert check_url("http://93.184.216.34/x", allow_private=False) == "93.184.216.34"
    assert check_url("http://127.0.0.1:9/x", allow_private=True) == "127.0.0.1"


def test_resolved_addresses_are_checked_at_delivery() -> None:
    check_addresses(["93.184.216.34", "2606:2800:220:1::1"], allow_private=False)
    with pytest.raises(TargetRefused, match=r"10\.0\.0\.5"):
        check_addresses(["93.184.216.34", "10.0.0.5"], allow_private=False)
    with pytest.raises(TargetRefused):
        check_addresses(["fe80::1%eth0"], allow_private=False)
    check_addresses(["127.0.0.1"], allow_private=True)
