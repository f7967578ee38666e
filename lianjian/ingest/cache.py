"""The warehouse's private file cache of the landing zone (docs/ingest.md, "Reading each file once").

``<warehouse>/.cache/ingest/<key>/`` holds one landing file read and row-checked: its checked parts
(typed values, reasons, the cells as read — identity numbers already masked), its inventory entry and
the warnings reading it gave (``FileCache``). The key is the SHA-256 of everything the parts depend
on: the file's bytes (sha256), its source and path in the landing zone, the code that reads and checks
it and the contract (``reader_digest``), and for a source with dates the plausible range of dates (the
rules file's ``plausible_dates`` and the current year it is relative to). Change any of them and the
file is read again; nothing else is.

It lives under ``<warehouse>/.cache/`` — folders 0700, files 0600, like every layer outside
``published/`` (lianjian.files) — and an entry is written in a private temporary folder renamed into
place once complete, so a killed run leaves either the whole entry or none. A run keeps the entries of
the landing zone it read and removes the others (``FileCache.keep_only``).

A file is hashed before it is looked up, unless its SHA-256 is known from its stat: a run's
``FileCache`` is given the landing stat cache (lianjian/fingerprint.py ``StatCache``: a file whose
size, mtime, inode and ctime are those recorded when it was hashed), so an unchanged file is neither
read nor hashed.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import cache
from importlib.metadata import PackageNotFoundError, version
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from lianjian.files import make_private, pid_alive, private_dirs, read_json, write_json_private

if TYPE_CHECKING:
    from lianjian.contract import Source
    from lianjian.ingest.quarantine import DateBounds

@dataclass
class FileRead:
    """One landing file read and row-checked: its inventory entry (``FILES_SCHEMA``), what reading it
    said (unknown columns, mixed encodings, an empty file), and its checked parts in row order (none
    for a file without rows). ``_ord`` in the parts counts from 0 within the file."""

    entry: dict
    warnings: list[str]
    parts: list[Path]
    cached: bool = False  # taken from the warehouse's file cache, not read again
    key: str | None = None  # its file cache key (None: read without a cache)
    #: its parts' rows as written, kept in memory since they were read (``reader.Budget``), so that
    #: staging does not decode the parts again; None when not kept (never recorded in the cache)
    held: list | None = None
    held_bytes: int = 0

    @property
    def rows(self) -> int:
        return int(self.entry["rows_read"])


#: The cache folder of a warehouse.
CACHE = ".cache"
FILES = "ingest"
ENTRY = "entry.json"
#: Bumped when the layout of an entry changes (2: the parts keep only the cells as read that their
#: typed value does not give back; 3: a part leaves out the columns null in all its rows,
#: ``reader.write_part``; 4: nor ``_file`` and ``_ord``, given by the part's place; 5: a code typed
#: as the contract's Enum, not as text).
FORMAT = 5

PACKAGE = Path(__file__).resolve().parents[1]
#: What reading and checking a file depends on, besides its bytes: these files' contents.
READER_FILES = ("ingest", "contract", "privacy.py")
#: ... and these libraries' versions.
READER_LIBRARIES = ("polars", "fastexcel", "opencc")


def _tree_digest(h, paths: list[Path], root: Path) -> None:
    for p in sorted(paths, key=lambda q: q.relative_to(root).as_posix()):
        h.update(p.relative_to(root).as_posix().encode("utf-8") + b"\0")
        h.update(hashlib.sha256(p.read_bytes()).digest())


def source_files(root: Path, names: tuple[str, ...]) -> list[Path]:
    """The Python and YAML files of ``names`` (folders or files) under ``root``."""
    out: list[Path] = []
    for name in names:
        p = root / name
        if p.is_dir():
            out += [f for f in p.rglob("*") if f.is_file() and f.suffix in (".py", ".yaml") and "__pycache__" not in f.parts]
        elif p.is_file():
            out.append(p)
    return out


@cache
def reader_digest() -> str:
    """The version of the code that reads and checks a landing file: the SHA-256 of its source files
    (lianjian/ingest, the contract, the identity-number detector) and of the versions
    of the libraries that parse the cells. Any edit to them makes every cached file stale."""
    h = hashlib.sha256()
    _tree_digest(h, source_files(PACKAGE, READER_FILES), PACKAGE)
    for lib in READER_LIBRARIES:
        try:
            h.update(f"{lib}=={version(lib)}\0".encode())
        except PackageNotFoundError:
            h.update(f"{lib}==?\0".encode())
    return h.hexdigest()


def cache_root(warehouse: Path) -> Path:
    return private_dirs(Path(warehouse), CACHE)


class FileCache:
    """Landing files read and row-checked, under ``<warehouse>/.cache/ingest/<key>/`` (see the module
    docstring): ``key`` says which entry a file needs, ``get`` loads it, ``building`` gives a private
    folder to write a new one in and moves it into place when ``put`` has recorded it."""

    def __init__(self, warehouse: Path, known: Callable[[str, Path], str | None] | None = None):
        self.root = private_dirs(Path(warehouse), CACHE, FILES)
        self.used: set[str] = set()
        self.known = known

    def known_sha256(self, rel: str, path: Path) -> str | None:
        """The SHA-256 of the landing file ``rel`` when it is known without reading it (``known``: the
        landing stat cache of lianjian/fingerprint.py — a file whose size, mtime, inode and ctime are
        those recorded when it was hashed), else None (hash it)."""
        if self.known is None:
            return None
        try:
            return self.known(rel, path)
        except OSError:
            return None

    def key(self, src: Source, rel: str, sha256: str, dates: DateBounds | None) -> str:
        has_dates = any(c.kind == "date" for c in src.columns)
        bounds = [str(dates.earliest), str(dates.latest)] if dates is not None and has_dates else None
        ident = [FORMAT, reader_digest(), src.name, rel, sha256, bounds]
        return hashlib.sha256(json.dumps(ident, ensure_ascii=False).encode("utf-8")).hexdigest()

    def get(self, key: str) -> FileRead | None:
        folder = self.root / key
        data = read_json(folder / ENTRY)
        if data is None or data.get("key") != key:
            return None
        parts = [folder / name for name in data["parts"]]
        if not all(p.is_file() for p in parts):
            return None
        self.used.add(key)
        return FileRead(data["entry"], list(data["warnings"]), parts, cached=True, key=key)

    @contextmanager
    def building(self, key: str) -> Iterator[Path]:
        """A private folder for the entry ``key``; moved into place when the block ends after ``put``,
        removed when it ends otherwise (an error, or nothing recorded)."""
        tmp = self.root / f".{key}.tmp-{os.getpid()}-{uuid.uuid4().hex[:8]}"
        tmp.mkdir(mode=0o700)
        os.chmod(tmp, 0o700)
        try:
            yield tmp
            if (tmp / ENTRY).is_file():
                final = self.root / key
                if final.exists():
                    shutil.rmtree(final)
                os.replace(tmp, final)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)

    def put(self, key: str, read: FileRead, folder: Path) -> None:
        """Record ``read`` (parts written under ``folder``) as the entry ``key``."""
        for p in read.parts:
            make_private(p)
        data = {"key": key, "entry": read.entry, "warnings": read.warnings, "parts": [p.name for p in read.parts]}
        write_json_private(folder / ENTRY, data)

    def keep_only(self, keys: set[str]) -> None:
        """Remove every entry but ``keys`` (the files of the landing zone just read), and the folders
        of writes a killed run left."""
        for p in self.root.iterdir():
            if p.name in keys:
                continue
            if p.name.startswith(".") and ".tmp-" in p.name:
                pid = p.name.rsplit(".tmp-", 1)[1].split("-", 1)[0]
                if pid.isdigit() and pid_alive(int(pid)):
                    continue
            shutil.rmtree(p, ignore_errors=True) if p.is_dir() else p.unlink(missing_ok=True)
