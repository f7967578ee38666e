"""Landing layer: every landing file read as text, one asset per source (CONTRACT.md §2).

``["landing", <source>]`` holds the rows as read — every contract column as String under its English
name, whatever the file's header language, plus ``_file``, ``_row`` (spreadsheet row number),
``_problem`` (a row-level reading problem) and ``_personal`` (reasons about identity numbers, which
are validated and masked here, so they never reach Parquet). ``["landing", "files"]`` is the file
inventory (sha256, encoding, original headers, rows read). One op reads them all (one pass over the
landing zone); the logic is ``lianjian.ingest.read_landing``.
"""

from __future__ import annotations

import dagster as dg
import polars as pl

from lianjian.contract import SOURCES
from lianjian.ingest import FILES_SCHEMA, raw_schema, read_landing
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
        dagster_type=pl.DataFrame,
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
    read = read_landing(lianjian.landing_path)
    for message in read.warnings:
        context.log.warning(message)
    for name in SOURCES:
        frame = read.frames[name]
        files = read.files.filter(pl.col("source") == name)
        if read.present[name]:
            context.log.info(f"读取 {name}：{files.height} 个文件，{frame.height:,} 行")
        else:
            context.log.info(f"{name}：落地区中没有此可选数据源，按空表处理 (optional source absent)")
        unknown = [w for w in read.warnings if w.startswith(f"{name}: 未知列")]
        yield dg.Output(
            frame,
            output_name=name,
            metadata={
                "files": dg.MetadataValue.int(files.height),
                "present": dg.MetadataValue.bool(read.present[name]),
                "warnings": dg.MetadataValue.text("\n".join(unknown) or "无 (none)"),
            },
        )
    yield dg.Output(read.files, output_name="files", metadata={"files": dg.MetadataValue.int(read.files.height)})


defs = dg.Definitions(assets=[landing_assets])
