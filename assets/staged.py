"""Staged layer: typed contract tables, quarantined rows and the ingest report (docs/contract.md "What it reads").

``["staged", <source>]`` has exactly ``SOURCES[source].staged_schema()`` (personal columns dropped);
``["staged", "rejected_records"]`` every rejected row with all its reasons;
``["staged", "ingest_report"]`` one row per landing file with the conservation counts.

One op stages every source in ``reference_order()`` because each source's references are checked
against the ACCEPTED rows of the sources before it; the lineage declared below (internal deps) shows
exactly that reference DAG. The logic is ``lianjian.ingest.stage_sources`` (one source at a time,
streamed: each staged table is a LazyFrame the IO manager sinks to Parquet).
"""

from __future__ import annotations

import dagster as dg
import polars as pl

from lianjian.contract import INTERNAL, PUBLISHED, SOURCES
from lianjian.files import run_tmpdir
from lianjian.ingest import DateBounds, combine_rejected, combine_report, stage_sources, upstream
from lianjian.quality.checks import current_year
from pipelines.io_manager import table_schema
from pipelines.resources import LianjianSettings

CODE_VERSION = "ingest-1"
OWNERS = ["team:jijian"]
TAGS = {"layer": "staged"}


def _out(
    name: str, description: str, columns, *, kinds: set[str], extra: dict | None = None, dagster_type=pl.DataFrame
) -> dg.AssetOut:
    """One staged output: key ["staged", name], the contract's schema (Chinese names) as metadata."""
    schema = pl.Schema({c.name: c.dtype() for c in columns if not c.personal})
    return dg.AssetOut(
        key=["staged", name],
        group_name="staged",
        description=description,
        owners=OWNERS,
        kinds=kinds,
        code_version=CODE_VERSION,
        tags=TAGS,
        metadata={"dagster/column_schema": table_schema(schema, {c.name: c.zh for c in columns}), **(extra or {})},
        dagster_type=dagster_type,
    )


def _staged_out(name: str) -> dg.AssetOut:
    src = SOURCES[name]
    return _out(
        name,
        f"暂存 {name}（{src.zh}）：通过契约校验的行，已按契约定型（个人信息列已删除），并经 Great Expectations 套件校验。"
        f" Accepted rows of {name}, typed per the contract, personal columns dropped; validated by its Great Expectations suite.",
        src.columns,
        kinds={"polars", "parquet", "great_expectations"},
        extra={"required_source": src.required},
        dagster_type=pl.LazyFrame,
    )


REJECTED_OUT = _out(
    "rejected_records",
    "拒收记录：不符合数据契约的输入行及全部原因（身份证号已遮蔽）。 Rejected input rows with every reason; identity numbers masked.",
    PUBLISHED["rejected_records"].columns,
    kinds={"polars", "parquet"},
)

REPORT_OUT = _out(
    "ingest_report",
    "读取报告：每个落地文件的读取、接收、拒收、重复行数（读取 = 接收 + 拒收 + 重复）。"
    " Per landing file: rows read = accepted + rejected + duplicates.",
    INTERNAL["ingest_report"].columns,
    kinds={"polars", "parquet"},
)


def _internal_deps() -> dict[str, set[dg.AssetKey]]:
    """Each staged table depends on its landing rows, on the staged tables it references (accepted
    rows), and on the landing rows of a referenced source staged after it (personnel -> departments)."""
    deps: dict[str, set[dg.AssetKey]] = {}
    for name in SOURCES:
        before, after = upstream(name)
        deps[name] = (
            {dg.AssetKey(["landing", name]), dg.AssetKey(["landing", "files"])}
            | {dg.AssetKey(["staged", t]) for t in before}
            | {dg.AssetKey(["landing", t]) for t in after}
        )
    everything = {dg.AssetKey(["landing", n]) for n in SOURCES} | {dg.AssetKey(["landing", "files"])}
    deps["rejected_records"] = everything | {dg.AssetKey(["staged", n]) for n in SOURCES}
    deps["ingest_report"] = {dg.AssetKey(["landing", "files"])} | {dg.AssetKey(["staged", n]) for n in SOURCES}
    return deps


@dg.multi_asset(
    name="staged_tables",
    ins={f"landing_{n}": dg.AssetIn(key=["landing", n], dagster_type=pl.LazyFrame) for n in SOURCES}
    | {"landing_files": dg.AssetIn(key=["landing", "files"], dagster_type=pl.DataFrame)},
    outs={name: _staged_out(name) for name in SOURCES} | {"rejected_records": REJECTED_OUT, "ingest_report": REPORT_OUT},
    internal_asset_deps=_internal_deps(),
    can_subset=False,
    code_version=CODE_VERSION,
)
def staged_assets(context, lianjian: LianjianSettings, **landing):
    # One source at a time, in bounded memory: the landing tables come in as lazy scans; each staged
    # table is yielded as a LazyFrame (over temporary checked parts) that the IO manager streams to
    # Parquet before the next source is staged; only rejected rows and key sets are held in memory.
    files = landing.pop("landing_files")
    files = files.collect() if isinstance(files, pl.LazyFrame) else files
    raws = {n: landing[f"landing_{n}"].lazy() for n in SOURCES}
    rejected_parts, report_parts = [], []
    plausible = lianjian.load_rules().settings().plausible_dates
    dates = DateBounds(plausible.earliest, plausible.latest(current_year()))
    with run_tmpdir(lianjian.warehouse_path, "stage") as tmp:
        for name, res in stage_sources(raws, files, tmp, dates):
            rejected_parts.append(res.rejected)
            report_parts.append(res.report)
            counts = res.report.select(pl.col("rows_read", "rows_accepted", "rows_rejected", "rows_duplicate").sum()).row(0)
            context.log.info(
                f"暂存 {name}：读取 {counts[0]:,} 行，接收 {counts[1]:,}，拒收 {counts[2]:,}，重复 {counts[3]:,}"
            )
            yield dg.Output(
                res.staged,
                output_name=name,
                metadata={
                    "present": dg.MetadataValue.bool(res.report.height > 0),
                    "rows_read": dg.MetadataValue.int(counts[0]),
                    "rows_rejected": dg.MetadataValue.int(counts[2]),
                    "rows_duplicate": dg.MetadataValue.int(counts[3]),
                },
            )
    rejected = combine_rejected(rejected_parts)
    report = combine_report(report_parts)
    if rejected.height:
        context.log.warning(f"拒收 {rejected.height:,} 行，原因见 staged/rejected_records (rows rejected)")
    yield dg.Output(rejected, output_name="rejected_records")
    yield dg.Output(report, output_name="ingest_report", metadata={"files": dg.MetadataValue.int(report.height)})


defs = dg.Definitions(assets=[staged_assets])
