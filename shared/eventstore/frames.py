"""Stored facts as one columnar frame: what a rebuild reads and folds set at a time."""

from __future__ import annotations

import datetime as dt
import io
from collections.abc import Iterable

import polars as pl

from shared.contracts.recorded import StoredFact

FACTS = pl.Schema(
    [
        ("position", pl.Int64()),
        ("stream_id", pl.String()),
        ("stream_version", pl.Int64()),
        ("type", pl.String()),
        ("schema_version", pl.Int64()),
        ("occurred_at", pl.Datetime("us", "UTC")),
        ("data", pl.String()),
    ]
)
""":class:`StoredFact`'s fields as columns, ``data`` as JSON text."""

_WIRE = pl.Schema({**FACTS, "occurred_at": pl.Int64()})
"""As ``COPY`` sends them (:data:`shared.eventstore.sql.WIRE_FACT_COLUMNS`): the instant as
microseconds since the epoch, exact and free of the session's date style and time zone."""


def frame_of(facts: Iterable[StoredFact]) -> pl.DataFrame:
    rows = [(*fact[:5], fact.occurred_at.astimezone(dt.UTC), fact.data) for fact in facts]
    return pl.DataFrame(rows, schema=FACTS, orient="row")


def facts_of(frame: pl.DataFrame) -> list[StoredFact]:
    """The frame's rows as facts (for the few a columnar fold leaves to the per-event one)."""
    return [
        StoredFact(position, stream_id, version, kind, schema, at.astimezone(dt.UTC), data)
        for position, stream_id, version, kind, schema, at, data in frame.iter_rows()
    ]


def frame_of_csv(data: bytes) -> pl.DataFrame:
    """The frame of a ``COPY … TO STDOUT (FORMAT csv)`` of the wire columns."""
    if not data:
        return pl.DataFrame(schema=FACTS)
    frame = pl.read_csv(io.BytesIO(data), has_header=False, schema=_WIRE)
    return frame.with_columns(pl.from_epoch("occurred_at", "us").dt.replace_time_zone("UTC"))
