"""Publish writes its year files two at a time and checks each from the frame it wrote, not by reading
the file back (lianjian/publish/publish.py ``write_table``, ``file_checks`` from the frame written; docs/performance.md "Two
years at a time"): the files, their checks (``_checks.json``) and what the checks report are those of
one year after the other with every file read back."""

from __future__ import annotations

import threading
from pathlib import Path

import polars as pl
import pytest
from support_publish import golden_leads, golden_tables, parquet_bytes

import lianjian.publish.publish as P
from lianjian.contract import RESTRICTED
from lianjian.errors import FatalError
from lianjian.publish import layout
from lianjian.threads import WORKERS_ENV

KW = dict(ingest_report=None, rules_version="x", rules_sha256="c" * 64, code_version_="test")


def _publish(warehouse: Path, run_id: str) -> P.PublishResult:
    return P.publish_tables(warehouse, golden_tables(), run_id=run_id, restricted={"review_leads": golden_leads()}, **KW)


def test_year_files_written_two_at_a_time_and_checked_without_reading_them_back(tmp_path, monkeypatch):
    monkeypatch.setenv(WORKERS_ENV, "1")
    one = _publish(tmp_path / "one", "one")

    monkeypatch.setenv(WORKERS_ENV, "2")
    writers: set[str] = set()
    write = P._write

    def spy_write(frame, path):
        if "year=" in str(path):
            writers.add(threading.current_thread().name)
        return write(frame, path)

    read: list[Path] = []  # files whose rows Polars was asked to read
    for name in ("scan_parquet", "read_parquet"):
        real = getattr(pl, name)

        def spy(source, *args, _real=real, **kwargs):
            read.extend(Path(s) for s in (source if isinstance(source, (list, tuple)) else [source]) if isinstance(s, (str, Path)))
            return _real(source, *args, **kwargs)

        monkeypatch.setattr(pl, name, spy)
    monkeypatch.setattr(P, "_write", spy_write)
    two = _publish(tmp_path / "two", "two")

    assert len(writers) == 2 and all(w.startswith("lianjian-year") for w in writers), writers
    versions = tmp_path / "two" / layout.VERSIONS
    assert [p for p in read if versions in p.absolute().parents] == []  # no file of the new version read back
    # the same bytes, the same checks record and the same findings as one year at a time
    for part in ("published", "restricted"):
        assert parquet_bytes(tmp_path / "two", part) == parquet_bytes(tmp_path / "one", part)
    version_one, version_two = layout.current_version(tmp_path / "one"), layout.current_version(tmp_path / "two")
    assert (version_two / P.CHECKS).read_bytes() == (version_one / P.CHECKS).read_bytes()
    assert (two.schema, two.grades, two.identity_cells) == (one.schema, one.grades, one.identity_cells)
    monkeypatch.undo()
    # and the checks from memory are what reading each file finds
    record = P.read_json(version_two / P.CHECKS)
    for part, folder in ((P.LINK, version_two / P.LINK), (layout.RESTRICTED, version_two / layout.RESTRICTED)):
        assert record[part]
        for rel, found in record[part].items():
            table = rel.split("/", 1)[0]
            assert table in (RESTRICTED if part == layout.RESTRICTED else P.PUBLISHED)
            assert P.file_checks(table, folder / rel) == found, rel


def test_small_tables_published_side_by_side_give_the_same_version(tmp_path, monkeypatch):
    """``tables_at_once=2`` (a small landing zone: ``tables_at_once``) prepares two tables at the same
    time on the year threads; the files, the manifest's outputs, the checks record and the findings are
    those of one table after the other."""
    monkeypatch.setenv(WORKERS_ENV, "2")
    one = P.publish_tables(tmp_path / "one", golden_tables(), run_id="one", restricted={"review_leads": golden_leads()}, **KW)

    tables: dict[str, str] = {}  # table -> the thread that wrote it
    write_table = P.write_table

    def spy(table, *args, **kwargs):
        tables[table] = threading.current_thread().name
        return write_table(table, *args, **kwargs)

    monkeypatch.setattr(P, "write_table", spy)
    two = P.publish_tables(
        tmp_path / "two", golden_tables(), run_id="one", restricted={"review_leads": golden_leads()}, tables_at_once=2, **KW
    )
    assert set(tables) == set(P.OUTPUTS) and all(name.startswith("lianjian-year") for name in tables.values())
    assert len(set(tables.values())) == 2
    for part in ("published", "restricted"):
        assert parquet_bytes(tmp_path / "two", part) == parquet_bytes(tmp_path / "one", part)
    version_one, version_two = layout.current_version(tmp_path / "one"), layout.current_version(tmp_path / "two")
    assert (version_two / P.CHECKS).read_bytes() == (version_one / P.CHECKS).read_bytes()
    for part in (P.LINK, layout.RESTRICTED):
        manifests = [P.read_json(v / part / P.MANIFEST) for v in (version_one, version_two)]
        assert [m["outputs"] for m in manifests[1:]] == [manifests[0]["outputs"]]
    assert (two.rows, two.restricted_rows, two.schema, two.grades, two.identity_cells) == (
        one.rows, one.restricted_rows, one.schema, one.grades, one.identity_cells,
    )


def test_only_a_small_landing_zone_publishes_tables_side_by_side(tmp_path, monkeypatch):
    monkeypatch.setenv(WORKERS_ENV, "2")
    small = tmp_path / "small"
    small.mkdir()
    (small / "a.csv").write_bytes(b"x" * 1000)
    assert P.tables_at_once(small) == 2
    monkeypatch.setattr(P, "SIDE_BY_SIDE_UP_TO", 999)
    assert P.tables_at_once(small) == 1
    monkeypatch.setenv(WORKERS_ENV, "1")
    monkeypatch.setattr(P, "SIDE_BY_SIDE_UP_TO", 1 << 30)
    assert P.tables_at_once(small) == 1


def test_a_run_over_the_demo_zone_publishes_its_tables_side_by_side(demo_run, demo_landing, tmp_path, monkeypatch):
    """The publish step of a run over a small landing zone (the demo's) prepares its tables two at a
    time (``tables_at_once``), and publishes the files of the session's demo run."""
    from lianjian.runner import run_pipeline

    monkeypatch.setenv(WORKERS_ENV, "2")
    threads: dict[str, str] = {}
    write_table = P.write_table

    def spy(table, *args, **kwargs):
        threads[table] = threading.current_thread().name
        return write_table(table, *args, **kwargs)

    monkeypatch.setattr(P, "write_table", spy)
    rules = Path(__file__).resolve().parents[1] / "rules" / "default.yaml"
    outcome = run_pipeline(demo_landing, tmp_path / "wh", rules, progress=False, reports=False)
    assert outcome.success, outcome.failure
    assert set(threads) == set(P.OUTPUTS) and all(name.startswith("lianjian-year") for name in threads.values()), threads
    _, demo_warehouse = demo_run
    for part in ("published", "restricted"):
        assert parquet_bytes(tmp_path / "wh", part) == parquet_bytes(demo_warehouse, part)


def test_a_row_without_a_year_stops_publishing_its_table(tmp_path):
    """A yearly table's row whose year is empty belongs to no year file: publishing the table fails,
    naming it, instead of leaving the row out of every file."""
    tables = golden_tables()
    integrity = tables["integrity_assessment"]
    no_year = integrity.head(1).with_columns(pl.lit(None, dtype=integrity.schema["year"]).alias("year"))
    tables["integrity_assessment"] = pl.concat([integrity, no_year])
    with pytest.raises(FatalError, match="integrity_assessment.*没有年度"):
        P.publish_tables(tmp_path, tables, run_id="one", restricted={"review_leads": golden_leads()}, **KW)
