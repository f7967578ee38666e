"""Worker processes a run starts (the suites beside staging, the yearly reports' writers).

Both are started with "spawn" (Polars' thread pool does not survive a fork). A worker of a
``ProcessPoolExecutor`` waits for its next task on a queue whose writing end it holds itself, so when
the process that started it is killed outright (its exit hooks never run) the worker would wait idle
forever. ``end_with_parent`` ends it instead.

A worker is ended abruptly — terminated at its parent's exit, or by ``end_with_parent`` — so its own
exit hooks do not run either. A multiprocessing lock made inside it (tqdm makes one for its progress
bars the first time one is drawn, as Great Expectations' code does) is a named POSIX semaphore that
the hooks would have removed: left to the resource tracker the worker shares with its parent, it was
reported at the run's end as ``resource_tracker: There appear to be 1 leaked semaphore objects``.
``end_with_parent`` therefore also makes such locks anonymous from the start (their names removed as
soon as they are made, as under "fork"): nothing is left to clean up however the worker ends. A
worker starts no processes of its own, so nothing else changes.
"""

from __future__ import annotations

import atexit
import multiprocessing as mp
import os
import threading
import time
from pathlib import Path


def end_with_parent(parent: int) -> None:
    """In a worker, from its start: end it when the process ``parent`` that started it is gone,
    instead of waiting idle forever for tasks (checked once a second); have the locks it makes
    leave nothing behind when it ends abruptly (see the module's docstring); and end it, when its pool
    is shut down, without the interpreter's teardown (``_without_teardown``)."""
    mp.set_start_method("fork", force=True)  # only what SemLock asks of it: unlink the name at once
    atexit.register(_without_teardown)

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(1.0)
        os._exit(0)

    threading.Thread(target=watch, name="lianjian-worker-parent", daemon=True).start()


def _without_teardown() -> None:
    """A worker's last exit hook: registered when the worker starts, it runs after every hook its
    tasks registered (the last registered runs first), once multiprocessing has flushed the streams
    and run its own exit function. Python's teardown would then clear every module and collect the
    worker's heap (a report writer's frames and pages: ≈ 0.3 s of a province run's reports step, which
    waits for its workers to end; docs/performance.md, "The end of a run"); the process ends here
    instead. The hooks registered before the worker started are its imports' (logging's flush,
    multiprocessing's exit function, run already, PyArrow's S3 finalizer): none has anything to do in
    a worker. A worker ends with status 0 this way; a pool reads no status of a worker it shut down."""
    os._exit(0)


#: Python collects reference cycles after every 700 new container objects by default. A run makes
#: millions of short-lived ones (Dagster's events, records and serialised snapshots) and few cycles:
#: the demo's main process collected ≈ 670 times, 0.3–0.4 CPU-s, most of it walking the long-lived
#: objects of the imports again (docs/performance.md, "The fixed cost, step by step"). After 50,000
#: the collector runs ≈ 10 times a run, and a full collection (every 100 of them) not at all.
YOUNG_OBJECTS = 50_000

#: Only for landing zones up to this size (demo, city, province), where the collector's time is a
#: visible part of a run. A larger run gains nothing worth having from it, and there a cycle holding
#: a large frame would wait for a full collection that no longer comes: the national run's peak memory
#: is kept as it is.
FEWER_COLLECTIONS_UP_TO = 512 << 20


def landing_at_most(landing: Path, limit: int) -> bool:
    """Whether the files under ``landing`` (missing: none) take at most ``limit`` bytes in all."""
    total = 0
    for root, _dirs, files in os.walk(landing):
        for name in files:
            try:
                total += os.stat(os.path.join(root, name)).st_size
            except OSError:
                continue
            if total > limit:
                return False
    return True


def fewer_collections(landing: Path) -> bool:
    """In a process that runs a pipeline over ``landing`` (`lianjian run` and `lianjian demo` before
    they import Dagster, a run worker's executor): Python's cycle collector every ``YOUNG_OBJECTS``
    new objects instead of every 700, when the landing zone is at most ``FEWER_COLLECTIONS_UP_TO``.
    Objects are still freed as soon as nothing refers to them; only cycles wait longer. Returns
    whether it was set."""
    import gc

    young, middle, old = gc.get_threshold()
    if not 0 < young < YOUNG_OBJECTS or not landing_at_most(Path(landing), FEWER_COLLECTIONS_UP_TO):
        return False
    gc.set_threshold(YOUNG_OBJECTS, middle, old)
    return True
