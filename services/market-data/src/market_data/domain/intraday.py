"""Intraday bars from recorded ticks: the rule lives in ``shared.intraday`` so that the REST
bars here and the gateway's live minute bars are built by the same function."""

from shared.intraday import INTRADAY_SECONDS, IntradayBar, RecordedTick, aggregate

__all__ = ["INTRADAY_SECONDS", "IntradayBar", "RecordedTick", "aggregate"]
