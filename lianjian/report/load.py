"""Read what the yearly report needs from the warehouse: the published tables, the staged unit tree
(names and parents), and — when present — staged names of people and departments.

Everything comes back as Polars LazyFrames typed as the contract declares (``PUBLISHED[t].schema()``;
an absent table is an empty frame of that schema), so the section functions never see a file.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field, replace
from pathlib import Path

import polars as pl

from lianjian.contract import SOURCES
from lianjian.errors import FatalError
from lianjian.publish.publish import read_published, scan_table_folder

#: Published tables the report reads (every one of them is named on the page next to its numbers).
REPORT_TABLES: tuple[str, ...] = (
    "integrity_assessment",
    "responsibility_assessment",
    "accountability_triggers",
    "talk_obligations",
    "case_quality",
    "leader_case_handling",
    "major_matter_report_stats",
    "rejected_records",
)


@dataclass(frozen=True)
class ReportInputs:
    """The warehouse as the report sees it."""

    warehouse: Path
    tables: dict[str, pl.LazyFrame]  # published table -> frame with exactly PUBLISHED[t].schema()
    units: pl.DataFrame  # unit_code, unit_name, level (code string), parent_code
    people: pl.LazyFrame  # year, person_id, name (staged personnel, or the names published in R2)
    departments: pl.LazyFrame  # year, unit_code, dept_code, dept_name (empty when not staged)
    ingest: pl.DataFrame  # source, rows_read, rows_accepted, rows_rejected, rows_duplicate per source
    data_docs: Path | None  # the validation report (reports/data_docs/index.html), if written
    # the published files' SHA-256 (inputs.published_digests) of the version read, when it is not the
    # version ``published`` points to (read with the tables, so that nothing is read from it later)
    published_files: dict[str, dict[int | None, str]] | None = None
    cache: dict = field(default_factory=dict, compare=False, repr=False)  # frames made once (quality.roster_of)

    def table(self, name: str) -> pl.LazyFrame:
        return self.tables[name]


def published_table(warehouse: Path, name: str, published: Path | None = None) -> pl.LazyFrame:
    """One published table as a LazyFrame of exactly its contract schema (empty when not published),
    read as BI tools read it — hive partitioning on, ``year`` from the ``year=YYYY`` folder names —
    from the version published now (``read_published``: a switch while the report is written does not
    change what it reads), or from the published folder ``published`` (a version about to be published)."""
    folder = (warehouse / "published" if published is None else published) / name
    try:
        frame = read_published(warehouse, name) if published is None else scan_table_folder(folder, name)
        frame.collect_schema()
    except (OSError, pl.exceptions.PolarsError) as err:
        raise FatalError(
            f"已发布的表 {folder} 无法读取（{type(err).__name__}）— 请重新运行 lianjian run 生成发布数据"
        ) from None
    return frame


def _staged(warehouse: Path, source: str, columns: list[str]) -> pl.LazyFrame | None:
    path = warehouse / "staged" / f"{source}.parquet"
    if not path.exists():
        return None
    schema = SOURCES[source].staged_schema()
    return pl.scan_parquet(path).select([pl.col(c).cast(schema[c]) for c in columns])


def _ingest(warehouse: Path, published: Path | None = None) -> pl.DataFrame:
    """Rows read/accepted/rejected/duplicate per source: the published manifest (of ``published``, a
    published folder, when given), else the staged ingest report; empty when neither exists."""
    cols = ["rows_read", "rows_accepted", "rows_rejected", "rows_duplicate"]
    schema = {"source": pl.String, **{c: pl.Int64 for c in cols}}
    manifest = (warehouse / "published" if published is None else published) / "_manifest.json"
    frame: pl.DataFrame | None = None
    if manifest.exists():
        try:
            inputs = json.loads(manifest.read_text(encoding="utf-8")).get("inputs") or []
            frame = pl.DataFrame(
                {k: [i.get(k) for i in inputs] for k in schema}, schema=schema
            )  # a list of dicts -> columns; no per-row logic
        except (OSError, ValueError, AttributeError):
            frame = None
    if frame is None:
        staged = warehouse / "staged" / "ingest_report.parquet"
        if staged.exists():
            frame = pl.read_parquet(staged).select([pl.col(k).cast(t) for k, t in schema.items()])
    if frame is None:
        return pl.DataFrame(schema=schema)
    return frame.group_by("source").agg(pl.col(cols).sum()).sort("source")


def materialized(inputs: ReportInputs) -> ReportInputs:
    """The same inputs with every table read once into memory (one ``collect_all``), so the many
    section queries of a run share one read of each file instead of scanning it again each."""
    names = list(inputs.tables)
    frames = pl.collect_all([inputs.tables[n] for n in names] + [inputs.people, inputs.departments])
    return replace(
        inputs,
        tables={n: f.lazy() for n, f in zip(names, frames)},
        people=frames[-2].lazy(),
        departments=frames[-1].lazy(),
    )


def load_inputs(warehouse: Path, published: Path | None = None) -> ReportInputs:
    """The report's view of ``warehouse``. Fails with one actionable line when nothing is published
    or the unit tree (staged units) is missing. ``published``: a published folder to read instead of
    the version ``published`` points to (a version written but not yet switched to:
    lianjian/report/ahead.py); its manifest's digests are read now (``published_files``)."""
    from lianjian.report.inputs import published_digests

    warehouse = Path(warehouse)
    if published is None and not (warehouse / "published").is_dir():
        raise FatalError(f"数据仓库 {warehouse}: 没有 published/ 目录 — 请先运行 lianjian run（或 --warehouse 指向正确的仓库）")
    units = _staged(warehouse, "units", ["unit_code", "unit_name", "level", "parent_code"])
    if units is None:
        raise FatalError(
            f"数据仓库 {warehouse / 'staged' / 'units.parquet'}: 缺少单位表 — 请先运行 lianjian run 生成暂存数据"
        )
    tables = {t: published_table(warehouse, t, published) for t in REPORT_TABLES}
    people = _staged(warehouse, "personnel", ["year", "person_id", "name"])
    if people is None:  # names as published with the integrity assessment (active people only)
        people = tables["integrity_assessment"].select("year", "person_id", "name")
    departments = _staged(warehouse, "departments", ["year", "unit_code", "dept_code", "dept_name"])
    if departments is None:
        departments = pl.LazyFrame(
            schema={"year": pl.Int64, "unit_code": pl.String, "dept_code": pl.String, "dept_name": pl.String}
        )
    docs = warehouse / "reports" / "data_docs" / "index.html"
    return ReportInputs(
        warehouse=warehouse,
        tables=tables,
        units=units.with_columns(pl.col("level").cast(pl.String)).collect().sort("unit_code"),
        people=people.unique(["year", "person_id"], keep="first", maintain_order=True),
        departments=departments.unique(["year", "unit_code", "dept_code"], keep="first", maintain_order=True),
        ingest=_ingest(warehouse, published),
        data_docs=docs if docs.exists() else None,
        published_files=published_digests(warehouse, published) if published is not None else None,
    )
