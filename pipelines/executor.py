"""The warehouse lock around the executor of lianjian's jobs (pipelines/jobs.py: in process by
default, multiprocess on request): the lock is held for the whole run.

A run launched by the nightly schedule, the landing sensor or the UI runs in its own process (the run
worker), apart from any `lianjian run`. Its executor is the one place that lives exactly as long as
the run in that process — a resource is set up again in each step's process — so it takes the lock
there (lianjian/lock.py) before the first step and releases it after the last: such a run waits for
a `lianjian run` on the same warehouse and the other way round (docs/operations.md). The run-queue
limit on the ``lianjian/warehouse`` tag in the instance settings keeps two queued runs from even
starting together; this lock is what holds whatever the settings.

`lianjian run` uses ``execute_in_process``, which replaces a job's executor with Dagster's in-process
one: it holds the lock itself, around both of its runs (lianjian/runner.py). On a cluster, wrap the
cluster's executor the same way: ``warehouse_locked(k8s_job_executor)``.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import ExitStack
from pathlib import Path

import dagster as dg
from dagster._core.errors import raise_execution_interrupts

from lianjian.lock import warehouse_lock
from lianjian.processes import fewer_collections
from pipelines.instance import light_sqlite_commits
from pipelines.resources import RUN_ID_TAG, LianjianSettings
from pipelines.runs import ASSESS_JOB, INGEST_JOB

def in_process(run_config: Mapping[str, object] | None) -> bool:
    """Whether a run of this configuration executes its steps in one process: the executor's default
    (pipelines/jobs.py), unless the configuration asks for ``multiprocess``."""
    execution = (run_config or {}).get("execution") or {}
    return "multiprocess" not in ((execution.get("config") if isinstance(execution, Mapping) else None) or {})


def start_suite_worker(job_name: str, warehouse: Path, landing: Path) -> bool:
    """Where a run whose steps execute in this process begins — in the run worker that the nightly
    schedule, the landing sensor or the UI starts (``WarehouseLockedExecutor``), and in ``lianjian
    run`` before its second run (lianjian/runner.py) — start the suite worker
    (lianjian/quality/worker.py) as that run's suites need it:

    - the first run (``lianjian_ingest``) of a zone up to the worker's ``MAX_LANDING_BYTES``: Great
      Expectations is imported now, beside staging, and each table's suite runs as soon as it is
      staged (such a run exists only when something changed since the published version: the
      schedule and the sensor skip otherwise);
    - the second run (``lianjian_assess``), when no worker runs in this process — a larger zone, or
      a run worker of its own after the first run's process ended — and some staged tables' suites
      are not cached: the worker is started and given those tables as the scoring begins
      (``warm_beside_scoring``).

    True when this started the worker."""
    from lianjian.quality.worker import suite_worker, warm_beside_staging

    worker = suite_worker()
    if job_name == INGEST_JOB and not worker.started:
        return warm_beside_staging(landing)
    if job_name == ASSESS_JOB:
        return worker.warm_beside_scoring(warehouse)
    return False


def run_settings(run_config: Mapping[str, object], tags: Mapping[str, str]) -> tuple[Path, Path, str | None]:
    """(warehouse, landing, lianjian run id) of a run. The paths are those the run's ``lianjian``
    resource will use — its run configuration, else the environment and the defaults
    (pipelines/resources.py) — so the lock is on the warehouse the run writes to. The ``lianjian/*``
    path tags only record them: a run whose tags name another folder stops when that resource starts,
    before it reads anything, and never touches the folder its tags name."""
    resources = run_config.get("resources") or {}
    config = ((resources.get("lianjian") or {}) if isinstance(resources, Mapping) else {}).get("config") or {}
    settings = LianjianSettings.resolve(**{k: str(v) for k, v in config.items() if k in ("landing", "warehouse", "rules") and v})
    return settings.warehouse_path, settings.landing_path, tags.get(RUN_ID_TAG)


class WarehouseLockedExecutor(dg.Executor):
    """Runs ``inner`` with the run's warehouse locked (lianjian/lock.py)."""

    def __init__(self, inner: dg.Executor):
        self._inner = inner

    @property
    def retries(self):
        return self._inner.retries

    @property
    def step_dependency_config(self):
        return self._inner.step_dependency_config

    def execute(self, plan_context, execution_plan) -> Iterator:
        warehouse, landing, run_id = run_settings(plan_context.run_config, plan_context.dagster_run.tags)
        fewer_collections(landing)  # the run worker's process: what `lianjian run` sets (lianjian/processes.py)

        def waiting(message: str) -> None:
            plan_context.log.warning(message)

        def stale(previous) -> None:
            plan_context.log.warning(f"上一次运行（{previous.describe()}）未正常结束（被终止）；已发布的版本不受影响")

        with ExitStack() as held:
            # waiting for the lock (a `lianjian run` or another run on the warehouse) is interruptible:
            # a run terminated from the UI meanwhile ends then (canceled), not once the lock is free —
            # Dagster holds a run process's interrupts back until a step checks for them
            with raise_execution_interrupts():
                held.enter_context(
                    warehouse_lock(warehouse, landing=landing, run_id=run_id or plan_context.run_id, on_wait=waiting, on_stale=stale)
                )
            held.enter_context(light_sqlite_commits())  # the run history in SQLite: commits that do not wait for the disk
            if in_process(plan_context.run_config):  # the steps share this process's suite worker
                start_suite_worker(plan_context.dagster_run.job_name, warehouse, landing)
            yield from self._inner.execute(plan_context, execution_plan)


def warehouse_locked(inner: dg.ExecutorDefinition) -> dg.ExecutorDefinition:
    """``inner`` with the same name, configuration and requirements, holding the warehouse's lock
    for the whole run."""

    def create(init_context) -> dg.Executor:
        return WarehouseLockedExecutor(inner.executor_creation_fn(init_context))

    return dg.ExecutorDefinition(
        name=inner.name,
        config_schema=inner.config_schema,
        requirements=inner.get_requirements,
        executor_creation_fn=create,
        description=f"{inner.description or inner.name}（运行期间独占数据仓库 holds the warehouse lock for the whole run）",
    )

