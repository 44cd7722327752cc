"""Thin HTTP routers of the trading service."""
