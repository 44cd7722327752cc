"""Dependencies of the edge app's routers, as one-word aliases."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from shared.identity import AdminCaller

from gateway.bootstrap import Container


async def _container(request: Request) -> Container:
    container: Container = request.app.state.container
    return container


ContainerDep = Annotated[Container, Depends(_container)]
__all__ = ["AdminCaller", "ContainerDep"]
