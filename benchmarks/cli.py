"""``initiatives bench``: the benchmarks of docs/benchmarks.md as one command group."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path
from typing import Annotated

import typer

from benchmarks.bench import FULL_SCALE, QUICK_SCALE

app = typer.Typer(
    help="Benchmarks at national scale, side by side with peers (see docs/benchmarks.md).\n\n"
    "Without DATABASE_URL and KAFKA_BOOTSTRAP_SERVERS, each command starts a throwaway "
    "PostgreSQL and Kafka with deploy/local/infra.sh (INFRA_* variables apply) and stops them.",
    no_args_is_help=True,
    rich_markup_mode="markdown",
)

Quick = Annotated[
    bool,
    typer.Option(
        "--quick", help=f"Scale {QUICK_SCALE}, one run, shorter loads: a few minutes (CI)"
    ),
]
Scale = Annotated[
    float | None,
    typer.Option(
        min=0.0001,
        max=1.0,
        help=f"Workload scale (1 = the national campaign); default {FULL_SCALE}",
    ),
]
Runs = Annotated[
    int | None, typer.Option(min=1, max=20, help="Runs per figure (the median is reported)")
]
Results = Annotated[
    Path, typer.Option(help="Where the JSON results (and services' logs) are written")
]
DEFAULT_RESULTS = Path("benchmarks/results")


def _run(
    names: list[str], quick: bool, scale: float | None, runs: int | None, results: Path
) -> None:
    from benchmarks import suite
    from benchmarks.servers import ServersUnavailable

    try:
        asyncio.run(
            suite.run(
                names,
                scale=scale or (QUICK_SCALE if quick else FULL_SCALE),
                runs=runs or (1 if quick else 3),
                quick=quick,
                results=results,
            )
        )
    except ServersUnavailable as missing:
        typer.echo(str(missing), err=True)
        raise typer.Exit(code=2) from None


@app.command()
def generate(
    scale: Annotated[float, typer.Option(min=0.0001, max=1.0)] = 1.0,
    seed: int = 2022,
    out: Annotated[
        Path | None, typer.Option(help="The NDJSON file to write; standard output without it")
    ] = None,
) -> None:
    """Write the deterministic national workload as NDJSON, one portal event a line.

    Scale 1 is the whole campaign: 83 top-level units, about 700 districts, 126,000
    grassroots unions, 10.5 million members, 2.4 million initiatives, about 7 million events.
    The same scale and seed always give the same bytes.
    """
    from rich.console import Console
    from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    from benchmarks.workload import write_ndjson
    from services.samples.national import generate as national

    columns = (SpinnerColumn(), TextColumn("{task.completed:,} events"), TimeElapsedColumn())
    with Progress(*columns, console=Console(stderr=True)) as progress:
        task = progress.add_task("generating")
        output = out.open("w", encoding="utf-8") if out else sys.stdout
        try:
            for written in write_ndjson(national(scale, seed), output):
                progress.update(task, completed=written)
        finally:
            if out:
                output.close()


def _command(name: str, summary: str) -> None:
    def benchmark(
        quick: Quick = False,
        scale: Scale = None,
        runs: Runs = None,
        results: Results = DEFAULT_RESULTS,
    ) -> None:
        _run([name], quick, scale, runs, results)

    benchmark.__doc__ = summary
    app.command(name)(benchmark)


for _name, _summary in {
    "append": "Event-store append at batch 1/100/1,000 beside the eventsourcing library and COPY.",
    "ingest": "Portal events on Kafka → validated → event store → relayed: sustained events/s.",
    "projection": "Live projection from Kafka into the read models, beside a bare consumer; "
    "outside --quick also with 2 and 4 projector processes.",
    "rebuild": "Rebuild of every read model from the event store: events/s.",
    "query": "Query API p50/p99 and requests/s with 50 clients in another process.",
    "latency": "Portal event → query API and → webhook, p50/p99 at 1,000 and 5,000 events/s.",
}.items():
    _command(_name, _summary)


@app.command("all")
def run_all(
    quick: Quick = False,
    scale: Scale = None,
    runs: Runs = None,
    results: Results = DEFAULT_RESULTS,
) -> None:
    """Every benchmark in one go on one set of servers, then the services' peak memory."""
    from benchmarks.suite import BENCHMARKS

    _run(list(BENCHMARKS), quick, scale, runs, results)


@app.command()
def memory(results: Results = DEFAULT_RESULTS) -> None:
    """The peak memory of each service, from the results of the benchmarks run so far."""
    from rich.console import Console

    from benchmarks.memory import from_results
    from benchmarks.report import load_results

    summary = from_results(load_results(results))
    Console().print(summary.table())
    summary.save(results)


@app.command()
def tables(results: Results = DEFAULT_RESULTS) -> None:
    """Print the saved results as Markdown tables (for docs/benchmarks.md)."""
    from benchmarks.report import load_results, markdown

    for document in load_results(results):
        typer.echo(f"**{document['title']}**, {document['measured_at']}\n")
        typer.echo(markdown(document) + "\n")
