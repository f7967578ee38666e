"""End to end through Dagster: the staged assets materialize from a small landing zone, observing
the landing files; the conservation checks reported by the staging step pass (and fail when the
counts do not add up); the staged Parquet files hold the contract's tables."""

from __future__ import annotations

import dagster as dg
import polars as pl
from support_ingest import BASE, rows, write_landing

from assets import landing, staged
from checks.conservation import conservation_problems
from lianjian.contract import PUBLISHED, SOURCES
from pipelines.definitions import RESOURCES
from pipelines.resources import local_resources


def test_materialize_landing_and_staged(tmp_path):
    bad_talk = ["T9", "2024-13-01", "family", "", "P3", "", "", "", "是", ""]
    root = write_landing(tmp_path / "landing", {"talks": rows("talks", bad_talk, BASE["talks"][0])})
    wh = tmp_path / "warehouse"
    resources = dict(RESOURCES) | local_resources(landing=root, warehouse=wh)
    result = dg.materialize([*landing.LANDING, staged.staged_assets], resources=resources)
    assert result.success
    checks = result.get_asset_check_evaluations()
    assert len(checks) == len(SOURCES) and all(c.passed for c in checks)
    assert {c.check_name for c in checks} == {"rows_conserved"}
    talks_check = next(c for c in checks if c.asset_key == dg.AssetKey(["staged", "talks"]))
    assert talks_check.metadata["rows_read"].value == 4 and talks_check.description == "talks：4 = 2 + 1 + 1"
    # the landing files are observed, not copied: one observation per source, with each file's sha256
    observed = {
        e.asset_observation_data.asset_observation.asset_key: e.asset_observation_data.asset_observation
        for e in result.all_events
        if e.event_type_value == "ASSET_OBSERVATION"
    }
    assert set(observed) == {dg.AssetKey(["landing", n]) for n in SOURCES}
    talks_files = observed[dg.AssetKey(["landing", "talks"])].metadata["files"].value.records
    report_talks = pl.read_parquet(wh / "staged" / "ingest_report.parquet").filter(pl.col("source") == "talks")
    assert [r.data["sha256"] for r in talks_files] == report_talks["sha256"].to_list()
    assert observed[dg.AssetKey(["landing", "talks"])].tags["dagster/data_version"]
    assert not (wh / "landing").exists()

    talks = pl.read_parquet(wh / "staged" / "talks.parquet")
    assert talks.schema == SOURCES["talks"].staged_schema()
    assert talks["talk_id"].to_list() == ["T1", "T2"]
    rejected = pl.read_parquet(wh / "staged" / "rejected_records.parquet")
    assert rejected.schema == PUBLISHED["rejected_records"].schema()
    assert rejected.select("file", "row_number").rows() == [("talks.csv", 4)]
    report = pl.read_parquet(wh / "staged" / "ingest_report.parquet").filter(pl.col("source") == "talks")
    # 4 rows read: T1, T2 accepted, T9 rejected (bad date), T1 again exactly: a duplicate
    assert report.select("rows_read", "rows_accepted", "rows_rejected", "rows_duplicate").row(0) == (4, 2, 1, 1)
    # no identity number in any Parquet file the run wrote
    for path in wh.rglob("*.parquet"):
        assert b"11010519491231002X" not in path.read_bytes()
    # nor in any file of the warehouse's file cache, where the cells are kept masked
    cached = [p for p in (wh / ".cache").rglob("*") if p.is_file()]
    assert cached and all(b"11010519491231002X" not in p.read_bytes() for p in cached)
    assert all(p.stat().st_mode & 0o777 == 0o600 for p in cached)
    assert all(p.stat().st_mode & 0o777 == 0o700 for p in (wh / ".cache").rglob("*") if p.is_dir())


def test_staged_lineage_follows_references():
    from pipelines.definitions import defs

    graph = defs.resolve_asset_graph()
    parents = graph.get(dg.AssetKey(["staged", "talks"])).parent_keys
    assert dg.AssetKey(["staged", "personnel"]) in parents
    assert dg.AssetKey(["staged", "personnel_events"]) in parents
    assert dg.AssetKey(["landing", "talks"]) in parents
    personnel = graph.get(dg.AssetKey(["staged", "personnel"])).parent_keys
    assert dg.AssetKey(["staged", "units"]) in personnel and dg.AssetKey(["landing", "departments"]) in personnel
    assert dg.AssetKey(["staged", "personnel"]) in graph.get(dg.AssetKey(["staged", "departments"])).parent_keys


def test_conservation_check_fails_loudly():
    report = pl.DataFrame(
        {"source": ["talks"], "file": ["talks.csv"], "sha256": ["x"], "rows_read": [5], "rows_accepted": [2], "rows_rejected": [1], "rows_duplicate": [1]}
    )
    problems = conservation_problems("talks", report, staged_rows=2, rejected_rows=1)
    assert problems == ["talks.csv: 读取 5 ≠ 接收 2 + 拒收 1 + 重复 1 (rows read ≠ accepted + rejected + duplicates)"]
    assert conservation_problems("talks", report, staged_rows=3, rejected_rows=0)[1:] == [
        "talks: 报告接收 2 行，暂存表有 3 行 (staged rows ≠ accepted)",
        "talks: 报告拒收 1 行，拒收记录有 0 行 (rejected_records ≠ rejected)",
    ]


def test_reference_order_is_a_dag_with_one_exception():
    from lianjian.ingest import reference_order, upstream

    order = reference_order()
    assert sorted(order) == sorted(SOURCES)
    for name in order:
        before, after = upstream(name)
        assert all(order.index(t) < order.index(name) for t in before)
        # the only reference to a source staged later: personnel.dept_code -> departments
        assert after == ({"departments"} if name == "personnel" else set())
    assert order.index("units") < order.index("personnel") < order.index("departments") < order.index("personnel_events") < order.index("talks")


def test_a_conservation_failure_fails_the_staging_step(tmp_path, monkeypatch):
    """The check is blocking: when one source's counts do not add up the staging step fails (so the
    run fails and nothing is assessed or published), and the failed check is recorded with its reason."""
    import checks.conservation as conservation

    real = conservation.conservation_problems

    def broken(source, report, staged_rows, rejected_rows):
        return ["talks.csv: 读取 5 ≠ 接收 2 + 拒收 1 + 重复 1"] if source == "talks" else real(source, report, staged_rows, rejected_rows)

    monkeypatch.setattr(conservation, "conservation_problems", broken)
    root = write_landing(tmp_path / "landing")
    resources = dict(RESOURCES) | local_resources(landing=root, warehouse=tmp_path / "warehouse")
    result = dg.materialize([*landing.LANDING, staged.staged_assets], resources=resources, raise_on_error=False)
    assert not result.success
    failed = [c for c in result.get_asset_check_evaluations() if not c.passed]
    assert [(c.asset_key, c.check_name, c.severity) for c in failed] == [
        (dg.AssetKey(["staged", "talks"]), "rows_conserved", dg.AssetCheckSeverity.ERROR)
    ]
    assert failed[0].description.startswith("talks.csv: 读取 5")


def test_conservation_counts_each_file_of_its_source_only():
    """The counts are a source's own files' (the report's other sources left out), a missing count
    left out of the sums as Polars' sum leaves it, and a file with a missing count not called broken."""
    from checks.conservation import conservation_result

    report = pl.DataFrame(
        {
            "source": ["cases", "talks", "talks", "talks"],
            "file": ["cases.csv", "talks/2023.csv", "talks/2024.csv", "talks/2025.csv"],
            "sha256": ["a", "b", "c", "d"],
            "rows_read": [9, 4, 3, None],
            "rows_accepted": [9, 3, 1, 0],
            "rows_rejected": [0, 1, 1, 0],
            "rows_duplicate": [0, 0, 0, 0],
        }
    )
    assert conservation_problems("talks", report, staged_rows=4, rejected_rows=2) == [
        "talks/2024.csv: 读取 3 ≠ 接收 1 + 拒收 1 + 重复 0 (rows read ≠ accepted + rejected + duplicates)"
    ]
    result = conservation_result("talks", report, staged_rows=4, rejected_rows=2)
    assert not result.passed
    assert {k: v.value for k, v in result.metadata.items()} == {"rows_read": 7, "rows_accepted": 4, "rows_rejected": 2, "rows_duplicate": 0}
    assert conservation_result("cases", report, staged_rows=9, rejected_rows=0).description == "cases：9 = 9 + 0 + 0"
    empty = conservation_result("units", report, staged_rows=0, rejected_rows=0)
    assert empty.passed and empty.description == "units：0 = 0 + 0 + 0"
