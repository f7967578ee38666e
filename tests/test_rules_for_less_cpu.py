"""The rules' computations for less CPU, with the same rows (docs/performance.md, "The rules'
computations for less CPU"):

- a year of R2 and R3, and R1's obligations, are collected with Polars' in-memory engine
  (``lianjian.scoring.common.IN_MEMORY``), not the streaming engine Polars 2 uses by default;
- ``finish_evidence`` computes the evidence parts once, not once for the distinct (year, subject
  kind, rule) triples and again for the rows;
- R2's review scores come from one group-by of every review (the former: one per kind, fully
  joined), and the trimmed peers are the first and last reviewer ordered by (score, reviewer_id),
  without filtering each group on its lowest and highest score.

The rows are those of before: the demo and generated zones' published, restricted, assessed and
derived files are byte-identical; here each change is pinned down where it is made.
"""

from pathlib import Path

import polars as pl
import support_scoring as s
from hypothesis import given, settings
from hypothesis import strategies as st

from lianjian.rules_config import load_rules

ROOT = Path(__file__).resolve().parents[1]
RULES = ROOT / "rules" / "default.yaml"


def _staged(wh: Path, name: str) -> pl.LazyFrame:
    return pl.scan_parquet(wh / "staged" / f"{name}.parquet")


def _recording_collects(monkeypatch) -> list[tuple[str, pl.DataFrame]]:
    """Every ``LazyFrame.collect`` and ``pl.collect_all`` from now on, as (engine, result) pairs."""
    seen: list[tuple[str, pl.DataFrame]] = []
    collect, collect_all = pl.LazyFrame.collect, pl.collect_all

    def recording_collect(self, *args, engine="auto", **kwargs):
        out = collect(self, *args, engine=engine, **kwargs)
        seen.append((engine, out))
        return out

    def recording_collect_all(frames, *args, engine="auto", **kwargs):
        out = collect_all(frames, *args, engine=engine, **kwargs)
        seen.extend((engine, f) for f in out)
        return out

    monkeypatch.setattr(pl.LazyFrame, "collect", recording_collect)
    monkeypatch.setattr(pl, "collect_all", recording_collect_all)
    return seen


def test_a_year_of_r2_and_r3_is_collected_with_the_in_memory_engine(demo_run, monkeypatch):
    """Every collect of a year of R2 and R3 but the tiny ones (the years present: a few rows) uses
    the in-memory engine, and the year's table and evidence are those of the default engine."""
    from assets.assessed import score_year
    from lianjian.scoring.integrity import integrity_assessment
    from lianjian.scoring.responsibility import responsibility_assessment

    _, wh = demo_run
    rules = load_rules(RULES)
    from pipelines.io_manager import scan_published_form

    files = sorted((wh / "derived" / "talk_obligations").glob("*.parquet"))
    obligations = scan_published_form("talk_obligations", [(p.stem, p) for p in files])
    year = max(int(p.stem) for p in (wh / "assessed" / "integrity_assessment").glob("*.parquet") if p.stat().st_size > 2000)
    runs = {
        "integrity_assessment": (
            integrity_assessment,
            dict(roster=_staged(wh, "personnel"), reviews=_staged(wh, "reviews"), talk_obligations=obligations),
            dict(cases=_staged(wh, "cases"), violations=_staged(wh, "violations"), rules=rules),
        ),
        "responsibility_assessment": (
            responsibility_assessment,
            dict(roster=_staged(wh, "personnel"), departments=_staged(wh, "departments"),
                 democratic_votes=_staged(wh, "democratic_votes"), talk_obligations=obligations),
            dict(units=_staged(wh, "units"), duty_activities=_staged(wh, "duty_activities"), cases=_staged(wh, "cases"),
                 violations=_staged(wh, "violations"), rules=rules),
        ),
    }
    for table_name, (score, yearly, others) in runs.items():
        with monkeypatch.context() as m:
            seen = _recording_collects(m)
            table, evidence = score_year(score, table_name, year, yearly, others)
        large = [engine for engine, frame in seen if frame.height > 20]
        assert len(large) >= 4 and set(large) == {"in-memory"}, (table_name, large)
        assert table.height > 20 and evidence.height > 100
        # the default engine gives the same rows
        this_year = pl.col("year") == year
        t, e = score(**{n: lf.filter(this_year) for n, lf in yearly.items()}, **others)
        assert table.equals(t.filter(this_year).collect().sort(table.columns[:2] if table_name == "integrity_assessment" else table.columns[:4]))
        from lianjian.scoring.evidence import assessment_evidence

        assert evidence.equals(assessment_evidence(e.filter(this_year)).collect())


def test_r1_collects_its_obligations_with_the_in_memory_engine(demo_run, monkeypatch):
    """The obligations R1 matches to the talks (the frame numbered by ``_row``) are collected with
    the in-memory engine."""
    from lianjian.scoring.talks import talk_obligations

    _, wh = demo_run
    seen = _recording_collects(monkeypatch)
    out = talk_obligations(
        _staged(wh, "personnel"), _staged(wh, "departments"), _staged(wh, "personnel_events"), _staged(wh, "talks"), load_rules(RULES)
    ).collect()
    numbered = [engine for engine, frame in seen if {"_row", "obligation"} <= set(frame.columns)]
    assert numbered == ["in-memory"]
    assert out.height > 100


def test_finish_evidence_computes_the_parts_once():
    """The parts' rows are computed once, though both the distinct triples the basis is looked up by
    and the rows joined to their basis read them."""
    from lianjian.scoring.evidence import PART_COLUMNS, finish_evidence

    rules = load_rules(RULES)
    calls = []

    def counted(s: pl.Series) -> pl.Series:
        calls.append(len(s))
        return s

    part = pl.LazyFrame(
        {
            "year": [2024, 2024, 2024],
            "unit_code": ["U1"] * 3,
            "subject_kind": ["person"] * 3,
            "subject_id": ["P1", "P2", "P3"],
            "component": ["self_score"] * 3,
            "value": [90.0, 80.0, 70.0],
            "record_ids": [["a"], ["b"], ["c"]],
            "rule": ["R2.review.self"] * 3,
        }
    ).with_columns(pl.col("rule").map_batches(counted, return_dtype=pl.String))
    out = finish_evidence([part.select(PART_COLUMNS)], "integrity", rules, [2024]).collect()
    assert out.height == 3 and out.get_column("basis").null_count() == 0
    assert len(calls) == 1


def _review_scores_per_kind(reviews: pl.LazyFrame, settings_: pl.LazyFrame) -> pl.LazyFrame:
    """R2 step 1 as it was computed before: one group-by per kind, fully joined."""
    from lianjian.scoring.integrity import KEY, _trimmed_mean

    kind = pl.col("reviewer_kind").cast(pl.String)
    own = reviews.filter(kind == "self").group_by(KEY).agg(pl.col("score").mean().alias("self_score"))
    peer = (
        reviews.filter(kind == "peer")
        .join(settings_.select("year", "peer_trim_from"), on="year", how="left", validate="m:1")
        .group_by(KEY)
        .agg(
            _trimmed_mean(
                pl.len(), pl.col("score").sum(), pl.col("score").max(), pl.col("score").min(), pl.col("peer_trim_from").first()
            ).alias("peer_score"),
        )
    )
    both_signed = pl.col("dept_head_signed").fill_null(False) & pl.col("supervisor_signed").fill_null(False)
    department = (
        reviews.filter(kind == "department")
        .group_by(KEY)
        .agg(pl.col("score").mean().alias("department_score"), both_signed.all().alias("signed"))
    )
    return own.join(peer, on=KEY, how="full", coalesce=True).join(department, on=KEY, how="full", coalesce=True)


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.sampled_from(["P1", "P2", "P3"]),
            st.sampled_from(["self", "peer", "department"]),
            st.integers(0, 9),
            st.sampled_from([60.0, 70.5, 70.5, 90.25, 100.0, 0.0]),
            st.sampled_from([True, False, None]),
            st.sampled_from([True, False, None]),
        ),
        min_size=1, max_size=40, unique_by=lambda r: (r[0], r[1], r[2]),
    ),
    st.integers(1, 6),
)
def test_review_scores_from_one_group_by_are_those_of_a_group_by_per_kind(rows, trim_from):
    """The self, trimmed peer and department scores and the signatures of one group-by of every review
    equal those of a group-by per kind fully joined (the same people, the same values), and the
    reviews are grouped once."""
    from lianjian.scoring.integrity import KEY, review_scores

    reviews = s.reviews(
        [{"person_id": p, "reviewer_kind": kind, "reviewer_id": f"R{r}", "score": score,
          "dept_head_signed": head, "supervisor_signed": sup} for p, kind, r, score, head, sup in rows]
    )
    settings_ = pl.LazyFrame({"year": [2024], "peer_trim_from": [trim_from]})
    got = review_scores(reviews, settings_)
    expected = _review_scores_per_kind(reviews, settings_).collect().sort(KEY)
    assert got.collect().sort(KEY).equals(expected)
    assert got.explain().count("AGGREGATE") == 1


def test_trimmed_peers_are_the_first_and_last_reviewer_in_order(demo_run):
    """The trimmed peers are taken as the first and the last reviewer ordered by (score,
    reviewer_id), not by filtering each person's reviewers on the lowest and highest score (which
    cost twice as much); on the demo's reviews the flags are those of that filter."""
    from lianjian.scoring.integrity import KEY, integrity_settings, review_rows

    _, wh = demo_run
    reviews = _staged(wh, "reviews")
    years = sorted(reviews.select(pl.col("year").unique()).collect().get_column("year").to_list())
    settings_ = integrity_settings(load_rules(RULES), years)
    # the first and last of each person's ordered peer rows, found once (review_rows computes them
    # when called): the frame returned is the reviews in memory with the rows trimmed flagged, no
    # filter of each group on its lowest and highest score, and no join back to every review
    plan = review_rows(reviews, settings_).explain()
    assert ".filter(" not in plan and "JOIN" not in plan
    score, reviewer = pl.col("score"), pl.col("reviewer_id")
    by_filter = (
        reviews.filter(pl.col("reviewer_kind") == "peer")
        .group_by(KEY)
        .agg(
            pl.len().alias("_peers"),
            reviewer.filter(score == score.min()).min().alias("_lowest"),
            reviewer.filter(score == score.max()).max().alias("_highest"),
        )
        .join(settings_, on="year")
    )
    expected = (
        reviews.join(by_filter, on=KEY, how="left", maintain_order="left")
        .select(
            ((pl.col("reviewer_kind") == "peer") & (pl.col("_peers") >= pl.col("peer_trim_from"))
             & ((reviewer == pl.col("_lowest")) | (reviewer == pl.col("_highest")))).fill_null(False).alias("trimmed"),
        )
        .collect()
    )
    got = review_rows(reviews, settings_).collect()  # one row per review, in the reviews' order
    assert got.get_column("trimmed").sum() > 10
    assert got.get_column("trimmed").to_list() == expected.get_column("trimmed").to_list()
