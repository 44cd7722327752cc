"""Where webhooks may point: public http(s) addresses only, unless the operator allows
private networks (WEBHOOK_ALLOW_PRIVATE_NETWORKS, for receivers on the same host or LAN).

Without it, a user could make the worker POST to anything it can reach: the loopback
services, a cloud metadata address, the LAN (server-side request forgery). A URL is checked
when it is registered (its scheme, and its host when that is an address or ``localhost``)
and again before every delivery, on the addresses its host name resolves to then."""

from __future__ import annotations

import ipaddress
from urllib.parse import urlsplit

LOCAL_NAMES = ("localhost", "localhost.localdomain", "ip6-localhost", "ip6-loopback")


class TargetRefused(ValueError):
    """The URL may not receive webhooks; the message says why."""


def check_url(url: str, *, allow_private: bool) -> str:
    """The URL's host name, if the URL itself is acceptable (its addresses are checked at
    delivery, see ``check_addresses``); raises TargetRefused otherwise."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise TargetRefused("url must be an absolute http(s) URL")
    if parts.username or parts.password:
        raise TargetRefused("url must not carry credentials (use the signing secret)")
    host = parts.hostname.rstrip(".").lower()
    if not allow_private:
        if host in LOCAL_NAMES or host.endswith(".localhost"):
            raise TargetRefused(f"url host {host!r} is local: webhooks go to public addresses")
        address = _address(host)
        if address is not None:
            check_addresses([address], allow_private=False)
    return host


def check_addresses(addresses: list[str], *, allow_private: bool) -> None:
    """Refuse when any address the host resolves to is not public."""
    if allow_private:
        return
    for text in addresses:
        address = ipaddress.ip_address(text.split("%", 1)[0])
        if not address.is_global or address.is_multicast:
            raise TargetRefused(f"url resolves to {address}, which is not a public address")


def _address(host: str) -> str | None:
    try:
        return str(ipaddress.ip_address(host.strip("[]")))
    except ValueError:
        return None
