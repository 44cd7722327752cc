"""Adapters of the trading service: its database, the market-data port."""
