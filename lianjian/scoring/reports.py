"""R7 — "三个规定" major-matter reporting statistics (黑龙江巡礼).

``major_matter_report_stats(roster, departments, reports, rules)``: one row per unit with a roster in
Y. The rows add up: a BI sum over a province's units gives the province's figures (reports, leader
reports, and the two earlier years' counts to compute growth).
"""

from __future__ import annotations

import polars as pl

from lianjian.contract import PUBLISHED
from lianjian.rules_config import Rules
from lianjian.scoring.common import active, dept_heads, is_leadership, round_by_year, year_of, years_of

TABLE = PUBLISHED["major_matter_report_stats"]


def leaders_in_roster(roster: pl.LazyFrame, departments: pl.LazyFrame) -> pl.LazyFrame:
    """(year, person_id) of the people who in Y's roster are a leadership member or head a department
    of their unit in Y (whatever their status)."""
    heads = dept_heads(departments).select("year", "unit_code", pl.col("head_id").alias("person_id"))
    by_position = roster.filter(is_leadership()).select("year", "person_id")
    by_head = roster.join(heads, on=["year", "unit_code", "person_id"], how="semi").select("year", "person_id")
    return pl.concat([by_position, by_head]).unique()


def major_matter_report_stats(
    roster: pl.LazyFrame, departments: pl.LazyFrame, reports: pl.LazyFrame, rules: Rules
) -> pl.LazyFrame:
    """R7 (黑龙江巡礼): per unit U with a roster in Y — staff (active people); reports (dated in Y);
    leader_reports (reporter a leadership member, or the head of a department of their own unit, in
    Y's roster); per_hundred_staff = reports / staff × 100, rounded like a score (``rounding_decimals``,
    half away from zero; empty when U has no active staff); zero_report (no report);
    reports_prev_year and reports_two_years_ago (U's counts in Y−1 and Y−2, 0 when none)."""
    units = roster.select("year", "unit_code").unique()
    years = years_of(units)
    staff = active(roster).group_by("year", "unit_code").agg(pl.len().cast(pl.Int64).alias("staff"))
    dated = reports.select(
        "unit_code", pl.col("reporter_id").alias("person_id"), year_of(pl.col("report_date")).alias("year")
    )
    leaders = leaders_in_roster(roster, departments).with_columns(pl.lit(True).alias("_leader"))
    counts = (
        dated.join(leaders, on=["year", "person_id"], how="left")
        .group_by("year", "unit_code")
        .agg(
            pl.len().cast(pl.Int64).alias("reports"),
            pl.col("_leader").fill_null(False).sum().cast(pl.Int64).alias("leader_reports"),
        )
    )

    def earlier(years_back: int, name: str) -> pl.LazyFrame:
        return counts.select((pl.col("year") + years_back).alias("year"), "unit_code", pl.col("reports").alias(name))

    zero = ["staff", "reports", "leader_reports", "reports_prev_year", "reports_two_years_ago"]
    return (
        units.join(staff, on=["year", "unit_code"], how="left")
        .join(counts, on=["year", "unit_code"], how="left")
        .join(earlier(1, "reports_prev_year"), on=["year", "unit_code"], how="left")
        .join(earlier(2, "reports_two_years_ago"), on=["year", "unit_code"], how="left")
        .with_columns(pl.col(c).fill_null(0) for c in zero)
        .with_columns(
            pl.when(pl.col("staff") > 0)
            .then(round_by_year(pl.col("reports") / pl.col("staff") * 100.0, rules, years))
            .otherwise(pl.lit(None, pl.Float64))
            .alias("per_hundred_staff"),
            (pl.col("reports") == 0).alias("zero_report"),
        )
        .select(TABLE.column_names)
        .cast(dict(TABLE.schema()))
        .sort("year", "unit_code")
    )
