"""Jobs, the nightly schedule and the landing-zone sensor."""

from __future__ import annotations

import dagster as dg

from pipelines.schedules import nightly
from pipelines.sensors import landing_zone_sensor

#: The main job: every asset, in lineage order (what `lianjian run` and the schedule materialize).
lianjian_all = dg.define_asset_job(
    "lianjian_all",
    selection=dg.AssetSelection.all(),
    description="廉检全流程：落地 → 暂存 → 派生 → 考核 → 发布。Materialize everything, landing to published.",
)

#: Everything but the yearly reports (the benchmark's pipeline, and a quicker run for data checks).
lianjian_without_reports = dg.define_asset_job(
    "lianjian_without_reports",
    selection=dg.AssetSelection.all() - dg.AssetSelection.groups("reports"),
    description="廉检流程（不含年度报告）：落地 → 暂存 → 派生 → 考核 → 发布。Everything but the yearly reports.",
)

defs = dg.Definitions(jobs=[lianjian_all, lianjian_without_reports], schedules=[nightly], sensors=[landing_zone_sensor])
