"""What every benchmark is given: the servers, the scale and number of runs, where to write."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from rich.console import Console

from benchmarks.servers import Servers

QUICK_SCALE = 0.01
FULL_SCALE = 0.05
"""The full run's scale: about 350,000 events, so that `initiatives bench all` stays within an
hour on the 2-core development machine (docs/benchmarks.md)."""


@dataclass
class Bench:
    servers: Servers
    scale: float
    runs: int
    quick: bool
    results: Path
    console: Console = field(default_factory=lambda: Console(stderr=True))

    @property
    def logs(self) -> Path:
        """The services' own output, for when a benchmark fails."""
        return self.results / "logs"

    def sized(self, quick: int, full: int) -> int:
        """A count that does not grow with the scale: smaller in quick mode."""
        return quick if self.quick else full
