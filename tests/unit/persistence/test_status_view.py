"""After the migrations, v_status gives each seeded row the domain's status at the instant
the database judged it."""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa

from services.projector.schema import rm_progress, rm_targets, rm_units
from shared.domain.campaign import CAMPAIGN_ZONE
from shared.domain.phases import Window
from shared.domain.progress import Status, status
from shared.persistence.engine import create_engine

DAY = dt.timedelta(days=1)


def phases(today: dt.date) -> list[tuple[str, dt.date, dt.date, int | None, int]]:
    """(phase, first day, last day, target, value), one for each status."""
    return [
        ("ended", today - 40 * DAY, today - 10 * DAY, 100, 50),
        ("behind", today - 20 * DAY, today + 9 * DAY, 100, 1),
        ("ahead", today - 20 * DAY, today + 9 * DAY, 100, 90),
        ("upcoming", today + 5 * DAY, today + 30 * DAY, 100, 0),
        ("untargeted", today - 20 * DAY, today + 9 * DAY, None, 7),
        ("done", today - 20 * DAY, today + 9 * DAY, 10, 10),
    ]


async def test_v_status_judges_seeded_rows_as_the_domain_at_the_database_s_now(
    database_url: str,
) -> None:
    engine = create_engine(database_url)
    try:
        async with engine.begin() as connection:
            await connection.execute(
                sa.insert(rm_units).values(
                    unit_id="bk",
                    name="Bắc Kạn",
                    name_folded="bac kan",
                    level="province",
                    state="open",
                )
            )
            for phase, starts_on, ends_on, target, value in phases(
                dt.datetime.now(CAMPAIGN_ZONE).date()
            ):
                key = {"unit_id": "bk", "campaign_id": "c", "phase_id": phase}
                await connection.execute(
                    sa.insert(rm_targets).values(
                        **key, name=phase, starts_on=starts_on, ends_on=ends_on, required=target
                    )
                )
                await connection.execute(sa.insert(rm_progress).values(**key, under_review=value))
            rows = (
                await connection.execute(
                    sa.text(
                        "SELECT phase_id, value, target, starts_on, ends_on, judged_at, status "
                        "FROM v_status"
                    )
                )
            ).all()
    finally:
        await engine.dispose()

    judged = {row.phase_id: row.status for row in rows}
    expected = {
        row.phase_id: status(
            row.value,
            row.target,
            Window(
                dt.date.fromisoformat(str(row.starts_on)),
                dt.date.fromisoformat(str(row.ends_on)),
                CAMPAIGN_ZONE,
            ),
            instant(row.judged_at),
        )
        for row in rows
    }
    assert judged == expected
    assert set(judged.values()) == set(Status)


def instant(judged_at: dt.datetime | str) -> dt.datetime:
    """PostgreSQL gives a timestamptz; SQLite UTC text."""
    if isinstance(judged_at, str):
        return dt.datetime.fromisoformat(judged_at).replace(tzinfo=dt.UTC)
    return judged_at
