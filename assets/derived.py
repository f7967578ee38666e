"""Assets of the derived layer: R1 talk obligations, R5 leaders handling cases, R6 case quality, R7
"三个规定" report statistics, R9 the monthly "三个规定" notice, R10 the review leads (a restricted
output). Thin wrappers: the logic is in ``lianjian.scoring.{talks,cases,reports,monthly,leads}``;
each asset reads staged tables, loads the rules file from the ``lianjian`` resource, and returns the
table sorted by its key.

Not ``from __future__ import annotations`` here: Dagster inspects the ``context`` annotation at
definition time and needs the real class.
"""


import dagster as dg
import polars as pl
from dagster import AssetExecutionContext

from lianjian.clock import RUN_DATE_ENV, run_date  # noqa: F401 - RUN_DATE_ENV: where the run date comes from
from lianjian.contract import PUBLISHED, RESTRICTED, SOURCES
from lianjian.publish.lineage import dagster_column_lineage
from lianjian.scoring.cases import case_quality, leader_case_handling
from lianjian.scoring.leads import review_leads
from lianjian.scoring.monthly import major_matter_report_monthly
from lianjian.scoring.reports import major_matter_report_stats
from lianjian.scoring.talks import talk_obligations
from pipelines.io_manager import table_schema
from pipelines.partitions import YEARS, context_years
from pipelines.resources import LianjianSettings

GROUP = "derived"
KINDS = {"polars", "parquet"}
CODE_VERSION = "derived-1"


def _staged(source: str) -> dg.AssetIn:
    return dg.AssetIn(key=["staged", source])


def _metadata(table: str) -> dict:
    """The published (or restricted) schema with the Chinese column names, known before the first
    run, and the column lineage declared in the contract (a derived table reads staged tables only)."""
    t = {**PUBLISHED, **RESTRICTED}[table]
    return {
        "dagster/column_schema": table_schema(t.schema(), {c.name: c.zh for c in t.columns}),
        "dagster/column_lineage": dagster_column_lineage(table, upstream=[("staged", s) for s in SOURCES]),
    }


def _done(context: AssetExecutionContext, frame: pl.LazyFrame, **counts: pl.Expr) -> pl.DataFrame:
    """Keep the run's years (the filter is pushed down into the plan by Polars), collect, and record
    a few counts (never a person) on each year's materialization — that year's counts, not the
    whole run's. Not sorted here: each scoring function gives its rows sorted by the table key
    already (tests/test_scoring_outputs.py), and a second sort cost R1 about a tenth of its CPU
    (5.4 M rows at national; docs/performance.md, "Evidence in publish's order"). Made one chunk, as
    the sort made it: the bytes of a Parquet file follow the chunks of the frame written, and a
    year file's digest decides whether the steps after it compute that year again
    (lianjian/yearkeep.py)."""
    out = frame.filter(pl.col("year").is_in(context_years(context))).collect().rechunk()
    if counts:
        per_year = out.group_by("year").agg(**{k: e.cast(pl.Int64) for k, e in counts.items()})
        by_year = {row.pop("year"): row for row in per_year.iter_rows(named=True)}
        for key in context.partition_keys:
            values = by_year.get(int(key), {})
            context.add_asset_metadata({k: dg.MetadataValue.int(int(values.get(k) or 0)) for k in counts}, partition_key=key)
    return out


@dg.asset(
    key=["derived", "talk_obligations"],
    group_name=GROUP,
    partitions_def=YEARS,
    metadata=_metadata("talk_obligations"),
    description=(
        "谈话义务（R1，连云港意见 二（一）至（三））：每名在岗干警的家人廉政谈话、部门领导半年谈话、分管领导年度谈话，"
        "以及每个人事事件的六必谈；责任人、应谈期间、是否履行及最早的履行谈话。"
        " Talk obligations (R1): family, department-leader (per half), supervising-leader and must-talk "
        "obligations, who is responsible, when due, and the earliest talk that fulfils each."
    ),
    ins={
        "roster": _staged("personnel"),
        "departments": _staged("departments"),
        "events": _staged("personnel_events"),
        "talks": _staged("talks"),
    },
    owners=["team:jijian"],
    kinds=KINDS,
    code_version=CODE_VERSION,
    tags={"rule": "R1"},
)
def talk_obligations_asset(
    context: AssetExecutionContext,
    lianjian: LianjianSettings,
    roster: pl.LazyFrame,
    departments: pl.LazyFrame,
    events: pl.LazyFrame,
    talks: pl.LazyFrame,
) -> pl.DataFrame:
    return _done(
        context,
        talk_obligations(roster, departments, events, talks, lianjian.load_rules()),
        obligations=pl.len(),
        fulfilled=pl.col("fulfilled").sum(),
    )


@dg.asset(
    key=["derived", "case_quality"],
    group_name=GROUP,
    partitions_def=YEARS,
    metadata=_metadata("case_quality"),
    description=(
        "办案质量（R6，连云港意见 三）：按承办人、年度（办结日期所在年度）、案件类别统计办结数、评查结果、错案数、"
        "需分层核定案件数及未完成核定数。"
        " Case quality (R6): per handler, year closed and category — ratings, errors, special cases "
        "and those not verified by both the department leader and the supervisor."
    ),
    ins={"cases": _staged("cases"), "roster": _staged("personnel")},
    owners=["team:jijian"],
    kinds=KINDS,
    code_version=CODE_VERSION,
    tags={"rule": "R6"},
)
def case_quality_asset(
    context: AssetExecutionContext, lianjian: LianjianSettings, cases: pl.LazyFrame, roster: pl.LazyFrame
) -> pl.DataFrame:
    return _done(
        context,
        case_quality(cases, roster, lianjian.load_rules()),
        cases_closed=pl.col("cases_closed").sum(),
        special_cases=pl.col("special_cases").sum(),
        special_unverified=pl.col("special_unverified").sum(),
    )


@dg.asset(
    key=["derived", "leader_case_handling"],
    group_name=GROUP,
    partitions_def=YEARS,
    metadata=_metadata("leader_case_handling"),
    description=(
        "领导干部办案（R5，辽宁报道；最高检文章）：每个单位每年员额内院领导和部门负责人数、亲自办案人数、"
        "办理重大案件的检察长副检察长数、办案数，以及是否落实（检察长、副检察长、检委会专职委员均办案）。"
        " Leaders handling cases (R5): per unit and year, quota leaders, those who handled a case, "
        "chiefs/deputies on major cases, cases handled, and whether it was implemented."
    ),
    ins={"roster": _staged("personnel"), "departments": _staged("departments"), "cases": _staged("cases")},
    owners=["team:zhenggong"],
    kinds=KINDS,
    code_version=CODE_VERSION,
    tags={"rule": "R5"},
)
def leader_case_handling_asset(
    context: AssetExecutionContext,
    lianjian: LianjianSettings, roster: pl.LazyFrame, departments: pl.LazyFrame, cases: pl.LazyFrame
) -> pl.DataFrame:
    return _done(
        context,
        leader_case_handling(roster, departments, cases, lianjian.load_rules()),
        unit_years=pl.len(),
        implemented=pl.col("implemented").sum(),
    )


@dg.asset(
    key=["derived", "major_matter_report_stats"],
    group_name=GROUP,
    partitions_def=YEARS,
    metadata=_metadata("major_matter_report_stats"),
    description=(
        '"三个规定"记录报告统计（R7，黑龙江巡礼）：每个单位每年在岗人数、报告数、领导干部报告数、每百人报告数、'
        "零报告，以及上年、前年报告数（全省求和即全省数字）。"
        ' "Three rules" major-matter report statistics (R7): per unit and year, staff, reports, '
        "leader reports, reports per hundred staff, zero-report units and the two previous years' counts."
    ),
    ins={
        "roster": _staged("personnel"),
        "departments": _staged("departments"),
        "reports": _staged("major_matter_reports"),
    },
    owners=["team:jijian"],
    kinds=KINDS,
    code_version=CODE_VERSION,
    tags={"rule": "R7"},
)
def major_matter_report_stats_asset(
    context: AssetExecutionContext,
    lianjian: LianjianSettings, roster: pl.LazyFrame, departments: pl.LazyFrame, reports: pl.LazyFrame
) -> pl.DataFrame:
    return _done(
        context,
        major_matter_report_stats(roster, departments, reports, lianjian.load_rules()),
        reports=pl.col("reports").sum(),
        zero_report_unit_years=pl.col("zero_report").sum(),
    )


@dg.asset(
    key=["derived", "major_matter_report_monthly"],
    group_name=GROUP,
    partitions_def=YEARS,
    metadata=_metadata("major_matter_report_monthly"),
    description=(
        '"三个规定"记录报告月通报（R9，黑龙江巡礼：月通报、季分析）：每个单位每年已开始的每个月（北京时间运行日）的'
        "本月报告数、领导干部报告数、年初至本月报告数和每百人报告数、同级（同一上级、同一层级）排名、连续未报告月数、"
        "少报告（低于同级中位数的设定比例）。"
        ' "Three rules" monthly notice (R9): per unit and month begun by the run date, reports, leader '
        "reports, reports to date per hundred staff, rank among the units of the same parent and level, "
        "months without a report, and 少报告 below a share of the peers' median."
    ),
    ins={
        "units": _staged("units"),
        "roster": _staged("personnel"),
        "departments": _staged("departments"),
        "reports": _staged("major_matter_reports"),
    },
    owners=["team:jijian"],
    kinds=KINDS,
    code_version=CODE_VERSION,
    tags={"rule": "R9"},
)
def major_matter_report_monthly_asset(
    context: AssetExecutionContext,
    lianjian: LianjianSettings,
    units: pl.LazyFrame,
    roster: pl.LazyFrame,
    departments: pl.LazyFrame,
    reports: pl.LazyFrame,
) -> pl.DataFrame:
    today = run_date()
    context.add_output_metadata({"run_date": today.isoformat()})
    return _done(
        context,
        major_matter_report_monthly(units, roster, departments, reports, lianjian.load_rules(), today),
        unit_months=pl.len(),
        zero_report_unit_months=(pl.col("reports") == 0).sum(),
        low_report_unit_months=pl.col("low_report").sum(),
    )


@dg.asset(
    key=["derived", "review_leads"],
    group_name=GROUP,
    partitions_def=YEARS,
    metadata=_metadata("review_leads"),
    description=(
        "线索核查（R10，黑龙江巡礼：健全线索核查制度；受限输出）：当年未记录报告“三个规定”事项、但有违纪违法、"
        "不合格或瑕疵案件、错案或群众投诉的人员及其事由和记录编号。是核查线索，不是认定；只发布到 restricted/，"
        "不进入 published/、报告或 BI。"
        " Review leads (R10, restricted): people who reported no major matter in a year with a violation, "
        "an unqualified or flawed case, a case error or a public complaint; published only under restricted/."
    ),
    ins={
        "roster": _staged("personnel"),
        "reports": _staged("major_matter_reports"),
        "cases": _staged("cases"),
        "violations": _staged("violations"),
    },
    owners=["team:jijian"],
    kinds=KINDS,
    code_version=CODE_VERSION,
    tags={"rule": "R10", "pii": "restricted"},
)
def review_leads_asset(
    context: AssetExecutionContext,
    lianjian: LianjianSettings,
    roster: pl.LazyFrame,
    reports: pl.LazyFrame,
    cases: pl.LazyFrame,
    violations: pl.LazyFrame,
) -> pl.DataFrame:
    return _done(
        context,
        review_leads(roster, reports, cases, violations, lianjian.load_rules()),
        leads=pl.len(),
    )


defs = dg.Definitions(
    assets=[
        talk_obligations_asset,
        case_quality_asset,
        leader_case_handling_asset,
        major_matter_report_stats_asset,
        major_matter_report_monthly_asset,
        review_leads_asset,
    ]
)
