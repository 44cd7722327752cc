"""Run a service's HTTP app: the one ``serve`` command every service's CLI calls."""

from __future__ import annotations

from typing import Any

import uvicorn

from shared.db import keep_new_files_private
from shared.heap import keep_full_collections_short
from shared.logs import configure_logging
from shared.settings import ServiceName, ServiceSettings


def serve_app(
    factory: str, settings: ServiceSettings, service: ServiceName, **uvicorn_options: Any
) -> None:
    """uvicorn on the service's internal address, with JSON logs and no access log, and
    short full garbage collections (see shared.heap); the files it creates are private."""
    configure_logging(service.value, settings.log_level)
    keep_full_collections_short()
    keep_new_files_private()
    uvicorn.run(
        factory,
        factory=True,
        host=settings.bind_host,
        port=settings.port_of(service),
        log_config=None,
        access_log=False,
        **uvicorn_options,
    )
