"""Renders nginx.conf from the template, the route table and the settings."""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path
from urllib.parse import urlsplit

from shared.settings import ServiceName

from gateway.domain.access import ROUTES, Access, Route
from gateway.settings import GatewaySettings

IDENTITY = ("X-User-Id", "X-User-Name", "X-Key-Id", "X-Scopes")
AUTH_VARIABLES = ("auth_user_id", "auth_user_name", "auth_key_id", "auth_scopes")
SECURITY_HEADERS = (
    'add_header X-Content-Type-Options "nosniff" always;',
    'add_header X-Frame-Options "DENY" always;',
    "add_header Content-Security-Policy \"frame-ancestors 'none'\" always;",
    'add_header Referrer-Policy "no-referrer" always;',
    "add_header Strict-Transport-Security $hsts always;",
)
ERRORS = {
    400: "bad request",
    401: "$auth_message",
    403: "$auth_message",
    404: "not found",
    405: "method not allowed",
    408: "request timed out",
    413: "request body too large",
    414: "request URI too long",
    429: "too many requests: slow down",
    500: "internal error",
    502: "upstream service unavailable",
    503: "service unavailable",
    504: "upstream service timed out",
}
PROXY_COMMON = (
    "proxy_http_version 1.1;",
    "proxy_set_header Host $host;",
    "proxy_set_header X-Real-IP $remote_addr;",
    "proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;",
    "proxy_set_header X-Forwarded-Proto $scheme;",
    "proxy_connect_timeout 5s;",
)


def upstream_name(service: ServiceName) -> str:
    return "svc_" + service.value.replace("-", "_")


def _host_port(url: str) -> str:
    parts = urlsplit(url)
    port = parts.port or (443 if parts.scheme == "https" else 80)
    return f"{parts.hostname}:{port}"


def _block(lines: list[str] | tuple[str, ...], indent: int) -> str:
    pad = " " * indent
    return "\n".join(pad + line if line else "" for line in lines)


class NginxConfig:
    def __init__(self, settings: GatewaySettings) -> None:
        self.settings = settings

    def limits(self) -> list[str]:
        s = self.settings
        return [
            f"limit_req zone=per_addr burst={s.nginx_burst_per_addr} nodelay;",
            f"limit_req zone=per_key burst={s.nginx_burst_per_key} nodelay;",
        ]

    def upstreams(self) -> str:
        lines: list[str] = []
        for service in ServiceName:
            lines += [
                f"upstream {upstream_name(service)} {{",
                f"    server {_host_port(self.settings.url_of(service))};",
                "    keepalive 64;",
                "}",
            ]
        return _block(lines, 4)

    def location(self, route: Route) -> list[str]:
        match = f"= {route.path}" if route.exact else route.path
        body = [*self.limits(), *PROXY_COMMON, *SECURITY_HEADERS]
        body.append(f"proxy_pass http://{upstream_name(route.service)};")
        if route.websocket:
            body += [
                "proxy_set_header Upgrade $http_upgrade;",
                "proxy_set_header Connection $connection_upgrade;",
                "proxy_read_timeout 3600s;",
                "proxy_send_timeout 3600s;",
                "proxy_buffering off;",
            ]
        else:
            body += ['proxy_set_header Connection "";', "proxy_read_timeout 120s;"]
        if route.access is Access.PUBLIC:
            body += [f'proxy_set_header {h} "";' for h in IDENTITY]
        else:
            target = "/_auth" if route.access is Access.PRIVATE else "/_auth_optional"
            body.append(f"auth_request {target};")
            body += [
                f"auth_request_set ${var} $upstream_http_{h.lower().replace('-', '_')};"
                for var, h in zip(AUTH_VARIABLES, IDENTITY, strict=True)
            ]
            body.append("auth_request_set $auth_error $upstream_http_x_auth_error;")
            body += [
                f"proxy_set_header {h} ${v};" for h, v in zip(IDENTITY, AUTH_VARIABLES, strict=True)
            ]
        if route.access is Access.PRIVATE:
            body.append('add_header Cache-Control "no-store" always;')
        if route.service is not ServiceName.GATEWAY:
            # Services need the identity, never the secret.
            body += [
                'proxy_set_header Authorization "";',
                'proxy_set_header APCA-API-SECRET-KEY "";',
            ]
        return [f"location {match} {{", *["    " + line for line in body], "}"]

    def auth_location(self, name: str, mode: str) -> list[str]:
        return [
            f"location = {name} {{",
            "    internal;",
            f"    proxy_pass http://{upstream_name(ServiceName.GATEWAY)}/auth/check;",
            "    proxy_http_version 1.1;",
            '    proxy_set_header Connection "";',
            "    proxy_pass_request_body off;",
            '    proxy_set_header Content-Length "";',
            "    proxy_set_header X-Original-URI $request_uri;",
            "    proxy_set_header X-Original-Method $request_method;",
            f"    proxy_set_header X-Auth-Mode {mode};",
            "    proxy_connect_timeout 2s;",
            "    proxy_read_timeout 5s;",
            "}",
        ]

    def error_locations(self) -> list[str]:
        # An auth service that fails is a 500 inside nginx: answer 503 (fail closed).
        lines = [
            f"error_page {code} {'=503 ' if code == 500 else ''}@error{code};" for code in ERRORS
        ]
        for code, message in ERRORS.items():
            status = 503 if code == 500 else code
            body = f'{{"code":{status * 100_000},"message":"{message}"}}'
            lines += [
                f"location @error{code} {{",
                "    default_type application/json;",
                *["    " + h for h in SECURITY_HEADERS],
                '    add_header Cache-Control "no-store" always;',
            ]
            if code == 429:
                lines.append('    add_header Retry-After "1" always;')
            lines += [f"    return {status} '{body}';", "}"]
        return lines

    def health_locations(self) -> list[str]:
        lines: list[str] = []
        for service in ServiceName:
            lines += [
                f"location = /healthz/{service.value} {{",
                *["    " + line for line in (*PROXY_COMMON, *SECURITY_HEADERS)],
                '    proxy_set_header Connection "";',
                f"    proxy_pass http://{upstream_name(service)}/healthz;",
                "}",
            ]
        return lines

    def server_body(self) -> str:
        lines: list[str] = [*self.error_locations()]
        lines += self.auth_location("/_auth", "required")
        lines += self.auth_location("/_auth_optional", "optional")
        for route in ROUTES:
            lines += self.location(route)
        lines += self.health_locations()
        lines += [
            "location ^~ /internal/ {",
            "    return 404;",
            "}",
            "location / {",
            "    return 404;",
            "}",
        ]
        return _block(lines, 8)

    def tls_server(self, body: str) -> str:
        tls = self.settings.nginx_prefix() / "tls"
        cert, key = tls / "cert.pem", tls / "key.pem"
        if not (cert.is_file() and key.is_file()):
            return (
                "    # TLS: run services/gateway/scripts/make-cert.sh to enable the HTTPS server."
            )
        lines = [
            "server {",
            f"    listen {self.settings.bind_host}:{self.settings.tls_port()} ssl;",
            f"    ssl_certificate {cert.resolve()};",
            f"    ssl_certificate_key {key.resolve()};",
            "    ssl_protocols TLSv1.2 TLSv1.3;",
            "    ssl_session_cache shared:tls:10m;",
        ]
        return _block(lines, 4) + "\n" + body + "\n    }"

    def render(self) -> str:
        s = self.settings
        template = files("gateway.nginx").joinpath("nginx.conf.template").read_text()
        body = self.server_body()
        values = {
            "prefix": str(s.nginx_prefix().resolve()),
            "worker_processes": str(s.nginx_worker_processes),
            "max_body": s.nginx_max_body,
            "rate_per_key": str(s.nginx_rate_per_key),
            "rate_per_addr": str(s.nginx_rate_per_addr),
            "bind_host": s.bind_host,
            "port": str(s.gateway_port),
            "upstreams": self.upstreams(),
            "server_body": body,
            "tls_server": self.tls_server(body),
        }
        for name, value in values.items():
            template = template.replace("{{ " + name + " }}", value)
        return template


def render_nginx(settings: GatewaySettings, out: Path | None = None) -> Path:
    """Write nginx.conf (default: into the prefix) and make the prefix's directories."""
    prefix = settings.nginx_prefix()
    for sub in ("temp", "logs"):
        (prefix / sub).mkdir(parents=True, exist_ok=True)
    target = out or prefix / "nginx.conf"
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(NginxConfig(settings).render())
    return target
