"""Ingest: the only door into the event store for portal events."""
