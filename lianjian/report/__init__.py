"""Yearly reports people read (issue 7): for every unit and year an HTML page and an Excel workbook
under ``<warehouse>/reports/<year>/``, a roll-up page per parent unit, and an index page.

    reports/index.html                         links to every report
    reports/<year>/<unit_code>.html | .xlsx    one unit's report
    reports/<year>/<unit_code>.rollup.html | .rollup.xlsx   a parent unit with every unit below it

Everything is read from the published tables (and the staged unit tree for names and parents);
nothing here computes a score. ``lianjian report --unit CODE --year YYYY [--open]`` writes one.

A large run is cut into tasks (a year's reports in runs of ``CHUNK_REPORTS``) written by
``$LIANJIAN_REPORT_WORKERS`` spawned worker processes (default ``min(2, cores)``; one process below
``PARALLEL_MIN_REPORTS``); the files do not depend on it (docs/report.md, "Performance").
"""

from __future__ import annotations

import hashlib
import json
import multiprocessing as mp
import os
import webbrowser
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import polars as pl

from lianjian.errors import FatalError
from lianjian.report.build import Shared, chunk_reports, shared, year_inputs
from lianjian.report.html import render_index, render_report, table_html
from lianjian.report.load import REPORT_TABLES, ReportInputs, load_inputs
from lianjian.report.model import Report
from lianjian.report.scope import ROLLUP_SUFFIX, report_scopes
from lianjian.report.sections import METRICS, report_years
from lianjian.report.xlsx import write_bytes, write_workbook


@dataclass(frozen=True)
class Written:
    report_key: str
    unit_code: str
    year: int
    rollup: bool
    html: Path
    xlsx: Path
    fresh: bool = True  # False: its content had not changed since the last run, the files were kept


#: Beside each year's reports: report_key -> digest of what its page and workbook show.
DIGESTS = "_digests.json"


def _write_text(path: Path, text: str) -> None:
    write_bytes(path, text.encode("utf-8"))


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
            meta.append((b.key, b.title, b.sheet, b.tables, b.empty_text, b.frame.height))
            if b.rendered is not None:
                h.update(b.rendered.html)
                h.update(b.rendered.xml)
                meta.append(b.rendered.value_widths)
            elif b.frame.height:
                meta.append(table_html(b.frame, b.key, b.tables))
    h.update(repr(meta).encode("utf-8"))  # repr quotes and separates every part, so no two reports collide
    return h.hexdigest()


def _read_digests(folder: Path) -> dict[str, str]:
    try:
        data = json.loads((folder / DIGESTS).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


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
#: memory (national, 4,002 reports a year: two runs, about 1 GiB per worker) and spreads the work
#: over the worker processes; smaller runs repeat more per-run work (docs/report.md, Performance).
CHUNK_REPORTS = 2500

#: Below this many reports in a run, everything stays in this process: starting a worker (a new
#: Python importing Polars, about 0.4 s, then reading each year again) costs more than it saves.
#: The province (665 reports) already gains: 3.7 s in one process, 2.7 s with two.
PARALLEL_MIN_REPORTS = 500

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
    """One run of reports of one year, and the digests the last run recorded for them."""

    year: int
    report_keys: tuple[str, ...] | None  # None: every report of the year
    known: dict[str, str]


@dataclass(frozen=True)
class _Done:
    report_key: str
    unit_code: str
    rollup: bool
    digest: str
    fresh: bool


@dataclass
class _Writer:
    """A process's state while it writes reports: the shared frames, and the last year read."""

    inputs: ReportInputs
    common: Shared
    rollups: set[str]
    year: int | None = None
    year_inputs: ReportInputs | None = None

    def run(self, task: _Task) -> list[_Done]:
        if self.year != task.year:
            self.year_inputs = None  # free the previous year before reading the next
            self.year_inputs, self.year = year_inputs(self.inputs, task.year), task.year
        folder = self.inputs.warehouse / "reports" / str(task.year)
        done: list[_Done] = []
        for report in chunk_reports(self.common, self.year_inputs, task.year, task.report_keys):
            page = folder / f"{report.file_stem}.html"
            book = folder / f"{report.file_stem}.xlsx"
            links = _links(report, self.rollups)
            digest = report_digest(report, links)
            fresh = task.known.get(report.report_key) != digest or not (page.exists() and book.exists())
            if fresh:
                write_bytes(page, render_report(report, links=links))
                write_workbook(report, book)
            done.append(_Done(report.report_key, report.unit_code, report.rollup, digest, fresh))
        return done


def _writer(inputs: ReportInputs) -> _Writer:
    common = shared(inputs)
    rollups = set(common.scopes.filter(pl.col("rollup"))["report_key"].unique().to_list())
    return _Writer(inputs, common, rollups)


_WORKER: _Writer | None = None  # in a worker process: its writer, made once by _start_worker


def _start_worker(warehouse: Path) -> None:
    global _WORKER
    _WORKER = _writer(load_inputs(warehouse))


def _worker_run(task: _Task) -> list[_Done]:
    assert _WORKER is not None, "worker not started"
    return _WORKER.run(task)


def _pool(workers: int, warehouse: Path) -> ProcessPoolExecutor:
    """Worker processes started with "spawn", not "fork": Polars' thread pool does not survive a fork
    (the Polars user guide, "Multiprocessing"), and neither would Dagster's threads."""
    return ProcessPoolExecutor(
        max_workers=workers, mp_context=mp.get_context("spawn"), initializer=_start_worker, initargs=(warehouse,)
    )


def _run_tasks(tasks: list[_Task], workers: int, inputs: ReportInputs, given: bool) -> list[list[_Done]]:
    """Every task's result, in task order. With several workers (and inputs read from the warehouse,
    not handed in), the tasks go to that many spawned processes, each reading the warehouse itself;
    what a report contains never depends on which process wrote it."""
    if workers <= 1 or len(tasks) <= 1 or given:
        writer = _writer(inputs)
        return [writer.run(task) for task in tasks]
    pool = _pool(min(workers, len(tasks)), inputs.warehouse)
    try:
        return list(pool.map(_worker_run, tasks))
    finally:  # after a failure, drop the tasks not started instead of running them all first
        pool.shutdown(wait=True, cancel_futures=True)


def _tasks(keys: list[str], years: list[int], known: dict[int, dict[str, str]], whole: bool) -> list[_Task]:
    """Per year, the report keys (sorted) cut into the fewest runs of at most ``CHUNK_REPORTS``,
    of even size; a single run of every report, reading every row, when ``whole`` and they fit."""
    runs = max(1, -(-len(keys) // CHUNK_REPORTS))
    size = -(-len(keys) // runs)
    tasks = []
    for year in years:
        if whole and runs == 1:
            tasks.append(_Task(year, None, known[year]))
            continue
        for i in range(0, len(keys), size):
            chunk = tuple(keys[i : i + size])
            tasks.append(_Task(year, chunk, {k: known[year][k] for k in chunk if k in known[year]}))
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
) -> list[Written]:
    """Write the HTML page and workbook of every report (or those asked for) and, with ``index``,
    ``reports/index.html``. Returns every report, with ``fresh`` False for one whose content digest
    (``report_digest``) equals the one recorded beside it by the last run and whose files are both
    there: those are not written again (``force`` writes them anyway).

    ``workers``: processes writing the reports (default: ``report_workers``). The output does not
    depend on it: each report is built from the same rows and written by one process only."""
    given = inputs is not None
    inputs = inputs or load_inputs(Path(warehouse))
    root = inputs.warehouse / "reports"
    keys = report_scopes(inputs.units)["report_key"].unique().sort()
    if report_keys is not None:
        keys = keys.filter(keys.is_in(pl.Series(report_keys, dtype=pl.String).implode()))
    keys_list = keys.to_list()
    years = sorted(set(report_years(inputs)) if years is None else set(years))
    if not keys_list:
        years = []
    known = {year: {} if force else _read_digests(root / str(year)) for year in years}
    tasks = _tasks(keys_list, years, known, report_keys is None)
    n_workers = report_workers(len(keys_list) * len(years), workers)
    written: list[Written] = []
    for task, done in zip(tasks, _run_tasks(tasks, n_workers, inputs, given)):
        folder = root / str(task.year)
        for d in done:
            written.append(
                Written(d.report_key, d.unit_code, task.year, d.rollup, folder / f"{d.report_key}.html", folder / f"{d.report_key}.xlsx", d.fresh)
            )
            if d.fresh:
                known[task.year][d.report_key] = d.digest
    for year in years:
        if any(w.fresh for w in written if w.year == year):
            _write_text(root / str(year) / DIGESTS, json.dumps(dict(sorted(known[year].items())), indent=0))
    if index:
        _write_text(root / "index.html", render_index(index_entries(written, inputs), has_data_docs=inputs.data_docs is not None))
    return written


def index_entries(written: list[Written], inputs: ReportInputs) -> pl.DataFrame:
    """One row per unit and year: its report and workbook, and its roll-up when it has one."""
    root = inputs.warehouse / "reports"
    frame = pl.DataFrame(
        {
            "unit_code": [w.unit_code for w in written],
            "year": [w.year for w in written],
            "rollup": [w.rollup for w in written],
            "html": [w.html.relative_to(root).as_posix() for w in written],
            "xlsx": [w.xlsx.relative_to(root).as_posix() for w in written],
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
    when it has units below it) for that year, print where, and open it when asked. ``warehouse``:
    the command line's --warehouse (None: LIANJIAN_WAREHOUSE, else warehouse/)."""
    if warehouse is None:
        from pipelines.resources import LianjianSettings

        warehouse = LianjianSettings.resolve().warehouse_path
    inputs = load_inputs(warehouse)
    if unit not in set(inputs.units["unit_code"].to_list()):
        raise FatalError(f"单位编码 {unit}: 不在 {warehouse / 'staged' / 'units.parquet'} 中 — 请检查 --unit（区分大小写）")
    from lianjian.report.sections import report_years

    known = report_years(inputs)
    if year not in known:
        have = f"{known[0]}–{known[-1]}" if known else "无"
        raise FatalError(f"年度 {year}: 已发布的数据中没有该年度（现有 {have}）— 请检查 --year 或先运行 lianjian run")
    keys = [unit, unit + ROLLUP_SUFFIX]
    written = write_reports(warehouse, report_keys=keys, years=[year], index=False, inputs=inputs)
    for w in written:
        print(f"{'汇总报告' if w.rollup else '报告'}: {w.html}")
        print(f"Excel: {w.xlsx}")
    if open_:
        page = next(w.html for w in written if not w.rollup)
        webbrowser.open(page.as_uri())
    return 0


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
