"""What an operator sees during `initiatives projector rebuild`: each stage named as it
begins and how long it took, so the minutes after the last event is read are not silent."""

from __future__ import annotations

import re
from pathlib import Path

from typer.testing import CliRunner

from services.cli import app as cli
from services.samples.portal_events import small_tree, submitted
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
