from pathlib import Path

import redis as sync_redis
from fastapi.testclient import TestClient
from portfolio.app import create_app
from portfolio.bootstrap import bootstrap
from portfolio.live import ACCOUNTS_GROUP
from portfolio.settings import PortfolioSettings
from portfolio_harness import Publisher, SettingsFor
from shared.events import Streams
from shared.testing.postgres import selected_backend


def test_healthz_answers_and_readyz_sees_database_and_redis(settings_for: SettingsFor) -> None:
    settings = settings_for()
    with TestClient(create_app(settings)) as client:
        assert client.get("/healthz").json()["status"] == "ok"
        ready = client.get("/readyz")
        assert ready.status_code == 200, ready.text
        assert ready.json()["ready"] is True


def test_the_engine_is_the_database_test_database_backend_selects(
    settings_for: SettingsFor, portfolio_database: str
) -> None:
    settings = settings_for()
    container = bootstrap(settings)
    try:
        expected = "postgresql" if selected_backend() == "postgres" else "sqlite"
        assert container.engine.dialect.name == expected
        if expected == "sqlite":
            assert settings.database_file().exists()
        else:
            assert container.engine.url.render_as_string() == portfolio_database
    finally:
        container.engine.dispose()


def test_an_empty_database_url_means_the_sqlite_file_under_var_dir(var_dir: Path) -> None:
    settings = PortfolioSettings(var_dir=var_dir, database_url="")
    assert settings.database() == f"sqlite:///{var_dir}/data/portfolio/portfolio.sqlite"
    url = "postgresql://portfolio@db.internal:5432/portfolio"
    assert PortfolioSettings(var_dir=var_dir, database_url=url).database() == url


def test_readyz_reports_each_consumer_groups_lag(
    settings_for: SettingsFor, redis_url: str, publisher: Publisher
) -> None:
    """The lag is reported, it does not make the service unready: a worker catching up is
    still serving reads."""
    client = sync_redis.Redis.from_url(redis_url)
    client.xgroup_create(Streams.ACCOUNTS, ACCOUNTS_GROUP, id="$", mkstream=True)
    for n in range(3):
        publisher.open_account(f"user-{n}")
    client.close()
    with TestClient(create_app(settings_for())) as api:
        ready = api.get("/readyz")
    assert ready.status_code == 200, ready.text
    bus = ready.json()["bus"]
    accounts = next(c for c in bus["consumers"] if c["group"] == ACCOUNTS_GROUP)
    assert accounts["stream"] == Streams.ACCOUNTS
    assert (accounts["lag"], accounts["pending"]) == (3, 0)
    assert bus["outbox_backlog"] == 0
