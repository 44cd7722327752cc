"""Dependencies of the routers, as one-word aliases."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from market_data.bootstrap import Container


async def get_container(request: Request) -> Container:
    container: Container = request.app.state.container
    return container


ContainerDep = Annotated[Container, Depends(get_container)]
