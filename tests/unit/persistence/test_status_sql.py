"""The status SQL that v_status runs judges every case as shared.domain.progress does."""

from __future__ import annotations

import datetime as dt
import sqlite3
from collections.abc import Iterator
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, given, settings

from services.projector.bi_views import Dialect, fixed_offset, judged
from tests.status_cases import SOURCE, Case, cases

QUERY = judged(
    SOURCE.format(value=":value", target=":target", starts_on=":starts_on", ends_on=":ends_on"),
    ":at",
    Dialect.SQLITE,
)


@pytest.fixture(scope="module")
def connection() -> Iterator[sqlite3.Connection]:
    with sqlite3.connect(":memory:") as connection:
        yield connection


@settings(
    max_examples=500, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(case=cases())
def test_sqlite_judges_as_the_domain(connection: sqlite3.Connection, case: Case) -> None:
    row = connection.execute(
        f"SELECT status FROM ({QUERY})",
        {
            "value": case.value,
            "target": case.target,
            "starts_on": case.window.starts_on.isoformat(),
            "ends_on": case.window.ends_on.isoformat(),
            "at": case.at.astimezone(dt.UTC).isoformat(sep=" ", timespec="milliseconds")[:23],
        },
    ).fetchone()

    assert row == (case.expected,)


def test_a_zone_with_summer_time_is_refused_for_sqlite() -> None:
    with pytest.raises(ValueError, match="Europe/Paris changes its UTC offset"):
        fixed_offset(ZoneInfo("Europe/Paris"))
