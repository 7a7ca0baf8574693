"""The wording officials receive, in Vietnamese and English, for every rule."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from typing import Any

import pytest

from services.notifier.messages import DecisionView, render, webhook_payload

UTC7 = dt.timezone(dt.timedelta(hours=7))


def view(**changes: Any) -> DecisionView:
    """Bắc Kạn, phase 1 (target 675 = 5 % of 13,500 members), judged on 12 May 2022."""
    base = DecisionView(
        decision_id=7,
        key="bac-kan/1-trieu-sang-kien/bk-1/threshold_crossed/0.8",
        rule="threshold_crossed",
        unit_id="bac-kan",
        unit_name="LĐLĐ tỉnh Bắc Kạn",
        campaign_id="1-trieu-sang-kien",
        phase_id="bk-1",
        phase_name="Giai đoạn 1",
        ends_on=dt.date(2022, 5, 31),
        threshold=0.8,
        value=540,
        target=675,
        decided_at=dt.datetime(2022, 5, 12, 13, 30, tzinfo=UTC7),
    )
    return dataclasses.replace(base, **changes)


AT_RISK = {"rule": "at_risk", "threshold": None, "value": 300, "details": {"forecast": 420}}
BACK = {"rule": "back_on_track", "threshold": None, "value": 450, "details": {"forecast": 700}}
MISSED = {
    "rule": "missed",
    "threshold": None,
    "value": 600,
    "decided_at": dt.datetime(2022, 6, 1, tzinfo=UTC7),
}
ACHIEVED = MISSED | {"rule": "achieved", "value": 700}


@pytest.mark.parametrize(
    ("changes", "language", "subject", "lines"),
    [
        (
            {},
            "vi",
            "LĐLĐ tỉnh Bắc Kạn đạt 80 % chỉ tiêu Giai đoạn 1",
            [
                "Đơn vị LĐLĐ tỉnh Bắc Kạn đã đạt 80 % chỉ tiêu Giai đoạn 1 (540/675).",
                "Còn 135 sáng kiến nữa để hoàn thành chỉ tiêu; giai đoạn kết thúc ngày 31/05/2022.",
            ],
        ),
        (
            {},
            "en",
            "LĐLĐ tỉnh Bắc Kạn reached 80% of its target for Giai đoạn 1",
            [
                "LĐLĐ tỉnh Bắc Kạn has reached 80% of its target for Giai đoạn 1 (540/675).",
                "135 more initiatives to meet the target; the phase ends on 31 May 2022.",
            ],
        ),
        (
            AT_RISK,
            "vi",
            "LĐLĐ tỉnh Bắc Kạn có nguy cơ không đạt chỉ tiêu Giai đoạn 1",
            [
                "Đơn vị LĐLĐ tỉnh Bắc Kạn có nguy cơ không đạt chỉ tiêu Giai đoạn 1: "
                "dự báo 420/675, còn 19 ngày.",
                "Hiện đạt 44,4 % chỉ tiêu; cần thêm 375 sáng kiến, hạn cuối là ngày 31/05/2022.",
            ],
        ),
        (
            AT_RISK,
            "en",
            "LĐLĐ tỉnh Bắc Kạn is at risk of missing its target for Giai đoạn 1",
            [
                "LĐLĐ tỉnh Bắc Kạn is at risk of missing its target for Giai đoạn 1: "
                "forecast 420/675, 19 days left.",
                "Currently at 44.4% of the target; 375 more initiatives are needed by 31 May 2022.",
            ],
        ),
        (
            BACK,
            "vi",
            "LĐLĐ tỉnh Bắc Kạn đã bắt kịp tiến độ chỉ tiêu Giai đoạn 1",
            [
                "Đơn vị LĐLĐ tỉnh Bắc Kạn đã bắt kịp tiến độ chỉ tiêu Giai đoạn 1: "
                "450/675, dự báo 700/675.",
                "Hiện đạt 66,7 % chỉ tiêu; cần thêm 225 sáng kiến, hạn cuối là ngày 31/05/2022.",
            ],
        ),
        (
            BACK,
            "en",
            "LĐLĐ tỉnh Bắc Kạn is back on track for Giai đoạn 1",
            [
                "LĐLĐ tỉnh Bắc Kạn is back on track for its target for Giai đoạn 1: "
                "450/675, forecast 700/675.",
                "Currently at 66.7% of the target; 225 more initiatives are needed by 31 May 2022.",
            ],
        ),
        (
            MISSED,
            "vi",
            "LĐLĐ tỉnh Bắc Kạn không đạt chỉ tiêu Giai đoạn 1",
            [
                "Đơn vị LĐLĐ tỉnh Bắc Kạn không đạt chỉ tiêu Giai đoạn 1: 600/675, thiếu 75.",
                "Giai đoạn đã kết thúc ngày 31/05/2022.",
            ],
        ),
        (
            MISSED,
            "en",
            "LĐLĐ tỉnh Bắc Kạn missed its target for Giai đoạn 1",
            [
                "LĐLĐ tỉnh Bắc Kạn missed its target for Giai đoạn 1: 600/675, 75 short.",
                "The phase ended on 31 May 2022.",
            ],
        ),
        (
            ACHIEVED,
            "vi",
            "LĐLĐ tỉnh Bắc Kạn đã hoàn thành chỉ tiêu Giai đoạn 1",
            [
                "Đơn vị LĐLĐ tỉnh Bắc Kạn đã hoàn thành chỉ tiêu Giai đoạn 1: 700/675.",
                "Giai đoạn đã kết thúc ngày 31/05/2022.",
            ],
        ),
        (
            ACHIEVED,
            "en",
            "LĐLĐ tỉnh Bắc Kạn achieved its target for Giai đoạn 1",
            [
                "LĐLĐ tỉnh Bắc Kạn achieved its target for Giai đoạn 1: 700/675.",
                "The phase ended on 31 May 2022.",
            ],
        ),
    ],
)
def test_each_rule_reads_naturally_in_both_languages(
    changes: dict[str, Any], language: str, subject: str, lines: list[str]
) -> None:
    message = render(view(**changes), language)

    assert message.subject == subject
    assert message.text.splitlines()[: len(lines)] == lines
    for line in lines:
        assert f"<p>{line}</p>" in message.html


def test_a_digest_lists_each_child_by_name() -> None:
    children = [
        {
            "unit_id": "bk-cdcs-1",
            "rule": "threshold_crossed",
            "threshold": 1.0,
            "value": 60,
            "target": 60,
        },
        {"unit_id": "bk-cdcs-2", "rule": "at_risk", "value": 10, "target": 60, "forecast": 25},
        {"unit_id": "bk-cdcs-9", "rule": "missed", "value": 40, "target": 60},
    ]
    digest = view(
        rule="digest",
        unit_id="bk-bach-thong",
        unit_name="LĐLĐ huyện Bạch Thông",
        threshold=None,
        value=3,
        target=None,
        details={"rule": "mixed", "children": children},
        names={"bk-cdcs-1": "CĐCS số 1 Bạch Thông", "bk-cdcs-2": "CĐCS số 2 Bạch Thông"},
    )

    vi, en = render(digest, "vi"), render(digest, "en")

    assert vi.subject == "Tổng hợp tiến độ các đơn vị trực thuộc LĐLĐ huyện Bạch Thông"
    assert vi.text.splitlines()[:4] == [
        "Tình hình thực hiện chỉ tiêu Giai đoạn 1 của các đơn vị trực thuộc LĐLĐ huyện Bạch Thông:",
        "- CĐCS số 1 Bạch Thông đã đạt 100 % chỉ tiêu Giai đoạn 1 (60/60)",
        "- CĐCS số 2 Bạch Thông có nguy cơ không đạt chỉ tiêu Giai đoạn 1: dự báo 25/60, "
        "còn 19 ngày",
        "- bk-cdcs-9 không đạt chỉ tiêu Giai đoạn 1: 40/60, thiếu 20",
    ]
    assert "<li>CĐCS số 1 Bạch Thông đã đạt 100 % chỉ tiêu Giai đoạn 1 (60/60)</li>" in vi.html
    assert en.text.splitlines()[1] == (
        "- CĐCS số 1 Bạch Thông has reached 100% of its target for Giai đoạn 1 (60/60)"
    )


def test_a_follow_up_digest_names_the_units_to_chase() -> None:
    follow_up = view(
        rule="digest",
        unit_id="bk-bach-thong",
        unit_name="LĐLĐ huyện Bạch Thông",
        threshold=None,
        value=2,
        target=None,
        details={
            "rule": "follow_up",
            "children": [
                {"unit_id": "bk-cdcs-6", "rule": "no_submission", "value": 0, "target": 50},
                {"unit_id": "bk-cdcs-2", "rule": "at_risk", "value": 10, "target": 50},
            ],
        },
        names={"bk-cdcs-6": "CĐCS số 6 Bạch Thông", "bk-cdcs-2": "CĐCS số 2 Bạch Thông"},
    )

    vi, en = render(follow_up, "vi"), render(follow_up, "en")

    assert vi.subject == "Các đơn vị trực thuộc LĐLĐ huyện Bạch Thông cần đôn đốc"
    assert vi.text.splitlines()[:3] == [
        "Các đơn vị trực thuộc LĐLĐ huyện Bạch Thông cần đôn đốc thực hiện chỉ tiêu Giai đoạn 1 "
        "(chưa có sáng kiến, hoặc có nguy cơ không đạt):",
        "- CĐCS số 6 Bạch Thông chưa có sáng kiến nào được tính (0/50)",
        "- CĐCS số 2 Bạch Thông có nguy cơ không đạt chỉ tiêu Giai đoạn 1: 10/50, còn 19 ngày",
    ]
    assert en.subject == "Units under LĐLĐ huyện Bạch Thông to follow up"
    assert en.text.splitlines()[1] == "- CĐCS số 6 Bạch Thông has nothing counted yet (0/50)"


def test_large_numbers_and_the_whole_campaign_follow_each_language() -> None:
    whole = view(phase_id="", phase_name="", threshold=1.0, value=13_500, target=13_500)

    assert render(whole, "vi").text.splitlines()[:2] == [
        "Đơn vị LĐLĐ tỉnh Bắc Kạn đã đạt 100 % chỉ tiêu toàn phong trào (13.500/13.500).",
        "Chúc mừng đơn vị đã hoàn thành chỉ tiêu!",
    ]
    assert render(whole, "en").text.splitlines()[0] == (
        "LĐLĐ tỉnh Bắc Kạn has reached 100% of its target for the whole campaign (13,500/13,500)."
    )


def test_the_last_day_of_a_phase_is_named_as_such() -> None:
    last_day = view(**AT_RISK | {"details": {"forecast": 600, "days_left": 0}})

    assert render(last_day, "vi").text.startswith(
        "Đơn vị LĐLĐ tỉnh Bắc Kạn có nguy cơ không đạt chỉ tiêu Giai đoạn 1: "
        "dự báo 600/675, hôm nay là ngày cuối."
    )
    assert "1 day left" in render(view(**AT_RISK | {"details": {"days_left": 1}}), "en").text


def test_names_are_escaped_in_html_and_unknown_languages_get_vietnamese() -> None:
    odd = view(unit_name="Công đoàn <Điện & Nước>")

    message = render(odd, "fr")

    assert message.text.startswith("Đơn vị Công đoàn <Điện & Nước> đã đạt 80 % chỉ tiêu")
    assert "Công đoàn &lt;Điện &amp; Nước&gt;" in message.html
    assert "<Điện" not in message.html


def test_the_webhook_payload_carries_figures_and_the_message_in_the_subscribers_language() -> None:
    decision = view(**AT_RISK)
    message = render(decision, "en")

    payload = json.loads(json.dumps(webhook_payload(decision, message, "en")))

    assert payload == {
        "schema_version": 1,
        "decision_id": 7,
        "key": "bac-kan/1-trieu-sang-kien/bk-1/threshold_crossed/0.8",
        "rule": "at_risk",
        "decided_at": "2022-05-12T13:30:00+07:00",
        "unit": {"id": "bac-kan", "name": "LĐLĐ tỉnh Bắc Kạn"},
        "campaign_id": "1-trieu-sang-kien",
        "phase": {"id": "bk-1", "name": "Giai đoạn 1", "ends_on": "2022-05-31"},
        "values": {
            "value": 300,
            "target": 675,
            "ratio": 300 / 675,
            "threshold": None,
            "forecast": 420,
        },
        "children": [],
        "message": {"language": "en", "subject": message.subject, "text": message.text},
    }
