"""Database and market-data adapters of the strategies package."""
