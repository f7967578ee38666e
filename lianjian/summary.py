"""The short summary `lianjian run` prints: rows read and rejected, grades per level, triggers, what
is missing. Reads only the warehouse (staged ingest report and published tables)."""

from __future__ import annotations

from pathlib import Path

import polars as pl

from lianjian.contract import ENUMS, SOURCES
from lianjian.publish.publish import published_files, read_published

GRADES = [ENUMS["grade"].label(c) for c in ENUMS["grade"].codes]


def _published(warehouse: Path, table: str) -> pl.DataFrame | None:
    """A published table as BI tools read it (hive partitioning on), None when it has no file."""
    if not published_files(warehouse, table):
        return None
    return read_published(warehouse, table).collect()


def _grade_line(df: pl.DataFrame | None, label: str) -> str | None:
    if df is None or df.is_empty():
        return f"  {label}：无结果"
    counts = dict(df.group_by("grade").len().iter_rows())
    parts = "，".join(f"{g} {counts.get(g, 0)}" for g in GRADES)
    ungraded = counts.get(None, 0)
    return f"  {label}：{parts}" + (f"，未评定 {ungraded}" if ungraded else "")


def summary_lines(warehouse: Path) -> list[str]:
    lines: list[str] = []
    report = warehouse / "staged" / "ingest_report.parquet"
    if report.exists():
        rep = pl.read_parquet(report)
        by = rep.group_by("source").agg(pl.col("rows_read", "rows_rejected", "rows_duplicate").sum())
        totals = by.select(pl.col("rows_read", "rows_rejected", "rows_duplicate").sum()).row(0)
        lines.append(f"  读取 {totals[0]:,} 行，拒收 {totals[1]:,} 行，重复 {totals[2]:,} 行（拒收明细见 published/rejected_records）")
        present = set(by.get_column("source").to_list())
        for row in by.sort("source").iter_rows(named=True):
            if row["rows_rejected"]:
                lines.append(f"    {row['source']}（{SOURCES[row['source']].zh}）：拒收 {row['rows_rejected']:,} / {row['rows_read']:,}")
        absent = [f"{n}（{s.zh}）" for n, s in SOURCES.items() if not s.required and n not in present]
        if absent:
            lines.append(f"  缺少可选数据源，相关输出为空：{'、'.join(absent)}")
    integ = _published(warehouse, "integrity_assessment")
    resp = _published(warehouse, "responsibility_assessment")
    for label, df in (("廉洁从检评估", integ), ("党风廉政考核", resp)):
        if df is not None and not df.is_empty():
            for year in sorted(df.get_column("year").unique().to_list())[-1:]:
                lines.append(_grade_line(df.filter(pl.col("year") == year), f"{label}（{year} 年）"))
        else:
            lines.append(_grade_line(df, label))
    trig = _published(warehouse, "accountability_triggers")
    if trig is not None and not trig.is_empty():
        labels = ENUMS["trigger_type"]
        counts = dict(trig.group_by("trigger_type").len().iter_rows())
        lines.append("  问责触发：" + "，".join(f"{labels.label(c)} {counts.get(c, 0)}" for c in labels.codes))
    else:
        lines.append("  问责触发：无")
    return lines
