"""``published/_dictionary.json``: every published table, column and code with its Chinese name and
meaning, generated from the contract declaration (nothing is written here by hand), plus a lineage
section that makes column lineage readable without Dagster+ (docs/contract.md). The grades are
described with the thresholds of the rules file the results were computed with, year by year where
the file overrides them (docs/rules.md, "Grades").
"""

from __future__ import annotations

import json

from lianjian.contract import ENUMS, PUBLISHED, SOURCES
from lianjian.publish.layers import CONTRACT_LAYER, LAYER
from lianjian.publish.lineage import direct_refs, staged_refs
from lianjian.rules_config import Grades, Rules

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

#: Without a rules file (a dictionary built on its own): the levels in words.
GRADES_IN_WORDS = {
    "好": "总分不低于规则文件 grades.good",
    "较好": "总分不低于 grades.fairly_good 且低于 grades.good",
    "一般": "总分不低于 grades.average 且低于 grades.fairly_good",
    "较差": "总分低于 grades.average，或一票否决",
}


def _levels(g: Grades) -> dict[str, str]:
    good, fairly, average = (f"{v:g}" for v in (g.good, g.fairly_good, g.average))
    return {
        "好": f"总分 ≥ {good}",
        "较好": f"{fairly} ≤ 总分 < {good}",
        "一般": f"{average} ≤ 总分 < {fairly}",
        "较差": f"总分 < {average}，或一票否决",
    }


def grade_meanings(rules: Rules | None) -> dict[str, str]:
    """Each grade level (好/较好/一般/较差) with the thresholds of ``rules`` (the score as written, to 2
    decimals); a year whose override changes them is named with its own."""
    if rules is None:
        return dict(GRADES_IN_WORDS)
    base = rules.settings().grades
    out = _levels(base)
    for year in sorted(rules.overrides):
        g = rules.settings(year).grades
        if g != base:
            for level, text in _levels(g).items():
                out[level] += f"；{year} 年：{text}"
    return out


def _enum(name: str) -> dict[str, str]:
    e = ENUMS[name]
    return {code: e.label(code) for code in e.codes}


def build_dictionary(rules: Rules | None = None) -> dict:
    """The dictionary as a JSON-ready dict (deterministic: declaration order); ``rules``: the rules
    file the published results were computed with (its grade thresholds describe the grades)."""
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
                "empty": c.empty,  # what an empty value means; None: never empty
            }
            if c.enum is not None:
                col["enum"] = c.enum.name
                col["codes"] = _enum(c.enum.name)
                enums_used.add(c.enum.name)
            if c.name == "grade":
                col["codes"] = grade_meanings(rules)
                if rules is not None:
                    col["thresholds_from"] = f"规则文件版本 {rules.version}"
            if t.yearly and c.name == "year":
                col["partition"] = "分区列：只在目录名 year=<YYYY> 中，不在文件内；按 hive 分区读取时为整数"
            cols.append(col)
            lineage[f"{name}.{c.name}"] = {"direct": direct_refs(name, c.name), "staged": staged_refs(name, c.name)}
        path = f"published/{name}/year=<YYYY>/*.parquet" if t.yearly else f"published/{name}/*.parquet"
        tables[name] = {
            "zh": t.zh,
            "meaning": t.note,
            "rule": t.rule,
            "yearly": t.yearly,
            "computed_in": "lianjian/contract/published.yaml" if LAYER[name] == CONTRACT_LAYER else f"{LAYER[name]}/{name}",
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
            "duckdb_database": "duckdb lianjian.duckdb（仓库目录下，每张发布表一个带中文注释的视图）: SELECT * FROM <table>",
            "pyarrow": "pyarrow.parquet.read_table('published/<table>') 或 pyarrow.dataset.dataset('published/<table>', partitioning='hive')",
            "polars": "polars.scan_parquet('published/<table>/**/*.parquet', hive_partitioning=True)",
            "pandas": "pandas.read_parquet('published/<table>')（year 为整数的分类列 categorical）",
        },
        "partitioning": "按年度的表为 hive 分区：published/<table>/year=<YYYY>/*.parquet，year 只在目录名中，不在文件内。"
        " Yearly tables are hive-partitioned: year lives in the folder names only.",
        "empty_values": "空值只有一种写法：文本、数字、日期为 null（不会是空字符串），列表为空列表（不会是 null）；"
        "每列的 empty 说明为空表示什么，为 null 的列不会为空。"
        " One spelling of empty: null for scalars (never ''), the empty list for lists (never null); each column's"
        " `empty` says what it means (null: the column is never empty).",
        "tables": tables,
        "enums": {name: _enum(name) for name in sorted(enums_used)},
        "lineage": lineage,
        "staged_sources": sources,
    }


def dictionary_bytes(rules: Rules | None = None) -> bytes:
    return (json.dumps(build_dictionary(rules), ensure_ascii=False, indent=2) + "\n").encode("utf-8")
def restricted_dictionary() -> dict:
    """``restricted/_dictionary.json``: the restricted outputs (R10 review leads) described for the
    operator, apart from the BI dictionary, which never names them (docs/contract.md "What it publishes")."""
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
