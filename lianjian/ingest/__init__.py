"""Ingestion and quarantine: landing files -> typed staged tables, rejected rows and the ingest report.

Each landing file is read once (``reader.read_file``): decoded, cleaned, identity numbers masked and
every row typed and checked on its own, chunk by chunk, into checked parts — in a run, in the
warehouse's private file cache (``cache.FileCache``), so an unchanged file is not read again. Then
``stage_sources`` runs the checks across rows and files (duplicates, references to other sources'
accepted rows) over those parts and gives the staged tables, the rejected rows and the per-file
counts — in a run, only for the sources whose inputs changed since their staged table was written
(``stagecache``: the others are kept as they are). ``ingest_landing(landing_dir)`` does everything without Dagster; the staged asset calls the
same pieces. See docs/ingest.md.
"""

from __future__ import annotations

import queue
import tempfile
import threading
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import polars as pl

from lianjian.contract import PUBLISHED, SOURCES
from lianjian.ingest.quarantine import (
    REPORT_SCHEMA,
    Checked,
    DateBounds,
    KnownKeys,
    Staged,
    check_rows,
    reference_order,
    stage_checked,
    upstream,
)
from lianjian.ingest.stagecache import Kept, Reuse, StageCache
from lianjian.ingest.reader import (
    FILES_SCHEMA,
    FileRead,
    LandingRead,
    SourceRead,
    files_frame,
    iter_landing,
    raw_schema,
    read_landing,
)


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


def read_ahead(reads: Iterable[SourceRead]) -> Iterator[SourceRead]:
    """The sources of ``reads`` (``iter_landing``), read in a background thread ahead of the caller:
    while one source is staged — its checks across files, its staged table written, its year digests,
    mostly on one core — the next ones are read (docs/performance.md, "Staging beside reading").
    Reading writes only its own parts (the file cache or a temporary folder), so nothing is shared
    but the finished ``SourceRead``s, handed over in order. An error while reading (a ``FatalError``
    naming the file) is raised in the caller when it asks for the next source. When the caller stops
    early, reading stops after the source being read, and this returns only once it has."""
    handed: queue.Queue = queue.Queue()
    stop = threading.Event()
    end = object()

    def run() -> None:
        try:
            for read in reads:
                handed.put((read, None))
                if stop.is_set():
                    return
            handed.put((end, None))
        except BaseException as err:  # handed to the caller, raised there
            handed.put((end, err))

    thread = threading.Thread(target=run, name="lianjian-read-ahead", daemon=True)
    thread.start()
    try:
        while True:
            read, err = handed.get()
            if read is end:
                if err is not None:
                    raise err
                return
            yield read
    finally:
        stop.set()
        thread.join()


#: A source of at most this many rows is staged from its checked rows held in memory, read from its
#: parts once (``_source_rows``); a larger one is staged over its parts, in bounded memory.
IN_MEMORY_ROWS = 200_000


def _small(read: SourceRead) -> bool:
    """Whether ``read`` is staged from its rows held in memory whatever was kept (``IN_MEMORY_ROWS``)."""
    return sum(f.rows for f in read.files) <= IN_MEMORY_ROWS


def _in_memory(read: SourceRead) -> bool:
    """Whether ``_source_rows`` of ``read`` are held in memory: a small source's, or a source whose
    every file's rows were kept since reading."""
    return _small(read) or read.held


def _source_rows(read: SourceRead) -> pl.LazyFrame:
    """A source's checked rows for staging: its duplicates, references, rejected rows, counts and
    staged table each scan them once. A small source's parts are read once into memory and those
    scans run over it: a scan of the parts costs a fixed amount per part file, which a zone of many
    small files (the demo's 61 talks files) paid for every scan (docs/performance.md, "Staging's
    fixed costs"). A large one's stay lazy over its parts: memory is bounded by the chunk. The rows
    are rechunked (one chunk per column): read from several parts, a column left out of a part is
    one chunk and the others one per part, and Polars' streaming engine panicked over columns cut
    at different places (tests/test_stage_fixed_costs.py)."""
    if _small(read):
        held = read.held_frame()  # kept in memory since reading: put together without a plan per file
        return (held if held is not None else read.rows().collect().rechunk()).lazy()
    return read.rows()


def stage_sources(
    reads: dict[str, SourceRead] | Iterable[SourceRead],
    files: pl.DataFrame | None = None,
    reuse: Reuse | None = None,
    on_read: Callable[[SourceRead], None] | None = None,
) -> Iterator[tuple[str, Staged | Kept]]:
    """Stage every source in ``reference_order()``, one at a time, in bounded memory. ``reads``: every
    source as read (its checked rows lazy over the parts), by name, or as they come (``iter_landing``,
    in declaration order, or ``read_ahead`` of it): a source is staged as soon as it and the sources
    it takes candidates from are read, and ``on_read`` is called with each read as it is taken;
    ``files``: the file inventory (by default each source's own entries). Yields (source, Staged);
    ``Staged.staged`` is lazy over the parts — write it before asking for the next source. A source's
    references are checked against the accepted rows of the sources before it (read back lazily, key
    columns only); personnel's reference to departments against the departments' candidate rows.

    With ``reuse`` (a run: the warehouse's records of the last staging, lianjian.ingest.stagecache),
    a source whose stage key is the one recorded for its staged table in the warehouse is yielded as
    ``Kept`` instead: not checked, its table not to be written again. The caller records each
    ``Staged`` source once its table is written (``Reuse.record``), before asking for the next one:
    the sources referencing it are keyed by the content of that table, and read its accepted rows
    from it — its rows kept in memory since reading (``SourceRead.release``) are then given back,
    and its ``Staged.staged`` becomes a scan of that file."""
    have: dict[str, SourceRead] = {}
    coming = iter(reads.values() if isinstance(reads, dict) else reads)

    def take(read: SourceRead) -> None:
        have[read.name] = read
        if on_read is not None:
            on_read(read)

    def need(*names: str) -> None:
        while not set(names) <= set(have):
            read = next(coming, None)
            if read is None:
                raise ValueError(f"sources not read: {sorted(set(names) - set(have))}")
            take(read)

    accepted: dict[str, pl.LazyFrame] = {}
    early: dict[str, Checked] = {}
    known: KnownKeys = {}  # the referenced keys read so far, for the sources referencing them again
    for name in reference_order():
        before, after = upstream(name)
        need(name, *after)
        key = reuse.key(name, have) if reuse is not None else None
        kept = reuse.kept(name, key) if key is not None else None
        if kept is not None:
            early.pop(name, None)
            accepted[name] = kept.accepted
            yield name, kept
            continue
        checked = early.pop(name, None) or check_rows(SOURCES[name], _source_rows(have[name]), _in_memory(have[name]), _small(have[name]))
        targets = {t: accepted[t] for t in before}
        for t in after:
            early[t] = check_rows(SOURCES[t], _source_rows(have[t]), _in_memory(have[t]), _small(have[t]))
            targets[t] = early[t].candidates()
        own = files if files is not None else files_frame(have[name].entries)
        res = stage_checked(checked, targets, own, known)
        res.key = key
        accepted[name] = res.staged
        yield name, res
        if reuse is not None:
            # the table is written: the sources after it read its accepted rows from the file, and
            # the rows kept in memory since reading are given back (nothing here refers to them now)
            accepted[name] = res.staged = pl.scan_parquet(reuse.staged_path(name))
            del checked, res
            have[name].release()
    for read in coming:  # every source is staged above: nothing is left, but reading has ended
        take(read)


def combine_rejected(parts: list[pl.DataFrame]) -> pl.DataFrame:
    schema = PUBLISHED["rejected_records"].schema()
    frames = [p for p in parts if p.height] or [pl.DataFrame(schema=schema)]
    return pl.concat(frames).sort("source", "file", "row_number").cast(schema)


def combine_report(parts: list[pl.DataFrame]) -> pl.DataFrame:
    frames = [p for p in parts if p.height] or [pl.DataFrame(schema=REPORT_SCHEMA)]
    return pl.concat(frames).sort("source", "file").cast(REPORT_SCHEMA)


def ingest_landing(landing_dir: Path, dates: DateBounds | None = None) -> IngestResult:
    """Read and stage a whole landing zone without Dagster, in memory (tests, benchmark, CLI helpers):
    the same code as a run, without the warehouse's cache — the parts go to the system's temporary
    folder here; a run keeps them in the warehouse's own (lianjian.files, lianjian.ingest.cache)."""
    warnings: list[str] = []
    staged: dict[str, pl.DataFrame] = {}
    rejected_parts, report_parts = [], []
    with tempfile.TemporaryDirectory(prefix="lianjian-ingest-") as tmp:
        reads: dict[str, SourceRead] = {}
        ahead = read_ahead(iter_landing(Path(landing_dir), Path(tmp), warnings, dates))
        for name, res in stage_sources(ahead, on_read=lambda r: reads.__setitem__(r.name, r)):
            staged[name] = res.staged.collect()
            rejected_parts.append(res.rejected)
            report_parts.append(res.report)
    return IngestResult(
        staged={n: staged[n] for n in SOURCES},
        rejected=combine_rejected(rejected_parts),
        report=combine_report(report_parts),
        warnings=list(dict.fromkeys(warnings)),
        present={n: r.present for n, r in reads.items()},
    )


__all__ = [
    "DateBounds",
    "FILES_SCHEMA",
    "FileRead",
    "IngestResult",
    "Kept",
    "LandingRead",
    "REPORT_SCHEMA",
    "Reuse",
    "SourceRead",
    "StageCache",
    "Staged",
    "combine_rejected",
    "combine_report",
    "files_frame",
    "ingest_landing",
    "iter_landing",
    "raw_schema",
    "read_ahead",
    "read_landing",
    "reference_order",
    "stage_sources",
    "upstream",
]
