"""The sensors: the landing zone's, which starts a pipeline run when files in the landing zone are
added, changed or removed (and skips when nothing changed), and ``lianjian_assess_after_ingest``, which
launches the second run of a pipeline run once its first run succeeded (``pipelines/runs.py``) — unless
the first run's own process executes it (lianjian's run launcher: pipelines/chain.py).

The cursor is the SHA-256 of the sorted listing of (path relative to the landing zone, size,
mtime_ns) of every file; only names, sizes and times are read, never contents, so a tick is cheap
even on a large landing zone. Hidden files and the temporary files of office programs and copy
tools (``~$…``, ``.~lock…``, ``*.tmp``, ``*.part``, ``*.crdownload``) are ignored.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import dagster as dg

from pipelines.jobs import lianjian_assess, lianjian_ingest
from pipelines.resources import LianjianSettings
from pipelines.runs import assess_request, chained_in_its_process, ingest_request

IGNORED_SUFFIXES = (".tmp", ".part", ".crdownload", ".partial")


def _ignored(name: str) -> bool:
    return name.startswith((".", "~$")) or name.lower().endswith(IGNORED_SUFFIXES)


def landing_listing(landing: Path) -> list[tuple[str, int, int]]:
    """(relative path, size, mtime_ns) of every landing file, sorted by path."""
    out = []
    for dirpath, dirnames, filenames in os.walk(landing):
        dirnames[:] = sorted(d for d in dirnames if not _ignored(d))
        for name in filenames:
            if _ignored(name):
                continue
            p = Path(dirpath, name)
            try:
                st = p.stat()
            except FileNotFoundError:  # removed while listing: the next tick sees the new state
                continue
            out.append((p.relative_to(landing).as_posix(), st.st_size, st.st_mtime_ns))
    return sorted(out)


def landing_fingerprint(landing: Path) -> tuple[str, int]:
    """(SHA-256 of the listing, number of files)."""
    listing = landing_listing(landing)
    digest = hashlib.sha256(json.dumps(listing, ensure_ascii=False).encode("utf-8")).hexdigest()
    return digest, len(listing)


@dg.sensor(
    name="landing_zone_sensor",
    job=lianjian_ingest,
    minimum_interval_seconds=60,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description=(
        "落地区文件新增、修改或删除时运行全流程（先读取与暂存，再考核暂存数据所含的年度）；无变化时跳过。"
        " Starts a pipeline run when landing files change."
    ),
)
def landing_zone_sensor(context: dg.SensorEvaluationContext, lianjian: LianjianSettings):
    landing = lianjian.landing_path
    if not landing.is_dir():
        return dg.SkipReason(f"落地区 {landing} 不存在 — 请创建该目录或设置 LIANJIAN_LANDING (landing zone missing)")
    fingerprint, files = landing_fingerprint(landing)
    if files == 0:
        return dg.SkipReason(f"落地区 {landing} 没有文件 (landing zone empty)")
    if fingerprint == context.cursor:
        return dg.SkipReason("落地区没有变化 (landing zone unchanged)")
    previous = (context.cursor or "first")[:12]
    request = ingest_request(
        lianjian,
        trigger="landing",
        run_key=f"landing-{previous}-{fingerprint[:12]}",
        extra_tags={"lianjian/landing_fingerprint": fingerprint[:16]},
    )
    if isinstance(request, dg.SkipReason):  # the files were touched or copied again, not changed
        return dg.SensorResult(skip_reason=request, cursor=fingerprint)
    return dg.SensorResult(run_requests=[request], cursor=fingerprint)


@dg.run_status_sensor(
    name="lianjian_assess_after_ingest",
    run_status=dg.DagsterRunStatus.SUCCESS,
    monitored_jobs=[lianjian_ingest],
    request_job=lianjian_assess,
    minimum_interval_seconds=10,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description=(
        "lianjian_ingest 成功后启动同一流程的 lianjian_assess：相同的 lianjian/* 标签与路径，只算暂存数据所含的年度；"
        "该运行的进程（lianjian 的运行启动器）自己接着运行时跳过。"
        " After a successful ingest run, launches the assess run of the same pipeline run over the staged years,"
        " unless the ingest run's own process runs it (lianjian's run launcher)."
    ),
)
def assess_after_ingest(context: dg.RunStatusSensorContext):
    """The second run of the succeeded first run's pipeline run — unless the first run's process
    executes it itself (lianjian's run launcher tagged it so when it launched it: pipelines/chain.py);
    that is decided before the first run ends, so a tick between its end and the second run's
    creation skips too."""
    run = context.dagster_run
    if chained_in_its_process(run):
        return dg.SkipReason(f"运行 {run.run_id[:8]} 的进程自己接着运行 lianjian_assess (its own process runs the assess run)")
    return assess_request(run, context.instance)


defs = dg.Definitions(sensors=[landing_zone_sensor, assess_after_ingest])
