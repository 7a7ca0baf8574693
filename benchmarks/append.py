"""Event-store append at batch sizes 1, 100 and 1,000 events per transaction, side by side with
the ``eventsourcing`` library's PostgreSQL recorder and with a raw ``COPY`` of the same rows.

Each system writes fresh single-event streams into a database of its own on the same server,
the runs interleaved so that noise from the shared machine falls on all three alike. Our
append does more per batch than the peer (duplicate check by event id, expected versions,
outbox rows); ``COPY`` into the same ``events`` table, indexes included, is what the server
itself can take.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import time
import uuid
from collections.abc import Awaitable, Callable
from urllib.parse import urlsplit

import asyncpg

from benchmarks.bench import Bench
from benchmarks.report import Figures, Result, Row
from benchmarks.servers import fresh_database
from shared.config import async_database_url
from shared.contracts.recorded import EventMetadata, NewEvent
from shared.eventstore.sql import SqlEventStore
from shared.persistence.engine import create_engine

BATCH_SIZES = (1, 100, 1000)
OCCURRED = dt.datetime(2022, 5, 12, 13, 30, tzinfo=dt.timezone(dt.timedelta(hours=7)))
COPY_COLUMNS = (
    "stream_id",
    "stream_version",
    "event_id",
    "type",
    "schema_version",
    "occurred_at",
    "recorded_at",
    "data",
    "metadata",
)

Append = Callable[[list[NewEvent]], Awaitable[None]]


def batch_of(size: int) -> list[NewEvent]:
    """``size`` submissions, each the first event of a new initiative stream."""
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


async def rate(append: Append, batch_size: int, events: int) -> float:
    """Events per second appending ``events`` in batches of ``batch_size``, one at a time."""
    batches = [batch_of(batch_size) for _ in range(max(1, events // batch_size))]
    started = time.perf_counter()
    for batch in batches:
        await append(batch)
    return len(batches) * batch_size / (time.perf_counter() - started)


def ours(url: str) -> tuple[Append, Callable[[], Awaitable[None]]]:
    engine = create_engine(async_database_url(url))
    store = SqlEventStore(engine)

    async def append(batch: list[NewEvent]) -> None:
        await store.append(batch, {event.stream_id: 0 for event in batch})

    return append, engine.dispose


async def raw_copy(url: str) -> tuple[Append, Callable[[], Awaitable[None]]]:
    connection = await asyncpg.connect(url)

    async def append(batch: list[NewEvent]) -> None:
        now = dt.datetime.now(dt.UTC)
        records = [
            (
                event.stream_id,
                1,
                event.event_id,
                event.type,
                event.schema_version,
                event.occurred_at,
                now,
                json.dumps(event.data),
                event.metadata.model_dump_json(),
            )
            for event in batch
        ]
        async with connection.transaction():
            await connection.copy_records_to_table("events", records=records, columns=COPY_COLUMNS)

    return append, connection.close


def eventsourcing_recorder(url: str) -> tuple[Append, Callable[[], Awaitable[None]]]:
    """The peer: ``eventsourcing``'s ``PostgresApplicationRecorder`` (psycopg 3, synchronous),
    given the same rows as stored events (the payload, event id and times as its state)."""
    from eventsourcing.persistence import StoredEvent
    from eventsourcing.postgres import PostgresApplicationRecorder, PostgresDatastore

    parts = urlsplit(url)
    datastore = PostgresDatastore(
        dbname=parts.path.lstrip("/"),
        host=parts.hostname or "127.0.0.1",
        port=parts.port or 5432,
        user=parts.username or "postgres",
        password=parts.password or "",
        originator_id_type="text",
    )
    recorder = PostgresApplicationRecorder(datastore)
    recorder.create_table()

    def insert(batch: list[NewEvent]) -> None:
        recorder.insert_events(
            [
                StoredEvent(
                    originator_id=event.stream_id,
                    originator_version=1,
                    topic=event.type,
                    state=json.dumps(
                        {
                            "event_id": event.event_id,
                            "occurred_at": event.occurred_at.isoformat(),
                            "data": event.data,
                            "metadata": event.metadata.model_dump(),
                        }
                    ).encode(),
                )
                for event in batch
            ]
        )

    async def append(batch: list[NewEvent]) -> None:
        insert(batch)  # synchronous on purpose: a thread hop would be charged to the peer

    async def close() -> None:
        datastore.close()

    return append, close


async def run(bench: Bench) -> Result:
    servers = bench.servers
    async with (
        fresh_database(servers) as ours_url,
        fresh_database(servers) as copy_url,
        fresh_database(servers, migrated=False) as peer_url,
    ):
        systems = {
            "events_per_s": ours(ours_url),
            "eventsourcing_events_per_s": eventsourcing_recorder(peer_url),
            "copy_events_per_s": await raw_copy(copy_url),
        }
        runs: dict[int, list[Figures]] = {size: [] for size in BATCH_SIZES}
        try:
            for _ in range(bench.runs):
                for size in BATCH_SIZES:
                    events = bench.sized(300, 2000) if size == 1 else bench.sized(5000, 20_000)
                    figures = {}
                    for name, (append, _) in systems.items():
                        figures[name] = await rate(append, size, events)
                    runs[size].append(figures)
        finally:
            await asyncio.gather(*(close() for _, close in systems.values()))
    rows = []
    for size, measured in runs.items():
        row = Row.of_runs(f"batch {size:,}", measured)
        row.figures["ratio_vs_eventsourcing"] = (
            row.figures["events_per_s"] / row.figures["eventsourcing_events_per_s"]
        )
        row.figures["ratio_of_copy"] = (
            row.figures["events_per_s"] / row.figures["copy_events_per_s"]
        )
        rows.append(row)
    return Result(
        "append",
        f"append to the event store on PostgreSQL (median of {bench.runs})",
        rows,
        {"batch_sizes": list(BATCH_SIZES)},
    )
