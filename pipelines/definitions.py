"""The one Dagster Definitions of lianjian: every asset, check, resource, job, schedule and sensor.

Each layer's module contributes its own ``defs``; this file only merges them, so the data flow reads
in order: landing → staged → derived → assessed → published (→ reports), then the jobs, the schedule
and the sensors that start them, and the one settings resource (``pipelines/resources.py``) that the
IO manager shares with every asset.
"""

from __future__ import annotations

import dagster as dg

from assets import assessed, derived, landing, published, reports, staged
from checks import quality
from pipelines import jobs, schedules, sensors
from pipelines.io_manager import WarehouseIOManager
from pipelines.resources import deployment_settings
from pipelines.runs import ASSESS_JOB, INGEST_JOB
from pipelines.step_resources import resources_classes_made_once

resources_classes_made_once()  # Dagster's resources object for each step without a new class each time

SETTINGS = deployment_settings()

RESOURCES = {
    "lianjian": SETTINGS,
    "io_manager": WarehouseIOManager(settings=SETTINGS),
}

defs = dg.Definitions.merge(
    landing.defs,
    staged.defs,
    derived.defs,
    assessed.defs,
    published.defs,
    reports.defs,
    quality.defs,
    jobs.defs,
    schedules.defs,
    sensors.defs,
    dg.Definitions(resources=RESOURCES),
)


def ingest_job() -> dg.JobDefinition:
    """The first job of a pipeline run, reconstructable from this module (for ``dg.execute_job`` as
    the daemon's run launcher does it: the run process re-imports the definitions from here)."""
    return defs.resolve_job_def(INGEST_JOB)


def assess_job() -> dg.JobDefinition:
    """The second job of a pipeline run, reconstructable from this module."""
    return defs.resolve_job_def(ASSESS_JOB)


JOBS = {INGEST_JOB: ingest_job, ASSESS_JOB: assess_job}
