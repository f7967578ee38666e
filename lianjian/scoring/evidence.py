"""R8 证据 — every number that moves a score, with its record ids, rule id and basis text.

RULES.md R8: each review, unfulfilled obligation, case, violation, duty item and vote that moves a
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

import polars as pl

from lianjian.contract import PUBLISHED
from lianjian.rules_config import Rules
from lianjian.scoring.common import years_of

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


def _duty_item_basis(rules: Rules, years: list[int]) -> pl.LazyFrame:
    """(year, subject_kind, rule ``R3.duty.<item>``, _item_basis): the article each duty item of the
    rules file rests on (its ``basis``), by subject kind — the same item (a responsibility letter)
    rests on different articles for the 党组, the secretary and a leader."""
    rows = [
        (y, kind, f"R3.duty.{it.item}", it.basis)
        for y in sorted(set(years))
        for kind, items in rules.settings(y).responsibility.duty_items.items()
        for it in items
        if it.basis
    ]
    schema = {"year": pl.Int64, "subject_kind": pl.String, "rule": pl.String, "_item_basis": pl.String}
    return pl.LazyFrame(rows, schema=schema, orient="row")


def finish_evidence(
    parts: list[pl.LazyFrame], assessment: str, rules: Rules, years: list[int] | None = None
) -> pl.LazyFrame:
    """Concatenate parts of one assessment, add ``assessment`` and ``basis`` (a duty item's own
    article; otherwise the longest rules-file basis key that equals the rule id or prefixes it
    followed by a dot), in the published schema.
    ``years``: every year the parts may hold (a superset is fine); when omitted they are read off the
    parts, which computes them once more."""
    ev = pl.concat([p.select(PART_COLUMNS) for p in parts] or [empty_part()], how="vertical")
    years = years_of(ev) if years is None else years
    basis = _basis_table(rules, years)
    # the basis depends on (year, subject_kind, rule) alone: match the few distinct triples, then
    # join them back
    on = ["year", "subject_kind", "rule"]
    triples = ev.select(on).unique()
    by_key = (
        triples.join(basis, on="year", how="inner")
        .filter((pl.col("rule") == pl.col("_key")) | pl.col("rule").str.starts_with(pl.col("_key") + "."))
        .sort(*on, pl.col("_key").str.len_chars(), descending=[False, False, False, True], nulls_last=False)
        .group_by(on, maintain_order=True)
        .agg(pl.col("basis").first())
    )
    matched = (
        triples.join(by_key, on=on, how="left", nulls_equal=True)
        .join(_duty_item_basis(rules, years), on=on, how="left", nulls_equal=True)
        .select(*on, pl.coalesce("_item_basis", "basis").alias("basis"))
    )
    schema = EVIDENCE.schema()
    return (
        ev.join(matched, on=on, how="left", maintain_order="left", nulls_equal=True)
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
