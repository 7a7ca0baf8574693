"""The notifier's tests share one scenario: Bắc Kạn province and two of its districts,
following the province's phase 1 (1 January – 31 May 2022, 675 submissions required)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine

from services.notifier import subscriptions
from services.notifier.subscriptions import SubscriptionRequest
from shared.contracts.progress import ProgressChanged, ProgressFigures
from tests.conftest import UTC7
from tests.published import publish_units

CAMPAIGN = "1trieu"
PHASE_ONE = ("1", "Giai đoạn 1", dt.date(2022, 1, 1), dt.date(2022, 5, 31))
BAC_KAN_TARGET = 675
DEADLINE = dt.datetime(2022, 6, 1, tzinfo=UTC7)
"""Local midnight after phase 1's last day: from then on it is missed below target."""

# unit id, name, parent
UNITS = [
    ("vn", "Tổng Liên đoàn Lao động Việt Nam", None),
    ("bk", "LĐLĐ tỉnh Bắc Kạn", "vn"),
    ("bk-bb", "LĐLĐ huyện Ba Bể", "bk"),
    ("bk-cm", "LĐLĐ huyện Chợ Mới", "bk"),
    ("qn", "LĐLĐ tỉnh Quảng Ninh", "vn"),
]


async def seed_units(engine: AsyncEngine) -> None:
    async with engine.begin() as connection:
        await publish_units(connection, UNITS)


def change(
    unit_id: str,
    value: int,
    *,
    before: int = 0,
    target: int | None = BAC_KAN_TARGET,
    phase: tuple[str, str, dt.date, dt.date] = PHASE_ONE,
    as_of: dt.datetime = dt.datetime(2022, 5, 12, 13, 0, tzinfo=UTC7),
) -> ProgressChanged:
    phase_id, name, starts_on, ends_on = phase
    return ProgressChanged(
        unit_id=unit_id,
        campaign_id=CAMPAIGN,
        phase_id=phase_id,
        phase_name=name,
        starts_on=starts_on,
        ends_on=ends_on,
        metric="submitted",
        before=ProgressFigures(value=before, target=target),
        after=ProgressFigures(value=value, target=target),
        as_of=as_of,
    )


def climb(unit_id: str, *values: int, **given: Any) -> list[ProgressChanged]:
    """Successive changes of one unit's value, each starting where the previous ended."""
    starts = (0, *values[:-1])
    return [
        change(unit_id, value, before=start, **given)
        for start, value in zip(starts, values, strict=True)
    ]


def webhook(unit_id: str, rules: list[str], **given: Any) -> SubscriptionRequest:
    return SubscriptionRequest.model_validate(
        {
            "official": given.pop("official", f"Cán bộ theo dõi {unit_id}"),
            "unit_id": unit_id,
            "rules": rules,
            "channel": "webhook",
            "address": f"https://hooks.example.vn/{unit_id}",
            "secret": "s3cret-s3cret-s3cret",
            **given,
        }
    )


async def subscribe(
    engine: AsyncEngine,
    request: SubscriptionRequest,
    at: dt.datetime = dt.datetime(2022, 1, 1, tzinfo=UTC7),
) -> int:
    async with engine.begin() as connection:
        created = await subscriptions.create(connection, request, at)
    return created.id
