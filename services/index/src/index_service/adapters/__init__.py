"""Adapters: the DuckDB copy and engine SQL, market-data's bulk endpoint, the calendar."""
