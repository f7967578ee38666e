"""Yearly reports people read (issue 7): for every unit and year an HTML page and an Excel workbook
under ``<warehouse>/reports/<year>/``, a roll-up page per parent unit, and an index page.

    reports/index.html                         links to every report
    reports/<year>/<unit_code>.html | .xlsx    one unit's report
    reports/<year>/<unit_code>.rollup.html | .rollup.xlsx   a parent unit with every unit below it

Everything is read from the published tables (and the staged unit tree for names and parents);
nothing here computes a score. ``lianjian report --unit CODE --year YYYY [--open]`` writes one.
"""

from __future__ import annotations

import hashlib
import json
import os
import webbrowser
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import polars as pl

from lianjian.errors import FatalError
from lianjian.report.build import build_reports
from lianjian.report.html import render_index, render_report, table_html
from lianjian.report.load import REPORT_TABLES, ReportInputs, load_inputs, materialized
from lianjian.report.model import Report
from lianjian.report.scope import ROLLUP_SUFFIX, report_scopes
from lianjian.report.sections import METRICS
from lianjian.report.xlsx import write_workbook


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
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(path)


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

    def add(*parts: object) -> None:
        for part in parts:
            h.update(repr(part).encode("utf-8"))
            h.update(b"\x1f")

    add(report.report_key, report.unit_code, report.unit_name, report.level, report.parent_code, report.parent_name)
    add(report.rollup, report.year, report.units_covered, report.rules_versions, sorted(report.metrics.items()), links)
    for sec in report.sections:
        add(sec.key, sec.title, sec.tables, sec.intro, sec.links)
        for chart in sec.charts:
            add(chart.key, chart.title, chart.kind, chart.categories, sorted(chart.series.items()))
        for b in sec.blocks:
            add(b.key, b.title, b.sheet, b.tables, b.empty_text, b.frame.columns, [str(t) for t in b.frame.dtypes], b.frame.height)
            if b.rendered is not None:
                h.update(b.rendered.html.encode("utf-8"))
                h.update(b.rendered.xml.encode("utf-8"))
                add(b.rendered.value_widths)
            elif b.frame.height:
                add(table_html(b.frame, b.key, b.tables))
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


def write_reports(
    warehouse: Path,
    *,
    report_keys: list[str] | None = None,
    years: list[int] | None = None,
    index: bool = True,
    inputs: ReportInputs | None = None,
    force: bool = False,
) -> list[Written]:
    """Write the HTML page and workbook of every report (or those asked for) and, with ``index``,
    ``reports/index.html``. Returns every report, with ``fresh`` False for one whose content digest
    (``report_digest``) equals the one recorded beside it by the last run and whose files are both
    there: those are not written again (``force`` writes them anyway)."""
    inputs = materialized(inputs or load_inputs(Path(warehouse)))
    root = inputs.warehouse / "reports"
    rollups = set(report_scopes(inputs.units).filter(pl.col("rollup"))["report_key"].unique().to_list())
    written: list[Written] = []
    digests: dict[int, dict[str, str]] = {}
    for report in build_reports(inputs, report_keys=report_keys, years=years):
        folder = root / str(report.year)
        if report.year not in digests:
            digests[report.year] = {} if force else _read_digests(folder)
        page = folder / f"{report.file_stem}.html"
        book = folder / f"{report.file_stem}.xlsx"
        links = _links(report, rollups)
        digest = report_digest(report, links)
        fresh = digests[report.year].get(report.report_key) != digest or not (page.exists() and book.exists())
        if fresh:
            _write_text(page, render_report(report, links=links))
            write_workbook(report, book)
            digests[report.year][report.report_key] = digest
        written.append(Written(report.report_key, report.unit_code, report.year, report.rollup, page, book, fresh))
    for year, known in digests.items():
        if any(w.fresh for w in written if w.year == year):
            _write_text(root / str(year) / DIGESTS, json.dumps(dict(sorted(known.items())), indent=0))
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


def report_command(unit: str, year: int, open_: bool) -> int:
    """`lianjian report --unit CODE --year YYYY [--open]`: write that unit's report (and its roll-up
    when it has units below it) for that year, print where, and open it when asked."""
    from pipelines.resources import configured_path

    warehouse = configured_path("LIANJIAN_WAREHOUSE")
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
    "write_reports",
]
