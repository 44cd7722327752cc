"""The portfolio's pure core: ledger arithmetic, valuation, risk rules, reports (no I/O)."""
