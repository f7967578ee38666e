"""``lianjian whatif --rules CANDIDATE.yaml [--years 2024-2025]``: what a candidate rules file would
change, before anyone adopts it.

The candidate is applied to the staged data of the warehouse (no landing pass) in a scratch
warehouse (``.whatif/run-<pid>/``, 0700, removed afterwards) whose ``staged/`` is a link to the real
one: the same Dagster assets as a run — R1 talk obligations, the R2 and R3 assessments (with their
evidence rows, computed in the same steps) and R4 triggers, nothing else — are materialized there
with the candidate. ``published/`` and ``restricted/`` are never
written. R4 looks back (a streak of 较差, a violation the year before), so the years before those
asked are computed too, from the first staged year; only the years asked are compared.

The comparison is against the published version (what the current rules gave), table by table,
after the same preparation as publishing (``lianjian.publish.publish.prepare``), so the what-if of
a candidate is exactly the difference between a run with the current rules and a run with the
candidate. Written under ``whatif/<candidate>-<sha256[:8]>/`` (or ``--out``):

    subjects.parquet     every subject whose score, grade, status, veto or triggers change: old and new
                         values and the components that moved
    components.parquet   each moved component: old and new value
    grade_moves.parquet  moves between grades (old → new, counted), per unit and in all
    triggers.parquet     accountability triggers that appear or disappear
    index.html           the same with charts, and the summary printed on the terminal
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path

import polars as pl

from lianjian.contract import ENUMS, PUBLISHED
from lianjian.errors import FatalError
from lianjian.files import make_private, private_mkdir, write_private
from lianjian.publish.publish import prepare, read_manifest, read_published
from lianjian.report.fmt import GRADES, UNGRADED
from lianjian.report.html import CSS, chart_svg, e, table_html, utf8
from lianjian.report.model import Chart
from lianjian.rules_config import Rules, load_rules

#: The assets a what-if materializes (what the compared tables need), as asset key paths. R2 and R3
#: each compute their table and its evidence rows in one step: both outputs are selected together.
ASSETS: tuple[tuple[str, str], ...] = (
    ("derived", "talk_obligations"),
    ("assessed", "integrity_assessment"),
    ("assessed", "integrity_evidence"),
    ("assessed", "responsibility_assessment"),
    ("assessed", "responsibility_evidence"),
    ("assessed", "accountability_triggers"),
)
COMPARED = ("integrity_assessment", "responsibility_assessment", "accountability_triggers")
SCRATCH = ".whatif"
OUT = "whatif"

#: Per assessment: its table, the subject columns and the components compared (besides total,
#: grade, status and veto).
SUBJECTS = {
    "integrity": (
        "integrity_assessment",
        {"subject_kind": pl.lit("person"), "subject_id": pl.col("person_id"), "subject_name": pl.col("name")},
        ("self_score", "peer_score", "department_score", "review_score", "deduction_talks", "deduction_cases", "deduction_violations"),
    ),
    "responsibility": (
        "responsibility_assessment",
        {"subject_kind": pl.col("subject_kind"), "subject_id": pl.col("subject_id"), "subject_name": pl.col("subject_name")},
        ("duty_score", "vote_score", "deduction_scope"),
    ),
}
OUTCOME = ("total_score", "grade", "status", "veto")
KEY = ["year", "assessment", "subject_kind", "subject_id"]


@dataclass(frozen=True)
class WhatIf:
    out: Path
    tables: dict[str, pl.DataFrame]
    summary: list[str]


# --------------------------------------------------------------------------------------------------
# Computing with the candidate


def _first_error(result) -> str:
    for ev in result.all_events:
        if ev.event_type_value == "STEP_FAILURE":
            err = ev.event_specific_data.error
            while getattr(err, "cause", None) is not None:
                err = err.cause
            lines = (err.message or "").strip().splitlines()
            return f"{ev.step_key}: {lines[-1] if lines else err.cls_name}"
    return "运行失败"


def candidate_tables(warehouse: Path, candidate: Path, first: int, last: int) -> dict[str, pl.DataFrame]:
    """The compared tables as a run with ``candidate`` computes them for ``first``..``last``,
    prepared as publishing prepares them (all those years; the caller keeps the ones asked).

    The assets run in the second job of a pipeline run (``lianjian_assess``), pinned to the scratch
    warehouse and the candidate by run configuration (the one settings resource,
    pipelines/resources.py), never through the environment. The warehouse's lock is held meanwhile
    (lianjian/lock.py), so no run replaces the staged data while it is read."""
    import dagster as dg

    from lianjian.lock import warehouse_lock
    from pipelines.definitions import defs
    from pipelines.partitions import range_tags
    from pipelines.resources import LianjianSettings
    from pipelines.runs import ASSESS_JOB

    def waiting(message: str) -> None:
        print(f"lianjian: {message}", file=sys.stderr, flush=True)

    with warehouse_lock(warehouse, landing=f"规则试算 {candidate}", on_wait=waiting):
        scratch_root = private_mkdir(warehouse / SCRATCH)
        scratch = scratch_root / f"run-{os.getpid()}"
        shutil.rmtree(scratch, ignore_errors=True)
        private_mkdir(scratch)
        try:
            os.symlink(warehouse / "staged", scratch / "staged", target_is_directory=True)
            settings = LianjianSettings.resolve(warehouse=scratch, rules=candidate)
            result = defs.resolve_job_def(ASSESS_JOB).execute_in_process(
                instance=dg.DagsterInstance.ephemeral(),
                raise_on_error=False,
                asset_selection=[dg.AssetKey(list(k)) for k in ASSETS],
                tags=range_tags(str(first), str(last)),
                run_config={**settings.run_config(), "loggers": {"console": {"config": {"log_level": "ERROR"}}}},
            )
            if not result.success:
                raise FatalError(f"规则试算失败：{_first_error(result)} — 请检查候选规则文件 {candidate}")
            out = {}
            for table in COMPARED:
                folder = scratch / "assessed" / table
                files = sorted(folder.glob("*.parquet")) if folder.is_dir() else [scratch / "assessed" / f"{table}.parquet"]
                frame = pl.read_parquet(files) if files else PUBLISHED[table].empty()
                out[table] = prepare(table, frame)
            return out
        finally:
            shutil.rmtree(scratch, ignore_errors=True)
            try:
                scratch_root.rmdir()  # when no other what-if is running
            except OSError:
                pass


# --------------------------------------------------------------------------------------------------
# Comparing


def _trigger_label() -> pl.Expr:
    """A trigger as one text: type, streak and evidence (what makes two trigger rows the same)."""
    streak = pl.when(pl.col("streak_years").is_not_null()).then(
        pl.concat_str([pl.lit("×"), pl.col("streak_years").cast(pl.String)])
    ).otherwise(pl.lit(""))
    ids = pl.col("evidence").list.join(",").fill_null("")
    return pl.concat_str([pl.col("trigger_type"), streak, pl.lit("("), ids, pl.lit(")")])


def _row_text(cols: list[str]) -> pl.Expr:
    """A whole row as one text (lists joined, nulls marked), to compare rows that hold lists."""
    parts = []
    for c in cols:
        col = pl.col(c)
        text = col.list.join(",") if c == "evidence" else col.cast(pl.String)
        parts.append(text.fill_null("\x00"))
    return pl.concat_str(parts, separator="\x1f")


def subject_frame(tables: dict[str, pl.DataFrame]) -> pl.DataFrame:
    """One row per assessed subject or trigger subject: KEY, unit_code, subject_name, every
    component, the outcome and ``triggers`` (sorted labels)."""
    comps = sorted({c for _, _, cs in SUBJECTS.values() for c in cs})
    parts = []
    for assessment, (table, ids, components) in SUBJECTS.items():
        t = tables[table]
        parts.append(
            t.select(
                "year",
                pl.lit(assessment).alias("assessment"),
                *[v.cast(pl.String).alias(k) for k, v in ids.items()],
                "unit_code",
                *[pl.col(c).cast(pl.Float64) if c in components else pl.lit(None, pl.Float64).alias(c) for c in comps],
                *OUTCOME,
            )
        )
    subjects = pl.concat(parts, how="vertical")
    trig = tables["accountability_triggers"]
    per = (
        trig.with_columns(_trigger_label().alias("_label"))
        .group_by("year", "assessment", "subject_kind", "subject_id")
        .agg(pl.col("_label").sort().alias("triggers"), pl.first("unit_code").alias("_t_unit"), pl.first("subject_name").alias("_t_name"))
    )
    return (
        subjects.join(per, on=KEY, how="full", coalesce=True)
        .with_columns(
            pl.coalesce("unit_code", "_t_unit").alias("unit_code"),
            pl.coalesce("subject_name", "_t_name").alias("subject_name"),
            pl.col("triggers").fill_null(pl.lit([], pl.List(pl.String))),
        )
        .drop("_t_unit", "_t_name")
    )


def compare(old: dict[str, pl.DataFrame], new: dict[str, pl.DataFrame], years: list[int]) -> dict[str, pl.DataFrame]:
    """The four result tables of a what-if (see the module docstring), for ``years``."""
    keep = {t: f.filter(pl.col("year").is_in(years)) for t, f in old.items()}
    keep_new = {t: f.filter(pl.col("year").is_in(years)) for t, f in new.items()}
    a, b = subject_frame(keep), subject_frame(keep_new)
    comps = sorted({c for _, _, cs in SUBJECTS.values() for c in cs})
    both = a.join(b, on=KEY, how="full", coalesce=True, suffix="_new")
    moved = [pl.when(pl.col(c).ne_missing(pl.col(f"{c}_new"))).then(pl.lit(c)) for c in comps + ["veto"]]
    changed = pl.any_horizontal(
        *[pl.col(c).ne_missing(pl.col(f"{c}_new")) for c in comps + list(OUTCOME)],
        pl.col("triggers").fill_null(pl.lit([], pl.List(pl.String))).ne_missing(
            pl.col("triggers_new").fill_null(pl.lit([], pl.List(pl.String)))
        ),
    )
    diff = both.filter(changed).with_columns(
        pl.concat_list(moved).list.drop_nulls().alias("components_moved"),
        pl.coalesce("unit_code", "unit_code_new").alias("unit_code"),
        pl.coalesce("subject_name", "subject_name_new").alias("subject_name"),
    )
    subjects = diff.sort(KEY).select(
        *KEY,
        "unit_code",
        "subject_name",
        pl.col("total_score").alias("old_total_score"),
        pl.col("total_score_new").alias("new_total_score"),
        pl.col("grade").alias("old_grade"),
        pl.col("grade_new").alias("new_grade"),
        pl.col("status").alias("old_status"),
        pl.col("status_new").alias("new_status"),
        pl.col("veto").alias("old_veto"),
        pl.col("veto_new").alias("new_veto"),
        pl.col("triggers").fill_null(pl.lit([], pl.List(pl.String))).alias("old_triggers"),
        pl.col("triggers_new").fill_null(pl.lit([], pl.List(pl.String))).alias("new_triggers"),
        "components_moved",
    )
    components = pl.concat(
        [
            diff.filter(pl.col(c).ne_missing(pl.col(f"{c}_new"))).select(
                *KEY, pl.lit(c).alias("component"), pl.col(c).alias("old_value"), pl.col(f"{c}_new").alias("new_value")
            )
            for c in comps + ["total_score"]
        ],
        how="vertical",
    ).sort(KEY + ["component"])
    moves = both.filter(pl.col("assessment").is_in(list(SUBJECTS)) & pl.col("grade").ne_missing(pl.col("grade_new"))).with_columns(
        pl.col("grade").fill_null(UNGRADED).alias("old_grade"),
        pl.col("grade_new").fill_null(UNGRADED).alias("new_grade"),
        pl.coalesce("unit_code", "unit_code_new").alias("unit_code"),
    )
    per_unit = moves.group_by("year", "assessment", "unit_code", "old_grade", "new_grade").agg(pl.len().cast(pl.Int64).alias("subjects"))
    in_all = moves.group_by("year", "assessment", "old_grade", "new_grade").agg(pl.len().cast(pl.Int64).alias("subjects")).with_columns(
        pl.lit(None, pl.String).alias("unit_code")
    )
    grade_moves = pl.concat([per_unit, in_all.select(per_unit.columns)], how="vertical").sort(
        "year", "assessment", "unit_code", "old_grade", "new_grade", nulls_last=False
    )
    cols = PUBLISHED["accountability_triggers"].column_names
    t_old, t_new = (f[t].with_columns(_row_text(cols).alias("_row")) for f in (keep, keep_new) for t in ["accountability_triggers"])
    triggers = pl.concat(
        [
            t_new.join(t_old.select("_row"), on="_row", how="anti").select(pl.lit("appears").alias("change"), *cols),
            t_old.join(t_new.select("_row"), on="_row", how="anti").select(pl.lit("disappears").alias("change"), *cols),
        ],
        how="vertical",
    ).sort("year", "trigger_type", "subject_kind", "subject_id", "change")
    return {"subjects": subjects, "components": components, "grade_moves": grade_moves, "triggers": triggers}


# --------------------------------------------------------------------------------------------------
# Summary and page


def _grade_counts(frame: pl.DataFrame) -> list[float]:
    counts = dict(frame.group_by(pl.col("grade").fill_null(UNGRADED)).agg(pl.len()).iter_rows())
    return [float(counts.get(g, 0)) for g in (*GRADES, UNGRADED)]


def summary_lines(result: dict[str, pl.DataFrame], old: dict[str, pl.DataFrame], new: dict[str, pl.DataFrame],
                  years: list[int], candidate: Rules, current: str | None, out: Path) -> list[str]:
    span = f"{years[0]}–{years[-1]}" if len(years) > 1 else str(years[0])
    lines = [f"规则试算：候选规则 {candidate.version}（{candidate.path.name}）对比已发布结果（规则 {current or '—'}），年度 {span}"]
    subjects, moves = result["subjects"], result["grade_moves"]
    for assessment, (table, _, _) in SUBJECTS.items():
        zh = ENUMS["evidence_assessment"].label(assessment)
        n = subjects.filter(pl.col("assessment") == assessment).height
        m = moves.filter((pl.col("assessment") == assessment) & pl.col("unit_code").is_null())
        total = int(m["subjects"].sum()) if m.height else 0
        detail = "，".join(f"{r['old_grade']}→{r['new_grade']} {r['subjects']}" for r in
                           m.group_by("old_grade", "new_grade").agg(pl.col("subjects").sum()).sort("old_grade", "new_grade").iter_rows(named=True))
        lines.append(f"{zh}：结果变化 {n} 个对象，等次变化 {total} 个{('（' + detail + '）') if detail else ''}")
    t = result["triggers"]
    lines.append(f"问责触发：新增 {t.filter(pl.col('change') == 'appears').height} 条，消失 {t.filter(pl.col('change') == 'disappears').height} 条")
    lines.append(f"明细：{out / 'index.html'}（Parquet 在同一目录）")
    return lines


#: Chinese headings of the result columns on the page (the Parquet files keep the English names).
HEADINGS = {
    "change": "变化", "year": "年度", "assessment": "考核类型", "subject_kind": "对象类型", "subject_id": "对象",
    "unit_code": "单位编码", "subject_name": "对象名称", "old_total_score": "现行总分", "new_total_score": "候选总分",
    "old_grade": "现行等次", "new_grade": "候选等次", "old_status": "现行状态", "new_status": "候选状态",
    "old_veto": "现行一票否决", "new_veto": "候选一票否决", "old_triggers": "现行问责触发", "new_triggers": "候选问责触发",
    "components_moved": "变动的组成项", "component": "组成项", "old_value": "现行值", "new_value": "候选值", "subjects": "对象数",
    "trigger_type": "触发类型", "subject_name_": "对象名称", "streak_years": "连续较差年数", "basis": "依据", "evidence": "证据记录编号",
}
CHANGES = {"appears": "新增", "disappears": "消失"}


def _display(frame: pl.DataFrame) -> pl.DataFrame:
    """A result table for the page: Chinese headings and labels, lists joined, 全部 for all units."""
    labels = {
        "assessment": {**{c: ENUMS["trigger_assessment"].label(c) for c in ENUMS["trigger_assessment"].codes}},
        "subject_kind": {c: ENUMS["trigger_subject_kind"].label(c) for c in ENUMS["trigger_subject_kind"].codes},
        "trigger_type": {c: ENUMS["trigger_type"].label(c) for c in ENUMS["trigger_type"].codes},
        "old_status": {c: ENUMS["assessment_status"].label(c) for c in ENUMS["assessment_status"].codes},
        "new_status": {c: ENUMS["assessment_status"].label(c) for c in ENUMS["assessment_status"].codes},
        "change": CHANGES,
    }
    exprs = []
    for c, dtype in frame.schema.items():
        col = pl.col(c)
        if isinstance(dtype, pl.List):
            col = col.list.join("、")
        if c in labels:
            col = col.replace_strict(labels[c], default=col, return_dtype=pl.String)
        exprs.append(col.alias(HEADINGS.get(c, c)))
    out = frame.select(exprs)
    if "unit_code" in frame.columns and "subjects" in frame.columns:
        out = out.with_columns(pl.col("单位编码").fill_null("全部"))
    return out


def render_page(result: dict[str, pl.DataFrame], old: dict[str, pl.DataFrame], new: dict[str, pl.DataFrame],
                years: list[int], summary: list[str]) -> bytes:
    body: list[str | bytes] = []
    charts = []
    for assessment, (table, _, _) in SUBJECTS.items():
        zh = ENUMS["evidence_assessment"].label(assessment)
        o = old[table].filter(pl.col("year").is_in(years))
        n = new[table].filter(pl.col("year").is_in(years))
        charts.append(Chart(key=f"grades_{assessment}", title=f"{zh}等次分布：现行规则与候选规则", kind="columns",
                            categories=[*GRADES, UNGRADED], series={"现行规则": _grade_counts(o), "候选规则": _grade_counts(n)}))
    body.append('<section id="summary"><h2>一、结论</h2>' + "".join(f"<p>{e(s)}</p>" for s in summary[:-1]) + "</section>")
    body.append('<section id="charts"><h2>二、等次分布</h2>' + "".join(
        f"<figure><figcaption>{e(c.title)}</figcaption>{chart_svg(c)}</figure>" for c in charts) + "</section>")
    shown = {
        "grade_moves": ("三、等次变动（每个单位，及全部单位合计）", _display(result["grade_moves"])),
        "triggers": ("四、问责触发的新增与消失", _display(result["triggers"])),
        "subjects": ("五、结果变化的对象（现行与候选）", _display(result["subjects"])),
        "components": ("六、变动的组成项", _display(result["components"])),
    }
    for key, (title, frame) in shown.items():
        body.append(f'<section id="{key}"><h2>{e(title)}</h2>')
        body.append(table_html(frame, key, ()) if frame.height else '<p class="empty">无</p>')
        body.append("</section>")
    title = "规则试算：候选规则会改变什么"
    head = f"""<!DOCTYPE html>
<html lang="zh-CN"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; img-src data:">
<title>{e(title)}</title><style>{CSS}</style></head>
<body><header><h1>{e(title)}</h1><p class="meta">{e(summary[0])}；未改动 published/ 和 restricted/。</p></header>
"""
    return utf8([head, *body, "\n</body></html>\n"])


# --------------------------------------------------------------------------------------------------
# The command


def published_years(warehouse: Path) -> list[int]:
    frames = [read_published(warehouse, t).select("year") for t in ("integrity_assessment", "responsibility_assessment")]
    return sorted(pl.concat(frames).unique().collect()["year"].drop_nulls().to_list())


def _staged_matches_manifest(warehouse: Path, manifest: dict) -> bool:
    path = warehouse / "staged" / "ingest_report.parquet"
    if not path.exists():
        return False
    staged = {(r["source"], r["file"], r["sha256"]) for r in pl.read_parquet(path).select("source", "file", "sha256").to_dicts()}
    return staged == {(i["source"], i["file"], i["sha256"]) for i in manifest.get("inputs", [])}


def run_whatif(warehouse: Path, candidate: Path, years: list[int] | None = None, out: Path | None = None) -> WhatIf:
    """Compute, compare and write a what-if; returns the result tables and the summary lines."""
    from pipelines.partitions import staged_years

    warehouse = Path(warehouse).absolute()
    manifest = read_manifest(warehouse)
    if manifest is None or not (warehouse / "staged").is_dir():
        raise FatalError(f"数据仓库 {warehouse}: 没有已发布的结果或暂存数据 — 请先运行 lianjian run（或 --warehouse 指向正确的仓库）")
    rules = load_rules(candidate)
    have = published_years(warehouse)
    years = sorted(set(have) if years is None else set(years) & set(have))
    if not years:
        raise FatalError(f"--years: 已发布的结果中没有这些年度（现有 {have[0] if have else '—'}–{have[-1] if have else '—'}）— 请检查 --years")
    if not _staged_matches_manifest(warehouse, manifest):
        print("lianjian: 注意：暂存数据与已发布版本的输入文件不一致（之后有未发布的运行），试算以暂存数据为准", file=sys.stderr)
    first = min(int(staged_years(warehouse)[0]), years[0])
    old = {t: read_published(warehouse, t).collect() for t in COMPARED}
    new = candidate_tables(warehouse, Path(candidate).absolute(), first, years[-1])
    result = compare(old, new, years)
    digest = hashlib.sha256(Path(candidate).read_bytes()).hexdigest()[:8]
    folder = Path(out) if out else warehouse / OUT / f"{Path(candidate).stem}-{digest}"
    private_mkdir(folder)  # names and grades: private like everything outside published/
    summary = summary_lines(result, old, new, years, rules, manifest.get("rules_version"), folder)
    for name, frame in result.items():
        frame.write_parquet(folder / f"{name}.parquet", compression="zstd", statistics=True)
        make_private(folder / f"{name}.parquet")
    write_private(folder / "index.html", render_page(result, old, new, years, summary))
    write_private(
        folder / "summary.json",
        (json.dumps({"candidate": str(candidate), "candidate_version": rules.version, "current_version": manifest.get("rules_version"),
                     "published_version": manifest.get("version"), "years": years, "summary": summary}, ensure_ascii=False, indent=2)
         + "\n").encode("utf-8"),
    )
    return WhatIf(folder, result, summary)


def whatif_command(candidate: str, years: str | None, out: str | None, warehouse: Path) -> int:
    from pipelines.partitions import parse_years
    wanted = None
    if years:
        first, last = parse_years(years)
        wanted = list(range(int(first), int(last) + 1))
    result = run_whatif(Path(warehouse), Path(candidate).absolute(), wanted, Path(out).absolute() if out else None)
    print("\n".join(result.summary))
    return 0
