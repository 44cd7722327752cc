"""Adapters: the SQLite schema and repository, the trading client, webhooks, secrets."""
