"""The Great Expectations suites of the staged tables, run beside staging in one worker process.

Validating a staged table with its suite (lianjian/quality/validate.py) needs Great Expectations,
whose import alone costs about 3 CPU-seconds, and then about a quarter of a second per suite. The
data-quality step that reports the checks runs after staging; done there, all of it waits for
staging to end and the scoring waits for it. Instead, as soon as a run is going to stage data, one
worker process (started with "spawn": Polars' thread pool does not survive a fork) imports Great
Expectations while the landing files are read, and each staged table's suite is handed to it as soon
as staging has written and recorded the table: the suites run on the second core while the other
sources are staged. The data-quality step then takes each result from the worker (waiting for it if
need be) instead of running the suite itself.

Nothing about the checks changes: the worker runs the same ``validate_cached`` over the same staged
file, keyed by the same content digest (the file's SHA-256 as staging recorded it), and writes the
same cache entry; the step reports the same results, metadata and Data Docs, and a failed blocking
suite still stops the run before anything is published. The step that takes the results is the
suites' check step of the second run, after the derived and assessed steps (checks/quality.py): the
worker has the scoring's time as well to finish. When the worker is not there (a step in
another process, the multiprocess executor) or fails, the step runs the suite itself, as before.

The worker reads only staged tables (no identity number: personal columns are dropped at staging)
and writes only the suites' cache entries, private like the staged layer.
"""

from __future__ import annotations

import atexit
import multiprocessing as mp
import os
import sys
import threading
import time
import types
from collections.abc import Iterator
from contextlib import contextmanager
from concurrent.futures import Future, ProcessPoolExecutor, wait
from multiprocessing.util import Finalize
from pathlib import Path

from lianjian.processes import end_with_parent, landing_at_most

#: Turn the worker off (``0``): every suite runs in the data-quality step, as without it.
ENV = "LIANJIAN_SUITE_WORKER"
#: The worker runs beside staging for landing zones up to this size (the demo: 1.3 MB, a province:
#: 140 MB), where a run's fixed cost is what counts. Above it (1/6 national: 660 MB, national: 4 GB)
#: a second process holding a staged table while staging holds its chunks would raise the run's peak
#: memory (docs/performance.md): the worker starts as the scoring begins and validates the tables
#: beside it, reading each staged file lazily (``warm_beside_scoring``).
MAX_LANDING_BYTES = 512 << 20


def beside_staging(landing: Path) -> bool:
    """Whether the suites of a run over the landing zone ``landing`` run in the worker: it is not
    turned off, and the zone's files are at most ``MAX_LANDING_BYTES`` in all."""
    return os.environ.get(ENV, "1") != "0" and landing_at_most(landing, MAX_LANDING_BYTES)


def warm_beside_staging(landing: Path) -> bool:
    """Start this process's suite worker now (Great Expectations imported beside whatever the process
    does next) when a run over ``landing`` has its suites beside staging (``beside_staging``; a
    missing landing zone: no). True when the worker runs. Where a first run begins: `lianjian run`
    before it imports Dagster (lianjian/cli.py), a launched run's process (pipelines/run_process.py)
    and the run's executor (pipelines/executor.py), whichever comes first."""
    if landing.is_dir() and beside_staging(landing):
        worker = suite_worker()
        worker.warm()
        return worker.started
    return False


def _warm() -> int:
    """In the worker: import what a suite needs (Great Expectations, its context) before any table is
    ready. Returns the worker's process id.

    Python's cycle collector is paused while they are imported and what the import made is frozen
    after (``gc.freeze``: left out of every later collection; objects are still freed when nothing
    refers to them): the import creates ≈ 250,000 tracked objects — modules, classes, functions —
    that live as long as the worker, and the collector traversed them ≈ 400 times while they were
    made (three times whole), ≈ 0.2–0.3 CPU-s of the worker's ≈ 2 s of import for nothing. The few
    cycles the import leaves unreachable (≈ 3,000 objects) are kept for the worker's life instead of
    being collected."""
    import gc

    collecting = gc.isenabled()
    gc.disable()
    try:
        from lianjian.quality.validate import gx_context

        gx_context()
    finally:
        gc.freeze()
        if collecting:
            gc.enable()
    return os.getpid()


def _validate(src: str, staged_file: str, digest: str, cache_dir: str) -> tuple[dict, float]:
    """In the worker: the suite of one staged table (cached under ``cache_dir`` like the step's)."""
    import polars as pl

    from lianjian.quality.validate import validate_cached

    t0 = time.perf_counter()
    result = validate_cached(src, pl.scan_parquet(staged_file), Path(cache_dir), digest=digest, file=staged_file)
    return result.to_json(), time.perf_counter() - t0


@contextmanager
def _main_not_imported() -> Iterator[None]:
    """A process started with "spawn" imports the parent's main script first, unless that script is
    not known: the worker needs nothing of it, and a script calling ``run_pipeline`` without an
    ``if __name__ == "__main__"`` guard would run the pipeline again in the worker (and wait forever
    for the warehouse lock its parent holds)."""
    main = sys.modules.get("__main__")
    sys.modules["__main__"] = types.ModuleType("__main__")
    try:
        yield
    finally:
        if main is not None:
            sys.modules["__main__"] = main


class SuiteWorker:
    """One worker process running suites ahead of the data-quality step, and the results it owes."""

    def __init__(self) -> None:
        self._pool: ProcessPoolExecutor | None = None
        self._pending: dict[Path, Future] = {}
        self._kept: dict[Path, object] = {}  # results of this run already taken or computed (``keep``)
        self._keeping = 0  # callers inside ``keeping``
        self._lock = threading.Lock()
        self._release_after_suites = False

    @property
    def started(self) -> bool:
        return self._pool is not None

    def warm(self) -> None:
        """Start the worker (once) and have it import Great Expectations now."""
        with self._lock:
            if self._pool is None and os.environ.get(ENV, "1") != "0":
                self._pool = ProcessPoolExecutor(
                    max_workers=1, mp_context=mp.get_context("spawn"), initializer=end_with_parent, initargs=(os.getpid(),)
                )
                with _main_not_imported():  # the process starts here, at the first task
                    self._pool.submit(_warm)

    def submit(self, src: str, staged_file: Path, digest: str, cache_dir: Path) -> bool:
        """Validate ``staged_file`` (the staged table of ``src``, content key ``digest``) in the worker
        unless its result is cached already. True when the worker took it."""
        from lianjian.quality.validate import cache_key

        entry = Path(cache_dir) / f"{cache_key(src, None, digest)}.json"
        if entry.exists():
            return False
        self.warm()
        with self._lock:
            if self._pool is None or entry in self._pending:
                return False
            try:
                self._pending[entry] = self._pool.submit(_validate, src, str(staged_file), digest, str(cache_dir))
            except RuntimeError:  # the pool broke or was shut down: the step runs the suite itself
                return False
        return True

    def take(self, entry: Path):
        """The result computed in this run for the cache entry ``entry`` (a ``SuiteResult``, not taken
        from the cache): the one the worker owes, waiting for it, or one already taken or computed in
        this run and kept (``keeping``); None when there is none (the caller then validates the table
        itself)."""
        from lianjian.quality.validate import SuiteResult

        with self._lock:
            kept = self._kept.get(Path(entry))
            future = None if kept is not None else self._pending.pop(Path(entry), None)
        if kept is not None:
            return kept
        if future is None:
            return None
        try:
            raw, seconds = future.result()
        except Exception:  # noqa: BLE001 — a broken worker costs time, never a result: validate here
            return None
        result = SuiteResult.from_json(raw)
        result.cached = False
        result.seconds = seconds
        self.keep(entry, result)
        return result

    @contextmanager
    def keeping(self) -> Iterator[None]:
        """Inside: the suites' results taken from the worker or computed in this process are kept
        (``keep``) until the suites' step has reported them (``forget``). The publish step asks the
        suites first, just before its switch (lianjian/quality/gate.py), and the step that reports them
        after it must still say that they were validated in this run, not found in the cache."""
        with self._lock:
            self._keeping += 1
        try:
            yield
        finally:
            with self._lock:
                self._keeping -= 1

    def keep(self, entry: Path, result) -> None:
        """Remember a suite's result computed in this run, when asked inside ``keeping``."""
        with self._lock:
            if self._keeping:
                self._kept[Path(entry)] = result

    def forget(self) -> None:
        """After the suites' step: the results it reported are no longer this run's."""
        with self._lock:
            self._kept.clear()

    def warm_beside_scoring(self, warehouse: Path) -> bool:
        """Above ``MAX_LANDING_BYTES`` (no worker beside staging): when a staged table's suite must run
        in this run (its result is not cached), start the worker now, as the scoring begins, and hand
        it every such table at once, the largest file first: it imports Great Expectations and
        validates the tables one at a time on the second core while the main process scores. A suite
        reads its staged file lazily and keeps only distinct values and key hashes
        (lianjian/quality/validate.py, ``ENGINE``: national cases, the largest, ≈ 0.7 GB for the
        whole worker, where a table collected whole took ≈ 2.9 GB), so the worker beside the scoring's
        frames stays within the run's memory limit; the largest tables go first, while the first
        scoring steps (case quality) hold the least. The suites' step then only takes the results
        (``hand_over`` finds them owed), and the worker ends when the step is done (``release``).
        True when it was started."""
        from lianjian.quality.gate import gx_cache_dir, staged_digests
        from lianjian.quality.validate import cache_key

        if self.started or os.environ.get(ENV, "1") == "0":
            return False
        cache = gx_cache_dir(warehouse)
        if all((cache / f"{cache_key(src, None, digest)}.json").exists() for src, digest in staged_digests(warehouse).items()):
            return False  # every suite's result is cached: no Great Expectations at all
        self.warm()
        self._release_after_suites = self.started
        self.hand_over(warehouse, largest_first=True)
        started = self.started
        self._end_when_done()
        return started

    def _end_when_done(self) -> None:
        """Stop the worker as soon as every table it was given is validated: the results wait in the
        parent (``take``), and the worker's ≈ 0.3 GB (Great Expectations, pandas) is not held through
        the rest of the scoring (national: R2, the run's largest step)."""
        with self._lock:
            pool, futures = self._pool, list(self._pending.values())
        if pool is None or not futures:
            return
        left = [len(futures)]

        def one_done(_future: Future) -> None:
            with self._lock:
                left[0] -= 1
                last = left[0] == 0 and self._pool is pool
                if last:
                    self._pool = None  # the results stay in ``_pending`` for ``take``
            if last:  # not from this callback's thread (the pool's own): from a thread of its own
                threading.Thread(target=pool.shutdown, kwargs={"wait": True}, daemon=True).start()

        for future in futures:
            future.add_done_callback(one_done)

    def hand_over(self, warehouse: Path, *, largest_first: bool = False) -> None:
        """When the worker runs: give it every staged table whose suite result is neither cached nor
        owed already (the suites' step, before it takes the results in turn). ``largest_first``: in
        decreasing size of the staged files (else in the contract's order)."""
        from lianjian.quality.gate import gx_cache_dir, staged_digests, staged_path

        if not self.started:
            return
        tables = list(staged_digests(warehouse).items())
        if largest_first:
            tables.sort(key=lambda item: -staged_path(warehouse, item[0]).stat().st_size)
        for src, digest in tables:
            self.submit(src, staged_path(warehouse, src), digest, gx_cache_dir(warehouse))

    def release(self) -> None:
        """After the suites' step: stop a worker started beside the scoring (``warm_beside_scoring``), so
        that it holds no memory while publish and the reports run; one started beside staging stays
        (the next run in this process finds Great Expectations imported)."""
        if self._release_after_suites:
            self._release_after_suites = False
            self.close()

    def finish(self) -> None:
        """Wait until every suite handed to the worker is validated (its cache entry written), then stop
        the worker. For a run's own process, which ends with the run (a run the daemon or the UI
        launched, pipelines/run_process.py): the results would otherwise be dropped at the process's
        exit, and the pipeline run's next run, in another process, would import Great Expectations
        and validate the same tables again."""
        with self._lock:
            futures = list(self._pending.values())
        wait(futures)
        self.close()

    def close(self, *, kill: bool = False) -> None:
        """Stop the worker: what it was given and nobody took is dropped. ``kill``: at the process's
        exit (an idle worker costs nothing until then, and the next run in the same process finds
        Great Expectations imported), the worker is ended at once rather than waited for — a run that
        failed before its data-quality step (a fatal input error) must not keep the command waiting
        for an import or a suite nobody will read. A cache entry is written then renamed: whole or
        absent."""
        with self._lock:
            pool, self._pool = self._pool, None
            self._pending.clear()
        if pool is None:
            return
        if kill:
            # SIGKILL, not SIGTERM: a process started with SIGINT ignored (a command run in the
            # background from a script) ignores SIGTERM once Dagster has made SIGTERM do what SIGINT
            # does, and the worker inherits that; an ignored SIGTERM would leave the exit waiting for
            # the worker's import or suite. Nothing is lost: a cache entry is renamed whole or not at all
            for process in list((getattr(pool, "_processes", None) or {}).values()):
                process.kill()
        pool.shutdown(wait=True, cancel_futures=True)


_WORKER = SuiteWorker()
# Ended before concurrent.futures' own exit hook, which waits for every busy worker: the hooks of
# ``threading._register_atexit`` run before the threads are joined, the last registered first.
_at_exit = getattr(threading, "_register_atexit", atexit.register)
_at_exit(lambda: _WORKER.close(kill=True))
# And before multiprocessing's exit function joins the process's children: in a process that
# multiprocessing itself started (a run that Dagster's code server starts with "spawn"), that function
# runs first, before the hooks above, and would wait forever for the idle worker — which waits for its
# parent to end (lianjian/processes.py). Finalizers with a priority (any, here 0) run before that join.
Finalize(None, _WORKER.close, kwargs={"kill": True}, exitpriority=0)


def suite_worker() -> SuiteWorker:
    """The process's suite worker (one per process: the staging and data-quality steps of a run
    executed in one process share it)."""
    return _WORKER
