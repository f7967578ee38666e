"""R1 matches the obligations to the talks over row numbers (docs/performance.md, "The talk
obligations matched over row numbers"): the candidate pairs of an obligation and a talk of its
person and type carry row numbers, dates and flags, not the text the interviewer, reason and event
conditions compare; those are taken for the pairs in the due period; each obligation's earliest
talk comes from the pairs sorted by two integers, the talk ids deciding only a tie on the date. The
rows are R1's: tests/test_r1_talks.py, tests/test_rules_boundaries.py."""

from datetime import date, timedelta
from pathlib import Path

import polars as pl
from hypothesis import given, settings
from hypothesis import strategies as st
from support_scoring import talk_obligations_with_plans

from lianjian.rules_config import load_rules

ROOT = Path(__file__).resolve().parents[1]
RULES = ROOT / "rules" / "default.yaml"


def test_the_candidate_pairs_carry_no_compared_text(demo_run):
    """The join of the obligations with the talks of their person and type carries neither side's
    interviewer, reason nor event: those are compared on the pairs in the due period alone. The
    rows are those of the demo run."""
    _, wh = demo_run
    got, plans = talk_obligations_with_plans(wh, load_rules(RULES))
    joins = [p for p in plans if "JOIN" in p and "talk_date" in p and "_talk_type" in p]
    assert joins
    for plan in joins:
        for text in ("_interviewer", "_reason", "_t_interviewer", "_t_reason", "_t_event", '"event_id"'):
            assert text not in plan, text
    assert got.get_column("fulfilled").any() and not got.get_column("fulfilled").all()


_DAY0 = date(2024, 1, 1)


@settings(max_examples=150, deadline=None)
@given(
    st.lists(
        st.tuples(st.integers(0, 6), st.integers(0, 4), st.integers(0, 7)),
        max_size=40,
    ),
    st.lists(st.one_of(st.none(), st.sampled_from(["T1", "T10", "T2", "T20", "a", "b"])), min_size=8, max_size=8),
)
def test_the_earliest_talk_is_the_first_by_date_then_talk_id(pairs, ids):
    """``_earliest`` gives each obligation's talk as ``sort_by("talk_date", "talk_id").first()``
    over its pairs: ties on the date (several talks of one day), repeated and empty talk ids."""
    from lianjian.scoring.talks import _earliest

    talks = pl.DataFrame({"talk_id": ids}, schema={"talk_id": pl.String})
    matches = pl.DataFrame(
        [(row, t, _DAY0 + timedelta(days=d)) for row, d, t in pairs],
        schema={"_row": pl.UInt32, "_t": pl.UInt32, "talk_date": pl.Date},
        orient="row",
    )
    rows, got = _earliest(matches, talks)
    expected = (
        matches.with_columns(talks.get_column("talk_id").gather(matches.get_column("_t")).alias("talk_id"))
        .group_by("_row")
        .agg(pl.col("talk_id").sort_by("talk_date", "talk_id").first())
        .sort("_row")
    )
    assert rows.to_list() == expected.get_column("_row").to_list()
    assert got.to_list() == expected.get_column("talk_id").to_list()
