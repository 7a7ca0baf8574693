"""The projection's fold of whole histories, set at a time (issue 19, first step).

A rebuild folds every initiative from nothing, where the per-event fold
(:func:`services.projector.fold.fold_batch`) spends tens of µs of Python per event. Here the
same outcome comes from group-bys in Polars: an initiative's row from its facts, the
aggregates from the final rows. Reference lookups (ancestors, plans, zone offsets, author
keys) are made in Python once per distinct key, never per event.

What cannot be decided exactly here is not guessed: a stream with an unknown type or schema
version, a v1 payload (its upcast is Python), a value the payload models would refuse or
read differently, a transition the lifecycle refuses, an unknown unit or campaign goes to
``fallback`` for the per-event fold, and nothing of it is in the rest of the result. Streams
are independent given the reference data, so the split is exact. Payload fields the fold
never reads (summaries, reasons, amounts, attachments) are trusted to have been validated
on append, as :class:`shared.contracts.recorded.StoredFact` already assumes.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass

import polars as pl

from services.projector.attribution import Attribution
from services.projector.deltas import Deltas
from services.projector.fold import STREAM_PREFIX, Folded
from services.projector.read_models import (
    AGGREGATES,
    BREAKDOWNS,
    PROGRESS,
    ROLLUP,
    SERIES,
    STATUS_INDEX,
    Aggregate,
)
from services.projector.rows import InitiativeRow
from services.projector.schema import WHOLE_CAMPAIGN
from shared.contracts.initiatives import (
    AuthorType,
    Category,
    InitiativeApproved,
    InitiativeRecognized,
    InitiativeRegistered,
    InitiativeRejected,
    InitiativeResubmitted,
    InitiativeSubmitted,
    InitiativeUpdated,
    InitiativeWithdrawn,
    SolutionType,
)
from shared.contracts.registry import CURRENT
from shared.domain.campaign import Campaigns
from shared.domain.errors import UnknownUnit
from shared.domain.initiative import FACT_TYPES, TRANSITIONS, InitiativeStatus
from shared.domain.participation import key_of
from shared.domain.phases import local_date
from shared.eventstore.frames import FACTS, PayloadFields

REGISTERED, SUBMITTED = InitiativeRegistered.type, InitiativeSubmitted.type
UPDATED, RESUBMITTED = InitiativeUpdated.type, InitiativeResubmitted.type
APPROVED, REJECTED = InitiativeApproved.type, InitiativeRejected.type
RECOGNIZED, WITHDRAWN = InitiativeRecognized.type, InitiativeWithdrawn.type

_AUTHOR = pl.Struct({"name": pl.String, "member_id": pl.String, "author_type": pl.String})
_AUTHORS = pl.List(_AUTHOR)
PAYLOAD = pl.Struct(
    {
        "initiative_id": pl.String,
        "campaign_id": pl.String,
        "unit_id": pl.String,
        "title": pl.String,
        "category": pl.String,
        "solution_type": pl.String,
        "authors": _AUTHORS,
    }
)
"""The payload fields the fold reads, of every initiative fact."""

_STRINGS = ("initiative_id", "campaign_id", "unit_id", "title", "category", "solution_type")
PAYLOAD_FIELDS = PayloadFields(strings=_STRINGS, lists=("authors",))
"""The same, as the event store extracts them on PostgreSQL."""
_NESTED = ("name", "member_id", "author_type")
_NOT_A_STRING = r'"(?:' + "|".join((*_STRINGS, *_NESTED)) + r')"\s*:\s*[^"n\s]'
"""A read field whose value is neither a string nor null (the decoder would turn ``5`` into
``"5"`` where the models refuse it)."""
_NOT_A_LIST = r'"authors"\s*:\s*[^\[n\s]'
_ESCAPED_ASCII = r"\\u00[2-7]"
"""A key could be spelled with escapes the guards above would not see."""
_SUSPECT = "|".join((r"^\s*[^\s{]", _NOT_A_STRING, _NOT_A_LIST, _ESCAPED_ASCII))
"""One pass for them all, and for a payload that is not an object."""
_SUSPECT_AUTHOR = "|".join((r'"(?:' + "|".join(_NESTED) + r')"\s*:\s*[^"n\s]', _ESCAPED_ASCII))
"""The same for the authors' list alone, where the server checked the rest
(:data:`PAYLOAD_FIELDS`)."""
_CONTROL = r"[\x00-\x1f\x7f]"
_SURROUNDING_SPACE = r"^\s|\s$"

_SETS = {
    cls.type: str(status)
    for (_, cls), status in TRANSITIONS.items()
    if cls is not InitiativeUpdated
}
"""The status each fact type leads to (an update keeps it); every event is then checked
against :data:`TRANSITIONS` itself."""
_ALLOWED = pl.DataFrame(
    {
        "_prev": [prev or "" for prev, _ in TRANSITIONS],
        "type": [cls.type for _, cls in TRANSITIONS],
        "_next": [str(status) for status in TRANSITIONS.values()],
    }
)
_SUBMITTED_STATUSES = ("under_review", "revision_requested", "approved", "rejected", "recognized")
_APPROVED_STATUSES = ("approved", "recognized")
_CELL = ("unit_id", "campaign_id", "epoch")


@dataclass(frozen=True)
class ColumnarFold:
    rows: pl.DataFrame
    """One row per initiative: ``InitiativeRow``'s fields in order, then ``attributed_at``,
    ``epoch`` and the local days of :data:`DAYS`; in order of each initiative's first fact."""
    history: pl.DataFrame
    """``rm_initiative_history`` rows: initiative id, version, when, status after."""
    authors_added: pl.DataFrame
    """(initiative_id, author_key) rows ``rm_initiative_authors`` gains."""
    author_places: pl.DataFrame
    """Where those authors count (:func:`services.projector.authors.named`'s columns: unit,
    campaign, epoch, stretch of the bucket day, author key), once per initiative naming
    them."""
    tables: tuple[pl.DataFrame, ...]
    """Per aggregate of ``AGGREGATES``: its table's key columns, ``index`` (of the count
    column) and ``count``; a key present with zero counts is one ``Deltas`` holds at zero."""
    versions: pl.DataFrame
    """(stream_id, version): each stream folded, at its last version."""
    fallback: frozenset[str]
    """Streams left to the per-event fold; nothing above is about them."""


def fold_columns(
    events: pl.DataFrame,
    attribution: Attribution,
    campaigns: Campaigns,
) -> ColumnarFold:
    """What ``fold_batch({}, records, attribution)`` gives for ``events`` (whole histories,
    in stream order per initiative, as :data:`FACTS` or with :data:`PAYLOAD_FIELDS` in place
    of ``data``), but for the ``fallback`` streams."""
    facts_columns = pl.Schema({name: FACTS[name] for name in FACTS if name in events.columns})
    facts = _checked(_decoded(events.cast(facts_columns).with_row_index("_n")), attribution)
    known = pl.col("campaign_id").first().is_in(list(campaigns.ids()))
    ok = facts.group_by("stream_id").agg(ok=pl.col("_ok").all() & known.fill_null(False))
    facts = facts.join(ok, on="stream_id", maintain_order="left")
    paths, unresolved = _paths(facts.filter("ok"), attribution)
    stranded = facts.join(unresolved, on=["_filed", "_epoch"], how="semi")["stream_id"]
    fallback = frozenset(ok.filter(~pl.col("ok"))["stream_id"]) | frozenset(stranded)
    good = facts.filter(pl.col("ok") & ~pl.col("stream_id").is_in(list(fallback)))
    rows = _with_days(_rows(good, paths), campaigns)
    history = good.sort("_n").select(
        initiative_id="key", version="stream_version", at="occurred_at", status="_status",
    )  # fmt: skip
    authors = rows.select("initiative_id", author_key="author_keys").explode("author_key")
    stretches = {day: attribution.stretch(day) for day in rows["bucket_date"].unique()}
    places = rows.select(
        "unit_id",
        "campaign_id",
        "epoch",
        pl.col("bucket_date").replace_strict(stretches, return_dtype=pl.Date),
        author_key="author_keys",
    ).explode("author_key")
    ancestry = ancestors_of(rows, attribution)
    tables = tuple(
        _spread(aggregate, CONTRIBUTIONS[aggregate.name](rows), ancestry, attribution)
        for aggregate in AGGREGATES
    )
    return ColumnarFold(
        rows=rows.drop("_first"),
        history=history,
        authors_added=authors.drop_nulls(),
        author_places=places.drop_nulls("author_key"),
        tables=tables,
        versions=good.group_by("stream_id").agg(version=pl.col("stream_version").max()),
        fallback=fallback,
    )


def _decoded(events: pl.DataFrame) -> pl.DataFrame:
    """The events with the fields the fold reads, decoded here from ``data`` or taken as the
    event store extracted them (:data:`PAYLOAD_FIELDS`); ``_readable`` false where they could
    read otherwise than the models read the payload."""
    decoded = _decoded_here(events) if "data" in events.columns else _decoded_by_server(events)
    return decoded.with_columns(key=pl.col("stream_id").str.strip_prefix(STREAM_PREFIX))


def _decoded_by_server(events: pl.DataFrame) -> pl.DataFrame:
    authors = pl.col("authors")
    suspect = authors.str.contains(_SUSPECT_AUTHOR).fill_null(False)
    events = events.with_columns(_readable=pl.col("typed") & ~suspect)
    texts = events.select(pl.when("_readable").then(authors).otherwise(pl.lit(None)))
    listed = _decode(texts.to_series(), _AUTHORS)
    return events.with_columns(
        _readable=pl.col("_readable") & (authors.is_null() | listed.is_not_null()),
        authors=listed,
    ).drop("typed")


def _decoded_here(events: pl.DataFrame) -> pl.DataFrame:
    data = pl.col("data")
    repeated = pl.any_horizontal(
        data.str.count_matches(rf'"{key}"\s*:') > 1 for key in (*_STRINGS, "authors")
    )
    suspect = data.str.contains(_SUSPECT) | repeated
    events = events.with_columns(_readable=~suspect)
    texts = events.select(pl.when("_readable").then(data).otherwise(pl.lit("{}")))
    payload = _decode(texts.to_series(), PAYLOAD)
    return events.with_columns(_readable=pl.col("_readable") & payload.is_not_null()).hstack(
        payload.struct.unnest()
    )


def _decode(texts: pl.Series, dtype: pl.DataType) -> pl.Series:
    """``texts`` decoded as ``dtype``, null where the decoder refuses one: found by halving,
    so a bad one costs a few decodes of the rest, not a decode per event."""
    try:
        return texts.str.json_decode(dtype)
    except pl.exceptions.PolarsError:
        if len(texts) == 1:
            return pl.Series([None], dtype=dtype)
        half = len(texts) // 2
        return _decode(texts[:half], dtype).append(_decode(texts[half:], dtype))


def _text(value: pl.Expr, longest: int) -> pl.Expr:
    """Whether the models' ``Identifier`` (128) or ``Text`` (500) take ``value`` unchanged:
    nothing to strip, no control character, not empty, not too long."""
    return (
        value.str.len_chars().is_between(1, longest)
        & ~value.str.contains(_CONTROL)
        & ~value.str.contains(_SURROUNDING_SPACE)
    )


def _optional(value: pl.Expr, valid: pl.Expr) -> pl.Expr:
    return value.is_null() | valid


def _authors_valid(authors: pl.Expr) -> pl.Expr:
    field = pl.element().struct.field
    author = (
        _text(field("name"), 500)
        & _optional(field("member_id"), _text(field("member_id"), 128))
        & field("author_type").is_in([kind.value for kind in AuthorType])
    ).fill_null(False)
    return authors.list.len().is_between(1, 50) & authors.list.eval(author).list.all()


def _payload_valid() -> pl.Expr:
    """Whether the fields the fold reads are what the current payload model accepts as is."""
    col, kind = pl.col, pl.col("type")
    identifier = {name: _text(col(name), 128) for name in ("campaign_id", "unit_id")}
    title = _text(col("title"), 500)
    category = col("category").is_in([value.value for value in Category])
    solution = col("solution_type").is_in([value.value for value in SolutionType])
    authors = _authors_valid(col("authors"))
    opening = identifier["campaign_id"] & identifier["unit_id"] & title
    read = (col("title"), col("category"), col("solution_type"), col("authors"))
    by_type = (
        pl.when(kind == REGISTERED)
        .then(opening)
        .when(kind == SUBMITTED)
        .then(opening & category & solution & authors)
        .when(kind == UPDATED)
        .then(
            _optional(col("title"), title)
            & _optional(col("category"), category)
            & _optional(col("solution_type"), solution)
            & _optional(col("authors"), authors)
            # an update giving none of these changes something the fold does not read
            & pl.any_horizontal(field.is_not_null() for field in read)
        )
        .when(kind == RESUBMITTED)
        .then(_optional(col("title"), title))
        .otherwise(kind.is_in(list(FACT_TYPES)))
    )
    current = kind.replace_strict(
        {name: CURRENT.model_for(name).schema_version for name in FACT_TYPES}, default=0
    )
    return (
        col("_readable")
        & (col("schema_version") == current)
        & _text(col("initiative_id"), 128)
        & (col("initiative_id") == col("key"))
        & by_type
    ).fill_null(False)


def _checked(facts: pl.DataFrame, attribution: Attribution) -> pl.DataFrame:
    """Each event's status after it and where its initiative would count then, and ``_ok``:
    its payload is valid and the lifecycle allows it."""
    kind, at, stream = pl.col("type"), pl.col("occurred_at"), "stream_id"
    facts = facts.sort(stream, "_n").with_columns(
        _status=kind.replace_strict(_SETS, default=None, return_dtype=pl.String)
        .forward_fill()
        .over(stream),
        _submission=(kind == SUBMITTED).cum_sum().over(stream),
        _filed=pl.when(kind.is_in([REGISTERED, SUBMITTED]))
        .then(pl.col("unit_id"))
        .forward_fill()
        .over(stream),
        _registered=pl.when(kind == REGISTERED).then(at).forward_fill().over(stream),
    )
    first_submitted = (
        pl.when((kind == SUBMITTED) & (pl.col("_submission") == 1))
        .then(at)
        .forward_fill()
        .over(stream)
    )
    facts = facts.with_columns(
        _prev=pl.col("_status").shift(1).over(stream).fill_null(""),
        _attributed=pl.coalesce(first_submitted, "_registered", at),
    ).with_columns(
        _epoch=_epochs(pl.col("_attributed"), attribution),
    )
    allowed = pl.col("_next") == pl.col("_status")
    return facts.join(
        _ALLOWED, on=["_prev", "type"], how="left", maintain_order="left"
    ).with_columns(_ok=_payload_valid() & allowed.fill_null(False))


def _epochs(instants: pl.Expr, attribution: Attribution) -> pl.Expr:
    """:meth:`Attribution.epoch` of each of ``instants``."""
    bounds = pl.Series(attribution.bounds, dtype=pl.Datetime("us", "UTC"))
    return pl.lit(bounds).search_sorted(instants, side="right").cast(pl.Int64)


def _paths(facts: pl.DataFrame, attribution: Attribution) -> tuple[pl.DataFrame, pl.DataFrame]:
    """The unit each (filed unit, epoch) counts for, and the pairs naming no known unit (the
    per-event fold resolves every event's, so one such event sends its stream back)."""
    pairs = facts.select("_filed", "_epoch").unique().drop_nulls()
    found: list[tuple[str, int, str]] = []
    unresolved: list[tuple[str, int]] = []
    for unit_id, epoch in pairs.iter_rows():
        try:
            found.append((unit_id, epoch, attribution.ancestors(unit_id, epoch)[0]))
        except UnknownUnit:
            unresolved.append((unit_id, epoch))
    schema = {"_filed": pl.String, "_epoch": pl.Int64}
    return (
        pl.DataFrame(found, schema={**schema, "unit_id": pl.String}, orient="row"),
        pl.DataFrame(unresolved, schema=schema, orient="row"),
    )


def _rows(good: pl.DataFrame, paths: pl.DataFrame) -> pl.DataFrame:
    """Each initiative's row after its last fact, field by field as ``ROW_RULES`` sets it."""
    kind, at = pl.col("type"), pl.col("occurred_at")

    def last(column: str, *types: str) -> pl.Expr:
        return pl.col(column).filter(kind.is_in(types) & pl.col(column).is_not_null()).last()

    rows = good.group_by("stream_id").agg(
        initiative_id=pl.col("key").first(),
        campaign_id=pl.col("campaign_id").first(),
        filed_unit_id=last("unit_id", REGISTERED, SUBMITTED),
        status=pl.col("_status").last(),
        title=last("title", REGISTERED, SUBMITTED, UPDATED, RESUBMITTED),
        category=last("category", SUBMITTED, UPDATED),
        solution_type=last("solution_type", SUBMITTED, UPDATED),
        authors=last("authors", SUBMITTED, UPDATED),
        registered_at=at.filter(kind == REGISTERED).last(),
        first_submitted_at=at.filter(kind == SUBMITTED).first(),
        approved_at=at.filter(kind == APPROVED).last(),
        rejected_at=at.filter(kind == REJECTED).last(),
        recognized_at=at.filter(kind == RECOGNIZED).last(),
        withdrawn_at=at.filter(kind == WITHDRAWN).last(),
        updated_at=at.last(),
        attributed_at=pl.col("_attributed").last(),
        epoch=pl.col("_epoch").last(),
        _first=pl.col("_n").first(),
    )
    rows = rows.join(
        paths, left_on=["filed_unit_id", "epoch"], right_on=["_filed", "_epoch"], how="left"
    ).sort("_first")
    keys = _author_keys(rows)
    author = pl.element().struct.field
    identity = pl.concat_str(author("member_id").fill_null(""), pl.lit("\x1f"), author("name"))
    rows = rows.with_columns(
        author_types=pl.col("authors")
        .list.eval(author("author_type"))
        .list.unique(maintain_order=True)
        .fill_null([]),
        author_keys=pl.col("authors")
        .list.eval(identity.replace_strict(keys, return_dtype=pl.String))
        .list.unique(maintain_order=True)
        .fill_null([]),
    )
    return rows.select(*InitiativeRow._fields, "attributed_at", "epoch", "_first")


def _author_keys(rows: pl.DataFrame) -> dict[str, str]:
    """``author_key`` of each distinct (member id, name) named, by ``member_id\\x1fname``
    (neither holds a control character): hashing is Python's, once per distinct author."""
    authors = rows.select(pl.col("authors").explode().struct.unnest()).drop_nulls("name")
    return {
        f"{member_id or ''}\x1f{name}": key_of(member_id, name)
        for member_id, name in authors.select("member_id", "name").unique().iter_rows()
    }


DAYS = {
    "attributed_at": "bucket_date",
    "first_submitted_at": "_submitted_on",
    "withdrawn_at": "withdrawn_on",
    "approved_at": "approved_on",
}
"""The instants whose local dates the aggregates count on, and the columns those go to."""


def _with_days(rows: pl.DataFrame, campaigns: Campaigns) -> pl.DataFrame:
    """``rows`` with the local date of each of :data:`DAYS` in its campaign's zone, exactly
    as ``local_date``: offsets come from zoneinfo once per (campaign, UTC day); instants on
    a day whose offset changes are converted one by one (once per hour, the Python loop
    took a fifth of the fold at scale 0.2)."""
    pairs = (
        pl.concat([rows.select("campaign_id", at=name) for name in DAYS])
        .drop_nulls()
        .unique()
        .with_columns(span=pl.col("at").dt.truncate("1d"))
    )
    span, step = dt.timedelta(days=1), dt.timedelta(microseconds=1)
    offsets: list[tuple[str, dt.datetime, int | None]] = []
    for campaign_id, start in pairs.select("campaign_id", "span").unique().iter_rows():
        zone = campaigns.get(campaign_id).zone
        first = start.astimezone(zone).utcoffset()
        last = (start + span - step).astimezone(zone).utcoffset()
        seconds = None if first != last or first is None else int(first.total_seconds())
        offsets.append((campaign_id, start, seconds))
    schema = pl.Schema(
        [("campaign_id", pl.String()), ("span", pairs.schema["span"]), ("offset", pl.Int64())]
    )
    pairs = pairs.join(
        pl.DataFrame(offsets, schema=schema, orient="row"), on=["campaign_id", "span"]
    )
    local = pl.col("at").dt.replace_time_zone(None) + pl.duration(seconds=pl.col("offset"))
    table = pairs.select("campaign_id", "at", day=local.dt.date())
    shifting = [
        (campaign_id, at, local_date(at, campaigns.get(campaign_id).zone))
        for campaign_id, at in table.filter(pl.col("day").is_null()).drop("day").iter_rows()
    ]
    table = pl.concat(
        [
            table.filter(pl.col("day").is_not_null()),
            pl.DataFrame(shifting, schema=table.schema, orient="row"),
        ]
    )
    for name, day in DAYS.items():
        rows = rows.join(
            table.rename({"at": name, "day": day}),
            on=["campaign_id", name],
            how="left",
            maintain_order="left",
        )
    return rows


# -- contributions: what each final row adds at the unit it counts for -------------------


def _status_cells(rows: pl.DataFrame) -> pl.DataFrame:
    index = pl.col("status").replace_strict(STATUS_INDEX, return_dtype=pl.Int64)
    return rows.select(*_CELL, day="bucket_date", index=index, count=pl.lit(1, pl.Int64))


def _series_cells(rows: pl.DataFrame) -> pl.DataFrame:
    def cells(day: str, index: int, count: int, kept: pl.Expr) -> pl.DataFrame:
        return rows.filter(kept).select(
            *_CELL, day=day, index=pl.lit(index, pl.Int64), count=pl.lit(count, pl.Int64)
        )

    submitted = pl.col("first_submitted_at").is_not_null()
    return pl.concat(
        [
            cells("_submitted_on", 0, 1, submitted),
            cells("withdrawn_on", 0, -1, submitted & pl.col("withdrawn_at").is_not_null()),
            cells("approved_on", 1, 1, pl.col("approved_at").is_not_null()),
        ]
    )


def _breakdown_cells(rows: pl.DataFrame) -> pl.DataFrame:
    flags = rows.with_columns(
        submitted=pl.col("status").is_in(_SUBMITTED_STATUSES).cast(pl.Int64),
        approved=pl.col("status").is_in(_APPROVED_STATUSES).cast(pl.Int64),
    ).filter((pl.col("submitted") + pl.col("approved")) > 0)

    def values(dimension: str, value: str) -> pl.DataFrame:
        return flags.select(
            *_CELL, "submitted", "approved", dimension=pl.lit(dimension), value=value
        )

    found = pl.concat(
        [
            values("category", "category"),
            values("solution_type", "solution_type"),
            values("author_type", "author_types").explode("value"),
        ]
    ).filter(pl.col("value").is_not_null() & (pl.col("value") != ""))
    return pl.concat(
        [
            found.select(*_CELL, "dimension", "value", index=pl.lit(index, pl.Int64), count=flag)
            for index, flag in ((0, "submitted"), (1, "approved"))
        ]
    ).filter(pl.col("count") != 0)


CONTRIBUTIONS: dict[str, Callable[[pl.DataFrame], pl.DataFrame]] = {
    ROLLUP.name: _status_cells,
    PROGRESS.name: _status_cells,
    SERIES.name: _series_cells,
    BREAKDOWNS.name: _breakdown_cells,
}
"""Each aggregate's ``contribution`` as cells (unit, campaign, epoch, local key…, index,
count); a test holds it to the registry."""
IN_PHASE = frozenset({PROGRESS.name})
"""The aggregates spread to the phase of the day (first local column) and the whole
campaign; the others to the local key as it is."""


def _spread(
    aggregate: Aggregate, cells: pl.DataFrame, ancestry: pl.DataFrame, attribution: Attribution
) -> pl.DataFrame:
    """``UnitDeltas.spread`` for one aggregate: cells summed per key at the unit, those with
    a non-zero count reaching each ancestor's rows (kept when they sum to zero there);
    ``ancestry`` is :func:`ancestors_of` the cells."""
    local = [name for name in cells.columns if name not in (*_CELL, "index", "count")]
    summed = cells.group_by(*_CELL, *local, "index").agg(pl.col("count").sum())
    live = summed.filter((pl.col("count") != 0).any().over(*_CELL, *local))
    reaching = ancestry.filter(pl.col("depth") >= aggregate.first_reached)
    reached = live.join(reaching, on=["unit_id", "epoch"])
    keys = [column.name for column in aggregate.table.primary_key.columns]
    if aggregate.name in IN_PHASE:
        day, *rest = local
        phases = phases_of(reached, day, attribution)
        phased = reached.join(phases, on=[*SCOPE, day])
        targets = pl.concat(
            phased.select("ancestor", "campaign_id", phase, *rest, "index", "count")
            for phase in (pl.col("phase_id"), pl.lit(WHOLE_CAMPAIGN).alias("phase_id"))
        )
    else:
        targets = reached.select("ancestor", "campaign_id", *local, "index", "count")
    targets.columns = [*keys, "index", "count"]
    return targets.group_by(*keys, "index").agg(pl.col("count").sum())


def ancestors_of(cells: pl.DataFrame, attribution: Attribution) -> pl.DataFrame:
    """(unit, epoch, depth, ancestor) for each (unit, epoch) of ``cells``: the unit counted
    for (depth 0) and its ancestors then, as :meth:`Attribution.ancestors` gives them.
    Found once per chunk for every aggregate (each keeps the depths it reaches)."""
    units: list[str] = []
    epochs: list[int] = []
    depths: list[int] = []
    ancestors: list[str] = []
    for unit_id, epoch in cells.select("unit_id", "epoch").unique().iter_rows():
        found = attribution.ancestors(unit_id, epoch)
        units += [unit_id] * len(found)
        epochs += [epoch] * len(found)
        depths += range(len(found))
        ancestors += found
    return pl.DataFrame(
        {"unit_id": units, "epoch": epochs, "depth": depths, "ancestor": ancestors},
        schema=ANCESTRY,
    )


ANCESTRY = pl.Schema(
    {"unit_id": pl.String(), "epoch": pl.Int64(), "depth": pl.Int64(), "ancestor": pl.String()}
)


def phases_of(reached: pl.DataFrame, day: str, attribution: Attribution) -> pl.DataFrame:
    """The phase of each (ancestor, campaign, epoch, day) of ``reached``."""
    windows = phase_windows(reached.select(*SCOPE).unique(), attribution)
    return phases_within(reached.select(*SCOPE, day).unique(), day, windows)


SCOPE = ("ancestor", "campaign_id", "epoch")


def phase_windows(scopes: pl.DataFrame, attribution: Attribution) -> pl.DataFrame:
    """(ancestor, campaign, epoch, order, phase, starts, ends): the phases of the plan governing
    each scope. Each scope's plan is looked up, but its phases spelled out once per plan (a
    few plans govern the 127,000 units of the national set) and joined."""
    keys: dict[int, int] = {}
    phases: list[tuple[int, int, str, dt.date, dt.date]] = []
    governed: list[tuple[str, str, int, int]] = []
    for ancestor, campaign_id, epoch in scopes.iter_rows():
        plan = attribution.plan(ancestor, campaign_id, epoch)
        if plan is None:
            continue
        key = keys.get(id(plan))
        if key is None:
            key = keys[id(plan)] = len(keys)
            phases += [
                (key, order, phase.phase_id, phase.starts_on, phase.ends_on)
                for order, phase in enumerate(plan.phases)
            ]
        governed.append((ancestor, campaign_id, epoch, key))
    by_scope = pl.DataFrame(
        governed,
        schema={
            "ancestor": pl.String,
            "campaign_id": pl.String,
            "epoch": pl.Int64,
            "plan": pl.Int64,
        },
        orient="row",
    )
    by_plan = pl.DataFrame(
        phases,
        schema={
            "plan": pl.Int64,
            "order": pl.Int64,
            "phase_id": pl.String,
            "starts_on": pl.Date,
            "ends_on": pl.Date,
        },
        orient="row",
    )
    return by_scope.join(by_plan, on="plan").drop("plan")


def phases_within(days: pl.DataFrame, day: str, windows: pl.DataFrame) -> pl.DataFrame:
    """The phase of each (ancestor, campaign, epoch, day) of ``days``: the first of the plan
    then governing it whose window holds the day, as ``phase_containing`` picks it."""
    return (
        days.join(windows, on=list(SCOPE))
        .filter(pl.col(day).is_between(pl.col("starts_on"), pl.col("ends_on")))
        .sort("order")
        .group_by(*SCOPE, day)
        .agg(pl.col("phase_id").first())
    )


# -- the same shapes as the per-event fold ---------------------------------------------------


def as_folded(fold: ColumnarFold) -> Folded:
    """``fold``'s outcome as :class:`Folded`, to compare with (or stand in for) the
    per-event fold's."""
    rows: dict[str, InitiativeRow] = {}
    for values in fold.rows.select(InitiativeRow._fields).iter_rows(named=True):
        values["status"] = InitiativeStatus(values["status"])
        values["author_types"] = tuple(values["author_types"])
        values["author_keys"] = tuple(values["author_keys"])
        rows[values["initiative_id"]] = InitiativeRow(**values)
    deltas = Deltas()
    for changes, table in zip(deltas.tables, fold.tables, strict=True):
        for *key, index, count in table.iter_rows():
            changes[tuple(key)][index] += count
    return Folded(
        rows=rows,
        history=list(fold.history.iter_rows()),
        deltas=deltas,
        authors_added=list(fold.authors_added.iter_rows()),
        authors_dropped=[],
        replaced={},
    )
