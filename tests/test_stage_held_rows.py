"""Staging from the rows kept since reading (docs/ingest.md, "Bounded memory"; docs/performance.md,
"Staging from the rows kept since reading"): each landing file's checked rows are kept in memory
beside their parts while a budget allows (``reader.Budget``), and staging reads them instead of
decoding the parts again; a run gives them back once the source's table is written. The rows are
the parts' rows, so the staged tables, rejected rows and report are those of staging from the parts."""

from __future__ import annotations

from datetime import date

import polars as pl
import pytest
from polars.testing import assert_frame_equal
from support_ingest import HEADERS, rows, talk, write_csv, write_landing

from lianjian.contract import SOURCES
from lianjian.ingest import ingest_landing, iter_landing, quarantine, reader, stage_sources
from lianjian.ingest.cache import FileCache
from lianjian.ingest.quarantine import DateBounds
from lianjian.ingest.reader import Budget

DATES = DateBounds(date(2000, 1, 1), date(2026, 12, 31))


def _zone(root):
    """Messy talks (a rejected row, an exact copy, a conflict, a reference to nobody), in several files."""
    extra = [
        talk(tid="T2", date="2024/4/1", kind="部门领导谈话", interviewer="P2", filed="Y"),
        talk(tid="T1", date="2024-03-06", kind="family", filed="是", signed="是"),
        talk(tid="T7", date="2024-05-01", interviewee="P3", filed=""),
        talk(tid="T8", date="2024-05-01", interviewee="P9"),
    ]
    landing = write_landing(root, {"talks": rows("talks", *extra)})
    later = [talk(tid="S1", date="2025-03-05"), talk(tid="S1", date="2025-03-05"), talk(tid="S2", date="2025/5/1", interviewee="P9")]
    write_csv(landing / "talks" / "2025.csv", HEADERS["talks"], later)
    return landing


@pytest.mark.parametrize("streamed", [False, True])
def test_the_rows_kept_are_the_rows_of_the_parts(tmp_path, monkeypatch, streamed):
    """Kept rows, read as ``rows()`` reads them, are the parts' rows, column for column — for small
    files checked together and for streamed files of several chunks (every cell as read, ``_ord``)."""
    if streamed:
        monkeypatch.setattr(reader, "SMALL_FILE_BYTES", -1)
        monkeypatch.setattr(quarantine, "CHUNK_ROWS", 2)
    budget = Budget()
    for read in iter_landing(_zone(tmp_path / "landing"), tmp_path, [], DATES, budget=budget):
        assert read.held
        kept = read.rows().collect()
        used, held = budget.used, sum(f.held_bytes for f in read.files)
        read.release()
        assert budget.used == used - held
        assert all(f.held is None for f in read.files)
        assert_frame_equal(kept, read.rows().collect())
    assert budget.used == 0


def test_a_file_over_the_budget_is_read_from_its_parts(tmp_path, monkeypatch):
    """A file is kept only while every chunk of it fits; one that does not gives its chunks back."""
    monkeypatch.setattr(reader, "SMALL_FILE_BYTES", -1)
    monkeypatch.setattr(quarantine, "CHUNK_ROWS", 2)
    landing = _zone(tmp_path / "landing")
    everything = Budget()
    (tmp_path / "all").mkdir()
    list(iter_landing(landing, tmp_path / "all", [], DATES, budget=everything))
    budget = Budget(limit=everything.used // 2)
    reads = {r.name: r for r in iter_landing(landing, tmp_path, [], DATES, budget=budget)}
    files = [f for r in reads.values() for f in r.files if f.parts]
    kept = [f for f in files if f.held is not None]
    assert kept and len(kept) < len(files)
    assert budget.used == sum(f.held_bytes for f in kept) <= budget.limit
    whole = ingest_landing(landing, DATES)
    staged = {name: res.staged.collect() for name, res in stage_sources(reads)}
    for name in SOURCES:
        assert staged[name].equals(whole.staged[name]), name


class _Written:
    """What a run's ``Reuse`` gives staging: no record (every source staged), and where each table is
    written; ``stage`` writes each table as the IO manager does before asking for the next source."""

    def __init__(self, folder):
        self.folder = folder

    def key(self, name, reads):
        return None

    def staged_path(self, name):
        return self.folder / f"{name}.parquet"


def test_a_run_gives_the_rows_back_once_each_table_is_written(tmp_path):
    """Staged with a run's records, each source is staged from its kept rows, which are given back
    once its table is written; the sources after it read its accepted rows from that file. The
    results are those of staging without keeping anything."""
    landing = _zone(tmp_path / "landing")
    budget = Budget()
    reads: dict = {}
    written = _Written(tmp_path)
    staged, rejected, kept = {}, {}, 0
    for name, res in stage_sources(
        iter_landing(landing, tmp_path, [], DATES, budget=budget), reuse=written, on_read=lambda r: reads.__setitem__(r.name, r)
    ):
        assert reads[name].held  # every file with rows kept: no part is read
        kept += sum(f.held is not None for f in reads[name].files)
        res.staged.sink_parquet(written.staged_path(name))
        staged[name] = pl.read_parquet(written.staged_path(name))
        rejected[name] = res.rejected
    assert kept == 6  # units, personnel, departments, both talks files, cases (the others: no rows)
    assert budget.used == 0
    assert all(f.held is None for r in reads.values() for f in r.files)
    (tmp_path / "plain").mkdir()
    plain = {
        name: (res.staged.collect(), res.rejected)
        for name, res in stage_sources(iter_landing(landing, tmp_path / "plain", [], DATES, budget=Budget(limit=0)))
    }
    for name in SOURCES:
        assert staged[name].equals(plain[name][0]), name
        assert rejected[name].equals(plain[name][1]), name
    assert sum(r.height for r in rejected.values()) >= 4


def test_files_read_into_the_cache_keep_their_rows_and_cached_files_do_not(tmp_path):
    landing = _zone(tmp_path / "landing")
    wh = tmp_path / "wh"
    first = {r.name: r for r in iter_landing(landing, tmp_path / "t", [], DATES, FileCache(wh))}
    assert all(f.held is not None and not f.cached for r in first.values() for f in r.files if f.parts)
    assert all(wh in f.parts[0].parents for r in first.values() for f in r.files if f.parts)
    second = {r.name: r for r in iter_landing(landing, tmp_path / "t", [], DATES, FileCache(wh))}
    assert all(f.held is None and f.cached for r in second.values() for f in r.files if f.parts)
    for name in SOURCES:
        assert_frame_equal(first[name].rows().collect(), second[name].rows().collect())


@pytest.mark.parametrize("streamed", [False, True])
def test_a_small_sources_kept_rows_are_put_together_without_a_plan_per_file(tmp_path, monkeypatch, streamed):
    """A source of at most ``IN_MEMORY_ROWS`` rows all kept since reading is staged from its kept
    rows put together at once (``SourceRead.held_frame``: the frame ``rows()`` collects, column for
    column, ``_ord`` and ``_file`` included — also past an empty file and across chunks), not from
    a plan over every file; a source a file of which is not kept is collected from ``rows()`` as before."""
    from lianjian.ingest import _source_rows

    if streamed:
        monkeypatch.setattr(reader, "SMALL_FILE_BYTES", -1)
        monkeypatch.setattr(quarantine, "CHUNK_ROWS", 2)
    landing = _zone(tmp_path / "landing")
    (landing / "talks" / "2024-empty.csv").write_bytes(b"")
    reads = {r.name: r for r in iter_landing(landing, tmp_path, [], DATES)}
    talks = reads["talks"]
    assert len(talks.files) == 3 and [bool(f.parts) for f in talks.files] == [True, False, True]
    for read in reads.values():
        if read.held and any(f.parts for f in read.files):
            expected = read.rows().collect().rechunk()
            assert_frame_equal(read.held_frame(), expected)
            with monkeypatch.context() as m:
                m.setattr(reader.SourceRead, "rows", lambda self: pytest.fail("a plan over every file"))
                assert_frame_equal(_source_rows(read).collect(), expected)
    talks.files[0].held = None  # one file not kept: its parts are read
    assert talks.held_frame() is None
    assert_frame_equal(_source_rows(talks).collect(), talks.rows().collect())
