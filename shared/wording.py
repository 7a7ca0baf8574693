"""The campaign's shared words, in Vietnamese (the default) and English.

One catalogue for every reader: the dashboard, the printed reports and the notifier's
messages take a status's name, a notification's label, the days left and every number from
here, so an official never reads "Chậm tiến độ" on a page and something else in a report,
or "67,4 %" in one place and "67.4%" in the other.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from shared.domain.progress import Status


@dataclass(frozen=True, slots=True)
class Vocabulary:
    code: str
    thousands: str
    decimal: str
    percent_form: str
    whole_campaign: str
    """A row's label for the whole campaign (sentences say it their own way)."""
    statuses: Mapping[Status, str]
    rules: Mapping[str, str]
    """Short labels of the notifier's decisions (``{share}``: a threshold)."""
    no_submission: str
    days_left_forms: tuple[str, str, str]
    """The last day, one day left, more (``{days}``)."""
    forecast: str

    def number(self, n: int | None) -> str:
        return "–" if n is None else f"{n:,}".replace(",", self.thousands)

    def percent(self, ratio: float | None, decimals: int = 1) -> str:
        """A share of the target (0.674 → 67,4 % / 67.4%)."""
        if ratio is None:
            return "–"
        shown = f"{ratio * 100:,.{decimals}f}".replace(",", "_").replace(".", self.decimal)
        return self.percent_form.format(n=shown.replace("_", self.thousands))

    def share(self, ratio: float) -> str:
        """A threshold or a round share (0.8 → 80 %), with a decimal only when it has one."""
        return self.percent(ratio, 0 if round(ratio * 100, 1).is_integer() else 1)

    def days_left(self, days: int) -> str:
        """Whole days after today until a phase's last day (0: today is the last)."""
        return self.days_left_forms[min(days, 2)].format(days=days)


VIETNAMESE = Vocabulary(
    code="vi",
    thousands=".",
    decimal=",",
    percent_form="{n} %",
    whole_campaign="Cả phong trào",
    statuses={
        Status.ACHIEVED: "Đạt chỉ tiêu",
        Status.NOT_STARTED: "Chưa bắt đầu",
        Status.ON_TRACK: "Đúng tiến độ",
        Status.AT_RISK: "Chậm tiến độ",
        Status.MISSED: "Không đạt",
        Status.NO_TARGET: "Chưa có chỉ tiêu",
    },
    rules={
        "threshold_crossed": "Đạt {share} chỉ tiêu",
        "at_risk": "Có nguy cơ không đạt",
        "back_on_track": "Đã bắt kịp tiến độ",
        "missed": "Không đạt chỉ tiêu",
        "achieved": "Hoàn thành chỉ tiêu",
        "digest": "Tổng hợp đơn vị trực thuộc",
        "follow_up": "Đơn vị cần đôn đốc",
    },
    no_submission="Chưa có sáng kiến nộp",
    days_left_forms=("hôm nay là ngày cuối", "còn 1 ngày", "còn {days} ngày"),
    forecast="dự báo {figures}",
)

ENGLISH = Vocabulary(
    code="en",
    thousands=",",
    decimal=".",
    percent_form="{n}%",
    whole_campaign="Whole campaign",
    statuses={
        Status.ACHIEVED: "Achieved",
        Status.NOT_STARTED: "Not started",
        Status.ON_TRACK: "On track",
        Status.AT_RISK: "At risk",
        Status.MISSED: "Missed",
        Status.NO_TARGET: "No target",
    },
    rules={
        "threshold_crossed": "Reached {share} of target",
        "at_risk": "At risk of missing",
        "back_on_track": "Back on track",
        "missed": "Missed the target",
        "achieved": "Achieved the target",
        "digest": "Digest of the units below",
        "follow_up": "Units to follow up",
    },
    no_submission="No submission yet",
    days_left_forms=("today is the last day", "1 day left", "{days} days left"),
    forecast="forecast {figures}",
)

VOCABULARIES: Mapping[str, Vocabulary] = {"vi": VIETNAMESE, "en": ENGLISH}
DEFAULT_LANGUAGE = "vi"


def vocabulary(language: str | None) -> Vocabulary:
    """The words of ``language``; anything else is Vietnamese."""
    return VOCABULARIES.get(language or DEFAULT_LANGUAGE, VIETNAMESE)
