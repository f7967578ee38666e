"""The run history's event storage for an instance that keeps it in SQLite files (the project's
``dagster.yaml``, ``pipelines/instance.py``): Dagster's ``SqliteEventLogStorage`` — one file per run
and an index file under ``<DAGSTER_HOME>/history/runs``, the same files, tables and rows — with one
connection kept per file in every process that uses it (the daemon, the webserver, a run's worker,
`lianjian run`) instead of a new SQLAlchemy engine and connection for every call.

Why: Dagster's class connects, sets its PRAGMAs and disposes of an engine for every stored event
(twice for an asset event: the run's file and the index) and for every ``has_table`` question; the
last connection's close then checkpoints the write-ahead log into the database and syncs it. The
daemon stores a run's ≈ 160 "planned" events this way when the schedule or a sensor creates the run,
before any of lianjian's code runs (docs/performance.md, "The daemon's path: ..."). What stays as
Dagster has it:

- each call is its own transaction under the storage's own lock (``_db_lock``, one call at a time per
  storage, as in Dagster's method), committed when the call ends and rolled back when it fails;
- between two calls a connection holds no transaction, no lock and no snapshot (WAL): the webserver,
  the daemon and other run workers read and write the same files meanwhile, as before — except that
  inside a run's session (``light_sqlite_commits``: the process executing the run) the events
  ``store_event`` writes are committed together, at most ``GROUP_SECONDS`` after the first of them
  (each call in a savepoint of its own, rolled back alone when it fails; a run's start and end, and
  anything stored before another call, committed at once): the run's ≈ 660 events in ≈ 60 commits
  instead of ≈ 1,000 (docs/performance.md, "A run's events committed together"), other processes
  waiting at most that long for the index's write lock;
- ``wipe``, ``upgrade`` and ``dispose`` close the connections first.

Storing an event costs less too, with the same files and rows (docs/performance.md, "The run
history's events for less"):

- a run's new file is a copy of a template — an empty event file made and stamped by Dagster's own
  ``_initdb``, once per Dagster version, in the event files' folder (``TEMPLATE_NAME``, made with the
  instance's index, checked once per process) — linked into place only where no file is yet; a file
  made by another process first is checked by ``_initdb`` as before;
- ``store_event`` writes Dagster's rows with each event serialized once, statements made once, the
  index's columns reflected once per process and a check event's two index rows in one transaction
  (``HeldSqliteEventLogStorage.store_event``); the rows are compared with Dagster's storage's for the
  same events in ``tests/test_held_event_storage.py``.

The commits of these connections do not wait for the disk (``synchronous=NORMAL`` in WAL mode, what
runs already did inside ``light_sqlite_commits``): SQLite keeps each file whole, but a power cut may
lose the last events of the history — never a published file, its manifest or the record of the
nightly run (lianjian/fingerprint.py), which do not live there.

A process keeps at most ``HELD_RUN_FILES`` runs' files open besides the index (the least recently used
closed first), so a daemon or a webserver that runs for months holds a handful of files, not one per run.

Dagster's private names used here (re-check them on a Dagster upgrade; docs/operations.md):
``SqliteEventLogStorage._connect``, ``_initdb``, ``_initialized_dbs``, ``_db_lock``, ``_base_dir``,
``path_for_shard``, ``store_event`` (re-implemented: compare with Dagster's), ``_event_to_row``,
``_store_asset_event_tags``, ``_get_asset_entry_values``, ``_has_asset_key_col_on_connection``,
``_has_asset_key_index_cols_on_connection``, ``_event_insert_timestamp``, the tables of
``dagster._core.storage.event_log.schema``, serdes' JSON form of ``EventLogRecord`` and
``dagster._core.storage.sqlite.SQLITE_BUSY_TIMEOUT_SECONDS``.
"""

from __future__ import annotations

import os
import sqlite3
import sys
import threading
import time
import uuid
import weakref
from collections import OrderedDict
from collections.abc import Iterator
from contextlib import contextmanager

import dagster
import sqlalchemy as sa
from dagster import Field, StringSource
from dagster._core.errors import DagsterInvariantViolationError
from dagster._core.event_api import EventLogRecord
from dagster._core.events import ASSET_CHECK_EVENTS, ASSET_EVENTS, EVENT_TYPE_TO_PIPELINE_RUN_STATUS, DagsterEventType
from dagster._core.storage.asset_check_execution_record import AssetCheckExecutionRecordStatus
from dagster._core.storage.event_log.schema import AssetCheckExecutionsTable, AssetKeyTable, SqlEventLogStorageTable
from dagster._core.storage.event_log.sqlite.sqlite_event_log import INDEX_SHARD_NAME, SqliteEventLogStorage
from dagster._serdes import serialize_value
from dagster._time import datetime_from_timestamp
from dagster._core.storage.sql import create_engine
from dagster._core.storage.sqlite import SQLITE_BUSY_TIMEOUT_SECONDS
from sqlalchemy.pool import NullPool

#: Runs' files a process keeps a connection to besides the index. A run's events go to its own file,
#: written by one run worker (and, when the run is created, by the daemon); the UI reads a few runs at
#: a time. Four covers a pipeline run's two runs and the UI's pages without holding a file per run.
HELD_RUN_FILES = 4

#: Inside a run's session, the longest an event stored by ``store_event`` waits for its commit: the
#: events stored meanwhile are committed together (a run's ≈ 660 events in ≈ 60 commits instead of
#: ≈ 1,000), and no other process waits longer than this for the index's write lock. 0.1 s is about
#: a burst of a step's events (its start and inputs, or its outputs, materializations and checks) on
#: a small zone, well under what the UI's live view of a run notices, and what a run's process killed
#: outright (``kill -9``) may lose of its history.
GROUP_SECONDS = 0.1

#: The folder of the event files inside the instance folder: where Dagster's default storage keeps them.
HISTORY_SUBDIR = os.path.join("history", "runs")

#: The file a run's event file is copied from, in the event files' folder: an empty run file made and
#: stamped by Dagster's own ``_initdb``, once per Dagster version (its tables and its Alembic revision
#: are the version's). Not ``*.db``: Dagster lists the runs' files (``get_all_run_ids``, ``wipe``) by it.
TEMPLATE_NAME = f".run-file-template-dagster-{dagster.__version__}.sqlite"

# The statements ``store_event`` executes, made once: each call passes its row's values as parameters
# (the same columns, values and types as Dagster's statements with the values written into them,
# compiled once by SQLAlchemy instead of built, keyed and looked up for every row).
_INSERT_EVENT = SqlEventLogStorageTable.insert()
#: the columns of an event's row (``SqlEventLogStorage._event_to_row``), in the order of ``_inserted_event``'s statement
EVENT_COLUMNS = ("run_id", "event", "dagster_event_type", "timestamp", "step_key", "asset_key", "partition")
_event_inserts: dict[str, tuple[str, tuple]] = {}


def _event_insert(dialect) -> tuple[str, tuple]:
    """``_INSERT_EVENT`` compiled once per dialect by SQLAlchemy: its SQL text with positional
    parameters in ``EVENT_COLUMNS``' order, and each column's bind processor (its type's conversion of
    a Python value into what the database stores: the timestamp's text; None where the driver takes
    the value as it is)."""
    known = _event_inserts.get(dialect.name)
    if known is None:
        compiled = _INSERT_EVENT.compile(dialect=dialect, column_keys=list(EVENT_COLUMNS))
        if dialect.paramstyle != "qmark" or tuple(compiled.positiontup or ()) != EVENT_COLUMNS:
            return "", ()
        processors = tuple(SqlEventLogStorageTable.c[name].type.dialect_impl(dialect).bind_processor(dialect) for name in EVENT_COLUMNS)
        known = _event_inserts[dialect.name] = (compiled.string, processors)
    return known


def _inserted_event(conn, row: dict) -> int | None:
    """``conn.execute(_INSERT_EVENT, row).inserted_primary_key[0]`` — the same statement, values and
    conversions — executed on the driver's connection: SQLAlchemy compiled it once (``_event_insert``)
    instead of setting up its execution for each of a run's ≈ 1,000 event rows."""
    sql, processors = _event_insert(conn.dialect)
    if not sql:
        return conn.execute(_INSERT_EVENT, row).inserted_primary_key[0]
    values = tuple(row[name] if process is None else process(row[name]) for name, process in zip(EVENT_COLUMNS, processors))
    return conn.connection.dbapi_connection.execute(sql, values).lastrowid
_INSERT_ASSET = AssetKeyTable.insert()
_UPDATE_ASSET = AssetKeyTable.update().where(AssetKeyTable.c.asset_key == sa.bindparam("_asset_key"))
_INSERT_CHECK = AssetCheckExecutionsTable.insert()
_CHECK_OF_RUN = sa.and_(
    AssetCheckExecutionsTable.c.asset_key == sa.bindparam("_asset_key"),
    AssetCheckExecutionsTable.c.check_name == sa.bindparam("_check_name"),
    AssetCheckExecutionsTable.c.run_id == sa.bindparam("_run_id"),
)
#: a run's check row, by whether the evaluation has a partition (Dagster's partition filter)
_UPDATE_CHECK = {
    False: AssetCheckExecutionsTable.update().where(_CHECK_OF_RUN, AssetCheckExecutionsTable.c.partition.is_(None)),
    True: AssetCheckExecutionsTable.update().where(_CHECK_OF_RUN, AssetCheckExecutionsTable.c.partition == sa.bindparam("_partition")),
}

_live: weakref.WeakSet = weakref.WeakSet()
_live_lock = threading.Lock()


class EventRowsWrittenOnce:
    """Mixed into an SQL event storage (before it): Dagster's rows for an asset event's asset and a
    check event's check execution written with the event's text serialized once, statements made
    once and the index's columns asked once (``_store_asset_row``, ``_store_check_row``), and
    ``store_event_once`` — ``SqlEventLogStorage.store_event`` for a storage whose runs and index are
    one database (the throw-away instance's in memory, ``pipelines/instance.py``), writing its rows
    in one transaction. The storage's ``__init__`` calls ``_rows_written_once``."""

    def _rows_written_once(self) -> None:
        self._asset_key_columns: set[str] = set()
        self._record_text_checked: bool | None = None

    def store_event_once(self, event) -> None:
        """Dagster's ``SqlEventLogStorage.store_event`` — the event's row, an asset event's tags and
        asset row, a check event's check execution row — in one transaction (Dagster: two or three,
        a failure between them leaving part of the rows; now none), with the event serialized once
        (Dagster serializes it again for the check execution's row and inside the asset's last
        materialization)."""
        row = self._event_to_row(event)
        with self.index_transaction() as conn:
            event_id, stored = self._index_rows(conn, event, row, keyed_only=True)
        if not stored:  # an evaluation outside a run: Dagster's own method
            self.store_asset_check_event(event, event_id)

    def _index_rows(self, conn, event, row: dict, *, keyed_only: bool) -> tuple[int | None, bool]:
        """In the index's transaction ``conn``: the event's row (``row``, the event serialized once),
        an asset event's tags and asset row, a check event's check execution row. ``keyed_only``: an
        asset event's rows only when it names its asset, as Dagster's ``SqlEventLogStorage`` has it
        (its SQLite storage does not ask). Returns the event's id, and False for a check evaluation
        outside a run, which the caller stores by Dagster's own method once the transaction is done."""
        text = row["event"]
        kind = event.dagster_event_type
        event_id = _inserted_event(conn, row)
        if kind in ASSET_EVENTS and (event.dagster_event.asset_key or not keyed_only):
            if event_id is None:
                raise DagsterInvariantViolationError("Cannot store asset event tags for null event id.")
            self._store_asset_event_tags(conn, [event], [event_id])
            self._store_asset_row(conn, event, event_id, text)
        if kind in ASSET_CHECK_EVENTS:
            if not self.supports_asset_checks:
                raise DagsterInvariantViolationError("Asset checks require a database schema migration. Run `dagster instance migrate`.")
            return event_id, self._store_check_row(conn, event, event_id, text)
        return event_id, True

    def _store_asset_row(self, conn, event, event_id: int, text: str) -> None:
        """Dagster's ``_store_asset_event``: the asset's row in ``asset_keys`` updated with the event's
        values, made if the asset has none. The event's index row was just inserted in the same
        transaction, so the index's write lock is held: no other writer can make the row between
        the update and the insert."""
        dagster_event = event.dagster_event
        if not (dagster_event and dagster_event.asset_key):
            return
        has_columns = self._has_asset_key_index_cols_on_connection(conn)
        if dagster_event.is_step_materialization:
            values = {"last_materialization": self._record_text(event, event_id, text), "last_run_id": event.run_id}
            if has_columns:
                values["last_materialization_timestamp"] = datetime_from_timestamp(event.timestamp)
        else:
            values = self._get_asset_entry_values(event, event_id, has_columns)
        if not values:
            return
        key = dagster_event.asset_key.to_string()
        if not conn.execute(_UPDATE_ASSET, {"_asset_key": key, **values}).rowcount:
            conn.execute(_INSERT_ASSET, {"asset_key": key, **values})

    def _record_text(self, event, event_id: int, text: str) -> str:
        """``serialize_value(EventLogRecord(storage_id=event_id, event_log_entry=event))`` — what Dagster
        keeps as an asset's last materialization — from the event's own text: serdes writes an object
        as JSON with sorted keys, ``__class__`` first. Compared once per storage with Dagster's own
        serialization; if they ever differ, Dagster's is used."""
        composed = f'{{"__class__": "EventLogRecord", "event_log_entry": {text}, "storage_id": {int(event_id)}}}'
        if self._record_text_checked is None:
            self._record_text_checked = composed == serialize_value(EventLogRecord(storage_id=event_id, event_log_entry=event))
        if self._record_text_checked:
            return composed
        return serialize_value(EventLogRecord(storage_id=event_id, event_log_entry=event))

    def _store_check_row(self, conn, event, event_id: int, text: str) -> bool:
        """Dagster's ``_store_asset_check_evaluation_planned`` and ``_update_asset_check_evaluation`` on
        ``conn``, with the event's text: a planned check's row per partition key, then the run's row
        updated with the evaluation (inserted if it had none). False for an evaluation outside a
        run, which is left to Dagster's method."""
        data = event.dagster_event.event_specific_data
        if event.dagster_event_type == DagsterEventType.ASSET_CHECK_EVALUATION_PLANNED:
            keys = data.partitions_subset.get_partition_keys() if data.partitions_subset else [None]
            common = {
                "asset_key": data.asset_key.to_string(),
                "check_name": data.check_name,
                "run_id": event.run_id,
                "execution_status": AssetCheckExecutionRecordStatus.PLANNED.value,
                "evaluation_event": text,
                "evaluation_event_timestamp": self._event_insert_timestamp(event),
                "evaluation_event_storage_id": event_id,
            }
            conn.execute(_INSERT_CHECK, [{**common, "partition": key} for key in keys])
            return True
        if not event.run_id:
            return False
        status = AssetCheckExecutionRecordStatus.SUCCEEDED if data.passed else AssetCheckExecutionRecordStatus.FAILED
        values = {
            "execution_status": status.value,
            "evaluation_event": text,
            "evaluation_event_timestamp": self._event_insert_timestamp(event),
            "evaluation_event_storage_id": event_id,
            "materialization_event_storage_id": data.target_materialization_data.storage_id if data.target_materialization_data else None,
            "partition": data.partition,
        }
        where = {"_asset_key": data.asset_key.to_string(), "_check_name": data.check_name, "_run_id": event.run_id}
        if data.partition is not None:
            where["_partition"] = data.partition
        updated = conn.execute(_UPDATE_CHECK[data.partition is not None], {**where, **values}).rowcount
        if updated == 0:  # no planned row (Dagster: step launchers' external instances)
            updated = conn.execute(
                _INSERT_CHECK, {"asset_key": where["_asset_key"], "check_name": data.check_name, "run_id": event.run_id, **values}
            ).rowcount
        if updated > 1:
            raise DagsterInvariantViolationError(
                f"Updated {updated} rows for asset check evaluation {data.asset_check_key} as a result of duplicate AssetCheckPlanned events."
            )
        return True

    def _has_asset_key_col_on_connection(self, conn, column_name: str) -> bool:
        """Whether the index's ``asset_keys`` table has the column, read from the file once per process
        once it has it (Dagster reflects the table for every asset event; a migration adds columns,
        none is dropped while the instance is in use)."""
        if column_name in self._asset_key_columns:
            return True
        present = super()._has_asset_key_col_on_connection(conn, column_name)
        if present:
            self._asset_key_columns.add(column_name)
        return present


class HeldSqliteEventLogStorage(EventRowsWrittenOnce, SqliteEventLogStorage):
    """``SqliteEventLogStorage`` over one connection per file (see the module's docstring).

    Configured in ``dagster.yaml`` (``event_log_storage``, ``module: pipelines.event_log``). Without a
    ``base_dir`` the files are in the instance folder's ``history/runs`` — where Dagster's default
    SQLite storage keeps them — so a moved or copied instance folder uses its own files."""

    def __init__(self, base_dir: str | None = None, inst_data=None):
        self._held: OrderedDict[str, tuple[object, object]] = OrderedDict()
        self._tables: set[str] = set()
        self._rows_written_once()
        self._inst_data = inst_data
        # inside a run's session: the shards whose connection holds a group of stored events not yet
        # committed, with when the group began (``_connect``, ``_commit_groups``)
        self._groups: dict[str, float] = {}
        self._storing = threading.local()
        self._committer: threading.Thread | None = None
        self._committer_wake = threading.Condition(threading.Lock())
        self._failed_commit: Exception | None = None
        if base_dir is not None:
            super().__init__(base_dir, inst_data=inst_data)
            self._registered()
        else:  # the instance folder is known once the instance registers (``register_instance``)
            self._base_dir = None

    def _registered(self) -> None:
        released_with_sessions(self)
        _template(self)  # made with the instance folder's other files, once per Dagster version

    def register_instance(self, instance) -> None:
        if self._base_dir is None:
            super().__init__(os.path.join(instance.root_directory, HISTORY_SUBDIR), inst_data=self._inst_data)
            self._registered()
        super().register_instance(instance)

    @classmethod
    def config_type(cls):
        return {"base_dir": Field(StringSource, is_required=False)}

    @classmethod
    def from_config_value(cls, inst_data, config_value):
        return cls(inst_data=inst_data, **config_value)

    def _open(self, shard: str) -> tuple[object, object]:
        """An engine and one connection to the file of ``shard``, to be kept: a run's new file copied
        from the template (``copy_run_file``), else made and stamped as Dagster's own ``_connect``
        makes it (``_initdb``); commits that do not wait for the disk in WAL mode."""
        if shard != INDEX_SHARD_NAME and shard not in self._initialized_dbs and copy_run_file(self, shard):
            self._initialized_dbs.add(shard)
        engine = sqlite_engine(self.conn_string_for_shard(shard))
        if shard not in self._initialized_dbs:
            self._initdb(engine)
            self._initialized_dbs.add(shard)
        return engine, held_connection(engine)

    def _close(self, shard: str) -> None:
        engine, conn = self._held.pop(shard)
        try:
            if self._groups.pop(shard, None) is not None:
                conn.commit()  # the group's events are kept
        finally:
            try:
                conn.close()
            finally:
                engine.dispose()

    @contextmanager
    def _connect(self, shard: str) -> Iterator[object]:
        with self._db_lock:  # Dagster's lock: one call at a time per storage, as in its own method
            held = self._held.get(shard)
            if held is None:
                held = self._held[shard] = self._open(shard)
                runs = [s for s in self._held if s != INDEX_SHARD_NAME]
                for old in runs[: max(0, len(runs) - HELD_RUN_FILES)]:
                    self._close(old)
            else:
                self._held.move_to_end(shard)
            conn = held[1]
            if getattr(self._storing, "grouped", False):
                with self._grouped_call(shard, conn):
                    yield conn
                return
            if shard in self._groups:  # any other call: the events stored before it are committed first
                self._commit_group(shard)
            try:
                with conn.begin():
                    yield conn
            except BaseException:
                # the transaction is rolled back; a connection that failed is not kept
                self._close(shard)
                raise

    @contextmanager
    def _grouped_call(self, shard: str, conn) -> Iterator[None]:
        """A call of ``store_event`` inside a run's session (``_storing.grouped``, the storage's lock
        held): part of the shard's open group of stored events — begun here if there is none, with
        the write lock taken at once (``BEGIN IMMEDIATE``: what the call's first insert would take)
        and committed by ``_commit_groups`` within ``GROUP_SECONDS`` — in a savepoint of its own, so
        a call that fails is rolled back alone, as its own transaction was, and the events stored
        before it stay in the group."""
        raw = conn.connection.dbapi_connection
        if shard not in self._groups:
            try:
                conn.begin()
                raw.execute("BEGIN IMMEDIATE")
            except BaseException:  # e.g. the write lock not had within the busy timeout: not kept
                self._close(shard)
                raise
            self._groups[shard] = time.monotonic()
            self._wake_committer()
        raw.execute("SAVEPOINT lianjian_stored_event")
        try:
            yield
        except BaseException:
            try:
                raw.execute("ROLLBACK TO lianjian_stored_event")
                raw.execute("RELEASE lianjian_stored_event")
            except sqlite3.Error:  # the connection cannot go on: its group is lost, it is not kept
                self._groups.pop(shard, None)
                self._close(shard)
            raise
        raw.execute("RELEASE lianjian_stored_event")

    def _commit_group(self, shard: str) -> None:
        """Commits ``shard``'s open group of stored events (the storage's lock held)."""
        if self._groups.pop(shard, None) is None:
            return
        try:
            self._held[shard][1].commit()
        except BaseException:
            self._close(shard)
            raise

    def _commit_groups(self, older_than: float | None = None) -> None:
        """Commits the open groups (begun before ``older_than``, ``time.monotonic()``; all if None)."""
        with self._db_lock:
            for shard, began in list(self._groups.items()):
                if older_than is None or began <= older_than:
                    self._commit_group(shard)

    def _wake_committer(self) -> None:
        """Starts the thread that commits each open group ``GROUP_SECONDS`` after it began, or tells it
        that a group began."""
        with self._committer_wake:
            if self._committer is None or not self._committer.is_alive():
                self._committer = threading.Thread(target=self._commit_in_time, name="lianjian-event-commits", daemon=True)
                self._committer.start()
            self._committer_wake.notify()

    def _commit_in_time(self) -> None:
        while True:
            with self._committer_wake:
                while not self._groups:
                    if not self._committer_wake.wait(timeout=10 * GROUP_SECONDS) and not self._groups:
                        self._committer = None  # idle: ends, started again by the next group
                        return
                due = min(list(self._groups.values()), default=time.monotonic()) + GROUP_SECONDS
                wait = due - time.monotonic()
                if wait > 0:
                    self._committer_wake.wait(timeout=wait)
                    continue
            try:
                self._commit_groups(older_than=time.monotonic() - GROUP_SECONDS)
            except Exception as err:  # noqa: BLE001 — raised by the next store_event, where Dagster would have seen it
                self._failed_commit = err

    @contextmanager
    def _storing_grouped(self) -> Iterator[None]:
        """While ``store_event`` writes an event inside a run's session: its calls join the open group
        of their file (``_grouped_call``). Outside a session each call is its own transaction."""
        if not _in_run_session():
            yield
            return
        self._storing.grouped = True
        try:
            yield
        finally:
            self._storing.grouped = False

    def store_event(self, event) -> None:
        """Dagster's ``SqliteEventLogStorage.store_event`` — the event in the run's file, an asset
        event mirrored in the index with its tags and its asset's row, a check event mirrored with its
        check execution's row, a run status event mirrored — writing the same rows with less work:
        the event serialized once (Dagster serializes it again for the check execution's row and
        inside the asset's last materialization), the statements made once
        (``_INSERT_EVENT`` …), the index's columns asked once, an asset's row updated and inserted only
        when there is none (Dagster inserts and catches the failure), a check event's two index rows
        in one transaction."""
        failed, self._failed_commit = self._failed_commit, None
        if failed is not None:  # a group committed in time failed: its events are not in the history
            raise failed
        row = self._event_to_row(event)
        kind = event.dagster_event_type
        with self._storing_grouped():
            self._store_event_row(event, row, kind)
        if kind in EVENT_TYPE_TO_PIPELINE_RUN_STATUS and self._groups:
            # a run's start and end are committed at once: the daemon's sensors and the UI read them
            self._commit_groups()

    def _store_event_row(self, event, row: dict, kind) -> None:
        with self.run_connection(event.run_id) as conn:
            _inserted_event(conn, row)
        if kind in ASSET_EVENTS or kind in ASSET_CHECK_EVENTS:
            with self.index_transaction() as conn:  # rolled back whole when it raises
                event_id, stored = self._index_rows(conn, event, row, keyed_only=False)
            if not stored:  # an evaluation outside a run: Dagster's own method
                self.store_asset_check_event(event, event_id)
        if kind in EVENT_TYPE_TO_PIPELINE_RUN_STATUS:
            with self.index_connection() as conn:
                _inserted_event(conn, row)

    def has_table(self, table_name: str) -> bool:
        """Whether the index has the table, asked of the file once per process once it has it (a table
        is made by ``dagster instance migrate``, never dropped while the instance is in use)."""
        if table_name in self._tables:
            return True
        # Dagster's own question, on a connection of its own: it is asked inside other calls, which
        # hold the storage's lock
        present = super().has_table(table_name)
        if present:
            self._tables.add(table_name)
        return present

    def release_connections(self) -> None:
        """Closes the connections this storage holds (each is opened again when next needed)."""
        if self._base_dir is None:  # never registered with an instance: nothing opened
            return
        with self._db_lock:
            for shard in list(self._held):
                self._close(shard)  # an open group of stored events committed first

    def wipe(self) -> None:
        self.release_connections()
        super().wipe()

    def upgrade(self) -> None:
        self.release_connections()
        self._tables.clear()
        self._asset_key_columns.clear()
        super().upgrade()

    def dispose(self) -> None:
        if self._base_dir is None:
            return
        self.release_connections()
        super().dispose()


def sqlite_engine(url: str):
    """An engine for one SQLite file whose one connection a storage keeps (``held_connection``):
    threads of the process share that connection (the storage serialises its calls under its own
    lock), and a call waits up to Dagster's busy timeout for another process's write."""
    return create_engine(url, poolclass=NullPool, connect_args={"timeout": SQLITE_BUSY_TIMEOUT_SECONDS, "check_same_thread": False})


def held_connection(engine):
    """The connection of ``engine`` that a storage keeps: its commits do not wait for the disk in WAL
    mode (``synchronous=NORMAL``; the module's docstring says what that costs)."""
    conn = engine.connect()
    raw = conn.connection.dbapi_connection
    if str(raw.execute("PRAGMA journal_mode").fetchone()[0]).lower() == "wal":
        raw.execute("PRAGMA synchronous=NORMAL")
    return conn


def released_with_sessions(storage) -> None:
    """Has ``release_held_connections`` close ``storage``'s connections (``storage.release_connections``)
    at the end of a run's session, with this module's storages'."""
    with _live_lock:
        _live.add(storage)


_templates: dict[str, bytes] = {}
_templates_lock = threading.Lock()


def _write_file(path: str, data: bytes) -> None:
    """``data`` written to a new file at ``path`` and synced (``x``: never over another file)."""
    with open(path, "xb") as out:
        out.write(data)
        out.flush()
        os.fsync(out.fileno())


def _checked_template(path: str) -> bytes | None:
    """The template's bytes if it is an event file as ``_initdb`` leaves it: SQLite's checks pass, in
    WAL mode, every table of Dagster's event storage present, one Alembic revision stamped. Read as
    an immutable file (it is never written once in place): no lock, no log made beside it."""
    from dagster._core.storage.event_log.schema import SqlEventLogStorageMetadata

    try:
        with open(path, "rb") as f:
            data = f.read()
        conn = sqlite3.connect(f"file:{path}?immutable=1", uri=True)
        try:
            ok = conn.execute("PRAGMA quick_check").fetchone()[0] == "ok"
            tables = {row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
            stamps = conn.execute("SELECT version_num FROM alembic_version").fetchall() if "alembic_version" in tables else []
        finally:
            conn.close()
    except (OSError, sqlite3.Error):
        return None
    wal = data[18:20] == b"\x02\x02"  # the header's read and write versions: 2 is WAL mode
    if ok and wal and set(SqlEventLogStorageMetadata.tables) <= tables and len(stamps) == 1:
        return data
    return None


def _template(storage: SqliteEventLogStorage) -> bytes | None:
    """The bytes of ``storage``'s run-file template (``TEMPLATE_NAME``), made the first time by Dagster's
    ``_initdb`` on a file of its own, checkpointed, synced and renamed into place (another process
    making it at the same time renames the same content over it); read and checked once per process,
    made again if it fails the checks. ``None`` when no template passing them can be made: the
    run's file is then made by ``_initdb`` as Dagster makes it."""
    path = os.path.join(storage._base_dir, TEMPLATE_NAME)
    with _templates_lock:
        if path in _templates:
            return _templates[path]
        data = _checked_template(path) if os.path.exists(path) else None
        if data is None:
            _make_template(storage, path)
            data = _checked_template(path)
        _templates[path] = data
        return data


def _make_template(storage: SqliteEventLogStorage, path: str) -> None:
    temp = f"{path}.{os.getpid()}.{uuid.uuid4().hex}.tmp"
    try:
        engine = create_engine(f"sqlite:///{temp}", poolclass=NullPool, connect_args={"timeout": SQLITE_BUSY_TIMEOUT_SECONDS})
        try:
            storage._initdb(engine)
        finally:
            engine.dispose()
        conn = sqlite3.connect(temp)
        try:  # everything in the database file, nothing left in its log
            conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        finally:
            conn.close()
        with open(temp, "rb+") as f:
            os.fsync(f.fileno())
        os.replace(temp, path)
    except Exception:  # noqa: BLE001 — no template: runs' files are made by _initdb, as Dagster makes them
        pass
    finally:
        for leftover in (temp, f"{temp}-wal", f"{temp}-shm"):
            if os.path.exists(leftover):
                os.unlink(leftover)


def copy_run_file(storage: SqliteEventLogStorage, shard: str) -> bool:
    """Makes the event file of the run ``shard`` as a copy of the template — the tables and the stamp
    ``_initdb`` would make, without Alembic looking for the newest revision among Dagster's migration
    scripts and without SQLAlchemy issuing the tables' DDL one statement at a time. The copy is
    written and synced under a name of its own and linked into place only if no file is there yet
    (another process made it first: that file is kept). False when the file exists or no template
    can be had: then ``_initdb`` checks or makes it, as Dagster does."""
    final = storage.path_for_shard(shard)
    if os.path.exists(final):
        return False
    data = _template(storage)
    if data is None:
        return False
    temp = f"{final}.{os.getpid()}.{uuid.uuid4().hex}.tmp"
    try:
        _write_file(temp, data)
        os.link(temp, final)  # fails if the file is there
    except OSError:
        return False
    finally:
        if os.path.exists(temp):
            os.unlink(temp)
    return True


def _in_run_session() -> bool:
    """Whether this process is inside a run's session (``pipelines/instance.py``,
    ``light_sqlite_commits``: `lianjian run`, the executor of a run the daemon or the UI launched)."""
    instance = sys.modules.get("pipelines.instance")
    return bool(instance is not None and instance._sessions)


def release_held_connections() -> None:
    """Closes every ``HeldSqliteEventLogStorage``'s connections in this process, and those of the other
    storages registered with ``released_with_sessions`` (``pipelines/run_storage.py``): at the end of a run's
    session (``pipelines/instance.py``, ``light_sqlite_commits``), so that the write-ahead logs are
    checkpointed there, once, as before."""
    with _live_lock:
        storages = list(_live)
    for storage in storages:
        storage.release_connections()
