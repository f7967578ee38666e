"""Display helpers: Chinese headers and enumeration labels taken from the contract, and Polars
expressions that turn typed values into what a reader sees. Nothing here re-declares a code."""

from __future__ import annotations

import polars as pl

from lianjian.contract import ENUMS, PUBLISHED, Column

#: Grades as published (the Chinese level names, in order 好 → 较差) and the word for "no grade".
GRADES: tuple[str, ...] = tuple(ENUMS["grade"].label(c) for c in ENUMS["grade"].codes)
POOR: str = ENUMS["grade"].label("poor")
UNGRADED = "未评定"
YES, NO = "是", "否"
NONE_DEPT = "（无部门）"

#: First characters a spreadsheet reads as the start of a formula (docs/contract.md "What it reads";
#: OWASP CSV injection).
FORMULA_PREFIXES: tuple[str, ...] = ("=", "+", "-", "@", "\t", "\r")


def column(table: str, name: str) -> Column:
    for c in PUBLISHED[table].columns:
        if c.name == name:
            return c
    raise KeyError(f"{table}.{name}")


def zh(table: str, name: str) -> str:
    """The Chinese header of a published column."""
    return column(table, name).zh


def label(table: str, name: str) -> pl.Expr:
    """An enumeration column as its Chinese labels (unknown codes pass through unchanged)."""
    enum = column(table, name).enum
    assert enum is not None, f"{table}.{name} is not an enumeration"
    mapping = {code: enum.label(code) for code in enum.codes}
    return pl.col(name).replace_strict(mapping, default=pl.col(name), return_dtype=pl.String)


def yes_no(expr: pl.Expr) -> pl.Expr:
    return pl.when(expr).then(pl.lit(YES)).otherwise(pl.lit(NO))


def joined(expr: pl.Expr) -> pl.Expr:
    """A list of record ids as one comma-separated text."""
    return expr.list.join(", ")


def person(name: str, pid: str) -> pl.Expr:
    """'姓名（工号）', or the id alone when no name is known."""
    return (
        pl.when(pl.col(name).is_not_null())
        .then(pl.concat_str([pl.col(name), pl.lit("（"), pl.col(pid), pl.lit("）")]))
        .otherwise(pl.col(pid))
    )


def dec_text(expr: pl.Expr, decimals: int = 2) -> pl.Expr:
    """A decimal as text with exactly ``decimals`` places (90 -> "90.00"); null stays null."""
    parts = expr.round(decimals).cast(pl.String).str.split_exact(".", 1)
    frac = parts.struct.field("field_1").fill_null("").str.pad_end(decimals, "0").str.head(decimals)
    return pl.concat_str([parts.struct.field("field_0"), pl.lit("."), frac])


def display_width(expr: pl.Expr) -> pl.Expr:
    """Approximate printed width of text: a CJK character (3 UTF-8 bytes) counts twice."""
    chars = expr.str.len_chars()
    return chars + (expr.str.len_bytes() - chars) // 2


def escape(expr: pl.Expr) -> pl.Expr:
    """HTML-escape text (one left-to-right pass, so '&' is never escaped twice)."""
    return expr.str.replace_many(["&", "<", ">", '"', "'"], ["&amp;", "&lt;", "&gt;", "&quot;", "&#39;"])


def formula_like(expr: pl.Expr) -> pl.Expr:
    return expr.str.starts_with(FORMULA_PREFIXES[0]).or_(
        *[expr.str.starts_with(p) for p in FORMULA_PREFIXES[1:]]
    )
