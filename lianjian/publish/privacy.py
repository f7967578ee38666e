"""Identity-card numbers (身份证号) never reach a published file, the rejected rows, metadata or logs.

The ingest step already validates and drops ``personnel.id_number`` and masks it in rejected rows;
publishing masks, as a second line of defence, anything shaped like an identity-card number in
every text column (a number typed into a name or note cell, an unmasked raw row). The shape is
deliberately wide — 18 characters with a plausible birth date, whatever the check digit — since a
mistyped number is personal data too.
"""

from __future__ import annotations

import polars as pl

#: 6-digit area code, birth date 18xx–20xx, 3-digit sequence, check character.
ID_SHAPE = r"[1-9]\d{5}(?:18|19|20)\d{2}(?:0[1-9]|1[0-2])(?:0[1-9]|[12]\d|3[01])\d{3}[\dXx]"
_BOUNDED = rf"(^|[^0-9A-Za-z]){ID_SHAPE}([^0-9A-Za-z]|$)"
MASK = "[身份证号已遮蔽]"

#: GB 11643-1999 check digit: weights of the first 17 digits, and remainder -> check character.
WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
CHECK = "10X98765432"


def mask_text(expr: pl.Expr) -> pl.Expr:
    """Replace every identity-card-shaped number in a text expression. Twice, because a boundary
    character consumed by one match cannot start the next (``a,b`` with two numbers)."""
    repl = f"${{1}}{MASK}${{2}}"
    return expr.str.replace_all(_BOUNDED, repl).str.replace_all(_BOUNDED, repl)


def mask_frame(frame: pl.LazyFrame) -> pl.LazyFrame:
    """``frame`` with every text and list-of-text column masked (other columns untouched)."""
    schema = frame.collect_schema()
    exprs = []
    for name, dtype in schema.items():
        if dtype == pl.String:
            exprs.append(mask_text(pl.col(name)))
        elif dtype == pl.List(pl.String):
            exprs.append(pl.col(name).list.eval(mask_text(pl.element())))
    return frame.with_columns(exprs) if exprs else frame


def id_shaped_count(frame: pl.LazyFrame) -> int:
    """How many text cells (list elements included) of ``frame`` hold an identity-card-shaped number."""
    schema = frame.collect_schema()
    counts = []
    for name, dtype in schema.items():
        if dtype == pl.String:
            counts.append(pl.col(name).str.contains(ID_SHAPE).sum().alias(name))
        elif dtype == pl.List(pl.String):
            counts.append(pl.col(name).list.eval(pl.element().str.contains(ID_SHAPE).sum()).list.first().sum().alias(name))
    if not counts:
        return 0
    row = frame.select(counts).collect().row(0)
    return int(sum(v or 0 for v in row))
