"""Worker processes a run starts (the suites beside staging, the yearly reports' writers).

Both are started with "spawn" (Polars' thread pool does not survive a fork). A worker of a
``ProcessPoolExecutor`` waits for its next task on a queue whose writing end it holds itself, so when
the process that started it is killed outright (its exit hooks never run) the worker would wait idle
forever. ``end_with_parent`` ends it instead.
"""

from __future__ import annotations

import os
import threading
import time


def end_with_parent(parent: int) -> None:
    """In a worker, from its start: end it when the process ``parent`` that started it is gone,
    instead of waiting idle forever for tasks. Checked once a second."""

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(1.0)
        os._exit(0)

    threading.Thread(target=watch, name="lianjian-worker-parent", daemon=True).start()
