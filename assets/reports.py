"""Assets of the reports layer: the yearly reports people read, and the "三个规定" monthly notices
and quarterly analyses (R9).

Thin: the work is done by ``lianjian.report.write_reports`` and ``lianjian.report.notices.write_notices``
(plain Polars and a small xlsx writer, testable without Dagster). Both assets are made by one step
after publishing, under ``<warehouse>/reports/``: the notices are written while the report worker
processes build the reports. A report whose content did not change since the last run is not
written again.
"""

import dagster as dg

from lianjian.fingerprint import record_finished
from lianjian.report import REPORT_TABLES, write_reports
from lianjian.report.ahead import ahead_for, make_ahead, take
from lianjian.report.notices import write_notices
from pipelines.resources import LianjianSettings

#: The published assets the reports read. Kept in one place: if a published asset is renamed at
#: integration, fix it here.
PUBLISHED_DEPS: list[dg.AssetKey] = [dg.AssetKey(["published", t]) for t in REPORT_TABLES]


NOTICES = dg.AssetSpec(
    key=["reports", "major_matter_notices"],
    group_name="reports",
    deps=[dg.AssetKey(["published", "major_matter_report_monthly"])],
    description=(
        '"三个规定"月通报与季分析（R9，黑龙江巡礼：月通报、季分析）：每个上级单位每月一份通报（下级单位排名、零报告和少报告单位、'
        "较上月变化），每季度末一份分析（各单位趋势、领导干部报告占比），HTML 与 Excel（reports/<年度>/notices/），索引 reports/notices.html。"
        ' "Three rules" monthly notices and quarterly analyses per parent unit, read from the published monthly table.'
    ),
    owners=["team:jijian"],
    kinds={"html", "excel"},
    code_version="1",
    tags={"layer": "reports", "rule": "R9"},
)

YEARLY = dg.AssetSpec(
    key=["reports", "yearly_reports"],
    group_name="reports",
    deps=[*PUBLISHED_DEPS, NOTICES.key],  # its index links the notices
    description=(
        "年度报告：每个单位每年一份 HTML 报告和 Excel 工作簿（reports/<年度>/<单位编码>.html|.xlsx），"
        "每个上级单位一份汇总报告（<单位编码>.rollup.html），以及索引页 reports/index.html；内容未变的报告不重写。"
        "Yearly reports: an offline HTML page and an Excel workbook per unit and year, a roll-up per "
        "parent unit, and an index page, all read from the published tables; unchanged reports are kept."
    ),
    owners=["team:jijian"],
    kinds={"html", "excel"},
    code_version="2",
    tags={"layer": "reports"},
)


#: After the suites' check step (checks/quality.py ``SUITES_PRIORITY``), which runs after publishing:
#: the Data Docs the reports link to are the run's whole, with the suites.
REPORTS_PRIORITY = -4


@dg.multi_asset(name="reports", specs=[NOTICES, YEARLY], op_tags={"dagster/priority": str(REPORTS_PRIORITY)})
def reports(context: dg.AssetExecutionContext, lianjian: LianjianSettings):
    """Both in one step: the notices are written in this process while the report workers build the
    yearly reports (``write_reports(alongside=...)``), which on two cores used to wait for them
    (docs/performance.md, "Cold reports: …"); the index, written last, links the notices. A small
    warehouse's reports and notices were made by the publish step while it waited for the suites
    (``made_beside_gate``): this step then only writes them, when they are still those of the live
    version (lianjian/report/ahead.py)."""
    warehouse = lianjian.warehouse_path
    made = take(warehouse)  # made by the publish step while it waited for the suites (a small warehouse)
    if made is not None:
        written, notices = made.apply()
    else:
        notices = []
        written = write_reports(warehouse, alongside=lambda: notices.extend(write_notices(warehouse)))
    pages = sum(len(w.pages) for w in notices)
    context.log.info(f"月通报与季分析 {pages} 份，工作簿 {len(notices)} 个 (notices and analyses: {pages}, workbooks: {len(notices)})")
    yield dg.MaterializeResult(
        asset_key=NOTICES.key,
        metadata={
            "pages": dg.MetadataValue.int(pages),
            "workbooks": dg.MetadataValue.int(len(notices)),
            "index": dg.MetadataValue.path(str(warehouse / "reports" / "notices.html")),
        },
    )
    _record_finished(context, lianjian)
    years = sorted({w.year for w in written})
    fresh = sum(w.fresh for w in written)
    ahead = ("（发布前已生成）", ", made before the switch") if made is not None else ("", "")
    context.log.info(
        f"报告 {len(written)} 份，重写 {fresh} 份，未变 {len(written) - fresh} 份{ahead[0]} "
        f"(reports: {len(written)}, written: {fresh}, unchanged: {len(written) - fresh}{ahead[1]}): {warehouse / 'reports'}"
    )
    yield dg.MaterializeResult(
        asset_key=YEARLY.key,
        metadata={
            "reports": dg.MetadataValue.int(sum(not w.rollup for w in written)),
            "rollups": dg.MetadataValue.int(sum(w.rollup for w in written)),
            "written": dg.MetadataValue.int(fresh),
            "unchanged": dg.MetadataValue.int(len(written) - fresh),
            "years": dg.MetadataValue.text(", ".join(str(y) for y in years) or "—"),
            "index": dg.MetadataValue.path(str(warehouse / "reports" / "index.html")),
        },
    )


def made_beside_gate(context: dg.AssetExecutionContext, lianjian: LianjianSettings):
    """For the publish step (assets/published.py): what makes this step's reports and notices while
    it waits for the suites (``publish_tables(beside_gate=...)``), or None — when this run does not
    write the reports (not selected: ``--no-reports``, a re-execution of publish alone), when its steps
    run in separate processes (this step would not find them), or when the landing zone is not small
    (``ahead_for``: a province's and national reports are written by worker processes after the switch)."""
    from pipelines.executor import in_process

    step = reports.node_def.name
    steps = context.run.step_keys_to_execute
    if not context.job_def.has_node_named(step) or (steps is not None and step not in steps):
        return None
    if not in_process(context.run.run_config) or not ahead_for(lianjian.landing_path):
        return None
    warehouse = lianjian.warehouse_path
    return lambda published, version: make_ahead(warehouse, published, version)


def _record_finished(context: dg.AssetExecutionContext, lianjian: LianjianSettings) -> None:
    """The pipeline run that published the live version has written its reports: record it, so that
    the next run on unchanged landing files, rules and code stops at once (lianjian/fingerprint.py).
    Only for a pipeline run's second run (its first run's id in the tags), over every year."""
    from pipelines.runs import INGEST_RUN_TAG, YEARS_TAG

    tags = context.run.tags
    ingest_run = tags.get(INGEST_RUN_TAG)
    if not ingest_run:
        return
    record = context.instance.get_run_record_by_id(ingest_run)
    started = None
    if record is not None:
        started = record.start_time or record.create_timestamp.timestamp()
    record_finished(
        lianjian.warehouse_path,
        lianjian.landing_path,
        run_id=context.run.run_id,
        reading_started=started,
        all_years=YEARS_TAG not in tags,
    )


defs = dg.Definitions(assets=[reports])
