"""Per-year content digests of the staged tables (docs/ingest.md, "What changed since the last run").

``<warehouse>/staged/_year_digests.json``, written by the staging step with the staged tables::

    {"version": 1, "sources": {"talks": {"2024": "<sha256 hex>", ...}, ...}}

For every source, one digest per assessment year of its rows — the year of the contract's
``year_from`` column (a year, or the year of a date); rows without one (a source without a
``year_from`` column, or an empty cell) under ``"none"``. A year's digest is the SHA-256 of that
year's rows of the staged table, in their stored order, written as one uncompressed Parquet file
without statistics (``frame_digest``). Parquet stores values only (not the bytes under a null, nor the
unused bytes a filtered string column keeps in memory, which Arrow IPC would write): the same rows
give the same digest in any process, however they were read, and a change in any other year's rows
leaves it alone. So a later step can tell which years' inputs changed since it last computed them, by
comparing digests.
"""

from __future__ import annotations

import hashlib
import io
from pathlib import Path

import polars as pl

from lianjian.contract import SOURCES, Source
from lianjian.files import write_json_private

FILE = "_year_digests.json"
VERSION = 1
NONE = "none"
YEAR = "_year"


def year_expr(src: Source, schema: pl.Schema) -> pl.Expr:
    """A row's assessment year (Int64, null when it has none)."""
    if src.year_from is None:
        return pl.lit(None, dtype=pl.Int64)
    col = pl.col(src.year_from)
    return (col.dt.year() if schema[src.year_from] == pl.Date else col).cast(pl.Int64)


def frame_digest(frame: pl.DataFrame) -> str:
    """SHA-256 of ``frame`` written as one uncompressed Parquet file without statistics (rechunked
    first, so the row groups depend on the rows only)."""
    buf = io.BytesIO()
    frame.rechunk().write_parquet(buf, compression="uncompressed", statistics=False)
    return hashlib.sha256(buf.getvalue()).hexdigest()


def table_digests(src: Source, path: Path) -> dict[str, str]:
    """{year or "none": digest} of one staged table file (no key for a table without rows). One year's
    rows are in memory at a time."""
    scan = pl.scan_parquet(path)
    year = year_expr(src, scan.collect_schema())
    years = scan.select(year.alias(YEAR)).unique().collect().get_column(YEAR).to_list()
    out: dict[str, str] = {}
    for y in sorted(years, key=lambda v: (v is None, v)):
        rows = scan.filter(year.is_null() if y is None else year == y).collect()
        out[NONE if y is None else str(y)] = frame_digest(rows)
    return out


def year_digests(warehouse: Path, known: dict[str, dict[str, str]] | None = None) -> dict:
    """The digests of every staged table: those in ``known`` (a source's digests as recorded when its
    table was written: lianjian/ingest/stagecache.py) as they are, the others from the files."""
    staged = Path(warehouse) / "staged"
    known = known or {}
    return {
        "version": VERSION,
        "sources": {
            name: known[name] if name in known else table_digests(src, staged / f"{name}.parquet")
            for name, src in SOURCES.items()
        },
    }


def write_year_digests(warehouse: Path, known: dict[str, dict[str, str]] | None = None) -> Path:
    """Write ``staged/_year_digests.json`` (0600, whole or absent) from the staged tables just
    written, or kept (their digests in ``known``); ``lianjian.digests`` reads it."""
    path = Path(warehouse) / "staged" / FILE
    write_json_private(path, year_digests(warehouse, known))
    return path
