"""Publishing (CONTRACT.md §3, issue 5): readable by DuckDB and PyArrow with the contract's columns and
types; byte-identical on identical inputs; atomic under SIGKILL; no identity-card number anywhere."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from pathlib import Path

import duckdb
import polars as pl
import pyarrow as pa
import pyarrow.dataset as ds
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lianjian.contract import ENUMS, PUBLISHED, RESTRICTED
from lianjian.publish import publish as P
from lianjian.publish.dictionary import build_dictionary
from lianjian.privacy import mask_frame
from support_publish import (
    ID_A,
    ID_B,
    find_id_numbers,
    golden_tables,
    is_id_number,
    parquet_bytes,
    evidence_rows,
    publish_golden,
    scan_tree,
)

TESTS = Path(__file__).parent

# Contract type -> what DuckDB and PyArrow must report (written here, not taken from the code).
DUCK = {"str": "VARCHAR", "enum": "VARCHAR", "int": "BIGINT", "dec": "DOUBLE", "date": "DATE", "bool": "BOOLEAN", "list[str]": "VARCHAR[]"}
ARROW = {
    "str": (pa.string(), pa.large_string()),
    "enum": (pa.string(), pa.large_string()),
    "int": (pa.int64(),),
    "dec": (pa.float64(),),
    "date": (pa.date32(),),
    "bool": (pa.bool_(),),
    "list[str]": (pa.list_(pa.string()), pa.large_list(pa.large_string()), pa.large_list(pa.string())),
}

# Row counts of the golden tables (tests/support_publish.py): 6 integrity rows (4 in 2024, 2 in 2023),
# 6 subject rows (5 in 2024, 1 in 2023), 2 triggers, 2 obligations, 1 case-quality row, 2 R5 rows, 1 R7 row,
# 2 R9 rows, the evidence rows of support_publish.evidence_rows(), 2 rejected, 3 units, 2 departments (one
# per year), and in ``codes`` one row per code of every enumeration column.
GOLDEN_ROWS = {
    "integrity_assessment": 6,
    "responsibility_assessment": 6,
    "accountability_triggers": 2,
    "talk_obligations": 2,
    "case_quality": 1,
    "leader_case_handling": 2,
    "major_matter_report_stats": 1,
    "major_matter_report_monthly": 2,
    "assessment_evidence": len(evidence_rows()),
    "rejected_records": 2,
    "units": 3,
    "departments": 2,
    "codes": sum(len(c.codes()) for t in PUBLISHED.values() for c in t.columns),
}


@pytest.fixture(scope="module")
def golden(tmp_path_factory) -> Path:
    wh = tmp_path_factory.mktemp("golden")
    publish_golden(wh)
    return wh


def test_duckdb_reads_every_table_with_contract_columns_and_types(golden):
    con = duckdb.connect()
    for name, t in PUBLISHED.items():
        glob = golden / "published" / name / "**" / "*.parquet"
        rel = con.sql(f"SELECT * FROM read_parquet('{glob}', hive_partitioning=true)")
        got = [(c, str(ty)) for c, ty in zip(rel.columns, rel.types)]
        # the hive convention: year is not in the files, DuckDB adds it from the folder names, last
        want = [(c.name, DUCK[c.kind]) for c in t.columns if not (t.yearly and c.name == "year")]
        assert got == want + ([("year", "BIGINT")] if t.yearly else []), name
        assert len(rel.fetchall()) == GOLDEN_ROWS[name], name
    # year comes back as an integer from the partition path
    years = con.sql(
        f"SELECT DISTINCT year FROM read_parquet('{golden}/published/integrity_assessment/**/*.parquet', hive_partitioning=true) ORDER BY 1"
    ).fetchall()
    assert years == [(2023,), (2024,)]
    # grades are the Chinese level names; enumerations the English codes
    grades = con.sql(
        f"SELECT person_id, grade, status, position FROM read_parquet('{golden}/published/integrity_assessment/year=2024/*.parquet') ORDER BY 1"
    ).fetchall()
    assert grades[0] == ("P001", "一般", "graded", "prosecutor")


def test_pyarrow_dataset_reads_every_table(golden):
    for name, t in PUBLISHED.items():
        root = golden / "published" / name
        part = ds.partitioning(pa.schema([("year", pa.int64())]), flavor="hive") if t.yearly else None
        table = ds.dataset(root, format="parquet", partitioning=part).to_table()
        assert sorted(table.column_names) == sorted(t.column_names), name  # year (from the folders) comes last
        for c in t.columns:
            assert table.schema.field(c.name).type in ARROW[c.kind], (name, c.name, table.schema.field(c.name).type)
        assert table.num_rows == GOLDEN_ROWS[name]
    # every yearly table has a partition for every year of the run, empty or not
    assert sorted(p.name for p in (golden / "published" / "accountability_triggers").iterdir()) == ["year=2023", "year=2024"]


def test_two_runs_on_the_same_inputs_are_byte_identical(tmp_path):
    a, b = tmp_path / "a", tmp_path / "b"
    publish_golden(a, run_id="run-a")
    publish_golden(b, run_id="run-b", shuffle=7)  # same rows arriving in another order
    pa_, pb = parquet_bytes(a), parquet_bytes(b)
    assert len(pa_) == 10 * 2 + 3  # 10 yearly tables × 2 years + rejected_records, units, codes = 23 files
    assert pa_ == pb
    assert (a / "published" / "_dictionary.json").read_bytes() == (b / "published" / "_dictionary.json").read_bytes()
    ma, mb = P.read_manifest(a), P.read_manifest(b)
    assert ma["run_id"] == "run-a" and mb["run_id"] == "run-b"
    assert ma["outputs"] == mb["outputs"]  # per-file sha256 included
    # publishing again into the same warehouse keeps the bytes too
    publish_golden(a, run_id="run-c", shuffle=3)
    assert parquet_bytes(a) == pa_


def test_a_changed_input_changes_the_manifest(tmp_path):
    publish_golden(tmp_path / "a")
    publish_golden(tmp_path / "b", sha="d" * 64, variant=1)
    ma, mb = P.read_manifest(tmp_path / "a"), P.read_manifest(tmp_path / "b")
    assert ma["inputs"][1]["sha256"] == "a" * 64 and mb["inputs"][1]["sha256"] == "d" * 64
    files = lambda m: {f["path"]: f["sha256"] for o in m["outputs"] for f in o["files"]}  # noqa: E731
    changed = {p for p in files(ma) if files(ma)[p] != files(mb)[p]}
    assert changed == {"integrity_assessment/year=2024/part-0.parquet"}  # only P001's 2024 self score changed


def test_manifest_names_run_rules_inputs_and_outputs(golden):
    m = json.loads((golden / "published" / "_manifest.json").read_text(encoding="utf-8"))
    assert m["run_id"] == "golden"
    assert m["code_version"] == "test"
    assert m["rules_version"] == "2026.1" and m["rules_sha256"] == "c" * 64
    assert m["time"][:2] == "20" and "T" in m["time"]
    # inputs sorted by (source, file): cases before personnel
    assert m["inputs"] == [
        {"source": "cases", "file": "cases/2024-01.xlsx", "sha256": "b" * 64, "rows_read": 5, "rows_accepted": 4,
         "rows_rejected": 1, "rows_duplicate": 0},
        {"source": "personnel", "file": "personnel.csv", "sha256": "a" * 64, "rows_read": 10, "rows_accepted": 8,
         "rows_rejected": 1, "rows_duplicate": 1},
    ]
    assert {o["table"]: o["rows"] for o in m["outputs"]} == GOLDEN_ROWS
    for o in m["outputs"]:  # the manifest matches what is on disk
        for f in o["files"]:
            assert P.sha256_file(golden / "published" / f["path"]) == f["sha256"]


def test_dictionary_covers_every_table_column_and_code(golden):
    d = json.loads((golden / "published" / "_dictionary.json").read_text(encoding="utf-8"))
    assert d == build_dictionary()
    assert list(d["tables"]) == list(PUBLISHED)
    for name, t in PUBLISHED.items():
        cols = d["tables"][name]["columns"]
        assert [c["name"] for c in cols] == t.column_names
        assert all(c["zh"] for c in cols)
    status = next(c for c in d["tables"]["integrity_assessment"]["columns"] if c["name"] == "status")
    assert status["codes"] == {"graded": "已评定", "incomplete": "材料不全", "signoff_pending": "待签字"}
    position = next(c for c in d["tables"]["integrity_assessment"]["columns"] if c["name"] == "position")
    assert position["codes"]["chief"] == "检察长" and len(position["codes"]) == len(ENUMS["position"].codes)
    # lineage: followed down to staged columns (talk_obligations.fulfilled -> talks.*)
    duty = d["lineage"]["responsibility_assessment.duty_score"]
    assert "talk_obligations.fulfilled" in duty["direct"]
    assert "talks.witness_id" in duty["staged"] and "talk_obligations.fulfilled" not in duty["staged"]
    assert "id_number" not in json.dumps(d["staged_sources"])


def test_publish_summary(golden):
    s = P.publish_summary(golden)
    assert s["outputs"] == GOLDEN_ROWS
    # integrity: 2024 一般 P001, 较好 P002, 一般 P003, none P005; 2023 好 P001, 较差 P002
    assert s["grades"]["integrity_assessment"] == {"好": 1, "较好": 1, "一般": 2, "较差": 1, "未评定": 1}
    assert s["grades_by_year"]["integrity_assessment"][2024] == {"好": 0, "较好": 1, "一般": 2, "较差": 0, "未评定": 1}
    # responsibility 2024: 较好 party group, 一般 secretary and leader, 好 dept head, 较差 discipline group;
    # 2023: 较差 discipline group
    assert s["grades"]["responsibility_assessment"] == {"好": 1, "较好": 1, "一般": 2, "较差": 2, "未评定": 0}
    assert s["triggers"] == {"consecutive_poor": 1, "repeat_serious_violation": 0, "one_case_two_investigations": 1}
    assert s["rejected"] == {"cases": 1, "personnel": 1}
    assert s["inputs"] == {"files": 2, "rows_read": 15, "rows_rejected": 2, "rows_duplicate": 1}


# --------------------------------------------------------------------------------------------------
# Atomicity: SIGKILL at several points

KILL_SCRIPT = """
import os, signal, sys
from pathlib import Path
sys.path.insert(0, {tests!r})
import lianjian.publish.publish as P
from support_publish import publish_golden
step = sys.argv[2]
P.CHECKPOINT_HOOK = lambda name: os.kill(os.getpid(), signal.SIGKILL) if name == step else None
publish_golden(Path(sys.argv[1]), run_id="killed", variant=1)
"""

STEPS = ["started", "table:integrity_assessment", "table:case_quality", "table:rejected_records", "table:restricted", "written", "renamed", "swapped", "database"]


def _consistent(wh: Path) -> dict:
    """Every table readable by DuckDB and the manifest equal to what is on disk; returns the manifest."""
    m = P.read_manifest(wh)
    con = duckdb.connect()
    for o in m["outputs"]:
        n = con.sql(
            f"SELECT count(*) FROM read_parquet('{wh}/published/{o['table']}/**/*.parquet', hive_partitioning=true)"
        ).fetchall()[0][0]
        assert n == o["rows"], o["table"]
        for f in o["files"]:
            assert P.sha256_file(wh / "published" / f["path"]) == f["sha256"]
    return m


def test_sigkill_during_publishing_leaves_the_previous_version_whole(tmp_path):
    reference = tmp_path / "reference"
    publish_golden(reference, run_id="uninterrupted", variant=1)
    expected_new = parquet_bytes(reference)
    expected_leads = parquet_bytes(reference, "restricted")
    script = tmp_path / "kill.py"
    script.write_text(KILL_SCRIPT.format(tests=str(TESTS)))
    for step in STEPS:
        wh = tmp_path / step.replace(":", "_")
        publish_golden(wh, run_id="old")
        old, old_leads = parquet_bytes(wh), parquet_bytes(wh, "restricted")
        assert old_leads != expected_leads  # variant 1 adds a lead: the switch is visible in both folders
        proc = subprocess.run([sys.executable, str(script), str(wh), step], capture_output=True, timeout=120)
        assert proc.returncode == -signal.SIGKILL, (step, proc.stderr.decode()[-500:])
        m = _consistent(wh)
        if step in ("swapped", "database"):  # killed after the switch: the new version is whole
            assert m["run_id"] == "killed" and parquet_bytes(wh) == expected_new
            assert parquet_bytes(wh, "restricted") == expected_leads
        else:  # the BI tables and the restricted ones still of the same (old) run
            assert m["run_id"] == "old" and parquet_bytes(wh) == old, step
            assert parquet_bytes(wh, "restricted") == old_leads, step
        # the next run cleans up and equals an uninterrupted run
        publish_golden(wh, run_id="next", variant=1)
        assert parquet_bytes(wh) == expected_new
        assert parquet_bytes(wh, "restricted") == expected_leads
        assert _consistent(wh)["run_id"] == "next"
        leftovers = [p.name for p in (wh / ".versions").iterdir() if p.name.startswith(".tmp-")]
        assert leftovers == [], step
        assert [p.name for p in wh.iterdir() if p.name.startswith(".lianjian.duckdb")] == [], step
        assert duckdb.connect(str(wh / "lianjian.duckdb"), read_only=True).execute("SELECT count(*) FROM units").fetchall() == [(3,)]
        assert len([p for p in (wh / ".versions").iterdir() if p.name.startswith("v")]) <= 2


def test_what_is_asked_before_the_switch_sees_the_new_version_written_and_can_stop_it(tmp_path):
    """``before_switch`` (the publish step's gate of the blocking suites) is called once the new
    version is written, before it becomes current; when it raises, the error reaches the caller, the
    previous version stays live byte for byte, the written version is removed and the lock released."""
    wh = tmp_path / "wh"
    publish_golden(wh, run_id="old")
    old, old_leads = parquet_bytes(wh), parquet_bytes(wh, "restricted")
    seen = []

    class Refused(Exception):
        pass

    def refuse():
        written = [p for p in (wh / ".versions").iterdir() if p.name.startswith(".tmp-")]
        seen.append(sorted(f.relative_to(written[0]).as_posix() for f in written[0].rglob("*.parquet")))
        raise Refused("a blocking suite failed")

    with pytest.raises(Refused):
        publish_golden(wh, run_id="refused", variant=1, before_switch=refuse)
    assert len(seen) == 1 and len([f for f in seen[0] if f.startswith("published/")]) == len(parquet_bytes(wh))
    assert parquet_bytes(wh) == old and parquet_bytes(wh, "restricted") == old_leads
    assert P.read_manifest(wh)["run_id"] == "old"
    assert [p.name for p in (wh / ".versions").iterdir() if p.name.startswith(".tmp-")] == []
    # the lock was released: the next publish goes through, and a gate that passes lets it switch
    asked = []
    publish_golden(wh, run_id="next", variant=1, before_switch=lambda: asked.append(P.read_manifest(wh)["run_id"]))
    assert asked == ["old"]  # asked before the switch
    assert P.read_manifest(wh)["run_id"] == "next" and parquet_bytes(wh) != old


def test_work_beside_the_gate_reads_the_new_version_and_is_waited_for_before_it_moves(tmp_path):
    """``beside_gate`` is called just before ``before_switch`` with the new version's published folder
    (written: its manifest names the version) and the version's name; the function it returns is called
    once the gate is done — True while the folder is still there and the previous version live, before
    the switch; False when the gate refused, before the folder is removed."""
    wh = tmp_path / "wh"
    publish_golden(wh, run_id="old")
    events: list = []

    def beside(folder, version):
        manifest = json.loads((folder / "_manifest.json").read_text(encoding="utf-8"))
        events.append(("beside", manifest["version"] == version, P.read_manifest(wh)["run_id"]))
        return lambda switching: events.append(("wait", switching, folder.is_dir(), P.read_manifest(wh)["run_id"]))

    result = publish_golden(wh, run_id="new", variant=1, before_switch=lambda: events.append(("gate",)), beside_gate=beside)
    assert events == [("beside", True, "old"), ("gate",), ("wait", True, True, "old")]
    assert P.read_manifest(wh)["version"] == result.version

    events.clear()

    def refuse():
        raise RuntimeError("a blocking suite failed")

    with pytest.raises(RuntimeError):
        publish_golden(wh, run_id="refused", variant=2, before_switch=refuse, beside_gate=beside)
    assert events == [("beside", True, "new"), ("wait", False, True, "new")]
    assert [p.name for p in (wh / ".versions").iterdir() if p.name.startswith(".tmp-")] == []


def test_recover_turns_a_plain_published_folder_into_a_version(tmp_path):
    old = tmp_path / "published" / "integrity_assessment" / "year=2024"
    old.mkdir(parents=True)
    golden_tables()["integrity_assessment"].write_parquet(old / "old.parquet")
    with P.publish_lock(tmp_path):
        P.recover(tmp_path)
    assert (tmp_path / "published").is_symlink()
    assert (tmp_path / "published" / "integrity_assessment" / "year=2024" / "old.parquet").is_file()
    publish_golden(tmp_path)
    assert not (tmp_path / "published" / "integrity_assessment" / "year=2024" / "old.parquet").exists()


# --------------------------------------------------------------------------------------------------
# Privacy


def test_identity_numbers_are_masked_everywhere_they_could_hide():
    assert is_id_number(ID_A) and ID_A.endswith("X") and is_id_number(ID_B)
    lf = pl.LazyFrame(
        {
            "a": [f"{ID_A},{ID_B}", f"身份证{ID_A}号", "C12345678901234", None],
            "l": [[ID_B, "x"], [], None, [f"({ID_A.lower()})"]],
            "n": [1, 2, 3, 4],
        }
    )
    out = mask_frame(lf).collect()
    a, b = ID_A[:4] + "*" * 14, ID_B[:4] + "*" * 14  # the first 4 characters stay (lianjian.privacy)
    # a run of 14 digits is no identity number; 15 or more is
    assert out["a"].to_list() == [f"{a},{b}", f"身份证{a}号", "C12345678901234", None]
    assert out["l"].to_list() == [[b, "x"], [], None, [f"({a.lower()})"]]


def test_no_identity_number_in_published_files_rejected_rows_metadata_or_logs(tmp_path, capfd, caplog, monkeypatch):
    import dagster as dg

    from assets.published import publish
    from lianjian.publish.layers import INGEST_REPORT_KEY, upstream_key
    from pipelines.resources import local_resources
    from support_publish import ingest_report

    tables = golden_tables()
    # an identity number typed into a name cell, and one left unmasked in a rejected raw row
    tables["integrity_assessment"] = tables["integrity_assessment"].with_columns(
        pl.when(pl.col("person_id") == "P005").then(pl.lit(f"孙七 {ID_A}")).otherwise(pl.col("name")).alias("name")
    )

    def stub(key, df):
        @dg.asset(key=list(key))
        def _stub() -> pl.DataFrame:
            return df

        return _stub

    from support_publish import golden_leads

    tables["review_leads"] = golden_leads()
    stubs = [stub(upstream_key(t), df) for t, df in tables.items()] + [stub(INGEST_REPORT_KEY, ingest_report())]
    wh = tmp_path / "wh"
    # the publish step asks the staged tables' suites first (lianjian/quality/gate.py, tested in
    # tests/test_quality_dagster.py): these stub tables are not a whole load
    monkeypatch.setattr("lianjian.quality.gate.require_suites_passed", lambda warehouse: None)
    instance = dg.DagsterInstance.ephemeral()
    res = dg.materialize(
        [*stubs, publish],
        instance=instance,
        resources=local_resources(warehouse=wh, rules=TESTS.parent / "rules" / "default.yaml"),
    )
    assert res.success
    assert all(c.passed for c in res.get_asset_check_evaluations())
    assert len(res.get_asset_check_evaluations()) == 2 * (len(PUBLISHED) + len(RESTRICTED))
    assert scan_tree(wh / "published") == []
    rej = pl.read_parquet(wh / "published" / "rejected_records" / "part-0.parquet")
    assert ID_B[:4] + "*" * 14 in rej.filter(pl.col("source") == "cases")["raw"][0]
    # the run's own logs and event log (metadata included)
    events = instance.all_logs(res.run_id)
    text = "\n".join(str(e) for e in events) + capfd.readouterr().err + caplog.text
    published_events = [
        e for e in events if e.dagster_event and e.dagster_event.asset_key and e.dagster_event.asset_key.path[0] == "published"
    ]
    assert published_events, "the published materializations are in the event log"
    assert find_id_numbers(text) == []
    rows = {e.dagster_event.asset_key.path[1]: e.dagster_event.step_materialization_data.materialization.metadata["dagster/row_count"].value
            for e in published_events if e.dagster_event.is_step_materialization}
    assert rows == GOLDEN_ROWS
    private = [e for e in events if e.dagster_event and e.dagster_event.is_step_materialization
               and e.dagster_event.asset_key.path == ["restricted", "review_leads"]]
    assert [e.dagster_event.step_materialization_data.materialization.metadata["dagster/row_count"].value for e in private] == [1]


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(seed=st.integers(0, 2**32 - 1))
def test_row_order_never_depends_on_the_input_order(seed):
    for name, df in golden_tables().items():
        shuffled = df.sample(fraction=1.0, shuffle=True, seed=seed)
        assert P.prepare(name, shuffled).equals(P.prepare(name, df)), name
