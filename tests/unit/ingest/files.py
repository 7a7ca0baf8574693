"""NDJSON files and an embedded database, for the tests of the load and operator commands."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any


def write_ndjson(path: Path, lines: list[dict[str, Any] | str]) -> Path:
    path.write_text(
        "".join(
            (line if isinstance(line, str) else json.dumps(line, ensure_ascii=False)) + "\n"
            for line in lines
        ),
        encoding="utf-8",
    )
    return path


def embedded_env(database: Path) -> dict[str, str | None]:
    """The embedded default on a private SQLite file, whatever the caller's environment says."""
    url = f"sqlite:///{database}"
    return {
        "DATABASE_URL": url,
        "INITIATIVES_DATABASE_URL": url,
        "KAFKA_BOOTSTRAP_SERVERS": None,
        "INITIATIVES_KAFKA_BOOTSTRAP_SERVERS": None,
    }
