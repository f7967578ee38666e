"""``warehouse/lianjian.duckdb``: one file a SQL tool connects to (Superset, Metabase, DBeaver,
Tableau, the DuckDB shell). It holds no data, only a view per published table over the Parquet files
under ``published/`` (hive partitioning on, ``year`` a BIGINT), with the table and every column
commented in Chinese from the contract declaration (``COMMENT ON``, what ``_dictionary.json`` says:
Chinese name, meaning, and what an empty value means).

The views read through the ``published`` link, so they always show the version published now. The
file is rebuilt after each publish — written whole under a temporary name beside it, then renamed over
the old one (``rename(2)``), so a tool opening it gets either the old file or the new one. Only the
published tables (``PUBLISHED``) get a view: nothing restricted, nothing internal.

Mode 0644 on purpose: it holds only view definitions and comments (the paths of the published files),
no row of data; whoever can read ``published/`` can use it (docs/bi.md).

Written in DuckDB's v1.0.0 storage format (``STORAGE_COMPATIBILITY``), so the DuckDB drivers bundled
with BI tools open it from DuckDB 1.0 on, not only the version that wrote it.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

from lianjian.contract import PUBLISHED, Column, PublishedTable
from lianjian.errors import FatalError
from lianjian.files import fsync_dir, fsync_file, make_public, private_mkdir, write_private
from lianjian.publish.dictionary import TYPES

DATABASE = "lianjian.duckdb"

#: The oldest DuckDB storage format the file is written in (readable by DuckDB 1.0 and later).
STORAGE_COMPATIBILITY = "v1.0.0"

#: The folder the views read, relative to the warehouse (the switched link of lianjian.publish.publish).
PUBLISHED_FOLDER = "published"

#: In the warehouse's private cache folder: the digest of what the database was written from
#: (``write_bi_database``).
RECORD = Path(".cache", "bi_database.sha256")

#: Prefix of the file being written (removed by ``remove_stale``).
TMP_PREFIX = f".{DATABASE}.tmp-"


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def table_comment(t: PublishedTable) -> str:
    """``中文名：说明``."""
    return f"{t.zh}：{t.note}" if t.note else t.zh


def column_comment(c: Column) -> str:
    """``中文名：说明；为空表示：…`` (or ``；不会为空``) — the dictionary's words for the column."""
    text = c.zh + (f"：{c.note}" if c.note else "")
    if c.empty:
        return f"{text}；为空表示：{c.empty}"
    return f"{text}；不会为空"


def view_sql(warehouse: Path, table: str) -> str:
    """``CREATE VIEW`` of one published table: its columns in contract order and type, read with
    hive partitioning from the ``published`` link; a typed empty view when the table has no file."""
    t = PUBLISHED[table]
    folder = Path(warehouse).absolute() / PUBLISHED_FOLDER / table
    columns = ", ".join(f"CAST({_ident(c.name)} AS {TYPES[c.kind][2]}) AS {_ident(c.name)}" for c in t.columns)
    has_files = folder.is_dir() and any(folder.rglob("*.parquet"))
    if not has_files:
        nulls = ", ".join(f"CAST(NULL AS {TYPES[c.kind][2]}) AS {_ident(c.name)}" for c in t.columns)
        return f"CREATE VIEW {_ident(table)} AS SELECT {nulls} WHERE false"
    if t.yearly:
        source = (
            f"read_parquet({_literal(str(folder / '**' / '*.parquet'))}, hive_partitioning = true,"
            " hive_types = {'year': BIGINT})"
        )
    else:
        source = f"read_parquet({_literal(str(folder / '*.parquet'))}, hive_partitioning = false)"
    return f"CREATE VIEW {_ident(table)} AS SELECT {columns} FROM {source}"


def remove_stale(warehouse: Path) -> None:
    """Remove a database file left half-written by a killed publish (and its write-ahead log)."""
    for p in Path(warehouse).glob(f"{TMP_PREFIX}*"):
        p.unlink(missing_ok=True)


def statements(warehouse: Path) -> list[str]:
    """Every statement the database is made of: per published table its view and comments."""
    out = []
    for name, t in PUBLISHED.items():
        out.append(view_sql(warehouse, name))
        out.append(f"COMMENT ON VIEW {_ident(name)} IS {_literal(table_comment(t))}")
        out += [f"COMMENT ON COLUMN {_ident(name)}.{_ident(c.name)} IS {_literal(column_comment(c))}" for c in t.columns]
    return out


def _digest(sql: list[str]) -> str:
    """What the file written from ``sql`` depends on: the statements, the storage format, DuckDB's
    version."""
    from importlib.metadata import version

    text = "\n".join([f"duckdb {version('duckdb')}", STORAGE_COMPATIBILITY, *sql])
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _stamp(digest: str, target: Path) -> str:
    """The record of the database file ``target`` written from statements of digest ``digest``: the
    digest and the file's inode, size and modification time, so a file changed since (a SQL tool that
    opened it for writing and created something in it) is written again, as after every publish."""
    st = target.stat()
    return f"{digest} {st.st_ino} {st.st_size} {st.st_mtime_ns}"


def write_bi_database(warehouse: Path) -> Path:
    """(Re)write ``<warehouse>/lianjian.duckdb``: one commented view per published table. Call after
    the ``published`` link points at the new version (DuckDB checks a view's files when creating it).

    The views read through the ``published`` link, so a new version of the same tables needs no new
    file: when the file there is the one written from the same statements by the same DuckDB and not
    changed since (``RECORD``, written after the file and removed before it is replaced), it is kept,
    and DuckDB is not even imported (national: ≈ 0.7 s of each publish)."""
    warehouse = Path(warehouse).absolute()
    target = warehouse / DATABASE
    record = warehouse / RECORD
    sql = statements(warehouse)
    digest = _digest(sql)
    try:
        if record.read_text(encoding="ascii").strip() == _stamp(digest, target):
            return target
    except (OSError, UnicodeDecodeError):
        pass  # no database, no record, or an unreadable one: written again

    import duckdb

    tmp = warehouse / f"{TMP_PREFIX}{os.getpid()}"
    remove_stale(warehouse)
    try:
        con = duckdb.connect(str(tmp), config={"storage_compatibility_version": STORAGE_COMPATIBILITY})
        try:
            # one transaction: each statement on its own would be committed (and its log written) alone
            con.execute("BEGIN TRANSACTION")
            for statement in sql:
                con.execute(statement)
            con.execute("COMMIT")
            con.execute("CHECKPOINT")
        finally:
            con.close()
        make_public(tmp)  # SQL tools open it from other accounts
        fsync_file(tmp)
        record.unlink(missing_ok=True)  # no record names a file being replaced
        os.replace(tmp, target)
        fsync_dir(warehouse)
        private_mkdir(record.parent)
        record_tmp = record.with_name(f".{record.name}.tmp-{os.getpid()}")
        write_private(record_tmp, f"{_stamp(digest, target)}\n".encode("ascii"))
        os.replace(record_tmp, record)
    except (OSError, duckdb.Error) as err:
        remove_stale(warehouse)
        raise FatalError(
            f"BI 数据库 {target}: 无法写入（{type(err).__name__}）— 发布数据已更新；请检查仓库目录的空间与权限后重新运行 lianjian run"
        ) from None
    return target
