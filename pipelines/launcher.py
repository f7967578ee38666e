"""lianjian's run launcher: each run launched by the daemon (the nightly schedule, the sensors, the run
queue) or the UI executes in a process of its own on this machine, as with Dagster's default launcher,
but one that starts the suite worker before it imports Dagster (pipelines/run_process.py). Named in an
instance's settings to use it (dagster.yaml.example); not the default: on a loaded machine it did not
pay (docs/performance.md, "A deployment's runs, each in its own process").

Dagster's ``DefaultRunLauncher`` asks the code server to start the run; the server starts a process
with multiprocessing's "spawn", which imports Dagster, opens the instance and loads the definitions
before the run's executor starts the suite worker: ≈ 3.4 s of one core on the demo (docs/performance.md),
while the worker's import of Great Expectations and the suites waited. This launcher starts
``python -m pipelines.run_process`` instead, with the arguments of ``dagster api execute_run`` (the
job's code origin, the run's id, the instance): the run is executed by Dagster's own code, the same
events, status and failure, and the warehouse lock is taken by the run's executor as before
(pipelines/executor.py).

What Dagster's launcher gives is kept:

- termination from the UI (``terminate``): the run is marked canceling and its process is sent
  SIGTERM, which Dagster's run process takes as an interrupt (the run ends canceled, the lock is
  released, the suite worker is ended);
- a run whose process cannot be started, or ends without a status, fails (the launch raises; run
  monitoring, when the instance's settings turn it on, asks ``check_run_worker_health``);
- the process is started from the code location's own Python and working directory (the run's code
  origin), with this process's environment.

A pipeline run's first run (``lianjian_ingest``) is tagged ``lianjian-launcher/chains`` before its process
starts: that process executes the second run too, once the first succeeded (pipelines/chain.py), and
the run-status sensor leaves it alone (pipelines/sensors.py).

The run's process id is recorded in the run's tag ``lianjian-launcher/pid`` (``host:pid``), which the
webserver reads to terminate it; a process is only signalled when it is this run's (its command line
holds the run's id, or for a second run executed in its first run's process, that run's id:
``lianjian-launcher/chained_after``). Like Dagster's default launcher, it runs the run on the machine of the process
that launches it (the daemon's; the webserver's for a launch from the UI without the queue).
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import threading
from pathlib import Path

import dagster as dg
from dagster._core.launcher import CheckRunHealthResult, LaunchRunContext, RunLauncher, WorkerStatus
from dagster._serdes import ConfigurableClass, ConfigurableClassData

from pipelines.executor import in_process, run_settings
from pipelines.run_process import command
from pipelines.runs import CHAINS_TAG, INGEST_JOB

#: The run's tag holding its process (``host:pid``). Not under ``lianjian/``: the second run of a
#: pipeline run copies the first run's ``lianjian/*`` tags (pipelines/runs.py).
PID_TAG = "lianjian-launcher/pid"
#: On a run executed in the process of another run (a pipeline run's second run, in its first run's
#: process: pipelines/chain.py): that run's id, which the process's command line holds.
CHAINED_TAG = "lianjian-launcher/chained_after"


def run_process_id(run: dg.DagsterRun) -> int | None:
    """The id of ``run``'s process when it runs on this machine and is that run's process (its
    command line holds the run's id, or the id of the run in whose process it runs: a process id
    reused by another process is never signalled)."""
    host, _, pid = (run.tags.get(PID_TAG) or "").rpartition(":")
    if host != socket.gethostname() or not pid.isdigit():
        return None
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return None
    ids = {run.run_id, run.tags.get(CHAINED_TAG) or run.run_id}
    return int(pid) if any(i.encode() in cmdline for i in ids) else None


class LianjianRunLauncher(RunLauncher, ConfigurableClass):
    """Launches each run in ``python -m pipelines.run_process`` (see the module docstring)."""

    def __init__(self, inst_data: ConfigurableClassData | None = None):
        self._inst_data = inst_data
        super().__init__()

    @property
    def inst_data(self) -> ConfigurableClassData | None:
        return self._inst_data

    @classmethod
    def config_type(cls) -> dict:
        return {}

    @classmethod
    def from_config_value(cls, inst_data: ConfigurableClassData, config_value) -> LianjianRunLauncher:
        return cls(inst_data=inst_data)

    def launch_run(self, context: LaunchRunContext) -> None:
        from dagster._grpc.types import ExecuteRunArgs
        from dagster._serdes import serialize_value

        run = context.dagster_run
        origin = run.job_code_origin
        if origin is None:
            raise dg.DagsterInvariantViolationError(f"运行 {run.run_id} 没有代码来源 (the run has no code origin)")
        args = serialize_value(ExecuteRunArgs(job_origin=origin, run_id=run.run_id, instance_ref=self._instance.get_ref(), set_exit_code_on_failure=True))
        landing = None
        if run.job_name == INGEST_JOB:
            # its process executes the second run too: said before the process starts, so before the run
            # can end and the run-status sensor see it (pipelines/chain.py)
            self._instance.add_run_tags(run.run_id, {CHAINS_TAG: run.run_id})
            if in_process(run.run_config):
                landing = run_settings(run.run_config, run.tags)[1]
        pointer = origin.repository_origin.code_pointer
        cwd = getattr(pointer, "working_directory", None) or os.getcwd()
        process = subprocess.Popen(command(args, landing=landing, executable=origin.executable_path), cwd=cwd)
        # reaped when it ends (no zombie in the daemon); its status is the run's, recorded by the run
        threading.Thread(target=process.wait, name=f"lianjian-run-{run.run_id[:8]}", daemon=True).start()
        self._instance.add_run_tags(run.run_id, {PID_TAG: f"{socket.gethostname()}:{process.pid}"})

    def terminate(self, run_id: str) -> bool:
        run = self._instance.get_run_by_id(run_id)
        if run is None or run.is_finished:
            return False
        self._instance.report_run_canceling(run)
        pid = run_process_id(run)
        if pid is None:
            self._instance.report_engine_event("运行进程不在本机或已结束，无法终止 (the run's process is not on this machine)", run, cls=self.__class__)
            return False
        os.kill(pid, signal.SIGTERM)
        return True

    @property
    def supports_check_run_worker_health(self) -> bool:
        return True

    def check_run_worker_health(self, run: dg.DagsterRun) -> CheckRunHealthResult:
        if run_process_id(run) is not None:
            return CheckRunHealthResult(WorkerStatus.RUNNING)
        return CheckRunHealthResult(WorkerStatus.NOT_FOUND, msg=f"运行进程已结束 (run process {run.tags.get(PID_TAG)} not found)")
