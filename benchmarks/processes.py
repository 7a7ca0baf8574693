"""The services under test as separate processes, as in production, with their peak memory.

Each ``initiatives <command>`` runs in its own process so its CPU and memory are its own; the
benchmark reads its progress from the service's ``/metrics`` and its peak resident set from
``VmHWM`` in ``/proc/<pid>/status`` (Linux), the kernel's high-water mark since the process
started. (``wait4``'s ``ru_maxrss`` would be simpler but counts the benchmark's own memory,
which the child briefly shares between fork and exec.)
"""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path

import httpx
from prometheus_client.parser import text_string_to_metric_families

STOP_TIMEOUT_S = 60.0
READY_TIMEOUT_S = 120.0


class ServiceFailed(RuntimeError):
    """A service process exited when it should have kept running, or never became ready."""


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@dataclass
class PeakMemory:
    """The highest resident set each service reached (MiB), over every process of that name."""

    mib: dict[str, float] = field(default_factory=dict)

    def record(self, name: str, mib: float) -> None:
        self.mib[name] = max(mib, self.mib.get(name, 0.0))


def _tail(log: Path, lines: int = 30, since: int = 0) -> str:
    """The last lines of a log, written from byte ``since`` on (logs are shared by the runs)."""
    try:
        with log.open("rb") as text:
            text.seek(since)
            written = text.read().decode("utf-8", "replace")
    except OSError:
        return ""
    return "\n".join(written.splitlines()[-lines:])


@dataclass
class Service:
    """One running ``initiatives`` process."""

    name: str
    process: subprocess.Popen[bytes]
    log: Path
    port: int | None = None
    log_start: int = 0
    """Where this process's output begins in its log."""
    peak_kib: int = 0
    http: httpx.AsyncClient = field(default_factory=lambda: httpx.AsyncClient(timeout=10))
    """One client for every poll of the service: a new one per poll costs the benchmark's
    process CPU that the services on the same cores would miss."""

    def check_alive(self) -> None:
        if self.process.poll() is not None:
            raise ServiceFailed(
                f"{self.name} exited with {self.process.returncode}:\n"
                + _tail(self.log, since=self.log_start)
            )

    async def metrics(self) -> dict[str, float]:
        """The service's Prometheus samples, each summed over its labels."""
        self.check_alive()
        response = await self.http.get(f"http://127.0.0.1:{self.port}/metrics")
        response.raise_for_status()
        totals: dict[str, float] = {}
        for family in text_string_to_metric_families(response.text):
            for sample in family.samples:
                totals[sample.name] = totals.get(sample.name, 0.0) + sample.value
        return totals

    async def wait_ready(self) -> None:
        deadline = time.monotonic() + READY_TIMEOUT_S
        while time.monotonic() < deadline:
            self.check_alive()
            try:
                response = await self.http.get(f"http://127.0.0.1:{self.port}/readyz")
                if response.status_code == 200:
                    return
            except httpx.TransportError:
                pass
            await asyncio.sleep(0.2)
        raise ServiceFailed(f"{self.name} not ready after {READY_TIMEOUT_S:.0f} s")

    def sample_memory(self) -> None:
        """Note the process's high-water mark of resident memory (it only grows)."""
        try:
            status = Path(f"/proc/{self.process.pid}/status").read_text()
        except OSError:
            return
        for line in status.splitlines():
            if line.startswith("VmHWM:"):
                self.peak_kib = max(self.peak_kib, int(line.split()[1]))

    async def finish(self, stop: bool = True) -> int:
        """Stop the process (SIGTERM, then SIGKILL after a while), or wait until it ends by
        itself, sampling its memory meanwhile; its exit status."""
        if stop and self.process.poll() is None:
            self.sample_memory()
            self.process.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + STOP_TIMEOUT_S
        while self.process.poll() is None:
            if stop and time.monotonic() > deadline:
                self.process.kill()
            if not stop:
                self.sample_memory()
            await asyncio.sleep(0.1)
        return self.process.returncode


def start(
    name: str,
    command: Sequence[str],
    env: Mapping[str, str],
    logs: Path,
    port: int | None = None,
) -> Service:
    """Start ``initiatives <command>`` with ``env`` added to this environment."""
    logs.mkdir(parents=True, exist_ok=True)
    log = logs / f"{name}.log"
    with log.open("ab") as output:
        log_start = output.tell()
        process = subprocess.Popen(
            [sys.executable, "-m", "services.cli", *command],
            env={**os.environ, **env},
            stdout=output,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )
    return Service(name, process, log, port, log_start)


@asynccontextmanager
async def running(
    name: str,
    command: Sequence[str],
    env: Mapping[str, str],
    logs: Path,
    memory: PeakMemory,
    port_variable: str,
) -> AsyncIterator[Service]:
    """A service, ready (``/readyz``) on a free port; stopped at the end, its peak recorded."""
    port = free_port()
    service = start(
        name, [*command, "--log-level", "WARNING"], {**env, port_variable: str(port)}, logs, port
    )
    try:
        await service.wait_ready()
        yield service
    finally:
        await service.http.aclose()
        await service.finish()
        memory.record(name, service.peak_kib / 1024)


async def run_to_end(
    name: str, command: Sequence[str], env: Mapping[str, str], logs: Path, memory: PeakMemory
) -> str:
    """Run a command to its end; its output (the caller parses its figures)."""
    service = start(name, command, env, logs)
    await service.http.aclose()
    status = await service.finish(stop=False)
    memory.record(name, service.peak_kib / 1024)
    if status != 0:
        raise ServiceFailed(
            f"{name} exited with {status}:\n" + _tail(service.log, since=service.log_start)
        )
    return _tail(service.log, lines=5, since=service.log_start)
