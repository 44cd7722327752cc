"""Large ranges become jobs: 202, progress, the file, ExportCompleted, failure and retention."""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import openpyxl
from export_service.app import create_app
from export_service.handlers import ExportServices, expire_old_exports
from export_service.settings import ExportSettings
from fastapi.testclient import TestClient
from redis.asyncio import Redis
from shared.clock import FixedClock
from shared.events import ExportCompleted, Streams, decode
from shared.testing.waiting import wait_until, wait_until_async

MONTH = {"start_date": "2025-06-01", "end_date": "2025-07-02"}


def job_settings(settings: ExportSettings, **changes: Any) -> ExportSettings:
    """The same stack where any range over 5 sessions is a background job."""
    return settings.model_copy(update={"export_job_threshold_sessions": 5, **changes})


def poll_until_finished(client: TestClient, status_url: str, timeout: float = 30) -> dict[str, Any]:
    def finished() -> dict[str, Any] | None:
        job: dict[str, Any] = client.get(status_url).json()
        return job if job["status"] in ("done", "failed") else None

    return wait_until(finished, what="the export to finish", within=timeout, interval=0.1)


async def read_events(redis: Redis, stream: str) -> list[Any]:
    entries = await wait_until_async(lambda: redis.xrange(stream), what=f"events on {stream}")
    return [decode(fields[b"data"]) for _, fields in entries]


async def test_a_large_range_is_a_job_whose_file_is_served_when_done_and_announced(
    export_settings: ExportSettings, redis_client: Redis
) -> None:
    with TestClient(create_app(job_settings(export_settings))) as client:
        accepted = client.post("/export-data", json=MONTH)

        assert accepted.status_code == 202, accepted.text
        job = accepted.json()
        assert accepted.headers["location"] == job["status_url"] == f"/exports/{job['export_id']}"
        assert job["sessions"] == 22
        finished = poll_until_finished(client, job["status_url"])
        assert finished["status"] == "done", finished
        assert finished["progress"] == 1.0
        assert finished["rows_written"] > 22 + 2_200  # and one per change day
        assert finished["filename"] == "index_2025-06-01_2025-07-02.xlsx"
        download = client.get(finished["file_url"])

        assert download.status_code == 200
        assert (
            'filename="index_2025-06-01_2025-07-02.xlsx"' in download.headers["content-disposition"]
        )
        workbook = openpyxl.load_workbook(io.BytesIO(download.content), read_only=True)
        assert workbook["Performance"].max_row == 23
        assert workbook["Compositions"].max_row == 2_201
        events = await read_events(redis_client, Streams.EXPORTS)

    (event,) = events
    payload = event.typed_payload()
    assert isinstance(payload, ExportCompleted)
    assert payload.export_id == job["export_id"]
    assert payload.size_bytes == finished["size_bytes"] == len(download.content)
    assert event.producer == "export"


def test_the_file_of_a_job_that_has_not_run_is_409_and_its_status_says_queued(
    export_settings: ExportSettings,
) -> None:
    settings = job_settings(export_settings, export_background_in_api=False)
    with TestClient(create_app(settings)) as client:
        job = client.post("/export-data", json=MONTH).json()

        status = client.get(job["status_url"]).json()
        early = client.get(job["file_url"])

    assert status["status"] == "queued"
    assert status["progress"] == 0.0
    assert early.status_code == 409
    assert "queued" in early.json()["message"]


def test_a_job_whose_index_service_went_away_fails_with_the_reason(
    export_settings: ExportSettings,
) -> None:
    accepting = job_settings(export_settings, export_background_in_api=False)
    with TestClient(create_app(accepting)) as client:
        job = client.post("/export-data", json=MONTH).json()
    running = job_settings(export_settings, index_url="http://127.0.0.1:9")

    with TestClient(create_app(running)) as client:
        finished = poll_until_finished(client, job["status_url"])
        download = client.get(job["file_url"])

    assert finished["status"] == "failed"
    assert "index service is unreachable" in finished["message"]
    assert download.status_code == 409
    assert "failed" in download.json()["message"]


def test_files_past_the_retention_period_are_removed_and_then_410(
    export_settings: ExportSettings,
) -> None:
    clock = FixedClock(datetime(2026, 1, 5, 12, tzinfo=UTC))
    settings = export_settings.model_copy(update={"export_retention_hours": 24})
    with TestClient(create_app(settings, clock=clock)) as client:
        made = client.post("/export-data", json=MONTH)
        export_id = made.headers["x-export-id"]
        services: ExportServices = client.app.state.container.services  # type: ignore[attr-defined]
        stored = services.store.get(export_id)
        assert stored is not None
        assert stored.file_path is not None
        file_path = Path(stored.file_path)

        clock.set(clock.now() + timedelta(hours=23))
        kept = expire_old_exports(services)
        assert file_path.exists()
        clock.set(clock.now() + timedelta(hours=2))
        removed = expire_old_exports(services)
        status = client.get(f"/exports/{export_id}").json()
        gone = client.get(f"/exports/{export_id}/file")

    assert (kept, removed) == (0, 1)
    assert not file_path.exists()
    assert status["status"] == "expired"
    assert gone.status_code == 410


def test_a_range_at_the_threshold_is_still_answered_in_the_request(
    export_settings: ExportSettings,
) -> None:
    settings = export_settings.model_copy(update={"export_job_threshold_sessions": 22})
    with TestClient(create_app(settings)) as client:
        response = client.post("/export-data", json=MONTH)

    assert response.status_code == 200
    assert response.headers["x-export-id"]
