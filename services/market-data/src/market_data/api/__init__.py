"""Thin HTTP routers of the market-data service."""
