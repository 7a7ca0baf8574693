"""The notifier built over a transport: its input of progress changes (the changes topic, or
in process the projector's outbox), the clock, the delivery worker, and its HTTP API
(subscriptions, notifications, ``/healthz``, ``/readyz``, ``/metrics``).

``initiatives notifier`` runs :func:`build` through ``shared.web.serve.run``; the one-process
demo and the tests start and stop its long-running parts themselves, as a crash or a deploy
would.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager

from sqlalchemy.ext.asyncio import AsyncEngine

from services.notifier.api import create_notifier_app
from services.notifier.channels.base import Channel
from services.notifier.components import NotifierComponents, notifier_components
from services.notifier.decisions import apply_encoded
from services.notifier.outbox_input import OutboxInput
from services.notifier.settings import NotifierSettings
from shared.clock import Clock, utc_now
from shared.dead_letters import Origin
from shared.messaging.batches import Records
from shared.messaging.transport import Link, Subscription, Transport
from shared.web.ops import ops_router
from shared.web.serve import Built


def background(parts: NotifierComponents) -> Link:
    link, settings = parts.link, parts.settings

    async def handle(records: Records) -> None:
        await apply_encoded(
            parts.judge,
            [(record.value or b"", Origin.of_record(record)) for record in records],
            parts.dead_letters,
            parts.metrics,
        )

    def observe_lag(topic: str, partition: int, lag: int) -> None:
        parts.metrics.lag.labels(topic, str(partition)).set(lag)
        parts.judge.freshness.heard(f"{topic}/{partition}", lag)

    outbox = OutboxInput(
        parts.engine,
        parts.judge,
        parts.dead_letters,
        parts.metrics,
        batch_size=settings.batch_size,
        idle_seconds=settings.outbox_interval_seconds,
    )
    link.loop("notifier-clock", parts.deadlines.run)
    link.loop("delivery-worker", parts.worker.run)
    link.subscribe(
        Subscription.of(
            settings,
            settings.changes_topic,
            handle,
            parts.dead_letters.send,
            title="progress changes",
            description="A unit's figures moved (shared.contracts.progress.ProgressChanged)",
            observe_lag=observe_lag,
            in_process=("progress-outbox", outbox.run),
        )
    )
    return link


@asynccontextmanager
async def build(
    settings: NotifierSettings,
    transport: Transport,
    *,
    engine: AsyncEngine | None = None,
    clock: Clock = utc_now,
    channels: Mapping[str, Channel] | None = None,
) -> AsyncIterator[Built[NotifierComponents]]:
    """``channels`` replaces the configured ones (tests send to fakes)."""
    async with notifier_components(
        settings, transport, engine=engine, clock=clock, channels=channels
    ) as parts:
        app = create_notifier_app(
            parts.engine,
            settings,
            clock=parts.clock,
            extra_routers=[ops_router(parts.metrics.registry, transport.readiness(parts.engine))],
        )
        yield Built(parts, app, parts.metrics.registry, background(parts))
