"""One run per warehouse at a time: an exclusive OS file lock on ``<warehouse>/.lock``.

Every run that writes into a warehouse holds this lock from its first write to its end: `lianjian run`
across both of its Dagster runs (lianjian/runner.py), and a run launched by the nightly schedule, the
landing sensor or the UI for its whole duration (the run's executor, pipelines/executor.py). Two runs
on different landing zones would otherwise overwrite each other's staged files and publish a mix
(docs/operations.md, "一个仓库同时只有一个运行").

- ``fcntl.flock``: the kernel releases the lock when the holding process ends, however it ends (even
  ``kill -9``); there is never a stale lock to remove by hand. The file itself stays (deleting a lock
  file lets two processes lock two different files).
- The file (mode 0600) records the holder: process id, start time (Asia/Shanghai), landing folder and
  the run id — never personal data. A run that finds a record but gets the lock at once knows the
  previous holder ended without releasing it (killed); a run that ends normally empties the record.
- A second run waits, after saying who holds the lock; with ``wait=False`` (``--no-wait``) it stops at
  once with one line naming the holder (:class:`WarehouseBusy`, exit status 2).
- Re-entrant within a process: a run already holding the lock (``lianjian run``) may start Dagster
  runs in the same process that ask for it again; they go through without waiting. A step in another
  process (the multiprocess executor) never asks: its run worker holds the lock for it.

Publishing keeps its own, inner lock (``.versions/.lock``, lianjian/publish/layout.py): the publish
step may run in a step process apart from the process holding this one, so it cannot re-enter it;
the inner lock still keeps any two publishers (a run, a test, a tool) from switching at once. The
order is always this lock first, then the publish lock, so the two never deadlock.
"""

from __future__ import annotations

import datetime as dt
import errno
import fcntl
import json
import os
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path
from zoneinfo import ZoneInfo

from lianjian.errors import FatalError
from lianjian.files import PRIVATE_FILE, warehouse_root
from lianjian.clock import TIMEZONE  # the procuratorate's clock: times in the record and messages

#: The lock file, directly under the warehouse.
LOCK_NAME = ".lock"


@dataclass(frozen=True)
class Holder:
    """Who holds (or last held) a warehouse's lock."""

    pid: int
    started: str  # ISO 8601 with the +08:00 offset
    landing: str
    run_id: str

    def started_text(self) -> str:
        try:
            return dt.datetime.fromisoformat(self.started).astimezone(ZoneInfo(TIMEZONE)).strftime("%Y-%m-%d %H:%M:%S")
        except ValueError:
            return self.started

    def describe(self) -> str:
        """进程 …，开始于 …（北京时间），落地区 …，运行 … — for one-line messages."""
        return f"进程 {self.pid}，开始于 {self.started_text()}（北京时间），落地区 {self.landing}，运行 {self.run_id}"


class WarehouseBusy(FatalError):
    """Another run holds the warehouse and the caller asked not to wait (``--no-wait``)."""

    def __init__(self, message: str, holder: Holder | None):
        super().__init__(message)
        self.holder = holder


# Locks this process holds: lock file path -> [holder, depth]. Guarded, as Dagster may use threads.
_HELD: dict[str, list] = {}
_GUARD = threading.Lock()


def lock_path(warehouse: Path) -> Path:
    return Path(warehouse).absolute() / LOCK_NAME


def _now() -> str:
    return dt.datetime.now(ZoneInfo(TIMEZONE)).isoformat(timespec="seconds")


def _parse(data: bytes) -> Holder | None:
    try:
        raw = json.loads(data.decode("utf-8"))
        return Holder(pid=int(raw["pid"]), started=str(raw["started"]), landing=str(raw["landing"]), run_id=str(raw["run_id"]))
    except (ValueError, KeyError, TypeError, UnicodeDecodeError):
        return None


def _read(fd: int) -> bytes:
    return os.pread(fd, 1 << 16, 0)


def read_holder(warehouse: Path) -> Holder | None:
    """The record in the warehouse's lock file (the holder, or a killed holder's leftover); None when
    the file is absent or empty."""
    try:
        return _parse(lock_path(warehouse).read_bytes())
    except OSError:
        return None


def _current_holder(fd: int) -> Holder | None:
    """The holder's record; retried briefly, as a run that has just got the lock writes it a moment later."""
    for _ in range(20):
        holder = _parse(_read(fd))
        if holder is not None:
            return holder
        time.sleep(0.05)
    return None


def busy_text(warehouse: Path, holder: Holder | None) -> str:
    who = holder.describe() if holder else "占用者信息暂不可读"
    return f"数据仓库 {Path(warehouse).absolute()} 正被另一个运行占用（{who}）"


def _open(warehouse: Path) -> int:
    warehouse = Path(warehouse).absolute()
    try:
        warehouse_root(warehouse)
        fd = os.open(lock_path(warehouse), os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, PRIVATE_FILE)
    except OSError as err:
        raise FatalError(f"数据仓库 {warehouse}: 无法写入（{err.strerror}）— 请用 --warehouse 指定可写的目录") from None
    try:
        os.fchmod(fd, PRIVATE_FILE)
    except OSError:  # a file made by another account: its mode is that account's business
        pass
    return fd


@contextmanager
def warehouse_lock(
    warehouse: Path,
    *,
    landing: Path | str,
    run_id: str | None = None,
    wait: bool = True,
    on_wait: Callable[[str], None] | None = None,
    on_stale: Callable[[Holder], None] | None = None,
) -> Iterator[Holder]:
    """Hold the warehouse's lock for the ``with`` block; yields this run's :class:`Holder`.

    Held by another process: with ``wait`` call ``on_wait(message)`` once and block until it is
    released; without, raise :class:`WarehouseBusy` (one line naming the holder). ``on_stale`` is
    called with the record of a previous holder that ended without releasing the lock (killed).
    Already held by this process: yields the existing holder without waiting."""
    key = str(lock_path(warehouse))
    with _GUARD:
        held = _HELD.get(key)
        if held is not None:
            held[1] += 1
    if held is not None:
        try:
            yield held[0]
        finally:
            with _GUARD:
                held[1] -= 1
        return

    fd = _open(warehouse)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as err:
            if err.errno not in (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES):
                raise
            holder = _current_holder(fd)
            if not wait:
                raise WarehouseBusy(
                    f"{busy_text(warehouse, holder)} — 请等它结束后再运行，或去掉 --no-wait 排队等待", holder
                ) from None
            if on_wait is not None:
                on_wait(f"{busy_text(warehouse, holder)} — 等它结束后本次运行自动开始（Ctrl+C 放弃）")
            fcntl.flock(fd, fcntl.LOCK_EX)
        previous = _parse(_read(fd))
        if previous is not None and on_stale is not None:
            on_stale(previous)
        me = Holder(pid=os.getpid(), started=_now(), landing=str(landing), run_id=run_id or uuid.uuid4().hex)
        os.ftruncate(fd, 0)
        os.pwrite(fd, (json.dumps(asdict(me), ensure_ascii=False) + "\n").encode("utf-8"), 0)
        os.fsync(fd)
    except BaseException:
        os.close(fd)  # closing releases the lock if it was taken
        raise
    with _GUARD:
        _HELD[key] = [me, 0]
    try:
        yield me
    finally:
        with _GUARD:
            _HELD.pop(key, None)
        try:
            os.ftruncate(fd, 0)  # ended normally: no holder to report
        except OSError:
            pass
        os.close(fd)
