"""The execution engine: accepts, fills, triggers, cancels, replaces and expires orders on an
in-memory ``OrderBook``. No I/O: the live worker and the HTTP handlers load the book and
write it back around it, a backtest keeps one in memory, so both run these same rules.

Its policies are injected: the ``FillModel`` (price, fee, the reserve of a market buy and
how much of an order one trade may fill) and the ``SessionRules`` (when an order may execute
and when its time in force ends; an ``ExpiryRule`` may override the latter); order and fill
ids come from ``ids``. Time is the book's ``now``, which its driver sets from its clock or
from the tick."""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import ROUND_CEILING, Decimal

from shared.market_sessions import Phase
from shared.money import QTY_STEP

from trading.domain.book import EventKind, Fill, OrderBook
from trading.domain.execution import (
    FillModel,
    crossed,
    react,
    trailing_stop_of,
    waits_for_auction,
)
from trading.domain.ledger import (
    affordable_qty,
    largest_within,
    release,
    reserve,
    settle_fill,
)
from trading.domain.orders import (
    ZERO,
    AccountHalted,
    LegRole,
    Order,
    OrderClass,
    OrderRefused,
    OrderRequest,
    OrderType,
    ReplaceRequest,
    Side,
    TimeInForce,
)
from trading.domain.sessions import ALWAYS_OPEN, SessionRules
from trading.domain.status import OrderStatus
from trading.domain.validation import check_price, validate

IdFactory = Callable[[], str]
ExpiryRule = Callable[[TimeInForce, datetime], datetime | None]


def new_id() -> str:
    return str(uuid.uuid4())


@dataclass(frozen=True, slots=True)
class Tick:
    """One trade of a symbol at a moment (``id``: the event it came in, if any; ``size``:
    its shares, when known, for a volume-aware fill model)."""

    symbol: str
    price: Decimal
    ts: datetime
    id: str | None = None
    size: Decimal | None = None


def holds_reserve(order: Order) -> bool:
    """In a one-cancels-other group only one member holds the group's reserve."""
    return order.oco_group is None or order.leg_role in (LegRole.ENTRY, LegRole.TAKE_PROFIT)


def halted_message(account_id: str) -> str:
    return (
        f"trading is halted for account {account_id} by a risk rule: "
        "only sells that reduce a position are allowed until it is cleared"
    )


def accepted_fields(order: Order) -> dict[str, object]:
    return {
        "order_type": str(order.type),
        "qty": order.qty,
        "notional": order.notional,
        "limit_price": order.limit_price,
        "stop_price": order.stop_price,
    }


class ExecutionEngine:
    def __init__(
        self,
        model: FillModel,
        *,
        ids: IdFactory = new_id,
        sessions: SessionRules = ALWAYS_OPEN,
        expiry: ExpiryRule | None = None,
    ) -> None:
        self.model = model
        self.ids = ids
        self.sessions = sessions
        self.expiry = expiry

    def expires_at(self, tif: TimeInForce, extended_hours: bool, now: datetime) -> datetime | None:
        if self.expiry is not None:
            return self.expiry(tif, now)
        return self.sessions.expires_at(tif, extended_hours, now)

    def wait_for_session(self, order: Order, now: datetime) -> None:
        """A new working order that cannot execute now is ``accepted`` until its session."""
        if order.status == OrderStatus.NEW and not self.sessions.may_execute(
            order, self.sessions.phase(now)
        ):
            order.status = OrderStatus.ACCEPTED

    def activate(self, book: OrderBook, order: Order) -> None:
        """An ``accepted`` order reaches its session: it becomes ``new`` (the ``new`` update)."""
        if order.status != OrderStatus.ACCEPTED:
            return
        order.move_to(OrderStatus.NEW, book.now)
        book.touch(order)
        book.emit(order, EventKind.ACCEPTED, **accepted_fields(order))

    def open_sessions(self, book: OrderBook, orders: Iterable[Order]) -> None:
        """Accepted orders whose session has started become ``new`` (those no trade met)."""
        phase = self.sessions.phase(book.now)
        for order in orders:
            tracked = book.adopt(order)
            if tracked.time_in_force == TimeInForce.OPG:
                continue  # it waits for the opening trade, which fills or cancels it
            if self.sessions.may_execute(tracked, phase):
                self.activate(book, tracked)

    # -- commands -----------------------------------------------------------------------
    def submit(
        self,
        book: OrderBook,
        request: OrderRequest,
        account_id: str,
        client_order_id: str,
        last: Decimal | None,
        *,
        execute: bool = True,
    ) -> Order:
        """Accept an order and its legs, reserve for them and, with ``execute``, meet the
        last trade at once (a backtest submits at the close and fills at the next open)."""
        account = book.account(account_id)
        if account.halted and request.side == Side.BUY:
            raise AccountHalted(halted_message(account_id))
        validate(request, reference_price=last)  # legs against the market price
        self.sessions.check_submission(request, book.now)
        entry, legs = self.build_orders(request, account_id, client_order_id, book.now)
        group = [leg for leg in legs if leg.is_working]
        for order in (entry, *group):
            self.wait_for_session(order, book.now)
        for order in (entry, *legs):
            book.add(order)
        self.hold(book, entry, group, last)
        for order in (entry, *group):
            book.emit(order, EventKind.ACCEPTED, **accepted_fields(order))
        if execute:
            self.execute_now(book, entry, last)
        entry.legs = legs
        return entry

    def cancel(self, book: OrderBook, order: Order, reason: str = "canceled by the client") -> None:
        if not order.is_open:
            raise OrderRefused(f'order is not cancelable: it is already "{order.status}"')
        self.finish(book, order, OrderStatus.CANCELED, reason)

    def replace(
        self,
        book: OrderBook,
        old: Order,
        patch: ReplaceRequest,
        last: Decimal | None,
        *,
        client_order_id_taken: bool = False,
    ) -> Order:
        """A new order takes the old one's place (the old one becomes ``replaced``)."""
        self.check_replaceable(book, old, patch, client_order_id_taken)
        new = self.replacement(old, patch, book.now)
        group = book.group(old) if old.oco_group else []
        self.finish(book, old, OrderStatus.REPLACED)
        self.wait_for_session(new, book.now)
        old.replaced_by = new.id
        book.add(new)
        self.adopt_relatives(book, old, new, group)
        if holds_reserve(new):
            self.hold(book, new, group, last)
        else:
            for holder in (o for o in group if holds_reserve(o) and o.is_working):
                account = book.account(holder.account_id)
                release(account, book.holding(holder.account_id, holder.symbol), holder)
                self.hold(book, holder, [new, *(o for o in group if o is not holder)], last)
        book.emit(old, EventKind.REPLACED, replaced_by=new.id)
        if new.is_working:
            book.emit(new, EventKind.ACCEPTED, **accepted_fields(new))
        self.execute_now(book, new, last)
        new.legs = [o for o in book.orders.values() if o.parent_id == new.id]
        return new

    def expire(
        self, book: OrderBook, orders: Iterable[Order], last: Mapping[str, Decimal] | None = None
    ) -> None:
        """End these orders' time in force: a cls order fills at its symbol's last trade
        before the close (``last``), every other one expires."""
        for order in orders:
            tracked = book.adopt(order)
            price = (last or {}).get(tracked.symbol)
            if tracked.time_in_force == TimeInForce.CLS and tracked.is_working and price:
                self.closing_auction(book, tracked, price)
            self.finish(book, tracked, OrderStatus.EXPIRED)

    def closing_auction(self, book: OrderBook, order: Order, price: Decimal) -> None:
        """A cls order at its close: a market one fills at the closing price, a limit one
        when that price reaches its limit (else it expires)."""
        now, book.now = book.now, order.expires_at or book.now
        self.activate(book, order)
        self.auction_fill(book, order, price)
        book.now = now

    def opening_auction(self, book: OrderBook, order: Order, tick: Tick) -> None:
        """An opg order meets the first trade of regular hours: it fills there or is canceled."""
        self.activate(book, order)
        self.auction_fill(book, order, tick.price, tick.id)
        if order.is_open:
            self.finish(book, order, OrderStatus.CANCELED, "opg: not filled at the open")

    def auction_fill(
        self, book: OrderBook, order: Order, price: Decimal, tick_id: str | None = None
    ) -> None:
        limit = order.limit_price if order.type == OrderType.LIMIT else None
        if limit is None or crossed(order.side, price, limit, stop=False):
            self.fill(book, order, price, tick_id)  # an auction fills whole: no size cap

    # -- ticks --------------------------------------------------------------------------
    def on_ticks(
        self,
        book: OrderBook,
        ticks: Sequence[Tick],
        due: Sequence[Order] = (),
        last: Mapping[str, Decimal] | None = None,
    ) -> None:
        """Trade prices in stream order: each expires what its time closed (``due``, in the
        order they expire; a cls order fills at the trade before its close, from ``last``
        or from this batch), then fills and triggers what it crosses."""
        waiting = list(due)
        prices = dict(last or {})
        position = 0
        for tick in ticks:
            book.now = tick.ts
            while position < len(waiting):
                expires = waiting[position].expires_at
                if expires is None or expires > tick.ts:
                    break
                self.expire(book, [waiting[position]], prices)
                position += 1
            self.on_tick(book, tick)
            prices[tick.symbol] = tick.price

    def on_tick(self, book: OrderBook, tick: Tick) -> None:
        phase: Phase | None = None
        for order in book.candidates(tick.symbol, tick.price):
            if not order.is_working or order.time_in_force == TimeInForce.CLS:
                continue  # a cls order fills at its close (``expire``)
            phase = phase or self.sessions.phase(tick.ts)
            if order.time_in_force == TimeInForce.OPG:
                if self.sessions.has_hours and phase == Phase.REGULAR:
                    self.opening_auction(book, order, tick)
            elif self.sessions.may_execute(order, phase):
                self.activate(book, order)
                self.on_price(book, order, tick.price, tick.id, tick.size)

    def execute_now(self, book: OrderBook, order: Order, last: Decimal | None) -> None:
        """A new order meets the last trade at once (in its session); ioc and fok never rest."""
        if (
            last is not None
            and order.is_working
            and order.status != OrderStatus.ACCEPTED
            and not waits_for_auction(order)
        ):
            self.on_price(book, order, last, None)
        if order.time_in_force in (TimeInForce.IOC, TimeInForce.FOK) and order.is_open:
            reason = "no price to fill at" if last is None else "not filled immediately"
            self.finish(book, order, OrderStatus.CANCELED, f"{order.time_in_force}: {reason}")

    # -- reservations -------------------------------------------------------------------
    def per_share(self, order: Order, last: Decimal | None) -> Decimal | None:
        """The price a buy holds per share until it fills (None: nothing known yet)."""
        if order.type in (OrderType.LIMIT, OrderType.STOP_LIMIT):
            return order.limit_price
        if order.type == OrderType.STOP:
            assert order.stop_price is not None
            return self.model.reserve_price(order.stop_price)
        if order.type == OrderType.TRAILING_STOP:
            if order.hwm is None and last is None:
                return None
            probe = Order(**{**order.__dict__, "hwm": order.hwm or last, "legs": []})
            stop = trailing_stop_of(probe)
            return None if stop is None else self.model.reserve_price(stop)
        return None if last is None else self.model.reserve_price(last)

    @staticmethod
    def shares_to_sell(order: Order, last: Decimal | None) -> Decimal:
        """What a sell holds: its qty, or for a notional sell the shares its amount buys at
        the last price (bounded by the position when it is reserved)."""
        if order.qty is not None:
            return order.qty
        assert order.notional is not None
        if last is None:
            raise OrderRefused("a notional sell needs a last trade to size it: send qty")
        return (order.notional / last).quantize(QTY_STEP, ROUND_CEILING)

    def hold(self, book: OrderBook, order: Order, group: list[Order], last: Decimal | None) -> None:
        """Reserve what a working order needs (the group's worst case for its holder)."""
        if not order.is_working or not holds_reserve(order):
            return
        account = book.account(order.account_id)
        holding = book.holding(order.account_id, order.symbol)
        if order.side == Side.SELL:
            reserve(account, holding, order, ZERO, self.shares_to_sell(order, last))
        elif order.notional is not None and order.qty is None:
            reserve(account, holding, order, order.notional, ZERO)
        else:
            assert order.qty is not None
            prices = [p for o in (order, *group) if (p := self.per_share(o, last)) is not None]
            if prices:
                worst = max(prices)
                cash = order.qty * worst + self.model.fee(order.qty, worst)
                reserve(account, holding, order, cash, ZERO)
        book.touch(order)

    # -- prices -------------------------------------------------------------------------
    def on_price(
        self,
        book: OrderBook,
        order: Order,
        price: Decimal,
        tick_id: str | None,
        size: Decimal | None = None,
    ) -> None:
        reaction = react(order, price)
        if reaction.changed or reaction.triggered:
            book.touch(order)
        if reaction.triggered:
            book.emit(order, EventKind.TRIGGERED, trigger_price=price)
        if reaction.fill_at is not None:
            self.fill(book, order, reaction.fill_at, tick_id, size)

    def fill(
        self,
        book: OrderBook,
        order: Order,
        market: Decimal,
        tick_id: str | None,
        size: Decimal | None = None,
    ) -> None:
        """Fill what the trade, the account and the fill model allow (``size``: the trade's
        shares, for a participation cap)."""
        remaining = None if order.qty is None else order.qty - order.filled_qty
        cap = None if remaining is None else self.model.fill_cap(remaining, size)
        if cap is not None and cap <= 0:
            if order.time_in_force == TimeInForce.FOK:
                self.finish(book, order, OrderStatus.CANCELED, "fok: not filled at once")
            return  # this trade is too small for the participation rate: wait for the next
        limit = order.limit_price if order.type in (OrderType.LIMIT, OrderType.STOP_LIMIT) else None
        price = self.model.fill_price(order.side, market, limit)
        if order.oco_group and order.filled_qty == 0:
            for sibling in book.group(order):
                self.finish(
                    book,
                    sibling,
                    OrderStatus.CANCELED,
                    "one-cancels-other",
                    cascade=False,
                    spare=order,
                )
        account = book.account(order.account_id)
        holding = book.holding(order.account_id, order.symbol)

        def cost_of(qty: Decimal) -> Decimal:
            return qty * price + self.model.fee(qty, price)

        if remaining is None:
            assert order.notional is not None
            wanted = largest_within(order.notional, cost_of, QTY_STEP, None)
        else:
            wanted = remaining
        capped = cap is not None and cap < wanted
        if capped:
            assert cap is not None
            wanted = cap
        qty = affordable_qty(account, holding, order, wanted, cost_of) if wanted > 0 else ZERO
        short = "buying power" if order.side == Side.BUY else "qty held"
        if qty <= 0 or (order.time_in_force == TimeInForce.FOK and (capped or qty < wanted)):
            status = OrderStatus.REJECTED if order.filled_qty == 0 else OrderStatus.CANCELED
            if order.time_in_force == TimeInForce.FOK:
                status = OrderStatus.CANCELED
            self.finish(book, order, status, f"insufficient {short} at the fill")
            return
        fee = self.model.fee(qty, price)
        settle_fill(account, holding, order, qty, price, fee)
        order.record_fill(qty, price, book.now)
        book.touch(order)
        fill = Fill(
            self.ids(),
            order.id,
            order.account_id,
            order.symbol,
            order.side,
            qty,
            price,
            fee,
            book.now,
            tick_id,
        )
        book.fills.append(fill)
        book.emit(
            order,
            EventKind.FILLED,
            fill_id=fill.fill_id,
            fill_qty=qty,
            fill_price=price,
            fee=fee,
            cum_qty=order.filled_qty,
            leaves_qty=order.leaves_qty or ZERO,
        )
        if order.status == OrderStatus.PARTIALLY_FILLED and not (capped and qty == wanted):
            self.finish(book, order, OrderStatus.CANCELED, f"insufficient {short} for the rest")
        elif order.status == OrderStatus.FILLED:
            self.activate_legs(book, order, market)

    # -- legs ---------------------------------------------------------------------------
    def activate_legs(self, book: OrderBook, parent: Order, last: Decimal) -> None:
        legs = [leg for leg in book.children(parent) if leg.status == OrderStatus.HELD]
        for leg in legs:
            leg.qty = parent.filled_qty
            leg.move_to(OrderStatus.NEW, book.now)
            book.touch(leg)
        try:
            for leg in legs:
                self.hold(book, leg, [o for o in legs if o is not leg], last)
        except OrderRefused as refused:
            for leg in legs:
                self.finish(book, leg, OrderStatus.CANCELED, refused.message, cascade=False)
            return
        for leg in legs:
            book.emit(
                leg,
                EventKind.ACCEPTED,
                order_type=str(leg.type),
                qty=leg.qty,
                limit_price=leg.limit_price,
                stop_price=leg.stop_price,
            )

    # -- endings ------------------------------------------------------------------------
    def finish(
        self,
        book: OrderBook,
        order: Order,
        status: OrderStatus,
        reason: str = "",
        *,
        cascade: bool = True,
        spare: Order | None = None,
    ) -> None:
        """Cancel, expire or reject an open order, give back its reserve, and take its
        held legs (and, with ``cascade``, its one-cancels-other group) along."""
        if not order.is_open:
            return
        account = book.account(order.account_id)
        release(account, book.holding(order.account_id, order.symbol), order)
        order.move_to(status, book.now)
        book.touch(order)
        if status == OrderStatus.CANCELED:
            book.emit(order, EventKind.CANCELED, reason=reason)
        elif status == OrderStatus.EXPIRED:
            book.emit(order, EventKind.EXPIRED)
        elif status == OrderStatus.REJECTED:
            book.emit(order, EventKind.REJECTED, reason=reason)
        if status == OrderStatus.REPLACED:
            return  # the replacement adopts the legs and the group
        child_status = (
            OrderStatus.EXPIRED if status == OrderStatus.EXPIRED else OrderStatus.CANCELED
        )
        for child in book.children(order):
            if child is not spare:
                self.finish(book, child, child_status, f"parent {status}", cascade=False)
        if cascade and order.oco_group:
            for sibling in book.group(order):
                self.finish(book, sibling, OrderStatus.CANCELED, "one-cancels-other", cascade=False)

    # -- order construction ---------------------------------------------------------------
    def build_orders(
        self, request: OrderRequest, account_id: str, client_order_id: str, now: datetime
    ) -> tuple[Order, list[Order]]:
        """The entry and its legs (held until the entry fills; an oco's stop works at once)."""
        oco = request.order_class == OrderClass.OCO
        entry = Order(
            id=self.ids(),
            account_id=account_id,
            client_order_id=client_order_id,
            symbol=request.symbol,
            side=request.side,
            type=request.type,
            time_in_force=request.time_in_force,
            order_class=request.order_class,
            status=OrderStatus.NEW,
            created_at=now,
            updated_at=now,
            submitted_at=now,
            qty=request.qty,
            notional=request.notional,
            limit_price=request.take_profit.limit_price
            if oco and request.take_profit
            else request.limit_price,
            stop_price=request.stop_price,
            trail_price=request.trail_price,
            trail_percent=request.trail_percent,
            request_hash=request.fingerprint(),
            expires_at=self.expires_at(request.time_in_force, request.extended_hours, now),
            extended_hours=request.extended_hours,
            oco_group=None,
        )
        legs: list[Order] = []
        exit_side = request.side if oco else request.side.opposite
        group = entry.id if request.order_class in (OrderClass.BRACKET, OrderClass.OCO) else None
        if oco:
            entry.oco_group = group
        if request.take_profit and not oco:
            legs.append(self._leg(entry, exit_side, LegRole.TAKE_PROFIT, OrderType.LIMIT, group))
            legs[-1].limit_price = request.take_profit.limit_price
        if request.stop_loss:
            kind = OrderType.STOP_LIMIT if request.stop_loss.limit_price else OrderType.STOP
            stop = self._leg(entry, exit_side, LegRole.STOP_LOSS, kind, group)
            stop.stop_price = request.stop_loss.stop_price
            stop.limit_price = request.stop_loss.limit_price
            if oco:
                stop.status = OrderStatus.NEW
            legs.append(stop)
        return entry, legs

    def _leg(
        self, entry: Order, side: Side, role: LegRole, kind: OrderType, group: str | None
    ) -> Order:
        return Order(
            id=self.ids(),
            account_id=entry.account_id,
            client_order_id=self.ids(),
            symbol=entry.symbol,
            side=side,
            type=kind,
            time_in_force=entry.time_in_force,
            order_class=entry.order_class,
            status=OrderStatus.HELD,
            created_at=entry.created_at,
            updated_at=entry.created_at,
            submitted_at=entry.created_at,
            qty=entry.qty,
            parent_id=entry.id,
            oco_group=group,
            leg_role=role,
            expires_at=entry.expires_at,
        )

    @staticmethod
    def check_replaceable(
        book: OrderBook, old: Order, patch: ReplaceRequest, client_order_id_taken: bool
    ) -> None:
        if not old.is_open:
            raise OrderRefused(f'order is not open: it is already "{old.status}"')
        if old.filled_qty > 0:
            raise OrderRefused("a partially filled order cannot be replaced: cancel it instead")
        if patch.qty is not None and old.leg_role != LegRole.ENTRY:
            raise OrderRefused("the qty of a leg follows its entry: replace the entry instead")
        if patch.trail is not None and old.type != OrderType.TRAILING_STOP:
            raise OrderRefused("trail can only be replaced on a trailing_stop order")
        if client_order_id_taken:
            raise OrderRefused("client_order_id must be unique")
        if old.side == Side.BUY and book.account(old.account_id).halted:
            raise AccountHalted(halted_message(old.account_id))

    def replacement(self, old: Order, patch: ReplaceRequest, now: datetime) -> Order:
        """The new order: the old one's terms with the patch applied, validated like a new one."""
        tif = patch.time_in_force or old.time_in_force
        new = dataclasses.replace(
            old,
            id=self.ids(),
            client_order_id=patch.client_order_id or self.ids(),
            qty=patch.qty if patch.qty is not None else old.qty,
            time_in_force=tif,
            limit_price=patch.limit_price if patch.limit_price is not None else old.limit_price,
            stop_price=patch.stop_price if patch.stop_price is not None else old.stop_price,
            status=OrderStatus.HELD if old.status == OrderStatus.HELD else OrderStatus.NEW,
            created_at=now,
            updated_at=now,
            submitted_at=now,
            reserved_cash=ZERO,
            reserved_qty=ZERO,
            replaces=old.id,
            replaced_by=None,
            replaced_at=None,
            canceled_at=None,
            expires_at=self.expires_at(tif, old.extended_hours, now),
            oco_group=None if old.oco_group is None else old.oco_group,
            legs=[],
        )
        if patch.trail is not None:
            if old.trail_price is not None:
                new.trail_price = patch.trail
            else:
                new.trail_percent = patch.trail
        if new.type == OrderType.TRAILING_STOP:
            new.stop_price = trailing_stop_of(new)
        check_terms(new)
        new.request_hash = f"replacement of {old.id}: {patch!r}"
        return new

    @staticmethod
    def adopt_relatives(book: OrderBook, old: Order, new: Order, group: list[Order]) -> None:
        """Legs follow their replaced entry; an oco group is renamed after its new parent."""
        children = book.children(old)
        for child in children:
            if child.is_open:
                child.parent_id = new.id
                if child.leg_role != LegRole.ENTRY and old.leg_role == LegRole.ENTRY:
                    child.qty = new.qty
                book.touch(child)
        if old.oco_group == old.id:
            new.oco_group = new.id
            for member in group:
                member.oco_group = new.id
                book.touch(member)
        for child in children:
            if child.is_open and child.oco_group == old.id:
                child.oco_group = new.id


def check_terms(order: Order) -> None:
    probe = OrderRequest(
        symbol=order.symbol,
        side=order.side,
        type=order.type,
        time_in_force=order.time_in_force,
        qty=order.qty,
        notional=order.notional,
        limit_price=order.limit_price,
        stop_price=None if order.type == OrderType.TRAILING_STOP else order.stop_price,
        trail_price=order.trail_price,
        trail_percent=order.trail_percent,
    )
    validate(probe)
    if order.parent_id is not None and order.limit_price is not None:
        check_price("limit_price", order.limit_price)
