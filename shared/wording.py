"""The campaign's shared words, in Vietnamese (the default) and English.

One catalogue for every reader: the dashboard, the printed reports and the notifier's
messages take a status's name, a category's and an author type's name, a notification's
label, sentence and subject, the days left and every number from here (a new notification
rule adds its words here and nowhere else),
so an official never reads "Chậm tiến độ" on a page and something else in a report, or
"67,4 %" in one place and "67.4%" in the other.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from shared.contracts.initiatives import AuthorType, Category
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
    categories: Mapping[str, str]
    """By code: the campaign's fields, as the source articles name them; the v1 upcaster also
    recognises a portal's free text by these names (``shared.contracts.previous``)."""
    author_types: Mapping[str, str]
    participation: str
    """Registrations and submissions (lượt đăng ký và nộp) and distinct authors:
    ``{initiatives}``, ``{authors}``."""
    rules: Mapping[str, str]
    """Short labels of the notifier's decisions (``{share}``: a threshold)."""
    no_submission: str
    days_left_forms: tuple[str, str, str]
    """The last day, one day left, more (``{days}``)."""
    forecast: str
    sentences: Mapping[str, str]
    """One sentence per notification about a unit (and a digest's ``no_submission`` line):
    ``{name}``, ``{phase}``, ``{share}``, ``{figures}``, ``{outlook}``, ``{remaining}``,
    ``{also}``, ``{short}``."""
    subjects: Mapping[str, str]
    """A message's subject per notification (``{name}``, ``{phase}``, ``{share}``)."""

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
    categories={
        Category.COVID19: "Phòng, chống dịch Covid-19",
        Category.PRODUCTION: "Phát triển sản xuất, kinh doanh",
        Category.PRODUCTIVITY: "Tăng năng suất lao động",
        Category.UNION_WORK: "Đổi mới tổ chức, hoạt động công đoàn",
        Category.SOCIO_ECONOMIC: "Phát triển kinh tế – xã hội",
        Category.ADMIN_REFORM: "Cải cách hành chính",
        Category.DIGITAL: "Chuyển đổi số",
        Category.OTHER: "Lĩnh vực khác",
    },
    author_types={
        AuthorType.MEMBER: "Đoàn viên",
        AuthorType.UNION_OFFICIAL: "Cán bộ công đoàn",
        AuthorType.WORKER: "Người lao động",
        AuthorType.MANAGER: "Cán bộ quản lý",
        AuthorType.CIVIL_SERVANT: "Công chức",
        AuthorType.PUBLIC_EMPLOYEE: "Viên chức",
        AuthorType.OTHER: "Khác",
    },
    participation="{initiatives} lượt đăng ký và nộp, {authors} tác giả",
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
    sentences={
        "threshold_crossed": "{name} đã đạt {share} chỉ tiêu {phase} ({figures})",
        "at_risk": "{name} có nguy cơ không đạt chỉ tiêu {phase}: {outlook}{remaining}",
        "back_on_track": "{name} đã bắt kịp tiến độ chỉ tiêu {phase}: {figures}{also}",
        "missed": "{name} không đạt chỉ tiêu {phase}: {figures}, thiếu {short}",
        "achieved": "{name} đã hoàn thành chỉ tiêu {phase}: {figures}",
        "no_submission": "{name} chưa có sáng kiến nào được tính ({figures})",
    },
    subjects={
        "threshold_crossed": "{name} đạt {share} chỉ tiêu {phase}",
        "at_risk": "{name} có nguy cơ không đạt chỉ tiêu {phase}",
        "back_on_track": "{name} đã bắt kịp tiến độ chỉ tiêu {phase}",
        "missed": "{name} không đạt chỉ tiêu {phase}",
        "achieved": "{name} đã hoàn thành chỉ tiêu {phase}",
        "digest": "Tổng hợp tiến độ các đơn vị trực thuộc {name}",
        "follow_up": "Các đơn vị trực thuộc {name} cần đôn đốc",
    },
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
    categories={
        Category.COVID19: "Covid-19 prevention",
        Category.PRODUCTION: "Production and business",
        Category.PRODUCTIVITY: "Labour productivity",
        Category.UNION_WORK: "Renewal of trade-union organisation and activity",
        Category.SOCIO_ECONOMIC: "Socio-economic development",
        Category.ADMIN_REFORM: "Administrative reform",
        Category.DIGITAL: "Digital transformation",
        Category.OTHER: "Other fields",
    },
    author_types={
        AuthorType.MEMBER: "Union member",
        AuthorType.UNION_OFFICIAL: "Union official",
        AuthorType.WORKER: "Worker",
        AuthorType.MANAGER: "Manager",
        AuthorType.CIVIL_SERVANT: "Civil servant",
        AuthorType.PUBLIC_EMPLOYEE: "Public employee",
        AuthorType.OTHER: "Other",
    },
    participation="{initiatives} registered or submitted, {authors} authors",
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
    sentences={
        "threshold_crossed": "{name} has reached {share} of its target for {phase} ({figures})",
        "at_risk": "{name} is at risk of missing its target for {phase}: {outlook}{remaining}",
        "back_on_track": "{name} is back on track for its target for {phase}: {figures}{also}",
        "missed": "{name} missed its target for {phase}: {figures}, {short} short",
        "achieved": "{name} achieved its target for {phase}: {figures}",
        "no_submission": "{name} has nothing counted yet ({figures})",
    },
    subjects={
        "threshold_crossed": "{name} reached {share} of its target for {phase}",
        "at_risk": "{name} is at risk of missing its target for {phase}",
        "back_on_track": "{name} is back on track for {phase}",
        "missed": "{name} missed its target for {phase}",
        "achieved": "{name} achieved its target for {phase}",
        "digest": "Progress of the units under {name}",
        "follow_up": "Units under {name} to follow up",
    },
)

VOCABULARIES: Mapping[str, Vocabulary] = {"vi": VIETNAMESE, "en": ENGLISH}
DEFAULT_LANGUAGE = "vi"


def vocabulary(language: str | None) -> Vocabulary:
    """The words of ``language``; anything else is Vietnamese."""
    return VOCABULARIES.get(language or DEFAULT_LANGUAGE, VIETNAMESE)
