"""Published layer: every result table published together, atomically and deterministically, with
``_manifest.json`` and ``_dictionary.json`` (CONTRACT.md §3). The logic lives in
``lianjian.publish``; this module only declares the Dagster specs and hands the frames over.

One multi-asset, one ``AssetSpec`` per table (keys ``["published", <table>]``), not subsettable:
the tables are swapped into ``published/`` in one step, so they always belong to the same run.
"""


from datetime import timedelta

import dagster as dg
import polars as pl

from lianjian.contract import PUBLISHED
from lianjian.publish.layers import INGEST_REPORT_KEY, LAYER, upstream_key
from lianjian.publish.lineage import dagster_column_lineage
from lianjian.publish.privacy import id_shaped_count
from lianjian.publish.publish import LINK, publish_tables, read_published
from pipelines.audit import pipeline_runs, published_metadata
from pipelines.io_manager import table_schema
from pipelines.resources import LianjianSettings

#: Bump when the publishing code changes what it writes (Dagster marks downstream as changed).
CODE_VERSION = "publish-1"

#: English gloss of each table's Chinese note (descriptions are Chinese first, then English).
ENGLISH = {
    "integrity_assessment": "Individual integrity evaluation, one row per active person and year (R2).",
    "responsibility_assessment": "Party-conduct responsibility assessment, one row per assessed subject and year (R3).",
    "accountability_triggers": "Accountability triggers: consecutive poor grades, repeat serious violations, one case two investigations (R4).",
    "talk_obligations": "Talk obligations (three talks and six must-talks) and whether each was fulfilled (R1).",
    "case_quality": "Case review results per handler, year and category (R6).",
    "leader_case_handling": "Leaders inside the quota who personally handle cases, per unit and year (R5).",
    "major_matter_report_stats": "'Three regulations' major-matter reports per unit and year (R7).",
    "assessment_evidence": "Every scoring fact with its record ids, rule id and basis (R8).",
    "rejected_records": "Input rows that break the data contract, with every reason (identity numbers masked).",
}

#: Nightly run at 02:00 Asia/Shanghai: stale when not refreshed by 07:00 (materialized after 02:00).
FRESHNESS = dg.FreshnessPolicy.cron(
    deadline_cron="0 7 * * *", lower_bound_delta=timedelta(hours=5), timezone="Asia/Shanghai"
)

CHECK_SCHEMA = "contract_schema"
CHECK_PRIVATE = "no_identity_numbers"


def _spec(table: str) -> dg.AssetSpec:
    t = PUBLISHED[table]
    layout = f"published/{table}/year=<YYYY>/part-0.parquet" if t.yearly else f"published/{table}/part-0.parquet"
    deps = [dg.AssetKey(list(upstream_key(table)))]
    if table == "rejected_records":
        deps.append(dg.AssetKey(list(INGEST_REPORT_KEY)))
    tags = {"layer": "published", "pii": "masked" if table == "rejected_records" else "none"}
    if t.rule:
        tags["rule"] = t.rule
    return dg.AssetSpec(
        key=["published", table],
        deps=deps,
        group_name="published",
        description=f"{t.zh}（发布表，{layout}）：{t.note}。{ENGLISH[table]}",
        owners=["team:jijian"],
        kinds={"polars", "parquet"},
        code_version=CODE_VERSION,
        tags=tags,
        freshness_policy=FRESHNESS,
        metadata={
            "dagster/column_schema": table_schema(t.schema(), {c.name: f"{c.zh}：{c.note}" if c.note else c.zh for c in t.columns}),
            "dagster/column_lineage": dagster_column_lineage(table, through_upstream=True),
            "dagster/table_name": f"published.{table}",
            "key": ", ".join(t.key),
            "computed_in": f"{LAYER[table]}/{table}",
        },
    )


SPECS = [_spec(t) for t in PUBLISHED]

CHECKS = [
    spec
    for t in PUBLISHED
    for spec in (
        dg.AssetCheckSpec(
            CHECK_SCHEMA,
            asset=["published", t],
            description="发布文件的列名、顺序和类型与数据契约一致。Published files have the contract's columns and types.",
        ),
        dg.AssetCheckSpec(
            CHECK_PRIVATE,
            asset=["published", t],
            description="发布文件中没有身份证号形态的文本。No identity-card-shaped number in any published cell.",
        ),
    )
]

INS = {t: dg.AssetIn(key=list(upstream_key(t))) for t in PUBLISHED} | {
    "ingest_report": dg.AssetIn(key=list(INGEST_REPORT_KEY))
}


@dg.multi_asset(
    name="publish",
    specs=SPECS,
    check_specs=CHECKS,
    ins=INS,
    can_subset=False,
    description="原子化、确定性地发布全部结果表及清单和数据字典。Publish every result table atomically and deterministically.",
)
def publish(
    context: dg.AssetExecutionContext,
    lianjian: LianjianSettings,
    talk_obligations: pl.LazyFrame,
    case_quality: pl.LazyFrame,
    leader_case_handling: pl.LazyFrame,
    major_matter_report_stats: pl.LazyFrame,
    integrity_assessment: pl.LazyFrame,
    responsibility_assessment: pl.LazyFrame,
    accountability_triggers: pl.LazyFrame,
    assessment_evidence: pl.LazyFrame,
    rejected_records: pl.LazyFrame,
    ingest_report: pl.LazyFrame,
):
    rules = lianjian.load_rules()
    frames = {
        "integrity_assessment": integrity_assessment,
        "responsibility_assessment": responsibility_assessment,
        "accountability_triggers": accountability_triggers,
        "talk_obligations": talk_obligations,
        "case_quality": case_quality,
        "leader_case_handling": leader_case_handling,
        "major_matter_report_stats": major_matter_report_stats,
        "assessment_evidence": assessment_evidence,
        "rejected_records": rejected_records,
    }
    warehouse = lianjian.warehouse_path
    pipeline_run_id, run_ids = pipeline_runs(context)
    result = publish_tables(
        warehouse,
        frames,
        ingest_report=ingest_report,
        run_id=context.run.run_id,
        rules_version=rules.version,
        rules_sha256=rules.sha256,
        pipeline_run_id=pipeline_run_id,
        dagster_run_ids=run_ids,
    )
    context.log.info(f"已发布版本 {result.version} → {result.path}（published version {result.version}）")
    for table in PUBLISHED:
        key = dg.AssetKey(["published", table])
        back = read_published(warehouse, table)
        # rules, inputs and runs on every table; grades per year on the assessment tables (pipelines/audit.py)
        yield dg.MaterializeResult(
            asset_key=key,
            metadata=published_metadata(
                rows=result.rows[table],
                path=warehouse / LINK / table,
                warehouse=warehouse,
                manifest=result.manifest,
                pipeline_run_id=pipeline_run_id,
                run_ids=run_ids,
                published=back,
            ),
        )
        got = dict(back.collect_schema())
        want = dict(PUBLISHED[table].schema())
        yield dg.AssetCheckResult(
            asset_key=key,
            check_name=CHECK_SCHEMA,
            passed=got == want and list(got) == list(want),
            metadata={"columns": len(got)},
        )
        shaped = id_shaped_count(back)
        yield dg.AssetCheckResult(
            asset_key=key, check_name=CHECK_PRIVATE, passed=shaped == 0, metadata={"id_shaped_cells": shaped}
        )


defs = dg.Definitions(assets=[publish])
