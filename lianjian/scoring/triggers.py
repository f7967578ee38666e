"""R4 问责触发 — accountability triggers.

- consecutive_poor (连续两年较差; 庆城办法 第十八条（九）、第二十二条（三）; 连云港意见 二（四）); its
  evidence names the assessment row of each year of the streak
  (``integrity_assessment/<year>/<person_id>``, ``responsibility_assessment/<year>/<unit>/<kind>/<id>``)
- repeat_serious_violation (下一年度内又发生; 连云港意见 五（四）)
- one_case_two_investigations (一案双查; 庆城办法 第二十一条; 连云港意见 五（一）)

Settings (minimum streak, severities, basis texts) come from the rules file's ``triggers``.
"""

from __future__ import annotations

import polars as pl

from lianjian.contract import ENUMS, PUBLISHED
from lianjian.rules_config import Rules
from lianjian.scoring.common import (
    POOR,
    dept_heads,
    is_leadership,
    materialize,
    party_secretaries,
    year_of,
    years_of,
)
from lianjian.scoring.evidence import record_id
from lianjian.scoring.responsibility import BODIES, PERSON_KINDS, scope_violations

TABLE = PUBLISHED["accountability_triggers"]
SUBJECT = ["year", "unit_code", "subject_kind", "subject_id"]
#: Roles in which a leader answers under 一案双查, in the order one is chosen when a leader holds
#: several towards the same violator (docs/rules.md R4: dept_head, leader (supervisor), branch_secretary,
#: secretary).
ANSWER_ROLES = ("dept_head", "leader", "branch_secretary", "secretary")


def _finish(frame: pl.LazyFrame) -> pl.LazyFrame:
    schema = TABLE.schema()
    return frame.select([pl.col(c).cast(t) for c, t in schema.items()])


def _empty() -> pl.LazyFrame:
    return pl.LazyFrame(schema=TABLE.schema())


def _kind_rank(col: str = "subject_kind") -> pl.Expr:
    """Order of subject kinds as declared (enum order), to pick one kind deterministically."""
    kinds = ENUMS["trigger_subject_kind"].codes
    return pl.col(col).replace_strict(kinds, list(range(len(kinds))), default=len(kinds), return_dtype=pl.Int64)


def _streaks(poor: pl.LazyFrame, ident: list[str]) -> pl.LazyFrame:
    """For each identity and year with 较差, the length of the unbroken run of 较差 years ending there."""
    return (
        poor.sort(*ident, "year")
        .with_columns((pl.col("year") - pl.int_range(pl.len()).over(ident)).alias("_run"))
        .with_columns(pl.int_range(1, pl.len() + 1).over(*ident, "_run").alias("streak_years"))
    )


def consecutive_poor(integrity: pl.LazyFrame, responsibility: pl.LazyFrame, rules: Rules) -> pl.LazyFrame:
    """连续两年较差: for each assessment and subject graded 较差 in Y and in Y−1 (a run of at least
    ``triggers.consecutive_poor_min_years``), one row in Y with the run's length. A person is one
    subject across kinds and years (worse grade of the year counts; the row's subject_kind is the first
    of secretary, leader, dept_head the person is assessed under in Y); a body is one per unit; a year
    without a grade breaks the run."""
    years = sorted(set(years_of(integrity)) | set(years_of(responsibility)))
    if not years:
        return _empty()
    basis_rows = [
        (y, kind, text)
        for y in years
        for kind, text in (rules.settings(y).triggers.basis["consecutive_poor"] or {}).items()
    ]
    basis = pl.LazyFrame(
        basis_rows, schema={"year": pl.Int64, "subject_kind": pl.String, "basis": pl.String}, orient="row"
    )
    min_years = rules.year_table(years, _min=lambda s: s.triggers.consecutive_poor_min_years).lazy()

    integ = integrity.filter(pl.col("grade") == POOR).select(
        "year",
        "unit_code",
        pl.lit("integrity").alias("assessment"),
        pl.lit("person").alias("subject_kind"),
        pl.col("person_id").alias("subject_id"),
        pl.col("name").alias("subject_name"),
        pl.col("person_id").alias("_ident"),
        pl.concat_list(record_id("integrity_assessment", "year", "person_id")).alias("_poor_ids"),
    )
    resp = (
        responsibility.with_columns(pl.col("subject_kind").cast(pl.String))
        .with_columns(
            # a person is the same subject whatever the kind; a body is the same subject for its unit
            pl.when(pl.col("subject_kind").is_in(list(BODIES)))
            .then(pl.col("subject_kind") + pl.lit(":") + pl.col("unit_code"))
            .otherwise(pl.col("subject_id"))
            .alias("_ident")
        )
        # one row per identity and year, of the first kind (declared order: secretary, leader,
        # dept_head) the person is assessed under that year; 较差 when any of them is (the worse grade)
        .sort("_ident", "year", _kind_rank())
        .group_by("_ident", "year", maintain_order=True)
        .agg(
            pl.col("unit_code", "subject_kind", "subject_id", "subject_name").first(),
            (pl.col("grade") == POOR).any().alias("_poor"),
            record_id("responsibility_assessment", "year", "unit_code", "subject_kind", "subject_id")
            .filter(pl.col("grade") == POOR)
            .alias("_poor_ids"),
        )
        .filter(pl.col("_poor"))
        .select("year", "unit_code", pl.lit("responsibility").alias("assessment"), "subject_kind", "subject_id",
                "subject_name", "_ident", "_poor_ids")
    )
    ident = ["assessment", "_ident"]
    (poor,) = materialize(pl.concat([integ, resp]))
    triggered = (
        _streaks(poor, ident)
        .join(min_years, on="year", how="left")
        .filter(pl.col("streak_years") >= pl.col("_min"))
    )
    # evidence: the assessment row of each year of the streak graded 较差 (its grade, score and
    # evidence rows are the facts behind it)
    streak_rows = (
        triggered.select(*ident, "year", "streak_years")
        .join(poor.select(*ident, pl.col("year").alias("_year"), "_poor_ids"), on=ident, how="inner")
        .filter(pl.col("_year").is_between(pl.col("year") - pl.col("streak_years") + 1, pl.col("year")))
        .group_by(*ident, "year")
        .agg(pl.col("_poor_ids").list.explode(keep_nulls=False, empty_as_null=False).sort().alias("evidence"))
    )
    return _finish(
        triggered.join(streak_rows, on=[*ident, "year"], how="left", validate="1:1")
        .join(basis, on=["year", "subject_kind"], how="left")
        .with_columns(pl.lit("consecutive_poor").alias("trigger_type"))
    )


def repeat_serious_violation(
    responsibility: pl.LazyFrame, roster: pl.LazyFrame, departments: pl.LazyFrame, violations: pl.LazyFrame, rules: Rules
) -> pl.LazyFrame:
    """下一年度内又发生 (连云港意见 五（四）): a person who was a secretary, leader or dept_head subject in
    both Y−1 and Y, whose R3 scope (of each year) had a violation of ``triggers.repeat_serious_severities``
    decided in Y−1 and another decided in Y: one row in Y with Y's subject kind; evidence both years' ids."""
    subjects = responsibility.with_columns(pl.col("subject_kind").cast(pl.String)).filter(
        pl.col("subject_kind").is_in(list(PERSON_KINDS))
    )
    years = years_of(subjects)
    if not years:
        return _empty()
    sev = rules.year_codes(years, "severity", lambda s: s.triggers.repeat_serious_severities)
    basis = rules.year_table(years, basis=lambda s: s.triggers.basis["repeat_serious_violation"]).lazy()
    serious = (
        scope_violations(subjects, roster, departments, violations)
        .join(sev, on=["year", "severity"], how="semi")
        .group_by("year", pl.col("subject_id").alias("_person"))
        .agg(pl.col("violation_id").unique().alias("_ids"))
    )
    # computed once: used twice below, and left lazy the optimizer joins the scope on year alone
    (serious,) = materialize(serious)
    prev = serious.select(pl.col("year") + 1, "_person", pl.col("_ids").alias("_prev_ids"))
    this_year = (
        subjects.select(*SUBJECT, "subject_name", pl.col("subject_id").alias("_person"))
        .sort("_person", "year", _kind_rank())
        .unique(subset=["_person", "year"], keep="first", maintain_order=True)
    )
    return _finish(
        this_year.join(serious, on=["year", "_person"], how="inner")
        .join(prev, on=["year", "_person"], how="inner")
        .join(basis, on="year", how="left")
        .with_columns(
            pl.lit("repeat_serious_violation").alias("trigger_type"),
            pl.lit("responsibility").alias("assessment"),
            pl.lit(None, pl.Int64).alias("streak_years"),
            pl.concat_list("_ids", "_prev_ids").list.unique().list.sort().alias("evidence"),
        )
    )


def one_case_two_investigations(
    roster: pl.LazyFrame, departments: pl.LazyFrame, violations: pl.LazyFrame, rules: Rules
) -> pl.LazyFrame:
    """一案双查 (庆城办法 第二十一条；连云港意见 五（一）): for each violation of
    ``triggers.one_case_two_investigations_severities`` decided in Y by P, one row per leader who
    answers for it — for a staff member the head, the supervisor and the branch secretary of P's
    department; for a department head the supervisor (of the departments P heads) and the party
    secretary; for a leadership member the party secretary. Each leader once per violation (first
    role of ``ANSWER_ROLES``), nobody for themselves; unit_code is the violator's (roster of Y); a
    violator missing from that roster has nobody answering."""
    v = violations.with_columns(
        year_of(pl.col("decided_date")).alias("year"), pl.col("severity").cast(pl.String).alias("severity")
    )
    years = years_of(v)
    if not years:
        return _empty()
    sev = rules.year_codes(years, "severity", lambda s: s.triggers.one_case_two_investigations_severities)
    basis = rules.year_table(years, basis=lambda s: s.triggers.basis["one_case_two_investigations"]).lazy()
    heads = dept_heads(departments)
    viol = (
        v.join(sev, on=["year", "severity"], how="semi")
        .join(
            roster.select("year", "person_id", "unit_code", "dept_code", is_leadership().alias("_leadership")),
            on=["year", "person_id"],
            how="inner",
        )
        .join(
            heads.select("year", "unit_code", pl.col("head_id").alias("person_id")).unique().with_columns(
                pl.lit(True).alias("_is_head")
            ),
            on=["year", "unit_code", "person_id"],
            how="left",
        )
        .with_columns(
            pl.when(pl.col("_leadership"))
            .then(pl.lit("leadership"))
            .when(pl.col("_is_head").fill_null(False))
            .then(pl.lit("head"))
            .otherwise(pl.lit("staff"))
            .alias("_role")
        )
        .select("year", "violation_id", "person_id", "unit_code", "dept_code", "_role")
    )
    secretaries = party_secretaries(roster).rename({"secretary_id": "_leader"})
    staff_dept = viol.filter(pl.col("_role") == "staff").join(
        departments.select("year", "unit_code", "dept_code", "head_id", "supervisor_id", "branch_secretary_id"),
        on=["year", "unit_code", "dept_code"],
        how="inner",
    )
    answers = [
        staff_dept.select(*viol.collect_schema().names(), pl.col(col).alias("_leader"), pl.lit(role).alias("_as"))
        for col, role in (("head_id", "dept_head"), ("supervisor_id", "leader"), ("branch_secretary_id", "branch_secretary"))
    ]
    answers.append(
        viol.filter(pl.col("_role") == "head")
        .join(
            departments.select("year", "unit_code", pl.col("head_id").alias("person_id"), pl.col("supervisor_id").alias("_leader")),
            on=["year", "unit_code", "person_id"],
            how="inner",
        )
        .with_columns(pl.lit("leader").alias("_as"))
    )
    answers.append(
        viol.filter(pl.col("_role").is_in(["head", "leadership"]))
        .join(secretaries, on=["year", "unit_code"], how="inner")
        .with_columns(pl.lit("secretary").alias("_as"))
    )
    cols = ["year", "violation_id", "person_id", "unit_code", "_leader", "_as"]
    names = roster.select("year", pl.col("person_id").alias("_leader"), pl.col("name").alias("subject_name"))
    rank = pl.col("_as").replace_strict(list(ANSWER_ROLES), list(range(len(ANSWER_ROLES))), return_dtype=pl.Int64)
    return _finish(
        pl.concat([a.select(cols) for a in answers])
        .filter(pl.col("_leader").is_not_null() & (pl.col("_leader") != pl.col("person_id")))
        .sort("violation_id", "_leader", rank)
        .unique(subset=["violation_id", "_leader"], keep="first", maintain_order=True)
        .join(names, on=["year", "_leader"], how="left")
        .join(basis, on="year", how="left")
        .with_columns(
            pl.lit("one_case_two_investigations").alias("trigger_type"),
            pl.lit("none").alias("assessment"),
            pl.col("_as").alias("subject_kind"),
            pl.col("_leader").alias("subject_id"),
            pl.lit(None, pl.Int64).alias("streak_years"),
            pl.concat_list(pl.col("violation_id")).alias("evidence"),
        )
    )


def accountability_triggers(
    integrity: pl.LazyFrame,
    responsibility: pl.LazyFrame,
    roster: pl.LazyFrame,
    departments: pl.LazyFrame,
    violations: pl.LazyFrame,
    rules: Rules,
) -> pl.LazyFrame:
    """R4: every trigger row (consecutive_poor, repeat_serious_violation, one_case_two_investigations),
    in the published schema, sorted by the table key."""
    return pl.concat(
        [
            consecutive_poor(integrity, responsibility, rules),
            repeat_serious_violation(responsibility, roster, departments, violations, rules),
            one_case_two_investigations(roster, departments, violations, rules),
        ]
    ).sort(list(TABLE.key))
