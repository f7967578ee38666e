"""Property: for any mix of good, bad and duplicated rows, every landing file conserves its rows:
rows read = accepted + rejected + exact duplicates, and the staged/rejected tables hold those counts."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

import polars as pl
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from support_ingest import HEADERS, ingest, write_csv, write_landing

GOOD = ["T{n}", "2024-03-05", "family", "", "P3", "", "", "", "是", ""]
DATES = st.sampled_from(["2024-03-05", "2024/3/5", "20240305", "2024-02-30", "", "bad", "２０２４年３月５日"])
KINDS = st.sampled_from(["family", "家人廉政谈话", "department", "xx", ""])
PEOPLE = st.sampled_from(["P2", "P3", "P9", ""])
FLAGS = st.sampled_from(["是", "否", "Y", "maybe", ""])
IDS = st.integers(min_value=1, max_value=8).map(lambda n: f"T{n}")  # few ids: many duplicate keys


@st.composite
def talk_rows(draw):
    row = [draw(IDS), draw(DATES), draw(KINDS), draw(PEOPLE), draw(PEOPLE), "", "", "", draw(FLAGS), draw(FLAGS)]
    if draw(st.booleans()):
        row = row + ["surplus"]  # a ragged row
    return row


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(drops=st.lists(st.lists(talk_rows(), max_size=12), min_size=1, max_size=3))
def test_rows_conserved(drops):
    root = Path(tempfile.mkdtemp(prefix="lj-prop-"))
    try:
        write_landing(root, skip=("talks",))
        for i, rows in enumerate(drops):
            write_csv(root / "talks" / f"{i:02d}.csv", HEADERS["talks"], rows)
        result = ingest(root)
        report = result.report.filter(pl.col("source") == "talks")
        assert report["rows_read"].to_list() == [len(r) for r in drops]
        for r in report.iter_rows(named=True):
            assert r["rows_read"] == r["rows_accepted"] + r["rows_rejected"] + r["rows_duplicate"]
        assert report["rows_accepted"].sum() == result.staged["talks"].height
        assert report["rows_rejected"].sum() == result.rejected.filter(pl.col("source") == "talks").height
        # accepted talk ids are unique: duplicates never reach the staged table
        assert result.staged["talks"]["talk_id"].is_unique().all()
    finally:
        shutil.rmtree(root)
