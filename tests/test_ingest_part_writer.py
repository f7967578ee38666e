"""A file's parts written while its next chunk is checked (docs/performance.md, "A part written while
the next chunk is checked"): the writes overlap the checks, the parts are byte for byte those of
writing each one in line, identity numbers are masked in what the writer gets, and every write has
ended when the file's reading returns or raises."""

from __future__ import annotations

import hashlib
import threading
import time
from pathlib import Path

import polars as pl
import pytest

from lianjian.contract import SOURCES
from lianjian.ingest import quarantine, reader
from support_ingest import HEADERS, ID_OK2, talk, write_csv

TALKS = SOURCES["talks"]


def _talks_file(tmp_path: Path, n: int = 8) -> tuple[Path, Path]:
    """landing/talks.csv of ``n`` talks, the fifth one's event_id holding an identity number."""
    landing = tmp_path / "landing"
    body = [talk(tid=f"T{i}", event=("E" + ID_OK2) if i == 5 else "") for i in range(1, n + 1)]
    return landing, write_csv(landing / "talks.csv", HEADERS["talks"], body)


def _read(path: Path, landing: Path, tmp_path: Path, name: str):
    out = tmp_path / name
    out.mkdir()
    return reader.read_file(TALKS, path, landing, tmp_path, out)


def _inline_parts(src, chunks, outdir: Path) -> list[Path]:
    """The parts written one after the other on the calling thread (the code before the writer)."""
    schema = reader.checked_schema(src)
    parts, n = [], 0
    for i, chunk in enumerate(chunks):
        part = outdir / f"part-{i:05d}.parquet"
        reader.write_part(quarantine.check_chunk(src, chunk, n).cast(schema), part)
        parts.append(part)
        n += chunk.height
    return parts


def _sha(p: Path) -> str:
    return hashlib.sha256(p.read_bytes()).hexdigest()


def test_a_part_is_written_while_the_next_chunk_is_checked_and_its_bytes_are_those_written_in_line(tmp_path, monkeypatch):
    """8 talks in chunks of 3 (three parts). Writing part 0 waits until the checks of the second
    chunk (offset 3) have begun — in line, those checks only begin once part 0 is written, so the
    wait would time out. The parts are written on the writer thread, hold the identity number only
    masked, and are byte for byte the parts written in line from the same chunks."""
    monkeypatch.setattr(quarantine, "CHUNK_ROWS", 3)
    monkeypatch.setattr(reader, "SMALL_FILE_BYTES", 0)
    landing, path = _talks_file(tmp_path)

    second_checked = threading.Event()
    overlapped: list[bool] = []
    writers: set[str] = set()
    real_check, real_write = reader.check_chunk, reader.write_part

    def check(src, raw, offset, dates=None):
        if offset == 3:
            second_checked.set()
        return real_check(src, raw, offset, dates)

    def write(checked: pl.DataFrame, part: Path) -> None:
        writers.add(threading.current_thread().name)
        if part.name == "part-00000.parquet":
            overlapped.append(second_checked.wait(timeout=10))
        real_write(checked, part)

    monkeypatch.setattr(reader, "check_chunk", check)
    monkeypatch.setattr(reader, "write_part", write)
    read = _read(path, landing, tmp_path, "piped")
    assert overlapped == [True]
    assert writers and all(w.startswith("lianjian-write-part") for w in writers)
    assert read.entry["rows_read"] == 8 and [p.name for p in read.parts] == [f"part-{i:05d}.parquet" for i in range(3)]

    monkeypatch.setattr(reader, "check_chunk", real_check)
    monkeypatch.setattr(reader, "write_part", real_write)
    opened = reader._open_file(TALKS, path, landing, tmp_path, None)
    _, rows, _, finish = opened
    (tmp_path / "inline").mkdir()
    inline = _inline_parts(TALKS, reader._chunks(rows(), 3, finish), tmp_path / "inline")
    assert [_sha(p) for p in read.parts] == [_sha(p) for p in inline]
    everything = b"".join(p.read_bytes() for p in read.parts) + str(pl.concat([pl.read_parquet(p) for p in read.parts], how="diagonal").to_dicts()).encode()
    assert ID_OK2.encode() not in everything


def test_a_failed_part_write_ends_the_read_with_its_error_and_no_write_left_running(tmp_path, monkeypatch):
    """The second part's write fails (a full disk): the file's reading raises that error, not later
    and not lost, and no writer thread is left when it does."""
    monkeypatch.setattr(quarantine, "CHUNK_ROWS", 3)
    monkeypatch.setattr(reader, "SMALL_FILE_BYTES", 0)
    landing, path = _talks_file(tmp_path)
    real_write = reader.write_part

    def write(checked: pl.DataFrame, part: Path) -> None:
        if part.name == "part-00001.parquet":
            raise OSError(28, "No space left on device")
        real_write(checked, part)

    monkeypatch.setattr(reader, "write_part", write)
    with pytest.raises(OSError, match="No space left"):
        _read(path, landing, tmp_path, "full")
    assert not [t for t in threading.enumerate() if t.name.startswith("lianjian-write-part")]


def test_every_write_has_ended_when_the_checks_raise(tmp_path, monkeypatch):
    """The chunks end in an error after the first (a CSV that Polars cannot scan, read again by the
    fallback, which first deletes the parts written): when ``_check_parts`` raises, the slow write of
    part 0 has ended — its file is whole — so the deleting cannot race a write still under way."""
    landing, path = _talks_file(tmp_path, 3)
    _, rows, _, finish = reader._open_file(TALKS, path, landing, tmp_path, None)
    real_write = reader.write_part

    def slow(checked: pl.DataFrame, part: Path) -> None:
        time.sleep(0.5)
        real_write(checked, part)

    def chunks():
        yield finish(rows().collect())
        raise pl.exceptions.ComputeError("the scan failed")

    monkeypatch.setattr(reader, "write_part", slow)
    out = tmp_path / "parts"
    out.mkdir()
    with pytest.raises(pl.exceptions.ComputeError):
        reader._check_parts(TALKS, chunks(), out, None)
    assert pl.read_parquet(out / "part-00000.parquet").height == 3
