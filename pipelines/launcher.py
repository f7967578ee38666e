"""lianjian's run launcher: each run launched by the daemon (the nightly schedule, the sensors, the run
queue) or the UI executes in a process of its own on this machine, as with Dagster's default launcher,
but one forked from a warm process that has Dagster imported, which starts the suite worker first
(pipelines/run_process.py) and executes a pipeline run's second run itself (pipelines/chain.py). The
project's instance settings name it (pipelines/instance.py, dagster.yaml.example): the demo through a
deployment, tick to published, takes about half the time it takes with Dagster's launcher
(docs/performance.md, "Where the run stands", 2026-12-07 10:00 UTC). On a machine without ``/proc``
(macOS) it hands every run to Dagster's launcher (``names_processes``).

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

**From a warm process.** The run's process is forked from a process that has already imported
Dagster and what opening the instance needs (pipelines/warm_process.py: ≈ 1.5 of the ≈ 2 CPU-s a run's
process spends before its first step), kept by the launcher and handed each run's arguments through a
pipe; it is forked ahead of its run, a *spare* that has also imported Polars and the definitions (the
rest of those ≈ 2 CPU-s) and waits for its run, so that its run starts at once;
it executes ``run_process.main`` as the command above does. When there is no warm process,
it does not answer, it has more than one thread, or its code is not the code on disk any more
(``stale``), the run is started by the command above, as without it: a launch never fails because of
it. The warm process is replaced when it is unfit, when it ended, or when a run's Python, working
directory or this process's environment differ from those it was started with.

When it starts: at the launcher's first launch in a process, which hands its run to it (the run then
waits for the imports and its spare's as a fresh process would); it is kept for every later launch, and ends with the
launcher's process (its pipe closes) or the instance (``dispose``). Not earlier: Dagster makes an
instance's run launcher when something first uses it, and neither the daemon nor the webserver does at
its start; the webserver, where the run queue leaves launches to the daemon, never launches and so
never holds a warm process. The first run after the daemon (re)starts pays the imports once (≈ 2–2.5 s
more before its ``RUN_START`` than a later run; nothing tells the launcher it is the daemon's but the
daemon's command line, docs/performance.md); every later run is handed to a spare (docs/operations.md). :meth:`LianjianRunLauncher.warm_up`
starts it ahead of a launch (the benchmark's deployment path, a daemon up since before the tick).

**A pipeline run in one process.** A pipeline run's first run (``lianjian_ingest``) is tagged
``lianjian-launcher/chains`` before its process starts: that process executes the second run too, once
the first succeeded (pipelines/chain.py), and the run-status sensor leaves it alone
(pipelines/sensors.py). The second run names its first in ``lianjian-launcher/chained_after``.

The run's process is recorded in the run's tag ``lianjian-launcher/pid`` as ``host:pid:start`` (its
start time, ``/proc/PID/stat``), which the webserver reads to terminate it: a process is only
signalled when its id and start time are this run's, so an id reused by another process never is (a
forked run's command line is the warm process's; a tag of an earlier launcher, ``host:pid``, is
checked by its command line holding the run's id). Like Dagster's default launcher, it runs the run on
the machine of the process that launches it (the daemon's; the webserver's for a launch from the UI
without the queue).
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import select
import signal
import socket
import subprocess
import threading
import time
from pathlib import Path

import dagster as dg
from dagster._core.launcher import CheckRunHealthResult, LaunchRunContext, RunLauncher, WorkerStatus
from dagster._serdes import ConfigurableClass, ConfigurableClassData

from pipelines.executor import in_process, run_settings
from pipelines.run_process import arguments, command
from pipelines.runs import CHAINS_TAG, INGEST_JOB
from pipelines.warm_process import REPLIES, process_start

log = logging.getLogger(__name__)

#: The run's tag holding its process (``host:pid:start``). Not under ``lianjian/``: the second run of a
#: pipeline run copies the first run's ``lianjian/*`` tags (pipelines/runs.py).
PID_TAG = "lianjian-launcher/pid"
#: On a run executed in the process of another run (a pipeline run's second run, in its first run's
#: process: pipelines/chain.py): that run's id, for the UI (its process is named by ``PID_TAG`` as any run's).
CHAINED_TAG = "lianjian-launcher/chained_after"
#: How long a launch waits for the warm process to be ready: its imports take ≈ 2 s on an idle machine
#: and were seen to take up to ≈ 19 s at load 10 (docs/performance.md), its spare's ≈ 0.6 s more (a
#: third of them); longer, it is taken as stuck.
READY_SECONDS = 60.0
#: How long a launch waits for a ready warm process to fork (its checks and the fork: ≈ 0.1 s).
FORK_SECONDS = 30.0


#: Linux's view of a process's start time (``process_start``): without it (macOS) no run's process can
#: be named safely for ``terminate`` and the health check, and no warm process is kept.
PROC_STAT = Path("/proc/self/stat")


def names_processes() -> bool:
    """Whether this machine names processes by id and start time (``/proc``); where it does not, the
    launcher hands every run to Dagster's own launcher (the code server starts it)."""
    return PROC_STAT.exists()


def process_tag(pid: int, start: int | None) -> str:
    """The tag value naming process ``pid`` started at ``start`` on this machine."""
    return f"{socket.gethostname()}:{pid}:{start}"


def run_process_id(run: dg.DagsterRun) -> int | None:
    """The id of ``run``'s process when it runs on this machine and is that run's process — its start
    time is the one recorded (an id reused by another process is never signalled) — and has not
    ended."""
    host, pid, start = ((run.tags.get(PID_TAG) or "").split(":") + ["", ""])[:3]
    if host != socket.gethostname() or not pid.isdigit():
        return None
    if start:  # host:pid:start (``None`` when the process had ended before its start was read)
        return int(pid) if start.isdigit() and process_start(int(pid)) == int(start) else None
    try:  # host:pid, from an earlier launcher: its command line holds the run's id
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return None
    return int(pid) if run.run_id.encode() in cmdline and process_start(int(pid)) is not None else None


def environment_digest() -> str:
    """A digest of this process's environment, which a warm process is started with and a fresh run's
    process would get (a change shows as a different digest)."""
    return hashlib.sha256(json.dumps(sorted(os.environ.items())).encode()).hexdigest()


class WarmProcess:
    """A started ``python -m pipelines.warm_process`` (its protocol: pipelines/warm_process.py) for
    runs of one Python and working directory, started with this process's environment."""

    def __init__(self, instance_ref: str, executable: str, cwd: str):
        self.key = (executable, cwd, environment_digest())
        replies, write_end = os.pipe()
        try:
            self.process = subprocess.Popen(
                [executable, "-m", "pipelines.warm_process", REPLIES, str(write_end)],
                cwd=cwd,
                stdin=subprocess.PIPE,
                pass_fds=(write_end,),
            )
        except BaseException:
            os.close(replies)
            raise
        finally:
            os.close(write_end)
        self._replies = replies
        self._pending = b""
        self.ready = False
        # reaped when it ends (no zombie in the launcher's process)
        threading.Thread(target=self.process.wait, name="lianjian-warm-process", daemon=True).start()
        self.process.stdin.write(instance_ref.encode() + b"\n")
        self.process.stdin.flush()

    def _reply(self, deadline: float) -> str | None:
        """The warm process's next line, ``ended`` when it closed its end, None when ``deadline``
        passed."""
        while b"\n" not in self._pending:
            wait = deadline - time.monotonic()
            if wait <= 0 or not select.select([self._replies], [], [], wait)[0]:
                return None
            chunk = os.read(self._replies, 4096)
            if not chunk:
                return "ended"
            self._pending += chunk
        line, self._pending = self._pending.split(b"\n", 1)
        return line.decode()

    def wait_ready(self, seconds: float = READY_SECONDS) -> str:
        """``ready``, or why it is not (its ``unfit`` reply, or ``no answer``)."""
        if not self.ready:
            reply = self._reply(time.monotonic() + seconds) or "no answer"
            self.ready = reply == "ready"
            return reply
        return "ready"

    def fork(self, argv: list[str]) -> tuple[int, int] | str:
        """A run's process forked with ``argv`` (``run_process.main``'s arguments): its id and start
        time, or why there is none (the warm process is then unusable)."""
        reply = self.wait_ready()
        if not self.ready:
            return reply
        try:
            self.process.stdin.write(json.dumps(argv).encode() + b"\n")
            self.process.stdin.flush()
        except OSError:
            return "ended"
        reply = self._reply(time.monotonic() + FORK_SECONDS) or "no answer"
        word, *rest = reply.split()
        if word == "forked" and len(rest) == 2 and rest[1].isdigit():
            return int(rest[0]), int(rest[1])
        return reply

    def alive(self) -> bool:
        return self.process.returncode is None

    def close(self, *, kill: bool = False) -> None:
        """Lets it go: its input closed, it ends (at once with ``kill``: it did not answer in time)."""
        if kill and self.alive():
            self.process.kill()
        try:
            self.process.stdin.close()
        except OSError:
            pass
        os.close(self._replies)


class LianjianRunLauncher(RunLauncher, ConfigurableClass):
    """Launches each run in a process forked from the warm process, else in ``python -m
    pipelines.run_process`` (see the module docstring). On a machine without ``/proc``
    (``names_processes``), and to terminate a run it did not launch (no ``PID_TAG``: launched by
    Dagster's launcher before these settings named this one), Dagster's own launcher does it."""

    def __init__(self, inst_data: ConfigurableClassData | None = None):
        self._inst_data = inst_data
        self._warm: WarmProcess | None = None
        self._warm_lock = threading.Lock()  # the daemon launches from several threads
        self._warm_unfit: str | None = None  # why no warm process can serve (then: none started again)
        self._dagster = None  # Dagster's own launcher, made when first needed (``_dagsters``)
        super().__init__()

    def _dagsters(self):
        """Dagster's default launcher (the code server starts the run), registered with this instance."""
        if self._dagster is None:
            from dagster._core.launcher.default_run_launcher import DefaultRunLauncher

            self._dagster = DefaultRunLauncher()
            self._dagster.register_instance(self._instance)
        return self._dagster

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

        if not names_processes():
            return self._dagsters().launch_run(context)
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
        executable, cwd = where_runs_start(origin.repository_origin)
        forked = self._forked(arguments(args, landing=landing), executable, cwd)
        if isinstance(forked, tuple):
            pid, start = forked
        else:
            if forked != "no warm process":
                log.warning("运行 %s 的进程新启动，预热进程不可用 (run process started afresh: %s)", run.run_id, forked)
            process = subprocess.Popen(command(args, landing=landing, executable=executable), cwd=cwd)
            pid, start = process.pid, process_start(process.pid)  # read before it can be reaped
            # reaped when it ends (no zombie in the daemon); its status is the run's, recorded by the run
            threading.Thread(target=process.wait, name=f"lianjian-run-{run.run_id[:8]}", daemon=True).start()
        self._instance.add_run_tags(run.run_id, {PID_TAG: process_tag(pid, start)})

    def _warm_process(self, executable: str, cwd: str) -> WarmProcess | None:
        """The warm process for runs of ``executable`` in ``cwd``, started when there is none fit
        (one of another Python, directory or environment, or that ended, is let go first)."""
        key = (executable, cwd, environment_digest())
        if self._warm is not None and (self._warm.key != key or not self._warm.alive()):
            self._warm.close()
            self._warm = None
        if self._warm is None and self._warm_unfit is None:
            try:
                self._warm = WarmProcess(serialize_instance_ref(self._instance), executable, cwd)
            except OSError as err:
                self._warm_unfit = f"not started ({err})"
        return self._warm

    def _forked(self, argv: list[str], executable: str, cwd: str) -> tuple[int, int] | str:
        """The run's process forked by the warm process (id, start time), or why not. A warm process
        that answers ``stale`` (the code changed) or ends is replaced and asked once more; one with
        threads is not started again by this launcher (something it imports starts them)."""
        with self._warm_lock:
            reason = "no warm process"
            for _ in range(2):
                warm = self._warm_process(executable, cwd)
                if warm is None:
                    return self._warm_unfit or reason
                reason = warm.fork(argv)
                if isinstance(reason, tuple):
                    return reason
                warm.close(kill=True)  # it forks nothing more (it may be slow, not gone)
                self._warm = None
                if reason.startswith("unfit threads"):
                    self._warm_unfit = reason
                if not reason.startswith(("unfit stale", "ended")):
                    return reason
            return reason

    def warm_up(self, origin, *, wait: bool = True) -> bool:
        """Starts the warm process for the runs of a code location (``origin``: its repository's
        ``RepositoryPythonOrigin``) ahead of a launch; with ``wait``, until it is ready. Whether it is
        (or, without ``wait``, was started)."""
        with self._warm_lock:
            warm = self._warm_process(*where_runs_start(origin))
            return warm is not None and (not wait or warm.wait_ready() == "ready")

    def dispose(self) -> None:
        with self._warm_lock:
            if self._warm is not None:
                self._warm.close()
                self._warm = None
        if self._dagster is not None:
            self._dagster.dispose()

    def terminate(self, run_id: str) -> bool:
        run = self._instance.get_run_by_id(run_id)
        if run is None or run.is_finished:
            return False
        if not names_processes() or PID_TAG not in run.tags:
            return self._dagsters().terminate(run_id)
        self._instance.report_run_canceling(run)
        pid = run_process_id(run)
        if pid is None:
            self._instance.report_engine_event("运行进程不在本机或已结束，无法终止 (the run's process is not on this machine)", run, cls=self.__class__)
            return False
        os.kill(pid, signal.SIGTERM)
        return True

    @property
    def supports_check_run_worker_health(self) -> bool:
        return names_processes()

    def check_run_worker_health(self, run: dg.DagsterRun) -> CheckRunHealthResult:
        if PID_TAG not in run.tags:  # launched by Dagster's launcher, which cannot tell
            return CheckRunHealthResult(WorkerStatus.UNKNOWN, msg="运行不是由本启动器启动的 (not launched by this launcher)")
        if run_process_id(run) is not None:
            return CheckRunHealthResult(WorkerStatus.RUNNING)
        return CheckRunHealthResult(WorkerStatus.NOT_FOUND, msg=f"运行进程已结束 (run process {run.tags.get(PID_TAG)} not found)")


def where_runs_start(origin) -> tuple[str, str]:
    """The Python and the working directory of the runs of a repository (its ``RepositoryPythonOrigin``:
    the code location's)."""
    return origin.executable_path, getattr(origin.code_pointer, "working_directory", None) or os.getcwd()


def serialize_instance_ref(instance: dg.DagsterInstance) -> str:
    """The instance's reference as the warm process reads it (its first line)."""
    from dagster._serdes import serialize_value

    return serialize_value(instance.get_ref())
