"""R8 证据 — every number that moves a score, with its record ids, rule id and basis text.

docs/rules.md R8: each review, unfulfilled obligation, case, violation, duty item and vote that moves a
score is written to ``assessment_evidence`` (year, assessment, subject_kind, subject_id, component,
value, record_ids, rule, basis), so that ``lianjian explain`` and an auditor can retrace a grade.

Conventions of the rows written by R2 (``integrity``) and R3 (``responsibility``):

- ``component`` is the published column the fact moves: ``self_score``, ``peer_score``,
  ``department_score``, ``deduction_talks``, ``deduction_cases``, ``deduction_violations``, ``veto``
  (R2); ``vote_score``, ``deduction_scope``, ``veto`` (R3) — except R3 duty items, whose component is
  the item's name from the rules file (``interview``, ``talk_obligations`` …; rule ``R3.duty.<item>``),
  so that ``lianjian explain`` can name each one.
- For every subject, the values of its ``deduction_*`` rows add up to its deductions as computed
  (a cap that bites is a row of its own with a negative value, rule ``….cap``), and the weighted mean
  of its ``R3.duty.*`` rows (completions 0–1) × 100 is its duty_score.
- ``veto`` rows carry no value (null): a veto sets the grade, not the score.
- ``record_ids`` are sorted as text; ``basis`` comes from the rules file's ``basis`` texts, the
  longest key that prefixes the rule id (``R2.veto`` before ``R2``).
"""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

from lianjian.contract import PUBLISHED
from lianjian.rules_config import Rules
from lianjian.scoring.common import outcome_settings, round_half_away, years_of

EVIDENCE = PUBLISHED["assessment_evidence"]

#: Columns a part must carry before ``finish_evidence`` (basis and assessment are added there).
PART_COLUMNS = ("year", "unit_code", "subject_kind", "subject_id", "component", "value", "record_ids", "rule")


def evidence_part(
    frame: pl.LazyFrame,
    *,
    component: str | pl.Expr,
    rule: pl.Expr,
    value: pl.Expr,
    record_ids: pl.Expr,
) -> pl.LazyFrame:
    """Shape one kind of fact into evidence-part columns. ``frame`` carries year, unit_code,
    subject_kind and subject_id; ``record_ids`` is a list[str] expression (sorted here)."""
    return frame.select(
        pl.col("year").cast(pl.Int64),
        pl.col("unit_code").cast(pl.String),
        pl.col("subject_kind").cast(pl.String),
        pl.col("subject_id").cast(pl.String),
        (pl.lit(component) if isinstance(component, str) else component).cast(pl.String).alias("component"),
        value.cast(pl.Float64).alias("value"),
        record_ids.cast(pl.List(pl.String)).list.drop_nulls().list.unique().list.sort().alias("record_ids"),
        rule.cast(pl.String).alias("rule"),
    )


def empty_part() -> pl.LazyFrame:
    schema = EVIDENCE.schema()
    return pl.LazyFrame(schema={c: schema[c] for c in PART_COLUMNS})


def _basis_table(rules: Rules, years: list[int]) -> pl.LazyFrame:
    rows = [(y, key, text) for y in sorted(set(years)) for key, text in rules.settings(y).basis.items()]
    return pl.LazyFrame(rows, schema={"year": pl.Int64, "_key": pl.String, "basis": pl.String}, orient="row")


def finish_evidence(
    parts: list[pl.LazyFrame], assessment: str, rules: Rules, years: list[int] | None = None
) -> pl.LazyFrame:
    """Concatenate parts of one assessment, add ``assessment`` and ``basis`` (longest rules-file
    basis key that equals the rule id or prefixes it followed by a dot), in the published schema.
    ``years``: every year the parts may hold (a superset is fine); when omitted they are read off the
    parts, which computes them once more."""
    ev = pl.concat([p.select(PART_COLUMNS) for p in parts] or [empty_part()], how="vertical")
    basis = _basis_table(rules, years_of(ev) if years is None else years)
    # the basis depends on (year, rule) alone: match the few distinct pairs, then join them back
    matched = (
        ev.select("year", "rule")
        .unique()
        .join(basis, on="year", how="inner")
        .filter((pl.col("rule") == pl.col("_key")) | pl.col("rule").str.starts_with(pl.col("_key") + "."))
        .sort("year", "rule", pl.col("_key").str.len_chars(), descending=[False, False, True])
        .group_by("year", "rule", maintain_order=True)
        .agg(pl.col("basis").first())
    )
    schema = EVIDENCE.schema()
    return (
        ev.join(matched, on=["year", "rule"], how="left", maintain_order="left")
        .with_columns(pl.lit(assessment).alias("assessment"))
        .select([pl.col(c).cast(t) for c, t in schema.items()])
    )


def assessment_evidence(*parts: pl.LazyFrame) -> pl.LazyFrame:
    """R8: the ``assessment_evidence`` table from the finished evidence of R2 and R3, sorted by its
    key (empty values first), then by unit_code (empty last): deterministic output in table-key
    order, so the asset writes it without sorting it again (one sort of the largest assessed table)."""
    schema = EVIDENCE.schema()
    frames = [p.select(list(schema)) for p in parts] or [pl.LazyFrame(schema=schema)]
    key = list(EVIDENCE.key)
    return pl.concat(frames, how="vertical").sort(
        [*key, "unit_code"], nulls_last=[False] * len(key) + [True], maintain_order=True
    )


# ---------------------------------------------------------------- R2 evidence

PERSON_KEY = ["year", "person_id"]
NO_IDS = pl.lit([], pl.List(pl.String))


@dataclass(frozen=True)
class IntegrityFacts:
    """The R2 facts the evidence rows are made of (frames of ``lianjian.scoring.integrity``)."""

    subjects: pl.LazyFrame  # (year, unit_code, person_id): the people assessed
    reviews: pl.LazyFrame  # review_scores: <kind>_score, <kind>_ids
    family: pl.LazyFrame  # family_talk_deduction: points
    cases: pl.LazyFrame  # case_deductions: kind, points, case_ids
    cases_capped: pl.LazyFrame  # case_deduction: uncapped, cases_cap, points
    violations: pl.LazyFrame  # violation_deductions: sanction, points, violation_ids
    veto: pl.LazyFrame  # veto: veto_ids


def _person_part(
    facts: IntegrityFacts, frame: pl.LazyFrame, component: str, rule: pl.Expr | str, value: pl.Expr, ids: pl.Expr
) -> pl.LazyFrame:
    """Evidence rows of the people assessed (subject_kind ``person``) from one kind of R2 fact."""
    subject = frame.join(facts.subjects, on=PERSON_KEY, how="inner", validate="m:1").with_columns(
        pl.lit("person").alias("subject_kind"), pl.col("person_id").alias("subject_id")
    )
    return evidence_part(
        subject, component=component, rule=pl.lit(rule) if isinstance(rule, str) else rule, value=value, record_ids=ids
    )


def integrity_evidence(facts: IntegrityFacts, rules: Rules, years: list[int]) -> pl.LazyFrame:
    """R8 for R2: every review component, deduction (with the cap as a row of its own) and veto of
    every person assessed."""
    decimals = outcome_settings(rules, years).select("year", "decimals")
    reviews = facts.reviews.join(decimals, on="year", how="left", validate="m:1")
    parts = [
        _person_part(
            facts,
            reviews.filter(pl.col(f"{kind}_score").is_not_null()),
            f"{kind}_score",
            f"R2.review.{kind}",
            round_half_away(pl.col(f"{kind}_score"), pl.col("decimals")),
            pl.col(f"{kind}_ids"),
        )
        for kind in ("self", "peer", "department")
    ]
    parts += [
        _person_part(facts, facts.family, "deduction_talks", "R2.talks.family", pl.col("points"), NO_IDS),
        _person_part(
            facts, facts.cases, "deduction_cases", pl.lit("R2.cases.") + pl.col("kind"), pl.col("points"), pl.col("case_ids")
        ),
        _person_part(
            facts,
            facts.cases_capped.filter(pl.col("uncapped") > pl.col("cases_cap")),
            "deduction_cases",
            "R2.cases.cap",
            pl.col("cases_cap") - pl.col("uncapped"),
            NO_IDS,
        ),
        _person_part(
            facts,
            facts.violations,
            "deduction_violations",
            pl.lit("R2.violations.") + pl.col("sanction"),
            pl.col("points"),
            pl.col("violation_ids"),
        ),
        _person_part(facts, facts.veto, "veto", "R2.veto", pl.lit(None, pl.Float64), pl.col("veto_ids")),
    ]
    return finish_evidence(parts, "integrity", rules, years)


# ---------------------------------------------------------------- R3 evidence

SUBJECT = ["year", "unit_code", "subject_kind", "subject_id"]


@dataclass(frozen=True)
class ResponsibilityFacts:
    """The R3 facts the evidence rows are made of (frames of ``lianjian.scoring.responsibility``)."""

    subjects: pl.LazyFrame  # (year, unit_code, subject_kind, subject_id): the subjects assessed
    duty_items: pl.LazyFrame  # duty_completions: item, weight, completion, record_ids
    votes: pl.LazyFrame  # vote_scores: vote_score
    scope: pl.LazyFrame  # scope_deductions: severity, points, violation_ids
    scope_capped: pl.LazyFrame  # scope_deduction: uncapped, scope_cap, points
    veto: pl.LazyFrame  # responsibility_veto: veto_ids


def responsibility_evidence(facts: ResponsibilityFacts, rules: Rules, years: list[int]) -> pl.LazyFrame:
    """R8 for R3: every duty item (component: the item's name), the vote score, every scope deduction
    (with the cap as a row of its own) and the veto of every subject assessed (votes may name subjects
    that are not assessed: those are left out)."""
    decimals = outcome_settings(rules, years).select("year", "decimals")
    parts = [
        evidence_part(
            facts.duty_items,
            component=pl.col("item"),
            rule=pl.lit("R3.duty.") + pl.col("item"),
            value=pl.col("completion"),
            record_ids=pl.col("record_ids"),
        ),
        evidence_part(
            facts.votes.join(decimals, on="year", how="left", validate="m:1"),
            component="vote_score",
            rule=pl.lit("R3.vote"),
            value=round_half_away(pl.col("vote_score"), pl.col("decimals")),
            record_ids=NO_IDS,
        ),
        evidence_part(
            facts.scope,
            component="deduction_scope",
            rule=pl.lit("R3.scope.") + pl.col("severity"),
            value=pl.col("points"),
            record_ids=pl.col("violation_ids"),
        ),
        evidence_part(
            facts.scope_capped.filter(pl.col("uncapped") > pl.col("scope_cap")),
            component="deduction_scope",
            rule=pl.lit("R3.scope.cap"),
            value=pl.col("scope_cap") - pl.col("uncapped"),
            record_ids=NO_IDS,
        ),
        evidence_part(
            facts.veto, component="veto", rule=pl.lit("R3.veto"), value=pl.lit(None, pl.Float64), record_ids=pl.col("veto_ids")
        ),
    ]
    parts = [p.join(facts.subjects, on=SUBJECT, how="semi") for p in parts]
    return finish_evidence(parts, "responsibility", rules, years)
