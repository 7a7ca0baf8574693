"""Alembic environment: runs on a connection handed in by ``shared.persistence.migrations``.

Running from a caller's connection keeps one code path for the CLI, the services' start-up
check and the tests, whether or not an event loop is already running. A test compares the
tables each owner declares (``services.owners.OWNERS``) with what the migrations build:
shared code cannot import the services that own them.
"""

from __future__ import annotations

from alembic import context

connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError("run migrations through `initiatives migrate`, not the alembic command")

context.configure(
    connection=connection,
    render_as_batch=connection.dialect.name == "sqlite",
)
with context.begin_transaction():
    context.run_migrations()
