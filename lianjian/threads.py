"""Years computed or written side by side, on threads of one process (docs/performance.md, "Two
years at a time").

Polars runs a query on its own thread pool and releases the GIL while it does, but a single year's
query of R2 or R3, or the preparing and writing of one published year file, keeps about one core
busy: much of it is sequential (joins feeding joins, one Parquet writer, zstd). The years are
independent of each other once their inputs are written (RULES.md: R2 and R3 grade a year from its
own rows; a published year file is a function of its rows), so two of them at a time fill both cores
of a two-core machine. Each year still holds only its own rows, so the memory is that of
``workers`` years, never of all of them.

``$LIANJIAN_PARALLEL_YEARS`` sets how many years at a time (default ``min(2, cores)``; ``1``: one
after the other, as before). The results do not depend on it: each year's output is computed and
written on its own, and the callers put the years back in their order.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from typing import TypeVar

from lianjian.errors import FatalError

#: Environment variable: how many years are computed or written at the same time.
WORKERS_ENV = "LIANJIAN_PARALLEL_YEARS"

T = TypeVar("T")
R = TypeVar("R")


def year_workers() -> int:
    """``$LIANJIAN_PARALLEL_YEARS`` or ``min(2, os.cpu_count())``."""
    raw = os.environ.get(WORKERS_ENV, "").strip()
    if not raw:
        return min(2, os.cpu_count() or 1)
    if not raw.isdigit() or int(raw) < 1:
        raise FatalError(f"环境变量 {WORKERS_ENV}={raw!r}: 不是正整数 — 请设为 1、2 等，或删除它（默认 min(2, CPU 核数)）")
    return int(raw)


def each_year(work: Callable[[T], R], items: Iterable[T], workers: int | None = None) -> list[R]:
    """``work(item)`` for every item, ``workers`` at a time (default ``year_workers()``); the results
    in the items' order. The first failure is raised once the items started have ended (no item is
    started after it)."""
    items = list(items)
    workers = min(year_workers() if workers is None else workers, len(items))
    if workers <= 1:
        return [work(item) for item in items]
    with ThreadPoolExecutor(workers, thread_name_prefix="lianjian-year") as pool:
        futures: list[Future] = []
        for item in items:
            # no more than ``workers`` items in flight: each holds a year in memory
            pending = [f for f in futures if not f.done()]
            if len(pending) >= workers:
                wait(pending, return_when=FIRST_COMPLETED)
            if any(f.done() and f.exception() is not None for f in futures):
                break  # nothing new after a failure
            futures.append(pool.submit(work, item))
        return [f.result() for f in futures]
