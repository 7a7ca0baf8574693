"""The dashboard's SVG charts put every line where the figures say: the running total, the
target, the pace from 0 at the phase's start to the target at its end, and today."""

from __future__ import annotations

import datetime as dt
import xml.etree.ElementTree as ET

import pytest

from services.projector.api.dashboard.charts import (
    BAR_WIDTH,
    BOTTOM,
    HEIGHT,
    LEFT,
    RIGHT,
    TOP,
    WIDTH,
    Bar,
    ProgressLabels,
    bar_chart,
    month_starts,
    nice_ceiling,
    progress_chart,
)

SVG = "{http://www.w3.org/2000/svg}"
BOTTOM_Y = HEIGHT - BOTTOM
PLOT_W = WIDTH - LEFT - RIGHT
LABELS = ProgressLabels(
    title="Tiến độ: bk-1",
    value="lượt nộp",
    target="Chỉ tiêu",
    pace="Tiến độ cần đạt",
    today="Hôm nay",
    number=lambda n: f"{n:,}".replace(",", "."),
    month=lambda d: f"T{d.month}/{d.year}",
)
PHASE_ONE = {"starts_on": dt.date(2022, 1, 1), "ends_on": dt.date(2022, 5, 31)}  # 151 days
MAY_12 = dt.datetime(2022, 5, 12, 13, 30)


def parse(markup: str) -> ET.Element:
    return ET.fromstring(markup)


def one(svg: ET.Element, tag: str, cls: str) -> ET.Element:
    [found] = [e for e in svg.iter(f"{SVG}{tag}") if cls in e.get("class", "").split()]
    return found


def floats(element: ET.Element, *names: str) -> list[float]:
    return [float(element.get(name, "nan")) for name in names]


def y_of(value: float, top: int = 800) -> float:
    return TOP + (BOTTOM_Y - TOP) * (1 - value / top)


@pytest.mark.parametrize(
    ("value", "expected"),
    [(708.75, (800, 200)), (37.8, (40, 10)), (1.05, (2, 1)), (0, (1, 1)), (2126.25, (2500, 500))],
)
def test_an_axis_ends_on_a_round_number_above_the_largest_figure(
    value: float, expected: tuple[int, int]
) -> None:
    assert nice_ceiling(value) == expected


def test_month_ticks_start_each_month_inside_the_window_and_thin_out_on_long_windows() -> None:
    assert month_starts(dt.date(2022, 1, 15), dt.date(2022, 5, 31)) == [
        dt.date(2022, m, 1) for m in (2, 3, 4, 5)
    ]
    long = month_starts(dt.date(2022, 1, 1), dt.date(2023, 9, 30))
    assert len(long) <= 7
    assert long[:2] == [dt.date(2022, 1, 1), dt.date(2022, 4, 1)]


def test_the_progress_chart_draws_total_target_pace_and_today_at_their_coordinates() -> None:
    points = [(dt.date(2022, 1, 1) + dt.timedelta(days=d), 0) for d in range(9)]
    points += [(dt.date(2022, 5, 12), 455)]
    svg = parse(progress_chart(points=points, target=675, now=MAY_12, labels=LABELS, **PHASE_ONE))

    assert svg.get("viewBox") == f"0 0 {WIDTH} {HEIGHT}"
    # The axis runs to 800 (675 + 5 %, rounded up to a step of 200).
    ticks = [t.text for t in svg.iter(f"{SVG}text") if "y" in t.get("class", "").split()]
    assert ticks == ["0", "200", "400", "600", "800"]
    target = one(svg, "line", "target")
    assert floats(target, "x1", "x2") == [LEFT, WIDTH - RIGHT]
    assert floats(target, "y1", "y2") == pytest.approx([y_of(675)] * 2, abs=0.05)
    # Pace: 0 at the start of 1 January, the target at midnight after 31 May.
    pace = one(svg, "line", "pace")
    assert floats(pace, "x1", "y1", "x2", "y2") == pytest.approx(
        [LEFT, BOTTOM_Y, WIDTH - RIGHT, y_of(675)], abs=0.05
    )
    # The running total starts at 0 and ends at the end of 12 May (day 132 of 151) at 455.
    line = [
        tuple(map(float, p.split(",")))
        for p in one(svg, "polyline", "actual").get("points", "").split()
    ]
    assert line[0] == pytest.approx((LEFT, BOTTOM_Y), abs=0.05)
    assert line[-1] == pytest.approx((LEFT + PLOT_W * 132 / 151, y_of(455)), abs=0.05)
    assert [x for x, _ in line] == sorted(x for x, _ in line)
    # Today: 131 days and 13.5 hours into the window.
    today = one(svg, "line", "today")
    expected = LEFT + PLOT_W * (131 + 13.5 / 24) / 151
    assert floats(today, "x1", "x2") == pytest.approx([expected, expected], abs=0.05)
    assert one(svg, "text", "today-label").text == "Hôm nay"
    months = [t.text for t in svg.iter(f"{SVG}text") if "x" in t.get("class", "").split()]
    assert months == ["T1/2022", "T2/2022", "T3/2022", "T4/2022", "T5/2022"]


def test_without_a_target_or_outside_the_window_those_lines_are_left_out() -> None:
    svg = parse(
        progress_chart(
            points=[(dt.date(2022, 1, 3), 4)],
            target=None,
            now=dt.datetime(2022, 7, 1, 9),
            labels=LABELS,
            **PHASE_ONE,
        )
    )
    classes = {e.get("class") for e in svg.iter()}
    assert not classes & {"target", "pace", "today"}
    assert "actual" in classes


def test_bars_are_as_long_as_their_figures_and_names_stay_text() -> None:
    svg = parse(
        bar_chart(
            [Bar("<script>alert(1)</script>", 300, 80), Bar("Cải cách hành chính", 150, 150)],
            title="Theo lĩnh vực",
            number=str,
        )
    )
    wholes = [
        float(r.get("width", "0")) for r in svg.iter(f"{SVG}rect") if r.get("class") == "bar-value"
    ]
    parts = [
        float(r.get("width", "0")) for r in svg.iter(f"{SVG}rect") if r.get("class") == "bar-part"
    ]
    longest = BAR_WIDTH - 150
    assert wholes == pytest.approx([longest, longest / 2], abs=0.05)
    assert parts == pytest.approx([longest * 80 / 300, longest / 2], abs=0.05)
    labels = [t.text for t in svg.iter(f"{SVG}text") if t.get("class") == "bar-label"]
    assert labels == ["<script>alert(1)</script>", "Cải cách hành chính"]
    assert not list(svg.iter(f"{SVG}script"))
