"""A deterministic national campaign at any scale, as portal events in time order.

Scale 1 is the real campaign's shape: 83 top-level units (63 provinces, 20 sector unions),
about 700 district-level units, about 126,000 grassroots unions with about 10.5 million
members, plans with count and ratio targets, and 2.4 million initiatives (about 7 million
events) with surges before each phase deadline, reviews, revisions, recognitions,
withdrawals, and a few unit moves and merges. ``--scale 0.01`` is the same, proportionally.
"""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from shared.contracts.registry import CURRENT

CAMPAIGN = "1-trieu-sang-kien"
UTC7 = dt.timezone(dt.timedelta(hours=7))
PHASES = (
    ("p1", "Giai đoạn 1", dt.date(2022, 1, 1), dt.date(2022, 5, 31)),
    ("p2", "Giai đoạn 2", dt.date(2022, 6, 1), dt.date(2023, 9, 30)),
)
CATEGORIES = ("covid19", "production", "productivity", "admin_reform", "union_work", "digital")
AUTHOR_TYPES = (
    "member",
    "member",
    "member",
    "worker",
    "union_official",
    "manager",
    "civil_servant",
    "public_employee",
)
SOLUTIONS = ("technical", "management", "operational", "technology_application", "research")
AUTHORS_PER_UNIT = 25
"""Members of a grassroots union who author its initiatives: about 19 initiatives a union
at scale 1, so many authors take part more than once (distinct authors < author entries)."""
REGISTERED_FIRST = 0.45
"""Share of initiatives announced (đăng ký) before their content is submitted (nộp); with
the reviews it brings the national set to about 7 million events."""


@dataclass(frozen=True)
class Shape:
    top_level: int
    districts: int
    grassroots: int
    initiatives: int

    @classmethod
    def at(cls, scale: float) -> Shape:
        return cls(
            top_level=max(2, round(83 * scale)),
            districts=max(4, round(700 * scale)),
            grassroots=max(8, round(126_000 * scale)),
            initiatives=max(20, round(2_400_000 * scale)),
        )


def _event(n: int, kind: str, at: dt.datetime, data: dict[str, Any]) -> dict[str, Any]:
    return {
        "event_id": f"w-{n}",
        "type": kind,
        "schema_version": CURRENT.model_for(kind).schema_version,
        "occurred_at": at.isoformat(),
        "source": "benchmark-portal",
        "data": data,
    }


def _submission_time(rng: random.Random) -> dt.datetime:
    """Mostly spread over the phase, with a surge in its last two weeks."""
    _, _, starts, ends = PHASES[0] if rng.random() < 0.35 else PHASES[1]
    span = (ends - starts).days
    day = span - rng.randint(0, 13) if rng.random() < 0.3 else rng.randint(0, span)
    start = dt.datetime.combine(starts, dt.time(7), tzinfo=UTC7)
    return start + dt.timedelta(days=day, minutes=rng.randint(0, 14 * 60))


def generate(scale: float, seed: int = 2022) -> Iterator[dict[str, Any]]:
    rng = random.Random(seed)
    shape = Shape.at(scale)
    count = iter(range(1, 1 << 62))
    setup = dt.datetime(2021, 12, 20, 8, tzinfo=UTC7)

    def reference(kind: str, data: dict[str, Any]) -> dict[str, Any]:
        return _event(next(count), kind, setup, data)

    yield reference("campaign.defined", {"campaign_id": CAMPAIGN, "name": "1 triệu sáng kiến"})
    yield reference(
        "unit.registered",
        {"unit_id": "vn", "name": "Tổng Liên đoàn Lao động Việt Nam", "level": "national"},
    )
    tops = [f"t{n}" for n in range(shape.top_level)]
    # One large province (about one district in twelve), as Hà Nội is.
    districts = [
        (f"d{n}", tops[0] if n % 12 == 0 else tops[n % len(tops)]) for n in range(shape.districts)
    ]
    grassroots = [(f"g{n}", districts[n % len(districts)][0]) for n in range(shape.grassroots)]
    for top in tops:
        yield reference(
            "unit.registered",
            {"unit_id": top, "name": f"LĐLĐ tỉnh {top}", "parent_id": "vn", "level": "province"},
        )
    for district, parent in districts:
        yield reference(
            "unit.registered",
            {
                "unit_id": district,
                "name": f"LĐLĐ huyện {district}",
                "parent_id": parent,
                "level": "district",
            },
        )
    members: dict[str, int] = {}
    for unit, parent in grassroots:
        members[unit] = rng.randint(20, 150)
        yield reference(
            "unit.registered",
            {"unit_id": unit, "name": f"CĐCS {unit}", "parent_id": parent, "level": "grassroots"},
        )
        yield reference(
            "unit.membership_reported",
            {"unit_id": unit, "members": members[unit], "as_of": "2021-12-31"},
        )
    phases = [
        {"phase_id": p, "name": name, "starts_on": s.isoformat(), "ends_on": e.isoformat()}
        for p, name, s, e in PHASES
    ]
    yield reference(
        "plan.set",
        {
            "campaign_id": CAMPAIGN,
            "unit_id": "vn",
            "phases": phases,
            "targets": [
                {"phase_id": "p1", "kind": "count", "value": round(300_000 * scale) or 1},
                {"phase_id": None, "kind": "count", "value": round(1_000_000 * scale) or 1},
                {
                    "phase_id": "p1",
                    "kind": "ratio_of_members",
                    "value": "0.05",
                    "applies_to": "descendants",
                },
                {
                    "phase_id": "p2",
                    "kind": "ratio_of_members",
                    "value": "0.10",
                    "applies_to": "descendants",
                },
            ],
        },
    )
    for top in tops[: max(1, len(tops) // 4)]:
        yield reference(
            "plan.set",
            {
                "campaign_id": CAMPAIGN,
                "unit_id": top,
                "phases": [
                    {
                        "phase_id": f"{top}-{n}",
                        "name": f"Giai đoạn {n}",
                        "starts_on": s,
                        "ends_on": e,
                    }
                    for n, (s, e) in enumerate(
                        (
                            ("2022-01-01", "2022-05-31"),
                            ("2022-06-01", "2022-12-31"),
                            ("2023-01-01", "2023-09-30"),
                        ),
                        start=1,
                    )
                ],
                "targets": [
                    {"phase_id": f"{top}-1", "kind": "ratio_of_members", "value": "0.05"},
                    {"phase_id": f"{top}-2", "kind": "ratio_of_members", "value": "0.04"},
                    {"phase_id": f"{top}-3", "kind": "ratio_of_members", "value": "0.06"},
                    {"phase_id": None, "kind": "ratio_of_members", "value": "0.15"},
                ],
            },
        )
    initiatives = []
    for n in range(shape.initiatives):
        unit = grassroots[
            min(int(rng.paretovariate(1.2)) - 1, len(grassroots) - 1)
            if rng.random() < 0.2
            else rng.randrange(len(grassroots))
        ][0]
        initiatives.append((_submission_time(rng), n, unit))
    initiatives.sort()
    for submitted_at, n, unit in initiatives:
        yield from _lifecycle(rng, count, n, unit, submitted_at)
    yield from _reorganisation(rng, count, districts, grassroots)


def _reorganisation(
    rng: random.Random,
    count: Iterator[int],
    districts: list[tuple[str, str]],
    grassroots: list[tuple[str, str]],
) -> Iterator[dict[str, Any]]:
    """After the campaign: a few grassroots unions move, a few merge into a neighbour, and
    a few districts merge into another district (their grassroots unions follow)."""
    late = dt.datetime(2023, 10, 15, 8, tzinfo=UTC7)
    few = max(1, len(grassroots) // 20_000)
    for unit, _ in grassroots[:few]:
        target = districts[rng.randrange(len(districts))][0]
        yield _event(next(count), "unit.moved", late, {"unit_id": unit, "new_parent_id": target})
    for (unit, _), (into, _) in zip(grassroots[few : 2 * few], grassroots[2 * few :], strict=False):
        yield _event(next(count), "unit.merged", late, {"unit_id": unit, "into_unit_id": into})
    absorbed = districts[-max(1, len(districts) // 350) :]
    for district, _ in absorbed:
        into = districts[rng.randrange(len(districts) - len(absorbed))][0]
        yield _event(next(count), "unit.merged", late, {"unit_id": district, "into_unit_id": into})


def _lifecycle(
    rng: random.Random, count: Iterator[int], n: int, unit: str, at: dt.datetime
) -> Iterator[dict[str, Any]]:
    initiative = f"i{n}"
    if rng.random() < REGISTERED_FIRST:
        yield _event(
            next(count),
            "initiative.registered",
            at - dt.timedelta(days=rng.randint(1, 14)),
            {
                "initiative_id": initiative,
                "campaign_id": CAMPAIGN,
                "unit_id": unit,
                "title": f"Đăng ký sáng kiến số {n}",
            },
        )
    authors = [
        {
            "name": f"Tác giả {unit}-{member}",
            "member_id": f"dv-{unit}-{member}",
            "author_type": rng.choice(AUTHOR_TYPES),
        }
        for member in rng.sample(range(AUTHORS_PER_UNIT), rng.randint(1, 3))
    ]
    yield _event(
        next(count),
        "initiative.submitted",
        at,
        {
            "initiative_id": initiative,
            "campaign_id": CAMPAIGN,
            "unit_id": unit,
            "title": f"Sáng kiến số {n} về cải tiến quy trình",
            "category": rng.choice(CATEGORIES),
            "solution_type": rng.choice(SOLUTIONS),
            "authors": authors,
        },
    )
    roll = rng.random()
    later = at + dt.timedelta(days=rng.randint(3, 30))
    if roll < 0.05:
        yield _event(next(count), "initiative.withdrawn", later, {"initiative_id": initiative})
        return
    if roll < 0.10:
        return
    if roll < 0.25:
        yield _event(
            next(count),
            "initiative.revision_requested",
            later,
            {"initiative_id": initiative, "reason": "bổ sung"},
        )
        later += dt.timedelta(days=rng.randint(2, 10))
        yield _event(next(count), "initiative.resubmitted", later, {"initiative_id": initiative})
        later += dt.timedelta(days=rng.randint(2, 10))
    if roll < 0.35:
        yield _event(
            next(count),
            "initiative.rejected",
            later,
            {"initiative_id": initiative, "reason": "trùng lặp"},
        )
        return
    yield _event(next(count), "initiative.approved", later, {"initiative_id": initiative})
    if roll > 0.9:
        award = later + dt.timedelta(days=rng.randint(10, 90))
        yield _event(
            next(count),
            "initiative.recognized",
            award,
            {"initiative_id": initiative, "award_level": "cấp cơ sở"},
        )
