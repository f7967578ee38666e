"""Definitions every rule shares (docs/rules.md, conventions): who is active, who leads, who heads a
department, who is the party secretary; rounding; the ending R2 and R3 share (clamp, round, veto,
grade); special cases.

All are small functions over Polars LazyFrames/expressions over the staged tables; rule settings come
from the rules file (``Rules``), never from literals here.
"""

from __future__ import annotations

import polars as pl

from lianjian.contract import ENUMS, LEADERSHIP_POSITIONS
from lianjian.rules_config import Rules

GRADE = ENUMS["grade"]
GOOD, FAIRLY_GOOD, AVERAGE, POOR = (GRADE.label(c) for c in ("good", "fairly_good", "average", "poor"))


# ---------------------------------------------------------------- numbers and grades


def round_half_away(expr: pl.Expr, decimals: int) -> pl.Expr:
    """Round half away from zero to ``decimals`` places — the one rounding of the project
    (docs/rules.md, conventions: scores are computed unrounded and written this way). The tiny epsilon
    absorbs binary representation error (89.995 is stored as 89.99499999…). The last ``round`` makes
    the quotient the nearest double of the written number whatever way the division is done (Polars
    divides by a constant as a multiplication by its reciprocal: 8860 × 0.01 = 88.60000000000001)."""
    factor = float(10**decimals)
    whole = (expr.abs() * factor + 0.5 + 1e-9).floor()
    return (expr.sign() * whole / factor).round(decimals).cast(pl.Float64)


def round_by_year(expr: pl.Expr, rules: Rules, years: list[int]) -> pl.Expr:
    """``round_half_away`` with the ``rounding_decimals`` in force in each row's ``year`` (one term per
    distinct setting; rows of other years get the base setting)."""
    groups: dict[int, list[int]] = {}
    for y in sorted(set(int(y) for y in years)):
        groups.setdefault(int(rules.settings(y).rounding_decimals), []).append(y)
    base = round_half_away(expr, int(rules.settings().rounding_decimals))
    if len(groups) <= 1:
        return round_half_away(expr, next(iter(groups))) if groups else base
    chain = pl.when(pl.col("year").is_in(groups[next(iter(groups))])).then(round_half_away(expr, next(iter(groups))))
    for decimals, ys in list(groups.items())[1:]:
        chain = chain.when(pl.col("year").is_in(ys)).then(round_half_away(expr, decimals))
    return chain.otherwise(base)


def clamp_score(expr: pl.Expr) -> pl.Expr:
    """Kept within 0–100 (R2 step 4, R3 total)."""
    return expr.clip(0.0, 100.0)


def outcome_settings(rules: Rules, years: list[int]) -> pl.LazyFrame:
    """Per-year settings of the ending R2 and R3 share, to join on ``year``: the grade thresholds
    ``grade_good``, ``grade_fairly_good``, ``grade_average`` (``grades``), after that year's
    overrides."""
    return rules.year_table(
        years,
        grade_good=lambda s: float(s.grades.good),
        grade_fairly_good=lambda s: float(s.grades.fairly_good),
        grade_average=lambda s: float(s.grades.average),
    ).lazy()


def grade_expr(score: pl.Expr) -> pl.Expr:
    """Grade of a written (rounded) score, given the threshold columns of ``outcome_settings`` joined
    in: ≥ good 好, ≥ fairly_good 较好, ≥ average 一般, below 较差; null score → null."""
    return (
        pl.when(score.is_null())
        .then(pl.lit(None, pl.String))
        .when(score >= pl.col("grade_good"))
        .then(pl.lit(GOOD))
        .when(score >= pl.col("grade_fairly_good"))
        .then(pl.lit(FAIRLY_GOOD))
        .when(score >= pl.col("grade_average"))
        .then(pl.lit(AVERAGE))
        .otherwise(pl.lit(POOR))
    )


def rounded(rules: Rules, years: list[int], *columns: str) -> list[pl.Expr]:
    """The columns written rounded with each year's ``rounding_decimals``."""
    return [round_by_year(pl.col(c), rules, years).alias(c) for c in columns]


def total_and_grade(frame: pl.LazyFrame, rules: Rules, years: list[int]) -> pl.LazyFrame:
    """The ending R2 and R3 share (docs/rules.md R2 steps 3–5, R3 total): ``unclamped_total`` (the
    score before clamping, null when the subject is not graded) kept within 0–100 and written rounded
    as ``total_score``; ``veto`` the vetoing record ids (``veto_ids``, a list) comma-separated, null
    when there is none; ``grade`` that of the written score, 较差 whatever the score (even without
    one) when there is a veto. Joins ``outcome_settings`` (the thresholds) on year; rounds with each
    year's ``rounding_decimals``."""
    return (
        frame.join(outcome_settings(rules, years), on="year", how="left", validate="m:1")
        .with_columns(
            round_by_year(clamp_score(pl.col("unclamped_total")), rules, years).alias("total_score"),
            pl.col("veto_ids").list.join(",").alias("veto"),
        )
        .with_columns(
            pl.when(pl.col("veto").is_not_null()).then(pl.lit(POOR)).otherwise(grade_expr(pl.col("total_score"))).alias("grade")
        )
    )


# ---------------------------------------------------------------- who is who in a year


def is_leadership(position: pl.Expr = pl.col("position")) -> pl.Expr:
    """班子成员: positions chief, deputy_chief, discipline_head, political_director, committee_member."""
    return position.cast(pl.String).is_in(list(LEADERSHIP_POSITIONS))


def active(roster: pl.LazyFrame) -> pl.LazyFrame:
    """People active in their roster year (status active)."""
    return roster.filter(pl.col("status").cast(pl.String) == "active")


def dept_heads(departments: pl.LazyFrame) -> pl.LazyFrame:
    """(year, unit_code, dept_code, head_id) for departments that name a head. A department head in Y
    is the person named head_id of a department of that unit in Y, whatever their position says."""
    return departments.filter(pl.col("head_id").is_not_null()).select("year", "unit_code", "dept_code", "head_id")


def party_secretaries(roster: pl.LazyFrame) -> pl.LazyFrame:
    """(year, unit_code, secretary_id): the active person flagged is_party_secretary; if none is
    flagged, the unit's active chief (smallest person_id should there be several)."""
    act = active(roster)
    flagged = (
        act.filter(pl.col("is_party_secretary").fill_null(False))
        .group_by("year", "unit_code")
        .agg(pl.col("person_id").min().alias("_flagged"))
    )
    chiefs = (
        act.filter(pl.col("position").cast(pl.String) == "chief")
        .group_by("year", "unit_code")
        .agg(pl.col("person_id").min().alias("_chief"))
    )
    units = roster.select("year", "unit_code").unique()
    return (
        units.join(flagged, on=["year", "unit_code"], how="left")
        .join(chiefs, on=["year", "unit_code"], how="left")
        .select("year", "unit_code", pl.coalesce("_flagged", "_chief").alias("secretary_id"))
        .filter(pl.col("secretary_id").is_not_null())
    )


def year_of(date: pl.Expr) -> pl.Expr:
    return date.dt.year().cast(pl.Int64)


# ---------------------------------------------------------------- cases


def _special_settings(rules: Rules, year: int | None) -> tuple:
    """What decides a case special in ``year`` (None: the base settings), as a comparable value: the
    (category, outcomes) pairs and whether a public complaint counts."""
    c = rules.settings(year).cases
    pairs = tuple(sorted((cat, tuple(sorted(outs))) for cat, outs in c.special_outcomes.items() if outs))
    return pairs, bool(c.public_complaint_is_special)


def _special_terms(groups: list[tuple[tuple, pl.Expr]]) -> pl.Expr:
    """The special flag from (settings, condition on the row's year) pairs: a row is special when the
    settings of the first pair whose condition holds make it so; empty values are not special."""
    # compared as they are (an enumeration or text): the rules file's codes are the enumerations'
    # own (rules_config), and casting millions of cases to text first cost more than the test
    category, outcome = pl.col("category"), pl.col("outcome")
    terms = []
    for (pairs, complaint), in_years in groups:
        cond = [(category == cat) & outcome.is_in(list(outs)) for cat, outs in pairs]
        if complaint:
            cond.append(pl.col("public_complaint"))
        if cond:
            terms.append(in_years & pl.any_horizontal(cond).fill_null(False))
    return pl.any_horizontal(terms).fill_null(False) if terms else pl.lit(False)


def special_expr_every_year(rules: Rules, year_col: str = "year") -> pl.Expr:
    """Boolean expression: the case is special (需分层核定) in the year of ``year_col`` — its
    (category, outcome) pair is among the rules file's ``cases.special_outcomes`` of that year, or it
    has public_complaint and that year's ``cases.public_complaint_is_special`` holds (R6) — for
    whatever year a row has, without knowing the years first: the years the rules file overrides with
    other case settings, each with theirs, and every other year with the base settings (what
    ``Rules.settings`` gives a year without an override); years sharing the same settings share one
    term; a row without a year (or with empty values) is not special. An expression rather than a
    join, so that millions of cases are flagged in one pass."""
    base = _special_settings(rules, None)
    groups: dict[tuple, list[int]] = {}
    for y in sorted(rules.overrides):
        key = _special_settings(rules, y)
        if key != base:
            groups.setdefault(key, []).append(y)
    year = pl.col(year_col)
    overridden = [y for ys in groups.values() for y in ys]
    others = year.is_not_null() & ~year.is_in(overridden) if overridden else year.is_not_null()
    return _special_terms([*((key, year.is_in(ys)) for key, ys in groups.items()), (base, others)])


def with_special_flag(cases: pl.LazyFrame, rules: Rules, year_col: str = "year") -> pl.LazyFrame:
    """Add boolean ``special`` to cases that already carry a ``year`` column (the year they closed in):
    the category/outcome pairs of the rules file, or any case with public_complaint (R6). The flag
    needs no list of the cases' years (``special_expr_every_year``): finding them read the closing
    dates of every case once more (1/6 of national, case quality: 0.06 CPU-s of ≈ 1.2;
    docs/performance.md, "The assessed steps' inputs read once a year")."""
    return cases.with_columns(special_expr_every_year(rules, year_col).alias("special"))


# ---------------------------------------------------------------- evaluation helpers


def years_of(frame: pl.LazyFrame, col: str = "year") -> list[int]:
    """The distinct non-null years of a frame (a tiny collect, to build per-year settings tables)."""
    return frame.select(pl.col(col).unique()).collect().get_column(col).drop_nulls().cast(pl.Int64).to_list()


#: The Polars engine R2 and R3 compute a year with (``materialize``'s ``engine``; the collects of a
#: year in assets/assessed.py), and R1 its obligations before matching them to the talks. Polars 2
#: runs a query on its streaming engine unless told otherwise; a year of R2 or R3 is many joins,
#: group-bys and a sort over frames mostly held in memory already (``materialize``), where the
#: streaming engine's pipelines cost more CPU and memory than they save: 1/6 of national, five
#: years one at a time, R2 7.1 → 5.6–6.1 CPU-s and 1.13 → 0.78 GB, R3 4.4 → 3.6–3.8 CPU-s and
#: 0.65 → 0.47 GB; R1 2.4 → 2.25 CPU-s, the same memory; the same rows (docs/performance.md, "The
#: rules' computations for less CPU"). Left with the default: the scans of the large staged tables
#: a step reads once (the cases: the same cost either way), R1's matching (more memory in-memory)
#: and case quality (R6: more CPU in-memory, 1.3 → 1.9 CPU-s at 1/6 of national).
IN_MEMORY = "in-memory"


def materialize(*frames: pl.LazyFrame, engine: str = "auto") -> list[pl.LazyFrame]:
    """Collect intermediate frames that several outputs share, once, and hand them back as lazy frames
    over memory. A plan that reuses a frame many times (a table and the evidence rows behind it) is
    otherwise recomputed, or cached poorly, at each use. One after the other, not with
    ``pl.collect_all``: at province scale collecting R3's four shared frames together took 2.9 s
    against 0.55 s one by one (Polars 2.1; docs/performance.md). ``engine``: Polars' (``IN_MEMORY``
    for R2 and R3)."""
    return [f.collect(engine=engine).lazy() for f in frames]
