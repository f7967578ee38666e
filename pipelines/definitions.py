"""The one Dagster Definitions of lianjian: every asset, check, resource, job, schedule and sensor.

Each layer's module contributes its own ``defs``; this file only merges them, so the data flow reads
in order: landing → staged → derived → assessed → published (→ reports).
"""

from __future__ import annotations

import dagster as dg

from assets import assessed, derived, landing, published, reports, staged
from checks import conservation, quality
from pipelines import jobs
from pipelines.executor import locked_executor
from pipelines.io_manager import WarehouseIOManager
from pipelines.resources import LianjianSettings

RESOURCES = {
    "io_manager": WarehouseIOManager(),
    "lianjian": LianjianSettings(),
}

defs = dg.Definitions.merge(
    landing.defs,
    staged.defs,
    derived.defs,
    assessed.defs,
    published.defs,
    reports.defs,
    conservation.defs,
    quality.defs,
    jobs.defs,
    dg.Definitions(resources=RESOURCES, executor=locked_executor),
)


def lianjian_all_job() -> dg.JobDefinition:
    """The main job, reconstructable from this module (for `dg.execute_job` with the multiprocess
    executor or a remote one: each step process re-imports the definitions from here)."""
    return defs.resolve_job_def("lianjian_all")
