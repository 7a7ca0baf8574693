"""Prints the notifier's decisions to the terminal as they are made, in the chosen language.

The demo has no webhook receiver or mail relay, yet a newcomer should see notifications
fire; the decisions are read from the notifier's table, as the dashboard reads them.
"""

from __future__ import annotations

import asyncio
import logging

import sqlalchemy as sa
from rich.console import Console
from rich.markup import escape
from sqlalchemy.ext.asyncio import AsyncEngine

from services.notifier.messages import decision_view, render
from services.notifier.store import unit_names
from shared.persistence.published import published_decisions as decisions

log = logging.getLogger(__name__)

BATCH = 200
SHOWN_PER_POLL = 5
"""A burst (a history being judged, a big import) is summed up, not scrolled past."""


class NotificationLog:
    def __init__(
        self, engine: AsyncEngine, console: Console, language: str, interval_seconds: float = 1.0
    ) -> None:
        self._engine = engine
        self._console = console
        self._language = language
        self._interval = interval_seconds
        self._last_id = 0

    async def skip_existing(self) -> int:
        """Start after the decisions made so far (the sample's history); how many there are."""
        async with self._engine.connect() as connection:
            last, count = (
                await connection.execute(sa.select(sa.func.max(decisions.c.id), sa.func.count()))
            ).one()
        self._last_id = int(last or 0)
        return int(count)

    async def print_new(self) -> int:
        async with self._engine.connect() as connection:
            rows = (
                (
                    await connection.execute(
                        sa.select(decisions)
                        .where(decisions.c.id > self._last_id)
                        .order_by(decisions.c.id)
                        .limit(BATCH)
                    )
                )
                .mappings()
                .all()
            )
            names = await unit_names(connection, {row["unit_id"] for row in rows})
        for row in rows[:SHOWN_PER_POLL]:
            message = render(decision_view(row, names), self._language)
            self._console.print(f"[bold yellow]🔔 {escape(message.subject)}[/]", soft_wrap=True)
        if len(rows) > SHOWN_PER_POLL:
            self._console.print(
                f"[yellow]🔔 … and {len(rows) - SHOWN_PER_POLL} more "
                "(all of them: GET /v1/notifications, or each unit's page)[/]"
            )
        if rows:
            self._last_id = rows[-1]["id"]
        return len(rows)

    async def run(self) -> None:
        while True:
            try:
                while await self.print_new() == BATCH:
                    pass
            except Exception:
                log.exception("could not read the notifier's decisions")
            await asyncio.sleep(self._interval)
