"""Typed settings shared by every service, built once in each service's factory."""

from __future__ import annotations

import os
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any, TypeVar

from pydantic import Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from shared.clock import Clock, parse_clock_spec
from shared.market_sessions import SessionKind


class SettingsError(RuntimeError):
    """Raised when the environment does not describe a runnable service."""


class Environment(StrEnum):
    DEVELOPMENT = "development"
    TEST = "test"
    PRODUCTION = "production"


class ServiceName(StrEnum):
    GATEWAY = "gateway"
    MARKET_DATA = "market-data"
    INDEX = "index"
    TRADING = "trading"
    PORTFOLIO = "portfolio"
    EXPORT = "export"


# Internal ports are derived from the gateway's, so two stacks with different GATEWAY_PORT
# values never collide (DESIGN.md, Running).
PORT_OFFSETS: dict[ServiceName, int] = {
    ServiceName.GATEWAY: 1,
    ServiceName.MARKET_DATA: 2,
    ServiceName.INDEX: 3,
    ServiceName.TRADING: 4,
    ServiceName.PORTFOLIO: 5,
    ServiceName.EXPORT: 6,
}
REDIS_PORT_OFFSET = 9


DOCKER_SECRET_IDENTITY_KEY = Path("/run/secrets/identity_signing_key")
MIN_IDENTITY_KEY_BYTES = 32
DOCKER_SECRETS = Path("/run/secrets")
# The operators' Redis user (admin): ops tooling, readiness probes, dead-letter tools.
OPS_REDIS_USER = "ops"


def generated_secret(path: Path) -> str:
    """A random secret kept in ``path`` (0600, folder 0700), made once by whichever process
    comes first: written aside, then linked into place, so no reader sees a partial file."""
    if not path.is_file():
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        aside = path.with_name(f".{path.name}.{os.getpid()}")
        fd = os.open(aside, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(secrets.token_urlsafe(48) + "\n")
        try:
            os.link(aside, path)
        except FileExistsError:
            pass  # another process won the race: use its secret
        finally:
            aside.unlink()
    return path.read_text()


def redis_secret_path(var_dir: Path, user: str) -> Path:
    """Where the native stack keeps a Redis user's password (shared.redis_acl makes it)."""
    return var_dir / "secrets" / "redis" / user


@dataclass(frozen=True)
class RedisAuth:
    """A Redis user and its password (never in the environment: read from a 0600 file)."""

    username: str
    password: str = field(repr=False)


def service_port(gateway_port: int, service: ServiceName) -> int:
    return gateway_port + PORT_OFFSETS[service]


class ServiceSettings(BaseSettings):
    """Settings every process reads; services subclass it and add their own fields."""

    model_config = SettingsConfigDict(env_file=None, extra="ignore", frozen=True)

    environment: Environment = Environment.DEVELOPMENT
    var_dir: Path = Path("var")
    redis_url: str = ""
    # The service this process belongs to (each service's settings set it); it names the
    # process's Redis user unless REDIS_USERNAME does. Neither: the operators' user.
    service: ServiceName | None = None
    redis_username: str = ""
    # The password's file: REDIS_PASSWORD_FILE, else $VAR_DIR/secrets/redis/<user> (the
    # native stack's), else the Docker secret redis_<user>; none of them: no AUTH (a bare
    # test server). The password never travels in the environment or in process arguments.
    redis_password_file: Path | None = None
    gateway_port: int = Field(default=8080, ge=1, le=65535 - 10)
    bind_host: str = "127.0.0.1"
    log_level: str = "INFO"
    # Base URLs of the other services; empty means "derive from GATEWAY_PORT on loopback".
    market_data_url: str = ""
    index_url: str = ""
    trading_url: str = ""
    portfolio_url: str = ""
    export_url: str = ""
    gateway_url: str = ""
    # The keys that sign identities between services (shared.identity), newest first:
    # IDENTITY_SIGNING_KEY, else the file IDENTITY_SIGNING_KEY_FILE names, else the Docker
    # secret, else one generated once into $VAR_DIR/secrets (0600) for the native stack.
    identity_signing_key: SecretStr | None = None
    identity_signing_key_file: Path | None = None
    identity_token_ttl_seconds: int = Field(default=15, ge=2, le=300)
    # The market clock every time-aware service reads (shared.clock.parse_clock_spec):
    # wall, fixed:<time> or accelerated:<start>*<factor>[@<wall anchor>].
    market_clock: str = "wall"
    # Which hours the market keeps (shared.market_sessions): xnys (the XNYS calendar with
    # pre- and post-market) or always (never closed: tests and demos that ignore hours).
    market_sessions: SessionKind = "xnys"

    @field_validator("market_clock")
    @classmethod
    def _known_clock(cls, value: str) -> str:
        parse_clock_spec(value)  # fails fast with the accepted forms
        return value

    def clock(self) -> Clock:
        """A new clock of MARKET_CLOCK's kind (build it once, in the bootstrap)."""
        return parse_clock_spec(self.market_clock)

    @model_validator(mode="after")
    def _redis_url_default(self) -> ServiceSettings:
        if not self.redis_url:
            local = f"redis://127.0.0.1:{self.gateway_port + REDIS_PORT_OFFSET}/0"
            object.__setattr__(self, "redis_url", local)
        return self

    def redis_auth(self) -> RedisAuth | None:
        """This process's Redis user and password, or None when no password file exists."""
        user = self.redis_username or (self.service.value if self.service else OPS_REDIS_USER)
        if self.redis_password_file is not None:
            if not self.redis_password_file.is_file():
                raise SettingsError(f"REDIS_PASSWORD_FILE {self.redis_password_file} is no file")
            return RedisAuth(user, self.redis_password_file.read_text().strip())
        for path in (redis_secret_path(self.var_dir, user), DOCKER_SECRETS / f"redis_{user}"):
            if path.is_file():
                return RedisAuth(user, path.read_text().strip())
        return None

    def port_of(self, service: ServiceName) -> int:
        return service_port(self.gateway_port, service)

    def url_of(self, service: ServiceName) -> str:
        configured: str = getattr(self, f"{service.value.replace('-', '_')}_url")
        return configured.rstrip("/") or f"http://127.0.0.1:{self.port_of(service)}"

    def identity_keys(self) -> list[bytes]:
        """The identity signing keys, newest first (see the fields above)."""
        raw = ""
        if self.identity_signing_key is not None:
            raw = self.identity_signing_key.get_secret_value()
        for path in (self.identity_signing_key_file, DOCKER_SECRET_IDENTITY_KEY):
            if not raw and path is not None and path.is_file():
                raw = path.read_text()
        if not raw.strip():
            raw = generated_secret(self.var_dir / "secrets" / "identity_signing_key")
        keys = [k.strip().encode() for k in raw.replace(",", "\n").splitlines() if k.strip()]
        if short := [k for k in keys if len(k) < MIN_IDENTITY_KEY_BYTES]:
            raise SettingsError(
                f"IDENTITY_SIGNING_KEY: {len(short)} key(s) shorter than "
                f"{MIN_IDENTITY_KEY_BYTES} bytes"
            )
        return keys

    def data_dir(self, service: ServiceName) -> Path:
        """The service's own folder, readable by this user only (0700, as is ``data/``)."""
        path = self.var_dir / "data" / service.value
        path.mkdir(mode=0o700, parents=True, exist_ok=True)
        for folder in (path.parent, path):
            folder.chmod(0o700)
        return path


SettingsT = TypeVar("SettingsT", bound=BaseSettings)


def load_settings(settings_class: type[SettingsT], **overrides: Any) -> SettingsT:
    """Build settings from the environment, failing fast with a message a person can act on."""
    try:
        return settings_class(**overrides)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(part) for part in error['loc']).upper() or 'settings'}: {error['msg']}"
            for error in exc.errors()
        )
        raise SettingsError(f"invalid {settings_class.__name__}: {problems}") from exc


def secret_value(name: str, environ: Mapping[str, str] | None = None) -> str | None:
    """A secret from ``NAME`` or from the file named by ``NAME_FILE`` (Docker secrets)."""
    env = os.environ if environ is None else environ
    if value := env.get(name):
        return value
    if path := env.get(f"{name}_FILE"):
        try:
            return Path(path).read_text().strip() or None
        except OSError as exc:
            raise SettingsError(
                f"{name}_FILE points to {path}, which cannot be read: {exc}"
            ) from exc
    return None
