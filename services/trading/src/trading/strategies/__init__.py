"""Indicator-driven strategies: live signals from ticks and backtests on the same code."""
