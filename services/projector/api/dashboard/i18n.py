"""The dashboard's words and number formats in Vietnamese (the default) and English.

Each language is one :class:`Words` value, so a missing translation is a type error, not
an empty label. Numbers follow the language (1.234 and 67,4 % in Vietnamese; 1,234 and
67.4% in English); dates and times are local to the campaign (Asia/Ho_Chi_Minh), written
dd/mm/yyyy in Vietnamese and "12 May 2022" in English; the "as of" field is dd/mm/yyyy in
both.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass

from shared import wording
from shared.domain.campaign import CAMPAIGN_ZONE
from shared.domain.progress import Status
from shared.wording import Vocabulary

DEFAULT_LANGUAGE = "vi"


@dataclass(frozen=True, slots=True)
class Words:
    code: str
    name: str
    """The language's own name, shown on the switch to it."""
    months: tuple[str, ...]
    title: str
    subtitle: str
    sign_in: str
    sign_in_intro: str
    token: str
    token_unknown: str
    sign_out: str
    search: str
    search_placeholder: str
    search_results: str
    search_none: str
    start_units: str
    levels: Mapping[str, str]
    merged_into: str
    """Before the successor's name, which links to its page."""
    closed: str
    campaign: str
    phases: str
    phase: str
    starts: str
    ends: str
    target: str
    value: str
    share: str
    status: str
    no_plan: str
    no_campaign: str
    metrics: Mapping[str, str]
    chart: str
    chart_note: str
    pace: str
    today: str
    no_points: str
    as_of: str
    as_of_note: str
    as_of_hint: str
    """How to write the "as of" field; the same dd/mm/yyyy in every language."""
    as_of_invalid: str
    as_of_show: str
    as_of_clear: str
    current_figures_note: str
    evaluated_at: str
    children: str
    rank: str
    unit: str
    no_children: str
    follow_up: str
    follow_up_note: str
    follow_up_none: str
    follow_up_reason: str
    show_all: str
    units_count: str
    previous_page: str
    next_page: str
    back_to_unit: str
    by_category: str
    by_author_type: str
    participation: str
    """The column of initiatives registered or submitted (lượt đăng ký và nộp)."""
    authors: str
    submitted: str
    approved: str
    no_breakdown: str
    notifications: str
    no_notifications: str
    digest_children: str
    export: str
    refused: Mapping[int, str]
    back_home: str
    vocabulary: Vocabulary
    """The words every reader shares: statuses, notifications, days left, numbers."""

    @property
    def statuses(self) -> Mapping[Status, str]:
        return self.vocabulary.statuses

    def took_part(self, initiatives: int, authors: int) -> str:
        """The participation sentence, numbers written the language's way."""
        words = self.vocabulary
        return words.participation.format(
            initiatives=words.number(initiatives), authors=words.number(authors)
        )

    @property
    def categories(self) -> Mapping[str, str]:
        return self.vocabulary.categories

    @property
    def author_types(self) -> Mapping[str, str]:
        return self.vocabulary.author_types

    @property
    def rules(self) -> Mapping[str, str]:
        return self.vocabulary.rules

    @property
    def whole_campaign(self) -> str:
        return self.vocabulary.whole_campaign

    @property
    def no_submission(self) -> str:
        return self.vocabulary.no_submission


VIETNAMESE = Words(
    code="vi",
    name="Tiếng Việt",
    months=tuple(f"T{n}" for n in range(1, 13)),
    title="Theo dõi phong trào “1 triệu sáng kiến”",
    subtitle="Tiến độ thực hiện chỉ tiêu của các cấp công đoàn",
    sign_in="Đăng nhập",
    sign_in_intro="Nhập mã truy cập được cấp cho đơn vị của bạn.",
    token="Mã truy cập",
    token_unknown="Mã truy cập không đúng hoặc đã bị thu hồi.",
    sign_out="Đăng xuất",
    search="Tìm",
    search_placeholder="Tên đơn vị, có dấu hoặc không dấu",
    search_results="Kết quả tìm kiếm",
    search_none="Không tìm thấy đơn vị nào.",
    start_units="Đơn vị của bạn",
    levels={
        "national": "Trung ương",
        "province": "Tỉnh, thành, ngành",
        "district": "Cấp trên trực tiếp cơ sở",
        "grassroots": "Công đoàn cơ sở",
    },
    merged_into="đã sáp nhập vào",
    closed="đã giải thể",
    campaign="Phong trào",
    phases="Chỉ tiêu theo giai đoạn",
    phase="Giai đoạn",
    starts="Bắt đầu",
    ends="Kết thúc",
    target="Chỉ tiêu",
    value="Kết quả",
    share="% chỉ tiêu",
    status="Tình trạng",
    no_plan="Đơn vị chưa có kế hoạch chỉ tiêu trong phong trào này.",
    no_campaign="Đơn vị chưa tham gia phong trào nào.",
    metrics={"submitted": "lượt nộp", "approved": "sáng kiến hợp lệ"},
    chart="Tiến độ theo thời gian",
    chart_note=(
        "Số cộng dồn theo ngày phát sinh; đường tiến độ đi từ 0 lúc bắt đầu "
        "đến chỉ tiêu lúc kết thúc."
    ),
    pace="Tiến độ cần đạt",
    today="Hôm nay",
    no_points="Chưa có số liệu trong giai đoạn này.",
    as_of="Số liệu tại thời điểm",
    as_of_note="Bảng chỉ tiêu tính chính xác tại thời điểm đã chọn.",
    as_of_hint="ngày/tháng/năm giờ:phút, ví dụ 12/05/2022 13:30; chỉ có ngày: cuối ngày đó",
    as_of_invalid=(
        "Không đọc được thời điểm “{text}”: hãy nhập ngày/tháng/năm và giờ:phút, "
        "ví dụ 12/05/2022 13:30. Đang hiển thị số liệu hiện tại."
    ),
    as_of_show="Xem",
    as_of_clear="Về hiện tại",
    current_figures_note=(
        "Xếp hạng, danh sách cần đôn đốc, cơ cấu và thông báo là số liệu hiện tại."
    ),
    evaluated_at="Cập nhật lúc",
    children="Xếp hạng đơn vị trực thuộc",
    rank="Hạng",
    unit="Đơn vị",
    no_children="Đơn vị không có đơn vị trực thuộc đang hoạt động.",
    follow_up="Cần đôn đốc",
    follow_up_note=(
        "Đơn vị trực thuộc các cấp có chỉ tiêu trong giai đoạn đang diễn ra nhưng chưa có "
        "sáng kiến nộp, hoặc có nguy cơ không đạt chỉ tiêu."
    ),
    follow_up_none="Không có đơn vị nào cần đôn đốc.",
    follow_up_reason="Lý do",
    show_all="Xem tất cả {count} đơn vị",
    units_count="{count} đơn vị",
    previous_page="Trang trước",
    next_page="Trang sau",
    back_to_unit="Về trang đơn vị",
    by_category="Theo lĩnh vực",
    by_author_type="Theo đối tượng tác giả",
    participation="Lượt đăng ký, nộp",
    authors="Tác giả",
    submitted="Lượt nộp",
    approved="Hợp lệ",
    no_breakdown="Chưa có sáng kiến.",
    notifications="Thông báo gần đây",
    no_notifications="Chưa có thông báo nào cho đơn vị này.",
    digest_children="{count} đơn vị trực thuộc: {rule}",
    export="Tải báo cáo",
    refused={
        401: "Cần đăng nhập",
        403: "Không có quyền xem đơn vị này",
        404: "Không tìm thấy",
        422: "Yêu cầu không hợp lệ",
    },
    back_home="Về trang đầu",
    vocabulary=wording.VIETNAMESE,
)

ENGLISH = Words(
    code="en",
    name="English",
    months=("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"),
    title="“1 triệu sáng kiến” campaign tracker",
    subtitle="Progress of every trade union against its targets",
    sign_in="Sign in",
    sign_in_intro="Enter the access token issued to your unit.",
    token="Access token",
    token_unknown="This access token is not known or was revoked.",
    sign_out="Sign out",
    search="Search",
    search_placeholder="Unit name, with or without diacritics",
    search_results="Search results",
    search_none="No unit found.",
    start_units="Your units",
    levels={
        "national": "National",
        "province": "Province or sector",
        "district": "District or equivalent",
        "grassroots": "Grassroots union",
    },
    merged_into="merged into",
    closed="closed (dissolved)",
    campaign="Campaign",
    phases="Targets by phase",
    phase="Phase",
    starts="Starts",
    ends="Ends",
    target="Target",
    value="Value",
    share="% of target",
    status="Status",
    no_plan="This unit has no plan with targets in this campaign.",
    no_campaign="This unit takes part in no campaign yet.",
    metrics={"submitted": "submitted", "approved": "approved initiatives"},
    chart="Progress over time",
    chart_note=(
        "Running total by day of the event; the pace line runs from 0 at the start "
        "to the target at the end."
    ),
    pace="Required pace",
    today="Today",
    no_points="No figures in this phase yet.",
    as_of="Figures as of",
    as_of_note="The targets table is exact at the chosen moment.",
    as_of_hint="day/month/year hour:minute, e.g. 12/05/2022 13:30; a day alone: its end",
    as_of_invalid=(
        "“{text}” is not a moment this page can read: write day/month/year and "
        "hour:minute, e.g. 12/05/2022 13:30. Current figures are shown."
    ),
    as_of_show="Show",
    as_of_clear="Back to now",
    current_figures_note=(
        "Ranking, follow-up list, breakdowns and notifications are current figures."
    ),
    evaluated_at="Updated",
    children="Ranking of the units below",
    rank="Rank",
    unit="Unit",
    no_children="This unit has no open units below it.",
    follow_up="Needs follow-up",
    follow_up_note=(
        "Units at every level below with a target in a running phase that have submitted "
        "nothing yet, or are at risk of missing their target."
    ),
    follow_up_none="No unit needs follow-up.",
    follow_up_reason="Reason",
    show_all="Show all {count} units",
    units_count="{count} units",
    previous_page="Previous page",
    next_page="Next page",
    back_to_unit="Back to the unit's page",
    by_category="By category",
    by_author_type="By author type",
    participation="Registered or submitted",
    authors="Authors",
    submitted="Submitted",
    approved="Approved",
    no_breakdown="No initiatives yet.",
    notifications="Recent notifications",
    no_notifications="No notifications for this unit yet.",
    digest_children="{count} units below: {rule}",
    export="Download report",
    refused={
        401: "Sign-in needed",
        403: "Not allowed to see this unit",
        404: "Not found",
        422: "Invalid request",
    },
    back_home="Back to the start page",
    vocabulary=wording.ENGLISH,
)

LANGUAGES: Mapping[str, Words] = {"vi": VIETNAMESE, "en": ENGLISH}


def words(language: str | None) -> Words:
    """The words of ``language``; anything else is Vietnamese."""
    return LANGUAGES.get(language or DEFAULT_LANGUAGE, VIETNAMESE)


@dataclass(frozen=True, slots=True)
class Formats:
    """Numbers, shares and local dates written the way a language's readers expect."""

    words: Words

    def number(self, n: int | None) -> str:
        return self.words.vocabulary.number(n)

    def percent(self, ratio: float | None, decimals: int = 1) -> str:
        return self.words.vocabulary.percent(ratio, decimals)

    def share(self, ratio: float) -> str:
        """A rule's threshold (0.8 → 80 %), without decimals unless it has some."""
        return self.words.vocabulary.share(ratio)

    def days_left(self, days: int) -> str:
        return self.words.vocabulary.days_left(days)

    def date(self, day: dt.date) -> str:
        if self.words.code == "en":
            return f"{day.day} {self.words.months[day.month - 1]} {day.year}"
        return f"{day:%d/%m/%Y}"

    def instant(self, at: dt.datetime) -> str:
        local = at.astimezone(CAMPAIGN_ZONE)
        return f"{self.date(local.date())} {local:%H:%M}"

    def as_of_field(self, at: dt.datetime) -> str:
        """``at`` as the "as of" field takes it back: dd/mm/yyyy hh:mm in every language
        (browsers' own date pickers follow their locale, often mm/dd/yyyy), a day's end as
        the day alone."""
        local = at.astimezone(CAMPAIGN_ZONE)
        day = f"{local:%d/%m/%Y}"
        return day if local.time() == dt.time.max else f"{day} {local:%H:%M}"

    def month(self, day: dt.date) -> str:
        """A chart's month tick: T5/2022, or May 2022."""
        name = self.words.months[day.month - 1]
        return f"{name}/{day.year}" if self.words.code == "vi" else f"{name} {day.year}"
