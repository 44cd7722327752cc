"""Renders nginx.conf from the template, the route table and the settings."""

from __future__ import annotations

import os
import shutil
from importlib.resources import files
from pathlib import Path
from urllib.parse import urlsplit

from shared.identity import IDENTITY_HEADER, LEGACY_IDENTITY_HEADERS
from shared.settings import ServiceName

from gateway.domain.access import READ_METHODS, ROUTES, Access, Route
from gateway.settings import GatewaySettings

# Whatever a client sends in these is dropped: the only identity a service reads is the
# token the edge signed (X-Identity), set here from the auth_request answer.
CLEARED_IDENTITY = (IDENTITY_HEADER, *LEGACY_IDENTITY_HEADERS)
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
    # nginx's own status for a header line beyond large_client_header_buffers.
    494: "request header too large",
    429: "too many requests: slow down",
    500: "internal error",
    # nginx's answers to an unknown Transfer-Encoding and an HTTP/2+ request line: bad input.
    501: "unsupported transfer coding",
    505: "unsupported HTTP version",
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
    "proxy_set_header X-Correlation-ID $correlation_id;",
    "proxy_connect_timeout 5s;",
)


# The dashboard's pages: scripts, styles, data and sockets from this origin only.
DASHBOARD_CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'none'; "
    "form-action 'self'; frame-ancestors 'none'"
)
STATIC_HEADERS = (
    *(h for h in SECURITY_HEADERS if "Content-Security-Policy" not in h),
    f'add_header Content-Security-Policy "{DASHBOARD_CSP}" always;',
)

ERROR_PREFIX = "/_error/"
AUTH_CACHE_ZONE = "gateway_auth"
# What an /auth/check answer depends on besides the credentials: the scope the request needs
# (domain.access.required_scope: /admin/ paths need admin, read methods read, others trade).
# "|" separates the parts; any string equal to a cached key contains that key's secret.
AUTH_CACHE_KEY = (
    "$auth_scope_needed|$http_apca_api_key_id|$http_apca_api_secret_key|$http_authorization"
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

    def auth_cache(self) -> str:
        """The http-level part of the auth cache: its zone and the scope a request needs."""
        if not self.settings.nginx_auth_cache_seconds:
            return "    # auth_request answers are not cached (NGINX_AUTH_CACHE_SECONDS=0)."
        reads = "|".join(sorted(READ_METHODS))
        inactive = max(10, 2 * self.settings.nginx_auth_cache_seconds)
        lines = [
            "# Successful auth_request answers, for NGINX_AUTH_CACHE_SECONDS (see /_auth).",
            f"proxy_cache_path {self.settings.nginx_auth_cache_path()} levels=1:2"
            f" keys_zone={AUTH_CACHE_ZONE}:10m max_size=32m inactive={inactive}s"
            " use_temp_path=off;",
            'map "$request_method:$request_uri" $auth_scope_needed {',
            '    "~^[A-Z]+:/admin/" admin;',
            f'    "~^({reads}):" read;',
            "    default trade;",
            "}",
        ]
        return _block(lines, 4)

    def upstreams(self) -> str:
        lines: list[str] = []
        for service in ServiceName:
            lines += [
                f"upstream {upstream_name(service)} {{",
                f"    server {_host_port(self.settings.url_of(service))};",
                "    keepalive 64;",
                "    keepalive_requests 100000;",
                # Below uvicorn's 5 s idle timeout: nginx drops an idle connection first.
                "    keepalive_timeout 4s;",
                "}",
            ]
        return _block(lines, 4)

    def location(self, route: Route) -> list[str]:
        match = f"= {route.path}" if route.exact else route.path
        body = [*self.limits(), *PROXY_COMMON, *SECURITY_HEADERS]
        body.append(f"proxy_pass http://{upstream_name(route.service)};")
        if route.websocket:
            body += [
                f"limit_conn sockets_per_addr {self.settings.nginx_sockets_per_addr};",
                "proxy_set_header Upgrade $http_upgrade;",
                "proxy_set_header Connection $connection_upgrade;",
                "proxy_read_timeout 3600s;",
                "proxy_send_timeout 3600s;",
                "proxy_buffering off;",
            ]
        else:
            body += ['proxy_set_header Connection "";', "proxy_read_timeout 120s;"]
        body += [f'proxy_set_header {h} "";' for h in LEGACY_IDENTITY_HEADERS]
        if route.access is Access.PUBLIC:
            body.append(f'proxy_set_header {IDENTITY_HEADER} "";')
        else:
            target = "/_auth" if route.access is Access.PRIVATE else "/_auth_optional"
            body += [
                f"auth_request {target};",
                "auth_request_set $auth_identity $upstream_http_x_identity;",
                "auth_request_set $auth_error $upstream_http_x_auth_error;",
                "auth_request_set $auth_status $upstream_http_x_auth_status;",
                # Empty (an optional route without a key): the header is not sent at all.
                f"proxy_set_header {IDENTITY_HEADER} $auth_identity;",
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
        lines = [
            f"location = {name} {{",
            "    internal;",
            f"    proxy_pass http://{upstream_name(ServiceName.GATEWAY)}/auth/check;",
            "    proxy_http_version 1.1;",
            '    proxy_set_header Connection "";',
            "    proxy_pass_request_body off;",
            '    proxy_set_header Content-Length "";',
            "    proxy_set_header X-Original-URI $request_uri;",
            "    proxy_set_header X-Original-Method $request_method;",
            "    proxy_set_header X-Request-Id $request_id;",
            # The edge counts failed authentications per client address.
            "    proxy_set_header X-Real-IP $remote_addr;",
            f"    proxy_set_header X-Auth-Mode {mode};",
            "    proxy_connect_timeout 2s;",
            "    proxy_read_timeout 5s;",
        ]
        seconds = self.settings.nginx_auth_cache_seconds
        if seconds and mode == "required":
            # Only 200s are kept (a refusal is never cached) and never served stale. No
            # proxy_cache_lock: its waiters poll every 500 ms, so each expiry held the
            # key's concurrent requests ~400 ms (measured: p99 400 ms on /v2/orders);
            # concurrent misses each ask the edge app, whose own cache answers in µs.
            lines += [
                f"    proxy_cache {AUTH_CACHE_ZONE};",
                f'    proxy_cache_key "{AUTH_CACHE_KEY}";',
                f"    proxy_cache_valid 200 {seconds}s;",
                "    proxy_ignore_headers Cache-Control Expires Set-Cookie Vary X-Accel-Expires;",
            ]
        return [*lines, "}"]

    def error_locations(self) -> list[str]:
        # Real URIs, not named locations: nginx cannot redirect a request whose line it could
        # not parse (a dot-segment above the root, an over-long URI) to a named location, and
        # answered its own HTML 500 instead. An auth service that fails is a 500 inside
        # nginx: answer 503 (fail closed). 494 is nginx's "header too large", which it always
        # sends as a 400.
        answers = {500: 503, 494: 400, 501: 400, 505: 400}
        # "=": the status is the error location's own (the 403 page may answer 429).
        lines = [f"error_page {code} = {ERROR_PREFIX}{code};" for code in ERRORS]
        for code, message in ERRORS.items():
            status = answers.get(code, code)
            body = f'{{"code":{status * 100_000},"message":"{message}"}}'
            lines += [
                f"location = {ERROR_PREFIX}{code} {{",
                "    internal;",
                "    default_type application/json;",
                *["    " + h for h in SECURITY_HEADERS],
                '    add_header Cache-Control "no-store" always;',
            ]
            if code == 429:
                lines.append('    add_header Retry-After "1" always;')
            if code == 403:
                lines += self.throttled_answer()
            if code == 405:  # the edge app answers it with the path's Allow header
                lines += [
                    "    rewrite ^ /internal/allow break;",
                    "    proxy_method GET;",
                    "    proxy_pass_request_body off;",
                    '    proxy_set_header Content-Length "";',
                    "    proxy_set_header X-Original-URI $request_uri;",
                    f"    proxy_pass http://{upstream_name(ServiceName.GATEWAY)};",
                    "}",
                ]
                continue
            lines += [f"    return {status} '{body}';", "}"]
        return lines

    def throttled_answer(self) -> list[str]:
        """The edge's 403 for an address out of failed authentications, as a 429."""
        body = '{"code":42900000,"message":"$auth_message"}'
        return [
            "    if ($auth_status = 429) {",
            *["        " + h for h in SECURITY_HEADERS],
            '        add_header Cache-Control "no-store" always;',
            '        add_header Retry-After "1" always;',
            f"        return 429 '{body}';",
            "    }",
        ]

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
        # The platform is ready when every service is (gateway.api.readiness asks them all);
        # a gateway that does not answer is itself the service that is not ready.
        down = '{"ready":false,"not_ready":["gateway"],"services":{"gateway":"unreachable"}}'
        lines += [
            "location = /readyz {",
            *["    " + line for line in (*PROXY_COMMON, *SECURITY_HEADERS)],
            '    add_header Cache-Control "no-store" always;',
            '    proxy_set_header Connection "";',
            "    proxy_read_timeout 5s;",
            f"    proxy_pass http://{upstream_name(ServiceName.GATEWAY)}/internal/platform-readyz;",
            "    proxy_intercept_errors off;",
            "    error_page 502 504 = @readyz_gateway_down;",
            "}",
            "location @readyz_gateway_down {",
            "    default_type application/json;",
            '    add_header Cache-Control "no-store" always;',
            f"    return 503 '{down}';",
            "}",
        ]
        return lines

    def dashboard_locations(self) -> list[str]:
        """The dashboard at / (the page is never cached, so a new build shows at once),
        its content-hashed assets cached for a year, and Swagger UI's own files for /docs."""
        root = self.settings.dashboard_root().resolve()
        static = [
            f"root {root};",
            "types { text/html html; text/css css; application/javascript js; image/png png;"
            " image/svg+xml svg; application/json json map; }",
            "gzip_types text/css application/javascript;",
        ]
        static += [*STATIC_HEADERS, *self.limits()[:1]]
        return [
            "location = / {",
            *["    " + line for line in static],
            "    try_files /index.html =404;",
            '    add_header Cache-Control "no-cache" always;',
            "}",
            "location ^~ /assets/ {",
            *["    " + line for line in static],
            "    try_files $uri =404;",
            '    add_header Cache-Control "public, max-age=31536000, immutable" always;',
            "}",
            "location ^~ /swagger/ {",
            *["    " + line for line in static],
            "    try_files $uri =404;",
            '    add_header Cache-Control "public, max-age=86400" always;',
            "}",
        ]

    def server_body(self) -> str:
        lines: list[str] = [*self.error_locations()]
        lines += self.auth_location("/_auth", "required")
        lines += self.auth_location("/_auth_optional", "optional")
        for route in ROUTES:
            lines += self.location(route)
        lines += self.health_locations()
        lines += self.dashboard_locations()
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
            "header_buffer": s.nginx_header_buffer,
            "bind_host": s.bind_host,
            "port": str(s.gateway_port),
            "upstreams": self.upstreams(),
            "auth_cache": self.auth_cache(),
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
    if settings.nginx_auth_cache_seconds:
        cache = settings.nginx_auth_cache_path()
        if settings.nginx_auth_cache_dir is None and cache.parent != prefix:
            # The default, shared tmpfs: note whose cache it is, drop those of gone prefixes.
            sweep_orphaned_auth_caches(cache.parent, cache.name.rsplit("-", 1)[0] + "-")
            prepare_auth_cache(cache)
            cache.with_name(cache.name + ".prefix").write_text(str(prefix.resolve()))
        else:
            prepare_auth_cache(cache)
    target = out or prefix / "nginx.conf"
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(NginxConfig(settings).render())
    return target


def prepare_auth_cache(path: Path) -> None:
    """A fresh, empty directory only we can read: entries hold secrets, and none of them
    outlives a restart. Refuses a symlink, or a directory another user made (say in
    /dev/shm, before us); root starts afresh, since nginx gives the directory to its
    worker user."""
    if path.is_symlink():
        raise RuntimeError(f"refusing the auth cache directory {path}: it is a symlink")
    if path.exists():
        if path.stat().st_uid != os.getuid() and os.getuid() != 0:
            raise RuntimeError(f"refusing the auth cache directory {path}: another user owns it")
        shutil.rmtree(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.mkdir(mode=0o700)


def sweep_orphaned_auth_caches(directory: Path, stem: str) -> None:
    """Remove our auth caches (``<stem>*``, one uid's) whose nginx prefix no longer exists:
    a stack in a deleted temp dir cannot be running, and its entries hold secrets."""
    for marker in directory.glob(f"{stem}*.prefix"):
        try:
            if marker.is_symlink() or marker.stat().st_uid != os.getuid():
                continue
            if Path(marker.read_text().strip()).is_dir():
                continue
            cache = marker.with_suffix("")
            if cache.is_dir() and not cache.is_symlink():
                shutil.rmtree(cache, ignore_errors=True)
            marker.unlink(missing_ok=True)
        except OSError:
            continue
