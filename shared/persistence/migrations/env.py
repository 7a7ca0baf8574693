"""Alembic environment: runs on a connection handed in by ``shared.persistence.migrations``.

Running from a caller's connection keeps one code path for the CLI, the services' start-up
check and the tests, whether or not an event loop is already running.
"""

from __future__ import annotations

from alembic import context

from shared.persistence.schema import metadata

connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError("run migrations through `initiatives migrate`, not the alembic command")

context.configure(
    connection=connection,
    target_metadata=metadata,
    render_as_batch=connection.dialect.name == "sqlite",
    compare_type=True,
)
with context.begin_transaction():
    context.run_migrations()
