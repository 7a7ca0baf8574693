"""A background loop that dies is logged, counted and started again; it is never silent."""

from __future__ import annotations

import asyncio
import logging

import pytest
from prometheus_client import CollectorRegistry, Counter

from shared import lifecycle
from shared.lifecycle import BackgroundTasks


async def test_a_loop_that_dies_is_logged_counted_and_restarted(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(lifecycle, "FIRST_PAUSE_SECONDS", 0.01)
    registry = CollectorRegistry()
    restarts = Counter("test_task_restarts", "restarts", ["task"], registry=registry)
    runs = 0
    healthy = asyncio.Event()

    async def loop() -> None:
        nonlocal runs
        runs += 1
        if runs < 3:
            raise OverflowError("date value out of range")
        healthy.set()
        await asyncio.Event().wait()

    tasks = BackgroundTasks(restarts)
    with caplog.at_level(logging.ERROR, logger="shared.lifecycle"):
        tasks.start(loop, name="store-tailer")
        await asyncio.wait_for(healthy.wait(), timeout=5)
        await tasks.stop()

    assert runs == 3
    assert registry.get_sample_value("test_task_restarts_total", {"task": "store-tailer"}) == 2
    died = [r for r in caplog.records if r.getMessage().startswith("background task died")]
    assert [r.__dict__["task"] for r in died] == ["store-tailer", "store-tailer"]
    assert all(r.exc_info is not None for r in died)
