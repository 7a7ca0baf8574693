"""Events no projector can apply, written straight into the store as an older ingest, a hand
repair or a bug could have: shared by the store-level and the Kafka poison-pill tests."""

from __future__ import annotations

import datetime as dt
from typing import Any

from services.samples.portal_events import submitted
from shared.contracts.recorded import EventMetadata, NewEvent

FAR_FUTURE = dt.datetime(9999, 12, 31, 23, 59, 59, tzinfo=dt.UTC)
SOON = dt.datetime(2022, 5, 13, 9, 0, tzinfo=dt.UTC)


def stored(
    stream_id: str,
    event_type: str,
    data: dict[str, Any],
    *,
    at: dt.datetime = SOON,
    schema_version: int = 1,
) -> NewEvent:
    """An event written straight into the store, as an older ingest or a hand repair could."""
    return NewEvent(
        stream_id=stream_id,
        event_id=f"poison-{stream_id}-{event_type}-{at.isoformat()}",
        type=event_type,
        schema_version=schema_version,
        occurred_at=at,
        data=data,
        metadata=EventMetadata(source="test"),
    )


def submission(initiative_id: str) -> dict[str, Any]:
    return dict(submitted(initiative_id, "bk-cdcs-1")["data"])


POISON = [
    stored("initiative-sk-far", "initiative.submitted", submission("sk-far"), at=FAR_FUTURE),
    stored("initiative-sk-far", "initiative.approved", {"initiative_id": "sk-far"}),
    stored("initiative-sk-bad", "initiative.submitted", {"initiative_id": "sk-bad"}),
    stored("initiative-sk-v9", "initiative.submitted", submission("sk-v9"), schema_version=9),
]
