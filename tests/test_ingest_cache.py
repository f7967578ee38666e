"""Reading each landing file once: the warehouse's file cache (lianjian/ingest/cache.py) and the
per-year digests of the staged tables (lianjian/ingest/digests.py). docs/ingest.md, "Reading each
file once"."""

from __future__ import annotations

import hashlib
import struct
import json
import re
import shutil
import subprocess
import sys
from datetime import date
from pathlib import Path

import polars as pl
from support_ingest import BASE, rows, talk, write_csv, write_landing, HEADERS

from lianjian.contract import SOURCES
from lianjian.ingest import DateBounds, combine_rejected, combine_report, files_frame, ingest_landing, iter_landing, stage_sources
from lianjian.ingest import reader
from lianjian.ingest.cache import FileCache
from lianjian.digests import read_year_digests
from lianjian.ingest.digests import BATCH_ROWS, FILE, SEED, frame_digest, table_digests, write_year_digests

ROOT = Path(__file__).resolve().parents[1]
RULES = ROOT / "rules" / "default.yaml"
DATES = DateBounds(date(2000, 1, 1), date(2026, 12, 31))


def _stage(landing: Path, tmp: Path, cache: FileCache | None, dates: DateBounds | None = DATES):
    """What the staging step does: read every source (through ``cache``), then stage them."""
    reads = {r.name: r for r in iter_landing(landing, tmp, [], dates, cache)}
    if cache is not None:
        cache.keep_only(cache.used)
    files = files_frame([e for r in reads.values() for e in r.entries])
    staged, rejected, report = {}, [], []
    for name, res in stage_sources(reads, files):
        staged[name] = res.staged.collect()
        rejected.append(res.rejected)
        report.append(res.report)
    return reads, staged, combine_rejected(rejected), combine_report(report)


def _count_reads(monkeypatch) -> list[str]:
    calls: list[str] = []
    real = reader._open_file  # every landing file read (streamed, or whole when small) is opened here

    def spy(src, path, *args, **kwargs):
        calls.append(Path(path).name)
        return real(src, path, *args, **kwargs)

    monkeypatch.setattr(reader, "_open_file", spy)
    return calls


def test_an_unchanged_file_is_not_read_again_and_stages_the_same_rows(tmp_path, monkeypatch):
    """First staging: every file read (8 files of the small zone). Second, nothing changed: no file
    read, every one taken from the cache, and the staged tables, rejected rows and report equal to the
    first staging's and to ``ingest_landing`` (no cache). Then one talks file changes: that file only is
    read. Then the plausible dates change: every file of a source with a date column is read again
    (units has none). An entry no longer used is removed."""
    landing = write_landing(tmp_path / "landing", {"talks": rows("talks", talk("T9", "2024-13-01"), BASE["talks"][0])})
    wh = tmp_path / "wh"
    (tmp_path / "t").mkdir()
    calls = _count_reads(monkeypatch)
    files = sorted(p.name for p in landing.iterdir())
    first = _stage(landing, tmp_path / "t", FileCache(wh))
    assert sorted(calls) == files and len(files) == 8
    assert not any(f.cached for r in first[0].values() for f in r.files)

    calls.clear()
    second = _stage(landing, tmp_path / "t", FileCache(wh))
    assert calls == []
    assert all(f.cached for r in second[0].values() for f in r.files)
    plain = ingest_landing(landing, DATES)
    for name in SOURCES:
        assert second[1][name].equals(first[1][name]) and second[1][name].equals(plain.staged[name]), name
    assert second[2].equals(first[2]) and second[2].equals(plain.rejected) and plain.rejected.height == 1
    assert second[3].equals(first[3]) and second[3].equals(plain.report)

    calls.clear()
    write_csv(landing / "talks.csv", HEADERS["talks"], rows("talks", talk("T8", "2024-06-01")))
    third = _stage(landing, tmp_path / "t", FileCache(wh))
    assert calls == ["talks.csv"]
    assert "T8" in third[1]["talks"]["talk_id"].to_list()
    entries = {p.name for p in (wh / ".cache" / "ingest").iterdir()}
    assert len(entries) == 8  # the old talks entry is gone

    calls.clear()
    _stage(landing, tmp_path / "t", FileCache(wh), DateBounds(date(2000, 1, 1), date(2025, 12, 31)))
    dated = {f"{n}.csv" for n, s in SOURCES.items() if any(c.kind == "date" for c in s.columns)}
    assert sorted(calls) == sorted(f for f in files if f in dated) and "units.csv" in files and "units.csv" not in calls


def test_a_cache_entry_is_whole_or_absent(tmp_path):
    """An entry whose part was lost (a disk cleaned by hand) is not used: the file is read again."""
    landing = write_landing(tmp_path / "landing")
    wh = tmp_path / "wh"
    (tmp_path / "t").mkdir()
    _stage(landing, tmp_path / "t", FileCache(wh))
    for part in (wh / ".cache" / "ingest").rglob("part-*.parquet"):
        part.unlink()
        break
    reads = _stage(landing, tmp_path / "t", FileCache(wh))[0]
    assert sum(not f.cached for r in reads.values() for f in r.files) == 1


DIGESTS = """
import json, sys
from pathlib import Path
from lianjian.ingest.digests import year_digests
print(json.dumps(year_digests(Path(sys.argv[1]))))
"""


def _write_staged(wh: Path, staged: dict[str, pl.DataFrame]) -> None:
    (wh / "staged").mkdir(parents=True, exist_ok=True)
    for name, frame in staged.items():
        frame.write_parquet(wh / "staged" / f"{name}.parquet")


def test_year_digests_change_with_that_years_rows_only(tmp_path):
    """``staged/_year_digests.json``: version 2, every source, a key per assessment year (talks by the
    year of talk_date), ``none`` for a source without a year column (units); the same digests in another
    process; a talk added in 2023 changes talks' 2023 digest and nothing else. A year's digest is the
    SHA-256 of a header (Polars version, columns and types) and each row's 64-bit row hash,
    recomputed here by hand from the rows read another way (the whole table, then filtered)."""
    talks = rows("talks", talk("T7", "2023-05-01"))
    landing = write_landing(tmp_path / "landing", {"talks": talks})
    wh = tmp_path / "wh"
    _write_staged(wh, ingest_landing(landing, DATES).staged)
    path = write_year_digests(wh)
    assert path == wh / "staged" / FILE and path.stat().st_mode & 0o777 == 0o600
    data = json.loads(path.read_text(encoding="utf-8"))
    assert data == read_year_digests(wh)
    assert data["version"] == 2 and list(data["sources"]) == list(SOURCES)
    assert list(data["sources"]["talks"]) == ["2023", "2024"]
    assert list(data["sources"]["units"]) == ["none"]
    assert data["sources"]["violations"] == {}  # absent optional source: no rows, no year
    assert all(re.fullmatch(r"[0-9a-f]{64}", d) for s in data["sources"].values() for d in s.values())
    staged = pl.read_parquet(wh / "staged" / "talks.parquet")
    rows_2023 = staged.filter(pl.col("talk_date").dt.year() == 2023)
    assert rows_2023["talk_id"].to_list() == ["T7"]
    header = json.dumps([pl.__version__, [[n, str(t)] for n, t in staged.schema.items()]]).encode("utf-8")
    row = struct.pack("<Q", rows_2023.hash_rows(SEED)[0])
    assert data["sources"]["talks"]["2023"] == hashlib.sha256(header + row).hexdigest()

    other = subprocess.run([sys.executable, "-c", DIGESTS, str(wh)], capture_output=True, text=True, cwd=ROOT, check=True)
    assert json.loads(other.stdout) == data

    write_csv(landing / "talks.csv", HEADERS["talks"], talks + [talk("T6", "2023-07-01")])
    _write_staged(wh, ingest_landing(landing, DATES).staged)
    after = json.loads(write_year_digests(wh).read_text(encoding="utf-8"))
    changed = {(s, y) for s in data["sources"] for y in set(data["sources"][s]) | set(after["sources"][s]) if data["sources"][s].get(y) != after["sources"][s].get(y)}
    assert changed == {("talks", "2023")}


def test_a_year_digest_is_that_years_rows_in_order_whatever_the_batches(tmp_path, monkeypatch):
    """``table_digests`` streams the staged file in batches and feeds each row to its year's digest:
    it gives each year the ``frame_digest`` of that year's rows, whether the years come in one batch,
    interleaved within batches, or spread over many (batches of 2 rows here). And the digest tells
    apart what the staged file tells apart: 0.0 from -0.0, "" from null, two cells swapped between
    columns, two rows swapped."""
    frame = pl.DataFrame(
        {
            "talk_date": [date(2024, 1, 2), date(2023, 5, 1), None, date(2024, 3, 4), date(2023, 6, 1), date(2024, 7, 1), date(2024, 8, 1)],
            "x": [1.5, 0.0, 2.0, -0.0, None, 3.0, 4.0],
            "y": ["a", "", None, "b", "c", "d", "e"],
        }
    )
    frame.write_parquet(tmp_path / "t.parquet")
    by_year = {
        "2023": frame.filter(pl.col("talk_date").dt.year() == 2023),
        "2024": frame.filter(pl.col("talk_date").dt.year() == 2024),
        "none": frame.filter(pl.col("talk_date").is_null()),
    }
    expected = {k: frame_digest(v) for k, v in by_year.items()}
    assert table_digests(SOURCES["talks"], tmp_path / "t.parquet") == expected
    assert BATCH_ROWS >= 1_000
    monkeypatch.setattr("lianjian.ingest.digests.BATCH_ROWS", 2)
    assert table_digests(SOURCES["talks"], tmp_path / "t.parquet") == expected
    variants = [
        frame.with_columns(x=pl.when(pl.col("x") == 0).then(pl.lit(-0.0)).otherwise("x")),  # 0.0 <-> -0.0 in 2023
        frame.with_columns(y=pl.when(pl.col("y") == "").then(pl.lit(None, pl.String)).otherwise("y")),  # "" -> null
        frame.with_columns(x=pl.col("x").cast(pl.String), y=pl.col("x").cast(pl.String)).with_columns(x=pl.col("y"), y=pl.col("x")),
        pl.concat([frame.slice(1, 1), frame.slice(0, 1), frame.slice(2)]),  # 2024's and 2023's first rows swapped: years' order kept
    ]
    for variant in variants:
        assert frame_digest(variant) != frame_digest(frame)
    assert frame_digest(variants[0].filter(pl.col("talk_date").dt.year() == 2023)) != expected["2023"]
    assert frame_digest(variants[1].filter(pl.col("talk_date").dt.year() == 2023)) != expected["2023"]
    assert frame_digest(by_year["2024"].reverse()) != expected["2024"]


def test_year_digests_put_rows_without_a_year_under_none(tmp_path):
    frame = pl.DataFrame({"talk_date": [date(2024, 1, 2), None, date(2024, 3, 4)], "x": [1, 2, 3]})
    frame.write_parquet(tmp_path / "t.parquet")
    got = table_digests(SOURCES["talks"], tmp_path / "t.parquet")
    assert list(got) == ["2024", "none"]


def test_a_second_run_takes_every_file_from_the_cache_and_publishes_the_same_bytes(demo_run, demo_landing, tmp_path, capsys):
    """A run on a copy of the demo run's warehouse, with the same landing files: every landing file is
    taken from the file cache (the progress lines say so), the staged tables and every published and
    restricted Parquet file are byte for byte those of the first run, and the year digests equal."""
    from lianjian.cli import main

    outcome, demo_warehouse = demo_run
    warehouse = tmp_path / "wh"
    shutil.copytree(demo_warehouse, warehouse, symlinks=True)
    capsys.readouterr()
    assert main(["run", "--landing", str(demo_landing), "--warehouse", str(warehouse), "--rules", str(RULES)]) == 0
    err = capsys.readouterr().err
    lines = re.findall(r"读取 (\w+)：(\d+) 个文件（(\d+) 个未变", err)
    assert {name for name, _, _ in lines} >= {"units", "personnel", "talks", "cases"}
    assert all(total == unchanged for _, total, unchanged in lines), lines

    def parquet(root: Path) -> dict[str, str]:
        out = {}
        for layer in ("published", "restricted", "staged"):
            for p in sorted((root / layer).resolve().rglob("*.parquet")):
                out[f"{layer}/{p.relative_to((root / layer).resolve())}"] = hashlib.sha256(p.read_bytes()).hexdigest()
        return out

    before, after = parquet(demo_warehouse), parquet(warehouse)
    assert len(before) > 40 and after == before
    assert read_year_digests(warehouse) == read_year_digests(demo_warehouse) is not None
