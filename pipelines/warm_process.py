"""The warm process of lianjian's run launcher (pipelines/launcher.py): a process that has done what a
run's process does before it knows its run, and forks one child per run.

    python -m pipelines.warm_process --replies FD

A run's process (pipelines/run_process.py) spends ≈ 2 s of one core before its first step: Python's
start, Dagster's import (≈ 1.2 CPU-s), the instance's storages (≈ 0.6–0.8), the definitions (≈ 0.3)
(docs/performance.md, "A deployment's runs, each in its own process"). This process does the part that
does not depend on the run and opens nothing, then waits on its standard input (a pipe from the
launcher):

1. the first line is the instance's reference (serialized ``InstanceRef``, not on the command line,
   where ``ps`` would show a database's settings): the classes of its storages are imported, with
   what opening them imports, and Alembic's migration scripts are read when the run history is in
   SQLite (pipelines/run_storage.py ``ScriptsReadOnce``) — no connection is made, no file opened;
2. it writes ``ready`` on ``FD`` (or ``unfit REASON``, and ends);
3. each further line is a run's request, the JSON list of ``run_process.main``'s arguments; it forks a
   child that returns from :func:`serve` and executes the run exactly as ``python -m
   pipelines.run_process`` does (``run_process.main``, then the interpreter's exit), and writes
   ``forked PID START`` (the child's id and its start time, :func:`process_start`) — or ``unfit
   REASON`` and ends, when it must not fork (below);
4. when its standard input closes — the launcher's process ended or let it go — it ends. Runs it
   forked go on (their parent becomes the system's reaper), as a run started by the launcher does.

**When it does not fork.** ``fork`` copies only the calling thread: a lock held by another thread stays
held in the child, a thread pool has no threads there. Polars starts threads when it is imported (its
allocator's background thread, its spill cleaner; its pool at first use), so Polars — and the project's
definitions, which import it — is never imported here: the child imports them, as a fresh process
would (≈ 0.3–0.5 CPU-s). Before each fork the process checks that it is alone in ``/proc/self/task``;
it also checks that the code it imported is still the code on disk (:func:`code_stamp`, computed
before the imports): the project's packages' digest (lianjian/fingerprint.py ``code_digest``, which the
"nothing changed" check also uses: the libraries that change the published bytes included) and the
installed packages' folders (an upgrade of Dagster adds and removes folders there). Either failing, it
answers ``unfit`` and ends, and the launcher starts the run as before.

**What the child gets.** Nothing open but the standard streams (the pipe to the launcher is closed in
the child, its standard input is ``/dev/null``); the run opens the instance itself. Python's
``random`` is seeded again at fork (its own ``os.register_at_fork`` hook); NumPy, Polars and PyArrow
are not loaded yet, so their state is the child's own; logging's locks are made again at fork by
``logging`` itself. Signals: SIGCHLD is this process's (below) and is set back to its default in the
child; SIGINT is ignored here (an interrupt of the daemon's terminal ends the daemon, and this process
with it) and Python's own handler is set back in the child; the run sets its SIGTERM handling itself
(``run_process.main``).

**Children reaped without a thread.** A SIGCHLD handler waits for every ended child (``WNOHANG``): the
handler runs in this single thread between reads of the pipe. SIGCHLD is blocked while a child is
forked and its start time read, so that it cannot be reaped — and its id reused — before that.
"""

from __future__ import annotations

import json
import os
import signal
import sys

#: The option naming the file descriptor the process writes its replies on (passed by the launcher).
REPLIES = "--replies"
#: Modules that opening the instance imports beyond its storages' classes (measured: ``sys.modules``
#: before and after ``DagsterInstance.from_ref`` in a process that had imported the classes — the
#: instance's factory, Dagster's storage bases, the local artifact storage's paths through ``upath``
#: and ``fsspec``: ≈ 0.09 CPU-s in all).
OPENING_MODULES = (
    "dagster._core.instance.factory",
    "dagster._core.storage.legacy_storage",
    "dagster._core.storage.migration.utils",
    "dagster._core.storage.sqlite_storage",
    "upath.implementations.local",
)
#: The instance reference's classes that opening an instance makes (the run launcher, coordinator and
#: scheduler are made when first used, and lianjian's launcher imports the definitions' modules).
OPENED_CLASSES = ("local_artifact_storage_data", "run_storage_data", "event_storage_data", "compute_logs_data", "schedule_storage_data")


def process_start(pid: int) -> int | None:
    """The start time of process ``pid`` (clock ticks since boot, ``/proc/PID/stat``'s 22nd field), or
    None when there is no such process or it has ended (a zombie). With the id it names one process
    for as long as the machine runs: an id reused by a later process comes with a later start time."""
    try:
        fields = open(f"/proc/{pid}/stat", "rb").read().rsplit(b")", 1)[1].split()  # noqa: SIM115 - a /proc file, read at once
    except OSError:
        return None
    return None if fields[0] == b"Z" else int(fields[19])


def code_stamp() -> str:
    """What the imported code is: the project's code digest (lianjian/fingerprint.py, read afresh) and
    the modification times of the folders of installed packages on ``sys.path`` (installing, upgrading
    or removing a package adds or removes entries there)."""
    from lianjian.fingerprint import code_digest

    folders = [p for p in sys.path if p.endswith(("site-packages", "dist-packages")) and os.path.isdir(p)]
    return " ".join([code_digest.__wrapped__(), *(f"{p}@{os.stat(p).st_mtime_ns}" for p in folders)])


def threads() -> int:
    """The threads of this process, as the kernel counts them (Python's count misses native threads)."""
    return len(os.listdir("/proc/self/task"))


def prepare(instance_ref: str) -> None:
    """Imports what a run's process imports before it knows its run (see the module docstring)."""
    import importlib

    import dagster  # noqa: F401
    from dagster._cli.api import execute_run_command  # noqa: F401
    from dagster._serdes import deserialize_value
    from dagster._utils.interrupts import setup_interrupt_handlers  # noqa: F401

    import lianjian.quality.worker  # noqa: F401
    import pipelines.run_process  # noqa: F401

    ref = deserialize_value(instance_ref)
    for name in OPENED_CLASSES:
        data = getattr(ref, name, None)
        if data is not None:
            getattr(importlib.import_module(data.module_name), data.class_name)
    for module in OPENING_MODULES:
        importlib.import_module(module)
    if "pipelines.run_storage" in sys.modules:
        from dagster._core.storage.runs.sqlite import sqlite_run_storage
        from dagster._core.storage.sql import get_alembic_config

        from pipelines.run_storage import ScriptsReadOnce, read_scripts_once

        read_scripts_once()
        ScriptsReadOnce.from_config(get_alembic_config(sqlite_run_storage.__file__))


def _reap(*_) -> None:
    while True:
        try:
            pid, _status = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return


def _fork(replies: int) -> int:
    """A child (0 in the child, its id here), forked with SIGCHLD blocked; the child's own signals and
    descriptors set as the module docstring says."""
    pid = os.fork()
    if pid == 0:
        signal.signal(signal.SIGCHLD, signal.SIG_DFL)
        signal.signal(signal.SIGINT, signal.default_int_handler)
        signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGCHLD})
        os.close(replies)
        null = os.open(os.devnull, os.O_RDONLY)
        os.dup2(null, 0)
        os.close(null)
        sys.stdin = open(os.devnull, encoding="utf-8")  # noqa: SIM115 - the child's for its life; nothing read ahead kept
    return pid


def serve(replies: int, stamp: str) -> list[str] | None:
    """The loop of steps 3–4 (module docstring): None here when the launcher is gone; a run's arguments
    in a forked child."""
    say = lambda line: os.write(replies, f"{line}\n".encode())  # noqa: E731 - one line a reply, unbuffered
    signal.signal(signal.SIGCHLD, _reap)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # see the module docstring
    for line in sys.stdin.buffer:
        argv = json.loads(line)
        unfit = f"threads {threads()}" if threads() != 1 else ("stale" if code_stamp() != stamp else None)
        if unfit:
            say(f"unfit {unfit}")
            return None
        signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGCHLD})
        pid = _fork(replies)
        if pid == 0:
            return argv
        start = process_start(pid)
        signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGCHLD})
        say(f"forked {pid} {start}")
    return None


def main(argv: list[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    replies = int(args[args.index(REPLIES) + 1])
    stamp = code_stamp()  # before the imports: code edited meanwhile shows as stale, never the reverse
    instance_ref = sys.stdin.buffer.readline().decode()
    if not instance_ref:
        return 0
    prepare(instance_ref)
    if threads() != 1:
        os.write(replies, f"unfit threads {threads()}\n".encode())
        return 0
    os.write(replies, b"ready\n")
    run = serve(replies, stamp)
    if run is None:
        return 0
    from pipelines.run_process import main as run_main

    return run_main(run)


if __name__ == "__main__":
    sys.exit(main())
