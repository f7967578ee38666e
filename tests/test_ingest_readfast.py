"""Reading for less CPU (docs/performance.md, "Reading and staging for less CPU"): the identity-number
search only in the columns with a cell long enough to hold one, and a source's large files read two
at a time — each giving exactly what reading the files one after the other gives."""

from __future__ import annotations

import hashlib
import json
import threading
from pathlib import Path

import polars as pl
import pytest

from lianjian import privacy
from lianjian.contract import SOURCES
from lianjian.errors import FatalError
from lianjian.ingest import ingest_landing, reader
from support_ingest import HEADERS, ID_OK2, reasons_by_row, rows, talk, write_csv, write_landing

KEY_REASON = "holds an identity number (身份证号), masked — a code or 工号 belongs here"


def _searched(monkeypatch) -> list[str]:
    """The names of the columns ``privacy.contains_id`` is asked about while reading."""
    seen: list[str] = []
    real = privacy.contains_id

    def spy(e: pl.Expr) -> pl.Expr:
        seen.append(e.meta.output_name(raise_if_undetermined=False) or "?")
        return real(e)

    monkeypatch.setattr(privacy, "contains_id", spy)
    return seen


def test_only_columns_with_a_cell_long_enough_are_searched_and_what_is_found_is_masked(tmp_path, monkeypatch):
    """talks.csv: an identity number in a key column (talk_id, row 4) and in a reference column's
    long cell (interviewee_id, row 5); every cell of talk_date, talk_type, interviewer_id, reason,
    event_id, witness_id, form_filed and family_signed is shorter than 15 bytes (``ID_MIN_BYTES``),
    so those columns are not searched at all — only talk_id and interviewee_id are. Rows 4 and 5 are
    rejected with the key-column reason, their cells masked (first 4 digits, then 14 *), and no
    identity number is anywhere in what reading gives."""
    assert privacy.ID_MIN_BYTES == 15
    root = write_landing(
        tmp_path / "landing",
        {"talks": rows("talks", talk(tid="TX" + ID_OK2), talk(tid="T8", interviewee="P" + ID_OK2))},
    )
    seen = _searched(monkeypatch)
    with_ids = ingest_landing(root)
    talk_searches = {n for n in seen if n in HEADERS["talks"]}
    assert talk_searches == {"talk_id", "interviewee_id"}, seen
    got = reasons_by_row(with_ids)
    assert got[("talks.csv", 4)] == [f"talk_id: {KEY_REASON}"]
    assert got[("talks.csv", 5)][0] == f"interviewee_id: {KEY_REASON}"
    raw = {r: json.loads(j) for r, j in with_ids.rejected.filter(pl.col("file") == "talks.csv").select("row_number", "raw").iter_rows()}
    assert raw[4]["talk_id"] == "TX1101" + "*" * 14 and raw[5]["interviewee_id"] == "P1101" + "*" * 14
    everything = "".join(str(f.to_dicts()) for f in [*with_ids.staged.values(), with_ids.rejected, with_ids.report])
    assert ID_OK2 not in everything

    # the same zone without identity numbers: no column of talks.csv holds a 15-byte cell, none searched
    seen.clear()
    plain = ingest_landing(write_landing(tmp_path / "plain"))
    assert not {n for n in seen if n in HEADERS["talks"]}, seen
    assert plain.rejected.height == 0


def test_a_long_cell_in_a_later_batch_is_searched_in_that_batch(tmp_path, monkeypatch):
    """The search is decided batch by batch (``_chunks``' batches, 3 rows here): an identity number in
    a column whose cells are short in every other batch is found and masked in its own batch."""
    monkeypatch.setattr(reader.quarantine, "CHUNK_ROWS", 3)
    monkeypatch.setattr(reader, "SMALL_FILE_BYTES", 0)  # streamed in chunks (read_file), not read whole
    extra = [talk(tid=f"T{i}") for i in range(10, 17)] + [talk(tid="T17", event="E" + ID_OK2)]
    root = write_landing(tmp_path / "landing", {"talks": rows("talks", *extra)})
    result = ingest_landing(root)
    assert reasons_by_row(result)[("talks.csv", 11)] == [
        f"event_id: {KEY_REASON}",
        'event_id: no such event_id "E1101**************" in personnel_events',
    ]
    assert result.report.filter(pl.col("file") == "talks.csv")["rows_read"].item() == 10
    assert ID_OK2 not in str(result.rejected.to_dicts())


def _parts_digest(read) -> list[tuple[dict, list[str], list[str]]]:
    return [
        (f.entry, f.warnings, [hashlib.sha256(pl.read_parquet(p).write_ipc(None).getvalue()).hexdigest() for p in f.parts])
        for f in read.files
    ]


@pytest.mark.parametrize("large", [True, False], ids=["large files, streamed", "small files, read whole"])
def test_the_files_of_a_source_are_read_two_at_a_time_and_give_what_one_at_a_time_gives(tmp_path, monkeypatch, large):
    """The four talks files, counted as large (``SMALL_FILE_BYTES`` 0: each streamed in chunks,
    ``read_file``) or small (read whole, ``_read_rows``, then checked together), are read by
    ``READERS`` (2) threads at once — each read waits at a barrier for another to be under way, which
    reading one file after the other never reaches (the barrier would time out) — and the entries,
    warnings (one per file with an unknown column, in the files' order) and checked parts are those
    of reading with one reader."""
    assert reader.READERS == 2
    landing = tmp_path / "landing"
    write_landing(landing, skip=("talks",))
    for year in range(2021, 2025):
        header = HEADERS["talks"] + [f"备注{year}"]
        body = [talk(tid=f"T{year}-{i}", date=f"{year}-05-0{i}") + [f"x{i}"] for i in range(1, 4)]
        write_csv(landing / "talks" / f"{year}.csv", header, body)
    if large:
        monkeypatch.setattr(reader, "SMALL_FILE_BYTES", 0)
    src = SOURCES["talks"]

    def read_all(tmp: Path, warnings: list[str]):
        tmp.mkdir()
        return reader.read_source(src, landing, tmp, warnings)

    monkeypatch.setattr(reader, "READERS", 1)
    one_warnings: list[str] = []
    one = read_all(tmp_path / "one", one_warnings)

    monkeypatch.setattr(reader, "READERS", 2)
    barrier = threading.Barrier(2, timeout=20)
    name = "read_file" if large else "_read_rows"
    real = getattr(reader, name)
    threads: set[str] = set()

    def meeting(*args, **kwargs):
        threads.add(threading.current_thread().name)
        barrier.wait()
        return real(*args, **kwargs)

    monkeypatch.setattr(reader, name, meeting)
    two_warnings: list[str] = []
    two = read_all(tmp_path / "two", two_warnings)
    assert len(threads) == 2 and all(t.startswith("lianjian-read-file") for t in threads)
    assert [f.entry["file"] for f in two.files] == [f"talks/{y}.csv" for y in range(2021, 2025)]
    assert _parts_digest(two) == _parts_digest(one)
    assert len(two.files[0].parts) == 1
    assert two_warnings == one_warnings and [w for w in two_warnings if "备注2021" in w]


def test_an_unreadable_large_file_read_beside_another_still_ends_the_run_naming_it(tmp_path, monkeypatch):
    """A large file that cannot be read, read on a reader thread: the run ends with the one line that
    names it, as when read alone."""
    landing = tmp_path / "landing"
    write_landing(landing, skip=("talks",))
    write_csv(landing / "talks" / "2023.csv", HEADERS["talks"], [talk(tid="T1")])
    write_csv(landing / "talks" / "2024.csv", ["talk_id", "talk_date"], [["T2", "2024-01-01"]])  # required columns missing
    monkeypatch.setattr(reader, "SMALL_FILE_BYTES", 0)
    with pytest.raises(FatalError) as err:
        ingest_landing(landing)
    assert str(err.value).startswith("talks/2024.csv: 缺少必填列")
