"""Serve an ASGI app until SIGINT or SIGTERM, logging through the service's JSON logging."""

from __future__ import annotations

import uvicorn
from fastapi import FastAPI


async def serve_http(app: FastAPI, host: str, port: int) -> None:
    config = uvicorn.Config(app, host=host, port=port, log_config=None)
    await uvicorn.Server(config).serve()
