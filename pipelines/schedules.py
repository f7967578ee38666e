"""The nightly schedule: the whole graph at 02:00 Asia/Shanghai (what the published tables'
freshness policy expects)."""

from __future__ import annotations

import dagster as dg

NIGHTLY_CRON = "0 2 * * *"
TIMEZONE = "Asia/Shanghai"

nightly = dg.ScheduleDefinition(
    name="lianjian_nightly",
    job_name="lianjian_all",
    cron_schedule=NIGHTLY_CRON,
    execution_timezone=TIMEZONE,
    default_status=dg.DefaultScheduleStatus.RUNNING,
    tags={"lianjian/trigger": "nightly"},
    description="每晚 02:00（北京时间）运行全流程。Nightly run of the whole graph at 02:00 Asia/Shanghai.",
)
