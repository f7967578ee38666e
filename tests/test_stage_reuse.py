"""Staging only what changed (lianjian/ingest/stagecache.py; docs/ingest.md, "Staging only what
changed"): a source is checked and written again exactly when something its staged table, rejected
rows or report rows depend on changed — its own files, the content of a source it references, the
departments' files for personnel, the plausible dates, a file's path, an optional source appearing or
vanishing, its staged file no longer the one recorded. Every staging here is compared with a staging
of the same landing zone from scratch (``ingest_landing``, no cache): same staged tables, rejected
rows, report rows and year digests."""

from __future__ import annotations

import os
from datetime import date
from pathlib import Path

import polars as pl
import pytest
from support_ingest import BASE, HEADERS, person, rows, talk, write_csv, write_landing

from lianjian.contract import SOURCES
from lianjian.ingest import (
    DateBounds,
    Kept,
    Reuse,
    StageCache,
    combine_rejected,
    combine_report,
    files_frame,
    ingest_landing,
    iter_landing,
    reference_order,
    stage_sources,
    upstream,
)
from lianjian.ingest.cache import FileCache
from lianjian.ingest.digests import table_digests
from lianjian.ingest.stagecache import stage_key
from pipelines.io_manager import write_parquet_atomic

DATES = DateBounds(date(2000, 1, 1), date(2026, 12, 31))
WRITER = "test-writer"
EVERY = set(SOURCES)


def _stage(landing: Path, wh: Path, dates: DateBounds = DATES, known=None) -> dict:
    """What the staging step does with the warehouse's records: returns which sources were staged
    again, and the rejected rows, report and year digests the run ends with. ``known``: the file
    cache's source of SHA-256s known from a file's stat."""
    tmp = wh.parent / f"{wh.name}-tmp"
    tmp.mkdir(exist_ok=True)
    cache = FileCache(wh, known)
    reads = {r.name: r for r in iter_landing(landing, tmp, [], dates, cache)}
    cache.keep_only(cache.used)
    files = files_frame([e for r in reads.values() for e in r.entries])
    reuse = Reuse(StageCache(wh), lambda n: wh / "staged" / f"{n}.parquet", WRITER)
    rejected, report, digests = [], [], {}
    for name, res in stage_sources(reads, files, reuse):
        if isinstance(res, Kept):
            digests[name] = res.digests
        else:
            write_parquet_atomic(res.staged, reuse.staged_path(name))
            digests[name] = table_digests(SOURCES[name], reuse.staged_path(name))
            reuse.record(name, res.key, res.rejected, res.report, digests[name])
        rejected.append(res.rejected)
        report.append(res.report)
    assert set(reuse.staged_sources) | set(reuse.kept_sources) == EVERY
    return {
        "staged": set(reuse.staged_sources),
        "rejected": combine_rejected(rejected),
        "report": combine_report(report),
        "digests": digests,
    }


def _same_as_from_scratch(out: dict, landing: Path, wh: Path, dates: DateBounds = DATES) -> None:
    plain = ingest_landing(landing, dates)
    for name in SOURCES:
        path = wh / "staged" / f"{name}.parquet"
        assert pl.read_parquet(path).equals(plain.staged[name]), name
        assert out["digests"][name] == table_digests(SOURCES[name], path), name
    assert out["rejected"].equals(plain.rejected)
    assert out["report"].equals(plain.report)


def _inodes(wh: Path) -> dict[str, int]:
    return {p.stem: p.stat().st_ino for p in (wh / "staged").glob("*.parquet")}


def _referencing(changed: set[str]) -> set[str]:
    """``changed`` and every source checked against their accepted rows, transitively."""
    out = set(changed)
    for name in reference_order():
        if upstream(name)[0] & out:
            out.add(name)
    return out


def test_only_the_changed_source_is_staged_again_and_the_result_is_a_staging_from_scratch(tmp_path):
    """First staging: every source. Again, nothing changed: none, and no staged file is written (same
    inodes). One talks row more: talks only (no source references talks). Every time the staged
    tables, rejected rows, report and digests equal a staging of that zone from scratch."""
    landing = write_landing(tmp_path / "landing", {"talks": rows("talks", talk("T8", "2024-13-01"))})
    wh = tmp_path / "wh"
    first = _stage(landing, wh)
    assert first["staged"] == EVERY
    _same_as_from_scratch(first, landing, wh)
    assert first["rejected"].height == 1  # the talk dated 2024-13-01

    inodes = _inodes(wh)
    again = _stage(landing, wh)
    assert again["staged"] == set()
    assert _inodes(wh) == inodes
    _same_as_from_scratch(again, landing, wh)

    write_csv(landing / "talks.csv", HEADERS["talks"], rows("talks", talk("T8", "2024-13-01"), talk("T9", "2024-05-01")))
    changed = _stage(landing, wh)
    assert _referencing({"talks"}) == {"talks"}
    assert changed["staged"] == {"talks"}
    now = _inodes(wh)
    assert {n for n in now if now[n] != inodes[n]} == {"talks"}
    _same_as_from_scratch(changed, landing, wh)


def test_a_referenced_source_restages_the_sources_checked_against_it(tmp_path):
    """A new person (accepted): personnel's accepted rows change, so every source checked against
    them is staged again — all but units and democratic_votes. A department renamed: departments and
    the source checked against it (duty_activities), and personnel, whose dept_code is checked against
    the departments' candidate rows; personnel's accepted rows are the same, so the sources checked
    against personnel are kept."""
    landing = write_landing(tmp_path / "landing")
    wh = tmp_path / "wh"
    assert _stage(landing, wh)["staged"] == EVERY

    write_csv(landing / "personnel.csv", HEADERS["personnel"], rows("personnel", person("P9")))
    out = _stage(landing, wh)
    assert out["staged"] == _referencing({"personnel"}) == EVERY - {"units", "democratic_votes"}
    _same_as_from_scratch(out, landing, wh)

    departments = [list(r) for r in BASE["departments"]]
    departments[1][3] = "第二部"
    write_csv(landing / "departments.csv", HEADERS["departments"], departments)
    out = _stage(landing, wh)
    assert out["staged"] == {"personnel", "departments", "duty_activities"}
    _same_as_from_scratch(out, landing, wh)


def test_plausible_dates_a_renamed_file_an_optional_source_and_a_rewritten_table(tmp_path):
    """- The plausible dates end before a talk's date: every source with a date column is staged again
      (its files are read again), talks rejecting that talk; sources without dates are kept.
    - units.csv moved into a folder units/: units (its report names the new path), nothing else
      (its accepted rows are the same).
    - The optional reviews file removed: reviews (now absent); added back: reviews again.
    - talks.parquet rewritten in the warehouse by something else (same rows, another file): talks,
      and its recorded content key no longer answers for the file."""
    landing = write_landing(tmp_path / "landing")
    wh = tmp_path / "wh"
    assert _stage(landing, wh)["staged"] == EVERY

    early = DateBounds(date(2000, 1, 1), date(2024, 3, 31))
    out = _stage(landing, wh, early)
    with_dates = {n for n, s in SOURCES.items() if any(c.kind == "date" for c in s.columns) and n in HEADERS}
    assert out["staged"] == with_dates
    assert "talks" in with_dates and "units" not in with_dates and "departments" not in with_dates
    assert out["rejected"].get_column("source").to_list() == ["talks"]  # T2, 2024-04-01
    _same_as_from_scratch(out, landing, wh, early)
    assert _stage(landing, wh)["staged"] == with_dates  # and back

    (landing / "units").mkdir()
    os.replace(landing / "units.csv", landing / "units" / "units.csv")
    out = _stage(landing, wh)
    assert out["staged"] == {"units"}
    assert out["report"].filter(pl.col("source") == "units").get_column("file").to_list() == ["units/units.csv"]
    _same_as_from_scratch(out, landing, wh)

    reviews = (landing / "reviews.csv").read_bytes()
    (landing / "reviews.csv").unlink()
    out = _stage(landing, wh)
    assert out["staged"] == {"reviews"}
    assert out["report"].filter(pl.col("source") == "reviews").height == 0
    _same_as_from_scratch(out, landing, wh)
    (landing / "reviews.csv").write_bytes(reviews)
    assert _stage(landing, wh)["staged"] == {"reviews"}

    talks = wh / "staged" / "talks.parquet"
    records = StageCache(wh)
    assert records.content_sha256("talks", talks) is not None
    pl.read_parquet(talks).write_parquet(talks.with_name("other.parquet"))
    os.replace(talks.with_name("other.parquet"), talks)
    assert records.content_sha256("talks", talks) is None
    out = _stage(landing, wh)
    assert out["staged"] == {"talks"}
    _same_as_from_scratch(out, landing, wh)
    assert records.content_sha256("talks", talks) is not None


def test_the_stage_key_names_every_input():
    """Each part of a stage key changes it: a file's path, its cache key, the order of the files,
    whether the source is present, the content of a source it references, the departments' files
    (personnel), the writer's settings; and the referenced sources must be exactly upstream's."""
    files = [("talks/2024.csv", "a"), ("talks/2025.csv", "b")]
    acc = {"personnel": "p", "personnel_events": "e"}
    base = stage_key("talks", True, files, acc, {}, WRITER)
    variants = [
        stage_key("talks", True, [("talks/2024b.csv", "a"), files[1]], acc, {}, WRITER),
        stage_key("talks", True, [files[0], ("talks/2025.csv", "c")], acc, {}, WRITER),
        stage_key("talks", True, files[::-1], acc, {}, WRITER),
        stage_key("talks", False, files, acc, {}, WRITER),
        stage_key("talks", True, files, acc | {"personnel": "q"}, {}, WRITER),
        stage_key("talks", True, files, acc, {}, WRITER + "!"),
    ]
    assert len({base, *variants}) == 1 + len(variants)
    pfiles = [("personnel.csv", "x")]
    p = stage_key("personnel", True, pfiles, {"units": "u"}, {"departments": [("departments.csv", "d")]}, WRITER)
    assert p != stage_key("personnel", True, pfiles, {"units": "u"}, {"departments": [("departments.csv", "e")]}, WRITER)
    with pytest.raises(ValueError):
        stage_key("talks", True, files, {"personnel": "p"}, {}, WRITER)


def test_a_file_known_from_its_stat_is_not_hashed_again(tmp_path, monkeypatch):
    """With the landing stat cache (lianjian/fingerprint.py) filled as a finished run fills it, a
    staging hashes no landing file; a file rewritten since (another stat) is hashed and read again,
    and the result is a staging from scratch."""
    from lianjian.files import sha256_file
    from lianjian.fingerprint import StatCache
    from lianjian.ingest import reader

    landing = write_landing(tmp_path / "landing")
    wh = tmp_path / "wh"
    hashed: list[str] = []
    real = reader.file_digest
    monkeypatch.setattr(reader, "file_digest", lambda path, rel: hashed.append(rel) or real(path, rel))

    def known():
        stats = StatCache(wh)
        return lambda rel, path: stats.known(rel, path.stat())

    first = _stage(landing, wh, known=known())
    assert first["staged"] == EVERY
    assert sorted(hashed) == sorted(p.name for p in landing.iterdir())
    stats = StatCache(wh)
    for p in landing.iterdir():
        stats.remember(p.name, p.stat(), sha256_file(p))
    stats.save()

    hashed.clear()
    again = _stage(landing, wh, known=known())
    assert hashed == [] and again["staged"] == set()
    _same_as_from_scratch(again, landing, wh)  # (from scratch hashes every file)

    hashed.clear()
    write_csv(landing / "talks.csv", HEADERS["talks"], rows("talks", talk("T9", "2024-05-01")))
    changed = _stage(landing, wh, known=known())
    assert hashed == ["talks.csv"] and changed["staged"] == {"talks"}
    _same_as_from_scratch(changed, landing, wh)


def test_a_known_content_key_finds_the_suite_result_without_reading_the_table(tmp_path):
    """The data-quality step's cache keyed by a content key staging recorded: a failing suite (a
    required source without any accepted row) fails, and fails again from the cache, which is found
    without reading the table (a scan of a missing file is never collected); a new key validates."""
    from lianjian.quality.validate import validate_cached

    empty = SOURCES["units"].staged_frame()
    first = validate_cached("units", empty.lazy(), tmp_path, digest="staged-file-sha256:k1")
    assert not first.success and not first.cached
    missing = pl.scan_parquet(tmp_path / "no-such-table.parquet")
    again = validate_cached("units", missing, tmp_path, digest="staged-file-sha256:k1")
    assert again.cached and not again.success
    assert again.expectations == first.expectations
    other = validate_cached("units", empty.lazy(), tmp_path, digest="staged-file-sha256:k2")
    assert not other.cached and not other.success
