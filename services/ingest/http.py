"""HTTP input for portals that cannot speak Kafka: ``POST /v1/events``.

Each portal has its own API key, configured only as a hash so the settings never hold a
usable secret; with no key configured every request is refused, so the door is never open
by accident. The caller waits for the answer, so each event gets its verdict in the
response, in the order sent, and nothing is dead-lettered.

No ``from __future__ import annotations`` here: FastAPI evaluates the endpoints' annotations,
and they refer to the authentication dependency built inside :func:`create_ingest_app`.
"""

import asyncio
import hashlib
import hmac
import json
import logging
import re
from collections import Counter
from collections.abc import Mapping, Sequence
from importlib.metadata import version
from typing import Annotated, TypeVar

from fastapi import Depends, FastAPI, HTTPException, Request, Security, status
from fastapi.responses import JSONResponse
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel, Field

from services.ingest.components import IngestComponents
from services.ingest.intake import Incoming
from services.ingest.pipeline import ConflictsPersisted
from services.ingest.verdicts import Verdict, VerdictStatus
from shared.chunks import chunks
from shared.dead_letters import Origin
from shared.web.body_limit import BodyLimit
from shared.web.ops import ReadinessCheck, database_ready, ops_router

log = logging.getLogger(__name__)

NDJSON_TYPES = frozenset({"application/x-ndjson", "application/ndjson"})
HASH_FORMAT = re.compile(r"sha256:[0-9a-f]{64}")
CHALLENGE = {"WWW-Authenticate": 'Bearer realm="initiatives-ingest"'}
OFF_LOOP_BYTES = 256 * 1024
"""Bodies larger than this are parsed in a worker thread, so the event loop keeps answering."""
T = TypeVar("T")


def hash_api_key(key: str) -> str:
    """The form a portal's key is configured in: ``sha256:<hex>``."""
    return "sha256:" + hashlib.sha256(key.encode()).hexdigest()


class ApiKeys:
    """Tells which portal a presented key belongs to, knowing only the keys' hashes."""

    def __init__(self, hashes: Mapping[str, str]) -> None:
        for portal, configured in hashes.items():
            if not HASH_FORMAT.fullmatch(configured):
                raise ValueError(
                    f"the API key of portal {portal!r} is not configured as sha256:<64 hex "
                    "digits>; configure the output of `initiatives api-key-hash KEY`, never the key"
                )
        self._hashes = dict(hashes)

    def __bool__(self) -> bool:
        return bool(self._hashes)

    def portal_of(self, key: str) -> str | None:
        presented = hash_api_key(key)
        matches = [
            portal
            for portal, configured in self._hashes.items()
            if hmac.compare_digest(presented, configured)
        ]
        return matches[0] if matches else None


class EventResult(BaseModel):
    index: int = Field(
        description="Place of the event in the body from 0 (blank lines not counted)"
    )
    event_id: str | None
    status: VerdictStatus
    code: str | None = Field(description="Why it was rejected or parked, e.g. invalid_transition")
    message: str | None
    position: int | None = Field(description="Its place in the event store, when accepted")


class Summary(BaseModel):
    accepted: int
    duplicate: int
    rejected: int
    parked: int


class EventsResponse(BaseModel):
    results: list[EventResult]
    summary: Summary


REQUEST_BODY = {
    "required": True,
    "description": "Portal events as described in docs/contracts.md",
    "content": {
        "application/json": {
            "schema": {
                "oneOf": [
                    {"type": "object", "description": "one event"},
                    {"type": "array", "items": {"type": "object"}, "description": "events"},
                ]
            }
        },
        "application/x-ndjson": {
            "schema": {"type": "string", "description": "one event per line"},
        },
    },
}


def _split(body: bytes, content_type: str, max_events: int) -> list[bytes]:
    """The raw bytes of each event in the body, at most ``max_events`` of them."""
    media_type = content_type.partition(";")[0].strip().lower()
    if media_type in NDJSON_TYPES:
        return _at_most([line for line in body.splitlines() if line.strip()], max_events)
    if media_type not in ("", "application/json"):
        raise HTTPException(
            status.HTTP_415_UNSUPPORTED_MEDIA_TYPE,
            f"cannot read {media_type}: send application/json or application/x-ndjson",
        )
    try:
        document = json.loads(body.decode())
    except (ValueError, UnicodeDecodeError) as error:
        raise HTTPException(
            status.HTTP_400_BAD_REQUEST,
            f"the body is not valid JSON ({error}); send one event object, an array of events, "
            "or one event per line with Content-Type: application/x-ndjson",
        ) from None
    except RecursionError:
        raise HTTPException(
            status.HTTP_400_BAD_REQUEST, "the body is JSON nested too deeply to hold events"
        ) from None
    if isinstance(document, dict):
        return [body]
    if isinstance(document, list):
        return [_encoded(event) for event in _at_most(document, max_events)]
    raise HTTPException(
        status.HTTP_400_BAD_REQUEST,
        f"the body is a JSON {type(document).__name__}; send one event object or an array of them",
    )


def _at_most(events: list[T], limit: int) -> list[T]:
    if len(events) > limit:
        raise HTTPException(
            status.HTTP_413_CONTENT_TOO_LARGE,
            f"the body holds {len(events)} events; the limit is {limit} a request: "
            "send them in several requests",
        )
    return events


def _encoded(event: object) -> bytes:
    """One event of an array as bytes of its own, as it would arrive on Kafka; what cannot be
    written back as UTF-8 (a lone surrogate escape) is kept as text the decoder refuses."""
    return json.dumps(event, ensure_ascii=False).encode(errors="backslashreplace")


def _response(verdicts: Sequence[Verdict]) -> EventsResponse:
    counts = Counter(verdict.status for verdict in verdicts)
    return EventsResponse(
        results=[
            EventResult(
                index=index,
                event_id=verdict.event_id,
                status=verdict.status,
                code=verdict.code,
                message=verdict.message,
                position=verdict.position,
            )
            for index, verdict in enumerate(verdicts)
        ],
        summary=Summary(**{status.value: counts[status] for status in VerdictStatus}),
    )


def create_ingest_app(
    parts: IngestComponents, readiness_checks: Mapping[str, ReadinessCheck] | None = None
) -> FastAPI:
    """The ingest HTTP app; readiness defaults to "the database is reachable and migrated"."""
    settings = parts.settings
    keys = ApiKeys(settings.api_keys)
    app = FastAPI(
        title="initiatives ingest",
        version=version("initiatives"),
        description="Portal events into the event store. Event contract: docs/contracts.md.",
        docs_url="/docs",
    )
    app.add_middleware(BodyLimit, limit=settings.max_body_bytes)
    if readiness_checks is None:
        readiness_checks = {"database": database_ready(parts.engine)}
    app.include_router(ops_router(parts.metrics.registry, readiness_checks))

    async def portal(
        api_key: Annotated[str | None, Security(APIKeyHeader(name="X-API-Key", auto_error=False))],
        bearer: Annotated[
            HTTPAuthorizationCredentials | None, Security(HTTPBearer(auto_error=False))
        ],
    ) -> str:
        """The portal the request's API key belongs to."""
        if not keys:
            raise HTTPException(
                status.HTTP_401_UNAUTHORIZED,
                "no API keys are configured, so every request is refused: set "
                'INITIATIVES_INGEST_API_KEYS=\'{"<portal>": "sha256:<hex>"}\' with the '
                "output of `initiatives api-key-hash KEY`",
                headers=CHALLENGE,
            )
        presented = api_key or (bearer.credentials if bearer else None)
        name = keys.portal_of(presented) if presented else None
        if name is None:
            raise HTTPException(
                status.HTTP_401_UNAUTHORIZED,
                "missing or unknown API key: send it as X-API-Key: <key> "
                "or Authorization: Bearer <key>",
                headers=CHALLENGE,
            )
        return name

    @app.post(
        "/v1/events",
        summary="Send portal events: one object, an array, or NDJSON",
        openapi_extra={"requestBody": REQUEST_BODY},
        responses={
            400: {"description": "The JSON body cannot be read at all"},
            401: {"description": "Missing or unknown API key"},
            413: {"description": "The body exceeds the size limit or the events per request"},
            415: {"description": "Neither JSON nor NDJSON"},
            503: {"description": "Concurrent writers kept conflicting; send it again"},
        },
    )
    async def post_events(
        request: Request, portal_name: Annotated[str, Depends(portal)]
    ) -> EventsResponse:
        body = await request.body()
        content_type = request.headers.get("content-type", "")
        limit = settings.max_events_per_request
        if len(body) > OFF_LOOP_BYTES:
            raws = await asyncio.to_thread(_split, body, content_type, limit)
        else:
            raws = _split(body, content_type, limit)
        origin = Origin("http", detail=portal_name)
        verdicts: list[Verdict] = []
        for batch in chunks(raws, settings.batch_size):
            verdicts += await parts.intake.receive(
                [Incoming(raw, origin) for raw in batch], dead_letter_rejections=False
            )
            await asyncio.sleep(0)  # health checks and other requests between batches
        response = _response(verdicts)
        log.info("events received", extra={"portal": portal_name, **response.summary.model_dump()})
        return response

    @app.exception_handler(ConflictsPersisted)
    async def conflicts(_: Request, error: ConflictsPersisted) -> JSONResponse:
        return JSONResponse(
            {"detail": f"{error}; sending the same events again is safe"},
            status_code=status.HTTP_503_SERVICE_UNAVAILABLE,
            headers={"Retry-After": "1"},
        )

    return app
