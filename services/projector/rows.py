"""One initiative as the read models see it, and how each fact changes it.

A fact changes an initiative's row; the aggregates change by the row's new contribution
(:mod:`services.projector.read_models`) minus its old one. Keeping rows and contributions as
plain values makes redelivery, moves and rebuilds all the same arithmetic.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from typing import Any, NamedTuple
from zoneinfo import ZoneInfo

from shared.contracts.base import EventData
from shared.contracts.initiatives import (
    InitiativeApproved,
    InitiativeRecognized,
    InitiativeRegistered,
    InitiativeRejected,
    InitiativeResubmitted,
    InitiativeRevisionRequested,
    InitiativeSubmitted,
    InitiativeUpdated,
    InitiativeWithdrawn,
)
from shared.domain.initiative import (
    InitiativeStatus,
    next_status,
)
from shared.domain.participation import author_keys
from shared.domain.phases import local_date
from shared.text import fold_diacritics

S = InitiativeStatus


class InitiativeRow(NamedTuple):
    """A named tuple, not a dataclass: a fold makes a new row per fact, and ``_replace`` on a
    tuple costs a tenth of ``dataclasses.replace``."""

    initiative_id: str
    campaign_id: str
    unit_id: str
    """The unit it counts for: the one it was filed under, merges then in effect followed."""
    filed_unit_id: str
    status: InitiativeStatus
    title: str
    category: str | None
    solution_type: str | None
    author_types: tuple[str, ...]
    author_keys: tuple[str, ...]
    """Pseudonymous keys of the distinct authors (``shared.domain.participation``)."""
    registered_at: dt.datetime | None
    first_submitted_at: dt.datetime | None
    approved_at: dt.datetime | None
    rejected_at: dt.datetime | None
    recognized_at: dt.datetime | None
    withdrawn_at: dt.datetime | None
    updated_at: dt.datetime

    @classmethod
    def from_record(cls, record: Mapping[Any, Any]) -> InitiativeRow:
        return cls(
            initiative_id=record["initiative_id"],
            campaign_id=record["campaign_id"],
            unit_id=record["unit_id"],
            filed_unit_id=record["filed_unit_id"],
            status=InitiativeStatus(record["status"]),
            title=record["title"],
            category=record["category"],
            solution_type=record["solution_type"],
            author_types=tuple(record["author_types"]),
            author_keys=tuple(record["author_keys"]),
            registered_at=record["registered_at"],
            first_submitted_at=record["first_submitted_at"],
            approved_at=record["approved_at"],
            rejected_at=record["rejected_at"],
            recognized_at=record["recognized_at"],
            withdrawn_at=record["withdrawn_at"],
            updated_at=record["updated_at"],
        )

    @property
    def attributed_at(self) -> dt.datetime:
        """The instant that fixes where it counts: first submission, else registration."""
        return self.first_submitted_at or self.registered_at or self.updated_at

    def bucket_date(self, zone: ZoneInfo) -> dt.date:
        """The local day that decides the phase."""
        return local_date(self.attributed_at, zone)

    def as_record(self, zone: ZoneInfo) -> tuple[object, ...]:
        """The ``rm_initiatives`` row, in the order of ``RECORD_COLUMNS``."""
        return (
            self.initiative_id,
            self.campaign_id,
            self.unit_id,
            self.filed_unit_id,
            self.attributed_at,
            self.status.value,
            self.title,
            fold_diacritics(self.title),
            self.category,
            self.solution_type,
            list(self.author_types),
            list(self.author_keys),
            self.bucket_date(zone),
            _local_date(self.approved_at, zone),
            _local_date(self.withdrawn_at, zone),
            self.registered_at,
            self.first_submitted_at,
            self.approved_at,
            self.rejected_at,
            self.recognized_at,
            self.withdrawn_at,
            self.updated_at,
        )


def _local_date(at: dt.datetime | None, zone: ZoneInfo) -> dt.date | None:
    return None if at is None else local_date(at, zone)


RECORD_COLUMNS = (
    "initiative_id",
    "campaign_id",
    "unit_id",
    "filed_unit_id",
    "attributed_at",
    "status",
    "title",
    "title_folded",
    "category",
    "solution_type",
    "author_types",
    "author_keys",
    "bucket_date",
    "approved_on",
    "withdrawn_on",
    "registered_at",
    "first_submitted_at",
    "approved_at",
    "rejected_at",
    "recognized_at",
    "withdrawn_at",
    "updated_at",
)


def evolve(row: InitiativeRow | None, fact: EventData, at: dt.datetime) -> InitiativeRow:
    """The row after ``fact``: its status is the lifecycle's (facts were checked by ingest,
    so every transition is valid); the row adds when each step happened. A fact without a
    rule in :data:`ROW_RULES` is an error, never ignored."""
    try:
        rule = ROW_RULES[type(fact)]
    except KeyError:
        raise TypeError(f"the read models have no rule for {fact.type} facts") from None
    if row is None and not isinstance(fact, InitiativeRegistered | InitiativeSubmitted):
        raise ValueError(f"{fact.type} for an initiative the read models have never seen")
    return rule(row, fact, at)


def _opened(
    row: InitiativeRow | None, fact: InitiativeRegistered | InitiativeSubmitted, at: dt.datetime
) -> InitiativeRow:
    """The row a registration or a first submission opens (or the row it already has)."""
    return row or InitiativeRow(
        initiative_id=fact.initiative_id,
        campaign_id=fact.campaign_id,
        unit_id=fact.unit_id,
        filed_unit_id=fact.unit_id,
        status=S.REGISTERED,
        title=fact.title,
        category=None,
        solution_type=None,
        author_types=(),
        author_keys=(),
        registered_at=None,
        first_submitted_at=None,
        approved_at=None,
        rejected_at=None,
        recognized_at=None,
        withdrawn_at=None,
        updated_at=at,
    )


def _registered(
    row: InitiativeRow | None, fact: InitiativeRegistered, at: dt.datetime
) -> InitiativeRow:
    status = next_status(None if row is None else row.status, fact)
    return _opened(row, fact, at)._replace(status=status, registered_at=at, updated_at=at)


def _submitted(
    row: InitiativeRow | None, fact: InitiativeSubmitted, at: dt.datetime
) -> InitiativeRow:
    base = _opened(row, fact, at)
    return base._replace(
        filed_unit_id=fact.unit_id,
        status=next_status(None if row is None else row.status, fact),
        title=fact.title,
        category=fact.category.value,
        solution_type=fact.solution_type.value,
        author_types=tuple(dict.fromkeys(a.author_type.value for a in fact.authors)),
        author_keys=author_keys(fact.authors),
        first_submitted_at=base.first_submitted_at or at,
        updated_at=at,
    )


def _reviewed(
    stamp: str | None,
) -> Callable[[InitiativeRow, EventData, dt.datetime], InitiativeRow]:
    """A review step: the lifecycle's next status, and ``stamp`` (a column) set to its time."""

    def step(row: InitiativeRow, fact: EventData, at: dt.datetime) -> InitiativeRow:
        moved = row._replace(status=next_status(row.status, fact), updated_at=at)
        if stamp is None:
            return moved
        stamped: dict[str, Any] = {stamp: at}
        return moved._replace(**stamped)

    return step


_moved_on = _reviewed(None)
"""A review step that stamps no column (a revision requested)."""


def _resubmitted(row: InitiativeRow, fact: InitiativeResubmitted, at: dt.datetime) -> InitiativeRow:
    return _moved_on(row, fact, at)._replace(title=fact.title or row.title)


def updated(row: InitiativeRow, fact: InitiativeUpdated, at: dt.datetime) -> InitiativeRow:
    """Details corrected: status, unit and attribution stay; breakdowns follow the new
    category, solution type and authors."""
    row = row._replace(
        title=fact.title or row.title,
        category=row.category if fact.category is None else fact.category.value,
        solution_type=row.solution_type if fact.solution_type is None else fact.solution_type.value,
        updated_at=at,
    )
    if fact.authors is None:
        return row
    return row._replace(
        author_types=tuple(dict.fromkeys(a.author_type.value for a in fact.authors)),
        author_keys=author_keys(fact.authors),
    )


ROW_RULES: dict[type[EventData], Callable[[Any, Any, dt.datetime], InitiativeRow]] = {
    InitiativeRegistered: _registered,
    InitiativeSubmitted: _submitted,
    InitiativeUpdated: updated,
    InitiativeRevisionRequested: _moved_on,
    InitiativeResubmitted: _resubmitted,
    InitiativeApproved: _reviewed("approved_at"),
    InitiativeRejected: _reviewed("rejected_at"),
    InitiativeRecognized: _reviewed("recognized_at"),
    InitiativeWithdrawn: _reviewed("withdrawn_at"),
}
"""How an initiative's row follows each initiative fact (a test holds it to the registry)."""
