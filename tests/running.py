"""Run services inside the test's event loop against real servers, and stop them at will."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from services.ingest.components import IngestComponents, ingest_components
from services.ingest.service import IngestService
from services.ingest.settings import IngestSettings
from services.notifier.components import NotifierComponents, notifier_components
from services.notifier.service import NotifierService
from services.notifier.settings import NotifierSettings
from services.projector.components import ProjectorComponents, projector_components
from services.projector.service import ProjectorService
from services.projector.settings import ProjectorSettings


@asynccontextmanager
async def running_ingest(settings: IngestSettings) -> AsyncIterator[IngestComponents]:
    async with ingest_components(settings) as parts:
        service = IngestService(parts)
        await service.start()
        try:
            yield parts
        finally:
            await service.stop()


@asynccontextmanager
async def running_projector(settings: ProjectorSettings) -> AsyncIterator[ProjectorComponents]:
    async with projector_components(settings) as parts:
        service = ProjectorService(parts)
        await service.start()
        try:
            yield parts
        finally:
            await service.stop()


@asynccontextmanager
async def running_notifier(settings: NotifierSettings) -> AsyncIterator[NotifierComponents]:
    async with notifier_components(settings) as parts:
        service = NotifierService(parts)
        await service.start()
        try:
            yield parts
        finally:
            await service.stop()
