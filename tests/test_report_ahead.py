"""The yearly reports and notices of a small warehouse made before the switch (lianjian/report/ahead.py):
built from the version about to be published while the publish step waits for the suites, held in
memory (lianjian/report/writes.py), and written by the reports step only when that version is live and
nothing they read has moved — the same files, digests, records and index as ``write_reports`` with the
notices beside it. The pipeline's side (a demo run writes its reports so; a refused version writes
none) is in tests/test_end_to_end.py."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from pathlib import Path

import polars as pl
import pytest

import lianjian.report.ahead as ahead
from lianjian.contract import PUBLISHED
from lianjian.report import write_reports
from lianjian.report.notices import write_notices
from lianjian.report.writes import Held, NotHeld
from tests.support_report import make_warehouse, tree_bytes

MONTHLY = "major_matter_report_monthly"


def _warehouse(root: Path) -> Path:
    """The report fixture's warehouse with a monthly table (notices for PRV and CITY) and a manifest
    listing every published file with its SHA-256, as publishing writes it."""
    wh = make_warehouse(root)
    schema = PUBLISHED[MONTHLY].schema()
    rows = [
        dict(year=2024, month=m, unit_code=u, staff=s, reports=r, leader_reports=0, reports_to_date=r * m,
             per_hundred_staff_to_date=100.0 * r * m / s, rank=k, peers=p, months_without_report=0, low_report=False)
        for m in (1, 2, 3)
        for u, s, r, k, p in (("CITY", 10, 1, 1, 1), ("CTY1", 5, 1, 1, 2), ("CTY2", 4, 0, 2, 2))
    ]
    part = wh / "published" / MONTHLY / "year=2024"
    part.mkdir(parents=True)
    pl.DataFrame({c: [r[c] for r in rows] for c in schema}, schema=schema).write_parquet(part / "part-0.parquet")
    manifest_path = wh / "published" / "_manifest.json"
    manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    outputs: dict[str, list] = {}
    for f in sorted((wh / "published").rglob("*.parquet")):
        rel = f.relative_to(wh / "published").as_posix()
        outputs.setdefault(rel.split("/", 1)[0], []).append({"path": rel, "sha256": hashlib.sha256(f.read_bytes()).hexdigest()})
    manifest["outputs"] = [{"table": t, "files": files} for t, files in outputs.items()]
    manifest_path.write_text(json.dumps(manifest, ensure_ascii=False), encoding="utf-8")
    return wh


def _usual(wh: Path):
    """The reports step's usual way: ``write_reports`` with the notices beside it."""
    notices: list = []
    written = write_reports(wh, alongside=lambda: notices.extend(write_notices(wh)))
    return written, notices


def _reports(wh: Path) -> dict[str, bytes]:
    return {k: v for k, v in tree_bytes(wh / "reports").items() if not k.startswith(("data_docs/", "gx_cache/"))}


def _stats(wh: Path) -> dict[str, tuple[int, int]]:
    return {
        p.relative_to(wh).as_posix(): (p.stat().st_ino, p.stat().st_mtime_ns)
        for p in sorted((wh / "reports").rglob("*"))
        if p.is_file() and "data_docs" not in p.parts
    }


@pytest.fixture
def live(monkeypatch):
    """The live version's name ``take`` sees (the fixture's ``published`` is a folder, not a version)."""
    import lianjian.publish.layout as layout

    name = {"version": "v1"}
    monkeypatch.setattr(layout, "current_version", lambda warehouse: Path("/versions") / name["version"])
    return name


def test_held_file_operations_are_done_only_when_applied_and_in_their_order(tmp_path):
    """A ``Held`` writes nothing until ``apply``; meanwhile it answers as if its operations were done
    (``exists``, ``write_if_changed`` against the bytes it holds, else the disk's); ``apply`` does them
    in the order made; a dropped one raises ``NotHeld`` on any further operation, as does one over
    its limit."""
    (tmp_path / "old").mkdir()
    (tmp_path / "old" / "a.html").write_bytes(b"same")
    (tmp_path / "gone.html").write_bytes(b"x")
    held = Held(limit=100)
    held.mkdir(tmp_path / "new")
    held.write(tmp_path / "new" / "b.html", b"first", folder_ready=True)
    assert held.write_if_changed(tmp_path / "new" / "b.html", b"second", folder_ready=True)
    assert not held.write_if_changed(tmp_path / "new" / "b.html", b"second", folder_ready=True)  # as held
    assert not held.write_if_changed(tmp_path / "old" / "a.html", b"same")  # as on disk
    held.unlink(tmp_path / "gone.html")
    held.rmtree(tmp_path / "old")
    assert held.exists(tmp_path / "new" / "b.html") and not held.exists(tmp_path / "gone.html")
    assert not held.exists(tmp_path / "old") and not held.exists(tmp_path / "old" / "a.html")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["gone.html", "old"]  # nothing done yet
    held.apply()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["new"]
    assert (tmp_path / "new" / "b.html").read_bytes() == b"second"
    assert (tmp_path / "new").stat().st_mode & 0o777 == 0o700 and (tmp_path / "new" / "b.html").stat().st_mode & 0o777 == 0o600
    with pytest.raises(NotHeld):
        Held(limit=10).write(tmp_path / "c.html", b"more than ten bytes")
    dropped = Held(limit=100)
    dropped.write(tmp_path / "d.html", b"d")
    dropped.drop()
    with pytest.raises(NotHeld):
        dropped.mkdir(tmp_path / "e")
    dropped.apply()
    assert not (tmp_path / "d.html").exists()


def test_reports_made_before_the_switch_are_written_only_when_taken_and_are_the_usual_files(tmp_path, live):
    """Made from a published folder while ``reports/`` is left alone (nothing written until the
    reports step takes them), then applied: every page, workbook, notice, digest, record and the index
    are the bytes ``write_reports`` and ``write_notices`` write on a copy of the same warehouse, and
    the reports and notices returned are theirs. A second round over the written reports keeps every
    file as the usual way does (only the index is written again)."""
    wh = _warehouse(tmp_path / "a")
    other = tmp_path / "b"
    shutil.copytree(wh, other)
    usual_written, usual_notices = _usual(other)

    before = _reports(wh)
    wait = ahead.make_ahead(wh, wh / "published", "v1")
    wait(True)
    made = ahead.take(wh)
    assert made is not None and before == _reports(wh) == {}  # nothing written before it is taken
    written, notices = made.apply()
    assert _reports(wh) == _reports(other) and _reports(wh)
    assert any("/notices/" in k for k in _reports(wh)) and "index.html" in _reports(wh)
    assert [(w.report_key, w.year, w.rollup, w.fresh) for w in written] == [(w.report_key, w.year, w.rollup, w.fresh) for w in usual_written]
    assert [(n.parent_code, n.year, [p.name for p in n.pages]) for n in notices] == [
        (n.parent_code, n.year, [p.name for p in n.pages]) for n in usual_notices
    ]

    kept = _stats(wh)
    usual_again, _ = _usual(other)
    ahead.make_ahead(wh, wh / "published", "v1")(True)
    again, _ = ahead.take(wh).apply()
    assert [w.fresh for w in again] == [w.fresh for w in usual_again] and not any(w.fresh for w in again)
    assert _reports(wh) == _reports(other)
    assert {k: v for k, v in _stats(wh).items() if not k.endswith("/index.html")} == {
        k: v for k, v in kept.items() if not k.endswith("/index.html")
    }


def test_made_reports_are_taken_only_for_the_live_version_with_nothing_moved(tmp_path, live, monkeypatch):
    """``take`` gives nothing — the reports step then writes them the usual way — when the live version
    is not the one they were made from, when a file under ``reports/`` or a staged file changed after
    the making began, when the day changed (a page says when it was written), or when the version's
    folder was removed (the gate refused: what was made is dropped); and gives them once only. The
    suites' folders under ``reports/`` may change meanwhile."""
    wh = _warehouse(tmp_path)
    _usual(wh)

    def made_then(change) -> ahead.Made | None:
        ahead.make_ahead(wh, wh / "published", "v1")(True)
        change()
        return ahead.take(wh)

    assert made_then(lambda: None) is not None
    assert ahead.take(wh) is None  # taken once
    live["version"] = "v2"
    assert made_then(lambda: None) is None
    live["version"] = "v1"
    gx = wh / "reports" / "gx_cache"
    assert made_then(lambda: (gx.mkdir(), (gx / "x.json").write_text("{}"))) is not None
    page = next((wh / "reports" / "2024").glob("*.html"))
    assert made_then(lambda: os.utime(page, ns=(1, 1))) is None
    assert made_then(lambda: (wh / "staged" / "units.parquet").write_bytes((wh / "staged" / "units.parquet").read_bytes())) is None
    today = ahead._today
    monkeypatch.setattr(ahead, "_today", lambda: "2999-01-01")
    ahead.make_ahead(wh, wh / "published", "v1")(True)
    monkeypatch.setattr(ahead, "_today", today)
    assert ahead.take(wh) is None

    before = _stats(wh)
    ahead.make_ahead(wh, wh / "published", "v1")(False)  # the gate refused: the folder is removed
    assert ahead.take(wh) is None and _stats(wh) == before


def test_more_report_bytes_than_held_ahead_are_written_the_usual_way(tmp_path, live, monkeypatch):
    """Beyond ``AHEAD_BYTES_UP_TO`` of files the making stops: nothing is taken, nothing written."""
    wh = _warehouse(tmp_path)
    monkeypatch.setattr(ahead, "AHEAD_BYTES_UP_TO", 10_000)
    ahead.make_ahead(wh, wh / "published", "v1")(True)
    assert ahead.take(wh) is None and _reports(wh) == {}


def test_only_a_small_landing_zone_has_its_reports_made_ahead(tmp_path, monkeypatch):
    """``ahead_for``: up to ``AHEAD_LANDING_UP_TO`` bytes of landing files."""
    (tmp_path / "a.csv").write_bytes(b"x" * 2000)
    monkeypatch.setattr(ahead, "AHEAD_LANDING_UP_TO", 2000)
    assert ahead.ahead_for(tmp_path)
    monkeypatch.setattr(ahead, "AHEAD_LANDING_UP_TO", 1999)
    assert not ahead.ahead_for(tmp_path)
