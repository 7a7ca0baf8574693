"""Every HTTP surface of the system on one port: the query API and its dashboard at ``/``,
the notifier's API, ingest's HTTP door under ``/ingest``, and one ``/metrics`` for all."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping

from fastapi import FastAPI
from prometheus_client import CollectorRegistry
from prometheus_client.metrics_core import Metric
from prometheus_client.registry import Collector
from sqlalchemy.ext.asyncio import AsyncEngine

from services.ingest.components import IngestComponents
from services.ingest.http import create_ingest_app
from services.notifier.api import NotifierContext, include_notifier_api
from services.notifier.settings import NotifierSettings
from services.projector.api.app import create_query_app
from services.projector.api.settings import QueryApiSettings
from shared.clock import Clock
from shared.web.ops import ReadinessCheck, ops_router


class _Union(Collector):
    """The metrics of several registries as one (their names never overlap)."""

    def __init__(self, registries: Iterable[CollectorRegistry]) -> None:
        self._registries = tuple(registries)

    def collect(self) -> Iterator[Metric]:
        for registry in self._registries:
            yield from registry.collect()


def merged_registry(registries: Iterable[CollectorRegistry]) -> CollectorRegistry:
    merged = CollectorRegistry(auto_describe=True)
    merged.register(_Union(registries))
    return merged


def demo_app(
    engine: AsyncEngine,
    *,
    clock: Clock,
    api_settings: QueryApiSettings,
    notifier_settings: NotifierSettings,
    ingest: IngestComponents,
    registries: Iterable[CollectorRegistry],
    readiness: Mapping[str, ReadinessCheck],
) -> FastAPI:
    ops = ops_router(merged_registry(registries), readiness)
    app = create_query_app(
        engine, api_settings, clock=clock, extra_routers=[ops], body_limit_exempt=["/ingest"]
    )
    include_notifier_api(app, NotifierContext(engine, clock, notifier_settings))
    app.mount("/ingest", create_ingest_app(ingest, readiness))
    return app
