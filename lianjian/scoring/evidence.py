"""R8 证据 — every number that moves a score, with its record ids, rule id and basis text.

docs/rules.md R8: each review, unfulfilled obligation, case, violation, duty item and vote that moves a
score is written to ``assessment_evidence`` (year, assessment, subject_kind, subject_id, component,
value, record_ids, rule, basis), so that ``lianjian explain`` and an auditor can retrace and recompute
any grade without the code.

Conventions of the rows written by R2 (``integrity``) and R3 (``responsibility``):

- ``component`` is the published column the fact moves: ``self_score``, ``peer_score``,
  ``department_score``, ``deduction_talks``, ``deduction_cases``, ``deduction_violations``, ``veto``,
  ``status`` (R2); ``vote_score``, ``deduction_scope``, ``veto`` (R3) — except R3 duty items, whose
  component is the item's name from the rules file (``interview``, ``talk_obligations`` …; rule
  ``R3.duty.<item>``).
- Reviews: one row per review (value: its score; rule ``R2.review.<kind>``); the peer reviews left
  out by the trim have rule ``R2.review.peer.trimmed``. So self_score, peer_score and
  department_score are the means of the values of their ``R2.review.<kind>`` rows.
- Votes: one row per level (value: the number of votes; rule ``R3.vote.<level>``).
- Duty items: one row per item (value: its completion 0–1; record ids: what was counted — the
  activities, the talks that fulfilled an obligation, the special cases verified) and, when something
  lowers it, a row ``R3.duty.<item>.missed`` (no value) naming what: the targets not fully met, the
  obligations not fulfilled (``talk_obligations/…`` ids), the special cases not verified.
- For every subject, the values of its ``deduction_*`` rows add up to its deductions as computed
  (a cap that bites is a row of its own with a negative value, rule ``….cap``), and 100 × the
  weighted mean of its ``R3.duty.<item>`` values (weights: the settings rows below) is its
  duty_score.
- ``veto`` and ``status`` rows carry no value (null): they set the grade or the status, not the score.
  ``R2.status.no_department_review`` (incomplete), ``R2.status.dept_head_unsigned`` and
  ``R2.status.supervisor_unsigned`` (signoff_pending; record ids: the department reviews lacking that
  signature).
- Settings rows: the rules-file settings in force that year (after its overrides) that a recomputation
  needs — weights, points, caps, grade thresholds, rounding — with subject_id and unit_code empty,
  subject_kind ``person`` (R2), the duty item's subject kind or empty (R3, settings of every kind),
  ``component`` the setting's path in the rules file (``integrity.weights.peer``,
  ``responsibility.duty_items.leader.lecture.weight`` …), ``rule`` the rule it sets.
- Records without an id of their own are named by their table and key, ``/``-separated, empty parts
  left out: ``reviews/<year>/<person_id>/<reviewer_kind>[/<reviewer_id>]``,
  ``talk_obligations/<year>/<person_id>/<obligation>[/<event_id>]``,
  ``integrity_assessment/<year>/<person_id>``,
  ``responsibility_assessment/<year>/<unit_code>/<subject_kind>/<subject_id>`` (``record_id``).
- ``record_ids`` are sorted as text; ``basis`` comes from the rules file's ``basis`` texts, the
  longest key that prefixes the rule id (``R2.veto`` before ``R2``).
"""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

from lianjian.contract import ENUMS, PUBLISHED, one_empty
from lianjian.rules_config import Rules
from lianjian.scoring.common import IN_MEMORY, materialize, years_of

EVIDENCE = PUBLISHED["assessment_evidence"]

#: Columns a part must carry before ``finish_evidence`` (basis and assessment are added there).
PART_COLUMNS = ("year", "unit_code", "subject_kind", "subject_id", "component", "value", "record_ids", "rule")


def evidence_part(
    frame: pl.LazyFrame,
    *,
    component: str | pl.Expr,
    rule: pl.Expr,
    value: pl.Expr,
    record_ids: pl.Expr | None = None,
    record_id: pl.Expr | None = None,
) -> pl.LazyFrame:
    """Shape one kind of fact into evidence-part columns. ``frame`` carries year, unit_code,
    subject_kind and subject_id; the records behind each fact are either ``record_ids``, a list[str]
    expression (nulls dropped, repeats removed and sorted here), or ``record_id``, one id per fact
    (a list of that one id, empty when it is null: such a list needs no sorting, which cost R2 about a
    quarter of its evidence time over one row per review)."""
    if (record_ids is None) == (record_id is None):
        raise TypeError("evidence_part: give record_ids or record_id, not both")
    if record_id is not None:
        record_id = record_id.cast(pl.String)
        ids = pl.when(record_id.is_null()).then(NO_IDS).otherwise(pl.concat_list(record_id))
    else:
        ids = record_ids.cast(pl.List(pl.String)).list.drop_nulls().list.unique().list.sort()
    return frame.select(
        pl.col("year").cast(pl.Int64),
        pl.col("unit_code").cast(pl.String),
        pl.col("subject_kind").cast(pl.String),
        pl.col("subject_id").cast(pl.String),
        (pl.lit(component) if isinstance(component, str) else component).cast(pl.String).alias("component"),
        value.cast(pl.Float64).alias("value"),
        ids.alias("record_ids"),
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
    # computed once: the distinct triples below and the rows joined to their basis both read it, and
    # as one plan Polars computed the parts twice (1/6 of national, a year of R2's evidence: 0.31 ->
    # 0.21 CPU-s; docs/performance.md, "The rules' computations for less CPU")
    (ev,) = materialize(pl.concat([p.select(PART_COLUMNS) for p in parts] or [empty_part()], how="vertical"), engine=IN_MEMORY)
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
    """R8: the ``assessment_evidence`` table from the finished evidence of R2 and R3, in the total order
    publishing writes it in (``PUBLISHED_ORDER``): deterministic output that R8 puts together year by
    year without sorting (``merged_evidence``) and writes in the published form without sorting it
    again (lianjian/publish/publish.py ``write_published_form``; docs/performance.md, "Evidence in
    publish's order")."""
    schema = EVIDENCE.schema()
    frames = [p.select(list(schema)) for p in parts] or [pl.LazyFrame(schema=schema)]
    return pl.concat(frames, how="vertical").sort(_SORTED_BY, nulls_last=True, maintain_order=True)


#: The order publishing writes ``assessment_evidence`` in (``prepare``: the key, then every other
#: column, empty values spelled one way and last), as sort expressions over the evidence rows: the
#: values themselves are left as they are. Sorted so, a year's rows need no sort when they are
#: written in the published form (at national ≈ 2.5 M rows a year, a list column in the key).
PUBLISHED_ORDER = [
    one_empty(c, EVIDENCE.schema()[c]) for c in (*EVIDENCE.key, *(c for c in EVIDENCE.schema() if c not in EVIDENCE.key))
]
#: What ``assessment_evidence`` sorts by: ``PUBLISHED_ORDER`` but its last column, ``basis``. The
#: basis is a function of (year, assessment, subject_kind, rule) — ``finish_evidence`` looks it up
#: by them for one assessment — which come before it in the order, so it never separates two rows
#: the other columns leave tied: the same order, at a third less CPU (the basis is long text; 1/6 of
#: national, 0.33 → 0.22 CPU-s a year of R2, as much as the former order cost).
_SORTED_BY = PUBLISHED_ORDER[:-1]
assert [e.meta.output_name() for e in PUBLISHED_ORDER][-1] == "basis"


#: The columns ``assessment_evidence`` sorts by first: one value throughout a year of R2 or R3.
_CONSTANT_IN_A_YEAR = ("year", "assessment")
assert tuple(e.meta.output_name() for e in _SORTED_BY[: len(_CONSTANT_IN_A_YEAR)]) == _CONSTANT_IN_A_YEAR


def year_evidence_in_order(rows: pl.DataFrame) -> pl.DataFrame:
    """``assessment_evidence`` of collected rows, for the rows of one year and one assessment (a year
    of R2 or R3, ``assets/assessed.py`` ``score_year``): sorted by the order without its first two
    columns, year and assessment, which hold one value throughout and so decide nothing — the same
    rows in the same order, for about a sixth less CPU (1/6 of national, a year of R2's 357 k
    evidence rows: 0.155 -> 0.13 CPU-s; docs/performance.md, "The assessed steps' inputs read once a
    year"). Rows of several years or assessments (or with either empty) are sorted by the whole
    order."""
    schema = EVIDENCE.schema()
    rows = rows.select(list(schema))
    one_value = [(pl.col(c).null_count() == 0) & (pl.col(c).min() == pl.col(c).max()) for c in _CONSTANT_IN_A_YEAR]
    if rows.height > 1 and not rows.select(pl.all_horizontal(one_value)).item():
        return assessment_evidence(rows.lazy()).collect(engine=IN_MEMORY)
    return rows.sort(_SORTED_BY[len(_CONSTANT_IN_A_YEAR) :], nulls_last=True, maintain_order=True)


def merged_evidence(years: list[int], **parts: pl.LazyFrame) -> pl.LazyFrame:
    """R8 from evidence parts that are each already in ``assessment_evidence`` order, by assessment
    (``integrity=``, ``responsibility=``: the year files R2 and R3 write, each year sorted by
    ``assessment_evidence`` before it is written): for each year of ``years``, the parts' rows of that
    year one assessment after the other (``ASSESSMENTS``) — the rows and the order the sort
    gives (the key begins with year and assessment, and a part holds one assessment), without sorting
    the largest assessed table again (1/6 of national: 0.4–0.6 → 0.05 CPU-s a year;
    docs/performance.md, "Scoring for less")."""
    unknown = set(parts) - set(ASSESSMENTS)
    if unknown:
        raise TypeError(f"merged_evidence: unknown assessments {sorted(unknown)}")
    schema = EVIDENCE.schema()
    frames = [parts[a].filter(pl.col("year") == year).select(list(schema)) for year in sorted(set(years)) for a in ASSESSMENTS if a in parts]
    return pl.concat(frames, how="vertical") if frames else pl.LazyFrame(schema=schema)


#: The assessments of the evidence in the order the sort of ``assessment_evidence`` puts them (the
#: column's published type decides: text sorts by its characters).
ASSESSMENTS = tuple(pl.Series(ENUMS["evidence_assessment"].codes, dtype=EVIDENCE.schema()["assessment"]).sort().to_list())


# ---------------------------------------------------------------- record ids and settings rows

NO_IDS = pl.lit([], pl.List(pl.String))


def record_id(table: str, *key: pl.Expr | str) -> pl.Expr:
    """The id of a record that has none of its own: its table and key values, ``/``-separated, empty
    values left out (``reviews/2024/P001/department``)."""
    parts = [pl.col(k) if isinstance(k, str) else k for k in key]
    return pl.concat_str([pl.lit(table), *(p.cast(pl.String) for p in parts)], separator="/", ignore_nulls=True)


def settings_part(rows: list[tuple[int, str | None, str, str, float]]) -> pl.LazyFrame:
    """Evidence-part rows of rules-file settings: (year, subject_kind, component = the setting's path,
    rule, value); no unit, no subject, no record ids."""
    frame = pl.LazyFrame(
        rows,
        schema={"year": pl.Int64, "subject_kind": pl.String, "component": pl.String, "rule": pl.String, "value": pl.Float64},
        orient="row",
    )
    return frame.select(
        "year",
        pl.lit(None, pl.String).alias("unit_code"),
        "subject_kind",
        pl.lit(None, pl.String).alias("subject_id"),
        "component",
        "value",
        NO_IDS.alias("record_ids"),
        "rule",
    )


def _grade_settings(year: int, settings, kind: str | None, family: str) -> list[tuple]:
    """The grade thresholds and the rounding of a year, for R2 (``family`` R2) or R3."""
    return [
        *((year, kind, f"grades.{k}", f"{family}.grade", float(getattr(settings.grades, k))) for k in GRADE_LEVELS),
        (year, kind, "rounding_decimals", f"{family}.total", float(settings.rounding_decimals)),
    ]


GRADE_LEVELS = ("good", "fairly_good", "average")


# ---------------------------------------------------------------- R2 evidence

PERSON_KEY = ["year", "person_id"]


@dataclass(frozen=True)
class IntegrityFacts:
    """The R2 facts the evidence rows are made of (frames of ``lianjian.scoring.integrity``)."""

    subjects: pl.LazyFrame  # (year, unit_code, person_id): the people assessed
    reviews: pl.LazyFrame  # review_rows: kind, score, record_id, trimmed, dept_head_signed, supervisor_signed
    family: pl.LazyFrame  # family_talk_deduction: points, obligation_ids
    cases: pl.LazyFrame  # case_deductions: kind, points, case_ids
    cases_capped: pl.LazyFrame  # case_deduction: uncapped, cases_cap, points
    violations: pl.LazyFrame  # violation_deductions: sanction, points, violation_ids
    veto: pl.LazyFrame  # veto: veto_ids


def _person_part(
    facts: IntegrityFacts,
    frame: pl.LazyFrame,
    component: str | pl.Expr,
    rule: pl.Expr | str,
    value: pl.Expr,
    ids: pl.Expr | None = None,
    *,
    one_id: pl.Expr | None = None,
) -> pl.LazyFrame:
    """Evidence rows of the people assessed (subject_kind ``person``) from one kind of R2 fact; its
    records are ``ids`` (a list) or ``one_id`` (one record per fact: ``evidence_part``)."""
    subject = frame.join(facts.subjects, on=PERSON_KEY, how="inner", validate="m:1").with_columns(
        pl.lit("person").alias("subject_kind"), pl.col("person_id").alias("subject_id")
    )
    return evidence_part(
        subject,
        component=component,
        rule=pl.lit(rule) if isinstance(rule, str) else rule,
        value=value,
        record_ids=ids,
        record_id=one_id,
    )


def integrity_settings_part(rules: Rules, years: list[int]) -> pl.LazyFrame:
    """The R2 settings in force each year: review weights, the peer trim, the points of every
    deduction, the case cap, the grade thresholds and the rounding."""
    rows = []
    for y in sorted(set(years)):
        s = rules.settings(y)
        i = s.integrity
        rows += [(y, "person", f"integrity.weights.{k}", "R2.review", float(getattr(i.weights, k))) for k in ("self", "peer", "department")]
        rows.append((y, "person", "integrity.peer_trim_from", "R2.review.peer", float(i.peer_trim_from)))
        rows.append((y, "person", "integrity.deductions.family_talk_missing", "R2.talks.family", float(i.deductions.family_talk_missing)))
        for k in ("flawed", "unqualified", "error", "cap"):
            rows.append((y, "person", f"integrity.deductions.cases.{k}", f"R2.cases.{k}", float(getattr(i.deductions.cases, k))))
        for sanction, points in sorted(i.deductions.violations.items()):
            rows.append((y, "person", f"integrity.deductions.violations.{sanction}", f"R2.violations.{sanction}", float(points)))
        rows += _grade_settings(y, s, "person", "R2")
    return settings_part(rows)


def integrity_evidence(facts: IntegrityFacts, rules: Rules, years: list[int]) -> pl.LazyFrame:
    """R8 for R2: every review (the trimmed peers apart), deduction (with the cap as a row of its
    own), veto and reason for a status other than graded of every person assessed, and the settings
    in force each year."""
    reviews = facts.reviews
    department = reviews.filter(pl.col("kind") == "department")
    parts = [
        _person_part(
            facts,
            reviews,
            pl.col("kind") + "_score",
            pl.lit("R2.review.") + pl.col("kind") + pl.when(pl.col("trimmed")).then(pl.lit(".trimmed")).otherwise(pl.lit("")),
            pl.col("score"),
            one_id=pl.col("record_id"),
        ),
        _person_part(
            facts,
            facts.subjects.join(department, on=PERSON_KEY, how="anti"),
            "status",
            "R2.status.no_department_review",
            pl.lit(None, pl.Float64),
            NO_IDS,
        ),
        *(
            _person_part(
                facts,
                department.filter(~pl.col(f"{who}_signed")).group_by(PERSON_KEY).agg(pl.col("record_id").alias("ids")),
                "status",
                f"R2.status.{who}_unsigned",
                pl.lit(None, pl.Float64),
                pl.col("ids"),
            )
            for who in ("dept_head", "supervisor")
        ),
        _person_part(facts, facts.family, "deduction_talks", "R2.talks.family", pl.col("points"), pl.col("obligation_ids")),
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
        integrity_settings_part(rules, years),
    ]
    return finish_evidence(parts, "integrity", rules, years)


# ---------------------------------------------------------------- R3 evidence

SUBJECT = ["year", "unit_code", "subject_kind", "subject_id"]
VOTE_LEVELS = ("good", "fairly_good", "average", "poor")


@dataclass(frozen=True)
class ResponsibilityFacts:
    """The R3 facts the evidence rows are made of (frames of ``lianjian.scoring.responsibility``)."""

    subjects: pl.LazyFrame  # (year, unit_code, subject_kind, subject_id): the subjects assessed
    duty_items: pl.LazyFrame  # duty_completions: item, weight, completion, record_ids, missed
    votes: pl.LazyFrame  # vote_scores: votes_<level>
    scope: pl.LazyFrame  # scope_deductions: severity, points, violation_ids
    scope_capped: pl.LazyFrame  # scope_deduction: uncapped, scope_cap, points
    veto: pl.LazyFrame  # responsibility_veto: veto_ids


def responsibility_settings_part(rules: Rules, years: list[int]) -> pl.LazyFrame:
    """The R3 settings in force each year: base weights, vote points, scope points and cap, grade
    thresholds and rounding (every kind: subject_kind empty), and each duty item's weight and required
    count (subject_kind: the item's)."""
    rows = []
    for y in sorted(set(years)):
        s = rules.settings(y)
        r = s.responsibility
        rows += [(y, None, f"responsibility.base_weights.{k}", "R3.base", float(getattr(r.base_weights, k))) for k in ("duty", "vote")]
        rows += [(y, None, f"responsibility.vote_points.{k}", f"R3.vote.{k}", float(getattr(r.vote_points, k))) for k in VOTE_LEVELS]
        for severity, points in sorted(r.scope_deduction.points.items()):
            rows.append((y, None, f"responsibility.scope_deduction.points.{severity}", f"R3.scope.{severity}", float(points)))
        rows.append((y, None, "responsibility.scope_deduction.cap", "R3.scope.cap", float(r.scope_deduction.cap)))
        rows += _grade_settings(y, s, None, "R3")
        for kind, items in r.duty_items.items():
            for it in items:
                path = f"responsibility.duty_items.{kind}.{it.item}"
                rows.append((y, kind, f"{path}.weight", f"R3.duty.{it.item}", float(it.weight)))
                if it.required is not None:
                    rows.append((y, kind, f"{path}.required", f"R3.duty.{it.item}", float(it.required)))
    return settings_part(rows)


def responsibility_evidence(facts: ResponsibilityFacts, rules: Rules, years: list[int]) -> pl.LazyFrame:
    """R8 for R3: every duty item (and what lowers it), the votes of each level, every scope
    deduction (with the cap as a row of its own) and the veto of every subject assessed (votes may
    name subjects that are not assessed: those are left out), and the settings in force each year.
    Every other fact is built from the subjects assessed (``responsibility_assessment``: duty items,
    scope and veto start from the subjects, whose key columns are never empty), so only the votes
    are matched against the subjects (a semi-join of every part cost a year of R3 about a tenth of
    its evidence at 1/6 of national; docs/performance.md, "The assessed steps' inputs read once a
    year")."""
    missed = facts.duty_items.filter(pl.col("missed").list.len() > 0)
    votes = facts.votes.join(facts.subjects, on=SUBJECT, how="semi")
    parts = [
        evidence_part(
            facts.duty_items,
            component=pl.col("item"),
            rule=pl.lit("R3.duty.") + pl.col("item"),
            value=pl.col("completion"),
            record_ids=pl.col("record_ids"),
        ),
        evidence_part(
            missed,
            component=pl.col("item"),
            rule=pl.lit("R3.duty.") + pl.col("item") + ".missed",
            value=pl.lit(None, pl.Float64),
            record_ids=pl.col("missed"),
        ),
        *(
            evidence_part(
                votes,
                component="vote_score",
                rule=pl.lit(f"R3.vote.{level}"),
                value=pl.col(f"votes_{level}"),
                record_ids=NO_IDS,
            )
            for level in VOTE_LEVELS
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
    return finish_evidence([*parts, responsibility_settings_part(rules, years)], "responsibility", rules, years)
