"""The staged tables' suites block publishing: what the publish step asks before its switch.

The checks fed by the Great Expectations suites (``CheckDef.by_suite``: each staged table's
``<source>_contract_suite``, and the named expectations inside a suite) are validated in the second
Dagster run of a pipeline run, beside the scoring (the suite worker, lianjian/quality/worker.py), and
reported by the check step ``staged_contract_suites`` (checks/quality.py), which Dagster runs after the
publish step and before the reports. A failing blocking suite does not stop the scoring — its results
are only written to the warehouse's working layers — but it stops publishing: the publish step writes
and checks its new version, then calls ``require_suites_passed`` just before the switch
(``publish_tables(before_switch=...)``), which takes the same results (from the suite worker, else
from the suites' cache, else by running the suites) and refuses to publish when a blocking one failed,
whatever the executor and the order it ran the steps in: the new version is removed and the previously
published version stays live. Writing first lets the files be written while the worker finishes."""

from __future__ import annotations

from pathlib import Path

import polars as pl

from lianjian.contract import SOURCES
from lianjian.quality.checks import SUITES, CheckOutcome, QualityRun, run_quality


def gx_cache_dir(warehouse: Path) -> Path:
    """Where the suites' results are cached (one entry per staged table's content and suite)."""
    return Path(warehouse) / "reports" / "gx_cache"


def staged_path(warehouse: Path, src: str) -> Path:
    return Path(warehouse) / "staged" / f"{src}.parquet"


def staged_frames(warehouse: Path, names=SOURCES) -> dict[str, pl.LazyFrame | None]:
    """The staged tables ``names`` as the warehouse holds them, scanned lazily (None: no such file)."""
    return {name: pl.scan_parquet(p) if (p := staged_path(warehouse, name)).is_file() else None for name in names}


def staged_digests(warehouse: Path) -> dict[str, str]:
    """Each staged table's content key as staging recorded it (the SHA-256 of its file, while the file
    is the one recorded): an unchanged table is neither read nor hashed again."""
    from lianjian.ingest.stagecache import StageCache

    records = StageCache(warehouse)
    return {
        src: f"staged-file-sha256:{sha}"
        for src in SOURCES
        if (sha := records.content_sha256(src, staged_path(warehouse, src))) is not None
    }


class SuitesFailed(Exception):
    """A blocking suite check failed: nothing is published (exit status 1)."""


def failure_message(failed: list[CheckOutcome]) -> str:
    names = "；".join(f"{o.check.name}（staged/{o.check.table}）{o.unexpected_count} 处不符" for o in failed)
    return (
        f"阻断性数据质量检查未通过：{names} — 未发布，上一版发布结果保持不变；请查看数据质量报告改正数据"
        " (a blocking data-quality check failed: nothing was published)"
    )


def suite_run(warehouse: Path) -> QualityRun:
    """The checks fed by the suites over the staged tables as the warehouse holds them."""
    return run_quality(
        staged_frames(warehouse),
        None,
        None,
        max_rejected_share=1.0,
        cache_dir=gx_cache_dir(warehouse),
        digests=staged_digests(warehouse),
        files={src: staged_path(warehouse, src) for src in SOURCES},
        part=SUITES,
    )


def require_suites_passed(warehouse: Path) -> None:
    """Raise ``SuitesFailed`` when a blocking check fed by a staged table's suite fails: called by the
    publish step once its new version is written, before the switch."""
    from lianjian.quality.worker import suite_worker

    with suite_worker().keeping():  # the suites' step, after publishing, reports the same results
        failed = suite_run(warehouse).blocking_failures
    if failed:
        raise SuitesFailed(failure_message(failed))
