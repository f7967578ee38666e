"""The nightly schedule: the whole graph at 02:00 Asia/Shanghai (what the published tables'
freshness policy expects)."""

from __future__ import annotations

import dagster as dg

from pipelines.partitions import TIMEZONE, range_tags

NIGHTLY_CRON = "0 2 * * *"

@dg.schedule(
    name="lianjian_nightly",
    job_name="lianjian_all",
    cron_schedule=NIGHTLY_CRON,
    execution_timezone=TIMEZONE,
    default_status=dg.DefaultScheduleStatus.RUNNING,
    tags={"lianjian/trigger": "nightly"},
    description="每晚 02:00（北京时间）运行全流程（全部年度，一次运行）。Nightly run of the whole graph, every year in one run, at 02:00 Asia/Shanghai.",
)
def nightly(context: dg.ScheduleEvaluationContext) -> dg.RunRequest:
    # every year partition up to the current one, computed in one run (pipelines/partitions.py)
    return dg.RunRequest(tags={"lianjian/trigger": "nightly", **range_tags()})
