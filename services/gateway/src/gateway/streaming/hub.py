"""The fan-out hub: every event read once per process, offered to the clients that want it."""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator
from datetime import datetime
from typing import Any

import orjson
from shared.events import Streams
from shared.intraday import IntradayBar

from gateway.domain import market_data_messages as md
from gateway.domain import messages
from gateway.domain.market_stream import Subscriptions
from gateway.streaming.framing import Framing, encode_item
from gateway.streaming.minute_bars import MinuteBarBuilder
from gateway.streaming.subscriber import CLOSE_KEY_REVOKED, Protocol, Subscriber
from gateway.streaming.symbol_index import WILDCARD, SymbolIndex

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
        # The market-data stream's other channels (its trades share the index above).
        self._quotes: SymbolIndex[Subscriber] = SymbolIndex()
        self._bars: SymbolIndex[Subscriber] = SymbolIndex()
        self.minute_bars = MinuteBarBuilder()
        self.seq = 0
        self.dropped = 0
        self.opened = 0  # sockets ever added (for /metrics)
        self.market_clients = 0  # market-data stream sockets open now

    def add(self, subscriber: Subscriber) -> None:
        self.subscribers.add(subscriber)
        self.opened += 1
        if subscriber.protocol is Protocol.MARKET_DATA:
            self.market_clients += 1

    def identify(self, subscriber: Subscriber) -> None:
        if subscriber.user_id is not None:
            self._by_user[subscriber.user_id].add(subscriber)

    def remove(self, subscriber: Subscriber) -> None:
        if subscriber in self.subscribers and subscriber.protocol is Protocol.MARKET_DATA:
            self.market_clients -= 1
            if not self.market_clients:
                self.minute_bars.reset()
        self.subscribers.discard(subscriber)
        self.set_symbols(subscriber, set(), everything=False)
        if subscriber.market is not None:
            self.set_channels(subscriber, Subscriptions())
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

    def set_channels(self, subscriber: Subscriber, subscriptions: Subscriptions) -> None:
        """A market-data stream client's subscriptions (trades, quotes, minute bars)."""
        trades = subscriptions.of("trades")
        self.set_symbols(subscriber, set(trades - {WILDCARD}), everything=WILDCARD in trades)
        old = subscriber.market.of if subscriber.market is not None else Subscriptions().of
        self._quotes.change(subscriber, old("quotes"), subscriptions.of("quotes"))
        self._bars.change(subscriber, old("bars"), subscriptions.of("bars"))
        subscriber.market = subscriptions

    def market_sockets_of(self, user_id: str) -> int:
        owned = self._by_user.get(user_id, ())
        return sum(1 for s in owned if s.protocol is Protocol.MARKET_DATA)

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
        feed_time: datetime | None = None  # the newest tick's time, when bars are built
        for event in events:
            try:
                if stream == Streams.TICKS:
                    at = self._tick(event, pending)
                    if at is not None and (feed_time is None or at > feed_time):
                        feed_time = at
                elif stream == Streams.ORDERS:
                    self._order(event, pending)
                elif stream == Streams.ALERTS:
                    self._alert(event, pending)
            except (KeyError, TypeError, ValueError, ArithmeticError) as exc:
                logger.warning("skipped a malformed %s event: %s", stream, exc)
        if feed_time is not None:
            self._bar_messages(self.minute_bars.close_before(feed_time), pending)
        for subscriber, items in pending.items():
            subscriber.offer_many(items)

    def _next_seq(self) -> int:
        self.seq += 1
        return self.seq

    def _tick(self, event: dict[str, Any], pending: Pending) -> datetime | None:
        """Offer a tick to its listeners; the tick's time while minute bars are being built
        (while a market-data socket is open)."""
        symbol = event["payload"]["symbol"]
        listeners = self._by_symbol.get(symbol)
        if not self.market_clients:  # the /ws fast path: one encoding, no tick parsing
            if listeners or self._all_symbols:
                item = orjson.dumps(messages.trade_message(self._next_seq(), event))
                for subscriber in self._trade_listeners(symbol, listeners):
                    pending[subscriber].append(item)
            return None
        tick = md.recorded_tick(event)
        ws_item: bytes | None = None
        trade = _PerFraming(lambda: md.trade_message(event, tick))
        for subscriber in self._trade_listeners(symbol, listeners):
            if subscriber.protocol is Protocol.MARKET_DATA:
                pending[subscriber].append(trade[subscriber.framing])
            elif subscriber.protocol is Protocol.JSON:
                ws_item = ws_item or orjson.dumps(messages.trade_message(self._next_seq(), event))
                pending[subscriber].append(ws_item)
        if self._quotes.wants(symbol):
            quote = _PerFraming(lambda: md.quote_message(tick))
            for subscriber in self._quotes.listeners(symbol):
                pending[subscriber].append(quote[subscriber.framing])
        # Every symbol's minute, not only the subscribed ones': a client that subscribes in
        # the middle of a minute still gets that minute's whole bar.
        self.minute_bars.add(tick)
        return tick.at

    def _trade_listeners(
        self, symbol: str, listeners: set[Subscriber] | None
    ) -> Iterator[Subscriber]:
        yield from listeners or ()
        for subscriber in self._all_symbols:
            if symbol not in subscriber.symbols:
                yield subscriber

    @property
    def building_bars(self) -> bool:
        return self.market_clients > 0

    def close_bars(self, moment: datetime) -> None:
        """Send the bars of every minute that ended before ``moment`` (the market clock's)."""
        pending: Pending = defaultdict(list)
        self._bar_messages(self.minute_bars.close_before(moment), pending)
        for subscriber, items in pending.items():
            subscriber.offer_many(items)

    def _bar_messages(self, bars: list[IntradayBar], pending: Pending) -> None:
        for bar in bars:
            message = _PerFraming(lambda bar=bar: md.bar_message(bar))  # type: ignore[misc]
            for subscriber in self._bars.listeners(bar.symbol):
                pending[subscriber].append(message[subscriber.framing])

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


class _PerFraming:
    """One message, encoded at most once per framing for all the receivers of a tick or bar."""

    __slots__ = ("_build", "_items")

    def __init__(self, build: Callable[[], dict[str, Any]]) -> None:
        self._build = build
        self._items: dict[Framing, bytes] = {}

    def __getitem__(self, framing: Framing) -> bytes:
        item = self._items.get(framing)
        if item is None:
            item = self._items[framing] = encode_item(self._build(), framing)
        return item
