"""The trading app with the admission checks taken out: the baseline trading_orders.py
measures against in the same run (``--baseline``). For measurements only."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI
from trading.adapters.market_data import SymbolDirectory
from trading.admission_service import Admission
from trading.app import create_app as create_trading_app
from trading.domain.admission import AssetFlags


class NoAdmission(Admission):
    def asset_flags(self, directory: SymbolDirectory, symbol: str) -> AssetFlags:
        return AssetFlags()

    def check(self, *args: Any, **kwargs: Any) -> None:
        return None


def create_app() -> FastAPI:
    app = create_trading_app()
    lifespan = app.router.lifespan_context

    @asynccontextmanager
    async def without_admission(application: FastAPI) -> AsyncIterator[Any]:
        async with lifespan(application) as state:
            deps = application.state.container.deps
            object.__setattr__(deps, "admission", NoAdmission(calendar=deps.admission.calendar))
            yield state

    app.router.lifespan_context = without_admission  # type: ignore[assignment]
    return app
