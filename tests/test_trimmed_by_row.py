"""R2's trimmed peer reviews flagged by their row (docs/performance.md, "R2's trimmed peers flagged by
their row"): ``review_rows`` finds each person's lowest and highest peer review as row numbers (the
first and the last of the person's peer rows ordered by (score, reviewer_id)) and flags those rows in
place, instead of joining each person's lowest and highest reviewer id back to every review. The
rows, their order and their flags are those of the rule as stated (docs/rules.md R2 step 1)."""

import polars as pl
import support_scoring as s
from hypothesis import given, settings
from hypothesis import strategies as st

from lianjian.scoring.integrity import review_rows


def _by_the_rule(reviews: pl.LazyFrame, trim_from: dict[int, int]) -> pl.DataFrame:
    """The flags as the rule states them: each person's peer reviews of a year ordered by (score,
    reviewer_id); from the year's ``peer_trim_from`` reviews up, the first and the last are left out."""
    key = ["year", "person_id", "reviewer_kind"]
    order = pl.int_range(pl.len()).over(key, order_by=["score", "reviewer_id"])
    n = pl.len().over(key)
    limit = pl.col("year").replace_strict(trim_from, return_dtype=pl.Int64)
    return reviews.select(
        "year",
        "person_id",
        pl.col("reviewer_kind").cast(pl.String).alias("kind"),
        "score",
        ((pl.col("reviewer_kind") == "peer") & (n >= limit) & ((order == 0) | (order == n - 1))).alias("trimmed"),
    ).collect()


def _settings(trim_from: dict[int, int]) -> pl.LazyFrame:
    return pl.LazyFrame({"year": list(trim_from), "peer_trim_from": list(trim_from.values())})


@settings(max_examples=80, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.sampled_from([2023, 2024]),
            st.sampled_from(["P1", "P2", "P3"]),
            st.sampled_from(["self", "peer", "department"]),
            st.integers(0, 9),
            st.sampled_from([60.0, 70.0, 70.0, 90.0]),
        ),
        max_size=40,
        # the reviews' key (year, person_id, reviewer_kind, reviewer_id): staging keeps one row a key
        unique_by=lambda r: (r[0], r[1], r[2], r[3]),
    ),
    st.integers(1, 6),
    st.integers(1, 6),
)
def test_the_rows_trimmed_are_those_of_the_rule(rows, trim_2023, trim_2024):
    """Tied scores, several people and years with their own thresholds, no peers, no reviews at all:
    the lowest peer review is the smallest reviewer_id among the lowest scores, the highest the
    largest among the highest; one row per review, in the reviews' order."""
    reviews = s.reviews(
        [
            {"year": y, "person_id": p, "reviewer_kind": kind, "reviewer_id": f"R{r}", "score": score}
            for y, p, kind, r, score in rows
        ]
    )
    trim_from = {2023: trim_2023, 2024: trim_2024}
    got = review_rows(reviews, _settings(trim_from)).collect()
    expected = _by_the_rule(reviews, trim_from)
    assert got.height == len(rows)
    assert got.select(expected.columns).equals(expected)
    # the record ids follow the reviews' order
    assert got.get_column("record_id").to_list() == [
        f"reviews/{y}/{p}/{kind}/R{r}" for y, p, kind, r, _ in rows
    ]


def test_the_rows_trimmed_are_flagged_in_place_not_joined_back():
    """The frame returned is the reviews with the flags: no join of the lowest and highest reviewer
    back to every review (nor of the settings to every review), no filter of each person's reviewers."""
    reviews = s.reviews(
        [
            {"person_id": "P1", "reviewer_kind": "peer", "reviewer_id": f"R{i}", "score": float(60 + i)}
            for i in range(5)
        ]
        + [{"person_id": "P1", "reviewer_kind": "self", "score": 80.0}]
    )
    out = review_rows(reviews, _settings({2024: 5}))
    plan = out.explain()
    assert "JOIN" not in plan and ".filter(" not in plan and "AGGREGATE" not in plan
    got = out.collect()
    # R0 (60) the lowest, R4 (64) the highest; the self review is never trimmed
    assert got.get_column("trimmed").to_list() == [True, False, False, False, True, False]
