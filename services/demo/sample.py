"""The demo's sample data set, written as NDJSON so it loads like any portal export.

The two seed cases of the source articles (Ba Chẽ's count targets, Bắc Kạn's targets as
shares of members), with their real history in 2022, and the synthetic province of
``services.samples.province`` whose first phase ends ten days after the demo's first day.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from pathlib import Path

from services.samples import province, seed_cases
from services.samples.national import UTC7
from services.samples.portal_events import Event

NATIONAL_UNIT = "vgcl"
"""The seed cases' national unit, under which the synthetic province is registered."""


def sample_events(now: dt.datetime) -> Iterator[Event]:
    """The same events for the same ``now``, ids included, however often it is called."""
    seeds = (
        *seed_cases.hierarchy(),
        *seed_cases.plans(),
        *seed_cases.ba_che_submissions(),
        *seed_cases.bac_kan_submissions(),
        *seed_cases.corrections(),
    )
    for n, event in enumerate(seeds, start=1):
        yield event | {"event_id": f"seed-{n}"}
    today = now.astimezone(UTC7).date()
    yield from province.province(today, now, national_unit=NATIONAL_UNIT)


def write_sample(path: Path, now: dt.datetime) -> int:
    """Write the sample to ``path``; the number of events written."""
    path.parent.mkdir(parents=True, exist_ok=True)
    count = 0
    with path.open("w", encoding="utf-8") as out:
        for event in sample_events(now):
            out.write(json.dumps(event, ensure_ascii=False) + "\n")
            count += 1
    return count
