"""The two cases from the source articles, as portal events (see docs/domain.md).

Both in the campaign "1 triệu sáng kiến", with the phases named as the unions name them.
Ba Chẽ (Quảng Ninh): the union of government agencies, count targets 36 (Giai đoạn I, to the
end of May 2022) and 82 (Giai đoạn II, June 2022 to September 2023), 118 overall.
Bắc Kạn: ratio targets on 13,500 members, 5 % + 4 % + 6 % = 15 % (675 + 540 + 810 = 2,025)
over Giai đoạn 1, 2 and 3.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from services.samples.portal_events import (
    campaign_defined,
    membership,
    plan_set,
    submitted,
    unit_registered,
    updated,
)

UTC7 = dt.timezone(dt.timedelta(hours=7))
CATEGORIES = ("covid19", "production", "productivity", "union_work", "socio_economic")
"""The fields both articles name, in turn."""
BAC_KAN_AUTHORS = 400
"""Distinct members among Bắc Kạn's authors: some take part more than once."""
PHASE_NAMES = {
    "bc-1": "Giai đoạn I",
    "bc-2": "Giai đoạn II",
    "bk-1": "Giai đoạn 1",
    "bk-2": "Giai đoạn 2",
    "bk-3": "Giai đoạn 3",
}
"""Each seed phase's name, as the two unions name their phases."""


def hierarchy() -> list[dict[str, Any]]:
    return [
        campaign_defined(),
        unit_registered("vgcl", None, "national", "Tổng Liên đoàn Lao động Việt Nam"),
        unit_registered("quang-ninh", "vgcl", "province", "LĐLĐ tỉnh Quảng Ninh"),
        unit_registered("bache", "quang-ninh", "district", "LĐLĐ huyện Ba Chẽ"),
        unit_registered(
            "bache-khoi-cq", "bache", "district", "Công đoàn Khối cơ quan huyện Ba Chẽ"
        ),
        *(
            unit_registered(f"bache-cq-{n}", "bache-khoi-cq", name=f"CĐCS cơ quan {n} Ba Chẽ")
            for n in range(1, 4)
        ),
        unit_registered("bac-kan", "vgcl", "province", "LĐLĐ tỉnh Bắc Kạn"),
        unit_registered("bk-bach-thong", "bac-kan", "district", "LĐLĐ huyện Bạch Thông"),
        *(
            unit_registered(f"bk-cdcs-{n}", "bk-bach-thong", name=f"CĐCS số {n} Bạch Thông")
            for n in range(1, 6)
        ),
        membership("bac-kan", 13_500),
    ]


def plans() -> list[dict[str, Any]]:
    return [
        plan_set(
            "bache-khoi-cq",
            [("bc-1", "2022-01-01", "2022-05-31"), ("bc-2", "2022-06-01", "2023-09-30")],
            [
                {"phase_id": "bc-1", "kind": "count", "value": 36},
                {"phase_id": "bc-2", "kind": "count", "value": 82},
                {"phase_id": None, "kind": "count", "value": 118},
            ],
            names=PHASE_NAMES,
        ),
        plan_set(
            "bac-kan",
            [
                ("bk-1", "2022-01-01", "2022-05-31"),
                ("bk-2", "2022-06-01", "2022-12-31"),
                ("bk-3", "2023-01-01", "2023-09-30"),
            ],
            [
                {"phase_id": "bk-1", "kind": "ratio_of_members", "value": "0.05"},
                {"phase_id": "bk-2", "kind": "ratio_of_members", "value": "0.04"},
                {"phase_id": "bk-3", "kind": "ratio_of_members", "value": "0.06"},
                {"phase_id": None, "kind": "ratio_of_members", "value": "0.15"},
            ],
            names=PHASE_NAMES,
        ),
    ]


def _author(n: int, kinds: tuple[str, ...], prefix: str, people: int) -> dict[str, Any]:
    member = n % people
    return {
        "name": f"Tác giả {prefix}-{member}",
        "member_id": f"{prefix}-dv-{member}",
        "author_type": kinds[member % len(kinds)],
    }


def ba_che_author(n: int) -> dict[str, Any]:
    """The government agencies' civil servants and public employees, 12 people in turn."""
    return _author(n, ("civil_servant", "public_employee", "civil_servant", "member"), "bc", 12)


def bac_kan_author(n: int) -> dict[str, Any]:
    kinds = ("member", "worker", "public_employee", "civil_servant", "union_official")
    return _author(n, kinds, "bk", BAC_KAN_AUTHORS)


def _ba_che(initiative_id: str, unit_id: str, at: str, n: int) -> dict[str, Any]:
    category = CATEGORIES[n % len(CATEGORIES)]
    return submitted(initiative_id, unit_id, at, category=category, authors=[ba_che_author(n)])


def ba_che_submissions() -> list[dict[str, Any]]:
    """20 in phase I (the last one second before local midnight), 3 right after it."""
    events = [
        _ba_che(f"bc-{n}", f"bache-cq-{n % 3 + 1}", f"2022-05-{n + 1:02d}T09:00:00+07:00", n)
        for n in range(19)
    ]
    events.append(_ba_che("bc-last-may", "bache-cq-1", "2022-05-31T23:59:59+07:00", 19))
    events.append(_ba_che("bc-first-june", "bache-cq-2", "2022-05-31T17:00:00+00:00", 20))
    events += [
        _ba_che(f"bc-june-{n}", "bache-cq-3", f"2022-06-0{n + 2}T10:00:00+07:00", 21 + n)
        for n in range(2)
    ]
    return events


def bac_kan_submissions(before: int = 455, after: int = 20) -> list[dict[str, Any]]:
    """``before`` submissions up to 12 May 2022 13:30 local, ``after`` later that month."""
    start = dt.datetime(2022, 1, 10, 8, 0, tzinfo=UTC7)
    cutoff = dt.datetime(2022, 5, 12, 13, 30, tzinfo=UTC7)
    step = (cutoff - start) / before
    events = [
        submitted(
            f"bk-{n}",
            f"bk-cdcs-{n % 5 + 1}",
            at=(start + step * n).isoformat(),
            category=CATEGORIES[n % len(CATEGORIES)],
            authors=[bac_kan_author(n)],
        )
        for n in range(before)
    ]
    events += [
        submitted(
            f"bk-late-{n}",
            f"bk-cdcs-{n % 5 + 1}",
            at=f"2022-05-{13 + n % 15:02d}T10:00:00+07:00",
            category=CATEGORIES[n % len(CATEGORIES)],
            authors=[bac_kan_author(before + n)],
        )
        for n in range(after)
    ]
    return events


def corrections() -> list[dict[str, Any]]:
    """Ba Chẽ's first initiative corrected while under review (chỉnh sửa thông tin): a
    production idea after all, with a second author; its figures stay where they were."""
    return [
        updated(
            "bc-0",
            "2022-05-03T15:00:00+07:00",
            title="Sáng kiến bc-0: sổ theo dõi vật tư điện tử",
            category="production",
            authors=[ba_che_author(0), ba_che_author(5)],
        )
    ]
