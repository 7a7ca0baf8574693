"""The notifier's rules: pure functions of one row of figures at one instant, in a registry.

A rule is a :class:`RuleSpec`: the decisions it may take, what triggers it (a progress
change, a clock tick or both) and a pure judge. Judges read the figures with the domain's
one definition of progress (:mod:`shared.domain.progress`), so a notification never
disagrees with the status a unit's page shows. Each decision has a deterministic key (unit,
campaign, phase, rule, qualifier): the database keeps keys unique, so judging the same
figures again (a redelivered change, a check repeated after a crash) decides nothing twice.
Adding a rule is one function and one registry entry here, plus its words in
:mod:`shared.wording` and its tone on the dashboard
(``services/projector/api/dashboard/notifications.py``); tests hold both to :class:`Rule`.

- ``threshold_crossed`` (change): the value reached a share of the target (50 %, 80 %,
  100 % by default) above every share decided before; decided only while the phase runs
  by the figures' own time and before its deadline by the clock.
- ``at_risk`` / ``back_on_track`` (change and tick): the domain status entered or left
  ``at_risk`` while the phase runs (never after its deadline).
- ``missed`` / ``achieved`` (deadline): the final outcome of every target, once, judged at the
  first check after its deadline (plus a grace for late portals) whose figures are current.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from enum import StrEnum
from typing import Any
from urllib.parse import quote
from zoneinfo import ZoneInfo

from shared.domain.campaign import CAMPAIGN_ZONE
from shared.domain.phases import Window, local_date
from shared.domain.progress import Status, outcome, reached, standing


class Rule(StrEnum):
    THRESHOLD_CROSSED = "threshold_crossed"
    AT_RISK = "at_risk"
    BACK_ON_TRACK = "back_on_track"
    MISSED = "missed"
    ACHIEVED = "achieved"
    DIGEST = "digest"
    """Not judged on figures: one message listing a subtree's decisions of one rule."""
    FOLLOW_UP = "follow_up"
    """Digests only: the units below with a target in a running phase and nothing counted
    yet, then those at risk (đôn đốc)."""


class Trigger(StrEnum):
    CHANGE = "change"
    """A progress change arrived: judged at the figures' own time (their ``as_of``, never
    later than the clock: a batch's time is that of its latest fact, of any phase)."""
    TICK = "tick"
    """The clock ticked: judged at the clock's now."""
    DEADLINE = "deadline"
    """The clock ticked and the figures are current: deadlines passed can be judged."""


@dataclass(frozen=True, slots=True)
class RuleConfig:
    """One campaign's parameters (``NotifierSettings.rules_for`` gives the configured ones)."""

    thresholds: tuple[float, ...] = (0.5, 0.8, 1.0)
    outcome_grace: dt.timedelta = dt.timedelta(minutes=15)
    """How long after a deadline late portal deliveries may still count for the outcome."""


@dataclass(frozen=True, slots=True)
class Row:
    """The notifier's copy of one (unit, campaign, phase) and what was decided on it.

    ``phase_id`` '' = whole campaign.
    """

    unit_id: str
    campaign_id: str
    phase_id: str
    phase_name: str
    starts_on: dt.date
    ends_on: dt.date
    metric: str | None
    value: int
    target: int | None
    as_of: dt.datetime
    """The time of the latest fact the figures include."""
    sequence: int | None = None
    """The projector's outbox position of the change the figures came from."""
    at_risk: bool = False
    """Whether ``at_risk`` is the last pace decision (none, or ``back_on_track``: False)."""
    decided_threshold: float | None = None
    outcome: Status | None = None

    @property
    def key(self) -> tuple[str, str, str]:
        return (self.unit_id, self.campaign_id, self.phase_id)

    @property
    def ratio(self) -> float | None:
        return self.value / self.target if self.target else None

    def window(self, zone: ZoneInfo = CAMPAIGN_ZONE) -> Window:
        return Window(self.starts_on, self.ends_on, zone)


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
    about: dt.datetime | None = None
    """The instant the decision is about when it is not news (a deadline): only the
    subscriptions that existed then are told; later ones find it in the list."""


@dataclass(frozen=True, slots=True)
class Moment:
    """What a judge reads: the row, the instant judged, the clock's now."""

    row: Row
    at: dt.datetime
    now: dt.datetime
    config: RuleConfig
    zone: ZoneInfo = CAMPAIGN_ZONE


@dataclass(frozen=True, slots=True)
class Verdict:
    decision: Decision
    row: Row
    """The row with what the decision changed of its state."""


class Skip(StrEnum):
    """Why something the figures show was not decided."""

    PHASE_OVER = "phase_over"
    PHASE_NOT_STARTED = "phase_not_started"


Judge = Callable[[Moment], Verdict | Skip | None]


@dataclass(frozen=True, slots=True)
class RuleSpec:
    decides: tuple[Rule, ...]
    triggers: frozenset[Trigger]
    judge: Judge


def decision_key(unit_id: str, campaign_id: str, phase_id: str, rule: str, qualifier: str) -> str:
    """``unit/campaign/phase/rule/qualifier``, each part percent-encoded so none is ambiguous."""
    return "/".join(
        quote(part, safe="") for part in (unit_id, campaign_id, phase_id, rule, qualifier)
    )


def _decision(
    row: Row,
    rule: Rule,
    qualifier: str,
    threshold: float | None = None,
    *,
    keyed_as: str | None = None,
    about: dt.datetime | None = None,
    **extra: Any,
) -> Decision:
    return Decision(
        key=decision_key(row.unit_id, row.campaign_id, row.phase_id, keyed_as or rule, qualifier),
        rule=rule,
        unit_id=row.unit_id,
        campaign_id=row.campaign_id,
        phase_id=row.phase_id,
        threshold=threshold,
        value=row.value,
        target=row.target,
        details={
            "phase_name": row.phase_name,
            "starts_on": row.starts_on.isoformat(),
            "ends_on": row.ends_on.isoformat(),
            "metric": row.metric,
            "ratio": None if row.ratio is None else round(row.ratio, 4),
            **extra,
        },
        about=about,
    )


def _news_skip(moment: Moment) -> Skip | None:
    """Why the figures are no news: the phase is not running, by the clock (a backfill
    re-summing a phase over in 2022) or at the instant judged."""
    window = moment.row.window(moment.zone)
    if moment.now >= window.deadline or moment.at >= window.deadline:
        return Skip.PHASE_OVER
    if moment.now < window.start or moment.at < window.start:
        return Skip.PHASE_NOT_STARTED
    return None


# -- threshold_crossed ----------------------------------------------------------------------


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


def judge_threshold(moment: Moment) -> Verdict | Skip | None:
    row = moment.row
    threshold = crossed_threshold(
        row.value, row.target, moment.config.thresholds, row.decided_threshold
    )
    if threshold is None:
        return None
    if skip := _news_skip(moment):
        return skip
    decision = _decision(row, Rule.THRESHOLD_CROSSED, f"{threshold:g}", threshold)
    return Verdict(decision, replace(row, decided_threshold=threshold))


# -- at_risk / back_on_track ------------------------------------------------------------------


def judge_pace(moment: Moment) -> Verdict | Skip | None:
    """A decision when the domain status enters or leaves ``at_risk``; keyed by the instant
    judged, so a unit that falls behind again later is told again."""
    row = moment.row
    if row.target is None or _news_skip(moment):
        return None
    judged = standing(row.value, row.target, row.window(moment.zone), moment.at)
    at_risk = judged.status is Status.AT_RISK
    if at_risk == row.at_risk:
        return None
    decision = _decision(
        row,
        Rule.AT_RISK if at_risk else Rule.BACK_ON_TRACK,
        f"{moment.at.astimezone(dt.UTC):%Y%m%dT%H%M%S.%fZ}",
        forecast=None if judged.forecast is None else round(judged.forecast),
        elapsed_share=round(judged.elapsed, 4),
        days_left=row.window(moment.zone).days_left(moment.at),
    )
    return Verdict(decision, replace(row, at_risk=at_risk))


# -- missed / achieved ------------------------------------------------------------------------


def judge_outcome(moment: Moment) -> Verdict | Skip | None:
    """The final outcome once the deadline (plus the grace) has passed, decided once: both
    outcomes share one key, so a row never gets both."""
    row = moment.row
    if row.target is None or row.outcome is not None:
        return None
    deadline = row.window(moment.zone).deadline
    if moment.now < deadline + moment.config.outcome_grace:
        return None
    final = outcome(row.value, row.target)
    rule = Rule.MISSED if final is Status.MISSED else Rule.ACHIEVED
    extra = {"shortfall": row.target - row.value} if rule is Rule.MISSED else {}
    decision = _decision(
        row,
        rule,
        row.ends_on.isoformat(),
        keyed_as="outcome",
        about=deadline,
        deadline=deadline.isoformat(),
        **extra,
    )
    return Verdict(decision, replace(row, outcome=final))


REGISTRY: tuple[RuleSpec, ...] = (
    RuleSpec((Rule.THRESHOLD_CROSSED,), frozenset({Trigger.CHANGE}), judge_threshold),
    RuleSpec(
        (Rule.AT_RISK, Rule.BACK_ON_TRACK), frozenset({Trigger.CHANGE, Trigger.TICK}), judge_pace
    ),
    RuleSpec((Rule.MISSED, Rule.ACHIEVED), frozenset({Trigger.DEADLINE}), judge_outcome),
)

UNIT_RULES = tuple(rule for spec in REGISTRY for rule in spec.decides)
"""The rules judged per unit, which a subscription lists."""


@dataclass(frozen=True, slots=True)
class Judged:
    row: Row
    decisions: list[Decision]
    skipped: list[Skip]


def judge(
    row: Row, trigger: Trigger, at: dt.datetime, now: dt.datetime, config: RuleConfig
) -> Judged:
    """Every rule of ``trigger`` in registry order, each on the row the previous left."""
    decisions: list[Decision] = []
    skipped: list[Skip] = []
    for spec in REGISTRY:
        if trigger not in spec.triggers:
            continue
        verdict = spec.judge(Moment(row, at, now, config))
        if isinstance(verdict, Verdict):
            decisions.append(verdict.decision)
            row = verdict.row
        elif verdict is not None:
            skipped.append(verdict)
    return Judged(row, decisions, skipped)


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


def follow_up_decision(
    parent_id: str,
    campaign_id: str,
    phase_id: str,
    cutoff: dt.datetime,
    rows: Sequence[Row],
    zone: ZoneInfo = CAMPAIGN_ZONE,
) -> Decision | None:
    """The daily list of ``rows`` to chase in one running phase: those with nothing counted
    yet first, then those at risk, least advanced first; None when nobody needs it."""
    chased = [row for row in rows if row.target and (row.value == 0 or row.at_risk)]
    if not chased:
        return None
    chased.sort(key=lambda row: (row.value > 0, row.ratio or 0.0, row.unit_id))
    first = chased[0]
    return _digest(
        (parent_id, campaign_id, phase_id),
        Rule.FOLLOW_UP,
        local_date(cutoff, zone),
        {
            "until": cutoff.isoformat(),
            "phase_name": first.phase_name,
            "starts_on": first.starts_on.isoformat(),
            "ends_on": first.ends_on.isoformat(),
        },
        [
            _child(
                row.unit_id,
                "no_submission" if row.value == 0 else Rule.AT_RISK,
                row.value,
                row.target,
            )
            for row in chased
        ],
    )


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
    listed = sorted(children, key=lambda child: (child.unit_id, child.key))
    first = listed[0].details
    return _digest(
        (parent_id, campaign_id, phase_id),
        rule,
        local_date(cutoff, zone),
        {
            "since": digest_since(cutoff, zone).isoformat(),
            "until": cutoff.isoformat(),
            "phase_name": first.get("phase_name", ""),
            "starts_on": first.get("starts_on"),
            "ends_on": first.get("ends_on"),
        },
        [
            _child(
                child.unit_id,
                child.rule,
                child.value,
                child.target,
                threshold=child.threshold,
                forecast=child.details.get("forecast"),
                key=child.key,
            )
            for child in listed
        ],
    )


def _digest(
    row: tuple[str, str, str],
    listing: str,
    day: dt.date,
    about: dict[str, Any],
    children: list[dict[str, Any]],
) -> Decision:
    """One daily message for a parent's ``row`` (unit, campaign, phase) listing
    ``children``; ``value`` counts them."""
    parent_id, campaign_id, phase_id = row
    return Decision(
        key=decision_key(parent_id, campaign_id, phase_id, Rule.DIGEST, f"{listing}@{day}"),
        rule=Rule.DIGEST,
        unit_id=parent_id,
        campaign_id=campaign_id,
        phase_id=phase_id,
        threshold=None,
        value=len(children),
        target=None,
        details={"rule": str(listing), "date": day.isoformat(), **about, "children": children},
    )


def _child(
    unit_id: str,
    rule: str,
    value: int,
    target: int | None,
    *,
    threshold: float | None = None,
    forecast: Any = None,
    key: str | None = None,
) -> dict[str, Any]:
    return {
        "unit_id": unit_id,
        "rule": str(rule),
        "value": value,
        "target": target,
        "threshold": threshold,
        "forecast": forecast,
        "key": key,
    }
