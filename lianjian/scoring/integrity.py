"""R2 廉洁从检评估 — the individual integrity evaluation (连云港意见 二（四）、三（四）; docs/rules.md R2).

For every person P active in Y, in the article's steps:

1. ``review_scores`` and ``review_score``: the self, peer (trimmed from ``peer_trim_from`` reviews up)
   and department reviews, and their weighted mean over the components present;
2. deductions: ``family_talk_deduction`` (P's own family talk not held), ``case_deductions`` (the
   cases P handled that closed in Y, capped by ``case_deduction``) and ``violation_deductions`` (by
   sanction);
3. ``veto`` (一票否决): ``vetoing_violations``;
4–5. total and grade: the ending R2 shares with R3 (``common.total_and_grade``);
6. ``status``: incomplete without a department review, signoff_pending without both signatures.

Every number comes from the rules file (``integrity.*``, ``grades``, ``rounding_decimals``); the R8
evidence rows behind each of them are built in ``evidence.integrity_evidence``.
"""

from __future__ import annotations

import polars as pl

from lianjian.contract import PUBLISHED
from lianjian.rules_config import Rules
from lianjian.scoring.common import IN_MEMORY, active, materialize, rounded, total_and_grade, year_of, years_of
from lianjian.scoring.evidence import IntegrityFacts, integrity_evidence, record_id

TABLE = PUBLISHED["integrity_assessment"]
KEY = ["year", "person_id"]
#: The review kinds of R2 step 1, in the order of the published columns ``<kind>_score``.
REVIEW_KINDS = ("self", "peer", "department")
#: The case facts of R2 step 2 that deduct points, each with its condition on a closed case.
CASE_KINDS = {
    "flawed": pl.col("quality_rating") == "flawed",
    "unqualified": pl.col("quality_rating") == "unqualified",
    "error": pl.col("error_type").is_not_null(),
}


def integrity_settings(rules: Rules, years: list[int]) -> pl.LazyFrame:
    """The R2 settings in force each year (``integrity.*`` after that year's overrides), one row per
    year: review weights ``weight_<kind>``, ``peer_trim_from``, ``family_talk_points``,
    ``<kind>_points`` per case kind and ``cases_cap``."""
    return rules.year_table(
        years,
        **{f"weight_{k}": (lambda s, k=k: float(getattr(s.integrity.weights, k))) for k in REVIEW_KINDS},
        peer_trim_from=lambda s: int(s.integrity.peer_trim_from),
        family_talk_points=lambda s: float(s.integrity.deductions.family_talk_missing),
        **{f"{k}_points": (lambda s, k=k: float(getattr(s.integrity.deductions.cases, k))) for k in CASE_KINDS},
        cases_cap=lambda s: float(s.integrity.deductions.cases.cap),
    ).lazy()


# ---------------------------------------------------------------- 1. review score


def _trimmed_mean(n: pl.Expr, total: pl.Expr, highest: pl.Expr, lowest: pl.Expr, trim_from: pl.Expr) -> pl.Expr:
    """The peer score: from ``trim_from`` reviews up one highest and one lowest are left out (one each,
    even when tied), then the mean."""
    return pl.when(n >= trim_from).then((total - highest - lowest) / (n - 2)).otherwise(total / n)


def review_scores(reviews: pl.LazyFrame, settings: pl.LazyFrame) -> pl.LazyFrame:
    """R2 step 1 per (year, person_id): ``self_score`` (mean of the self rows), ``peer_score`` (trimmed
    mean), ``department_score`` (mean of the rows) and ``signed`` (every department row signed by both
    the department head and the supervisor; null without one). The reviews behind them are
    ``review_rows``. One group-by of every review, each kind's scores picked by a condition (a
    group-by per kind, fully joined, cost twice as much: 1/6 of national, a year's 300 k reviews,
    0.085 -> 0.043 CPU-s; docs/performance.md, "The rules' computations for less CPU")."""
    kind, score = pl.col("reviewer_kind"), pl.col("score")

    def of(k: str) -> pl.Expr:
        return pl.when(kind == k).then(score)

    both_signed = pl.col("dept_head_signed").fill_null(False) & pl.col("supervisor_signed").fill_null(False)
    n = pl.col("_peers")
    return (
        reviews.group_by(KEY)
        .agg(
            of("self").mean().alias("self_score"),
            (kind == "peer").sum().alias("_peers"),
            of("peer").sum().alias("_total"),
            of("peer").max().alias("_highest"),
            of("peer").min().alias("_lowest"),
            of("department").mean().alias("department_score"),
            (kind == "department").any().alias("_department"),
            pl.when(kind == "department").then(both_signed).all().alias("_signed"),
        )
        .join(settings.select("year", "peer_trim_from"), on="year", how="left", validate="m:1")
        .select(
            *KEY,
            "self_score",
            pl.when(n > 0)
            .then(_trimmed_mean(n, pl.col("_total"), pl.col("_highest"), pl.col("_lowest"), pl.col("peer_trim_from")))
            .alias("peer_score"),
            "department_score",
            pl.when(pl.col("_department")).then(pl.col("_signed")).alias("signed"),
        )
    )


def review_rows(reviews: pl.LazyFrame, settings: pl.LazyFrame) -> pl.LazyFrame:
    """The reviews behind step 1, one row each (for the evidence), in the reviews' order: (year,
    person_id, kind, score, record_id, trimmed, dept_head_signed, supervisor_signed). ``trimmed``: the
    peer review left out as the lowest and the one left out as the highest when there are
    ``peer_trim_from`` or more (of tied scores, the smallest reviewer_id as the lowest, the largest as
    the highest).

    Computes when called (the reviews once, and the rows trimmed), and returns a lazy frame over
    memory. Each person's lowest and highest peer review are found by one group-by of the peer rows:
    the first and the last of each person's peer rows ordered by (score, reviewer_id), as the rule
    says, taken as **row numbers** — the rows trimmed are flagged in place (``Series.scatter``), not
    found by joining each person's lowest and highest reviewer back to every review and comparing
    the ids (national, a year's 2.0 M reviews: 1.0 -> 0.5 CPU-s; docs/performance.md, "R2's
    trimmed peers flagged by their row"). The same rows: a person's peer reviewers of a year are
    distinct, since (year, person_id, reviewer_kind, reviewer_id) is the reviews' key (staging
    rejects conflicting rows with one key and drops exact copies), so the row of the lowest (highest)
    reviewer is the only peer row with that reviewer's id. (Before: a window ordered by (score,
    reviewer_id) over every review, 1.2× a group-by joined back; filtering each group's reviewers on
    its lowest and highest score, twice.)"""
    rows = reviews.collect(engine=IN_MEMORY)
    score, reviewer = pl.col("score"), pl.col("reviewer_id")
    ordered = pl.col("_r").sort_by(score, reviewer)
    ends = (
        rows.lazy()
        .with_row_index("_r")
        .filter(pl.col("reviewer_kind") == "peer")
        .group_by(KEY)
        .agg(pl.len().alias("_peers"), ordered.first().alias("_lowest"), ordered.last().alias("_highest"))
        .join(settings.select("year", "peer_trim_from"), on="year", how="left", validate="m:1")
        .filter(pl.col("_peers") >= pl.col("peer_trim_from"))
        .select(pl.concat_list("_lowest", "_highest").explode().alias("_r"))
        .collect(engine=IN_MEMORY)
        .get_column("_r")
    )
    trimmed = pl.repeat(False, rows.height, dtype=pl.Boolean, eager=True).scatter(ends, True).alias("trimmed")
    return (
        rows.lazy()
        .with_columns(pl.col("reviewer_kind").cast(pl.String).alias("kind"), trimmed)
        .select(
            *KEY,
            "kind",
            "score",
            record_id("reviews", "year", "person_id", "kind", "reviewer_id").alias("record_id"),
            "trimmed",
            pl.col("dept_head_signed").fill_null(False),
            pl.col("supervisor_signed").fill_null(False),
        )
    )


def review_score() -> pl.Expr:
    """The weighted mean of the review components present (weights ``weight_<kind>`` renormalized
    over them); null when none is present."""
    present = [(pl.col(f"{k}_score"), pl.col(f"weight_{k}")) for k in REVIEW_KINDS]
    weighted = pl.sum_horizontal([score.fill_null(0.0) * weight for score, weight in present])
    weights = pl.sum_horizontal([pl.when(score.is_not_null()).then(weight).otherwise(0.0) for score, weight in present])
    return pl.when(weights > 0).then(weighted / weights).otherwise(None)


# ---------------------------------------------------------------- 2. deductions


def family_talk_deduction(talk_obligations: pl.LazyFrame, settings: pl.LazyFrame) -> pl.LazyFrame:
    """R2 step 2, talks: P's own family obligation (R1) not fulfilled costs ``family_talk_missing``
    points. (year, person_id, points, obligation_ids)."""
    return (
        talk_obligations.filter(
            (pl.col("obligation").cast(pl.String) == "family") & ~pl.col("fulfilled").fill_null(False)
        )
        .group_by(KEY)
        .agg(record_id("talk_obligations", "year", "person_id", pl.col("obligation").cast(pl.String)).alias("obligation_ids"))
        .join(settings.select("year", pl.col("family_talk_points").alias("points")), on="year", how="left", validate="m:1")
    )


def deducting_cases(cases: pl.LazyFrame, years: list[int]) -> pl.LazyFrame:
    """The cases R2 step 2 reads: closed in one of ``years`` and of a kind that deducts points
    (``CASE_KINDS``), with the columns it reads. Reading it again with fewer years gives those years'
    cases: the R2 step reads the cases table once for all the years it computes, not once a year
    (national: some 20 M cases, 0.9 CPU-s a year; docs/performance.md, "Scoring for less")."""
    return cases.filter(year_of(pl.col("closed_date")).is_in(years) & pl.any_horizontal(list(CASE_KINDS.values())).fill_null(False)).select(
        "closed_date", "handler_id", "case_id", "quality_rating", "error_type"
    )


def case_deductions(cases: pl.LazyFrame, settings: pl.LazyFrame, years: list[int]) -> pl.LazyFrame:
    """R2 step 2, cases: over the cases P handled that closed in Y, points per flawed, unqualified and
    erroneous case (``deductions.cases``). One row per (year, person_id, kind) with ``points`` (the
    count times the points of the kind) and the ``case_ids``, before the cap; only ``years`` (the
    years assessed: the cases table holds every year, and grouping the cases of the other years cost
    R2 most of its case time when it assesses one year at a time; the condition on the closing date
    reaches the scan, which then reads the other columns of those years' cases only). ``cases``: the
    cases table, or ``deducting_cases`` of it for these years or more."""
    closed = deducting_cases(cases, years).with_columns(
        year_of(pl.col("closed_date")).alias("year"), pl.col("handler_id").alias("person_id")
    )
    return pl.concat(
        [
            closed.filter(condition)
            .group_by(KEY)
            .agg(pl.len().alias("n"), pl.col("case_id").alias("case_ids"))
            .join(settings.select("year", f"{kind}_points"), on="year", how="left", validate="m:1")
            .select(*KEY, pl.lit(kind).alias("kind"), (pl.col("n") * pl.col(f"{kind}_points")).alias("points"), "case_ids")
            for kind, condition in CASE_KINDS.items()
        ]
    )


def case_deduction(case_facts: pl.LazyFrame, settings: pl.LazyFrame) -> pl.LazyFrame:
    """The case points of each person and year (``uncapped``) and the deduction (``points``): at most
    ``cases.cap`` in all."""
    return (
        case_facts.group_by(KEY)
        .agg(pl.col("points").sum().alias("uncapped"))
        .join(settings.select("year", "cases_cap"), on="year", how="left", validate="m:1")
        .with_columns(pl.min_horizontal("uncapped", "cases_cap").alias("points"))
    )


def violation_deductions(violations: pl.LazyFrame, rules: Rules, years: list[int]) -> pl.LazyFrame:
    """R2 step 2, violations: the points of each sanction (``deductions.violations``) for P's violations
    decided in Y; the vetoing sanctions add none. (year, person_id, sanction, points, violation_ids)."""
    points = rules.year_points(years, "sanction", lambda s: s.integrity.deductions.violations)
    vetoing = rules.year_codes(years, "sanction", lambda s: s.integrity.veto.sanctions)
    return (
        violations.select(
            year_of(pl.col("decided_date")).alias("year"), "person_id", pl.col("sanction").cast(pl.String), "violation_id"
        )
        .join(points, on=["year", "sanction"], how="inner", validate="m:1")
        .join(vetoing, on=["year", "sanction"], how="anti")
        .filter(pl.col("_points") > 0)
        .group_by(*KEY, "sanction")
        .agg(pl.col("_points").sum().alias("points"), pl.col("violation_id").alias("violation_ids"))
    )


# ---------------------------------------------------------------- 3. veto


def vetoing_violations(violations: pl.LazyFrame, rules: Rules) -> pl.LazyFrame:
    """Violations that veto under R2 step 3 (一票否决), with ``year`` = the year decided: severity among
    ``integrity.veto.severities`` or sanction among ``integrity.veto.sanctions`` (of that year).
    Columns: year, person_id, violation_id."""
    v = violations.with_columns(
        year_of(pl.col("decided_date")).alias("year"),
        pl.col("severity").cast(pl.String),
        pl.col("sanction").cast(pl.String),
    )
    years = years_of(v)
    by_severity = rules.year_codes(years, "severity", lambda s: s.integrity.veto.severities)
    by_sanction = rules.year_codes(years, "sanction", lambda s: s.integrity.veto.sanctions)
    return pl.concat(
        [
            v.join(by_severity, on=["year", "severity"], how="semi"),
            v.join(by_sanction, on=["year", "sanction"], how="semi"),
        ]
    ).select("year", "person_id", "violation_id").unique()


def veto(violations: pl.LazyFrame, rules: Rules) -> pl.LazyFrame:
    """Every vetoing violation of P decided in Y, in id order: (year, person_id, veto_ids)."""
    return vetoing_violations(violations, rules).group_by(KEY).agg(pl.col("violation_id").sort().alias("veto_ids"))


# ---------------------------------------------------------------- 6. status


def status() -> pl.Expr:
    """R2 step 6: ``incomplete`` without a department review; ``signoff_pending`` when a department
    review lacks dept_head_signed or supervisor_signed; otherwise ``graded``."""
    return (
        pl.when(pl.col("department_score").is_null())
        .then(pl.lit("incomplete"))
        .when(~pl.col("signed").fill_null(False))
        .then(pl.lit("signoff_pending"))
        .otherwise(pl.lit("graded"))
    )


# ---------------------------------------------------------------- the evaluation


def integrity_assessment(
    roster: pl.LazyFrame,
    reviews: pl.LazyFrame,
    talk_obligations: pl.LazyFrame,
    cases: pl.LazyFrame,
    violations: pl.LazyFrame,
    rules: Rules,
) -> tuple[pl.LazyFrame, pl.LazyFrame]:
    """R2 廉洁从检评估 (连云港意见 二（四）、三（四）): one row per person active in Y, and the
    evidence rows (R8) behind it. Returns (integrity_assessment, evidence), both lazy, sorted by key."""
    # the reviews are read by the review scores and the review rows: collected once (a year's rows,
    # in the step), not scanned and filtered by each (1/6 of national, a year's 330 k reviews: 0.175
    # -> 0.145 CPU-s for the two; docs/performance.md, "The assessed steps' inputs read once a year")
    people, reviews = materialize(
        active(roster).select("year", "unit_code", "dept_code", "person_id", "name", pl.col("position").cast(pl.String)),
        reviews,
        engine=IN_MEMORY,
    )
    years = years_of(people)
    settings = integrity_settings(rules, years)
    # the table and the evidence rows both read these: computed once
    scores, reviewed, family, case_facts, violation_facts, vetoes = materialize(
        review_scores(reviews, settings),
        review_rows(reviews, settings),
        family_talk_deduction(talk_obligations, settings),
        case_deductions(cases, settings, years),
        violation_deductions(violations, rules, years),
        veto(violations, rules),
        engine=IN_MEMORY,
    )
    cases_capped = case_deduction(case_facts, settings)
    violation_points = violation_facts.group_by(KEY).agg(pl.col("points").sum().alias("violation_points"))

    assessed = (
        people.join(settings, on="year", how="left", validate="m:1")
        .join(scores, on=KEY, how="left", validate="1:1")
        .join(family.select(*KEY, pl.col("points").alias("talk_points")), on=KEY, how="left", validate="1:1")
        .join(cases_capped.select(*KEY, pl.col("points").alias("case_points")), on=KEY, how="left", validate="1:1")
        .join(violation_points, on=KEY, how="left", validate="1:1")
        .join(vetoes, on=KEY, how="left", validate="1:1")
        .with_columns(
            review_score().alias("review_score"),
            pl.col("talk_points").fill_null(0.0).alias("deduction_talks"),
            pl.col("case_points").fill_null(0.0).alias("deduction_cases"),
            pl.col("violation_points").fill_null(0.0).alias("deduction_violations"),
            status().alias("status"),
        )
        .with_columns(
            pl.when(pl.col("status") != "incomplete")
            .then(pl.col("review_score") - pl.col("deduction_talks") - pl.col("deduction_cases") - pl.col("deduction_violations"))
            .alias("unclamped_total")
        )
    )
    table = (
        total_and_grade(assessed, rules, years)
        .with_columns(
            *rounded(rules, years, *(f"{k}_score" for k in REVIEW_KINDS), "review_score", "deduction_talks", "deduction_cases", "deduction_violations"),
            pl.lit(rules.version).alias("rules_version"),
        )
        .select([pl.col(c).cast(t) for c, t in TABLE.schema().items()])
        .sort(KEY)
    )
    facts = IntegrityFacts(
        subjects=people.select("year", "unit_code", "person_id"),
        reviews=reviewed,
        family=family,
        cases=case_facts,
        cases_capped=cases_capped,
        violations=violation_facts,
        veto=vetoes,
    )
    return table, integrity_evidence(facts, rules, years)
