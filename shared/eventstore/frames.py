"""Stored facts as one columnar frame: what a rebuild reads and folds set at a time."""

from __future__ import annotations

import datetime as dt
import io
from collections.abc import Iterable
from dataclasses import dataclass

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


@dataclass(frozen=True)
class PayloadFields:
    """Payload fields a history read on PostgreSQL returns as columns of their own, taken out
    of the stored ``jsonb`` by the server, in place of the payload's text: decoding every
    payload in the columnar engine was about half of a rebuild's fold, and the server reads
    a field of ``jsonb`` without writing the whole document out as text.

    ``strings`` come as text, ``lists`` as JSON text (each null where absent or null); ``typed``
    says the payload is an object whose ``strings`` are strings or null and whose ``lists``
    are arrays or null (where it is false, a field may read otherwise than a decoder would
    read the payload: ``5`` as ``"5"``)."""

    strings: tuple[str, ...]
    lists: tuple[str, ...]

    def schema(self) -> pl.Schema:
        """The frame's: :data:`FACTS` but ``data``, then the fields in order, then ``typed``."""
        fields = dict.fromkeys((*self.strings, *self.lists), pl.String())
        return pl.Schema({**_WITHOUT_DATA, **fields, "typed": pl.Boolean()})


_WITHOUT_DATA = {name: kind for name, kind in FACTS.items() if name != "data"}


def frame_of(facts: Iterable[StoredFact]) -> pl.DataFrame:
    rows = [(*fact[:5], fact.occurred_at.astimezone(dt.UTC), fact.data) for fact in facts]
    return pl.DataFrame(rows, schema=FACTS, orient="row")


def frame_of_csv(data: bytes, fields: PayloadFields | None = None) -> pl.DataFrame:
    """The frame of a ``COPY … TO STDOUT (FORMAT csv)`` of the wire columns
    (:data:`shared.eventstore.sql.WIRE_FACT_COLUMNS`, or with ``fields`` in place of the
    payload): the instant comes as microseconds since the epoch, exact and free of the
    session's date style and time zone."""
    schema = FACTS if fields is None else fields.schema()
    if not data:
        return pl.DataFrame(schema=schema)
    wire = {**schema, "occurred_at": pl.Int64()}
    frame = pl.read_csv(io.BytesIO(data), has_header=False, schema=wire)
    return frame.with_columns(pl.from_epoch("occurred_at", "us").dt.replace_time_zone("UTC"))
