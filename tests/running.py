"""Run services inside the test's event loop against real servers, and stop them at will."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Protocol, TypeVar

from services.ingest.components import IngestComponents, ingest_components
from services.ingest.service import IngestService
from services.ingest.settings import IngestSettings
from services.notifier.components import NotifierComponents, notifier_components
from services.notifier.service import NotifierService
from services.notifier.settings import NotifierSettings
from services.projector.components import ProjectorComponents, projector_components
from services.projector.service import ProjectorService
from services.projector.settings import ProjectorSettings
from shared.clock import Clock, utc_now

Parts = TypeVar("Parts")


class Service(Protocol):
    async def start(self) -> None: ...

    async def stop(self) -> None: ...


@asynccontextmanager
async def _running(
    components: AbstractAsyncContextManager[Parts], service: Callable[[Parts], Service]
) -> AsyncIterator[Parts]:
    async with components as parts:
        running = service(parts)
        await running.start()
        try:
            yield parts
        finally:
            await running.stop()


def running_ingest(settings: IngestSettings) -> AbstractAsyncContextManager[IngestComponents]:
    return _running(ingest_components(settings), IngestService)


def running_projector(
    settings: ProjectorSettings,
) -> AbstractAsyncContextManager[ProjectorComponents]:
    return _running(projector_components(settings), ProjectorService)


def running_notifier(
    settings: NotifierSettings, clock: Clock = utc_now
) -> AbstractAsyncContextManager[NotifierComponents]:
    return _running(notifier_components(settings, clock=clock), NotifierService)


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
