from pathlib import Path

from export_service.app import create_app
from export_service.settings import ExportSettings
from fastapi.testclient import TestClient


def test_healthz_answers_and_readyz_sees_database_and_redis(var_dir: Path, redis_url: str) -> None:
    settings = ExportSettings(var_dir=var_dir, redis_url=redis_url)
    with TestClient(create_app(settings)) as client:
        assert client.get("/healthz").json()["status"] == "ok"
        ready = client.get("/readyz")
        assert ready.status_code == 200, ready.text
        assert ready.json()["ready"] is True
