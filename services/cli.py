"""The ``initiatives`` command: one entry point for every service and operator task.

Sub-commands import their service lazily so ``initiatives --help`` stays fast and a
missing optional piece never breaks the others.
"""

from __future__ import annotations

import typer

app = typer.Typer(
    name="initiatives",
    help='Track an initiative campaign ("1 triệu sáng kiến") across a hierarchy of union units.',
    no_args_is_help=True,
    pretty_exceptions_show_locals=False,
)


@app.command()
def migrate() -> None:
    """Create or upgrade the database schema (idempotent; safe to run on every deploy)."""
    from shared.persistence.migrations import upgrade_to_head

    revision = upgrade_to_head()
    typer.echo(f"database at revision {revision}")


def _not_yet(name: str) -> None:
    typer.echo(f"`initiatives {name}` is not yet available in this build.", err=True)
    raise typer.Exit(code=2)


@app.command()
def demo() -> None:
    """Run the whole system in one process on the embedded default, with sample data."""
    _not_yet("demo")


@app.command()
def load() -> None:
    """Bulk-load portal events from NDJSON files through ingest's validation."""
    _not_yet("load")


@app.command()
def ingest() -> None:
    """Run the ingest service (Kafka consumer, HTTP input, outbox relay)."""
    _not_yet("ingest")


@app.command()
def projector() -> None:
    """Run the projector service (read models and progress changes)."""
    _not_yet("projector")


@app.command()
def notifier() -> None:
    """Run the notifier service (threshold, pace and deadline notifications)."""
    _not_yet("notifier")


@app.command()
def api() -> None:
    """Serve the query API and dashboard."""
    _not_yet("api")


if __name__ == "__main__":
    app()
