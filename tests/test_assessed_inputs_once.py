"""The derived and assessed steps for less CPU, with the same rows (docs/performance.md, "The assessed
steps' inputs read once a year"):

- a year of R2 collects its reviews once for the review scores and the review rows, and a year of R3
  its roster and departments once for the subjects, their scope and the duty items;
- R3's evidence matches only the votes against the subjects assessed (every other fact is built
  from them);
- the special-case flag (R6, R3) needs no list of the cases' years: no collect to find them.

The golden and boundary tests of R2, R3 and R6 hold the rows; the demo and generated zones' files are
byte-identical to before.
"""

import datetime as dt
from pathlib import Path

import polars as pl
import support_scoring as s

from lianjian.rules_config import load_rules

ROOT = Path(__file__).resolve().parents[1]
RULES = ROOT / "rules" / "default.yaml"


def _staged(wh: Path, name: str) -> pl.LazyFrame:
    return pl.scan_parquet(wh / "staged" / f"{name}.parquet")


def _largest_year(wh: Path) -> int:
    files = (wh / "assessed" / "integrity_assessment").glob("*.parquet")
    return max(int(p.stem) for p in files if p.stat().st_size > 2000)


def _obligations(wh: Path, year: int) -> pl.LazyFrame:
    from pipelines.io_manager import scan_published_form

    return scan_published_form("talk_obligations", [(str(year), wh / "derived" / "talk_obligations" / f"{year}.parquet")])


def test_a_year_of_r2_reads_its_reviews_once(demo_run, monkeypatch):
    """The review scores and the review rows are given the year's reviews collected, not the scan of
    the staged file filtered on the year (each would read it again)."""
    from lianjian.scoring import integrity

    _, wh = demo_run
    year = _largest_year(wh)
    seen: list[str] = []
    for name in ("review_scores", "review_rows"):
        real = getattr(integrity, name)
        monkeypatch.setattr(integrity, name, lambda reviews, *a, _real=real, **k: seen.append(reviews.explain()) or _real(reviews, *a, **k))
    this_year = pl.col("year") == year
    table, _ = integrity.integrity_assessment(
        _staged(wh, "personnel").filter(this_year), _staged(wh, "reviews").filter(this_year), _obligations(wh, year),
        _staged(wh, "cases"), _staged(wh, "violations"), load_rules(RULES),
    )
    assert len(seen) == 2 and all(p.lstrip().startswith("DF [") and "reviews.parquet" not in p for p in seen), seen
    assert table.collect().height > 10


def test_a_year_of_r3_reads_its_roster_and_departments_once(demo_run, monkeypatch):
    """The subjects, their scope and the duty items are given the year's roster and departments
    collected, not the scans of the staged files."""
    from lianjian.scoring import responsibility

    _, wh = demo_run
    year = _largest_year(wh)
    seen: list[str] = []
    for name in ("responsibility_subjects", "scope_violations", "duty_completions"):
        real = getattr(responsibility, name)

        def spy(*args, _real=real, **kwargs):
            frames = [a for a in args if isinstance(a, pl.LazyFrame)]
            seen.extend(f.explain() for f in frames if {"person_id", "dept_code"} & set(f.collect_schema()))
            return _real(*args, **kwargs)

        monkeypatch.setattr(responsibility, name, spy)
    this_year = pl.col("year") == year
    table, _ = responsibility.responsibility_assessment(
        _staged(wh, "units"), _staged(wh, "personnel").filter(this_year), _staged(wh, "departments").filter(this_year),
        _staged(wh, "duty_activities"), _staged(wh, "democratic_votes").filter(this_year), _obligations(wh, year),
        _staged(wh, "cases"), _staged(wh, "violations"), load_rules(RULES),
    )
    assert seen and not any("personnel.parquet" in p or "departments.parquet" in p for p in seen), seen
    assert table.collect().height > 10


def test_r3_evidence_matches_only_the_votes_against_the_subjects(demo_run, monkeypatch):
    """One semi-join with the subjects in R3's evidence: the votes', which may name a subject not
    assessed; such a vote still leaves no evidence row."""
    from lianjian.scoring import responsibility

    _, wh = demo_run
    year = _largest_year(wh)
    this_year = pl.col("year") == year
    votes = _staged(wh, "democratic_votes").filter(this_year).collect()
    stranger = votes.head(1).with_columns(pl.lit("NOBODY-1").alias("subject_id"), pl.lit("leader").cast(votes.schema["subject_kind"]).alias("subject_kind"))
    semis: list[tuple] = []
    join = pl.LazyFrame.join

    def recording_join(self, other, *args, **kwargs):
        if kwargs.get("how") == "semi":
            semis.append(tuple(kwargs.get("on") or ()))
        return join(self, other, *args, **kwargs)

    monkeypatch.setattr(pl.LazyFrame, "join", recording_join)
    _, evidence = responsibility.responsibility_assessment(
        _staged(wh, "units"), _staged(wh, "personnel").filter(this_year), _staged(wh, "departments").filter(this_year),
        _staged(wh, "duty_activities"), pl.concat([votes, stranger]).lazy(), _obligations(wh, year),
        _staged(wh, "cases"), _staged(wh, "violations"), load_rules(RULES),
    )
    rows = evidence.collect()
    assert semis.count(tuple(responsibility.SUBJECT)) == 1
    assert rows.height > 100 and "NOBODY-1" not in rows["subject_id"].to_list()
    assert rows.filter(pl.col("rule").str.starts_with("R3.vote.")).height > 0


def test_the_special_flag_needs_no_collect_and_follows_each_years_settings(monkeypatch):
    """``with_special_flag`` collects nothing to learn the cases' years; the flag of a year the rules
    file overrides follows that year's settings, any other year the base settings, no year none."""
    from lianjian.scoring.common import special_expr_every_year, with_special_flag

    rules = s.rules_with({"years": {2023: {"cases": {"special_outcomes": {"public_prosecution": ["acquitted"]},
                                                     "public_complaint_is_special": False}}}})
    collects: list[int] = []
    collect = pl.LazyFrame.collect
    monkeypatch.setattr(pl.LazyFrame, "collect", lambda self, *a, **k: collects.append(1) or collect(self, *a, **k))
    frame = s.cases(
        [
            {"case_id": f"K{i}", "handler_id": "P1", "category": "public_prosecution", "outcome": outcome,
             "public_complaint": complaint, "closed_date": dt.date(year, 6, 30)}
            for i, (year, outcome, complaint) in enumerate(
                [(2019, "acquitted", None), (2023, "acquitted", None), (2023, None, True), (2024, None, True), (2031, None, True)]
            )
        ]
    ).with_columns(pl.col("closed_date").dt.year().cast(pl.Int64).alias("year"))
    flagged = with_special_flag(frame, rules)
    assert collects == []
    got = flagged.collect().sort("case_id")

    def special(row: dict) -> bool:  # R6 by hand, from each row's own year's settings
        c = rules.settings(row["year"]).cases
        return row["outcome"] in c.special_outcomes.get(row["category"], []) or bool(row["public_complaint"] and c.public_complaint_is_special)

    assert got.select(special_expr_every_year(rules)).to_series().to_list() == [special(r) for r in got.iter_rows(named=True)]
    assert got["special"].to_list() == [rules.settings(2019).cases.special_outcomes.get("public_prosecution", []).count("acquitted") > 0,
                                        True, False, True, True]
    no_year = got.with_columns(pl.lit(None, pl.Int64).alias("year")).select(special_expr_every_year(rules)).to_series()
    assert no_year.to_list() == [False] * 5


def test_per_target_items_group_each_target_by_its_row_number(demo_run):
    """R3's per-target items group the activities of each target by the target's row number (the
    targets are distinct), not by its nine columns; the items are those of the nine columns."""
    from lianjian.scoring import responsibility as r

    _, wh = demo_run
    year = _largest_year(wh)
    this_year = pl.col("year") == year
    roster, departments = _staged(wh, "personnel").filter(this_year).collect().lazy(), _staged(wh, "departments").filter(this_year).collect().lazy()
    subjects = r.responsibility_subjects(_staged(wh, "units"), roster, departments)
    items = subjects.select(r.SUBJECT).join(r.duty_item_table(load_rules(RULES), [year]), on=["year", "subject_kind"])
    activities = r.activities_by_subject(_staged(wh, "duty_activities").filter(pl.col("activity_date").dt.year() == year))
    targets = r.item_targets(items, roster, departments)
    got = r.per_target_items(targets, activities)
    plan = got.explain()
    assert 'col("_target_row")' in plan
    # what was done for a target is grouped over the matched activities alone (an inner join), and
    # put back on the targets by their number: no target's columns taken back by ``first``
    assert "INNER JOIN" in plan and '.first()' not in plan
    # by the nine columns, as before
    by_columns = (
        targets.join(
            r._activities_by_target(activities).rename({"unit_code": "activity_unit"}),
            on=["year", "activity_unit", "subject_kind", "subject_id", "activity_type", "target_class", "target"],
            how="left",
        )
        .with_columns(pl.when(pl.col("activity_id").is_not_null()).then(r._period_of_activity()).alias("done_period"))
        .group_by(*r.SUBJECT, "item", "weight", "item_kind", "target")
        .agg(
            pl.when(pl.col("item_kind").first() == "per_target")
            .then(r._share(pl.col("activity_id").drop_nulls().len(), pl.col("required").first()))
            .otherwise(pl.col("done_period").drop_nulls().n_unique() / r._periods_in_year().first())
            .alias("target_completion"),
            pl.col("activity_id").drop_nulls().alias("record_ids"),
        )
        .group_by(*r.SUBJECT, "item", "weight")
        .agg(
            pl.col("target_completion").sort().mean().alias("completion"),
            pl.col("record_ids").list.explode(keep_nulls=False, empty_as_null=False),
            pl.col("target").filter(pl.col("target_completion") < 1).alias("missed"),
        )
        .select(r.ITEM_COLUMNS)
    )

    def canonical(lf: pl.LazyFrame) -> pl.DataFrame:
        return lf.with_columns(pl.col("record_ids", "missed").list.sort()).collect().sort(r.SUBJECT + ["item"])

    out = canonical(got)
    assert out.height > 5 and out.equals(canonical(by_columns))
