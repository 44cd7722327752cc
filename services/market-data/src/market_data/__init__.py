"""market-data service."""
