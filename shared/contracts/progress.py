"""``progress.changes.v1``: the projector tells the notifier that a unit's figures moved.

One message per (unit, campaign, phase) whose value or target changed in a committed batch,
keyed by unit id. ``phase_id`` is empty for the whole-campaign row.
"""

from __future__ import annotations

import datetime as dt
from typing import ClassVar

from pydantic import AwareDatetime, BaseModel, ConfigDict


class ProgressFigures(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")

    value: int
    target: int | None

    @property
    def ratio(self) -> float | None:
        return None if not self.target else self.value / self.target


class ProgressChanged(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")

    type: ClassVar[str] = "progress.changed"
    schema_version: int = 1

    unit_id: str
    campaign_id: str
    phase_id: str
    phase_name: str
    starts_on: dt.date
    ends_on: dt.date
    metric: str | None
    before: ProgressFigures
    after: ProgressFigures
    as_of: AwareDatetime
    """The time of the latest fact the new figures include."""
    sequence: int | None = None
    """The change's position in the projector's progress outbox (its row id): for one
    (unit, campaign, phase) a later change always has a higher sequence, since the projector
    writes the figures under a row lock before it inserts the outbox row, so two
    instances' changes of one row are ordered. Lets a consumer keep its copy from moving
    backwards; ``None`` from producers before it."""
