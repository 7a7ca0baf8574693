"""The national workload has the campaign's shape at any scale, and the same bytes every time."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

from typer.testing import CliRunner

from benchmarks.workload import Workload
from services.cli import app
from services.ingest.pipeline import IngestPipeline
from services.samples.national import Shape, generate
from shared.eventstore.memory import InMemoryEventStore

SCALE = 0.01


def test_scale_1_is_the_national_campaign() -> None:
    assert Shape.at(1) == Shape(
        top_level=83, districts=700, grassroots=126_000, initiatives=2_400_000
    )


def test_same_scale_and_seed_give_the_same_events_and_another_seed_others() -> None:
    assert list(generate(0.002)) == list(generate(0.002))
    assert list(generate(0.002, seed=1)) != list(generate(0.002))


def test_units_initiatives_members_and_events_are_in_proportion() -> None:
    shape = Shape.at(SCALE)
    events = list(generate(SCALE))
    kinds = Counter(event["type"] for event in events)
    levels = Counter(
        event["data"]["level"] for event in events if event["type"] == "unit.registered"
    )
    members = sum(
        event["data"]["members"] for event in events if event["type"] == "unit.membership_reported"
    )
    assert levels == {
        "national": 1,
        "province": shape.top_level,
        "district": shape.districts,
        "grassroots": shape.grassroots,
    }
    assert kinds["initiative.submitted"] == shape.initiatives
    assert 6_500_000 * SCALE < len(events) < 7_500_000 * SCALE  # about 7 million at scale 1
    assert 9_500_000 * SCALE < members < 11_500_000 * SCALE  # about 10.5 million at scale 1
    assert kinds["unit.moved"] >= 1
    assert kinds["unit.merged"] >= 2  # a grassroots union and a district
    assert {
        "initiative.registered",
        "initiative.revision_requested",
        "initiative.resubmitted",
        "initiative.approved",
        "initiative.rejected",
        "initiative.recognized",
        "initiative.withdrawn",
        "plan.set",
    } <= kinds.keys()


async def test_ingest_accepts_every_event_in_the_order_generated() -> None:
    pipeline = IngestPipeline(InMemoryEventStore())
    events = list(generate(0.002))
    statuses: Counter[str] = Counter()
    for start in range(0, len(events), 1000):
        statuses.update(v.status for v in await pipeline.submit(events[start : start + 1000]))
    assert statuses == {"accepted": len(events)}


def test_the_workload_sends_reference_data_then_initiatives_then_the_reorganisation() -> None:
    workload = Workload.at(0.002)
    assert workload.all == list(generate(0.002))
    assert all("initiative_id" not in event["data"] for event in workload.reference)
    assert all("initiative_id" in event["data"] for event in workload.activity)
    assert {event["type"] for event in workload.reorganisation} == {"unit.moved", "unit.merged"}


def test_bench_generate_writes_ndjson_to_a_file_or_to_stdout(tmp_path: Path) -> None:
    out = tmp_path / "national.ndjson"
    runner = CliRunner()
    to_file = runner.invoke(app, ["bench", "generate", "--scale", "0.001", "--out", str(out)])
    to_stdout = runner.invoke(app, ["bench", "generate", "--scale", "0.001"])
    assert to_file.exit_code == 0, to_file.output
    assert to_stdout.exit_code == 0, to_stdout.output
    assert out.read_text("utf-8") == to_stdout.stdout
    assert [json.loads(line) for line in to_stdout.stdout.splitlines()] == list(generate(0.001))
