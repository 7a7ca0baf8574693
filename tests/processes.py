"""Run ``initiatives`` sub-commands as real processes for end-to-end tests."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

from benchmarks.processes import free_port

__all__ = ["free_port", "service_process"]


@contextmanager
def service_process(
    command: list[str], env: Mapping[str, str | None], log: Path, cwd: Path | None = None
) -> Iterator[subprocess.Popen[bytes]]:
    """Start ``initiatives <command>`` (``env``: None unsets a variable); kill it (SIGKILL)
    if the test left it running."""
    environment = {**os.environ, **env}
    with log.open("ab") as output:
        process = subprocess.Popen(
            [sys.executable, "-m", "services.cli", *command],
            env={name: value for name, value in environment.items() if value is not None},
            stdout=output,
            stderr=subprocess.STDOUT,
            cwd=cwd,
        )
    try:
        yield process
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGKILL)
        process.wait(timeout=30)
