"""Ingestion and quarantine: landing files -> typed staged tables, rejected rows and the ingest report.

``ingest_landing(landing_dir)`` does everything without Dagster; the landing and staged assets call
the same pieces (``read_landing`` and ``stage``). See docs/ingest.md.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import polars as pl

from lianjian.contract import PUBLISHED, SOURCES
from lianjian.ingest.quarantine import (
    REPORT_SCHEMA,
    accepted,
    candidates,
    check_references,
    file_counts,
    own_checks,
    reference_order,
    rejected,
    upstream,
)
from lianjian.ingest.reader import FILES_SCHEMA, LandingRead, raw_schema, read_landing


@dataclass
class SourceResult:
    staged: pl.DataFrame
    rejected: pl.DataFrame
    report: pl.DataFrame


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


def stage_source(
    name: str,
    raw: pl.DataFrame,
    files: pl.DataFrame,
    staged: dict[str, pl.DataFrame],
    raws: dict[str, pl.DataFrame],
) -> SourceResult:
    """Stage one source. ``staged`` holds the accepted rows of the sources it references that come
    before it in ``reference_order()``; ``raws`` the raw frames of those that come after it (only
    personnel -> departments), whose candidate rows are used instead."""
    src = SOURCES[name]
    checked = own_checks(src, raw)
    before, after = upstream(name)
    targets = {t: staged[t] for t in before}
    for t in after:
        targets[t] = candidates(own_checks(SOURCES[t], raws[t]))
    checked = check_references(src, checked, targets)
    return SourceResult(
        staged=accepted(src, checked),
        rejected=rejected(src, checked, raw, files),
        report=file_counts(src, checked, files),
    )


def stage(landing: LandingRead) -> IngestResult:
    """Stage every source in reference order."""
    staged: dict[str, pl.DataFrame] = {}
    rejected_parts, report_parts = [], []
    for name in reference_order():
        res = stage_source(name, landing.frames[name], landing.files, staged, landing.frames)
        staged[name] = res.staged
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


def ingest_landing(landing_dir: Path) -> IngestResult:
    """Read and stage a whole landing zone without Dagster (tests, benchmark, CLI helpers)."""
    return stage(read_landing(Path(landing_dir)))


__all__ = [
    "FILES_SCHEMA",
    "IngestResult",
    "LandingRead",
    "REPORT_SCHEMA",
    "SourceResult",
    "ingest_landing",
    "raw_schema",
    "read_landing",
    "reference_order",
    "stage",
    "stage_source",
    "upstream",
]
