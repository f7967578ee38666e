"""R5 — leaders who handle cases (辽宁报道; 最高检文章) and R6 — case quality (连云港意见 三).

``leader_case_handling(roster, departments, cases, rules)``: one row per unit and year with a roster.
``case_quality(cases, roster, rules)``: one row per handler, year and category with a case closed, in
the handler's roster unit.
``cases_handled_in(year)``: the R5 meaning of "handled in Y", reusable by other rules.
"""

from __future__ import annotations

import polars as pl

from lianjian.contract import ENUMS, PUBLISHED
from lianjian.rules_config import Rules
from lianjian.scoring.common import active, dept_heads, is_leadership, materialize, with_special_flag, year_of

LEADER_TABLE = PUBLISHED["leader_case_handling"]
QUALITY_TABLE = PUBLISHED["case_quality"]

# docs/rules.md R5 names these positions: 检察长/副检察长 for chiefs_on_major; 检察长、副检察长 and
# 检委会专职委员 for "implemented" (辽宁报道: 入额院领导带头办案).
CHIEF_POSITIONS = ("chief", "deputy_chief")
IMPLEMENTED_POSITIONS = ("chief", "deputy_chief", "committee_member")
assert set(IMPLEMENTED_POSITIONS) <= set(ENUMS["position"].codes)


def cases_handled_in(year: pl.Expr = pl.col("year")) -> pl.Expr:
    """R5: a case is handled in Y when accepted_date ≤ 31 December Y and closed_date is empty or
    ≥ 1 January Y (windows inclusive)."""
    return (pl.col("accepted_date") <= pl.date(year, 12, 31)) & (
        pl.col("closed_date").is_null() | (pl.col("closed_date") >= pl.date(year, 1, 1))
    )


def quota_leaders(roster: pl.LazyFrame, departments: pl.LazyFrame) -> pl.LazyFrame:
    """Quota leaders of U in Y (R5): active, is_quota, and a leadership member or the head of a
    department of U in Y. Columns: year, unit_code, person_id, position (String)."""
    heads = (
        dept_heads(departments)
        .select("year", "unit_code", pl.col("head_id").alias("person_id"), pl.lit(True).alias("_is_head"))
        .unique()
    )
    return (
        active(roster)
        .filter(pl.col("is_quota").fill_null(False))
        .join(heads, on=["year", "unit_code", "person_id"], how="left")
        .filter(is_leadership() | pl.col("_is_head").fill_null(False))
        .select("year", "unit_code", "person_id", pl.col("position").cast(pl.String))
    )


def leader_case_handling(
    roster: pl.LazyFrame, departments: pl.LazyFrame, cases: pl.LazyFrame, rules: Rules
) -> pl.LazyFrame:
    """R5 (辽宁报道; 最高检文章): per unit and year with a roster — quota_leaders; leaders_handling
    (quota leaders who handled a case in Y); chiefs_on_major (chief or deputy_chief quota leaders who
    handled a major case in Y); leader_cases and leader_major_cases (distinct cases handled in Y by
    quota leaders of U); implemented (U has at least one quota leader among chief, deputy_chief and
    committee_member, and every one of them handled a case in Y).

    ``rules`` is accepted for a uniform signature: R5 has no setting."""
    # The quota leaders are few (a few per cent of the roster): collected first, so that the cases
    # are filtered on their handler in the scan, before their ids are read, instead of every case
    # going into the join (1/6 of national: 3.3 M cases; docs/performance.md, "Review leads and
    # leader case handling for less").
    (leaders,) = materialize(quota_leaders(roster, departments))
    handlers = leaders.select(pl.col("person_id").unique()).collect().to_series()
    handled = (
        leaders.select("year", "person_id")
        .join(
            cases.filter(pl.col("handler_id").is_in(handlers.implode()))
            .select(pl.col("handler_id").alias("person_id"), "case_id", "is_major", "accepted_date", "closed_date"),
            on="person_id",
            how="inner",
        )
        .filter(cases_handled_in())
        .select("year", "person_id", "case_id", pl.col("is_major").fill_null(False))
    )
    per_leader = (
        leaders.join(
            handled.group_by("year", "person_id").agg(
                pl.lit(True).alias("_handling"), pl.col("is_major").any().alias("_major")
            ),
            on=["year", "person_id"],
            how="left",
        )
        .with_columns(pl.col("_handling").fill_null(False), pl.col("_major").fill_null(False))
        .with_columns(
            (pl.col("position").is_in(list(CHIEF_POSITIONS)) & pl.col("_major")).alias("_chief_major"),
            pl.col("position").is_in(list(IMPLEMENTED_POSITIONS)).alias("_key"),
        )
        .group_by("year", "unit_code")
        .agg(
            pl.len().cast(pl.Int64).alias("quota_leaders"),
            pl.col("_handling").sum().cast(pl.Int64).alias("leaders_handling"),
            pl.col("_chief_major").sum().cast(pl.Int64).alias("chiefs_on_major"),
            (pl.col("_key").any() & (pl.col("_handling") | ~pl.col("_key")).all()).alias("implemented"),
        )
    )
    per_unit_cases = (
        handled.join(leaders.select("year", "person_id", "unit_code"), on=["year", "person_id"], how="inner")
        .group_by("year", "unit_code")
        .agg(
            pl.col("case_id").n_unique().cast(pl.Int64).alias("leader_cases"),
            pl.col("case_id").filter(pl.col("is_major")).n_unique().cast(pl.Int64).alias("leader_major_cases"),
        )
    )
    counts = ["quota_leaders", "leaders_handling", "chiefs_on_major", "leader_cases", "leader_major_cases"]
    return (
        roster.select("year", "unit_code")
        .unique()
        .join(per_leader, on=["year", "unit_code"], how="left")
        .join(per_unit_cases, on=["year", "unit_code"], how="left")
        .with_columns(*(pl.col(c).fill_null(0) for c in counts), pl.col("implemented").fill_null(False))
        .select(LEADER_TABLE.column_names)
        .cast(dict(LEADER_TABLE.schema()))
        .sort("year", "unit_code")
    )


def case_quality(cases: pl.LazyFrame, roster: pl.LazyFrame, rules: Rules) -> pl.LazyFrame:
    """R6 (连云港意见 三): over cases closed in Y (Y = the year of closed_date), one row per handler,
    year and category — cases_closed, major_cases, rated and the count of each quality_rating, errors
    (error_type present), special_cases (需分层核定: the category/outcome pairs of the rules file
    ``cases.special_outcomes``, or any case with public_complaint) and special_unverified (special
    cases not verified by both the department leader and the supervisor).

    unit_code is the handler's unit in Y's roster; a handler missing from that roster takes the
    smallest unit_code of those cases. Every closed case counts for its handler, in a roster or not."""
    closed = with_special_flag(
        cases.filter(pl.col("closed_date").is_not_null()).with_columns(year_of(pl.col("closed_date")).alias("year")),
        rules,
    )
    # the enumerations compared and grouped as they are, not cast to text for every case: the codes
    # are the enumeration's own, and the output casts category to its published type (1/6 of
    # national: 1.96 -> 1.3 CPU-s, docs/performance.md "Scoring for less")
    rating = pl.col("quality_rating")
    special = pl.col("special")
    verified = pl.col("dept_verified").fill_null(False) & pl.col("supervisor_verified").fill_null(False)

    def count(cond: pl.Expr) -> pl.Expr:
        return cond.fill_null(False).sum().cast(pl.Int64)

    handler_units = roster.select("year", "person_id", pl.col("unit_code").alias("roster_unit"))
    return (
        closed.group_by("year", pl.col("handler_id").alias("person_id"), "category")
        .agg(
            pl.col("unit_code").min().alias("case_unit"),
            pl.len().cast(pl.Int64).alias("cases_closed"),
            count(pl.col("is_major")).alias("major_cases"),
            count(rating.is_not_null()).alias("rated"),
            *(count(rating == code).alias(code) for code in ENUMS["quality_rating"].codes),
            count(pl.col("error_type").is_not_null()).alias("errors"),
            count(special).alias("special_cases"),
            count(special & ~verified).alias("special_unverified"),
        )
        .join(handler_units, on=["year", "person_id"], how="left", validate="m:1")
        .with_columns(pl.coalesce("roster_unit", "case_unit").alias("unit_code"))
        .select(QUALITY_TABLE.column_names)
        .cast(dict(QUALITY_TABLE.schema()))
        .sort("year", "person_id", "category")
    )
