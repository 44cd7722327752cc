"""Order admission in the service: reads what the pure rules (domain.admission) need inside
the order's transaction (configuration, position, day trades) and the asset's flags (from
market-data once per symbol and process), then applies them."""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from shared.market_calendar import MarketCalendar, xnys_calendar

from trading.adapters import account_rules
from trading.adapters import repository as repo
from trading.adapters.market_data import MarketDataUnavailable, SymbolDirectory
from trading.domain.admission import AssetFlags, admit
from trading.domain.ledger import Account
from trading.domain.orders import OrderRequest

logger = logging.getLogger("trading.admission")


@dataclass
class Admission:
    calendar: MarketCalendar = field(default_factory=xnys_calendar)
    # Asset flags by symbol: tradable/fractionable change with listings, not per order.
    flags: dict[str, AssetFlags] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def asset_flags(self, directory: SymbolDirectory, symbol: str) -> AssetFlags:
        """The asset's flags (read before the transaction: it may ask market-data)."""
        if symbol not in self.flags:
            ask = getattr(directory, "asset_flags", None)
            try:
                found = ask(symbol) if ask is not None else None
            except MarketDataUnavailable as exc:
                # A symbol trading already knows stays tradable while market-data is down
                # (as before assets existed); asked again on the next order.
                logger.warning("asset flags of %s unavailable, using defaults: %s", symbol, exc)
                return AssetFlags()
            with self._lock:
                self.flags[symbol] = found or AssetFlags()
        return self.flags[symbol]

    def check(
        self,
        db: repo.Db,
        account: Account,
        position_qty: Decimal,
        request: OrderRequest,
        asset: AssetFlags,
        now: datetime,
    ) -> None:
        """Raise the refusal Alpaca would answer with (inside the order's transaction)."""
        config = account_rules.load_configuration(db, account.account_id)
        facts = account_rules.account_facts(
            db, account, position_qty, request.symbol, self.calendar, now
        )
        admit(request, config, asset, facts)
