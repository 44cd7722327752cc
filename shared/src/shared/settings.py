"""Typed settings shared by every service, built once in each service's factory."""

from __future__ import annotations

import os
from collections.abc import Mapping
from enum import StrEnum
from pathlib import Path
from typing import Any, TypeVar

from pydantic import Field, ValidationError, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


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


def service_port(gateway_port: int, service: ServiceName) -> int:
    return gateway_port + PORT_OFFSETS[service]


class ServiceSettings(BaseSettings):
    """Settings every process reads; services subclass it and add their own fields."""

    model_config = SettingsConfigDict(env_file=None, extra="ignore", frozen=True)

    environment: Environment = Environment.DEVELOPMENT
    var_dir: Path = Path("var")
    redis_url: str = ""
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

    @model_validator(mode="after")
    def _redis_url_default(self) -> ServiceSettings:
        if not self.redis_url:
            local = f"redis://127.0.0.1:{self.gateway_port + REDIS_PORT_OFFSET}/0"
            object.__setattr__(self, "redis_url", local)
        return self

    def port_of(self, service: ServiceName) -> int:
        return service_port(self.gateway_port, service)

    def url_of(self, service: ServiceName) -> str:
        configured: str = getattr(self, f"{service.value.replace('-', '_')}_url")
        return configured.rstrip("/") or f"http://127.0.0.1:{self.port_of(service)}"

    def data_dir(self, service: ServiceName) -> Path:
        path = self.var_dir / "data" / service.value
        path.mkdir(parents=True, exist_ok=True)
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
