"""What a notification says, in Vietnamese (the default) or English: pure functions of a decision.

One logic, two wordings: each language is a table of templates, so adding one is data, not
code. Every message is built from one sentence per fact ("Đơn vị X đã đạt 80 % chỉ tiêu
Giai đoạn 1 (540/675)"), so the subject, plain text, HTML and a digest's per-child lines
never disagree. Numbers follow each language (13.500 and 66,7 % in Vietnamese; 13,500 and
66.7% in English); dates are local to the campaign (Asia/Ho_Chi_Minh).

A decision's ``details`` (written by the rules) may carry ``forecast`` (the value expected
at the phase's end) and ``days_left`` for ``at_risk`` and ``back_on_track``, and for
``digest`` the ``children``: objects with ``unit_id``, ``rule``, ``value``, ``target`` and
optionally ``threshold`` and ``forecast``. A threshold is a share of the target (0.8 = 80 %).
"""

from __future__ import annotations

import datetime as dt
import html
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.engine import RowMapping

from shared import wording as shared_words
from shared.domain.campaign import CAMPAIGN_ZONE
from shared.domain.phases import local_date
from shared.wording import Vocabulary

PAYLOAD_SCHEMA_VERSION = 1


@dataclass(frozen=True)
class DecisionView:
    """A decision with the names and dates its message needs (``names``: digest children)."""

    decision_id: int
    key: str
    rule: str
    unit_id: str
    unit_name: str
    campaign_id: str
    phase_id: str
    phase_name: str
    ends_on: dt.date | None
    threshold: float | None
    value: int
    target: int | None
    decided_at: dt.datetime
    details: Mapping[str, Any] = field(default_factory=dict)
    names: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Message:
    subject: str
    text: str
    html: str


@dataclass(frozen=True)
class Fact:
    """One unit's figures under one rule: what one sentence states."""

    unit_id: str
    name: str
    rule: str
    threshold: float | None
    value: int
    target: int | None
    forecast: int | None


@dataclass(frozen=True)
class Wording:
    """One language's templates; placeholders are filled by :func:`render`."""

    date: str
    unit: str
    whole_campaign: str
    ended: str
    currently: str
    needed: str
    needed_by: str
    met: str
    to_go: str
    phase_ends: str
    digest_heading: str
    follow_up_heading: str
    footer: str
    vocabulary: Vocabulary
    """Numbers, days left and the forecast, as the dashboard writes them."""


VIETNAMESE = Wording(
    vocabulary=shared_words.VIETNAMESE,
    date="{d:%d/%m/%Y}",
    unit="Đơn vị {name}",
    whole_campaign="toàn phong trào",
    ended="Giai đoạn đã kết thúc ngày {date}.",
    currently="Hiện đạt {ratio} chỉ tiêu",
    needed="; cần thêm {short} sáng kiến",
    needed_by=", hạn cuối là ngày {date}",
    met="Chúc mừng đơn vị đã hoàn thành chỉ tiêu!",
    to_go="Còn {short} sáng kiến nữa để hoàn thành chỉ tiêu",
    phase_ends="; giai đoạn kết thúc ngày {date}",
    digest_heading="Tình hình thực hiện chỉ tiêu {phase} của các đơn vị trực thuộc {name}:",
    follow_up_heading=(
        "Các đơn vị trực thuộc {name} cần đôn đốc thực hiện chỉ tiêu {phase} "
        "(chưa có sáng kiến, hoặc có nguy cơ không đạt):"
    ),
    footer=(
        "Đây là thông báo tự động của hệ thống theo dõi phong trào “1 triệu sáng kiến”; "
        "vui lòng không trả lời thư này."
    ),
)

ENGLISH = Wording(
    vocabulary=shared_words.ENGLISH,
    date="{d.day} {d:%B %Y}",
    unit="{name}",
    whole_campaign="the whole campaign",
    ended="The phase ended on {date}.",
    currently="Currently at {ratio} of the target",
    needed="; {short} more initiatives are needed",
    needed_by=" by {date}",
    met="Congratulations: the target has been met!",
    to_go="{short} more initiatives to meet the target",
    phase_ends="; the phase ends on {date}",
    digest_heading="Progress of the units under {name} against their target for {phase}:",
    follow_up_heading=(
        "Units under {name} to follow up on their target for {phase} "
        "(nothing counted yet, or at risk):"
    ),
    footer=(
        "This is an automatic notification from the “1 triệu sáng kiến” campaign tracker; "
        "please do not reply."
    ),
)

WORDINGS: Mapping[str, Wording] = {"vi": VIETNAMESE, "en": ENGLISH}
DEFAULT_LANGUAGE = "vi"


def wording(language: str) -> Wording:
    """The templates of ``language``; an unknown one falls back to Vietnamese."""
    return WORDINGS.get(language, WORDINGS[DEFAULT_LANGUAGE])


def decision_view(row: RowMapping, names: Mapping[str, str]) -> DecisionView:
    """A decision row (``nt_decisions``) as its message needs it; the phase's name and end
    come from the decision's details, as they were when it was decided."""
    details: Mapping[str, Any] = row["details"]
    ends_on = details.get("ends_on")
    return DecisionView(
        decision_id=row["id"],
        key=row["key"],
        rule=row["rule"],
        unit_id=row["unit_id"],
        unit_name=names.get(row["unit_id"], row["unit_id"]),
        campaign_id=row["campaign_id"],
        phase_id=row["phase_id"],
        phase_name=str(details.get("phase_name", row["phase_id"])),
        ends_on=None if ends_on is None else dt.date.fromisoformat(ends_on),
        threshold=row["threshold"],
        value=row["value"],
        target=row["target"],
        decided_at=row["decided_at"],
        details=details,
        names=names,
    )


def child_unit_ids(details: Mapping[str, Any]) -> list[str]:
    """Units a digest lists, so their names can be looked up before rendering."""
    return [str(child["unit_id"]) for child in details.get("children", [])]


def facts(view: DecisionView) -> list[Fact]:
    """The decision's own fact, or a digest's one fact per child."""
    if view.rule != "digest":
        forecast = view.details.get("forecast")
        return [
            Fact(
                view.unit_id,
                view.unit_name,
                view.rule,
                view.threshold,
                view.value,
                view.target,
                forecast,
            )
        ]
    return [
        Fact(
            unit_id=str(child["unit_id"]),
            name=view.names.get(str(child["unit_id"]), str(child["unit_id"])),
            rule=str(child["rule"]),
            threshold=child.get("threshold"),
            value=int(child["value"]),
            target=child.get("target"),
            forecast=child.get("forecast"),
        )
        for child in view.details.get("children", [])
    ]


def is_follow_up(view: DecisionView) -> bool:
    """A digest listing the units to chase rather than the decisions of a day."""
    return view.rule == "digest" and view.details.get("rule") == "follow_up"


def days_left(view: DecisionView) -> int | None:
    """Whole days left after the day of the judgement (the rule's ``days_left``, else counted
    from the local day of ``decided_at``); None without an end date."""
    if "days_left" in view.details:
        return int(view.details["days_left"])
    if view.ends_on is None:
        return None
    return max((view.ends_on - local_date(view.decided_at, CAMPAIGN_ZONE)).days, 0)


def shortfall(value: int, target: int | None) -> int:
    return max((target or 0) - value, 0)


class _Writer:
    """Fills one wording's templates for one decision."""

    def __init__(self, words: Wording, view: DecisionView) -> None:
        self.words = words
        self.view = view
        self.phase = view.phase_name or words.whole_campaign
        self.days = days_left(view)

    def number(self, n: int) -> str:
        return self.words.vocabulary.number(n)

    def percent(self, ratio: float) -> str:
        return self.words.vocabulary.share(ratio)

    def date(self, day: dt.date) -> str:
        return self.words.date.format(d=day)

    def figures(self, value: int, target: int | None) -> str:
        """``540/675``, or the bare value without a target."""
        shown = self.number(value)
        return shown if target is None else f"{shown}/{self.number(target)}"

    def sentence(self, fact: Fact, name: str) -> str:
        figures = self.figures(fact.value, fact.target)
        forecast = (
            None
            if fact.forecast is None
            else self.words.vocabulary.forecast.format(
                figures=self.figures(fact.forecast, fact.target)
            )
        )
        remaining = ""
        if self.days is not None:
            remaining = ", " + self.words.vocabulary.days_left(self.days)
        return self.words.vocabulary.sentences[fact.rule].format(
            name=name,
            phase=self.phase,
            share=self.percent(fact.threshold or 0.0),
            figures=figures,
            outlook=forecast or figures,
            remaining=remaining,
            also="" if forecast is None else ", " + forecast,
            short=self.number(shortfall(fact.value, fact.target)),
        )

    def follow_up(self) -> str | None:
        """A second line: what is still needed, by when, or that the target is met."""
        view, words = self.view, self.words
        if not view.target:
            return None
        short = shortfall(view.value, view.target)
        ends = "" if view.ends_on is None else self.date(view.ends_on)
        if view.rule in ("missed", "achieved"):
            return words.ended.format(date=ends) if ends else None
        if view.rule in ("at_risk", "back_on_track"):
            line = words.currently.format(ratio=self.percent(view.value / view.target))
            if short:
                line += words.needed.format(short=self.number(short))
                line += words.needed_by.format(date=ends) if ends else ""
            return line + "."
        if view.rule == "threshold_crossed":
            if not short:
                return words.met
            line = words.to_go.format(short=self.number(short))
            return line + (words.phase_ends.format(date=ends) if ends else "") + "."
        return None

    def subject(self) -> str:
        rule = "follow_up" if is_follow_up(self.view) else self.view.rule
        return self.words.vocabulary.subjects[rule].format(
            name=self.view.unit_name,
            phase=self.phase,
            share=self.percent(self.view.threshold or 0.0),
        )


def render(decision: DecisionView, language: str) -> Message:
    """The message for ``decision`` in ``language`` (unknown languages get Vietnamese)."""
    words = wording(language)
    writer = _Writer(words, decision)
    items: list[str] = []
    if decision.rule == "digest":
        heading = words.follow_up_heading if is_follow_up(decision) else words.digest_heading
        lines = [heading.format(phase=writer.phase, name=decision.unit_name)]
        items = [writer.sentence(child, child.name) for child in facts(decision)]
    else:
        (own,) = facts(decision)
        lines = [writer.sentence(own, words.unit.format(name=own.name)) + "."]
        follow_up = writer.follow_up()
        lines += [follow_up] if follow_up else []
    return Message(
        subject=writer.subject(),
        text=_text(lines, items, words.footer),
        html=_html(lines, items, words.footer),
    )


def webhook_payload(decision: DecisionView, message: Message, language: str) -> dict[str, Any]:
    """The JSON a webhook receives: the figures for machines, the message for people."""
    ratio = decision.value / decision.target if decision.target else None
    return {
        "schema_version": PAYLOAD_SCHEMA_VERSION,
        "decision_id": decision.decision_id,
        "key": decision.key,
        "rule": decision.rule,
        "decided_at": decision.decided_at.isoformat(),
        "unit": {"id": decision.unit_id, "name": decision.unit_name},
        "campaign_id": decision.campaign_id,
        "phase": {
            "id": decision.phase_id,
            "name": decision.phase_name,
            "ends_on": None if decision.ends_on is None else decision.ends_on.isoformat(),
        },
        "values": {
            "value": decision.value,
            "target": decision.target,
            "ratio": ratio,
            "threshold": decision.threshold,
            "forecast": decision.details.get("forecast"),
        },
        "children": [
            {
                "unit": {"id": child.unit_id, "name": child.name},
                "rule": child.rule,
                "value": child.value,
                "target": child.target,
                "threshold": child.threshold,
                "forecast": child.forecast,
            }
            for child in (facts(decision) if decision.rule == "digest" else [])
        ],
        "message": {
            "language": language if language in WORDINGS else DEFAULT_LANGUAGE,
            "subject": message.subject,
            "text": message.text,
        },
    }


def _text(lines: Sequence[str], items: Sequence[str], footer: str) -> str:
    return "\n".join([*lines, *(f"- {item}" for item in items), "", "--", footer]) + "\n"


def _html(lines: Sequence[str], items: Sequence[str], footer: str) -> str:
    paragraphs = "".join(f"<p>{html.escape(line)}</p>" for line in lines)
    listing = "".join(f"<li>{html.escape(item)}</li>" for item in items)
    return (
        '<!DOCTYPE html><html><head><meta charset="utf-8"></head><body>'
        f"{paragraphs}{f'<ul>{listing}</ul>' if listing else ''}"
        f'<hr><p style="color:#666;font-size:small">{html.escape(footer)}</p></body></html>'
    )
