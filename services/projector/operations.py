"""Operator tasks on the projector's quarantine: list what waits, retry it after a fix.

They run in a process of their own against the same database as the live projectors; a
retry applies through the same ``Projection`` (row locks on the applied versions keep it
and a live instance from applying the same event twice).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from services.projector import quarantine
from services.projector.projection import Projection
from services.projector.quarantine import Quarantined
from shared.eventstore.sql import SqlEventStore
from shared.persistence.engine import create_engine
from shared.persistence.migrations import ensure_migrated


@dataclass(frozen=True)
class QuarantineReport:
    entries: list[Quarantined]

    def render(self) -> str:
        if not self.entries:
            return "nothing is quarantined: every stored event is applied"
        lines = [f"{len(self.entries)} stream(s) quarantined:"]
        for q in self.entries:
            stamp = (
                "" if q.quarantined_at is None else q.quarantined_at.isoformat(timespec="seconds")
            )
            lines.append(
                f"  {q.stream_id} at version {q.version} (position {q.position}, event "
                f"{q.event_id or '?'}, {q.type}), {q.held} later event(s) waiting, since {stamp}\n"
                f"    {q.code}: {q.reason}"
            )
        lines.append("retry after the fix: initiatives projector quarantine retry --all")
        return "\n".join(lines)


@dataclass
class RetryReport:
    applied: dict[str, int] = field(default_factory=dict)
    """Events applied per stream that now flows."""
    still_waiting: dict[str, str] = field(default_factory=dict)
    """The new reason per stream that stopped again."""
    unknown: list[str] = field(default_factory=list)

    def render(self) -> str:
        lines = [f"{stream}: applied {count} event(s)" for stream, count in self.applied.items()]
        lines += [
            f"{stream}: still quarantined: {why}" for stream, why in self.still_waiting.items()
        ]
        lines += [f"{stream}: not quarantined" for stream in self.unknown]
        return "\n".join(lines) or "nothing is quarantined"


async def list_quarantine(url: str) -> QuarantineReport:
    engine = create_engine(url)
    try:
        await ensure_migrated(engine)
        async with engine.connect() as connection:
            return QuarantineReport(await quarantine.listed(connection))
    finally:
        await engine.dispose()


async def retry_quarantine(url: str, streams: Sequence[str] | None) -> RetryReport:
    """Retry ``streams`` (every quarantined stream when ``None``), oldest first."""
    engine = create_engine(url)
    report = RetryReport()
    try:
        await ensure_migrated(engine)
        async with engine.connect() as connection:
            waiting = [q.stream_id for q in await quarantine.listed(connection)]
        chosen = waiting if streams is None else list(streams)
        projection = Projection(engine, SqlEventStore(engine))
        await projection.start()
        for stream_id in chosen:
            outcome = await projection.retry(stream_id)
            if outcome is None:
                report.unknown.append(stream_id)
            elif again := [q for q in outcome.quarantined if q.stream_id == stream_id]:
                report.still_waiting[stream_id] = f"{again[0].code}: {again[0].reason}"
            else:
                report.applied[stream_id] = outcome.applied
        return report
    finally:
        await engine.dispose()
