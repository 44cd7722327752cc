"""Thin HTTP routers: parse, build a command, call a handler, map errors to status codes."""
