"""The stream bus: outbox and relay for producers, a reliable consumer for readers.

DuckDB flavours (``DuckDBOutboxStore``, ``create_duckdb_bus_tables``, ``add_to_duckdb_outbox``,
``duckdb_idempotent_handler``) live in :mod:`shared.bus.duck`, re-exported here; they import no
duckdb module and take the caller's connection. Dead-letter tools are in :mod:`shared.bus.dlq`.
"""

from shared.bus.consumer import BatchHandler, ConsumerConfig, StreamConsumer, per_event
from shared.bus.dlq import DeadLetter, list_dead_letters, replay_dead_letters
from shared.bus.duck import (
    DuckDBOutboxStore,
    add_to_duckdb_outbox,
    create_duckdb_bus_tables,
    duckdb_idempotent_handler,
)
from shared.bus.idempotent import idempotent_sql_batch_handler, idempotent_sql_handler
from shared.bus.outbox import (
    OutboxRelay,
    OutboxStore,
    SqlOutboxStore,
    add_to_outbox,
    create_bus_tables,
)
from shared.bus.publisher import publish_now

__all__ = [
    "BatchHandler",
    "ConsumerConfig",
    "DeadLetter",
    "DuckDBOutboxStore",
    "OutboxRelay",
    "OutboxStore",
    "SqlOutboxStore",
    "StreamConsumer",
    "add_to_duckdb_outbox",
    "add_to_outbox",
    "create_bus_tables",
    "create_duckdb_bus_tables",
    "duckdb_idempotent_handler",
    "idempotent_sql_batch_handler",
    "idempotent_sql_handler",
    "list_dead_letters",
    "per_event",
    "publish_now",
    "replay_dead_letters",
]
