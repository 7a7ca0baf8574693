"""The garbage collector set for batch work, once a service has loaded what it keeps.

Every batch builds hundreds of thousands of short-lived containers (rows, keys, count
vectors, decoded events) that live as long as the batch, far longer than CPython's default
of a young collection every 700 allocations. Each young collection therefore promoted a
batch's working set, and the promoted objects soon called for a full collection over the
whole heap. Measured in ``bench latency`` at 1,000 events/s (scale 0.05): the projector ran
a full collection every two seconds, about 290 ms each, and the collector took up to 43 %
of its CPU; ingest's took about 36 %. With a young collection every 50,000 allocations the
projector's collector took about 11 %; with 200,000, about 1 %, for 8-10 MiB more peak
memory in ingest and the notifier (docs/benchmarks.md, eleventh step).

Two changes, both ordinary in long-running CPython services:

- the youngest generation is collected every :data:`YOUNG_COLLECTION_ALLOCATIONS`
  allocations, so most of a batch's objects are freed by reference counting before any
  collection sees them (objects in reference cycles wait a little longer: memory, not
  correctness);
- what the service loaded at start (reference data, compiled statements, imported modules)
  is frozen out of the collector's sight (``gc.freeze``): it lives as long as the process,
  so scanning it in every full collection found nothing. A frozen object dropped later is
  still freed by reference counting, unless it is in a reference cycle: then it stays. The
  reference view and its attribution, which a projector builds anew after a failed batch,
  hold no cycle (``tests/unit/test_heap.py``); a connection opened before the freeze and
  replaced after an outage may leave its few kilobytes.
"""

from __future__ import annotations

import gc

YOUNG_COLLECTION_ALLOCATIONS = 200_000
"""Container allocations (less deallocations) between two collections of the youngest
generation; CPython's default is 700. More than a batch of 1,600 events holds at once in the
projector, so most batches end before one. The older generations keep their ratios."""


def tune_collector() -> None:
    """Collect young objects less often; call once, as the process starts."""
    _, middle, oldest = gc.get_threshold()
    gc.set_threshold(YOUNG_COLLECTION_ALLOCATIONS, middle, oldest)


def freeze_loaded() -> None:
    """Collect once, then keep every object alive now out of later collections; call when a
    service has loaded what it keeps for its life, before it takes work."""
    gc.collect()
    gc.freeze()
