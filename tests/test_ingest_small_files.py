"""The small landing files of a source are row-checked together, in one call of the row checks
(lianjian/ingest/reader.py ``_check_together``; docs/performance.md "Demo and province fixed cost"),
and read exactly as when each is checked alone: same staged rows, same rejected rows with the same
reasons, file and row number, same per-file counts, the same cache entries."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import polars as pl
from support_ingest import HEADERS, rows, talk, write_csv, write_landing

from lianjian.contract import SOURCES
from lianjian.ingest import DateBounds, ingest_landing, iter_landing, quarantine, reader
from lianjian.ingest.cache import FileCache

DATES = DateBounds(date(2000, 1, 1), date(2026, 12, 31))


def _zone(root: Path) -> Path:
    """talks as a folder of three files: the base rows; a bad date (row 2) and T8; T7 (with a
    full-width id) and an exact copy of T8 (a duplicate across files); plus an empty file."""
    landing = write_landing(root)
    (landing / "talks.csv").unlink()
    folder = landing / "talks"
    write_csv(folder / "2023.csv", HEADERS["talks"], rows("talks"))
    write_csv(folder / "2024a.csv", HEADERS["talks"], [talk("T9", "2024-13-01"), talk("T8", "2024-06-01")])
    write_csv(folder / "2024b.csv", HEADERS["talks"], [talk("Ｔ7", "2024-07-01", kind="nonsense"), talk("T8", "2024-06-01")])
    (folder / "2025.csv").write_bytes(b"")
    return landing


def _calls(monkeypatch) -> list[tuple[str, list[str]]]:
    """(source, files) of every call of the row checks on rows."""
    calls: list[tuple[str, list[str]]] = []
    real = reader.check_chunk

    def spy(src, raw, *args, **kwargs):
        if raw.height:
            calls.append((src.name, sorted(set(raw.get_column("_file").to_list()))))
        return real(src, raw, *args, **kwargs)

    monkeypatch.setattr(reader, "check_chunk", spy)
    return calls


def _same(a, b) -> None:
    for name in SOURCES:
        assert a.staged[name].equals(b.staged[name]), name
    assert a.rejected.equals(b.rejected)
    assert a.report.equals(b.report)
    assert a.warnings == b.warnings


def test_small_files_of_a_source_are_checked_in_one_call_and_read_as_if_alone(tmp_path, monkeypatch):
    landing = _zone(tmp_path / "landing")
    calls = _calls(monkeypatch)
    together = ingest_landing(landing, DATES)
    talks = ["talks/2023.csv", "talks/2024a.csv", "talks/2024b.csv"]
    assert [f for s, f in calls if s == "talks"] == [talks]
    assert all(len([c for c in calls if c[0] == s]) <= 1 for s in SOURCES)

    calls.clear()
    monkeypatch.setattr(reader, "SMALL_FILE_BYTES", -1)  # every file streamed and checked on its own
    alone = ingest_landing(landing, DATES)
    # streamed files are read on two reader threads (reader.READERS): their checks come in either order
    assert sorted(f for s, f in calls if s == "talks") == [[t] for t in talks]
    _same(together, alone)

    # what the zone says, so that "the same" is not "the same nothing"
    rejected = {(r["file"], r["row_number"]): r["reasons"] for r in together.rejected.to_dicts() if r["source"] == "talks"}
    assert set(rejected) == {("talks/2024a.csv", 2), ("talks/2024b.csv", 2)}
    assert any("talk_date" in x for x in rejected[("talks/2024a.csv", 2)])
    assert any("talk_type" in x for x in rejected[("talks/2024b.csv", 2)])
    counts = {r["file"]: (r["rows_read"], r["rows_accepted"], r["rows_rejected"], r["rows_duplicate"]) for r in together.report.to_dicts()}
    assert counts["talks/2024a.csv"] == (2, 1, 1, 0)
    assert counts["talks/2024b.csv"] == (2, 0, 1, 1)
    assert counts["talks/2025.csv"] == (0, 0, 0, 0)
    assert together.staged["talks"].get_column("talk_id").to_list() == ["T1", "T2", "T8"]


def test_a_batch_is_at_most_one_chunk_of_rows(tmp_path, monkeypatch):
    """With chunks of 4 rows the three talks files (2 rows each) make two checks, and a file longer
    than a chunk is checked in chunks: the same rows either way."""
    landing = _zone(tmp_path / "landing")
    reference = ingest_landing(landing, DATES)
    calls = _calls(monkeypatch)
    monkeypatch.setattr(quarantine, "CHUNK_ROWS", 4)
    _same(ingest_landing(landing, DATES), reference)
    assert [f for s, f in calls if s == "talks"] == [["talks/2023.csv", "talks/2024a.csv"], ["talks/2024b.csv"]]
    calls.clear()
    monkeypatch.setattr(quarantine, "CHUNK_ROWS", 1)
    _same(ingest_landing(landing, DATES), reference)
    assert len([c for c in calls if c[0] == "talks"]) == 6


def test_files_checked_together_are_cached_one_entry_each(tmp_path, monkeypatch):
    """Through the warehouse's file cache: each file its own entry, whole, used on the next read;
    the parts of a file hold its own rows, ``_ord`` from 0."""
    landing = _zone(tmp_path / "landing")
    (tmp_path / "t").mkdir()
    wh = tmp_path / "wh"
    first = {r.name: r for r in iter_landing(landing, tmp_path / "t", [], DATES, FileCache(wh))}
    files = first["talks"].files
    assert [f.entry["file"] for f in files] == ["talks/2023.csv", "talks/2024a.csv", "talks/2024b.csv", "talks/2025.csv"]
    assert not any(f.cached for f in files) and [len(f.parts) for f in files] == [1, 1, 1, 0]
    for f in files[:3]:  # a part stores neither: they are given by its place (reader.GIVEN_BY_PLACE)
        assert not set(pl.read_parquet_schema(f.parts[0])) & {"_file", quarantine.ORD}
        part = reader.scan_parts(SOURCES["talks"], f.parts, f.entry["file"], DATES).collect()
        assert part.get_column("_file").unique().to_list() == [f.entry["file"]]
        assert part.get_column(quarantine.ORD).to_list() == list(range(f.rows))
    calls = _calls(monkeypatch)
    second = {r.name: r for r in iter_landing(landing, tmp_path / "t", [], DATES, FileCache(wh))}
    assert calls == [] and all(f.cached for f in second["talks"].files)
    assert second["talks"].rows().collect().equals(first["talks"].rows().collect())


def test_each_file_checked_together_counts_its_own_rows_past_a_file_without_rows(tmp_path, monkeypatch):
    """The rows of small files checked together are cut back into each file's part with ``_ord``
    counting from 0 within the file, in one query for all of them — also after a file with a header
    and no rows: every file's part and kept rows are those of the file read alone."""
    from lianjian.ingest import iter_landing

    landing = _zone(tmp_path / "landing")
    write_csv(landing / "talks" / "2024a0.csv", HEADERS["talks"], [])
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    together = {r.name: r for r in iter_landing(landing, tmp_path / "a", [], DATES)}["talks"]
    monkeypatch.setattr(reader, "SMALL_FILE_BYTES", -1)
    alone = {r.name: r for r in iter_landing(landing, tmp_path / "b", [], DATES)}["talks"]
    assert [f.entry["file"] for f in together.files][2] == "talks/2024a0.csv" and together.files[2].rows == 0
    for a, b in zip(together.files, alone.files):
        assert a.rows == b.rows and len(a.parts) == len(b.parts)
        for pa, pb in zip(a.parts, b.parts):
            assert pl.read_parquet(pa).equals(pl.read_parquet(pb)), a.entry["file"]
        if a.parts:
            assert a.held[0].equals(b.held[0])
