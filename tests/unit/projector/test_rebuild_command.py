"""What an operator sees during `initiatives projector rebuild`: each stage named as it
begins and how long it took, so the minutes after the last event is read are not silent;
and what ``--batch-size`` sets."""

from __future__ import annotations

import functools
import inspect
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from services.cli import app as cli
from services.projector.rebuild import DEFAULT_BATCH, HISTORY_BATCH
from services.samples.portal_events import small_tree, submitted
from shared.eventstore.sql import SqlEventStore
from tests.unit.ingest.files import embedded_env, write_ndjson

STAGE_LINE = re.compile(r"(?P<stage>[a-z ,]+): [\d,]+\.\d s")


def test_a_rebuild_prints_each_stage_it_went_through_with_its_duration(tmp_path: Path) -> None:
    env = embedded_env(tmp_path / "rebuild.db")
    path = write_ndjson(tmp_path / "export.ndjson", [*small_tree(), submitted("sk-1", "bk-cdcs-1")])
    loaded = CliRunner().invoke(cli, ["load", str(path)], env=env)
    assert loaded.exit_code == 0, loaded.output

    result = CliRunner().invoke(cli, ["projector", "rebuild"], env=env)

    assert result.exit_code == 0, result.output
    stages = [
        m["stage"] for line in result.stdout.splitlines() if (m := STAGE_LINE.fullmatch(line))
    ]
    assert stages == [
        "reading reference data",
        "replaying histories",
        "adding up counts, counting distinct authors",
        "analysing the new tables",
        "final pass, live projectors held",
    ]
    assert "rebuilt from 7 events" in result.stdout


@pytest.mark.parametrize(
    ("given", "chunk", "batch"), [(None, HISTORY_BATCH, DEFAULT_BATCH), (7, 7, 7)]
)
def test_whole_histories_are_read_in_larger_chunks_unless_a_batch_size_is_given(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    given: int | None,
    chunk: int,
    batch: int,
) -> None:
    env = embedded_env(tmp_path / "rebuild.db")
    path = write_ndjson(tmp_path / "export.ndjson", [*small_tree(), submitted("sk-1", "bk-cdcs-1")])
    assert CliRunner().invoke(cli, ["load", str(path)], env=env).exit_code == 0
    limits: dict[str, set[int]] = {"read_histories": set(), "read_facts": set()}
    for name, seen in limits.items():
        monkeypatch.setattr(SqlEventStore, name, _noting(getattr(SqlEventStore, name), seen))
    size = [] if given is None else ["--batch-size", str(given)]

    result = CliRunner().invoke(cli, ["projector", "rebuild", *size], env=env)

    assert result.exit_code == 0, result.output
    assert limits == {"read_histories": {chunk}, "read_facts": {batch}}


def _noting(read: Callable[..., Any], limits: set[int]) -> Callable[..., Any]:
    """``read`` (an event store's method with a ``limit``), noting each limit it is given."""
    signature = inspect.signature(read)

    @functools.wraps(read)
    async def noted(*args: Any, **kwargs: Any) -> Any:
        limits.add(signature.bind(*args, **kwargs).arguments["limit"])
        return await read(*args, **kwargs)

    return noted
