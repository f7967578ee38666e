"""Staged layer: typed contract tables, quarantined rows and the ingest report (docs/contract.md "What it reads").

``["staged", <source>]`` has exactly ``SOURCES[source].staged_schema()`` (personal columns dropped);
``["staged", "rejected_records"]`` every rejected row with all its reasons;
``["staged", "ingest_report"]`` one row per landing file with the conservation counts.

One op reads the landing zone and stages every source (docs/ingest.md, "Reading each file once"):
each landing file is read once — or taken from the warehouse's file cache when it has not changed —
and observed as its ``["landing", <source>]`` asset (assets/landing.py) — in a background thread
(``read_ahead``), while the sources already read are staged; the sources are staged in
``reference_order()`` (the order they are read in), because each source's references are checked against the ACCEPTED rows of
the sources before it; the lineage declared below (internal deps) shows exactly that reference DAG.
The logic is ``lianjian.ingest`` (one source at a time, streamed: each staged table is a LazyFrame
the IO manager sinks to Parquet). A source whose inputs did not change since its staged table was
written (same stage key, lianjian/ingest/stagecache.py) is not checked or written again: its output
is ``Unchanged`` (the IO manager keeps the file and records the materialization) and its rejected
rows, report rows and year digests come from the record of that staging. Once everything is written
the op writes the per-year digests (``staged/_year_digests.json``) and reports the blocking
conservation checks (checks/conservation.py). Each staged table, once written, is handed to the
suite worker (lianjian/quality/worker.py): its Great Expectations suite runs beside the rest of
staging, and the data-quality step (checks/quality.py) takes the result.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import ExitStack, closing
from pathlib import Path

import dagster as dg
import polars as pl

from assets.landing import LANDING, observation
from checks.conservation import CHECK_SPECS, conservation_result
from lianjian.contract import INTERNAL, PUBLISHED, SOURCES
from lianjian.files import run_tmpdir
from lianjian.fingerprint import StatCache
from lianjian.ingest import DateBounds, combine_rejected, combine_report, iter_landing, read_ahead, stage_sources, upstream
from lianjian.ingest.cache import FileCache
from lianjian.ingest.digests import YearDigests, write_year_digests
from lianjian.ingest.stagecache import Kept, Reuse, StageCache
from lianjian.quality.checks import current_year
from lianjian.quality.worker import SuiteWorker, beside_staging, suite_worker
from pipelines.executor import in_process
from pipelines.io_manager import PARQUET_OPTIONS, Streamed, Unchanged, table_schema
from pipelines.resources import LianjianSettings

CODE_VERSION = "ingest-1"
OWNERS = ["team:jijian"]
TAGS = {"layer": "staged"}
#: How the IO manager writes a staged table: part of every stage key (the file's bytes depend on it).
STAGED_WRITER = json.dumps(PARQUET_OPTIONS, sort_keys=True)

#: A staged table's output: the accepted rows (lazy, streamed to Parquet by the IO manager, each
#: batch of them hashed for the year digests as it is written: ``Streamed``), or ``Unchanged`` when
#: the table in the warehouse is already what staging would write.
STAGED_TABLE = dg.DagsterType(
    name="StagedTable",
    type_check_fn=lambda _context, value: isinstance(value, (pl.LazyFrame, Streamed, Unchanged)),
    typing_type=pl.LazyFrame,
    description="暂存表：通过校验的行（LazyFrame），或“未变”（沿用数据仓库中已有的表）。"
    " Accepted rows as a LazyFrame, or Unchanged: the table in the warehouse is kept.",
)


def _out(
    name: str, description: str, columns, *, kinds: set[str], extra: dict | None = None, dagster_type=pl.DataFrame
) -> dg.AssetOut:
    """One staged output: key ["staged", name], the contract's schema (Chinese names) as metadata."""
    schema = pl.Schema({c.name: c.dtype() for c in columns if not c.personal})
    return dg.AssetOut(
        key=["staged", name],
        group_name="staged",
        description=description,
        owners=OWNERS,
        kinds=kinds,
        code_version=CODE_VERSION,
        tags=TAGS,
        metadata={"dagster/column_schema": table_schema(schema, {c.name: c.zh for c in columns}), **(extra or {})},
        dagster_type=dagster_type,
    )


def _staged_out(name: str) -> dg.AssetOut:
    src = SOURCES[name]
    return _out(
        name,
        f"暂存 {name}（{src.zh}）：通过契约校验的行，已按契约定型（个人信息列已删除），并经 Great Expectations 套件校验。"
        f" Accepted rows of {name}, typed per the contract, personal columns dropped; validated by its Great Expectations suite.",
        src.columns,
        kinds={"polars", "parquet", "great_expectations"},
        extra={"required_source": src.required},
        dagster_type=STAGED_TABLE,
    )


REJECTED_OUT = _out(
    "rejected_records",
    "拒收记录：不符合数据契约的输入行及全部原因（身份证号已遮蔽）。 Rejected input rows with every reason; identity numbers masked.",
    PUBLISHED["rejected_records"].columns,
    kinds={"polars", "parquet"},
)

REPORT_OUT = _out(
    "ingest_report",
    "读取报告：每个落地文件的读取、接收、拒收、重复行数（读取 = 接收 + 拒收 + 重复）。"
    " Per landing file: rows read = accepted + rejected + duplicates.",
    INTERNAL["ingest_report"].columns,
    kinds={"polars", "parquet"},
)


def _internal_deps() -> dict[str, set[dg.AssetKey]]:
    """Each staged table depends on its landing files, on the staged tables it references (accepted
    rows), and on the landing files of a referenced source staged after it (personnel -> departments)."""
    deps: dict[str, set[dg.AssetKey]] = {}
    for name in SOURCES:
        before, after = upstream(name)
        deps[name] = (
            {dg.AssetKey(["landing", name])}
            | {dg.AssetKey(["staged", t]) for t in before}
            | {dg.AssetKey(["landing", t]) for t in after}
        )
    everything = {dg.AssetKey(["landing", n]) for n in SOURCES}
    deps["rejected_records"] = everything | {dg.AssetKey(["staged", n]) for n in SOURCES}
    deps["ingest_report"] = everything | {dg.AssetKey(["staged", n]) for n in SOURCES}
    return deps


def _conservation(warehouse: Path, report: pl.DataFrame, rejected: pl.DataFrame) -> Iterator[dg.AssetCheckResult]:
    """``rows_conserved`` of every staged table, its rows counted in the file just written (every
    file's footer in one Polars call) and its rejected rows in ``rejected`` (counted once by source)."""
    counts = pl.collect_all([pl.scan_parquet(warehouse / "staged" / f"{name}.parquet").select(pl.len()) for name in SOURCES])
    by_source = dict(rejected.get_column("source").value_counts().iter_rows())
    for name, staged in zip(SOURCES, counts):
        yield conservation_result(name, report, staged.item(), by_source.get(name, 0))


def _validate_beside(worker: SuiteWorker | None, name: str, reuse: Reuse, gx_cache: Path) -> None:
    """Hand the staged table of ``name``, as this run leaves it, to the suite worker, keyed by its
    file's SHA-256 as recorded — the content key the data-quality step looks its result up by."""
    sha = reuse.content.get(name)
    if worker is not None and sha is not None:
        worker.submit(name, reuse.staged_path(name), f"staged-file-sha256:{sha}", gx_cache)


@dg.multi_asset(
    name="staged_tables",
    outs={name: _staged_out(name) for name in SOURCES} | {"rejected_records": REJECTED_OUT, "ingest_report": REPORT_OUT},
    deps=LANDING,
    internal_asset_deps=_internal_deps(),
    check_specs=CHECK_SPECS,
    can_subset=False,
    code_version=CODE_VERSION,
)
def staged_assets(context, lianjian: LianjianSettings):
    # Each landing file is read once, or taken from the warehouse's file cache when unchanged
    # (lianjian.ingest.cache); then one source at a time, in bounded memory: each staged table is
    # yielded as a LazyFrame over checked parts that the IO manager streams to Parquet before the next
    # source is staged; only rejected rows and key sets are held in memory.
    warehouse = lianjian.warehouse_path
    plausible = lianjian.load_rules().settings().plausible_dates
    dates = DateBounds(plausible.earliest, plausible.latest(current_year()))
    # a landing file whose stat is the one recorded with its SHA-256 (the stat cache a finished run
    # fills, lianjian/fingerprint.py) is looked up in the file cache without being hashed again
    stats = StatCache(warehouse)
    cache = FileCache(warehouse, known=lambda rel, path: stats.known(rel, path.stat()))
    warnings: list[str] = []
    logged = 0
    # the staged tables' suites run beside staging, in a worker process this step and the data-quality
    # step share (lianjian/quality/worker.py): only when both run in this process, for a small zone
    worker = suite_worker() if in_process(context.run.run_config) and beside_staging(lianjian.landing_path) else None
    gx_cache = warehouse / "reports" / "gx_cache"
    rejected_parts, report_parts = [], []
    with run_tmpdir(warehouse, "stage") as tmp, ExitStack() as stack:  # reading ends before tmp goes

        def on_read(read) -> None:
            nonlocal logged
            for message in dict.fromkeys(warnings[logged:]):
                context.log.warning(message)
            logged = len(warnings)
            unchanged = sum(f.cached for f in read.files)
            rows = sum(f.rows for f in read.files)
            if read.present:
                context.log.info(f"读取 {read.name}：{len(read.files)} 个文件（{unchanged} 个未变，取自缓存），{rows:,} 行")
            else:
                context.log.info(f"{read.name}：落地区中没有此可选数据源，按空表处理 (optional source absent)")
            context.log_event(observation(read.name, read.entries, unchanged, read.present))
            if worker is not None and unchanged < len(read.files):  # a file read again: suites will run
                worker.warm()

        records = StageCache(warehouse)
        records.sweep()
        reuse = Reuse(records, lambda n: warehouse / "staged" / f"{n}.parquet", STAGED_WRITER)
        # the landing zone is read in a background thread, each source staged as soon as it is read
        ahead = stack.enter_context(closing(read_ahead(iter_landing(lianjian.landing_path, tmp, warnings, dates, cache))))
        digests: dict[str, dict[str, str]] = {}
        for name, res in stage_sources(ahead, reuse=reuse, on_read=on_read):
            rejected_parts.append(res.rejected)
            report_parts.append(res.report)
            counts = res.report.select(pl.col("rows_read", "rows_accepted", "rows_rejected", "rows_duplicate").sum()).row(0)
            metadata = {
                "present": dg.MetadataValue.bool(res.report.height > 0),
                "rows_read": dg.MetadataValue.int(counts[0]),
                "rows_rejected": dg.MetadataValue.int(counts[2]),
                "rows_duplicate": dg.MetadataValue.int(counts[3]),
                "restaged": dg.MetadataValue.bool(not isinstance(res, Kept)),
                "stage_key": dg.MetadataValue.text(res.key or ""),
            }
            if isinstance(res, Kept):
                context.log.info(f"暂存 {name}：输入未变，沿用数据仓库中的暂存表（接收 {counts[1]:,} 行）(unchanged, kept)")
                yield dg.Output(Unchanged("stage key unchanged, staged file intact"), output_name=name, metadata=metadata)
                digests[name] = res.digests
                _validate_beside(worker, name, reuse, gx_cache)
                continue
            context.log.info(
                f"暂存 {name}：读取 {counts[0]:,} 行，接收 {counts[1]:,}，拒收 {counts[2]:,}，重复 {counts[3]:,}"
            )
            # the year digests are of the rows as the IO manager writes them, in the same pass
            year_digests = YearDigests(SOURCES[name], res.staged.collect_schema())
            yield dg.Output(Streamed(res.staged, year_digests.add), output_name=name, metadata=metadata)
            # the IO manager has written the table: its year digests, and the record of this staging
            digests[name] = year_digests.result()
            reuse.record(name, res.key, res.rejected, res.report, digests[name])
            _validate_beside(worker, name, reuse, gx_cache)
        cache.keep_only(cache.used)  # every source read: the entries of files no longer there go
        if reuse.kept_sources:
            context.log.info(
                f"暂存：{len(reuse.kept_sources)} 个数据源输入未变、沿用；重新暂存 {len(reuse.staged_sources)} 个："
                f"{'、'.join(reuse.staged_sources) or '无'} (sources staged again)"
            )
    rejected = combine_rejected(rejected_parts)
    report = combine_report(report_parts)
    if rejected.height:
        context.log.warning(f"拒收 {rejected.height:,} 行，原因见 staged/rejected_records (rows rejected)")
    yield dg.Output(rejected, output_name="rejected_records")
    yield dg.Output(report, output_name="ingest_report", metadata={"files": dg.MetadataValue.int(report.height)})
    write_year_digests(warehouse, digests)
    yield from _conservation(warehouse, report, rejected)


defs = dg.Definitions(assets=[staged_assets])
