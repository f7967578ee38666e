"""A pipeline run as a deployment runs it, for the benchmark and the tests: the instance of a fresh
``DAGSTER_HOME`` (the project's ``dagster.yaml``), the code location of ``workspace.yaml`` served by
its own gRPC code server (as ``dagster-daemon run -w workspace.yaml`` and the webserver start it),
the nightly schedule's tick evaluated by that server, the run it requests created as the daemon creates
it (``dagster._daemon.sensor._create_sensor_run``: the job's snapshot and plan from the server) and
launched by the instance's run launcher (``instance.launch_run``: its own process per run), then the
run-status sensor ``lianjian_assess_after_ingest``'s tick, evaluated by the server, and its run
launched the same way — or, when the first run's process executes the second itself (lianjian's run
launcher: pipelines/chain.py; the sensor skips such a run, tests/test_launcher.py), no tick: the
second run is waited for as that process creates it.

With lianjian's run launcher, its warm process (pipelines/warm_process.py) is started and ready before
the tick (:func:`warm_up`), its spare (the next run's process, forked and prepared) ready too, as the
code server is: a daemon up since before the tick has them from an earlier launch (the spare is
prepared again once that run ended); the first launch after a daemon starts pays their imports once
(pipelines/launcher.py).

What is not reproduced: the daemon's polling (a schedule or sensor tick every 30–60 s, the run queue's
dequeue every few seconds, the run-status sensor's tick at most every 10 s): the next step starts as
soon as the previous one is seen done (polled every ``POLL_SECONDS``).

Measured per launched run, from the event log, in seconds since the tick: when the launcher was
called (``launched``; for a second run executed in its first run's process, when that process marked
it starting, as ``instance.launch_run`` does before it calls the launcher), when the run began (``RUN_START``: its process started, Dagster imported, the
instance opened, the definitions loaded), its first step, its end, and when its executor began (the in-process executor's "Executing steps in process"
event, right after ``WarehouseLockedExecutor`` started the suite worker: pipelines/executor.py).
"""

from __future__ import annotations

import datetime as dt
import os
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from zoneinfo import ZoneInfo

import dagster as dg

ROOT = Path(__file__).resolve().parents[1]
LOCATION = "pipelines.definitions:defs"
REPOSITORY = "__repository__"
SCHEDULE = "lianjian_nightly"
CHAIN_SENSOR = "lianjian_assess_after_ingest"
#: How often a launched run's status is read while waiting for it: small against a run's seconds,
#: large enough that the reads cost nothing measurable.
POLL_SECONDS = 0.05
#: A demo run takes seconds; a run still going after this is stuck (the benchmark reports a failure).
RUN_TIMEOUT_SECONDS = 600


@dataclass
class DeploymentRun:
    run_ids: list[str] = field(default_factory=list)
    statuses: list[str] = field(default_factory=list)
    marks: list[dict[str, float]] = field(default_factory=list)  # per run: seconds since the tick
    skipped: str | None = None
    current: str | None = None

    @property
    def success(self) -> bool:
        return self.current is not None or (bool(self.statuses) and all(s == "SUCCESS" for s in self.statuses))


def workspace_context(instance: dg.DagsterInstance, workspace_file: Path = ROOT / "workspace.yaml"):
    """The workspace as the daemon loads it: its code server started from ``workspace.yaml`` (a child
    process of this one, serving until the context is closed)."""
    from dagster._core.workspace.context import WorkspaceProcessContext
    from dagster._core.workspace.load_target import WorkspaceFileTarget

    return WorkspaceProcessContext(instance, WorkspaceFileTarget(paths=[str(workspace_file)]))


def _location(workspace):
    return workspace.get_code_location(LOCATION)


def _create_run(instance, workspace, request: dg.RunRequest) -> dg.DagsterRun:
    """The run of ``request``, created as the daemon creates a tick's run: the job (subset), its
    snapshot and plan from the code server (pipelines/chain.py ``create_requested_run``)."""
    from dagster._core.definitions.selector import JobSubsetSelector

    from pipelines.chain import create_requested_run

    location = _location(workspace)
    selector = JobSubsetSelector(
        location_name=location.name,
        repository_name=REPOSITORY,
        job_name=request.job_name,
        op_selection=None,
        asset_selection=request.asset_selection,
        asset_check_selection=request.asset_check_keys,
    )
    remote_job = location.get_job(selector)
    plan = location.get_execution_plan(remote_job, request.run_config, step_keys_to_execute=None, known_state=None, instance=instance)
    return create_requested_run(
        instance,
        request,
        job_snapshot=remote_job.job_snapshot,
        parent_job_snapshot=remote_job.parent_job_snapshot,
        execution_plan_snapshot=plan.execution_plan_snapshot,
        remote_job_origin=remote_job.get_remote_origin(),
        job_code_origin=remote_job.get_python_origin(),
        asset_graph=location.get_repository(REPOSITORY).asset_graph,
    )


def _wait(instance, run_id: str) -> dg.DagsterRun:
    deadline = time.monotonic() + RUN_TIMEOUT_SECONDS
    while True:
        run = instance.get_run_by_id(run_id)
        if run.is_finished or time.monotonic() > deadline:
            return run
        time.sleep(POLL_SECONDS)


def _marks(instance, run_id: str, t0: float, launched: float | None) -> dict[str, float]:
    """Seconds since the tick (``t0``, wall clock) of the launch (``None``: the run's ``RUN_STARTING``
    event) and of the run's process's milestones."""
    out = {} if launched is None else {"launched": launched - t0}
    for entry in instance.all_logs(run_id):
        message = entry.user_message or ""
        event = entry.dagster_event
        if event is not None and event.event_type == dg.DagsterEventType.RUN_STARTING:
            out.setdefault("launched", entry.timestamp - t0)
        elif event is not None and event.event_type == dg.DagsterEventType.RUN_START:
            out.setdefault("run_start", entry.timestamp - t0)
        elif message.startswith("Executing steps in process"):
            out.setdefault("executor", entry.timestamp - t0)
        elif event is not None and event.event_type == dg.DagsterEventType.STEP_START:
            out.setdefault("first_step", entry.timestamp - t0)
        if event is not None and event.event_type in (dg.DagsterEventType.RUN_SUCCESS, dg.DagsterEventType.RUN_FAILURE):
            out["end"] = entry.timestamp - t0
    return out


def chain_cursor(instance, workspace) -> str | None:
    """The run-status sensor's cursor as a running daemon holds it (its first tick starts it at the
    instance's latest run-status event)."""
    location = _location(workspace)
    handle = location.get_repository(REPOSITORY).handle
    data = location.get_sensor_execution_data(instance, handle, CHAIN_SENSOR, None, None, None, None, None)
    return data.cursor


def warm_up(instance, workspace) -> bool:
    """With lianjian's run launcher: its warm process started and ready for the code location's runs
    (pipelines/launcher.py), as in a daemon that has been up since before the tick and launched a run
    before; False with another launcher (or when it could not be made ready)."""
    launcher = instance.run_launcher
    if not hasattr(launcher, "warm_up"):
        return False
    return launcher.warm_up(_location(workspace).get_repository(REPOSITORY).get_python_origin())


def first_request(instance, workspace) -> dg.RunRequest | dg.SkipReason:
    """The nightly schedule's tick, evaluated by the code server."""
    from dagster._core.definitions.timestamp import TimestampWithTimezone

    location = _location(workspace)
    handle = location.get_repository(REPOSITORY).handle
    tick = dt.datetime.now(ZoneInfo("Asia/Shanghai")).replace(hour=2, minute=0, second=0, microsecond=0)
    data = location.get_schedule_execution_data(instance, handle, SCHEDULE, TimestampWithTimezone(tick.timestamp(), "Asia/Shanghai"), None)
    if not data.run_requests:
        return dg.SkipReason(data.skip_message)
    (request,) = data.run_requests
    return request


def _measured(instance, run_id: str, t0: float, launched: float | None, out: DeploymentRun) -> dg.DagsterRun:
    """Wait for run ``run_id``'s end; record its status and marks."""
    run = _wait(instance, run_id)
    out.run_ids.append(run.run_id)
    out.statuses.append(run.status.value)
    out.marks.append(_marks(instance, run.run_id, t0, launched))
    return run


def launch(instance, workspace, request: dg.RunRequest, t0: float, out: DeploymentRun) -> dg.DagsterRun:
    """Create ``request``'s run and launch it with the instance's run launcher; wait for its end."""
    run = _create_run(instance, workspace, request)
    launched = time.time()
    instance.launch_run(run.run_id, workspace)
    return _measured(instance, run.run_id, t0, launched, out)


def chained_run(instance, first: dg.DagsterRun) -> dg.DagsterRun | None:
    """The second run that ``first``'s process creates (pipelines/chain.py), once it is created;
    None when that process ended without one (its request skipped: the engine event says why)."""
    from pipelines.launcher import run_process_id
    from pipelines.runs import ASSESS_JOB, INGEST_RUN_TAG

    deadline = time.monotonic() + RUN_TIMEOUT_SECONDS
    while time.monotonic() < deadline:
        ended = run_process_id(first) is None  # read before the runs: a run created just before it ended is found
        runs = instance.get_runs(filters=dg.RunsFilter(job_name=ASSESS_JOB, tags={INGEST_RUN_TAG: first.run_id}), limit=1)
        if runs or ended:
            return runs[0] if runs else None
        time.sleep(POLL_SECONDS)
    return None


def deployment_pipeline_run(instance, workspace, *, first_tags: dict[str, str] | None = None) -> DeploymentRun:
    """One pipeline run as a deployment runs it (see the module docstring). ``first_tags`` are added to
    the first run's request, as an operator adds tags in the UI (``lianjian/reports: skip``)."""
    cursor = chain_cursor(instance, workspace)
    t0 = time.time()
    out = DeploymentRun()
    request = first_request(instance, workspace)
    if isinstance(request, dg.SkipReason):
        out.current = request.skip_message
        return out
    if first_tags:
        request = request.with_replaced_attrs(tags={**request.tags, **first_tags})
    first = launch(instance, workspace, request, t0, out)
    if first.status != dg.DagsterRunStatus.SUCCESS:
        return out
    from pipelines.runs import chained_in_its_process

    if chained_in_its_process(first):  # the sensor's tick skips it: its process runs the second run
        second = chained_run(instance, first)
        if second is None:
            from pipelines.chain import NO_ASSESS_RUN

            logs = instance.all_logs(first.run_id, of_type=dg.DagsterEventType.ENGINE_EVENT)
            out.skipped = next((e.user_message for e in logs if (e.user_message or "").startswith(NO_ASSESS_RUN)), NO_ASSESS_RUN)
            return out
        _measured(instance, second.run_id, t0, None, out)
        return out
    location = _location(workspace)
    handle = location.get_repository(REPOSITORY).handle
    data = location.get_sensor_execution_data(instance, handle, CHAIN_SENSOR, None, None, cursor, None, None)
    if not data.run_requests:
        out.skipped = data.skip_message
        return out
    (second,) = data.run_requests
    launch(instance, workspace, second, t0, out)
    return out


def process_cpu_seconds(pid: int, *, waited: bool = True) -> float:
    """User + system CPU seconds of process ``pid``, and (``waited``) of the children it has waited
    for (Linux ``/proc/PID/stat``: utime, stime, cutime, cstime); 0 when it is gone."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return sum(int(v) for v in fields[11 : 15 if waited else 13]) / os.sysconf("SC_CLK_TCK")


def descendants(root: int) -> list[int]:
    """The processes under ``root`` (children, their children …), from ``/proc``."""
    children: dict[int, list[int]] = {}
    for name in os.listdir("/proc"):
        if name.isdigit():
            try:
                ppid = int(Path(f"/proc/{name}/stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            children.setdefault(ppid, []).append(int(name))
    out, todo = [], [root]
    while todo:
        for pid in children.get(todo.pop(), ()):
            out.append(pid)
            todo.append(pid)
    return out


class TreeCPU:
    """CPU seconds of this process's descendants (the code server, the runs' processes, their suite
    workers) from now until ``stop``, read from ``/proc`` every ``POLL_SECONDS`` by a thread: each
    process's own user + system seconds when last seen, less what it had used when this started.
    A process's last ``POLL_SECONDS`` before it ends are not seen (a few hundredths of a second per
    process); processes reaped or not, whichever their parent, are counted alike."""

    def __init__(self, root: int | None = None):
        self._root = os.getpid() if root is None else root
        self._base = {pid: process_cpu_seconds(pid, waited=False) for pid in descendants(self._root)}
        self._seen: dict[int, float] = {}
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._sample, name="tree-cpu", daemon=True)
        self._thread.start()

    def _sample(self) -> None:
        while True:
            for pid in descendants(self._root):
                self._seen[pid] = max(self._seen.get(pid, 0.0), process_cpu_seconds(pid, waited=False))
            if self._done.wait(POLL_SECONDS):
                return

    def stop(self) -> float:
        self._done.set()
        self._thread.join()
        return sum(max(0.0, cpu - self._base.get(pid, 0.0)) for pid, cpu in self._seen.items())


#: The run launcher's section of the project's instance settings (pipelines/instance.py), and Dagster's
#: default launcher's (the code server starts each run), which ``with_launcher`` puts in its place.
LIANJIAN_LAUNCHER = "run_launcher:\n  module: pipelines.launcher\n  class: LianjianRunLauncher\n"
DAGSTER_LAUNCHER = "run_launcher:\n  module: dagster._core.launcher\n  class: DefaultRunLauncher\n"


def with_launcher(home: Path, launcher: str) -> None:
    """The instance settings in ``home`` name lianjian's run launcher (``launcher="lianjian"``: the
    project's, pipelines/launcher.py) or Dagster's default one (``"dagster"``: the run started by the
    code server) — for comparing the two."""
    path = home / "dagster.yaml"
    text = path.read_text(encoding="utf-8")
    wanted, other = (LIANJIAN_LAUNCHER, DAGSTER_LAUNCHER) if launcher == "lianjian" else (DAGSTER_LAUNCHER, LIANJIAN_LAUNCHER)
    if wanted not in text:
        path.write_text(text.replace(other, wanted) if other in text else text + wanted, encoding="utf-8")
