"""A pipeline run through the daemon's path, for the benchmark and the tests: a schedule tick (or a
landing-sensor tick) evaluated against a real Dagster instance, its run request executed as the daemon's
run launcher executes it — the job reconstructed from ``pipelines.definitions``, ``dg.execute_job`` with
the job's own executor (in process by default) — then a tick of the run-status sensor
``lianjian_assess_after_ingest`` and its run request executed the same way.

What is not reproduced: the daemon's polling (a schedule or sensor tick comes every 30–60 s, the
run-status sensor's at most every 10 s) and the run launcher's new Python process per run (it imports
the definitions again: docs/performance.md gives that cost).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

import dagster as dg

CHAIN_SENSOR = "lianjian_assess_after_ingest"


@dataclass
class DaemonRun:
    requests: list[dg.RunRequest] = field(default_factory=list)
    results: list = field(default_factory=list)  # dg.JobExecutionResult per launched run
    skipped: str | None = None
    chain_cursor: str | None = None  # the run-status sensor's cursor after its tick
    current: str | None = None  # the tick skipped: the published version is current (no run at all)

    @property
    def success(self) -> bool:
        return self.current is not None or (bool(self.results) and all(r.success for r in self.results))

    @property
    def run_ids(self) -> list[str]:
        return [r.run_id for r in self.results]


def launch(request: dg.RunRequest, instance: dg.DagsterInstance, extra_run_config: dict | None = None):
    """Execute one run request as the daemon's run launcher would (in this process): its run
    configuration, tags, asset selection and the checks it asks for."""
    from pipelines import definitions
    from pipelines.runs import requested_subset

    run_config = {**(request.run_config or {}), **(extra_run_config or {})}
    job, selection = requested_subset(dg.reconstructable(definitions.JOBS[request.job_name]), request)
    return dg.execute_job(job, instance=instance, run_config=run_config, tags=request.tags, asset_selection=selection)


def chain_cursor(instance: dg.DagsterInstance) -> str | None:
    """The run-status sensor's cursor as a running daemon holds it: its first tick starts it at the
    instance's latest run-status event."""
    from pipelines.definitions import defs

    context = dg.build_sensor_context(instance=instance)
    defs.resolve_sensor_def(CHAIN_SENSOR).evaluate_tick(context)
    return context.cursor


def first_request(instance: dg.DagsterInstance, settings, trigger: str) -> dg.RunRequest | dg.SkipReason:
    """The run request of a schedule tick (``nightly``) or a landing-sensor tick (``landing``); the
    tick's skip reason when it requests nothing (the published version is current)."""
    from pipelines.definitions import defs

    if trigger == "nightly":
        tick = dt.datetime.now(ZoneInfo("Asia/Shanghai")).replace(hour=2, minute=0, second=0, microsecond=0)
        context = dg.build_schedule_context(instance=instance, scheduled_execution_time=tick, resources={"lianjian": settings})
        data = defs.resolve_schedule_def("lianjian_nightly").evaluate_tick(context)
    else:
        context = dg.build_sensor_context(instance=instance, cursor=None, resources={"lianjian": settings})
        data = defs.resolve_sensor_def("landing_zone_sensor").evaluate_tick(context)
    if not data.run_requests:
        return dg.SkipReason(data.skip_message)
    (request,) = data.run_requests
    return request


def daemon_pipeline_run(
    instance: dg.DagsterInstance,
    settings,
    *,
    trigger: str = "nightly",
    extra_run_config: dict | None = None,
    first_tags: dict[str, str] | None = None,
) -> DaemonRun:
    """One pipeline run through the daemon's path (see the module docstring). ``first_tags`` are added
    to the first run's request, as an operator adds tags in the UI (``lianjian/reports: skip``)."""
    from pipelines.definitions import defs

    cursor = chain_cursor(instance)
    out = DaemonRun()
    request = first_request(instance, settings, trigger)
    if isinstance(request, dg.SkipReason):
        out.current = request.skip_message
        return out
    if first_tags:
        request = request.with_replaced_attrs(tags={**request.tags, **first_tags})
    out.requests.append(request)
    out.results.append(launch(request, instance, extra_run_config))
    if not out.results[-1].success:
        return out
    context = dg.build_sensor_context(instance=instance, cursor=cursor)
    data = defs.resolve_sensor_def(CHAIN_SENSOR).evaluate_tick(context)
    out.chain_cursor = context.cursor
    if not data.run_requests:
        out.skipped = data.skip_message
        return out
    (second,) = data.run_requests
    out.requests.append(second)
    out.results.append(launch(second, instance, extra_run_config))
    return out
