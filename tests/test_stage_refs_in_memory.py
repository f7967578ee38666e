"""The references of a source's rows held in memory are tested as a column, then filtered on; the
rows read from the parts keep the filter the Parquet reader pushes down; the duplicate keys' hashes
are sorted by numpy (docs/performance.md, "Staging for less: the references' test as a column over
rows in memory, the duplicate keys' hashes sorted by numpy")."""

from __future__ import annotations

from datetime import date

import polars as pl
import pytest
from polars.testing import assert_frame_equal
from support_ingest import HEADERS, rows, talk, write_csv, write_landing

import lianjian.ingest as ingest
from lianjian.contract import SOURCES
from lianjian.ingest import iter_landing, quarantine, stage_sources

DATES = quarantine.DateBounds(date(2000, 1, 1), date(2026, 12, 31))


def _talks_checked(in_memory: bool) -> quarantine.Checked:
    src = SOURCES["talks"]
    frame = pl.DataFrame(
        {
            "talk_id": ["T1", "T2", "T3", "T4"],
            "talk_date": [date(2024, 5, 1), date(2024, 5, 2), date(2024, 5, 3), date(2024, 5, 4)],
            "interviewer_id": ["P1", "P9", None, "P2"],
            "interviewee_id": ["P2", "P1", "P1", "P7"],
            "witness_id": [None, "P8", "P1", None],
            "event_id": [None, "E1", "E2", None],
            quarantine.ORD: [0, 1, 2, 3],
        }
    )
    # two frames, as a source's files are
    lazy = pl.concat([frame.head(2).lazy(), frame.tail(2).lazy()])
    none = pl.Series(quarantine.ORD, [], pl.Int64)
    return quarantine.Checked(src, lazy, none, pl.DataFrame(schema={quarantine.ORD: pl.Int64, "reason": pl.String}), in_memory)


TARGETS = {
    "personnel": pl.LazyFrame({"person_id": ["P1", "P2"], "year": [2024, 2024]}),
    "personnel_events": pl.LazyFrame({"event_id": ["E1"]}),
}


def test_the_references_of_rows_in_memory_are_tested_as_a_column_with_the_same_reasons(monkeypatch):
    """Rows held in memory: each reference's test is a column of the query (``_missing``), filtered
    on; rows over the parts: the test is the filter itself. Both give the same rows and reasons."""
    plans: list[str] = []
    collect, collect_all = pl.LazyFrame.collect, pl.collect_all

    def spy(self, *args, **kwargs):
        plans.append(self.explain(optimized=False))
        return collect(self, *args, **kwargs)

    def spy_all(frames, *args, **kwargs):  # a source's reference tests are run in one call
        frames = list(frames)
        plans.extend(f.explain(optimized=False) for f in frames)
        return collect_all(frames, *args, **kwargs)

    monkeypatch.setattr(pl.LazyFrame, "collect", spy)
    monkeypatch.setattr(pl, "collect_all", spy_all)
    held = quarantine.reference_problems(_talks_checked(True), TARGETS)
    held_plans = [p for p in plans if "is_in" in p]
    plans.clear()
    parts = quarantine.reference_problems(_talks_checked(False), TARGETS)
    parts_plans = [p for p in plans if "is_in" in p]
    assert len(held_plans) == len(parts_plans) == 4  # one query per reference column
    assert all(quarantine.MISSING in p for p in held_plans)
    assert not any(quarantine.MISSING in p for p in parts_plans)
    assert len(held) == len(parts) == 4
    for a, b in zip(held, parts):
        assert_frame_equal(a, b)
    assert [p.get_column("reason").to_list() for p in held] == [
        ['interviewer_id: no such person "P9" in personnel'],
        ['interviewee_id: no such person "P7" in personnel'],
        ['event_id: no such event_id "E2" in personnel_events'],
        ['witness_id: no such person "P8" in personnel'],
    ]
    assert [p.get_column(quarantine.ORD).to_list() for p in held] == [[1], [3], [2], [1]]


def _zone(root):
    extra = [talk(tid="T8", date="2024-05-01", interviewee="P9"), talk(tid="T1", date="2024-03-06")]
    landing = write_landing(root, {"talks": rows("talks", *extra)})
    write_csv(landing / "talks" / "2025.csv", HEADERS["talks"], [talk(tid="S1", date="2025-03-05"), talk(tid="S2", date="2025/5/1", interviewee="P9")])
    return landing


@pytest.mark.parametrize("small", [True, False])
def test_a_source_is_checked_as_in_memory_when_its_rows_are_held(tmp_path, monkeypatch, small):
    """``stage_sources`` tells the checks whether a source's rows are in memory: a source every file
    of which is kept since reading, or a small one; a large one a file of which is read from its
    parts is not — and whether it is small. The staged tables, rejected rows and report are the same
    either way."""
    if not small:
        monkeypatch.setattr(ingest, "IN_MEMORY_ROWS", 0)
    landing = _zone(tmp_path / "landing")
    seen: dict[str, bool] = {}
    sizes: dict[str, bool] = {}
    original = quarantine.check_rows

    def check_rows(src, rows, in_memory=False, small=False):
        seen[src.name] = in_memory
        sizes[src.name] = small
        return original(src, rows, in_memory, small)

    monkeypatch.setattr(ingest, "check_rows", check_rows)
    reads = {r.name: r for r in iter_landing(landing, tmp_path, [], DATES)}
    first = {name: (res.staged.collect(), res.rejected, res.report) for name, res in stage_sources(reads)}
    assert seen["talks"] is True
    assert sizes["talks"] is small  # its references run together (``Checked.small``) when small
    assert first["talks"][1].height > 0  # a reference to nobody, rejected
    if not small:
        reads = {r.name: r for r in iter_landing(landing, tmp_path / "again", [], DATES)} if (tmp_path / "again").mkdir() is None else {}
        reads["talks"].files[0].held = None  # one file read from its parts
        seen.clear()
        again = {name: (res.staged.collect(), res.rejected, res.report) for name, res in stage_sources(reads)}
        assert seen["talks"] is False
        for name in first:
            for a, b in zip(first[name], again[name]):
                assert_frame_equal(a, b)


def test_the_rows_sharing_a_key_hash_are_found_by_sorting_the_hashes():
    """``_key_hash_duplicates``: every row whose key another row shares, and none whose key is its own,
    with single and compound keys and null key parts (nulls alike)."""
    keys = pl.DataFrame(
        {
            "a": ["k1", "k2", "k1", "k3", None, None, "k4", "k2"],
            "b": [1, 1, 1, 2, 5, 5, 6, 2],
            quarantine.ORD: list(range(8)),
        }
    ).lazy()
    single = quarantine._key_hash_duplicates(keys, ["a"])
    assert sorted(single.to_list()) == [0, 1, 2, 4, 5, 7]
    compound = quarantine._key_hash_duplicates(keys, ["a", "b"])
    assert sorted(compound.to_list()) == [0, 2, 4, 5]
    none = quarantine._key_hash_duplicates(keys.filter(pl.col(quarantine.ORD) < 2), ["a"])
    assert none.dtype == pl.Int64 and none.len() == 0


@pytest.mark.parametrize("in_memory", [True, False])
def test_a_small_sources_references_run_in_one_call_with_the_same_reasons(monkeypatch, in_memory):
    """A small source (``Checked.small``): the keys it needs in one ``collect_all``, its four
    references' tests in another, and no query run alone; a large one's one query at a time. The same
    rows and reasons either way."""
    calls: list[int] = []
    alone: list[str] = []
    collect, collect_all = pl.LazyFrame.collect, pl.collect_all

    def spy(self, *args, **kwargs):
        alone.append(self.explain(optimized=False))
        return collect(self, *args, **kwargs)

    def spy_all(frames, *args, **kwargs):
        frames = list(frames)
        calls.append(len(frames))
        return collect_all(frames, *args, **kwargs)

    monkeypatch.setattr(pl.LazyFrame, "collect", spy)
    monkeypatch.setattr(pl, "collect_all", spy_all)
    large = quarantine.reference_problems(_talks_checked(in_memory), TARGETS)
    assert calls == [] and len(alone) == 2 + 4  # personnel's and events' keys, then four tests
    alone.clear()
    checked = _talks_checked(in_memory)
    checked.small = True
    small = quarantine.reference_problems(checked, TARGETS)
    assert calls == [2, 4] and alone == []
    assert len(small) == len(large) == 4
    for a, b in zip(small, large):
        assert_frame_equal(a, b)
