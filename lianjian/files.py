"""How the pipeline writes to the warehouse: file modes, and the run's own temporary folder.

Everything outside ``published/`` may hold names, and the landing layer holds masked identity
numbers and every text as read, so it is private to the account that runs the pipeline: folders
0700, files 0600 — the layers, the temporary folder, ``restricted/`` and the restricted part of each
version (lianjian/publish/layout.py). ``published/`` (the published part of each version under
``.versions/``) is for BI tools: folders 0755, files 0644, and so are the warehouse folder itself
and ``lianjian.duckdb``, which BI and SQL tools pass through. Modes are set explicitly where each file or folder is written, whatever the umask of the
process (``lianjian run``, ``dagster dev``, the Dagster daemon behave the same). docs/operations.md
lists which layer holds what.

Temporary files of a run (decoded copies of landing files, per-file and per-chunk parts) live in
``<warehouse>/.tmp/<label>-<pid>-<random>/`` (0700), removed when the step ends. Each such folder is
owned through an exclusive ``flock`` on its ``.lock`` file beside it; the kernel releases the lock
when the process dies (even by SIGKILL), so the next step that makes a temporary folder removes
every folder whose lock it can take: the leftovers of killed runs.
"""

from __future__ import annotations

import fcntl
import os
import shutil
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO

PRIVATE_DIR = 0o700
PRIVATE_FILE = 0o600
PUBLIC_DIR = 0o755
PUBLIC_FILE = 0o644

#: The warehouse's temporary folder.
TMP = ".tmp"
#: A lock file still named ``.<name>.lock.new`` belongs to a process that died (or is about to
#: rename it): removed once it is this old and nobody holds it.
_NEW_LOCK_GRACE_S = 60


def warehouse_root(root: Path) -> Path:
    """The warehouse folder, made (0755: BI tools must reach ``published/`` through it) if absent."""
    root = Path(root)
    if not root.is_dir():
        root.mkdir(parents=True, exist_ok=True)
        os.chmod(root, PUBLIC_DIR)
    return root


def private_mkdir(path: Path) -> Path:
    """``path`` as a folder only its owner can open (0700), and any missing parent made the same way
    (existing parents are left as they are). Call with a folder INSIDE the warehouse."""
    path = Path(path)
    missing = []
    p = path
    while not p.exists():
        missing.append(p)
        p = p.parent
    for d in reversed(missing):
        try:
            d.mkdir(mode=PRIVATE_DIR)
        except FileExistsError:
            pass
    os.chmod(path, PRIVATE_DIR)
    return path


def private_dirs(root: Path, *parts: str) -> Path:
    """``root/part/…`` with every part a private folder (0700); ``root`` (the warehouse) public."""
    path = warehouse_root(root)
    for part in parts:
        path = private_mkdir(path / part)
    return path


def make_private(path: Path) -> Path:
    os.chmod(path, PRIVATE_FILE)
    return Path(path)


def make_public(path: Path) -> Path:
    os.chmod(path, PUBLIC_DIR if Path(path).is_dir() else PUBLIC_FILE)
    return Path(path)


def private_tree(root: Path) -> Path:
    """Every folder under ``root`` (itself included) 0700 and every file 0600; links left alone."""
    root = Path(root)
    for p in [root, *root.rglob("*")]:
        if not p.is_symlink():
            os.chmod(p, PRIVATE_DIR if p.is_dir() else PRIVATE_FILE)
    return root


def public_tree(root: Path) -> Path:
    """Every folder under ``root`` (itself included) 0755 and every file 0644: what BI tools read."""
    root = Path(root)
    for p in [root, *root.rglob("*")]:
        if not p.is_symlink():
            make_public(p)
    return root


def fsync_file(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def fsync_dir(path: Path) -> None:
    """Make a folder's entries (a rename, a new file) durable."""
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


@contextmanager
def create_private(path: Path) -> Iterator[BinaryIO]:
    """Open ``path`` for writing (binary, truncated) as a 0600 file from its first byte."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, PRIVATE_FILE)
    os.fchmod(fd, PRIVATE_FILE)
    with os.fdopen(fd, "wb") as f:
        yield f


def put_private(path: Path | str, data: bytes) -> None:
    """``data`` in ``path``, a 0600 file from its first byte (an existing file truncated and made 0600,
    as ``create_private`` does): the file descriptor written directly, without a buffered file object
    around it — whose making asks the kernel about the file twice more (its block size, whether it is
    a terminal), which counts for the tens of thousands of report files a run writes. A short write
    goes on from where it stopped; a failed one (disk full) raises ``OSError``."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, PRIVATE_FILE)
    try:
        os.fchmod(fd, PRIVATE_FILE)
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view) :]
    finally:
        os.close(fd)


def write_private(path: Path, data: bytes) -> Path:
    """``put_private``, returning the path."""
    put_private(path, data)
    return Path(path)


def write_json_private(path: Path, data: object, *, indent: int | None = 1, sort_keys: bool = False) -> None:
    """``data`` as JSON at ``path``, 0600, through a temporary file and a rename: a reader sees the old
    file or the new one, never half of one."""
    import json

    path = Path(path)
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}-{uuid.uuid4().hex[:8]}")
    write_private(tmp, json.dumps(data, ensure_ascii=False, indent=indent, sort_keys=sort_keys).encode("utf-8"))
    os.replace(tmp, path)


def read_json(path: Path) -> dict | None:
    """The JSON object in ``path``, or None when it is absent, unreadable or not an object."""
    import json

    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def sha256_file(path: Path) -> str:
    """SHA-256 of a file's bytes, read in 1 MiB pieces (memory does not grow with the file)."""
    import hashlib

    h = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(1 << 20):
            h.update(block)
    return h.hexdigest()


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def remove_stale_siblings(path: Path) -> None:
    """Remove ``.<name>.tmp-<pid>`` files beside ``path`` left by dead processes (atomic writes that
    a kill interrupted)."""
    for p in Path(path).parent.glob(f".{Path(path).name}.tmp-*"):
        pid = p.name.rsplit("-", 1)[-1]
        if pid.isdigit() and not pid_alive(int(pid)):
            p.unlink(missing_ok=True)


def _try_lock(path: Path) -> int | None:
    """An open descriptor holding an exclusive lock on ``path``, or None when someone holds it."""
    try:
        fd = os.open(path, os.O_RDWR)
    except FileNotFoundError:
        return None
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        os.close(fd)
        return None
    return fd


def sweep_stale(base: Path) -> list[str]:
    """Remove the temporary folders under ``base`` whose owner is gone (its lock can be taken), and
    folders without a lock file. Returns the names removed."""
    removed = []
    base = Path(base)
    if not base.is_dir():
        return removed
    entries = {p.name: p for p in base.iterdir()}
    for name, p in entries.items():
        if name.endswith(".lock") and not name.startswith("."):
            fd = _try_lock(p)
            if fd is None:
                continue
            try:
                shutil.rmtree(base / name[: -len(".lock")], ignore_errors=True)
                p.unlink(missing_ok=True)
                removed.append(name[: -len(".lock")])
            finally:
                os.close(fd)
        elif name.startswith(".") and name.endswith(".lock.new"):
            try:
                old = time.time() - p.stat().st_mtime > _NEW_LOCK_GRACE_S
            except FileNotFoundError:
                continue
            fd = _try_lock(p) if old else None
            if fd is not None:
                p.unlink(missing_ok=True)
                os.close(fd)
        elif p.is_dir() and f"{name}.lock" not in entries and not (base / f"{name}.lock").exists():
            # created after its lock file, so a folder without one lost its owner
            shutil.rmtree(p, ignore_errors=True)
            removed.append(name)
    return removed


@contextmanager
def run_tmpdir(warehouse: Path, label: str) -> Iterator[Path]:
    """A private temporary folder under ``<warehouse>/.tmp/`` for one step, removed at the end; the
    leftovers of killed steps are removed first (see the module docstring)."""
    base = private_dirs(warehouse, TMP)
    sweep_stale(base)
    name = f"{label}-{os.getpid()}-{uuid.uuid4().hex[:12]}"
    new = base / f".{name}.lock.new"
    fd = os.open(new, os.O_RDWR | os.O_CREAT | os.O_EXCL, PRIVATE_FILE)
    fcntl.flock(fd, fcntl.LOCK_EX)
    lock = base / f"{name}.lock"
    os.rename(new, lock)  # locked before a sweeper can see it
    folder = private_mkdir(base / name)
    try:
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)
        lock.unlink(missing_ok=True)
        os.close(fd)


def yaml_safe_loader():
    """PyYAML's safe loader for every YAML file lianjian reads (the contract, the rules file): libyaml's
    when PyYAML has it — ≈ 10× faster than the pure-Python one, with the same data
    (tests/test_fixed_cost.py, tests/test_rules_yaml.py) — else the pure-Python one."""
    import yaml

    return getattr(yaml, "CSafeLoader", yaml.SafeLoader)
