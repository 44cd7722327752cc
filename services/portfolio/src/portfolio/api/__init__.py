"""Thin HTTP routers: parse, call a handler or a query, present."""
