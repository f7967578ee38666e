"""Asset checks: data quality of the staged layer.

Every check of ``lianjian.quality.checks.catalogue()`` is reported by one of two multi-asset check
steps, both attached to the staged tables:

- ``staged_data_quality``, in the first run of a pipeline run, right after staging: the named
  cross-field and cross-source rules (Polars) and the rejected shares. Its ERROR checks are blocking:
  a failure ends that run, so nothing is derived, assessed or published.
- ``staged_contract_suites``, in the second run, after the derived, assessed and publish steps and
  before the reports: the Great Expectations suite of each staged table (generated from the contract,
  validated once per content hash; when the run's steps share one process, validated by the suite
  worker, lianjian/quality/worker.py, beside staging — or beside the scoring above 512 MiB of landing
  files — whose results the step takes) and the named expectations inside
  a suite. The suites block publishing, not the scoring: a failing ERROR suite lets the scoring finish
  (its results stay in the warehouse's working layers) and the publish step refuses to publish
  (lianjian/quality/gate.py): it asks the suites once its new version is written and checked, just
  before the switch, and removes that version, so the previous one stays live. This step then
  reports the same results as checks. Dagster's own ``blocking`` flag
  would make every step reading a staged table wait for the suites, so it is off on these checks;
  their severity stays ERROR.

The second step writes the offline Data Docs of every check under ``<warehouse>/reports/data_docs/``
(the first writes those of its own checks, so a run stopped after staging leaves a report too).

Every result's metadata carries ``unexpected_count`` (int), ``share`` (float), ``total``, a few
``samples`` (never an identity number) and the ``data_docs`` path.
"""


import dagster as dg
import polars as pl

from lianjian.contract import SOURCES
from lianjian.ingest.stagecache import file_stamp
from lianjian.quality.checks import ALL, ERROR, RULES, SUITES, CheckOutcome, QualityRun, catalogue, current_year, run_quality
from lianjian.quality.docs import data_docs_dir, write_data_docs
from lianjian.quality.gate import gx_cache_dir, staged_digests, staged_frames, staged_path
from lianjian.quality.worker import suite_worker
from pipelines.resources import LianjianSettings

CODE_VERSION = "quality-1"

#: The staged tables the rules read, loaded as the step's inputs (the other tables' checks after
#: staging are their rejected shares, counted in the quarantine and the ingest report).
RULE_TABLES = ("personnel", "departments", "reviews", "rejected_records", "ingest_report")


def _ins(loaded: tuple[str, ...]) -> dict[str, dg.AssetIn]:
    """The staged tables in ``loaded`` as inputs; every checked table is a dependency anyway (the
    checks' own assets and ``reads``), read by the step only when it is loaded here."""
    return {name: dg.AssetIn(key=["staged", name]) for name in loaded}


def _spec(c) -> dg.AssetCheckSpec:
    return dg.AssetCheckSpec(
        name=c.name,
        asset=dg.AssetKey(["staged", c.table]),
        description=c.description + ("（阻止发布 blocks publishing）" if c.by_suite and c.blocking else ""),
        blocking=c.blocking and not c.by_suite,  # the suites block publishing (the gate), not the scoring
        additional_deps=[dg.AssetKey(["staged", t]) for t in c.reads if t != c.table],
        metadata={"severity": c.severity, "owner": "team:jijian"},
    )


#: The checks of the first run (rules) and of the second (the suites), and all of them.
SPECS = [_spec(c) for c in catalogue() if not c.by_suite]
SUITE_SPECS = [_spec(c) for c in catalogue() if c.by_suite]
SUITE_CHECK_KEYS = [s.key for s in SUITE_SPECS]


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


#: The rules' outcomes of the first step (``staged_data_quality``), kept in this process for the suites'
#: step of the same pipeline run, whose Data Docs list every check: when what the rules read is what
#: they read then (``_rules_key``), they are not evaluated again (national: ≈ 1.7 CPU-s, the
#: roster joins). Steps in separate processes evaluate them again, as before.
_RULES_SEEN: dict[tuple, list[CheckOutcome]] = {}


def _rules_key(warehouse, digests: dict[str, str], max_rejected_share: float) -> tuple:
    """What the rules' outcomes depend on: the staged tables (their recorded digests, and the files of
    the tables they read, as they are on disk), the rejected-share limit and the year (a roster year
    after the current one is a finding)."""
    files = tuple((name, tuple(file_stamp(staged_path(warehouse, name)) or ())) for name in (*RULE_TABLES, *SOURCES))
    return str(warehouse), tuple(sorted(digests.items())), files, max_rejected_share, current_year()


def _quality(lianjian: LianjianSettings, tables: dict, part: str):
    warehouse = lianjian.warehouse_path
    digests = staged_digests(warehouse)
    share = lianjian.load_rules().settings().quality.max_rejected_share
    key = _rules_key(warehouse, digests, share)
    kept = _RULES_SEEN.get(key) if part == ALL else None
    run = run_quality(
        {src: tables.get(src) for src in SOURCES},
        tables["rejected_records"],
        tables["ingest_report"],
        max_rejected_share=share,
        cache_dir=gx_cache_dir(warehouse),
        digests=digests,
        files={src: staged_path(warehouse, src) for src in SOURCES},  # what ``tables`` scan (their footers)
        part=SUITES if kept is not None else part,
    )
    if part == RULES:
        _RULES_SEEN.clear()
        _RULES_SEEN[key] = list(run.outcomes)
    if kept is not None:  # every check, in the catalogue's order, as part=ALL lists them
        order = {c.name: i for i, c in enumerate(catalogue())}
        outcomes = sorted([*kept, *run.outcomes], key=lambda o: order[o.check.name])
        run = QualityRun(outcomes=outcomes, suites=run.suites, seconds=run.seconds)
    return run, write_data_docs(run, data_docs_dir(warehouse))


@dg.multi_asset_check(
    name="staged_data_quality",
    specs=SPECS,
    ins=_ins(RULE_TABLES),
    description="暂存层数据质量：跨字段、跨表规则与拒收比例（暂存后即检查）；阻断性检查失败时不计算考核、不发布。"
    " Staged-layer data quality: cross-field and cross-source rules and rejected shares, right after staging.",
    compute_kind="polars",
)
def staged_data_quality(context: dg.AssetCheckExecutionContext, lianjian: LianjianSettings, **tables: pl.LazyFrame):
    run, index = _quality(lianjian, tables, RULES)
    context.log.info(f"数据质量报告 data docs: {index}")
    for o in run.outcomes:
        yield check_result(o, str(index))


#: Below the scoring steps (priority 0) and publishing (-2, assets/published.py ``PUBLISH_PRIORITY``),
#: above the reports (-4): an in-process run derives and assesses, then writes the new published
#: version while the suite worker finishes — the publish step takes the suites' results just before its
#: switch and publishes nothing if a blocking one failed — then reports the suites here (the results
#: are already taken: cached), then writes the reports.
SUITES_PRIORITY = -3


@dg.multi_asset_check(
    name="staged_contract_suites",
    specs=SUITE_SPECS,
    description="暂存层数据契约（GX 套件，由数据契约生成）：与考核计算同时进行，发布前检查；阻断性检查失败时不发布。"
    " The staged tables' contract suites (GX): run beside the scoring, before publishing; a blocking failure stops publishing.",
    compute_kind="great_expectations",
    op_tags={"dagster/priority": str(SUITES_PRIORITY)},
)
def staged_contract_suites(context: dg.AssetCheckExecutionContext, lianjian: LianjianSettings):
    # the tables as the warehouse holds them, read (lazily) here rather than loaded as inputs, exactly
    # as the publish step's gate reads them (lianjian/quality/gate.py); the Data Docs list every
    # check: the first run's too, kept from its step when it ran in this process over the same
    # staged files (``_RULES_SEEN``), else computed again over them
    warehouse = lianjian.warehouse_path
    tables = staged_frames(warehouse, (*SOURCES, "rejected_records", "ingest_report"))
    # a suite worker started beside the scoring (a large zone, lianjian/quality/worker.py) validates
    # the tables whose results are neither cached nor computed beside staging, then ends
    worker = suite_worker()
    worker.hand_over(warehouse)
    try:
        run, index = _quality(lianjian, tables, ALL)
    finally:
        worker.release()
        worker.forget()
    context.log.info(f"数据质量报告 data docs: {index}")
    for o in run.outcomes:
        if o.check.by_suite:
            yield check_result(o, str(index))


defs = dg.Definitions(asset_checks=[staged_data_quality, staged_contract_suites])
