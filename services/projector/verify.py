"""``initiatives projector verify``: do the read models agree with the event store?

They may not after a failover to a replica that lacked the last commits, or after a store
restored from an older backup: the projector then holds versions of streams the store no
longer has, and figures built on events that are gone. Nothing in normal operation notices.
This compares three things and reports every divergence: the versions the read models say
they applied against the store's, and every read-model table against a rebuild replayed into
the shadow tables (then dropped; the live tables are left as they are). ``initiatives
projector rebuild --restart`` repairs what it finds.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncConnection

from services.projector.read_models import TABLES
from services.projector.rebuild import SHADOW, Progress, Stage, rebuild
from services.projector.schema import (
    rm_checkpoints,
    rm_quarantine,
    rm_revision,
    rm_stream_versions,
)
from shared.eventstore.schema import events
from shared.persistence.engine import create_engine, is_sqlite
from shared.persistence.migrations import ensure_migrated

WHEN_WRITTEN = {rm_quarantine.c.quarantined_at}
"""Columns that say when a row was written, not what the events mean."""
COMPARED = [table for table in TABLES if table not in (rm_checkpoints, rm_revision)]
"""Tables whose rows follow from the events alone (checkpoints say how far a reader got; the
revision is drawn at random by every change)."""


def compared_columns(table: sa.Table) -> list[sa.Column[Any]]:
    """The columns two projections of the same events must agree on."""
    return [column for column in table.columns if column not in WHEN_WRITTEN]


SAMPLES = 5


@dataclass(frozen=True)
class Ahead:
    stream_id: str
    applied: int
    stored: int


@dataclass
class Verdict:
    ahead: list[Ahead] = field(default_factory=list)
    tables: dict[str, tuple[int, int]] = field(default_factory=dict)
    """Table → (rows only in the live table, rows only in the rebuilt one), when not equal."""

    @property
    def agrees(self) -> bool:
        return not self.ahead and not self.tables

    def render(self) -> str:
        if self.agrees:
            return "the read models agree with the event store and with a rebuild of it"
        lines = []
        if self.ahead:
            lines.append(
                f"{len(self.ahead)} stream(s) applied beyond what the event store holds "
                "(events lost from the store after they were projected):"
            )
            lines += [
                f"  {a.stream_id}: applied up to version {a.applied}, the store has {a.stored}"
                for a in self.ahead[:SAMPLES]
            ]
            if len(self.ahead) > SAMPLES:
                lines.append(f"  … and {len(self.ahead) - SAMPLES} more")
        for table, (live, rebuilt) in self.tables.items():
            lines.append(
                f"{table}: {live} row(s) only in the live table, {rebuilt} only in a rebuild"
            )
        lines.append("repair: initiatives projector rebuild --restart (the store is the truth)")
        return "\n".join(lines)


class _Compared(Exception):
    """Carries the comparison out of the transaction, which is then rolled back."""

    def __init__(self, tables: dict[str, tuple[int, int]]) -> None:
        super().__init__("compared")
        self.tables = tables


async def _streams_ahead(connection: AsyncConnection) -> list[Ahead]:
    stored = (
        sa.select(events.c.stream_id, sa.func.max(events.c.stream_version).label("version"))
        .group_by(events.c.stream_id)
        .subquery()
    )
    rows = await connection.execute(
        sa.select(
            rm_stream_versions.c.stream_id,
            rm_stream_versions.c.version,
            sa.func.coalesce(stored.c.version, 0),
        )
        .select_from(
            rm_stream_versions.outerjoin(
                stored, stored.c.stream_id == rm_stream_versions.c.stream_id
            )
        )
        .where(rm_stream_versions.c.version > sa.func.coalesce(stored.c.version, 0))
        .order_by(rm_stream_versions.c.stream_id)
    )
    return [Ahead(*row) for row in rows]


async def _compare(connection: AsyncConnection) -> None:
    """Count the rows each side has that the other lacks, table by table, then roll back."""
    if connection.dialect.name == "postgresql":
        live = f'"{await connection.scalar(sa.text("SELECT current_schema()"))}"'
    else:
        live = "main"
    differing: dict[str, tuple[int, int]] = {}
    for table in COMPARED:
        columns = ", ".join(f'"{c.name}"' for c in compared_columns(table))
        counts = []
        for first, second in ((live, SHADOW), (SHADOW, live)):
            counts.append(
                await connection.scalar(
                    sa.text(
                        f'SELECT count(*) FROM (SELECT {columns} FROM {first}."{table.name}" '
                        f'EXCEPT SELECT {columns} FROM {second}."{table.name}") AS missing'
                    )
                )
                or 0
            )
        if any(counts):
            differing[table.name] = (int(counts[0]), int(counts[1]))
    raise _Compared(differing)


async def verify(
    url: str,
    *,
    batch_size: int | None = None,
    progress: Progress | None = None,
    stage: Stage | None = None,
) -> Verdict:
    engine = create_engine(url)
    try:
        await ensure_migrated(engine)
        async with engine.connect() as connection:
            verdict = Verdict(ahead=await _streams_ahead(connection))
    finally:
        await engine.dispose()
    try:
        await rebuild(
            url,
            batch_size=batch_size,
            restart=True,
            progress=progress,
            stage=stage,
            finish=_compare,
        )
    except _Compared as compared:
        verdict.tables = compared.tables
    finally:
        await _drop_shadow(url)
    return verdict


async def _drop_shadow(url: str) -> None:
    if is_sqlite(url):
        await asyncio.to_thread(Path(f"{make_url(url).database}.rebuild").unlink, missing_ok=True)
        return
    engine = create_engine(url)
    try:
        async with engine.begin() as connection:
            await connection.execute(sa.text(f"DROP SCHEMA IF EXISTS {SHADOW} CASCADE"))
    finally:
        await engine.dispose()
