"""Database access shared by the services: engines, schema, migrations and the event store."""
