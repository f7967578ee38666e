"""The "三个规定" monthly notice and quarterly analysis (黑龙江巡礼: "严格坚持月通报、季分析 …
重点针对存在'零报告'或'少报告'的院和部门"), read from ``published/major_matter_report_monthly`` (R9).

For every parent unit (a unit with units right below it) and year:

    reports/<year>/notices/<parent>.<MM>.html   月通报: its children ranked (rank among peers, R9),
                                                zero- and low-report units marked, the change since
                                                the month before
    reports/<year>/notices/<parent>.Q<q>.html   季分析 (months 3, 6, 9, 12): each child's rate per
                                                hundred staff at each quarter's end, the quarter's
                                                reports and the share reported by leaders
    reports/<year>/notices/<parent>.xlsx        the same as a workbook: one sheet per notice and analysis
    reports/notices.html                        the index of all of them (linked from reports/index.html)

A notice exists for every month the published table has rows for (months begun by the run date, R9);
an analysis for each quarter whose last month has a row. Nothing here computes a rule: ranks, peers
and 少报告 are the published values. The review leads (R10) are never read here. A file whose bytes
would not change is not written again, and a year whose monthly file (its SHA-256 in the published
manifest) and unit tree are those recorded beside its notices (``reports/<year>/notices/_inputs.json``,
lianjian/report/inputs.py) is not built at all: a notice compares the months of one year only.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import polars as pl

from lianjian.contract import ENUMS
from lianjian.report.build import _prerender
from lianjian.report.fmt import yes_no, zh
from lianjian.report.html import CSS, chart_svg, e, utf8
from lianjian.report.inputs import forget, remember
from lianjian.report.load import published_table
from lianjian.report.model import Chart, Rendered, source_note
from lianjian.report.writes import DISK, Disk
from lianjian.report.xlsx import Sheet, workbook_parts, zip_bytes

TABLE = "major_matter_report_monthly"
KEYS = ["report_key", "year"]
LEVELS = {code: ENUMS["level"].label(code) for code in ENUMS["level"].codes}
LEVEL_ORDER = {code: i for i, code in enumerate(ENUMS["level"].codes)}
QUARTER_MONTHS = (3, 6, 9, 12)
INDEX = "notices.html"
MARK_YEAR_ZERO, MARK_MONTH_ZERO, MARK_LOW = "年内零报告", "本月零报告", "少报告"


@dataclass(frozen=True)
class Written:
    parent_code: str
    year: int
    pages: tuple[Path, ...]
    workbook: Path


def _h(col: str) -> str:
    return zh(TABLE, col)


def monthly_rows(monthly: pl.DataFrame, units: pl.DataFrame) -> pl.DataFrame:
    """The published monthly rows of every unit that has a parent, with its parent, name and level,
    and its rate and rank of the month before (empty in January: a notice compares within the year)."""
    children = units.drop_nulls("parent_code").select("unit_code", "parent_code", "unit_name", "level")
    rows = monthly.join(children, on="unit_code", how="inner")
    before = rows.select(
        "year",
        "unit_code",
        (pl.col("month") + 1).alias("month"),
        pl.col("per_hundred_staff_to_date").alias("_prev_rate"),
        pl.col("rank").alias("_prev_rank"),
    )
    return rows.join(before, on=["year", "unit_code", "month"], how="left").with_columns(
        pl.col("level").replace_strict(LEVEL_ORDER, default=len(LEVEL_ORDER), return_dtype=pl.Int64).alias("_level_order")
    )


def _marks() -> pl.Expr:
    """标记: 年内零报告 (nothing reported since 1 January) or 本月零报告, and 少报告 (R9)."""
    zero = (
        pl.when(pl.col("reports_to_date") == 0)
        .then(pl.lit(MARK_YEAR_ZERO))
        .when(pl.col("reports") == 0)
        .then(pl.lit(MARK_MONTH_ZERO))
    )
    low = pl.when(pl.col("low_report")).then(pl.lit(MARK_LOW))
    return pl.concat_str([zero, low], separator="、", ignore_nulls=True).fill_null("")


def notice_frame(rows: pl.DataFrame) -> pl.DataFrame:
    """One row per child and month: report_key '<parent>.<MM>', year, and what the notice shows,
    ranked: by level, then rank (units without staff last), then unit code."""
    rate = pl.col("per_hundred_staff_to_date")
    return rows.sort("parent_code", "year", "month", "_level_order", "rank", "unit_code", nulls_last=True).select(
        pl.concat_str([pl.col("parent_code"), pl.lit("."), pl.col("month").cast(pl.String).str.zfill(2)]).alias("report_key"),
        "year",
        pl.col("rank").alias(_h("rank")),
        pl.col("unit_name").alias("单位"),
        pl.col("unit_code").alias(_h("unit_code")),
        pl.col("level").replace_strict(LEVELS, default=pl.col("level"), return_dtype=pl.String).alias("层级"),
        pl.col("staff").alias(_h("staff")),
        pl.col("reports").alias(_h("reports")),
        pl.col("leader_reports").alias(_h("leader_reports")),
        pl.col("reports_to_date").alias(_h("reports_to_date")),
        rate.alias(_h("per_hundred_staff_to_date")),
        pl.col("_prev_rate").alias("上月每百人报告数"),
        (rate - pl.col("_prev_rate")).round(2).alias("较上月增减"),
        pl.col("_prev_rank").alias("上月排名"),
        (pl.col("_prev_rank") - pl.col("rank")).alias("排名变化（+为上升）"),
        pl.col("months_without_report").alias(_h("months_without_report")),
        pl.col("peers").alias(_h("peers")),
        _marks().alias("标记"),
    )


def analysis_frame(rows: pl.DataFrame) -> pl.DataFrame:
    """One row per child and quarter end (months 3, 6, 9, 12): report_key '<parent>.Q<q>', year, the
    rate at the end of every quarter so far (the trend), the quarter's reports and leader reports
    (from its three months), the leaders' share of them and of the year so far, the rank and 少报告
    at the quarter's end."""
    unit_year = ["year", "unit_code"]
    rows = rows.with_columns(
        ((pl.col("month") - 1) // 3 + 1).alias("quarter"),
        pl.col("leader_reports").cum_sum().over(unit_year, order_by="month").alias("_ytd_leaders"),
    )
    sums = rows.group_by(*unit_year, "quarter").agg(
        pl.col("reports").sum().alias("_q_reports"), pl.col("leader_reports").sum().alias("_q_leaders")
    )
    previous = sums.select(*unit_year, (pl.col("quarter") + 1).alias("quarter"), pl.col("_q_reports").alias("_prev_q"))
    out = (
        rows.filter(pl.col("month").is_in(QUARTER_MONTHS))
        .join(sums, on=[*unit_year, "quarter"], how="left")
        .join(previous, on=[*unit_year, "quarter"], how="left")
    )
    for q in (1, 2, 3, 4):  # the trend: the rate at each earlier quarter's end, beside this one's
        end = rows.filter(pl.col("month") == 3 * q).select(*unit_year, pl.col("per_hundred_staff_to_date").alias(f"_q{q}"))
        out = out.join(end, on=unit_year, how="left")
    trend = [
        pl.when(pl.col("quarter") >= q).then(pl.col(f"_q{q}")).alias(f"第{q}季度末每百人报告数") for q in (1, 2, 3, 4)
    ]
    percent = lambda part, whole: pl.when(pl.col(whole) > 0).then(pl.col(part) / pl.col(whole) * 100).round(1)  # noqa: E731
    return out.sort("parent_code", "year", "quarter", "_level_order", "rank", "unit_code", nulls_last=True).select(
        pl.concat_str([pl.col("parent_code"), pl.lit(".Q"), pl.col("quarter").cast(pl.String)]).alias("report_key"),
        "year",
        pl.col("unit_name").alias("单位"),
        pl.col("unit_code").alias(_h("unit_code")),
        pl.col("staff").alias(_h("staff")),
        *trend,
        pl.col("_q_reports").alias("本季度报告数"),
        pl.col("_prev_q").alias("上季度报告数"),
        pl.col("_q_leaders").alias("本季度领导干部报告数"),
        percent("_q_leaders", "_q_reports").alias("本季度领导干部报告占比（%）"),
        pl.col("reports_to_date").alias(_h("reports_to_date")),
        percent("_ytd_leaders", "reports_to_date").alias("年初至今领导干部报告占比（%）"),
        pl.col("rank").alias("季末" + _h("rank")),
        yes_no(pl.col("low_report")).alias("季末" + _h("low_report")),
        pl.when(pl.col("reports_to_date") == 0).then(pl.lit(MARK_YEAR_ZERO)).otherwise(pl.lit("")).alias("标记"),
    )


# --------------------------------------------------------------------------------------------------
# Pages


def _page(title: str, meta: str, links: list[tuple[str, str]], body: list[str | bytes]) -> bytes:
    link_html = " · ".join(f'<a href="{e(h)}">{e(t)}</a>' for t, h in links)
    head = f"""<!DOCTYPE html>
<html lang="zh-CN"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; img-src data:">
<title>{e(title)}</title><style>{CSS}</style></head>
<body><header><h1>{e(title)}</h1><p class="meta">{e(meta)}</p>
<p class="links screen-only">{link_html}</p></header>
"""
    return utf8([head, *body, "\n</body></html>\n"])


def _table(key: str, columns: pl.DataFrame, rendered: Rendered | None, empty: str) -> str:
    """The page's table: its header from ``columns`` (no rows needed), its rows pre-rendered."""
    if rendered is None:
        return f'<p class="empty" data-table="{e(key)}">{e(empty)}</p>'
    assert rendered.table is not None, "rendered by _prerender with this key and table"
    return rendered.table.decode("utf-8")


def _facts(frame: pl.DataFrame, **aggs: pl.Expr) -> dict[tuple[str, int], dict]:
    """Per page (report_key, year): the figures its text and charts show, aggregated for every page
    at once (one group_by, not a query per page)."""
    if frame.height == 0:
        return {}
    grouped = frame.group_by(KEYS, maintain_order=True).agg(n=pl.len(), **aggs)
    return {(str(r["report_key"]), int(r["year"])): r for r in grouped.iter_rows(named=True)}


def _marked(mark: str, column: str = "标记") -> pl.Expr:
    return pl.col("单位").filter(pl.col(column).str.contains(mark, literal=True))


def notice_facts(notices: pl.DataFrame) -> dict[tuple[str, int], dict]:
    change = pl.col("排名变化（+为上升）")
    return _facts(
        notices,
        reports=pl.col(_h("reports")).sum(),
        leaders=pl.col(_h("leader_reports")).sum(),
        to_date=pl.col(_h("reports_to_date")).sum(),
        year_zero=_marked(MARK_YEAR_ZERO),
        month_zero=_marked(MARK_MONTH_ZERO),
        low=_marked(MARK_LOW),
        riser=pl.col("单位").filter(change == change.max()).first(),
        rise=change.max(),
        names=pl.col("单位"),
        rates=pl.col(_h("per_hundred_staff_to_date")),
    )


def analysis_facts(analyses: pl.DataFrame) -> dict[tuple[str, int], dict]:
    return _facts(
        analyses,
        q_reports=pl.col("本季度报告数").sum(),
        q_leaders=pl.col("本季度领导干部报告数").sum(),
        prev=pl.col("上季度报告数").sum(),
        zero=pl.col("单位").filter(pl.col("标记") == MARK_YEAR_ZERO),
        low=pl.col("单位").filter(pl.col("季末" + _h("low_report")) == "是"),
        names=pl.col("单位"),
        shares=pl.col("本季度领导干部报告占比（%）"),
        **{f"trend{q}": pl.col(f"第{q}季度末每百人报告数") for q in (1, 2, 3, 4)},
    )


def _listed(mark: str, names: list[str]) -> str:
    return f"{mark}单位（{len(names)} 个）：{'、'.join(names) if names else '无'}。"


def notice_page(parent: str, parent_name: str, year: int, month: int, facts: dict, columns: pl.DataFrame,
                rendered: Rendered | None, links: list[tuple[str, str]]) -> bytes:
    """月通报 of one parent unit and month (``facts``: ``notice_facts`` of the page; ``columns``: the
    table's columns, no rows)."""
    reports, leaders, n = int(facts["reports"]), int(facts["leaders"]), int(facts["n"])
    share = f"（占 {leaders / reports * 100:.1f}%）" if reports else ""
    summary = [
        f"本月 {n} 个下级单位共记录报告 {reports} 件，其中领导干部 {leaders} 件{share}；年初至本月累计 {int(facts['to_date'])} 件。",
        _listed(MARK_YEAR_ZERO, facts["year_zero"]),
        _listed(MARK_MONTH_ZERO, facts["month_zero"]),
        _listed(MARK_LOW, facts["low"]),
    ]
    if facts["rise"] is not None and facts["rise"] > 0:
        summary.append(f"排名上升最多：{facts['riser']}（上升 {facts['rise']} 位）。")
    chart = Chart(
        key="notice_rates",
        title="年初至本月每百人报告数",
        kind="bars",
        categories=facts["names"],
        series={_h("per_hundred_staff_to_date"): facts["rates"]},
    )
    body = [
        '<section id="summary" data-section="summary"><h2>一、本月概况</h2>'
        + "".join(f"<p>{e(s)}</p>" for s in summary)
        + "</section>",
        '<section id="ranking" data-section="ranking"><h2>二、下级单位排名</h2>'
        '<p class="intro">排名为同一上级单位、同一层级的单位之间按年初至本月每百人报告数的名次（并列同名次）；'
        "无在岗干警的单位不排名。少报告：同级单位不少于设定数，且低于同级中位数的设定比例（规则 R9）。"
        "“较上月”比较同一年度内的上一个月。</p>"
        f'<figure><figcaption>{e(chart.title)}</figcaption>{chart_svg(chart)}</figure>'
        f'<h3 id="t-notice">下级单位排名</h3><p class="source">{e(source_note(TABLE))}</p>'
        + _table("notice", columns, rendered, "本月无下级单位数据")
        + "</section>",
    ]
    title = f"{parent_name} {year}年{month}月“三个规定”记录报告情况通报"
    meta = f"单位编码 {parent}；{year} 年 {month} 月；下级单位 {n} 个；数据：published/{TABLE}（R9）"
    return _page(title, meta, links, body)


def analysis_page(parent: str, parent_name: str, year: int, quarter: int, facts: dict, columns: pl.DataFrame,
                  rendered: Rendered | None, links: list[tuple[str, str]]) -> bytes:
    """季分析 of one parent unit and quarter (``facts``: ``analysis_facts`` of the page)."""
    q_reports, q_leaders, prev, n = int(facts["q_reports"]), int(facts["q_leaders"]), int(facts["prev"] or 0), int(facts["n"])
    summary = [f"本季度 {n} 个下级单位共记录报告 {q_reports} 件，其中领导干部 {q_leaders} 件"
               + (f"（占 {q_leaders / q_reports * 100:.1f}%）" if q_reports else "") + "。"]
    if quarter > 1:
        summary.append(f"上季度 {prev} 件，增减 {q_reports - prev:+d} 件。")
    summary.append(_listed("年内零报告", facts["zero"]))
    summary.append(_listed("季末少报告", facts["low"]))
    trend = Chart(
        key="analysis_trend",
        title="各季度末每百人报告数（年初至季末）",
        kind="columns",
        categories=facts["names"],
        series={f"第{q}季度末": facts[f"trend{q}"] for q in (1, 2, 3, 4) if q <= quarter},
    )
    leaders = Chart(
        key="analysis_leaders",
        title="本季度领导干部报告占比（%）",
        kind="bars",
        categories=facts["names"],
        series={"领导干部报告占比（%）": facts["shares"]},
    )
    body = [
        '<section id="summary" data-section="summary"><h2>一、本季度概况</h2>'
        + "".join(f"<p>{e(s)}</p>" for s in summary)
        + "</section>",
        '<section id="trend" data-section="trend"><h2>二、各单位趋势与领导干部带头报告</h2>'
        '<p class="intro">读取每季度末月份（3、6、9、12 月）的月通报数据：年初至季末每百人报告数的变化、本季度报告数及其中领导干部'
        "（班子成员和本单位部门负责人）报告的占比。</p>"
        f"<figure><figcaption>{e(trend.title)}</figcaption>{chart_svg(trend)}</figure>"
        f"<figure><figcaption>{e(leaders.title)}</figcaption>{chart_svg(leaders)}</figure>"
        f'<h3 id="t-analysis">各下级单位季度趋势</h3><p class="source">{e(source_note(TABLE))}</p>'
        + _table("analysis", columns, rendered, "本季度无下级单位数据")
        + "</section>",
    ]
    title = f"{parent_name} {year}年第{quarter}季度“三个规定”记录报告分析"
    meta = f"单位编码 {parent}；{year} 年第 {quarter} 季度；下级单位 {n} 个；数据：published/{TABLE}（R9）"
    return _page(title, meta, links, body)


# --------------------------------------------------------------------------------------------------
# Writing


def _split(frame: pl.DataFrame) -> dict[tuple[str, int], pl.DataFrame]:
    if frame.height == 0:
        return {}
    parts = frame.partition_by(KEYS, as_dict=True, include_key=False, maintain_order=True)
    return {(str(k[0]), int(k[1])): v for k, v in parts.items()}


def write_notices(
    warehouse: Path,
    units: pl.DataFrame | None = None,
    *,
    monthly: pl.LazyFrame | None = None,
    published_files: dict[str, dict[int | None, str]] | None = None,
    files: Disk = DISK,
) -> list[Written]:
    """Write every monthly notice and quarterly analysis (and their workbooks and index) from the
    published monthly table; returns what exists per parent and year. ``monthly`` and
    ``published_files``: that table and the published files' digests (``inputs.published_digests``)
    of a version read already (lianjian/report/ahead.py; default: read from the version ``published``
    points to); ``files``: where the file operations go (lianjian/report/writes.py)."""
    from lianjian.report.load import _staged

    warehouse = Path(warehouse)
    if units is None:
        staged = _staged(warehouse, "units", ["unit_code", "unit_name", "level", "parent_code"])
        if staged is None:
            return []
        units = staged.with_columns(pl.col("level").cast(pl.String)).collect()
    root = warehouse / "reports"
    kept, digests = _unchanged_years(warehouse, root, published_files)
    if monthly is None:
        monthly = published_table(warehouse, TABLE)
    if digests:  # only the years whose notices are built (a notice compares months of one year)
        monthly = monthly.filter(pl.col("year").is_in([y for y in digests if y not in kept]))
    monthly = monthly.collect()
    rows = monthly_rows(monthly, units)
    notices, analyses = notice_frame(rows), analysis_frame(rows)
    n_parts, a_parts = _split(notices), _split(analyses)
    n_rendered, a_rendered = _prerender(notices, key="notice", tables=(TABLE,)), _prerender(analyses, key="analysis", tables=(TABLE,))
    n_facts, a_facts = notice_facts(notices), analysis_facts(analyses)
    n_columns, a_columns = notices.drop(KEYS).clear(), analyses.drop(KEYS).clear()
    names = dict(zip(units["unit_code"].to_list(), units["unit_name"].to_list()))
    per_parent: dict[tuple[str, int], dict[str, list]] = {}
    for (key, year) in sorted(n_parts):
        parent, mm = key.rsplit(".", 1)
        per_parent.setdefault((parent, year), {"months": [], "quarters": []})["months"].append(int(mm))
    for (key, year) in sorted(a_parts):
        parent, qq = key.rsplit(".", 1)
        per_parent.setdefault((parent, year), {"months": [], "quarters": []})["quarters"].append(int(qq[1:]))
    for year in digests:
        if year not in kept:
            forget(root / str(year) / "notices", files)
    written: list[Written] = []
    ready: set[Path] = set()  # folders made private once, not checked again for each file
    for (parent, year), have in sorted(per_parent.items()):
        folder = root / str(year) / "notices"
        if folder not in ready:
            files.mkdir(folder)
            ready.add(folder)
        name = names.get(parent, parent)
        book = f"{parent}.xlsx"
        common = [("报告索引", "../../index.html"), ("通报与分析索引", f"../../{INDEX}"), ("Excel 工作簿", book)]
        pages, sheets = [], []
        months, quarters = sorted(have["months"]), sorted(have["quarters"])
        for m in months:
            key = (f"{parent}.{m:02d}", year)
            links = list(common)
            if m - 1 in months:
                links.append((f"{m - 1}月通报", f"{parent}.{m - 1:02d}.html"))
            if m + 1 in months:
                links.append((f"{m + 1}月通报", f"{parent}.{m + 1:02d}.html"))
            if m % 3 == 0 and m // 3 in quarters:
                links.append((f"第{m // 3}季度分析", f"{parent}.Q{m // 3}.html"))
            page = folder / f"{parent}.{m:02d}.html"
            files.write_if_changed(page, notice_page(parent, name, year, m, n_facts[key], n_columns, n_rendered.get(key), links), folder_ready=True)
            pages.append(page)
            sheets.append(Sheet(f"{m}月通报", n_parts[key], source_note(TABLE), n_rendered.get(key)))
        for q in quarters:
            key = (f"{parent}.Q{q}", year)
            links = [*common, (f"{3 * q}月通报", f"{parent}.{3 * q:02d}.html")]
            page = folder / f"{parent}.Q{q}.html"
            files.write_if_changed(page, analysis_page(parent, name, year, q, a_facts[key], a_columns, a_rendered.get(key), links), folder_ready=True)
            pages.append(page)
            sheets.append(Sheet(f"第{q}季度分析", a_parts[key], source_note(TABLE), a_rendered.get(key)))
        title = f"{name} {year}年“三个规定”月通报与季分析"
        files.write_if_changed(folder / book, zip_bytes(workbook_parts(sheets, title=title)), folder_ready=True)
        written.append(Written(parent, year, tuple(pages), folder / book))
    for year, digest in digests.items():  # after the year's files: a run cut short leaves no record
        if year not in kept:
            done = [[w.parent_code, [p.name for p in w.pages], w.workbook.name] for w in written if w.year == year]
            remember(root / str(year) / "notices", digest, files=files, written=done)
    written = sorted([*written, *(w for ws in kept.values() for w in ws)], key=lambda w: (w.year, w.parent_code))
    files.write_if_changed(root / INDEX, notices_index(written, names))
    return written


def _unchanged_years(
    warehouse: Path, root: Path, published_files: dict[str, dict[int | None, str]] | None = None
) -> tuple[dict[int, list[Written]], dict[int, str | None]]:
    """(the years whose notices are those the last run wrote — same inputs, every file there — with
    what was written, per year; the inputs digest of every published year). Empty when the manifest
    does not list the monthly table's files: every year is built."""
    from lianjian.report import code_version
    from lianjian.report.inputs import published_digests, read_record, year_digests

    published = ((published_digests(warehouse) if published_files is None else published_files) or {}).get(TABLE)
    if not published:
        return {}, {}
    years = sorted(y for y in published if y is not None)
    digests = year_digests(warehouse, years, {TABLE: "year"}, code=code_version(), staged_years=False, published=published_files)
    kept: dict[int, list[Written]] = {}
    for year, digest in digests.items():
        folder = root / str(year) / "notices"
        record = read_record(folder) if digest is not None else None
        if record is None or record.get("inputs") != digest or not isinstance(record.get("written"), list):
            continue
        try:
            ws = [Written(parent, year, tuple(folder / p for p in pages), folder / book) for parent, pages, book in record["written"]]
        except (TypeError, ValueError):
            continue
        if all(p.is_file() for w in ws for p in (*w.pages, w.workbook)):
            kept[year] = ws
    return kept, digests


def notices_index(written: list[Written], names: dict[str, str]) -> bytes:
    """reports/notices.html: per year, every parent unit with its monthly notices, analyses and workbook."""
    parts: list[str] = []
    for year in sorted({w.year for w in written}, reverse=True):
        rows = []
        for w in sorted((w for w in written if w.year == year), key=lambda w: w.parent_code):
            rel = lambda p: f"{year}/notices/{p.name}"  # noqa: E731
            months = " ".join(f'<a href="{e(rel(p))}">{e(p.stem.rsplit(".", 1)[1].lstrip("0"))}月</a>'
                              for p in w.pages if not p.stem.rsplit(".", 1)[1].startswith("Q"))
            quarters = " ".join(f'<a href="{e(rel(p))}">第{e(p.stem.rsplit(".", 1)[1][1:])}季度</a>'
                                for p in w.pages if p.stem.rsplit(".", 1)[1].startswith("Q"))
            rows.append(
                f"<tr><td>{e(w.parent_code)}</td><td>{e(names.get(w.parent_code, ''))}</td><td>{months}</td>"
                f'<td>{quarters or "—"}</td><td><a href="{e(rel(w.workbook))}">Excel</a></td></tr>'
            )
        parts.append(
            f'<h2 id="y{year}">{year} 年度</h2><table data-year="{year}"><thead><tr><th>上级单位编码</th><th>上级单位</th>'
            f"<th>月通报</th><th>季分析</th><th>工作簿</th></tr></thead><tbody>" + "\n".join(rows) + "</tbody></table>"
        )
    body = parts or ['<p class="empty">尚无月通报数据（published/major_matter_report_monthly 为空）。</p>']
    return _page(
        "“三个规定”记录报告月通报与季分析索引",
        "每个上级单位每月一份通报（下级单位排名、零报告和少报告单位、较上月变化），每季度末一份分析（各单位趋势、领导干部报告占比）。",
        [("报告索引", "index.html")],
        body,
    )


__all__ = ["INDEX", "Written", "analysis_frame", "monthly_rows", "notice_frame", "write_notices"]
