"""The notifier's HTTP API: subscriptions, and the decisions made with their deliveries.

Every ``/v1`` request carries a scoped bearer token as in the query API
(``shared.web.auth``): a token manages the subscriptions and reads the decisions of the
units in its unit's subtree (``*``: every unit). A webhook's secret is accepted once and
never shown again.

No ``from __future__ import annotations``: FastAPI evaluates the endpoints' annotations.
"""

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from importlib.metadata import version
from typing import Annotated, Any

import sqlalchemy as sa
from fastapi import APIRouter, Depends, FastAPI, HTTPException, Query, Request, Response
from fastapi import status as http
from pydantic import AwareDatetime, BaseModel
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from services.notifier import subscriptions
from services.notifier.channels.targets import WebhookTargets
from services.notifier.rules import Rule
from services.notifier.schema import nt_attempts, nt_decisions, nt_deliveries, nt_subscriptions
from services.notifier.settings import NotifierSettings
from services.notifier.subscriptions import ChannelName, Subscription, SubscriptionRequest
from shared.clock import Clock
from shared.persistence.published import published_unit_closure as closure
from shared.persistence.published import published_units
from shared.web.auth import Scope, TokenScope, TokenScopes, covers, log_refusal, outside_scope
from shared.web.body_limit import BodyLimit
from shared.web.parameters import ROW_ID_MAX, RowIdPath


@dataclass(frozen=True, slots=True)
class NotifierContext:
    """What the endpoints need, kept on ``app.state`` so several apps can coexist in tests."""

    engine: AsyncEngine
    clock: Clock
    settings: NotifierSettings


async def _context(request: Request) -> NotifierContext:
    context: NotifierContext = request.app.state.notifier
    return context


Context = Annotated[NotifierContext, Depends(_context)]


async def _require(connection: AsyncConnection, scope: Scope, unit_id: str) -> None:
    """403 outside the token's scope (also for units that do not exist)."""
    if not await covers(connection, scope, unit_id):
        raise outside_scope(scope, unit_id)


async def _visible(connection: AsyncConnection, scope: Scope, unit_id: str) -> bool:
    """Whether a record of ``unit_id`` may be shown. One that may not is answered like one
    that does not exist (404): ids are numbered in sequence, and a 403 would tell which of
    them other units hold."""
    if await covers(connection, scope, unit_id):
        return True
    log_refusal(scope, unit_id)
    return False


class Subscriptions(BaseModel):
    items: list[Subscription]


class Notification(BaseModel):
    """A decision: what was decided about which unit and phase, on which figures, when."""

    id: int
    key: str
    rule: Rule
    unit_id: str
    unit_name: str
    campaign_id: str
    phase_id: str
    threshold: float | None
    value: int
    target: int | None
    ratio: float | None
    details: dict[str, Any]
    decided_at: AwareDatetime

    @classmethod
    def of(cls, row: Any) -> "Notification":
        return cls(
            id=row.id,
            key=row.key,
            rule=Rule(row.rule),
            unit_id=row.unit_id,
            unit_name=row.details.get("unit_name", row.unit_id),
            campaign_id=row.campaign_id,
            phase_id=row.phase_id,
            threshold=row.threshold,
            value=row.value,
            target=row.target,
            ratio=row.value / row.target if row.target else None,
            details=row.details,
            decided_at=row.decided_at,
        )


class Notifications(BaseModel):
    items: list[Notification]
    next_before: int | None
    """Pass as ``before`` for the next (older) page; null on the last page."""


class Attempt(BaseModel):
    at: AwareDatetime
    outcome: str
    detail: str


class Delivery(BaseModel):
    id: int
    subscription_id: int
    official: str
    channel: str
    status: str
    attempts: int
    next_attempt_at: AwareDatetime
    history: list[Attempt]


class NotificationDeliveries(BaseModel):
    notification: Notification
    deliveries: list[Delivery]


router = APIRouter(
    prefix="/v1",
    responses={
        401: {"description": "Missing or unknown access token"},
        403: {"description": "The unit is outside the token's scope"},
        404: {"description": "No such subscription, notification or unit"},
    },
)


@router.post(
    "/subscriptions",
    status_code=http.HTTP_201_CREATED,
    summary="Follow a unit (and its subtree) on a webhook or by e-mail",
)
async def create_subscription(
    context: Context, scope: TokenScope, request: SubscriptionRequest
) -> Subscription:
    async with context.engine.begin() as connection:
        await _require(connection, scope, request.unit_id)
        known = await connection.scalar(
            sa.select(published_units.c.unit_id).where(published_units.c.unit_id == request.unit_id)
        )
        if known is None:
            raise HTTPException(http.HTTP_404_NOT_FOUND, f"unit {request.unit_id!r} is not known")
        if request.channel is ChannelName.WEBHOOK:
            targets = WebhookTargets(context.settings.webhook_allowed_networks)
            if refused := await targets.refused_now(request.address):
                raise HTTPException(http.HTTP_422_UNPROCESSABLE_CONTENT, refused)
        return await subscriptions.create(connection, request, context.clock())


@router.get("/subscriptions", summary="Subscriptions inside the token's scope")
async def list_subscriptions(
    context: Context,
    scope: TokenScope,
    unit_id: Annotated[str | None, Query(description="Only those of this unit")] = None,
) -> Subscriptions:
    async with context.engine.connect() as connection:
        if unit_id is not None:
            await _require(connection, scope, unit_id)
        within = None if scope.is_admin else scope.unit_id
        found = await subscriptions.listing(connection, unit_id=unit_id, within=within)
    return Subscriptions(items=found)


async def _scoped_subscription(
    connection: AsyncConnection, scope: Scope, subscription_id: int
) -> Subscription:
    found = await subscriptions.find(connection, subscription_id)
    if found is None or not await _visible(connection, scope, found.unit_id):
        raise HTTPException(
            http.HTTP_404_NOT_FOUND, f"subscription {subscription_id} does not exist"
        )
    return found


@router.get("/subscriptions/{subscription_id}", summary="One subscription")
async def get_subscription(
    context: Context, scope: TokenScope, subscription_id: RowIdPath
) -> Subscription:
    async with context.engine.connect() as connection:
        return await _scoped_subscription(connection, scope, subscription_id)


@router.delete(
    "/subscriptions/{subscription_id}",
    status_code=http.HTTP_204_NO_CONTENT,
    response_class=Response,
    summary="Stop a subscription (what was already sent stays on record)",
)
async def delete_subscription(
    context: Context, scope: TokenScope, subscription_id: RowIdPath
) -> None:
    async with context.engine.begin() as connection:
        await _scoped_subscription(connection, scope, subscription_id)
        await subscriptions.delete(connection, subscription_id)


@router.get("/notifications", summary="Decisions, newest first, whoever follows the unit")
async def list_notifications(
    context: Context,
    scope: TokenScope,
    unit_id: Annotated[str | None, Query(description="Default: every unit in scope")] = None,
    campaign_id: str | None = None,
    phase_id: Annotated[str | None, Query(description="'' for the whole campaign")] = None,
    rule: Rule | None = None,
    before: Annotated[
        int | None, Query(ge=1, le=ROW_ID_MAX, description="Only decisions older than this id")
    ] = None,
    limit: Annotated[int | None, Query(ge=1, le=1000)] = None,
) -> Notifications:
    size = limit or context.settings.page_size
    query = sa.select(nt_decisions).order_by(nt_decisions.c.id.desc()).limit(size + 1)
    for column, wanted in (
        (nt_decisions.c.unit_id, unit_id),
        (nt_decisions.c.campaign_id, campaign_id),
        (nt_decisions.c.phase_id, phase_id),
        (nt_decisions.c.rule, None if rule is None else rule.value),
    ):
        if wanted is not None:
            query = query.where(column == wanted)
    if before is not None:
        query = query.where(nt_decisions.c.id < before)
    if unit_id is None and not scope.is_admin:
        subtree = sa.select(closure.c.descendant_id).where(closure.c.ancestor_id == scope.unit_id)
        query = query.where(nt_decisions.c.unit_id.in_(subtree))
    async with context.engine.connect() as connection:
        if unit_id is not None:
            await _require(connection, scope, unit_id)
        rows = list(await connection.execute(query))
    items = [Notification.of(row) for row in rows[:size]]
    return Notifications(items=items, next_before=items[-1].id if len(rows) > size else None)


@router.get(
    "/notifications/{notification_id}/attempts",
    summary="Who a decision was sent to, and every attempt",
)
async def notification_attempts(
    context: Context, scope: TokenScope, notification_id: RowIdPath
) -> NotificationDeliveries:
    async with context.engine.connect() as connection:
        row = (
            await connection.execute(
                sa.select(nt_decisions).where(nt_decisions.c.id == notification_id)
            )
        ).one_or_none()
        if row is None or not await _visible(connection, scope, row.unit_id):
            raise HTTPException(
                http.HTTP_404_NOT_FOUND, f"notification {notification_id} does not exist"
            )
        deliveries = await _deliveries(connection, notification_id)
    return NotificationDeliveries(notification=Notification.of(row), deliveries=deliveries)


async def _deliveries(connection: AsyncConnection, decision_id: int) -> list[Delivery]:
    d, s, a = nt_deliveries, nt_subscriptions, nt_attempts
    rows = list(
        await connection.execute(
            sa.select(d, s.c.official, s.c.channel)
            .join(s, s.c.id == d.c.subscription_id)
            .where(d.c.decision_id == decision_id)
            .order_by(d.c.id)
        )
    )
    history: defaultdict[int, list[Attempt]] = defaultdict(list)
    attempts = await connection.execute(
        sa.select(a).where(a.c.delivery_id.in_([row.id for row in rows])).order_by(a.c.at, a.c.id)
    )
    for attempt in attempts:
        history[attempt.delivery_id].append(
            Attempt(at=attempt.at, outcome=attempt.outcome, detail=attempt.detail)
        )
    return [
        Delivery(
            id=row.id,
            subscription_id=row.subscription_id,
            official=row.official,
            channel=row.channel,
            status=row.status,
            attempts=row.attempts,
            next_attempt_at=row.next_attempt_at,
            history=history[row.id],
        )
        for row in rows
    ]


def create_notifier_app(
    engine: AsyncEngine,
    settings: NotifierSettings,
    *,
    clock: Clock,
    extra_routers: Iterable[APIRouter] = (),
) -> FastAPI:
    """The notifier's API over ``engine``; ``extra_routers`` add e.g. ops endpoints."""
    app = FastAPI(
        title="initiatives notifier",
        version=version("initiatives"),
        description="Subscriptions to a unit's notifications, and every decision made. "
        "Rules, keys and deliveries: docs/notifier.md.",
        docs_url="/docs",
    )
    app.state.tokens = TokenScopes(settings.tokens, realm="initiatives-notifier")
    app.add_middleware(BodyLimit, limit=settings.max_body_bytes)
    for extra in extra_routers:
        app.include_router(extra)
    include_notifier_api(app, NotifierContext(engine, clock, settings))
    return app


def include_notifier_api(app: FastAPI, context: NotifierContext) -> None:
    """Serve the notifier's endpoints from ``app``, which must already hold
    ``state.tokens``: the one-process demo serves every API on one port."""
    app.state.notifier = context
    app.include_router(router)
