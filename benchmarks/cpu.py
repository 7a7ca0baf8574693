"""Where a load's cores went: CPU time of the services and of the servers, read from /proc.

A latency figure says that a pipeline falls behind, not which part of it takes the cores;
on a 2-core machine every process shares them, so each one's CPU time per event is the
budget the design has to cut. The servers (PostgreSQL, the Kafka broker) are found by
process name, so they are counted whoever started them; PostgreSQL's backends come and
go, and the time of those that ended is in the postmaster's children's time.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

from benchmarks.report import Figures

TICKS_PER_SECOND = os.sysconf("SC_CLK_TCK")
SERVERS = {"postgres": "postgres", "kafka": "java"}
"""A server's label → the process name (``comm``) its processes run under."""


def _seconds(pid: int | str) -> float:
    """User and system time of a process and of its ended, waited-for children; 0 when gone."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return 0.0
    fields = stat.rpartition(")")[2].split()
    # After the name: state is field 3 of proc(5), so utime..cstime (14..17) are 11..14 here.
    return sum(int(ticks) for ticks in fields[11:15]) / TICKS_PER_SECOND


def _named(comm: str) -> float:
    total = 0.0
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                name = (entry / "comm").read_text().strip()
            except OSError:
                continue
            if name == comm:
                total += _seconds(entry.name)
    return total


class CpuMeter:
    """CPU seconds of named processes and of the servers, since a start you mark."""

    def __init__(self, pids: Mapping[str, int]) -> None:
        self._pids = dict(pids)
        self._start = self._read()

    def _read(self) -> dict[str, float]:
        used = {name: _seconds(pid) for name, pid in self._pids.items()}
        return used | {label: _named(comm) for label, comm in SERVERS.items()}

    def mark(self) -> None:
        self._start = self._read()

    def since_mark(self, seconds: float, events: int) -> dict[str, Figures]:
        """Per process: the cores it kept busy over ``seconds`` of wall time, and its CPU
        microseconds per event of the ``events`` handled meanwhile."""
        now = self._read()
        return {
            name: {
                "cpu_cores": (now[name] - self._start[name]) / seconds,
                "cpu_us_per_event": 1e6 * (now[name] - self._start[name]) / max(events, 1),
            }
            for name in now
        }
