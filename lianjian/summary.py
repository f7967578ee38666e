"""The short summary `lianjian run` prints: first what happened to this run and which published version
is live, then that version's rows read and rejected, grades per level, triggers, what is missing.

Every number after the first lines belongs to the published version (its manifest and tables), never
to this run's intermediate files: after a failed run the previous version stays live, and mixing this
run's rejected rows with that version's grades would describe data nobody can look at
(docs/operations.md, "运行失败时显示什么").
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from zoneinfo import ZoneInfo

import polars as pl

from lianjian.contract import ENUMS, SOURCES
from lianjian.publish.publish import published_files, read_manifest, read_published
from pipelines.partitions import TIMEZONE

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


def live_manifest(warehouse: Path) -> dict | None:
    """The manifest of the version ``published`` points to (None: nothing published, or unreadable)."""
    try:
        return read_manifest(Path(warehouse))
    except (OSError, ValueError):
        return None


def _when(manifest: dict) -> str:
    when = str(manifest.get("time") or "")
    try:
        return dt.datetime.fromisoformat(when).astimezone(ZoneInfo(TIMEZONE)).strftime("%Y-%m-%d %H:%M:%S") + "（北京时间）"
    except ValueError:
        return when or "时间不详"


def version_text(manifest: dict) -> str:
    """``run 1a2b3c4d，发布于 2026-12-05 02:03:04（北京时间）`` for a published version."""
    return f"run {str(manifest.get('run_id') or '?')[:8]}，发布于 {_when(manifest)}"


def published_by(manifest: dict | None, run_ids: list[str]) -> bool:
    """Whether the live version was published by one of these Dagster runs."""
    return manifest is not None and manifest.get("run_id") in set(run_ids)


def outcome_lines(outcome, warehouse: Path) -> list[str]:
    """The first lines: whether this run succeeded, whether its data is published and, when it is
    not, which version stays live; then the checks this run failed (labelled as this run's)."""
    live = live_manifest(warehouse)
    ours = published_by(live, list(outcome.run_ids) or [outcome.run_id])
    head = f"run {outcome.run_id[:8]}，{outcome.seconds:.1f} 秒"
    checks = [
        f"  本次运行未通过的检查：{c['name']}（{c['asset']}，{c['severity']}）不符 {c['unexpected_count']} 处"
        for c in outcome.failed_checks
    ]
    if outcome.success:
        return [f"廉检运行完成（{head}）" + (f"：已发布新版本（发布于 {_when(live)}）" if ours else ""), *checks]
    if ours:
        return [f"廉检运行失败（{head}）：数据已发布（新版本 {version_text(live)}），但年度报告未写完 — 原因见最后一行", *checks]
    lines = [f"廉检运行失败（{head}）：本次结果未发布，已发布的数据未改动。", *checks]
    if live is not None:
        lines.append(f"  仍在使用的发布版本：{version_text(live)} — 以下数字均属该版本，不是本次运行的：")
    else:
        lines.append("  尚无发布版本（published/ 为空）。")
    return lines


def failure_line(outcome, warehouse: Path) -> str:
    """The last line after a failed run (stderr). When this run had already published its data, it
    says so — the data is live, what failed came after (the yearly reports)."""
    reason = outcome.failure or "运行失败，详见上方进度"
    live = live_manifest(warehouse)
    if published_by(live, list(outcome.run_ids) or [outcome.run_id]):
        return (
            f"新版本数据已发布（{version_text(live)}），年度报告未写完（{reason}）"
            f" — 排除原因（如释放磁盘空间）后重新运行 lianjian run，会补写缺少的报告（{Path(warehouse) / 'reports'}）"
        )
    return reason


def summary_lines(warehouse: Path) -> list[str]:
    """The published version's numbers: rows read / rejected / duplicate from its manifest (the same
    rows as its ``rejected_records``), grades of its last year, triggers."""
    lines: list[str] = []
    manifest = live_manifest(warehouse)
    if manifest is None:
        return lines
    inputs = manifest.get("inputs") or []
    if inputs:
        rep = pl.DataFrame(
            {k: [i.get(k) for i in inputs] for k in ("source", "rows_read", "rows_rejected", "rows_duplicate")},
            schema={"source": pl.String, "rows_read": pl.Int64, "rows_rejected": pl.Int64, "rows_duplicate": pl.Int64},
        )
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
