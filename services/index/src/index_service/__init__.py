"""index service."""
