"""The strategies mount on trading's own app and engine the way the lead wires them."""

from __future__ import annotations

from pathlib import Path

from fastapi.testclient import TestClient
from shared.testing.identity import signed_headers
from trading.app import create_app
from trading.settings import TradingSettings
from trading.strategies.adapters.market_data import StaticSymbolDirectory
from trading.strategies.adapters.trading_gateway import TradingOrderGateway


def test_the_router_works_inside_the_trading_app_on_its_engine(
    var_dir: Path, redis_url: str
) -> None:
    settings = TradingSettings(var_dir=var_dir, redis_url=redis_url)
    alice = signed_headers(settings, "alice", "trade")
    app = create_app(settings)
    with TestClient(app) as client:
        services = app.state.strategies
        assert isinstance(services.gateway, TradingOrderGateway)
        services.symbols = StaticSymbolDirectory(["AAPL"])
        document = {
            "name": "rsi dip",
            "parameters": {"kind": "rsi", "period": 14, "oversold": 25, "overbought": 75},
            "symbols": ["aapl"],
            "sizing": {"mode": "qty", "value": 5},
        }
        created = client.post("/strategies", json=document, headers=alice)
        assert created.status_code == 201, created.text
        assert created.json()["symbols"] == ["AAPL"]
        strategy_id = created.json()["id"]
        assert (
            client.post(f"/strategies/{strategy_id}/activate", headers=alice).json()["status"]
            == "active"
        )
        assert "/strategies/{strategy_id}/backtest" in client.get("/openapi.json").json()["paths"]
