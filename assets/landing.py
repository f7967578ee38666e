"""Landing layer: every landing file read as text, one asset per source (docs/contract.md "What it reads").

``["landing", <source>]`` holds the rows as read — every contract column as String under its English
name, whatever the file's header language, plus ``_file``, ``_row`` (spreadsheet row number),
``_problem`` (a row-level reading problem) and ``_personal`` (reasons about identity numbers, which
are validated and masked here, so they never reach Parquet). ``["landing", "files"]`` is the file
inventory (sha256, encoding, original headers, rows read). One op reads them all (one pass over the
landing zone, one source and one file at a time, streamed); the logic is
``lianjian.ingest.iter_landing``.
"""

from __future__ import annotations

import dagster as dg
import polars as pl

from lianjian.contract import SOURCES
from lianjian.files import run_tmpdir
from lianjian.ingest import FILES_SCHEMA, files_frame, iter_landing, raw_schema
from pipelines.io_manager import table_schema
from pipelines.resources import LianjianSettings

CODE_VERSION = "ingest-1"
OWNERS = ["team:jijian"]
TAGS = {"layer": "landing"}


def _bookkeeping() -> dict[str, str]:
    return {
        "_file": "文件（相对落地区的路径） file relative to the landing folder",
        "_row": "行号（表头为第1行） spreadsheet row number",
        "_problem": "整行读取问题 row-level reading problem",
        "_personal": "个人信息校验结果（身份证号已遮蔽） identity-number reasons; the number is masked",
    }


def _out(name: str) -> dg.AssetOut:
    src = SOURCES[name]
    zh = {c.name: f"{c.zh}（原样文本）" for c in src.columns}
    return dg.AssetOut(
        key=["landing", name],
        group_name="landing",
        description=f"落地区 {name}（{src.zh}）：按原样读取的全部行（文本），表头已统一为英文列名。"
        f" Landing rows of {name} as read, all text, headers normalized.",
        owners=OWNERS,
        kinds={"polars", "parquet"},
        code_version=CODE_VERSION,
        tags=TAGS,
        metadata={"dagster/column_schema": table_schema(raw_schema(src), zh | _bookkeeping())},
        dagster_type=pl.LazyFrame,
    )


FILES_OUT = dg.AssetOut(
    key=["landing", "files"],
    group_name="landing",
    description="落地区文件清单：每个文件的 sha256、编码、原始表头和读取行数。"
    " Inventory of landing files: sha256, encoding, original headers, rows read.",
    owners=OWNERS,
    kinds={"polars", "parquet"},
    code_version=CODE_VERSION,
    tags=TAGS,
    metadata={"dagster/column_schema": table_schema(FILES_SCHEMA)},
    dagster_type=pl.DataFrame,
)


@dg.multi_asset(
    name="landing_files",
    outs={name: _out(name) for name in SOURCES} | {"files": FILES_OUT},
    can_subset=False,
    code_version=CODE_VERSION,
)
def landing_assets(context, lianjian: LianjianSettings):
    # One source at a time: each file is streamed to a temporary Parquet part, and the source's
    # output is a LazyFrame over its parts that the IO manager streams into the warehouse before the
    # next source is read — memory stays bounded by one chunk, not by the landing zone. The parts live
    # in the warehouse's private temporary folder (lianjian.files), removed at the end of the step.
    warnings: list[str] = []
    entries: list[dict] = []
    logged = 0
    with run_tmpdir(lianjian.warehouse_path, "landing") as tmp:
        for read in iter_landing(lianjian.landing_path, tmp, warnings):
            for message in dict.fromkeys(warnings[logged:]):
                context.log.warning(message)
            logged = len(warnings)
            entries += read.entries
            rows = sum(e["rows_read"] for e in read.entries)
            if read.present:
                context.log.info(f"读取 {read.name}：{len(read.entries)} 个文件，{rows:,} 行")
            else:
                context.log.info(f"{read.name}：落地区中没有此可选数据源，按空表处理 (optional source absent)")
            unknown = list(dict.fromkeys(w for w in warnings if w.startswith(f"{read.name}: 未知列")))
            yield dg.Output(
                read.frame,
                output_name=read.name,
                metadata={
                    "files": dg.MetadataValue.int(len(read.entries)),
                    "present": dg.MetadataValue.bool(read.present),
                    "warnings": dg.MetadataValue.text("\n".join(unknown) or "无 (none)"),
                },
            )
    files = files_frame(entries)
    yield dg.Output(files, output_name="files", metadata={"files": dg.MetadataValue.int(files.height)})


defs = dg.Definitions(assets=[landing_assets])
