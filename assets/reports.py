"""Assets of the reports layer: the yearly reports people read (issue 7).

Thin: the work is done by ``lianjian.report.write_reports`` (plain Polars and a small xlsx writer,
testable without Dagster). The asset runs after publishing and writes under ``<warehouse>/reports/``;
a report whose content did not change since the last run is not written again.
"""

import dagster as dg

from lianjian.report import REPORT_TABLES, write_reports
from pipelines.resources import LianjianSettings

#: The published assets the reports read. Kept in one place: if a published asset is renamed at
#: integration, fix it here.
PUBLISHED_DEPS: list[dg.AssetKey] = [dg.AssetKey(["published", t]) for t in REPORT_TABLES]


@dg.asset(
    key=["reports", "yearly_reports"],
    group_name="reports",
    deps=PUBLISHED_DEPS,
    description=(
        "年度报告：每个单位每年一份 HTML 报告和 Excel 工作簿（reports/<年度>/<单位编码>.html|.xlsx），"
        "每个上级单位一份汇总报告（<单位编码>.rollup.html），以及索引页 reports/index.html；内容未变的报告不重写。"
        "Yearly reports: an offline HTML page and an Excel workbook per unit and year, a roll-up per "
        "parent unit, and an index page, all read from the published tables; unchanged reports are kept."
    ),
    owners=["team:jijian"],
    kinds={"html", "excel"},
    code_version="2",
    tags={"layer": "reports", "issue": "7"},
)
def yearly_reports(context: dg.AssetExecutionContext, lianjian: LianjianSettings) -> dg.MaterializeResult:
    written = write_reports(lianjian.warehouse_path)
    years = sorted({w.year for w in written})
    fresh = sum(w.fresh for w in written)
    context.log.info(
        f"报告 {len(written)} 份，重写 {fresh} 份，未变 {len(written) - fresh} 份 "
        f"(reports: {len(written)}, written: {fresh}, unchanged: {len(written) - fresh}): {lianjian.warehouse_path / 'reports'}"
    )
    return dg.MaterializeResult(
        metadata={
            "reports": dg.MetadataValue.int(sum(not w.rollup for w in written)),
            "rollups": dg.MetadataValue.int(sum(w.rollup for w in written)),
            "written": dg.MetadataValue.int(fresh),
            "unchanged": dg.MetadataValue.int(len(written) - fresh),
            "years": dg.MetadataValue.text(", ".join(str(y) for y in years) or "—"),
            "index": dg.MetadataValue.path(str(lianjian.warehouse_path / "reports" / "index.html")),
        }
    )


defs = dg.Definitions(assets=[yearly_reports])
