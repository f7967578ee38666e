"""The yearly reports and notices of a small warehouse, made while the publish step waits for the
suites — from the very files about to be published — and written once they are published.

On a small zone the publish step writes its new version, then waits for the suite worker (the
blocking suites are asked just before the switch: lianjian/quality/gate.py) with its own thread idle,
and the reports' step after it was, on the demo, ≈ 0.4 CPU-s of small Polars queries on the run's
critical path. So the publish step hands the new version's published folder, still under its
temporary name, to ``make_ahead``, which on a thread reads every table the reports and notices read
from that folder, and its manifest's digests, into memory — the publish step waits for that read,
and only for it, before it renames or removes the folder — then builds every report, notice, digest,
record and the index exactly as ``write_reports`` with the notices beside it would, while the step
waits for the suites (or, when they were done first, beside the step's events after the switch),
but holds every file operation in memory (lianjian/report/writes.py ``Held``): nothing is written
under ``reports/`` before the switch. If the suites refuse, the version is removed and what was made
is dropped; a run killed meanwhile wrote nothing.

The reports step then ``take``s it and only does the file operations, in the order made — the same
sequence ``write_reports`` does, each file through a temporary name and a rename — when, and only
when, nothing they were made from has moved: the live version is the one they were made from, and
the staged files, the validation report's presence, the reports' own folders (the last run's
digests, records and files, which decide what is written again) and the date (a page says when it
was written) are as they were when the making began (``_stamp``). Otherwise, or when the making did
not finish (any failure, or too large), the step writes the reports the usual way; a failure then
shows there, as before.

Only for a small warehouse (``ahead_for``): a landing zone of at most ``AHEAD_LANDING_UP_TO`` bytes,
reports written in one process (fewer than ``PARALLEL_MIN_REPORTS``), and at most
``AHEAD_BYTES_UP_TO`` bytes of files held. A province's and national reports go to worker processes
after the switch, as before: their files (1.7 GB at national) are not to be held in memory, and
there publish has no idle core to give (docs/performance.md, "The reports' step on a timeline").
"""

from __future__ import annotations

import datetime as dt
import os
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from lianjian.errors import ReportsNotWritten
from lianjian.report import Written, _not_written, write_reports
from lianjian.report import notices as _notices
from lianjian.report.load import load_inputs, materialized, published_table
from lianjian.report.writes import Held

#: Landing zones up to this many bytes have their reports made before the switch. The demo's is
#: 1.3 MB; a province's (140 MB, 665 reports) has its reports written by two worker processes after
#: the switch, which holding them in memory in this process would forgo. The reports of a zone this
#: size fit in ``AHEAD_BYTES_UP_TO`` (the demo's 271 files: 3.2 MB).
AHEAD_LANDING_UP_TO = 32 << 20

#: At most this many bytes of report files held in memory until the switch: beyond it the making
#: stops and the reports step writes them the usual way.
AHEAD_BYTES_UP_TO = 64 << 20


@dataclass(frozen=True)
class Made:
    """The reports and notices of one version, made and held: ``apply`` writes them."""

    warehouse: Path
    version: str
    stamp: tuple
    held: Held
    written: list[Written]
    notices: list[_notices.Written]

    def apply(self) -> tuple[list[Written], list[_notices.Written]]:
        """Do the held file operations, in order (``ReportsNotWritten`` when one fails, as
        ``write_reports``); what ``write_reports`` and ``write_notices`` would have returned."""
        try:
            self.held.apply()
        except OSError as err:
            raise ReportsNotWritten(_not_written(self.warehouse / "reports", err)) from None
        return self.written, self.notices


class _Making:
    """The making of one version's reports, on its thread."""

    def __init__(self, warehouse: Path, published: Path, version: str) -> None:
        self.warehouse, self.published, self.version = warehouse, published, version
        self.read = threading.Event()  # set once nothing more is read from ``published``
        self.held = Held(AHEAD_BYTES_UP_TO)
        self.made: Made | None = None
        self.thread = threading.Thread(target=self._run, name="lianjian-reports-ahead", daemon=True)

    def _run(self) -> None:
        try:
            self.made = self._make()
        except Exception:  # too large, dropped, or a failure: the reports step writes them the usual way (and says why)
            self.made = None
        finally:
            self.read.set()

    def _make(self) -> Made | None:
        warehouse, published, held = self.warehouse, self.published, self.held
        stamp = _stamp(warehouse)  # before anything is read: what moves from here on is seen by ``take``
        # everything read from the version's folder now, into memory: it is renamed once the gate passes
        inputs = materialized(load_inputs(warehouse, published))
        monthly = published_table(warehouse, _notices.TABLE, published).collect().lazy()
        if inputs.published_files is None:  # a manifest without its files: the usual way
            return None
        self.read.set()
        notices: list[_notices.Written] = []

        def beside() -> None:
            notices.extend(
                _notices.write_notices(warehouse, monthly=monthly, published_files=inputs.published_files, files=held)
            )

        written = write_reports(warehouse, inputs=inputs, alongside=beside, files=held)
        return Made(warehouse, self.version, stamp, held, written, notices)

    def wait_read(self, switching: bool) -> None:
        """For the publish step, before it renames (``switching``) or removes the version's folder:
        wait until nothing more is read from it; when it is removed, drop what is being made."""
        if not switching:
            self.held.drop()
        self.read.wait()


_MAKING: dict[str, _Making] = {}  # warehouse -> the making of the reports of its version about to be published
_LOCK = threading.Lock()


def _key(warehouse: Path) -> str:
    return str(Path(warehouse).absolute())


def ahead_for(landing: Path) -> bool:
    """Whether a run over ``landing`` makes its reports before the switch (a small zone)."""
    from lianjian.processes import landing_at_most

    return landing_at_most(Path(landing), AHEAD_LANDING_UP_TO)


def make_ahead(warehouse: Path, published: Path, version: str) -> Callable[[bool], None]:
    """Start making the reports and notices of ``version`` from its published folder ``published``
    (not yet switched to) on a thread; returns the function the publish step calls before it renames
    (True) or removes (False) that folder (``publish_tables(beside_gate=...)``): it waits until
    the making has read what it needs from the folder — into memory — and the making goes on beside
    the step's events; when the folder is removed, what is made is dropped."""
    making = _Making(Path(warehouse), Path(published), version)
    with _LOCK:
        _MAKING[_key(warehouse)] = making
    making.thread.start()
    return making.wait_read


def take(warehouse: Path) -> Made | None:
    """The reports made for the live version of ``warehouse`` (``make_ahead``; waits until they are
    made), when nothing they were made from has moved since; None otherwise (write them the usual
    way). Taken once."""
    from lianjian.publish.layout import current_version

    with _LOCK:
        making = _MAKING.pop(_key(warehouse), None)
    if making is None:
        return None
    making.thread.join()
    made = making.made
    if made is None:
        return None
    live = current_version(Path(warehouse))
    if live is None or live.name != made.version or _stamp(Path(warehouse)) != made.stamp:
        return None
    return made


#: Folders under ``reports/`` the reports do not read, written by the suites between the publish
#: step and the reports step (their presence of ``data_docs/index.html`` counts: a link).
NOT_READ = frozenset({"data_docs", "gx_cache"})


def _stamp(warehouse: Path) -> tuple:
    """What the reports read besides the published version, as it stands now: the date (each page
    says when it was written), whether the validation report is there, every staged file and every
    file under ``reports/`` but the suites' folders — each by name, size, modification time and
    inode (every writer of these files replaces them through a rename)."""
    reports = warehouse / "reports"
    return (
        _today(),
        (reports / "data_docs" / "index.html").exists(),
        _listing(warehouse / "staged", deep=False),
        _listing(reports, deep=True),
    )


def _today() -> str:
    """The date a page says it was written on (lianjian/report/html.py: the local date)."""
    return dt.datetime.now().strftime("%Y-%m-%d")


def _listing(folder: Path, *, deep: bool) -> tuple:
    out: list[tuple] = []
    todo = [(os.fspath(folder), "")]
    while todo:
        path, rel = todo.pop()
        try:
            entries = list(os.scandir(path))
        except (FileNotFoundError, NotADirectoryError):
            continue
        for entry in entries:
            if deep and rel == "" and entry.name in NOT_READ:
                continue
            name = f"{rel}{entry.name}"
            if entry.is_dir(follow_symlinks=False):
                out.append((name, "dir"))
                if deep:
                    todo.append((entry.path, name + "/"))
                continue
            try:
                st = entry.stat(follow_symlinks=False)
            except FileNotFoundError:
                continue
            out.append((name, st.st_size, st.st_mtime_ns, st.st_ino))
    return tuple(sorted(out))
