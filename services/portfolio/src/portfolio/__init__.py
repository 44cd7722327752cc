"""portfolio service."""
