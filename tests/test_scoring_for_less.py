"""Deriving and scoring for less CPU, with the same rows (docs/performance.md, "Scoring for less"):

- R8 puts each year's R2 and R3 evidence one after the other, as R2 and R3 wrote them in the
  table-key order, instead of sorting the largest assessed table again (``merged_evidence``);
- R2 and R3 read the cases table once for all the years they compute (``deducting_cases``,
  ``special_case_candidates``), not once a year;
- R2's trimmed peer reviews come from one group-by of the peer rows, not a window ordered over every
  review;
- case quality (R6) and the special-case flag compare the enumerations as they are, not cast to text
  for every case.

The rows are those of before: the demo and generated zones' published, restricted, assessed and
derived files are byte-identical (tests/test_year_by_year.py compares the assessed files with every
year computed at once and sorted); here each change is pinned down where it is made.
"""

import shutil
from pathlib import Path

import dagster as dg
import polars as pl
import pytest
import support_scoring as s
from hypothesis import given, settings
from hypothesis import strategies as st

from lianjian.rules_config import load_rules
from pipelines.partitions import YEARS, range_tags
from pipelines.resources import local_resources

ROOT = Path(__file__).resolve().parents[1]
RULES = ROOT / "rules" / "default.yaml"


def _staged(wh: Path, name: str) -> pl.LazyFrame:
    return pl.scan_parquet(wh / "staged" / f"{name}.parquet")


def _years(wh: Path) -> list[int]:
    return sorted(int(p.stem) for p in (wh / "assessed" / "integrity_assessment").glob("*.parquet"))


def test_merged_evidence_is_the_sorted_evidence_without_a_sort(demo_run):
    """Over the demo's R2 and R3 evidence files (each year in key order), the merge gives the rows and
    the order of the sort, every year; its plan has no sort."""
    from lianjian.scoring.evidence import ASSESSMENTS, assessment_evidence, merged_evidence

    _, wh = demo_run
    years = _years(wh)
    parts = {a: pl.scan_parquet(sorted((wh / "assessed" / f"{a}_evidence").glob("*.parquet"))) for a in ("integrity", "responsibility")}
    assert ASSESSMENTS == ("integrity", "responsibility")
    merged = merged_evidence(years, **parts)
    assert "SORT" not in merged.explain()
    sorted_once = assessment_evidence(*parts.values()).collect()
    assert sorted_once.height > 1000
    assert merged.collect().equals(sorted_once)
    for year in years:  # as the IO manager computes it: one year at a time
        assert merged.filter(pl.col("year") == year).collect().equals(sorted_once.filter(pl.col("year") == year))
    with pytest.raises(TypeError, match="unknown assessments"):
        merged_evidence(years, integrity=parts["integrity"], other=parts["responsibility"])


def test_r2_r3_read_the_cases_once_and_r8_does_not_sort(demo_run, tmp_path, monkeypatch):
    """Through Dagster on the demo warehouse: R2 and R3 reduce the cases table once, for all the
    years they compute, and score every year from that frame in memory (no scan of the staged cases
    file in a year's plan); R8 merges the two evidence parts: the sort (``year_evidence_in_order``)
    is called for each year of R2 and of R3 on its own, before it is spilled. Year by year, as a
    province's or the national zone's steps (the demo's are small enough for all years at once)."""
    from assets import assessed
    from lianjian.contract import SOURCES

    monkeypatch.setattr(assessed, "ALL_YEARS_AT_ONCE_UP_TO", -1)

    _, demo = demo_run
    wh = tmp_path / "wh"
    for layer in ("staged", "derived"):
        shutil.copytree(demo / layer, wh / layer)
    years = _years(demo)

    reduced: list[tuple[str, list[int]]] = []
    for name in ("deducting_cases", "special_case_candidates"):
        real = getattr(assessed, name)
        monkeypatch.setattr(
            assessed, name, lambda *a, _real=real, _name=name, **k: reduced.append((_name, list(a[-1]))) or _real(*a, **k)
        )
    plans: list[str] = []
    for name in ("integrity_assessment", "responsibility_assessment"):
        real = getattr(assessed, name)

        def spy(*args, _real=real, **kwargs):
            plans.append(kwargs["cases"].explain())
            return _real(*args, **kwargs)

        monkeypatch.setattr(assessed, name, spy)
    sorted_years: list[int] = []
    real_sort = assessed.year_evidence_in_order
    monkeypatch.setattr(assessed, "year_evidence_in_order", lambda rows: sorted_years.append(rows.height) or real_sort(rows))

    upstream = [dg.AssetSpec(["staged", s]) for s in SOURCES] + [dg.AssetSpec(["derived", "talk_obligations"], partitions_def=YEARS)]
    outputs = ["integrity_assessment", "integrity_evidence", "responsibility_assessment", "responsibility_evidence", "assessment_evidence"]
    result = dg.materialize(
        [*assessed.defs.assets, *upstream],
        selection=dg.AssetSelection.assets(*(["assessed", t] for t in outputs)),
        tags=range_tags(str(years[0]), str(years[-1])),
        resources=local_resources(warehouse=wh, rules=RULES),
    )
    assert result.success
    assert sorted(reduced) == [("deducting_cases", years), ("special_case_candidates", years)]
    assert len(plans) == 2 * len(years)
    assert all("cases.parquet" not in plan and "DF [" in plan for plan in plans), plans[0]
    assert len(sorted_years) == 2 * len(years)  # each year's evidence of R2 and of R3 on its own, never R8's two parts
    for year in years:
        assert pl.read_parquet(wh / "assessed" / "assessment_evidence" / f"{year}.parquet").equals(
            pl.read_parquet(demo / "assessed" / "assessment_evidence" / f"{year}.parquet")
        )


def test_cases_read_once_give_each_years_rows(demo_run):
    """R2's case deductions and R3's department special cases of one year, from the cases reduced for
    every year, equal those from the whole cases table; the reduced frames hold only the cases that
    can count (fewer rows than the table)."""
    from lianjian.scoring.integrity import case_deductions, deducting_cases, integrity_settings
    from lianjian.scoring.responsibility import department_special_cases, special_case_candidates

    _, wh = demo_run
    rules = load_rules(RULES)
    years = _years(wh)
    cases = _staged(wh, "cases")
    r2_cases = deducting_cases(cases, years).collect()
    r3_cases = special_case_candidates(cases, rules, years).collect()
    total = cases.select(pl.len()).collect().item()
    assert 0 < r2_cases.height < total and 0 < r3_cases.height < total
    key = ["year", "person_id", "kind"]
    for year in years:
        settings_ = integrity_settings(rules, [year])
        whole = case_deductions(cases, settings_, [year]).collect().sort(key)
        once = case_deductions(r2_cases.lazy(), settings_, [year]).collect().sort(key)
        assert whole.equals(once), year
        roster, departments = (_staged(wh, t).filter(pl.col("year") == year) for t in ("personnel", "departments"))
        whole = department_special_cases(cases, roster, departments, rules, [year]).collect().sort(pl.all())
        once = department_special_cases(r3_cases.lazy(), roster, departments, rules, [year]).collect().sort(pl.all())
        assert whole.equals(once), year
    assert any(case_deductions(r2_cases.lazy(), integrity_settings(rules, [y]), [y]).collect().height for y in years)


def _trimmed_by_window(reviews: pl.LazyFrame, trim_from: int) -> pl.DataFrame:
    """The trimmed peers as the rule states them: order each person's peer reviews by (score,
    reviewer_id); from ``trim_from`` reviews up the first and the last are left out."""
    key = ["year", "person_id", "reviewer_kind"]
    order = pl.int_range(pl.len()).over(key, order_by=["score", "reviewer_id"])
    n = pl.len().over(key)
    return reviews.select(
        "year", "person_id", pl.col("reviewer_kind").cast(pl.String).alias("kind"), "reviewer_id",
        ((pl.col("reviewer_kind") == "peer") & (n >= trim_from) & ((order == 0) | (order == n - 1))).alias("trimmed"),
    ).collect()


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.tuples(st.sampled_from(["P1", "P2"]), st.sampled_from(["self", "peer", "department"]), st.integers(0, 9),
                  st.sampled_from([60.0, 70.0, 70.0, 90.0])),
        min_size=1, max_size=30, unique_by=lambda r: (r[0], r[1], r[2]),
    ),
    st.integers(1, 6),
)
def test_trimmed_peers_by_group_by_are_those_of_the_ordered_window(rows, trim_from):
    """Tied scores included: the lowest peer review is the smallest reviewer_id among the lowest
    scores, the highest the largest among the highest (docs/rules.md R2 step 1); the group-by gives
    the flags of the window ordered by (score, reviewer_id), row for row."""
    from lianjian.scoring.integrity import review_rows

    reviews = s.reviews(
        [{"person_id": p, "reviewer_kind": kind, "reviewer_id": f"R{r}", "score": score,
          "dept_head_signed": True, "supervisor_signed": True} for p, kind, r, score in rows]
    )
    settings_ = pl.LazyFrame({"year": [2024], "peer_trim_from": [trim_from]})
    got = review_rows(reviews, settings_).collect()
    expected = _trimmed_by_window(reviews, trim_from)
    assert got.height == len(rows)
    assert got.get_column("trimmed").to_list() == expected.get_column("trimmed").to_list()
    # no window over every review any more
    assert ".over(" not in review_rows(reviews, settings_).explain()


def test_case_quality_compares_the_enumerations_without_casting_every_case():
    """R6's ratings and R2's case kinds are compared as the enumerations they are staged as, and
    case quality groups the category as staged (cast to text once per output row): no cast of the
    cases' rating, category or outcome to text in the plans."""
    from lianjian.contract import ENUMS, SOURCES
    from lianjian.scoring.cases import case_quality
    from lianjian.scoring.common import special_expr_every_year
    from lianjian.scoring.integrity import case_deductions, integrity_settings

    rules = load_rules(RULES)
    cases = pl.LazyFrame(schema=dict(SOURCES["cases"].schema()))
    roster = pl.LazyFrame(schema=dict(SOURCES["personnel"].schema()))
    assert isinstance(cases.collect_schema()["quality_rating"], pl.Enum)
    plan = case_quality(cases, roster, rules).explain()
    for column in ("quality_rating", "category", "outcome"):
        assert f'col("{column}").strict_cast(String)' not in plan.split("AGGREGATE")[1], column
    assert 'col("quality_rating").strict_cast(String)' not in case_deductions(cases, integrity_settings(rules, [2024]), [2024]).explain()
    assert set(ENUMS["quality_rating"].codes) >= {"flawed", "unqualified"}
    flag = str(special_expr_every_year(rules))
    assert "outcome" in flag and "strict_cast" not in flag


def test_talk_obligations_join_the_talk_type_as_staged(demo_run):
    """R1 matches obligations and talks on the talks' own talk_type enumeration (the obligations'
    codes are among its codes), not on every talk's type cast to text; the obligations and the talks
    that fulfil them are those of the demo run."""
    _, wh = demo_run
    staged = {t: _staged(wh, t) for t in ("personnel", "departments", "personnel_events", "talks")}
    assert isinstance(staged["talks"].collect_schema()["talk_type"], pl.Enum)
    got, plans = s.talk_obligations_with_plans(wh, load_rules(RULES))
    matching = [p for p in plans if "talk_id" in p and "_talk_type" in p]
    assert matching and not any('col("talk_type").strict_cast(String)' in p for p in matching)
    # the year files are in the published form: the year comes from the file's name
    from pipelines.io_manager import scan_published_form

    files = sorted((wh / "derived" / "talk_obligations").glob("*.parquet"))
    written = scan_published_form("talk_obligations", [(p.stem, p) for p in files]).collect()
    assert got.height > 100 and got.get_column("fulfilled").any()
    assert got.filter(pl.col("year").is_in(written.get_column("year").unique().implode())).equals(written)
