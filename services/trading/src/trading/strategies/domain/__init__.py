"""The pure strategy domain: indicators, signal rules, bars, fills, backtests (no I/O)."""
