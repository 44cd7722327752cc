"""The stream bus: outbox and relay for producers, a reliable consumer for readers."""

from shared.bus.consumer import BatchHandler, ConsumerConfig, StreamConsumer, per_event
from shared.bus.idempotent import idempotent_sql_handler
from shared.bus.outbox import OutboxRelay, SqlOutboxStore, add_to_outbox, create_bus_tables
from shared.bus.publisher import publish_now

__all__ = [
    "BatchHandler",
    "ConsumerConfig",
    "OutboxRelay",
    "SqlOutboxStore",
    "StreamConsumer",
    "add_to_outbox",
    "create_bus_tables",
    "idempotent_sql_handler",
    "per_event",
    "publish_now",
]
