"""Each service's tables are its own: no other part of the system names them, even in SQL text.

The import contracts (pyproject.toml) stop a service importing another's schema module; this
test also catches a table named in a string, which no import shows.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from services.ingest import schema as ingest
from services.notifier import schema as notifier
from services.projector import schema as projector

ROOT = Path(__file__).resolve().parents[3]
OWNED = {"services/ingest": ingest, "services/projector": projector, "services/notifier": notifier}
READERS = ["services", "shared", "benchmarks"]
ALLOWED = {"services/owners.py", "shared/persistence/published.py"}
"""The list of owners and the published views' definitions name the tables on purpose."""


def sources_outside(owner: str) -> list[Path]:
    return [
        path
        for folder in READERS
        for path in (ROOT / folder).rglob("*.py")
        if not path.relative_to(ROOT).as_posix().startswith(owner)
        and path.relative_to(ROOT).as_posix() not in ALLOWED
        and "migrations/versions" not in path.as_posix()
    ]


@pytest.mark.parametrize("owner", sorted(OWNED))
def test_no_other_part_of_the_system_names_a_services_tables(owner: str) -> None:
    names = sorted(OWNED[owner].metadata.tables)
    pattern = re.compile(rf"\b({'|'.join(names)})\b")
    found = [
        f"{path.relative_to(ROOT)}:{number}: {line.strip()}"
        for path in sources_outside(owner)
        for number, line in enumerate(path.read_text().splitlines(), 1)
        if pattern.search(line)
    ]
    assert found == [], f"tables of {owner} named outside it:\n" + "\n".join(found)


def test_the_check_sees_a_table_named_in_sql_text() -> None:
    pattern = re.compile(rf"\b({'|'.join(projector.metadata.tables)})\b")
    assert pattern.search('sa.text("SELECT depth FROM rm_closure WHERE ...")')
    assert not pattern.search("published_unit_closure.c.depth")
