"""Run services inside the test's event loop against real servers, and stop them at will."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import TypeVar

from services.ingest import service as ingest
from services.ingest.components import IngestComponents
from services.ingest.settings import IngestSettings
from services.notifier import service as notifier
from services.notifier.components import NotifierComponents
from services.notifier.settings import NotifierSettings
from services.projector import service as projector
from services.projector.components import ProjectorComponents
from services.projector.settings import ProjectorSettings
from shared.clock import Clock, utc_now
from shared.messaging.transport import transport_for
from shared.web.serve import Built

Parts = TypeVar("Parts")


@asynccontextmanager
async def _running(built: AbstractAsyncContextManager[Built[Parts]]) -> AsyncIterator[Parts]:
    async with built as service:
        await service.background.start()
        try:
            yield service.parts
        finally:
            await service.background.stop()


def running_ingest(settings: IngestSettings) -> AbstractAsyncContextManager[IngestComponents]:
    return _running(ingest.build(settings, transport_for(settings)))


def running_projector(
    settings: ProjectorSettings,
) -> AbstractAsyncContextManager[ProjectorComponents]:
    return _running(projector.build(settings, transport_for(settings)))


def running_notifier(
    settings: NotifierSettings, clock: Clock = utc_now
) -> AbstractAsyncContextManager[NotifierComponents]:
    return _running(notifier.build(settings, transport_for(settings), clock=clock))


def kafka_projector_settings(url: str, bootstrap: str, prefix: str) -> ProjectorSettings:
    """A projector on real Kafka whose topics and group carry the test's ``prefix``."""
    return ProjectorSettings(
        database_url=url,
        kafka_bootstrap_servers=bootstrap,
        events_topic=f"{prefix}events",
        changes_topic=f"{prefix}changes",
        consumer_group=f"{prefix}projector",
        batch_timeout_ms=50,
    )


def kafka_ingest_settings(url: str, bootstrap: str, prefix: str) -> IngestSettings:
    """Ingest on real Kafka whose topics and group carry the test's ``prefix``."""
    return IngestSettings(
        database_url=url,
        kafka_bootstrap_servers=bootstrap,
        input_topic=f"{prefix}portal",
        events_topic=f"{prefix}events",
        consumer_group=f"{prefix}ingest",
        batch_timeout_ms=50,
    )
