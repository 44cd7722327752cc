from datetime import UTC, datetime, timedelta
from pathlib import Path

from shared.bus import create_bus_tables
from shared.bus.idempotent import prune_processed_events
from shared.bus.tables import processed_events
from shared.db import make_engine, sqlite_url
from sqlalchemy import func, insert, select


def test_pruning_forgets_only_old_ids_of_the_named_group(tmp_path: Path) -> None:
    engine = make_engine(sqlite_url(tmp_path / "p.sqlite"))
    create_bus_tables(engine)
    now = datetime.now(UTC)
    rows = [
        {"consumer_group": "ticks", "event_id": "old", "processed_at": now - timedelta(hours=2)},
        {"consumer_group": "ticks", "event_id": "new", "processed_at": now},
        {"consumer_group": "fills", "event_id": "old", "processed_at": now - timedelta(hours=2)},
    ]
    with engine.begin() as connection:
        connection.execute(insert(processed_events), rows)

    pruned = prune_processed_events(engine, "ticks", now - timedelta(hours=1))

    with engine.connect() as connection:
        left = connection.execute(select(func.count()).select_from(processed_events)).scalar()
    assert pruned == 1
    assert left == 2
