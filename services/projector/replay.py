"""The rebuild's runner: the store's events folded into tables only it writes.

It folds with the live runner's rules (:func:`~services.projector.fold.fold_batch`) and
catches the reference data up the same way, but it needs no locks (no other writer), no gap
checks (the store has no gaps) and no progress changes (a rebuild notifies no one): records
the tables already hold are dropped by their stream's version. A batch that cannot be applied
as a whole is settled by the live runner on the same tables, so what cannot be applied is
quarantined in the shadow as the live projection would.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import polars as pl
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from services.projector import targets
from services.projector.authors import recount_authors
from services.projector.bulk_write import (
    close_partials,
    copy_fold,
    drop_partials,
    note_author_places,
    open_partials,
)
from services.projector.columnar import ColumnarFold, as_folded, fold_columns
from services.projector.fold import (
    Folded,
    Recorded,
    applied_by,
    fold_batch,
    initiative_facts,
    initiative_id,
    streams_of,
)
from services.projector.projection import BatchOutcome, Projection
from services.projector.reference_catch_up import ReferenceCatchUp
from services.projector.rows import InitiativeRow
from services.projector.tables import load_rows, save_checkpoint, versions, write_folded
from shared.contracts.recorded import StoredFact
from shared.eventstore.port import EventStore

Checkpoint = tuple[str, int]


@dataclass(frozen=True)
class Replayed:
    """A batch folded and not yet written."""

    fresh: list[Recorded]
    """The facts not applied before, whose stream versions the write records."""
    folded: Folded


class Replay:
    """Public API: :meth:`start`; on empty tables :meth:`fold_histories` then
    :meth:`open_histories`, :meth:`write_histories` and :meth:`settle_histories` per chunk,
    :meth:`close_histories`, :meth:`end_histories`;
    else :meth:`fold` then :meth:`write` while the reference data :meth:`is_current` (folding
    one batch while the one before is written), or :meth:`apply_on` in one transaction;
    :meth:`settle` and :meth:`settle_on` for what failed or was left to the per-event fold."""

    def __init__(self, engine: AsyncEngine, store: EventStore) -> None:
        self._engine = engine
        self._reference = ReferenceCatchUp(engine, store)
        self._settling = Projection(engine, store, reference=self._reference)

    async def start(self) -> None:
        await self._reference.start()

    async def is_current(self) -> bool:
        return await self._reference.is_current()

    @property
    def reference_version(self) -> int:
        """The reference stream's version the folds read (it moves when settling catches up
        reference facts appended meanwhile)."""
        return self._reference.view.version

    async def fold(
        self, records: Sequence[Recorded], pending: Mapping[str, InitiativeRow]
    ) -> Replayed:
        """Fold a batch on a connection of its own, taking the rows of a batch still being
        written (``pending``) from memory. Only valid while :meth:`is_current`."""
        async with self._engine.connect() as connection:
            facts, _ = await self._reference.hold(connection, initiative_facts(records))
            return await self._fold_on(connection, facts, pending)

    def fold_histories(self, events: pl.DataFrame) -> ColumnarFold:
        """Fold whole histories (as :func:`services.projector.columnar.fold_columns` takes
        them) of streams the tables do not hold yet, set at a time; the streams it leaves to
        the per-event fold are its ``fallback`` (:meth:`settle_histories` them). Only valid
        while :meth:`is_current`."""
        return fold_columns(events, self._reference.attribution(), self._reference.view.campaigns)

    @staticmethod
    async def open_histories(connection: AsyncConnection) -> None:
        """Ready the tables for :meth:`write_histories` (on PostgreSQL, partial tables)."""
        if connection.dialect.name == "postgresql":
            await open_partials(connection)

    async def write_histories(self, connection: AsyncConnection, fold: ColumnarFold) -> None:
        """Write what :meth:`fold_histories` folded, in a transaction that has run a statement:
        with ``COPY`` on PostgreSQL. Counts only, perhaps partial: :meth:`close_histories`
        once all are written."""
        if connection.dialect.name == "postgresql":
            await copy_fold(connection, fold)
            return
        applied = dict(fold.versions.iter_rows())
        folded = as_folded(fold)
        attribution = self._reference.attribution()
        await write_folded(connection, attribution, folded, applied, count_authors=False)

    async def settle_histories(
        self, connection: AsyncConnection, facts: Sequence[StoredFact]
    ) -> None:
        """Settle whole histories :meth:`fold_histories` left (or that failed to write) with
        the per-event fold, in the transaction of their chunk: on PostgreSQL, where their
        initiatives name authors is noted for :meth:`close_histories`, as
        :meth:`write_histories` notes the rest."""
        await self.settle_on(connection, facts, None)
        if connection.dialect.name == "postgresql":
            keys = [initiative_id(fact) for fact in facts]
            attribution = self._reference.attribution()
            await note_author_places(connection, attribution, sorted(set(keys)))

    async def close_histories(self) -> None:
        """Sum what :meth:`write_histories` left partial and count the distinct authors, from
        the whole tables at once; :meth:`end_histories` then."""
        attribution = self._reference.attribution()
        if self._engine.dialect.name == "postgresql":
            await close_partials(self._engine, attribution)
            return
        async with self._engine.begin() as connection:
            await recount_authors(connection, attribution)

    @staticmethod
    async def end_histories(connection: AsyncConnection) -> None:
        """Drop what :meth:`close_histories` read, in the transaction that records the history
        pass as done (a close resumed before that counts from it again)."""
        if connection.dialect.name == "postgresql":
            await drop_partials(connection)

    async def write(
        self,
        connection: AsyncConnection,
        replayed: Replayed,
        checkpoint: Checkpoint | None,
    ) -> None:
        """Write a folded batch."""
        folded, applied = replayed.folded, applied_by(replayed.fresh)
        await write_folded(connection, self._reference.attribution(), folded, applied)
        if checkpoint is not None:
            await save_checkpoint(connection, *checkpoint)

    async def apply_on(
        self, connection: AsyncConnection, records: Sequence[Recorded], checkpoint: Checkpoint
    ) -> None:
        """Catch the reference data up, fold and write, all in the caller's transaction."""
        facts, _ = await self._reference.hold(connection, initiative_facts(records))
        refresh = (await self._reference.catch_up(connection)).refresh
        if refresh:
            await targets.refresh(connection, self._reference.view, refresh)
        await self.write(connection, await self._fold_on(connection, facts, {}), checkpoint)

    async def settle(
        self, records: Sequence[Recorded], checkpoint: Checkpoint | None
    ) -> BatchOutcome:
        return await self._settling.apply(records, checkpoint)

    async def settle_on(
        self,
        connection: AsyncConnection,
        records: Sequence[Recorded],
        checkpoint: Checkpoint | None,
    ) -> BatchOutcome:
        return await self._settling.settle_on(connection, records, checkpoint)

    async def _fold_on(
        self,
        connection: AsyncConnection,
        facts: Sequence[Recorded],
        pending: Mapping[str, InitiativeRow],
    ) -> Replayed:
        """Fold initiative facts already cleared of quarantined streams."""
        applied = await versions(connection, streams_of(facts))
        fresh = [r for r in facts if r.stream_version > applied.get(r.stream_id, 0)]
        ids = {initiative_id(r) for r in fresh}
        rows = await load_rows(connection, ids - pending.keys())
        rows.update((key, pending[key]) for key in ids & pending.keys())
        return Replayed(fresh, fold_batch(rows, fresh, self._reference.attribution()))
