"""The notifications decided for a unit, read from the notifier's published decisions.

The dashboard only reads the view the notifier publishes (``published_decisions``) and words
each decision itself: the services stay independent, and a page needs a short line, not the e-mail.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from services.projector.api.dashboard.i18n import Formats
from shared.persistence.published import published_decisions

SHOWN = 20


@dataclass(frozen=True, slots=True)
class PublishedDecision:
    rule: str
    phase_id: str
    threshold: float | None
    value: int
    target: int | None
    details: Mapping[str, Any]
    decided_at: dt.datetime


@dataclass(frozen=True, slots=True)
class NotificationLine:
    """One decision as the page shows it."""

    decided_at: str
    rule: str
    tone: str
    """The status colour the rule's news deserves."""
    phase: str
    figures: str


TONES = {
    "threshold_crossed": "achieved",
    "back_on_track": "on_track",
    "at_risk": "at_risk",
    "missed": "missed",
    "achieved": "achieved",
    "digest": "no_target",
}


async def recent_decisions(
    engine: AsyncEngine, unit_id: str, campaign_id: str
) -> list[PublishedDecision]:
    """The unit's latest decisions in the campaign, newest first."""
    table = published_decisions
    query = (
        sa.select(
            table.c.rule,
            table.c.phase_id,
            table.c.threshold,
            table.c.value,
            table.c.target,
            table.c.details,
            table.c.decided_at,
        )
        .where(table.c.unit_id == unit_id, table.c.campaign_id == campaign_id)
        .order_by(table.c.id.desc())
        .limit(SHOWN)
    )
    async with engine.connect() as connection:
        rows = (await connection.execute(query)).all()
    return [PublishedDecision(**row._mapping) for row in rows]


def notification_line(decision: PublishedDecision, formats: Formats) -> NotificationLine:
    words = formats.words
    template = words.rules.get(decision.rule, decision.rule)
    label = template.format(share=formats.share(decision.threshold or 0.0))
    if decision.rule == "digest":
        inner = str(decision.details.get("rule", ""))
        children = decision.details.get("children") or [{}]
        share = formats.share(children[0].get("threshold") or 0.0)
        figures = words.digest_children.format(
            count=formats.number(decision.value),
            rule=words.rules.get(inner, inner).format(share=share),
        )
    else:
        figures = _figures(formats, decision.value, decision.target)
        if decision.target:
            figures += f" ({formats.percent(decision.value / decision.target)})"
        forecast = decision.details.get("forecast")
        if isinstance(forecast, int):
            forecast_figures = _figures(formats, forecast, decision.target)
            figures += ", " + words.vocabulary.forecast.format(figures=forecast_figures)
    return NotificationLine(
        decided_at=formats.instant(decision.decided_at),
        rule=label,
        tone=TONES.get(decision.rule, "no_target"),
        phase=str(decision.details.get("phase_name") or words.whole_campaign),
        figures=figures,
    )


def _figures(formats: Formats, value: int, target: int | None) -> str:
    shown = formats.number(value)
    return shown if target is None else f"{shown}/{formats.number(target)}"
