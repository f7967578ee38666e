"""Ingestion and quarantine: landing files -> typed staged tables, rejected rows and the ingest report.

``ingest_landing(landing_dir)`` does everything without Dagster; the landing and staged assets call
the same pieces (``read_landing`` and ``stage``). See docs/ingest.md.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import polars as pl

from lianjian.contract import PUBLISHED, SOURCES
from lianjian.ingest.quarantine import (
    REPORT_SCHEMA,
    Checked,
    DateBounds,
    Staged,
    check_source,
    reference_order,
    stage_checked,
    upstream,
)
from lianjian.ingest.reader import FILES_SCHEMA, LandingRead, SourceRead, files_frame, iter_landing, raw_schema, read_landing


@dataclass
class IngestResult:
    """staged: source -> typed staged frame; rejected: PUBLISHED["rejected_records"] rows; report: one
    row per landing file (REPORT_SCHEMA); warnings: Chinese-first messages (unknown columns, ...);
    present: which sources had at least one file."""

    staged: dict[str, pl.DataFrame]
    rejected: pl.DataFrame
    report: pl.DataFrame
    warnings: list[str] = field(default_factory=list)
    present: dict[str, bool] = field(default_factory=dict)


def stage_sources(
    raws: dict[str, pl.LazyFrame], files: pl.DataFrame, tmpdir: Path, dates: DateBounds | None = None
) -> Iterator[tuple[str, Staged]]:
    """Stage every source in ``reference_order()``, one at a time, in bounded memory. ``raws``: the raw
    (landing) rows of each source, lazily (``scan_parquet``); ``files``: the file inventory. Yields
    (source, Staged); ``Staged.staged`` is lazy over temporary parts under ``tmpdir`` (keep it until
    the tables are written) — write it before asking for the next source. A source's references are
    checked against the accepted rows of the sources before it (read back lazily, key columns only);
    personnel's reference to departments against the departments' candidate rows. ``dates``: the
    plausible range of every date column (the rules file's ``plausible_dates``; None: not checked)."""
    accepted: dict[str, pl.LazyFrame] = {}
    early: dict[str, Checked] = {}
    for name in reference_order():
        checked = early.pop(name, None) or check_source(SOURCES[name], raws[name], tmpdir, dates=dates)
        before, after = upstream(name)
        targets = {t: accepted[t] for t in before}
        for t in after:
            early[t] = check_source(SOURCES[t], raws[t], tmpdir, dates=dates)
            targets[t] = early[t].candidates()
        res = stage_checked(checked, targets, raws[name], files)
        accepted[name] = res.staged
        yield name, res


def stage(landing: LandingRead, dates: DateBounds | None = None) -> IngestResult:
    """Stage every source in reference order, in memory (tests and small zones)."""
    staged: dict[str, pl.DataFrame] = {}
    rejected_parts, report_parts = [], []
    with tempfile.TemporaryDirectory(prefix="lianjian-stage-") as tmp:
        raws = {n: f.lazy() for n, f in landing.frames.items()}
        for name, res in stage_sources(raws, landing.files, Path(tmp), dates):
            staged[name] = res.staged.collect()
            rejected_parts.append(res.rejected)
            report_parts.append(res.report)
    return IngestResult(
        staged={n: staged[n] for n in SOURCES},
        rejected=combine_rejected(rejected_parts),
        report=combine_report(report_parts),
        warnings=landing.warnings,
        present=landing.present,
    )


def combine_rejected(parts: list[pl.DataFrame]) -> pl.DataFrame:
    schema = PUBLISHED["rejected_records"].schema()
    frames = [p for p in parts if p.height] or [pl.DataFrame(schema=schema)]
    return pl.concat(frames).sort("source", "file", "row_number").cast(schema)


def combine_report(parts: list[pl.DataFrame]) -> pl.DataFrame:
    frames = [p for p in parts if p.height] or [pl.DataFrame(schema=REPORT_SCHEMA)]
    return pl.concat(frames).sort("source", "file").cast(REPORT_SCHEMA)


def ingest_landing(landing_dir: Path, dates: DateBounds | None = None) -> IngestResult:
    """Read and stage a whole landing zone without Dagster (tests, benchmark, CLI helpers). The
    temporary parts go to the system's temporary folder here; a run (the assets) keeps them in the
    warehouse's own (lianjian.files.run_tmpdir)."""
    return stage(read_landing(Path(landing_dir)), dates)


__all__ = [
    "DateBounds",
    "FILES_SCHEMA",
    "IngestResult",
    "LandingRead",
    "REPORT_SCHEMA",
    "SourceRead",
    "Staged",
    "combine_rejected",
    "combine_report",
    "files_frame",
    "ingest_landing",
    "iter_landing",
    "raw_schema",
    "read_landing",
    "reference_order",
    "stage",
    "stage_sources",
    "upstream",
]
