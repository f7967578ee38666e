"""Reading the restricted outputs (docs/contract.md "What it publishes") and the access log of
everything that shows them.

The restricted outputs (R10 review leads) are published with each run under ``restricted/``, files
0600 in 0700 folders (``lianjian.publish.layout``); only the account that runs the pipeline reads
them, through ``lianjian leads``. Every such look — and every personal dossier (``lianjian dossier``)
— is appended to ``restricted/access.log``: one JSON line with the time (Asia/Shanghai), the OS user,
the command, the unit or person and the year(s). The log never holds what was shown.
"""

from __future__ import annotations

import datetime as dt
import getpass
import json
import os
from pathlib import Path
from zoneinfo import ZoneInfo

import polars as pl

from lianjian.contract import RESTRICTED
from lianjian.errors import FatalError
from lianjian.files import PRIVATE_FILE, private_mkdir
from lianjian.publish import layout

TIMEZONE = "Asia/Shanghai"


def restricted_files(warehouse: Path, table: str) -> list[Path]:
    root = layout.restricted_dir(warehouse) / table
    return sorted(root.rglob("*.parquet")) if root.is_dir() else []


def read_restricted(warehouse: Path, table: str) -> pl.LazyFrame:
    """A restricted output as a LazyFrame with its contract schema (empty when absent)."""
    from lianjian.publish.publish import scan_table_folder

    spec = RESTRICTED[table]
    try:
        # the hive convention of the published tables: ``year`` in the folder names only
        return scan_table_folder(layout.restricted_dir(warehouse) / table, table).select(
            [pl.col(c).cast(t) for c, t in spec.schema().items()]
        )
    except OSError as err:
        raise FatalError(
            f"受限输出 {layout.restricted_dir(warehouse) / table}: 无法读取（{err.strerror}）— 请用运行流水线的账户执行此命令"
        ) from None


def os_user() -> str:
    """The OS account running this command (the login name, else the numeric uid)."""
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return str(os.getuid())


def log_access(warehouse: Path, command: str, **what: object) -> dict:
    """Append one line to ``restricted/access.log`` (0600, in the 0700 ``restricted/`` folder):
    time in Asia/Shanghai, OS user, command and ``what`` (unit, person, year …). Written before the
    data is shown, so a look that fails half-way is logged as well. Returns the entry."""
    folder = private_mkdir(layout.restricted_dir(warehouse))
    entry = {
        "time": dt.datetime.now(ZoneInfo(TIMEZONE)).isoformat(timespec="seconds"),
        "user": os_user(),
        "command": command,
        **{k: v for k, v in what.items()},
    }
    line = (json.dumps(entry, ensure_ascii=False, sort_keys=False) + "\n").encode("utf-8")
    path = folder / layout.ACCESS_LOG
    try:
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, PRIVATE_FILE)
    except OSError as err:
        raise FatalError(f"访问日志 {path}: 无法写入（{err.strerror}）— 请用运行流水线的账户执行此命令") from None
    try:
        os.fchmod(fd, PRIVATE_FILE)
        os.write(fd, line)  # one write of one line: appends from several processes never interleave
        os.fsync(fd)
    finally:
        os.close(fd)
    return entry


def read_access_log(warehouse: Path) -> list[dict]:
    path = layout.restricted_dir(warehouse) / layout.ACCESS_LOG
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
