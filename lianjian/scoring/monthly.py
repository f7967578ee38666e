"""R9 — the "三个规定" monthly notice (黑龙江巡礼: "严格坚持月通报、季分析"; "零报告""少报告").

``major_matter_report_monthly(units, roster, departments, reports, rules, run_date)``: one row per
unit U with a roster in Y and each month M of Y that has begun by ``run_date`` (a date in
Asia/Shanghai, passed in by the caller: the function never reads a clock, so a test fixes it and the
same inputs give the same rows).

Readings written down here (docs/rules.md R9, word by word):

- ``staff`` is R7's: U's active people in Y's roster (the year-end roster), the same in every month.
- ``reports``/``leader_reports`` are R7's, over U's reports dated in month M of Y; a leader is a
  leadership member, or the head of a department of their own unit, in Y's roster (whatever their
  status). ``reports_to_date`` counts U's reports dated 1 January Y to the end of M.
- ``per_hundred_staff_to_date`` = reports_to_date / staff × 100, rounded half away from zero to the
  rules file's ``rounding_decimals`` (as a score is written); empty when U has no active staff.
- ``months_without_report``: the consecutive months of Y ending at M without a report of U — M minus
  the last month ≤ M in which U reported (M itself when U has not reported yet in Y; 0 when U
  reported in M). It never reaches back into Y−1.
- Peers of U in (Y, M): the units with a roster in Y, active staff, U's level and U's parent_code
  (units without a parent_code: those of U's level without one). The set is defined by those
  conditions, so U belongs to it exactly when U has staff: ``peers`` counts the set ("U included"
  means U is not left out as "self"); a unit without staff is not a peer of anyone and its ``peers``
  counts the units of its group that have staff.
- ``rank`` = 1 + the number of peers whose per_hundred_staff_to_date (as written, i.e. rounded) is
  greater than U's: ties share the smaller rank (1, 1, 3). Empty when U has no staff.
- ``low_report`` (少报告): U has staff, ``peers`` ≥ ``monthly_notice.low_report_min_peers`` and U's
  per_hundred_staff_to_date < ``monthly_notice.low_report_share`` × the median of the peers'
  per_hundred_staff_to_date — U's own value included in that median, since U is one of its peers
  (median of an even count: the mean of the two middle values). Otherwise false (never empty).
"""

from __future__ import annotations

import datetime as dt

import polars as pl

from lianjian.contract import PUBLISHED
from lianjian.rules_config import Rules
from lianjian.scoring.common import active, round_by_year, year_of, years_of
from lianjian.scoring.reports import leaders_in_roster

TABLE = PUBLISHED["major_matter_report_monthly"]

#: Group key of the units without a parent_code (a unit_code is never empty: docs/contract.md "What it reads").
NO_PARENT = ""


def months_begun(run_date: dt.date) -> pl.Expr:
    """True for (year, month) rows whose month has begun by ``run_date``: every month of an earlier
    year, months up to ``run_date``'s month in its year, none after."""
    return (pl.col("year") < run_date.year) | (
        (pl.col("year") == run_date.year) & (pl.col("month") <= run_date.month)
    )


def _settings(rules: Rules, years: list[int]) -> pl.LazyFrame:
    """Per year: low_report_min_peers, low_report_share (per-year overrides apply)."""
    return rules.year_table(
        years,
        _min_peers=lambda s: s.monthly_notice.low_report_min_peers,
        _share=lambda s: float(s.monthly_notice.low_report_share),
    ).lazy()


def major_matter_report_monthly(
    units: pl.LazyFrame,
    roster: pl.LazyFrame,
    departments: pl.LazyFrame,
    reports: pl.LazyFrame,
    rules: Rules,
    run_date: dt.date,
) -> pl.LazyFrame:
    """R9 (黑龙江巡礼: 月通报、季分析): the monthly "三个规定" figures of every unit, its rank among its
    peers and whether it is 少报告 — see the module docstring for every reading. Rows sorted by
    (year, month, unit_code), typed as ``PUBLISHED["major_matter_report_monthly"]``."""
    unit_years = roster.select("year", "unit_code").unique()
    staff = active(roster).group_by("year", "unit_code").agg(pl.len().cast(pl.Int64).alias("staff"))
    months = pl.LazyFrame({"month": list(range(1, 13))}, schema={"month": pl.Int64})
    grid = unit_years.join(months, how="cross").filter(months_begun(run_date))

    leaders = leaders_in_roster(roster, departments).with_columns(pl.lit(True).alias("_leader"))
    dated = reports.select(
        "unit_code",
        pl.col("reporter_id").alias("person_id"),
        year_of(pl.col("report_date")).alias("year"),
        pl.col("report_date").dt.month().cast(pl.Int64).alias("month"),
    )
    counts = (
        dated.join(leaders, on=["year", "person_id"], how="left")
        .group_by("year", "unit_code", "month")
        .agg(
            pl.len().cast(pl.Int64).alias("reports"),
            pl.col("_leader").fill_null(False).sum().cast(pl.Int64).alias("leader_reports"),
        )
    )
    tree = units.select(
        "unit_code",
        pl.col("level").cast(pl.String).alias("_level"),
        pl.col("parent_code").fill_null(NO_PARENT).alias("_parent"),
    )
    unit_year = ["year", "unit_code"]
    frame = (
        grid.join(staff, on=unit_year, how="left")
        .join(counts, on=[*unit_year, "month"], how="left")
        .join(tree, on="unit_code", how="left")
        .with_columns(pl.col("staff", "reports", "leader_reports").fill_null(0))
        .with_columns(
            pl.col("reports").cum_sum().over(unit_year, order_by="month").alias("reports_to_date"),
            pl.when(pl.col("reports") > 0)
            .then(pl.col("month"))
            .otherwise(0)
            .cum_max()
            .over(unit_year, order_by="month")
            .alias("_last_reported"),
        )
    )
    years = years_of(unit_years)
    frame = frame.join(_settings(rules, years), on="year", how="left")
    has_staff = pl.col("staff") > 0
    rate = round_by_year(pl.col("reports_to_date") / pl.col("staff") * 100.0, rules, years)
    peers = ["year", "month", "_level", "_parent"]
    return (
        frame.with_columns(
            pl.when(has_staff).then(rate).otherwise(pl.lit(None, pl.Float64)).alias("per_hundred_staff_to_date"),
            (pl.col("month") - pl.col("_last_reported")).alias("months_without_report"),
        )
        .with_columns(
            pl.col("per_hundred_staff_to_date").rank("min", descending=True).over(peers).alias("rank"),
            has_staff.sum().over(peers).cast(pl.Int64).alias("peers"),
            pl.col("per_hundred_staff_to_date").median().over(peers).alias("_median"),
        )
        .with_columns(
            (
                has_staff
                & (pl.col("peers") >= pl.col("_min_peers"))
                & (pl.col("per_hundred_staff_to_date") < pl.col("_share") * pl.col("_median"))
            )
            .fill_null(False)
            .alias("low_report")
        )
        .select(TABLE.column_names)
        .cast(dict(TABLE.schema()))
        .sort("year", "month", "unit_code")
    )
