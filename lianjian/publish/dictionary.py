"""``published/_dictionary.json``: every published table, column and code with its Chinese name and
meaning, generated from the contract declaration (nothing is written here by hand), plus a lineage
section that makes column lineage readable without Dagster+.
"""

from __future__ import annotations

import json

from lianjian.contract import ENUMS, PUBLISHED, SOURCES
from lianjian.publish.layers import LAYER
from lianjian.publish.lineage import direct_refs, staged_refs

#: Contract type -> (Parquet/Arrow type as written, DuckDB type as read) — what a BI user sees.
TYPES: dict[str, tuple[str, str, str]] = {
    "str": ("文本", "large_string", "VARCHAR"),
    "int": ("整数", "int64", "BIGINT"),
    "dec": ("小数", "double", "DOUBLE"),
    "date": ("日期", "date32", "DATE"),
    "bool": ("是/否", "bool", "BOOLEAN"),
    "list[str]": ("文本列表", "large_list<large_string>", "VARCHAR[]"),
    "enum": ("代码（英文）", "large_string", "VARCHAR"),
}

GRADES = {"好": "总分 ≥ 好 的阈值（默认 90）", "较好": "≥ 较好 的阈值（默认 80）", "一般": "≥ 一般 的阈值（默认 60）", "较差": "低于一般阈值，或一票否决"}


def _enum(name: str) -> dict[str, str]:
    e = ENUMS[name]
    return {code: e.label(code) for code in e.codes}


def build_dictionary() -> dict:
    """The dictionary as a JSON-ready dict (deterministic: declaration order)."""
    tables = {}
    lineage = {}
    enums_used: set[str] = set()
    for name, t in PUBLISHED.items():
        cols = []
        for c in t.columns:
            zh_type, arrow, duck = TYPES[c.kind]
            col = {
                "name": c.name,
                "zh": c.zh,
                "type": c.kind,
                "type_zh": zh_type,
                "parquet_type": arrow,
                "duckdb_type": duck,
                "meaning": c.note,
                "key": c.name in t.key,
            }
            if c.enum is not None:
                col["enum"] = c.enum.name
                col["codes"] = _enum(c.enum.name)
                enums_used.add(c.enum.name)
            if c.name == "grade":
                col["codes"] = GRADES
            cols.append(col)
            if c.lineage:
                lineage[f"{name}.{c.name}"] = {"direct": direct_refs(name, c.name), "staged": staged_refs(name, c.name)}
        path = f"published/{name}/year=<YYYY>/*.parquet" if t.yearly else f"published/{name}/*.parquet"
        tables[name] = {
            "zh": t.zh,
            "meaning": t.note,
            "rule": t.rule,
            "yearly": t.yearly,
            "computed_in": f"{LAYER[name]}/{name}",
            "path": path,
            "key": list(t.key),
            "columns": cols,
        }
    sources = {
        name: {
            "zh": s.zh,
            "columns": {c.name: c.zh for c in s.columns if not c.personal},
        }
        for name, s in SOURCES.items()
    }
    return {
        "about": "廉检发布数据字典：每张发布表、每一列及每个代码的中文名称与含义；lineage 说明每列来自哪些暂存层（staged）列。"
        " Data dictionary of lianjian's published tables, generated from the contract declaration.",
        "read_with": {
            "duckdb": "SELECT * FROM read_parquet('published/<table>/**/*.parquet', hive_partitioning=true)",
            "pyarrow": "pyarrow.dataset.dataset('published/<table>', format='parquet')",
            "polars": "polars.scan_parquet('published/<table>/**/*.parquet', hive_partitioning=True)",
        },
        "tables": tables,
        "enums": {name: _enum(name) for name in sorted(enums_used)},
        "lineage": lineage,
        "staged_sources": sources,
    }


def dictionary_bytes() -> bytes:
    return (json.dumps(build_dictionary(), ensure_ascii=False, indent=2) + "\n").encode("utf-8")


def restricted_dictionary() -> dict:
    """``restricted/_dictionary.json``: the restricted outputs (R10 review leads) described for the
    operator, apart from the BI dictionary, which never names them (CONTRACT.md §3)."""
    from lianjian.contract import RESTRICTED

    tables = {}
    for name, t in RESTRICTED.items():
        cols = []
        for c in t.columns:
            zh_type, arrow, duck = TYPES[c.kind]
            cols.append({"name": c.name, "zh": c.zh, "type": c.kind, "type_zh": zh_type, "parquet_type": arrow,
                         "duckdb_type": duck, "meaning": c.note, "key": c.name in t.key})
        tables[name] = {"zh": t.zh, "meaning": t.note, "rule": t.rule, "yearly": t.yearly,
                        "path": f"restricted/{name}/year=<YYYY>/*.parquet" if t.yearly else f"restricted/{name}/*.parquet",
                        "key": list(t.key), "columns": cols}
    return {
        "about": "廉检受限输出：仅供运行本系统的账户查阅（文件 0600，目录 0700），不进入 published/、BI 数据字典、报告或 DuckDB 视图。"
        " Restricted outputs of lianjian: for the operator only, never where BI users read.",
        "tables": tables,
        "enums": {"lead_reason": _enum("lead_reason")},
    }


def restricted_dictionary_bytes() -> bytes:
    return (json.dumps(restricted_dictionary(), ensure_ascii=False, indent=2) + "\n").encode("utf-8")
