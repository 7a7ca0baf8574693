"""deploy/local/infra.sh starts both servers, reports them, and stops them without a trace."""

from __future__ import annotations

import os
import socket
import subprocess
from pathlib import Path

import pytest

from tests.processes import free_port

pytestmark = pytest.mark.integration

SCRIPT = Path(__file__).parents[2] / "deploy" / "local" / "infra.sh"


def alive(pid: int) -> bool:
    """A process that exists and is not a zombie waiting for its parent to reap it."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError):
        return False
    return state != "Z"


def listening(port: int) -> bool:
    with socket.socket() as probe:
        return probe.connect_ex(("127.0.0.1", port)) == 0


def test_up_status_down_leaves_no_process_and_no_port(tmp_path: Path) -> None:
    ports = {name: free_port() for name in ("PG", "KAFKA", "KAFKA_CONTROLLER")}
    env = {
        **os.environ,
        "INFRA_STATE_DIR": str(tmp_path / "state"),
        "INFRA_PG_PORT": str(ports["PG"]),
        "INFRA_KAFKA_PORT": str(ports["KAFKA"]),
        "INFRA_KAFKA_CONTROLLER_PORT": str(ports["KAFKA_CONTROLLER"]),
    }

    def run(command: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(SCRIPT), command],
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )

    up = run("up")
    try:
        status_up = run("status")
        pids = [
            int(pid)
            for pid in (tmp_path / "state").glob("*.pid")
            for pid in [pid.read_text().strip()]
        ]
    finally:
        down = run("down")
    status_down = run("status")

    assert up.returncode == 0, up.stderr
    assert f"export KAFKA_BOOTSTRAP_SERVERS=127.0.0.1:{ports['KAFKA']}" in up.stdout
    assert (
        f"export DATABASE_URL=postgresql://postgres@127.0.0.1:{ports['PG']}/postgres" in up.stdout
    )
    assert status_up.returncode == 0
    assert down.returncode == 0, down.stderr
    assert status_down.returncode == 3
    assert not any(listening(port) for port in ports.values())
    assert pids
    assert not any(alive(pid) for pid in pids)
    assert not (tmp_path / "state").exists()
