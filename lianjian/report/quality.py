"""Data quality per unit and year, for the report's 数据质量 section: how many rows of each dated
source were accepted and how many rejected for the unit in the year — not whole-run counts, so a
unit's report changes only when its own rows do (docs/report.md). The whole-run counts (rows read,
duplicates, rejected rows that belong to no unit) go to the index page.

A row belongs to a unit and year as the contract declares (``lianjian/contract/sources.yaml``): the
year from the source's ``year_from`` column (the year of a date), the unit from its ``unit_code`` or,
for a source without one, from the unit of the person in ``unit_via`` that year (staged personnel).
An accepted row is read from ``staged/<source>.parquet``; a rejected one from the raw row kept in
``published/rejected_records`` (its header spelled in English, Chinese or traditional Chinese, its
year taken from the first four digits of the raw value) — a rejected row whose unit or year cannot
be read is counted on the index page only.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import polars as pl

from lianjian.contract import SOURCES, Source

#: The sources whose rows have a year (``year_from``) and so a place in a unit's year; ``units`` has none.
DATED: tuple[str, ...] = tuple(name for name, src in SOURCES.items() if src.year_from is not None)

COUNTS = {"unit_code": pl.String, "year": pl.Int64, "source": pl.String, "accepted": pl.Int64, "rejected": pl.Int64}


def roster_of(inputs) -> pl.LazyFrame:
    """``_roster`` of the report inputs' warehouse, made once per ``ReportInputs`` (and the copies
    made of it): the reports' data-quality counts and the index page's whole-run quality both join
    it (≈ 0.5 CPU-s at national scale each time it is made)."""
    cache = inputs.cache
    if "roster" not in cache:
        cache["roster"] = _roster(inputs.warehouse)
    return cache["roster"]


def _roster(warehouse: Path) -> pl.LazyFrame:
    """year, person_id, unit_code of the staged roster, one row per person and year (the first),
    read once: every source counted through its people joins it (empty without it)."""
    path = warehouse / "staged" / "personnel.parquet"
    if not path.exists():
        return pl.LazyFrame(schema={"year": pl.Int64, "person_id": pl.String, "unit_code": pl.String})
    roster = pl.scan_parquet(path).select(pl.col("year").cast(pl.Int64), pl.col("person_id").cast(pl.String), pl.col("unit_code").cast(pl.String))
    return roster.unique(["year", "person_id"], keep="first").collect().lazy()


def _with_unit(frame: pl.LazyFrame, src: Source, roster: pl.LazyFrame) -> pl.LazyFrame:
    """``frame`` (year and the source's unit or person column, as text) with ``unit_code``
    (``roster``: ``_roster``, one row per person and year)."""
    if src.unit_via is None:
        return frame
    return frame.join(roster.rename({"person_id": src.unit_via}), on=["year", src.unit_via], how="left")


def accepted_rows(warehouse: Path, roster: pl.LazyFrame) -> list[pl.LazyFrame]:
    """Per dated source with a staged table: unit_code, year, source, accepted (rows)."""
    out = []
    for name in DATED:
        path = warehouse / "staged" / f"{name}.parquet"
        if not path.exists():
            continue
        src = SOURCES[name]
        year = pl.col(src.year_from)
        year = year.dt.year() if src.column(src.year_from).type == "date" else year
        unit = src.unit_via or "unit_code"
        rows = pl.scan_parquet(path).select(year.cast(pl.Int64).alias("year"), pl.col(unit).cast(pl.String))
        out.append(
            _with_unit(rows, src, roster)
            .group_by("unit_code", "year")
            .agg(accepted=pl.len().cast(pl.Int64))
            .with_columns(source=pl.lit(name))
        )
    return out


def _raw_value(src: Source, column: str) -> pl.Expr:
    """The raw text of ``column`` in a rejected row's JSON, under any header spelling the reader accepts."""
    spellings = sorted({k for k, v in src.header_aliases().items() if v == column})
    paths = [pl.col("raw").str.json_path_match("$['" + k.replace("'", "\\'") + "']") for k in spellings]
    return pl.coalesce(paths).str.strip_chars()


def rejected_rows(rejected: pl.LazyFrame, roster: pl.LazyFrame) -> pl.LazyFrame:
    """unit_code, year, source of every published rejected row (unit_code or year null when the raw
    row does not say, or its person is not in that year's roster)."""
    parts = []
    for name in DATED:
        src = SOURCES[name]
        unit = src.unit_via or "unit_code"
        rows = rejected.filter(pl.col("source") == name).select(
            pl.lit(name).alias("source"),
            _raw_value(src, src.year_from).str.extract(r"^(\d{4})(?:\D|$)").cast(pl.Int64, strict=False).alias("year"),
            _raw_value(src, unit).alias(unit),
        )
        parts.append(_with_unit(rows, src, roster).select("unit_code", "year", "source"))
    others = rejected.filter(~pl.col("source").is_in(list(DATED))).select(
        pl.lit(None, pl.String).alias("unit_code"), pl.lit(None, pl.Int64).alias("year"), pl.col("source")
    )
    return pl.concat([*parts, others])


def _rejected_counts(rejected: pl.LazyFrame, roster: pl.LazyFrame) -> pl.LazyFrame:
    return (
        rejected_rows(rejected, roster)
        .drop_nulls(["unit_code", "year"])
        .group_by("unit_code", "year", "source")
        .agg(rejected=pl.len().cast(pl.Int64))
    )


def rejected_counts(warehouse: Path, rejected: pl.LazyFrame, roster: Callable[[], pl.LazyFrame] | None = None) -> pl.DataFrame:
    """unit_code, year, source, rejected: the published rejected rows that belong to a unit and year
    (the rejected half of ``unit_year_counts``, without reading the staged tables). ``roster``: gives
    the warehouse's ``_roster`` when the caller keeps it (asked only when there are rejected rows)."""
    if rejected.select(pl.len()).collect().item() == 0:
        return pl.DataFrame(schema={k: COUNTS[k] for k in ("unit_code", "year", "source", "rejected")})
    people = _roster(warehouse) if roster is None else roster()
    return _rejected_counts(rejected, people).sort("unit_code", "year", "source").collect()


def unit_year_counts(warehouse: Path, rejected: pl.LazyFrame, roster: pl.LazyFrame | None = None) -> pl.DataFrame:
    """unit_code, year, source, accepted, rejected: the rows of each dated source that belong to each
    unit and year, accepted (staged) and rejected (published), zeros where there are none.
    ``roster``: the warehouse's ``_roster`` when the caller has it already."""
    roster = _roster(warehouse) if roster is None else roster
    accepted = accepted_rows(warehouse, roster)
    rej = _rejected_counts(rejected, roster)
    acc = pl.concat(accepted) if accepted else pl.LazyFrame(schema={k: COUNTS[k] for k in ("unit_code", "year", "accepted", "source")})
    return (
        acc.join(rej, on=["unit_code", "year", "source"], how="full", coalesce=True)
        .drop_nulls(["unit_code", "year"])
        .select([pl.col(c).cast(t) for c, t in COUNTS.items()])
        .with_columns(pl.col("accepted", "rejected").fill_null(0))
        .sort("unit_code", "year", "source")
        .collect()
    )


def unattributed(rejected: pl.LazyFrame, warehouse: Path, units: pl.DataFrame, roster: pl.LazyFrame | None = None) -> pl.DataFrame:
    """source, rows: rejected rows that belong to no known unit and year, so to no report (shown on
    the index page). ``roster``: the warehouse's ``_roster`` when the caller has it already."""
    known = units.get_column("unit_code").implode()
    return (
        rejected_rows(rejected, _roster(warehouse) if roster is None else roster)
        .filter(pl.col("unit_code").is_null() | pl.col("year").is_null() | ~pl.col("unit_code").is_in(known))
        .group_by("source")
        .agg(rows=pl.len().cast(pl.Int64))
        .sort("source")
        .collect()
    )
