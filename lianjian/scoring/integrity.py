"""R2 廉洁从检评估 — the individual integrity evaluation (连云港意见 二（四）、三（四）).

For every person active in Y: a review score from the self, peer and department reviews (weights
renormalized over what is present; peers trimmed from five up), minus deductions for a missed family
talk, for the quality of the cases closed in Y (capped) and for the violations decided in Y; a veto
for a criminal violation or a vetoing sanction; a grade; a status. Every number comes from the rules
file (``integrity.*``, ``grades``, ``rounding_decimals``); evidence rows (R8) explain each of them.
"""

from __future__ import annotations

import polars as pl

from lianjian.contract import PUBLISHED
from lianjian.rules_config import Rules
from lianjian.scoring.common import (
    POOR,
    active,
    clamp_score,
    grade_expr,
    grade_thresholds,
    materialize,
    round_half_away_by,
    year_of,
    years_of,
)
from lianjian.scoring.evidence import evidence_part, finish_evidence

TABLE = PUBLISHED["integrity_assessment"]
KEY = ["year", "person_id"]


def _settings(rules: Rules, years: list[int]) -> pl.LazyFrame:
    """Per-year R2 settings as columns to join on ``year``."""
    t = rules.year_table(
        years,
        _w_self=lambda s: float(s.integrity.weights.self),
        _w_peer=lambda s: float(s.integrity.weights.peer),
        _w_department=lambda s: float(s.integrity.weights.department),
        _trim_from=lambda s: int(s.integrity.peer_trim_from),
        _family=lambda s: float(s.integrity.deductions.family_talk_missing),
        _flawed=lambda s: float(s.integrity.deductions.cases.flawed),
        _unqualified=lambda s: float(s.integrity.deductions.cases.unqualified),
        _error=lambda s: float(s.integrity.deductions.cases.error),
        _cases_cap=lambda s: float(s.integrity.deductions.cases.cap),
        _decimals=lambda s: int(s.rounding_decimals),
    )
    return t.join(grade_thresholds(rules, years), on="year").lazy()


def _per_year_set(rules: Rules, years: list[int], name: str, get, flag: str) -> pl.LazyFrame:
    """(year, <name>, <flag>=True) for the codes of a per-year list setting."""
    return rules.year_codes(years, name, get).with_columns(pl.lit(True).alias(flag))


def vetoing_violations(violations: pl.LazyFrame, rules: Rules) -> pl.LazyFrame:
    """Violations that veto under R2.3, with ``year`` = the year decided: severity among
    ``integrity.veto.severities`` or sanction among ``integrity.veto.sanctions`` (of that year).
    Columns: year, person_id, violation_id."""
    v = violations.with_columns(
        year_of(pl.col("decided_date")).alias("year"),
        pl.col("severity").cast(pl.String).alias("_severity"),
        pl.col("sanction").cast(pl.String).alias("_sanction"),
    )
    years = years_of(v)
    sev = _per_year_set(rules, years, "_severity", lambda s: s.integrity.veto.severities, "_veto_sev")
    san = _per_year_set(rules, years, "_sanction", lambda s: s.integrity.veto.sanctions, "_veto_san")
    return (
        v.join(sev, on=["year", "_severity"], how="left")
        .join(san, on=["year", "_sanction"], how="left")
        .filter(pl.col("_veto_sev").fill_null(False) | pl.col("_veto_san").fill_null(False))
        .select("year", "person_id", "violation_id")
    )


def _review_scores(reviews: pl.LazyFrame, cfg: pl.LazyFrame) -> pl.LazyFrame:
    """R2.1 per (year, person_id): self_score, peer_score (trimmed from ``peer_trim_from`` reviews up:
    one highest and one lowest dropped, one each even when tied), department_score (mean of the rows)
    and ``_signed`` (every department row signed by both), with the reviewer ids of each."""
    rv = reviews.with_columns(pl.col("reviewer_kind").cast(pl.String).alias("_kind"))
    ids = pl.col("reviewer_id").drop_nulls()
    self_ = (
        rv.filter(pl.col("_kind") == "self")
        .group_by(KEY)
        .agg(pl.col("score").mean().alias("self_score"), ids.alias("_self_ids"))
    )
    peer = (
        rv.filter(pl.col("_kind") == "peer")
        .join(cfg.select("year", "_trim_from"), on="year", how="left")
        .group_by(KEY)
        .agg(
            pl.len().alias("_n"),
            pl.col("score").sum().alias("_sum"),
            pl.col("score").max().alias("_max"),
            pl.col("score").min().alias("_min"),
            pl.col("_trim_from").first(),
            ids.alias("_peer_ids"),
        )
        .with_columns(
            pl.when(pl.col("_n") >= pl.col("_trim_from"))
            .then((pl.col("_sum") - pl.col("_max") - pl.col("_min")) / (pl.col("_n") - 2))
            .otherwise(pl.col("_sum") / pl.col("_n"))
            .alias("peer_score")
        )
        .select(*KEY, "peer_score", "_peer_ids")
    )
    signed = pl.col("dept_head_signed").fill_null(False) & pl.col("supervisor_signed").fill_null(False)
    dept = (
        rv.filter(pl.col("_kind") == "department")
        .group_by(KEY)
        .agg(
            pl.col("score").mean().alias("department_score"),
            signed.all().alias("_signed"),
            ids.alias("_department_ids"),
        )
    )
    return self_.join(peer, on=KEY, how="full", coalesce=True).join(dept, on=KEY, how="full", coalesce=True)


def _weighted_review(components: list[tuple[str, str]]) -> pl.Expr:
    """Weighted mean of the present components (weights renormalized); null when none is present."""
    num = pl.sum_horizontal([pl.col(s).fill_null(0.0) * pl.col(w) for s, w in components])
    den = pl.sum_horizontal([pl.when(pl.col(s).is_not_null()).then(pl.col(w)).otherwise(0.0) for s, w in components])
    return pl.when(den > 0).then(num / den).otherwise(None)


def _case_facts(cases: pl.LazyFrame, cfg: pl.LazyFrame) -> list[tuple[str, pl.LazyFrame]]:
    """R2.2 case deductions, one frame per kind (flawed, unqualified, error): (year, person_id,
    _points, _ids) over the cases P handled that closed in Y."""
    closed = cases.filter(pl.col("closed_date").is_not_null()).with_columns(
        year_of(pl.col("closed_date")).alias("year"),
        pl.col("handler_id").alias("person_id"),
        pl.col("quality_rating").cast(pl.String).alias("_rating"),
    )
    kinds = {
        "flawed": pl.col("_rating") == "flawed",
        "unqualified": pl.col("_rating") == "unqualified",
        "error": pl.col("error_type").is_not_null(),
    }
    out = []
    for kind, cond in kinds.items():
        f = (
            closed.filter(cond)
            .group_by(KEY)
            .agg(pl.len().alias("_n"), pl.col("case_id").alias("_ids"))
            .join(cfg.select("year", pl.col(f"_{kind}").alias("_each")), on="year", how="left")
            .select(*KEY, (pl.col("_n") * pl.col("_each")).alias("_points"), "_ids")
        )
        out.append((kind, f))
    return out


def _violation_facts(violations: pl.LazyFrame, rules: Rules, years: list[int]) -> pl.LazyFrame:
    """R2.2 violation deductions per (year, person_id, sanction): points of the sanction (rules file;
    vetoing sanctions add none) times the violations decided in Y, with their ids."""
    v = violations.with_columns(
        year_of(pl.col("decided_date")).alias("year"),
        pl.col("sanction").cast(pl.String).alias("_sanction"),
    )
    points = rules.year_points(years, "_sanction", lambda s: s.integrity.deductions.violations)
    vetoing = _per_year_set(rules, years, "_sanction", lambda s: s.integrity.veto.sanctions, "_veto_san")
    return (
        v.join(points, on=["year", "_sanction"], how="inner")
        .join(vetoing, on=["year", "_sanction"], how="left")
        .filter(~pl.col("_veto_san").fill_null(False) & (pl.col("_points") > 0))
        .group_by(*KEY, "_sanction")
        .agg(pl.col("_points").sum(), pl.col("violation_id").alias("_ids"))
    )


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
    (people,) = materialize(
        active(roster).select(
            "year", "unit_code", "dept_code", "person_id", "name", pl.col("position").cast(pl.String)
        )
    )
    years = years_of(people)
    cfg = _settings(rules, years)
    subject = people.select("year", "unit_code", "person_id")

    # R2.1 review score
    scores = _review_scores(reviews, cfg)

    # R2.2 deductions
    family = (
        talk_obligations.filter(
            (pl.col("obligation").cast(pl.String) == "family") & ~pl.col("fulfilled").fill_null(False)
        )
        .group_by(KEY)
        .agg(pl.len().alias("_family_missing"))
        .join(cfg.select("year", "_family"), on="year", how="left")
        .select(*KEY, pl.col("_family").alias("_talk_points"))
    )
    case_facts = _case_facts(cases, cfg)
    viol_facts = _violation_facts(violations, rules, years)
    # R2.3 veto
    veto = (
        vetoing_violations(violations, rules)
        .group_by(KEY)
        .agg(pl.col("violation_id").sort().alias("_veto_ids"))
    )
    # the table and the evidence rows both read these: computed once
    scores, family, viol_facts, veto, *case_frames = materialize(
        scores, family, viol_facts, veto, *(f for _, f in case_facts)
    )
    case_facts = [(kind, f) for (kind, _), f in zip(case_facts, case_frames)]
    case_raw = (
        pl.concat([f.select(*KEY, "_points") for _, f in case_facts])
        .group_by(KEY)
        .agg(pl.col("_points").sum().alias("_cases_raw"))
    )
    viol_sum = viol_facts.group_by(KEY).agg(pl.col("_points").sum().alias("_viol_points"))

    t = (
        people.join(cfg, on="year", how="left")
        .join(scores, on=KEY, how="left")
        .join(family, on=KEY, how="left")
        .join(case_raw, on=KEY, how="left")
        .join(viol_sum, on=KEY, how="left")
        .join(veto, on=KEY, how="left")
        .with_columns(
            _weighted_review(
                [("self_score", "_w_self"), ("peer_score", "_w_peer"), ("department_score", "_w_department")]
            ).alias("review_score"),
            pl.col("_talk_points").fill_null(0.0).alias("deduction_talks"),
            pl.min_horizontal(pl.col("_cases_raw").fill_null(0.0), pl.col("_cases_cap")).alias("deduction_cases"),
            pl.col("_viol_points").fill_null(0.0).alias("deduction_violations"),
            pl.col("_veto_ids").list.join(",").alias("veto"),
            # R2.6 status
            pl.when(pl.col("department_score").is_null())
            .then(pl.lit("incomplete"))
            .when(~pl.col("_signed").fill_null(False))
            .then(pl.lit("signoff_pending"))
            .otherwise(pl.lit("graded"))
            .alias("status"),
        )
    )
    r = lambda c: round_half_away_by(pl.col(c), pl.col("_decimals"))  # noqa: E731
    t = t.with_columns(
        # R2.4 total, written rounded; empty while incomplete
        pl.when(pl.col("status") != "incomplete")
        .then(
            round_half_away_by(
                clamp_score(
                    pl.col("review_score")
                    - pl.col("deduction_talks")
                    - pl.col("deduction_cases")
                    - pl.col("deduction_violations")
                ),
                pl.col("_decimals"),
            )
        )
        .otherwise(None)
        .alias("total_score")
    ).with_columns(
        # R2.5 grade of the written score; a veto gives 较差 whatever the score (even incomplete)
        pl.when(pl.col("veto").is_not_null())
        .then(pl.lit(POOR))
        .otherwise(grade_expr(pl.col("total_score")))
        .alias("grade"),
        *[
            r(c)
            for c in (
                "self_score",
                "peer_score",
                "department_score",
                "review_score",
                "deduction_talks",
                "deduction_cases",
                "deduction_violations",
            )
        ],
        pl.lit(rules.version).alias("rules_version"),
    )
    schema = TABLE.schema()
    table = t.select([pl.col(c).cast(dt) for c, dt in schema.items()]).sort(KEY)

    # R8 evidence
    def part(frame: pl.LazyFrame, component: str, rule: pl.Expr | str, value: pl.Expr, ids: pl.Expr):
        rule_e = pl.lit(rule) if isinstance(rule, str) else rule
        f = frame.join(subject, on=KEY, how="inner").with_columns(
            pl.lit("person").alias("subject_kind"), pl.col("person_id").alias("subject_id")
        )
        return evidence_part(f, component=component, rule=rule_e, value=value, record_ids=ids)

    with_dec = scores.join(cfg.select("year", "_decimals"), on="year", how="left")
    parts = []
    for name, kind in (("self", "self"), ("peer", "peer"), ("department", "department")):
        f = with_dec.filter(pl.col(f"{kind}_score").is_not_null())
        parts.append(
            part(f, f"{kind}_score", f"R2.review.{name}", r(f"{kind}_score"), pl.col(f"_{kind}_ids"))
        )
    parts.append(
        part(family, "deduction_talks", "R2.talks.family", pl.col("_talk_points"), pl.lit([], pl.List(pl.String)))
    )
    for kind, f in case_facts:
        parts.append(part(f, "deduction_cases", f"R2.cases.{kind}", pl.col("_points"), pl.col("_ids")))
    cap = (
        case_raw.join(cfg.select("year", "_cases_cap"), on="year", how="left")
        .filter(pl.col("_cases_raw") > pl.col("_cases_cap"))
        .with_columns((pl.col("_cases_cap") - pl.col("_cases_raw")).alias("_adjust"))
    )
    parts.append(part(cap, "deduction_cases", "R2.cases.cap", pl.col("_adjust"), pl.lit([], pl.List(pl.String))))
    parts.append(
        part(
            viol_facts,
            "deduction_violations",
            pl.lit("R2.violations.") + pl.col("_sanction"),
            pl.col("_points"),
            pl.col("_ids"),
        )
    )
    parts.append(part(veto, "veto", "R2.veto", pl.lit(None, pl.Float64), pl.col("_veto_ids")))
    evidence = finish_evidence(parts, "integrity", rules, years)
    return table, evidence
