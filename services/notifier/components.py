"""The notifier's composition root: settings and a transport in, wired parts out. Nothing
connects at import.

The transport decides where undecodable changes go: ``<topic>.dlq`` on Kafka, the
dead-letters table in process (the embedded default). Webhooks are always served; e-mail only
once an SMTP relay is configured (until then e-mail deliveries wait in the queue).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass

import httpx
from sqlalchemy.ext.asyncio import AsyncEngine

from services.notifier.channels.base import Channel
from services.notifier.channels.email import EmailChannel, SmtpConfig
from services.notifier.channels.targets import WebhookTargets
from services.notifier.channels.webhook import WebhookChannel
from services.notifier.clock import DeadlineClock
from services.notifier.decisions import ChangeJudge
from services.notifier.delivery import DeliveryWorker
from services.notifier.delivery_metrics import DeliveryMetrics
from services.notifier.freshness import Freshness
from services.notifier.metrics import NotifierMetrics
from services.notifier.settings import NotifierSettings
from services.notifier.store import SqlStore
from services.notifier.subscriptions import ChannelName
from shared.clock import Clock, utc_now
from shared.dead_letters import DeadLetterSink
from shared.messaging.transport import Link, Transport
from shared.persistence.engine import create_engine
from shared.persistence.migrations import ensure_migrated


@dataclass
class NotifierComponents:
    settings: NotifierSettings
    engine: AsyncEngine
    metrics: NotifierMetrics
    judge: ChangeJudge
    deadlines: DeadlineClock
    worker: DeliveryWorker
    dead_letters: DeadLetterSink
    clock: Clock
    link: Link


def channels_of(
    settings: NotifierSettings, client: httpx.AsyncClient, clock: Clock
) -> dict[str, Channel]:
    """The channels this deployment can send on."""
    targets = WebhookTargets(settings.webhook_allowed_networks)
    channels: dict[str, Channel] = {
        ChannelName.WEBHOOK: WebhookChannel(client, clock, targets=targets)
    }
    if settings.smtp_host is not None:
        password = settings.smtp_password
        config = SmtpConfig(
            host=settings.smtp_host,
            port=settings.smtp_port,
            from_address=settings.smtp_from,
            starttls=settings.smtp_starttls,
            username=settings.smtp_username,
            password=None if password is None else password.get_secret_value(),
        )
        channels[ChannelName.EMAIL] = EmailChannel(config, clock)
    return channels


@asynccontextmanager
async def notifier_components(
    settings: NotifierSettings,
    transport: Transport,
    *,
    engine: AsyncEngine | None = None,
    metrics: NotifierMetrics | None = None,
    clock: Clock = utc_now,
    channels: Mapping[str, Channel] | None = None,
) -> AsyncIterator[NotifierComponents]:
    """Open everything the notifier needs; refuses an un-migrated database.

    ``channels`` replaces the configured ones (tests send to fakes).
    """
    own_engine = engine is None
    engine = engine or create_engine(settings.database_url)
    try:
        await ensure_migrated(engine)
        metrics = metrics or NotifierMetrics()
        async with (
            transport.connect("notifier", metrics.task_restarts) as link,
            httpx.AsyncClient(timeout=settings.webhook_timeout_seconds) as client,
        ):
            dead_letters = link.dead_letters(engine, f"{settings.changes_topic}.dlq", clock)
            worker = DeliveryWorker(
                engine,
                channels if channels is not None else channels_of(settings, client, clock),
                DeliveryMetrics(metrics.registry),
                clock,
                lease_seconds=settings.delivery_lease_seconds,
            )
            freshness = Freshness(settings.quiet_seconds)
            deadlines = DeadlineClock(
                engine,
                settings.rules_for,
                metrics,
                clock,
                freshness=freshness,
                digest_hour=settings.digest_hour,
                interval_seconds=settings.clock_interval_seconds,
            )
            judge = ChangeJudge(
                SqlStore(engine, metrics),
                settings.rules_for,
                metrics,
                clock,
                freshness=freshness,
                queued=worker.wakeup.wake,
            )
            yield NotifierComponents(
                settings, engine, metrics, judge, deadlines, worker, dead_letters, clock, link
            )
    finally:
        if own_engine:
            await engine.dispose()
