"""Alpaca's session rules for orders, over the market's sessions (``shared.market_sessions``):
when an order may execute, when its time in force ends, and which opening- and closing-auction
orders are refused for being too late. Pure: the engine asks with the moment it processes.

- Regular hours execute every order; the pre- (04:00-09:30 ET) and post-market (16:00-20:00
  ET) windows only ``extended_hours`` orders (which must be limit day orders); nothing
  executes while the market is closed. An order placed when it cannot execute is
  ``accepted`` and becomes ``new`` when its session starts.
- ``day`` ends at its session's close (the post-market close with ``extended_hours``); a day
  order placed after the close works in the next session. ``gtc`` ends 90 days after it was
  placed. ``opg`` fills at the first trade of the next regular session (a limit opg that
  does not cross it is canceled); ``cls`` at the last trade before the close.
- Alpaca refuses ``opg`` from 9:28 to 19:00 ET and ``cls`` from 15:50 to 19:00 ET on a trading
  day; after 19:00 both go to the next session's auction."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time, timedelta

from shared.market_calendar import NEW_YORK
from shared.market_sessions import AlwaysOpen, MarketSessions, Phase

from trading.domain.orders import Order, OrderRequest, TimeInForce
from trading.domain.refusals import UnprocessableOrder

GTC_LIFETIME = timedelta(days=90)
OPG_CUTOFF = timedelta(minutes=2)  # before the open
CLS_CUTOFF = timedelta(minutes=10)  # before the close
AUCTION_QUEUE_OPENS = time(19, 0)  # ET: later orders go to the next session's auction


@dataclass(frozen=True)
class SessionRules:
    market: MarketSessions

    def phase(self, moment: datetime) -> Phase:
        return self.market.phase(moment)

    @property
    def has_hours(self) -> bool:
        return not isinstance(self.market, AlwaysOpen)

    @staticmethod
    def may_execute(order: Order, phase: Phase) -> bool:
        """Whether an order may trade now (opg and cls only trade in their auctions)."""
        if phase == Phase.REGULAR:
            return True
        return order.extended_hours and phase in (Phase.PRE, Phase.POST)

    def expires_at(self, tif: TimeInForce, extended_hours: bool, now: datetime) -> datetime | None:
        if tif == TimeInForce.GTC:
            return now + GTC_LIFETIME
        if tif == TimeInForce.DAY:
            return self.market.day_end(now, extended=extended_hours)
        if tif in (TimeInForce.OPG, TimeInForce.CLS) and self.has_hours:
            # opg: the close, should its session see no trade; cls: its auction.
            return self.market.day_end(now)
        return None

    def check_submission(self, request: OrderRequest, now: datetime) -> None:
        """Refuse an opening or closing auction order in Alpaca's no-entry window."""
        tif = request.time_in_force
        if tif not in (TimeInForce.OPG, TimeInForce.CLS) or not self.has_hours:
            return
        session = self.market.session_at(now, extended=True)  # today's until 20:00 ET
        if session is None:
            return
        auction, cutoff = (
            (session.open, OPG_CUTOFF) if tif == TimeInForce.OPG else (session.close, CLS_CUTOFF)
        )
        queue_opens = datetime.combine(session.day, AUCTION_QUEUE_OPENS, tzinfo=NEW_YORK)
        if auction - cutoff <= now < queue_opens:
            raise UnprocessableOrder(
                f"{tif} orders are not accepted from {cutoff.seconds // 60} minutes before the "
                f"{'open' if tif == TimeInForce.OPG else 'close'} until 19:00 ET"
            )


ALWAYS_OPEN = SessionRules(AlwaysOpen())
