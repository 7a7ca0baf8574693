"""The projection's rules as a pure fold: initiative facts in; rows, history and deltas out.

The live projection and the rebuild run this same fold; they differ only in where the rows
come from and how the outcome is written. An initiative counts where the tree and plans put
it at its attribution instant (first submission, else registration), for good; a reference
fact that arrives after initiatives it concerns re-attributes exactly those whose instant
falls after it (``structure``), so the order of arrival never changes the result.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol, TypeVar

from services.projector.attribution import Attribution
from services.projector.deltas import Deltas, row_changes
from services.projector.rows import InitiativeRow, evolve
from shared.contracts.base import REFERENCE_STREAM, EventData
from shared.domain.initiative import FACT_TYPES

STREAM_PREFIX = "initiative-"


class Recorded(Protocol):
    """What the fold reads of a stored event: a ``RecordedEvent`` (live, from Kafka or the
    store) or a ``StoredFact`` (a rebuild's cheaper read)."""

    @property
    def position(self) -> int: ...
    @property
    def stream_id(self) -> str: ...
    @property
    def stream_version(self) -> int: ...
    @property
    def type(self) -> str: ...
    @property
    def occurred_at(self) -> dt.datetime: ...
    def fact(self) -> EventData: ...


R = TypeVar("R", bound=Recorded)


@dataclass(frozen=True)
class Folded:
    rows: dict[str, InitiativeRow]
    """The rows the facts changed, by initiative id."""
    history: list[tuple[object, ...]]
    """One ``rm_initiative_history`` row per fact (``tables.HISTORY_COLUMNS``)."""
    deltas: Deltas
    authors_added: list[tuple[str, str]]
    """(initiative id, author key) rows ``rm_initiative_authors`` gains."""
    authors_dropped: list[tuple[str, str]]
    """Those it loses: an update named other authors."""
    replaced: dict[str, InitiativeRow]
    """The stored rows ``rows`` replace (of initiatives stored before the batch)."""


def initiative_id(record: Recorded) -> str:
    return record.stream_id.removeprefix(STREAM_PREFIX)


def initiative_facts(records: Sequence[R]) -> list[R]:
    """The facts about initiatives (reference facts are read from their stream instead)."""
    return [r for r in records if r.stream_id != REFERENCE_STREAM and r.type in FACT_TYPES]


def streams_of(records: Sequence[Recorded]) -> list[str]:
    return sorted({r.stream_id for r in records})


def applied_by(records: Sequence[Recorded]) -> dict[str, int]:
    """The version each stream reaches once ``records`` (in stream order) are applied."""
    return {r.stream_id: r.stream_version for r in records}


def fold_batch(
    stored: Mapping[str, InitiativeRow],
    records: Iterable[Recorded],
    attribution: Attribution,
) -> Folded:
    """Fold ``records`` (in stream order per initiative) over the ``stored`` rows of the
    initiatives they are about."""
    current: dict[str, InitiativeRow] = {}
    history: list[tuple[object, ...]] = []
    for record in records:
        key = initiative_id(record)
        before = current.get(key) or stored.get(key)
        row = attributed(evolve(before, record.fact(), record.occurred_at), attribution)
        current[key] = row
        history.append((key, record.stream_version, record.occurred_at, row.status.value))
    replaced = {key: stored[key] for key in current if key in stored}
    added, dropped = _author_changes(replaced, current)
    deltas = row_changes(attribution, replaced.values(), current.values())
    return Folded(current, history, deltas, added, dropped, replaced)


def _author_changes(
    replaced: Mapping[str, InitiativeRow], current: Mapping[str, InitiativeRow]
) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
    """The author rows to add and to drop, from the stored keys to the folded ones."""
    added: list[tuple[str, str]] = []
    dropped: list[tuple[str, str]] = []
    for key, row in current.items():
        before = replaced[key].author_keys if key in replaced else ()
        after = row.author_keys
        added += [(key, author) for author in after if author not in before]
        dropped += [(key, author) for author in before if author not in after]
    return added, dropped


def attributed(row: InitiativeRow, attribution: Attribution) -> InitiativeRow:
    """``row`` counting for the unit it was filed under, merges in effect at its
    attribution followed."""
    counting = attribution.counting_unit(row.filed_unit_id, row.attributed_at)
    return row if counting == row.unit_id else row._replace(unit_id=counting)
