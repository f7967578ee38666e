"""Only the years whose inputs changed: which assessment years a pipeline run's second run recomputes
(docs/operations.md, "只重算变化的年度"; docs/performance.md).

Staging writes ``<warehouse>/staged/_year_digests.json``: per source and assessment year (the
contract's ``year_from`` column of the source; rows without a year under ``"none"``), a digest of
that year's staged rows in their stored order (:func:`year_digests`)::

    {"version": 1, "sources": {"talks": {"2024": "<sha256 hex>", ...}, ...}}

When the second run has published, it records what its results were computed from in
``<warehouse>/derived/_computed_from.json`` (private): those digests, the rules file's SHA-256, the
code version and the month of the run date (R9's monthly counts depend on it). The next second run
recomputes only the years that differ, widened by what the rules read across years
(:func:`dirty_years`):

- a changed year Y of any source dirties Y−1 (R1: a talk in Y fulfils an obligation whose window
  began in Y−1), Y, and Y+1 and Y+2 (R7 counts the two previous years' reports; R9's month-on-month
  change reads the previous December);
- a changed year Y of ``cases`` dirties every year up to Y as well (R5: a case counts in every year
  from the one it was accepted in to the one it was closed in, and its digest year is the closing
  year);
- a change under ``"none"`` (units, open cases …), of the rules file, of the code version or of the
  run date's month, no record, or no digests: every year;
- a year whose result files were written after the record (a run that failed half-way): that year
  again;
- a year whose data left the landing zone is emptied, as before (``years_to_assess``).

R4 and publishing read every year and are not partitioned: they always run. A Dagster run's
partitions are one contiguous range, so the run computes min..max of the dirty years, within the
range a full run would compute. Results are byte-identical to a full recompute: every year-partitioned
asset computes a year from the whole staged tables, so a year whose inputs (widened as above) did not
change gives the same bytes.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from pathlib import Path

DIGESTS_FILE = "_year_digests.json"
COMPUTED_FILE = "_computed_from.json"
VERSION = 1
NO_YEAR = "none"
#: Sources whose rows count in years before their digest year (R5: accepted … closed).
SPANS_EARLIER_YEARS = ("cases",)
#: A changed year Y dirties Y+offset for each of these (R1 backwards one year; R7/R9 forwards two).
WIDEN = (-1, 0, 1, 2)
#: Polars row-hash seeds (two 64-bit hashes a row).
ROW_SEEDS = (0, 0x9E3779B97F4A7C15)
#: The year-partitioned layers whose files a half-finished run may have rewritten.
PARTITIONED_LAYERS = ("derived", "assessed")


def year_digests(tables: Mapping[str, object]) -> dict:
    """``{"version": 1, "sources": {source: {year: sha256 hex}}}`` of staged tables (Polars frames,
    lazy or not, with the staged schema): per source, the rows of each assessment year in their
    stored order, hashed by Polars' row hash under two fixed seeds (128 bits a row) together with the
    column names, types and the number of rows. Deterministic across runs and processes for one
    Polars version (a different version may only make more years look changed)."""
    import hashlib

    import polars as pl

    from lianjian.contract import SOURCES

    out: dict[str, dict[str, str]] = {}
    for name in sorted(tables):
        frame = tables[name]
        df = frame.collect() if isinstance(frame, pl.LazyFrame) else frame
        src = SOURCES[name]
        if src.year_from is None:
            year = pl.lit(None, dtype=pl.Int64)
        else:
            col = pl.col(src.year_from)
            year = col.dt.year().cast(pl.Int64) if df.schema[src.year_from] == pl.Date else col.cast(pl.Int64)
        keyed = df.with_columns(year.alias("__year"))
        head = "\0".join(f"{c}:{t}" for c, t in df.schema.items()).encode()
        per: dict[str, str] = {}
        if keyed.height:
            for (y,), part in keyed.partition_by("__year", as_dict=True, maintain_order=True, include_key=False).items():
                h = hashlib.sha256(head)
                h.update(str(part.height).encode())
                for seed in ROW_SEEDS:
                    h.update(part.hash_rows(seed=seed).to_numpy().tobytes())
                per[NO_YEAR if y is None else str(int(y))] = h.hexdigest()
        out[name] = dict(sorted(per.items()))
    return {"version": VERSION, "sources": out}


def _read(path: Path) -> dict | None:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) and data.get("version") == VERSION else None


def _write(path: Path, data: dict) -> None:
    from lianjian.files import private_mkdir, write_private

    private_mkdir(path.parent)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.new")
    write_private(tmp, (json.dumps(data, ensure_ascii=False, sort_keys=True, indent=1) + "\n").encode("utf-8"))
    os.replace(tmp, path)


def write_year_digests(warehouse: Path, digests: dict) -> Path:
    """``staged/_year_digests.json`` (0600), replaced at once."""
    path = Path(warehouse) / "staged" / DIGESTS_FILE
    _write(path, digests)
    return path


def read_year_digests(warehouse: Path) -> dict | None:
    """The staged tables' digests, None when staging wrote none (every year is then recomputed)."""
    data = _read(Path(warehouse) / "staged" / DIGESTS_FILE)
    return data if data is not None and isinstance(data.get("sources"), dict) else None


def computed_path(warehouse: Path) -> Path:
    return Path(warehouse) / "derived" / COMPUTED_FILE


def record_computed(warehouse: Path, *, rules_sha256: str, code_version: str, run_month: str | None, all_years: bool) -> None:
    """After the second run published: its results, every year of them, were computed from the staged
    digests now, this rules file, this code and this run month. A run limited to some years
    (``--years``) leaves the other years as they were, so it removes the record instead: the next run
    recomputes every year."""
    path = computed_path(warehouse)
    digests = read_year_digests(warehouse)
    if not all_years or digests is None or run_month is None:
        try:
            path.unlink()
        except FileNotFoundError:
            pass
        return
    _write(
        path,
        {
            "version": VERSION,
            "sources": digests["sources"],
            "rules_sha256": rules_sha256,
            "code_version": code_version,
            "run_month": run_month,
        },
    )


def _rewritten_since(warehouse: Path, since_ns: int) -> set[int]:
    """Years whose result files were written after ``since_ns`` (a run that failed after writing them)."""
    years: set[int] = set()
    for layer in PARTITIONED_LAYERS:
        root = Path(warehouse) / layer
        if not root.is_dir():
            continue
        for path in root.glob("*/*.parquet"):
            if path.stem.isdigit():
                try:
                    if path.stat().st_mtime_ns > since_ns:
                        years.add(int(path.stem))
                except OSError:
                    continue
    return years


def dirty_years(
    warehouse: Path,
    *,
    first: int,
    last: int,
    rules_sha256: str,
    code_version: str,
    run_month: str,
) -> tuple[int, int] | None:
    """The years to recompute, as one range within ``first``..``last`` (what a full run computes),
    or None when no year needs it. See the module docstring for the rules."""
    every = (first, last)
    now = read_year_digests(warehouse)
    path = computed_path(warehouse)
    before = _read(path)
    if now is None or before is None:
        return every
    if (before.get("rules_sha256"), before.get("code_version"), before.get("run_month")) != (rules_sha256, code_version, run_month):
        return every
    old, new = before.get("sources") or {}, now["sources"]
    dirty: set[int] = set()
    for source in set(old) | set(new):
        a, b = old.get(source) or {}, new.get(source) or {}
        for key in set(a) | set(b):
            if a.get(key) == b.get(key):
                continue
            if key == NO_YEAR or not str(key).isdigit():
                return every
            year = int(key)
            dirty.update(year + d for d in WIDEN)
            if source in SPANS_EARLIER_YEARS:
                dirty.update(range(first, year + 1))
    try:
        dirty |= _rewritten_since(warehouse, path.stat().st_mtime_ns)
    except OSError:
        return every
    dirty = {y for y in dirty if first <= y <= last}
    if not dirty:
        return None
    return min(dirty), max(dirty)
