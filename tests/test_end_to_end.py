"""The whole job through Dagster on the demo data, as `lianjian demo` runs it: every source staged with
nothing lost, assessments published and readable by DuckDB, a blocking data-quality failure stopping
the assessment and publishing with the previous version untouched."""

import hashlib
import json
import shutil
from pathlib import Path

import duckdb
import polars as pl
import pytest

from lianjian.cli import main
from lianjian.contract import PUBLISHED, SOURCES

ROOT = Path(__file__).resolve().parents[1]
RULES = ROOT / "rules" / "default.yaml"


def test_demo_run_succeeds_and_conserves_every_row(demo_run):
    outcome, warehouse = demo_run
    assert outcome.success, outcome.failure
    manifest = json.loads((warehouse / "published" / "_manifest.json").read_text(encoding="utf-8"))
    assert {i["source"] for i in manifest["inputs"]} == set(SOURCES)
    for entry in manifest["inputs"]:
        assert entry["rows_read"] == entry["rows_accepted"] + entry["rows_rejected"] + entry["rows_duplicate"], entry
    # the demo carries deliberately bad rows: they are quarantined, not lost
    rejected = duckdb.sql(f"select count(*) from read_parquet('{warehouse}/published/rejected_records/*.parquet')").fetchall()[0][0]
    assert rejected == sum(i["rows_rejected"] for i in manifest["inputs"]) > 0
    assert sum(i["rows_duplicate"] for i in manifest["inputs"]) >= 1


def test_every_staged_source_materialized_with_contract_schema(demo_run):
    _, warehouse = demo_run
    for name, src in SOURCES.items():
        frame = pl.read_parquet(warehouse / "staged" / f"{name}.parquet")
        assert frame.schema == src.staged_schema(), name
        assert frame.height > 0, name


def test_duckdb_reads_published_assessments(demo_run):
    _, warehouse = demo_run
    con = duckdb.connect()
    for table in ("integrity_assessment", "responsibility_assessment", "accountability_triggers", "talk_obligations"):
        rel = con.sql(f"select * from read_parquet('{warehouse}/published/{table}/**/*.parquet', hive_partitioning=true)")
        assert set(PUBLISHED[table].column_names) <= set(rel.columns), table
        assert rel.count("*").fetchall()[0][0] > 0, table
    grades = {g for (g,) in con.sql(f"select distinct grade from read_parquet('{warehouse}/published/integrity_assessment/**/*.parquet', hive_partitioning=true) where grade is not null").fetchall()}
    assert grades <= {"好", "较好", "一般", "较差"} and "较差" in grades
    # the demo's rare paths reach the triggers: 连续两年较差 and 一案双查 both occur
    kinds = {k for (k,) in con.sql(f"select distinct trigger_type from read_parquet('{warehouse}/published/accountability_triggers/**/*.parquet', hive_partitioning=true)").fetchall()}
    assert {"consecutive_poor", "one_case_two_investigations", "repeat_serious_violation"} <= kinds


def _digest(folder: Path) -> dict[str, str]:
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.rglob("*")) if p.is_file()}


def test_blocking_check_stops_assessment_and_publishing(demo_run, demo_landing, tmp_path, capsys):
    """Two party secretaries in one unit-year fail a blocking check: `lianjian run` exits non-zero naming
    it, the assessment is not computed, and the published version of the previous run (the session's
    demo run, on a copy of its warehouse) is unchanged."""
    outcome, demo_warehouse = demo_run
    assert outcome.success
    landing = tmp_path / "landing"
    shutil.copytree(demo_landing, landing)
    warehouse = tmp_path / "wh"
    shutil.copytree(demo_warehouse, warehouse, symlinks=True)  # links kept: published -> .current/…
    args = ["run", "--landing", str(landing), "--warehouse", str(warehouse), "--rules", str(RULES)]
    before = _digest((warehouse / "published").resolve())
    assessed_mtime = (warehouse / "assessed" / "integrity_assessment" / "2025.parquet").stat().st_mtime_ns
    capsys.readouterr()

    # flag a second active person of one unit-year as 党组书记 (the personnel file has Chinese headers)
    path = landing / "personnel.csv"
    raw = path.read_bytes()
    text = raw.decode("utf-8-sig")
    lines = text.splitlines()
    header = lines[0].split(",")
    col = header.index("党组书记")
    for i, line in enumerate(lines[1:], start=1):
        cells = line.split(",")
        if cells[col] in ("否", "") and "在岗" in cells:
            cells[col] = "是"
            lines[i] = ",".join(cells)
            break
    else:
        pytest.fail("no active non-secretary row to flag")
    path.write_text("\ufeff" + "\n".join(lines) + "\n", encoding="utf-8")

    assert main(args) == 1
    err = capsys.readouterr().err
    last = err.strip().splitlines()[-1]
    assert "one_party_secretary_per_unit_year" in last and "2 处不符" in last  # the check and its failing count
    assert _digest((warehouse / "published").resolve()) == before
    assert (warehouse / "assessed" / "integrity_assessment" / "2025.parquet").stat().st_mtime_ns == assessed_mtime


def test_a_failed_blocking_suite_lets_the_scoring_run_and_stops_publishing(demo_run, demo_landing, tmp_path, capsys, monkeypatch):
    """The staged tables' suites block publishing, not the scoring (checks/quality.py): the publish step
    asks them once its new version is written, just before the switch, and the suites' check step
    reports them after it. A failed blocking suite (here cases': one of its expectations made to fail
    with 2 rows) lets the year's assessment be computed again, stops publishing (the previous version
    stays live, byte for byte, and the version written for the switch is removed), exits 1 and names
    the check, which the suites' step still reports."""
    import dataclasses

    from lianjian.quality import checks as quality_checks

    outcome, demo_warehouse = demo_run
    assert outcome.success
    warehouse = tmp_path / "wh"
    shutil.copytree(demo_warehouse, warehouse, symlinks=True)  # links kept: published -> .current/…
    before = _digest((warehouse / "published").resolve())
    assessed = warehouse / "assessed" / "integrity_assessment" / "2025.parquet"
    assessed_mtime = assessed.stat().st_mtime_ns
    real = quality_checks.validate_cached

    def broken(src, frame, cache_dir, **kwargs):
        result = real(src, frame, cache_dir, **kwargs)
        if src != "cases":
            return result
        first = next(i for i, e in enumerate(result.expectations) if e.check is None)
        failed = dataclasses.replace(result.expectations[first], success=False, unexpected_count=2, share=2 / result.rows)
        return dataclasses.replace(result, success=False, expectations=[*result.expectations[:first], failed, *result.expectations[first + 1 :]])

    monkeypatch.setattr(quality_checks, "validate_cached", broken)
    import lianjian.report.ahead as ahead

    waits: list[bool] = []
    real_wait = ahead._Making.wait_read
    monkeypatch.setattr(ahead._Making, "wait_read", lambda self, switching: waits.append(switching) or real_wait(self, switching))
    reports = _stats(warehouse / "reports")
    capsys.readouterr()
    args = ["run", "--landing", str(demo_landing), "--warehouse", str(warehouse), "--rules", str(RULES), "--years", "2025"]
    assert main(args) == 1
    err = capsys.readouterr().err
    last = err.strip().splitlines()[-1]
    assert "cases_contract_suite" in last and "2 处不符" in last and "考核已计算但未发布" in last
    assert "✓ 完成 assessed__integrity_assessment" in err and "✓ 完成 staged_contract_suites" in err
    assert err.index("✓ 完成 assessed__integrity_assessment") < err.index("▶ 开始 publish") < err.index("▶ 开始 staged_contract_suites")
    assert assessed.stat().st_mtime_ns != assessed_mtime  # the scoring ran
    assert _digest((warehouse / "published").resolve()) == before  # nothing published
    from lianjian.publish.layout import versions_dir

    # the version written for the switch is gone (it was there: the gate is asked once it is written)
    assert not [p.name for p in versions_dir(warehouse).iterdir() if p.name.startswith(".tmp")]
    # its reports were made while the gate waited, and dropped: not one report file written or touched
    assert waits == [False] and _stats(warehouse / "reports") == reports


def _stats(reports: Path) -> dict[str, tuple[int, int, int]]:
    """Every file under ``reports/`` but the suites' (Data Docs, cache): inode, size, mtime."""
    return {
        p.relative_to(reports).as_posix(): (p.stat().st_ino, p.stat().st_size, p.stat().st_mtime_ns)
        for p in sorted(reports.rglob("*"))
        if p.is_file() and p.relative_to(reports).parts[0] not in ("data_docs", "gx_cache")
    }


def test_a_demo_run_writes_the_reports_made_while_publish_waited_for_the_suites(recorded):
    """On the demo (a small zone, steps in one process), the publish step made the yearly reports from
    its new version while it waited for the suites, and the reports step only wrote them
    (lianjian/report/ahead.py; the same files as the usual way: tests/test_report_ahead.py)."""
    import dagster as dg

    home, warehouse, outcome = recorded
    with dg.DagsterInstance.from_config(str(home)) as instance:
        said = [e.user_message for e in instance.all_logs(outcome.run_ids[-1]) if e.step_key == "reports" and e.user_message]
    assert any("made before the switch" in m for m in said), said
    assert (warehouse / "reports" / "index.html").is_file()
