"""The steps' stdout and stderr on an instance that keeps its run history in a folder (the project's
``dagster.yaml``, ``pipelines/instance.py``): Dagster's ``LocalComputeLogManager`` — the same files
(``<instance folder>/storage/<run id>/compute_logs/<key>.out`` and ``.err``, the ``.complete`` mark),
read by the UI as before — with the process's output mirrored back to its terminal by a thread of the
process instead of two more processes per stream.

Why: while a run (``lianjian run``, a run the daemon or the UI launched) captures its output, Dagster's
manager points the process's stdout and stderr at the files and starts, for each of the two streams, a
``tail -F`` that copies the file back to the terminal and a Python process
(``dagster/_core/execution/scripts/watch_orphans.py``) that kills the ``tail`` if the run's process
dies; at the end it terminates and waits for the four. That is four process starts (two of them a
Python interpreter) and four waits per Dagster run, on the run's main thread: ≈ 0.15 s of a demo
pipeline run's two runs, whatever the run's size (docs/performance.md, "Compute logs without tail").

What stays as Dagster has it: the file descriptors 1 and 2 of the process point at the files while
the run captures (so the output of C code, of threads and of child processes started meanwhile is in
them, as before), the files are written by the operating system, not by the mirror, and are complete
whatever happens to the mirror; the mark ``.complete`` is written when the capture ends. What differs:

- the copy to the terminal is made by a daemon thread that reads the file from its start (as
  ``tail -c +0``) every ``MIRROR_INTERVAL_SECONDS`` and at the capture's end reads it to its end, so
  nothing written during the capture is missing from the terminal (Dagster's ``tail`` is terminated
  and may lose the last lines: dagster-io/dagster#23336);
- nothing outlives the run's process: a killed run leaves no ``tail`` and no watcher behind, since
  there are none;
- on Windows, and for a stream without a file descriptor, Dagster's own capture is used.

Dagster's names used here (re-check them on a Dagster upgrade; docs/operations.md):
``LocalComputeLogManager.get_captured_local_path``, ``complete_artifact_path``, ``_base_dir``,
``IO_TYPE_EXTENSION``, ``dagster._core.execution.compute_logs.redirect_to_file`` and
``should_disable_io_stream_redirect``, ``dagster._core.instance.ref.compute_logs_directory``.
"""

from __future__ import annotations

import os
import sys
import threading
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager

from dagster import Field, Float, StringSource
from dagster._core.execution.compute_logs import redirect_to_file, should_disable_io_stream_redirect
from dagster._core.instance.ref import compute_logs_directory
from dagster._core.storage.compute_log_manager import CapturedLogContext, ComputeIOType
from dagster._core.storage.local_compute_log_manager import IO_TYPE_EXTENSION, LocalComputeLogManager
from dagster._utils import ensure_file, touch_file

#: How often the mirror looks for new output in a captured file: the progress lines of `lianjian run`
#: reach the terminal at most this late. Each look is a read of a local file (a few microseconds);
#: ten a second is nothing beside a step, and later than a person notices.
MIRROR_INTERVAL_SECONDS = 0.1

#: Bytes read from a captured file at a time when copying it to the terminal.
MIRROR_CHUNK_BYTES = 1 << 16


def _fileno(stream) -> int | None:
    try:
        fd = stream.fileno()
    except (AttributeError, ValueError, OSError):  # io.UnsupportedOperation is an OSError and ValueError
        return None
    return fd if isinstance(fd, int) else None


class _Mirror:
    """Copies what is appended to ``path`` to the file descriptor ``to_fd`` (a duplicate of the
    stream's own, taken before the stream was pointed at the file) on a daemon thread, until
    ``stop``, which copies the rest first."""

    def __init__(self, path: str, to_fd: int) -> None:
        self._path, self._to_fd = path, to_fd
        self._stop = threading.Event()
        self._broken = False  # the terminal is gone (a closed pipe): the file still gets everything
        self._source = open(path, "rb", buffering=0)  # noqa: SIM115 — closed by stop()
        self._thread = threading.Thread(target=self._run, name="lianjian-compute-log-mirror", daemon=True)
        self._thread.start()

    def _copy(self) -> None:
        while not self._broken:
            chunk = self._source.read(MIRROR_CHUNK_BYTES)
            if not chunk:
                return
            try:
                view = memoryview(chunk)
                while view:
                    view = view[os.write(self._to_fd, view) :]
            except OSError:
                self._broken = True

    def _run(self) -> None:
        while not self._stop.wait(MIRROR_INTERVAL_SECONDS):
            self._copy()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()
        try:
            self._copy()  # what was written since the thread's last look
        finally:
            self._source.close()
            os.close(self._to_fd)


@contextmanager
def mirrored_to_file(stream, path: str) -> Iterator[None]:
    """While inside: the file descriptor of ``stream`` points at ``path`` (appended to, as Dagster's
    ``redirect_to_file``), and what reaches the file is copied to where the stream pointed before."""
    ensure_file(path)
    fd = _fileno(stream)
    if fd is None:  # nothing to redirect (a test's stand-in stream): Dagster captures nothing either
        yield
        return
    mirror = _Mirror(path, os.dup(fd))
    try:
        with redirect_to_file(stream, path):
            yield
    finally:
        mirror.stop()


class MirroredComputeLogManager(LocalComputeLogManager):
    """``LocalComputeLogManager`` whose capture mirrors the output to the terminal without ``tail``
    and watcher processes (see the module's docstring). Configured in ``dagster.yaml``
    (``compute_logs``, ``module: pipelines.compute_logs``). Without a ``base_dir`` the files are in
    the instance folder's ``storage`` — where Dagster's default manager keeps them."""

    def __init__(self, base_dir: str | None = None, polling_timeout: float | None = None, inst_data=None):
        super().__init__(base_dir or "", polling_timeout=polling_timeout, inst_data=inst_data)
        self._base_dir = base_dir  # None until the instance registers (``register_instance``)

    def register_instance(self, instance) -> None:
        if self._base_dir is None:
            self._base_dir = compute_logs_directory(instance.root_directory)
        super().register_instance(instance)

    @classmethod
    def config_type(cls):
        return {"base_dir": Field(StringSource, is_required=False), "polling_timeout": Field(Float, is_required=False)}

    @classmethod
    def from_config_value(cls, inst_data, config_value):
        return cls(inst_data=inst_data, **config_value)

    @contextmanager
    def capture_logs(self, log_key):
        if should_disable_io_stream_redirect() or sys.platform == "win32":
            with super().capture_logs(log_key) as context:
                yield context
            return
        outpath = self.get_captured_local_path(log_key, IO_TYPE_EXTENSION[ComputeIOType.STDOUT])
        errpath = self.get_captured_local_path(log_key, IO_TYPE_EXTENSION[ComputeIOType.STDERR])
        with ExitStack() as streams:
            streams.enter_context(mirrored_to_file(sys.stdout, outpath))
            streams.enter_context(mirrored_to_file(sys.stderr, errpath))
            yield CapturedLogContext(log_key)
        # as Dagster's: the mark that the capture is complete, left on the file system
        touch_file(self.complete_artifact_path(log_key))
