"""The notifier's rules: pure functions of a unit's figures and an instant, no I/O, no clock.

Each rule yields a :class:`Decision` with a deterministic key (unit, campaign, phase, rule,
threshold or date). The database keeps keys unique, so judging the same figures again (a
redelivered change, a clock restarted after a crash) never decides anything twice.

- ``threshold_crossed``: the value reached a share of the target (50 %, 80 %, 100 % by
  default) not decided before for that phase; several at once give one decision naming
  the highest. Decided only while the phase runs (:func:`not_running`).
- ``at_risk`` / ``back_on_track``: from a share of the phase's time (half by default), the
  value projected linearly to the phase's end (value / elapsed share) is compared with the
  target, with hysteresis: a unit enters at risk below the target and leaves only at
  target × (1 + margin), or when the target is reached, so a unit hovering near the line
  is not notified again and again.
- ``missed``: the phase is over (local midnight after its last day) below the target.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from enum import StrEnum
from fractions import Fraction
from typing import Any
from urllib.parse import quote
from zoneinfo import ZoneInfo

from shared.contracts.campaigns import PhaseSpec
from shared.domain.campaign import CAMPAIGN_ZONE
from shared.domain.phases import Window, local_date

"""Where phase dates are read; the read models do not carry each campaign's zone yet."""


class Rule(StrEnum):
    THRESHOLD_CROSSED = "threshold_crossed"
    AT_RISK = "at_risk"
    BACK_ON_TRACK = "back_on_track"
    MISSED = "missed"
    DIGEST = "digest"
    """Not judged on figures: one message listing a subtree's decisions of one rule."""


UNIT_RULES = (Rule.THRESHOLD_CROSSED, Rule.AT_RISK, Rule.BACK_ON_TRACK, Rule.MISSED)
"""The rules judged per unit, which a subscription lists."""


@dataclass(frozen=True, slots=True)
class RuleConfig:
    """One campaign's parameters (``NotifierSettings.rules_for`` gives the configured ones)."""

    thresholds: tuple[float, ...] = (0.5, 0.8, 1.0)
    at_risk_from_elapsed: float = 0.5
    back_on_track_margin: float = 0.05


@dataclass(frozen=True, slots=True)
class Figures:
    """The notifier's copy of one (unit, campaign, phase): ``phase_id`` '' = whole campaign."""

    unit_id: str
    campaign_id: str
    phase_id: str
    phase_name: str
    starts_on: dt.date
    ends_on: dt.date
    metric: str | None
    value: int
    target: int | None
    at_risk: bool = False

    @property
    def ratio(self) -> float | None:
        return self.value / self.target if self.target else None

    @property
    def window(self) -> PhaseSpec:
        # Built without validation: rows come from the projector, which validated the plan.
        return PhaseSpec.model_construct(
            phase_id=self.phase_id,
            name=self.phase_name,
            starts_on=self.starts_on,
            ends_on=self.ends_on,
        )


@dataclass(frozen=True, slots=True)
class Decision:
    key: str
    rule: Rule
    unit_id: str
    campaign_id: str
    phase_id: str
    threshold: float | None
    value: int
    target: int | None
    details: dict[str, Any]


def decision_key(unit_id: str, campaign_id: str, phase_id: str, rule: Rule, qualifier: str) -> str:
    """``unit/campaign/phase/rule/qualifier``, each part percent-encoded so none is ambiguous."""
    return "/".join(
        quote(part, safe="") for part in (unit_id, campaign_id, phase_id, rule, qualifier)
    )


def _decision(
    figures: Figures, rule: Rule, qualifier: str, threshold: float | None = None, **extra: Any
) -> Decision:
    return Decision(
        key=decision_key(figures.unit_id, figures.campaign_id, figures.phase_id, rule, qualifier),
        rule=rule,
        unit_id=figures.unit_id,
        campaign_id=figures.campaign_id,
        phase_id=figures.phase_id,
        threshold=threshold,
        value=figures.value,
        target=figures.target,
        details={
            "phase_name": figures.phase_name,
            "starts_on": figures.starts_on.isoformat(),
            "ends_on": figures.ends_on.isoformat(),
            "metric": figures.metric,
            "ratio": None if figures.ratio is None else round(figures.ratio, 4),
            **extra,
        },
    )


# -- threshold_crossed ----------------------------------------------------------------------


def reached(value: int, target: int, threshold: float) -> bool:
    """``value ≥ threshold × target`` exactly: 0.8 × 15 is 12, not 12.000000000000002."""
    return value >= Fraction(str(threshold)) * target


def crossed_threshold(
    value: int, target: int | None, thresholds: Iterable[float], decided: float | None
) -> float | None:
    """The highest threshold the value reached that is above every one already ``decided``.

    A threshold is decided at most once per phase, and never below one already decided: a
    unit that fell back (withdrawals, a raised target) and climbs again is not told twice.
    """
    if not target:
        return None
    open_ = [
        t for t in thresholds if (decided is None or t > decided) and reached(value, target, t)
    ]
    return max(open_, default=None)


def threshold_decision(
    figures: Figures, config: RuleConfig, decided: float | None
) -> Decision | None:
    threshold = crossed_threshold(figures.value, figures.target, config.thresholds, decided)
    if threshold is None:
        return None
    return _decision(figures, Rule.THRESHOLD_CROSSED, f"{threshold:g}", threshold)


class Skip(StrEnum):
    """Why a threshold crossing was not decided."""

    PHASE_OVER = "phase_over"
    PHASE_NOT_STARTED = "phase_not_started"


def not_running(figures: Figures, now: dt.datetime, zone: ZoneInfo = CAMPAIGN_ZONE) -> Skip | None:
    """Why no threshold is decided for these figures at ``now``; None while their phase runs.

    A reorganisation or a backfill re-sums phases long over: an official is not told in 2026
    that a unit reached 80 % of a phase that ended in 2022. ``now`` is the notifier's clock,
    not the change's ``as_of``, which for a backfill is years old.
    """
    window = Window.of(figures.window, zone)
    if window.running(now):
        return None
    return Skip.PHASE_OVER if now >= window.deadline else Skip.PHASE_NOT_STARTED


# -- at_risk / back_on_track / missed ---------------------------------------------------------


def forecast(value: int, elapsed: float) -> float:
    """The value at the phase's end if the pace so far goes on: value / elapsed share."""
    return value / elapsed


def pace_transition(
    at_risk: bool, value: int, projected: float, target: int, margin: float
) -> Rule | None:
    """Hysteresis: enter below the target, leave at target × (1 + margin) or when reached."""
    if not at_risk and projected < target:
        return Rule.AT_RISK
    if at_risk and (value >= target or projected >= target * (1 + margin)):
        return Rule.BACK_ON_TRACK
    return None


@dataclass(frozen=True, slots=True)
class Judgement:
    decisions: list[Decision]
    figures: Figures
    """The figures with their at-risk flag after the judgement."""


def judge(
    figures: Figures,
    now: dt.datetime,
    config: RuleConfig,
    *,
    figures_as_of: dt.datetime | None = None,
    zone: ZoneInfo = CAMPAIGN_ZONE,
) -> Judgement:
    """The deadline and pace rules at ``now`` (threshold crossings are judged per change).

    ``figures_as_of`` is the time of the latest fact the figures include, when they may be
    old (a change replayed from a backlog): a phase is judged missed only on figures known
    to include its deadline, never on a value from before it. None means current figures.
    """
    target = figures.target
    if not target:
        return Judgement([], figures)
    window = Window.of(figures.window, zone)
    deadline = window.deadline
    if now >= deadline:
        settled = figures_as_of is None or figures_as_of >= deadline
        if not settled or figures.value >= target:
            return Judgement([], figures)
        decision = _decision(
            figures,
            Rule.MISSED,
            figures.ends_on.isoformat(),
            shortfall=target - figures.value,
            deadline=deadline.isoformat(),
        )
        return Judgement([decision], figures)
    elapsed = window.elapsed(now)
    if elapsed <= 0 or elapsed < config.at_risk_from_elapsed:
        return Judgement([], figures)
    projected = forecast(figures.value, elapsed)
    rule = pace_transition(
        figures.at_risk, figures.value, projected, target, config.back_on_track_margin
    )
    if rule is None:
        return Judgement([], figures)
    today = local_date(now, zone)
    decision = _decision(
        figures,
        rule,
        today.isoformat(),
        forecast=round(projected),
        elapsed_share=round(elapsed, 4),
        days_left=(figures.ends_on - today).days,
    )
    return Judgement([decision], replace(figures, at_risk=rule is Rule.AT_RISK))


# -- digests ---------------------------------------------------------------------------------


def digest_cutoffs(
    after: dt.datetime, until: dt.datetime, hour: int, zone: ZoneInfo = CAMPAIGN_ZONE
) -> list[dt.datetime]:
    """The daily digest instants (``hour`` o'clock local) in ``(after, until]``, oldest first.

    The digest at cutoff *E* lists the decisions made in the 24 hours before *E*.
    """
    cutoffs = []
    day = local_date(after, zone)
    while (cutoff := dt.datetime.combine(day, dt.time(hour), tzinfo=zone)) <= until:
        if cutoff > after:
            cutoffs.append(cutoff)
        day += dt.timedelta(days=1)
    return cutoffs


def digest_since(cutoff: dt.datetime, zone: ZoneInfo = CAMPAIGN_ZONE) -> dt.datetime:
    """Where the day a digest covers starts: the same local time the day before ``cutoff``."""
    # Arithmetic within one ZoneInfo is on the wall clock: a day is a local day.
    return cutoff.astimezone(zone) - dt.timedelta(days=1)


def digest_decision(
    parent_id: str,
    campaign_id: str,
    phase_id: str,
    rule: Rule,
    cutoff: dt.datetime,
    children: Sequence[Decision],
    zone: ZoneInfo = CAMPAIGN_ZONE,
) -> Decision:
    """One message for a subtree's decisions of ``rule`` in one phase in the day to ``cutoff``.

    ``children`` are the decisions listed; ``value`` counts them. The phase's name and end
    are the first child's (children following one plan share them).
    """
    day = local_date(cutoff, zone)
    listed = sorted(children, key=lambda child: (child.unit_id, child.key))
    first = listed[0].details
    return Decision(
        key=decision_key(parent_id, campaign_id, phase_id, Rule.DIGEST, f"{rule}@{day}"),
        rule=Rule.DIGEST,
        unit_id=parent_id,
        campaign_id=campaign_id,
        phase_id=phase_id,
        threshold=None,
        value=len(listed),
        target=None,
        details={
            "rule": str(rule),
            "date": day.isoformat(),
            "since": digest_since(cutoff, zone).isoformat(),
            "until": cutoff.isoformat(),
            "phase_name": first.get("phase_name", ""),
            "starts_on": first.get("starts_on"),
            "ends_on": first.get("ends_on"),
            "children": [
                {
                    "unit_id": child.unit_id,
                    "rule": str(child.rule),
                    "value": child.value,
                    "target": child.target,
                    "threshold": child.threshold,
                    "forecast": child.details.get("forecast"),
                    "key": child.key,
                }
                for child in listed
            ],
        },
    )
