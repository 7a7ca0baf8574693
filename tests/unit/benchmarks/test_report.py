"""Benchmark figures: medians over runs, nearest-rank percentiles, and the saved document."""

from __future__ import annotations

import json
from pathlib import Path

from benchmarks.report import Result, Row, markdown, median_of, percentile


def test_percentile_is_the_nearest_rank() -> None:
    samples = [float(n) for n in range(1, 101)]
    assert percentile(samples, 0.5) == 50
    assert percentile(samples, 0.99) == 99
    assert percentile([7.0], 0.99) == 7


def test_a_row_holds_the_median_of_each_figure_and_every_run() -> None:
    runs = [
        {"events_per_s": 10.0, "p99_ms": 3.0},
        {"events_per_s": 30.0, "p99_ms": 1.0},
        {"events_per_s": 20.0, "p99_ms": 2.0},
    ]
    row = Row.of_runs("x", runs)
    assert row.figures == median_of(runs) == {"events_per_s": 20.0, "p99_ms": 2.0}
    assert row.runs == runs


def test_saved_result_names_the_machine_and_the_service_peaks(tmp_path: Path) -> None:
    result = Result(
        "append",
        "title",
        [Row("batch 1", {"events_per_s": 5.0})],
        {"scale": 0.01},
        {"ingest": 100.0},
    )
    document = json.loads(result.save(tmp_path).read_text("utf-8"))
    assert document["benchmark"] == "append"
    assert document["machine"]["cores"] >= 1
    assert document["rows"][0]["figures"] == {"events_per_s": 5.0}
    assert document["peak_rss_mib"] == {"ingest": 100.0}
    assert result.table().row_count == 1


def test_every_benchmark_of_the_suite_has_its_own_command() -> None:
    from benchmarks.cli import app
    from benchmarks.suite import BENCHMARKS

    commands = {
        command.name or getattr(command.callback, "__name__", "")
        for command in app.registered_commands
    }
    assert commands >= {*BENCHMARKS, "all", "generate", "memory"}


def test_a_saved_result_renders_as_a_markdown_table(tmp_path: Path) -> None:
    result = Result("query", "t", [Row("progress, national unit", {"p99_ms": 12.34})])
    document = json.loads(result.save(tmp_path).read_text("utf-8"))
    assert markdown(document).splitlines() == [
        "| | p99 ms |",
        "|---|---:|",
        "| progress, national unit | 12.3 |",
    ]
