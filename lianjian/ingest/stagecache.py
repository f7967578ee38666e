"""What each staged table was made from, so a run stages again only the sources whose inputs changed
(docs/ingest.md, "Staging only what changed").

A source's staged table, its rejected rows and its rows of the ingest report depend on exactly:

- its own landing files: for each, in reading order, the path in the landing zone and the file
  cache's key (``cache.FileCache.key``: the file's SHA-256, its source and path, the code that reads
  and checks it and the contract — ``reader_digest``, which covers the staging code too, all of
  ``lianjian/ingest`` — and, for a source with dates, the plausible range of dates and the current
  year it is relative to); whether the source is present at all (an optional source may be absent);
- the ACCEPTED rows of each source it references that is staged before it (``quarantine.upstream``):
  the content of that source's staged table, named by the SHA-256 of its file;
- the CANDIDATE rows of each source it references that is staged after it (personnel -> departments):
  those depend on that source's own landing files only, named by their file cache keys;
- how the staged table is written (the IO manager's Parquet settings: ``writer``).

``stage_key`` hashes these into the source's **stage key**. ``StageCache`` keeps, under
``<warehouse>/.cache/stage/<source>/`` (folders 0700, files 0600, like the rest of ``.cache``), the
record of the source's last staging: its stage key, the staged file it wrote (size, mtime, inode and
SHA-256 of its bytes, rows), its per-year digests (lianjian/ingest/digests.py), and its rejected rows
and report rows as Parquet. When a run computes the same stage key and the staged file in the
warehouse is still the one recorded, the source is not checked or written again: the record gives
everything the run needs from it. A record is written in a private temporary folder and renamed into
place, after the staged file: a killed run leaves the previous record (whose file no longer matches:
staged again) or the new one whole.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import uuid
from dataclasses import dataclass
from pathlib import Path

import polars as pl

from lianjian.files import make_private, pid_alive, private_dirs, read_json, sha256_file, write_json_private
from lianjian.ingest.cache import CACHE
from lianjian.ingest.quarantine import REPORT_SCHEMA, upstream

STAGE = "stage"
RECORD = "record.json"
REJECTED = "rejected.parquet"
REPORT = "report.parquet"
#: Bumped when what a stage key covers or the layout of a record changes.
FORMAT = 1


def stage_key(
    name: str,
    present: bool,
    files: list[tuple[str, str]],
    accepted: dict[str, str],
    candidates: dict[str, list[tuple[str, str]]],
    writer: str,
) -> str:
    """The stage key of ``name`` (see the module docstring): ``files`` its own (path, file cache key)
    in reading order; ``accepted`` {referenced source staged before it: SHA-256 of its staged file};
    ``candidates`` {referenced source staged after it: its (path, file cache key) list}; ``writer``
    the staged table's Parquet settings."""
    before, after = upstream(name)
    if set(accepted) != before or set(candidates) != after:
        raise ValueError(f"{name}: stage key needs exactly {sorted(before)} and {sorted(after)}")
    ident = [
        FORMAT,
        name,
        bool(present),
        [list(f) for f in files],
        sorted(accepted.items()),
        sorted((t, [list(f) for f in fs]) for t, fs in candidates.items()),
        writer,
    ]
    return hashlib.sha256(json.dumps(ident, ensure_ascii=False).encode("utf-8")).hexdigest()


def file_stamp(path: Path) -> list[int] | None:
    """(size, mtime_ns, inode) of a staged file: every write of the IO manager renames a new file into
    place, so a rewrite changes at least the inode."""
    try:
        st = Path(path).stat()
    except OSError:
        return None
    return [st.st_size, st.st_mtime_ns, st.st_ino]


@dataclass
class Kept:
    """A source whose staged table in the warehouse is what staging would write now (same stage key,
    file intact): what the run takes from the record instead of staging it again."""

    key: str
    path: Path  # the staged file, kept as it is
    sha256: str  # of the staged file's bytes
    rows: int
    digests: dict[str, str]  # per-year digests (lianjian/ingest/digests.py)
    rejected: pl.DataFrame
    report: pl.DataFrame

    @property
    def accepted(self) -> pl.LazyFrame:
        """The source's accepted rows, as the sources referencing it read them."""
        return pl.scan_parquet(self.path)


class StageCache:
    """The records of each source's last staging, under ``<warehouse>/.cache/stage/<source>/``."""

    def __init__(self, warehouse: Path):
        self.root = private_dirs(Path(warehouse), CACHE, STAGE)

    def _record(self, name: str, path: Path) -> dict | None:
        """The record of ``name`` when its staged file ``path`` is still the one it describes."""
        data = read_json(self.root / name / RECORD)
        if data is None or data.get("format") != FORMAT or data.get("source") != name:
            return None
        stamp = file_stamp(path)
        return data if stamp is not None and data.get("stamp") == stamp else None

    def get(self, name: str, key: str, path: Path) -> Kept | None:
        """What the last staging of ``name`` gave, when it was made from the same inputs (``key``) and
        its staged file ``path`` is intact; else None (stage it)."""
        data = self._record(name, path)
        if data is None or data.get("key") != key:
            return None
        folder = self.root / name
        try:
            rejected = pl.read_parquet(folder / REJECTED)
            report = pl.read_parquet(folder / REPORT)
        except (OSError, pl.exceptions.PolarsError):
            return None
        if report.schema != REPORT_SCHEMA:
            return None
        return Kept(key, Path(path), str(data["sha256"]), int(data["rows"]), dict(data["digests"]), rejected, report)

    def content_sha256(self, name: str, path: Path) -> str | None:
        """The SHA-256 of the staged file ``path`` as recorded when it was written, if it is still that
        file (the data-quality step's content key: no table is read or hashed again)."""
        data = self._record(name, path)
        return None if data is None else str(data["sha256"])

    def put(
        self, name: str, key: str, path: Path, rejected: pl.DataFrame, report: pl.DataFrame, digests: dict[str, str]
    ) -> Kept:
        """Record the staging of ``name`` just written to ``path`` (call after the staged file is
        written). Returns the record as ``get`` would."""
        stamp = file_stamp(path)
        if stamp is None:
            raise FileNotFoundError(path)
        sha = sha256_file(path)
        rows = pl.scan_parquet(path).select(pl.len()).collect().item()
        if file_stamp(path) != stamp:  # rewritten while hashed: record nothing, stage it next time
            self.forget(name)
            return Kept(key, Path(path), sha, rows, dict(digests), rejected, report)
        tmp = self.root / f".{name}.tmp-{os.getpid()}-{uuid.uuid4().hex[:8]}"
        tmp.mkdir(mode=0o700)
        os.chmod(tmp, 0o700)
        try:
            rejected.write_parquet(tmp / REJECTED)
            report.write_parquet(tmp / REPORT)
            make_private(tmp / REJECTED)
            make_private(tmp / REPORT)
            record = {
                "format": FORMAT, "source": name, "key": key, "stamp": stamp, "sha256": sha, "rows": rows,
                "digests": digests,
            }
            write_json_private(tmp / RECORD, record)
            self.forget(name)
            os.replace(tmp, self.root / name)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
        return Kept(key, Path(path), sha, rows, dict(digests), rejected, report)

    def forget(self, name: str) -> None:
        shutil.rmtree(self.root / name, ignore_errors=True)

    def sweep(self) -> None:
        """Remove the temporary folders a killed run left."""
        for p in self.root.iterdir():
            if p.name.startswith(".") and ".tmp-" in p.name:
                pid = p.name.rsplit(".tmp-", 1)[1].split("-", 1)[0]
                if pid.isdigit() and pid_alive(int(pid)):
                    continue
                shutil.rmtree(p, ignore_errors=True)


class Reuse:
    """One run's use of the records (``stage_sources(…, reuse=…)``): computes each source's stage key
    from what was read, says which sources are kept, and records the sources staged again.
    ``staged_path(name)`` is where the IO manager keeps the staged table of ``name``."""

    def __init__(self, cache: StageCache, staged_path, writer: str):
        self.cache = cache
        self.staged_path = staged_path
        self.writer = writer
        #: SHA-256 of each staged file as this run leaves it (kept or written and recorded).
        self.content: dict[str, str] = {}
        self.kept_sources: list[str] = []
        self.staged_sources: list[str] = []

    def key(self, name: str, reads: dict) -> str | None:
        """The stage key of ``name`` from the sources as read (``SourceRead``), or None when it cannot
        be known (a file read without the cache, or a source before it not recorded): stage it."""
        before, after = upstream(name)
        own = _file_keys(reads[name])
        accepted = {t: self.content.get(t) for t in before}
        candidates = {t: _file_keys(reads[t]) for t in after}
        if own is None or None in accepted.values() or None in candidates.values():
            return None
        return stage_key(name, reads[name].present, own, accepted, candidates, self.writer)

    def kept(self, name: str, key: str) -> Kept | None:
        kept = self.cache.get(name, key, self.staged_path(name))
        if kept is not None:
            self.content[name] = kept.sha256
            self.kept_sources.append(name)
        return kept

    def record(self, name: str, key: str | None, rejected: pl.DataFrame, report: pl.DataFrame, digests: dict[str, str]) -> None:
        """After the staged table of ``name`` is written: record it (without a key: forget any record)."""
        self.staged_sources.append(name)
        if key is None:
            self.cache.forget(name)
            return
        self.content[name] = self.cache.put(name, key, self.staged_path(name), rejected, report, digests).sha256


def _file_keys(read) -> list[tuple[str, str]] | None:
    keys = [(f.entry["file"], f.key) for f in read.files]
    return None if any(k is None for _, k in keys) else keys
