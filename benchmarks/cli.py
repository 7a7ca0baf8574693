"""``initiatives bench``: the benchmarks of docs/benchmarks.md as one command group."""

from __future__ import annotations

import typer

app = typer.Typer(
    help="Benchmarks at national scale, side by side with peers (see docs/benchmarks.md).",
    no_args_is_help=True,
    rich_markup_mode="markdown",
)


@app.command()
def generate() -> None:
    """Write the deterministic national workload as NDJSON (not yet available)."""
    typer.echo("`initiatives bench generate` is not yet available in this build.", err=True)
    raise typer.Exit(code=2)
