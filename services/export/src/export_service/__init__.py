"""export service."""
