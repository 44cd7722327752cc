"""Adapters: the job database, the index and portfolio services over HTTP, Parquet files."""
