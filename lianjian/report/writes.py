"""Where the reports' and notices' file operations go: to the disk as they are made (``DISK``), or
held in memory, in order, and done later (``Held``) — the reports of a small warehouse made while
the publish step waits for the suites, from the version about to be published, and written only
once it is published (lianjian/report/ahead.py).

Every file the reports write goes through one of these objects: ``write`` (a temporary file beside
the final name and a rename, lianjian/report/xlsx.py ``write_bytes``), ``write_if_changed`` (the same,
unless the file already holds those bytes), ``mkdir`` (a private folder), ``unlink`` and ``rmtree``;
``exists`` answers as if every operation so far had been done. What the reports read of their own
folders (the digests and records of the last run, the sizes of its files, the names of stale ones)
is read from the disk either way: a ``Held`` is applied only when those folders are as they were
when it was made (ahead.py checks it)."""

from __future__ import annotations

import os
import shutil
import threading
from pathlib import Path

from lianjian.files import private_mkdir
from lianjian.report.xlsx import _write, holds, write_if_changed


class Disk:
    """File operations done at once, on the disk."""

    held = False

    def write(self, path: Path | str, data: bytes, *, folder_ready: bool = False) -> None:
        """``data`` at ``path`` through a temporary file and a rename (``xlsx.write_bytes``)."""
        _write(os.fspath(path), data, folder_ready)

    def write_if_changed(self, path: Path | str, data: bytes, *, folder_ready: bool = False) -> bool:
        """``write`` unless ``path`` already holds exactly ``data``; True when written
        (``xlsx.write_if_changed``)."""
        return write_if_changed(path, data, folder_ready=folder_ready)

    def mkdir(self, folder: Path | str) -> None:
        """``folder`` and its missing parents, private (0700)."""
        private_mkdir(Path(folder))

    def unlink(self, path: Path | str) -> None:
        try:
            os.unlink(path)
        except FileNotFoundError:
            pass

    def rmtree(self, path: Path | str) -> None:
        shutil.rmtree(path)

    def exists(self, path: Path | str) -> bool:
        return os.path.exists(path)


#: The reports' files written at once (the default everywhere).
DISK = Disk()


class NotHeld(Exception):
    """What a ``Held`` was given is not to be held: more bytes than its limit, reports for worker
    processes, or dropped (the version they were made from is not published). The reports are written
    the usual way."""


class Held(Disk):
    """File operations recorded in order, with the bytes they write, and done by ``apply`` — at most
    ``limit`` bytes (beyond it, ``NotHeld``). Safe to use from two threads at once (the reports and
    the notices beside them): each thread's operations keep their order."""

    held = True

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.size = 0
        self._ops: list[tuple[str, str, bytes | None, bool]] = []
        self._now: dict[str, bytes | None] = {}  # path -> its bytes after the operations so far (None: removed)
        self._lock = threading.Lock()
        self._dropped = False
        self._removed: list[str] = []  # folders removed (``rmtree``), each ending with "/"

    def drop(self) -> None:
        """Forget every operation; any further one raises ``NotHeld`` (what makes them stops)."""
        with self._lock:
            self._dropped = True
            self._ops.clear()
            self._now.clear()
            self._removed.clear()

    def _record(self, op: str, path: str, data: bytes | None = None, folder_ready: bool = False) -> None:
        """(under the lock) one more operation."""
        if self._dropped:
            raise NotHeld("dropped")
        if data is not None:
            self.size += len(data)
            if self.size > self.limit:
                raise NotHeld(f"more than {self.limit} bytes of report files")
        self._ops.append((op, path, data, folder_ready))
        self._now[path] = data

    def write(self, path: Path | str, data: bytes, *, folder_ready: bool = False) -> None:
        path = os.fspath(path)
        with self._lock:
            self._record("write", path, data, folder_ready)

    def write_if_changed(self, path: Path | str, data: bytes, *, folder_ready: bool = False) -> bool:
        path = os.fspath(path)
        with self._lock:
            mine = path in self._now or any(path.startswith(folder) for folder in self._removed)
            now = self._now.get(path)
        if (now == data) if mine else holds(path, data):
            return False
        self.write(path, data, folder_ready=folder_ready)
        return True

    def mkdir(self, folder: Path | str) -> None:
        path = os.fspath(folder)
        with self._lock:
            if self._dropped:
                raise NotHeld("dropped")
            self._ops.append(("mkdir", path, None, False))

    def unlink(self, path: Path | str) -> None:
        path = os.fspath(path)
        with self._lock:
            self._record("unlink", path)

    def rmtree(self, path: Path | str) -> None:
        path = os.fspath(path)
        inside = path.rstrip("/") + "/"
        with self._lock:
            self._record("rmtree", path)
            self._removed.append(inside)
            for p in [p for p in self._now if p.startswith(inside)]:
                self._now[p] = None

    def exists(self, path: Path | str) -> bool:
        path = os.fspath(path)
        with self._lock:
            if path in self._now:
                return self._now[path] is not None
            if any(path.startswith(folder) for folder in self._removed):
                return False
        return os.path.exists(path)

    def apply(self, to: Disk = DISK) -> None:
        """Do every operation, in the order made."""
        with self._lock:
            ops = list(self._ops)
        for op, path, data, folder_ready in ops:
            if op == "write":
                to.write(path, data, folder_ready=folder_ready)  # type: ignore[arg-type]
            elif op == "mkdir":
                to.mkdir(path)
            elif op == "unlink":
                to.unlink(path)
            else:
                to.rmtree(path)
