"""The report as an Excel workbook: a summary sheet, then one sheet per table of the page, Chinese
headers, the header row frozen, column widths that fit, and every text a spreadsheet would read as
a formula (``=``, ``+``, ``-``, ``@``, tab, CR first) stored as plain text with Excel's quote prefix.

The workbook is written directly as its Office Open XML parts (a zip of small XML files): every
cell's XML is built by Polars column by column (no Python loop over rows or cells), strings are
inline (``t="inlineStr"``), so a workbook of 20,000 cells takes milliseconds where openpyxl took
about a second. openpyxl, calamine (fastexcel), Excel and LibreOffice read it back.

Every number has a number format — whole numbers ``0``, decimals (scores, rates, percentages)
``0.00``, so Excel never shows ``77.94117647058823`` — and every sheet an autofilter on its header
row over its rows and columns.

Styles (``xl/styles.xml``, cellXfs): 0 normal, 1 header (bold, grey fill, centred, wrapped),
2 quote prefix (formula-like text), 3 date (yyyy-mm-dd), 4 note (italic, grey), 5 whole number
(built-in format 1, ``0``), 6 decimal (built-in format 2, ``0.00``).
"""

from __future__ import annotations

import os
import re
import struct
import sys
import zlib
from collections import OrderedDict
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from xml.sax.saxutils import escape as _xml_escape

import polars as pl

from lianjian.files import private_mkdir
from lianjian.files import put_private as write_private  # every report file goes through it: no ``Path`` made per file

from lianjian.report.fmt import display_width, formula_like
from lianjian.report.model import Block, Rendered, Report
from lianjian.report.sections import METRICS

MIN_WIDTH, MAX_WIDTH = 6, 60
HEADER_STYLE, QUOTE_STYLE, DATE_STYLE, NOTE_STYLE, INT_STYLE, DEC_STYLE = 1, 2, 3, 4, 5, 6

#: Characters XML 1.0 (and so .xlsx) cannot hold: C0 controls but tab/LF/CR, and U+FFFE/U+FFFF.
ILLEGAL_XML = r"[\x00-\x08\x0b\x0c\x0e-\x1f\x{FFFE}\x{FFFF}]"

#: Fixed zip entry time, so the same report gives the same bytes.
ZIP_TIME = (2020, 1, 1, 0, 0, 0)

MAIN_NS = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
REL_NS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
PKG_REL_NS = "http://schemas.openxmlformats.org/package/2006/relationships"


@dataclass(frozen=True)
class Sheet:
    title: str  # ≤ 31 characters (cut here), unique per workbook
    frame: pl.DataFrame
    note: str | None = None  # shown to the right of the header (the source of the numbers)
    rendered: Rendered | None = None
    xml: bytes | None = None  # the whole worksheet part (UTF-8), when already rendered


def clean_columns(schema: pl.Schema | dict, plain: frozenset[str] = frozenset()) -> tuple[list[pl.Expr], dict[str, pl.DataType]]:
    """``clean`` as one expression per column (each keeps its name), and the schema they give: lists
    joined to text, other types a worksheet cannot hold as they are cast to text, characters XML
    cannot hold removed and line ends as LF (XML reads CR as LF). ``plain``: text columns known to
    hold no control character (html.plain_columns), kept as they are."""
    exprs: list[pl.Expr] = []
    out: dict[str, pl.DataType] = {}
    for name, dtype in schema.items():
        expr = pl.col(name)
        if isinstance(dtype, pl.List):
            expr, dtype = expr.cast(pl.List(pl.String)).list.join(", "), pl.String()
        elif not (dtype.is_numeric() or dtype in (pl.String, pl.Boolean, pl.Date)):
            expr, dtype = expr.cast(pl.String), pl.String()
        if dtype == pl.String and name not in plain:
            expr = expr.str.replace_all(ILLEGAL_XML, "").str.replace_all("\r\n?", "\n")
        exprs.append(expr.alias(name))
        out[name] = dtype
    return exprs, out


def clean(frame: pl.DataFrame) -> pl.DataFrame:
    """Lists joined to text, characters XML cannot hold removed and line ends as LF."""
    return frame.with_columns(clean_columns(frame.schema)[0])


def column_letter(j: int) -> str:
    """1 -> A, 27 -> AA."""
    out = ""
    while j:
        j, r = divmod(j - 1, 26)
        out = chr(65 + r) + out
    return out


def xml_text(text: str) -> str:
    return _xml_escape(text, {'"': "&quot;"})


def _xml_escape_expr(expr: pl.Expr) -> pl.Expr:
    return expr.str.replace_many(["&", "<", ">"], ["&amp;", "&lt;", "&gt;"])


def _inline(text: str, style: int = 0) -> str:
    s = f' s="{style}"' if style else ""
    return f'<c t="inlineStr"{s}><is><t xml:space="preserve">{xml_text(text)}</t></is></c>'


def _cell_expr(name: str, dtype: pl.DataType, ref: str, plain: bool = False) -> pl.Expr:
    """The XML of one column's cells ('' for a null): refs are '<letter><row>'. ``plain``: a text
    column none of whose values needs an escape or starts like a formula (html.plain_columns)."""
    col = pl.col(name)
    head = [pl.lit(f'<c r="{ref}'), pl.col("_row")]
    if dtype == pl.String and plain:
        return pl.concat_str([*head, pl.lit('" t="inlineStr"><is><t xml:space="preserve">'), col, pl.lit("</t></is></c>")]).fill_null("")
    if dtype == pl.String:
        style = pl.when(formula_like(col)).then(pl.lit(f'" s="{QUOTE_STYLE}')).otherwise(pl.lit(""))
        xml = pl.concat_str(
            [*head, style, pl.lit('" t="inlineStr"><is><t xml:space="preserve">'), _xml_escape_expr(col), pl.lit("</t></is></c>")]
        )
        return xml.fill_null("")
    if dtype == pl.Boolean:
        value = col.cast(pl.Int8).cast(pl.String)
        return pl.concat_str([*head, pl.lit('" t="b"><v>'), value, pl.lit("</v></c>")]).fill_null("")
    if dtype == pl.Date:
        serial = (col.cast(pl.Int64) + 25569).cast(pl.String)  # days since 1899-12-30 (Excel's 1900 system)
        return pl.concat_str([*head, pl.lit(f'" s="{DATE_STYLE}"><v>'), serial, pl.lit("</v></c>")]).fill_null("")
    if dtype.is_float():
        ok = col.is_finite()
        text = pl.when(ok).then(col.cast(pl.String))
        return pl.concat_str([*head, pl.lit(f'" s="{DEC_STYLE}"><v>'), text, pl.lit("</v></c>")]).fill_null("")
    if dtype.is_integer():
        return pl.concat_str([*head, pl.lit(f'" s="{INT_STYLE}"><v>'), col.cast(pl.String), pl.lit("</v></c>")]).fill_null("")
    return pl.concat_str([*head, pl.lit('"><v>'), col.cast(pl.String), pl.lit("</v></c>")]).fill_null("")


def value_widths(frame: pl.DataFrame) -> list[int]:
    """Per column, the widest value as printed (CJK counts double); 0 for an empty frame."""
    if frame.height == 0:
        return [0] * frame.width
    row = frame.select(display_width(pl.col(c).cast(pl.String).fill_null("")).max().alias(c) for c in frame.columns).row(0)
    return [int(v or 0) for v in row]


def width_exprs(columns: list[str]) -> list[pl.Expr]:
    """The same as ``value_widths`` as aggregations (for a group_by over many reports at once)."""
    return [display_width(pl.col(c).cast(pl.String).fill_null("")).max().fill_null(0).alias(f"_w{j}") for j, c in enumerate(columns)]


def text_width(text: str) -> int:
    """``display_width`` of one header or note (a CJK character, 3 UTF-8 bytes, counts twice)."""
    return len(text) + (len(text.encode("utf-8")) - len(text)) // 2


def row_xml_expr(schema: pl.Schema | dict, plain: frozenset[str] = frozenset()) -> pl.Expr:
    """One ``<row>`` per row of a frame already passed through ``clean``; needs a String column
    ``_row`` with the sheet row number (2 for the first data row). ``plain``: text columns known
    to need no escape (html.plain_columns)."""
    letters = [column_letter(j) for j in range(1, len(schema) + 1)]
    cells = [_cell_expr(c, t, letters[j], c in plain) for j, (c, t) in enumerate(schema.items())]
    return pl.concat_str([pl.lit('<row r="'), pl.col("_row"), pl.lit('">'), *cells, pl.lit("</row>")])




@lru_cache(maxsize=1024)
def _sheet_head(columns: tuple[str, ...], note: str | None) -> tuple[bytes, str, tuple[int, ...]]:
    """What a worksheet's header decides, the same for every report of a kind: the header row's
    XML (UTF-8), the last column's letter and each header's printed width."""
    n_cols = len(columns)
    letters = [column_letter(j) for j in range(1, n_cols + 3)]
    header = "".join(_inline(c, HEADER_STYLE).replace("<c ", f'<c r="{letters[j]}1" ', 1) for j, c in enumerate(columns))
    if note:
        header += _inline(note, NOTE_STYLE).replace("<c ", f'<c r="{letters[n_cols + 1]}1" ', 1)
    last_col = letters[n_cols + 1] if note else letters[max(n_cols, 1) - 1]
    return f'<sheetData><row r="1">{header}</row>'.encode("utf-8"), last_col, tuple(text_width(c) for c in columns)


@lru_cache(maxsize=4096)
def _cols_xml(widths: tuple[int, ...]) -> str:
    cols = "".join(f'<col min="{j}" max="{j}" width="{w}" customWidth="1"/>' for j, w in enumerate(widths, 1))
    return "<cols>" + cols + "</cols>" if cols else ""


_SHEET_START = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    f'<worksheet xmlns="{MAIN_NS}" xmlns:r="{REL_NS}">'
    '<sheetPr><pageSetUpPr fitToPage="1"/></sheetPr>'
)
_SHEET_VIEW = (
    '<sheetViews><sheetView workbookViewId="0">'
    '<pane ySplit="1" topLeftCell="A2" activePane="bottomLeft" state="frozen"/>'
    '<selection pane="bottomLeft" activeCell="A2" sqref="A2"/></sheetView></sheetViews>'
    '<sheetFormatPr defaultRowHeight="15"/>'
)
_SHEET_PRINT = (
    '<printOptions gridLines="1"/>'
    '<pageMargins left="0.7" right="0.7" top="0.75" bottom="0.75" header="0.3" footer="0.3"/>'
)
_SHEET_END = {
    orientation: f'{_SHEET_PRINT}<pageSetup paperSize="9" orientation="{orientation}" fitToWidth="1" fitToHeight="0"/></worksheet>'.encode()
    for orientation in ("landscape", "portrait")
}


@lru_cache(maxsize=4096)
def filter_ref(n_columns: int, n_rows: int) -> str:
    """The autofilter's range: the header row and every data row of the table's columns (not the note)."""
    return f"A1:{column_letter(max(n_columns, 1))}{n_rows + 1}"


def sheet_xml(frame: pl.DataFrame, note: str | None = None, rendered: Rendered | None = None) -> bytes:
    """One worksheet part (UTF-8): header row 1 (bold, frozen), data from row 2, the note right of
    the header, column widths fitted, A4 page set-up fitting the width, the header row repeated on
    print. ``rendered``: the data rows and value widths already computed (``build._prerender``)."""
    if rendered is not None and rendered.sheet is not None:
        return rendered.sheet
    n_rows, columns = frame.height, tuple(frame.columns)
    if rendered is not None or n_rows == 0:
        has_rows = rendered is not None and n_rows > 0
        body = rendered.xml if has_rows else b""
        values = rendered.value_widths if has_rows else (0,) * len(columns)
    else:
        frame = clean(frame)
        body = b""
        if n_rows and columns:
            body = (
                frame.with_columns(_row=pl.int_range(2, n_rows + 2, dtype=pl.Int64).cast(pl.String))
                .select(row_xml_expr(frame.schema).alias("x"))["x"]
                .str.join("")
                .item()
                .encode("utf-8")
            )
        values = tuple(value_widths(frame))
    return sheet_part(columns, n_rows, note, body, values)


def sheet_expr(columns: tuple[str, ...], note: str | None, n_rows: pl.Expr, rows: pl.Expr, values: list[pl.Expr]) -> pl.Expr:
    """``sheet_part`` as one Polars expression, for every report at once (``build._prerender``):
    the worksheet around ``rows`` (its ``<row>`` XML), from the row count and each column's widest
    value (aggregations of a group_by over the reports). The same text as ``sheet_part``."""
    assert columns, "a worksheet of a table has columns"
    head, last_col, head_widths = _sheet_head(columns, note)
    end_row = (n_rows + 1).cast(pl.String)
    cols: list[pl.Expr] = []
    for j, (value, header) in enumerate(zip(values, head_widths), 1):
        width = (pl.max_horizontal(value.fill_null(0), pl.lit(header)) + 2).clip(MIN_WIDTH, MAX_WIDTH)
        cols += [pl.lit(f'<col min="{j}" max="{j}" width="'), width.cast(pl.String), pl.lit('" customWidth="1"/>')]
    end = _SHEET_END["landscape" if len(columns) > 7 else "portrait"].decode()
    return pl.concat_str(
        [
            pl.lit(f'{_SHEET_START}<dimension ref="A1:{last_col}'),
            end_row,
            pl.lit(f'"/>{_SHEET_VIEW}<cols>'),
            *cols,
            pl.lit("</cols>" + head.decode("utf-8")),
            rows,
            pl.lit(f'</sheetData><autoFilter ref="A1:{column_letter(max(len(columns), 1))}'),
            end_row,
            pl.lit('"/>' + end),
        ]
    )


def sheet_part(columns: tuple[str, ...], n_rows: int, note: str | None, body: bytes, values: tuple[int, ...]) -> bytes:
    """The worksheet XML from its header, its row count, its data rows' XML and the widest value
    of each column (``sheet_xml`` without a frame). Everything but the rows is cut from the
    header, the row count and the widths (``_sheet_frame``, cached: most combinations repeat from
    report to report, and an empty table's sheet is the same in every report)."""
    start, end = _sheet_frame(columns, n_rows, note, values)
    return b"".join([start, body, end]) if body else start + end


@lru_cache(maxsize=8192)
def _sheet_frame(columns: tuple[str, ...], n_rows: int, note: str | None, values: tuple[int, ...]) -> tuple[bytes, bytes]:
    """A worksheet part without its data rows: (what comes before them, what comes after)."""
    head, last_col, head_widths = _sheet_head(columns, note)
    # column widths: the widest of the header and the values, + 2, clamped to 6–60
    widths = tuple(min(max(max(v or 0, h) + 2, MIN_WIDTH), MAX_WIDTH) for v, h in zip(values, head_widths))
    start = f'{_SHEET_START}<dimension ref="A1:{last_col}{n_rows + 1}"/>{_SHEET_VIEW}{_cols_xml(widths)}'
    autofilter = f'</sheetData><autoFilter ref="{filter_ref(len(columns), n_rows)}"/>'.encode()
    return start.encode() + head, autofilter + _SHEET_END["landscape" if len(columns) > 7 else "portrait"]


STYLES = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    f'<styleSheet xmlns="{MAIN_NS}">'
    '<numFmts count="1"><numFmt numFmtId="164" formatCode="yyyy\\-mm\\-dd"/></numFmts>'
    '<fonts count="3">'
    '<font><sz val="11"/><name val="Calibri"/><family val="2"/></font>'
    '<font><b/><sz val="11"/><name val="Calibri"/><family val="2"/></font>'
    '<font><i/><sz val="11"/><color rgb="FF57606A"/><name val="Calibri"/><family val="2"/></font>'
    "</fonts>"
    '<fills count="3"><fill><patternFill patternType="none"/></fill><fill><patternFill patternType="gray125"/></fill>'
    '<fill><patternFill patternType="solid"><fgColor rgb="FFEEF1F4"/><bgColor indexed="64"/></patternFill></fill></fills>'
    '<borders count="1"><border><left/><right/><top/><bottom/><diagonal/></border></borders>'
    '<cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0"/></cellStyleXfs>'
    '<cellXfs count="7">'
    '<xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0"/>'
    '<xf numFmtId="0" fontId="1" fillId="2" borderId="0" xfId="0" applyFont="1" applyFill="1" applyAlignment="1">'
    '<alignment horizontal="center" vertical="center" wrapText="1"/></xf>'
    '<xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0" quotePrefix="1"/>'
    '<xf numFmtId="164" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/>'
    '<xf numFmtId="0" fontId="2" fillId="0" borderId="0" xfId="0" applyFont="1"/>'
    '<xf numFmtId="1" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/>'
    '<xf numFmtId="2" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/>'
    "</cellXfs>"
    '<cellStyles count="1"><cellStyle name="Normal" xfId="0" builtinId="0"/></cellStyles>'
    "</styleSheet>"
)


def _sheet_ref(title: str) -> str:
    return "'" + title.replace("'", "''") + "'"


_DECL = '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'


@lru_cache(maxsize=64)
def _package_parts(titles: tuple[str, ...]) -> dict[str, bytes]:
    """The parts that depend only on the sheets' titles (all but ``docProps/core.xml``,
    ``xl/workbook.xml`` and the sheets), in the order they are written; the same for every workbook
    of a kind."""
    n = len(titles)
    ct_sheets = "".join(
        f'<Override PartName="/xl/worksheets/sheet{i}.xml" '
        'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>'
        for i in range(1, n + 1)
    )
    parts = {
        "[Content_Types].xml": _DECL
        + '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
        '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
        '<Default Extension="xml" ContentType="application/xml"/>'
        '<Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
        '<Override PartName="/xl/styles.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.styles+xml"/>'
        '<Override PartName="/docProps/core.xml" ContentType="application/vnd.openxmlformats-package.core-properties+xml"/>'
        '<Override PartName="/docProps/app.xml" ContentType="application/vnd.openxmlformats-officedocument.extended-properties+xml"/>'
        f"{ct_sheets}</Types>",
        "_rels/.rels": _DECL
        + f'<Relationships xmlns="{PKG_REL_NS}">'
        f'<Relationship Id="rId1" Type="{REL_NS}/officeDocument" Target="xl/workbook.xml"/>'
        '<Relationship Id="rId2" Type="http://schemas.openxmlformats.org/package/2006/relationships/metadata/core-properties" Target="docProps/core.xml"/>'
        f'<Relationship Id="rId3" Type="{REL_NS}/extended-properties" Target="docProps/app.xml"/>'
        "</Relationships>",
        "docProps/app.xml": _DECL
        + '<Properties xmlns="http://schemas.openxmlformats.org/officeDocument/2006/extended-properties">'
        "<Application>lianjian</Application></Properties>",
        "xl/workbook.xml": "",  # per workbook: workbook_xml (its filter ranges depend on the row counts)
        "xl/_rels/workbook.xml.rels": _DECL
        + f'<Relationships xmlns="{PKG_REL_NS}">'
        + "".join(
            f'<Relationship Id="rId{i}" Type="{REL_NS}/worksheet" Target="worksheets/sheet{i}.xml"/>'
            for i in range(1, n + 1)
        )
        + f'<Relationship Id="rId{n + 1}" Type="{REL_NS}/styles" Target="styles.xml"/></Relationships>',
        "xl/styles.xml": STYLES,
    }
    return {name: text.encode("utf-8") for name, text in parts.items()}


@lru_cache(maxsize=4096)
def workbook_xml(titles: tuple[str, ...], filters: tuple[str, ...]) -> bytes:
    """``xl/workbook.xml``: the sheets, and per sheet its print titles (the header row) and the range
    of its autofilter (``_xlnm._FilterDatabase``, hidden, as Excel writes it). The filter ranges
    differ from report to report (they hold the row counts), so this is built for almost every
    workbook: what depends on the titles alone comes from ``_workbook_frame``."""
    head, names, tail = _workbook_frame(titles)
    return b"".join([head, *(f"{name}{_absolute(ref)}{after}".encode() for (name, after), ref in zip(names, filters)), tail])


@lru_cache(maxsize=64)
def _workbook_frame(titles: tuple[str, ...]) -> tuple[bytes, tuple[tuple[str, str], ...], bytes]:
    """``workbook_xml`` of ``titles`` cut around each sheet's filter range: (the part before the
    defined names, per sheet the text before and after its range, the end)."""
    head = (
        _DECL
        + f'<workbook xmlns="{MAIN_NS}" xmlns:r="{REL_NS}">'
        '<bookViews><workbookView activeTab="0"/></bookViews><sheets>'
        + "".join(f'<sheet name="{xml_text(t)}" sheetId="{i}" r:id="rId{i}"/>' for i, t in enumerate(titles, 1))
        + "</sheets><definedNames>"
    )
    names = tuple(
        (
            f'<definedName name="_xlnm._FilterDatabase" localSheetId="{i}" hidden="1">{xml_text(_sheet_ref(t))}!',
            f'</definedName><definedName name="_xlnm.Print_Titles" localSheetId="{i}">{xml_text(_sheet_ref(t))}!$1:$1</definedName>',
        )
        for i, t in enumerate(titles)
    )
    return head.encode("utf-8"), names, b"</definedNames></workbook>"


_CELL = re.compile(r"([A-Z]+)([0-9]+)")


@lru_cache(maxsize=4096)
def _absolute(ref: str) -> str:
    """``A1:D9`` -> ``$A$1:$D$9`` (cached: a workbook's filter ranges repeat from report to report)."""
    return _CELL.sub(r"$\1$\2", ref)


def _filter_of(sheet: Sheet) -> str:
    r = sheet.rendered
    if r is not None and r.sheet is not None:  # the rows were rendered for every report at once: no frame asked
        return filter_ref(len(r.value_widths), r.n_rows)
    return filter_ref(sheet.frame.width, sheet.frame.height)


def workbook_parts(sheets: list[Sheet], *, title: str = "", creator: str = "lianjian") -> dict[str, bytes]:
    """Every part of the workbook, name -> XML (UTF-8), in the order they are written."""
    package = _package_parts(tuple(s.title[:31] for s in sheets))
    core = (
        _DECL
        + '<cp:coreProperties xmlns:cp="http://schemas.openxmlformats.org/package/2006/metadata/core-properties" '
        'xmlns:dc="http://purl.org/dc/elements/1.1/" xmlns:dcterms="http://purl.org/dc/terms/" '
        'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">'
        f"<dc:title>{xml_text(title)}</dc:title><dc:creator>{xml_text(creator)}</dc:creator></cp:coreProperties>"
    ).encode("utf-8")
    parts = {"[Content_Types].xml": package["[Content_Types].xml"], "_rels/.rels": package["_rels/.rels"], "docProps/core.xml": core}
    parts.update((k, v) for k, v in package.items() if k not in parts)
    parts["xl/workbook.xml"] = workbook_xml(
        tuple(s.title[:31] for s in sheets), tuple(_filter_of(s) for s in sheets)
    )
    for i, sheet in enumerate(sheets, 1):
        parts[f"xl/worksheets/sheet{i}.xml"] = sheet.xml or sheet_xml(sheet.frame, sheet.note, sheet.rendered)
    return parts


#: Deflate level of every part (what zipfile was given as ``compresslevel``; changing it changes every
#: file). 1, zlib's fast deflate: the worksheets are repetitive XML, and level 1 packs them only ≈ 5 %
#: larger than level 4 in ≈ 20 % less time (docs/performance.md, "Cold reports: …"); the same input
#: still gives the same bytes.
ZIP_LEVEL = 1

# The zip records exactly as the standard library's zipfile writes them for a seekable file (local
# header, data, then the central directory): version 2.0, no flags, deflated, no extra field, the
# fixed ZIP_TIME, permissions rw------- (0o600) created on this system. zip_bytes gives the same bytes
# as ``zipfile.ZipFile(..., compresslevel=ZIP_LEVEL).writestr(ZipInfo(name, ZIP_TIME), data)`` per
# part (checked by tests/test_report.py), without zipfile's per-part objects, seeks and rewrites.
_LOCAL = struct.Struct("<4s2B4HL2L2H")
_CENTRAL = struct.Struct("<4s4B4HL2L5H2L")
_END = struct.Struct("<4s4H2LH")
_VERSION = 20
_DEFLATED = 8
_CREATE_SYSTEM = 0 if sys.platform == "win32" else 3
_ATTR = 0o600 << 16
_DOS_TIME = ZIP_TIME[3] << 11 | ZIP_TIME[4] << 5 | ZIP_TIME[5] // 2
_DOS_DATE = (ZIP_TIME[0] - 1980) << 9 | ZIP_TIME[1] << 5 | ZIP_TIME[2]
_ZIP32_LIMIT = (1 << 31) - 1  # beyond this zipfile switches to ZIP64 records, which this writer has not
_SHARED_PART = 16 * 1024  # parts up to this size are looked up in the cache of compressed parts


def _deflate(data: bytes) -> tuple[int, bytes]:
    """(CRC-32, raw deflate stream) of one part: the stream zipfile makes (a compressor at
    ``ZIP_LEVEL``, raw deflate, default memory level, given the whole part then flushed), made by
    one ``zlib.compress`` call instead of a compressor object and two calls."""
    return zlib.crc32(data), zlib.compress(data, ZIP_LEVEL, -15)


def zip_bytes(parts: dict[str, bytes]) -> bytes:
    """A zip archive of ``parts`` (name -> content, in order), byte for byte what zipfile writes."""
    out: list[bytes] = []
    central: list[bytes] = []
    offset = 0
    for name, data in parts.items():
        if len(data) * 1.05 > _ZIP32_LIMIT or offset > _ZIP32_LIMIT:
            raise ValueError(f"工作簿部件 {name}: 超过 2 GiB，无法写入 — the workbook is too large for a zip without ZIP64")
        local, record = _entry_shared(name, data) if len(data) <= _SHARED_PART else _entry(name, data, _deflate_recent(data))
        out.append(local)
        central.append(record[0] + _OFFSET.pack(offset) + record[1])
        offset += len(local)
    directory = b"".join(central)
    end = _END.pack(b"PK\x05\x06", 0, 0, len(central), len(central), len(directory), offset, 0)
    return b"".join([*out, directory, end])


_OFFSET = struct.Struct("<L")


def _entry(name: str, data: bytes, deflated: tuple[int, bytes] | None = None) -> tuple[bytes, tuple[bytes, bytes]]:
    """One part's local record (header, name, deflated data) and its central record cut around the
    local record's offset (the only field that depends on where the part lies in the archive).
    ``deflated``: ``_deflate(data)`` when already made."""
    crc, packed = deflated or _deflate(data)
    fname = name.encode("ascii")
    local = _LOCAL.pack(b"PK\x03\x04", _VERSION, 0, 0, _DEFLATED, _DOS_TIME, _DOS_DATE, crc, len(packed), len(data), len(fname), 0)
    record = _CENTRAL.pack(
        b"PK\x01\x02", _VERSION, _CREATE_SYSTEM, _VERSION, 0, 0, _DEFLATED, _DOS_TIME, _DOS_DATE,
        crc, len(packed), len(data), len(fname), 0, 0, 0, 0, _ATTR, 0,
    )
    return b"".join([local, fname, packed]), (record[: -_OFFSET.size], fname)


#: How many large parts ``_deflate_recent`` keeps deflated: a roll-up's workbook follows its unit's
#: own one, a dozen parts each, so a few dozen suffice; each holds its part and its deflated copy.
_RECENT_PARTS = 32
_recent: OrderedDict[int, tuple[bytes, tuple[int, bytes]]] = OrderedDict()


def _deflate_recent(data: bytes) -> tuple[int, bytes]:
    """``_deflate(data)``, made once for the very same bytes object in the last ``_RECENT_PARTS``
    large parts: a roll-up's sheets of its own unit's lists are the objects its unit's own
    workbook held (build.OWN_BLOCKS), under another sheet number — looked up by identity, not by
    content, so a part is never hashed or compared."""
    hit = _recent.get(id(data))
    if hit is not None and hit[0] is data:
        return hit[1]
    deflated = _deflate(data)
    _recent[id(data)] = (data, deflated)  # the part held, so its id is not reused while it is here
    if len(_recent) > _RECENT_PARTS:
        _recent.popitem(last=False)
    return deflated


# Most small parts are the same in every workbook of a kind (content types, styles, the 说明 sheet,
# the 数据质量 sheet, an empty table's sheet): their records are made once per process.
_entry_shared = lru_cache(maxsize=512)(_entry)


def write_bytes(path: Path | str, data: bytes, *, folder_ready: bool = False) -> Path:
    """Write ``data`` to ``path`` via a temporary file beside it and a rename, so a reader never
    sees half a file (no fsync: a crash at worst leaves the previous file or none). A failed write
    (disk full) removes its temporary file; the report's digest notices the file not written. Reports
    name people: the file is 0600 and its folder 0700 (lianjian.files). ``folder_ready``: the caller
    has made the folder private already (once for the thousands of files it writes there), so
    it is not checked again for each file."""
    _write(os.fspath(path), data, folder_ready)
    return Path(path)


def _write(path: str, data: bytes, folder_ready: bool) -> None:
    """``write_bytes`` on a path as text (no ``Path`` objects made for each of tens of thousands of files)."""
    folder, name = os.path.split(path)
    if not folder_ready:
        private_mkdir(Path(folder or "."))
    tmp = f"{folder}/{TMP_PREFIX}{name}{TMP_INFIX}{os.getpid()}" if folder else f"{TMP_PREFIX}{name}{TMP_INFIX}{os.getpid()}"
    try:
        write_private(tmp, data)
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


def write_if_changed(path: Path | str, data: bytes, *, folder_ready: bool = False) -> bool:
    """``write_bytes`` unless ``path`` already holds exactly ``data`` (same size, then same bytes);
    True when written. A file kept is not created again: on a file system that has to find a fresh
    inode for every file created (and skips those freed in the last minutes), rewriting tens of
    thousands of unchanged pages and workbooks after a code change cost more than building them."""
    path = os.fspath(path)
    if holds(path, data):
        return False
    _write(path, data, folder_ready)
    return True


def holds(path: str, data: bytes) -> bool:
    """Whether the file ``path`` holds exactly ``data`` (its size first, then its bytes)."""
    try:
        if os.stat(path).st_size == len(data):
            with open(path, "rb") as f:
                return f.read() == data
    except OSError:
        pass
    return False


#: A file being written is ``.<name>.tmp-<pid>`` beside its final name.
TMP_PREFIX, TMP_INFIX = ".", ".tmp-"


def write_xlsx(path: Path, sheets: list[Sheet], *, title: str = "") -> Path:
    """Write the workbook to ``path`` via a temporary file and a rename (same input, same bytes)."""
    return write_bytes(path, zip_bytes(workbook_parts(sheets, title=title)))


@lru_cache(maxsize=1)
def _summary_frame() -> pl.DataFrame:
    """The 概要 sheet's columns and its 13 rows (one per METRICS): its cells come from
    ``_summary_rendered``, so the values here are left empty."""
    return pl.DataFrame(
        {
            "指标": [m.title for m in METRICS],
            "数值": [None] * len(METRICS),
            "来源表": [f"published/{m.table}" for m in METRICS],
            "规则": [m.rule for m in METRICS],
        },
        schema={"指标": pl.String, "数值": pl.Int64, "来源表": pl.String, "规则": pl.String},
    )


@lru_cache(maxsize=1)
def _summary_static() -> tuple[list[tuple[str, str]], tuple[int, int, int]]:
    """Per headline number, its row's XML before and after the value; the widths of the fixed columns."""
    rows = [
        (
            f'<row r="{i}"><c r="A{i}" t="inlineStr"><is><t xml:space="preserve">{xml_text(m.title)}</t></is></c><c r="B{i}" s="{INT_STYLE}"><v>',
            f'</v></c><c r="C{i}" t="inlineStr"><is><t xml:space="preserve">published/{xml_text(m.table)}</t></is></c>'
            f'<c r="D{i}" t="inlineStr"><is><t xml:space="preserve">{xml_text(m.rule)}</t></is></c></row>',
        )
        for i, m in enumerate(METRICS, 2)
    ]
    return rows, (max(text_width(m.title) for m in METRICS), max(text_width(f"published/{m.table}") for m in METRICS), max(text_width(m.rule) for m in METRICS))


def _summary_rendered(report: Report) -> Rendered:
    """The 概要 rows: one per headline number (METRICS, a fixed list of 13), formatted directly."""
    rows, (w_title, w_table, w_rule) = _summary_static()
    values = [str(int(report.metrics[m.key])) for m in METRICS]
    xml = "".join(f"{before}{v}{after}" for (before, after), v in zip(rows, values))
    return Rendered(b"", xml.encode("utf-8"), (w_title, max(len(v) for v in values), w_table, w_rule))


#: Stands for the summary sheet's note (the report's title) in its cached frame.
_NOTE_MARK = "\x00note\x00"


@lru_cache(maxsize=64)
def _summary_frame_around_note(values: tuple[int, ...]) -> tuple[bytes, bytes, bytes]:
    """The 概要 sheet without its rows and note: (before the note, between the note and the rows,
    after the rows). Its widths take few values, while the note (the report's title) differs for
    every report, so the frame is cached with a mark where the note goes."""
    start, end = _sheet_frame(tuple(_summary_frame().columns), len(METRICS), _NOTE_MARK, values)
    before, after = start.split(_NOTE_MARK.encode(), 1)
    return before, after, end


def _summary_sheet(report: Report, note: str) -> Sheet:
    """The 概要 sheet: what ``sheet_xml`` gives for its rows and ``note``, from a frame cached per widths."""
    rendered = _summary_rendered(report)
    before, after, end = _summary_frame_around_note(rendered.value_widths)
    xml = b"".join([before, xml_text(note).encode("utf-8"), after, rendered.xml, end])
    return Sheet("概要", _summary_frame(), note, rendered, xml=xml)


@lru_cache(maxsize=64)
def _index_sheet(key: tuple[tuple[str, str, str], ...]) -> Sheet:
    """The 说明 sheet (sheet, content, source of each table sheet): the same for every report of a
    kind, so rendered once."""
    index = pl.DataFrame(
        {"工作表": [k[0] for k in key], "内容": [k[1] for k in key], "来源": [k[2] for k in key]},
        schema={"工作表": pl.String, "内容": pl.String, "来源": pl.String},
    )
    return Sheet("说明", index, xml=sheet_xml(index))


def _blocks(report: Report) -> list[Block]:
    return [b for s in report.sections for b in s.blocks]


def report_sheets(report: Report) -> list[Sheet]:
    """概要, one sheet per table of the page, 说明."""
    blocks = _blocks(report)
    note = f"{report.title}；规则版本 {'、'.join(report.rules_versions) or '—'}"
    return [
        _summary_sheet(report, note),
        *[Sheet(b.sheet, b.frame, b.source, b.rendered) for b in blocks],
        _index_sheet(tuple((b.sheet[:31], b.title, b.source) for b in blocks)),
    ]


def workbook_bytes(report: Report) -> bytes:
    """The workbook of ``report`` (.xlsx), as ``write_workbook`` writes it."""
    return zip_bytes(workbook_parts(report_sheets(report), title=report.title))


def write_workbook(report: Report, path: Path) -> Path:
    """Write ``report`` to ``path`` (.xlsx) via a temporary file and a rename."""
    return write_bytes(path, workbook_bytes(report))
