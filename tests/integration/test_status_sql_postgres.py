"""The status SQL that v_status runs on PostgreSQL judges every case as
shared.domain.progress does (the SQLite twin is tests/unit/persistence/test_status_sql.py)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import asyncpg
import pytest
from hypothesis import HealthCheck, given, settings

from services.projector.bi_views import Dialect, judged
from tests.infrastructure import Infrastructure, asyncpg_dsn
from tests.status_cases import SOURCE, Case, cases

pytestmark = pytest.mark.integration

QUERY = judged(
    SOURCE.format(
        value="CAST($1 AS INTEGER)",
        target="CAST($2 AS INTEGER)",
        starts_on="CAST($3 AS DATE)",
        ends_on="CAST($4 AS DATE)",
    ),
    "CAST($5 AS TIMESTAMP WITH TIME ZONE)",
    Dialect.POSTGRESQL,
)


@pytest.fixture
async def connection(infrastructure: Infrastructure) -> AsyncIterator[asyncpg.Connection]:
    """One connection for all of a test's examples: the query reads no table."""
    connection = await asyncpg.connect(asyncpg_dsn(infrastructure.database_url))
    try:
        yield connection
    finally:
        await connection.close()


@settings(
    max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(case=cases())
async def test_postgresql_judges_as_the_domain(connection: asyncpg.Connection, case: Case) -> None:
    judged_as = await connection.fetchval(
        f"SELECT status FROM ({QUERY}) judged",
        case.value,
        case.target,
        case.window.starts_on,
        case.window.ends_on,
        case.at,
    )

    assert judged_as == case.expected
