"""The report as an Excel workbook: a summary sheet, then one sheet per table of the page, Chinese
headers, the header row frozen, column widths that fit, and every text a spreadsheet would read as
a formula (``=``, ``+``, ``-``, ``@`` first) stored as plain text with Excel's quote prefix."""

from __future__ import annotations

from pathlib import Path

import polars as pl
from openpyxl import Workbook
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter

from lianjian.report.fmt import display_width, formula_like
from lianjian.report.model import Block, Report
from lianjian.report.sections import METRICS

HEADER_FONT = Font(bold=True)
HEADER_FILL = PatternFill("solid", fgColor="EEF1F4")
MIN_WIDTH, MAX_WIDTH = 6, 60


#: Control characters XML 1.0 (and so .xlsx) cannot hold; openpyxl refuses them.
ILLEGAL_XML = r"[\x00-\x08\x0b\x0c\x0e-\x1f]"


def _cells(frame: pl.DataFrame) -> pl.DataFrame:
    """Values as openpyxl takes them: lists joined to text, control characters XML cannot hold
    removed and line ends as LF, everything else as is."""
    frame = frame.with_columns(
        pl.col(c).cast(pl.List(pl.String)).list.join(", ") for c, t in frame.schema.items() if isinstance(t, pl.List)
    )
    text = pl.col(pl.String).str.replace_all(ILLEGAL_XML, "").str.replace_all("\r\n?", "\n")  # XML reads CR as LF
    return frame.with_columns(text)


def _widths(frame: pl.DataFrame) -> list[float]:
    """Per column: the widest of the header and the values as printed (CJK counts double), clamped."""
    if frame.height == 0:
        lengths = [0] * frame.width
    else:
        lengths = list(frame.select(display_width(pl.col(c).cast(pl.String).fill_null("")).max().alias(c) for c in frame.columns).row(0))
    heads = pl.DataFrame({"h": frame.columns}).select(display_width(pl.col("h")))["h"].to_list() if frame.width else []
    return [min(max(int(max(a or 0, b)) + 2, MIN_WIDTH), MAX_WIDTH) for a, b in zip(lengths, heads)]


def _formula_cells(frame: pl.DataFrame) -> list[tuple[int, int]]:
    """(row, column) indexes, 0-based over the data, of text cells that look like formulas."""
    out: list[tuple[int, int]] = []
    for j, (name, dtype) in enumerate(frame.schema.items()):
        if dtype == pl.String:
            rows = frame.select(pl.arg_where(formula_like(pl.col(name)).fill_null(False)))
            out += [(i, j) for i in rows.to_series().to_list()]
    return out


def write_sheet(wb: Workbook, title: str, frame: pl.DataFrame, note: str | None = None) -> None:
    """One sheet: header row 1 (frozen), data from row 2, a note (the source) to the right of the header."""
    ws = wb.create_sheet(title=title[:31])
    frame = _cells(frame)
    ws.append(frame.columns)
    for cell in ws[1]:
        cell.font, cell.fill = HEADER_FONT, HEADER_FILL
        cell.alignment = Alignment(horizontal="center", vertical="center", wrap_text=True)
    for row in frame.iter_rows():  # openpyxl takes rows one at a time
        ws.append(row)
    for i, j in _formula_cells(frame):
        cell = ws.cell(row=i + 2, column=j + 1)
        cell.data_type = "s"  # text, never a formula
        cell.quotePrefix = True  # Excel/LibreOffice: keep it text when the cell is edited
    for j, width in enumerate(_widths(frame), 1):
        ws.column_dimensions[get_column_letter(j)].width = width
    ws.freeze_panes = "A2"
    if note:
        col = frame.width + 2
        ws.cell(row=1, column=col, value=note).font = Font(italic=True, color="57606A")
    ws.print_options.gridLines = True
    ws.page_setup.paperSize = ws.PAPERSIZE_A4
    ws.page_setup.orientation = "landscape" if frame.width > 7 else "portrait"
    ws.page_setup.fitToWidth, ws.page_setup.fitToHeight = 1, 0
    ws.sheet_properties.pageSetUpPr.fitToPage = True
    ws.print_title_rows = "1:1"


def _summary(report: Report) -> pl.DataFrame:
    return pl.DataFrame(
        {
            "指标": [m.title for m in METRICS],
            "数值": [report.metrics[m.key] for m in METRICS],
            "来源表": [f"published/{m.table}" for m in METRICS],
            "规则": [m.rule for m in METRICS],
        },
        schema={"指标": pl.String, "数值": pl.Int64, "来源表": pl.String, "规则": pl.String},
    )


def _sheets(report: Report) -> list[Block]:
    return [b for s in report.sections for b in s.blocks]


def write_workbook(report: Report, path: Path) -> Path:
    """Write ``report`` to ``path`` (.xlsx) via a temporary file and a rename."""
    wb = Workbook()
    wb.remove(wb.active)
    write_sheet(wb, "概要", _summary(report), note=f"{report.title}；规则版本 {'、'.join(report.rules_versions) or '—'}")
    index = pl.DataFrame(
        {"工作表": [b.sheet[:31] for b in _sheets(report)], "内容": [b.title for b in _sheets(report)], "来源": [b.source for b in _sheets(report)]}
    )
    for block in _sheets(report):
        write_sheet(wb, block.sheet, block.frame, note=block.source)
    write_sheet(wb, "说明", index)
    wb.properties.title = report.title
    wb.properties.creator = "lianjian"
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    wb.save(tmp)
    tmp.replace(path)
    return path
