"""Asset checks: data quality of the staged layer (issue 3).

One multi-asset check step runs every check of ``lianjian.quality.checks.catalogue()`` — the GX suite
of each staged table (generated from the contract, validated once per content hash; when the staging
step ran in this process, validated beside it by the suite worker, lianjian/quality/worker.py, whose
results the step takes) and the named
cross-field and cross-source rules — writes the offline Data Docs under
``<warehouse>/reports/data_docs/`` and reports one Dagster check result per check. ERROR checks are
blocking: a failure stops the derived and assessed assets and publishing in the same run.

Every result's metadata carries ``unexpected_count`` (int), ``share`` (float), ``total``, a few
``samples`` (never an identity number) and the ``data_docs`` path.
"""


import dagster as dg
import polars as pl

from lianjian.contract import SOURCES
from lianjian.ingest.stagecache import StageCache
from lianjian.quality.checks import ERROR, CheckOutcome, catalogue, run_quality
from lianjian.quality.docs import data_docs_dir, write_data_docs
from pipelines.resources import LianjianSettings

CODE_VERSION = "quality-1"

#: Inputs of the check step: every staged table, the quarantine and the ingest report.
INS = {src: dg.AssetIn(key=["staged", src]) for src in SOURCES} | {
    "rejected_records": dg.AssetIn(key=["staged", "rejected_records"]),
    "ingest_report": dg.AssetIn(key=["staged", "ingest_report"]),
}

SPECS = [
    dg.AssetCheckSpec(
        name=c.name,
        asset=dg.AssetKey(["staged", c.table]),
        description=c.description,
        blocking=c.blocking,
        additional_deps=[dg.AssetKey(["staged", t]) for t in c.reads if t != c.table],
        metadata={"severity": c.severity, "owner": "team:jijian"},
    )
    for c in catalogue()
]


def check_result(o: CheckOutcome, docs: str) -> dg.AssetCheckResult:
    """One Dagster check result (the keys ``unexpected_count`` and ``share`` are read by `lianjian run`)."""
    metadata = {
        "unexpected_count": dg.MetadataValue.int(int(o.unexpected_count)),
        "share": dg.MetadataValue.float(float(o.share)),
        "total": dg.MetadataValue.int(int(o.total)),
        "samples": dg.MetadataValue.text("; ".join(o.samples)),
        "severity": dg.MetadataValue.text(o.check.severity),
        "data_docs": dg.MetadataValue.path(docs),
        "seconds": dg.MetadataValue.float(round(o.seconds, 3)),
    }
    if o.cached is not None:
        metadata["gx_cached"] = dg.MetadataValue.bool(bool(o.cached))
    if o.failures:
        metadata["failed_expectations"] = dg.MetadataValue.md(
            "\n".join(f"- {f['zh']}: {f['unexpected_count']} ({f['share']:.2%})" for f in o.failures)
        )
    return dg.AssetCheckResult(
        asset_key=dg.AssetKey(["staged", o.check.table]),
        check_name=o.check.name,
        passed=o.passed,
        severity=dg.AssetCheckSeverity.ERROR if o.check.severity == ERROR else dg.AssetCheckSeverity.WARN,
        description=o.check.zh,
        metadata=metadata,
    )


@dg.multi_asset_check(
    name="staged_data_quality",
    specs=SPECS,
    ins=INS,
    description="暂存层数据质量：GX 套件（由数据契约生成）与跨表规则；阻断性检查失败时不计算考核、不发布。"
    " Staged-layer data quality: contract-generated GX suites and cross-source rules.",
    compute_kind="great_expectations",
)
def staged_data_quality(context: dg.AssetCheckExecutionContext, lianjian: LianjianSettings, **tables: pl.LazyFrame):
    rules = lianjian.load_rules()
    warehouse = lianjian.warehouse_path
    # each staged table's content key as staging recorded it (the SHA-256 of its file, while the file
    # is the one recorded): an unchanged table is neither read nor hashed again
    records = StageCache(warehouse)
    known = {
        src: f"staged-file-sha256:{sha}"
        for src in SOURCES
        if (sha := records.content_sha256(src, warehouse / "staged" / f"{src}.parquet")) is not None
    }
    run = run_quality(
        {src: tables[src] for src in SOURCES},
        tables["rejected_records"],
        tables["ingest_report"],
        max_rejected_share=rules.settings().quality.max_rejected_share,
        cache_dir=warehouse / "reports" / "gx_cache",
        digests=known,
    )
    index = write_data_docs(run, data_docs_dir(warehouse))
    context.log.info(f"数据质量报告 data docs: {index}")
    for o in run.outcomes:
        yield check_result(o, str(index))


defs = dg.Definitions(asset_checks=[staged_data_quality])
