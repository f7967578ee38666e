"""R10 — 线索核查 review leads (黑龙江巡礼: "健全线索核查制度 … 2018年以来检察人员违纪违法办案案件,
经评查评定为不合格、瑕疵案件, 受理的信访举报线索等开展倒查").

``review_leads(roster, reports, cases, violations, rules)``: one row per year Y ≥ ``leads_from_year``
and person P of Y's roster (any status: a retired or transferred person is a lead as well) who
reported no "三个规定" matter dated in Y (as ``reporter_id``, in any unit), when at least one of the
reasons that count (``review_leads.reasons`` of Y's settings; default all five) holds:

- ``violation``: a violation of P decided in Y;
- ``unqualified_case`` / ``flawed_case``: a case handled by P (``handler_id``), closed in Y, rated
  unqualified / flawed;
- ``case_error``: a case handled by P, closed in Y, with an error_type;
- ``public_complaint``: a case handled by P, closed in Y, with public_complaint.

unit_code, dept_code and name are those of Y's roster row; ``reasons`` lists the codes that hold and
count, in the order above; ``record_ids`` every violation and case id behind them, once each, sorted
as text (a reason that does not count adds no id). A lead names a person for a check, not a finding:
the table is a restricted output (docs/contract.md "What it publishes"), never published where BI users read.
"""

from __future__ import annotations

import polars as pl

from lianjian.contract import ENUMS, RESTRICTED
from lianjian.rules_config import Rules
from lianjian.scoring.common import year_of, years_of

TABLE = RESTRICTED["review_leads"]

#: The reasons in the order docs/rules.md R10 lists them (the order of the ``lead_reason`` enumeration).
REASONS: tuple[str, ...] = tuple(ENUMS["lead_reason"].codes)


def lead_facts(cases: pl.LazyFrame, violations: pl.LazyFrame) -> pl.LazyFrame:
    """Every (year, person_id, reason, record_id) a reason of R10 rests on, whatever the settings."""
    fact = lambda reason, record: [pl.lit(reason).alias("reason"), pl.col(record).alias("record_id")]  # noqa: E731
    decided = violations.select(
        year_of(pl.col("decided_date")).alias("year"), "person_id", *fact("violation", "violation_id")
    )
    # Only the closed cases behind some reason are kept, before the four reasons read them: the
    # frame the four share is cached whole, and most cases are behind none (1/6 of national: 3.3 M
    # closed cases cached with their rating cast to text, against some 0.2 M kept; the rating is
    # compared as the enumeration it is staged as; docs/performance.md, "Review leads and leader
    # case handling for less").
    rating = pl.col("quality_rating")
    unqualified, flawed = rating == "unqualified", rating == "flawed"
    error, complaint = pl.col("error_type").is_not_null(), pl.col("public_complaint").fill_null(False)
    closed = cases.filter(
        pl.col("closed_date").is_not_null() & (unqualified | flawed | error | complaint).fill_null(False)
    ).select(
        year_of(pl.col("closed_date")).alias("year"),
        pl.col("handler_id").alias("person_id"),
        "case_id",
        unqualified.alias("_unqualified"),
        flawed.alias("_flawed"),
        error.alias("_error"),
        complaint.alias("_complaint"),
    )
    by_case = [
        ("unqualified_case", pl.col("_unqualified")),
        ("flawed_case", pl.col("_flawed")),
        ("case_error", pl.col("_error")),
        ("public_complaint", pl.col("_complaint")),
    ]
    parts = [decided] + [
        closed.filter(cond.fill_null(False)).select("year", "person_id", *fact(reason, "case_id"))
        for reason, cond in by_case
    ]
    return pl.concat(parts, how="vertical")


def review_leads(
    roster: pl.LazyFrame,
    reports: pl.LazyFrame,
    cases: pl.LazyFrame,
    violations: pl.LazyFrame,
    rules: Rules,
) -> pl.LazyFrame:
    """R10 (黑龙江巡礼: 健全线索核查制度): the review leads of every year — see the module docstring.
    Rows sorted by (year, person_id), typed as ``RESTRICTED["review_leads"]``."""
    years = years_of(roster)
    counting = rules.year_codes(years, "reason", lambda s: s.review_leads.reasons)
    first = rules.year_table(years, _from=lambda s: s.review_leads.leads_from_year).lazy()
    order = pl.LazyFrame({"reason": list(REASONS), "_order": list(range(len(REASONS)))})
    reported = reports.select(year_of(pl.col("report_date")).alias("year"), pl.col("reporter_id").alias("person_id"))
    people = (
        roster.select("year", "unit_code", "dept_code", "person_id", "name")
        .join(first, on="year", how="left")
        .filter(pl.col("year") >= pl.col("_from"))
        .join(reported, on=["year", "person_id"], how="anti")
    )
    facts = (
        lead_facts(cases, violations)
        .join(counting, on=["year", "reason"], how="semi")
        .join(order, on="reason", how="left")
        .group_by("year", "person_id")
        .agg(
            pl.col("reason").sort_by("_order").unique(maintain_order=True).alias("reasons"),
            pl.col("record_id").unique().sort().alias("record_ids"),
        )
    )
    return (
        people.join(facts, on=["year", "person_id"], how="inner", validate="1:1")
        .with_columns(pl.lit(rules.version).alias("rules_version"))
        .select(TABLE.column_names)
        .cast(dict(TABLE.schema()))
        .sort("year", "person_id")
    )
