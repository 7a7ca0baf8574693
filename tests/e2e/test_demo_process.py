"""``initiatives demo`` as a newcomer runs it: one command, no servers installed, the seed
cases on the page within a minute, and a clean stop on Ctrl+C."""

from __future__ import annotations

import re
import signal
import time
from pathlib import Path

import httpx
import pytest

from tests.processes import free_port, service_process

pytestmark = pytest.mark.e2e

START_WITHIN_SECONDS = 60.0
TOKEN = re.compile(r"admin token: (\S+)")


def announced_token(log: Path, within: float) -> str:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if found := TOKEN.search(log.read_text(encoding="utf-8", errors="replace")):
            return found.group(1)
        time.sleep(0.2)
    raise AssertionError(f"no admin token announced within {within:g} s:\n{log.read_text()}")


def test_the_demo_starts_on_the_embedded_default_and_stops_on_ctrl_c(
    tmp_path: Path,
) -> None:
    port = free_port()
    log = tmp_path / "demo.log"
    env = {
        "DATABASE_URL": None,
        "INITIATIVES_DATABASE_URL": None,
        "KAFKA_BOOTSTRAP_SERVERS": None,
        "INITIATIVES_KAFKA_BOOTSTRAP_SERVERS": None,
        "COLUMNS": "120",
    }
    started = time.monotonic()
    command = ["demo", "--port", str(port), "--interval", "0.2"]
    with service_process(command, env, log, cwd=tmp_path) as demo:
        token = announced_token(log, START_WITHIN_SECONDS)
        print(f"demo announced after {time.monotonic() - started:.1f} s")
        with httpx.Client(base_url=f"http://127.0.0.1:{port}") as http:
            signed_in = http.post(
                "/sign-in",
                data={"token": token, "next": "/units/bache-khoi-cq"},
                headers={"Origin": f"http://127.0.0.1:{port}"},
            )
            page = http.get(signed_in.headers["location"])
            progress = http.get(
                "/v1/units/bache-khoi-cq/progress",
                headers={"Authorization": f"Bearer {token}"},
            )
        demo.send_signal(signal.SIGINT)
        assert demo.wait(timeout=30) == 0, log.read_text()
    assert signed_in.status_code == 303
    assert page.status_code == 200
    assert "Công đoàn Khối cơ quan huyện Ba Chẽ" in page.text
    first = progress.json()["phases"][0]
    assert (first["value"], first["target"]) == (20, 36)
    assert (tmp_path / "var" / "demo-sample.ndjson").exists()
    assert (tmp_path / "var" / "demo.db").exists()
