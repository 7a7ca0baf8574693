"""The event store: the source of truth, with in-memory and SQL (SQLite, PostgreSQL) adapters."""
