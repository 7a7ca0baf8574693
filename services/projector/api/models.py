"""The query API's answers, and how stored figures become judged progress rows."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field

from services.projector.api.queries import Breakdown, Initiative, PhaseFigures, RunningTarget
from services.projector.api.queries import Unit as UnitRow
from services.projector.api.status import evaluate, ratio
from shared.contracts.campaigns import Metric
from shared.domain.participation import participating
from shared.domain.progress import Status, metric_value


class Unit(BaseModel):
    """A unit as every answer names it, read from the read models' row (``UnitRow``).

    Closed and merged units stay readable, so an old report's names can still be looked up;
    their ``state`` says they are history, and a merged one names its successor.
    """

    model_config = ConfigDict(from_attributes=True)

    unit_id: str
    name: str
    level: str = Field(description="national, province, district or grassroots")
    parent_id: str | None
    parent_name: str | None
    cluster: str | None = Field(description="Emulation cluster (cụm thi đua)")
    state: str = Field(description="open, closed (dissolved) or merged")
    merged_into: str | None = Field(
        default=None,
        description="For a merged unit, the unit it was merged into (đã sáp nhập vào), "
        "which now counts its initiatives and its former children; null otherwise",
    )
    merged_into_name: str | None = Field(default=None, description="That unit's name")


class TargetRule(BaseModel):
    """Where the required count comes from, so "5 % of members, none reported" can be shown."""

    kind: str = Field(description="count or ratio_of_members")
    value: str = Field(description="The count, or the share of members (0.05 = 5 %), exact")
    members: int | None = Field(description="Members the ratio was applied to")
    source_unit_id: str | None = Field(description="The unit whose plan sets this target")


class Participation(BaseModel):
    """Who took part (lượt đăng ký và nộp), beside what was submitted and found valid."""

    initiatives: int = Field(
        description="Initiatives registered or submitted, each once whatever became of it "
        "(withdrawn and rejected included)"
    )
    authors: int = Field(
        description="Distinct people among their authors: by member_id, else by name "
        "(without diacritics or case); registrations name no authors yet"
    )


@dataclass(frozen=True, slots=True)
class Judged:
    """A phase's figures judged at an instant: what a child's ranking entry shows of it."""

    metric: Metric
    target: int | None
    value: int
    ratio: float | None
    status: Status

    @classmethod
    def of(cls, figures: PhaseFigures, *, at: dt.datetime) -> Judged:
        metric = Metric(figures.metric or Metric.SUBMITTED)
        value = metric_value(metric, figures.counts)
        target = figures.required
        return cls(
            metric=metric,
            target=target,
            value=value,
            ratio=ratio(value, target),
            status=evaluate(
                value=value,
                target=target,
                starts_on=figures.starts_on,
                ends_on=figures.ends_on,
                at=at,
            ),
        )


class PhaseProgress(BaseModel):
    phase_id: str = Field(description="'' for the whole campaign")
    name: str
    starts_on: dt.date
    ends_on: dt.date = Field(description="Inclusive, a local date in the campaign's time zone")
    metric: Metric = Field(description="What the target counts; submitted when there is none")
    target: int | None = Field(description="Required count; null without one")
    value: int = Field(description="The metric's count")
    ratio: float | None = Field(description="value / target (0.674 = 67.4 %)")
    status: Status
    submitted: int
    approved: int = Field(description="Approved or recognised")
    counts: dict[str, int] = Field(description="Initiatives per lifecycle status")
    participation: Participation
    rule: TargetRule | None

    @classmethod
    def judge(cls, figures: PhaseFigures, *, at: dt.datetime) -> PhaseProgress:
        judged = Judged.of(figures, at=at)
        return cls(
            phase_id=figures.phase_id,
            name=figures.name,
            starts_on=figures.starts_on,
            ends_on=figures.ends_on,
            metric=judged.metric,
            target=judged.target,
            value=judged.value,
            ratio=judged.ratio,
            status=judged.status,
            submitted=metric_value(Metric.SUBMITTED, figures.counts),
            approved=metric_value(Metric.APPROVED, figures.counts),
            counts=dict(figures.counts),
            participation=Participation(
                initiatives=participating(figures.counts), authors=figures.authors
            ),
            rule=TargetRule(
                kind=figures.kind,
                value=figures.value,
                members=figures.members,
                source_unit_id=figures.source_unit_id,
            )
            if figures.kind and figures.value
            else None,
        )


class Progress(BaseModel):
    unit: Unit
    campaign_id: str
    as_of: dt.datetime | None = Field(description="The instant asked for; null means now")
    evaluated_at: dt.datetime = Field(description="The instant statuses were judged at")
    phases: list[PhaseProgress] = Field(description="In the order they start")
    total: PhaseProgress | None = Field(description="The whole campaign")
    predecessors: list[str] = Field(
        default=[],
        description="With include=predecessors: the units merged into this one whose "
        "initiatives the figures add (each initiative once, in this unit's phases)",
    )


class ChildProgress(BaseModel):
    rank: int = Field(description="1 is best in this ranking")
    unit_id: str
    name: str
    cluster: str | None
    phase_id: str | None = Field(
        default=None,
        description="The child's phase ranked on ('' for its whole campaign, also when it "
        "has no phase of the id asked for); null when it has no plan",
    )
    phase_name: str | None = None
    metric: Metric = Metric.SUBMITTED
    target: int | None = None
    value: int = Field(
        default=0,
        description="The metric's count; without a plan, the whole campaign's submissions",
    )
    ratio: float | None = None
    status: Status = Status.NO_TARGET

    @classmethod
    def of(cls, child: UnitRow, phase: PhaseFigures, *, at: dt.datetime) -> ChildProgress:
        """The child's standing in ``phase`` at ``at``, unranked (0) until the ranking
        numbers it."""
        judged = Judged.of(phase, at=at)
        return cls(
            rank=0,
            unit_id=child.unit_id,
            name=child.name,
            cluster=child.cluster,
            phase_id=phase.phase_id,
            phase_name=phase.name,
            metric=judged.metric,
            target=judged.target,
            value=judged.value,
            ratio=judged.ratio,
            status=judged.status,
        )

    @classmethod
    def without_plan(cls, child: UnitRow, counts: Mapping[str, int]) -> ChildProgress:
        """A child without a plan: no phase and no target to judge, but its subtree's
        submissions over the whole campaign (``counts``), which are real figures all the same."""
        return cls(
            rank=0,
            unit_id=child.unit_id,
            name=child.name,
            cluster=child.cluster,
            value=metric_value(Metric.SUBMITTED, counts),
        )


class ClusterRanking(BaseModel):
    cluster: str = Field(description="Emulation cluster (cụm thi đua)")
    ranking: list[ChildProgress]


class Children(BaseModel):
    unit: Unit
    campaign_id: str
    phase_id: str | None = Field(description="The phase asked for; null: each child's current")
    ranking: list[ChildProgress]
    clusters: list[ClusterRanking]


class Reason(StrEnum):
    """Why a unit is on the follow-up list, the most urgent first."""

    NO_SUBMISSION = "no_submission"
    AT_RISK = "at_risk"


class FollowUpEntry(BaseModel):
    """A unit below to remind (đôn đốc): nothing submitted yet in a running phase with a
    target, or behind the pace its target needs."""

    reason: Reason = Field(description="no_submission (first) or at_risk")
    unit_id: str
    name: str
    level: str
    parent_id: str | None
    parent_name: str | None
    phase_id: str
    phase_name: str
    ends_on: dt.date = Field(description="The phase's last day, local")
    days_left: int = Field(
        description="Whole local days after today until the phase's last day (0 on it)"
    )
    metric: Metric
    target: int
    value: int = Field(description="The metric's count")
    ratio: float | None = Field(description="value / target")
    status: Status
    submitted: int = Field(description="Submissions in the phase, whatever the metric")

    @classmethod
    def of(cls, running: RunningTarget, status: Status, today: dt.date) -> FollowUpEntry | None:
        """The entry for a unit's running phase, short of its target, judged ``status``; None
        when it needs no reminder."""
        if running.submitted == 0:
            reason = Reason.NO_SUBMISSION
        elif status is Status.AT_RISK:
            reason = Reason.AT_RISK
        else:
            return None
        return cls(
            reason=reason,
            unit_id=running.unit_id,
            name=running.name,
            level=running.level,
            parent_id=running.parent_id,
            parent_name=running.parent_name,
            phase_id=running.phase_id,
            phase_name=running.phase_name,
            ends_on=running.ends_on,
            days_left=max((running.ends_on - today).days, 0),
            metric=Metric(running.metric or Metric.SUBMITTED),
            target=running.required,
            value=running.value,
            ratio=ratio(running.value, running.required),
            status=status,
            submitted=running.submitted,
        )


class FollowUp(BaseModel):
    unit: Unit
    campaign_id: str
    phase_id: str | None = Field(description="The phase asked for; null: each unit's running one")
    evaluated_at: dt.datetime = Field(
        description="The instant the phases and statuses are judged at"
    )
    page: int
    page_size: int
    total: int = Field(description="Units to follow up in all pages")
    items: list[FollowUpEntry] = Field(
        description="No submission first, then at risk by ratio ascending, then by name"
    )


class Point(BaseModel):
    day: dt.date
    value: int = Field(description="Net change on that local day")
    cumulative: int = Field(description="Running total since the first day with any change")


class Timeseries(BaseModel):
    unit: Unit
    campaign_id: str
    metric: Metric
    points: list[Point]


class Breakdowns(BaseModel):
    unit: Unit
    campaign_id: str
    participation: Participation | None = Field(
        description="The whole campaign's, as progress counts it (its phases); null without a plan"
    )
    category: list[Breakdown]
    author_type: list[Breakdown]
    solution_type: list[Breakdown]


class InitiativesPage(BaseModel):
    unit: Unit
    page: int
    page_size: int
    total: int
    items: list[Initiative]


class UnitsFound(BaseModel):
    items: list[Unit]


def daily_points(changes: list[tuple[dt.date, int]], start: dt.date, end: dt.date) -> list[Point]:
    """One point per day from ``start`` to ``end``, days without a change included.

    ``changes`` are the net changes by day in order, from the first day on (also before
    ``start``), so the cumulative figure is the running total since the campaign began.
    """
    net = dict(changes)
    cumulative = sum(value for day, value in changes if day < start)
    points = []
    for offset in range((end - start).days + 1):
        day = start + dt.timedelta(days=offset)
        cumulative += net.get(day, 0)
        points.append(Point(day=day, value=net.get(day, 0), cumulative=cumulative))
    return points
