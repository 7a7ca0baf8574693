"""Operations endpoints every service mounts, so orchestrators and Prometheus see them alike.

``/healthz`` only says the process answers (restart it when it does not); ``/readyz`` runs
the service's dependency checks (send it traffic only when they pass); ``/metrics`` exposes
the service's own registry in whichever format the scraper asks for.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse
from prometheus_client import CollectorRegistry
from prometheus_client.exposition import choose_encoder
from sqlalchemy.ext.asyncio import AsyncEngine

from shared.persistence.migrations import ensure_migrated

ReadinessCheck = Callable[[], Awaitable[None]]
"""Returns when the dependency is usable; raises with a message an operator can act on."""

CHECK_TIMEOUT_SECONDS = 5.0


def database_ready(engine: AsyncEngine) -> ReadinessCheck:
    """Ready when the database answers and its schema is at the code's revision."""

    async def check() -> None:
        await ensure_migrated(engine)

    return check


async def _outcome(check: ReadinessCheck, seconds: float) -> str | None:
    """``None`` when the check passed, else why it failed."""
    try:
        async with asyncio.timeout(seconds):
            await check()
    except TimeoutError:
        return f"no answer within {seconds:g} s"
    except Exception as error:
        return str(error) or type(error).__name__
    return None


def ops_router(
    metrics_registry: CollectorRegistry,
    readiness_checks: Mapping[str, ReadinessCheck],
    *,
    check_timeout: float = CHECK_TIMEOUT_SECONDS,
) -> APIRouter:
    router = APIRouter(tags=["operations"])

    @router.get("/healthz", summary="The process is alive")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @router.get(
        "/readyz",
        summary="Every dependency check passes",
        responses={503: {"description": "A check failed; its entry says why"}},
    )
    async def readyz() -> JSONResponse:
        names = list(readiness_checks)
        failures = await asyncio.gather(
            *(_outcome(readiness_checks[name], check_timeout) for name in names)
        )
        checks = {name: failure or "ok" for name, failure in zip(names, failures, strict=True)}
        if any(failures):
            return JSONResponse({"status": "not ready", "checks": checks}, status_code=503)
        return JSONResponse({"status": "ready", "checks": checks})

    @router.get("/metrics", summary="Prometheus metrics", response_class=Response)
    async def metrics(request: Request) -> Response:
        encode, content_type = choose_encoder(request.headers.get("accept", ""))
        return Response(encode(metrics_registry), media_type=content_type)

    return router
