"""Assemble the yearly reports: every section frame is computed once for all reports and years
(one ``collect_all``), then split by (report_key, year) into ``Report`` objects."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace
from functools import lru_cache

import polars as pl

from lianjian.contract import ENUMS, PUBLISHED
from lianjian.report import sections as s
from lianjian.report.fmt import UNGRADED, zh
from lianjian.report.load import ReportInputs, materialized
from lianjian.report.html import plain_columns, row_html_expr, table_head
from lianjian.report.model import Block, Chart, Rendered, Report, Section, source_note
from lianjian.report.quality import roster_of, unit_year_counts
from lianjian.report.scope import report_scopes, subtree_pairs
from lianjian.report.xlsx import clean_columns, row_xml_expr, sheet_expr, width_exprs

KEYS = s.KEYS
OWN_ONLY = "（仅本单位）"
LEVELS = {code: ENUMS["level"].label(code) for code in ENUMS["level"].codes}


#: The published tables each block's numbers come from (named in its table's attributes and its
#: sheet's note), by block key.
BLOCK_TABLES: dict[str, tuple[str, ...]] = {
    "children": ("integrity_assessment", "major_matter_report_stats"),
    "integrity_grades": ("integrity_assessment",),
    "integrity_poor": ("integrity_assessment",),
    "responsibility_grades": ("responsibility_assessment",),
    "responsibility_subjects": ("responsibility_assessment",),
    "talks_by_department": ("talk_obligations",),
    "talks_todo": ("talk_obligations",),
    "case_quality": ("case_quality",),
    "special_pending": ("case_quality",),
    "leader_cases": ("leader_case_handling",),
    "quality": ("rejected_records",),
    "triggers": ("accountability_triggers",),
    "major_matters": ("major_matter_report_stats",),
}


def _split(frame: pl.DataFrame) -> dict[tuple[str, int], pl.DataFrame]:
    parts = frame.partition_by(KEYS, as_dict=True, include_key=False, maintain_order=True)
    return {(str(k[0]), int(k[1])): v for k, v in parts.items()}


def _prerender(
    frame: pl.DataFrame, keep: tuple[str, ...] = (), *, key: str = "", tables: tuple[str, ...] = ()
) -> dict[tuple[str, int], Rendered]:
    """Render one section frame for every report at once: per (report_key, year) the whole HTML
    ``<table>`` of its block (``keep``: columns that never wrap; ``key`` and ``tables``: the
    block's, named in the table's attributes) and its whole worksheet part (rows numbered from 2
    within the report, column widths fitted to the widest value, the note of ``tables`` beside
    the header) — one select, one group_by and one concatenation per kind of part, so a report
    only joins ready bytes."""
    if frame.height == 0:
        return {}
    display = tuple((c, t) for c, t in frame.schema.items() if c not in KEYS)
    plain = plain_columns(frame.select(c for c, _ in display))
    row_html, cleaned, row_xml, aggs, parts = _render_exprs(display, keep, key, tables, plain)
    grouped = (
        frame.select(*KEYS, row_html, *cleaned)
        .with_columns(_row=(pl.int_range(pl.len()).over(KEYS) + 2).cast(pl.String))
        .with_columns(row_xml)
        .group_by(KEYS, maintain_order=True)
        .agg(*aggs)
        .select(*KEYS, *parts, "_n", *(f"_w{j}" for j in range(len(display))))
    )
    out: dict[tuple[str, int], Rendered] = {}
    for report_key, year, table, sheet, n, *widths in grouped.iter_rows():  # one per report and year, not per data row
        out[(str(report_key), int(year))] = Rendered(b"", b"", tuple(widths), table, sheet, n)
    return out


@lru_cache(maxsize=256)
def _render_exprs(
    display: tuple[tuple[str, pl.DataType], ...],
    keep: tuple[str, ...],
    key: str,
    tables: tuple[str, ...],
    plain: frozenset[str] = frozenset(),
) -> tuple[pl.Expr, list[pl.Expr], pl.Expr, list[pl.Expr], list[pl.Expr]]:
    """``_prerender``'s expressions for one kind of block (its columns, their types, its table,
    which of its text columns need no escape: html.plain_columns), made once per process instead
    of for every year and task (a few hundred ``pl.lit``, ≈ 3 ms a kind)."""
    schema = dict(display)
    columns = tuple(schema)
    cleaned, cleaned_schema = clean_columns(schema, plain)
    aggs = [pl.col("_html").str.join("\n"), pl.col("_xml").str.join(""), *width_exprs(list(columns)), pl.len().alias("_n")]
    table = pl.concat_str([pl.lit(table_head(columns, key, tables)), pl.col("_html"), pl.lit("\n</tbody></table>")])
    sheet = sheet_expr(columns, source_note(*tables), pl.col("_n"), pl.col("_xml"), [pl.col(f"_w{j}") for j in range(len(columns))])
    return (
        row_html_expr(schema, keep, plain).alias("_html"),
        cleaned,
        row_xml_expr(cleaned_schema, plain).alias("_xml"),
        aggs,
        [table.cast(pl.Binary).alias("_table"), sheet.cast(pl.Binary).alias("_sheet")],  # handed over as UTF-8 bytes
    )


def year_view(inputs: ReportInputs, year: int | Sequence[int]) -> ReportInputs:
    """The inputs the reports of one year (or of a few years: a sequence) need: the yearly tables,
    names and departments of those years only, and the "三个规定" statistics of those years and the
    years before them (the trend and its medians). Lazy: filters on the scans, so reading it reads
    only those years' partitions."""
    if isinstance(year, int):
        last, of_years = year, pl.col("year") == year
    else:
        last, of_years = max(year), pl.col("year").is_in(sorted(year))
    tables = {}
    for name, frame in inputs.tables.items():
        if name == "major_matter_report_stats":
            tables[name] = frame.filter(pl.col("year") <= last)
        elif PUBLISHED[name].yearly:
            tables[name] = frame.filter(of_years)
        else:
            tables[name] = frame
    return replace(
        inputs,
        tables=tables,
        people=inputs.people.filter(of_years),
        departments=inputs.departments.filter(of_years),
    )


def year_inputs(inputs: ReportInputs, year: int | Sequence[int]) -> ReportInputs:
    """``year_view`` read into memory once (one ``collect_all``)."""
    return materialized(year_view(inputs, year))


#: Tables kept whole when a run is restricted to some units: "三个规定" (a unit's row shows the median
#: of every unit under the same parent) and the ones without a unit (rejected records).
WHOLE_TABLES = ("major_matter_report_stats", "rejected_records")


def restricted(inputs: ReportInputs, units: pl.Series) -> ReportInputs:
    """``inputs`` (in memory) with only the rows of ``units`` in the per-unit tables: every section
    joins its table to the report's units, so the reports covering only these units come out the
    same, from a fraction of the rows."""
    names = [n for n in inputs.tables if n not in WHOLE_TABLES]
    keep = pl.col("unit_code").is_in(units.implode())
    frames = pl.collect_all([inputs.tables[n].filter(keep) for n in names] + [inputs.departments.filter(keep)])
    return replace(
        inputs,
        tables={**inputs.tables, **{n: f.lazy() for n, f in zip(names, frames)}},
        departments=frames[-1].lazy(),
    )


@dataclass(frozen=True)
class Shared:
    """What every report of every year needs, computed once per process."""

    scopes: pl.DataFrame  # report_scopes(units)
    pairs: pl.DataFrame  # subtree_pairs(units)
    quality: pl.DataFrame  # unit_code, year, source, accepted, rejected (quality.unit_year_counts)
    streaks: pl.DataFrame | None = None  # sections.streak_years: 连续两年较差 year by year (all years)


def shared(inputs: ReportInputs) -> Shared:
    quality = unit_year_counts(inputs.warehouse, inputs.table("rejected_records"), roster_of(inputs))
    return Shared(report_scopes(inputs.units), subtree_pairs(inputs.units), quality, s.streak_years(inputs))


def chunk_reports(
    common: Shared, inputs: ReportInputs, years: Sequence[int], report_keys: Sequence[str] | None = None
) -> Iterator[Report]:
    """The reports of ``years`` (``inputs``: those years' ``year_inputs``), year by year, or only
    those of ``report_keys``: every section frame computed once for all of them, then split by
    report and year. A chunk of reports reads only the rows of the units it covers (``restricted``).
    Several years in one chunk make one plan of each section for all of them instead of one a year:
    a small warehouse's reports are mostly that fixed work (``write_reports``' ``ONE_TASK_REPORTS``)."""
    scopes = common.scopes
    if report_keys is not None:
        scopes = scopes.filter(pl.col("report_key").is_in(list(report_keys)))
        inputs = restricted(inputs, scopes["unit_code"].unique())
    yield from _year_reports(inputs, scopes, common.pairs, list(years), common.quality, common.streaks)


def build_reports(
    inputs: ReportInputs, *, report_keys: list[str] | None = None, years: list[int] | None = None
) -> Iterator[Report]:
    """Every report (own and roll-up) for every year, or only those asked for: one year at a time
    (that year's rows read once, every section frame computed once for all its reports, then
    split), so memory holds one year's reports, not all of them."""
    all_years = s.report_years(inputs)
    years = sorted(set(all_years) if years is None else set(years))
    common = shared(inputs)
    for year in years:
        yield from chunk_reports(common, year_inputs(inputs, year), [year], report_keys)


def _year_reports(
    inputs: ReportInputs,
    scopes_df: pl.DataFrame,
    pairs: pl.DataFrame,
    years: list[int],
    quality: pl.DataFrame,
    streaks: pl.DataFrame | None = None,
) -> Iterator[Report]:
    scopes = scopes_df.lazy()
    # lists of people: the report's unit itself. A roll-up lists those of its own unit, as the unit's
    # own report does, so they are computed once per unit, keyed by the unit's own report (OWN_BLOCKS)
    own = scopes.filter(pl.col("depth") == 0).select(report_key="unit_code", unit_code="unit_code").unique()
    near = scopes.filter(pl.col("depth") <= 1)  # "三个规定": the unit and its direct children
    metrics = s.unit_metrics(inputs, years)
    report_keys = scopes_df["report_key"].unique().implode()  # a filter keeps the rows' order, a semi join need not
    plan = {
        "headline": s.headline(metrics, scopes),
        "children": s.children_overview(inputs, metrics, pairs).filter(pl.col("report_key").is_in(report_keys)),
        "integrity_grades": s.grade_distribution("integrity_assessment", scopes, inputs, years),
        "integrity_poor": s.integrity_poor(inputs, own),
        "responsibility_grades": s.grade_distribution("responsibility_assessment", scopes, inputs, years),
        "responsibility_subjects": s.responsibility_subjects(inputs, own),
        "triggers": s.triggers(inputs, scopes, limit=s.ROLLUP_LIST_LIMIT, streaks=streaks),
        "talks_by_department": s.talks_by_department(inputs, own),
        "talks_todo": s.talks_todo(inputs, own),
        "case_quality": s.case_quality_by_category(inputs, scopes),
        "quality": s.data_quality(quality.lazy().filter(pl.col("year").is_in(years)), scopes, years),
        "special_pending": s.special_pending(inputs, own),
        "leader_cases": s.leader_cases(inputs, own),
        "major_matters": s.major_matter_trend(inputs, near, years),
        "rules_versions": pl.concat(
            [
                inputs.table(t)
                .select("unit_code", "year", "rules_version")
                .unique()
                .join(scopes.select("report_key", "unit_code"), on="unit_code")
                .select(*KEYS, "rules_version")
                for t in ("integrity_assessment", "responsibility_assessment")
            ]
        )
        .drop_nulls("rules_version")
        .unique()
        .sort(KEYS + ["rules_version"]),
    }
    names = list(plan)
    frames = dict(zip(names, pl.collect_all([plan[n] for n in names])))
    frames["integrity_grades"] = frames["integrity_grades"].rename({"占比": "占比（%）"})
    frames["responsibility_grades"] = frames["responsibility_grades"].rename({"人数": "对象数", "占比": "占比（%）"})
    charts = _chart_data(frames)
    metric_keys = [m.key for m in s.METRICS]
    headlines = {(str(r[0]), int(r[1])): r[2:] for r in frames["headline"].select(*KEYS, *metric_keys).iter_rows()}
    versions = dict(_lists(frames["rules_versions"], "rules_version"))
    shown = [n for n in names if n not in ("headline", "rules_versions")]
    split = {n: _split(frames[n]) for n in shown}
    empties = {n: frames[n].drop(KEYS).clear() for n in shown}
    rendered = {n: _prerender(frames[n], s.KEEP_TOGETHER.get(n, ()), key=n, tables=BLOCK_TABLES[n]) for n in shown}
    del frames
    units = inputs.units  # each unit's name, level and parent as Python values once (not a frame row per report)
    unit_of = {r[0]: r for r in units.select("unit_code", "unit_name", "level", "parent_code").iter_rows()}
    covered = scopes_df.group_by("report_key").agg(n=pl.len(), report_unit=pl.first("report_unit"), rollup=pl.first("rollup"))
    # year by year, a unit's own report, then its roll-up (which shows the same lists of its own
    # unit: their worksheet parts are deflated once, xlsx.zip_bytes)
    order = covered.sort("report_unit", "rollup").rows()  # one per report
    for year, (report_key, n_units, report_unit, rollup) in ((y, r) for y in years for r in order):
        _, unit_name, level, parent = unit_of[report_unit]
        parent_name = unit_of[parent][1] if parent in unit_of else None
        key, own_key = (report_key, year), (report_unit, year)

        def part(name: str) -> pl.DataFrame:
            return split[name].get(own_key if name in OWN_BLOCKS else key, empties[name])

        def rend(name: str) -> Rendered | None:
            return rendered[name].get(own_key if name in OWN_BLOCKS else key)

        def chart(name: str) -> tuple:
            return charts[name].get(key, NO_CHART_DATA[name])

        head = headlines.get(key)
        metric_values = {k: int(head[i]) if head is not None else 0 for i, k in enumerate(metric_keys)}
        yield Report(
            report_key=report_key,
            unit_code=report_unit,
            unit_name=unit_name,
            level=LEVELS.get(level, level or ""),
            parent_code=parent,
            parent_name=parent_name,
            rollup=bool(rollup),
            year=year,
            units_covered=int(n_units),
            rules_versions=versions.get(key, []),
            metrics=metric_values,
            sections=_sections(part, rend, chart, inputs, bool(rollup), year, metric_values),
        )


#: The blocks that list the people (or rows) of the report's own unit only — in a roll-up too
#: ("（仅本单位）"): their frames are computed once per unit, under the unit's own report key, and a
#: roll-up shows its unit's.
OWN_BLOCKS = frozenset(
    {"integrity_poor", "responsibility_subjects", "talks_by_department", "talks_todo", "special_pending", "leader_cases"}
)


def _lists(frame: pl.DataFrame, *columns: str | pl.Expr) -> Iterator[tuple[tuple[str, int], tuple]]:
    """Per (report_key, year) of ``frame``, in its order, each of ``columns`` as a list (rows kept in order)."""
    grouped = frame.group_by(KEYS, maintain_order=True).agg(*columns)
    for report_key, year, *values in grouped.iter_rows():  # one per report, not per data row
        yield (str(report_key), int(year)), (values[0] if len(values) == 1 else tuple(values))


#: ``_chart_data`` of a report with no rows in the section frame.
NO_CHART_DATA: dict[str, tuple] = {
    "integrity_grades": ([], []),
    "responsibility_grades": ([], []),
    "major_matters": ([], [], [], [], [], [], 0),
}


def _chart_data(frames: dict[str, pl.DataFrame]) -> dict[str, dict[tuple[str, int], tuple]]:
    """What the charts and the "三个规定" intro show, taken from the section frames for every report
    and year at once: per (report_key, year), the lists each one needs."""
    t = "major_matter_report_stats"
    rate, year_col, code = zh(t, "per_hundred_staff"), zh(t, "year"), zh(t, "unit_code")
    this_year = pl.col("_this_year")  # a row of the report's own year (the trend shows the years before it too)
    name = pl.col("单位").fill_null(pl.col(code))
    zero = this_year & (pl.col(zh(t, "zero_report")) == "是")
    return {
        "integrity_grades": dict(_lists(frames["integrity_grades"], pl.col("等次"), pl.col("人数").cast(pl.Float64))),
        "responsibility_grades": dict(_lists(frames["responsibility_grades"], pl.col("等次"), pl.col("对象数").cast(pl.Float64))),
        "major_matters": dict(
            _lists(
                frames["major_matters"].with_columns(_this_year=pl.col(year_col) == pl.col("year")),
                name.filter(this_year).alias("units_this_year"),
                pl.col(rate).filter(this_year).alias("rates_this_year"),
                pl.col(year_col).cast(pl.String).alias("years"),
                pl.col(rate).alias("rates"),
                pl.col("上级单位中位数").alias("medians"),
                name.filter(zero).head(s.ZERO_NAMES_LIMIT).alias("zero_names"),
                zero.sum().alias("zero_count"),
            )
        ),
    }


def _grade_chart(key: str, title: str, lists: tuple, unit: str) -> Chart:
    categories, values = lists
    return Chart(key=key, title=title, kind="bars", categories=categories, series={unit: values})


def _sections(
    part,
    rend,
    chart,
    inputs: ReportInputs,
    rollup: bool,
    year: int,
    metrics: dict[str, int],
) -> list[Section]:
    own = OWN_ONLY if rollup else ""  # a roll-up lists the people of its own unit only
    trigger_rows = part("triggers")
    shown_triggers = trigger_rows.height
    trigger_note = (
        f" 共 {metrics['triggers']} 条，此处仅列前 {shown_triggers} 条，其余见各下级单位报告。"
        if metrics["triggers"] > shown_triggers
        else ""
    )
    out: list[Section] = []
    if rollup:
        out.append(
            Section(
                key="children",
                title="下级单位一览",
                tables=("integrity_assessment", "responsibility_assessment", "accountability_triggers", "talk_obligations", "case_quality", "leader_case_handling", "major_matter_report_stats"),
                intro=(
                    "每个直属下级单位一行，数字为该单位及其下级单位之和。等次分布、办案质量和要点数字覆盖全部下级单位；"
                    "人员清单（较差人员、考核对象、待谈清单、待核定案件）和领导干部办案只列本单位，下级单位的清单见其各自的报告。"
                ),
                blocks=[Block("children", "下级单位一览", "下级单位", part("children"), BLOCK_TABLES["children"], rendered=rend("children"))],
            )
        )
    out += [
        Section(
            key="integrity",
            title="廉洁从检评估等次分布",
            tables=("integrity_assessment",),
            intro=f"按总分评定等次；一票否决者为较差；缺少部门综合分析的为“{UNGRADED}”（材料不全）。",
            charts=[_grade_chart("integrity_grades", "廉洁从检评估等次分布（人）", chart("integrity_grades"), "人数")],
            blocks=[
                Block("integrity_grades", "等次分布", "廉洁从检评估", part("integrity_grades"), BLOCK_TABLES["integrity_grades"], rendered=rend("integrity_grades")),
                Block("integrity_poor", "评估为较差的干警" + own, "廉洁从检评估较差", part("integrity_poor"), BLOCK_TABLES["integrity_poor"], rendered=rend("integrity_poor")),
            ],
        ),
        Section(
            key="responsibility",
            title="党风廉政考核等次分布",
            tables=("responsibility_assessment",),
            intro="考核对象：党组、党组书记、班子成员、部门负责人、纪检组。",
            charts=[_grade_chart("responsibility_grades", "党风廉政考核等次分布（个）", chart("responsibility_grades"), "对象数")],
            blocks=[
                Block("responsibility_grades", "等次分布", "党风廉政考核", part("responsibility_grades"), BLOCK_TABLES["responsibility_grades"], rendered=rend("responsibility_grades")),
                Block("responsibility_subjects", "考核对象得分" + own, "党风廉政考核对象", part("responsibility_subjects"), BLOCK_TABLES["responsibility_subjects"], rendered=rend("responsibility_subjects")),
            ],
        ),
        Section(
            key="triggers",
            title="问责触发",
            tables=("accountability_triggers",),
            intro="连续两年较差、下一年度内又发生严重违纪、一案双查；依据为所引条款；证据为违纪记录编号，连续两年较差为连续各年度的等次与总分。" + trigger_note,
            blocks=[Block("triggers", "问责触发及依据", "问责触发", trigger_rows, BLOCK_TABLES["triggers"], "本年度无问责触发", rendered=rend("triggers"))],
        ),
        Section(
            key="talks",
            title="谈话义务履行情况",
            tables=("talk_obligations",),
            intro="三谈话与六必谈：按部门和谈话类型统计应谈与已谈；待谈清单列出尚未履行的义务及责任人。",
            blocks=[
                Block("talks_by_department", "按部门和类型统计" + own, "谈话履行", part("talks_by_department"), BLOCK_TABLES["talks_by_department"], rendered=rend("talks_by_department")),
                Block("talks_todo", "待谈清单（尚未履行）" + own, "待谈清单", part("talks_todo"), BLOCK_TABLES["talks_todo"], "全部谈话义务已履行", rendered=rend("talks_todo")),
            ],
        ),
        Section(
            key="cases",
            title="办案质量与待核定案件",
            tables=("case_quality",),
            intro="本年度办结案件的评查结果；需分层核定的特殊案件须经部门领导和分管领导核定。",
            blocks=[
                Block("case_quality", "按案件类别统计", "办案质量", part("case_quality"), BLOCK_TABLES["case_quality"], rendered=rend("case_quality")),
                Block("special_pending", "待核定的特殊案件（按承办人）" + own, "待核定案件", part("special_pending"), BLOCK_TABLES["special_pending"], "无待核定案件", rendered=rend("special_pending")),
            ],
        ),
        Section(
            key="leaders",
            title="领导干部办案",
            tables=("leader_case_handling",),
            blocks=[Block("leader_cases", "员额内领导干部办案" + own, "领导干部办案", part("leader_cases"), BLOCK_TABLES["leader_cases"], rendered=rend("leader_cases"))],
        ),
        _major_matter_section(part("major_matters"), rend("major_matters"), chart("major_matters"), rollup, year),
        Section(
            key="quality",
            title="数据质量",
            tables=("rejected_records",),
            intro=(
                f"{'本单位及下级单位' if rollup else '本单位'} {year} 年各数据源接收和拒收的行数：按每行的单位编码"
                "（谈话、评分、违纪等按所涉人员当年所在单位）和年度归属；接收的行取自暂存层，拒收的行取自"
                " published/rejected_records（明细见该表）。全部单位的读取、重复和无法归属单位的拒收行数见报告索引页。"
            ),
            blocks=[Block("quality", "各数据源接收与拒收", "数据质量", part("quality"), BLOCK_TABLES["quality"], rendered=rend("quality"))],
            links=[("数据校验报告（Great Expectations）", "../data_docs/index.html")] if inputs.data_docs else [],
        ),
    ]
    return out


def _major_matter_section(frame: pl.DataFrame, rendered: Rendered | None, lists: tuple, rollup: bool, year: int) -> Section:
    t = "major_matter_report_stats"
    rate = zh(t, "per_hundred_staff")
    units_this_year, rates_this_year, years, rates, medians, zero_names, zero_count = lists
    if rollup:  # every unit this year against the median of the units covered
        chart = Chart(
            key="major_matters",
            title=f"{year} 年各单位每百人报告数",
            kind="columns",
            categories=units_this_year,
            series={rate: rates_this_year},
        )
    else:  # this unit over the years against its parent's median
        chart = Chart(
            key="major_matters",
            title="每百人报告数：本单位与上级单位中位数",
            kind="columns",
            categories=years,
            series={"本单位": rates, "上级单位中位数": medians},
        )
    intro = "领导干部干预司法活动、插手具体案件处理，内部人员过问案件，与当事人、律师等不当接触交往的记录报告。"
    if rollup:
        intro += " 汇总报告列本单位和直属下级单位。"
    if zero_count:
        more = f"等 {zero_count} 个单位" if zero_count > len(zero_names) else ""
        intro += f" 零报告单位：{'、'.join(zero_names)}{more}。"
    return Section(
        key="major_matters",
        title='"三个规定"记录报告',
        tables=(t,),
        intro=intro,
        charts=[chart],
        blocks=[Block("major_matters", "历年报告数与每百人报告数", "三个规定", frame, BLOCK_TABLES["major_matters"], rendered=rendered)],
    )
