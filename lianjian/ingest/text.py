"""Cell normalization and parsing as Polars expressions (no per-row Python).

Every function takes and returns ``pl.Expr`` over String cells as read. A parser returns the typed
value, or null when the cell is blank or cannot be parsed; the caller tells the two apart with
``is_blank`` and turns a failure into a quarantine reason.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from functools import cache, lru_cache, partial

import opencc
import polars as pl

from lianjian.contract import EnumDef

#: The 94 full-width ASCII forms (！ .. ～) and their half-width equivalents.
FULL_WIDTH = [chr(c) for c in range(0xFF01, 0xFF5F)]
HALF_WIDTH = [chr(c - 0xFEE0) for c in range(0xFF01, 0xFF5F)]
#: What "surrounding spaces" means here: ASCII blanks, the full-width space U+3000, NBSP, BOM.
SPACES = " \t\r\n\u3000\u00a0\ufeff"

TRUE_SPELLINGS = ("是", "y", "yes", "true", "1", "t")
FALSE_SPELLINGS = ("否", "n", "no", "false", "0", "f")

#: Excel's day zero for serial dates (1900 date system, after Lotus' leap-year bug).
EXCEL_EPOCH = date(1899, 12, 30)

_DATE_DASHED = r"^(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})(?:[ T]\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?)?$"
_DATE_COMPACT = r"^(\d{4})(\d{2})(\d{2})$"
_DATE_CHINESE = r"^(\d{4})年(\d{1,2})月(\d{1,2})日$"
_INT = r"^[+-]?\d+(?:\.0+)?$"
_DEC = r"^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$"

#: OpenCC conversions (run one after the other within a chain) that bring a label or header written in
#: any regional traditional variant back to simplified characters. Each region writes some characters
#: its own way and only its own conversion undoes them: t2s reads OpenCC's standard forms (簽, 籤 -> 签;
#: 爲, 為 -> 为; 綫, 線 -> 线), tw2s also reads Taiwan's (著 -> 着, 裡 -> 里), hk2s Hong Kong's
#: (衞 -> 卫); tw2sp then hk2s reads a label that mixes Taiwan and Hong Kong forms, and Taiwan's
#: vocabulary (型別 -> 类型, 物件 -> 对象) as OpenCC's s2twp writes it. Every reading is checked
#: against the contract's spellings, so an extra conversion can only find a label, never invent one.
TO_SIMPLIFIED: tuple[tuple[str, ...], ...] = (("t2s",), ("tw2s",), ("hk2s",), ("tw2sp", "hk2s"))


#: A cell holding a full-width ASCII form (what ``clean`` reads as half width).
_FULL_WIDTH_RE = r"[\x{FF01}-\x{FF5E}]"


def clean(e: pl.Expr) -> pl.Expr:
    """Trim ASCII and full-width spaces, read full-width digits/letters as half width; blank -> null."""
    half = pl.when(e.str.contains(_FULL_WIDTH_RE)).then(e.str.replace_many(FULL_WIDTH, HALF_WIDTH)).otherwise(e)
    out = half.str.strip_chars(SPACES)
    return pl.when(out.str.len_bytes() > 0).then(out)


def clean_series(s: pl.Series) -> pl.Series:
    """``clean`` of a column of cells, without the full-width replacement when no cell holds a
    full-width form (the usual case): the same values at about half the cost, since an expression
    evaluates its replacement over every cell whether a cell needs it or not."""
    frame = s.to_frame("v")
    if frame.select(pl.col("v").str.contains(_FULL_WIDTH_RE).any()).item():
        return frame.select(clean(pl.col("v"))).to_series().alias(s.name)
    out = pl.col("v").str.strip_chars(SPACES)
    return frame.select(pl.when(out.str.len_bytes() > 0).then(out)).to_series().alias(s.name)


def clean_header(e: pl.Expr) -> pl.Expr:
    return e.str.replace_many(FULL_WIDTH, HALF_WIDTH).str.strip_chars(SPACES)


def clean_headers(headers: list[str | None]) -> list[str]:
    """A file's header cells as ``clean_header`` reads them (a missing cell is ""). The files of a
    source mostly share one header (the demo's 61 talks files): each distinct header is cleaned once
    per process (``_clean_headers``), not once per file."""
    return list(_clean_headers(tuple(headers)))


@lru_cache(maxsize=64)
def _clean_headers(headers: tuple[str | None, ...]) -> tuple[str, ...]:
    cells = pl.Series(list(headers), dtype=pl.String).fill_null("")
    return tuple(pl.select(clean_header(pl.lit(cells))).to_series().to_list())


@cache
def _converters() -> tuple[tuple[opencc.OpenCC, ...], ...]:
    """The OpenCC converters of ``TO_SIMPLIFIED`` (their dictionaries ship inside the package)."""
    return tuple(tuple(opencc.OpenCC(name) for name in chain) for chain in TO_SIMPLIFIED)


def simplified_readings(value: str) -> list[str]:
    """``value`` read through each conversion of ``TO_SIMPLIFIED``: its distinct simplified forms
    other than itself, in that order; none for text without Chinese characters."""
    if value.isascii():
        return []
    out: list[str] = []
    for chain in _converters():
        form = value
        for converter in chain:
            form = converter.convert(form)
        if form != value and form not in out:
            out.append(form)
    return out


def resolve_spellings(values: Iterable[str], spellings: dict[str, str]) -> dict[str, str]:
    """Each value (meant: each DISTINCT value of a column, or a file's headers) that is an accepted
    spelling -> what it stands for: as written, lower-cased, or once converted to simplified
    characters (``simplified_readings``). Values that match nothing are left out."""
    out: dict[str, str] = {}
    for v in dict.fromkeys(values):
        if v is None:
            continue
        if v in spellings or v.lower() in spellings:
            out[v] = spellings.get(v) or spellings[v.lower()]
            continue
        for form in simplified_readings(v):  # converted only when not read as written
            if form in spellings:
                out[v] = spellings[form]
                break
    return out


def _codes(s: pl.Series, spellings: dict[str, str]) -> pl.Series:
    found = resolve_spellings(s.drop_nulls().unique().to_list(), spellings)
    return s.replace_strict(list(found), list(found.values()), default=None, return_dtype=pl.String)


def to_bool(e: pl.Expr) -> pl.Expr:
    """是/否, Y/N, yes/no, true/false, 1/0 in any case; anything else null."""
    mapping = {s: True for s in TRUE_SPELLINGS} | {s: False for s in FALSE_SPELLINGS}
    return e.str.to_lowercase().replace_strict(mapping, default=None, return_dtype=pl.Boolean)


def to_date(e: pl.Expr) -> pl.Expr:
    """2024-03-05, 2024/3/5, 2024.3.5 (a trailing time is ignored), 20240305, 2024年3月5日; an impossible
    date such as 2024-02-30 is null (a parse failure)."""
    parts = [e.str.extract_groups(p) for p in (_DATE_DASHED, _DATE_COMPACT, _DATE_CHINESE)]
    y = pl.coalesce([p.struct.field("1") for p in parts])
    m = pl.coalesce([p.struct.field("2") for p in parts])
    d = pl.coalesce([p.struct.field("3") for p in parts])
    iso = pl.format("{}-{}-{}", y, m.str.zfill(2), d.str.zfill(2))
    return iso.str.to_date("%Y-%m-%d", strict=False)


def excel_serial_to_iso(e: pl.Expr) -> pl.Expr:
    """An Excel serial day number (as text, e.g. "45356" or "45356.0") -> ISO date text; other text as is."""
    is_serial = e.str.contains(r"^\d{1,5}(?:\.\d+)?$")
    days = e.cast(pl.Float64, strict=False).floor().cast(pl.Int64)
    as_date = (pl.lit(EXCEL_EPOCH) + pl.duration(days=days)).dt.to_string("%Y-%m-%d")
    return pl.when(is_serial).then(as_date).otherwise(e)


def to_int(e: pl.Expr) -> pl.Expr:
    return pl.when(e.str.contains(_INT)).then(e.str.replace(r"\.0+$", "").cast(pl.Int64, strict=False))


def to_dec(e: pl.Expr) -> pl.Expr:
    return pl.when(e.str.contains(_DEC)).then(e.cast(pl.Float64, strict=False))


def to_enum(e: pl.Expr, enum: EnumDef) -> pl.Expr:
    """Code (any case) or Chinese label, in simplified characters or in any regional traditional
    variant -> the code (String); unknown -> null. The conversion runs once per distinct value of
    the batch (a column of codes holds few), not once per row."""
    return e.map_batches(partial(_codes, spellings=enum.spellings()), return_dtype=pl.String, is_elementwise=True)

