"""What a year's reports and notices are built from, known without reading a row: a digest per year
of the published files they read (their SHA-256 as the published manifest lists them), the staged
digests of that year (lianjian/ingest/digests.py: names, departments and the data-quality counts),
the unit tree, the rejected rows that belong to that year, and the report code
(docs/report.md, "Only the years whose inputs changed").

A year whose digest equals the one recorded beside its reports when they were last written, with
every page and workbook in place, has the same reports: the nightly run does not build them again.
A year whose published files a run linked unchanged from the live version (docs/operations.md,
"只重算变化的年度") has the same SHA-256 in the new manifest — publish copies the entry, it does not
hash the file again — so the check costs reading two small JSON files.

None for a year (always built) when the manifest does not list that year's files, or staging wrote
no digests.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import polars as pl

from lianjian.report.writes import DISK, Disk

#: Beside each year's reports (``reports/<year>/``) and notices (``reports/<year>/notices/``): the
#: digest of the inputs they were written from.
RECORD = "_inputs.json"

#: Staged sources whose "no year" digest every year's reports read (the unit tree: names, parents,
#: roll-ups, links).
WHOLE_SOURCES = ("units",)


def published_digests(warehouse: Path, folder: Path | None = None) -> dict[str, dict[int | None, str]] | None:
    """table -> {year (None for a table without years): sha256} of the version ``published`` points to
    now (or of the published folder ``folder``: a version not yet switched to), from its manifest;
    None without a manifest listing files."""
    from lianjian.files import read_json

    link = Path(warehouse) / "published" if folder is None else Path(folder)
    manifest = read_json(link.resolve() / "_manifest.json") if link.exists() else None
    if manifest is None:
        return None
    out: dict[str, dict[int | None, str]] = {}
    for output in manifest.get("outputs") or []:
        files = output.get("files") if isinstance(output, dict) else None
        if not files:
            continue
        per_year: dict[int | None, str] = {}
        for f in files:
            parts = str(f.get("path", "")).split("/")
            year = next((int(p[5:]) for p in parts if p.startswith("year=") and p[5:].isdigit()), None)
            per_year[year] = str(f.get("sha256"))
        out[str(output.get("table"))] = per_year
    return out or None


def _digest(parts: object) -> str:
    return hashlib.sha256(json.dumps(parts, ensure_ascii=False, sort_keys=True, default=str).encode("utf-8")).hexdigest()


def year_digests(
    warehouse: Path,
    years: list[int],
    tables: dict[str, str],
    *,
    extra: dict[int, object] | None = None,
    code: str,
    staged_years: bool = True,
    published: dict[str, dict[int | None, str]] | None = None,
) -> dict[int, str | None]:
    """Per year, the digest of what its pages read: for each published table of ``tables`` (table ->
    "year": that year's file; "to_year": the files of that year and every year before it; "whole":
    the table's only file), the staged digests of that year of every source and the unit tree's,
    ``extra[year]`` and ``code`` (``staged_years`` False: of the staged digests, the unit tree's
    only). None for every year when the manifest or the staged digests are
    missing, or the manifest does not list a table. ``published``: the published files' digests
    (``published_digests``) of the version read, when read already (default: of the version
    ``published`` points to now)."""
    from lianjian.digests import NO_YEAR, read_year_digests

    if published is None:
        published = published_digests(warehouse)
    staged = read_year_digests(warehouse)
    if published is None or staged is None or any(t not in published for t in tables):
        return {y: None for y in years}
    out: dict[int, str | None] = {}
    for year in years:
        parts: dict[str, object] = {"code": code, "year": year}
        for table, span in tables.items():
            have = published[table]
            if span == "whole":
                parts[table] = have.get(None)
            elif span == "to_year":
                parts[table] = sorted([y, sha] for y, sha in have.items() if y is not None and y <= year)
            else:
                parts[table] = have.get(year)
        parts["staged"] = {
            name: by_year.get(NO_YEAR) if name in WHOLE_SOURCES else by_year.get(str(year))
            for name, by_year in sorted(staged["sources"].items())
            if staged_years or name in WHOLE_SOURCES
        }
        if extra is not None:
            parts["extra"] = extra.get(year)
        out[year] = _digest(parts)
    return out


def read_record(folder: Path) -> dict | None:
    from lianjian.files import read_json

    return read_json(Path(folder) / RECORD)


def forget(folder: Path, files: Disk = DISK) -> None:
    """Remove a folder's record before anything in it is written again (a run cut short leaves no
    record, so the next run builds the year whatever its inputs)."""
    files.unlink(Path(folder) / RECORD)


def remember(folder: Path, digest: str | None, *, files: Disk = DISK, **more: object) -> None:
    """Record the digest the folder's files were written from (nothing when it is None)."""
    if digest is None:
        return
    data = json.dumps({"inputs": digest, **more}, ensure_ascii=False, sort_keys=True, indent=0)
    files.write(Path(folder) / RECORD, data.encode("utf-8"))


def rejected_by_year(counts: pl.DataFrame) -> dict[int, object]:
    """Per year, the rejected rows of each unit and source (``quality.rejected_counts``) as a list."""
    out: dict[int, list] = {}
    for unit, year, source, n in counts.sort("year", "unit_code", "source").iter_rows():
        out.setdefault(int(year), []).append([unit, source, int(n)])
    return out
