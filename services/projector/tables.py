"""The projector's own rows: initiatives, their history, applied stream versions, checkpoints.

Each function is one set-based statement per batch (per chunk on SQLite), shared by the
live projection and the rebuild.
"""

from __future__ import annotations

import datetime as dt
import secrets
from collections.abc import Collection, Mapping, Sequence

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from services.projector.attribution import Attribution
from services.projector.authors import author_changes
from services.projector.deltas import vectors
from services.projector.fold import Folded
from services.projector.read_models import add_counts
from services.projector.rows import RECORD_COLUMNS, InitiativeRow
from services.projector.schema import (
    rm_checkpoints,
    rm_initiative_authors,
    rm_initiative_history,
    rm_initiatives,
    rm_progress,
    rm_revision,
    rm_stream_versions,
)
from shared.chunks import IN_LIST, chunks
from shared.domain.campaign import Campaigns
from shared.persistence.lookup import among
from shared.persistence.upsert import (
    Pending,
    Writer,
    ignore_existing,
    insert_rows,
    upsert,
    upsert_rows,
)

HISTORY_COLUMNS = ("initiative_id", "version", "at", "status")


async def load_rows(connection: AsyncConnection, ids: Collection[str]) -> dict[str, InitiativeRow]:
    rows: dict[str, InitiativeRow] = {}
    column = rm_initiatives.c.initiative_id
    for condition in among(connection.dialect, column, sorted(ids)):
        result = await connection.execute(sa.select(rm_initiatives).where(condition))
        for record in result.mappings():
            rows[record["initiative_id"]] = InitiativeRow.from_record(record)
    return rows


async def load_attributed_since(
    connection: AsyncConnection,
    units: Collection[str],
    since: dt.datetime,
    campaign_id: str | None,
) -> list[InitiativeRow]:
    """The initiatives filed under ``units`` whose attribution falls at or after ``since``
    (in ``campaign_id`` when given): those a reference fact of that instant concerns. Found
    through the index on ``filed_unit_id``: a reorganisation touches few units at a time."""
    table = rm_initiatives
    found: list[InitiativeRow] = []
    scope = [table.c.attributed_at >= since]
    if campaign_id is not None:
        scope.append(table.c.campaign_id == campaign_id)
    for condition in among(connection.dialect, table.c.filed_unit_id, sorted(units)):
        result = await connection.execute(
            sa.select(table).where(condition, *scope).order_by(table.c.initiative_id)
        )
        found.extend(InitiativeRow.from_record(record) for record in result.mappings())
    return found


async def save_rows(
    writer: Writer, campaigns: Campaigns, rows: Mapping[str, InitiativeRow]
) -> None:
    """Write ``rows`` (in key order, so two projectors lock them in the same order)."""
    records = [
        row.as_record(campaigns.get(row.campaign_id).zone) for _, row in sorted(rows.items())
    ]
    await upsert_rows(writer, rm_initiatives, ["initiative_id"], RECORD_COLUMNS, records)


async def add_history(writer: Writer, history: list[tuple[object, ...]]) -> None:
    """One row per fact, in the order of ``HISTORY_COLUMNS``."""
    await insert_rows(writer, rm_initiative_history, HISTORY_COLUMNS, history)


async def add_authors(writer: Writer, added: list[tuple[str, str]]) -> None:
    """New (initiative id, author key) rows: what distinct authors are counted from."""
    await insert_rows(writer, rm_initiative_authors, ["initiative_id", "author_key"], added)


async def drop_authors(connection: AsyncConnection, dropped: Sequence[tuple[str, str]]) -> None:
    """Remove author rows an update replaced; run before the batch's pending writes, which
    may add rows to the same table (rare: only updates that change authors drop any)."""
    table = rm_initiative_authors
    pair = sa.tuple_(table.c.initiative_id, table.c.author_key)
    for chunk in chunks(dropped, IN_LIST // 2):  # two parameters a pair
        await connection.execute(table.delete().where(pair.in_(chunk)))


async def write_folded(
    connection: AsyncConnection,
    attribution: Attribution,
    folded: Folded,
    applied: Mapping[str, int],
    *,
    count_authors: bool = True,
) -> None:
    """A batch's rows, history, aggregates and ``applied`` stream versions, in one statement
    on PostgreSQL (each part writes a table of its own), then the distinct authors they move
    (without ``count_authors``, left to :func:`services.projector.authors.recount_authors`:
    a rebuild's history pass)."""
    authors = vectors(1)
    if count_authors:
        authors = await author_changes(connection, folded.rows, folded.replaced, attribution)
    await drop_authors(connection, folded.authors_dropped)
    pending = Pending(connection)
    await save_rows(pending, attribution.view.campaigns, folded.rows)
    await add_authors(pending, folded.authors_added)
    await add_history(pending, folded.history)
    await folded.deltas.write(pending)
    await save_versions(pending, applied)
    await pending.flush()
    await add_counts(connection, rm_progress, ["authors"], authors)
    await folded.deltas.prune(connection)


async def versions(connection: AsyncConnection, streams: Sequence[str]) -> dict[str, int]:
    found: dict[str, int] = {}
    column = rm_stream_versions.c.stream_id
    for condition in among(connection.dialect, column, streams):
        result = await connection.execute(
            sa.select(rm_stream_versions.c.stream_id, rm_stream_versions.c.version).where(condition)
        )
        found.update(dict(result.all()))
    return found


async def lock_versions(connection: AsyncConnection, streams: Collection[str]) -> dict[str, int]:
    """The applied version of each stream, its row locked until commit (in stream order, so
    two projectors never deadlock): during a rebalance two instances may hold the same
    batch, and the second must see what the first applied, not apply it again."""
    ordered = sorted(set(streams))
    if not ordered:
        return {}
    await ignore_existing(
        connection, rm_stream_versions, ["stream_id", "version"], [(s, 0) for s in ordered]
    )
    found: dict[str, int] = {}
    column = rm_stream_versions.c.stream_id
    for condition in among(connection.dialect, column, ordered):
        result = await connection.execute(
            sa.select(rm_stream_versions.c.stream_id, rm_stream_versions.c.version)
            .where(condition)
            .order_by(rm_stream_versions.c.stream_id)
            .with_for_update()
        )
        found.update(dict(result.all()))
    return found


async def save_versions(writer: Writer, applied: Mapping[str, int]) -> None:
    await upsert_rows(
        writer,
        rm_stream_versions,
        ["stream_id"],
        ["stream_id", "version"],
        sorted(applied.items()),
    )


async def save_checkpoint(connection: AsyncConnection, name: str, position: int) -> None:
    await connection.execute(
        upsert(connection.dialect, rm_checkpoints, ["name"], ["position", "updated_at"]),
        [{"name": name, "position": position, "updated_at": dt.datetime.now(dt.UTC)}],
    )


async def new_revision(connection: AsyncConnection) -> None:
    """Redraw ``rm_revision``: the caller's transaction changes the read models."""
    revision = (1, secrets.randbits(63))
    await upsert_rows(connection, rm_revision, ["id"], ["id", "revision"], [revision])


async def read_checkpoint(connection: AsyncConnection, name: str) -> int:
    """The position up to which the tables hold every event (0 when they hold none)."""
    position = await connection.scalar(
        sa.select(rm_checkpoints.c.position).where(rm_checkpoints.c.name == name)
    )
    return int(position or 0)
