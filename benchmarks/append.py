"""Event-store append throughput at several batch sizes (one transaction per batch).

    uv run python -m benchmarks.append --database-url postgresql://postgres@127.0.0.1:55432/bench

Creates and migrates the database if needed, appends fresh initiative streams, prints a table
(median of --runs) and writes JSON results next to it.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import statistics
import time
import uuid
from pathlib import Path

from rich.console import Console
from rich.table import Table

from shared.config import async_database_url
from shared.contracts.recorded import EventMetadata, NewEvent
from shared.eventstore.sql import SqlEventStore
from shared.persistence.engine import create_engine
from shared.persistence.migrations import upgrade

OCCURRED = dt.datetime(2022, 5, 12, 13, 30, tzinfo=dt.timezone(dt.timedelta(hours=7)))


def batch_of(size: int) -> list[NewEvent]:
    run = uuid.uuid4().hex[:12]
    return [
        NewEvent(
            stream_id=f"initiative-{run}-{n}",
            event_id=f"{run}-{n}",
            type="initiative.submitted",
            schema_version=1,
            occurred_at=OCCURRED,
            data={
                "initiative_id": f"{run}-{n}",
                "campaign_id": "1-trieu-sang-kien",
                "unit_id": "bk-cdcs-1",
                "title": "Ứng dụng QR trong quản lý tài sản",
                "category": "productivity",
                "authors": [{"name": "Hoàng Thị B", "author_type": "member"}],
            },
            metadata=EventMetadata(source="bench"),
        )
        for n in range(size)
    ]


async def measure(store: SqlEventStore, batch_size: int, events: int) -> float:
    batches = [batch_of(batch_size) for _ in range(max(1, events // batch_size))]
    started = time.perf_counter()
    for batch in batches:
        await store.append(batch, {event.stream_id: 0 for event in batch})
    return len(batches) * batch_size / (time.perf_counter() - started)


async def main(url: str, sizes: list[int], runs: int) -> dict[int, dict[str, object]]:
    engine = create_engine(async_database_url(url))
    await upgrade(engine)
    store = SqlEventStore(engine)
    results: dict[int, dict[str, object]] = {}
    for size in sizes:
        events = 2_000 if size == 1 else 20_000
        rates = [await measure(store, size, events) for _ in range(runs)]
        results[size] = {"median_events_per_s": statistics.median(rates), "runs": rates}
    await engine.dispose()
    table = Table(title=f"event store append on {engine.url.get_backend_name()} (median of {runs})")
    table.add_column("batch size", justify="right")
    table.add_column("events/s", justify="right")
    for size, result in results.items():
        table.add_row(str(size), f"{result['median_events_per_s']:,.0f}")
    Console().print(table)
    return results


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--batch-sizes", default="1,100,1000")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results/append.json"))
    args = parser.parse_args()
    sizes = [int(size) for size in args.batch_sizes.split(",")]
    results = asyncio.run(main(args.database_url, sizes, args.runs))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({"benchmark": "append", "results": results}, indent=2))
