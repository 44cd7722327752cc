"""Adapters: the SQLite store, the exchange calendar, Parquet, and the data providers."""
