"""Helpers for the privacy tests: a tiny landing zone with every source, the forms an identity number
can take, and a scanner that reads EVERYTHING a run leaves behind the way a person could — Parquet
cells decoded (zstd and lz4 hide text from grep), workbooks unzipped, SQLite databases dumped, any
other file as text — independently of lianjian.privacy (it looks for the planted numbers themselves,
after folding full-width characters to ASCII)."""

from __future__ import annotations

import json
import sqlite3
import unicodedata
import zipfile
from collections.abc import Iterator
from pathlib import Path

import polars as pl
from support_ingest import BASE, csv_bytes, write_xlsx

from lianjian.contract import SOURCES

#: Every source with a few consistent rows (contract column order), 2024.
ZONE: dict[str, list[list[str]]] = {
    "units": BASE["units"],
    "personnel": BASE["personnel"],
    "departments": BASE["departments"],
    "personnel_events": [["E1", "P3", "promotion", "2024-05-01"]],
    "talks": BASE["talks"],
    "cases": BASE["cases"],
    "reviews": [["2024", "P3", "self", "", "90", "", ""], ["2024", "P3", "peer", "P4", "85.5", "", ""]],
    "violations": [["V1", "P4", "2024-02-01", "2024-03-01", "other", "minor", "criticism"]],
    "major_matter_reports": [["R1", "U1", "P3", "2024-04-01", "internal_inquiry", "C1"]],
    "duty_activities": [["A1", "U1", "secretary", "P1", "lecture", "2024-06-01", "", ""]],
    "democratic_votes": [["2024", "U1", "party_group", "U1", "10", "2", "0", "0"]],
}


def header(src: str) -> list[str]:
    return [c.name for c in SOURCES[src].columns]


def write_source(root: Path, src: str, head: list[str], rows: list[list[str]], fmt: str) -> None:
    """``fmt``: csv (UTF-8), gb18030 (CSV) or xlsx."""
    if fmt == "xlsx":
        write_xlsx(root / f"{src}.xlsx", head, [[v if v != "" else None for v in r] for r in rows])
    else:
        (root / f"{src}.csv").write_bytes(csv_bytes(head, rows, "gb18030" if fmt == "gb18030" else "utf-8"))


def full_width(s: str) -> str:
    return "".join(chr(ord(c) + 0xFEE0) if c.isdigit() or c in "Xx" else c for c in s)


def fold(text: str) -> str:
    """Full-width (and other compatibility) forms as ASCII, upper case: how a reader would match."""
    return unicodedata.normalize("NFKC", text).upper()


def _parquet_text(path: Path) -> str:
    frame = pl.read_parquet(path)
    return json.dumps(frame.to_dicts(), ensure_ascii=False, default=str) + " ".join(frame.columns)


def _zip_text(path: Path) -> str:
    with zipfile.ZipFile(path) as z:
        return "\n".join(z.read(n).decode("utf-8", "replace") for n in z.namelist()) + " ".join(z.namelist())


def _sqlite_text(path: Path) -> str:
    con = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        return "\n".join(con.iterdump())
    finally:
        con.close()


def texts_under(root: Path) -> Iterator[tuple[Path, str]]:
    """(file, its text as a person could read it) for every file under ``root``, names included."""
    for p in sorted(Path(root).rglob("*")):
        if p.is_symlink() or not p.is_file():
            if p.is_dir():
                yield p, p.name
            continue
        data = p.read_bytes()
        if p.suffix == ".parquet" and data[:4] == b"PAR1":
            text = _parquet_text(p)
        elif data[:4] == b"PK\x03\x04":
            text = _zip_text(p)
        elif data[:16] == b"SQLite format 3\x00":
            text = _sqlite_text(p) + data.decode("utf-8", "replace")
        else:
            try:
                text = data.decode("utf-8")
            except UnicodeDecodeError:
                text = data.decode("gb18030", "replace")
        yield p, p.name + "\n" + text


def leaks(numbers: list[str], *roots: Path, texts: tuple[str, ...] = ()) -> list[tuple[str, str]]:
    """(where, number) for every planted number found whole, or its part after the 4 characters the
    mask keeps, in any file under ``roots`` or in ``texts``."""
    wanted = [(n, fold(n), fold(n)[4:]) for n in numbers]
    found = []
    sources = [(str(p), t) for r in roots for p, t in texts_under(r)] + [(f"text {i}", t) for i, t in enumerate(texts)]
    for where, text in sources:
        t = fold(text)
        found += [(where, n) for n, whole, tail in wanted if whole in t or tail in t]
    return found
