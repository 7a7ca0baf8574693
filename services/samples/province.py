"""A synthetic province running a live campaign around a given day, for the demo.

The seed cases are history (2022–2023); a dashboard only moves when a phase is open, so the
demo adds one province whose first phase started 110 days before ``today`` and ends ten
days after it, with submissions speeding up towards that deadline, reviews of the older
ones, a grassroots union moved between districts, and the province's own and its units'
targets as shares of their members. It is marked "mô phỏng" (simulated) everywhere a name
is shown. Everything is deterministic for a given ``today`` and seed.
"""

from __future__ import annotations

import datetime as dt
import math
import random
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from services.samples.national import AUTHOR_TYPES, CATEGORIES, SOLUTIONS, UTC7
from services.samples.portal_events import Event, envelope, updated

CAMPAIGN = "thi-dua-sang-kien-mo-phong"
PROVINCE = "son-minh"
PHASE_1_DAYS_BEFORE = 110
PHASE_1_DAYS_AFTER = 10
PHASE_2_DAYS = 180
UPDATED_EVERY = 40
"""One initiative in this many has its details corrected a day after its submission."""

_DISTRICTS = (
    ("sm-tp", "LĐLĐ thành phố Sơn Minh", "TP Sơn Minh"),
    ("sm-dong-lam", "LĐLĐ huyện Đồng Lâm", "Đồng Lâm"),
    ("sm-tan-phuoc", "LĐLĐ huyện Tân Phước", "Tân Phước"),
    ("sm-bao-yen", "LĐLĐ huyện Bảo Yên", "Bảo Yên"),
    ("sm-phu-thinh", "LĐLĐ thị xã Phú Thịnh", "Phú Thịnh"),
    ("sm-kcn", "Công đoàn các Khu công nghiệp tỉnh Sơn Minh", "KCN Sơn Minh"),
)
_PUBLIC_SECTOR = (
    "Trường THCS số {n}",
    "Trường Tiểu học số {n}",
    "Trạm Y tế xã số {n}",
    "UBND xã số {n}",
    "Bệnh viện Đa khoa khu vực số {n}",
)
_COMPANIES = (
    "Công ty TNHH May mặc số {n}",
    "Công ty CP Cơ khí số {n}",
    "Chi nhánh Điện lực số {n}",
    "Công ty TNHH Điện tử số {n}",
)
_FAMILY = ("Nguyễn", "Trần", "Lê", "Phạm", "Hoàng", "Vũ", "Đặng", "Bùi", "Đỗ", "Ngô")
_MIDDLE = ("Văn", "Thị", "Minh", "Đức", "Thu", "Hữu", "Ngọc")
_GIVEN = ("An", "Bình", "Cường", "Dung", "Hà", "Hương", "Lan", "Long", "Nam", "Quân", "Trang")
_SUBJECTS = (
    "quy trình tiếp nhận hồ sơ",
    "dây chuyền đóng gói",
    "quản lý kho vật tư",
    "tiết kiệm điện năng",
    "sổ theo dõi đoàn viên điện tử",
    "an toàn lao động tại xưởng",
    "lịch trực ca",
    "chăm sóc người bệnh",
)
_VERBS = ("Cải tiến", "Số hóa", "Tối ưu", "Đổi mới", "Ứng dụng công nghệ vào")


@dataclass(frozen=True)
class Grassroots:
    unit_id: str
    parent_id: str
    name: str
    members: int


def phases(today: dt.date) -> list[dict[str, str]]:
    first_ends = today + dt.timedelta(days=PHASE_1_DAYS_AFTER)
    return [
        {
            "phase_id": "sm-1",
            "name": "Giai đoạn 1",
            "starts_on": (today - dt.timedelta(days=PHASE_1_DAYS_BEFORE)).isoformat(),
            "ends_on": first_ends.isoformat(),
        },
        {
            "phase_id": "sm-2",
            "name": "Giai đoạn 2",
            "starts_on": (first_ends + dt.timedelta(days=1)).isoformat(),
            "ends_on": (first_ends + dt.timedelta(days=PHASE_2_DAYS)).isoformat(),
        },
    ]


def grassroots(seed: int = 2026, per_district: int = 40) -> list[Grassroots]:
    """The province's grassroots unions: names repeat per district, ids never do."""
    rng = random.Random(seed)
    units = []
    for district, _, place in _DISTRICTS:
        # Industrial zones hold companies only; elsewhere one union in three is a company's.
        kinds = _COMPANIES if district == "sm-kcn" else (*_PUBLIC_SECTOR, *_COMPANIES[:2])
        for n in range(1, per_district + 1):
            workplace = kinds[n % len(kinds)].format(n=n)
            units.append(
                Grassroots(
                    unit_id=f"{district}-{n}",
                    parent_id=district,
                    name=f"CĐCS {workplace} {place}",
                    members=rng.randint(25, 400),
                )
            )
    return units


def initiative(
    rng: random.Random, initiative_id: str, unit_id: str, at: dt.datetime, *, event_id: str
) -> Event:
    """One submission as a portal sends it, with one to three authors."""
    authors = [
        {
            "name": f"{rng.choice(_FAMILY)} {rng.choice(_MIDDLE)} {rng.choice(_GIVEN)}",
            "author_type": rng.choice(AUTHOR_TYPES),
        }
        for _ in range(rng.randint(1, 3))
    ]
    data = {
        "initiative_id": initiative_id,
        "campaign_id": CAMPAIGN,
        "unit_id": unit_id,
        "title": f"{rng.choice(_VERBS)} {rng.choice(_SUBJECTS)}",
        "category": rng.choice(CATEGORIES),
        "solution_type": rng.choice(SOLUTIONS),
        "authors": authors,
    }
    return envelope("initiative.submitted", data, at=at.isoformat(), event_id=event_id)


def correction(rng: random.Random, initiative_id: str, at: dt.datetime) -> Event:
    """The author corrects the field and adds a co-author, a civil servant, before review."""
    co_author = {
        "name": f"{rng.choice(_FAMILY)} {rng.choice(_MIDDLE)} {rng.choice(_GIVEN)}",
        "author_type": "civil_servant",
    }
    return updated(
        initiative_id,
        at.isoformat(),
        category=rng.choice(CATEGORIES),
        authors=[{"name": "Lê Thị Hoa", "author_type": "public_employee"}, co_author],
        event_id=f"sm-u-{initiative_id}",
    )


def review(rng: random.Random, initiative_id: str, at: dt.datetime, *, event_id: str) -> Event:
    """A reviewer's verdict: mostly approved, some rejected or sent back for revision."""
    roll = rng.random()
    if roll < 0.75:
        return envelope(
            "initiative.approved",
            {"initiative_id": initiative_id},
            at=at.isoformat(),
            event_id=event_id,
        )
    if roll < 0.9:
        return envelope(
            "initiative.rejected",
            {"initiative_id": initiative_id, "reason": "Trùng với sáng kiến đã công nhận"},
            at=at.isoformat(),
            event_id=event_id,
        )
    return envelope(
        "initiative.revision_requested",
        {"initiative_id": initiative_id, "reason": "Bổ sung hiệu quả áp dụng"},
        at=at.isoformat(),
        event_id=event_id,
    )


def _reference(today: dt.date, national_unit: str, units: list[Grassroots]) -> Iterator[Event]:
    setup = dt.datetime.combine(
        today - dt.timedelta(days=PHASE_1_DAYS_BEFORE + 5), dt.time(8), tzinfo=UTC7
    ).isoformat()

    def fact(kind: str, key: str, data: dict[str, Any]) -> Event:
        return envelope(kind, data, at=setup, event_id=f"sm-{kind}-{key}")

    yield fact(
        "campaign.defined",
        CAMPAIGN,
        {"campaign_id": CAMPAIGN, "name": "Thi đua sáng kiến vượt khó (mô phỏng)"},
    )
    yield fact(
        "unit.registered",
        PROVINCE,
        {
            "unit_id": PROVINCE,
            "name": "LĐLĐ tỉnh Sơn Minh (mô phỏng)",
            "parent_id": national_unit,
            "level": "province",
        },
    )
    for district, name, _ in _DISTRICTS:
        yield fact(
            "unit.registered",
            district,
            {"unit_id": district, "name": name, "parent_id": PROVINCE, "level": "district"},
        )
    for unit in units:
        yield fact(
            "unit.registered",
            unit.unit_id,
            {
                "unit_id": unit.unit_id,
                "name": unit.name,
                "parent_id": unit.parent_id,
                "level": "grassroots",
            },
        )
        yield fact(
            "unit.membership_reported",
            unit.unit_id,
            {"unit_id": unit.unit_id, "members": unit.members, "as_of": f"{today.year - 1}-12-31"},
        )
    yield fact(
        "plan.set",
        PROVINCE,
        {
            "campaign_id": CAMPAIGN,
            "unit_id": PROVINCE,
            "phases": phases(today),
            "targets": [
                {"phase_id": "sm-1", "kind": "ratio_of_members", "value": "0.05"},
                {"phase_id": "sm-2", "kind": "ratio_of_members", "value": "0.08"},
                {"phase_id": None, "kind": "ratio_of_members", "value": "0.13"},
                {
                    "phase_id": "sm-1",
                    "kind": "ratio_of_members",
                    "value": "0.05",
                    "applies_to": "descendants",
                },
                {
                    "phase_id": "sm-2",
                    "kind": "ratio_of_members",
                    "value": "0.08",
                    "applies_to": "descendants",
                },
            ],
        },
    )


def _submission_times(
    rng: random.Random, count: int, starts: dt.datetime, now: dt.datetime
) -> list[dt.datetime]:
    """Office hours on working days, denser towards ``now`` (density grows linearly)."""
    span = (now - starts).total_seconds()
    times: list[dt.datetime] = []
    while len(times) < count:
        at = starts + dt.timedelta(seconds=span * math.sqrt(rng.random()))
        if at.weekday() < 6 and 7 <= at.hour < 18:
            times.append(at)
    return sorted(times)


def province(
    today: dt.date,
    now: dt.datetime,
    *,
    national_unit: str,
    initiatives: int = 2_300,
    seed: int = 2026,
) -> list[Event]:
    """Every event of the synthetic province up to ``now``, in the order a portal sent them."""
    rng = random.Random(seed)
    units = grassroots(seed)
    events = list(_reference(today, national_unit, units))
    starts = dt.datetime.combine(
        today - dt.timedelta(days=PHASE_1_DAYS_BEFORE), dt.time(7), tzinfo=UTC7
    )
    # About one union in five is keen and sends most initiatives, as campaigns go.
    keen = units[::5]
    activity: list[Event] = []
    for n, at in enumerate(_submission_times(rng, initiatives, starts, now)):
        unit = rng.choice(keen if rng.random() < 0.5 else units)
        initiative_id = f"sm-{n}"
        activity.append(initiative(rng, initiative_id, unit.unit_id, at, event_id=f"sm-s-{n}"))
        if n % UPDATED_EVERY == 0 and at + dt.timedelta(days=1) < now:
            activity.append(correction(rng, initiative_id, at + dt.timedelta(days=1)))
        reviewed_at = at + dt.timedelta(days=rng.randint(3, 20), hours=rng.randint(0, 6))
        if reviewed_at < now - dt.timedelta(hours=1):
            activity.append(review(rng, initiative_id, reviewed_at, event_id=f"sm-r-{n}"))
    moved, district = units[3], _DISTRICTS[1][0]
    activity.append(
        envelope(
            "unit.moved",
            {"unit_id": moved.unit_id, "new_parent_id": district},
            at=(now - dt.timedelta(days=40)).isoformat(),
            event_id=f"sm-moved-{moved.unit_id}",
        )
    )
    activity.sort(key=lambda event: dt.datetime.fromisoformat(event["occurred_at"]))
    return events + activity
