"""The projector built over a transport: its input of recorded events (the events topic, or
in process the event store followed by the tailer), the relay of its progress changes to the
changes topic (in process they stay in ``progress_outbox`` for the notifier to drain), and
``/healthz``, ``/readyz`` and ``/metrics``."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncEngine

from services.projector.changes_relay import ChangesRelay, KafkaChangeSink
from services.projector.components import ProjectorComponents, projector_components
from services.projector.kafka_input import recorded_events_handler
from services.projector.quarantine import quarantine_clear
from services.projector.settings import ProjectorSettings
from services.projector.tailer import StoreTailer
from shared.messaging.transport import Link, Subscription, Transport, lag_gauge
from shared.wakeup import Wakeup
from shared.web.ops import ops_router
from shared.web.serve import Built


def store_tailer(parts: ProjectorComponents) -> StoreTailer:
    """The in-process input: the event store followed from the read models' checkpoint."""
    settings = parts.settings
    return StoreTailer(
        parts.engine,
        parts.store,
        parts.projection,
        parts.metrics,
        batch_size=settings.batch_size,
        interval_seconds=settings.tail_interval_seconds,
    )


def background(parts: ProjectorComponents) -> Link:
    link, settings, metrics = parts.link, parts.settings, parts.metrics
    changes_committed = Wakeup()
    link.publish(
        "changes-relay",
        lambda producer: ChangesRelay(
            parts.engine,
            KafkaChangeSink(producer, settings.changes_topic),
            metrics,
            idle_seconds=settings.relay_idle_seconds,
            wakeup=changes_committed,
        ),
    )
    dead_letters = link.dead_letters(parts.engine, f"{settings.events_topic}.dlq")
    handle = recorded_events_handler(
        parts.projection, metrics, dead_letters, changes_committed=changes_committed.wake
    )
    link.subscribe(
        Subscription.of(
            settings,
            settings.events_topic,
            handle,
            dead_letters.send,
            title="recorded events",
            description="Every accepted fact, in order per stream (see docs/contracts.md)",
            observe_lag=lag_gauge(metrics.lag),
            in_process=("store-tailer", store_tailer(parts).run),
        )
    )
    return link


@asynccontextmanager
async def build(
    settings: ProjectorSettings, transport: Transport, *, engine: AsyncEngine | None = None
) -> AsyncIterator[Built[ProjectorComponents]]:
    async with projector_components(settings, transport, engine=engine) as parts:
        checks = transport.readiness(parts.engine)
        checks["quarantine"] = quarantine_clear(parts.engine, parts.metrics.quarantined_streams)
        app = FastAPI(title="initiatives projector", docs_url=None, redoc_url=None)
        app.include_router(ops_router(parts.metrics.registry, checks))
        yield Built(parts, app, parts.metrics.registry, background(parts))
