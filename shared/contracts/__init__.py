"""Versioned event contracts: what portals send and what the event store records.

Every payload is a frozen pydantic model with an explicit ``type`` and ``schema_version``.
A published version never changes meaning; a new meaning is a new version plus an upcaster.
"""
