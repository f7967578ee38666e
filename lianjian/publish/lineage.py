"""Column lineage, from the ``lineage`` lists of ``lianjian/contract/published.yaml``.

A column's lineage names what it is computed from: a staged column (``reviews.score``), a column of
another computed table (``talk_obligations.fulfilled``), of an internal one (``integrity_evidence.value``)
or of the same table (``integrity_assessment.total_score``). Followed down, it gives every staged
column the value depends on — what it is computed from, and what selects and matches the records it
reads (docs/contract.md, "Column lineage").

The same declaration is shown three ways: ``lianjian lineage TABLE.COLUMN``, the lineage section of
``published/_dictionary.json``, and the ``dagster/column_lineage`` metadata of every derived, assessed
and published asset (open-source Dagster stores it; only Dagster+ draws it). An asset's metadata names
columns of its own inputs only: a reference to a column of the same asset, or of another output of the
same step, is followed until it reaches one, and a reference that reaches a staged table the asset
does not read is an error in the declaration.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable

from lianjian.contract import INTERNAL, PUBLISHED, RESTRICTED, SOURCES, PublishedTable
from lianjian.publish.layers import LAYER, ref_key, upstream_key

#: Every computed table whose columns a lineage reference may name.
TABLES: dict[str, PublishedTable] = PUBLISHED | RESTRICTED | INTERNAL


def direct_refs(table: str, column: str) -> list[str]:
    """The declared ``lineage`` of one column of a published or internal table."""
    t = TABLES[table]
    return list(t.columns[t.column_names.index(column)].lineage)


def _follow(table: str, column: str, keep) -> list[str]:
    """The references reached from one column, following every reference ``keep`` rejects down to
    its own lineage; sorted, without duplicates. KeyError for a reference to an unknown column."""
    out: set[str] = set()
    seen: set[str] = set()
    todo = direct_refs(table, column)
    while todo:
        ref = todo.pop()
        if ref in seen:
            continue
        seen.add(ref)
        name, col = ref.split(".", 1)
        if keep(ref):
            out.add(ref)
        elif name in TABLES and col in TABLES[name].column_names:
            todo.extend(direct_refs(name, col))
        elif name not in SOURCES or col not in SOURCES[name].column_names:
            raise KeyError(f"{table}.{column}: unknown lineage reference {ref}")
    return sorted(out)


def staged_refs(table: str, column: str) -> list[str]:
    """Every staged column ``<source>.<column>`` the column depends on, transitively; sorted."""
    return _follow(table, column, lambda ref: ref.split(".", 1)[0] in SOURCES)


def asset_refs(table: str, column: str, upstream: Iterable[tuple[str, str]]) -> list[str]:
    """The column's lineage as columns of the asset's inputs ``upstream`` (asset key paths): other
    references (the same asset, another output of the same step) are followed down to them.
    ValueError when a reference reaches a staged table that is not an input."""
    inputs = {tuple(k) for k in upstream}

    def keep(ref: str) -> bool:
        key, _ = ref_key(ref)
        if key in inputs:
            return True
        if key[0] == "staged":
            raise ValueError(f"{table}.{column} reads {ref}, but {'/'.join(key)} is not an input of its asset")
        return False

    return _follow(table, column, keep)


def describe_ref(ref: str) -> str:
    """``reviews.score`` -> ``staged/reviews.score（廉洁从检评估评分 · 评分）``."""
    (layer, name), col = ref_key(ref)
    if name in SOURCES:
        src = SOURCES[name]
        zh_t, zh_c = src.zh, src.column(col).zh
    else:
        t = TABLES[name]
        zh_t = t.zh
        zh_c = t.columns[t.column_names.index(col)].zh
    return f"{layer}/{name}.{col}（{zh_t} · {zh_c}）"


def _columns_of(key: tuple[str, str]) -> set[str]:
    """The columns of an upstream asset: a staged source's (the dimension tables add columns of
    their own to ``staged/units``) or a computed table's, as declared."""
    layer, name = key
    if layer == "staged" and name in SOURCES:
        return set(SOURCES[name].staged_schema())
    return set(TABLES[name].column_names) if name in TABLES else set()


def dagster_column_lineage(
    table: str, *, upstream: Iterable[tuple[str, str]] | None = None, through_upstream: bool = False
):
    """``dg.TableColumnLineage`` of one table's asset: each column -> the columns of ``upstream``
    (the asset's inputs, for a derived or assessed asset) it is computed from; with
    ``through_upstream`` (a published asset, a copy of its computing asset) -> the same column of
    that asset, then every staged column it depends on (a dimension table copies some staged
    columns and adds its own; ``codes`` is written from the contract and has no upstream asset).
    Columns without lineage are left out (Dagster shows them as having none)."""
    import dagster as dg

    deps_by_column: dict[str, list] = {}
    up = upstream_key(table) if through_upstream else None
    up_columns = _columns_of(up) if up is not None else set()
    for col in TABLES[table].column_names:
        deps = []
        if through_upstream:
            if col in up_columns:
                deps.append(dg.TableColumnDep(asset_key=dg.AssetKey(list(up)), column_name=col))
            refs = staged_refs(table, col)
        else:
            refs = asset_refs(table, col, upstream or ())
        for ref in refs:
            key, c = ref_key(ref)
            if not (through_upstream and key == up and c == col):  # a dimension copies staged columns
                deps.append(dg.TableColumnDep(asset_key=dg.AssetKey(list(key)), column_name=c))
        if deps:
            deps_by_column[col] = deps
    return dg.TableColumnLineage(deps_by_column=deps_by_column)


def no_lineage_text(table: str) -> str:
    """What a column without staged lineage comes from, in words."""
    if LAYER.get(table) == "staged":
        return "来源：落地文件中被拒收的行（不经暂存表）"
    return "来源：无暂存层列 — 由规则或规则文件确定（例如规则版本、触发类型）"


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
        roots = staged_refs(table, col)
        if direct:
            lines.append("  直接来源：")
            lines.extend(f"    {describe_ref(r)}" for r in direct)
        if roots:
            lines.append("  追溯到暂存层：")
            lines.extend(f"    {describe_ref(r)}" for r in roots)
        else:
            lines.append(f"  {no_lineage_text(table)}")
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
