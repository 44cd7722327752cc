"""The trading domain: pure rules of orders, execution and the account ledger (no I/O)."""
