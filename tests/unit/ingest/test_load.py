"""Bulk load reads NDJSON files batch by batch through ingest's validation: every line is
counted, nothing is lost (rejected lines are dead-lettered with file:line), and facts that
came before the fact they refer to are accepted once the whole file is read."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from rich.console import Console
from typer.testing import CliRunner

from services.cli import app as cli
from services.ingest.components import IngestComponents, ingest_components
from services.ingest.load import load_files, load_progress
from services.ingest.settings import IngestSettings
from services.samples.portal_events import reviewed, small_tree, submitted
from shared.dead_letters import SqlDeadLetters
from shared.messaging.transport import transport_for
from tests.unit.ingest.files import embedded_env, write_ndjson


def line_of(path: Path, number: int) -> bytes:
    return path.read_bytes().splitlines()[number - 1]


@pytest.fixture
async def parts(sqlite_url: str) -> AsyncIterator[IngestComponents]:
    settings = IngestSettings(database_url=sqlite_url, kafka_bootstrap_servers=None)
    async with ingest_components(settings, transport_for(settings)) as components:
        yield components


@pytest.fixture
def mixed_file(tmp_path: Path) -> Path:
    """13 lines: 10 events that go in (one only after waiting), a duplicate, two bad lines."""
    campaign, *units = small_tree()
    return write_ndjson(
        tmp_path / "events.ndjson",
        [
            campaign,  # 1
            reviewed("initiative.approved", "sk-1", event_id="early-approval"),  # 2
            *units,  # 3-7
            "",  # 8
            '{"event_id": "broken", "type": ',  # 9
            submitted("sk-1", "bk-cdcs-1", event_id="sub-1"),  # 10
            submitted("sk-1", "bk-cdcs-1", event_id="sub-1"),  # 11
            submitted("sk-2", "bk-cdcs-2", at="2022-05-12T10:00:00", event_id="naive"),  # 12
            submitted("sk-3", "bk-cdcs-2", event_id="sub-3"),  # 13
        ],
    )


async def test_a_file_is_counted_line_by_line_and_out_of_order_facts_go_in_after_the_retry(
    parts: IngestComponents, mixed_file: Path
) -> None:
    summary = await load_files([str(mixed_file)], parts.intake, batch_size=3)

    assert summary.events == 12
    assert summary.accepted == 9
    assert summary.accepted_after_waiting == 1
    assert summary.duplicate == 1
    assert summary.rejected == Counter({"malformed_json": 1, "naive_timestamp": 1})
    assert summary.still_parked == 0
    assert not summary.complete
    assert summary.events_per_second > 0
    stream = await parts.store.read_stream("initiative-sk-1")
    assert [(r.event_id, r.type) for r in stream] == [
        ("sub-1", "initiative.submitted"),
        ("early-approval", "initiative.approved"),
    ]
    assert await parts.parking.take(10) == []


async def test_rejected_lines_are_dead_lettered_with_their_bytes_and_file_and_line(
    parts: IngestComponents, mixed_file: Path
) -> None:
    await load_files([str(mixed_file)], parts.intake, batch_size=3)

    letters = sorted(
        (letter for letter, _ in await SqlDeadLetters(parts.engine).recent()),
        key=lambda letter: letter.origin.detail or "",
    )
    assert [(x.code, x.origin.channel, x.origin.detail, x.raw) for x in letters] == [
        ("naive_timestamp", "file", f"{mixed_file}:12", line_of(mixed_file, 12)),
        ("malformed_json", "file", f"{mixed_file}:9", line_of(mixed_file, 9)),
    ]


async def test_a_fact_whose_subject_never_arrives_stays_parked_and_the_load_is_incomplete(
    parts: IngestComponents, tmp_path: Path
) -> None:
    path = write_ndjson(
        tmp_path / "reviews.ndjson", [*small_tree(), reviewed("initiative.approved", "sk-404")]
    )

    summary = await load_files([str(path)], parts.intake, batch_size=100)

    assert (summary.accepted, summary.still_parked) == (6, 1)
    assert not summary.complete
    [waiting] = await parts.parking.take(10)
    assert waiting.code == "unknown_initiative"
    assert waiting.origin.detail == f"{path}:7"


async def test_several_files_are_loaded_in_order_and_progress_counts_their_bytes(
    parts: IngestComponents, tmp_path: Path
) -> None:
    tree = write_ndjson(tmp_path / "tree.ndjson", small_tree())
    facts = write_ndjson(tmp_path / "facts.ndjson", [submitted("sk-1", "bk-cdcs-1"), ""])
    progress = load_progress(Console(quiet=True))

    summary = await load_files([str(tree), str(facts)], parts.intake, 2, progress)

    assert (summary.events, summary.accepted, summary.complete) == (7, 7, True)
    assert [(t.description, t.completed, t.total) for t in progress.tasks] == [
        (str(tree), tree.stat().st_size, tree.stat().st_size),
        (str(facts), facts.stat().st_size, facts.stat().st_size),
    ]
    assert [t.fields["events"] for t in progress.tasks] == [6, 1]


def test_the_load_command_migrates_an_embedded_database_and_reads_stdin(tmp_path: Path) -> None:
    database = tmp_path / "fresh.db"
    tree = write_ndjson(tmp_path / "tree.ndjson", small_tree())
    stdin = json.dumps(submitted("sk-1", "bk-cdcs-1")) + "\n"

    result = CliRunner().invoke(
        cli, ["load", str(tree), "-", "--batch-size", "2"], input=stdin, env=embedded_env(database)
    )

    assert result.exit_code == 0, result.output
    assert "accepted" in result.stdout
    assert "7" in result.stdout


def test_the_load_command_exits_1_when_some_lines_were_rejected(tmp_path: Path) -> None:
    path = write_ndjson(tmp_path / "bad.ndjson", [*small_tree(), "not json"])

    result = CliRunner().invoke(cli, ["load", str(path)], env=embedded_env(tmp_path / "x.db"))

    assert result.exit_code == 1
    assert "rejected: malformed_json" in result.stdout


def test_the_load_command_exits_2_for_a_missing_file(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        cli, ["load", str(tmp_path / "nope.ndjson")], env=embedded_env(tmp_path / "x.db")
    )

    assert result.exit_code == 2
    assert "no such file" in result.stderr


def test_the_load_command_prints_each_rejection_with_file_and_line_and_counts_this_run_only(
    tmp_path: Path,
) -> None:
    database = tmp_path / "x.db"
    earlier = write_ndjson(tmp_path / "earlier.ndjson", [submitted("sk-8", "gone-unit")])
    CliRunner().invoke(cli, ["load", str(earlier)], env=embedded_env(database))
    invalid = submitted("sk-2", "bk-cdcs-1")
    del invalid["data"]["title"]
    path = write_ndjson(
        tmp_path / "mixed.ndjson",
        [
            *small_tree(),  # 1-6
            submitted("sk-1", "bk-cdcs-1"),  # 7
            '{"event_id": "broken", "type": ',  # 8
            invalid,  # 9
            submitted("sk-9", "no-such-unit"),  # 10
        ],
    )

    result = CliRunner().invoke(cli, ["load", str(path)], env=embedded_env(database))

    assert result.exit_code == 1
    assert result.stdout.splitlines()[:3] == [
        f"{path}:8: malformed_json: Expecting value: line 1 column 32 (char 31)",
        f"{path}:9: invalid_data: initiative.submitted: data.title: Field required",
        f"{path}:10: unknown_unit: cannot file initiative 'sk-9' under unit 'no-such-unit': "
        "unit 'no-such-unit' is not registered (still parked)",
    ]
    assert "portal event" not in result.stderr
    rows = {
        line.strip("│ ").split("│")[0].strip(): line.split("│")[2].strip()
        for line in result.stdout.splitlines()
        if line.count("│") == 3
    }
    assert rows["accepted"] == "7"
    assert rows["rejected: malformed_json"] == rows["rejected: invalid_data"] == "1"
    assert rows["still parked"] == "1", "the earlier run's parked fact is not this run's"


def test_the_load_command_lists_the_first_100_rejections_then_how_many_more(
    tmp_path: Path,
) -> None:
    path = write_ndjson(tmp_path / "bad.ndjson", ["not json"] * 103)

    result = CliRunner().invoke(cli, ["load", str(path)], env=embedded_env(tmp_path / "x.db"))

    lines = result.stdout.splitlines()
    assert lines[0].startswith(f"{path}:1: malformed_json: ")
    assert lines[99].startswith(f"{path}:100: malformed_json: ")
    assert lines[100] == "… and 3 more rejections"
