"""Per-year content digests of the staged tables (docs/ingest.md, "What changed since the last run").

``<warehouse>/staged/_year_digests.json``, written by the staging step with the staged tables::

    {"version": 2, "sources": {"talks": {"2024": "<sha256 hex>", ...}, ...}}

For every source, one digest per assessment year of its rows — the year of the contract's
``year_from`` column (a year, or the year of a date); rows without one (a source without a
``year_from`` column, or an empty cell) under ``"none"``. A year's digest is the SHA-256 of a header
(the Polars version, the columns' names and types) followed, for each of that year's rows in their
stored order, by one 64-bit hash of the whole row (Polars' row hash under a fixed seed, little
endian: ``frame_digest``). The row hash is of the values only (a null is a null, whatever bytes lie
under it; ``""`` and null differ, and so do ``0.0`` and ``-0.0``, which the row hash alone reads
alike), so the same rows give the same digest in any process on this machine, however they were
read, and a change in any other year's rows leaves it alone. So a later step can tell which years' inputs changed since it last computed them, by
comparing digests. A digest that differs without a change (another Polars version, another
processor's hash) only makes those years be computed again.

Why one 64-bit hash a row: a changed row goes unnoticed only if its new hash equals its old one —
for a random collision ≈ 2^-64 per changed row. A second hash under another seed (version 1: 128
bits a row) guarded only against that, not against the row hash's structural collisions (rows the
hash function maps alike under any seed), and cost as much CPU again (≈ 0.9 CPU-s at a sixth of the
national zone, ≈ 5 at national). Version 1's digests differ from version 2's for the same rows, and a
version 1 file is not read (lianjian/digests.py ``read_year_digests``): the first run on a warehouse
written by older code computes every year once.

Why row hashes and not the bytes of the rows as a file: encoding every year's rows as Parquet to hash
them cost ≈ 0.55 µs of CPU a staged row (≈ 23 CPU-s of the national staging step); hashing the rows
as they are streamed from the staged file costs a small part of that (docs/performance.md, "Reading
and staging for less CPU").
"""

from __future__ import annotations

import hashlib
import json
import sys
from array import array
from pathlib import Path

import polars as pl

from lianjian.contract import SOURCES, Source
from lianjian.digests import DIGESTS_VERSION as VERSION
from lianjian.files import write_json_private

FILE = "_year_digests.json"
NONE = "none"
YEAR = "_year"
HASH = "_hash"


def year_expr(src: Source, schema: pl.Schema) -> pl.Expr:
    """A row's assessment year (Int64, null when it has none)."""
    if src.year_from is None:
        return pl.lit(None, dtype=pl.Int64)
    col = pl.col(src.year_from)
    return (col.dt.year() if schema[src.year_from] == pl.Date else col).cast(pl.Int64)


#: The seed of the row hash: 64 bits a row (any fixed value: a digest is only ever compared with
#: digests computed the same way; the module docstring says why one hash is enough).
SEED = 0x6C69616E
#: Rows hashed at a time when a staged file is streamed (memory: a batch of rows and their hashes).
BATCH_ROWS = 1_000_000


def _header(schema: pl.Schema) -> bytes:
    return json.dumps([pl.__version__, [[n, str(t)] for n, t in schema.items()]]).encode("utf-8")


def _row_hashes(frame: pl.DataFrame) -> pl.Series:
    """Each row's hash (``DataFrame.hash_rows``: every column, nulls as nulls). The row hash reads
    -0.0 as 0.0: a float column adds whether its value is -0.0, so the two still differ."""
    floats = [n for n, t in frame.schema.items() if t.is_float()]
    if floats:
        frame = frame.with_columns(((pl.col(n) == 0) & (1.0 / pl.col(n) < 0)).alias(f"_negative_zero_{n}") for n in floats)
    return frame.hash_rows(SEED)


#: At most this many rows' hashes are fed through a Python ``array`` (``_update``) rather than numpy
#: when numpy is not imported yet: the copy costs at most ≈ 2 ms, while importing numpy costs ≈ 0.1 s
#: of a run's main process that would not otherwise import it (a small zone's staging). The same
#: bytes either way.
ARRAY_ROWS = 65_536


def _numpy_imported() -> bool:
    return "numpy" in sys.modules


def _update(h, hashes: pl.Series) -> None:
    """Feed each row's hash, row after row, little endian, into ``h``: the values hashed in place
    through numpy, not copied into bytes — or, a small batch while numpy is not imported (a small
    zone's run), through a Python ``array``."""
    if hashes.len() <= ARRAY_ROWS and not _numpy_imported():
        values = array("Q", hashes.to_list())
        if sys.byteorder != "little":
            values.byteswap()
        h.update(values)
        return
    h.update(hashes.to_numpy().astype("<u8", copy=False))


def frame_digest(frame: pl.DataFrame) -> str:
    """The digest of ``frame``'s rows in order (see the module docstring)."""
    h = hashlib.sha256(_header(frame.schema))
    if frame.height:
        _update(h, _row_hashes(frame))
    return h.hexdigest()


class YearDigests:
    """The year digests of a table's rows, fed batch after batch in their stored order (``add``): the
    staged table's rows as the IO manager writes them (pipelines/io_manager.py ``Streamed``), so the
    file is not read back to hash them; ``result`` is then what ``table_digests`` gives of the file."""

    def __init__(self, src: Source, schema: pl.Schema):
        self._header = _header(schema)
        self._year = year_expr(src, schema).alias(YEAR)
        self._found: dict[int | None, object] = {}

    def add(self, batch: pl.DataFrame) -> None:
        """Feed the next rows (a batch of one year — the usual case, a landing file being a year's — is
        not split)."""
        if not batch.height:
            return
        hashes = _row_hashes(batch)
        years = batch.select(self._year).to_series()
        distinct = years.unique(maintain_order=True)
        if distinct.len() == 1:
            parts = {distinct[0]: hashes}
        else:
            keyed = pl.DataFrame([hashes.alias(HASH), years])
            parts = {y: rows.get_column(HASH) for (y,), rows in keyed.partition_by(YEAR, maintain_order=True, as_dict=True).items()}
        for y, rows in parts.items():
            if y not in self._found:
                self._found[y] = hashlib.sha256(self._header)
            _update(self._found[y], rows)

    def result(self) -> dict[str, str]:
        """{year or "none": digest} of the rows fed (no key when none was)."""
        found = self._found
        return {NONE if y is None else str(y): found[y].hexdigest() for y in sorted(found, key=lambda v: (v is None, v))}


def table_digests(src: Source, path: Path) -> dict[str, str]:
    """{year or "none": digest} of one staged table file (no key for a table without rows), each
    year's the ``frame_digest`` of its rows: the file is streamed once, ``BATCH_ROWS`` rows at a
    time, each row's hashes fed to its year's SHA-256 in the stored order (``YearDigests``)."""
    scan = pl.scan_parquet(path)
    digests = YearDigests(src, scan.collect_schema())
    for batch in scan.collect_batches(chunk_size=BATCH_ROWS, maintain_order=True):
        digests.add(batch)
    return digests.result()


def year_digests(warehouse: Path, known: dict[str, dict[str, str]] | None = None) -> dict:
    """The digests of every staged table: those in ``known`` (a source's digests as recorded when its
    table was written: lianjian/ingest/stagecache.py) as they are, the others from the files."""
    staged = Path(warehouse) / "staged"
    known = known or {}
    return {
        "version": VERSION,
        "sources": {
            name: known[name] if name in known else table_digests(src, staged / f"{name}.parquet")
            for name, src in SOURCES.items()
        },
    }


def write_year_digests(warehouse: Path, known: dict[str, dict[str, str]] | None = None) -> Path:
    """Write ``staged/_year_digests.json`` (0600, whole or absent) from the staged tables just
    written, or kept (their digests in ``known``); ``lianjian.digests`` reads it."""
    path = Path(warehouse) / "staged" / FILE
    write_json_private(path, year_digests(warehouse, known))
    return path
