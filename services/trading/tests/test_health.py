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


def test_the_engine_is_the_database_test_database_backend_selects(
    var_dir: Path, redis_url: str, trading_database: str
) -> None:
    from shared.testing.postgres import selected_backend
    from trading.bootstrap import bootstrap

    container = bootstrap(TradingSettings(var_dir=var_dir, redis_url=redis_url))
    try:
        expected = "postgresql" if selected_backend() == "postgres" else "sqlite"
        assert container.engine.dialect.name == expected
        if expected == "sqlite":
            assert (var_dir / "data" / "trading" / "trading.sqlite").exists()
        else:
            assert container.engine.url.render_as_string() == trading_database
    finally:
        container.engine.dispose()


def test_an_empty_database_url_means_the_sqlite_file_under_var_dir(var_dir: Path) -> None:
    settings = TradingSettings(var_dir=var_dir, database_url="")
    assert settings.database() == f"sqlite:///{var_dir}/data/trading/trading.sqlite"
    url = "postgresql://trading@db.internal:5432/trading"
    assert TradingSettings(var_dir=var_dir, database_url=url).database() == url
