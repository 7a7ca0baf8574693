"""Decoding a recorded event from Kafka: envelope then fact, against decoded once (issue 19).

The national workload's activity is turned into the bytes the ingest relay publishes on
``initiatives.events.v1``; both ways decode every record into its typed fact, interleaved,
five times each, and the fastest pass of each is printed per event. No Kafka, no database:
the figures are the decoding's alone (the live projector's first step).

    uv run python -m benchmarks.decoding --scale 0.01   # about 20,000 records
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import time
from collections.abc import Callable, Sequence
from itertools import islice

from benchmarks.workload import Workload
from shared.contracts.portal import decode_portal_event
from shared.contracts.recorded import NewEvent, RecordedEvent, decode_recorded

PASSES = 5


def published(scale: float, limit: int) -> list[bytes]:
    """The first ``limit`` activity events of the workload as the relay publishes them."""
    recorded_at = dt.datetime.now(dt.UTC)
    wires = []
    for position, portal in enumerate(islice(Workload.at(scale).activity, limit), start=1):
        event = NewEvent.from_portal(decode_portal_event(json.dumps(portal).encode()))
        wires.append(event.recorded_wire(position, 1, recorded_at))
    return wires


def fastest_pass(decode: Callable[[bytes], object], wires: Sequence[bytes]) -> float:
    started = time.perf_counter()
    for wire in wires:
        decode(wire)
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=float, default=0.01)
    parser.add_argument("--records", type=int, default=20_000)
    arguments = parser.parse_args()
    wires = published(arguments.scale, arguments.records)
    ways: dict[str, Callable[[bytes], object]] = {
        "envelope, then fact": lambda wire: RecordedEvent.from_wire(wire).fact(),
        "decoded once": lambda wire: decode_recorded(wire).fact(),
    }
    passes: dict[str, list[float]] = {name: [] for name in ways}
    for _ in range(PASSES):
        for name, decode in ways.items():
            passes[name].append(fastest_pass(decode, wires))
    print(f"{len(wires):,} records, fastest of {PASSES} interleaved passes:")
    base = min(passes["envelope, then fact"])
    for name, seconds in passes.items():
        best = min(seconds)
        print(f"  {name:20s} {best / len(wires) * 1e6:6.1f} µs/record  ×{best / base:.2f}")


if __name__ == "__main__":
    main()
