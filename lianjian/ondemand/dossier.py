"""``lianjian dossier --person ID [--years …]``: one officer's 廉政档案 (连云港意见 二（四）: the yearly
廉洁从检评估 "经部门领导、分管领导签字同意后，存入干警个人廉政档案"), written on demand only.

For every year asked (default: every year the person is in the roster) it gathers, from the
published tables and the staged records of the current version:

- the roster row (unit, department, position, status);
- the 廉洁从检评估 (R2) with every component and its evidence (R8), and any 党风廉政考核 (R3) the
  person was assessed in;
- the talks owed to the person and whether each was held (R1), and those the person is responsible
  for, counted;
- the cases handled in the year (R5's "handled in Y") with their review, errors, special-case
  verification and complaints, and the R6 quality counts;
- violations decided in the year and their sanctions; "三个规定" reports made; accountability
  triggers (R4) naming the person.

It writes an HTML page for printing (A4, page numbers, each year on its own pages ending with the
signature lines of the department leader and the supervising leader) and a workbook, into
``restricted/dossiers/`` (0700; files 0600) unless ``--out`` says otherwise. Each call is logged in
``restricted/access.log`` first. No identity number can appear: the staged roster never holds one,
and every text is passed through the same masking as the published files. The review leads (R10)
are not part of a dossier: a lead is a reason to check, not a finding to file.
"""

from __future__ import annotations

import datetime as dt
import re
import sys
from dataclasses import dataclass
from pathlib import Path
from zoneinfo import ZoneInfo

import polars as pl

from lianjian.contract import ENUMS, PUBLISHED, SOURCES
from lianjian.errors import FatalError
from lianjian.files import private_mkdir
from lianjian.publish import layout
from lianjian.privacy import mask_frame
from lianjian.publish.publish import read_manifest, read_published
from lianjian.publish.restricted import log_access
from lianjian.report.html import CSS, e, table_html, utf8
from lianjian.report.xlsx import Sheet, workbook_parts, write_bytes, zip_bytes

FOLDER = "dossiers"

PRINT_CSS = """
@page { size: A4; margin: 16mm 14mm 18mm;
  @bottom-center { content: "第 " counter(page) " 页 / 共 " counter(pages) " 页"; font-size: 9pt; color: #57606a; } }
section.year { break-before: page; page-break-before: always; }
.sign { margin-top: 28px; break-inside: avoid; page-break-inside: avoid; }
.sign p { margin: 22px 0; font-size: 14px; }
.sign .line { display: inline-block; min-width: 16em; border-bottom: 1px solid #1f2328; }
.note { color: #57606a; font-size: 12px; }
"""


@dataclass(frozen=True)
class Dossier:
    html: Path
    xlsx: Path
    years: list[int]


# --------------------------------------------------------------------------------------------------
# Display helpers: Chinese headers and labels from the contract


def _labels(enum: str) -> dict[str, str]:
    e_ = ENUMS[enum]
    return {c: e_.label(c) for c in e_.codes}


def show(frame: pl.DataFrame, columns: dict[str, str]) -> pl.DataFrame:
    """``frame``'s ``columns`` (name -> ``<table or source>``) under their Chinese names, enumeration
    codes as their Chinese labels, identity-card-shaped text masked."""
    out = []
    for name, where in columns.items():
        spec = PUBLISHED[where] if where in PUBLISHED else SOURCES[where]
        col = next(c for c in spec.columns if c.name == name)
        expr = pl.col(name)
        if col.enum is not None:
            expr = expr.cast(pl.String).replace_strict(_labels(col.enum.name), default=expr.cast(pl.String), return_dtype=pl.String)
        out.append(expr.alias(col.zh))
    return mask_frame(frame.lazy().select(out)).collect()


def _component_names() -> dict[str, str]:
    """Evidence components in Chinese: a column of the assessment tables, or a duty item named after
    its activity type (as ``lianjian explain`` prints them)."""
    names = {c.name: c.zh for t in ("integrity_assessment", "responsibility_assessment") for c in PUBLISHED[t].columns}
    return _labels("activity_type") | names


def _staged(warehouse: Path, source: str) -> pl.LazyFrame:
    path = warehouse / "staged" / f"{source}.parquet"
    return pl.scan_parquet(path) if path.exists() else SOURCES[source].staged_frame().lazy()


def _safe(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_-]", "_", text)[:64] or "_"


# --------------------------------------------------------------------------------------------------
# What a dossier holds


def gather(warehouse: Path, person: str, years: list[int] | None) -> dict[str, pl.DataFrame]:
    """Every frame of the dossier, for the person and years (default: the years of their roster rows)."""
    roster = _staged(warehouse, "personnel").filter(pl.col("person_id") == person).collect().sort("year")
    if roster.height == 0:
        raise FatalError(f"工号 {person}: 不在 {warehouse / 'staged' / 'personnel.parquet'} 的任何年度名册中 — 请检查 --person（区分大小写）")
    have = roster["year"].to_list()
    years = sorted(set(have) if years is None else set(years) & set(have))
    if not years:
        raise FatalError(f"工号 {person}: 所指定的年度不在其名册年度（{'、'.join(map(str, have))}）中 — 请检查 --years")
    in_years = pl.col("year").is_in(years)
    units = _staged(warehouse, "units").select("unit_code", "unit_name").collect()
    depts = _staged(warehouse, "departments").collect()
    people = _staged(warehouse, "personnel").select("year", "person_id", "name").collect()
    roster = roster.filter(in_years)
    rows = roster.join(units, on="unit_code", how="left").join(
        depts.select("year", "unit_code", "dept_code", "dept_name", "head_id", "supervisor_id"),
        on=["year", "unit_code", "dept_code"],
        how="left",
    )
    named = lambda col, alias: rows.select("year", col).join(  # noqa: E731
        people.rename({"person_id": col, "name": alias}), on=["year", col], how="left"
    )
    rows = rows.join(named("head_id", "_head_name"), on=["year", "head_id"], how="left").join(
        named("supervisor_id", "_sup_name"), on=["year", "supervisor_id"], how="left"
    )
    pub = lambda t: read_published(warehouse, t).filter(in_years)  # noqa: E731
    handled = (pl.col("accepted_date") <= pl.date(pl.col("year"), 12, 31)) & (
        pl.col("closed_date").is_null() | (pl.col("closed_date") >= pl.date(pl.col("year"), 1, 1))
    )
    year_grid = pl.LazyFrame({"year": years}, schema={"year": pl.Int64})
    cases = (
        _staged(warehouse, "cases").filter(pl.col("handler_id") == person).join(year_grid, how="cross").filter(handled)
    )
    frames = {
        "roster": rows,
        "integrity": pub("integrity_assessment").filter(pl.col("person_id") == person).collect().sort("year"),
        "evidence": pub("assessment_evidence").filter(pl.col("subject_id") == person).collect()
        .sort("year", "assessment", "rule", "component"),
        "responsibility": pub("responsibility_assessment").filter(pl.col("subject_id") == person).collect()
        .sort("year", "subject_kind"),
        "talks_owed": pub("talk_obligations").filter(pl.col("person_id") == person).collect()
        .sort("year", "obligation", "due_from", "event_id", nulls_last=True),
        "talks_responsible": pub("talk_obligations").filter(pl.col("responsible_id") == person)
        .filter(pl.col("person_id") != person)
        .group_by("year", "obligation")
        .agg(pl.len().alias("应谈"), pl.col("fulfilled").fill_null(False).sum().alias("已谈"))
        .with_columns((pl.col("应谈") - pl.col("已谈")).alias("未谈"))
        .collect()
        .sort("year", "obligation"),
        "cases": cases.collect().sort("year", "case_id"),
        "case_quality": pub("case_quality").filter(pl.col("person_id") == person).collect().sort("year", "category"),
        "violations": _staged(warehouse, "violations").filter(pl.col("person_id") == person)
        .with_columns(pl.col("decided_date").dt.year().cast(pl.Int64).alias("year"))
        .filter(in_years).collect().sort("year", "violation_id"),
        "reports": _staged(warehouse, "major_matter_reports").filter(pl.col("reporter_id") == person)
        .with_columns(pl.col("report_date").dt.year().cast(pl.Int64).alias("year"))
        .filter(in_years).collect().sort("year", "report_date", "report_id"),
        "triggers": pub("accountability_triggers").filter(pl.col("subject_id") == person).collect()
        .sort("year", "trigger_type", "subject_kind"),
    }
    return frames


def _year_tables(frames: dict[str, pl.DataFrame], year: int) -> list[tuple[str, str, pl.DataFrame, str]]:
    """(key, title, display frame, text when empty) of one year, in the order of the page."""
    at = lambda name: frames[name].filter(pl.col("year") == year)  # noqa: E731
    ia, ev = "integrity_assessment", "assessment_evidence"
    integrity = show(at("integrity"), {c: ia for c in (
        "self_score", "peer_score", "department_score", "review_score", "deduction_talks", "deduction_cases",
        "deduction_violations", "total_score", "grade", "veto", "status", "rules_version")})
    evidence = at("evidence").with_columns(
        pl.col("record_ids").list.join("、"),
        pl.col("component").replace_strict(_component_names(), default=pl.col("component"), return_dtype=pl.String),
    ).pipe(
        show, {"assessment": ev, "subject_kind": ev, "component": ev, "value": ev, "record_ids": ev, "rule": ev, "basis": ev}
    )
    ra = "responsibility_assessment"
    responsibility = show(at("responsibility"), {c: ra for c in (
        "unit_code", "subject_kind", "duty_score", "vote_score", "deduction_scope", "total_score", "grade", "veto", "status")})
    to = "talk_obligations"
    owed = show(at("talks_owed"), {c: to for c in ("obligation", "event_id", "responsible_id", "due_from", "due_to", "fulfilled", "talk_id")})
    responsible = at("talks_responsible").select(
        pl.col("obligation").replace_strict(_labels("obligation"), default=pl.col("obligation"), return_dtype=pl.String).alias("谈话义务"),
        "应谈", "已谈", "未谈",
    )
    cases = show(at("cases"), {c: "cases" for c in (
        "case_id", "category", "is_major", "accepted_date", "closed_date", "outcome", "quality_rating", "error_type",
        "dept_verified", "supervisor_verified", "public_complaint")})
    cq = "case_quality"
    quality = show(at("case_quality"), {c: cq for c in (
        "category", "cases_closed", "rated", "excellent", "qualified", "flawed", "unqualified", "errors", "special_cases", "special_unverified")})
    violations = show(at("violations"), {c: "violations" for c in (
        "violation_id", "occurred_date", "decided_date", "category", "severity", "sanction")})
    reports = show(at("reports"), {c: "major_matter_reports" for c in ("report_id", "report_date", "category", "unit_code", "case_id")})
    at_ = "accountability_triggers"
    triggers = at("triggers").with_columns(pl.col("evidence").list.join("、")).pipe(
        show, {c: at_ for c in ("trigger_type", "assessment", "subject_kind", "streak_years", "basis", "evidence")}
    )
    return [
        ("integrity", "廉洁从检评估（R2）", integrity, "本年度未参加廉洁从检评估（非在岗）"),
        ("evidence", "评估构成与证据（R8）", evidence, "无影响分数的事项"),
        ("responsibility", "党风廉政考核（R3）", responsibility, "本年度不是考核对象"),
        ("talks_owed", "应接受的廉政谈话及履行情况（R1）", owed, "无"),
        ("talks_responsible", "本人负责的廉政谈话（R1，按类型计数）", responsible, "无"),
        ("cases", "本年度办理的案件", cases, "无"),
        ("case_quality", "办案质量（R6，本年度办结）", quality, "无"),
        ("violations", "违纪违法及处理", violations, "无"),
        ("reports", "“三个规定”记录报告", reports, "本年度未记录报告"),
        ("triggers", "问责触发（R4）", triggers, "无"),
    ]


# --------------------------------------------------------------------------------------------------
# Page and workbook


def _person_line(r: dict) -> str:
    dept = f"{r['dept_name'] or ''}（{r['dept_code']}）" if r["dept_code"] else "无部门"
    status = ENUMS["person_status"].label(r["status"]) if r["status"] in ENUMS["person_status"].codes else r["status"]
    position = ENUMS["position"].label(r["position"]) if r["position"] in ENUMS["position"].codes else r["position"]
    return f"{r['unit_name'] or ''}（{r['unit_code']}）；部门 {dept}；职务 {position}；状态 {status}"


def _signatures(r: dict) -> str:
    head = f"（{r['_head_name']}）" if r.get("_head_name") else ""
    sup = f"（{r['_sup_name']}）" if r.get("_sup_name") else ""
    return (
        '<div class="sign"><p>部门负责人意见：<span class="line"></span></p>'
        f'<p>部门负责人{e(head)}签字：<span class="line"></span> 日期：______年____月____日</p>'
        f'<p>分管院领导{e(sup)}签字：<span class="line"></span> 日期：______年____月____日</p></div>'
    )


def render(person: str, frames: dict[str, pl.DataFrame], years: list[int], source: str, today: dt.date) -> bytes:
    roster = mask_frame(frames["roster"].lazy()).collect()
    last = roster.row(roster.height - 1, named=True)
    name = last["name"]
    title = f"干警个人廉政档案：{name}（{person}）"
    out: list[str | bytes] = [
        f"""<!DOCTYPE html>
<html lang="zh-CN"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'">
<title>{e(title)}</title><style>{CSS}{PRINT_CSS}</style></head>
<body data-person="{e(person)}"><header><h1>{e(title)}</h1>
<p class="meta">工号 {e(person)}；{e(_person_line(last))}；年度 {e('、'.join(map(str, years)))}；{e(source)}；生成于 {today.isoformat()}</p>
<p class="note">依据连云港意见 二（四）：廉洁从检评估经部门领导、分管领导签字同意后，存入干警个人廉政档案。本档案按需生成，每次生成均记入访问日志；请妥善保管，勿外传。</p>
</header>"""
    ]
    for year in years:
        r = roster.filter(pl.col("year") == year).row(0, named=True)
        out.append(f'<section class="year" id="y{year}" data-year="{year}"><h2>{year} 年度</h2><p>{e(_person_line(r))}</p>')
        for key, heading, frame, empty in _year_tables(frames, year):
            out.append(f'<h3 id="t-{key}-{year}">{e(heading)}</h3>')
            if frame.height:
                out.append(table_html(frame, f"{key}-{year}", ()))
            else:
                out.append(f'<p class="empty" data-table="{e(key)}-{year}">{e(empty)}</p>')
        out.append(_signatures(r) + "</section>")
    out.append("\n</body></html>\n")
    return utf8(out)


def workbook(person: str, frames: dict[str, pl.DataFrame], years: list[int], title: str) -> bytes:
    """One sheet per kind of record, every year in it (a 年度 column first)."""
    sheets = [
        Sheet(
            "基本信息",
            mask_frame(frames["roster"].lazy()).collect().select(
                pl.col("year").alias("年度"), pl.col("name").alias("姓名"), pl.col("unit_code").alias("单位编码"),
                pl.col("unit_name").alias("单位名称"), pl.col("dept_code").alias("部门编码"), pl.col("dept_name").alias("部门名称"),
                pl.col("position").cast(pl.String).replace_strict(_labels("position"), default=None).alias("职务"),
                pl.col("status").cast(pl.String).replace_strict(_labels("person_status"), default=None).alias("状态"),
            ),
        )
    ]
    per_kind: dict[str, tuple[str, list[pl.DataFrame]]] = {}
    for year in years:
        for key, heading, frame, _ in _year_tables(frames, year):
            per_kind.setdefault(key, (heading, []))[1].append(frame.select(pl.lit(year).alias("年度"), pl.all()))
    for key, (heading, parts) in per_kind.items():
        frame = pl.concat(parts, how="vertical_relaxed") if parts else pl.DataFrame()
        sheets.append(Sheet(re.sub(r"[（(].*", "", heading)[:31], frame, heading))
    return zip_bytes(workbook_parts(sheets, title=title))


def write_dossier(warehouse: Path, person: str, years: list[int] | None = None, out: Path | None = None,
                  today: dt.date | None = None) -> Dossier:
    """Gather, render and write one dossier (HTML and xlsx, 0600 in a 0700 folder)."""
    frames = gather(warehouse, person, years)
    years = sorted(frames["roster"]["year"].to_list())
    manifest = read_manifest(warehouse) or {}
    source = f"数据：已发布版本 {manifest.get('version', '—')}（规则版本 {manifest.get('rules_version', '—')}）"
    today = today or dt.datetime.now(ZoneInfo("Asia/Shanghai")).date()
    folder = private_mkdir(Path(out) if out else layout.restricted_dir(warehouse) / FOLDER)
    stem = f"{_safe(person)}_{years[0]}-{years[-1]}"
    html_path, xlsx_path = folder / f"{stem}.html", folder / f"{stem}.xlsx"
    name = frames["roster"]["name"][-1]
    write_bytes(html_path, render(person, frames, years, source, today))  # 0600, whole or not at all
    write_bytes(xlsx_path, workbook(person, frames, years, f"干警个人廉政档案：{name}（{person}）"))
    return Dossier(html_path, xlsx_path, years)


def dossier_command(person: str, years: str | None, out: str | None, warehouse: Path) -> int:
    from pipelines.partitions import parse_years
    warehouse = Path(warehouse)
    if not (warehouse / "published").is_dir():
        raise FatalError(f"数据仓库 {warehouse}: 没有 published/ — 请先运行 lianjian run（或 --warehouse 指向正确的仓库）")
    wanted = None
    if years:
        first, last = parse_years(years)
        wanted = list(range(int(first), int(last) + 1))
    log_access(warehouse, "dossier", person=person, years=years or "全部")
    d = write_dossier(warehouse, person, wanted, Path(out).absolute() if out else None)
    print(f"个人廉政档案（{'、'.join(map(str, d.years))} 年度）：{d.html}", file=sys.stdout)
    print(f"Excel: {d.xlsx}", file=sys.stdout)
    return 0
