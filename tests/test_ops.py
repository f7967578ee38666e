"""Operations (issue 5): the nightly schedule, the landing-zone sensor, and the Dagster webserver's
GraphQL view of the asset graph, checks and column lineage."""

from __future__ import annotations

import datetime as dt
import json
import os
import urllib.request
from pathlib import Path
from zoneinfo import ZoneInfo

import dagster as dg

from pipelines.resources import LianjianSettings
from pipelines.schedules import nightly
from pipelines.sensors import landing_fingerprint, landing_zone_sensor

ROOT = Path(__file__).resolve().parents[1]


def test_nightly_schedule_starts_a_pipeline_run_at_two_shanghai_time(tmp_path):
    assert nightly.cron_schedule == "0 2 * * *"
    assert nightly.execution_timezone == "Asia/Shanghai"
    assert nightly.job_name == "lianjian_ingest"
    assert nightly.default_status == dg.DefaultScheduleStatus.RUNNING
    tick = dt.datetime(2025, 3, 4, 2, 0, tzinfo=ZoneInfo("Asia/Shanghai"))  # = 2025-03-03 18:00 UTC
    settings = LianjianSettings(landing=str(tmp_path / "in"), warehouse=str(tmp_path / "wh"))
    context = dg.build_schedule_context(scheduled_execution_time=tick, resources={"lianjian": settings})
    result = nightly.evaluate_tick(context)
    assert len(result.run_requests) == 1
    request = result.run_requests[0]
    assert request.tags["lianjian/trigger"] == "nightly"
    # the first run only (landing + staging): no year partitions; the paths as tags and run config
    assert "dagster/asset_partition_range_start" not in request.tags
    assert request.tags["lianjian/warehouse"] == str(tmp_path / "wh")
    assert request.tags["lianjian/landing"] == str(tmp_path / "in")
    assert request.run_config == {"resources": {"lianjian": {"config": settings.paths()}}}
    # wired into the one Definitions: schedule and landing sensor start the first job, the run-status
    # sensor the second
    from pipelines.definitions import defs

    assert defs.resolve_schedule_def("lianjian_nightly").job_name == "lianjian_ingest"
    assert defs.resolve_sensor_def("landing_zone_sensor").job_name == "lianjian_ingest"
    assert defs.resolve_sensor_def("lianjian_assess_after_ingest").job_name == "lianjian_assess"


def _tick(landing: Path, cursor: str | None):
    ctx = dg.build_sensor_context(cursor=cursor, resources={"lianjian": LianjianSettings(landing=str(landing))})
    return landing_zone_sensor(ctx)


def _runs(result) -> list:
    return result.run_requests if isinstance(result, dg.SensorResult) else []


def test_landing_sensor_runs_on_added_or_changed_files_and_skips_otherwise(tmp_path):
    landing = tmp_path / "landing"
    assert isinstance(_tick(landing, None), dg.SkipReason)  # no landing zone yet
    landing.mkdir()
    assert isinstance(_tick(landing, None), dg.SkipReason)  # empty landing zone

    (landing / "units.csv").write_text("unit_code,unit_name,level\nU01,甲,county\n", encoding="utf-8")
    first = _tick(landing, None)
    assert len(_runs(first)) == 1 and first.cursor == landing_fingerprint(landing)[0]
    tags = _runs(first)[0].tags  # the first run of a pipeline run: no year partitions yet
    assert tags["lianjian/trigger"] == "landing" and tags["lianjian/landing"] == str(landing)
    assert "dagster/asset_partition_range_start" not in tags
    cursor = first.cursor

    same = _tick(landing, cursor)  # nothing changed
    assert isinstance(same, dg.SkipReason) and "没有变化" in same.skip_message

    (landing / "~$units.xlsx").write_bytes(b"lock")  # office lock file: ignored
    (landing / ".hidden").write_text("x")
    assert isinstance(_tick(landing, cursor), dg.SkipReason)

    (landing / "cases").mkdir()
    (landing / "cases" / "2024-01.csv").write_text("case_id\nC1\n", encoding="utf-8")  # a monthly drop added
    added = _tick(landing, cursor)
    assert len(_runs(added)) == 1 and added.cursor != cursor
    keys = {_runs(first)[0].run_key, _runs(added)[0].run_key}
    cursor = added.cursor
    assert isinstance(_tick(landing, cursor), dg.SkipReason)

    st = (landing / "units.csv").stat()  # same size, new modification time
    os.utime(landing / "units.csv", ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000_000))
    changed = _tick(landing, cursor)
    assert len(_runs(changed)) == 1
    keys.add(_runs(changed)[0].run_key)
    assert len(keys) == 3  # every transition gets its own run key

    (landing / "cases" / "2024-01.csv").unlink()  # a file removed also changes what a run would read
    assert len(_runs(_tick(landing, changed.cursor))) == 1


def _graphql(port: int, query: str) -> dict:
    req = urllib.request.Request(
        f"http://127.0.0.1:{port}/graphql",
        data=json.dumps({"query": query}).encode(),
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(req, timeout=60) as resp:
        body = json.loads(resp.read())
    assert "errors" not in body, body.get("errors")
    return body["data"]


QUERY = """
{
  assetNodes {
    assetKey { path }
    groupName
    description
    isMaterializable
    dependencyKeys { path }
    assetChecksOrError { ... on AssetChecks { checks { name } } }
    metadataEntries {
      label
      ... on TableColumnLineageMetadataEntry {
        lineage { columnName columnDeps { assetKey { path } columnName } }
      }
    }
  }
}
"""


def test_webserver_shows_the_graph_checks_and_column_lineage(webserver):
    from lianjian.contract import PUBLISHED
    from lianjian.publish.layers import upstream_key

    webserver = webserver.port
    status = _graphql(webserver, "{ workspaceOrError { ... on Workspace { locationEntries { name locationOrLoadError { __typename } } } } }")
    entries = status["workspaceOrError"]["locationEntries"]
    assert [e["locationOrLoadError"]["__typename"] for e in entries] == ["RepositoryLocation"]

    nodes = {tuple(n["assetKey"]["path"]): n for n in _graphql(webserver, QUERY)["assetNodes"]}
    for table in PUBLISHED:
        node = nodes[("published", table)]
        assert node["groupName"] == "published"
        assert node["description"].startswith(PUBLISHED[table].zh)
        up = upstream_key(table)  # None for codes: written from the contract declaration
        assert up is None or up in [tuple(d["path"]) for d in node["dependencyKeys"]]
        assert {c["name"] for c in node["assetChecksOrError"]["checks"]} == {"contract_schema", "no_identity_numbers"}

    # column lineage of a published assessment names the staged columns
    meta = {m["label"]: m for m in nodes[("published", "integrity_assessment")]["metadataEntries"]}
    lineage = {c["columnName"]: c["columnDeps"] for c in meta["dagster/column_lineage"]["lineage"]}
    grade = {(tuple(d["assetKey"]["path"]), d["columnName"]) for d in lineage["grade"]}
    assert {(("assessed", "integrity_assessment"), "grade"), (("staged", "reviews"), "score"), (("staged", "violations"), "severity")} <= grade

    # walk upstream from each published table: through its computing layer down to staged sources
    def reaches_staged(key: tuple, seen: set) -> bool:
        if key[0] == "staged":
            return True
        if key in seen or key not in nodes:
            return False
        seen.add(key)
        return any(reaches_staged(tuple(d["path"]), seen) for d in nodes[key]["dependencyKeys"])

    for table in ("integrity_assessment", "responsibility_assessment", "accountability_triggers", "talk_obligations"):
        up = upstream_key(table)
        if up in nodes and nodes[up]["isMaterializable"]:
            assert reaches_staged(up, set()), table
        assert reaches_staged(("published", table), set())


LATEST = """
{
  assetOrError(assetKey: {path: ["published", "integrity_assessment"]}) {
    ... on Asset {
      assetMaterializations(limit: 1) {
        runId
        metadataEntries {
          label
          ... on TextMetadataEntry { text }
          ... on IntMetadataEntry { intValue }
          ... on PathMetadataEntry { path }
          ... on TableMetadataEntry { table { records schema { columns { name } } } }
        }
      }
      definition {
        assetChecksOrError {
          ... on AssetChecks { checks { name executionForLatestMaterialization { runId status } } }
        }
      }
    }
  }
  year: assetOrError(assetKey: {path: ["assessed", "integrity_assessment"]}) {
    ... on Asset {
      assetMaterializations(partitions: ["2024"], limit: 1) {
        partition
        metadataEntries { label ... on IntMetadataEntry { intValue } }
      }
    }
  }
  shouldShowNux
  instance { runQueueConfig { maxConcurrentRuns tagConcurrencyLimitsYaml } }
}
"""


def test_the_ui_alone_says_which_inputs_and_rules_made_the_grades(webserver, recorded):
    """What an auditor sees in the UI, read through the webserver's GraphQL: the latest materialization
    of a published assessment carries the rules version and file hash, every input file's hash, the
    grades per year and the pipeline's Dagster runs; its checks ran in that run; a year's partition
    of the assessed table reports that year's rows and grades. And the instance shows no pop-up, no
    telemetry, no missing-dagster.yaml warning, and queues one run per warehouse."""
    import polars as pl
    import yaml

    home, warehouse, outcome = recorded
    data = _graphql(webserver.port, LATEST)
    (latest,) = data["assetOrError"]["assetMaterializations"]
    meta = {m["label"]: m for m in latest["metadataEntries"]}
    manifest = json.loads(((warehouse / "published").resolve() / "_manifest.json").read_text(encoding="utf-8"))
    assert latest["runId"] == outcome.run_ids[-1]
    assert meta["rules_version"]["text"] == manifest["rules_version"]
    assert meta["rules_sha256"]["text"] == manifest["rules_sha256"] and len(manifest["rules_sha256"]) == 64
    assert meta["dagster_run_ids"]["text"] == ", ".join(outcome.run_ids) == ", ".join(manifest["dagster_run_ids"])
    assert meta["lianjian/run_id"]["text"] == outcome.pipeline_run_id
    assert meta["warehouse"]["path"] == str(warehouse)
    inputs = [json.loads(r) for r in meta["inputs"]["table"]["records"]]
    assert [(i["source"], i["file"], i["sha256"]) for i in inputs] == [
        (i["source"], i["file"], i["sha256"]) for i in manifest["inputs"]
    ]
    assert len(inputs) == meta["input_files"]["intValue"] > 10
    grades = {r["year"]: r for r in map(json.loads, meta["grades_by_year"]["table"]["records"])}
    published = pl.read_parquet(warehouse / "published" / "integrity_assessment" / "**" / "*.parquet", hive_partitioning=True)
    for year, row in grades.items():
        of_year = published.filter(pl.col("year") == year)
        for grade in ("好", "较好", "一般", "较差"):
            assert row[grade] == of_year.filter(pl.col("grade") == grade).height, (year, grade)
        assert row["未评定"] == of_year.get_column("grade").null_count()
    assert set(grades) == set(published.get_column("year").unique().to_list())

    checks = {c["name"]: c["executionForLatestMaterialization"] for c in data["assetOrError"]["definition"]["assetChecksOrError"]["checks"]}
    assert set(checks) == {"contract_schema", "no_identity_numbers"}
    assert all(c["status"] == "SUCCEEDED" and c["runId"] == outcome.run_ids[-1] for c in checks.values())

    (year,) = data["year"]["assetMaterializations"]
    year_meta = {m["label"]: m.get("intValue") for m in year["metadataEntries"]}
    of_2024 = pl.read_parquet(warehouse / "assessed" / "integrity_assessment" / "2024.parquet")
    assert year["partition"] == "2024" and year_meta["dagster/row_count"] == of_2024.height
    assert year_meta["grades/好"] == of_2024.filter(pl.col("grade") == "好").height

    assert data["shouldShowNux"] is False
    limits = yaml.safe_load(data["instance"]["runQueueConfig"]["tagConcurrencyLimitsYaml"])
    assert limits == [{"key": "lianjian/warehouse", "limit": 1, "value": {"applyLimitPerUniqueValue": True}}]
    with urllib.request.urlopen(f"http://127.0.0.1:{webserver.port}/", timeout=60) as resp:
        page = resp.read().decode("utf-8")
    assert '"telemetryEnabled": false' in page
    log = webserver.log.read_text(encoding="utf-8", errors="replace")
    assert "No dagster instance configuration file" not in log and "dagster.yaml" not in log, log[-2000:]
