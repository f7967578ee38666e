"""Atomic, deterministic publishing of the result tables (CONTRACT.md §3).

Layout under the warehouse::

    published -> .published/v<UTC time>-<run id>     a symbolic link, swapped in one rename
    .published/v…/<table>/year=<YYYY>/part-0.parquet  yearly tables (``year`` also inside the file)
    .published/v…/rejected_records/part-0.parquet
    .published/v…/_manifest.json, _dictionary.json
    .published/.tmp-<run id>/                          a version being written (never read)
    .published/.lock                                   held while publishing (one publisher at a time)

A new version is written whole into ``.tmp-<run id>``, every file and folder fsync'ed, renamed to its
version name, and only then does ``published`` switch to it by an atomic ``rename(2)`` of a fresh
symbolic link over the old one. A reader opening ``published/<table>/…`` sees either the old version
or the new one, never a mix; a run killed at any point leaves the old version whole (at worst a
``.tmp-*`` folder, removed by the next run's :func:`recover`). The previous version is kept until the
next publish, so a query that started on it still finds its files.

Deterministic: rows sorted by the table's key and then every other column, fixed Parquet writer
settings, file names without times, no wall-clock value in any Parquet file (the manifest carries the
time). Same inputs and rules -> byte-identical Parquet files.
"""

from __future__ import annotations

import datetime as dt
import fcntl
import hashlib
import json
import os
import shutil
import subprocess
from collections.abc import Callable, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import polars as pl

from lianjian.contract import ENUMS, INTERNAL, PUBLISHED
from lianjian.errors import FatalError
from lianjian.publish.dictionary import dictionary_bytes
from lianjian.publish.privacy import mask_frame

LINK = "published"
VERSIONS = ".published"
MANIFEST = "_manifest.json"
DICTIONARY = "_dictionary.json"
PART = "part-0.parquet"

#: Fixed writer settings (part of the byte-identity promise: change them and files change).
WRITER = dict(compression="zstd", compression_level=3, statistics=True, row_group_size=250_000)

#: Ingest report columns (one row per landing file) copied into the manifest's ``inputs``.
INGEST_COLUMNS: dict[str, pl.DataType] = dict(INTERNAL["ingest_report"].schema())

#: Called with the name of each publishing step (tests use it to kill the process there).
CHECKPOINT_HOOK: Callable[[str], None] | None = None


def _checkpoint(step: str) -> None:
    if CHECKPOINT_HOOK is not None:
        CHECKPOINT_HOOK(step)


@dataclass(frozen=True)
class PublishResult:
    version: str
    path: Path  # the ``published`` link
    rows: dict[str, int]
    manifest: dict


# --------------------------------------------------------------------------------------------------
# Preparing one table


def prepare(table: str, frame: pl.LazyFrame | pl.DataFrame) -> pl.DataFrame:
    """Exactly the contract columns of ``table``, in declared order and type, identity-card-shaped
    text masked, rows in a total, stable order (key columns, then every other column, nulls last)."""
    t = PUBLISHED[table]
    schema = t.schema()
    lf = frame.lazy()
    have = lf.collect_schema()
    missing = [c for c in schema if c not in have]
    if missing:
        raise FatalError(
            f"发布表 {table}: 缺少列 {', '.join(missing)} — 上游资产的列必须与 lianjian/contract/published.yaml 一致"
            f" (published table {table} lacks columns {missing})"
        )
    lf = lf.select([pl.col(name).cast(dtype) for name, dtype in schema.items()])
    order = list(t.key) + [c for c in schema if c not in t.key]
    try:
        return mask_frame(lf).sort(order, nulls_last=True).collect()
    except pl.exceptions.PolarsError as err:
        # Never echo the values: only the table and the kind of problem.
        raise FatalError(
            f"发布表 {table}: 列类型与数据契约不符（{type(err).__name__}）— 请检查上游资产输出的类型"
        ) from None


def run_years(tables: Mapping[str, pl.DataFrame]) -> list[int]:
    """Every year present in any yearly table: each yearly table gets a partition for each of them
    (an empty file where it has no rows), so ``WHERE year = Y`` always finds the partition."""
    years: set[int] = set()
    for name, frame in tables.items():
        if PUBLISHED[name].yearly and frame.height:
            years.update(frame.get_column("year").drop_nulls().unique().to_list())
    return sorted(years)


# --------------------------------------------------------------------------------------------------
# Files


def _fsync_file(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _write(frame: pl.DataFrame, path: Path) -> dict:
    path.parent.mkdir(parents=True, exist_ok=True)
    frame.write_parquet(path, **WRITER)
    _fsync_file(path)
    return {"rows": frame.height, "sha256": sha256_file(path)}


def write_table(table: str, frame: pl.DataFrame, root: Path, years: list[int]) -> list[dict]:
    """Write one prepared table under ``root/<table>/``; returns its files (path relative to ``root``,
    rows, sha256) in path order."""
    files = []
    base = root / table
    if PUBLISHED[table].yearly:
        parts = {int(k[0]): v for k, v in frame.partition_by("year", as_dict=True, maintain_order=True).items()} if frame.height else {}
        for year in sorted(set(years) | set(parts)):
            part = parts.get(year, frame.clear())
            rel = Path(table, f"year={year}", PART)
            files.append({"path": rel.as_posix(), **_write(part, root / rel)})
            _fsync_dir(root / rel.parent)
    else:
        rel = Path(table, PART)
        files.append({"path": rel.as_posix(), **_write(frame, root / rel)})
    base.mkdir(parents=True, exist_ok=True)
    _fsync_dir(base)
    return files


# --------------------------------------------------------------------------------------------------
# Manifest


def code_version() -> str:
    """The package version, plus the git commit when the code runs from a checkout."""
    try:
        from importlib.metadata import version

        v = version("lianjian")
    except Exception:  # noqa: BLE001 - not installed: running from the source tree
        v = "0+unknown"
    root = Path(__file__).resolve().parents[2]
    if (root / ".git").exists():
        try:
            sha = subprocess.run(
                ["git", "-C", str(root), "rev-parse", "--short=12", "HEAD"],
                capture_output=True,
                text=True,
                timeout=5,
                check=True,
            ).stdout.strip()
            if sha:
                v = f"{v}+g{sha}"
        except (OSError, subprocess.SubprocessError):
            pass
    return v


def manifest_inputs(ingest_report: pl.LazyFrame | pl.DataFrame | None) -> list[dict]:
    """One entry per landing file from the ingest report, in (source, file) order."""
    if ingest_report is None:
        return []
    lf = ingest_report.lazy()
    have = lf.collect_schema()
    missing = [c for c in INGEST_COLUMNS if c not in have]
    if missing:
        raise FatalError(f"staged/ingest_report: 缺少列 {', '.join(missing)} — 导入报告必须包含 {', '.join(INGEST_COLUMNS)}")
    lf = lf.select([pl.col(c).cast(t) for c, t in INGEST_COLUMNS.items()])
    return mask_frame(lf).sort(["source", "file"], nulls_last=True).collect().to_dicts()


def build_manifest(
    *,
    run_id: str,
    pipeline_run_id: str | None = None,
    dagster_run_ids: list[str] | None = None,
    version: str,
    time: dt.datetime,
    code_version: str,
    rules_version: str,
    rules_sha256: str,
    inputs: list[dict],
    outputs: dict[str, list[dict]],
) -> dict:
    return {
        "run_id": run_id,
        "pipeline_run_id": pipeline_run_id or run_id,
        "dagster_run_ids": list(dagster_run_ids or [run_id]),
        "version": version,
        "time": time.isoformat(timespec="seconds"),
        "code_version": code_version,
        "rules_version": rules_version,
        "rules_sha256": rules_sha256,
        "inputs": inputs,
        "outputs": [
            {"table": t, "rows": sum(f["rows"] for f in files), "files": files} for t, files in outputs.items()
        ],
        "dictionary": DICTIONARY,
    }


# --------------------------------------------------------------------------------------------------
# Versions, swap and recovery


def versions_dir(warehouse: Path) -> Path:
    return Path(warehouse) / VERSIONS


def current_version(warehouse: Path) -> Path | None:
    """The version folder ``published`` points to (None when nothing is published)."""
    link = Path(warehouse) / LINK
    if link.is_symlink():
        target = link.resolve()
        return target if target.is_dir() else None
    return link if link.is_dir() else None


@contextmanager
def publish_lock(warehouse: Path):
    """One publisher at a time per warehouse (released by the kernel if the process dies)."""
    vd = versions_dir(warehouse)
    vd.mkdir(parents=True, exist_ok=True)
    with open(vd / ".lock", "a+") as f:
        fcntl.flock(f.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(f.fileno(), fcntl.LOCK_UN)


def _complete_versions(warehouse: Path) -> list[Path]:
    vd = versions_dir(warehouse)
    if not vd.is_dir():
        return []
    return sorted(p for p in vd.iterdir() if p.is_dir() and p.name.startswith("v"))


def _point_link(warehouse: Path, version: Path) -> None:
    """Atomically make ``published`` a relative link to ``version``."""
    warehouse = Path(warehouse)
    tmp = warehouse / f".{LINK}-link-{os.getpid()}"
    if tmp.is_symlink() or tmp.exists():
        tmp.unlink()
    os.symlink(Path(VERSIONS, version.name), tmp, target_is_directory=True)
    os.replace(tmp, warehouse / LINK)
    _fsync_dir(warehouse)


def recover(warehouse: Path) -> None:
    """Bring a warehouse left by an interrupted publish back to a clean state (call under the lock):
    remove unfinished ``.tmp-*`` versions and stray link files; turn a plain ``published`` folder (an
    older layout) into a version; re-point a missing or dangling ``published`` at the newest complete
    version. Never touches a complete version that is published."""
    warehouse = Path(warehouse)
    vd = versions_dir(warehouse)
    if vd.is_dir():
        for p in vd.iterdir():
            if p.name.startswith(".tmp-"):
                shutil.rmtree(p, ignore_errors=True)
    for p in warehouse.glob(f".{LINK}-link-*"):
        p.unlink(missing_ok=True)
    link = warehouse / LINK
    if link.is_dir() and not link.is_symlink():
        vd.mkdir(parents=True, exist_ok=True)
        legacy = vd / "v00000000T000000000000-legacy"
        shutil.rmtree(legacy, ignore_errors=True)
        os.rename(link, legacy)
        _fsync_dir(warehouse)
    if current_version(warehouse) is None:
        versions = _complete_versions(warehouse)
        if versions:
            _point_link(warehouse, versions[-1])


def _collect_garbage(warehouse: Path, keep: int = 2) -> None:
    """Delete complete versions older than the ``keep`` newest, never the published one."""
    current = current_version(warehouse)
    versions = _complete_versions(warehouse)
    for p in versions[:-keep]:
        if current is None or p.resolve() != current:
            shutil.rmtree(p, ignore_errors=True)


def publish_tables(
    warehouse: Path,
    tables: Mapping[str, pl.LazyFrame | pl.DataFrame],
    *,
    ingest_report: pl.LazyFrame | pl.DataFrame | None,
    run_id: str,
    rules_version: str,
    rules_sha256: str,
    code_version_: str | None = None,
    now: dt.datetime | None = None,
    pipeline_run_id: str | None = None,
    dagster_run_ids: list[str] | None = None,
) -> PublishResult:
    """Publish every table of the contract at once (missing ones as empty tables), with the manifest
    and dictionary, atomically. See the module docstring for the layout and guarantees."""
    warehouse = Path(warehouse).absolute()
    unknown = set(tables) - set(PUBLISHED)
    if unknown:
        raise ValueError(f"not published tables: {sorted(unknown)}")
    try:
        warehouse.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise FatalError(f"数据仓库 {warehouse}: 无法创建（{err.strerror}）— 请用 --warehouse 指定可写的目录") from None
    now = now or dt.datetime.now(dt.timezone.utc).astimezone()
    prepared = {name: prepare(name, tables.get(name, PUBLISHED[name].empty())) for name in PUBLISHED}
    years = run_years(prepared)
    inputs = manifest_inputs(ingest_report)
    safe_run = "".join(ch if ch.isalnum() or ch in "-_" else "_" for ch in run_id)
    version = f"v{now.astimezone(dt.timezone.utc):%Y%m%dT%H%M%S%f}-{safe_run}"

    with publish_lock(warehouse):
        recover(warehouse)
        vd = versions_dir(warehouse)
        tmp = vd / f".tmp-{safe_run}"
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir(parents=True)
        _checkpoint("started")
        outputs: dict[str, list[dict]] = {}
        for name, frame in prepared.items():
            outputs[name] = write_table(name, frame, tmp, years)
            _checkpoint(f"table:{name}")
        (tmp / DICTIONARY).write_bytes(dictionary_bytes())
        manifest = build_manifest(
            run_id=run_id,
            pipeline_run_id=pipeline_run_id,
            dagster_run_ids=dagster_run_ids,
            version=version,
            time=now,
            code_version=code_version_ or code_version(),
            rules_version=rules_version,
            rules_sha256=rules_sha256,
            inputs=inputs,
            outputs=outputs,
        )
        (tmp / MANIFEST).write_text(json.dumps(manifest, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
        _fsync_file(tmp / DICTIONARY)
        _fsync_file(tmp / MANIFEST)
        _fsync_dir(tmp)
        _checkpoint("written")
        final = vd / version
        os.rename(tmp, final)
        _fsync_dir(vd)
        _checkpoint("renamed")
        _point_link(warehouse, final)
        _checkpoint("swapped")
        _collect_garbage(warehouse)
        _checkpoint("done")
    rows = {o["table"]: o["rows"] for o in manifest["outputs"]}
    return PublishResult(version=version, path=warehouse / LINK, rows=rows, manifest=manifest)


# --------------------------------------------------------------------------------------------------
# Reading what is published


def published_files(warehouse: Path, table: str) -> list[Path]:
    root = Path(warehouse) / LINK / table
    return sorted(root.rglob("*.parquet")) if root.is_dir() else []


def read_published(warehouse: Path, table: str) -> pl.LazyFrame:
    """A published table as a LazyFrame with the contract's schema (empty when absent)."""
    files = published_files(warehouse, table)
    if not files:
        return PUBLISHED[table].empty().lazy()
    return pl.scan_parquet(files, hive_partitioning=False).select(list(PUBLISHED[table].schema()))


def read_manifest(warehouse: Path) -> dict | None:
    path = Path(warehouse) / LINK / MANIFEST
    if not path.is_file():
        return None
    return json.loads(path.read_text(encoding="utf-8"))


GRADE_LEVELS = ("好", "较好", "一般", "较差")


def _grade_counts(lf: pl.LazyFrame) -> dict[str, int]:
    counts = dict(lf.group_by("grade").agg(pl.len()).collect().iter_rows())
    out = {g: int(counts.get(g, 0)) for g in GRADE_LEVELS}
    out["未评定"] = int(counts.get(None, 0))
    return out


def publish_summary(warehouse: Path) -> dict:
    """What ``lianjian run`` prints: outputs with row counts, grade counts per level for both
    assessments (all years and by year), trigger counts by type, rejected rows per source."""
    warehouse = Path(warehouse).absolute()
    manifest = read_manifest(warehouse) or {}
    outputs = {o["table"]: o["rows"] for o in manifest.get("outputs", [])}
    grades, grades_by_year = {}, {}
    for table in ("integrity_assessment", "responsibility_assessment"):
        lf = read_published(warehouse, table)
        grades[table] = _grade_counts(lf)
        years = sorted(lf.select(pl.col("year").unique()).collect().get_column("year").drop_nulls().to_list())
        grades_by_year[table] = {y: _grade_counts(lf.filter(pl.col("year") == y)) for y in years}
    trig = read_published(warehouse, "accountability_triggers").group_by("trigger_type").agg(pl.len()).collect()
    triggers = {t: 0 for t in ENUMS["trigger_type"].codes}
    triggers.update({k: int(v) for k, v in trig.iter_rows()})
    rej = read_published(warehouse, "rejected_records").group_by("source").agg(pl.len()).sort("source").collect()
    inputs = manifest.get("inputs", [])
    return {
        "published": str(warehouse / LINK),
        "run_id": manifest.get("run_id"),
        "rules_version": manifest.get("rules_version"),
        "outputs": outputs,
        "grades": grades,
        "grades_by_year": grades_by_year,
        "triggers": triggers,
        "rejected": {k: int(v) for k, v in rej.iter_rows()},
        "inputs": {
            "files": len(inputs),
            "rows_read": sum(int(i.get("rows_read") or 0) for i in inputs),
            "rows_rejected": sum(int(i.get("rows_rejected") or 0) for i in inputs),
            "rows_duplicate": sum(int(i.get("rows_duplicate") or 0) for i in inputs),
        },
    }
