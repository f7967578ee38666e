"""The multiprocess executor (each step in its own process, as on a cluster) publishes exactly what
the in-process run publishes."""

import hashlib
import json
from pathlib import Path

import dagster as dg

ROOT = Path(__file__).resolve().parents[1]


def published_digests(warehouse: Path) -> dict[str, str]:
    root = (warehouse / "published").resolve()
    out = {}
    for p in sorted(root.rglob("*")):
        if p.is_file() and p.name != "_manifest.json":
            out[str(p.relative_to(root))] = hashlib.sha256(p.read_bytes()).hexdigest()
    return out


def test_multiprocess_executor_publishes_identical_files(demo_run, demo_landing, tmp_path, monkeypatch):
    outcome, in_process = demo_run
    assert outcome.success
    warehouse = tmp_path / "wh"
    monkeypatch.setenv("LIANJIAN_LANDING", str(demo_landing))
    monkeypatch.setenv("LIANJIAN_WAREHOUSE", str(warehouse))
    monkeypatch.setenv("LIANJIAN_RULES", str(ROOT / "rules" / "default.yaml"))
    from pipelines import definitions
    from pipelines.partitions import range_tags

    (tmp_path / "dagster_home").mkdir()
    with dg.instance_for_test(temp_dir=str(tmp_path / "dagster_home")) as instance:
        result = dg.execute_job(
            dg.reconstructable(definitions.lianjian_all_job),
            instance=instance,
            run_config={"execution": {"config": {"multiprocess": {"max_concurrent": 2}}}},
            tags=range_tags(),
        )
        assert result.success
        pids = {e.dagster_event.pid for e in instance.all_logs(result.run_id) if e.dagster_event and e.dagster_event.event_type_value == "STEP_START"}
    assert len(pids) > 1  # really in several processes
    multi, single = published_digests(warehouse), published_digests(in_process)
    assert multi and multi == single
    m1 = json.loads(((warehouse / "published").resolve() / "_manifest.json").read_text(encoding="utf-8"))
    m2 = json.loads(((in_process / "published").resolve() / "_manifest.json").read_text(encoding="utf-8"))
    assert m1["inputs"] == m2["inputs"] and m1["outputs"] == m2["outputs"]
