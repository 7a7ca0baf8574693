"""The per-event fold against the columnar one on the national workload, in memory (issue 19).

Both fold the same stored facts from scratch, as a rebuild does; no database is involved, so
the figures are the fold's alone. The input frame is built before the clock starts (a
rebuild would read it from the store as columns), and the per-event fold gets the
``StoredFact`` records it reads today, parsing each payload itself.

With ``--batches``, both fold batches of those sizes instead, as the live projector would:
the streams a batch opens (a live batch also continues streams, which only the per-event
fold can start from stored rows, so they are left out of both). Each size's figure is the
median over the batches; ``as_folded`` is what turning the columns back into the rows and
deltas the live write takes costs on top.

    uv run python -m benchmarks.columnar_fold --scale 0.043   # about 300,000 events
    uv run python -m benchmarks.columnar_fold --scale 0.01 --batches 50,200,1600,10000
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import statistics
import time
from collections import Counter
from collections.abc import Sequence

from services.projector.attribution import Attribution
from services.projector.columnar import as_folded, fold_columns
from services.projector.fold import fold_batch
from services.samples.national import generate
from shared.contracts.base import REFERENCE_STREAM
from shared.contracts.recorded import EventMetadata, RecordedEvent, StoredFact
from shared.contracts.registry import CURRENT
from shared.domain.participation import key_of
from shared.eventstore.frames import frame_of
from shared.eventstore.memory import InMemoryEventStore
from shared.reference import ReferenceView


def stored(scale: float) -> tuple[Attribution, list[StoredFact]]:
    """The workload as the store would hold it: reference facts applied to a view, and the
    initiative facts numbered per stream, their payloads as ingest stores them."""
    view = ReferenceView(InMemoryEventStore())
    versions: Counter[str] = Counter()
    facts: list[StoredFact] = []
    for position, event in enumerate(generate(scale), 1):
        fact = CURRENT.load(event["type"], event["schema_version"], event["data"])
        at = dt.datetime.fromisoformat(event["occurred_at"])
        stream = fact.stream_id()
        versions[stream] += 1
        data = fact.model_dump(mode="json")
        if stream == REFERENCE_STREAM:
            view.apply(
                RecordedEvent(
                    position=position,
                    stream_id=stream,
                    stream_version=versions[stream],
                    event_id=event["event_id"],
                    type=fact.type,
                    schema_version=fact.schema_version,
                    occurred_at=at,
                    recorded_at=at,
                    data=data,
                    metadata=EventMetadata(source="benchmark"),
                )
            )
        else:
            text = json.dumps(data, ensure_ascii=False)
            facts.append(
                StoredFact(
                    position, stream, versions[stream], fact.type, fact.schema_version, at, text
                )
            )
    return Attribution(view), facts


def opened(facts: Sequence[StoredFact], size: int) -> list[list[StoredFact]]:
    """The facts in batches of ``size`` (in store order), each cut to the streams it opens."""
    batches = []
    for start in range(0, len(facts), size):
        batch = facts[start : start + size]
        new = {fact.stream_id for fact in batch if fact.stream_version == 1}
        batches.append([fact for fact in batch if fact.stream_id in new])
    return [batch for batch in batches if batch]


def by_batch(attribution: Attribution, facts: Sequence[StoredFact], sizes: list[int]) -> None:
    """Per batch size: the median time per batch of each fold, both with memoised answers
    (as a live projector's attribution has them after its first batches)."""
    campaigns = attribution.view.campaigns
    for size in sizes:
        per_event, columnar, back, events = [], [], [], []
        for batch in opened(facts, size):
            start = time.perf_counter()
            fold_batch({}, batch, attribution)
            per_event.append(time.perf_counter() - start)
            frame = frame_of(batch)
            start = time.perf_counter()
            fold = fold_columns(frame, attribution, campaigns)
            columnar.append(time.perf_counter() - start)
            start = time.perf_counter()
            as_folded(fold)
            back.append(time.perf_counter() - start)
            events.append(len(batch))
        ms = 1e3
        print(
            f"batch {size:>6,} ({statistics.median(events):>6,.0f} events opening streams,"
            f" {len(events)} batches): fold_batch {statistics.median(per_event) * ms:7.1f} ms"
            f" | fold_columns {statistics.median(columnar) * ms:7.1f} ms"
            f" + as_folded {statistics.median(back) * ms:6.1f} ms"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=float, default=0.043)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument(
        "--batches", help="comma-separated batch sizes: fold batches as live projection does"
    )
    args = parser.parse_args()
    attribution, facts = stored(args.scale)
    if args.batches:
        by_batch(attribution, facts, [int(size) for size in args.batches.split(",")])
        return
    frame = frame_of(facts)
    campaigns = attribution.view.campaigns
    print(f"{len(facts):,} initiative facts at scale {args.scale}")
    for run in range(1, args.runs + 1):
        fresh = Attribution(attribution.view)  # both start without memoised answers
        start = time.perf_counter()
        expected = fold_batch({}, facts, fresh)
        per_event = time.perf_counter() - start
        fresh = Attribution(attribution.view)
        start = time.perf_counter()
        fold = fold_columns(frame, fresh, campaigns)
        columnar = time.perf_counter() - start
        found = as_folded(fold)
        same = (
            not fold.fallback
            and found.rows == expected.rows
            and [dict(t) for t in found.deltas.tables] == [dict(t) for t in expected.deltas.tables]
        )
        print(
            f"run {run}: fold_batch {len(facts) / per_event:>10,.0f} events/s ({per_event:.2f} s)"
            f" | fold_columns {len(facts) / columnar:>10,.0f} events/s ({columnar:.2f} s)"
            f" | x{per_event / columnar:.1f} | fallback {len(fold.fallback)} | equal: {same}"
        )
    authors = {
        (author.get("member_id"), author["name"])
        for fact in facts
        if fact.type == "initiative.submitted"
        for author in json.loads(fact.data)["authors"]
    }
    start = time.perf_counter()
    for member_id, name in authors:
        key_of(member_id, name)
    hashing = time.perf_counter() - start
    each = hashing * 1e6 / len(authors)
    print(f"author keys in Python: {len(authors):,} distinct, {each:.2f} µs each")


if __name__ == "__main__":
    main()
