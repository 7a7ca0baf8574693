"""Ingest built over a transport: the HTTP door, the portal topic's door, the outbox relay
and the retries of parked facts.

``initiatives ingest`` runs :func:`build` through ``shared.web.serve.run``; the one-process
demo and the tests start and stop its long-running parts themselves, as a crash or a deploy
would.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from aiokafka import ConsumerRecord
from sqlalchemy.ext.asyncio import AsyncEngine

from services.ingest.components import IngestComponents, ingest_components
from services.ingest.http import create_ingest_app
from services.ingest.intake import Incoming
from services.ingest.relay import OutboxRelay
from services.ingest.settings import IngestSettings
from shared.clock import Clock, utc_now
from shared.dead_letters import Origin
from shared.messaging.batches import Records
from shared.messaging.transport import Link, Subscription, Transport, lag_gauge
from shared.web.serve import Built

log = logging.getLogger(__name__)


def incoming(record: ConsumerRecord[Any, Any]) -> Incoming:
    return Incoming(raw=record.value or b"", origin=Origin.of_record(record))


def background(parts: IngestComponents) -> Link:
    """Portal events in batches from the portal topic, acknowledged once appended, parked or
    dead-lettered (``shared.messaging.batches``); the relay of the outbox to the events topic;
    and the retries of parked facts."""
    link, settings, metrics, intake = parts.link, parts.settings, parts.metrics, parts.intake

    async def handle(records: Records) -> None:
        await intake.receive([incoming(record) for record in records], dead_letter_rejections=True)

    link.publish(
        "outbox-relay",
        lambda producer: OutboxRelay(
            parts.store,
            producer,
            settings.events_topic,
            metrics,
            batch_size=settings.relay_batch_size,
            idle_seconds=settings.relay_idle_seconds,
            wakeup=parts.store.appended,
        ),
    )
    link.subscribe(
        Subscription.of(
            settings,
            settings.input_topic,
            handle,
            intake.send_dead_letters,
            title="portal events",
            description="Facts from upstream portals (see docs/contracts.md)",
            observe_lag=lag_gauge(metrics.lag),
        )
    )
    link.loop("parked-retries", lambda: retry_parked(parts))
    return link


async def retry_parked(parts: IngestComponents) -> None:
    interval = parts.settings.park_retry_interval_seconds
    while True:
        await asyncio.sleep(interval)
        try:
            report = await parts.intake.retry_parked()
            summary = await parts.parking.summary()
            parts.metrics.parked.set(summary.size)
            if report.released or report.dead_lettered:
                log.info(
                    "parked facts retried",
                    extra={
                        "released": report.released,
                        "dead_lettered": dict(report.dead_lettered),
                        "still_parked": report.still_parked,
                    },
                )
        except Exception:
            log.exception("retrying parked facts failed")


@asynccontextmanager
async def build(
    settings: IngestSettings,
    transport: Transport,
    *,
    engine: AsyncEngine | None = None,
    clock: Clock = utc_now,
) -> AsyncIterator[Built[IngestComponents]]:
    async with ingest_components(settings, transport, engine=engine, clock=clock) as parts:
        app = create_ingest_app(parts, readiness_checks=transport.readiness(parts.engine))
        yield Built(parts, app, parts.metrics.registry, background(parts))
