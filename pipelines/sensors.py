"""The landing-zone sensor: starts ``lianjian_all`` when files in the landing zone are added, changed
or removed, and skips when nothing changed.

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

from pipelines.partitions import range_tags
from pipelines.resources import LianjianSettings

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
    job_name="lianjian_all",
    minimum_interval_seconds=60,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="落地区文件新增、修改或删除时运行全流程；无变化时跳过。Runs the whole graph when landing files change.",
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
    return dg.SensorResult(
        run_requests=[
            dg.RunRequest(
                run_key=f"landing-{previous}-{fingerprint[:12]}",
                tags={"lianjian/trigger": "landing", "lianjian/landing_fingerprint": fingerprint[:16], **range_tags()},
            )
        ],
        cursor=fingerprint,
    )
