"""R8 made good: every published grade can be recomputed by hand from what `lianjian explain` prints.

For EVERY row of integrity_assessment and responsibility_assessment — over the demo run and over a
random landing zone graded with a rules file that overrides settings for one year — the explanation
is parsed as text (tests/support_explain.py, written from docs/rules.md independently of lianjian)
and the total, the grade and the status recomputed from it equal the published ones. And over both,
the evidence rows of each subject add up to its deductions and its duty score.
"""

from __future__ import annotations

import os
from pathlib import Path

import polars as pl
import pytest
import yaml
from support_explain import blocks, recompute_integrity, recompute_responsibility

from lianjian.publish.explain import Published, explain_person, explain_unit
from lianjian.publish.publish import read_published

ROOT = Path(__file__).resolve().parents[1]
SEED = 20261205
#: Settings overridden for 2023 only in the random zone's rules file: the explanation of 2023 must
#: print (and the recomputation use) these, the other years the defaults.
OVERRIDES_2023 = {
    "grades": {"good": 85, "fairly_good": 75, "average": 55},
    "integrity": {"weights": {"self": 0.1, "peer": 0.5, "department": 0.4}, "peer_trim_from": 4,
                  "deductions": {"cases": {"cap": 7}}},
    "responsibility": {"base_weights": {"duty": 0.5, "vote": 0.5}, "vote_points": {"fairly_good": 75, "average": 50},
                       "scope_deduction": {"cap": 12}},
}


@pytest.fixture(scope="module")
def random_zone(tmp_path_factory):
    """A generated landing zone (demo scale, seed SEED, 2022–2024) run through Dagster with the default
    rules file plus OVERRIDES_2023: (outcome, warehouse)."""
    from lianjian.generate import write_landing
    from lianjian.runner import run_pipeline

    tmp = tmp_path_factory.mktemp("random_zone")
    write_landing(tmp / "landing", "demo", years="2022-2024", seed=SEED)
    raw = yaml.safe_load((ROOT / "rules" / "default.yaml").read_text(encoding="utf-8"))
    raw["version"] = "test-overrides"
    raw["years"] = {2023: OVERRIDES_2023}
    rules = tmp / "rules.yaml"
    rules.write_text(yaml.safe_dump(raw, allow_unicode=True, sort_keys=False), encoding="utf-8")
    keys = ("LIANJIAN_LANDING", "LIANJIAN_WAREHOUSE", "LIANJIAN_RULES")
    saved = {k: os.environ.get(k) for k in keys}
    try:
        outcome = run_pipeline(tmp / "landing", tmp / "warehouse", rules, progress=False)
    finally:
        for k, v in saved.items():
            os.environ.pop(k, None) if v is None else os.environ.__setitem__(k, v)
    return outcome, tmp / "warehouse"


@pytest.fixture(params=["demo", "random"])
def warehouse(request) -> Path:
    outcome, wh = request.getfixturevalue("demo_run" if request.param == "demo" else "random_zone")
    assert outcome.success
    return wh


def _close(recomputed, published) -> bool:
    """A recomputed unrounded score against the published one (written with 2 decimals)."""
    if recomputed is None or published is None:
        return recomputed is None and published is None
    return abs(float(recomputed) - published) <= 0.005 + 1e-9


def test_every_integrity_row_recomputed_from_the_printed_explanation(warehouse):
    published = Published(warehouse)
    rows = published.table("integrity_assessment")
    assert rows.height > 50
    for row in rows.iter_rows(named=True):
        lines = explain_person(warehouse, row["person_id"], row["year"], published)
        (block,) = [b for b in blocks(lines) if b.assessment == "integrity"]
        got = recompute_integrity(block)
        where = f"{row['year']} {row['person_id']}"
        assert (got["total_score"], got["grade"], got["status"]) == (row["total_score"], row["grade"], row["status"]), where
        for column in ("review_score", "deduction_talks", "deduction_cases", "deduction_violations"):
            assert _close(got[column], row[column]), (where, column)


def test_every_responsibility_row_recomputed_from_the_printed_explanation(warehouse):
    published = Published(warehouse)
    rows = published.table("responsibility_assessment")
    assert rows.height > 20
    for row in rows.iter_rows(named=True):
        if row["subject_kind"] in ("party_group", "discipline_group"):
            lines = explain_unit(warehouse, row["unit_code"], row["year"], published)
        else:
            lines = explain_person(warehouse, row["subject_id"], row["year"], published)
        (block,) = [b for b in blocks(lines) if b.assessment == "responsibility" and b.kind == row["subject_kind"]
                    and b.subject == row["subject_id"]]
        got = recompute_responsibility(block)
        where = f"{row['year']} {row['subject_kind']} {row['subject_id']}"
        assert (got["total_score"], got["grade"], got["status"]) == (row["total_score"], row["grade"], row["status"]), where
        for column in ("duty_score", "vote_score", "deduction_scope"):
            assert _close(got[column], row[column]), (where, column)


def test_the_explanation_prints_the_settings_in_force_that_year(random_zone):
    """2023 of the random zone is graded with OVERRIDES_2023: its explanations print those settings
    (and every grade above was recomputed with them), the other years the defaults."""
    _, wh = random_zone
    published = Published(wh)
    row = published.rows("integrity_assessment", year=2023).row(0, named=True)
    (block,) = [b for b in blocks(explain_person(wh, row["person_id"], 2023, published)) if b.assessment == "integrity"]
    assert {k: float(v) for k, v in block.settings.items() if k.startswith(("grades.", "integrity.weights."))} == {
        "grades.good": 85.0, "grades.fairly_good": 75.0, "grades.average": 55.0,
        "integrity.weights.self": 0.1, "integrity.weights.peer": 0.5, "integrity.weights.department": 0.4,
    }
    row = published.rows("integrity_assessment", year=2024).row(0, named=True)
    (block,) = [b for b in blocks(explain_person(wh, row["person_id"], 2024, published)) if b.assessment == "integrity"]
    assert float(block.settings["grades.good"]) == 90.0 and float(block.settings["integrity.weights.peer"]) == 0.4
    unit = published.rows("responsibility_assessment", year=2023, subject_kind="party_group").row(0, named=True)["unit_code"]
    (block,) = [b for b in blocks(explain_unit(wh, unit, 2023, published)) if b.kind == "party_group"]
    assert float(block.settings["responsibility.base_weights.duty"]) == 0.5
    assert float(block.settings["responsibility.vote_points.average"]) == 50.0
    # the rules version printed is the rows' own
    assert f"规则版本 {row['rules_version']}）" in explain_person(wh, row["person_id"], 2024, published)[1]
    assert row["rules_version"] == "test-overrides"


@pytest.mark.parametrize("assessment", ["integrity", "responsibility"])
def test_evidence_adds_up_to_the_deductions_and_the_duty_score(warehouse, assessment):
    """Over every subject: the values of its deduction_* rows add up to each published deduction, and
    100 × the weighted mean (weights: the year's settings rows) of its R3.duty.<item> rows is its
    published duty_score."""
    ev = read_published(warehouse, "assessment_evidence").filter(pl.col("assessment") == assessment).collect()
    subject = ["year", "subject_kind", "subject_id"]
    if assessment == "integrity":
        table = read_published(warehouse, "integrity_assessment").collect().rename({"person_id": "subject_id"})
        table = table.with_columns(pl.lit("person").alias("subject_kind"))
        columns = ["deduction_talks", "deduction_cases", "deduction_violations"]
    else:
        table = read_published(warehouse, "responsibility_assessment").collect()
        columns = ["deduction_scope"]
    sums = (
        ev.filter(pl.col("component").is_in(columns))
        .pivot(on="component", index=subject, values="value", aggregate_function="sum")
    )
    joined = table.join(sums, on=subject, how="left", suffix="_ev")
    for c in columns:
        got = joined.get_column(f"{c}_ev" if f"{c}_ev" in joined.columns else c).fill_null(0.0)
        assert ((got.round(6) - joined.get_column(c)).abs() <= 0.005 + 1e-9).all(), c
    if assessment == "responsibility":
        weights = ev.filter(pl.col("subject_id").is_null() & pl.col("component").str.ends_with(".weight")).select(
            "year", "subject_kind", pl.col("rule"), pl.col("value").alias("weight")
        )
        items = ev.filter(pl.col("rule").str.starts_with("R3.duty.") & ~pl.col("rule").str.ends_with(".missed")
                          & pl.col("subject_id").is_not_null())
        duty = (
            items.join(weights, on=["year", "subject_kind", "rule"], how="left", validate="m:1")
            .group_by(subject)
            .agg((100 * (pl.col("value") * pl.col("weight")).sum() / pl.col("weight").sum()).alias("duty_ev"))
        )
        joined = table.join(duty, on=subject, how="left")
        assert joined.filter(pl.col("duty_ev").is_null() != pl.col("duty_score").is_null()).height == 0
        assert ((joined.get_column("duty_ev") - joined.get_column("duty_score")).abs().drop_nulls() <= 0.005 + 1e-9).all()
