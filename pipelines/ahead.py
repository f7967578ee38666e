"""Work ahead: the computations of a run's independent steps started on a worker thread before their
steps run, so that two of them keep both cores busy (docs/performance.md, "The derived steps side by
side").

Dagster's in-process executor runs one step after the other, and a derived table's computation
(R1, R5, R6, R7, R9, R10: assets/derived.py) keeps about one core busy. They all read the staged
tables only and do not depend on each other, so the first of them to run hands the others'
computations to one worker thread of this process, and each of those steps later takes its finished
frame from the worker instead of computing it: two computations at a time — the running step's and
one ahead.

Each piece of work is keyed by what its result depends on (the step's table, the warehouse, the
run's years, the stamps of the staged files it reads and of the rules file, the run date): a step
takes the worker's result only when its own key is the same, and otherwise — nothing was started for
it, its key differs, or the worker has not begun it yet (it is taken off the worker's queue) —
computes it itself, exactly as without the worker. A failure in the worker is raised by the step
that takes the result, as if the step had computed it: the same step fails with the same message.
Everything else about the step (its inputs, metadata, checks and the files the IO manager writes)
is unchanged; the worker only computes a frame.

The worker runs only when the run's steps share one process (the default executor; a multiprocess
run's steps each have their own) and two things may run at a time (``$LIANJIAN_PARALLEL_YEARS``,
lianjian/threads.py: ``1`` runs everything one after the other, as before); ``$LIANJIAN_WORK_AHEAD=0``
turns it off alone.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Hashable, Iterable
from concurrent.futures import Future, ThreadPoolExecutor

from lianjian.threads import year_workers

#: Computations ahead at a time: one, beside the running step's own — two derived computations on
#: a two-core machine, each keeping about one core busy, and the memory of two of them at once
#: (national: below R2's, the run's peak; docs/performance.md).
LANES = 1


#: Turn the worker off (``0``): every derived step computes its own table, one after the other, the
#: rest of the run unchanged (to compare a run with and without it; ``$LIANJIAN_PARALLEL_YEARS=1``
#: turns it off too, with the years).
ENV = "LIANJIAN_WORK_AHEAD"


def enabled(run_config: dict | None) -> bool:
    """Whether a run of this configuration computes ahead: its steps share one process, two things
    may run at a time (``$LIANJIAN_PARALLEL_YEARS`` is not ``1``) and ``$LIANJIAN_WORK_AHEAD`` is not
    ``0``."""
    from pipelines.executor import in_process

    return os.environ.get(ENV, "1") != "0" and in_process(run_config) and year_workers() > 1


class WorkAhead:
    """Computations started ahead of their steps on ``LANES`` worker threads, for one Dagster run at
    a time (starting work for another run drops what an earlier one left)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._pool: ThreadPoolExecutor | None = None
        self._run: str | None = None
        self._started: set[str] = set()  # every name started for the run, taken or not
        self._work: dict[str, tuple[Hashable, Future]] = {}

    def start(self, run_id: str, work: Iterable[tuple[str, Hashable, Callable[[], object]]], own: str | None = None) -> list[str]:
        """Queue ``(name, key, compute)`` for the run ``run_id``, in the given order, each name once per
        run (``own``: the name the calling step computes itself, never queued after); returns the
        names queued now."""
        queued = []
        with self._lock:
            if run_id != self._run:
                self._drop()
                self._run = run_id
            if own is not None:
                self._started.add(own)
            if self._pool is None:
                self._pool = ThreadPoolExecutor(LANES, thread_name_prefix="lianjian-ahead")
            for name, key, compute in work:
                if name in self._started:
                    continue
                self._started.add(name)
                self._work[name] = (key, self._pool.submit(compute))
                queued.append(name)
        return queued

    def take(self, run_id: str, name: str, key: Hashable) -> Future | None:
        """The worker's computation of ``name`` for the run, begun or ended, when its key is ``key``;
        None when the step must compute it itself (nothing started, another key, or not begun yet:
        then it is taken off the worker's queue)."""
        with self._lock:
            entry = self._work.pop(name, None) if run_id == self._run else None
        if entry is None:
            return None
        started_key, future = entry
        if started_key != key:
            future.cancel()
            return None
        if future.cancel():  # still queued: the step computes it now rather than wait for the worker
            return None
        return future

    def discard(self, run_id: str | None = None) -> None:
        """Drop what was started for ``run_id`` (any run: None) and not taken: queued work is not
        begun, and a result computed is not kept."""
        with self._lock:
            if run_id is None or run_id == self._run:
                self._drop()
                self._run = None

    def _drop(self) -> None:
        for _, future in self._work.values():
            future.cancel()
        self._work.clear()
        self._started.clear()


_AHEAD = WorkAhead()


def work_ahead() -> WorkAhead:
    """The process's ``WorkAhead``."""
    return _AHEAD
