"""A pipeline run's second run executed in the process of its first, as ``lianjian run`` executes both
(lianjian/runner.py ``_runs``): what the process of a run that lianjian's run launcher started
(pipelines/run_process.py) does after a ``lianjian_ingest`` run that succeeded, instead of leaving the
second run to the run-status sensor ``lianjian_assess_after_ingest`` and a process of its own — which
pays Dagster's import, the instance and the definitions again (≈ 2 s of one core on the demo) and the
sensor's tick (≥ 10 s apart in a daemon: docs/performance.md).

The second run is a run of the instance like any other: requested by the same function as the
sensor's (``assess_request``: its tags, years, selection), created as the daemon creates a tick's run —
the job's snapshot, its execution plan and its code origin, computed here from the definitions this
process has loaded as the code server computes them (``create_requested_run``) — then marked starting
and executed as ``dagster api execute_run`` executes a run: its own events, status and failure, the
warehouse lock taken by its executor (pipelines/executor.py), and the suite worker of the first run
still running, so that the suites handed to it are found (pipelines/executor.py ``start_suite_worker``).

Which process chains is decided when the first run is launched, never after it ended: lianjian's
launcher tags the ``lianjian_ingest`` runs it starts (``CHAINS_TAG``, pipelines/runs.py), and the
sensor skips those runs whatever it sees — the first run's success is stored before the second run is
created, and a sensor tick in between must not launch another. The second run carries the tags the
sensor's run would (``assess_request``'s and ``dagster/run_key``) and two of the launcher's: its
process (``PID_TAG``: its id and start time, through which the launcher's ``terminate`` finds it,
forked from the launcher's warm process or not) and the run whose process executes it (``CHAINED_TAG``). It does not go through the instance's run queue: the
first run held the warehouse, and the second starts as soon as the first ended, as with ``lianjian run``.
"""

from __future__ import annotations

import os
import sys

import dagster as dg
from dagster._core.storage.tags import RUN_KEY_TAG

from pipelines.launcher import CHAINED_TAG, PID_TAG, process_tag
from pipelines.runs import ASSESS_JOB, assess_request, chained_in_its_process
from pipelines.warm_process import process_start

#: The start of the engine event on a first run whose process did not create the second run (why follows).
NO_ASSESS_RUN = "未启动考核运行 (no assess run)"


def create_requested_run(
    instance: dg.DagsterInstance,
    request: dg.RunRequest,
    *,
    job_snapshot,
    parent_job_snapshot,
    execution_plan_snapshot,
    remote_job_origin,
    job_code_origin,
    asset_graph,
    extra_tags: dict[str, str] | None = None,
) -> dg.DagsterRun:
    """The run of ``request``, created as the daemon creates a tick's run
    (``dagster._daemon.sensor._create_sensor_run``): the job's run tags under the request's, the run
    key as ``dagster/run_key``, the job's (subset's) snapshot and its parent's, the execution plan's
    snapshot, both origins; not started. ``extra_tags``: the launcher's own."""
    tags = {**(job_snapshot.run_tags or {}), **request.tags, **(extra_tags or {})}
    if request.run_key:
        tags[RUN_KEY_TAG] = request.run_key
    lineage = job_snapshot.lineage_snapshot
    return instance.create_run(
        job_name=request.job_name,
        run_id=None,
        run_config=request.run_config,
        resolved_op_selection=lineage.resolved_op_selection if lineage else None,
        step_keys_to_execute=None,
        status=dg.DagsterRunStatus.NOT_STARTED,
        op_selection=None,
        root_run_id=None,
        parent_run_id=None,
        tags=tags,
        job_snapshot=job_snapshot,
        execution_plan_snapshot=execution_plan_snapshot,
        parent_job_snapshot=parent_job_snapshot,
        remote_job_origin=remote_job_origin,
        job_code_origin=job_code_origin,
        asset_graph=asset_graph,
        asset_selection=frozenset(request.asset_selection) if request.asset_selection is not None else None,
        asset_check_selection=frozenset(request.asset_check_keys) if request.asset_check_keys is not None else None,
    )


def create_assess_run(instance: dg.DagsterInstance, ingest_run: dg.DagsterRun, request: dg.RunRequest) -> dg.DagsterRun:
    """The run of ``request`` (the second run of ``ingest_run``'s pipeline run) in the same code
    location and repository as ``ingest_run``: the job (or its subset of the request's assets and
    checks), its snapshot and plan computed from this process's definitions as the code server
    computes them (``dagster._grpc.impl``: ``get_external_pipeline_subset_result``,
    ``get_external_execution_plan_snapshot``), tagged with this process."""
    from dagster._core.execution.api import create_execution_plan
    from dagster._core.origin import JobPythonOrigin
    from dagster._core.remote_origin import RemoteJobOrigin
    from dagster._core.snap import snapshot_from_execution_plan
    from dagster._utils.hosted_user_process import recon_job_from_origin

    code_origin = JobPythonOrigin(ASSESS_JOB, ingest_run.job_code_origin.repository_origin)
    repository = recon_job_from_origin(code_origin).repository.get_definition()
    # of the types the code server receives them as (a set of assets, a frozen set of checks): the job
    # snapshot records the selection, and a set is serialized apart from a frozen set — another
    # snapshot id for the same job (tests/test_launcher.py compares them)
    selection = set(request.asset_selection) if request.asset_selection is not None else None
    checks = frozenset(request.asset_check_keys) if request.asset_check_keys is not None else None
    job = repository.get_maybe_subset_job_def(ASSESS_JOB, op_selection=None, asset_selection=selection, asset_check_selection=checks)
    subset = selection is not None or checks is not None
    job_snapshot = job.get_job_snapshot()
    plan = create_execution_plan(
        job, run_config=request.run_config, instance_ref=instance.get_ref(), repository_load_data=repository.repository_load_data
    )
    remote = ingest_run.remote_job_origin
    return create_requested_run(
        instance,
        request,
        job_snapshot=job_snapshot,
        parent_job_snapshot=job.get_parent_job_snapshot() if subset else None,
        execution_plan_snapshot=snapshot_from_execution_plan(plan, job_snapshot.snapshot_id),
        remote_job_origin=RemoteJobOrigin(remote.repository_origin, ASSESS_JOB) if remote is not None else None,
        job_code_origin=code_origin,
        asset_graph=repository.asset_graph,
        extra_tags={PID_TAG: process_tag(os.getpid(), process_start(os.getpid())), CHAINED_TAG: ingest_run.run_id},
    )


def execute_assess_after(job_args: str) -> None:
    """After the run of ``job_args`` (serialized ``ExecuteRunArgs``) was executed in this process:
    when it is a ``lianjian_ingest`` run that succeeded and its launcher left its second run to this
    process (``chained_in_its_process``), request that run (``assess_request``), create it, mark it
    starting (as ``instance.launch_run`` does) and execute it as ``dagster api execute_run`` does.
    Exits with status 1 when it failed (``set_exit_code_on_failure``), as that command does. A request
    that skips (a later staging run replaced the staged data) or fails is recorded as an engine event of
    the first run (``NO_ASSESS_RUN``), where the sensor's tick would have shown it; a failure then ends
    the process with it.

    Interrupts (the launcher's ``terminate``: SIGTERM) are held from here until the run's executor
    or steps check for them (Dagster's ``capture_interrupts``): a terminate of the second run that
    comes before its execution began still ends it canceled, not half-created; one that marked it
    canceling before then ends it canceled at once."""
    from dagster._cli.api import _execute_run_command_body
    from dagster._cli.utils import get_instance_for_cli
    from dagster._grpc.types import ExecuteRunArgs
    from dagster._serdes import deserialize_value
    from dagster._utils.interrupts import capture_interrupts

    args = deserialize_value(job_args, ExecuteRunArgs)
    with capture_interrupts(), get_instance_for_cli(instance_ref=args.instance_ref) as instance:
        ingest_run = instance.get_run_by_id(args.run_id)
        if ingest_run is None or ingest_run.status != dg.DagsterRunStatus.SUCCESS or not chained_in_its_process(ingest_run):
            return
        try:
            request = assess_request(ingest_run, instance)
            if isinstance(request, dg.SkipReason):
                instance.report_engine_event(f"{NO_ASSESS_RUN}: {request.skip_message}", ingest_run)
                return
            run = create_assess_run(instance, ingest_run, request)
        except Exception:  # said on the first run, where the sensor's failed tick would have shown it
            from dagster._core.events import EngineEventData
            from dagster._utils.error import serializable_error_info_from_exc_info

            error = serializable_error_info_from_exc_info(sys.exc_info())
            instance.report_engine_event(f"{NO_ASSESS_RUN}: {error.message.strip()}", ingest_run, EngineEventData.engine_error(error))
            raise
        instance.report_dagster_event(dg.DagsterEvent(event_type_value=dg.DagsterEventType.RUN_STARTING.value, job_name=run.job_name), run_id=run.run_id)
        run = instance.get_run_by_id(run.run_id)
        if run.status == dg.DagsterRunStatus.CANCELING:  # terminated before its execution began
            instance.report_run_canceled(run)
            return
        code = _execute_run_command_body(run.run_id, instance, lambda _event: None, set_exit_code_on_failure=bool(args.set_exit_code_on_failure))
    if code:
        sys.exit(code)
