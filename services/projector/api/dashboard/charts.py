"""Server-drawn SVG charts: pure functions from figures to markup, no script, no fonts to fetch.

Every chart scales to its container (``viewBox``, width 100 %), so one drawing serves a
desktop and a 375 px phone. Text from portals (category names) is escaped here, since the
markup is inserted into the page as it is.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from markupsafe import Markup, escape

WIDTH, HEIGHT = 760, 320
LEFT, RIGHT, TOP, BOTTOM = 72, 24, 36, 44


@dataclass(frozen=True, slots=True)
class ProgressLabels:
    """Words and formats a progress chart writes."""

    title: str
    value: str
    target: str
    pace: str
    today: str
    number: Callable[[int], str]
    month: Callable[[dt.date], str]


@dataclass(frozen=True, slots=True)
class Bar:
    label: str
    value: int
    part: int
    """The share of ``value`` drawn darker (approved among submitted)."""


def nice_ceiling(value: float) -> tuple[int, int]:
    """An axis maximum ≥ ``value`` and its tick step, from steps of 1, 2 or 5 × 10ⁿ (≤ 6 ticks)."""
    if value <= 0:
        return 1, 1
    magnitude = 10 ** math.floor(math.log10(value))
    for factor in (0.1, 0.2, 0.5, 1, 2, 5, 10):
        step = max(int(factor * magnitude), 1)
        if math.ceil(value / step) <= 6:
            return step * math.ceil(value / step), step
    raise AssertionError("a step of 10ⁿ⁺¹ always fits")


def month_starts(first: dt.date, last: dt.date, most: int = 7) -> list[dt.date]:
    """First days of months in ``first..last``, every n-th month so at most ``most`` remain."""
    months = []
    day = first.replace(day=1)
    while day <= last:
        if day >= first:
            months.append(day)
        day = (day + dt.timedelta(days=32)).replace(day=1)
    every = math.ceil(len(months) / most) if months else 1
    return months[::every]


def _n(x: float) -> str:
    return f"{x:.1f}"


def progress_chart(
    *,
    starts_on: dt.date,
    ends_on: dt.date,
    points: Sequence[tuple[dt.date, int]],
    target: int | None,
    now: dt.datetime | None,
    labels: ProgressLabels,
) -> Markup:
    """Cumulative value over a window, with the target line, the pace line and a today marker.

    ``points`` are running totals at the end of each local day; the window's last day is
    inclusive, so its right edge is midnight after ``ends_on``, where the pace line reaches
    the target. ``now`` is a local instant; outside the window it is not drawn.
    """
    days = (ends_on - starts_on).days + 1
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    top_value, step = nice_ceiling(max([target or 0, *(v for _, v in points), 1]) * 1.05)

    def x(offset_days: float) -> float:
        return LEFT + plot_w * offset_days / days

    def y(value: float) -> float:
        return TOP + plot_h * (1 - value / top_value)

    parts = [
        f'<svg class="chart progress" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" '
        f'aria-label="{escape(labels.title)}" xmlns="http://www.w3.org/2000/svg">',
        f"<title>{escape(labels.title)}</title>",
    ]
    for tick in range(0, top_value + 1, step):
        parts.append(
            f'<line class="grid" x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{_n(y(tick))}" '
            f'y2="{_n(y(tick))}"/><text class="tick y" x="{LEFT - 8}" y="{_n(y(tick) + 4)}" '
            f'text-anchor="end">{escape(labels.number(tick))}</text>'
        )
    for number, month in enumerate(month_starts(starts_on, ends_on)):
        at = x((month - starts_on).days)
        # Every other month's label is "alt": a phone's larger lettering hides those.
        alt = " alt" if number % 2 else ""
        parts.append(
            f'<line class="tick-mark" x1="{_n(at)}" x2="{_n(at)}" y1="{TOP + plot_h}" '
            f'y2="{TOP + plot_h + 5}"/><text class="tick x{alt}" x="{_n(at)}" '
            f'y="{TOP + plot_h + 26}" text-anchor="middle">{escape(labels.month(month))}</text>'
        )
    parts.append(
        f'<line class="axis" x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{TOP + plot_h}" '
        f'y2="{TOP + plot_h}"/>'
    )
    if target is not None:
        parts.append(
            f'<line class="pace" x1="{_n(x(0))}" y1="{_n(y(0))}" x2="{_n(x(days))}" '
            f'y2="{_n(y(target))}"/><line class="target" x1="{LEFT}" x2="{WIDTH - RIGHT}" '
            f'y1="{_n(y(target))}" y2="{_n(y(target))}"/><text class="target-label" '
            f'x="{WIDTH - RIGHT - 4}" y="{_n(y(target) - 6)}" text-anchor="end">'
            f"{escape(labels.target)} {escape(labels.number(target))}</text>"
        )
    if points:
        line = [(x(0), y(0))] + [(x((day - starts_on).days + 1), y(v)) for day, v in points]
        coordinates = " ".join(f"{_n(px)},{_n(py)}" for px, py in line)
        last_x, last_y = line[-1]
        parts.append(
            f'<polygon class="actual-area" points="{_n(x(0))},{_n(y(0))} {coordinates} '
            f'{_n(last_x)},{_n(y(0))}"/><polyline class="actual" points="{coordinates}"/>'
            f'<circle class="actual-end" cx="{_n(last_x)}" cy="{_n(last_y)}" r="4"/>'
            f'<text class="actual-label" x="{_n(last_x - 6)}" y="{_n(last_y - 10)}" '
            f'text-anchor="end">{escape(labels.number(points[-1][1]))}</text>'
        )
    if now is not None:
        elapsed = (
            now.replace(tzinfo=None) - dt.datetime.combine(starts_on, dt.time())
        ).total_seconds()
        offset = elapsed / 86_400
        if 0 <= offset <= days:
            # The label reads away from the nearer edge, so it never leaves the drawing.
            anchor, shift = ("end", -4) if offset > days / 2 else ("start", 4)
            parts.append(
                f'<line class="today" x1="{_n(x(offset))}" x2="{_n(x(offset))}" y1="{TOP - 4}" '
                f'y2="{TOP + plot_h}"/><text class="today-label" x="{_n(x(offset) + shift)}" '
                f'y="{TOP - 10}" text-anchor="{anchor}">{escape(labels.today)}</text>'
            )
    parts.append("</svg>")
    return Markup("".join(parts))


BAR_WIDTH, BAR_ROW, BAR_THICKNESS = 480, 52, 16


def bar_chart(bars: Sequence[Bar], *, title: str, number: Callable[[int], str]) -> Markup:
    """Horizontal bars, largest first as given: the label above each bar, the figures after it.

    Labels sit above the bars rather than beside them, so long Vietnamese category names
    stay legible when a phone scales the drawing down.
    """
    height = BAR_ROW * len(bars) + 4
    top = max([bar.value for bar in bars] + [1])
    plot_w = BAR_WIDTH - 150
    parts = [
        f'<svg class="chart bars" viewBox="0 0 {BAR_WIDTH} {height}" role="img" '
        f'aria-label="{escape(title)}" xmlns="http://www.w3.org/2000/svg">',
        f"<title>{escape(title)}</title>",
    ]
    for row, bar in enumerate(bars):
        base = row * BAR_ROW
        whole, part = plot_w * bar.value / top, plot_w * bar.part / top
        parts.append(
            f'<g class="bar"><text class="bar-label" x="0" y="{base + 20}">{escape(bar.label)}'
            f'</text><rect class="bar-value" x="0" y="{base + 28}" width="{_n(whole)}" '
            f'height="{BAR_THICKNESS}" rx="2"/><rect class="bar-part" x="0" y="{base + 28}" '
            f'width="{_n(part)}" height="{BAR_THICKNESS}" rx="2"/><text class="bar-figures" '
            f'x="{_n(whole + 8)}" y="{base + 42}">{escape(number(bar.value))} · '
            f"{escape(number(bar.part))}</text></g>"
        )
    parts.append("</svg>")
    return Markup("".join(parts))
