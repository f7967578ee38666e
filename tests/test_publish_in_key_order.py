"""Publish does not sort a table whose rows already come in the order of their key, no two with the
same key (``lianjian.publish.publish.in_key_order``): the sort by the key and every other column would
leave them as they are, so the rows are made one chunk instead — the same rows, the same bytes
(docs/performance.md, "Publish without sorting again")."""

from __future__ import annotations

import io

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import lianjian.publish.publish as P

# few distinct values, so that ties, nulls and empty text meet in every key column
KEY_ROW = st.fixed_dictionaries(
    {
        "year": st.sampled_from([2024, 2025]),
        "person_id": st.sampled_from([None, "", "P001", "P002", "p001", "张三"]),
        "obligation": st.sampled_from([None, "family", "dept_half_1"]),
        "event_id": st.sampled_from([None, "", "E1", "E10", "E2"]),
        "fulfilled": st.booleans(),
    }
)
KEY = ["year", "person_id", "obligation", "event_id"]


def _bytes(frame: pl.DataFrame) -> bytes:
    out = io.BytesIO()
    frame.write_parquet(out, **P.WRITER)
    return out.getvalue()


@settings(max_examples=200, deadline=None)
@given(st.lists(KEY_ROW, max_size=30), st.booleans())
def test_rows_found_in_key_order_are_the_rows_the_sort_gives(rows, sort_first):
    """Whenever the check finds the rows in key order, publish's sort (key, then every other column,
    nulls last) gives these very rows; rows sorted by the key, nulls last, with no two sharing a key,
    are always found so."""
    frame = pl.DataFrame(rows, schema={"year": pl.Int64, "person_id": pl.String, "obligation": pl.String, "event_id": pl.String, "fulfilled": pl.Boolean})
    if sort_first:
        frame = frame.unique(KEY, keep="first", maintain_order=True).sort(KEY, nulls_last=True)
    order = KEY + ["fulfilled"]
    if P.in_key_order(frame, KEY):
        assert frame.sort(order, nulls_last=True).equals(frame)
    if sort_first:
        assert P.in_key_order(frame, KEY)


def test_equal_keys_a_list_in_the_key_or_rows_out_of_order_are_sorted():
    """Two rows with the same key (the other columns would decide), a key column of a type whose
    comparison is not the sort's (a list), and rows out of order are not taken as in order."""
    same = pl.DataFrame({"k": ["a", "a"], "v": [2, 1]})
    assert not P.in_key_order(same, ["k"])
    listed = pl.DataFrame({"k": [["a"], ["b"]]})
    assert not P.in_key_order(listed, ["k"])
    assert not P.in_key_order(pl.DataFrame({"k": ["b", "a"]}), ["k"])
    assert not P.in_key_order(pl.DataFrame({"k": [None, "a"]}), ["k"])  # nulls last
    assert P.in_key_order(pl.DataFrame({"k": ["a", None]}), ["k"])
    assert P.in_key_order(pl.DataFrame({"k": [1.0, 2.0]}), ["k"]) is False  # floats: -0.0 and 0.0
    assert P.in_key_order(pl.DataFrame({"k": ["x"]}), ["k"]) and P.in_key_order(pl.DataFrame({"k": []}, schema={"k": pl.String}), ["k"])


@pytest.mark.parametrize("shuffled", [False, True])
def test_a_table_in_key_order_is_published_without_a_sort_and_with_the_bytes_of_the_sort(monkeypatch, shuffled):
    """``_prepared`` of the talk obligations in key order does not call ``DataFrame.sort`` and gives the
    bytes of the sorted rows; the same rows shuffled are sorted, to the same bytes."""
    table = "talk_obligations"
    schema = P.OUTPUTS[table].schema()
    n = 50
    rows = pl.DataFrame(
        {
            "year": [2024] * n,
            "unit_code": ["U1"] * n,
            "dept_code": ["D1"] * n,
            "person_id": [f"P{i // 3:03d}" for i in range(n)],
            "obligation": [("family", "dept_half_1", "supervisor")[i % 3] for i in range(n)],
            "event_id": [None if i % 3 else f"E{i}" for i in range(n)],
            "responsible_id": [f"R{i % 4}" for i in range(n)],
            "due_from": [None] * n,
            "due_to": [None] * n,
            "fulfilled": [i % 2 == 0 for i in range(n)],
            "talk_id": [None if i % 2 else "" for i in range(n)],  # "" spelled as null by publish
        }
    ).select([pl.col(c).cast(t) for c, t in schema.items()])
    rows = rows.sort(list(P.OUTPUTS[table].key), nulls_last=True)  # as R1 gives them: by the key
    expected = _bytes(rows.with_columns(pl.col("talk_id").replace("", None)).sort(list(schema), nulls_last=True))
    frame = rows.sample(fraction=1.0, shuffle=True, seed=7) if shuffled else rows
    sorts = []
    original = pl.DataFrame.sort

    def spy(self, *args, **kwargs):
        sorts.append(args)
        return original(self, *args, **kwargs)

    monkeypatch.setattr(pl.DataFrame, "sort", spy)
    prepared, found = P._prepared(table, frame)
    monkeypatch.setattr(pl.DataFrame, "sort", original)
    assert found == 0
    assert bool(sorts) == shuffled
    assert prepared.n_chunks() == 1
    assert _bytes(prepared) == expected
