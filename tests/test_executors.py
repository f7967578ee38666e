"""The executor: in process by default, the multiprocess mode one run-configuration switch away (each
step in its own process, as on a cluster) — and it publishes exactly what the in-process run publishes."""

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


def test_jobs_run_in_process_unless_asked_for_multiprocess():
    from pipelines.definitions import defs

    for name in ("lianjian_ingest", "lianjian_assess"):
        executor = defs.resolve_job_def(name).executor_def
        assert executor.name == "lianjian_executor"
        assert executor.config_schema.as_field().default_value == {"in_process": {}}
        assert set(executor.config_schema.config_type.fields) == {"in_process", "multiprocess"}


def test_multiprocess_executor_publishes_identical_files(demo_run, demo_landing, tmp_path):
    from benchmarks.daemon_path import daemon_pipeline_run
    from pipelines.resources import LianjianSettings

    outcome, in_process = demo_run
    assert outcome.success
    warehouse = tmp_path / "wh"
    settings = LianjianSettings(landing=str(demo_landing), warehouse=str(warehouse), rules=str(ROOT / "rules" / "default.yaml"))
    (tmp_path / "dagster_home").mkdir()
    with dg.instance_for_test(temp_dir=str(tmp_path / "dagster_home")) as instance:
        run = daemon_pipeline_run(
            instance, settings, extra_run_config={"execution": {"config": {"multiprocess": {"max_concurrent": 2}}}}
        )
        assert run.success
        pids = {
            e.dagster_event.pid
            for e in instance.all_logs(run.run_ids[1])
            if e.dagster_event and e.dagster_event.event_type_value == "STEP_START"
        }
    assert len(pids) > 1  # really in several processes
    multi, single = published_digests(warehouse), published_digests(in_process)
    assert multi and multi == single
    m1 = json.loads(((warehouse / "published").resolve() / "_manifest.json").read_text(encoding="utf-8"))
    m2 = json.loads(((in_process / "published").resolve() / "_manifest.json").read_text(encoding="utf-8"))
    assert m1["inputs"] == m2["inputs"] and m1["outputs"] == m2["outputs"]
