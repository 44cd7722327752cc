"""Settings of the gateway service: the edge app, its keys, its streams and nginx's limits."""

from __future__ import annotations

import hashlib
import logging
import os
from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, SecretStr, model_validator
from shared.settings import Environment, ServiceName, ServiceSettings

logger = logging.getLogger("gateway.settings")

# A default for development only: production refuses to start without a real pepper.
DEVELOPMENT_PEPPER = "development-pepper-do-not-use-in-production"
DOCKER_SECRET_PEPPER = Path("/run/secrets/gateway_key_pepper")


class GatewaySettings(ServiceSettings):
    service: ServiceName = ServiceName.GATEWAY
    database_path: Path | None = None

    # API keys: HMAC-SHA256 pepper from the environment or a Docker secret file.
    gateway_key_pepper: SecretStr | None = None
    gateway_key_pepper_file: Path | None = None
    auth_cache_ttl_seconds: float = Field(default=5.0, ge=0)

    # WebSocket fan-out.
    ws_queue_size: int = Field(default=2000, ge=1)
    ws_send_timeout_seconds: float = Field(default=5.0, gt=0)
    ws_batch_size: int = Field(default=200, ge=1)
    ws_flush_interval_seconds: float = Field(default=0.03, ge=0, le=1)
    ws_heartbeat_seconds: float = Field(default=15.0, gt=0)
    ws_auth_timeout_seconds: float = Field(default=5.0, gt=0)
    ws_recheck_seconds: float = Field(default=30.0, gt=0)
    # Alpaca's market-data stream (/v2/iex, /v2/sip, /v2/test): trades + quotes symbols per
    # socket (error 405 beyond), sockets per user (406), and how long after a minute ends on
    # the market clock its bars go out when no later tick has closed it.
    ws_market_data_symbol_limit: int = Field(default=2000, ge=1)
    ws_market_data_connections_per_user: int = Field(default=5, ge=1)
    ws_bar_close_grace_seconds: float = Field(default=5.0, ge=0, le=55)
    openapi_cache_seconds: float = Field(default=10.0, ge=0)
    run_outbox_relay: bool = True

    # nginx (rendered into its config by `gateway render-nginx`).
    gateway_tls_port: int = Field(default=0, ge=0, le=65535)
    nginx_rate_per_key: int = Field(default=50, ge=1, description="requests/s per API key")
    nginx_burst_per_key: int = Field(default=100, ge=0)
    nginx_rate_per_addr: int = Field(default=100, ge=1, description="requests/s per client")
    nginx_burst_per_addr: int = Field(default=200, ge=0)
    nginx_max_body: str = "1m"
    nginx_header_buffer: str = Field(default="8k", pattern=r"^[0-9]+[km]?$")
    nginx_sockets_per_addr: int = Field(
        default=64, ge=1, description="open /ws and /stream sockets per client address"
    )
    # Failed authentications the edge accepts per client address before it refuses that
    # address's requests without checking them (a token bucket: rate per second, burst).
    auth_failures_per_addr: float = Field(default=20.0, gt=0)
    auth_failures_burst: int = Field(default=200, ge=1)
    nginx_worker_processes: Literal["auto"] | Annotated[int, Field(ge=1)] = "auto"
    # Seconds nginx keeps a successful auth_request answer (keyed by the credentials and the
    # scope the request needs). A revoked key may pass for less than this + 1 s (nginx counts
    # whole seconds); 0 turns it off.
    nginx_auth_cache_seconds: int = Field(default=1, ge=0, le=60)
    # Where that cache lives: default a 0700 directory on tmpfs (/dev/shm) when there is one,
    # since nginx writes the cache key (which holds the secret) into each entry's file.
    nginx_auth_cache_dir: Path | None = None
    # The dashboard's build output (web/ built by `npm run build`), served by nginx at /.
    dashboard_dir: Path | None = None

    @model_validator(mode="after")
    def _token_outlives_the_auth_cache(self) -> GatewaySettings:
        # nginx serves a cached auth answer, token included, for NGINX_AUTH_CACHE_SECONDS.
        if self.identity_token_ttl_seconds < self.nginx_auth_cache_seconds + 2:
            raise ValueError(
                "IDENTITY_TOKEN_TTL_SECONDS must be at least NGINX_AUTH_CACHE_SECONDS + 2"
            )
        return self

    @model_validator(mode="after")
    def _pepper_is_safe(self) -> GatewaySettings:
        if self.environment is not Environment.PRODUCTION:
            return self
        configured = self._configured_pepper()
        if configured is None:
            raise ValueError(
                "GATEWAY_KEY_PEPPER (or GATEWAY_KEY_PEPPER_FILE / a Docker secret) "
                "is required in production"
            )
        # HMAC pads a short key with NUL bytes: "pepper\0" is the same key as "pepper".
        if configured.rstrip(b"\0") == DEVELOPMENT_PEPPER.encode():
            raise ValueError(
                "GATEWAY_KEY_PEPPER is the published development pepper: "
                "production needs a secret of its own"
            )
        return self

    def _configured_pepper(self) -> bytes | None:
        if self.gateway_key_pepper is not None and self.gateway_key_pepper.get_secret_value():
            return self.gateway_key_pepper.get_secret_value().encode()
        for path in (self.gateway_key_pepper_file, DOCKER_SECRET_PEPPER):
            if path is not None and path.is_file():
                return path.read_bytes().strip()
        return None

    def key_pepper(self) -> bytes:
        """The pepper keys are hashed with; a warned default outside production."""
        configured = self._configured_pepper()
        if configured is not None:
            return configured
        logger.warning("GATEWAY_KEY_PEPPER is not set: using the development default")
        return DEVELOPMENT_PEPPER.encode()

    def dashboard_root(self) -> Path:
        if self.dashboard_dir is not None:
            return self.dashboard_dir
        return Path(__file__).resolve().parents[4] / "web" / "dist"

    def tls_port(self) -> int:
        return self.gateway_tls_port or self.gateway_port + 10

    def nginx_prefix(self) -> Path:
        return self.var_dir / "nginx"

    def nginx_auth_cache_path(self) -> Path:
        """The auth cache directory: one per nginx prefix, in memory when /dev/shm exists."""
        if self.nginx_auth_cache_dir is not None:
            return self.nginx_auth_cache_dir
        shm = Path("/dev/shm")  # noqa: S108 - prepare_auth_cache refuses a planted dir
        if shm.is_dir() and os.access(shm, os.W_OK):
            digest = hashlib.sha256(str(self.nginx_prefix().resolve()).encode()).hexdigest()
            return shm / f"gateway-auth-{os.getuid()}-{digest[:16]}"
        return self.nginx_prefix() / "auth-cache"

    def database_file(self) -> Path:
        return self.database_path or self.data_dir(self.service) / "gateway.sqlite"
