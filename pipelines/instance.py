"""The Dagster instance settings lianjian ships (``dagster.yaml``), written into the instance folder the
first time `lianjian ui` or `lianjian run` uses it (``$DAGSTER_HOME``, else ``./.dagster_home``); never
over an existing file but one an earlier lianjian wrote (below). Production (PostgreSQL storage)
starts from ``dagster.yaml.example``, which has the same settings below its storage section.

- ``telemetry: enabled: false`` — nothing leaves the machine (a closed network), and the UI shows no
  telemetry notice;
- ``nux: enabled: false`` — no "Join the Dagster community" pop-up;
- the file itself — no "No dagster instance configuration file (dagster.yaml) found" warning;
- a ``QueuedRunCoordinator`` that runs at most one run per ``lianjian/warehouse`` tag value (every run
  of a pipeline run carries it, ``pipelines/runs.py``): the nightly schedule and the landing sensor
  firing together queue one behind the other instead of writing one warehouse at once, while two
  warehouses may run side by side.

- ``event_log_storage``: the run history's events in Dagster's SQLite files over one connection per
  file in every process (``pipelines/event_log.py``);
- ``run_storage``: the run history's list of runs in Dagster's SQLite file over one connection in every
  process (``pipelines/run_storage.py``);
- ``compute_logs``: the steps' stdout and stderr in Dagster's files under ``storage/``, mirrored to the
  terminal by a thread of the run's process instead of ``tail`` and watcher processes
  (``pipelines/compute_logs.py``).

A home made by older code whose ``dagster.yaml`` is, byte for byte, one an earlier lianjian wrote
(``EARLIER_INSTANCE_YAMLS``: without the storages above, which left Dagster's own) gets this file in
its place (``ensure_instance``): the same files, tables and rows, read by the project's classes. Any
other file — edited by hand, PostgreSQL's — is left as it is, with the storages it names.

It also holds how a run stores its events when the instance keeps them in SQLite files (the default
for one desk): ``light_sqlite_commits``.
"""

from __future__ import annotations

import hashlib
import logging
import os
import sqlite3
import sys
import threading
import types
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

CONFIG_FILENAME = "dagster.yaml"

INSTANCE_YAML = """\
# Dagster instance settings of lianjian (pipelines/instance.py; docs/operations.md).
# Storage: SQLite files in this folder — fine for one desk. Production: dagster.yaml.example (PostgreSQL).

# Nothing is sent outside the machine; the UI shows no telemetry notice.
telemetry:
  enabled: false

# No "Join the Dagster community" pop-up.
nux:
  enabled: false

# Runs launched by the schedule, the sensors or the UI wait in a queue: at most one run per warehouse
# (the lianjian/warehouse tag every lianjian run carries), two runs in all.
run_coordinator:
  module: dagster.core.run_coordinator
  class: QueuedRunCoordinator
  config:
    max_concurrent_runs: 2
    tag_concurrency_limits:
      - key: "lianjian/warehouse"
        value:
          applyLimitPerUniqueValue: true
        limit: 1

# The run history's events: SQLite files in history/runs, as Dagster's default storage keeps them, over
# one connection per file in every process (daemon, webserver, runs) instead of one per event.
event_log_storage:
  module: pipelines.event_log
  class: HeldSqliteEventLogStorage

# The run history's list of runs: history/runs.db, as Dagster's default storage keeps it, over one
# connection in every process instead of one per call.
run_storage:
  module: pipelines.run_storage
  class: HeldSqliteRunStorage

# The steps' stdout and stderr: Dagster's files in storage/, shown by the UI, copied to the terminal by
# a thread of the run's process instead of tail and watcher processes.
compute_logs:
  module: pipelines.compute_logs
  class: MirroredComputeLogManager

# Runs launched by the schedule, the sensors or the UI: each in a process forked on this machine from a
# warm process that has Dagster imported; a pipeline run's second run in its first run's process, not
# a second process (pipelines/launcher.py; Dagster's own launcher where there is no /proc).
run_launcher:
  module: pipelines.launcher
  class: LianjianRunLauncher
"""


#: sha256 of each ``dagster.yaml`` an earlier lianjian wrote, none of them edited since: ``ensure_instance``
#: writes ``INSTANCE_YAML`` over such a file. Each is ``INSTANCE_YAML`` without some of its sections, so
#: the home kept Dagster's own classes for them: from 2026-12-05 without the event, run and compute log
#: storages; from 2026-12-06 08:41 UTC without the run and compute log storages; from 2026-12-06
#: 15:38 UTC without the run storage; from 2026-12-07 01:36 UTC without the run launcher. When ``INSTANCE_YAML`` changes, the digest of the text it replaces
#: belongs here.
EARLIER_INSTANCE_YAMLS = frozenset(
    {
        "b7741e9c974920aa364d9340c5ead4455cc8ac411015d7f7b1ec403dca40e57f",
        "a8d3e72c2317606b23a7b586d5aba0542d92ad8b8cd89553c4a6a9d79da26ae2",
        "0b86fca957b22845085f739fd13cc556f18182d402d73911a9844145221d13cd",
        "330b4a52a543865cef45092d432ad19d2ca667bfc41dca52cba4341054d61b3d",
    }
)


def ensure_instance(home: Path) -> Path:
    """Create ``home`` and write lianjian's ``dagster.yaml`` into it unless it has one, or over one an
    earlier lianjian wrote that nobody edited since (``EARLIER_INSTANCE_YAMLS``); returns the path of
    the instance settings file. Written under a name of its own and renamed into place: a process
    opening the instance meanwhile reads the old file or the new one whole."""
    home = Path(home)
    home.mkdir(parents=True, exist_ok=True)
    path = home / CONFIG_FILENAME
    try:
        earlier = hashlib.sha256(path.read_bytes()).hexdigest() in EARLIER_INSTANCE_YAMLS
    except FileNotFoundError:
        earlier = True
    if earlier:
        tmp = path.with_name(f".{CONFIG_FILENAME}.{os.getpid()}.tmp")
        tmp.write_text(INSTANCE_YAML, encoding="utf-8")
        tmp.replace(path)
    return path


#: Dagster's own classes for a home's run history in SQLite files and its steps' output (what a section
#: left out of ``dagster.yaml`` also gives): the ones ``INSTANCE_YAML`` replaces with lianjian's.
DAGSTER_SQLITE_CLASSES = frozenset({"SqliteEventLogStorage", "ConsolidatedSqliteEventLogStorage", "SqliteRunStorage", "LocalComputeLogManager"})


def sections_left_to_dagster(path: Path) -> tuple[str, ...]:
    """The sections of ``INSTANCE_YAML`` that name lianjian's classes (the event storage, the run
    storage, the compute logs) for which the ``dagster.yaml`` at ``path`` keeps Dagster's own — left
    out, or naming Dagster's SQLite class — while its run history is in SQLite files: what makes each
    run of such a home cost seconds more (docs/operations.md, "A home made by older code"). Empty for
    the project's file, for a home whose storage is another database (a ``storage`` section, or a
    storage naming another class), and for a file that cannot be read."""
    import yaml

    try:
        settings = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}
    except (OSError, UnicodeDecodeError, yaml.YAMLError):
        return ()
    if not isinstance(settings, dict) or "storage" in settings:
        return ()
    ours = yaml.safe_load(INSTANCE_YAML)
    left = []
    for key in ("event_log_storage", "run_storage", "compute_logs"):
        section = settings.get(key)
        named = section.get("class") if isinstance(section, dict) else None
        if named is None or named in DAGSTER_SQLITE_CLASSES:
            left.append(key)
        elif named != ours[key]["class"] and key != "compute_logs":
            return ()  # a run history in another database: not this file's concern
    return tuple(left)


def instance_notice(path: Path) -> str | None:
    """One line for staff when the home's ``dagster.yaml`` keeps Dagster's own classes for a SQLite
    run history (``sections_left_to_dagster``): which sections, what it costs, where the fix is
    written; None otherwise."""
    left = sections_left_to_dagster(path)
    if not left:
        return None
    return (
        f"lianjian: 提示：实例设置 {path} 中 {'、'.join(left)} 仍为 Dagster 自带的类，每次运行多耗数秒；"
        "按 docs/operations.md「A home made by older code」把 lianjian 的这几节加入该文件（运行记录文件不变，无需迁移）"
    )



# --- SQLite run history while a run writes it ------------------------------------------------------
#
# Dagster's SQLite event storage opens a connection for every event it stores (a run stores 400-700:
# step starts and ends, inputs, outputs, one planned and one stored materialization per asset and
# year, the checks) and commits it, in WAL mode. Two costs come with each event on a local disk, both
# waiting for the disk rather than working: the commit syncs the write-ahead log (synchronous=FULL,
# SQLite's default), and the close of what is then the database's only connection checkpoints the log
# into the database, syncs it and deletes the log — a demo run spent 21 s of 66 in these two calls
# on a loaded machine (docs/performance.md, "Fixed cost of a run"). While a run writes, the two
# settings below take both away; what the run stores is the same.

_session_lock = threading.Lock()
_sessions = 0
_keepers: dict[str, sqlite3.Connection] = {}


def _sqlite_connected(dbapi_connection, _connection_record) -> None:
    """SQLAlchemy's ``connect`` hook, active inside ``light_sqlite_commits``: a new connection to a
    SQLite database in WAL mode (Dagster's run and event databases) commits without syncing
    (``synchronous=NORMAL``), and the first connection to each such file is matched by one more
    connection kept open until the session ends, so that closing Dagster's connections never
    checkpoints and deletes the log."""
    if not _sessions or not isinstance(dbapi_connection, sqlite3.Connection):
        return
    cursor = dbapi_connection.cursor()
    try:
        path = next((row[2] for row in cursor.execute("PRAGMA database_list") if row[1] == "main"), "")
        if not path:
            return  # an in-memory instance
        if path not in _keepers and str(cursor.execute("PRAGMA journal_mode").fetchone()[0]).lower() != "wal":
            return  # a database being created, or not Dagster's: left as it is
        cursor.execute("PRAGMA synchronous=NORMAL")
    finally:
        cursor.close()
    with _session_lock:
        if _sessions and path not in _keepers:
            keeper = sqlite3.connect(path, check_same_thread=False)
            # opens the log (the file is now shared) and reads to the end: it holds no snapshot, so
            # SQLite's automatic checkpoints still keep the log short during a long run
            keeper.execute("PRAGMA schema_version").fetchall()
            _keepers[path] = keeper


@contextmanager
def light_sqlite_commits() -> Iterator[None]:
    """While a run stores its events: SQLite commits that do not wait for the disk, and no checkpoint
    of the write-ahead log at each connection's close (``_sqlite_connected``); the log is
    checkpointed once per database when the session ends. The steps' inputs' data versions are
    answered from the materializations the process stored meanwhile where they can be
    (``_inputs_from_what_the_process_stored``).

    What it costs: in WAL mode with ``synchronous=NORMAL`` SQLite keeps the database whole, but the
    last commits before a power cut or a crash of the operating system (not of this process) may be
    lost from the run history — the published files, their manifest and the nightly run's record
    (lianjian/fingerprint.py) do not live there. Only processes that execute runs open a session
    (``lianjian run``, the executor of a run started by the daemon or the UI). The event and run
    storages of the project's instance (``pipelines/event_log.py``, ``pipelines/run_storage.py``)
    keep their connections in every process; the session's end closes them, so the logs are
    checkpointed there as before. No effect on PostgreSQL or an in-memory instance."""
    global _sessions
    import sqlalchemy

    with _session_lock:
        if not sqlalchemy.event.contains(sqlalchemy.engine.Engine, "connect", _sqlite_connected):
            sqlalchemy.event.listen(sqlalchemy.engine.Engine, "connect", _sqlite_connected)
        _inputs_from_what_the_process_stored()
        _sessions += 1
    try:
        yield
    finally:
        with _session_lock:
            _sessions -= 1
            last = not _sessions
            keepers = list(_keepers.values()) if last else []
            if last:
                _keepers.clear()
        if last:
            _forget_materializations()
            held_storage = sys.modules.get("pipelines.event_log")  # the instance's storage, if it has it
            if held_storage is not None:
                held_storage.release_held_connections()
        for keeper in keepers:
            keeper.close()


# --- The throw-away instance of `lianjian run` ------------------------------------------------------
#
# Without DAGSTER_HOME (and without the project instance of `lianjian ui`) a run's history lives in an
# in-memory SQLite database that ends with the process. Dagster's in-memory storages open a new
# connection to that database for every call — every stored event (a demo run stores ≈ 660) — and
# set two PRAGMAs on it; the storages below keep the one connection they already hold for the whole
# process instead. Same tables, same rows, same transactions; only the connecting is gone
# (docs/performance.md, "The fixed cost again").


class _HeldConnection:
    """The connection a storage holds for its life, handed out one caller at a time: each call gets
    its own transaction, committed when the call ends and rolled back when it fails; a call made
    while the same thread is inside one (Dagster does not nest them today) joins that transaction."""

    def __init__(self, conn) -> None:
        self.conn = conn
        self.lock = threading.RLock()

    @contextmanager
    def __call__(self):
        with self.lock:
            if self.conn.in_transaction():
                yield self.conn
                return
            with self.conn.begin():
                yield self.conn


def _shared_connection(engine):
    """One more connection to an in-memory storage's database (``engine``'s shared-cache URL), usable
    from any thread (the steps' threads log events too; calls are serialised by ``_HeldConnection``),
    with the settings Dagster gives each of its connections."""
    import sqlalchemy as sa
    from sqlalchemy.pool import NullPool

    conn = sa.create_engine(engine.url, poolclass=NullPool, connect_args={"check_same_thread": False}).connect()
    conn.execute(sa.text("PRAGMA foreign_keys=ON;")).close()
    conn.commit()
    return conn


@contextmanager
def _no_migration_stamp() -> Iterator[None]:
    """While Dagster's in-memory storages make their tables: no Alembic revision stamped into them.
    Stamping loads every migration script Dagster ships (≈ 180 modules, ≈ 0.1 CPU-s per storage) to
    find the newest revision, which only an instance that is migrated later needs; an in-memory
    database ends with its process and is never migrated, and nothing else reads the stamp."""
    from dagster._core.storage.event_log import in_memory as events_module
    from dagster._core.storage.runs import in_memory as runs_module

    modules = (events_module, runs_module)
    saved = [(m.stamp_alembic_rev, m.get_alembic_config) for m in modules]
    for m in modules:
        m.stamp_alembic_rev = lambda *_args, **_kwargs: None
        m.get_alembic_config = lambda *_args, **_kwargs: None  # read only by the stamp
    try:
        yield
    finally:
        for m, (stamp, config) in zip(modules, saved, strict=True):
            m.stamp_alembic_rev, m.get_alembic_config = stamp, config


class _HoldsConnection:
    """Mixed into an in-memory storage (before it): one more connection to its database, made when
    the storage is and closed when it is disposed, handed out by ``_HeldConnection``; its tables made
    without a migration stamp (``_no_migration_stamp``)."""

    def __init__(self) -> None:
        with _no_migration_stamp():
            super().__init__()
        self._held = _HeldConnection(_shared_connection(self._engine))

    def dispose(self) -> None:
        self._held.conn.close()
        super().dispose()


#: The Alembic modules whose names Dagster's ``dagster._core.storage.sql`` imports when it is first
#: imported (``from alembic.command import stamp, …``). Importing them imports Alembic whole — its
#: migration runtime, every dialect's DDL, Mako and, through Mako, Pygments: ≈ 0.15–0.2 CPU-s before a
#: run's first step — which only an instance whose database is created, checked or migrated uses.
ALEMBIC_MODULES = (
    "alembic.command",
    "alembic.config",
    "alembic.runtime.environment",
    "alembic.runtime.migration",
    "alembic.script",
)


class _AlembicName:
    """What ``from <alembic module> import <name>`` gets while ``_alembic_when_used`` is in place: a
    stand-in for the module's function or class that imports the module the first time it is called
    or an attribute is looked up on it (``Config(...)``, ``stamp(...)``,
    ``MigrationContext.configure``), and from then on is the real thing's."""

    def __init__(self, module: str, name: str) -> None:
        self._module, self._name = module, name

    def _real(self):
        import importlib

        stand_in = sys.modules.get(self._module)
        if isinstance(stand_in, _AlembicStandIn):  # still in place: the real module is wanted now
            del sys.modules[self._module]
        return getattr(importlib.import_module(self._module), self._name)

    def __call__(self, *args, **kwargs):
        return self._real()(*args, **kwargs)

    def __getattr__(self, attr: str):
        if attr.startswith("__"):  # the import system's and tools' probes: not a use of the name
            raise AttributeError(attr)
        return getattr(self._real(), attr)


class _AlembicStandIn(types.ModuleType):
    """A module in ``sys.modules`` in place of one of ``ALEMBIC_MODULES``: each name imported from it
    is an ``_AlembicName``."""

    def __getattr__(self, attr: str):
        if attr.startswith("__"):
            raise AttributeError(attr)
        return _AlembicName(self.__name__, attr)


@contextmanager
def _alembic_when_used() -> Iterator[None]:
    """While the throw-away instance is made, and only when Dagster's SQL storage module is not
    imported yet (nor Alembic): its Alembic names are stand-ins (``_AlembicName``), so Alembic is
    imported the first time one of them is used — never by the throw-away instance, whose in-memory
    tables are made without a migration stamp (``_no_migration_stamp``) and never migrated. The
    stand-in modules leave ``sys.modules`` when the instance is made: any later import of Alembic,
    Dagster's migrations' included, gets the real modules."""
    if "dagster._core.storage.sql" in sys.modules or any(name in sys.modules for name in ALEMBIC_MODULES):
        yield
        return
    placed = {name: _AlembicStandIn(name) for name in ALEMBIC_MODULES}
    sys.modules.update(placed)
    try:
        yield
    finally:
        for name, stand_in in placed.items():
            if sys.modules.get(name) is stand_in:
                del sys.modules[name]


def light_ephemeral_instance():
    """An ephemeral Dagster instance (``DagsterInstance.ephemeral()``: in-memory run and event storage,
    a temporary artifact folder, no compute logs, runs launched in process) whose storages reuse
    their held connection instead of connecting for each event."""
    with _alembic_when_used():
        return _light_ephemeral_instance()


def _light_ephemeral_instance():
    from dagster._core.instance import DagsterInstance
    from dagster._core.instance.types import InstanceType
    from dagster._core.launcher.sync_in_memory_run_launcher import SyncInMemoryRunLauncher
    from dagster._core.run_coordinator import DefaultRunCoordinator
    from dagster._core.storage.event_log import InMemoryEventLogStorage
    from dagster._core.storage.event_log.base import EventLogCursor
    from dagster._core.storage.noop_compute_log_manager import NoOpComputeLogManager
    from dagster._core.storage.root import TemporaryLocalArtifactStorage
    from dagster._core.storage.runs import InMemoryRunStorage

    class HeldRunStorage(_HoldsConnection, InMemoryRunStorage):
        def connect(self):
            return self._held()

    from pipelines.event_log import EventRowsWrittenOnce

    class HeldEventLogStorage(_HoldsConnection, EventRowsWrittenOnce, InMemoryEventLogStorage):
        def __init__(self) -> None:
            self._rows_written_once()
            super().__init__()

        def _connect(self):
            return self._held()

        def store_event(self, event) -> None:
            # InMemoryEventLogStorage.store_event with Dagster's rows written once, in one transaction
            # (pipelines/event_log.py): ≈ half the CPU of a demo run's ≈ 600 events
            self.store_event_once(event)
            self._storage_id += 1
            for handler in list(self._handlers[event.run_id]):
                try:
                    handler(event, str(EventLogCursor.from_storage_id(self._storage_id)))
                except Exception:
                    logging.exception("Exception in callback for event watch on run %s.", event.run_id)

        @property
        def supports_partition_subset_in_asset_materialization_planned_events(self) -> bool:
            # one "planned" event per asset for the run's years instead of one per asset and year
            # (Dagster's option for single-run backfills); what Dagster gives up with it — marking
            # each planned year failed in the asset's history when the run fails — is nothing to a
            # history that ends with the process
            return True

        def has_table(self, table_name: str) -> bool:
            with self._held() as conn:
                return bool(self._engine.dialect.has_table(conn, table_name))

        #: read by ``_provenance_looked_up_unless_thrown_away``: no step looks up its inputs' versions
        history_thrown_away = True

    _provenance_looked_up_unless_thrown_away()
    return DagsterInstance(
        instance_type=InstanceType.EPHEMERAL,
        local_artifact_storage=TemporaryLocalArtifactStorage(),
        run_storage=HeldRunStorage(),
        event_storage=HeldEventLogStorage(),
        compute_log_manager=NoOpComputeLogManager(),
        run_coordinator=DefaultRunCoordinator(),
        run_launcher=SyncInMemoryRunLauncher(),
    )


# Before a step of an asset runs, Dagster looks up the latest materialization of each of its inputs in
# the event storage (``DataVersionCache._fetch_input_asset_version_info``: one ``get_asset_records``
# query per step, each record's event read back from its JSON) to write their data versions and
# storage ids into the tags of the step's materializations, and the target materialization into its
# check evaluations: what the UI's "stale"/"upstream changed" marks and a check's "target
# materialization" link are drawn from. A history that ends with its process is never shown by a UI,
# and nothing of lianjian reads those tags; there the look-ups (≈ 60 a demo run, ≈ 0.2 CPU-s of the
# main process) are left out — each input is recorded as having no known version, as for a source
# asset never observed. Every other instance (DAGSTER_HOME, the project's, the daemon's) looks them up.


def _provenance_looked_up_unless_thrown_away() -> None:
    """Puts a wrapper around Dagster's ``DataVersionCache._fetch_input_asset_version_info`` (once per
    process) that answers "no known version" without a query when the step's instance keeps a
    throw-away history (its event storage says ``history_thrown_away``); Dagster's own method for any
    other instance."""
    from dagster._core.execution.context.data_version_cache import DataVersionCache

    fetch = DataVersionCache._fetch_input_asset_version_info
    if getattr(fetch, "lianjian_wrapper", False):
        return

    def fetch_unless_thrown_away(cache, asset_keys):
        storage = cache._context.instance.event_log_storage
        if getattr(storage, "history_thrown_away", False):
            for key in asset_keys:
                cache.input_asset_version_info[key] = None
            return None
        return fetch(cache, asset_keys)

    fetch_unless_thrown_away.lianjian_wrapper = True
    DataVersionCache._fetch_input_asset_version_info = fetch_unless_thrown_away


# --- The inputs' data versions from what the run's process stored itself -----------------------------
#
# On an instance that keeps its history (DAGSTER_HOME, the project's, the daemon's), Dagster looks up
# before each asset step the latest materialization of each of its inputs (``get_asset_records``: the
# asset rows, each last materialization's event read back from its JSON, and a schema question per
# call), for a partitioned input the latest data version of each partition the step reads
# (``get_latest_tags_by_partition``), and after each check the target materialization again — ≈ 0.2 s
# of a demo pipeline run's main thread, nearly all of it for materializations this same process stored
# a moment before (the first run's staged tables, the second run's derived years, the asset a check
# follows). While a run stores its events (``light_sqlite_commits``), the process keeps, for each
# asset of an SQLite event storage it materialized, the latest materialization it stored (its storage
# id in the index, its event) and each partition's latest data version; a look-up whose every answer
# is there is answered from it, any other asset and any partition not there is looked up as before.
#
# Why that is the same answer, and when it is not: the run's process stores its materializations one
# at a time in the order Dagster makes them, and the index's storage ids grow, so the last one it
# stored is the latest in the storage unless another process stored a materialization of the same
# asset after it. Within a warehouse that cannot happen: a warehouse is written by one run at a time
# (its lock, lianjian/lock.py; the queue's limit per warehouse). Two warehouses under one DAGSTER_HOME
# share their asset keys (docs/operations.md): there Dagster's look-up could name the other
# warehouse's materialization as a step's input — a file this step never read — and this names the
# one the step read, of its own warehouse. Each is a "latest" the UI's staleness is then drawn from;
# the one kept here is the step's real input. PostgreSQL storage (production) is not affected.

_materialized: dict[int, dict] = {}  # id(storage) -> asset key -> EventLogRecord of its latest materialization
_partition_versions: dict[int, dict] = {}  # id(storage) -> (asset key, partition) -> data version or None
_materialized_lock = threading.Lock()
#: Dagster's own ``DataVersionCache`` methods that ``_inputs_from_what_the_process_stored`` wraps, by name.
DAGSTER_LOOK_UPS: dict[str, object] = {}


def _remember_materialization(storage, event, event_id: int) -> None:
    """Kept while a session is open: ``event`` (an asset materialization stored in the index of an SQLite
    event storage as ``event_id``) as the latest of its asset and partition."""
    from dagster._core.definitions.data_version import DATA_VERSION_TAG
    from dagster._core.event_api import EventLogRecord
    from dagster._core.events import DagsterEventType

    dagster_event = event.dagster_event
    if dagster_event.event_type != DagsterEventType.ASSET_MATERIALIZATION:
        return
    key = dagster_event.asset_key
    with _materialized_lock:
        if not _sessions:
            return
        _materialized.setdefault(id(storage), {})[key] = EventLogRecord(storage_id=event_id, event_log_entry=event)
        if dagster_event.partition is not None:
            tags = event.tags or {}
            _partition_versions.setdefault(id(storage), {})[(key, dagster_event.partition)] = tags.get(DATA_VERSION_TAG)


def _forget_materializations() -> None:
    with _materialized_lock:
        _materialized.clear()
        _partition_versions.clear()


def _known(cache) -> dict:
    return _materialized.get(id(cache._context.instance.event_log_storage), {})


def _inputs_from_what_the_process_stored() -> None:
    """Wrappers (once per process) around Dagster's ``SqlEventLogStorage._store_asset_event_tags`` (an
    SQLite storage's materializations remembered inside a session, with the storage ids the events
    were given in the index: every SQLite ``store_event`` — Dagster's, ``pipelines/event_log.py``'s —
    stores an asset event's tags through it, in the index's transaction) and ``DataVersionCache``'s
    ``_fetch_asset_records``, ``_get_input_asset_event`` and ``_get_partitions_data_version_from_keys``
    (answered from them when every answer is there; Dagster's own methods otherwise)."""
    from hashlib import sha256

    from dagster._core.definitions.data_version import DataVersion
    from dagster._core.execution.context.data_version_cache import DataVersionCache
    from dagster._core.storage.event_log.sql_event_log import SqlEventLogStorage
    from dagster._core.storage.event_log.sqlite.sqlite_event_log import SqliteEventLogStorage

    store_tags = SqlEventLogStorage._store_asset_event_tags
    if getattr(store_tags, "lianjian_wrapper", False):
        return
    fetch_records = DataVersionCache._fetch_asset_records
    input_event = DataVersionCache._get_input_asset_event
    partitions_version = DataVersionCache._get_partitions_data_version_from_keys
    DAGSTER_LOOK_UPS.update(
        _fetch_asset_records=fetch_records,
        _get_input_asset_event=input_event,
        _get_partitions_data_version_from_keys=partitions_version,
    )

    def store_and_remember(storage, conn, events, event_ids):
        store_tags(storage, conn, events, event_ids)
        if _sessions and isinstance(storage, SqliteEventLogStorage):
            for event, event_id in zip(events, event_ids, strict=True):
                if event.dagster_event is not None and event.dagster_event.asset_key is not None:
                    _remember_materialization(storage, event, event_id)

    def records_not_known(cache, asset_keys):
        known = _known(cache)
        return fetch_records(cache, [k for k in asset_keys if k not in known])

    def known_event(cache, key, asset_record):
        record = _known(cache).get(key)
        if record is None:
            return input_event(cache, key, asset_record)
        cache._check_input_asset_event(key, record)
        return record

    def known_partitions_version(cache, key, partition_keys):
        versions = _partition_versions.get(id(cache._context.instance.event_log_storage), {})
        if not all((key, p) in versions for p in partition_keys):
            return partitions_version(cache, key, partition_keys)
        # as Dagster's: the partitions' latest data versions in partition order, those without one left out
        found = [versions[(key, p)] for p in sorted(partition_keys)]
        return DataVersion(sha256("".join(v for v in found if v is not None).encode("utf8")).hexdigest())

    for wrapper in (store_and_remember, records_not_known, known_event, known_partitions_version):
        wrapper.lianjian_wrapper = True
    SqlEventLogStorage._store_asset_event_tags = store_and_remember
    DataVersionCache._fetch_asset_records = records_not_known
    DataVersionCache._get_input_asset_event = known_event
    DataVersionCache._get_partitions_data_version_from_keys = known_partitions_version
