"""The report as one self-contained HTML page: no script, no font, no image fetched from anywhere;
charts are inline SVG; Chinese text uses fonts a Windows or Kylin desktop already has; the print
layout is A4 with table headers repeated, rows never split across pages, the page number and page
count at the foot of every page (an ``@page`` margin box, drawn by Chromium-based browsers since
version 131), and dates and ids kept on one line (``td.k``)."""

from __future__ import annotations

import html
from datetime import datetime
from functools import lru_cache

import polars as pl

from lianjian.report.fmt import dec_text, escape, formula_like
from lianjian.report.model import Block, Chart, Report, Section
from lianjian.report.sections import METRICS

FONT_STACK = '"Microsoft YaHei", "微软雅黑", "SimSun", "宋体", "Noto Sans CJK SC", "WenQuanYi Micro Hei", sans-serif'

CSS = f"""
:root {{ --ink:#1f2328; --muted:#57606a; --line:#b6bcc4; --head:#eef1f4; --accent:#9a1b1b; }}
* {{ box-sizing: border-box; }}
body {{ font-family: {FONT_STACK}; color: var(--ink); margin: 0 auto; max-width: 1100px; padding: 16px 24px;
       font-size: 14px; line-height: 1.5; }}
h1 {{ font-size: 22px; margin: 0 0 4px; color: var(--accent); }}
h2 {{ font-size: 18px; border-bottom: 2px solid var(--accent); padding-bottom: 2px; margin: 24px 0 8px; }}
h3 {{ font-size: 15px; margin: 14px 0 4px; }}
.meta, .source, .intro {{ color: var(--muted); font-size: 12px; margin: 2px 0; }}
nav ol {{ columns: 2; font-size: 13px; margin: 6px 0; }}
nav a, .links a {{ color: #0b4f8a; }}
.metrics {{ display: grid; grid-template-columns: repeat(auto-fill, minmax(190px, 1fr)); gap: 8px; }}
.metric {{ border: 1px solid var(--line); border-radius: 4px; padding: 6px 8px; break-inside: avoid; }}
.metric .value {{ font-size: 22px; font-weight: bold; }}
.metric .name {{ font-size: 13px; }}
.metric .from {{ color: var(--muted); font-size: 11px; }}
figure {{ margin: 8px 0; break-inside: avoid; page-break-inside: avoid; }}
figcaption {{ font-size: 13px; font-weight: bold; }}
svg.chart {{ width: 100%; max-width: 680px; height: auto; font-family: {FONT_STACK}; }}
table {{ border-collapse: collapse; width: 100%; font-size: 12px; margin: 4px 0 8px; }}
th, td {{ border: 1px solid var(--line); padding: 2px 5px; vertical-align: top; overflow-wrap: anywhere; }}
th {{ background: var(--head); font-weight: bold; text-align: center; }}
td.n {{ text-align: right; white-space: nowrap; font-variant-numeric: tabular-nums; }}
td.k {{ white-space: nowrap; overflow-wrap: normal; }}
p.empty {{ color: var(--muted); font-style: italic; }}
@page {{ size: A4; margin: 14mm 12mm 16mm;
  @bottom-center {{ content: "第 " counter(page) " 页 / 共 " counter(pages) " 页"; font-family: {FONT_STACK};
                    font-size: 9pt; color: #57606a; }} }}
@media print {{
  body {{ max-width: none; padding: 0; font-size: 10.5pt; }}
  nav, .screen-only {{ display: none; }}
  h2 {{ break-after: avoid; page-break-after: avoid; }}
  h3, .source {{ break-after: avoid; page-break-after: avoid; }}
  table {{ font-size: 8.5pt; }}
  thead {{ display: table-header-group; }}
  tr, td, th {{ break-inside: avoid; page-break-inside: avoid; }}
  a {{ color: inherit; text-decoration: none; }}
}}
"""

COLORS = ("#2e7d32", "#1565c0", "#f9a825", "#c62828", "#9e9e9e", "#6a1b9a")


@lru_cache(maxsize=16384)
def _e_str(text: str) -> str:
    return html.escape(text, quote=True)


def e(text: object) -> str:
    """HTML-escaped text (None -> ""). Strings are cached: most are titles and notes every report repeats."""
    if type(text) is str:
        return _e_str(text)
    return html.escape("" if text is None else str(text), quote=True)


def _cell_text(name: str, dtype: pl.DataType, plain: bool = False) -> pl.Expr:
    """A cell's text, escaped. Numbers, dates and yes/no never hold a character HTML escapes, and
    neither does a ``plain`` text column (``plain_columns``): those are not escaped."""
    col = pl.col(name)
    if dtype.is_float():
        return dec_text(col).fill_null("")
    if dtype == pl.Date:
        return col.dt.strftime("%Y-%m-%d").fill_null("")
    if dtype == pl.Boolean:
        return pl.when(col).then(pl.lit("是")).otherwise(pl.lit("否")).fill_null("")
    if isinstance(dtype, pl.List):
        text = col.cast(pl.List(pl.String)).list.join(", ")
    elif dtype == pl.String:
        text = col
        if plain:
            return text.fill_null("")
    else:
        text = col.cast(pl.String)
        if dtype.is_numeric():
            return text.fill_null("")
    return escape(text).fill_null("")


#: A text that needs more than copying into a page's cell or a worksheet's: a character HTML or
#: XML escapes, a control character (XML cannot hold most; CR becomes LF) or U+FFFE/U+FFFF — and,
#: checked by ``fmt.formula_like`` itself, a start a spreadsheet reads as a formula.
SPECIAL_TEXT = r"""[\x00-\x1f\x{FFFE}\x{FFFF}&<>"']"""


def plain_columns(frame: pl.DataFrame) -> frozenset[str]:
    """The text columns of ``frame`` none of whose values holds ``SPECIAL_TEXT`` or starts like a
    formula (``fmt.formula_like``, the worksheets' own guard): their cells go into
    the page and the worksheet as they are, without the escapes and the cleaning that would give
    the same text (one scan of each text column instead of four rewrites)."""
    texts = [c for c, t in frame.schema.items() if t == pl.String]
    if not texts or frame.height == 0:
        return frozenset(texts)
    found = frame.select((pl.col(c).str.contains(SPECIAL_TEXT) | formula_like(pl.col(c))).any() for c in texts)
    return frozenset(c for c, special in zip(texts, found.get_columns()) if not special.item())


def row_html_expr(schema: pl.Schema | dict, keep: tuple[str, ...] = (), plain: frozenset[str] = frozenset()) -> pl.Expr:
    """One ``<tr>`` per row, every cell formatted and escaped by Polars (no Python loop over rows).
    Numbers are right-aligned; dates and the ``keep`` columns (ids) never wrap (class ``k``).
    ``plain``: text columns known to need no escape (``plain_columns``)."""
    cells = []
    for name, dtype in schema.items():
        cls = ' class="n"' if dtype.is_numeric() else ' class="k"' if dtype == pl.Date or name in keep else ""
        cells += [pl.lit(f"<td{cls}>"), _cell_text(name, dtype, name in plain), pl.lit("</td>")]
    return pl.concat_str([pl.lit("<tr>"), *cells, pl.lit("</tr>")])


@lru_cache(maxsize=1024)
def table_head(columns: tuple[str, ...], key: str, tables: tuple[str, ...]) -> str:
    heads = "".join(f"<th>{e(c)}</th>" for c in columns)
    return f'<table data-table="{e(key)}" data-source="{e(",".join(tables))}"><thead><tr>{heads}</tr></thead><tbody>\n'


def table_html(frame: pl.DataFrame, key: str, tables: tuple[str, ...], body: str | None = None) -> str:
    """A frame as an HTML table; ``body`` is its rows when already rendered (``row_html_expr``)."""
    if body is None:
        if frame.width == 0 or frame.height == 0:
            body = ""
        else:
            body = frame.select(row_html_expr(frame.schema).alias("r"))["r"].str.join("\n").item()
    return f"{table_head(tuple(frame.columns), key, tables)}{body}\n</tbody></table>"


def chart_svg(chart: Chart) -> str:
    """An inline SVG bar chart (horizontal bars for one series, vertical columns for several)."""
    return _bars(chart) if chart.kind == "bars" else _columns(chart)


def _num(v: float | None) -> str:
    if v is None:
        return "—"
    return str(int(v)) if float(v).is_integer() else f"{v:.2f}"


def _bars(chart: Chart) -> str:
    (name, values), = chart.series.items()
    width, left, row, top = 640, 110, 30, 8
    height = top * 2 + row * len(chart.categories)
    vmax = max([v for v in values if v] or [1])
    span = width - left - 60
    parts = []
    for i, (cat, v) in enumerate(zip(chart.categories, values)):
        y = top + i * row
        w = 0 if not v else max(span * v / vmax, 1)
        c, n = e(cat), _num(v)  # each shown three times
        parts.append(
            f'<text x="{left - 8}" y="{y + 19}" text-anchor="end" font-size="14">{c}</text>'
            f'<rect class="bar" x="{left}" y="{y + 4}" width="{w:.1f}" height="{row - 10}" fill="{COLORS[i % len(COLORS)]}"'
            f' data-category="{c}" data-value="{n}"><title>{c}：{n}</title></rect>'
            f'<text x="{left + w + 6:.1f}" y="{y + 19}" font-size="13">{n}</text>'
        )
    axis = f'<line x1="{left}" y1="{top}" x2="{left}" y2="{height - top}" stroke="#57606a"/>'
    return (
        f'<svg class="chart" data-chart="{e(chart.key)}" viewBox="0 0 {width} {height}" width="{width}" height="{height}"'
        f' role="img" aria-label="{e(chart.title)}" xmlns="http://www.w3.org/2000/svg">{axis}{"".join(parts)}</svg>'
    )


def _columns(chart: Chart) -> str:
    names = list(chart.series)
    n_cat = max(len(chart.categories), 1)
    width, height, left, bottom, top = 640, 260, 40, 56, 24
    slot = (width - left - 10) / n_cat
    bar = min(slot * 0.8 / max(len(names), 1), 48)
    vals = [v for vs in chart.series.values() for v in vs if v is not None]
    vmax = max(vals + [0]) or 1
    plot = height - top - bottom
    parts = [f'<line x1="{left}" y1="{height - bottom}" x2="{width - 10}" y2="{height - bottom}" stroke="#57606a"/>']
    series = [(e(name), chart.series[name], COLORS[k % len(COLORS)]) for k, name in enumerate(names)]
    width_text = f"{bar - 2:.1f}"
    for j, cat in enumerate(chart.categories):
        x0 = left + j * slot + (slot - bar * len(names)) / 2
        c = e(cat)  # shown in every series' bar and below them
        for k, (name, values, color) in enumerate(series):
            v = values[j]
            n = _num(v)
            h = 0 if not v else max(plot * v / vmax, 1)
            x, y = x0 + k * bar, height - bottom - h
            parts.append(
                f'<rect class="bar" x="{x:.1f}" y="{y:.1f}" width="{width_text}" height="{h:.1f}" fill="{color}"'
                f' data-category="{c}" data-series="{name}" data-value="{n}"><title>{c} {name}：{n}</title></rect>'
                f'<text x="{x + bar / 2 - 1:.1f}" y="{y - 3:.1f}" font-size="10" text-anchor="middle">{n}</text>'
            )
        parts.append(
            f'<text x="{left + j * slot + slot / 2:.1f}" y="{height - bottom + 16}" font-size="12" text-anchor="middle">{c}</text>'
        )
    legend = "".join(
        f'<rect x="{left + k * 150}" y="{height - 22}" width="12" height="12" fill="{COLORS[k % len(COLORS)]}"/>'
        f'<text x="{left + k * 150 + 16}" y="{height - 12}" font-size="12">{e(name)}</text>'
        for k, name in enumerate(names)
    )
    return (
        f'<svg class="chart" data-chart="{e(chart.key)}" viewBox="0 0 {width} {height}" width="{width}" height="{height}"'
        f' role="img" aria-label="{e(chart.title)}" xmlns="http://www.w3.org/2000/svg">{"".join(parts)}{legend}</svg>'
    )


@lru_cache(maxsize=1024)
def _block_head(key: str, title: str, source: str) -> str:
    return f'<h3 id="t-{e(key)}">{e(title)}</h3><p class="source">{e(source)}</p>'


def _block(block: Block, out: list[str | bytes]) -> None:
    out.append(_block_head(block.key, block.title, block.source))
    if block.rendered is not None and block.rendered.table is not None:  # made for every report at once
        out.append(block.rendered.table)
    elif not block.frame.height:
        out.append(f'<p class="empty" data-table="{e(block.key)}">{e(block.empty_text)}</p>')
    elif block.rendered is not None:
        out += [table_head(tuple(block.frame.columns), block.key, block.tables), block.rendered.html, "\n</tbody></table>"]
    else:
        out.append(table_html(block.frame, block.key, block.tables))


def _section(i: str, section: Section, out: list[str | bytes]) -> None:
    links = "".join(f' <a href="{e(href)}">{e(text)}</a>' for text, href in section.links)
    charts = "".join(
        f'<figure><figcaption>{e(c.title)}</figcaption>{chart_svg(c)}<p class="source">{e(section.source)}</p></figure>'
        for c in section.charts
    )
    intro = f'<p class="intro">{e(section.intro)}</p>' if section.intro else ""
    out.append(
        f'<section id="{e(section.key)}" data-section="{e(section.key)}"><h2>{i}、{e(section.title)}</h2>{intro}'
        f'{"<p class=links>" + links + "</p>" if links else ""}{charts}'
    )
    for b in section.blocks:
        _block(b, out)
    out.append("</section>")


def utf8(pieces: list[str | bytes]) -> bytes:
    """Text and UTF-8 pieces joined as UTF-8 (each run of text encoded once)."""
    out: list[bytes] = []
    text: list[str] = []
    for piece in pieces:
        if type(piece) is bytes:
            if text:
                out.append("".join(text).encode("utf-8"))
                text.clear()
            out.append(piece)
        else:
            text.append(piece)
    if text:
        out.append("".join(text).encode("utf-8"))
    return b"".join(out)


NUMERALS = "一二三四五六七八九十"


def _numeral(i: int) -> str:
    return NUMERALS[i - 1] if i <= len(NUMERALS) else str(i)


@lru_cache(maxsize=1)
def _metric_cards() -> list[tuple[str, str, str]]:
    """Per headline number: (key, its card's HTML before the value, after it)."""
    return [
        (
            m.key,
            f'<div class="metric" data-metric="{m.key}" data-source="{m.table}" data-rule="{m.rule}"><div class="value">',
            f'</div><div class="name">{e(m.title)}</div><div class="from">published/{m.table} · {m.rule}</div></div>',
        )
        for m in METRICS
    ]


def render_report(report: Report, *, links: list[tuple[str, str]]) -> bytes:
    """The whole page, as UTF-8. ``links``: (text, relative href) shown under the title (index,
    workbook, …)."""
    metrics = "".join(f"{before}{report.metrics[key]}{after}" for key, before, after in _metric_cards())
    toc = "".join(f'<li><a href="#{e(s.key)}">{e(s.title)}</a></li>' for s in report.sections)
    parent = f"；上级单位：{report.parent_name or ''}（{report.parent_code}）" if report.parent_code else ""
    scope = f"；覆盖 {report.units_covered} 个单位" if report.rollup else ""
    versions = "、".join(report.rules_versions) or "—"
    link_html = " · ".join(f'<a href="{e(h)}">{e(t)}</a>' for t, h in links)
    out: list[str | bytes] = [
        f"""<!DOCTYPE html>
<html lang="zh-CN"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; img-src data:">
<title>{e(report.title)}</title><style>{CSS}</style></head>
<body data-report="{e(report.report_key)}" data-unit="{e(report.unit_code)}" data-year="{report.year}">
<header><h1>{e(report.title)}</h1>
<p class="meta">单位编码 {e(report.unit_code)}（{e(report.level)}）{e(parent)}{e(scope)}；年度 {report.year}；规则版本 {e(versions)}；生成于 {datetime.now().strftime("%Y-%m-%d")}</p>
<p class="links screen-only">{link_html}</p></header>
<nav><ol>{toc}</ol></nav>
<section id="summary" data-section="summary"><h2>要点</h2>
<p class="intro">每个数字下注明其来源的发布表和规则编号（见 rules/default.yaml 与 docs/rules.md）。</p>
<div class="metrics">{metrics}</div></section>
"""
    ]
    for i, section in enumerate(report.sections, 1):
        _section(_numeral(i), section, out)
    out.append("\n</body></html>\n")
    return utf8(out)


def render_index(
    entries: pl.DataFrame, *, has_data_docs: bool, quality: pl.DataFrame | None = None, has_notices: bool = False
) -> str:
    """The index page: one table per year, every unit with its report, workbook and roll-up; the
    whole run's data quality per source (``quality``: rows read, accepted, rejected, duplicate, and
    rejected rows that belong to no unit's report — the units' reports show their own rows only);
    links to the validation report and to the "三个规定" monthly notices (``notices.html``) when written."""
    years = entries["year"].unique().sort(descending=True).to_list()
    parts = []
    for year in years:
        rows = entries.filter(pl.col("year") == year).sort("unit_code")
        cells = rows.select(
            pl.concat_str(
                [
                    pl.lit("<tr><td>"), escape(pl.col("unit_code")), pl.lit("</td><td>"),
                    escape(pl.col("unit_name")), pl.lit("</td><td>"), escape(pl.col("level")), pl.lit("</td><td>"),
                    escape(pl.col("parent_code").fill_null("")), pl.lit('</td><td><a href="'),
                    escape(pl.col("html")), pl.lit('">报告</a> · <a href="'), escape(pl.col("xlsx")), pl.lit('">Excel</a></td><td>'),
                    pl.when(pl.col("rollup_html").is_not_null())
                    .then(pl.concat_str([pl.lit('<a href="'), escape(pl.col("rollup_html")), pl.lit('">汇总报告</a> · <a href="'),
                                         escape(pl.col("rollup_xlsx")), pl.lit('">Excel</a>')]))
                    .otherwise(pl.lit("")),
                    pl.lit("</td></tr>"),
                ]
            ).alias("r")
        )["r"]
        parts.append(
            f'<h2 id="y{year}">{year} 年度</h2><table data-year="{year}"><thead><tr><th>单位编码</th><th>单位名称</th>'
            f"<th>层级</th><th>上级单位</th><th>本单位报告</th><th>汇总报告（含下级单位）</th></tr></thead><tbody>"
            + "\n".join(cells.to_list())
            + "</tbody></table>"
        )
    docs = '<p><a href="data_docs/index.html">数据校验报告（Great Expectations）</a></p>' if has_data_docs else ""
    if quality is not None and quality.height:
        docs += (
            '<h2 id="quality">本次运行的数据质量（全部单位）</h2><p class="intro">各数据源读取、接收、拒收和重复的行数'
            "（读取 = 接收 + 拒收 + 重复）；拒收行的明细见 published/rejected_records。各单位报告的“数据质量”只列本单位当年的行；"
            "无法归属单位或年度的拒收行只在这里。</p>" + table_html(quality, "index_quality", ("rejected_records",))
        )
    if has_notices:
        docs += '<p><a href="notices.html">“三个规定”记录报告月通报与季分析</a></p>'
    toc = " · ".join([*(f'<a href="#y{y}">{y}</a>' for y in years), *(['<a href="#quality">数据质量</a>'] if quality is not None and quality.height else [])])
    return f"""<!DOCTYPE html>
<html lang="zh-CN"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'">
<title>廉检年度报告索引</title><style>{CSS}</style></head>
<body><h1>廉检年度报告索引</h1><p class="meta">各单位廉洁从检评估、党风廉政考核等年度报告（HTML 可打印为 A4；Excel 可转发批注）。</p>
<nav>{toc}</nav>{docs}{"".join(parts)}</body></html>
"""
