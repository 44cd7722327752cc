"""Where webhooks may point: public http(s) addresses only, unless the operator allows
private networks (WEBHOOK_ALLOW_PRIVATE_NETWORKS, for receivers on the same host or LAN).

Without it, a user could make the worker POST to anything it can reach: the loopback
services, a cloud metadata address, the LAN (server-side request forgery). A URL is checked
when it is registered (its scheme, and its host when that is an address or ``localhost``)
and again before every delivery, on the addresses its host name resolves to then; the
delivery then connects to the very address that was checked (``pinned``), so a name that
re-resolves elsewhere between the check and the connection (DNS rebinding) gains nothing.

Hosts that only some parsers read as IPv4 (``2130706433``, ``0x7f000001``, ``127.1``,
``0177.0.0.1``: inet_aton's forms, which getaddrinfo accepts) are refused outright: an address
is written as four decimal parts, or as a bracketed IPv6 address."""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass
from urllib.parse import urlsplit, urlunsplit

LOCAL_NAMES = ("localhost", "localhost.localdomain", "ip6-localhost", "ip6-loopback")
# WHATWG URL: a host whose last label is a number (decimal, 0x hex or octal) is an IPv4 address.
NUMERIC_LABEL = re.compile(r"(0x[0-9a-f]*|[0-9]+)", re.ASCII)
# IPv6 ranges that carry an IPv4 address inside: mapped, compatible, 6to4, NAT64.
EMBEDS_IPV4 = [
    ipaddress.ip_network(n) for n in ("::ffff:0:0/96", "::/96", "2002::/16", "64:ff9b::/96")
]


class TargetRefused(ValueError):
    """The URL may not receive webhooks; the message says why."""


def check_url(url: str, *, allow_private: bool) -> str:
    """The URL's host name, if the URL itself is acceptable (its addresses are checked at
    delivery, see ``check_addresses``); raises TargetRefused otherwise."""
    try:
        parts = urlsplit(url)
        hostname = parts.hostname
    except ValueError as exc:  # e.g. an unbalanced "[" in the host: "Invalid IPv6 URL"
        raise TargetRefused(f"url is not a valid URL: {exc}") from exc
    if parts.scheme not in ("http", "https") or not hostname:
        raise TargetRefused("url must be an absolute http(s) URL")
    if parts.username or parts.password:
        raise TargetRefused("url must not carry credentials (use the signing secret)")
    host = hostname.rstrip(".").lower()
    address = _address(host)
    if address is None and NUMERIC_LABEL.fullmatch(host.rsplit(".", 1)[-1]):
        raise TargetRefused(
            f"url host {host!r} is a numeric or short IP form: write an IPv4 address as four "
            "decimal parts (a.b.c.d) or use a host name"
        )
    if not allow_private:
        if host in LOCAL_NAMES or host.endswith(".localhost"):
            raise TargetRefused(f"url host {host!r} is local: webhooks go to public addresses")
        if address is not None:
            check_addresses([address], allow_private=False)
    return host


def check_addresses(addresses: list[str], *, allow_private: bool) -> None:
    """Refuse when any address the host resolves to is not public."""
    if allow_private:
        return
    for text in addresses:
        address = ipaddress.ip_address(text.split("%", 1)[0])
        if not _public(address):
            raise TargetRefused(f"url resolves to {address}, which is not a public address")


def _public(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    if not address.is_global or address.is_multicast:
        return False
    if isinstance(address, ipaddress.IPv6Address):
        for network in EMBEDS_IPV4:
            if address in network:  # judge the IPv4 address inside, never the wrapper
                inner = ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
                if network.prefixlen == 16:  # 6to4 puts it in bits 16..48
                    inner = ipaddress.IPv4Address((int(address) >> 80) & 0xFFFFFFFF)
                return _public(inner)
    return True


@dataclass(frozen=True)
class Pinned:
    """A request to a URL sent to one checked address: its URL names the address, and the
    Host header and TLS server name (SNI, certificate check) carry the URL's own host."""

    url: str
    host_header: str
    server_name: str


def pinned(url: str, address: str) -> Pinned:
    """The request of ``url`` that connects to ``address`` (one the host resolved to)."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    literal = f"[{ip}]" if ip.version == 6 else str(ip)
    netloc = literal if parts.port is None else f"{literal}:{parts.port}"
    host_header = parts.netloc.rsplit("@", 1)[-1]
    return Pinned(urlunsplit(parts._replace(netloc=netloc)), host_header, host.strip("[]"))


def _address(host: str) -> str | None:
    try:
        return str(ipaddress.ip_address(host.strip("[]")))
    except ValueError:
        return None
