"""Restricted outputs (CONTRACT.md §3; R10 review leads): published with the rest in one switch, under
restricted/ only (files 0600, folders 0700), never in a BI-readable file; older warehouse layouts are
migrated by the first publish."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import polars as pl
import pytest
from support_publish import LEAD_MARKERS, golden_leads, golden_tables, parquet_bytes, publish_golden

from lianjian.contract import RESTRICTED
from lianjian.publish import layout
from lianjian.publish import publish as P
from lianjian.publish.restricted import read_restricted


def _mode(path: Path) -> int:
    return stat.S_IMODE(os.lstat(path).st_mode)


def bi_readable_text(warehouse: Path) -> dict[str, str]:
    """Every file a BI user can reach under published/ (links followed), as text; Parquet cells as JSON."""
    import pyarrow.parquet as pq

    out = {}
    root = (warehouse / "published").resolve()
    for p in sorted(root.rglob("*")):
        if not p.is_file():
            continue
        if p.suffix == ".parquet":
            out[str(p)] = json.dumps(pq.read_table(p).to_pylist(), ensure_ascii=False, default=str)
        else:
            out[str(p)] = p.read_bytes().decode("utf-8", errors="replace")
    return out


def test_leads_are_published_under_restricted_with_private_modes(tmp_path):
    publish_golden(tmp_path)
    part = tmp_path / "restricted" / "review_leads" / "year=2024" / "part-0.parquet"
    # the hive convention of the published tables: ``year`` in the folder name only
    assert pl.read_parquet(part).equals(golden_leads().drop("year"))
    assert read_restricted(tmp_path, "review_leads").collect().equals(golden_leads())
    # every folder of the restricted part 0700, every file 0600 — the persistent folder and the version's
    version = layout.current_version(tmp_path)
    for root in (tmp_path / "restricted", version / "restricted"):
        assert _mode(root) == 0o700
        for p in root.rglob("*"):
            if p.is_symlink():
                continue
            assert _mode(p) == (0o700 if p.is_dir() else 0o600), p
    # a year with no lead still has its (empty) partition, like the BI tables
    assert pl.read_parquet(tmp_path / "restricted" / "review_leads" / "year=2023" / "part-0.parquet").height == 0
    # the restricted manifest and dictionary sit beside it, not in published/
    m = json.loads((tmp_path / "restricted" / "_manifest.json").read_text(encoding="utf-8"))
    assert m["run_id"] == "golden" and [o["table"] for o in m["outputs"]] == list(RESTRICTED)
    d = json.loads((tmp_path / "restricted" / "_dictionary.json").read_text(encoding="utf-8"))
    assert [c["name"] for c in d["tables"]["review_leads"]["columns"]] == RESTRICTED["review_leads"].column_names


def test_no_lead_reaches_a_bi_readable_file(tmp_path):
    publish_golden(tmp_path)
    texts = bi_readable_text(tmp_path)
    assert any(p.endswith("_dictionary.json") for p in texts) and any(p.endswith(".parquet") for p in texts)
    for path, text in texts.items():
        for marker in LEAD_MARKERS:
            assert marker not in text, (path, marker)
    manifest = P.read_manifest(tmp_path)
    assert "review_leads" not in {o["table"] for o in manifest["outputs"]}
    assert not [p for p in (tmp_path / "published").resolve().rglob("*") if "review_leads" in p.name]
    assert_no_leads_in_duckdb(tmp_path)


def assert_no_leads_in_duckdb(warehouse: Path) -> None:
    """Any DuckDB database of the warehouse outside restricted/ (the BI views) names no restricted
    output: neither in its catalog nor anywhere in its bytes."""
    import duckdb

    for db in warehouse.rglob("*.duckdb"):
        if "restricted" in db.relative_to(warehouse).parts:
            continue
        assert b"review_leads" not in db.read_bytes(), db
        con = duckdb.connect(str(db), read_only=True)
        try:
            names = {r[0] for r in con.sql("SELECT table_name FROM information_schema.tables").fetchall()}
        finally:
            con.close()
        assert not names & set(RESTRICTED), db


def test_one_switch_for_both_parts(tmp_path):
    publish_golden(tmp_path, run_id="a")
    first = layout.current_version(tmp_path)
    publish_golden(tmp_path, run_id="b", variant=1)
    second = layout.current_version(tmp_path)
    assert first != second
    assert os.readlink(tmp_path / "published") == ".current/published"
    assert os.readlink(tmp_path / "restricted" / "review_leads") == "../.current/restricted/review_leads"
    assert os.readlink(tmp_path / ".current") == f".versions/{second.name}"
    assert read_restricted(tmp_path, "review_leads").collect().height == 2  # variant 1: two leads
    assert P.read_manifest(tmp_path)["run_id"] == "b"
    # the access log and other files of restricted/ are kept across versions
    (tmp_path / "restricted" / "access.log").write_text("x\n")
    publish_golden(tmp_path, run_id="c")
    assert (tmp_path / "restricted" / "access.log").read_text() == "x\n"
    assert read_restricted(tmp_path, "review_leads").collect().height == 1


def _old_layout(warehouse: Path) -> Path:
    """A warehouse as the code before restricted outputs left it: published -> .published/v…"""
    old = warehouse / ".published" / "v20250101T000000000000-old"
    part = old / "integrity_assessment" / "year=2024"
    part.mkdir(parents=True)
    golden_tables()["integrity_assessment"].write_parquet(part / "part-0.parquet")
    (old / "_manifest.json").write_text(json.dumps({"run_id": "old-layout", "outputs": []}), encoding="utf-8")
    os.symlink(Path(".published", old.name), warehouse / "published")
    return old


def test_an_old_layout_is_migrated_by_the_first_publish(tmp_path):
    old = _old_layout(tmp_path)
    with P.publish_lock(tmp_path):
        P.recover(tmp_path)  # nothing new to switch to: the old version keeps serving
    assert P.read_manifest(tmp_path)["run_id"] == "old-layout"
    publish_golden(tmp_path, run_id="first")
    assert P.read_manifest(tmp_path)["run_id"] == "first"
    assert os.readlink(tmp_path / "published") == ".current/published"
    assert (tmp_path / "restricted" / "review_leads" / "year=2024" / "part-0.parquet").is_file()
    assert old.is_dir()  # kept one more publish: a query that started on it still finds its files
    publish_golden(tmp_path, run_id="second")
    assert not (tmp_path / ".published").exists()
    assert parquet_bytes(tmp_path)  # and everything still readable


def test_a_run_killed_between_the_switch_and_the_links_is_completed_by_the_next(tmp_path):
    _old_layout(tmp_path)
    publish_golden(tmp_path, run_id="first")
    version = layout.current_version(tmp_path)
    # as if killed right after .current switched during the migration: links still old or missing
    (tmp_path / "published").unlink()
    os.symlink(".published/v20250101T000000000000-old", tmp_path / "published")
    (tmp_path / "restricted" / "review_leads").unlink()
    with P.publish_lock(tmp_path):
        P.recover(tmp_path)
    assert layout.current_version(tmp_path) == version
    assert P.read_manifest(tmp_path)["run_id"] == "first"
    assert read_restricted(tmp_path, "review_leads").collect().height == 1


@pytest.mark.parametrize("table", list(RESTRICTED))
def test_restricted_outputs_are_not_published_tables(table):
    from lianjian.contract import PUBLISHED
    from lianjian.publish.dictionary import build_dictionary

    assert table not in PUBLISHED
    assert table not in json.dumps(build_dictionary(), ensure_ascii=False)
