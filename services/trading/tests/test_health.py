from pathlib import Path

from fastapi.testclient import TestClient
from trading.app import create_app
from trading.settings import TradingSettings


def test_healthz_answers_and_readyz_sees_database_and_redis(var_dir: Path, redis_url: str) -> None:
    settings = TradingSettings(var_dir=var_dir, redis_url=redis_url)
    with TestClient(create_app(settings)) as client:
        assert client.get("/healthz").json()["status"] == "ok"
        ready = client.get("/readyz")
        assert ready.status_code == 200, ready.text
        assert ready.json()["ready"] is True
