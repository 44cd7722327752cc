"""trading service."""
