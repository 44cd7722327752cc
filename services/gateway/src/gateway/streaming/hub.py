"""The fan-out hub: every event read once per process, offered to the clients that want it."""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Iterable
from typing import Any

import orjson
from shared.events import Streams

from gateway.domain import messages
from gateway.streaming.subscriber import CLOSE_KEY_REVOKED, Protocol, Subscriber

logger = logging.getLogger("gateway.hub")
MAX_SYMBOLS_PER_CLIENT = 2000
Pending = defaultdict[Subscriber, list[bytes]]


class Hub:
    """Indexes clients by symbol and by owner; encodes each message once for all receivers."""

    def __init__(self) -> None:
        self.subscribers: set[Subscriber] = set()
        self._by_symbol: defaultdict[str, set[Subscriber]] = defaultdict(set)
        self._all_symbols: set[Subscriber] = set()
        self._by_user: defaultdict[str, set[Subscriber]] = defaultdict(set)
        self.seq = 0
        self.dropped = 0
        self.opened = 0  # sockets ever added (for /metrics)

    def add(self, subscriber: Subscriber) -> None:
        self.subscribers.add(subscriber)
        self.opened += 1

    def identify(self, subscriber: Subscriber) -> None:
        if subscriber.user_id is not None:
            self._by_user[subscriber.user_id].add(subscriber)

    def remove(self, subscriber: Subscriber) -> None:
        self.subscribers.discard(subscriber)
        self.set_symbols(subscriber, set(), everything=False)
        if subscriber.user_id is not None:
            owned = self._by_user.get(subscriber.user_id)
            if owned is not None:
                owned.discard(subscriber)
                if not owned:
                    del self._by_user[subscriber.user_id]
        if subscriber.close_code == 4008:
            self.dropped += 1

    def set_symbols(self, subscriber: Subscriber, symbols: set[str], *, everything: bool) -> None:
        for symbol in subscriber.symbols - symbols:
            listeners = self._by_symbol.get(symbol)
            if listeners is not None:
                listeners.discard(subscriber)
                if not listeners:
                    del self._by_symbol[symbol]
        for symbol in symbols - subscriber.symbols:
            self._by_symbol[symbol].add(subscriber)
        subscriber.symbols = set(symbols)
        subscriber.all_symbols = everything
        if everything:
            self._all_symbols.add(subscriber)
        else:
            self._all_symbols.discard(subscriber)

    def key_ids(self) -> set[str]:
        return {s.identity.key_id for s in self.subscribers if s.identity is not None}

    def close_key(self, key_id: str | None) -> int:
        """Close every socket opened with ``key_id`` (all authenticated ones when None)."""
        doomed = [
            s
            for s in self.subscribers
            if s.identity is not None and (key_id is None or s.identity.key_id == key_id)
        ]
        for subscriber in doomed:
            subscriber.drop(CLOSE_KEY_REVOKED, "API key revoked")
        return len(doomed)

    def sweep(self, now: float) -> None:
        """Drop clients stuck in a send, and send heartbeats to idle ones (see Subscriber)."""
        for subscriber in list(self.subscribers):
            subscriber.sweep(now)

    def dispatch(self, stream: str, events: Iterable[dict[str, Any]]) -> None:
        """Offer a batch of events: each receiver's messages are queued at once (one wake-up
        and one frame per receiver and batch, instead of one per message)."""
        pending: defaultdict[Subscriber, list[bytes]] = defaultdict(list)
        for event in events:
            try:
                if stream == Streams.TICKS:
                    self._tick(event, pending)
                elif stream == Streams.ORDERS:
                    self._order(event, pending)
                elif stream == Streams.ALERTS:
                    self._alert(event, pending)
            except (KeyError, TypeError) as exc:
                logger.warning("skipped a malformed %s event: %s", stream, exc)
        for subscriber, items in pending.items():
            subscriber.offer_many(items)

    def _next_seq(self) -> int:
        self.seq += 1
        return self.seq

    def _tick(self, event: dict[str, Any], pending: Pending) -> None:
        symbol = event["payload"]["symbol"]
        listeners = self._by_symbol.get(symbol)
        if not listeners and not self._all_symbols:
            return
        item = orjson.dumps(messages.trade_message(self._next_seq(), event))
        for subscriber in listeners or ():
            pending[subscriber].append(item)
        for subscriber in self._all_symbols:
            if symbol not in subscriber.symbols:
                pending[subscriber].append(item)

    def _owners_of(self, event: dict[str, Any]) -> set[Subscriber]:
        return self._by_user.get(str(event["payload"]["account_id"]), set())

    def _order(self, event: dict[str, Any], pending: Pending) -> None:
        owners = self._owners_of(event)
        if not owners:
            return
        seq = self._next_seq()
        json_item: bytes | None = None
        alpaca_item: bytes | None = None
        for subscriber in owners:
            if subscriber.protocol is Protocol.JSON and subscriber.orders:
                json_item = json_item or orjson.dumps(messages.order_message(seq, event))
                pending[subscriber].append(json_item)
            elif subscriber.protocol is Protocol.ALPACA and subscriber.trade_updates:
                if alpaca_item is None:
                    update = messages.alpaca_trade_update(seq, event)
                    if update is None:
                        continue
                    alpaca_item = orjson.dumps(update)
                pending[subscriber].append(alpaca_item)

    def _alert(self, event: dict[str, Any], pending: Pending) -> None:
        owners = [s for s in self._owners_of(event) if s.alerts]
        if owners:
            item = orjson.dumps(messages.alert_message(self._next_seq(), event))
            for subscriber in owners:
                pending[subscriber].append(item)
