"""R3 党风廉政考核 — the responsibility assessment (庆城办法 第四条至第十三条；连云港意见 五).

Subjects per unit and year: the 党组 (party_group), the party secretary (secretary), every other
active leadership member but the discipline_head (leader), every active department head (dept_head)
and the 纪检组 (discipline_group). Each gets a duty score from the declarative ``duty_items`` of the
rules file, a vote score from the democratic votes, a scope deduction (一岗双责) for the violations of
the people it answers for, a veto, a total and a grade. Every number comes from the rules file
(``responsibility.*``, ``grades``, ``rounding_decimals``); evidence rows (R8) explain each of them.
"""

from __future__ import annotations

import polars as pl

from lianjian.contract import ENUMS, PUBLISHED
from lianjian.rules_config import Rules
from lianjian.scoring.common import (
    POOR,
    active,
    clamp_score,
    dept_heads,
    grade_expr,
    grade_thresholds,
    is_leadership,
    materialize,
    party_secretaries,
    round_half_away_by,
    with_special_flag,
    year_of,
    years_of,
)
from lianjian.scoring.evidence import evidence_part, finish_evidence
from lianjian.scoring.integrity import vetoing_violations

TABLE = PUBLISHED["responsibility_assessment"]
SUBJECT = ["year", "unit_code", "subject_kind", "subject_id"]
BODIES = ("party_group", "discipline_group")
PERSON_KINDS = tuple(k for k in ENUMS["actor_kind"].codes if k not in BODIES)
#: Calendar periods per year (RULES.md conventions: halves and quarters of the calendar year).
PERIODS = {"half": 2, "quarter": 4}
EMPTY_IDS = pl.lit([], pl.List(pl.String))


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
    violator missing from it is in nobody's scope. Columns: year, unit_code, subject_kind,
    subject_id, violation_id, person_id, severity (code)."""
    v = (
        violations.with_columns(
            year_of(pl.col("decided_date")).alias("year"), pl.col("severity").cast(pl.String).alias("severity")
        )
        .join(roster.select("year", "person_id", "unit_code", "dept_code"), on=["year", "person_id"], how="inner")
        .select("year", "violation_id", "person_id", "unit_code", "dept_code", "severity")
    )
    s = subjects.select(SUBJECT)
    unit_wide = s.filter(pl.col("subject_kind").is_in(["party_group", "secretary", "discipline_group"])).join(
        v, on=["year", "unit_code"], how="inner"
    )
    supervised = (
        departments.filter(pl.col("supervisor_id").is_not_null())
        .select("year", "unit_code", "dept_code", pl.col("supervisor_id").alias("subject_id"))
        .join(s.filter(pl.col("subject_kind") == "leader"), on=["year", "unit_code", "subject_id"], how="inner")
        .join(v, on=["year", "unit_code", "dept_code"], how="inner")
        .drop("dept_code")
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
    (year, unit_code) are unit-wide; (year, unit_code, subject_id) are the subject's own."""
    act = active(roster)
    leaders = act.filter(is_leadership()).select("year", "unit_code", pl.col("person_id").alias("_target"))
    heads = dept_heads(departments)
    head_targets = heads.select("year", "unit_code", pl.col("head_id").alias("_target"))
    supervised = departments.filter(pl.col("supervisor_id").is_not_null()).select(
        "year", "unit_code", "dept_code", "head_id", pl.col("supervisor_id").alias("subject_id")
    )
    members = heads.join(
        act.select("year", "unit_code", "dept_code", pl.col("person_id").alias("_target")),
        on=["year", "unit_code", "dept_code"],
        how="inner",
    ).select("year", "unit_code", pl.col("head_id").alias("subject_id"), "_target")
    unit_key, own_key = ["year", "unit_code"], ["year", "unit_code", "subject_id"]
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
        "supervised_depts": (own_key, "dept", supervised.select(*own_key, pl.col("dept_code").alias("_target"))),
        "supervised_dept_heads": (
            own_key,
            "person",
            supervised.filter(pl.col("head_id").is_not_null()).select(*own_key, pl.col("head_id").alias("_target")),
        ),
        "dept_members": (own_key, "person", members),
    }


def _activities(duty_activities: pl.LazyFrame) -> pl.LazyFrame:
    """Duty activities with year, the key of the subject they count for (the unit for bodies, whatever
    actor_id says), half and quarter of the calendar year."""
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
        ((month - 1) // 6 + 1).alias("_half"),
        ((month - 1) // 3 + 1).alias("_quarter"),
    )


def _period(period: pl.Expr) -> tuple[pl.Expr, pl.Expr]:
    """(the activity's period index, the number of such periods in a year) for an item's period."""
    idx = pl.when(period == "half").then(pl.col("_half")).otherwise(pl.col("_quarter"))
    n = pl.when(period == "half").then(pl.lit(PERIODS["half"])).otherwise(pl.lit(PERIODS["quarter"]))
    return idx, n


def duty_completions(
    subjects: pl.LazyFrame,
    roster: pl.LazyFrame,
    departments: pl.LazyFrame,
    duty_activities: pl.LazyFrame,
    talk_obligations: pl.LazyFrame,
    cases: pl.LazyFrame,
    rules: Rules,
) -> pl.LazyFrame:
    """Completion (0–1) of every duty item of every subject that has targets, with weight and the
    record ids counted: (year, unit_code, subject_kind, subject_id, item, weight, completion, _ids)."""
    years = years_of(subjects)
    items = subjects.select(SUBJECT).join(duty_item_table(rules, years), on=["year", "subject_kind"], how="inner")
    acts = _activities(duty_activities)
    out_cols = [*SUBJECT, "item", "weight", "completion", "_ids"]
    done_on = [*SUBJECT, "activity_type"]
    parts = []

    # count: min(done / required, 1)
    count = (
        items.filter(pl.col("item_kind") == "count")
        .join(acts, on=done_on, how="left")
        .group_by(*SUBJECT, "item", "weight", "required")
        .agg(pl.col("activity_id").drop_nulls().alias("_ids"))
        .with_columns(pl.min_horizontal(pl.col("_ids").list.len() / pl.col("required"), pl.lit(1.0)).alias("completion"))
    )
    parts.append(count.select(out_cols))

    # per_period: share of the year's periods with at least one
    idx, n = _period(pl.col("period"))
    per_period = (
        items.filter(pl.col("item_kind") == "per_period")
        .join(acts, on=done_on, how="left")
        .with_columns(pl.when(pl.col("activity_id").is_not_null()).then(idx).alias("_p"), n.alias("_np"))
        .group_by(*SUBJECT, "item", "weight")
        .agg(
            (pl.col("_p").drop_nulls().n_unique() / pl.col("_np").first()).alias("completion"),
            pl.col("activity_id").drop_nulls().alias("_ids"),
        )
    )
    parts.append(per_period.select(out_cols))

    # per_target and per_target_period: mean over the targets (subjects without targets drop out)
    targeted = items.filter(pl.col("item_kind").is_in(["per_target", "per_target_period"]))
    per_target_rows = []
    for name, (keys, cls, frame) in duty_targets(roster, departments).items():
        t = targeted.filter(pl.col("target") == name).join(frame, on=keys, how="inner")
        per_target_rows.append(t.with_columns(pl.lit(cls).alias("_class")))
    tgt = pl.concat(per_target_rows, how="vertical").filter(pl.col("_target") != pl.col("subject_id")).unique()
    acts_t = pl.concat(
        [
            acts.filter(pl.col("target_id").is_not_null()).with_columns(
                pl.lit("person").alias("_class"), pl.col("target_id").alias("_target")
            ),
            acts.filter(pl.col("target_dept_code").is_not_null()).with_columns(
                pl.lit("dept").alias("_class"), pl.col("target_dept_code").alias("_target")
            ),
        ]
    ).drop("target_id", "target_dept_code")
    per_target = (
        tgt.join(acts_t, on=[*done_on, "_class", "_target"], how="left")
        .with_columns(pl.when(pl.col("activity_id").is_not_null()).then(idx).alias("_p"), n.alias("_np"))
        .group_by(*SUBJECT, "item", "weight", "item_kind", "_target")
        .agg(
            pl.when(pl.col("item_kind").first() == "per_target")
            .then(pl.min_horizontal(pl.col("activity_id").drop_nulls().len() / pl.col("required").first(), pl.lit(1.0)))
            .otherwise(pl.col("_p").drop_nulls().n_unique() / pl.col("_np").first())
            .alias("_c"),
            pl.col("activity_id").drop_nulls().alias("_ids"),
        )
        .group_by(*SUBJECT, "item", "weight")
        .agg(
            pl.col("_c").sort().mean().alias("completion"),  # sorted first: the same bits on every run
            pl.col("_ids").list.explode(keep_nulls=False, empty_as_null=False).alias("_ids"),
        )
    )
    parts.append(per_target.select(out_cols))

    # obligations: share of the R1 obligations towards others the subject is responsible for, fulfilled
    obl = (
        talk_obligations.filter(
            pl.col("responsible_id").is_not_null() & (pl.col("person_id") != pl.col("responsible_id"))
        )
        .group_by("year", pl.col("responsible_id").alias("subject_id"))
        .agg(
            pl.col("fulfilled").fill_null(False).mean().alias("completion"),
            pl.col("talk_id").filter(pl.col("fulfilled").fill_null(False)).drop_nulls().alias("_ids"),
        )
    )
    obligations = items.filter(pl.col("item_kind") == "obligations").join(obl, on=["year", "subject_id"], how="inner")
    parts.append(obligations.select(out_cols))

    # special_cases_verified: share of the department's special cases closed in Y with dept_verified
    # only cases that can be special in a subject year go through the flag (a cheap filter first: a
    # special case has an outcome of the rules file's pairs or a public complaint)
    outcomes = sorted({o for y in years for os in rules.settings(y).cases.special_outcomes.values() for o in os})
    closed = (
        cases.filter(pl.col("closed_date").is_not_null())
        .with_columns(year_of(pl.col("closed_date")).alias("year"))
        .filter(
            pl.col("year").is_in(years)
            & (pl.col("public_complaint").fill_null(False) | pl.col("outcome").cast(pl.String).is_in(outcomes))
        )
    )
    special = (
        with_special_flag(closed, rules)
        .filter(pl.col("special"))
        .join(
            roster.select("year", pl.col("person_id").alias("handler_id"), pl.col("unit_code").alias("_unit"), "dept_code"),
            on=["year", "handler_id"],
            how="inner",
        )
        .join(
            dept_heads(departments).rename({"unit_code": "_unit", "head_id": "subject_id"}),
            on=["year", "_unit", "dept_code"],
            how="inner",
        )
        .group_by("year", pl.col("_unit").alias("unit_code"), "subject_id")
        .agg(pl.col("dept_verified").fill_null(False).mean().alias("completion"), pl.col("case_id").alias("_ids"))
    )
    verified = items.filter(pl.col("item_kind") == "special_cases_verified").join(
        special, on=["year", "unit_code", "subject_id"], how="inner"
    )
    parts.append(verified.select(out_cols))

    return pl.concat(parts, how="vertical")


# ---------------------------------------------------------------- the assessment


def _settings(rules: Rules, years: list[int]) -> pl.LazyFrame:
    t = rules.year_table(
        years,
        _w_duty=lambda s: float(s.responsibility.base_weights.duty),
        _w_vote=lambda s: float(s.responsibility.base_weights.vote),
        _v_good=lambda s: float(s.responsibility.vote_points.good),
        _v_fairly_good=lambda s: float(s.responsibility.vote_points.fairly_good),
        _v_average=lambda s: float(s.responsibility.vote_points.average),
        _v_poor=lambda s: float(s.responsibility.vote_points.poor),
        _scope_cap=lambda s: float(s.responsibility.scope_deduction.cap),
        _decimals=lambda s: int(s.rounding_decimals),
    )
    return t.join(grade_thresholds(rules, years), on="year").lazy()


def _vote_scores(democratic_votes: pl.LazyFrame, cfg: pl.LazyFrame) -> pl.LazyFrame:
    """民主测评: (points·good + … + points·poor) / all votes; no row (empty) without votes."""
    kinds = ("good", "fairly_good", "average", "poor")
    total = pl.sum_horizontal([pl.col(f"votes_{k}") for k in kinds]).cast(pl.Float64)
    points = pl.sum_horizontal([pl.col(f"votes_{k}") * pl.col(f"_v_{k}") for k in kinds])
    return (
        democratic_votes.with_columns(pl.col("subject_kind").cast(pl.String))
        .join(cfg, on="year", how="inner")
        .filter(total > 0)
        .select(*SUBJECT, (points / total).alias("vote_score"), "_decimals")
    )


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
    (subjects,) = materialize(responsibility_subjects(units, roster, departments))
    years = years_of(subjects)
    cfg = _settings(rules, years)

    # duty score: 100 × weighted mean of the item completions; empty without items
    comp = duty_completions(subjects, roster, departments, duty_activities, talk_obligations, cases, rules)
    duty = comp.group_by(SUBJECT).agg(
        ((pl.col("completion") * pl.col("weight")).sort().sum() / pl.col("weight").sum() * 100).alias("duty_score")
    )
    votes = _vote_scores(democratic_votes, cfg)

    # scope deduction (一岗双责), capped; veto for a criminal violation in scope or an own R2 veto
    scope = scope_violations(subjects, roster, departments, violations)
    sev_points = rules.year_points(years, "severity", lambda s: s.responsibility.scope_deduction.points)
    scope_facts = (
        scope.join(sev_points, on=["year", "severity"], how="inner")
        .filter(pl.col("_points") > 0)
        .group_by(*SUBJECT, "severity")
        .agg(pl.col("_points").sum(), pl.col("violation_id").alias("_ids"))
    )
    scope_raw = scope_facts.group_by(SUBJECT).agg(pl.col("_points").sum().alias("_scope_raw"))
    veto_sev = rules.year_codes(years, "severity", lambda s: s.responsibility.veto.scope_severities)
    scope_veto = scope.join(veto_sev, on=["year", "severity"], how="semi").select(*SUBJECT, "violation_id")
    own_veto = (
        subjects.filter(pl.col("subject_kind").is_in(list(PERSON_KINDS)))
        .select(SUBJECT)
        .join(
            vetoing_violations(violations, rules).rename({"person_id": "subject_id"}),
            on=["year", "subject_id"],
            how="inner",
        )
    )
    veto = (
        pl.concat([scope_veto, own_veto.select(scope_veto.collect_schema().names())])
        .unique()
        .group_by(SUBJECT)
        .agg(pl.col("violation_id").sort().alias("_veto_ids"))
    )

    # the table and the evidence rows both read these: computed once
    comp, duty, votes, scope_facts, scope_raw, veto = materialize(comp, duty, votes, scope_facts, scope_raw, veto)

    base = (
        pl.when(pl.col("duty_score").is_not_null() & pl.col("vote_score").is_not_null())
        .then(pl.col("_w_duty") * pl.col("duty_score") + pl.col("_w_vote") * pl.col("vote_score"))
        .otherwise(pl.coalesce("duty_score", "vote_score"))
    )
    t = (
        subjects.join(cfg, on="year", how="left")
        .join(duty, on=SUBJECT, how="left")
        .join(votes.drop("_decimals"), on=SUBJECT, how="left")
        .join(scope_raw, on=SUBJECT, how="left")
        .join(veto, on=SUBJECT, how="left")
        .with_columns(
            base.alias("_base"),
            pl.min_horizontal(pl.col("_scope_raw").fill_null(0.0), pl.col("_scope_cap")).alias("_scope"),
            pl.col("_veto_ids").list.join(",").alias("veto"),
        )
        .with_columns(
            pl.when(pl.col("_base").is_null()).then(pl.lit("incomplete")).otherwise(pl.lit("graded")).alias("status"),
            round_half_away_by(clamp_score(pl.col("_base") - pl.col("_scope")), pl.col("_decimals")).alias(
                "total_score"
            ),
        )
        .with_columns(
            # a veto gives 较差 whatever the score (庆城办法 第十八条), as in R2 even when incomplete
            pl.when(pl.col("veto").is_not_null()).then(pl.lit(POOR)).otherwise(grade_expr(pl.col("total_score"))).alias(
                "grade"
            ),
            *[
                round_half_away_by(pl.col(c), pl.col("_decimals")).alias(o)
                for c, o in (("duty_score", "duty_score"), ("vote_score", "vote_score"), ("_scope", "deduction_scope"))
            ],
            pl.lit(rules.version).alias("rules_version"),
        )
    )
    schema = TABLE.schema()
    table = t.select([pl.col(c).cast(dt) for c, dt in schema.items()]).sort(SUBJECT)

    # R8 evidence
    parts = [
        evidence_part(
            comp, component=pl.col("item"), rule=pl.lit("R3.duty.") + pl.col("item"), value=pl.col("completion"),
            record_ids=pl.col("_ids"),
        ),
        evidence_part(
            votes, component="vote_score", rule=pl.lit("R3.vote"),
            value=round_half_away_by(pl.col("vote_score"), pl.col("_decimals")), record_ids=EMPTY_IDS,
        ),
        evidence_part(
            scope_facts, component="deduction_scope", rule=pl.lit("R3.scope.") + pl.col("severity"),
            value=pl.col("_points"), record_ids=pl.col("_ids"),
        ),
        evidence_part(
            scope_raw.join(cfg.select("year", "_scope_cap"), on="year", how="left").filter(
                pl.col("_scope_raw") > pl.col("_scope_cap")
            ),
            component="deduction_scope", rule=pl.lit("R3.scope.cap"),
            value=pl.col("_scope_cap") - pl.col("_scope_raw"), record_ids=EMPTY_IDS,
        ),
        evidence_part(
            veto, component="veto", rule=pl.lit("R3.veto"), value=pl.lit(None, pl.Float64),
            record_ids=pl.col("_veto_ids"),
        ),
    ]
    # only evidence of assessed subjects (votes may name subjects that are not assessed)
    parts = [p.join(subjects.select(SUBJECT), on=SUBJECT, how="semi") for p in parts]
    evidence = finish_evidence(parts, "responsibility", rules, years)
    return table, evidence
