"""R3 党风廉政考核 — the responsibility assessment (庆城办法 第四条至第十三条；连云港意见 五; docs/rules.md R3).

Subjects per unit and year (``responsibility_subjects``): the 党组 (party_group), the party secretary
(secretary), every other active leadership member but the discipline_head (leader), every active
department head (dept_head) and the 纪检组 (discipline_group). For each, in the article's steps:

- duty items (``duty_completions``): the rules file's ``duty_items``, one function per kind of item
  (``count_items``, ``per_period_items``, ``per_target_items``, ``obligation_items``,
  ``special_case_items``), and ``duty_scores``;
- votes (``vote_scores``, 民主测评) and the base score (``base_score``);
- the scope deduction (一岗双责: ``scope_violations``, ``scope_deductions``, ``scope_deduction``);
- the veto (``responsibility_veto``);
- total and grade: the ending R3 shares with R2 (``common.total_and_grade``).

Every number comes from the rules file (``responsibility.*``, ``grades``, ``rounding_decimals``); the R8
evidence rows behind each of them are built in ``evidence.responsibility_evidence``.
"""

from __future__ import annotations

import polars as pl

from lianjian.contract import ENUMS, PUBLISHED
from lianjian.rules_config import Rules
from lianjian.scoring.common import (
    IN_MEMORY,
    active,
    dept_heads,
    is_leadership,
    materialize,
    party_secretaries,
    rounded,
    total_and_grade,
    with_special_flag,
    year_of,
    years_of,
)
from lianjian.scoring.evidence import NO_IDS, ResponsibilityFacts, record_id, responsibility_evidence
from lianjian.scoring.integrity import vetoing_violations
from lianjian.scoring.talks import obligations_towards_others

TABLE = PUBLISHED["responsibility_assessment"]
SUBJECT = ["year", "unit_code", "subject_kind", "subject_id"]
BODIES = ("party_group", "discipline_group")
PERSON_KINDS = tuple(k for k in ENUMS["actor_kind"].codes if k not in BODIES)
#: Calendar periods per year (docs/rules.md conventions: halves and quarters of the calendar year).
PERIODS = {"half": 2, "quarter": 4}
#: The levels of a democratic vote (民主测评), as in the columns ``votes_<level>``.
VOTE_LEVELS = ("good", "fairly_good", "average", "poor")


# ---------------------------------------------------------------- subjects and who they answer for


def responsibility_subjects(units: pl.LazyFrame, roster: pl.LazyFrame, departments: pl.LazyFrame) -> pl.LazyFrame:
    """R3 subjects (year, unit_code, subject_kind, subject_id, subject_name) for each unit with a
    roster in Y: party_group and discipline_group (subject_id = the unit), the party secretary, every
    other active leadership member except the discipline_head (leader), and every active person who
    heads a department of the unit in Y (dept_head; a leader who heads one is assessed as both)."""
    unit_years = (
        roster.select("year", "unit_code")
        .unique()
        .join(units.select("unit_code", pl.col("unit_name").alias("subject_name")), on="unit_code", how="left")
    )
    bodies = pl.concat(
        [
            unit_years.select(
                "year", "unit_code", pl.lit(k).alias("subject_kind"), pl.col("unit_code").alias("subject_id"),
                "subject_name",
            )
            for k in BODIES
        ]
    )
    names = roster.select("year", "person_id", pl.col("name").alias("subject_name"))
    sec = party_secretaries(roster).rename({"secretary_id": "subject_id"})
    secretary = sec.with_columns(pl.lit("secretary").alias("subject_kind"))
    leaders = (
        active(roster)
        .filter(is_leadership() & (pl.col("position").cast(pl.String) != "discipline_head"))
        .select("year", "unit_code", pl.col("person_id").alias("subject_id"))
        .join(sec, on=["year", "unit_code", "subject_id"], how="anti")
        .with_columns(pl.lit("leader").alias("subject_kind"))
    )
    heads = (
        dept_heads(departments)
        .join(active(roster).select("year", pl.col("person_id").alias("head_id")), on=["year", "head_id"], how="semi")
        .select("year", "unit_code", pl.col("head_id").alias("subject_id"))
        .unique()
        .with_columns(pl.lit("dept_head").alias("subject_kind"))
    )
    persons = pl.concat([secretary, leaders, heads], how="diagonal").join(
        names, left_on=["year", "subject_id"], right_on=["year", "person_id"], how="left"
    )
    return pl.concat([bodies, persons.select(bodies.collect_schema().names())]).select(*SUBJECT, "subject_name")


def scope_violations(
    subjects: pl.LazyFrame, roster: pl.LazyFrame, departments: pl.LazyFrame, violations: pl.LazyFrame
) -> pl.LazyFrame:
    """一岗双责 scope (R3): for each subject, the violations decided in Y by the people it answers for
    — party_group, secretary, discipline_group: every person of the unit; leader: everyone in the
    departments it supervises; dept_head: the members of its departments — never its own. The
    violator's unit and department are those of the roster of the decision year (any status); a
    violator missing from it is in nobody's scope. A leader supervises the departments that name them
    supervisor_id, whatever their unit (the supervisor as given). Columns: year, unit_code, subject_kind,
    subject_id, violation_id, person_id, severity (code)."""
    # Collected first: the violations are few, and the three joins below over a lazy ``v`` let the
    # optimizer build a plan that grows with the roster (1/6 of national: 1.4 GB and 2 s, against
    # 0.1 s; a piece of it alone ran out of 24 GiB — docs/performance.md)
    (v,) = materialize(
        violations.with_columns(
            year_of(pl.col("decided_date")).alias("year"), pl.col("severity").cast(pl.String).alias("severity")
        )
        .join(roster.select("year", "person_id", "unit_code", "dept_code"), on=["year", "person_id"], how="inner")
        .select("year", "violation_id", "person_id", "unit_code", "dept_code", "severity"),
        engine=IN_MEMORY,
    )
    s = subjects.select(SUBJECT)
    unit_wide = s.filter(pl.col("subject_kind").is_in(["party_group", "secretary", "discipline_group"])).join(
        v, on=["year", "unit_code"], how="inner"
    )
    # the departments a leader supervises: those naming them supervisor_id, of any unit (as given)
    supervised = (
        departments.filter(pl.col("supervisor_id").is_not_null())
        .select("year", pl.col("unit_code").alias("dept_unit"), "dept_code", pl.col("supervisor_id").alias("subject_id"))
        .join(s.filter(pl.col("subject_kind") == "leader"), on=["year", "subject_id"], how="inner")
        .join(v.rename({"unit_code": "dept_unit"}), on=["year", "dept_unit", "dept_code"], how="inner")
    )
    headed = (
        dept_heads(departments)
        .rename({"head_id": "subject_id"})
        .join(s.filter(pl.col("subject_kind") == "dept_head"), on=["year", "unit_code", "subject_id"], how="inner")
        .join(v, on=["year", "unit_code", "dept_code"], how="inner")
        .drop("dept_code")
    )
    cols = [*SUBJECT, "violation_id", "person_id", "severity"]
    return (
        pl.concat([unit_wide.select(cols), supervised.select(cols), headed.select(cols)])
        .filter(pl.col("person_id") != pl.col("subject_id"))
        .unique()
    )


# ---------------------------------------------------------------- duty items


def duty_item_table(rules: Rules, years: list[int]) -> pl.LazyFrame:
    """The declarative duty items of the rules file, one row per (year, subject_kind, item)."""
    rows = []
    for y in years:
        for kind, items in rules.settings(y).responsibility.duty_items.items():
            for it in items:
                rows.append(
                    {
                        "year": y,
                        "subject_kind": kind,
                        "item": it.item,
                        "item_kind": it.kind,
                        "activity_type": it.activity_type,
                        "required": float(it.required) if it.required is not None else None,
                        "period": it.period,
                        "target": it.target,
                        "weight": float(it.weight),
                    }
                )
    schema = {
        "year": pl.Int64,
        "subject_kind": pl.String,
        "item": pl.String,
        "item_kind": pl.String,
        "activity_type": pl.String,
        "required": pl.Float64,
        "period": pl.String,
        "target": pl.String,
        "weight": pl.Float64,
    }
    return pl.LazyFrame(rows, schema=schema)


def duty_targets(roster: pl.LazyFrame, departments: pl.LazyFrame) -> dict[str, tuple[list[str], str, pl.LazyFrame]]:
    """Target sets of the duty items, by target name: (keys, target class, frame) where the frame has
    the key columns and ``_target`` (a person id, or a dept code for class ``dept``). Keys
    (year, unit_code) are unit-wide; (year, unit_code, subject_id) are the subject's own; the
    departments a leader supervises are those naming them supervisor_id, whatever their unit (keys
    (year, subject_id); a department target carries its ``target_unit``)."""
    act = active(roster)
    leaders = act.filter(is_leadership()).select("year", "unit_code", pl.col("person_id").alias("_target"))
    heads = dept_heads(departments)
    head_targets = heads.select("year", "unit_code", pl.col("head_id").alias("_target"))
    supervised = departments.filter(pl.col("supervisor_id").is_not_null()).select(
        "year", pl.col("unit_code").alias("target_unit"), "dept_code", "head_id", pl.col("supervisor_id").alias("subject_id")
    )
    members = heads.join(
        act.select("year", "unit_code", "dept_code", pl.col("person_id").alias("_target")),
        on=["year", "unit_code", "dept_code"],
        how="inner",
    ).select("year", "unit_code", pl.col("head_id").alias("subject_id"), "_target")
    unit_key, own_key, supervisor_key = ["year", "unit_code"], ["year", "unit_code", "subject_id"], ["year", "subject_id"]
    return {
        "other_leaders": (unit_key, "person", leaders),
        "other_leaders_and_dept_heads": (unit_key, "person", pl.concat([leaders, head_targets]).unique()),
        "leaders_but_discipline_head": (
            unit_key,
            "person",
            act.filter(is_leadership() & (pl.col("position").cast(pl.String) != "discipline_head")).select(
                "year", "unit_code", pl.col("person_id").alias("_target")
            ),
        ),
        "supervised_depts": (
            supervisor_key,
            "dept",
            supervised.select(*supervisor_key, "target_unit", pl.col("dept_code").alias("_target")),
        ),
        "supervised_dept_heads": (
            supervisor_key,
            "person",
            supervised.filter(pl.col("head_id").is_not_null()).select(*supervisor_key, pl.col("head_id").alias("_target")),
        ),
        "dept_members": (own_key, "person", members),
    }


def activities_by_subject(duty_activities: pl.LazyFrame) -> pl.LazyFrame:
    """Duty activities with the subject they count for — (year, unit_code, subject_kind, subject_id):
    the unit for bodies, whatever actor_id says; the actor for people — and the half and quarter of
    the calendar year they fall in."""
    month = pl.col("activity_date").dt.month().cast(pl.Int64)
    kind = pl.col("actor_kind").cast(pl.String)
    return duty_activities.select(
        year_of(pl.col("activity_date")).alias("year"),
        "unit_code",
        kind.alias("subject_kind"),
        pl.when(kind.is_in(list(BODIES))).then(pl.col("unit_code")).otherwise(pl.col("actor_id")).alias("subject_id"),
        pl.col("activity_type").cast(pl.String).alias("activity_type"),
        "activity_id",
        "target_id",
        "target_dept_code",
        ((month - 1) // 6 + 1).alias("half"),
        ((month - 1) // 3 + 1).alias("quarter"),
    )


def _period_of_activity(period: pl.Expr = pl.col("period")) -> pl.Expr:
    """The index of the activity's half or quarter, for an item counted per ``period``."""
    return pl.when(period == "half").then(pl.col("half")).otherwise(pl.col("quarter"))


def _periods_in_year(period: pl.Expr = pl.col("period")) -> pl.Expr:
    """The number of calendar periods of an item's ``period`` in a year (2 halves, 4 quarters)."""
    return pl.when(period == "half").then(pl.lit(PERIODS["half"])).otherwise(pl.lit(PERIODS["quarter"]))


def _share(done: pl.Expr, required: pl.Expr) -> pl.Expr:
    """An item's completion: min(done / required, 1)."""
    return pl.min_horizontal(done / required, pl.lit(1.0))


#: Columns of every duty-item frame: the subject, the item, its weight, its completion (0–1), the
#: record ids counted and what lowered it (``missed``: targets not fully met, obligations not
#: fulfilled, special cases not verified; empty for the items counted over the year).
ITEM_COLUMNS = [*SUBJECT, "item", "weight", "completion", "record_ids", "missed"]


def count_items(items: pl.LazyFrame, activities: pl.LazyFrame) -> pl.LazyFrame:
    """Items ``count``: the subject's activities of the item's type in Y, min(done / required, 1)."""
    return (
        items.filter(pl.col("item_kind") == "count")
        .join(activities, on=[*SUBJECT, "activity_type"], how="left")
        .group_by(*SUBJECT, "item", "weight", "required")
        .agg(pl.col("activity_id").drop_nulls().alias("record_ids"))
        .with_columns(_share(pl.col("record_ids").list.len(), pl.col("required")).alias("completion"), NO_IDS.alias("missed"))
        .select(ITEM_COLUMNS)
    )


def per_period_items(items: pl.LazyFrame, activities: pl.LazyFrame) -> pl.LazyFrame:
    """Items ``per_period``: the share of the year's halves or quarters with at least one activity."""
    return (
        items.filter(pl.col("item_kind") == "per_period")
        .join(activities, on=[*SUBJECT, "activity_type"], how="left")
        .with_columns(pl.when(pl.col("activity_id").is_not_null()).then(_period_of_activity()).alias("done_period"))
        .group_by(*SUBJECT, "item", "weight")
        .agg(
            (pl.col("done_period").drop_nulls().n_unique() / _periods_in_year().first()).alias("completion"),
            pl.col("activity_id").drop_nulls().alias("record_ids"),
        )
        .with_columns(NO_IDS.alias("missed"))
        .select(ITEM_COLUMNS)
    )


def item_targets(items: pl.LazyFrame, roster: pl.LazyFrame, departments: pl.LazyFrame) -> pl.LazyFrame:
    """Every target of every ``per_target`` and ``per_target_period`` item of every subject: the item
    rows with ``target`` (a person id, or a department code for class ``dept``), ``target_class`` and
    ``activity_unit``, the unit whose activities count for it: the department's for a department
    target (an activity names a department of its own unit), the subject's otherwise. A subject is
    never its own target."""
    targeted = items.filter(pl.col("item_kind").is_in(["per_target", "per_target_period"]))
    return (
        pl.concat(
            [
                targeted.filter(pl.col("target") == name)
                .join(frame, on=keys, how="inner")
                .with_columns(pl.lit(cls).alias("target_class"))
                for name, (keys, cls, frame) in duty_targets(roster, departments).items()
            ],
            how="diagonal",
        )
        .drop("target")
        .rename({"_target": "target"})
        .with_columns(pl.coalesce("target_unit", "unit_code").alias("activity_unit"))
        .drop("target_unit")
        .filter(pl.col("target") != pl.col("subject_id"))
        .unique()
    )


def _activities_by_target(activities: pl.LazyFrame) -> pl.LazyFrame:
    """Activities keyed by what they target: a person (target_id) or a department (target_dept_code)."""
    return pl.concat(
        [
            activities.filter(pl.col("target_id").is_not_null()).with_columns(
                pl.lit("person").alias("target_class"), pl.col("target_id").alias("target")
            ),
            activities.filter(pl.col("target_dept_code").is_not_null()).with_columns(
                pl.lit("dept").alias("target_class"), pl.col("target_dept_code").alias("target")
            ),
        ]
    ).drop("target_id", "target_dept_code")


#: What joins a target (``item_targets``) to the activities done for it (``_activities_by_target``).
_TARGET_JOIN = ["year", "activity_unit", "subject_kind", "subject_id", "activity_type", "target_class", "target"]


def per_target_items(targets: pl.LazyFrame, activities: pl.LazyFrame) -> pl.LazyFrame:
    """Items ``per_target`` (min(done with the target / required, 1)) and ``per_target_period`` (the
    share of periods with an activity for the target): the mean over the item's targets. Subjects
    without targets have no such item.

    Each target is a row of ``targets`` (they are distinct), numbered: what was done for it is
    grouped by that number over the activities matched to it alone (an inner join that carries the
    number, the join columns and the item's period), and put back on the targets by their number —
    not every target's nine columns carried through the join and taken back by ``first`` in a group-by
    of every target (national, a year's 350 k targets: 0.71 -> 0.4 CPU-s; docs/performance.md, "R3's
    per-target items over the matched activities"). The lists of record ids and missed targets hold
    the same ids (the evidence sorts them), the completions the same values (sorted before their
    mean)."""
    numbered = targets.with_row_index("_target_row")
    done = (
        numbered.select("_target_row", "period", *_TARGET_JOIN)
        .join(
            _activities_by_target(activities).rename({"unit_code": "activity_unit"}).select(*_TARGET_JOIN, "activity_id", "half", "quarter"),
            on=_TARGET_JOIN,
            how="inner",
        )
        .group_by("_target_row")
        .agg(
            pl.col("activity_id").drop_nulls().alias("record_ids"),
            pl.when(pl.col("activity_id").is_not_null()).then(_period_of_activity()).drop_nulls().n_unique().alias("_periods"),
        )
    )
    record_ids = pl.col("record_ids").fill_null(NO_IDS)
    return (
        numbered.join(done, on="_target_row", how="left")
        .with_columns(
            pl.when(pl.col("item_kind") == "per_target")
            .then(_share(record_ids.list.len(), pl.col("required")))
            .otherwise(pl.col("_periods").fill_null(0) / _periods_in_year())
            .alias("target_completion"),
            record_ids,
        )
        .group_by(*SUBJECT, "item", "weight")
        .agg(
            pl.col("target_completion").sort().mean().alias("completion"),  # sorted first: the same bits on every run
            pl.col("record_ids").list.explode(keep_nulls=False, empty_as_null=False),
            pl.col("target").filter(pl.col("target_completion") < 1).alias("missed"),
        )
        .select(ITEM_COLUMNS)
    )


def obligation_items(items: pl.LazyFrame, talk_obligations: pl.LazyFrame) -> pl.LazyFrame:
    """Items ``obligations``: the share of the R1 obligations towards others the subject is responsible
    for that are fulfilled (``talks.obligations_towards_others``); record ids: the talks held; missed:
    the obligations not fulfilled (``talk_obligations/…`` ids)."""
    fulfilled = pl.col("fulfilled").fill_null(False)
    obligation = record_id("talk_obligations", "year", "person_id", pl.col("obligation").cast(pl.String), "event_id")
    shares = (
        obligations_towards_others(talk_obligations)
        .group_by("year", pl.col("responsible_id").alias("subject_id"))
        .agg(
            fulfilled.mean().alias("completion"),
            pl.col("talk_id").filter(fulfilled).drop_nulls().alias("record_ids"),
            obligation.filter(~fulfilled).alias("missed"),
        )
    )
    return (
        items.filter(pl.col("item_kind") == "obligations")
        .join(shares, on=["year", "subject_id"], how="inner", validate="m:1")
        .select(ITEM_COLUMNS)
    )


def special_case_candidates(cases: pl.LazyFrame, rules: Rules, years: list[int]) -> pl.LazyFrame:
    """The cases that may be special (R6) in one of ``years``: closed in it, with an outcome of the
    rules file's pairs or a public complaint, and the columns ``department_special_cases`` reads.
    Reading it again with fewer years gives those years' candidates: the R3 step reads the cases
    table once for all the years it computes, not once a year (national: some 20 M cases, 0.8 CPU-s
    a year; docs/performance.md, "Scoring for less")."""
    # a cheap filter before the flag; the closing year is tested on the scan's own column and the
    # outcome as the enumeration it is (not cast to text): national, 20 M cases, 1.9 -> 0.6 CPU-s
    outcome = cases.collect_schema()["outcome"]
    wanted = {o for y in years for os in rules.settings(y).cases.special_outcomes.values() for o in os}
    outcomes = pl.Series([o for o in outcome.categories if o in wanted], dtype=outcome)
    return cases.filter(
        year_of(pl.col("closed_date")).is_in(years)
        & (pl.col("public_complaint").fill_null(False) | pl.col("outcome").is_in(outcomes.implode()))
    ).select("case_id", "category", "outcome", "public_complaint", "closed_date", "handler_id", "dept_verified")


def department_special_cases(
    cases: pl.LazyFrame, roster: pl.LazyFrame, departments: pl.LazyFrame, rules: Rules, years: list[int]
) -> pl.LazyFrame:
    """The special cases (R6) closed in Y of each department head's department — the cases whose
    handler is in that department in Y's roster: (year, unit_code, subject_id = the head, case_id,
    dept_verified). ``cases``: the cases table, or ``special_case_candidates`` of it for these years
    or more."""
    closed = special_case_candidates(cases, rules, years).with_columns(year_of(pl.col("closed_date")).alias("year"))
    handlers = roster.select("year", pl.col("person_id").alias("handler_id"), "unit_code", "dept_code")
    heads = dept_heads(departments).rename({"head_id": "subject_id"})
    return (
        with_special_flag(closed, rules)
        .filter(pl.col("special"))
        .join(handlers, on=["year", "handler_id"], how="inner", validate="m:1")
        .join(heads, on=["year", "unit_code", "dept_code"], how="inner")
        .select("year", "unit_code", "subject_id", "case_id", pl.col("dept_verified").fill_null(False))
    )


def special_case_items(items: pl.LazyFrame, special_cases: pl.LazyFrame) -> pl.LazyFrame:
    """Items ``special_cases_verified``: the share of the department's special cases closed in Y that
    have dept_verified (record ids: those; missed: the others). A department without special cases
    has no such item."""
    verified = pl.col("dept_verified")
    shares = special_cases.group_by("year", "unit_code", "subject_id").agg(
        verified.mean().alias("completion"),
        pl.col("case_id").filter(verified).alias("record_ids"),
        pl.col("case_id").filter(~verified).alias("missed"),
    )
    return (
        items.filter(pl.col("item_kind") == "special_cases_verified")
        .join(shares, on=["year", "unit_code", "subject_id"], how="inner", validate="m:1")
        .select(ITEM_COLUMNS)
    )


def duty_completions(
    subjects: pl.LazyFrame,
    roster: pl.LazyFrame,
    departments: pl.LazyFrame,
    duty_activities: pl.LazyFrame,
    talk_obligations: pl.LazyFrame,
    cases: pl.LazyFrame,
    rules: Rules,
) -> pl.LazyFrame:
    """Duty items: the completion (0–1) of every duty item of every subject that has targets, with its
    weight and the record ids counted — (year, unit_code, subject_kind, subject_id, item, weight,
    completion, record_ids)."""
    years = years_of(subjects)
    items = subjects.select(SUBJECT).join(duty_item_table(rules, years), on=["year", "subject_kind"], how="inner")
    # the activities of the years assessed only (the table holds every year; they join on the year)
    activities = activities_by_subject(duty_activities.filter(year_of(pl.col("activity_date")).is_in(years)))
    return pl.concat(
        [
            count_items(items, activities),
            per_period_items(items, activities),
            per_target_items(item_targets(items, roster, departments), activities),
            obligation_items(items, talk_obligations),
            special_case_items(items, department_special_cases(cases, roster, departments, rules, years)),
        ],
        how="vertical",
    )


def duty_scores(completions: pl.LazyFrame) -> pl.LazyFrame:
    """duty_score = 100 × the weighted mean of the item completions; a subject without items has none."""
    return completions.group_by(SUBJECT).agg(
        ((pl.col("completion") * pl.col("weight")).sort().sum() / pl.col("weight").sum() * 100).alias("duty_score")
    )


# ---------------------------------------------------------------- votes, base score


def responsibility_settings(rules: Rules, years: list[int]) -> pl.LazyFrame:
    """The R3 settings in force each year, one row per year: ``base_weight_duty``,
    ``base_weight_vote``, ``vote_points_<level>`` and ``scope_cap``."""
    return rules.year_table(
        years,
        base_weight_duty=lambda s: float(s.responsibility.base_weights.duty),
        base_weight_vote=lambda s: float(s.responsibility.base_weights.vote),
        **{f"vote_points_{k}": (lambda s, k=k: float(getattr(s.responsibility.vote_points, k))) for k in VOTE_LEVELS},
        scope_cap=lambda s: float(s.responsibility.scope_deduction.cap),
    ).lazy()


def vote_scores(democratic_votes: pl.LazyFrame, settings: pl.LazyFrame) -> pl.LazyFrame:
    """民主测评: vote_score = (points·good + … + points·poor) / all votes (``vote_points``), with the
    votes of each level (``votes_<level>``); no row (empty) without votes."""
    total = pl.sum_horizontal([pl.col(f"votes_{k}") for k in VOTE_LEVELS]).cast(pl.Float64)
    points = pl.sum_horizontal([pl.col(f"votes_{k}") * pl.col(f"vote_points_{k}") for k in VOTE_LEVELS])
    return (
        democratic_votes.with_columns(pl.col("subject_kind").cast(pl.String))
        .join(settings, on="year", how="inner", validate="m:1")
        .filter(total > 0)
        .select(*SUBJECT, (points / total).alias("vote_score"), *(f"votes_{k}" for k in VOTE_LEVELS))
    )


def base_score() -> pl.Expr:
    """base = duty weight · duty_score + vote weight · vote_score (``base_weights``); the one present
    when the other is empty; null when both are."""
    return (
        pl.when(pl.col("duty_score").is_not_null() & pl.col("vote_score").is_not_null())
        .then(pl.col("base_weight_duty") * pl.col("duty_score") + pl.col("base_weight_vote") * pl.col("vote_score"))
        .otherwise(pl.coalesce("duty_score", "vote_score"))
    )


# ---------------------------------------------------------------- scope deduction, veto


def scope_deductions(scope: pl.LazyFrame, rules: Rules, years: list[int]) -> pl.LazyFrame:
    """一岗双责: the points of each violation in scope by severity (``scope_deduction.points``), per
    subject and severity: (…subject, severity, points, violation_ids), before the cap."""
    points = rules.year_points(years, "severity", lambda s: s.responsibility.scope_deduction.points)
    return (
        scope.join(points, on=["year", "severity"], how="inner", validate="m:1")
        .filter(pl.col("_points") > 0)
        .group_by(*SUBJECT, "severity")
        .agg(pl.col("_points").sum().alias("points"), pl.col("violation_id").alias("violation_ids"))
    )


def scope_deduction(facts: pl.LazyFrame, settings: pl.LazyFrame) -> pl.LazyFrame:
    """The scope points of each subject (``uncapped``) and the deduction (``points``): at most
    ``scope_deduction.cap`` in all."""
    return (
        facts.group_by(SUBJECT)
        .agg(pl.col("points").sum().alias("uncapped"))
        .join(settings.select("year", "scope_cap"), on="year", how="left", validate="m:1")
        .with_columns(pl.min_horizontal("uncapped", "scope_cap").alias("points"))
    )


def responsibility_veto(
    subjects: pl.LazyFrame, scope: pl.LazyFrame, violations: pl.LazyFrame, rules: Rules, years: list[int]
) -> pl.LazyFrame:
    """Veto (较差 whatever the score): a violation in scope of ``veto.scope_severities`` (庆城办法 第十八条
    （三）), and for person subjects their own violation that vetoes under R2: (…subject, veto_ids)."""
    severities = rules.year_codes(years, "severity", lambda s: s.responsibility.veto.scope_severities)
    in_scope = scope.join(severities, on=["year", "severity"], how="semi").select(*SUBJECT, "violation_id")
    own = (
        subjects.filter(pl.col("subject_kind").is_in(list(PERSON_KINDS)))
        .select(SUBJECT)
        .join(
            vetoing_violations(violations, rules).rename({"person_id": "subject_id"}),
            on=["year", "subject_id"],
            how="inner",
        )
        .select(*SUBJECT, "violation_id")
    )
    return pl.concat([in_scope, own]).unique().group_by(SUBJECT).agg(pl.col("violation_id").sort().alias("veto_ids"))


# ---------------------------------------------------------------- the assessment


def responsibility_assessment(
    units: pl.LazyFrame,
    roster: pl.LazyFrame,
    departments: pl.LazyFrame,
    duty_activities: pl.LazyFrame,
    democratic_votes: pl.LazyFrame,
    talk_obligations: pl.LazyFrame,
    cases: pl.LazyFrame,
    violations: pl.LazyFrame,
    rules: Rules,
) -> tuple[pl.LazyFrame, pl.LazyFrame]:
    """R3 党风廉政考核 (庆城办法 第四条至第十三条；连云港意见 五): one row per subject and year, and the
    evidence rows (R8). Returns (responsibility_assessment, evidence), both lazy, sorted by key."""
    # the roster and the departments are read by the subjects, their scope, the duty items' targets
    # and the special cases: collected once (a year's rows, in the step), not scanned and filtered
    # again by each (1/6 of national, a year of R3: 0.52 -> 0.47 CPU-s; docs/performance.md, "The
    # assessed steps' inputs read once a year")
    roster, departments = materialize(roster, departments, engine=IN_MEMORY)
    (subjects,) = materialize(responsibility_subjects(units, roster, departments), engine=IN_MEMORY)
    years = years_of(subjects)
    settings = responsibility_settings(rules, years)
    scope = scope_violations(subjects, roster, departments, violations)
    # the table and the evidence rows both read these: computed once
    completions, votes, scope_facts, vetoes = materialize(
        duty_completions(subjects, roster, departments, duty_activities, talk_obligations, cases, rules),
        vote_scores(democratic_votes, settings),
        scope_deductions(scope, rules, years),
        responsibility_veto(subjects, scope, violations, rules, years),
        engine=IN_MEMORY,
    )
    scope_capped = scope_deduction(scope_facts, settings)

    assessed = (
        subjects.join(settings, on="year", how="left", validate="m:1")
        .join(duty_scores(completions), on=SUBJECT, how="left", validate="1:1")
        .join(votes.select(*SUBJECT, "vote_score"), on=SUBJECT, how="left", validate="1:1")
        .join(scope_capped.select(*SUBJECT, pl.col("points").alias("scope_points")), on=SUBJECT, how="left", validate="1:1")
        .join(vetoes, on=SUBJECT, how="left", validate="1:1")
        .with_columns(
            base_score().alias("base_score"),
            pl.col("scope_points").fill_null(0.0).alias("deduction_scope"),
        )
        .with_columns(
            pl.when(pl.col("base_score").is_null()).then(pl.lit("incomplete")).otherwise(pl.lit("graded")).alias("status"),
            (pl.col("base_score") - pl.col("deduction_scope")).alias("unclamped_total"),
        )
    )
    table = (
        total_and_grade(assessed, rules, years)
        .with_columns(*rounded(rules, years, "duty_score", "vote_score", "deduction_scope"), pl.lit(rules.version).alias("rules_version"))
        .select([pl.col(c).cast(t) for c, t in TABLE.schema().items()])
        .sort(SUBJECT)
    )
    facts = ResponsibilityFacts(
        subjects=subjects.select(SUBJECT),
        duty_items=completions,
        votes=votes,
        scope=scope_facts,
        scope_capped=scope_capped,
        veto=vetoes,
    )
    return table, responsibility_evidence(facts, rules, years)
