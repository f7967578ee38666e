"""Published layer: every result table published together, atomically and deterministically, with
``_manifest.json`` and ``_dictionary.json`` (docs/contract.md "What it publishes"). The logic lives in
``lianjian.publish``; this module only declares the Dagster specs and hands the frames over.

One multi-asset, one ``AssetSpec`` per table (keys ``["published", <table>]``, and
``["restricted", <table>]`` for the restricted outputs such as the R10 review leads), not
subsettable: every table of a run becomes current in one step (``lianjian.publish.layout``), so the
BI tables and the restricted ones always belong to the same run. The dimension tables for BI tools
are made here from the staged unit and department tables (``lianjian.publish.dimensions``); ``codes``
comes from the contract declaration, so it has no upstream asset. After the switch
``warehouse/lianjian.duckdb`` is rebuilt (views for SQL tools).
"""


from datetime import timedelta

import dagster as dg
import polars as pl

from lianjian.contract import PUBLISHED, RESTRICTED
from lianjian.publish.dimensions import departments_table, units_table
from lianjian.publish.layers import CONTRACT_LAYER, INGEST_REPORT_KEY, LAYER, RESTRICTED_LAYER, restricted_key, upstream_key
from lianjian.publish.layout import RESTRICTED as RESTRICTED_DIR
from lianjian.publish.lineage import dagster_column_lineage
from lianjian.publish.publish import LINK, OUTPUTS, publish_tables, tables_at_once
from pipelines.audit import inputs_metadata, pipeline_runs, published_metadata
from pipelines.io_manager import table_schema
from pipelines.resources import LianjianSettings

#: Bump when the publishing code changes what it writes (Dagster marks downstream as changed).
#: publish-2: hive convention (``year`` only in the folder names), dimension tables, lianjian.duckdb.
CODE_VERSION = "publish-2"

#: English gloss of each table's Chinese note (descriptions are Chinese first, then English).
ENGLISH = {
    "integrity_assessment": "Individual integrity evaluation, one row per active person and year (R2).",
    "responsibility_assessment": "Party-conduct responsibility assessment, one row per assessed subject and year (R3).",
    "accountability_triggers": "Accountability triggers: consecutive poor grades, repeat serious violations, one case two investigations (R4).",
    "talk_obligations": "Talk obligations (three talks and six must-talks) and whether each was fulfilled (R1).",
    "case_quality": "Case review results per handler, year and category (R6).",
    "leader_case_handling": "Leaders inside the quota who personally handle cases, per unit and year (R5).",
    "major_matter_report_stats": "'Three regulations' major-matter reports per unit and year (R7).",
    "major_matter_report_monthly": "'Three regulations' monthly notice: reports per unit and month, rank among peers, zero and low reporters (R9).",
    "assessment_evidence": "Every scoring fact with its record ids, rule id and basis, and the settings in force that year (R8).",
    "rejected_records": "Input rows that break the data contract, with every reason (identity numbers masked).",
    "units": "Dimension for BI tools: every unit with its name, level, parent and the path of names from the top unit down.",
    "departments": "Dimension for BI tools: every department of every unit and year with its name.",
    "codes": "Dimension for BI tools: every code of every enumeration column with its Chinese label (grades included).",
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
    up = upstream_key(table)
    deps = [dg.AssetKey(list(up))] if up is not None else []
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
            "computed_in": "lianjian/contract/published.yaml" if LAYER[table] == CONTRACT_LAYER else f"{LAYER[table]}/{table}",
        },
    )


def _restricted_spec(table: str) -> dg.AssetSpec:
    """A restricted output: published in the same step as the BI tables, under ``restricted/``
    (0600 files, 0700 folders), never in ``published/`` (docs/contract.md "What it publishes")."""
    t = RESTRICTED[table]
    upstream = dg.AssetKey(list(upstream_key(table)))
    return dg.AssetSpec(
        key=list(restricted_key(table)),
        deps=[upstream],
        group_name="restricted",
        description=(
            f"{t.zh}（受限输出，restricted/{table}/year=<YYYY>/part-0.parquet，仅运行账户可读）：{t.note}。"
            "Restricted output (R10 review leads): published with the run, readable only by the account running it, "
            "never in published/, the reports or the BI dictionary."
        ),
        owners=["team:jijian"],
        kinds={"polars", "parquet"},
        code_version=CODE_VERSION,
        tags={"layer": "restricted", "pii": "restricted", "rule": t.rule or ""},
        metadata={
            "dagster/column_schema": table_schema(t.schema(), {c.name: c.zh for c in t.columns}),
            "dagster/column_lineage": dg.TableColumnLineage(
                deps_by_column={c: [dg.TableColumnDep(asset_key=upstream, column_name=c)] for c in t.column_names}
            ),
            "dagster/table_name": f"restricted.{table}",
            "key": ", ".join(t.key),
            "computed_in": f"{RESTRICTED_LAYER[table]}/{table}",
        },
    )


SPECS = [_spec(t) for t in PUBLISHED] + [_restricted_spec(t) for t in RESTRICTED]

#: Asset key path of every output of the publish step.
OUTPUT_KEYS: dict[str, list[str]] = {t: ["published", t] for t in PUBLISHED} | {t: list(restricted_key(t)) for t in RESTRICTED}

CHECKS = [
    spec
    for t, key in OUTPUT_KEYS.items()
    for spec in (
        dg.AssetCheckSpec(
            CHECK_SCHEMA,
            asset=key,
            description=(
                "按 hive 分区读取（year 只在目录名中）时，列名、顺序和类型与数据契约一致；未声明可为空的列没有空值。"
                " Read with hive partitioning (year only in the folder names), the files have the contract's"
                " columns and types, and no empty value where the contract declares none."
            ),
        ),
        dg.AssetCheckSpec(
            CHECK_PRIVATE,
            asset=key,
            description="发布文件中没有身份证号（在切换到新版本之前检查，发现即不发布）。"
            "No identity number in any published cell (checked before the switch; publishing stops if one is found).",
        ),
    )
]

#: The publish step's place among the second run's ready steps (Dagster runs the higher first): after
#: the scoring steps (0) and before the suites' check step (checks/quality.py ``SUITES_PRIORITY``) and
#: the reports. The suites block publishing all the same: this step asks them just before its switch.
PUBLISH_PRIORITY = -2

INS = {t: dg.AssetIn(key=list(upstream_key(t))) for t in {**PUBLISHED, **RESTRICTED} if upstream_key(t) is not None} | {
    "ingest_report": dg.AssetIn(key=list(INGEST_REPORT_KEY))
}


@dg.multi_asset(
    name="publish",
    specs=SPECS,
    check_specs=CHECKS,
    ins=INS,
    can_subset=False,
    description="原子化、确定性地发布全部结果表及清单和数据字典。Publish every result table atomically and deterministically.",
    # after the scoring steps and before the suites' check step (checks/quality.py SUITES_PRIORITY):
    # the suites, running beside the scoring, are asked inside this step, just before the switch
    op_tags={"dagster/priority": str(PUBLISH_PRIORITY)},
)
def publish(
    context: dg.AssetExecutionContext,
    lianjian: LianjianSettings,
    talk_obligations: pl.LazyFrame,
    case_quality: pl.LazyFrame,
    leader_case_handling: pl.LazyFrame,
    major_matter_report_stats: pl.LazyFrame,
    major_matter_report_monthly: pl.LazyFrame,
    review_leads: pl.LazyFrame,
    integrity_assessment: pl.LazyFrame,
    responsibility_assessment: pl.LazyFrame,
    accountability_triggers: pl.LazyFrame,
    assessment_evidence: pl.LazyFrame,
    rejected_records: pl.LazyFrame,
    units: pl.LazyFrame,
    departments: pl.LazyFrame,
    ingest_report: pl.LazyFrame,
):
    from assets.reports import made_beside_gate
    from lianjian.quality.gate import require_suites_passed

    rules = lianjian.load_rules()
    frames = {
        "integrity_assessment": integrity_assessment,
        "responsibility_assessment": responsibility_assessment,
        "accountability_triggers": accountability_triggers,
        "talk_obligations": talk_obligations,
        "case_quality": case_quality,
        "leader_case_handling": leader_case_handling,
        "major_matter_report_stats": major_matter_report_stats,
        "major_matter_report_monthly": major_matter_report_monthly,
        "assessment_evidence": assessment_evidence,
        "rejected_records": rejected_records,
        "units": units_table(units),
        "departments": departments_table(departments),
    }
    warehouse = lianjian.warehouse_path
    pipeline_run_id, run_ids = pipeline_runs(context)
    recomputed = _recomputed(context, warehouse)
    result = publish_tables(
        warehouse,
        frames,
        ingest_report=ingest_report,
        run_id=context.run.run_id,
        rules_version=rules.version,
        rules_sha256=rules.sha256,
        rules=rules,
        restricted={"review_leads": review_leads},
        pipeline_run_id=pipeline_run_id,
        dagster_run_ids=run_ids,
        recomputed=recomputed,
        unchanged_tables=YEAR_PARTITIONED,
        built_from=lambda table, year: built_from(warehouse, table, year),
        tables_at_once=tables_at_once(lianjian.landing_path),
        # a failed blocking suite: nothing is published. Asked once the new version is written, just
        # before the switch, so that the files are written while the suite worker finishes
        before_switch=lambda: require_suites_passed(warehouse),
        # meanwhile, a small warehouse's reports are made from the new version, written after the switch
        beside_gate=made_beside_gate(context, lianjian),
        finish_beside=True,  # the SQL tools' database written while the events below are stored
    )
    try:
        context.log.info(f"已发布版本 {result.version} → {result.path}（published version {result.version}）")
        _record_computed(context, warehouse, rules.sha256, result.manifest["code_version"], result.version)
        inputs = inputs_metadata(result.manifest["inputs"])  # the version's input files: the same for every table
        for table, path in OUTPUT_KEYS.items():
            key = dg.AssetKey(path)
            private = table in RESTRICTED
            folder = warehouse / (RESTRICTED_DIR if private else LINK) / table
            # rules, inputs and runs on every table; grades per year on the assessment tables
            # (pipelines/audit.py) — on the materialization only: given as the output's metadata,
            # Dagster would copy it into the step's output event too (the input files' table: ≈ 20 KB
            # an event on the demo, serialized and stored after the switch)
            context.add_asset_metadata(
                published_metadata(
                    rows=(result.restricted_rows if private else result.rows)[table],
                    path=folder,
                    warehouse=warehouse,
                    manifest=result.manifest,
                    pipeline_run_id=pipeline_run_id,
                    run_ids=run_ids,
                    grades_by_year=result.grades.get(table),
                    inputs=inputs,
                ),
                asset_key=key,
            )
            yield dg.MaterializeResult(asset_key=key)
            # found in each file when it was written (a file linked from the live version: in its record),
            # not by reading the published table again (lianjian.publish.publish.file_checks)
            problems = result.schema[table]
            yield dg.AssetCheckResult(
                asset_key=key,
                check_name=CHECK_SCHEMA,
                passed=bool(problems["passed"]),
                metadata={
                    "columns": problems["columns"],
                    "types_match": problems["types_match"],
                    "files_with_year_inside": dg.MetadataValue.json(problems["files_with_year_inside"]),
                    "unexpected_empty": dg.MetadataValue.json(problems["unexpected_empty"]),
                },
            )
            # counted by publish_tables in the files of the new version BEFORE the switch (it publishes
            # nothing when one is found, so a materialized table always passes)
            found = result.identity_cells[f"{RESTRICTED_DIR}/{table}" if private else table]
            yield dg.AssetCheckResult(
                asset_key=key, check_name=CHECK_PRIVATE, passed=found == 0, metadata={"identity_number_cells": found}
            )
    finally:
        # what follows the switch — DuckDB imported, the database written, old versions removed — ran
        # beside these events; the step ends once it is done (and fails if it did)
        result.finish()


#: The published tables computed one year at a time (year-partitioned derived and assessed assets):
#: a year the run did not compute again is the live version's. accountability_triggers (R4) reads
#: every year and is computed whole each run (tests/test_changed_years.py checks the list).
YEAR_PARTITIONED = frozenset(
    t for t, table in OUTPUTS.items() if table.yearly and (upstream_key(t) or ("",))[0] in ("derived", "assessed")
) - {"accountability_triggers"}


def built_from(warehouse, table: str, year: int):
    """The warehouse file a yearly published table's rows of ``year`` are prepared from, as the IO
    manager stores its upstream asset (pipelines/io_manager.py): the year's file of a year-partitioned
    asset (``YEAR_PARTITIONED``), else the asset's one file (R4's triggers, the staged departments).
    Publish links the live version's year file when this file has the SHA-256 that file was prepared
    from (lianjian.publish.publish.Reuse)."""
    from pipelines.io_manager import table_path

    key = dg.AssetKey(list(upstream_key(table)))
    return table_path(warehouse, key, str(year) if table in YEAR_PARTITIONED else None)


def _recomputed(context: dg.AssetExecutionContext, warehouse) -> tuple[int, int] | None:
    """The years this pipeline run computed again (its second run's partition range), when the other
    years are known to be the live version's results: the run chose its years from the record that
    the live version's run wrote (lianjian/digests.py). None otherwise (every year is written)."""
    from lianjian.digests import recorded_for
    from lianjian.publish.publish import read_manifest
    from pipelines.runs import INGEST_RUN_TAG, YEARS_TAG

    tags = context.run.tags
    start, end = tags.get("dagster/asset_partition_range_start"), tags.get("dagster/asset_partition_range_end")
    live = read_manifest(warehouse)
    if start is None or end is None or YEARS_TAG in tags or INGEST_RUN_TAG not in tags or live is None:
        return None
    return (int(start), int(end)) if recorded_for(warehouse, live.get("version", "")) else None


def _record_computed(context: dg.AssetExecutionContext, warehouse, rules_sha256: str, code_version: str, version: str) -> None:
    """What every year's results now stand on (lianjian/digests.py): the next run recomputes only the
    years whose staged data changed since. Only the second run of a pipeline run over the years it
    chose knows that every year is up to date; after a ``--years`` run or a repair launched from the
    UI the record is removed (every year next time). The run date's month counts too (R9); when it
    changed during this run, which month the results took is not known here: no record either."""
    import datetime as dt

    from lianjian.clock import run_month
    from lianjian.digests import record_computed
    from pipelines.runs import INGEST_RUN_TAG, YEARS_TAG

    record = context.instance.get_run_record_by_id(context.run.run_id)
    month = run_month()
    started = record.start_time if record is not None else None
    if started is None or run_month(dt.datetime.fromtimestamp(started, dt.timezone.utc)) != month:
        month = None
    record_computed(
        warehouse, rules_sha256=rules_sha256, code_version=code_version, run_month=month, all_years=YEARS_TAG not in context.run.tags and INGEST_RUN_TAG in context.run.tags,
        published_version=version,
    )


defs = dg.Definitions(assets=[publish])
