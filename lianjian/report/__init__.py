"""Yearly reports people read (issue 7): for every unit and year an HTML page and an Excel workbook
under ``<warehouse>/reports/<year>/``, a roll-up page per parent unit, and an index page.

    reports/index.html                         links to every report
    reports/<year>/<unit_code>.html | .xlsx    one unit's report
    reports/<year>/<unit_code>.rollup.html | .rollup.xlsx   a parent unit with every unit below it
    reports/<year>/_digests.json               what each report showed when written, and its file sizes
    reports/<year>/_inputs.json                the digest of what the year's reports were built from

Reports follow the published version: a full run removes the reports of years and units no longer
published, and the index lists only what is there. A report is written again when its content
changed, or when its page or workbook is missing or not the size recorded (a write cut short) —
and then only the files whose bytes differ (after a change of code that leaves a report as it was,
it is built again and its files kept); a year whose inputs did not change (lianjian/report/inputs.py: the published files' SHA-256 from the
manifest, the staged year digests) is not built at all.
A write that fails (disk full) ends with ``ReportsNotWritten`` naming the folder; the next run writes
what is missing (docs/operations.md).

Everything is read from the published tables (and the staged unit tree for names and parents);
nothing here computes a score. ``lianjian report --unit CODE --year YYYY [--open]`` writes one.

A large run is cut into tasks (a year's reports in runs of ``CHUNK_REPORTS``) written by
``$LIANJIAN_REPORT_WORKERS`` spawned worker processes (default ``min(2, cores)``; one process below
``PARALLEL_MIN_REPORTS``); the files do not depend on it (docs/report.md, "Performance").
"""

from __future__ import annotations

import errno
import gc
import hashlib
import json
import multiprocessing as mp
import os
import re
import sys
import threading
import webbrowser
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor, wait
from contextlib import contextmanager
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import polars as pl

from lianjian.errors import FatalError, NotFound, ReportsNotWritten
from lianjian.processes import end_with_parent
from lianjian.report.build import Shared, chunk_reports, shared, year_inputs
from lianjian.report.html import render_index, render_report, table_html
from lianjian.report.load import REPORT_TABLES, ReportInputs, load_inputs
from lianjian.report.model import Report
from lianjian.report.scope import ROLLUP_SUFFIX, report_scopes
from lianjian.report.inputs import forget, read_record, rejected_by_year, remember, year_digests
from lianjian.report.quality import rejected_counts, roster_of, unattributed
from lianjian.report.sections import METRICS, index_quality, report_years
from lianjian.report.writes import DISK, Disk, NotHeld
from lianjian.report.xlsx import TMP_INFIX, TMP_PREFIX, workbook_bytes


@dataclass(frozen=True)
class Written:
    """One report of a run: where its page and workbook are (``html``, ``xlsx``, in ``folder``), and
    whether they were written by this run. The paths are made when asked for: a national run has
    ≈ 20,000 reports, and making 40,000 paths it does not look at cost its last step ≈ 0.2 s."""

    report_key: str
    unit_code: str
    year: int
    rollup: bool
    folder: Path  # reports/<year>
    fresh: bool = True  # False: its files were kept (its content had not changed since the last run,
    # or it was built again — a code change — and came out byte for byte as the files it has)

    @property
    def html(self) -> Path:
        return self.folder / f"{self.report_key}.html"

    @property
    def xlsx(self) -> Path:
        return self.folder / f"{self.report_key}.xlsx"


#: Beside each year's reports: report_key -> [digest of what its page and workbook show, size of
#: the page, size of the workbook] as written.
DIGESTS = "_digests.json"


def _write_text(path: Path, text: str, files: Disk = DISK) -> None:
    files.write(path, text.encode("utf-8"))


@lru_cache(maxsize=1)
def code_version() -> str:
    """Digest of what shapes a report besides its data: this package's code, the contract (headers,
    labels, notes) and the Polars version (number formatting). A change rewrites every report."""
    h = hashlib.sha256(f"polars {pl.__version__}".encode())
    here = Path(__file__).parent
    contract = here.parent / "contract"
    for path in sorted([*here.glob("*.py"), *contract.glob("*.py"), *contract.glob("*.yaml")]):
        h.update(path.name.encode() + b"\0" + path.read_bytes() + b"\0")
    return h.hexdigest()


def report_digest(report: Report, links: list[tuple[str, str]]) -> str:
    """A content hash of one report: every number, row and text its page and workbook show (the
    pre-rendered rows carry the values), its links, and ``code_version()``."""
    h = hashlib.sha256(code_version().encode())
    meta: list[object] = [
        report.report_key, report.unit_code, report.unit_name, report.level, report.parent_code, report.parent_name,
        report.rollup, report.year, report.units_covered, report.rules_versions, sorted(report.metrics.items()), links,
    ]
    for sec in report.sections:
        meta.append((sec.key, sec.title, sec.tables, sec.intro, sec.links))
        for chart in sec.charts:
            meta.append((chart.key, chart.title, chart.kind, chart.categories, sorted(chart.series.items())))
        for b in sec.blocks:
            # a block's columns and their types are fixed by the code and the contract (code_version)
            if b.rendered is not None and b.rendered.table is not None:  # the whole table and sheet carry every value
                meta.append((b.key, b.title, b.sheet, b.tables, b.empty_text, b.rendered.n_rows, b.rendered.value_widths))
                h.update(b.rendered.table)
                h.update(b.rendered.sheet or b"")
                continue
            meta.append((b.key, b.title, b.sheet, b.tables, b.empty_text, b.frame.height))
            if b.rendered is not None:
                h.update(b.rendered.html)
                h.update(b.rendered.xml)
                meta.append(b.rendered.value_widths)
            elif b.frame.height:
                meta.append(table_html(b.frame, b.key, b.tables))
    h.update(repr(meta).encode("utf-8"))  # repr quotes and separates every part, so no two reports collide
    return h.hexdigest()


def _read_digests(folder: Path) -> dict[str, list]:
    try:
        data = json.loads((folder / DIGESTS).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def _intact(entry: object, digest: str, page: Path | str, book: Path | str) -> bool:
    """Whether the files of a report are those recorded for ``digest``: both there, at their sizes."""
    if not (isinstance(entry, list) and len(entry) == 3 and entry[0] == digest):
        return False
    try:
        return os.stat(page).st_size == entry[1] and os.stat(book).st_size == entry[2]
    except OSError:
        return False


def _links(report: Report, rollups: set[str]) -> list[tuple[str, str]]:
    links = [("报告索引", "../index.html"), ("Excel 工作簿", f"{report.file_stem}.xlsx")]
    if report.rollup:
        links.append(("本单位报告", f"{report.unit_code}.html"))
    elif report.unit_code + ROLLUP_SUFFIX in rollups:
        links.append(("汇总报告（含下级单位）", f"{report.unit_code}{ROLLUP_SUFFIX}.html"))
    if report.parent_code:
        links.append((f"上级单位报告（{report.parent_name or report.parent_code}）", f"{report.parent_code}.html"))
        links.append(("上级单位汇总报告", f"{report.parent_code}{ROLLUP_SUFFIX}.html"))
    return links


#: Reports per task: each year's reports are cut, in report_key order, into runs of at most this
#: many, each built (reading only the rows of the units it covers) and written on its own. Bounds
#: memory (national, 4,002 reports a year: five runs, well under 1 GiB per worker) and spreads the
#: work over the worker processes: the last task runs alone while the other worker has nothing left,
#: so smaller tasks leave less of a core idle at the end. Smaller runs repeat a little per-run work
#: (restricting the year's rows, a dozen small queries: within the noise at 1/6 national with runs
#: of 334 instead of 667; docs/report.md, Performance).
CHUNK_REPORTS = 1000

#: With several workers, at least this many tasks per worker (a year cut into more runs when there
#: are few years): five years of 667 reports on two workers were five tasks, three for one worker
#: and two for the other, which then waited for the whole of the last one.
TASKS_PER_WORKER = 4

#: ... but no run of fewer reports than this: a task's fixed work (reading the year, restricting its
#: rows, a dozen small queries) is then no longer small beside its reports — a province's 133
#: reports a year cut in two cost ≈ 15 % more CPU for a tail of a fraction of a second.
MIN_TASK_REPORTS = 300

#: Below this many reports in a run, everything stays in this process: starting a worker (a new
#: Python importing Polars, about 0.4 s, then reading each year again) costs more than it saves.
#: The province (665 reports) already gains: 3.7 s in one process, 2.7 s with two.
PARALLEL_MIN_REPORTS = 500

#: Up to this many reports in all (every year's, every report of each) in one process, one task
#: builds them all: each section's plan and each kind of table's rendering once for every year
#: instead of once a year. A small warehouse's reports are mostly that fixed work (the demo's 25
#: reports over five years: ≈ 0.45 of ≈ 0.75 CPU-s in the five years' ≈ 80 small queries and 65
#: renderings); the bound keeps a task's frames as small as ``CHUNK_REPORTS`` keeps them.
ONE_TASK_REPORTS = CHUNK_REPORTS

#: Environment variable: how many worker processes write the reports (default ``min(2, cores)``).
WORKERS_ENV = "LIANJIAN_REPORT_WORKERS"


def report_workers(n_reports: int, workers: int | None = None) -> int:
    """How many processes write ``n_reports`` reports: ``workers`` when given; else
    ``$LIANJIAN_REPORT_WORKERS`` or ``min(2, os.cpu_count())``, and 1 below ``PARALLEL_MIN_REPORTS``."""
    if workers is not None:
        return max(1, int(workers))
    raw = os.environ.get(WORKERS_ENV, "").strip()
    if raw:
        if not raw.isdigit() or int(raw) < 1:
            raise FatalError(f"环境变量 {WORKERS_ENV}={raw!r}: 不是正整数 — 请设为 1、2 等，或删除它（默认 min(2, CPU 核数)）")
        wanted = int(raw)
    else:
        wanted = min(2, os.cpu_count() or 1)
    return 1 if n_reports < PARALLEL_MIN_REPORTS else wanted


@dataclass(frozen=True)
class _Task:
    """One run of reports of one year (or of a few years, every report of each: a small
    warehouse's, ``ONE_TASK_REPORTS``), and the digests the last run recorded for them, per year."""

    years: tuple[int, ...]
    report_keys: tuple[str, ...] | None  # None: every report of the year
    known: dict[int, dict[str, list]]


@dataclass(frozen=True)
class _Done:
    year: int
    report_key: str
    unit_code: str
    rollup: bool
    entry: list  # [digest, page size, workbook size]
    fresh: bool


@dataclass
class _Writer:
    """A process's state while it writes reports: the shared frames, and the last years read."""

    inputs: ReportInputs
    common: Shared
    rollups: set[str]
    files: Disk = DISK  # where its files go (``writes.Held``: held until the version is published)
    years: tuple[int, ...] | None = None
    year_inputs: ReportInputs | None = None

    def run(self, task: _Task) -> list[_Done]:
        if self.years != task.years:
            self.year_inputs = None  # free the previous year before reading the next
            only = task.years[0] if len(task.years) == 1 else task.years
            self.year_inputs, self.years = year_inputs(self.inputs, only), task.years
        folders = {year: self.inputs.warehouse / "reports" / str(year) for year in task.years}
        for folder in folders.values():
            self.files.mkdir(folder)  # once: each file below is written into it without checking it again
        done: list[_Done] = []
        for report in chunk_reports(self.common, self.year_inputs, task.years, task.report_keys):
            folder = folders[report.year]
            page = f"{folder}/{report.file_stem}.html"
            book = f"{folder}/{report.file_stem}.xlsx"
            links = _links(report, self.rollups)
            digest = report_digest(report, links)
            entry = task.known[report.year].get(report.report_key)
            fresh = not _intact(entry, digest, page, book)
            if fresh:  # built; its files written unless they hold these bytes already (a code change)
                html, xlsx = render_report(report, links=links), workbook_bytes(report)
                wrote_page = self.files.write_if_changed(page, html, folder_ready=True)
                wrote_book = self.files.write_if_changed(book, xlsx, folder_ready=True)
                fresh = wrote_page or wrote_book
                entry = [digest, len(html), len(xlsx)]  # the sizes of the files, written or already there
            done.append(_Done(report.year, report.report_key, report.unit_code, report.rollup, entry, fresh))
        return done


def _writer(inputs: ReportInputs, common: Shared, files: Disk = DISK) -> _Writer:
    rollups = set(common.scopes.filter(pl.col("rollup"))["report_key"].unique().to_list())
    return _Writer(inputs, common, rollups, files)


_INPUTS: ReportInputs | None = None  # in a worker process: the warehouse as read by _start_worker
_WORKER: _Writer | None = None  # in a worker process: its writer, made at its first task


def _start_worker(warehouse: Path, parent: int) -> None:
    """A worker's start: Polars and this package imported (by unpickling this function), the
    warehouse opened. It needs nothing from the calling process, which meanwhile works out the
    shared frames (``_run_tasks``)."""
    global _INPUTS, _WORKER
    end_with_parent(parent)  # a run killed while reports are written leaves no worker behind
    _INPUTS, _WORKER = load_inputs(warehouse), None


def _worker_run(task: _Task, common: Shared) -> list[_Done]:
    """One task in a worker; ``common`` (handed with every task, a few small frames) makes the
    worker's writer at its first task."""
    global _WORKER
    assert _INPUTS is not None, "worker not started"
    if _WORKER is None:
        _WORKER = _writer(_INPUTS, common)
    return _WORKER.run(task)


def _pool(workers: int, warehouse: Path) -> ProcessPoolExecutor:
    """``workers`` worker processes, started now (a pool with "spawn" starts a process only when a
    task is submitted: one empty task each makes them start while this process works out the shared
    frames, ≈ 0.5 CPU-s each of a new Python importing Polars; docs/performance.md, "Reports: the
    workers start first"). "spawn", not "fork": Polars' thread pool does not survive a fork (the
    Polars user guide, "Multiprocessing"), and neither would Dagster's threads."""
    pool = ProcessPoolExecutor(
        max_workers=workers, mp_context=mp.get_context("spawn"), initializer=_start_worker, initargs=(warehouse, os.getpid())
    )
    for _ in range(workers):
        pool.submit(int)  # no idle worker yet: each submit starts one
    return pool


def _run_tasks(
    tasks: list[_Task],
    workers: int,
    inputs: ReportInputs,
    given: bool,
    alongside: Callable[[], object] | None = None,
    files: Disk = DISK,
) -> list[list[_Done]]:
    """Every task's result, in task order. With several workers (and inputs read from the warehouse,
    not handed in), the tasks go to that many spawned processes, each reading the warehouse itself
    but for ``shared`` — worked out once here while the workers start (the data-quality counts read
    every staged table, ≈ 4 CPU-s at national scale, which each worker used to read again) and
    handed to them with the tasks; what a report contains never depends on which process wrote it.
    ``alongside`` runs in this process once the tasks are handed out; when everything stays here, on
    a thread beside the tasks (``_beside``). ``files``: where the files go (held: in this process only)."""
    if not tasks or workers <= 1 or len(tasks) <= 1 or given or files.held:
        if not tasks:
            if alongside is not None:
                alongside()
            return []
        with _beside(alongside):
            writer = _writer(inputs, shared(inputs), files)
            return [writer.run(task) for task in tasks]
    pool = _pool(min(workers, len(tasks)), inputs.warehouse)
    try:
        common = shared(inputs)  # while the workers start
        results = pool.map(_worker_run, tasks, [common] * len(tasks))  # every task handed out now; collected in order below
        if alongside is not None:
            alongside()  # this process would only wait for the workers
        return list(results)
    finally:  # after a failure, drop the tasks not started instead of running them all first
        pool.shutdown(wait=True, cancel_futures=True)


@contextmanager
def _beside(work: Callable[[], object] | None) -> Iterator[None]:
    """Run ``work`` on a thread while the block runs; on leaving, wait for it and raise its failure
    (the block's own failure first). In one process the reports' task is a few hundred small Polars
    queries, each releasing the GIL while a core runs it, and the work beside it (the notices, the
    index page's data quality) is the same kind of work, so each fills the other's waits, on the
    core the worker processes would use (docs/performance.md, "Publish and the reports beside
    themselves"). What either writes does not depend on the other: the notices and the reports are
    separate files, and the index is written after both."""
    if work is None:
        yield
        return
    with ThreadPoolExecutor(1, thread_name_prefix="lianjian-beside") as pool:
        done = pool.submit(work)
        try:
            yield
        finally:
            wait([done])
        done.result()


def _tasks(keys: list[str], years: list[int], known: dict[int, dict[str, str]], whole: bool, workers: int = 1) -> list[_Task]:
    """Per year, the report keys (sorted) cut into the fewest runs of at most ``CHUNK_REPORTS``,
    of even size — with several ``workers``, into enough runs for ``TASKS_PER_WORKER`` tasks each,
    none of fewer than ``MIN_TASK_REPORTS`` — and a single run of every report, reading every row,
    when ``whole`` and they fit; in one process, every year's reports in one task when ``whole``
    and they all fit in ``ONE_TASK_REPORTS``."""
    if whole and workers <= 1 and len(years) > 1 and len(keys) * len(years) <= ONE_TASK_REPORTS:
        return [_Task(tuple(years), None, {year: known[year] for year in years})]
    runs = max(1, -(-len(keys) // CHUNK_REPORTS))
    if workers > 1 and years:
        runs = max(runs, min(-(-TASKS_PER_WORKER * workers // len(years)), len(keys) // MIN_TASK_REPORTS))
    size = -(-len(keys) // runs)
    tasks = []
    for year in years:
        if whole and runs == 1:
            tasks.append(_Task((year,), None, {year: known[year]}))
            continue
        for i in range(0, len(keys), size):
            chunk = tuple(keys[i : i + size])
            tasks.append(_Task((year,), chunk, {year: {k: known[year][k] for k in chunk if k in known[year]}}))
    return tasks


def write_reports(
    warehouse: Path,
    *,
    report_keys: list[str] | None = None,
    years: list[int] | None = None,
    index: bool = True,
    inputs: ReportInputs | None = None,
    force: bool = False,
    workers: int | None = None,
    alongside: Callable[[], object] | None = None,
    files: Disk = DISK,
) -> list[Written]:
    """Write the HTML page and workbook of every report (or those asked for) and, with ``index``,
    ``reports/index.html``. Returns every report, with ``fresh`` False for one whose content digest
    (``report_digest``) equals the one recorded beside it by the last run and whose files are both
    there: those are not written again (``force`` writes them anyway). A full run (no keys, no
    years, not ``force``) does not even build the reports of a year whose inputs are those recorded
    beside them (``input_digests``, ``_unchanged``): a nightly run that recomputed two years builds
    those two.

    ``workers``: processes writing the reports (default: ``report_workers``). The output does not
    depend on it: each report is built from the same rows and written by one process only.

    ``alongside``: other work of the same step (the reports asset passes the "三个规定" notices,
    lianjian/report/notices.py), run in this process while the worker processes build the reports
    — this process would only wait for them — and in any case before the index, which links its
    output. Its failure stops the run like a report's.

    ``files``: where every file operation goes (lianjian/report/writes.py; ``Held``: kept in memory
    until the version read is published, lianjian/report/ahead.py).

    Python's cycle collector leaves the objects that were there before the step alone meanwhile
    (``_old_objects_left_alone``)."""
    with _old_objects_left_alone():
        return _write_reports(warehouse, report_keys, years, index, inputs, force, workers, alongside, files)


@contextmanager
def _old_objects_left_alone() -> Iterator[None]:
    """While the block runs, the objects that already exist are left out of the cycle collector's
    passes (``gc.freeze``) and given back to it after (``gc.unfreeze``: the oldest generation, as
    before). The step makes millions of short-lived objects in this process (the notices' rows and
    pages, the tasks' results), and each pass over the oldest generation also walked every object of
    the process that runs it — a pipeline run's own (Dagster's, the suites'), hundreds of thousands
    of them, none of which the reports free. Objects are still freed as soon as nothing refers to
    them; only a cycle among the old objects waits for the first pass after the step. Nested or
    concurrent uses (a thread's reports beside another's) give the objects back when the last one
    leaves."""
    global _frozen_by
    with _FREEZE_LOCK:
        if _frozen_by == 0:
            gc.freeze()
        _frozen_by += 1
    try:
        yield
    finally:
        with _FREEZE_LOCK:
            _frozen_by -= 1
            if _frozen_by == 0:
                gc.unfreeze()


_FREEZE_LOCK = threading.Lock()
_frozen_by = 0  # how many ``_old_objects_left_alone`` blocks are running in this process


def _write_reports(
    warehouse: Path,
    report_keys: list[str] | None,
    years: list[int] | None,
    index: bool,
    inputs: ReportInputs | None,
    force: bool,
    workers: int | None,
    alongside: Callable[[], object] | None,
    files: Disk = DISK,
) -> list[Written]:
    """``write_reports``; ``files``: where every file operation goes (``writes.Held``: held in memory,
    in order, to be done once the version read is published — only for what one process writes:
    a run that would take worker processes raises ``NotHeld``)."""
    given = inputs is not None
    inputs = inputs or load_inputs(Path(warehouse))
    root = inputs.warehouse / "reports"
    full = report_keys is None and years is None
    keys = report_scopes(inputs.units)["report_key"].unique().sort()
    if report_keys is not None:
        keys = keys.filter(keys.is_in(pl.Series(report_keys, dtype=pl.String).implode()))
    keys_list = keys.to_list()
    years = sorted(set(report_years(inputs)) if years is None else set(years))
    if not keys_list:
        years = []
    recorded = {year: _read_digests(root / str(year)) for year in years}
    known = {year: {} if force else dict(recorded[year]) for year in years}
    sources = input_digests(inputs, years) if full and not force else {}
    kept = [y for y in years if _unchanged(root / str(y), sources.get(y), keys_list, recorded[y])]
    build = [y for y in years if y not in kept]
    n_workers = report_workers(len(keys_list) * len(build), workers)
    if files.held and n_workers > 1:
        raise NotHeld(f"{len(keys_list) * len(build)} reports: written by worker processes")
    tasks = _tasks(keys_list, build, known, report_keys is None, n_workers if not given else 1)
    quality: list[pl.DataFrame] = []  # the index page's whole-run data quality, worked out beside the workers

    def beside() -> None:
        if alongside is not None:
            alongside()
        if index:
            quality.append(_index_quality(inputs))
    written: list[Written] = []
    try:
        for year in build:
            forget(root / str(year), files)
        folders = {year: root / str(year) for year in build}
        for done in _run_tasks(tasks, n_workers, inputs, given, beside, files):
            for d in done:
                written.append(Written(d.report_key, d.unit_code, d.year, d.rollup, folders[d.year], d.fresh))
                known[d.year][d.report_key] = d.entry
        for year in kept:  # inputs unchanged, files in place: the reports the last run wrote
            folder = root / str(year)
            for key in keys_list:
                unit, rollup = key.removesuffix(ROLLUP_SUFFIX), key.endswith(ROLLUP_SUFFIX)
                written.append(Written(key, unit, year, rollup, folder, False))
        written.sort(key=lambda w: w.year)  # year by year, as built (a stable sort keeps each year's order)
        if full:
            _remove_stale(root, written, years, known, files)
        for year in years:
            if known[year] != recorded[year]:
                _write_text(root / str(year) / DIGESTS, json.dumps(dict(sorted(known[year].items())), indent=0), files)
        for year in build:  # after the year's files and digests: a run cut short leaves no record
            remember(root / str(year), sources.get(year), files=files)
        if index:
            has_notices = files.exists(root / "notices.html")  # written by lianjian.report.notices (R9)
            page = render_index(
                index_entries(written, inputs),
                has_data_docs=inputs.data_docs is not None,
                quality=quality[0] if quality else _index_quality(inputs),
                has_notices=has_notices,
            )
            _write_text(root / "index.html", page, files)
    except OSError as err:
        raise ReportsNotWritten(_not_written(root, err)) from None
    return written


def _index_quality(inputs: ReportInputs) -> pl.DataFrame:
    """The whole run's data quality for the index page (it reads the rejected rows and the roster:
    ≈ 1 CPU-s at national scale, worked out while the workers build the reports)."""
    return index_quality(inputs, unattributed(inputs.table("rejected_records"), inputs.warehouse, inputs.units, roster_of(inputs)))


#: The published tables a year's reports read, and which of their years: "year" that year's file;
#: "to_year" that year's and every earlier year's (the "三个规定" trend and its medians; the assessment
#: rows a 连续两年较差 streak names as evidence).
READS = {
    "integrity_assessment": "to_year",
    "responsibility_assessment": "to_year",
    "accountability_triggers": "year",
    "talk_obligations": "year",
    "case_quality": "year",
    "leader_case_handling": "year",
    "major_matter_report_stats": "to_year",
}


def input_digests(inputs: ReportInputs, years: list[int]) -> dict[int, str | None]:
    """Per year, the digest of everything its reports read (lianjian/report/inputs.py): the published
    files of ``READS``, the staged digests of the year (names, departments, accepted rows) and the
    unit tree's, the rejected rows of each unit in the year, whether the validation report is there
    (a link) and ``code_version()``."""
    assert set(READS) == set(REPORT_TABLES) - {"rejected_records"}, "every table the reports read has its years here"
    rejected = rejected_by_year(rejected_counts(inputs.warehouse, inputs.table("rejected_records"), lambda: roster_of(inputs)))
    extra = {y: {"rejected": rejected.get(y, []), "data_docs": inputs.data_docs is not None} for y in years}
    return year_digests(inputs.warehouse, years, READS, extra=extra, code=code_version(), published=inputs.published_files)


def _unchanged(folder: Path, digest: str | None, keys: list[str], recorded: dict[str, list]) -> bool:
    """Whether a year's reports are those the last run wrote for the same inputs: the digest recorded
    beside them is ``digest``, they are the same reports (``keys``), and every page and workbook is
    there at its recorded size."""
    if digest is None or not keys or set(recorded) != set(keys):
        return False
    record = read_record(folder)
    if record is None or record.get("inputs") != digest:
        return False
    return all(
        isinstance(recorded[k], list) and len(recorded[k]) == 3 and _intact(recorded[k], recorded[k][0], f"{folder}/{k}.html", f"{folder}/{k}.xlsx")
        for k in keys
    )


def _not_written(root: Path, err: OSError) -> str:
    """One line: which folder, and why (disk full said in so many words)."""
    where = Path(err.filename).parent if err.filename else root
    if err.errno in (errno.ENOSPC, errno.EDQUOT):
        return f"磁盘空间不足，写入 {where} 时停止（{err.strerror}）"
    return f"无法写入 {where}（{err.strerror or type(err).__name__}）"


_YEAR_DIR = re.compile(r"^\d{4}$")


def _left_by_a_dead_writer(path: Path) -> bool:
    """A ``.<name>.tmp-<pid>`` file whose writer is no longer running (a killed or failed run)."""
    name = path.name
    if not (name.startswith(TMP_PREFIX) and TMP_INFIX in name):
        return False
    pid = name.rsplit(TMP_INFIX, 1)[1]
    if not pid.isdigit():
        return False
    if int(pid) == os.getpid():
        return True
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except OSError:
        return False
    return False


def _remove_stale(
    root: Path, written: list[Written], years: list[int], known: dict[int, dict[str, list]], files: Disk = DISK
) -> None:
    """Reports follow the published version: remove the folders of years no longer published, the
    pages and workbooks of reports no longer written (a unit gone), their digests, and temporary
    files left by a write that was cut short. ``data_docs/`` and other folders are not touched.
    The folders are read as they are; the removals go to ``files``."""
    if not root.is_dir():
        return
    keep: dict[int, set[str]] = {year: set() for year in years}
    for w in written:
        keep[w.year].update((f"{w.report_key}.html", f"{w.report_key}.xlsx"))
    for child in root.iterdir():
        if child.is_dir() and _YEAR_DIR.match(child.name) and int(child.name) not in keep:
            files.rmtree(child)
        elif child.is_file() and _left_by_a_dead_writer(child):
            files.unlink(child)
    for year, names in keep.items():
        try:
            entries = os.scandir(root / str(year))
        except (FileNotFoundError, NotADirectoryError):
            continue
        with entries:  # a year's ≈ 8,000 files at national: their names, and a stat only for a candidate
            for f in entries:
                name = f.name
                stale = name.endswith((".html", ".xlsx")) and not name.startswith(".") and name not in names
                if (stale or name.startswith(TMP_PREFIX)) and f.is_file() and (stale or _left_by_a_dead_writer(Path(f.path))):
                    files.unlink(f.path)
        current = {w.report_key for w in written if w.year == year}
        for key in [k for k in known[year] if k not in current]:
            del known[year][key]


def index_entries(written: list[Written], inputs: ReportInputs) -> pl.DataFrame:
    """One row per unit and year: its report and workbook, and its roll-up when it has one."""
    root = inputs.warehouse / "reports"
    where = {f: f.relative_to(root).as_posix() for f in {w.folder for w in written}}  # a folder per year
    frame = pl.DataFrame(
        {
            "unit_code": [w.unit_code for w in written],
            "year": [w.year for w in written],
            "rollup": [w.rollup for w in written],
            "html": [f"{where[w.folder]}/{w.report_key}.html" for w in written],
            "xlsx": [f"{where[w.folder]}/{w.report_key}.xlsx" for w in written],
        },
        schema={"unit_code": pl.String, "year": pl.Int64, "rollup": pl.Boolean, "html": pl.String, "xlsx": pl.String},
    )
    own = frame.filter(~pl.col("rollup")).drop("rollup")
    roll = frame.filter(pl.col("rollup")).select("unit_code", "year", rollup_html="html", rollup_xlsx="xlsx")
    levels = {c: lab for c, lab in zip(*_level_labels())}
    return (
        own.join(roll, on=["unit_code", "year"], how="left")
        .join(inputs.units.select("unit_code", "unit_name", "level", "parent_code"), on="unit_code", how="left")
        .with_columns(pl.col("level").replace_strict(levels, default=pl.col("level"), return_dtype=pl.String))
    )


def _level_labels() -> tuple[list[str], list[str]]:
    from lianjian.contract import ENUMS

    codes = ENUMS["level"].codes
    return codes, [ENUMS["level"].label(c) for c in codes]


def report_command(unit: str, year: int, open_: bool, warehouse: Path | None = None) -> int:
    """`lianjian report --unit CODE --year YYYY [--open]`: write that unit's report (and its roll-up
    when it has units below it) for that year, print where, and open it when asked (``open_page``).
    ``warehouse``: the command line's --warehouse (None: LIANJIAN_WAREHOUSE, else warehouse/). An
    unknown unit or year, or nothing published: ``NotFound`` (exit 3, as every command)."""
    if warehouse is None:
        from pipelines.resources import LianjianSettings

        warehouse = LianjianSettings.resolve().warehouse_path
    if not (warehouse / "published").is_dir():
        raise NotFound(f"数据仓库 {warehouse}: 没有已发布的数据（published/）— 请先运行 lianjian run（或用 --warehouse 指向正确的仓库）")
    inputs = load_inputs(warehouse)
    if unit not in set(inputs.units["unit_code"].to_list()):
        raise NotFound(f"单位编码 {unit}: 不在 {warehouse / 'staged' / 'units.parquet'} 中 — 请检查 --unit（区分大小写）")
    from lianjian.report.sections import report_years

    known = report_years(inputs)
    if year not in known:
        have = f"{known[0]}–{known[-1]}" if known else "无"
        raise NotFound(f"年度 {year}: 已发布的数据中没有该年度（现有 {have}）— 请检查 --year 或先运行 lianjian run")
    keys = [unit, unit + ROLLUP_SUFFIX]
    written = write_reports(warehouse, report_keys=keys, years=[year], index=False, inputs=inputs)
    for w in written:
        print(f"{'汇总报告' if w.rollup else '报告'}: {w.html}")
        print(f"Excel: {w.xlsx}")
    if open_:
        open_page(next(w.html for w in written if not w.rollup))
    return 0


def has_display() -> bool:
    """Whether a browser window can be shown: always on Windows and macOS; elsewhere only with a
    graphical session (``DISPLAY`` or ``WAYLAND_DISPLAY``) — over SSH or on a server there is none,
    and Python's webbrowser would start a text browser in the terminal or do nothing."""
    if sys.platform in ("win32", "darwin"):
        return True
    return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))


def open_page(page: Path) -> bool:
    """Open ``page`` in the desktop's browser; without a display (or when no browser starts), say so
    on stderr with the path to open elsewhere. The report is written either way."""
    if not has_display():
        print(
            f"无法打开浏览器：本机没有图形界面（未设置 DISPLAY）— 报告已写好，请在有桌面的电脑上打开 {page}"
            " (no display: open the file on a desktop)",
            file=sys.stderr,
        )
        return False
    if not webbrowser.open(page.as_uri()):
        print(f"无法打开浏览器：未找到可用的浏览器 — 报告已写好，请手动打开 {page} (no browser found)", file=sys.stderr)
        return False
    return True


__all__ = [
    "METRICS",
    "REPORT_TABLES",
    "Written",
    "code_version",
    "index_entries",
    "load_inputs",
    "report_command",
    "report_digest",
    "report_workers",
    "write_reports",
]
