"""Landing layer: the landing zone's files, one asset per source (docs/contract.md "What it reads").

``["landing", <source>]`` stands for the files of that source in the landing zone
(``<source>.csv|.xlsx|.parquet`` or the folder ``<source>/``), as the people who deliver them leave
them there. Nothing in the warehouse copies them: the staging step reads each file once and stages it
(``assets/staged.py``), and records on each run an observation of every source — its files with their
sha256, rows and encodings, and a data version (the SHA-256 of the (file, sha256) list) that changes
when any of its files does. So the graph still reads landing → staged → …, and the UI shows which
files each staged table was made from.
"""

from __future__ import annotations

import hashlib
import json

import dagster as dg

from lianjian.contract import SOURCES
from pipelines.io_manager import table_schema
from lianjian.ingest import raw_schema

OWNERS = ["team:jijian"]
TAGS = {"layer": "landing"}
KINDS = {"csv", "excel", "parquet"}


def _spec(name: str) -> dg.AssetSpec:
    src = SOURCES[name]
    zh = {c.name: f"{c.zh}（原样文本）" for c in src.columns}
    schema = {c: t for c, t in raw_schema(src).items() if not c.startswith("_")}
    return dg.AssetSpec(
        key=["landing", name],
        group_name="landing",
        description=f"落地区 {name}（{src.zh}）：落地区中的 {name}.csv|.xlsx|.parquet 或文件夹 {name}/（由数据报送方放入，"
        f"不复制进数据仓库）；每次暂存时记录一次观测：各文件的 sha256、行数与编码。"
        f" The landing files of {name}, as delivered; observed (files, sha256, rows) on every staging run.",
        owners=OWNERS,
        kinds=KINDS,
        tags=TAGS,
        metadata={"dagster/column_schema": table_schema(schema, zh), "required_source": src.required},
    )


LANDING = [_spec(name) for name in SOURCES]


def data_version(entries: list[dict]) -> str:
    """The data version of a source's landing files: SHA-256 of its (file, sha256) list in order."""
    pairs = [[e["file"], e["sha256"]] for e in entries]
    return hashlib.sha256(json.dumps(pairs, ensure_ascii=False).encode("utf-8")).hexdigest()


def observation(name: str, entries: list[dict], cached: int, present: bool) -> dg.AssetObservation:
    """What the staging step saw of one source's landing files (no cell value: names, digests, counts)."""
    records = [
        dg.TableRecord({"file": e["file"], "sha256": e["sha256"], "format": e["format"], "encoding": e["encoding"], "rows_read": int(e["rows_read"])})
        for e in entries
    ]
    schema = dg.TableSchema(
        columns=[dg.TableColumn(c, t) for c, t in (("file", "string"), ("sha256", "string"), ("format", "string"), ("encoding", "string"), ("rows_read", "int"))]
    )
    return dg.AssetObservation(
        asset_key=["landing", name],
        description=f"{name}：{len(entries)} 个文件，其中 {cached} 个与上次读取时相同（未重读）" if present else f"{name}：落地区中没有此可选数据源",
        metadata={
            "files": dg.MetadataValue.table(records, schema=schema),
            "file_count": dg.MetadataValue.int(len(entries)),
            "rows_read": dg.MetadataValue.int(sum(int(e["rows_read"]) for e in entries)),
            "unchanged_files": dg.MetadataValue.int(cached),
            "present": dg.MetadataValue.bool(present),
        },
        tags={"dagster/data_version": data_version(entries)},
    )


defs = dg.Definitions(assets=LANDING)
