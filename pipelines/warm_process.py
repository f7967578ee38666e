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
2. it forks a *spare* (below), waits until the spare has prepared, and writes ``ready`` on ``FD`` (or
   ``unfit REASON``, and ends);
3. each further line is a run's request, the JSON list of ``run_process.main``'s arguments: it hands
   them to the spare, which returns from :func:`serve` and executes the run exactly as ``python -m
   pipelines.run_process`` does (``run_process.main``, then the interpreter's exit), and writes
   ``forked PID START`` (the spare's id and its start time, :func:`process_start`) — or ``unfit
   REASON`` and ends, when it must not hand it over (below). With no spare (one is running a run
   still, or it ended) a child is forked for the run there and then and prepares it itself;
4. when its standard input closes — the launcher's process ended or let it go — it ends its spare
   and ends. Runs it handed over go on (their parent becomes the system's reaper), as a run started
   by the launcher does.

**Spares: a run's process ready before its launch.** ``fork`` copies only the calling thread: a lock
held by another thread stays held in the child, a thread pool has no threads there. Polars starts
threads when it is imported (jemalloc's background thread and its spill cleaner, ``polars-ooc-clea``,
two more threads in ``/proc/self/task``; its pool at first use), so Polars — and the project's
definitions, which import it — is never imported here, and a process that imported it never forks.
A spare is a child forked ahead of its run, which imports and builds what any run needs
(:func:`prepare_run`: the definitions, ≈ 0.6 CPU-s) and then waits on a pipe for its
run's arguments; it never forks either (the run's workers are started by ``spawn``). One spare is
kept: forked when this process is ready, and again once no run it handed over is running any more
(not while a run runs: on two cores its ≈ 0.6 CPU-s would be taken from the run). While it
prepares, this process ending kills it (``PR_SET_PDEATHSIG``); while it waits, this process ending
closes its pipe and it ends without running anything. Before each hand-over this process checks that
it is alone in ``/proc/self/task``, and that the code it and its spare imported is still the code on
disk (:func:`code_stamp`, computed before any of their imports): the project's packages' digest
(lianjian/fingerprint.py ``code_digest``, which the "nothing changed" check also uses: the libraries
that change the published bytes included) and the installed packages' folders (an upgrade of Dagster
adds and removes folders there). Either failing, it answers ``unfit``, ends its spare and ends, and
the launcher starts the run as before.

**What the child gets.** Nothing open but the standard streams (the pipes of this process are closed in
the child, its standard input is ``/dev/null``) and its own pipe (read once: its run); the run opens
the instance itself. Python's ``random`` is seeded again at fork (its own ``os.register_at_fork``
hook); NumPy, Polars and PyArrow are not loaded before the fork, so their state is the child's own;
logging's locks are made again at fork by ``logging`` itself. Signals: SIGCHLD is this process's
(below) and is set back to its default in the child; SIGINT is ignored here and in a spare (an
interrupt of the daemon's terminal ends the daemon, and this process with it) and Python's own
handler is set back once the spare has its run; the run sets its SIGTERM handling itself
(``run_process.main``).

**Children reaped without a thread.** A SIGCHLD handler waits for every ended child (``WNOHANG``): the
handler runs in this single thread between reads of the pipe, and wakes the loop (``set_wakeup_fd``)
to fork the next spare when the last run ended. SIGCHLD is blocked while a child is forked and its
start time read, and while it is handed its run, so that it cannot be reaped — and its id reused —
before that.
"""

from __future__ import annotations

import json
import os
import select
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
#: The module a spare imports (:func:`prepare_run`): the code location's (workspace.yaml).
PREPARED_MODULE = "pipelines.definitions"
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
        # the scripts themselves loaded (Alembic's revision map, which the revision check walks to its
        # head at each storage's opening: ≈ 90 files, ≈ 0.03–0.08 CPU-s a run otherwise)
        ScriptsReadOnce.from_config(get_alembic_config(sqlite_run_storage.__file__)).as_revision_number("head")


#: The runs this process handed to a child (the child's id), until they end: the next spare is forked
#: only when none runs (see the module docstring). Changed by the SIGCHLD handler.
_running: set[int] = set()


def _reap(*_) -> None:
    while True:
        try:
            pid, _status = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return
        _running.discard(pid)


def _fork(own: tuple[int, ...]) -> int:
    """A child (0 in the child, its id here), forked with SIGCHLD blocked; the child's own signals and
    descriptors set as the module docstring says: this process's own descriptors (``own``: the replies'
    pipe, the wake-up pipe) closed there, SIGINT still ignored until the child has its run."""
    pid = os.fork()
    if pid == 0:
        signal.set_wakeup_fd(-1)
        signal.signal(signal.SIGCHLD, signal.SIG_DFL)
        signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGCHLD})
        for fd in own:
            os.close(fd)
        null = os.open(os.devnull, os.O_RDONLY)
        os.dup2(null, 0)
        os.close(null)
        sys.stdin = open(os.devnull, encoding="utf-8")  # noqa: SIM115 - the child's for its life; nothing read ahead kept
    return pid


def _die_with_parent(signum: int) -> None:
    """Linux's ``PR_SET_PDEATHSIG``: ``signum`` is sent to this process when its parent ends (0: nothing)."""
    import ctypes

    ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signum, 0, 0, 0)


#: ``prctl``'s option number for the signal a process gets when its parent ends (<linux/prctl.h>).
PR_SET_PDEATHSIG = 1


def prepare_run() -> None:
    """What a spare imports before it knows its run: the project's definitions (Polars, which they
    import, with them). Not their repository: a run builds it from its code origin with the repository's
    load data, and one built here without them would be the one Dagster keeps (a second run's
    execution plan then differs from the daemon's: tests/test_launcher.py); it costs ≈ 0.02 CPU-s. Great
    Expectations is not among them (the suite worker imports it: lianjian/quality/worker.py). An error
    is left to the run: it imports the module again and fails as a fresh process would, the error
    recorded as the run's."""
    import importlib

    try:
        importlib.import_module(PREPARED_MODULE)
    except Exception:  # noqa: BLE001, S110 - the run meets the same error and records it (docstring)
        pass


class Spare:
    """A child forked ahead of its run (:func:`_spare`, here its parent's view): its id and start time,
    the pipe its run's arguments are written to, and the pipe it says it is prepared on."""

    def __init__(self, pid: int, feed: int, prepared: int):
        self.pid, self.start, self.feed, self.prepared = pid, process_start(pid), feed, prepared

    def hand(self, line: bytes) -> bool:
        """Writes its run's arguments (one line); False when it has ended (its pipe is closed)."""
        try:
            while line:
                line = line[os.write(self.feed, line) :]
        except OSError:
            return False
        finally:
            self.close()
        return True

    def wait_prepared(self) -> None:
        """Until it has prepared its run (or ended)."""
        if self.prepared >= 0:
            os.read(self.prepared, 1)
            os.close(self.prepared)
            self.prepared = -1

    def close(self) -> None:
        for fd in (self.feed, self.prepared):
            if fd >= 0:
                os.close(fd)
        self.feed = self.prepared = -1

    def end(self) -> None:
        """Ends it (this process is ending: nothing is left behind) and reaps it; a process of the same
        id and another start time (the spare ended and was reaped) is left alone."""
        self.close()
        if process_start(self.pid) == self.start:
            os.kill(self.pid, signal.SIGKILL)
        try:
            os.waitpid(self.pid, 0)
        except ChildProcessError:
            pass


def _spare(own: tuple[int, ...]) -> Spare | list[str]:
    """A child forked now, before its run is known (SIGCHLD blocked by the caller): here a
    :class:`Spare`; in the child, once it has prepared (:func:`prepare_run`) and been handed its run,
    the run's arguments (it ends without running anything when this process ends first)."""
    feed_r, feed_w = os.pipe()
    prepared_r, prepared_w = os.pipe()
    parent = os.getpid()
    pid = _fork(own)
    if pid:
        os.close(feed_r)
        os.close(prepared_w)
        return Spare(pid, feed_w, prepared_r)
    os.close(feed_w)
    os.close(prepared_r)
    _die_with_parent(signal.SIGKILL)  # while it imports: this process ending kills it at once
    if os.getppid() != parent:  # it ended before that was set
        os._exit(0)
    prepare_run()
    _die_with_parent(0)  # from here on this process ending closes the pipe: read as "no run"
    try:
        os.write(prepared_w, b"p")
    except OSError:  # nobody waits for it: its run is already in its pipe
        pass
    os.close(prepared_w)
    with os.fdopen(feed_r, "rb") as feed:
        line = feed.readline()
    if not line.endswith(b"\n"):
        os._exit(0)
    signal.signal(signal.SIGINT, signal.default_int_handler)
    return json.loads(line)


def serve(replies: int, stamp: str) -> list[str] | None:
    """The loop of steps 3–4 (module docstring): None here when the launcher is gone or this process is
    unfit (its spare ended first); a run's arguments in a child that was handed its run."""
    say = lambda line: os.write(replies, f"{line}\n".encode())  # noqa: E731 - one line a reply, unbuffered
    wake_r, wake_w = os.pipe()  # a byte at each SIGCHLD: a run ended, perhaps the last one
    os.set_blocking(wake_w, False)
    own = (replies, wake_r, wake_w)
    signal.set_wakeup_fd(wake_w)
    signal.signal(signal.SIGCHLD, _reap)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # see the module docstring
    signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGCHLD})
    spare = _spare(own)
    if isinstance(spare, list):
        return spare
    spare.wait_prepared()
    say("ready")
    signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGCHLD})
    pending = b""
    try:
        while True:
            if spare is None and not _running:
                signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGCHLD})
                spare = _spare(own)
                if isinstance(spare, list):
                    return spare
                signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGCHLD})
            readable = select.select([0, wake_r], [], [])[0]
            if wake_r in readable:
                os.read(wake_r, 4096)
            chunk = os.read(0, 65536) if 0 in readable else None
            if chunk == b"":
                return None
            pending += chunk or b""
            while b"\n" in pending:
                line, pending = pending.split(b"\n", 1)
                unfit = f"threads {threads()}" if threads() != 1 else ("stale" if code_stamp() != stamp else None)
                if unfit:
                    say(f"unfit {unfit}")
                    return None
                signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGCHLD})
                if spare is None or not spare.hand(line + b"\n"):  # none prepared, or it ended: one now
                    spare = _spare(own)
                    if isinstance(spare, list):
                        return spare
                    spare.prepared = os.close(spare.prepared) or -1  # not waited for: its run is
                    if not spare.hand(line + b"\n"):  # ended at once: the launcher starts the run afresh
                        say("unfit child ended")
                        return None
                _running.add(spare.pid)
                say(f"forked {spare.pid} {spare.start}")
                spare = None
                signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGCHLD})
    finally:
        if isinstance(spare, Spare):
            spare.end()


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
    run = serve(replies, stamp)
    if run is None:
        return 0
    from pipelines.run_process import main as run_main

    return run_main(run)


if __name__ == "__main__":
    sys.exit(main())
