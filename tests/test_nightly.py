"""The nightly run is `lianjian run`: the schedule, the landing sensor, a launch from the UI and the
command line make the same two runs (landing + staging, then the rest over the staged data's years),
built by the same functions (pipelines/runs.py), and publish the same files.

The daemon's path is taken through a real Dagster instance (SQLite in a temporary DAGSTER_HOME with the
project's dagster.yaml): the ticks are evaluated by the schedule's and sensors' own evaluation code, and
each run request is executed as the daemon's run launcher executes it (benchmarks/daemon_path.py:
``dg.execute_job`` on the job reconstructed from pipelines.definitions, with the job's own executor)."""

from __future__ import annotations

import json
from pathlib import Path

import dagster as dg
import pytest

from benchmarks.daemon_path import CHAIN_SENSOR, daemon_pipeline_run, launch
from pipelines.instance import ensure_instance
from pipelines.partitions import staged_years
from pipelines.resources import LianjianSettings
from pipelines.runs import ASSESS_JOB, INGEST_JOB, assess_request, ingest_request
from tests.support_ingest import write_landing
from tests.test_executors import published_digests

ROOT = Path(__file__).resolve().parents[1]
RULES = ROOT / "rules" / "default.yaml"
LIANJIAN_TAGS = ("lianjian/run_id", "lianjian/landing", "lianjian/warehouse", "lianjian/rules", "lianjian/trigger")


@pytest.fixture
def instance(tmp_path):
    home = tmp_path / "dagster_home"
    ensure_instance(home)
    with dg.DagsterInstance.from_config(str(home)) as inst:
        yield inst


def _manifest(warehouse: Path) -> dict:
    return json.loads(((warehouse / "published").resolve() / "_manifest.json").read_text(encoding="utf-8"))


def _step_pids(instance: dg.DagsterInstance, run_id: str) -> set[int]:
    return {
        e.dagster_event.pid
        for e in instance.all_logs(run_id, of_type=dg.DagsterEventType.STEP_START)
    }


@pytest.mark.parametrize("trigger", ["nightly", "landing"])
def test_schedule_and_landing_sensor_make_the_runs_lianjian_run_makes(trigger, demo_run, demo_landing, instance, tmp_path):
    outcome, cli_warehouse = demo_run
    assert outcome.success
    warehouse = tmp_path / "wh"
    settings = LianjianSettings(landing=str(demo_landing), warehouse=str(warehouse), rules=str(RULES))

    run = daemon_pipeline_run(instance, settings, trigger=trigger)
    assert run.success and run.skipped is None
    first, second = run.requests
    ingest_run, assess_run = (instance.get_run_by_id(i) for i in run.run_ids)

    # the tick asks for the first run only: landing + staging, no year partitions, pinned paths
    assert first.job_name == INGEST_JOB and ingest_run.job_name == INGEST_JOB
    assert "dagster/asset_partition_range_start" not in first.tags
    assert first.run_config == settings.run_config()
    assert first.tags["lianjian/trigger"] == trigger
    assert first.tags["lianjian/warehouse"] == str(warehouse) and first.tags["lianjian/landing"] == str(demo_landing)

    # the run-status sensor asks for the second over exactly the staged data's years (2020–2025 on the
    # demo data: never the 2000–2019 or empty years), with the same lianjian tags and paths
    assert second.job_name == ASSESS_JOB and assess_run.job_name == ASSESS_JOB
    years = staged_years(warehouse)
    assert (second.tags["dagster/asset_partition_range_start"], second.tags["dagster/asset_partition_range_end"]) == years
    assert years == staged_years(cli_warehouse) and int(years[0]) > 2000
    for tag in LIANJIAN_TAGS:
        assert ingest_run.tags[tag] == assess_run.tags[tag], tag
    assert assess_run.tags["lianjian/ingest_run"] == ingest_run.run_id
    assert second.run_config == first.run_config

    # partitions materialized: the staged years only
    materialized = {
        e.dagster_event.partition
        for e in instance.all_logs(assess_run.run_id, of_type=dg.DagsterEventType.ASSET_MATERIALIZATION)
        if e.dagster_event.asset_key == dg.AssetKey(["assessed", "integrity_assessment"])
    }
    assert materialized == {str(y) for y in range(int(years[0]), int(years[1]) + 1)}

    # in process by default: every step of a run in the one run process
    assert len(_step_pids(instance, ingest_run.run_id)) == 1 and len(_step_pids(instance, assess_run.run_id)) == 1

    # the same published files, byte for byte, as `lianjian run` on the same landing zone
    assert published_digests(warehouse) == published_digests(cli_warehouse)
    manifest = _manifest(warehouse)
    assert manifest["dagster_run_ids"] == run.run_ids
    assert manifest["run_id"] == assess_run.run_id and manifest["pipeline_run_id"] == first.tags["lianjian/run_id"]
    assert manifest["inputs"] == _manifest(cli_warehouse)["inputs"]

    # the run-status sensor's next tick finds nothing new: one second run per first run
    context = dg.build_sensor_context(instance=instance, cursor=run.chain_cursor)
    from pipelines.definitions import defs

    assert not defs.resolve_sensor_def(CHAIN_SENSOR).evaluate_tick(context).run_requests


def _small_zone(tmp_path: Path) -> Path:
    return write_landing(tmp_path / "landing")  # one unit, four people, 2024 only


def test_lianjian_run_makes_the_same_two_runs_with_the_same_tags(tmp_path):
    from lianjian.runner import run_pipeline

    landing, warehouse = _small_zone(tmp_path), tmp_path / "wh"
    instance = dg.DagsterInstance.ephemeral()
    outcome = run_pipeline(landing, warehouse, RULES, instance=instance, progress=False)
    assert outcome.success, outcome.failure
    ingest_run, assess_run = (instance.get_run_by_id(i) for i in outcome.run_ids)
    assert (ingest_run.job_name, assess_run.job_name) == (INGEST_JOB, ASSESS_JOB)
    for tag in LIANJIAN_TAGS:
        assert ingest_run.tags[tag] == assess_run.tags[tag], tag
    assert ingest_run.tags["lianjian/trigger"] == "cli" and ingest_run.tags["lianjian/run_id"] == outcome.pipeline_run_id
    assert ingest_run.tags["lianjian/warehouse"] == str(warehouse.absolute())
    assert assess_run.tags["lianjian/ingest_run"] == ingest_run.run_id
    # the small zone holds 2024 only: one year partition
    assert (assess_run.tags["dagster/asset_partition_range_start"], assess_run.tags["dagster/asset_partition_range_end"]) == ("2024", "2024")
    # the run configuration names the same paths as the tags
    assert assess_run.run_config["resources"]["lianjian"]["config"]["warehouse"] == str(warehouse.absolute())
    manifest = _manifest(warehouse)
    assert manifest["dagster_run_ids"] == outcome.run_ids and manifest["run_id"] == assess_run.run_id
    assert manifest["pipeline_run_id"] == outcome.pipeline_run_id


def test_a_launch_from_the_ui_gets_the_tags_when_it_starts(tmp_path, instance):
    """The UI's Launchpad starts lianjian_ingest with its run configuration and no lianjian tags: the
    run records its paths and its own id as the pipeline run id, and the second run follows with them."""
    settings = LianjianSettings.resolve(_small_zone(tmp_path), tmp_path / "wh", RULES)
    bare = dg.RunRequest(job_name=INGEST_JOB, run_config=settings.run_config(), tags={})
    result = launch(bare, instance)
    assert result.success
    run = instance.get_run_by_id(result.run_id)
    assert run.tags["lianjian/run_id"] == run.run_id and run.tags["lianjian/trigger"] == "ui"
    assert run.tags["lianjian/warehouse"] == str(settings.warehouse_path)
    assert run.tags["lianjian/landing"] == str(settings.landing_path)
    second = assess_request(run, instance)
    assert isinstance(second, dg.RunRequest)
    assert second.tags["lianjian/run_id"] == run.run_id and second.tags["lianjian/ingest_run"] == run.run_id
    assert second.tags["lianjian/trigger"] == "ui"
    assert second.run_config == settings.run_config()


def test_a_run_whose_tags_name_another_warehouse_stops_before_reading(tmp_path, instance):
    settings = LianjianSettings.resolve(_small_zone(tmp_path), tmp_path / "wh", RULES)
    request = ingest_request(settings, trigger="ui")
    wrong = dg.RunRequest(
        job_name=INGEST_JOB, run_config=request.run_config, tags={**request.tags, "lianjian/warehouse": str(tmp_path / "other")}
    )
    result = launch(wrong, instance)
    assert not result.success
    failure = next(e for e in instance.all_logs(result.run_id) if e.dagster_event and e.dagster_event.is_failure)
    assert "不一致" in str(failure.dagster_event.event_specific_data.error)
    assert not (tmp_path / "wh" / "landing").exists() and not (tmp_path / "other").exists()


def test_a_later_staging_of_the_same_warehouse_supersedes_the_earlier(tmp_path, instance):
    """Two first runs on one warehouse before the sensor reacts (the schedule and the landing sensor
    together): the earlier one's second run is skipped — the staged tables are the later run's now —
    and the later one's goes ahead. Another warehouse is not affected."""
    landing = _small_zone(tmp_path)
    settings = LianjianSettings.resolve(landing, tmp_path / "wh", RULES)
    other = LianjianSettings.resolve(landing, tmp_path / "wh2", RULES)
    runs = [launch(ingest_request(s, trigger="nightly"), instance) for s in (settings, other, settings)]
    assert all(r.success for r in runs)
    earlier, elsewhere, later = (instance.get_run_by_id(r.run_id) for r in runs)
    skipped = assess_request(earlier, instance)
    assert isinstance(skipped, dg.SkipReason) and later.run_id[:8] in skipped.skip_message
    assert isinstance(assess_request(later, instance), dg.RunRequest)
    assert isinstance(assess_request(elsewhere, instance), dg.RunRequest)


def test_years_and_reports_asked_for_are_passed_to_the_second_run(tmp_path, instance):
    settings = LianjianSettings.resolve(_small_zone(tmp_path), tmp_path / "wh", RULES)
    result = launch(ingest_request(settings, trigger="cli", years="2023-2024", reports=False), instance)
    assert result.success
    second = assess_request(instance.get_run_by_id(result.run_id), instance)
    assert (second.tags["dagster/asset_partition_range_start"], second.tags["dagster/asset_partition_range_end"]) == ("2023", "2024")
    keys = {k.to_user_string() for k in second.asset_selection}
    assert "published/integrity_assessment" in keys and "reports/yearly_reports" not in keys
