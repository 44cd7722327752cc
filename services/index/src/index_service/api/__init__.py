"""Thin HTTP routers of the index service."""
