"""Request dependencies: the container the lifespan built, and cached responses."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable
from typing import Annotated

from fastapi import Depends, Request, Response
from shared.cache import cached_response

from index_service.bootstrap import Container


async def get_container(request: Request) -> Container:
    container: Container = request.app.state.container
    return container


ContainerDep = Annotated[Container, Depends(get_container)]


def cache_key(request: Request) -> str:
    return key_of(request.url.path, request.query_params.multi_items())


def key_of(path: str, params: Iterable[tuple[str, str]]) -> str:
    query = "&".join(f"{k}={v}" for k, v in sorted(params))
    return f"{path}?{query}"


def namespace_of(container: Container) -> str:
    return f"responses:{container.store.versions.tag}"


async def serve_cached(
    request: Request,
    container: Container,
    compute: Callable[[], Awaitable[bytes]],
    media_type: str = "application/json",
) -> Response:
    """Ready bytes from Redis under the current data version and build generation."""
    cached = await container.cache.get_or_compute(
        namespace_of(container), cache_key(request), compute
    )
    return cached_response(request, cached, media_type)
