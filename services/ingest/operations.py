"""Operator tasks on what ingest could not take yet: dead letters and parked facts.

A replay or a retry goes through the same intake as the Kafka, HTTP and file doors, so an
event is judged by exactly the rules it met the first time (duplicates stay duplicates).
``dry_run`` decides with the same pipeline over a store that writes nothing, and touches
neither letters nor the parking lot.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import NamedTuple, TypeVar

from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text

from services.ingest.components import IngestComponents, ingest_components, ingest_pipeline
from services.ingest.intake import Fate, Incoming, Retried, RetryReport, judge_retry
from services.ingest.parking import ParkedEvent, ParkingLot
from services.ingest.pipeline import IngestPipeline
from services.ingest.settings import IngestSettings
from services.ingest.verdicts import Verdict, VerdictStatus
from shared.chunks import chunks
from shared.clock import utc_now
from shared.contracts.recorded import NewEvent
from shared.dead_letters import DeadLetter, Selection, SqlDeadLetters, StoredLetter
from shared.eventstore.port import AppendOutcome
from shared.eventstore.sql import SqlEventStore
from shared.messaging.transport import Transport
from shared.persistence.engine import create_engine
from shared.persistence.migrations import ensure_migrated

MESSAGE_WIDTH = 60
"""Characters of a reason shown in a listing (``show`` prints the whole letter)."""

T = TypeVar("T")


class DryRunStore(SqlEventStore):
    """Reads like the real store and appends nothing, so ``--dry-run`` gets the verdicts a
    real run would get (against the store as it is now)."""

    async def append(
        self, events_: Sequence[NewEvent], expected_versions: Mapping[str, int] | None = None
    ) -> list[AppendOutcome]:
        return [AppendOutcome(e.event_id, e.stream_id, None, None, False) for e in events_]


def _dry_pipeline(parts: IngestComponents) -> IngestPipeline:
    return ingest_pipeline(DryRunStore(parts.engine, outbox=False), parts.settings, utc_now)


def shorten(text: str, width: int = MESSAGE_WIDTH) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"


def when(instant: dt.datetime) -> str:
    return f"{instant.astimezone(dt.UTC):%Y-%m-%d %H:%M:%S}Z"


FLEXIBLE = ("message", "outcome")
"""Columns that wrap on a narrow terminal; the others keep their width."""


def _table(title: str, columns: Sequence[str], rows: Iterable[Sequence[str]]) -> Table:
    """One line per row (on a wide enough terminal); a row's last cell is its outcome
    (replays, retries), a column shown only when some row has one."""
    body = list(rows)
    with_outcome = any(row[-1] for row in body)
    shown = [*columns, "outcome"] if with_outcome else list(columns)
    table = Table(title=title, title_justify="left")
    for column in shown:
        table.add_column(column, no_wrap=column not in FLEXIBLE)
    for row in body:
        table.add_row(*row[: len(shown)])
    return table


def letter_table(title: str, rows: Iterable[tuple[str, dt.datetime, DeadLetter, str]]) -> Table:
    """Id, when, code, origin, message (shortened) and outcome of each letter."""
    return _table(
        title,
        ("id", "when", "code", "origin", "message"),
        (
            (letter_id, when(at), x.code, x.origin.describe(), shorten(x.message), outcome)
            for letter_id, at, x, outcome in rows
        ),
    )


def _footer(shown: int, total: int, hint: str) -> Text:
    more = total - shown
    return Text(f"{shown:,} of {total:,} shown" + (f"; {hint}" if more else ""), style="dim")


def letter_detail(letter_id: str, at: dt.datetime, letter: DeadLetter) -> RenderableType:
    """The whole letter; the payload as text when it is UTF-8 (it is what the portal sent)."""
    table = Table(show_header=False, box=None)
    table.add_column(style="bold")
    table.add_column(overflow="fold")
    fields = {
        "id": letter_id,
        "dead-lettered at": at.isoformat(),
        "code": letter.code,
        "message": letter.message,
        "origin": letter.origin.describe(),
        **{f"origin.{k}": str(v) for k, v in letter.origin.as_dict().items()},
        "payload bytes": f"{len(letter.raw):,}",
    }
    for name, value in fields.items():
        table.add_row(name, Text(value))
    try:
        payload = Text(letter.raw.decode("utf-8"))
    except UnicodeDecodeError:
        payload = Text(f"(not UTF-8) {letter.raw!r}")
    return Group(table, Text("payload:", style="bold"), payload)


# -- dead letters in the table -----------------------------------------------------------


async def list_letters(settings: IngestSettings, selection: Selection) -> RenderableType:
    engine = create_engine(settings.database_url)
    try:
        await ensure_migrated(engine)
        letters = SqlDeadLetters(engine)
        found = await letters.find(selection)
        total = await letters.count(dataclasses.replace(selection, limit=None))
    finally:
        await engine.dispose()
    rows = ((str(s.id), s.dead_lettered_at, s.letter, "") for s in found)
    return Group(
        letter_table("dead letters", rows), _footer(len(found), total, "raise --limit for more")
    )


async def show_letter(settings: IngestSettings, letter_id: int) -> RenderableType | None:
    engine = create_engine(settings.database_url)
    try:
        await ensure_migrated(engine)
        stored = await SqlDeadLetters(engine).get(letter_id)
    finally:
        await engine.dispose()
    return (
        None
        if stored is None
        else letter_detail(str(stored.id), stored.dead_lettered_at, stored.letter)
    )


def is_portal_event(letter: DeadLetter, settings: IngestSettings) -> bool:
    """Letters of ingest's own doors; the embedded notifier dead-letters to the same table,
    and a record whose bytes could not be read has nothing to replay."""
    return bool(letter.raw) and letter.origin.topic in (None, settings.input_topic)


class Replayed(NamedTuple):
    stored: StoredLetter
    verdict: Verdict | None
    """None when the letter is not a portal event (left alone)."""

    def outcome(self, dry_run: bool) -> str:
        verdict = self.verdict
        if verdict is None:
            return "left alone: not a portal event"
        if verdict.status is VerdictStatus.REJECTED:
            return f"still {verdict.code}: " + ("would stay" if dry_run else "kept")
        done = {
            VerdictStatus.ACCEPTED: "appended",
            VerdictStatus.DUPLICATE: "duplicate",
            VerdictStatus.PARKED: f"parked ({verdict.code})",
        }[verdict.status]
        return f"{done}: " + ("would be removed" if dry_run else "removed")


@dataclass(frozen=True)
class ReplayReport:
    replayed: list[Replayed]
    dry_run: bool

    @property
    def complete(self) -> bool:
        """Every letter replayed went in (or waits in the parking lot)."""
        return all(
            r.verdict is not None and r.verdict.status is not VerdictStatus.REJECTED
            for r in self.replayed
        )

    def render(self) -> RenderableType:
        title = "dead letters replayed" + (" (dry run: nothing changed)" if self.dry_run else "")
        rows = [
            (str(r.stored.id), r.stored.dead_lettered_at, r.stored.letter, r.outcome(self.dry_run))
            for r in self.replayed
        ]
        if not rows:
            return Text("no dead letter matches")
        return letter_table(title, rows)


async def replay_letters(
    settings: IngestSettings, transport: Transport, selection: Selection, dry_run: bool
) -> ReplayReport:
    """Submit the selected letters' bytes again. What goes in now (appended, a duplicate, or
    parked to wait for what it refers to) leaves the table; what is still refused keeps its
    letter, with the new code and reason."""
    async with ingest_components(settings, transport) as parts:
        letters = SqlDeadLetters(parts.engine)
        found = await letters.find(selection)
        portal = [s for s in found if is_portal_event(s.letter, settings)]
        verdicts: dict[int, Verdict] = {}
        for batch in chunks(portal, settings.batch_size):
            if dry_run:
                answers = await _dry_pipeline(parts).submit([s.letter.raw for s in batch])
            else:
                answers = await parts.intake.receive(
                    [Incoming(s.letter.raw, s.letter.origin) for s in batch],
                    dead_letter_rejections=False,
                )
                await letters.settle(
                    removed=[
                        s.id
                        for s, v in zip(batch, answers, strict=True)
                        if v.status is not VerdictStatus.REJECTED
                    ],
                    refreshed=[
                        _refreshed(s, v)
                        for s, v in zip(batch, answers, strict=True)
                        if v.status is VerdictStatus.REJECTED
                    ],
                )
            verdicts |= {s.id: v for s, v in zip(batch, answers, strict=True)}
    return ReplayReport([Replayed(s, verdicts.get(s.id)) for s in found], dry_run)


def _refreshed(stored: StoredLetter, verdict: Verdict) -> StoredLetter:
    letter = dataclasses.replace(
        stored.letter, code=verdict.code or "rejected", message=verdict.message or ""
    )
    return dataclasses.replace(stored, letter=letter)


# -- parked facts --------------------------------------------------------------------------


def parked_table(title: str, rows: Iterable[tuple[ParkedEvent, str]]) -> Table:
    """Event id, since when, code, origin, message (shortened), attempts and outcome."""
    return _table(
        title,
        ("event id", "parked at", "code", "origin", "message", "attempts"),
        (
            (
                item.event_id,
                when(item.parked_at),
                item.code,
                item.origin.describe(),
                shorten(item.message),
                str(item.attempts),
                outcome,
            )
            for item, outcome in rows
        ),
    )


async def list_parked(settings: IngestSettings, selection: Selection) -> RenderableType:
    engine = create_engine(settings.database_url)
    try:
        await ensure_migrated(engine)
        lot = ParkingLot(engine, dt.timedelta(seconds=settings.park_hold_seconds))
        found = await lot.find(selection)
        total = await lot.count(dataclasses.replace(selection, limit=None))
    finally:
        await engine.dispose()
    return Group(
        parked_table("parked events", ((item, "") for item in found)),
        _footer(len(found), total, "raise --limit for more"),
    )


@dataclass(frozen=True)
class ParkedRetry:
    report: RetryReport
    dry_run: bool

    def render(self) -> RenderableType:
        if not self.report.tried:
            return Text("no parked event matches")
        title = "parked events retried" + (" (dry run: nothing changed)" if self.dry_run else "")
        rows = [(r.parked, _fate(r, self.dry_run)) for r in self.report.tried]
        return parked_table(title, rows)


def _fate(retried: Retried, dry_run: bool) -> str:
    verdict = retried.verdict
    if retried.fate is Fate.RELEASED:
        done = "duplicate" if verdict.status is VerdictStatus.DUPLICATE else "accepted"
        return f"{done}: " + ("would leave the lot" if dry_run else "left the lot")
    if retried.fate is Fate.WAITING:
        return f"still {verdict.code}: " + ("would stay parked" if dry_run else "stays parked")
    return f"{verdict.code}: " + ("would be dead-lettered" if dry_run else "dead-lettered")


async def retry_parked(
    settings: IngestSettings, transport: Transport, selection: Selection, dry_run: bool
) -> ParkedRetry:
    """Decide the selected parked facts again now, exactly as ingest's own retry pass does:
    released when they fit, parked again with the new reason while their hold lasts,
    dead-lettered when refused for good or their hold is over."""
    async with ingest_components(settings, transport) as parts:
        parked = await parts.parking.find(selection)
        report = RetryReport()
        for batch in chunks(parked, settings.batch_size):
            if dry_run:
                now = utc_now()
                verdicts = await _dry_pipeline(parts).submit([item.raw for item in batch])
                report.tried += [
                    judge_retry(item, v, now) for item, v in zip(batch, verdicts, strict=True)
                ]
            else:
                report.tried += (await parts.intake.retry(batch)).tried
    return ParkedRetry(report, dry_run)
