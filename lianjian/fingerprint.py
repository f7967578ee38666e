"""Is the published version current? — the nightly run's fast path (docs/operations.md, "已发布版本为最新").

A pipeline run computes the published version from three things only: the landing files, the rules
file and the code. When none of them changed since the live version was published, running again
would publish the same bytes, so ``lianjian run``, the nightly schedule and the landing sensor stop
at once instead, saying which version is current (``--force`` recomputes anyway).

The live version is current when all of these hold:

- its manifest (``published/_manifest.json``) lists exactly the landing files the reader would read
  now (the same relative paths, every source's ``<source>.<ext>`` and ``<source>/**``), each with the
  same SHA-256 of its bytes;
- the rules file's SHA-256 is its ``rules_sha256`` and this code's version (:func:`code_version`, a
  digest of the code's files: an edit counts whether committed or not, a documentation commit does
  not) its ``code_version``;
- it was computed in this month of the run date (lianjian/clock.py): the "三个规定" monthly counts
  (R9) cover the months begun by the run date, so a new month means new rows even on the same data;
- the pipeline run that published it finished: its yearly reports were all written, over every
  year (no ``--years`` limit), and it recorded so in ``<warehouse>/.cache/published_state.json``
  (:func:`record_finished`). A version whose run failed after publishing (reports not written) or
  stopped before publishing never counts: the next run recomputes.

The landing files are not read to know their SHA-256: ``<warehouse>/.cache/landing_files.json``
(private: 0600 in a 0700 folder) maps each relative path, with its size, mtime_ns, inode and
ctime_ns, to the SHA-256 of its bytes. A file whose stat differs from the recorded one (touched,
copied over, replaced) is hashed again, streaming; the ctime, which no program can set back, catches
a rewrite that restores the size and mtime. The pipeline run fills the cache when it finishes, from
the digests its reader computed, for the files unchanged since before its reading began — so the
first check after a run reads no landing file either.

Light on purpose: only the standard library and PyYAML (the contract's source names), no Dagster,
Polars or Great Expectations, so the answer comes in well under a second at any scale.

Concurrency: :func:`check_current` looks under the warehouse lock (lianjian/lock.py), without waiting:
when another run holds the warehouse it may be publishing a new version, so the answer is "not known
to be current" and the caller goes on as before (a run waits for the lock; it then checks again).
"""

from __future__ import annotations

import datetime as dt
import os
import subprocess
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from zoneinfo import ZoneInfo

from lianjian.clock import TIMEZONE, run_month
from lianjian.errors import FatalError
from lianjian.files import read_json, sha256_file, write_json_private, yaml_safe_loader


#: The warehouse's private cache folder (0700), and the two files of the fast path in it (0600).
CACHE = ".cache"
STAT_CACHE = "landing_files.json"
FINISHED = "published_state.json"
#: The landing files the reader reads (lianjian.ingest.reader.EXTENSIONS; a test keeps them equal).
EXTENSIONS = (".csv", ".xlsx", ".parquet")
#: A file whose ctime is within this many seconds before the reading began is not trusted to have
#: been read as it is now (file times tick coarser than the clock): it is hashed again when checked.
CTIME_MARGIN_NS = 2_000_000_000
_CONTRACT = Path(__file__).with_name("contract") / "sources.yaml"


# --------------------------------------------------------------------------------------------------
# What the published version was computed from


#: The folders of this project whose Python files (and the contract's YAML) make up "the code" of a
#: run: scoring, ingest, publishing, the Dagster assets, checks and pipelines. (The rules file is
#: compared by its own SHA-256.)
CODE_PACKAGES = ("lianjian", "assets", "pipelines", "checks")
#: The files of those folders that the code reads: Python, and the contract's declarations and tables.
CODE_SUFFIXES = (".py", ".yaml", ".json")
#: Libraries whose version can change the published bytes (Parquet writing, number formatting, the
#: reading of traditional characters).
CODE_LIBRARIES = ("polars", "polars-runtime-32", "pyarrow", "opencc")


#: Where the code's folders are: the checkout, or site-packages for an installed package.
CODE_ROOT = Path(__file__).resolve().parents[1]


@lru_cache(maxsize=4)
def code_digest(root: Path = CODE_ROOT) -> str:
    """SHA-256 of what the code of a run is: the relative path and bytes of every file of
    :data:`CODE_PACKAGES` with one of :data:`CODE_SUFFIXES` (from a checkout or an installation alike) and the
    versions of :data:`CODE_LIBRARIES`. Exact: any edit of the code — committed or not — changes it,
    and a commit that leaves the code alone (documentation, tests) does not."""
    import hashlib
    from importlib.metadata import PackageNotFoundError, version

    h = hashlib.sha256()
    for lib in CODE_LIBRARIES:
        try:
            h.update(f"{lib} {version(lib)}\0".encode())
        except PackageNotFoundError:
            h.update(f"{lib} -\0".encode())
    for package in CODE_PACKAGES:
        base = root / package
        files = sorted(p for p in base.rglob("*") if p.suffix in CODE_SUFFIXES and p.is_file() and "__pycache__" not in p.parts)
        for path in files:
            h.update(path.relative_to(root).as_posix().encode() + b"\0" + path.read_bytes() + b"\0")
    return h.hexdigest()


@lru_cache(maxsize=4)
def git_commit(root: Path = CODE_ROOT) -> str | None:
    """The git commit the code runs from, when it runs from a checkout (recorded in the manifest as
    ``git_commit`` so that an auditor can check the code out again); None otherwise. A working tree
    with edits not committed shows as ``<commit>-dirty``: the manifest's ``code_version`` then
    differs from the commit's."""
    if not (root / ".git").exists():
        return None
    try:
        sha = subprocess.run(
            ["git", "-C", str(root), "rev-parse", "--short=12", "HEAD"], capture_output=True, text=True, timeout=5, check=True
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "-C", str(root), "status", "--porcelain", "--untracked-files=no", "--", *CODE_PACKAGES],
            capture_output=True,
            text=True,
            timeout=5,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return None
    return f"{sha}-dirty" if sha and dirty else (sha or None)


def code_version() -> str:
    """The code a published version was computed with, recorded in every manifest as
    ``code_version``: the package version and the first 16 hex digits of :func:`code_digest`, e.g.
    ``0.1.0+src.3f2a…``. Two runs with the same code_version ran the same code on the same Polars and
    PyArrow; the fast path and the changed-years record compare it."""
    try:
        from importlib.metadata import version

        v = version("lianjian")
    except Exception:  # noqa: BLE001 - not installed: running from the source tree
        v = "0+unknown"
    return f"{v}+src.{code_digest()[:16]}"


@lru_cache(maxsize=1)
def source_names() -> tuple[str, ...]:
    """The contract's sources (lianjian/contract/sources.yaml), read without building the contract."""
    import yaml

    with _CONTRACT.open("rb") as f:
        return tuple(yaml.load(f, Loader=yaml_safe_loader())["sources"])  # noqa: S506 - a safe loader


def landing_files(landing: Path) -> list[tuple[str, Path]]:
    """(relative path, path) of every file the reader reads, as ``lianjian.ingest.reader.source_files``
    finds them: ``<source>.csv|.xlsx|.parquet`` and every such file under a folder ``<source>/``."""
    landing = Path(landing)
    found: list[Path] = []
    for source in source_names():
        found += [landing / f"{source}{ext}" for ext in EXTENSIONS if (landing / f"{source}{ext}").is_file()]
        folder = landing / source
        if folder.is_dir():
            found += [p for p in folder.rglob("*") if p.is_file() and p.suffix.lower() in EXTENSIONS]
    return sorted(((p.relative_to(landing).as_posix(), p) for p in found), key=lambda rp: rp[0])


def _stat_key(st: os.stat_result) -> list[int]:
    return [st.st_size, st.st_mtime_ns, st.st_ino, st.st_ctime_ns]


# --------------------------------------------------------------------------------------------------
# The private cache folder


def cache_dir(warehouse: Path, *, create: bool = False) -> Path:
    path = Path(warehouse) / CACHE
    if create:
        from lianjian.files import private_mkdir

        private_mkdir(path)
    return path


def _read_json(path: Path) -> dict:
    return read_json(path) or {}


def _write_json(path: Path, data: dict) -> None:
    write_json_private(path, data, indent=None, sort_keys=True)


class StatCache:
    """``<warehouse>/.cache/landing_files.json``: relative path -> [size, mtime_ns, inode, ctime_ns,
    sha256] of a landing file as it was when hashed."""

    VERSION = 1

    def __init__(self, warehouse: Path):
        self.path = cache_dir(warehouse) / STAT_CACHE
        self.warehouse = Path(warehouse)
        raw = _read_json(self.path)
        files = raw.get("files") if raw.get("version") == self.VERSION else None
        self.files: dict[str, list] = dict(files) if isinstance(files, dict) else {}
        self.changed = False

    def known(self, rel: str, st: os.stat_result) -> str | None:
        """The recorded SHA-256 of ``rel`` when its stat is the recorded one, else None."""
        entry = self.files.get(rel)
        if isinstance(entry, list) and len(entry) == 5 and entry[:4] == _stat_key(st):
            return str(entry[4])
        return None

    def remember(self, rel: str, st: os.stat_result, sha256: str) -> None:
        entry = [*_stat_key(st), sha256]
        if self.files.get(rel) != entry:
            self.files[rel] = entry
            self.changed = True

    def hash(self, rel: str, path: Path) -> str:
        """The file's SHA-256, read again (and recorded) unless its stat is the recorded one. The stat
        is taken before and after reading: a file changing while read is not recorded."""
        before = path.stat()
        sha = self.known(rel, before)
        if sha is None:
            sha = sha256_file(path)
            if _stat_key(path.stat()) == _stat_key(before):
                self.remember(rel, before, sha)
        return sha

    def save(self, keep: set[str] | None = None) -> None:
        """Write the cache when it changed; ``keep``: forget the other paths (files gone)."""
        if keep is not None:
            gone = set(self.files) - keep
            for rel in gone:
                del self.files[rel]
            self.changed = self.changed or bool(gone)
        if self.changed:
            cache_dir(self.warehouse, create=True)
            _write_json(self.path, {"version": self.VERSION, "files": dict(sorted(self.files.items()))})
            self.changed = False


def staged_stamp(warehouse: Path) -> list[list]:
    """(relative path, size, mtime_ns, inode) of every file under ``<warehouse>/staged``: a later
    staging (a run that failed after it, on other landing files) changes it, and then the warehouse's
    staged tables — which the reports and the on-demand commands read — are no longer the published
    version's, so the version does not count as current until a run finishes again."""
    root = Path(warehouse) / "staged"
    out = []
    for dirpath, _, names in os.walk(root):
        for name in names:
            p = Path(dirpath, name)
            try:
                st = p.stat()
            except OSError:
                continue
            out.append([p.relative_to(root).as_posix(), st.st_size, st.st_mtime_ns, st.st_ino])
    return sorted(out)


# --------------------------------------------------------------------------------------------------
# The live version


@dataclass(frozen=True)
class CurrentVersion:
    """The live published version, found current."""

    version: str
    run_id: str
    time: str  # the manifest's ISO time

    def published_at(self) -> str:
        try:
            return dt.datetime.fromisoformat(self.time).astimezone(ZoneInfo(TIMEZONE)).strftime("%Y-%m-%d %H:%M:%S") + "（北京时间）"
        except ValueError:
            return self.time or "时间不详"

    def message(self) -> str:
        """One line for staff (the CLI) and for the schedule's and sensor's skip reason."""
        return (
            f"已发布版本为最新：run {self.run_id[:8]}，发布于 {self.published_at()}"
            " — 落地文件、规则文件和程序版本均未改变，未重新计算（如需重算：lianjian run --force）"
            " (the published version is current)"
        )


def live_manifest(warehouse: Path) -> dict | None:
    """The manifest of the version ``.current`` points to, read from that version's folder (a switch
    while reading cannot mix two versions); None when nothing is published or it is unreadable."""
    link = Path(warehouse) / ".current"
    try:
        target = link.resolve(strict=True)
    except (OSError, RuntimeError):
        return None
    manifest = _read_json(target / "published" / "_manifest.json")
    if not manifest or manifest.get("version") != target.name:
        return None
    return manifest


def is_current(landing: Path, warehouse: Path, rules_path: Path) -> CurrentVersion | None:
    """The live version when it is current for these landing files, this rules file and this code
    (see the module docstring), else None. Call with the warehouse lock held (``check_current``).
    Cheap tests first; a landing file is hashed only when its stat changed, and the first file found
    different ends the check."""
    landing, warehouse = Path(landing), Path(warehouse)
    manifest = live_manifest(warehouse)
    if manifest is None:
        return None
    finished = _read_json(cache_dir(warehouse) / FINISHED)
    if not (
        finished.get("version") == manifest["version"]
        and finished.get("run_id") == manifest.get("run_id")
        and finished.get("all_years")
        and finished.get("staged") == staged_stamp(warehouse)
    ):
        return None
    try:
        if finished.get("run_month") != run_month():
            return None
    except FatalError:  # a LIANJIAN_RUN_DATE that is not a date: the run says so
        return None
    try:
        if sha256_file(Path(rules_path)) != manifest.get("rules_sha256"):
            return None
    except OSError:
        return None
    if code_version() != manifest.get("code_version"):
        return None
    expected = {str(i.get("file")): str(i.get("sha256")) for i in manifest.get("inputs") or []}
    if not landing.is_dir():
        return None
    files = landing_files(landing)
    if [rel for rel, _ in files] != sorted(expected):
        return None
    cache = StatCache(warehouse)
    try:
        stats = [(rel, p, p.stat()) for rel, p in files]
        # files whose stat is the recorded one first: no reading at all to find a difference there
        for rel, _, st in stats:
            sha = cache.known(rel, st)
            if sha is not None and sha != expected[rel]:
                return None
        for rel, p, st in stats:
            if cache.known(rel, st) is None and cache.hash(rel, p) != expected[rel]:
                return None
    except OSError:
        return None
    finally:
        try:
            cache.save(keep={rel for rel, _ in files})
        except OSError:
            pass
    return CurrentVersion(version=str(manifest["version"]), run_id=str(manifest.get("run_id") or ""), time=str(manifest.get("time") or ""))


def check_current(landing: Path, warehouse: Path, rules_path: Path) -> CurrentVersion | None:
    """``is_current`` under the warehouse lock, taken briefly without waiting: None when another run
    holds the warehouse (it may be publishing), when nothing is published, or when anything cannot be
    read — the caller then runs as usual. Re-entrant in a process that already holds the lock."""
    from lianjian.lock import warehouse_lock

    warehouse = Path(warehouse)
    if not (warehouse / ".current").is_symlink():
        return None  # nothing published: no lock file made in a warehouse that may not exist yet
    try:
        with warehouse_lock(warehouse, landing=landing, run_id="current-check", wait=False):
            return is_current(landing, warehouse, rules_path)
    except (FatalError, OSError):  # WarehouseBusy is a FatalError
        return None


# --------------------------------------------------------------------------------------------------
# When a pipeline run finishes


def record_finished(
    warehouse: Path,
    landing: Path,
    *,
    run_id: str,
    reading_started: float | None,
    all_years: bool,
) -> bool:
    """Record that the pipeline run whose publishing Dagster run is ``run_id`` finished, its yearly
    reports written (called by the reports step, holding the warehouse lock). Only when the live
    version is the one this run published; returns whether it recorded.

    Also fills the stat cache from the manifest's digests for each landing file whose ctime is
    before ``reading_started`` (epoch seconds: when the run's reading of the landing zone began),
    less a margin: such a file has not changed since it was read, so the digest is its bytes'. The
    month of the run date is recorded when it was the same at both ends of the run (a run across a
    month's end is never current: which month its R9 counts took is not known here)."""
    warehouse, landing = Path(warehouse), Path(landing)
    manifest = live_manifest(warehouse)
    if manifest is None or manifest.get("run_id") != run_id:
        return False
    cache_dir(warehouse, create=True)
    month = run_month()
    if reading_started is None or run_month(dt.datetime.fromtimestamp(reading_started, dt.timezone.utc)) != month:
        month = None
    if reading_started is not None:
        cache = StatCache(warehouse)
        limit = int(reading_started * 1e9) - CTIME_MARGIN_NS
        for entry in manifest.get("inputs") or []:
            rel, sha = str(entry.get("file")), entry.get("sha256")
            try:
                st = (landing / rel).stat()
            except OSError:
                continue
            if sha and st.st_ctime_ns < limit and st.st_mtime_ns < limit:
                cache.remember(rel, st, str(sha))
        cache.save()
    _write_json(
        cache_dir(warehouse) / FINISHED,
        {
            "version": manifest["version"],
            "run_id": run_id,
            "all_years": bool(all_years),
            "run_month": month,
            "staged": staged_stamp(warehouse),
            "recorded": dt.datetime.now(ZoneInfo(TIMEZONE)).isoformat(timespec="seconds"),
        },
    )
    return True
