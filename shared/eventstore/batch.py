"""Batch bookkeeping every adapter shares: duplicate filtering and version assignment."""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from typing import NamedTuple

from shared.contracts.recorded import NewEvent
from shared.eventstore.port import AppendOutcome, ConcurrencyConflict


class PlannedEvent(NamedTuple):
    event: NewEvent
    stream_version: int


def fresh_events(events: Sequence[NewEvent], known: Collection[str]) -> list[NewEvent]:
    """Drop events stored before and repeats inside the batch (the first one wins)."""
    seen = set(known)
    fresh = []
    for event in events:
        if event.event_id not in seen:
            seen.add(event.event_id)
            fresh.append(event)
    return fresh


def plan_versions(
    fresh: Sequence[NewEvent],
    current: Mapping[str, int],
    expected: Mapping[str, int] | None,
) -> list[PlannedEvent]:
    """Number each stream's new events after its current version, checking expectations."""
    if expected:
        stale = {
            stream: (current.get(stream, 0), expected[stream])
            for stream in {event.stream_id for event in fresh}
            if stream in expected and expected[stream] != current.get(stream, 0)
        }
        if stale:
            raise stale_streams(stale)
    next_version = dict(current)
    planned = []
    for event in fresh:
        version = next_version.get(event.stream_id, 0) + 1
        next_version[event.stream_id] = version
        planned.append(PlannedEvent(event, version))
    return planned


def stale_streams(stale: Mapping[str, tuple[int, int]]) -> ConcurrencyConflict:
    """The conflict for streams not at the version expected; stream → (version, expected)."""
    return ConcurrencyConflict(
        set(stale),
        ", ".join(
            f"{stream} is at {version}, expected {expected}"
            for stream, (version, expected) in sorted(stale.items())
        ),
    )


def outcomes(
    events: Sequence[NewEvent], appended: Mapping[str, tuple[int, int]]
) -> list[AppendOutcome]:
    """One outcome per input event; ``appended`` maps event ids to (position, version)."""
    result = []
    claimed: set[str] = set()
    for event in events:
        stored = appended.get(event.event_id)
        first = stored is not None and event.event_id not in claimed
        claimed.add(event.event_id)
        result.append(
            AppendOutcome(
                event_id=event.event_id,
                stream_id=event.stream_id,
                position=stored[0] if first and stored else None,
                stream_version=stored[1] if first and stored else None,
                duplicate=not first,
            )
        )
    return result
