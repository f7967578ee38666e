"""Column lineage, from the ``lineage`` lists of ``lianjian/contract/published.yaml``.

Open-source Dagster stores ``dagster/column_lineage`` but only Dagster+ draws it, so the same facts
are made readable here: ``lianjian lineage TABLE.COLUMN`` and the lineage section of
``published/_dictionary.json``. A reference names a staged source column (``reviews.score``) or a
column of another computed table (``talk_obligations.fulfilled``), which is followed down to the
staged columns it comes from.
"""

from __future__ import annotations

import sys

from lianjian.contract import PUBLISHED, SOURCES
from lianjian.publish.layers import ref_key, upstream_key


def direct_refs(table: str, column: str) -> list[str]:
    """The declared ``lineage`` of one published column (``<source>.<column>`` strings)."""
    return list(PUBLISHED[table].columns[PUBLISHED[table].column_names.index(column)].lineage)


def staged_refs(table: str, column: str) -> list[str]:
    """Every staged column ``<source>.<column>`` the published column comes from, following computed
    tables down to the staged sources; sorted, without duplicates."""
    out: set[str] = set()
    seen: set[str] = set()
    todo = direct_refs(table, column)
    while todo:
        ref = todo.pop()
        if ref in seen:
            continue
        seen.add(ref)
        name, col = ref.split(".", 1)
        if name in SOURCES:
            out.add(ref)
        elif name in PUBLISHED and col in PUBLISHED[name].column_names:
            todo.extend(direct_refs(name, col))
    return sorted(out)


def describe_ref(ref: str) -> str:
    """``reviews.score`` -> ``staged/reviews.score（廉洁从检评估评分 · 评分）``."""
    (layer, name), col = ref_key(ref)
    if name in SOURCES:
        src = SOURCES[name]
        zh_t, zh_c = src.zh, src.column(col).zh
    else:
        t = PUBLISHED[name]
        zh_t = t.zh
        zh_c = t.columns[t.column_names.index(col)].zh
    return f"{layer}/{name}.{col}（{zh_t} · {zh_c}）"


def _columns_of(key: tuple[str, str]) -> set[str]:
    """The columns of an upstream asset: a staged source's (the dimension tables add columns of
    their own to ``staged/units``) or a computed table's, as declared."""
    layer, name = key
    if layer == "staged" and name in SOURCES:
        return set(SOURCES[name].staged_schema())
    return set(PUBLISHED[name].column_names) if name in PUBLISHED else set()


def dagster_column_lineage(table: str, *, direct: bool = False, through_upstream: bool = False):
    """``dg.TableColumnLineage`` of one table: each column -> the staged columns it comes from
    (``direct``: the declared references as they are, derived tables included; ``through_upstream``:
    also the same column of the asset a published table is copied from). Columns without declared
    lineage are left out (Dagster shows them as having none). For the assessed assets:
    ``metadata={"dagster/column_lineage": dagster_column_lineage("integrity_assessment")}``."""
    import dagster as dg

    deps_by_column: dict[str, list] = {}
    up = upstream_key(table)
    up_columns = _columns_of(up) if up is not None else set()
    for col in PUBLISHED[table].column_names:
        deps = []
        if through_upstream and col in up_columns:
            deps.append(dg.TableColumnDep(asset_key=dg.AssetKey(list(up)), column_name=col))
        for ref in direct_refs(table, col) if direct else staged_refs(table, col):
            key, c = ref_key(ref)
            if not (through_upstream and key == up and c == col):  # a dimension copies staged columns
                deps.append(dg.TableColumnDep(asset_key=dg.AssetKey(list(key)), column_name=c))
        if deps:
            deps_by_column[col] = deps
    return dg.TableColumnLineage(deps_by_column=deps_by_column)


def lineage_lines(target: str) -> list[str]:
    """Readable lineage of ``TABLE`` (every column) or ``TABLE.COLUMN``. KeyError when unknown."""
    table, _, column = target.partition(".")
    if table not in PUBLISHED:
        raise KeyError(table)
    t = PUBLISHED[table]
    if column and column not in t.column_names:
        raise KeyError(target)
    columns = [column] if column else t.column_names
    lines = [f"{table}（{t.zh}）：{t.note}" if t.note else f"{table}（{t.zh}）"]
    for col in columns:
        c = t.columns[t.column_names.index(col)]
        lines.append(f"{table}.{col}（{c.zh}）")
        direct = direct_refs(table, col)
        if not direct:
            lines.append("  来源：无（由规则或运行生成，例如规则版本、依据条款）")
            continue
        lines.append("  直接来源：")
        lines.extend(f"    {describe_ref(r)}" for r in direct)
        roots = staged_refs(table, col)
        if roots != sorted(direct):
            lines.append("  追溯到暂存层：")
            lines.extend(f"    {describe_ref(r)}" for r in roots)
    return lines


def lineage_command(target: str) -> int:
    """``lianjian lineage TABLE.COLUMN``: print where a published column comes from. Exit
    ``EXIT_NOT_FOUND`` (3, as every command) when the table or column is unknown."""
    from lianjian.errors import EXIT_NOT_FOUND

    try:
        lines = lineage_lines(target)
    except KeyError:
        known = "、".join(PUBLISHED)
        print(f"未知的发布表或列：{target}（可用的表：{known}）— 请写成 表名.列名，例如 integrity_assessment.grade", file=sys.stderr)
        return EXIT_NOT_FOUND
    print("\n".join(lines))
    return 0
