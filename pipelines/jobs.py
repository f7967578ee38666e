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

defs = dg.Definitions(jobs=[lianjian_all], schedules=[nightly], sensors=[landing_zone_sensor])
