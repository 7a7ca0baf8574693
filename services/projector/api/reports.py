"""The progress report an official prints, as CSV or XLSX.

One table of typed cells feeds both formats, so they never disagree: header lines, the
unit's phases and whole campaign, then its children in the phase running at the instant
reported. Labels and names (campaign, phases, units, statuses) are in Vietnamese, the
language of the officials who file these reports. The CSV stays machine-readable (ISO dates
and instants, a decimal point); the XLSX keeps numbers, dates and shares as typed cells whose
formats Excel shows the Vietnamese way on a computer set to Vietnamese.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from dataclasses import dataclass, field

import xlsxwriter  # type: ignore[import-untyped]

from services.projector.api.models import ChildProgress, Children, PhaseProgress, Progress
from services.projector.schema import WHOLE_CAMPAIGN
from shared import wording
from shared.domain.campaign import CAMPAIGN_ZONE

STATUS_LABELS = wording.VIETNAMESE.statuses
WHOLE_CAMPAIGN_LABEL = wording.VIETNAMESE.whole_campaign
CSV_TYPE = "text/csv; charset=utf-8"
XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@dataclass(frozen=True, slots=True)
class Percent:
    """A share of the target, shown as a percentage (0.674 → 67.4 %)."""

    ratio: float


Cell = str | int | dt.datetime | dt.date | Percent | None
"""An instant (``dt.datetime``) is shown in the campaign's local time."""


@dataclass(frozen=True, slots=True)
class Row:
    cells: list[Cell] = field(default_factory=list)
    heading: bool = False


def report_rows(
    progress: Progress, children: Children, campaign_name: str, generated_at: dt.datetime
) -> list[Row]:
    """The report's rows: ``progress`` as of its instant (now or an ``as_of``), ``children``
    ranked in the phase running then; children's figures are current, and say so when the
    report is as of another instant."""
    phases = [*progress.phases, *([progress.total] if progress.total else [])]
    current = next((p for p in phases if p.phase_id == children.phase_id), None)
    ranked_in = _phase_name(current) if current else "giai đoạn hiện tại"
    current_note = "" if progress.as_of is None else ", số liệu hiện tại"
    return [
        Row(["Đơn vị", progress.unit.name], heading=True),
        Row(["Phong trào", campaign_name]),
        Row(["Số liệu tại thời điểm", progress.evaluated_at, CAMPAIGN_ZONE.key]),
        Row(["Thời điểm lập", generated_at, CAMPAIGN_ZONE.key]),
        Row(),
        Row(
            ["Giai đoạn", "Bắt đầu", "Kết thúc", "Chỉ tiêu", "Kết quả", "% chỉ tiêu", "Tình trạng"],
            heading=True,
        ),
        *(Row([_phase_name(p), p.starts_on, p.ends_on, *_figures(p)]) for p in phases),
        Row(),
        Row([f"Đơn vị trực thuộc, {ranked_in}{current_note}"]),
        Row(["Đơn vị", "Chỉ tiêu", "Kết quả", "% chỉ tiêu", "Tình trạng"], heading=True),
        *(Row([child.name, *_figures(child)]) for child in children.ranking),
    ]


def _phase_name(phase: PhaseProgress) -> str:
    return WHOLE_CAMPAIGN_LABEL if phase.phase_id == WHOLE_CAMPAIGN else phase.name


def _figures(judged: PhaseProgress | ChildProgress) -> list[Cell]:
    share = None if judged.ratio is None else Percent(judged.ratio)
    return [judged.target, judged.value, share, STATUS_LABELS[judged.status]]


def to_csv(rows: list[Row]) -> bytes:
    """UTF-8 with a byte-order mark, so spreadsheet programs show the diacritics; values
    for programs to read: ISO dates, instants with their offset, a decimal point."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerows([[_text(cell) for cell in row.cells] for row in rows])
    return buffer.getvalue().encode("utf-8-sig")


def _text(cell: Cell) -> str:
    if cell is None:
        return ""
    if isinstance(cell, Percent):
        return f"{cell.ratio * 100:.1f}"
    if isinstance(cell, dt.datetime):
        return cell.astimezone(CAMPAIGN_ZONE).isoformat()
    if isinstance(cell, dt.date):
        return cell.isoformat()
    return str(cell)


XLSX_FORMATS = {
    "count": "#,##0",
    "percent": "0.0%",
    "date": "dd/mm/yyyy",
    "instant": "dd/mm/yyyy hh:mm",
}
"""Excel number formats: ``,`` and ``.`` in them stand for the reader's own separators, so
Excel on a computer set to Vietnamese shows 1.234 and 67,4 % (1,234 and 67.4% elsewhere);
dates are always day/month/year."""


def to_xlsx(rows: list[Row]) -> bytes:
    """One sheet; counts, dates, instants and shares stay numbers, so the sheet can still
    compute, with the formats of :data:`XLSX_FORMATS`."""
    buffer = io.BytesIO()
    workbook = xlsxwriter.Workbook(buffer, {"in_memory": True})
    sheet = workbook.add_worksheet("Báo cáo")
    bold = workbook.add_format({"bold": True})
    formats = {
        kind: workbook.add_format({"num_format": code}) for kind, code in XLSX_FORMATS.items()
    }
    sheet.set_column(0, 0, 45)
    sheet.set_column(1, 6, 16)
    for number, row in enumerate(rows):
        for column, cell in enumerate(row.cells):
            if isinstance(cell, Percent):
                sheet.write_number(number, column, cell.ratio, formats["percent"])
            elif isinstance(cell, dt.datetime):
                local = cell.astimezone(CAMPAIGN_ZONE).replace(tzinfo=None)
                sheet.write_datetime(number, column, local, formats["instant"])
            elif isinstance(cell, dt.date):
                sheet.write_datetime(number, column, cell, formats["date"])
            elif isinstance(cell, int):
                sheet.write_number(number, column, cell, formats["count"])
            elif cell is not None:
                sheet.write_string(number, column, cell, bold if row.heading else None)
    workbook.close()
    return buffer.getvalue()
