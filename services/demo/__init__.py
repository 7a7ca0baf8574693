"""``initiatives demo``: the whole system in one process, with sample data and a portal.

Ingest, projector, notifier and the query API with its dashboard run in one event loop on
one port, with the same handlers as when each runs alone. On the embedded default (SQLite,
no Kafka) the projector follows the event store and the notifier drains the projector's
outbox; with ``DATABASE_URL`` and ``KAFKA_BOOTSTRAP_SERVERS`` the same parts talk through
real Kafka and PostgreSQL.
"""
