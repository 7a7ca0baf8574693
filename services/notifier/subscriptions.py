"""Who follows which unit, and how they are reached: the ``nt_subscriptions`` store.

A subscription names an official, a unit (optionally with its descendants), the rules they
want, and a channel: a webhook (signed with the subscription's secret, which is stored but
never shown again) or an e-mail address. With ``digest`` the official gets one message per
rule and day for the whole subtree instead of one per decision. Deleting a subscription
disables it (its deliveries and their attempts stay explainable).
"""

from __future__ import annotations

import datetime as dt
import re
from collections import defaultdict
from collections.abc import Collection
from dataclasses import dataclass
from enum import StrEnum
from typing import Annotated, Any, Self

import sqlalchemy as sa
from pydantic import (
    AnyHttpUrl,
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    TypeAdapter,
    model_validator,
)
from pydantic import ValidationError as PydanticValidationError
from sqlalchemy.ext.asyncio import AsyncConnection

from services.notifier.rules import UNIT_RULES, Rule
from services.notifier.schema import nt_subscriptions
from shared.chunks import chunks
from shared.persistence.published import published_unit_closure as closure

DELETED = "deleted by its owner"
"""``disabled_reason`` of a deleted subscription; other reasons come from failed deliveries."""

EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s.]+")
_URL = TypeAdapter(AnyHttpUrl)

UnitRule = Annotated[
    Rule,
    Field(description=f"One of {', '.join(UNIT_RULES)}, or with digest=true {Rule.FOLLOW_UP}"),
]


class ChannelName(StrEnum):
    WEBHOOK = "webhook"
    EMAIL = "email"


class Language(StrEnum):
    VI = "vi"
    EN = "en"


class SubscriptionRequest(BaseModel):
    """What an official asks to be told, and where."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    official: str = Field(min_length=1, max_length=200, description="Who receives it")
    unit_id: str = Field(min_length=1, max_length=128)
    include_descendants: bool = False
    rules: list[UnitRule] = Field(min_length=1)
    channel: ChannelName
    address: str = Field(min_length=3, max_length=2000, description="Webhook URL or e-mail")
    secret: str | None = Field(
        default=None,
        min_length=16,
        max_length=200,
        description="Webhooks only, required: the HMAC-SHA256 signing key (never shown again)",
    )
    language: Language = Language.VI
    digest: bool = Field(
        default=False,
        description="One message per rule and day for the subtree (needs include_descendants)",
    )

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        if Rule.DIGEST in self.rules:
            raise ValueError(f"rules are among {', '.join(UNIT_RULES)}; use digest=true")
        if Rule.FOLLOW_UP in self.rules and not self.digest:
            raise ValueError("follow_up is a daily list: set digest=true")
        self.rules = list(dict.fromkeys(self.rules))
        if self.digest and not self.include_descendants:
            raise ValueError("a digest lists descendants: set include_descendants=true")
        if self.channel is ChannelName.WEBHOOK:
            try:
                _URL.validate_python(self.address)
            except PydanticValidationError:
                raise ValueError("a webhook address is an http(s) URL") from None
            if self.secret is None:
                raise ValueError("a webhook needs a secret to sign its requests with")
        else:
            if not EMAIL.fullmatch(self.address):
                raise ValueError("an e-mail address looks like name@example.vn")
            if self.secret is not None:
                raise ValueError("only webhooks are signed: leave out the secret")
        return self


class Subscription(BaseModel):
    """A subscription as shown: everything but the secret."""

    id: int
    official: str
    unit_id: str
    include_descendants: bool
    rules: list[str]
    channel: ChannelName
    address: str
    signed: bool = Field(description="Whether requests are signed (a secret is stored)")
    language: Language
    digest: bool
    disabled_reason: str | None
    created_at: AwareDatetime

    @classmethod
    def of(cls, row: Any) -> Subscription:
        return cls(
            id=row.id,
            official=row.official,
            unit_id=row.unit_id,
            include_descendants=row.include_descendants,
            rules=list(row.rules),
            channel=ChannelName(row.channel),
            address=row.address,
            signed=row.secret is not None,
            language=Language(row.language),
            digest=row.digest,
            disabled_reason=row.disabled_reason,
            created_at=row.created_at,
        )


async def create(
    connection: AsyncConnection, request: SubscriptionRequest, now: dt.datetime
) -> Subscription:
    created = await connection.execute(
        nt_subscriptions.insert()
        .values(**request.model_dump(mode="json"), created_at=now)
        .returning(*nt_subscriptions.c)
    )
    return Subscription.of(created.one())


_LIVE = nt_subscriptions.c.disabled_reason.is_distinct_from(DELETED)


async def find(connection: AsyncConnection, subscription_id: int) -> Subscription | None:
    """A subscription that was not deleted."""
    row = (
        await connection.execute(
            sa.select(nt_subscriptions).where(nt_subscriptions.c.id == subscription_id, _LIVE)
        )
    ).one_or_none()
    return None if row is None else Subscription.of(row)


async def listing(
    connection: AsyncConnection, *, unit_id: str | None, within: str | None
) -> list[Subscription]:
    """Subscriptions not deleted, of ``unit_id`` and/or inside ``within``'s subtree."""
    query = sa.select(nt_subscriptions).where(_LIVE).order_by(nt_subscriptions.c.id)
    if unit_id is not None:
        query = query.where(nt_subscriptions.c.unit_id == unit_id)
    if within is not None:
        subtree = sa.select(closure.c.descendant_id).where(closure.c.ancestor_id == within)
        query = query.where(nt_subscriptions.c.unit_id.in_(subtree))
    return [Subscription.of(row) for row in await connection.execute(query)]


async def delete(connection: AsyncConnection, subscription_id: int) -> None:
    await connection.execute(
        nt_subscriptions.update()
        .where(nt_subscriptions.c.id == subscription_id)
        .values(disabled_reason=DELETED)
    )


# -- matching decisions with subscribers ------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Subscriber:
    """What matching needs of an enabled subscription."""

    id: int
    unit_id: str
    include_descendants: bool
    rules: frozenset[str]
    channel: str
    created_at: dt.datetime

    @classmethod
    def of(cls, row: Any) -> Subscriber:
        return cls(
            row.id,
            row.unit_id,
            row.include_descendants,
            frozenset(row.rules),
            row.channel,
            row.created_at,
        )


_ENABLED = sa.select(nt_subscriptions).where(nt_subscriptions.c.disabled_reason.is_(None))


async def unit_subscribers(
    connection: AsyncConnection, unit_ids: Collection[str]
) -> dict[str, list[Subscriber]]:
    """Per unit, the enabled non-digest subscriptions that follow it: of the unit itself, or
    of an ancestor (the projector's published closure) that include descendants."""
    followed: defaultdict[str, dict[str, int]] = defaultdict(dict)
    for unit_id in unit_ids:
        followed[unit_id][unit_id] = 0
    for chunk in chunks(sorted(unit_ids)):
        rows = await connection.execute(
            sa.select(closure).where(closure.c.descendant_id.in_(chunk))
        )
        for row in rows:
            followed[row.descendant_id][row.ancestor_id] = row.depth
    by_unit: defaultdict[str, list[Subscriber]] = defaultdict(list)
    for chunk in chunks(sorted({a for ancestors in followed.values() for a in ancestors})):
        rows = await connection.execute(
            _ENABLED.where(nt_subscriptions.c.unit_id.in_(chunk), ~nt_subscriptions.c.digest)
        )
        for row in rows:
            by_unit[row.unit_id].append(Subscriber.of(row))
    return {
        unit_id: [
            subscriber
            for ancestor, depth in ancestors.items()
            for subscriber in by_unit[ancestor]
            if depth == 0 or subscriber.include_descendants
        ]
        for unit_id, ancestors in followed.items()
    }


async def digest_subscribers(connection: AsyncConnection) -> list[Subscriber]:
    rows = await connection.execute(
        _ENABLED.where(nt_subscriptions.c.digest).order_by(nt_subscriptions.c.id)
    )
    return [Subscriber.of(row) for row in rows]
