"""PostgreSQL connections plan every statement for its own arguments: a generic plan of the
batch statements (``= ANY(:ids)``) once scanned all of ``events`` on every append."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from shared.persistence.engine import create_engine

pytestmark = pytest.mark.integration


async def test_prepared_statements_are_never_given_a_generic_plan(postgres_url: str) -> None:
    engine = create_engine(postgres_url)
    try:
        async with engine.connect() as connection:
            mode = await connection.scalar(sa.text("SHOW plan_cache_mode"))
    finally:
        await engine.dispose()
    assert mode == "force_custom_plan"
