"""The seed cases projected into a SQLite database, with a few notifier decisions, for the
dashboard's page and browser tests (the dashboard reads what the services wrote)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from services.ingest.pipeline import IngestPipeline
from services.projector.metrics import ProjectorMetrics
from services.projector.projection import Projection
from services.projector.tailer import StoreTailer
from services.samples import seed_cases
from services.samples.portal_events import (
    CAMPAIGN,
    reviewed,
    unit_closed,
    unit_merged,
    unit_registered,
)
from shared.eventstore.sql import SqlEventStore
from shared.persistence.engine import create_engine
from shared.web.secrets import hash_secret
from tests.conftest import UTC7
from tests.published import publish_decisions

ADMIN, BA_CHE = "admin-token", "ba-che-token"
TOKENS = {hash_secret(ADMIN): "*", hash_secret(BA_CHE): "bache"}
NASTY_NAME = '<script>alert("x")</script> & <b>CĐCS</b>'
"""A portal-supplied unit name that must be shown as text, never run."""


def events() -> list[dict[str, Any]]:
    """Both seed cases; 120 of Bắc Kạn's submissions approved on 11 May 2022; and two of
    Bắc Kạn's districts that are history: Chợ Mới merged into Bạch Thông, Na Rì dissolved
    (its grassroots union left below it)."""
    history = seed_cases.hierarchy() + seed_cases.plans()
    history += seed_cases.ba_che_submissions() + seed_cases.bac_kan_submissions()
    history += [
        reviewed("initiative.approved", f"bk-{n}", at="2022-05-11T09:00:00+07:00")
        for n in range(120)
    ]
    history.append(unit_registered("bk-nasty", "bk-bach-thong", name=NASTY_NAME))
    history += [
        unit_registered("bk-cho-moi", "bac-kan", "district", "LĐLĐ huyện Chợ Mới"),
        unit_merged("bk-cho-moi", "bk-bach-thong"),
        unit_registered("bk-na-ri", "bac-kan", "district", "LĐLĐ huyện Na Rì"),
        unit_registered("bk-na-ri-1", "bk-na-ri", name="CĐCS xã Côn Minh Na Rì"),
        unit_closed("bk-na-ri"),
    ]
    return history


def decision(
    unit_id: str, phase_id: str, rule: str, at: dt.datetime, value: int, target: int, **extra: Any
) -> dict[str, Any]:
    """A decision row as the notifier records it."""
    return {
        "key": f"{unit_id}/{CAMPAIGN}/{phase_id}/{rule}/{extra.get('threshold', at.date())}",
        "unit_id": unit_id,
        "campaign_id": CAMPAIGN,
        "phase_id": phase_id,
        "rule": rule,
        "threshold": extra.pop("threshold", None),
        "value": value,
        "target": target,
        "details": {
            "unit_name": unit_id,
            "phase_name": seed_cases.PHASE_NAMES[phase_id],
            **extra,
        },
        "decided_at": at,
    }


DECISIONS = [
    decision(
        "bac-kan",
        "bk-1",
        "threshold_crossed",
        dt.datetime(2022, 4, 12, 9, tzinfo=UTC7),
        338,
        675,
        threshold=0.5,
    ),
    decision(
        "bac-kan",
        "bk-1",
        "at_risk",
        dt.datetime(2022, 5, 2, 8, tzinfo=UTC7),
        420,
        675,
        forecast=560,
        days_left=29,
    ),
    decision(
        "bache-khoi-cq",
        "bc-1",
        "threshold_crossed",
        dt.datetime(2022, 5, 19, 9, tzinfo=UTC7),
        18,
        36,
        threshold=0.5,
    ),
]


async def project_seed_cases(url: str) -> None:
    """Ingest and project the seed cases into the migrated database at ``url``."""
    engine = create_engine(url)
    try:
        store = SqlEventStore(engine, outbox=False)
        await IngestPipeline(store).submit(events())
        projection = Projection(engine, store)
        await projection.start()
        tailer = StoreTailer(
            engine, store, projection, ProjectorMetrics(), batch_size=500, interval_seconds=0
        )
        await tailer.catch_up()
        async with engine.begin() as connection:
            await publish_decisions(connection, DECISIONS)
    finally:
        await engine.dispose()
