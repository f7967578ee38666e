"""Where published versions live, and the one atomic switch that makes a version current for both
``published/`` (what BI tools read) and ``restricted/`` (docs/contract.md "What it publishes":
restricted outputs such as the R10 review leads, readable only by the account that runs the
pipeline).

Layout under the warehouse::

    .versions/v<UTC time>-<run id>/published/<table>/…        BI tables, _manifest.json, _dictionary.json
    .versions/v…/restricted/<table>/year=<YYYY>/part-0.parquet restricted tables (folders 0700, files 0600)
    .versions/v…/restricted/_manifest.json, _dictionary.json
    .versions/v…/_checks.json                                  what the checks found in each file (0600)
    .versions/.tmp-<run id>/                                   a version being written (never read)
    .versions/.lock                                            held while publishing
    .current -> .versions/v…                                   THE switch: one rename(2) of a symbolic link
    published -> .current/published                            static link (never changes)
    restricted/                                                a real folder, 0700, kept across versions
    restricted/<entry> -> ../.current/restricted/<entry>       static links (review_leads, _manifest.json, …)
    restricted/access.log                                      who looked at leads and dossiers (0600)

A version is written whole into ``.tmp-<run id>``, renamed to its version name, and only then does
``.current`` switch to it — so ``published/<table>`` and ``restricted/review_leads`` change together,
in one step. A run killed at any point leaves the previous version whole (at worst a ``.tmp-*``
folder, removed by the next publish's :func:`recover`). The previous version is kept until the next
publish, so a query that started on it still finds its files.

``restricted/`` is a real folder, not a link, because what it holds besides the tables must outlive
versions: the access log, and the dossiers written on demand (``lianjian dossier``).

Older layouts are migrated by the first publish (:func:`recover`): a plain ``published/`` folder
becomes a version; a ``published -> .published/v…`` link (the layout before restricted outputs) keeps
serving its version until the new version's switch replaces it with the static link, and the old
``.published/`` folder is removed once two new versions exist.
"""

from __future__ import annotations

import fcntl
import os
import shutil
from contextlib import contextmanager
from pathlib import Path

from lianjian.files import PRIVATE_FILE, fsync_dir, make_public, private_mkdir
from lianjian.publish.bi_database import remove_stale as remove_stale_database

LINK = "published"
RESTRICTED = "restricted"
VERSIONS = ".versions"
CURRENT = ".current"
LEGACY_VERSIONS = ".published"  # the layout before restricted outputs: published -> .published/v…
ACCESS_LOG = "access.log"


def versions_dir(warehouse: Path) -> Path:
    return Path(warehouse) / VERSIONS


def restricted_dir(warehouse: Path) -> Path:
    return Path(warehouse) / RESTRICTED


def current_version(warehouse: Path) -> Path | None:
    """The version folder ``.current`` points to (None when there is none)."""
    link = Path(warehouse) / CURRENT
    if link.is_symlink():
        target = link.resolve()
        return target if target.is_dir() else None
    return None


@contextmanager
def publish_lock(warehouse: Path):
    """One publisher at a time per warehouse (released by the kernel if the process dies)."""
    vd = versions_dir(warehouse)
    vd.mkdir(parents=True, exist_ok=True)
    make_public(vd)  # BI tools reach the published part of each version through it
    fd = os.open(vd / ".lock", os.O_RDWR | os.O_CREAT, PRIVATE_FILE)
    os.fchmod(fd, PRIVATE_FILE)
    with os.fdopen(fd, "a+") as f:
        fcntl.flock(f.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(f.fileno(), fcntl.LOCK_UN)


def complete_versions(warehouse: Path) -> list[Path]:
    vd = versions_dir(warehouse)
    if not vd.is_dir():
        return []
    return sorted(p for p in vd.iterdir() if p.is_dir() and p.name.startswith("v"))


def _replace_link(link: Path, target: Path | str) -> None:
    """Atomically make ``link`` a symbolic link to ``target`` (relative), replacing what was there."""
    tmp = link.with_name(f".{link.name}-link-{os.getpid()}")
    if tmp.is_symlink() or tmp.exists():
        tmp.unlink()
    os.symlink(target, tmp)
    os.replace(tmp, link)


def switch(warehouse: Path, version: Path) -> None:
    """Make ``version`` current: one rename of the ``.current`` link (the atomic step), then the
    static links (already in place after the first publish)."""
    warehouse = Path(warehouse)
    _replace_link(warehouse / CURRENT, Path(VERSIONS, version.name))
    fsync_dir(warehouse)
    ensure_links(warehouse)


def ensure_links(warehouse: Path) -> None:
    """The static links: ``published -> .current/published`` and, in the 0700 ``restricted/`` folder,
    one link per entry of the current version's restricted folder (dangling ones removed). Each is
    replaced only when it is not already right, by an atomic rename."""
    warehouse = Path(warehouse)
    want = Path(CURRENT, LINK)
    link = warehouse / LINK
    if not (link.is_symlink() and Path(os.readlink(link)) == want):
        _replace_link(link, want)
        fsync_dir(warehouse)
    rdir = private_mkdir(restricted_dir(warehouse))
    current = warehouse / CURRENT / RESTRICTED
    names = {p.name for p in current.iterdir()} if current.is_dir() else set()
    for name in sorted(names):
        entry, target = rdir / name, Path("..", CURRENT, RESTRICTED, name)
        if not (entry.is_symlink() and Path(os.readlink(entry)) == target):
            if entry.exists() and not entry.is_symlink():
                continue  # never replace a real file or folder of the operator's
            _replace_link(entry, target)
    for entry in rdir.iterdir():
        if entry.is_symlink() and os.readlink(entry).startswith(os.path.join("..", CURRENT, "")) and entry.name not in names:
            entry.unlink()
    fsync_dir(rdir)


def recover(warehouse: Path) -> None:
    """Bring a warehouse left by an interrupted publish, or an older layout, to a clean state (call
    under the lock): remove unfinished ``.tmp-*`` versions, stray link files and a half-written ``lianjian.duckdb``; turn a plain
    ``published`` folder into a version; re-point a missing or dangling ``.current`` at the newest
    complete version and put the static links in place. A ``published`` link into the older
    ``.published/`` versions is left serving until a new version exists. Never touches a complete
    version that is current."""
    warehouse = Path(warehouse)
    vd = versions_dir(warehouse)
    if vd.is_dir():
        for p in vd.iterdir():
            if p.name.startswith(".tmp-"):
                shutil.rmtree(p, ignore_errors=True)
    for folder in (warehouse, restricted_dir(warehouse)):
        if folder.is_dir():
            for p in folder.glob(".*-link-*"):
                p.unlink(missing_ok=True)
    remove_stale_database(warehouse)  # a half-written lianjian.duckdb of a killed publish
    link = warehouse / LINK
    if link.is_dir() and not link.is_symlink():  # the oldest layout: a plain folder
        legacy = vd / "v00000000T000000000000-legacy"
        shutil.rmtree(legacy, ignore_errors=True)
        legacy.mkdir(parents=True)
        os.rename(link, legacy / LINK)
        fsync_dir(warehouse)
        if current_version(warehouse) is None:
            switch(warehouse, legacy)
    if current_version(warehouse) is None:
        versions = complete_versions(warehouse)
        if versions:
            switch(warehouse, versions[-1])
    if current_version(warehouse) is not None:
        ensure_links(warehouse)


def collect_garbage(warehouse: Path, keep: int = 2) -> None:
    """Delete complete versions older than the ``keep`` newest, never the current one; the older
    layout's ``.published/`` once ``keep`` new versions exist (nothing points into it any more)."""
    warehouse = Path(warehouse)
    current = current_version(warehouse)
    versions = complete_versions(warehouse)
    for p in versions[:-keep]:
        if current is None or p.resolve() != current:
            shutil.rmtree(p, ignore_errors=True)
    legacy = warehouse / LEGACY_VERSIONS
    link = warehouse / LINK
    points_into_legacy = link.is_symlink() and os.readlink(link).startswith(LEGACY_VERSIONS)
    if legacy.is_dir() and len(versions) >= keep and not points_into_legacy:
        shutil.rmtree(legacy, ignore_errors=True)
