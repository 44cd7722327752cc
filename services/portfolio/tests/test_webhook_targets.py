"""Webhook URLs: public http(s) only unless private networks are allowed."""

from __future__ import annotations

import pytest
from portfolio.domain.webhook_targets import (
    Pinned,
    TargetRefused,
    check_addresses,
    check_url,
    pinned,
)


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
        "http://[::1/hook",  # unbalanced bracket: urlsplit raises "Invalid IPv6 URL"
        "http://\u00c9;]_J?/",
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


@pytest.mark.parametrize(
    "url",
    [
        "http://2130706433/",  # 127.0.0.1 as one decimal number
        "http://0x7f000001/",  # as one hex number
        "http://127.1/",  # short form
        "http://127.0.1/",
        "http://0177.0.0.1/",  # octal first part
        "http://0x7f.0.0.1/",
        "http://127.000.000.001/",
        "http://1.2.3.04/",
        "http://3627734562/",  # a public address written as a number is still refused
        "http://evil.example.0x10/",
    ],
)
def test_numeric_and_short_ip_forms_are_refused_whether_private_networks_are_allowed_or_not(
    url: str,
) -> None:
    for allow_private in (False, True):
        with pytest.raises(TargetRefused, match="numeric or short IP form"):
            check_url(url, allow_private=allow_private)


@pytest.mark.parametrize(
    "url",
    [
        "http://[::ffff:127.0.0.1]/",  # IPv4-mapped
        "http://[::ffff:7f00:1]/",
        "http://[::127.0.0.1]/",  # IPv4-compatible
        "http://[::ffff:10.0.0.1]/",
        "http://[2002:7f00:1::]/",  # 6to4 of 127.0.0.1
        "http://[64:ff9b::a9fe:a9fe]/",  # NAT64 of 169.254.169.254
        "http://[::]/",
        "http://[fe80::1]/",
    ],
)
def test_ipv6_forms_of_private_ipv4_addresses_are_refused(url: str) -> None:
    with pytest.raises(TargetRefused):
        check_url(url, allow_private=False)


def test_an_ipv6_form_of_a_public_ipv4_address_passes() -> None:
    assert check_url("http://[2002:5db8:d822::]/", allow_private=False) == "2002:5db8:d822::"


def test_a_pinned_request_names_the_checked_address_and_keeps_the_host_for_host_and_sni() -> None:
    target = pinned("https://hooks.example.com:8443/a/b?x=1", "93.184.216.34")
    assert target == Pinned(
        "https://93.184.216.34:8443/a/b?x=1", "hooks.example.com:8443", "hooks.example.com"
    )
    v6 = pinned("http://hooks.example.com/h", "2606:2800:220:1::1")
    assert (v6.url, v6.host_header) == ("http://[2606:2800:220:1::1]/h", "hooks.example.com")
