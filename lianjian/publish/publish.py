"""Atomic, deterministic publishing of the result tables (docs/contract.md "What it publishes").

Each run writes a new version — the BI tables with ``_manifest.json`` and ``_dictionary.json`` under
its ``published/``, the restricted outputs (R10 review leads) under its ``restricted/`` — and makes
it current in one atomic step; ``lianjian.publish.layout`` describes the folders, the switch and
how a killed run or an older layout is recovered::

    published/<table>/year=<YYYY>/part-0.parquet   yearly tables, hive convention: ``year`` is in the
                                                   folder name only, not inside the file
    published/rejected_records/part-0.parquet      tables without years (also units, codes)
    published/_manifest.json, _dictionary.json
    restricted/review_leads/year=<YYYY>/part-0.parquet   (0600 files in 0700 folders, same convention)
    lianjian.duckdb                                views over ``published/`` for SQL tools
                                                   (lianjian.publish.bi_database), replaced after
                                                   each switch

The hive convention is what lets every reader open a table folder as it is — DuckDB and Polars with
hive partitioning, ``pyarrow.parquet.read_table(folder)``, PyArrow datasets, ``pandas.read_parquet``
and Spark — and get ``year`` as an integer: a partition column stored inside the files as well
would clash with the one each reader derives from the folder names (docs/bi.md).

Before the switch, every file of the new version (restricted ones included) is searched for identity
numbers with the detector the reader masks them with (lianjian.privacy); should one be found,
nothing is published. Each file is read once for that, right after it is written, together with what
the schema check needs (``file_checks``); the findings are kept in the version's private
``_checks.json``, so a year file that a later version hard-links unchanged is not read again: its
findings are the record's (it passed this search before its version became current). The published part of a version is readable by every account (0755/0644, BI
tools read it); its restricted part only by the account that runs the pipeline.

Deterministic: rows sorted by the table's key and then every other column, fixed Parquet writer
settings, file names without times, no wall-clock value in any Parquet file (the manifest carries the
time). Same inputs and rules -> byte-identical Parquet files.

Empty values have one spelling: null for a scalar (never the empty string) and the empty list for a
list (never null); ``published.yaml`` says per column what an empty value means (``empty``).
"""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
from collections.abc import Callable, Collection, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path

import polars as pl

from lianjian.contract import ENUMS, INTERNAL, PUBLISHED, RESTRICTED, one_empty
from lianjian.errors import FatalError
from lianjian.fingerprint import code_version, git_commit
from lianjian.files import (
    fsync_dir,
    fsync_file,
    make_public,
    private_mkdir,
    private_tree,
    public_tree,
    read_json,
    sha256_file,
    warehouse_root,
    write_json_private,
)
from lianjian.privacy import id_cell_count, id_cell_exprs, id_cells, json_strings, mask_frame
from lianjian.publish import layout
from lianjian.publish.bi_database import write_bi_database
from lianjian.publish.dictionary import dictionary_bytes, restricted_dictionary_bytes
from lianjian.publish.dimensions import codes_table
from lianjian.publish.layout import LINK, VERSIONS, current_version, publish_lock, recover, versions_dir  # noqa: F401
from lianjian.rules_config import Rules
from lianjian.threads import each_year, year_workers

#: Every table a publish writes: the BI tables and the restricted outputs (one contract each).
OUTPUTS = {**PUBLISHED, **RESTRICTED}
MANIFEST = "_manifest.json"
DICTIONARY = "_dictionary.json"
#: In each version folder, beside its two parts, private (0600): per Parquet file of the version, what
#: the checks found in it when it was written (``file_checks``). A file that a later version links
#: unchanged from this one is not read again: its findings are taken from here.
CHECKS = "_checks.json"
PART = "part-0.parquet"
#: The partition column of the yearly tables: in the folder names (``year=<YYYY>``), not in the files.
PARTITION = "year"

#: Fixed writer settings (part of the byte-identity promise: change them and files change).
WRITER = dict(compression="zstd", compression_level=3, statistics=True, row_group_size=250_000)

#: Ingest report columns (one row per landing file) copied into the manifest's ``inputs``.
INGEST_COLUMNS: dict[str, pl.DataType] = dict(INTERNAL["ingest_report"].schema())

#: Landing zones up to this size (the demo: 1.3 MB, a province: 140 MB) publish their tables side by
#: side (``tables_at_once``): there each table's year files are small, so preparing one is mostly
#: Python and Polars' start of each query on one core, and the second core is free once the suites
#: are done. Above it (1/6 national: 660 MB, national: 4 GB) the tables are written one at a time,
#: each holding its two years in memory, never two tables' (the evidence: ≈ 13 M rows at national).
SIDE_BY_SIDE_UP_TO = 512 << 20

#: Called with the name of each publishing step (tests use it to kill the process there).
CHECKPOINT_HOOK: Callable[[str], None] | None = None


def tables_at_once(landing: Path) -> int:
    """How many tables a run over the landing zone ``landing`` publishes at the same time: as many
    as years are written at a time (``lianjian.threads.year_workers``) when the zone's files take at
    most ``SIDE_BY_SIDE_UP_TO``, else one."""
    from lianjian.processes import landing_at_most

    return year_workers() if landing_at_most(Path(landing), SIDE_BY_SIDE_UP_TO) else 1


def _checkpoint(step: str) -> None:
    if CHECKPOINT_HOOK is not None:
        CHECKPOINT_HOOK(step)


@dataclass(frozen=True)
class PublishResult:
    version: str
    path: Path  # the ``published`` link
    rows: dict[str, int]
    manifest: dict
    identity_cells: dict[str, int] = field(default_factory=dict)  # per file group: identity numbers found before the switch (all 0)
    restricted_rows: dict[str, int] = field(default_factory=dict)  # restricted output -> rows
    schema: dict[str, dict] = field(default_factory=dict)  # output -> what the contract_schema check reports (schema_findings)
    grades: dict[str, list[dict]] = field(default_factory=dict)  # table with grades -> per year the rows of each grade
    finishing: Future | None = None  # what follows the switch, when it runs beside the caller (``finish_beside``)

    def finish(self) -> None:
        """Wait for what publishing does after the switch when it runs beside the caller
        (``publish_tables(finish_beside=True)``): the SQL tools' database and the removal of old
        versions, under the publish lock; raise their failure. Nothing to wait for otherwise."""
        if self.finishing is not None:
            self.finishing.result()


# --------------------------------------------------------------------------------------------------
# Preparing one table


def _one_empty(schema: pl.Schema) -> list[pl.Expr]:
    """Empty values spelled one way (``lianjian.contract.one_empty``) in every text and list column."""
    return [one_empty(name, dtype) for name, dtype in schema.items() if dtype == pl.String or isinstance(dtype, pl.List)]


#: Per table, text columns of few distinct values repeated on many rows — taken from the rules file:
#: the rules' paragraphs (``basis``), rule numbers and setting paths — searched for identity numbers
#: in their distinct values (``lianjian.privacy.id_cells``). R8's ``basis`` alone is ≈ 70 ns a row of
#: regular expression over long Chinese text (1/6 of national, 2.18 M rows: 0.15 CPU-s; 24 values).
FEW_VALUES: dict[str, tuple[str, ...]] = {
    "assessment_evidence": ("component", "rule", "basis"),
    "accountability_triggers": ("basis",),
}


def check_columns(table: str, frame: pl.LazyFrame | pl.DataFrame) -> None:
    """Fails, naming the table and the columns, when ``frame`` lacks a contract column of ``table``."""
    have = frame.lazy().collect_schema()
    missing = [c for c in OUTPUTS[table].schema() if c not in have]
    if missing:
        raise FatalError(
            f"发布表 {table}: 缺少列 {', '.join(missing)} — 上游资产的列必须与 lianjian/contract/published.yaml 一致"
            f" (published table {table} lacks columns {missing})"
        )


def prepare(table: str, frame: pl.LazyFrame | pl.DataFrame) -> pl.DataFrame:
    """Exactly the contract columns of ``table``, in declared order and type, empty values spelled one
    way (null text, never ``""``; empty list, never a null list), identity-card-shaped text masked,
    rows in a total, stable order (key columns, then every other column, nulls last)."""
    return _prepared(table, frame)[0]


def _prepared(table: str, frame: pl.LazyFrame | pl.DataFrame, *, ordered: bool = False) -> tuple[pl.DataFrame, int]:
    """``prepare``, and how many text cells of the prepared rows hold an identity number (what
    ``file_checks`` counts: 0 unless the mask missed one). The cells are searched before masking and
    the mask runs only when one is found: masking a frame without any rebuilds every text column
    (and every list of record ids) to the same values — at national about a third of preparing the
    evidence. The rows come out as one chunk (a sort of one collected frame), whose Parquet bytes are
    those of the rows copied into fresh buffers.

    ``ordered``: the rows already come in the total order (``IN_ORDER``); they are then not sorted
    again — made one chunk, the same bytes — unless an identity number had to be masked. Rows that
    come in the order of their key, no two with the same key (``in_key_order``: every upstream step
    sorts its rows by the table's key), are not sorted either: the sort would leave them as they are."""
    t = OUTPUTS[table]
    schema = t.schema()
    lf = frame.lazy()
    check_columns(table, lf)
    lf = lf.select([pl.col(name).cast(dtype) for name, dtype in schema.items()]).with_columns(_one_empty(schema))
    order = list(t.key) + [c for c in schema if c not in t.key]
    try:
        rows = lf.collect()
        found = id_cells(rows, FEW_VALUES.get(table, ()))
        if found:
            rows = mask_frame(rows.lazy()).collect()
            found = id_cells(rows)
        elif ordered or in_key_order(rows, t.key):
            return rows.rechunk(), found
        return rows.sort(order, nulls_last=True).rechunk(), found
    except pl.exceptions.PolarsError as err:
        # Never echo the values: only the table and the kind of problem.
        raise FatalError(
            f"发布表 {table}: 列类型与数据契约不符（{type(err).__name__}）— 请检查上游资产输出的类型"
        ) from None


#: Key column types whose comparison (``<``, ``==``) orders values as ``DataFrame.sort`` does:
#: integers, text (by its bytes), dates and times, yes/no. Others are sorted as before: lists and
#: categories, and floats (the sort orders -0.0 before 0.0, which ``==`` takes as equal).
_COMPARABLE = (pl.String, pl.Boolean, pl.Date, pl.Datetime, pl.Time, pl.Duration)


def _comparable(dtype: pl.DataType) -> bool:
    return dtype.is_integer() or any(dtype == t or isinstance(dtype, t) for t in _COMPARABLE)


def in_key_order(rows: pl.DataFrame, key: Sequence[str]) -> bool:
    """Whether ``rows`` already come in ``prepare``'s total order (the key, then every other column,
    nulls last), found without sorting: each row's key strictly greater than the row's before (nulls
    last), in one pass over the key columns. Then no two rows share a key and the other columns never
    decide, so the sort would give these very rows. False when a key column is of a type whose
    comparison is not the sort's order (``_COMPARABLE``), or when two neighbours are not strictly
    ordered (equal keys too): the caller then sorts. The upstream steps sort their rows by the key
    (tests/test_scoring_outputs.py), so the check (a few comparisons a row) takes the place of a
    sort of every published year file by all its columns (docs/performance.md, "Publish without
    sorting again")."""
    if rows.height < 2:
        return True
    if not key or any(c not in rows.schema or not _comparable(rows.schema[c]) for c in key):
        return False
    before, same = pl.lit(False), pl.lit(True)
    for c in key:
        prev, cur = pl.col(c).shift(1), pl.col(c)
        # nulls last: a value comes before a null, two nulls are equal
        less = (prev < cur).fill_null(False) | (prev.is_not_null() & cur.is_null())
        before = before | (same & less)
        same = same & prev.eq_missing(cur)
    return bool(rows.select(before.slice(1).all()).item())


def run_years(tables: Mapping[str, pl.LazyFrame | pl.DataFrame]) -> list[int]:
    """Every year present in any yearly table: each yearly table gets a partition for each of them
    (an empty file where it has no rows), so ``WHERE year = Y`` always finds the partition. Reads the
    ``year`` column only."""
    years: set[int] = set()
    for name, frame in tables.items():
        if OUTPUTS[name].yearly:
            found = frame.lazy().select(pl.col(PARTITION).drop_nulls().unique()).collect().get_column(PARTITION)
            years.update(int(y) for y in found.to_list())
    return sorted(years)


# --------------------------------------------------------------------------------------------------
# Files


def _write(frame: pl.DataFrame, path: Path) -> dict:
    path.parent.mkdir(parents=True, exist_ok=True)
    frame.write_parquet(path, **WRITER)
    fsync_file(path)
    return {"rows": frame.height, "sha256": sha256_file(path)}


def file_checks(table: str, path: Path, frame: pl.DataFrame | None = None, identity: int | None = None) -> dict:
    """What the publish checks find in one file just written (one read of it): its columns and types
    as stored, how many text cells hold an identity number (lianjian.privacy), per column the contract
    declares never empty its null (or empty text) cells, and for a table with grades its rows per
    grade. Kept in the version's ``CHECKS`` record. With ``frame``, the frame the file was written
    from: it holds exactly the file's values (Parquet stores them as they are), so only the footer is
    read, for the columns and types as stored. With ``identity`` too, the identity-number cells of that
    frame as ``prepare`` counted them (``_prepared``): they are not searched again."""
    t = OUTPUTS[table]
    stored = pl.read_parquet_schema(path)
    lf = pl.scan_parquet(path, hive_partitioning=False) if frame is None else frame.lazy()
    never_empty = [c for c in t.columns if c.empty is None and c.name in stored]
    empty = [
        (pl.col(c.name).is_null() | (pl.col(c.name) == "") if c.kind in ("str", "enum") else pl.col(c.name).is_null())
        .sum()
        .alias(f"empty:{c.name}")
        for c in never_empty
    ]
    searched = identity is None or frame is None
    ids = [e.alias(f"id:{e.meta.output_name()}") for e in id_cell_exprs(stored)] if searched else []
    row = lf.select(pl.len().alias("rows"), *empty, *ids).collect().row(0, named=True)
    out = {
        "schema": [[name, str(dtype)] for name, dtype in stored.items()],
        "rows": int(row["rows"]),
        "identity": sum(int(v or 0) for k, v in row.items() if k.startswith("id:")) if searched else int(identity),
        "empty": {k[6:]: int(v) for k, v in row.items() if k.startswith("empty:") and v},
    }
    if "grade" in stored:
        counts = lf.group_by("grade").len().sort("grade", nulls_last=True).collect()
        out["grades"] = [[g, int(n)] for g, n in counts.iter_rows()]
    return out


def schema_findings(table: str, files: Mapping[str, dict]) -> dict[str, object]:
    """What the ``contract_schema`` check reports for one table of a version, from its files' checks
    (``file_checks``, path relative to the table's part -> findings): the columns and types as a BI
    tool reads the table (hive partitioning on: ``year`` an Int64 from the folder names) against the
    contract — every file must agree —, files that hold the partition column inside (breaking the hive
    convention), and nulls (or empty texts) in columns whose declaration has no ``empty`` meaning.
    ``passed`` when there is none of these. The same findings as ``schema_problems``, which reads the
    published files."""
    t = OUTPUTS[table]
    want = {name: str(dtype) for name, dtype in t.schema().items()}
    views = []
    for _, found in sorted(files.items()):
        stored = dict(found["schema"])
        view = {c: stored[c] for c in t.column_names if c in stored}
        if t.yearly and PARTITION in want:
            view[PARTITION] = str(pl.Int64)
            view = {c: view[c] for c in t.column_names if c in view}
        views.append(view)
    got = views[0] if views else want
    same = all(v == want and list(v) == list(want) for v in views) and got == want
    inner = sorted(rel for rel, found in files.items() if t.yearly and PARTITION in dict(found["schema"]))
    unexpected: dict[str, int] = {}
    if same:
        for found in files.values():
            for c, n in found.get("empty", {}).items():
                unexpected[c] = unexpected.get(c, 0) + int(n)
    return {
        "passed": same and not inner and not unexpected,
        "columns": len(got),
        "types_match": same,
        "files_with_year_inside": inner,
        "unexpected_empty": unexpected,
    }


def grade_years(table: str, files: Mapping[str, dict]) -> list[dict]:
    """Per year with rows (ascending), the rows of each grade of a yearly table with grades, from its
    files' checks: ``[{"year": Y, "grades": {grade or None: rows}}]``."""
    out = []
    for rel, found in sorted(files.items()):
        year = next((int(p[5:]) for p in Path(rel).parts if p.startswith(f"{PARTITION}=")), None)
        if year is None or "grades" not in found or not found.get("rows"):
            continue
        out.append({"year": year, "grades": {g: n for g, n in found["grades"]}})
    return sorted(out, key=lambda r: r["year"])


#: In a file's checks record (``CHECKS``): the SHA-256 of the internal file (derived, assessed or
#: staged) its year was prepared from, when the caller names it (``publish_tables``'s ``built_from``).
BUILT_FROM = "built_from"


@dataclass(frozen=True)
class Reuse:
    """Year files of the live version that a new version takes as they are, hard-linked
    (docs/operations.md, "只重算变化的年度"): ``years`` of ``tables`` whose results were not computed
    again since the live version, and any year file whose internal source file (``BUILT_FROM``) has
    the SHA-256 the live version's file was prepared from — the same rows through the same code
    (``Reuse`` exists only for a live version of the same rules file and code version) make the same
    bytes. ``folder``: the live version's folder of that part (published or restricted); ``files``:
    its manifest's files per table."""

    years: frozenset[int]
    tables: frozenset[str]
    folder: Path
    files: Mapping[str, Mapping[str, dict]]
    checks: Mapping[str, dict] = field(default_factory=dict)  # what the checks found in each file (CHECKS)

    def entry(self, table: str, rel: Path, year: int, source_sha256: str | None = None) -> dict | None:
        """The live version's manifest entry of ``rel`` when it can be linked: its year was not computed
        again, or it was prepared from a file of SHA-256 ``source_sha256``; None otherwise."""
        found = self.checks.get(rel.as_posix())  # what the checks found in it: a version of this code has it
        if found is None:
            return None
        same_results = year in self.years and table in self.tables
        same_source = source_sha256 is not None and found.get(BUILT_FROM) == source_sha256
        if not (same_results or same_source):
            return None
        entry = self.files.get(table, {}).get(rel.as_posix())
        return entry if entry is not None and (self.folder / rel).is_file() else None

    def built_from(self, rel: Path) -> str | None:
        """The SHA-256 of the internal file the live version's ``rel`` was prepared from, if recorded."""
        return (self.checks.get(rel.as_posix()) or {}).get(BUILT_FROM)


def write_table(
    table: str,
    frame: pl.LazyFrame | pl.DataFrame,
    root: Path,
    years: list[int],
    reuse: Reuse | None = None,
    checks: dict[str, dict] | None = None,
    built_from: Callable[[int], Path | None] | None = None,
) -> list[dict]:
    """Prepare (``prepare``) and write one table under ``root/<table>/``; returns its files (path
    relative to ``root``, rows, sha256) in path order. A yearly table is written as one file per year
    in ``year=<YYYY>/`` without the ``year`` column (the hive convention: the folder name carries it),
    each year prepared on its own: the rows are sorted by year first, so a year's rows come out as
    they would from the whole table, and only one year is held in memory (national: the evidence
    table has some 13 million rows). A year that ``reuse`` holds is hard-linked from the live version
    with its manifest entry, not read. ``checks`` receives what the checks find in each file (path
    relative to ``root``): read from a written file, taken from the live version's record for a linked
    one (the same bytes: the same inode). ``built_from``: for a yearly table, the internal file a
    year's rows come from (the year's file of a year-partitioned asset, or the whole file of an
    asset that is not), or None; its SHA-256 is recorded with the year file's checks, and a year
    whose source has the digest recorded for the live version's file is linked, not prepared (a
    result the run kept, or computed again to the same rows)."""
    checks = {} if checks is None else checks
    files = []
    base = root / table
    if OUTPUTS[table].yearly:
        lf = frame.lazy()
        linked: list[int] = []
        copied: list[int] = []
        entries: dict[int, dict] = {}
        fresh: list[tuple[int, Path, str | None]] = []  # the years to prepare and write
        for year in years:
            rel = Path(table, f"year={year}", PART)
            kept = reuse.entry(table, rel, year) if reuse is not None else None
            # the live version's record of the source stands for a year not computed again
            path = built_from(year) if built_from is not None and kept is None else None
            source = reuse.built_from(rel) if kept is not None else _source_sha256(path)
            if kept is None and reuse is not None and source is not None:
                kept = reuse.entry(table, rel, year, source)
            formed = _formed(table, path, source) if kept is None else None
            if kept is not None:  # the same results as the live version's file: linked, not written
                (root / rel.parent).mkdir(parents=True, exist_ok=True)
                os.link(reuse.folder / rel, root / rel)
                entries[year] = {"path": rel.as_posix(), "rows": kept["rows"], "sha256": kept["sha256"]}
                checks[rel.as_posix()] = _with_source(reuse.checks[rel.as_posix()], source)
                fsync_dir(root / rel.parent)
                linked.append(year)
            elif formed is not None:  # written in the published form by the IO manager: copied, not prepared
                (root / rel.parent).mkdir(parents=True, exist_ok=True)
                shutil.copyfile(path, root / rel)  # a copy: the warehouse's file stays 0600 whatever this one becomes
                fsync_file(root / rel)
                fsync_dir(root / rel.parent)
                entries[year] = {"path": rel.as_posix(), "rows": int(formed["rows"]), "sha256": source}
                checks[rel.as_posix()] = _with_source(formed["checks"], source)
                copied.append(year)
            else:
                fresh.append((year, rel, source))

        def write_year(job: tuple[int, Path, str | None]) -> tuple[dict, dict]:
            year, rel, source = job
            # one contiguous chunk (``_prepared``): the file's bytes depend on the buffers' layout, not
            # only on the values — those of the rows copied into fresh buffers, as before
            part, identity = _prepared(table, lf.filter(pl.col(PARTITION) == year))
            part = part.drop(PARTITION)
            entry = {"path": rel.as_posix(), **_write(part, root / rel)}
            found = _with_source(file_checks(table, root / rel, part, identity), source)
            fsync_dir(root / rel.parent)
            return entry, found

        # each year prepared and written on its own, two at a time (lianjian/threads.py): a year file
        # is a function of its rows alone
        for (year, rel, _), (entry, found) in zip(fresh, each_year(write_year, fresh)):
            entries[year] = entry
            checks[rel.as_posix()] = found
        files = [entries[year] for year in years]
        # every row of the frame is in a written year (the linked years' rows are not read)
        written = sum(entries[y]["rows"] for y in years if y not in linked)
        # a row without a year is counted too (``is_in`` of a null is null, which a filter drops)
        total = lf.filter(~pl.col(PARTITION).is_in(linked).fill_null(False)).select(pl.len()).collect().item()
        if total != written:
            raise FatalError(
                f"发布表 {table}: 有 {total - written} 行没有年度 year — 上游资产的年度列不能为空"
                f" (published table {table} has rows without a year)"
            )
    else:
        rel = Path(table, PART)
        part, identity = _prepared(table, frame)
        files.append({"path": rel.as_posix(), **_write(part, root / rel)})
        checks[rel.as_posix()] = file_checks(table, root / rel, part, identity)
    base.mkdir(parents=True, exist_ok=True)
    fsync_dir(base)
    return files


def _source_sha256(path: Path | None) -> str | None:
    """The SHA-256 of the internal file a year's rows are prepared from; None when not named or
    missing (a year never computed: its file is written, empty)."""
    return sha256_file(path) if path is not None and path.is_file() else None


def _with_source(found: dict, source: str | None) -> dict:
    """A file's checks with the digest of its source (``BUILT_FROM``), or without one when unknown."""
    out = {k: v for k, v in found.items() if k != BUILT_FROM}
    return out if source is None else {**out, BUILT_FROM: source}


# --------------------------------------------------------------------------------------------------
# Year files written in the published form by the IO manager, copied by publish

#: Published tables whose upstream asset's year files the IO manager writes in the published form —
#: exactly the file publish would write for the year (``write_published_form``) — so that publish
#: copies them instead of reading, sorting and writing them again: R8's evidence (the largest table,
#: national ≈ 13 M rows) and R6's case quality (≈ 3.3 M), which only publishing reads, and R1's talk
#: obligations (≈ 5.4 M rows), which R2 and R3 read too — a year at a time, each from its own year
#: file, the year given back from the file's year (assets/assessed.py ``_year_rows``;
#: pipelines/io_manager.py ``scan_published_form``). The other upstream assets keep their ``year``
#: column inside (tests/test_published_form.py checks who reads these).
PUBLISHED_FORM = frozenset({"assessment_evidence", "case_quality", "talk_obligations"})
#: Published-form tables whose upstream rows already come in ``prepare``'s total order, so that
#: ``write_published_form`` does not sort them again: R2 and R3 sort each year's evidence so
#: (``lianjian.scoring.evidence.PUBLISHED_ORDER``) and R8 puts the two one after the other
#: (docs/performance.md, "Evidence in publish's order"); R1 sorts its obligations by their key, nulls
#: last, and the key is unique (``lianjian.scoring.talks.talk_obligations``).
IN_ORDER = frozenset({"assessment_evidence", "talk_obligations"})
#: Beside such an asset's folder of year files (``<layer>/_published_form_<name>.json``, private): per
#: year file, what publishing it needs — its SHA-256 and rows, what the checks found in it
#: (``file_checks``) and the code that wrote it. A file whose digest or code differs from its entry
#: is prepared by publish as before.
FORM_RECORD = "_published_form_{name}.json"
FORM_VERSION = 1


def write_published_form(table: str, frame: pl.DataFrame, path: Path, write: Callable[[pl.DataFrame, Path], object]) -> dict:
    """Write ``frame``, the rows of one year of ``table``'s upstream asset, to ``path`` as the file
    publish would write for that year (``prepare``: contract columns and types, empty values spelled
    one way, identity numbers masked, total order; no ``year`` column: the hive convention; the
    writer settings ``WRITER``), through ``write(prepared, path)`` (the IO manager's private atomic
    writer). Returns its ``FORM_RECORD`` entry: the checks are taken from the frame written, as
    publish takes them (``file_checks``)."""
    part, identity = _prepared(table, frame, ordered=table in IN_ORDER)
    part = part.drop(PARTITION)
    write(part, path)
    return {
        "rows": part.height,
        "sha256": sha256_file(path),
        "checks": file_checks(table, path, part, identity),
        "code_version": code_version(),
    }


def form_record_path(folder: Path) -> Path:
    """The ``FORM_RECORD`` of the asset whose year files are in ``folder``."""
    return Path(folder).parent / FORM_RECORD.format(name=Path(folder).name)


def read_form_record(folder: Path) -> dict[str, dict]:
    """The ``FORM_RECORD`` entries of an asset's year folder (year -> entry); empty when absent."""
    data = read_json(form_record_path(folder)) or {}
    years = data.get("years") if data.get("version") == FORM_VERSION else None
    return years if isinstance(years, dict) else {}


def write_form_record(folder: Path, entries: Mapping[str, dict | None]) -> None:
    """Update ``FORM_RECORD`` with ``entries`` (year -> entry; None: the year's file is no longer in the
    published form), keeping the other years'."""
    record = dict(read_form_record(folder))
    for year, entry in entries.items():
        if entry is None:
            record.pop(str(year), None)
        else:
            record[str(year)] = entry
    write_json_private(form_record_path(folder), {"version": FORM_VERSION, "years": dict(sorted(record.items()))}, sort_keys=True)


def _formed(table: str, source: Path | None, sha256: str | None) -> dict | None:
    """The ``FORM_RECORD`` entry of ``source`` (a year file of ``table``'s upstream asset) when it is
    the file publish would write: written in the published form by this code, and still of the
    recorded digest (``sha256``, already computed for ``Reuse``). None otherwise."""
    if table not in PUBLISHED_FORM or source is None or sha256 is None:
        return None
    entry = read_form_record(source.parent).get(source.stem)
    if not isinstance(entry, dict) or entry.get("sha256") != sha256 or entry.get("code_version") != code_version():
        return None
    return entry


# --------------------------------------------------------------------------------------------------
# Manifest


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
    git_commit: str | None = None,
) -> dict:
    return {
        "run_id": run_id,
        "pipeline_run_id": pipeline_run_id or run_id,
        "dagster_run_ids": list(dagster_run_ids or [run_id]),
        "version": version,
        "time": time.isoformat(timespec="seconds"),
        "code_version": code_version,
        "git_commit": git_commit,
        "rules_version": rules_version,
        "rules_sha256": rules_sha256,
        "inputs": inputs,
        "outputs": [
            {"table": t, "rows": sum(f["rows"] for f in files), "files": files} for t, files in outputs.items()
        ],
        "dictionary": DICTIONARY,
    }


# --------------------------------------------------------------------------------------------------
# Publishing a version (folders, switch and recovery: lianjian.publish.layout)


class IdentityNumberFound(FatalError):
    """An identity number in a file about to be published: nothing is published."""


def _json_cells(path: Path) -> int:
    strings = json_strings(json.loads(path.read_text(encoding="utf-8")))
    return id_cell_count(pl.LazyFrame({"s": strings}, schema={"s": pl.String}))


def identity_cells(root: Path, closed: Path | None = None) -> dict[str, int]:
    """Per table of a version being written — the published part ``root`` and the restricted part
    ``closed`` — how many text cells of its Parquet files hold an identity number (lianjian.privacy);
    the manifests and dictionaries count under their file names (every string but the SHA-256
    digests: lianjian.privacy.DIGESTS)."""
    out: dict[str, int] = {}
    for folder, tables, prefix in ((root, PUBLISHED, ""), (closed, RESTRICTED, f"{layout.RESTRICTED}/")):
        if folder is None:
            continue
        for table in tables:
            files = sorted((folder / table).rglob("*.parquet"))
            out[prefix + table] = id_cell_count(pl.scan_parquet(files, hive_partitioning=False)) if files else 0
        for name in (MANIFEST, DICTIONARY):
            if (folder / name).is_file():
                out[prefix + name] = _json_cells(folder / name)
    return out


def identity_counts(root: Path, closed: Path, checks: Mapping[str, Mapping[str, dict]]) -> dict[str, int]:
    """``identity_cells`` from the files' checks (``file_checks``) instead of reading the files again;
    the manifests and dictionaries are read (they are small and always new)."""
    out: dict[str, int] = {}
    for folder, tables, part, prefix in ((root, PUBLISHED, LINK, ""), (closed, RESTRICTED, layout.RESTRICTED, f"{layout.RESTRICTED}/")):
        for table in tables:
            out[prefix + table] = sum(int(f["identity"]) for rel, f in checks[part].items() if rel.split("/", 1)[0] == table)
        for name in (MANIFEST, DICTIONARY):
            if (folder / name).is_file():
                out[prefix + name] = _json_cells(folder / name)
    return out


def _reuse(
    warehouse: Path, years: Collection[int], tables: Collection[str], rules_sha256: str, code_version_: str
) -> tuple[Reuse | None, Reuse | None]:
    """What a new version may link from the live one (published part, restricted part): nothing when
    there is no live version, or the live version was made by another rules file or another code
    version. ``years`` of ``tables`` are linked as they are; any other year file only when its source
    is the same (``Reuse.entry``)."""
    live = layout.current_version(warehouse)
    if live is None:
        return None, None
    manifests = [read_json(folder / MANIFEST) for folder in (live / LINK, live / layout.RESTRICTED)]
    if None in manifests or (manifests[0].get("rules_sha256"), manifests[0].get("code_version")) != (rules_sha256, code_version_):
        return None, None
    checks = read_json(live / CHECKS) or {}
    return tuple(
        Reuse(
            frozenset(years),
            frozenset(tables),
            folder,
            {o["table"]: {f["path"]: f for f in o["files"]} for o in m.get("outputs", [])},
            checks.get(part) or {},
        )
        for folder, part, m in zip((live / LINK, live / layout.RESTRICTED), (LINK, layout.RESTRICTED), manifests)
    )


def _sources_of(built_from: Callable[[str, int], Path | None] | None, table: str) -> Callable[[int], Path | None] | None:
    if built_from is None or not OUTPUTS[table].yearly:
        return None
    return lambda year: built_from(table, year)


def _restricted_manifest(*, run_id: str, version: str, time: dt.datetime, rules_version: str, outputs: dict[str, list[dict]]) -> dict:
    """``restricted/_manifest.json``: the run and the restricted tables with their files (kept out of
    the BI manifest: even the number of leads is not for BI readers)."""
    return {
        "run_id": run_id,
        "version": version,
        "time": time.isoformat(timespec="seconds"),
        "rules_version": rules_version,
        "outputs": [{"table": t, "rows": sum(f["rows"] for f in files), "files": files} for t, files in outputs.items()],
    }


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
    rules: Rules | None = None,
    restricted: Mapping[str, pl.LazyFrame | pl.DataFrame] | None = None,
    pipeline_run_id: str | None = None,
    dagster_run_ids: list[str] | None = None,
    recomputed: tuple[int, int] | None = None,
    unchanged_tables: Collection[str] = (),
    built_from: Callable[[str, int], Path | None] | None = None,
    tables_at_once: int = 1,
    finish_beside: bool = False,
    before_switch: Callable[[], None] | None = None,
    beside_gate: Callable[[Path, str], Callable[[bool], None]] | None = None,
) -> PublishResult:
    """Publish every table of the contract at once (missing ones as empty tables; ``codes`` from the
    contract unless given), with the manifest and dictionary, and the restricted outputs
    (``restricted``, docs/contract.md "Restricted outputs") in the same version, atomically, then
    rebuild the SQL tools' database over it. See the module docstring for the layout and guarantees.
    ``rules``: the rules file the tables were computed with; the dictionary describes the grades with
    its thresholds. ``recomputed``: the range of years this run computed again; the years outside it
    of ``unchanged_tables`` are the live version's results (the caller knows it: lianjian/digests.py)
    and their files are linked from the live version when it was made by the same rules file and
    code. ``built_from(table, year)``: the internal file a yearly table's rows of that year are
    prepared from (None: not known); a year file whose source has the same SHA-256 as the live
    version's was prepared from is linked too (the live version of the same rules file and code), so
    that a result kept by the run, or computed again to the same rows, is not sorted and written
    again. ``tables_at_once``: how many tables are prepared and written at the same time (each still
    two years at a time); more than one only where every table is small (``SIDE_BY_SIDE_UP_TO``):
    the files, the manifest and the checks do not depend on it. ``finish_beside``: what follows the
    switch (the SQL tools' database, the removal of old versions) runs on a thread and the call
    returns once the new version is current; the caller then calls ``PublishResult.finish``
    (``_after_switch``). ``before_switch``: called once the new version is written and checked, just
    before it becomes current (the publish step's gate of the blocking suites: the files are written
    while the suites finish beside); if it raises, the new version is removed, nothing is published
    and the error goes on to the caller. ``beside_gate``: called just before ``before_switch`` with the
    new version's published folder (under its temporary name) and the version's name, to start work
    that reads it meanwhile (the yearly reports of a small warehouse, lianjian/report/ahead.py); the
    function it returns is called once ``before_switch`` is done — with True before the folder is
    renamed into place, with False before it is removed (the gate refused) — and returns once that
    work reads nothing more from the folder."""
    restricted = dict(restricted or {})
    unknown_restricted = set(restricted) - set(RESTRICTED)
    if unknown_restricted:
        raise ValueError(f"not restricted outputs: {sorted(unknown_restricted)}")
    warehouse = Path(warehouse).absolute()
    unknown = set(tables) - set(PUBLISHED)
    if unknown:
        raise ValueError(f"not published tables: {sorted(unknown)}")
    try:
        warehouse_root(warehouse)
    except OSError as err:
        raise FatalError(f"数据仓库 {warehouse}: 无法创建（{err.strerror}）— 请用 --warehouse 指定可写的目录") from None
    now = now or dt.datetime.now(dt.timezone.utc).astimezone()
    tables = {"codes": codes_table(), **tables}
    # Prepared and written one table at a time (``tables_at_once``), so that the publish step holds one
    # table in memory, never all of them (national: the evidence table alone has some 13 million rows)
    sources = {name: tables.get(name, PUBLISHED[name].empty()) for name in PUBLISHED}
    private_sources = {name: restricted.get(name, RESTRICTED[name].empty()) for name in RESTRICTED}
    for name, frame in {**sources, **private_sources}.items():
        check_columns(name, frame)
    years = run_years({**sources, **private_sources})
    inputs = manifest_inputs(ingest_report)
    safe_run = "".join(ch if ch.isalnum() or ch in "-_" else "_" for ch in run_id)
    version = f"v{now.astimezone(dt.timezone.utc):%Y%m%dT%H%M%S%f}-{safe_run}"

    lock = ExitStack()  # held until the database is written (``_after_switch``), beside the caller or not
    with ExitStack() as on_failure:
        lock.enter_context(publish_lock(warehouse))
        on_failure.callback(lock.close)
        recover(warehouse)
        vd = versions_dir(warehouse)
        tmp = vd / f".tmp-{safe_run}"
        shutil.rmtree(tmp, ignore_errors=True)
        root, closed = tmp / LINK, private_mkdir(tmp / layout.RESTRICTED)  # 0700 before anything is in it
        root.mkdir()
        unchanged = [y for y in years if recomputed is not None and not recomputed[0] <= y <= recomputed[1]]
        reuse, reuse_closed = _reuse(warehouse, unchanged, unchanged_tables, rules_sha256, code_version_ or code_version())
        _checkpoint("started")
        outputs: dict[str, list[dict]] = {}
        checks: dict[str, dict[str, dict]] = {LINK: {}, layout.RESTRICTED: {}}
        # (table, its part's folder, what it may link, its part) in the manifest's order
        jobs = [(name, root, reuse, LINK) for name in sources] + [(name, closed, reuse_closed, layout.RESTRICTED) for name in private_sources]
        frames = {**sources, **private_sources}

        def write_one(job: tuple[str, Path, Reuse | None, str]) -> tuple[list[dict], dict[str, dict]]:
            name, folder, linkable, _ = job
            found: dict[str, dict] = {}
            return write_table(name, frames[name], folder, years, linkable, found, _sources_of(built_from, name)), found

        try:
            if tables_at_once <= 1:  # one table at a time: the checkpoint after each
                written = []
                for job in jobs:
                    written.append(write_one(job))
                    if job[3] == LINK:
                        _checkpoint(f"table:{job[0]}")
            else:  # side by side (lianjian/threads.py); each table's files and checks are its own
                written = each_year(write_one, jobs, workers=tables_at_once)
                for name in sources:
                    _checkpoint(f"table:{name}")
        except FatalError:
            shutil.rmtree(tmp, ignore_errors=True)  # nothing half-written stays behind a message
            raise
        private_outputs: dict[str, list[dict]] = {}
        for (name, _, _, part), (files, found) in zip(jobs, written):
            (outputs if part == LINK else private_outputs)[name] = files
            checks[part].update(found)
        (closed / DICTIONARY).write_bytes(restricted_dictionary_bytes())
        (closed / MANIFEST).write_text(
            json.dumps(
                _restricted_manifest(run_id=run_id, version=version, time=now, rules_version=rules_version, outputs=private_outputs),
                ensure_ascii=False,
                indent=2,
            )
            + "\n",
            encoding="utf-8",
        )
        private_tree(closed)
        _checkpoint("table:restricted")
        (root / DICTIONARY).write_bytes(dictionary_bytes(rules))
        manifest = build_manifest(
            run_id=run_id,
            pipeline_run_id=pipeline_run_id,
            dagster_run_ids=dagster_run_ids,
            version=version,
            time=now,
            code_version=code_version_ or code_version(),
            git_commit=None if code_version_ else git_commit(),
            rules_version=rules_version,
            rules_sha256=rules_sha256,
            inputs=inputs,
            outputs=outputs,
        )
        (root / MANIFEST).write_text(json.dumps(manifest, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
        write_json_private(tmp / CHECKS, checks, indent=None, sort_keys=True)
        public_tree(root)  # whatever the umask: BI tools read it
        make_public(tmp)  # the version folder itself: BI tools pass through it to published/
        for path in (root / DICTIONARY, root / MANIFEST, closed / DICTIONARY, closed / MANIFEST, tmp / CHECKS):
            fsync_file(path)
        for folder in (root, closed, tmp):
            fsync_dir(folder)
        _checkpoint("written")
        # The last barrier, before the switch: what is about to be published holds no identity
        # number (masked when read, and again in prepare(); this should never find one). Each file
        # written was searched right after it was written (file_checks); a file linked from the live
        # version holds the bytes that passed this barrier before that version became current.
        found = identity_counts(root, closed, checks)
        if any(found.values()):
            shutil.rmtree(tmp, ignore_errors=True)
            where = "、".join(f"{t} {n} 处" for t, n in found.items() if n)
            raise IdentityNumberFound(
                f"发布前检查 no_identity_numbers：待发布文件中发现身份证号（{where}）— 本次未发布，上一版保持不变；"
                "这是程序缺陷，请保留落地区文件并报告 (identity number found before publishing)"
            )
        waiting = beside_gate(root, version) if beside_gate is not None else None
        try:
            if before_switch is not None:
                before_switch()
        except BaseException:
            if waiting is not None:
                waiting(False)
            shutil.rmtree(tmp, ignore_errors=True)
            raise
        if waiting is not None:
            waiting(True)
        _checkpoint("checked")
        final = vd / version
        os.rename(tmp, final)
        fsync_dir(vd)
        _checkpoint("renamed")
        layout.switch(warehouse, final)
        _checkpoint("swapped")
        on_failure.pop_all()  # switched: the lock is now released by what follows the switch
    finishing = _after_switch(warehouse, lock, beside=finish_beside)
    rows = {o["table"]: o["rows"] for o in manifest["outputs"]}
    private_rows = {t: sum(f["rows"] for f in files) for t, files in private_outputs.items()}
    per_table = {
        name: {rel.split("/", 1)[1]: found for rel, found in checks[layout.RESTRICTED if name in RESTRICTED else LINK].items() if rel.split("/", 1)[0] == name}
        for name in OUTPUTS
    }
    return PublishResult(
        version=version,
        path=warehouse / LINK,
        rows=rows,
        manifest=manifest,
        identity_cells=found,
        restricted_rows=private_rows,
        schema={name: schema_findings(name, files) for name, files in per_table.items()},
        grades={name: grade_years(name, files) for name, files in per_table.items() if OUTPUTS[name].yearly and "grade" in OUTPUTS[name].schema()},
        finishing=finishing,
    )


def _after_switch(warehouse: Path, lock: ExitStack, *, beside: bool) -> Future | None:
    """What follows the switch, under the publish lock (``lock``, released at its end, whatever
    happens): the SQL tools' database (``write_bi_database``), then the removal of old versions.
    ``beside``: on a thread, the caller going on meanwhile and waiting for it with
    ``PublishResult.finish`` — the publish asset stores its tables' events while DuckDB is imported
    and the database written (≈ 0.1–0.2 s of a demo's critical path: docs/performance.md, "Publish
    and the reports beside themselves"); a failure then comes after the events, the new version
    already current, as it is either way. Else here, before returning."""

    def finish() -> None:
        with lock:
            write_bi_database(warehouse)
            _checkpoint("database")
            layout.collect_garbage(warehouse)
            _checkpoint("done")

    if not beside:
        finish()
        return None
    pool = ThreadPoolExecutor(1, thread_name_prefix="lianjian-publish")
    try:
        return pool.submit(finish)
    finally:
        pool.shutdown(wait=False)  # the thread ends with its one task


# --------------------------------------------------------------------------------------------------
# Reading what is published


def published_files(warehouse: Path, table: str) -> list[Path]:
    root = Path(warehouse) / LINK / table
    return sorted(root.rglob("*.parquet")) if root.is_dir() else []


def scan_table_folder(folder: Path, table: str) -> pl.LazyFrame:
    """One table folder as BI tools read it — hive partitioning on, ``year`` (from the folder names) an
    Int64 — with the contract's columns in declared order. Empty (of that schema) without files."""
    t = OUTPUTS[table]
    folder = Path(folder)
    if not (folder.is_dir() and any(folder.rglob("*.parquet"))):
        return t.empty().lazy()
    if t.yearly:
        lf = pl.scan_parquet(folder / "**" / "*.parquet", hive_partitioning=True, hive_schema={PARTITION: pl.Int64})
    else:
        lf = pl.scan_parquet(folder / "*.parquet", hive_partitioning=False)
    return lf.select(t.column_names)


def read_published(warehouse: Path, table: str) -> pl.LazyFrame:
    """A published table as a LazyFrame with the contract's schema (empty when absent), read with hive
    partitioning from the version ``published`` points to now (a later switch does not change what
    this frame reads: the previous version is kept until the next publish)."""
    folder = _pinned(warehouse, LINK)
    if folder is None:
        return PUBLISHED[table].empty().lazy()
    return scan_table_folder(folder / table, table)


def _pinned(warehouse: Path, part: str) -> Path | None:
    """The real folder ``published`` (or ``restricted``'s current part) stands for now, its links
    resolved, so that a later switch does not change what a reader opened (None: nothing published)."""
    if part == LINK:
        link = Path(warehouse) / LINK
        return link.resolve() if link.exists() else None
    version = current_version(warehouse)
    return version / part if version is not None else None


def schema_problems(warehouse: Path, table: str) -> dict[str, object]:
    """What the ``contract_schema`` check reports for one published table: the columns and types as a
    BI tool reads them (hive on) against the contract, files that hold the partition column inside
    (breaking the hive convention), and nulls (or empty texts) in columns whose declaration has no
    ``empty`` meaning. ``passed`` when there is none of these. A restricted output is read from the
    restricted part of the current version."""
    t = OUTPUTS[table]
    root = _pinned(warehouse, layout.RESTRICTED if table in RESTRICTED else LINK)
    folder = root / table if root is not None else None
    got = dict(scan_table_folder(folder, table).collect_schema()) if folder is not None else {}
    want = dict(t.schema())
    inner = [
        f.relative_to(folder).as_posix()
        for f in (sorted(folder.rglob("*.parquet")) if folder is not None and folder.is_dir() and t.yearly else [])
        if PARTITION in pl.read_parquet_schema(f)
    ]
    never_empty = [c for c in t.columns if c.empty is None]
    unexpected: dict[str, int] = {}
    if never_empty and folder is not None and got == want:
        frame = scan_table_folder(folder, table)
        counts = frame.select(
            (pl.col(c.name).is_null() | (pl.col(c.name) == "") if c.kind in ("str", "enum") else pl.col(c.name).is_null())
            .sum()
            .alias(c.name)
            for c in never_empty
        ).collect()
        unexpected = {k: int(v) for k, v in counts.row(0, named=True).items() if v}
    return {
        "passed": got == want and list(got) == list(want) and not inner and not unexpected,
        "columns": len(got),
        "types_match": got == want and list(got) == list(want),
        "files_with_year_inside": inner,
        "unexpected_empty": unexpected,
    }


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
