"""The run history's list of runs for an instance that keeps it in SQLite (the project's ``dagster.yaml``,
``pipelines/instance.py``): Dagster's ``SqliteRunStorage`` — the same file (``history/runs.db`` in the
instance folder, where Dagster's default keeps it), tables and rows — over one connection kept in
every process that uses it (the daemon, the code server's ticks, the webserver, a run's worker,
`lianjian run`) instead of a new SQLAlchemy engine and connection for every call.

Why: Dagster's class connects for every call (creating a run is ≈ 8 calls: the run, its tags, the job's
and the plan's snapshots; a run's start and end, each tick's look-ups, the run queue's polling are
more), the commit syncs the write-ahead log (``synchronous=FULL``) and the close of what is then the
file's only connection checkpoints the log into the database and syncs it again. The daemon's path of
a demo pipeline run made 68 such calls outside a run's session: ≈ 0.7 s of wall on a loaded machine,
≈ 0.1–0.2 s over one held connection (docs/performance.md, "The nightly path: the run history's run
list over one connection, Alembic's scripts read once"). What stays as Dagster has it:

- each call is its own transaction (``connect``), committed when it ends and rolled back when it
  fails; a connection that failed is closed, not kept;
- between two calls the connection holds no transaction, no lock and no snapshot (WAL): the daemon,
  the webserver and the runs read and write the same file meanwhile;
- ``wipe``, ``upgrade`` and ``dispose`` close the connection first; the end of a run's session closes
  it too (``pipelines/event_log.py``, ``release_held_connections``), so a run's worker ends with the
  log checkpointed, once.

What changes: the calls of one process are serialised under the storage's lock (threads of the
webserver wait for one another's run look-ups, each a few milliseconds); a call made inside another
by the same thread joins its transaction; the runs table's columns are reflected once per process
once it has the run stats' (``has_run_stats_index_cols``: Dagster reflects them at every read of a
run's record, ≈ 70 reads in a demo run); the commits do not wait for the disk (``synchronous=NORMAL``
in WAL mode, as the event storage's): SQLite keeps the file whole, but a power cut may lose the last
runs' rows or statuses of the history — never a published file, its manifest or the record of the
nightly run (lianjian/fingerprint.py), which do not live there.

Opening the storage also has Alembic's migration scripts read once per process (``read_scripts_once``).

Dagster's private names used here (re-check them on a Dagster upgrade; docs/operations.md):
``SqliteRunStorage.connect`` (replaced), ``SqlRunStorage.has_run_stats_index_cols`` (its answer
kept), ``from_local``, ``_conn_string``, ``_alembic_upgrade``,
``dagster._core.storage.sql.ScriptDirectory`` (the name ``check_alembic_revision`` looks up) and
``dagster._core.storage.sqlite.create_db_conn_string``.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager

from alembic.script import ScriptDirectory
from dagster import Field, StringSource
from dagster._core.storage.runs.sqlite.sqlite_run_storage import SqliteRunStorage

from pipelines.event_log import held_connection, released_with_sessions, sqlite_engine

#: The folder of ``runs.db`` inside the instance folder: where Dagster's default storage keeps it.
HISTORY_SUBDIR = "history"


class HeldSqliteRunStorage(SqliteRunStorage):
    """``SqliteRunStorage`` over one connection per process (see the module's docstring).

    Configured in ``dagster.yaml`` (``run_storage``, ``module: pipelines.run_storage``). Without a
    ``base_dir`` the file is the instance folder's ``history/runs.db`` — where Dagster's default SQLite
    storage keeps it — so a moved or copied instance folder uses its own file."""

    def __init__(self, conn_string: str | None = None, inst_data=None):
        self._held: tuple[object, object] | None = None  # (engine, connection) while kept
        self._held_lock = threading.RLock()
        self._calls = 0  # calls inside ``connect`` (of the thread holding the lock)
        self._run_stats_cols = False  # the runs table has the run stats' columns (once seen)
        # without a file yet (no base_dir): the instance folder's, once the instance registers
        super().__init__(conn_string or "", inst_data)

    @classmethod
    def config_type(cls):
        return {"base_dir": Field(StringSource, is_required=False)}

    @classmethod
    def from_config_value(cls, inst_data, config_value):
        read_scripts_once()
        base_dir = config_value.get("base_dir")
        return cls.from_local(base_dir, inst_data=inst_data) if base_dir else cls(inst_data=inst_data)

    def register_instance(self, instance) -> None:
        if not self._conn_string:
            # Dagster's own set-up of the file (made, stamped or checked), then its address taken over
            made = type(self).from_local(os.path.join(instance.root_directory, HISTORY_SUBDIR), inst_data=self._inst_data)
            made.dispose()
            self._conn_string = made._conn_string
        super().register_instance(instance)

    @contextmanager
    def connect(self) -> Iterator[object]:
        with self._held_lock:  # the lock is this thread's from here on
            if self._calls:  # a call inside another of this thread's: its transaction
                yield self._held[1]
                return
            if self._held is None:
                engine = sqlite_engine(self._conn_string)
                self._held = (engine, held_connection(engine))
                released_with_sessions(self)
            conn = self._held[1]
            if conn.in_transaction():  # begun outside a call (by a caller keeping the connection): not kept
                conn.rollback()
            self._calls += 1
            try:
                with conn.begin():
                    yield conn
            except BaseException:
                self.release_connections()  # rolled back; a connection that failed is not kept
                raise
            finally:
                self._calls -= 1

    def has_run_stats_index_cols(self) -> bool:
        """Whether the runs table has the run stats' columns, reflected from the file once per process
        once it has them (Dagster reflects the table, on a call of its own, at every read of a run's
        record; ``dagster instance migrate`` adds the columns, none is dropped while the instance is
        in use)."""
        if not self._run_stats_cols:
            self._run_stats_cols = super().has_run_stats_index_cols()
        return self._run_stats_cols

    def release_connections(self) -> None:
        """Closes the connection this storage holds (opened again when next needed)."""
        with self._held_lock:
            held, self._held = self._held, None
        if held is not None:
            engine, conn = held
            try:
                conn.close()
            finally:
                engine.dispose()

    def wipe(self) -> None:
        self.release_connections()
        super().wipe()

    def upgrade(self) -> None:
        self.release_connections()
        self._run_stats_cols = False
        try:
            super().upgrade()
        finally:
            self.release_connections()

    def dispose(self) -> None:
        self.release_connections()
        super().dispose()


_scripts: dict[str, ScriptDirectory] = {}
_scripts_lock = threading.Lock()


class ScriptsReadOnce:
    """Stands for Alembic's ``ScriptDirectory`` where Dagster's ``check_alembic_revision`` looks it up
    (``dagster._core.storage.sql``): the migration scripts of a script folder read once per process.

    Why: opening an SQLite instance checks each storage's Alembic revision against the newest of the
    ≈ 90 migration scripts Dagster ships, which Alembic finds by loading every one of them — twice per
    instance (the run and the schedule storage), ≈ 0.08 CPU-s and 0.1–0.2 s of wall. An instance is
    opened for every tick of a schedule or sensor that takes a resource (the code server's
    ``landing_zone_sensor`` every minute, the nightly schedule's tick) besides each process's own.
    The scripts are part of the installed Dagster: they do not change while a process runs. Migrating
    (``dagster instance migrate``: Alembic's commands) reads them as before."""

    @staticmethod
    def from_config(config) -> ScriptDirectory:
        location = config.get_main_option("script_location")
        with _scripts_lock:
            scripts = _scripts.get(location)
            if scripts is None:
                scripts = _scripts[location] = ScriptDirectory.from_config(config)
        return scripts


def read_scripts_once() -> None:
    """Puts ``ScriptsReadOnce`` in place of ``ScriptDirectory`` for Dagster's revision checks (once per
    process)."""
    import dagster._core.storage.sql as dagster_sql

    dagster_sql.ScriptDirectory = ScriptsReadOnce
