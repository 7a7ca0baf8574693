"""Serve an ASGI app until SIGINT or SIGTERM, logging through the service's JSON logging and
counting every request into the service's metrics."""

from __future__ import annotations

import uvicorn
from fastapi import FastAPI
from prometheus_client import CollectorRegistry

from shared.web.http_metrics import instrument


async def serve_http(app: FastAPI, host: str, port: int, metrics: CollectorRegistry) -> None:
    instrument(app, metrics)
    config = uvicorn.Config(app, host=host, port=port, log_config=None)
    await uvicorn.Server(config).serve()
