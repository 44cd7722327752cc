"""A private nginx for tests: the gateway's rendered config on a free port, stopped after."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from shared.testing.processes import free_port, running_process
from shared.testing.servers import nginx_executable


@dataclass(frozen=True)
class NginxInstance:
    url: str
    port: int
    prefix: Path
    config: str


@contextlib.contextmanager
def private_nginx(var_dir: Path, **settings: Any) -> Iterator[NginxInstance]:
    """Render the gateway's nginx.conf with these settings (field names of GatewaySettings,
    e.g. ``gateway_url=..., trading_url=..., nginx_rate_per_key=5``) and run nginx unprivileged
    from ``var_dir/nginx`` in the foreground on a free ``gateway_port`` unless one is given."""
    from gateway.nginx.render import render_nginx
    from gateway.settings import GatewaySettings

    port = int(settings.pop("gateway_port", 0)) or free_port()
    gateway_settings = GatewaySettings(var_dir=var_dir, gateway_port=port, **settings)
    config_path = render_nginx(gateway_settings)
    prefix = gateway_settings.nginx_prefix().resolve()
    argv = [nginx_executable(), "-p", str(prefix), "-c", "nginx.conf", "-g", "daemon off;"]
    with running_process(argv, port=port, log_path=prefix / "logs" / "nginx.log"):
        yield NginxInstance(
            url=f"http://127.0.0.1:{port}", port=port, prefix=prefix, config=config_path.read_text()
        )
