"""Peak resident memory of each service over the benchmarks that ran it."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from benchmarks.report import Result, Row


def line(peaks: Mapping[str, float]) -> str:
    return "peak RSS: " + ", ".join(f"{name} {mib:,.0f} MiB" for name, mib in peaks.items())


def summary(peaks: Mapping[str, float]) -> Result:
    rows = [Row(name, {"peak_rss_mib": mib}) for name, mib in sorted(peaks.items())]
    return Result("memory", "peak RSS of each service process during the runs", rows)


def combined(peaks_per_benchmark: Iterable[Mapping[str, float]]) -> Result:
    """Each service's highest peak over the benchmarks."""
    highest: dict[str, float] = {}
    for peaks in peaks_per_benchmark:
        for name, mib in peaks.items():
            highest[name] = max(mib, highest.get(name, 0.0))
    return summary(highest)


def from_results(documents: Iterable[Mapping[str, Any]]) -> Result:
    """The summary from saved results (``initiatives bench memory`` after single benchmarks)."""
    return combined(document.get("peak_rss_mib", {}) for document in documents)
