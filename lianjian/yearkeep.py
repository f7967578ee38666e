"""A year of R2, R3 or R8 whose inputs are those its files were computed from: kept, not computed
(docs/operations.md, "只重算变化的年度"; docs/performance.md).

A changed year of talks makes the run recompute the year before as well (a talk in Y can fulfil an
obligation whose window began in Y−1: lianjian/digests.py). Most often the talk obligations of that
earlier year come out the same, and then so would its integrity evaluation (R2) and responsibility
assessment (R3), with their evidence rows, and the evidence table (R8) made of those: each grades a
year from that year's rows of its year-partitioned inputs and the whole staged tables it reads
(assets/assessed.py). So each of these steps records, per year it computed, what it computed the year
from, in ``<warehouse>/assessed/_year_inputs_<first output>.json`` (private)::

    {"version": 1, "years": {"2024": {"key": "<sha256>", "outputs": {"integrity_assessment": "<sha256>", ...}}}}

``key`` is the SHA-256 of the code version, the rules file's SHA-256, the staged digests of every
staged table the step reads (all years: ``staged/_year_digests.json``, lianjian/ingest/digests.py)
and the SHA-256 of the year's file of every year-partitioned input; ``outputs`` the SHA-256 of each
output's year file as written. A later run keeps a year — its output files stay as they are, the IO
manager records them as unchanged (pipelines/io_manager.py ``SpilledYears.keep``, ``KeptYears``) —
only when the key
is the same and every output file still has its recorded digest; anything unknown (no record, a
source without digests, a missing file) computes the year.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from pathlib import Path

from lianjian.files import read_json, sha256_file, write_json_private

VERSION = 1
PREFIX = "_year_inputs_"


def record_path(warehouse: Path, step: str) -> Path:
    return Path(warehouse) / "assessed" / f"{PREFIX}{step}.json"


def year_key(
    *, code_version: str, rules_sha256: str, staged: Mapping[str, object], partitioned: Mapping[str, Path]
) -> str | None:
    """The digest of what a step computes one year from: ``staged`` (input name -> the staged table's
    recorded digests, None when unknown) and ``partitioned`` (input name -> the year's file). None
    when any of it is unknown (then the year is computed)."""
    if any(v is None for v in staged.values()) or not all(p.is_file() for p in partitioned.values()):
        return None
    what = {
        "code_version": code_version,
        "rules_sha256": rules_sha256,
        "staged": dict(sorted(staged.items())),
        "partitioned": {name: sha256_file(path) for name, path in sorted(partitioned.items())},
    }
    return hashlib.sha256(json.dumps(what, sort_keys=True, ensure_ascii=True).encode()).hexdigest()


def read_record(warehouse: Path, step: str) -> dict[str, dict]:
    """The step's record per year (``{"2024": {"key": …, "outputs": {…}}}``); empty when absent."""
    data = read_json(record_path(warehouse, step)) or {}
    years = data.get("years") if data.get("version") == VERSION else None
    return years if isinstance(years, dict) else {}


def unchanged(record: Mapping[str, dict], year: int, key: str | None, outputs: Mapping[str, Path]) -> bool:
    """Whether ``year``'s outputs (output name -> year file) are what the step would compute now:
    computed from ``key``, and every file still the one written then."""
    entry = record.get(str(year))
    if key is None or not isinstance(entry, dict) or entry.get("key") != key:
        return False
    files = entry.get("outputs") or {}
    return set(files) == set(outputs) and all(p.is_file() and sha256_file(p) == files[n] for n, p in outputs.items())


def write_record(warehouse: Path, step: str, years: Mapping[int, tuple[str | None, Mapping[str, Path]]]) -> None:
    """Record ``years`` (year -> (key, output name -> year file as now written)), keeping the other
    years' entries; a year without a key loses its entry."""
    record = dict(read_record(warehouse, step))
    for year, (key, outputs) in years.items():
        if key is None:
            record.pop(str(year), None)
        else:
            record[str(year)] = {"key": key, "outputs": {n: sha256_file(p) for n, p in sorted(outputs.items())}}
    write_json_private(record_path(warehouse, step), {"version": VERSION, "years": dict(sorted(record.items()))}, sort_keys=True)

