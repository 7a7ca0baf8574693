"""What a benchmark found: rows of named figures (medians of the runs), printed and saved as JSON.

Figure names carry their unit (``events_per_s``, ``p99_ms``, ``ratio``…) so the JSON stays
readable without this code, and one table printer serves every benchmark.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import os
import platform
import statistics
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from rich.table import Table

Figures = dict[str, float]

HEADERS = {
    "events_per_s": "events/s",
    "eventsourcing_events_per_s": "eventsourcing events/s",
    "copy_events_per_s": "COPY events/s",
    "bare_events_per_s": "bare consumer events/s",
    "ratio_vs_eventsourcing": "× eventsourcing",
    "ratio_of_copy": "share of COPY",
    "ratio_of_bare": "share of bare consumer",
    "events": "events",
    "seconds": "s",
    "requests_per_s": "req/s",
    "p50_ms": "p50 ms",
    "p99_ms": "p99 ms",
    "samples": "samples",
    "missing": "missing",
    "achieved_per_s": "sent events/s",
    "peak_rss_mib": "peak RSS MiB",
    "cpu_cores": "CPU cores",
    "cpu_us_per_event": "CPU µs/event",
}


def header(name: str) -> str:
    return HEADERS.get(name, name.replace("_", " "))


def formatted(name: str, value: float) -> str:
    if name.startswith("ratio") or name == "cpu_cores":
        return f"{value:.2f}"
    if name.endswith("_ms") or name == "seconds":
        return f"{value:,.1f}"
    return f"{value:,.0f}"


def median_of(runs: Sequence[Mapping[str, float]]) -> Figures:
    """Each figure's median over the runs (the runs of one row share their figure names)."""
    return {name: statistics.median(run[name] for run in runs) for name in runs[0]}


def percentile(samples: Sequence[float], share: float) -> float:
    """Nearest-rank percentile: the smallest sample with at least ``share`` of them at or below."""
    ordered = sorted(samples)
    return ordered[max(1, math.ceil(len(ordered) * share)) - 1]


@dataclass
class Row:
    label: str
    figures: Figures
    runs: list[Figures] = field(default_factory=list)

    @classmethod
    def of_runs(cls, label: str, runs: Sequence[Figures]) -> Row:
        return cls(label, median_of(runs), list(runs))


@dataclass
class Result:
    benchmark: str
    title: str
    rows: list[Row]
    context: dict[str, Any] = field(default_factory=dict)
    peak_rss_mib: dict[str, float] = field(default_factory=dict)
    """Peak resident memory of each service process the benchmark ran (MiB)."""

    def table(self) -> Table:
        names = list(dict.fromkeys(name for row in self.rows for name in row.figures))
        table = Table(title=self.title, title_justify="left")
        table.add_column("")
        for name in names:
            table.add_column(header(name), justify="right")
        for row in self.rows:
            cells = [formatted(n, row.figures[n]) if n in row.figures else "" for n in names]
            table.add_row(row.label, *cells)
        return table

    def save(self, directory: Path) -> Path:
        directory.mkdir(parents=True, exist_ok=True)
        path = directory / f"{self.benchmark}.json"
        document = {"measured_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds")}
        document |= {"machine": machine()} | asdict(self)
        path.write_text(json.dumps(document, indent=2, ensure_ascii=False) + "\n", "utf-8")
        return path


def machine() -> dict[str, Any]:
    pages = os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    return {
        "cores": os.cpu_count(),
        "memory_gib": round(pages / 2**30, 1),
        "python": platform.python_version(),
        "system": platform.platform(terse=True),
    }


def load_results(directory: Path) -> list[dict[str, Any]]:
    """Every result document saved in ``directory``, by benchmark name."""
    return [json.loads(path.read_text("utf-8")) for path in sorted(directory.glob("*.json"))]


def markdown(document: Mapping[str, Any]) -> str:
    """A saved result as a Markdown table, for docs/benchmarks.md."""
    rows = document["rows"]
    names = list(dict.fromkeys(name for row in rows for name in row["figures"]))
    lines = [
        "| | " + " | ".join(header(name) for name in names) + " |",
        "|---|" + "---:|" * len(names),
    ]
    for row in rows:
        cells = [formatted(n, row["figures"][n]) if n in row["figures"] else "" for n in names]
        lines.append(f"| {row['label']} | " + " | ".join(cells) + " |")
    return "\n".join(lines)
