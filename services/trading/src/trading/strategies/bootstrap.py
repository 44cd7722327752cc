"""Wiring of the strategies package inside the trading service.

In trading's app lifespan::

    services = build_strategy_services(settings, container.engine,
                                       TradingOrderGateway(container.deps),
                                       SimulatorFills(execution_model(settings)))
    app.state.strategies = services          # the router reads it
    ...
    await services.close()

and ``app.include_router(trading.strategies.api.router)`` in ``create_app``. In ``trading
worker``, run ``LiveRunner(services, container.redis).run(stop)`` as one more task.
"""

from __future__ import annotations

import httpx
from shared.settings import ServiceName, ServiceSettings
from sqlalchemy.engine import Engine

from trading.strategies.adapters.market_data import HttpBarSource, HttpSymbolDirectory
from trading.strategies.domain.fills import FillRules, SimulatorFills
from trading.strategies.ports import OrderGateway
from trading.strategies.services import StrategyServices
from trading.strategies.tables import create_strategy_tables

MARKET_DATA_TIMEOUT_S = 10.0


def build_strategy_services(
    settings: ServiceSettings,
    engine: Engine,
    gateway: OrderGateway,
    fill_rules: FillRules | None = None,
) -> StrategyServices:
    """Tables on trading's engine; bars and symbols from market-data over HTTP."""
    create_strategy_tables(engine)
    market_data = settings.url_of(ServiceName.MARKET_DATA)
    http = httpx.AsyncClient(timeout=MARKET_DATA_TIMEOUT_S)
    services = StrategyServices(
        engine=engine,
        gateway=gateway,
        bars=HttpBarSource(http, market_data),
        symbols=HttpSymbolDirectory(http, market_data),
        fill_rules=fill_rules or SimulatorFills(),
    )
    services.on_close.append(http.aclose)
    return services
