"""Bulk load: NDJSON files through the same intake as Kafka and HTTP, in constant memory.

Files are read one batch at a time, in a worker thread so a slow stdin never blocks the
event loop, and every line keeps ``file:line`` as its origin. Nobody reads an answer, so
rejected lines are dead-lettered as well as counted: nothing is lost. Files are rarely in
causal order, so facts that came before the fact they refer to wait in the parking lot and
are retried once every file is read.
"""

from __future__ import annotations

import asyncio
import itertools
import stat
import sys
import time
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO, NamedTuple

from rich.console import Console
from rich.progress import (
    BarColumn,
    DownloadColumn,
    Progress,
    ProgressColumn,
    Task,
    TextColumn,
    TimeElapsedColumn,
)
from rich.table import Table
from rich.text import Text

from services.ingest.components import ingest_components
from services.ingest.intake import Fate, Incoming, Intake, RetryReport
from services.ingest.settings import IngestSettings
from services.ingest.verdicts import Verdict, VerdictStatus
from shared.dead_letters import Origin
from shared.messaging.transport import Transport
from shared.persistence.engine import create_engine, is_sqlite
from shared.persistence.migrations import upgrade

STDIN = "-"

Line = tuple[int, bytes]
"""A line's number (from 1) and its bytes."""


SHOWN_REJECTIONS = 100
"""Rejections listed one a line after a load; the rest are counted."""


class Rejection(NamedTuple):
    origin: Origin
    code: str
    message: str

    def __str__(self) -> str:
        return f"{self.origin.describe()}: {self.code}: {self.message}"


@dataclass
class LoadSummary:
    """What this run did (the parking lot may also hold other runs' and doors' facts)."""

    events: int = 0
    accepted: int = 0
    accepted_after_waiting: int = 0
    """Included in ``accepted``: parked until the fact they refer to arrived later."""
    duplicate: int = 0
    rejected: Counter[str] = field(default_factory=Counter)
    rejections: list[Rejection] = field(default_factory=list)
    """The first ``SHOWN_REJECTIONS``, in the order met."""
    parked: dict[str, Rejection] = field(default_factory=dict)
    """This run's parked facts that still wait, by event id, with why."""
    seconds: float = 0.0

    @property
    def still_parked(self) -> int:
        return len(self.parked)

    @property
    def events_per_second(self) -> float:
        return self.events / self.seconds if self.seconds > 0 else 0.0

    @property
    def complete(self) -> bool:
        """Every event is in the store: accepted now, or a duplicate of one stored before."""
        return not self.rejected and not self.still_parked

    def count(self, items: Sequence[Incoming], verdicts: Sequence[Verdict]) -> None:
        """Count a batch's verdicts; parked ones are settled by the retry at the end."""
        self.events += len(verdicts)
        for item, verdict in zip(items, verdicts, strict=True):
            if verdict.status is VerdictStatus.ACCEPTED:
                self.accepted += 1
            elif verdict.status is VerdictStatus.DUPLICATE:
                self.duplicate += 1
            elif verdict.status is VerdictStatus.PARKED:
                why = Rejection(item.origin, verdict.code or "", verdict.message or "")
                self.parked[verdict.event_id or ""] = why
            else:
                self._reject(
                    Rejection(item.origin, verdict.code or "rejected", verdict.message or "")
                )

    def settle(self, report: RetryReport) -> None:
        """Count what a retry did with this run's parked facts, and only theirs."""
        for retried in report.tried:
            event_id = retried.parked.event_id
            if event_id not in self.parked or retried.fate is Fate.WAITING:
                continue
            del self.parked[event_id]
            if retried.letter is None:
                self.accepted += 1
                self.accepted_after_waiting += 1
            else:
                letter = retried.letter
                self._reject(Rejection(letter.origin, letter.code, letter.message))

    def _reject(self, rejection: Rejection) -> None:
        self.rejected[rejection.code] += 1
        if len(self.rejections) < SHOWN_REJECTIONS:
            self.rejections.append(rejection)

    def rejection_lines(self) -> list[str]:
        """``FILE:LINE: code: message`` for the first rejections, then how many more; then the
        same for the facts still parked, which ingest keeps retrying (and dead-letters later)."""
        rejected = sum(self.rejected.values())
        waiting = list(self.parked.values())
        return _first(map(str, self.rejections), rejected, "rejections") + _first(
            (f"{why} (still parked)" for why in waiting[:SHOWN_REJECTIONS]),
            len(waiting),
            "still parked",
        )

    def render(self) -> Table:
        table = Table(title="load summary", show_header=False)
        table.add_column("outcome")
        table.add_column("events", justify="right")
        table.add_row("accepted", f"{self.accepted:,}")
        if self.accepted_after_waiting:
            table.add_row("  of which after waiting", f"{self.accepted_after_waiting:,}")
        table.add_row("duplicate", f"{self.duplicate:,}")
        for code, count in sorted(self.rejected.items()):
            table.add_row(f"rejected: {code}", f"{count:,}", style="red")
        table.add_row(
            "still parked", f"{self.still_parked:,}", style="yellow" if self.still_parked else None
        )
        table.add_row(
            "read", f"{self.events:,} in {self.seconds:.1f} s ({self.events_per_second:,.0f}/s)"
        )
        return table


def _first(lines: Iterable[str], total: int, what: str) -> list[str]:
    shown = list(lines)
    more = total - len(shown)
    return [*shown, f"… and {more:,} more {what}"] if more else shown


class EventRateColumn(ProgressColumn):
    def render(self, task: Task) -> Text:
        events: int = task.fields.get("events", 0)
        rate = events / task.elapsed if task.elapsed else 0.0
        return Text(f"{events:,} events, {rate:,.0f}/s")


def load_progress(console: Console | None = None) -> Progress:
    """One bar per file: bytes read of its size (when known) and events per second."""
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        DownloadColumn(),
        EventRateColumn(),
        TimeElapsedColumn(),
        console=console,
    )


def _opened(path: str) -> AbstractContextManager[BinaryIO]:
    return nullcontext(sys.stdin.buffer) if path == STDIN else Path(path).open("rb")


def _size(path: str) -> int | None:
    if path == STDIN:
        return None
    status = Path(path).stat()
    return status.st_size if stat.S_ISREG(status.st_mode) else None


class _Lines:
    """The numbered non-blank lines of a stream, without line breaks; counts every byte read."""

    def __init__(self, stream: BinaryIO) -> None:
        self.bytes_read = 0
        self._stream = stream

    def __iter__(self) -> Iterator[Line]:
        for number, line in enumerate(self._stream, start=1):
            self.bytes_read += len(line)
            if line.strip():
                yield number, line.rstrip(b"\r\n")


def _take(lines: Iterator[Line], size: int) -> list[Line]:
    return list(itertools.islice(lines, size))


async def _load_file(
    path: str, intake: Intake, batch_size: int, progress: Progress, summary: LoadSummary
) -> None:
    name = "<stdin>" if path == STDIN else path
    task = progress.add_task(name, total=_size(path), events=0)
    events = 0
    with _opened(path) as stream:
        reader = _Lines(stream)
        lines = iter(reader)
        while batch := await asyncio.to_thread(_take, lines, batch_size):
            items = [
                Incoming(raw, Origin("file", detail=f"{name}:{number}")) for number, raw in batch
            ]
            summary.count(items, await intake.receive(items, dead_letter_rejections=True))
            events += len(batch)
            progress.update(task, completed=reader.bytes_read, events=events)
    progress.update(task, completed=reader.bytes_read)


async def _retry_parked(intake: Intake, summary: LoadSummary) -> None:
    """Retry while the parking lot moves; what cannot move yet stays parked for later."""
    while True:
        report = await intake.retry_parked()
        summary.settle(report)
        if not (report.released or report.dead_lettered):
            return


async def load_files(
    paths: Sequence[str], intake: Intake, batch_size: int, progress: Progress | None = None
) -> LoadSummary:
    """Load every file in order (``-`` is stdin), then retry the facts that had to wait."""
    summary = LoadSummary()
    shown = progress or Progress(disable=True)
    started = time.perf_counter()
    for path in paths:
        await _load_file(path, intake, batch_size, shown, summary)
    await _retry_parked(intake, summary)
    summary.seconds = time.perf_counter() - started
    return summary


async def load_into_database(
    paths: Sequence[str],
    settings: IngestSettings,
    transport: Transport,
    progress: Progress | None = None,
) -> LoadSummary:
    """The ``initiatives load`` command: an embedded SQLite database is migrated first,
    any other one must be migrated already (``DatabaseNotMigrated`` otherwise)."""
    engine = create_engine(settings.database_url)
    try:
        if is_sqlite(settings.database_url):
            await upgrade(engine)
        async with ingest_components(settings, transport, engine=engine) as parts:
            return await load_files(paths, parts.intake, settings.batch_size, progress)
    finally:
        await engine.dispose()
