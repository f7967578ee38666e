"""The run history's event storage of the project's SQLite instance (pipelines/event_log.py): one
connection per file in every process that uses it — the daemon creating a run, the webserver, a run's
worker — with the files, the transactions and the sharing between processes as Dagster has them."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import dagster as dg
import pytest
import sqlalchemy as sa
from dagster._core.storage.event_log.sqlite.sqlite_event_log import SqliteEventLogStorage
from support_instance import older_home

from pipelines import event_log
from pipelines.event_log import GROUP_SECONDS, HELD_RUN_FILES, HeldSqliteEventLogStorage
from pipelines.instance import ensure_instance, light_sqlite_commits

ROOT = Path(__file__).resolve().parents[1]


@dg.asset
def first() -> int:
    return 1


@dg.asset
def second(first: int) -> int:
    return first + 1


@dg.asset_check(asset=second)
def second_is_two(second: int) -> dg.AssetCheckResult:
    return dg.AssetCheckResult(passed=second == 2)


small_job = dg.define_asset_job("small", selection=[first, second])
small_defs = dg.Definitions(assets=[first, second], asset_checks=[second_is_two], jobs=[small_job])


@contextlib.contextmanager
def _history_files(event: str, database_list):
    """The event files (under ``history/runs``; not the run storage's ``runs.db``) named at each
    SQLAlchemy engine event ``event``, by their ``PRAGMA database_list`` as ``database_list`` reads it
    from the listener's arguments."""
    names: list[str] = []

    def count(*args):
        path = next((row[2] for row in database_list(*args) if row[1] == "main"), "")
        if os.path.join("history", "runs", "") in path:
            names.append(os.path.basename(path))

    sa.event.listen(sa.engine.Engine, event, count)
    try:
        yield names
    finally:
        sa.event.remove(sa.engine.Engine, event, count)


@pytest.fixture
def connections():
    """The event files' SQLite connections SQLAlchemy opens (Dagster's storages open theirs through
    it), by file: those under ``history/runs``, not the run storage's ``runs.db``."""
    with _history_files("connect", lambda dbapi_connection, _record: dbapi_connection.execute("PRAGMA database_list")) as opened:
        yield opened


def _other_writes_asset_other(index: Path) -> None:
    """Another connection writes the asset ``other`` into the index at once, with no busy timeout:
    "database is locked" if a write lock were held."""
    with contextlib.closing(sqlite3.connect(index, timeout=0)) as other:
        other.execute("BEGIN IMMEDIATE")
        other.execute("INSERT INTO asset_keys (asset_key) VALUES ('[\"other\"]')")
        other.commit()


def _run_small(instance: dg.DagsterInstance):
    result = small_defs.resolve_job_def("small").execute_in_process(instance=instance)
    assert result.success
    return result


def test_the_project_instance_stores_events_over_one_connection_per_file_outside_a_run(tmp_path, connections):
    """A home made by ``ensure_instance``: outside any run's session — as the daemon creates a run and
    stores its planned events, and as a run's worker stores its first and last events — the events go
    over one connection per file; Dagster's storage on a home made by older code connects for every
    event. The same events either way."""
    home = ensure_instance(tmp_path / "home").parent
    with dg.DagsterInstance.from_config(str(home)) as instance:
        assert type(instance.event_log_storage) is HeldSqliteEventLogStorage
        _run_small(instance)  # the files made and stamped, the tables asked about once
        before = len(connections)
        held = _run_small(instance)
        ours = len(connections) - before
        held_kinds = sorted(e.event_type_value for e in held.all_events)
    with dg.DagsterInstance.from_config(str(older_home(tmp_path / "older"))) as instance:
        assert type(instance.event_log_storage) is SqliteEventLogStorage
        _run_small(instance)
        before = len(connections)
        plain = _run_small(instance)
        theirs = len(connections) - before
        assert sorted(e.event_type_value for e in plain.all_events) == held_kinds
    stored = len(held_kinds)
    assert stored > 15
    # the new run's file made and stamped by Dagster's _initdb (4), then one connection to it
    assert ours <= 5 and theirs > stored > 3 * ours


def test_a_held_connection_leaves_the_files_to_other_processes(tmp_path):
    """Between two calls a held connection holds no lock and no snapshot: another connection writes
    the index with no busy timeout, another process (the webserver, the daemon) reads the history and
    stores an event in it, and the held connection's next call sees both."""
    home = ensure_instance(tmp_path / "home").parent
    with dg.DagsterInstance.from_config(str(home)) as instance:
        storage = instance.event_log_storage
        instance.report_runless_asset_event(dg.AssetMaterialization("before"))
        assert "index" in storage._held
        index = home / "history" / "runs" / "index.db"
        _other_writes_asset_other(index)
        code = (
            "import dagster as dg\n"
            f"with dg.DagsterInstance.from_config({str(home)!r}) as i:\n"
            "    keys = sorted(k.to_user_string() for k in i.all_asset_keys())\n"
            "    i.report_runless_asset_event(dg.AssetMaterialization('from_another_process'))\n"
            "    print(','.join(keys))\n"
        )
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=120)
        assert out.returncode == 0, out.stderr[-2000:]
        assert out.stdout.strip().split(",") == ["before", "other"]
        instance.report_runless_asset_event(dg.AssetMaterialization("after"))
        keys = {k.to_user_string() for k in instance.all_asset_keys()}
        assert {"before", "other", "from_another_process", "after"} <= keys


@pytest.fixture
def commits():
    """The commits of SQLAlchemy connections to the event files (not the run storage's ``runs.db``)."""
    with _history_files("commit", lambda conn: conn.exec_driver_sql("PRAGMA database_list")) as done:
        yield done


def _index_rows(index: Path, sql: str) -> list:
    with contextlib.closing(sqlite3.connect(index, timeout=0)) as other:
        return other.execute(sql).fetchall()


def test_a_runs_events_are_committed_together_inside_its_session(tmp_path, commits):
    """Inside a run's session (`lianjian run`, a launched run's executor) the events ``store_event``
    writes are committed together, within ``GROUP_SECONDS``: a run's events in a few commits instead
    of one or two each. A run's start and end are committed at once (the daemon's sensors and the UI
    read them), a call that is not ``store_event`` sees and commits what was stored before it, and
    within ``GROUP_SECONDS`` of the last event no lock is held: another connection writes the index
    with no busy timeout and another process reads every event."""
    home = ensure_instance(tmp_path / "home").parent
    index = home / "history" / "runs" / "index.db"
    with dg.DagsterInstance.from_config(str(home)) as instance:
        _run_small(instance)  # the files made, outside a session: a commit or two per event
        outside = len(commits)
        with light_sqlite_commits():
            del commits[:]
            result = _run_small(instance)
            inside = len(commits)
            stored = len(instance.all_logs(result.run_id))
            # the run's end is in the index at once, for another connection
            ends = _index_rows(index, f"SELECT dagster_event_type FROM event_logs WHERE run_id = '{result.run_id}' AND dagster_event_type LIKE 'PIPELINE_%'")
            assert sorted(e for (e,) in ends) == ["PIPELINE_START", "PIPELINE_SUCCESS"]
            instance.report_runless_asset_event(dg.AssetMaterialization("grouped"))
            assert "index" in instance.event_log_storage._groups
            assert {k.to_user_string() for k in instance.all_asset_keys()} >= {"first", "second", "grouped"}
            assert "index" not in instance.event_log_storage._groups  # the read committed the group first
            instance.report_runless_asset_event(dg.AssetMaterialization("later"))
            time.sleep(GROUP_SECONDS * 5)
            assert not instance.event_log_storage._groups
            _other_writes_asset_other(index)
            code = (
                "import dagster as dg\n"
                f"with dg.DagsterInstance.from_config({str(home)!r}) as i:\n"
                f"    print(len(i.all_logs({result.run_id!r})), ','.join(sorted(k.to_user_string() for k in i.all_asset_keys())))\n"
            )
            out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=120)
            assert out.returncode == 0, out.stderr[-2000:]
            assert out.stdout.split() == [str(stored), "first,grouped,later,other,second"]
    assert stored > 15 and outside >= stored and inside <= stored / 4


def test_a_failed_call_inside_a_group_is_rolled_back_alone(tmp_path, monkeypatch):
    """A call of ``store_event`` that fails inside a run's session is rolled back alone, as its own
    transaction was: the events stored before it in the same group, and after it, are kept."""
    home = ensure_instance(tmp_path / "home").parent
    with dg.DagsterInstance.from_config(str(home)) as instance:
        storage = instance.event_log_storage
        keep = HeldSqliteEventLogStorage._store_asset_row

        def fails_for_boom(self, conn, event, event_id, text):
            keep(self, conn, event, event_id, text)
            if event.dagster_event.asset_key == dg.AssetKey("boom"):
                raise RuntimeError("the disk is full")

        monkeypatch.setattr(HeldSqliteEventLogStorage, "_store_asset_row", fails_for_boom)
        with light_sqlite_commits():
            instance.report_runless_asset_event(dg.AssetMaterialization("before"))
            assert "index" in storage._groups
            with pytest.raises(RuntimeError, match="disk is full"):
                instance.report_runless_asset_event(dg.AssetMaterialization("boom"))
            assert "index" in storage._groups  # the group goes on
            instance.report_runless_asset_event(dg.AssetMaterialization("after"))
        index = home / "history" / "runs" / "index.db"
        stored = [json.loads(k)[0] for (k,) in _index_rows(index, "SELECT asset_key FROM event_logs WHERE asset_key IS NOT NULL ORDER BY id")]
        assert stored == ["before", "after"]
        assert {k for (k,) in _index_rows(index, "SELECT asset_key FROM asset_keys")} == {'["before"]', '["after"]'}
        # the run's own file was written by a call of its own, which succeeded, as in Dagster's method
        assert [e.dagster_event.asset_key.to_user_string() for e in instance.all_logs("")] == ["before", "boom", "after"]


def test_a_process_holds_a_bounded_number_of_run_files(tmp_path):
    """A daemon or a webserver that runs for months keeps the index and the last few runs' files
    open, not one per run."""
    home = ensure_instance(tmp_path / "home").parent
    with dg.DagsterInstance.from_config(str(home)) as instance:
        storage = instance.event_log_storage
        runs = [_run_small(instance).run_id for _ in range(HELD_RUN_FILES + 3)]
        assert set(storage._held) - {"index", ""} == set(runs[-HELD_RUN_FILES:])
        open_files = [os.readlink(f"/proc/self/fd/{fd}") for fd in os.listdir("/proc/self/fd") if os.path.exists(f"/proc/self/fd/{fd}")]
        assert not [f for f in open_files if any(r in f for r in runs[:3])]
        # every run's history is still read whole
        assert all(instance.all_logs(r) for r in runs)
        assert set(storage._held) - {"index", ""} <= set(runs) and len(storage._held) <= HELD_RUN_FILES + 1
    assert not storage._held  # closed with the instance


def test_a_run_session_ends_with_the_connections_closed(tmp_path):
    """At the end of a run's session (`lianjian run`, a run's executor) the held connections are
    closed, so the write-ahead logs are checkpointed there once, as before; a failed call does not
    keep its connection."""
    home = ensure_instance(tmp_path / "home").parent
    with dg.DagsterInstance.from_config(str(home)) as instance:
        storage = instance.event_log_storage
        with light_sqlite_commits():
            _run_small(instance)
            assert storage._held
        assert not storage._held
        assert not (home / "history" / "runs" / "index.db-wal").exists()
        with pytest.raises(RuntimeError), storage.index_connection():
            assert "index" in storage._held
            raise RuntimeError("a call that fails")
        assert "index" not in storage._held
        _run_small(instance)


def test_a_home_keeps_its_own_files_when_moved_and_older_homes_are_read_the_same(tmp_path):
    """The storage's files are the instance folder's ``history/runs`` — where Dagster's default keeps
    them — so a home made by older code reads the same history once its dagster.yaml is brought up to
    date (``ensure_instance``), and a moved or copied home writes into its own folder."""
    older = older_home(tmp_path / "older")
    with dg.DagsterInstance.from_config(str(older)) as instance:
        assert type(instance.event_log_storage) is SqliteEventLogStorage
        run_id = _run_small(instance).run_id
        count = len(instance.all_logs(run_id))
    ensure_instance(older)
    with dg.DagsterInstance.from_config(str(older)) as instance:
        assert type(instance.event_log_storage) is HeldSqliteEventLogStorage
        assert len(instance.all_logs(run_id)) == count
        assert instance.get_run_by_id(run_id).is_success
    moved = tmp_path / "moved"
    shutil.move(older, moved)
    with dg.DagsterInstance.from_config(str(moved)) as instance:
        assert Path(instance.event_log_storage._base_dir) == moved / "history" / "runs"
        assert len(instance.all_logs(run_id)) == count
        again = _run_small(instance).run_id
    assert (moved / "history" / "runs" / f"{again}.db").exists() and not older.exists()


def test_every_held_storage_is_released_by_the_session(tmp_path):
    """``release_held_connections`` reaches every such storage in the process (the daemon's and the
    run's instances alike), and a storage with an explicit ``base_dir`` behaves as Dagster's does."""
    HeldSqliteEventLogStorage().dispose()  # made from a settings file, never registered: nothing to close
    storage = HeldSqliteEventLogStorage(base_dir=str(tmp_path / "runs"))
    try:
        with storage.index_connection() as conn:
            conn.execute(sa.text("SELECT 1"))
        assert storage._held
        event_log.release_held_connections()
        assert not storage._held
        assert storage.has_table("event_logs") and "event_logs" in storage._tables
    finally:
        storage.dispose()


# --- The rows stored, and each run's file ----------------------------------------------------------

years = dg.StaticPartitionsDefinition(["2024", "2025"])


@dg.asset(partitions_def=years)
def yearly(context) -> dg.MaterializeResult:
    return dg.MaterializeResult(metadata={"rows": 3, "year": context.partition_key}, tags={"dagster/data_version": "v1"})


@dg.asset_check(asset=yearly)
def yearly_has_rows() -> dg.AssetCheckResult:
    return dg.AssetCheckResult(passed=True, metadata={"rows": 3})


@dg.asset(check_specs=[dg.AssetCheckSpec("never_empty", asset="summary"), dg.AssetCheckSpec("fails", asset="summary")])
def summary():
    yield dg.Output(7)
    yield dg.AssetCheckResult(check_name="never_empty", passed=True)
    yield dg.AssetCheckResult(check_name="fails", passed=False, severity=dg.AssetCheckSeverity.WARN)


@dg.observable_source_asset
def upstream_files():
    return dg.DataVersion("abc")


rows_defs = dg.Definitions(
    assets=[yearly, summary, upstream_files, first, second],
    asset_checks=[yearly_has_rows, second_is_two],
    jobs=[dg.define_asset_job("yearly_job", selection=[yearly]), dg.define_asset_job("rest", selection=[summary, first, second])],
)

#: columns Dagster fills from the clock when a row is made (SQLite's ``CURRENT_TIMESTAMP``)
MADE_AT = {"create_timestamp", "updated_timestamp", "migration_completed"}


def _stored_rows(folder: Path) -> dict:
    """Every table of every event file in ``folder`` (the runs' files and the index): its schema and
    its rows in order, ids and stored timestamps included, the columns in ``MADE_AT`` left out."""
    out = {}
    for path in sorted(folder.glob("*.db")):
        with contextlib.closing(sqlite3.connect(path)) as conn:
            tables = [t for (t,) in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")]
            for table in tables:
                columns = [c[1] for c in conn.execute(f"PRAGMA table_info('{table}')") if c[1] not in MADE_AT]
                listed = ", ".join(f'"{c}"' for c in columns)
                out[path.name, table] = (columns, conn.execute(f"SELECT {listed} FROM '{table}' ORDER BY rowid").fetchall())
            out[path.name, "schema"] = sorted(conn.execute("SELECT type, name, sql FROM sqlite_master").fetchall())
    return out


def test_the_held_storage_stores_the_rows_dagster_stores(tmp_path):
    """The same events — two runs' worth of every kind a lianjian run stores (planned, materialized
    and observed assets, partitions, tags, planned and passed and failed checks, a check evaluation
    with no planned row, runs' status, logs) and runless ones — stored by Dagster's
    ``SqliteEventLogStorage`` and by the held storage leave the same files with the same rows."""
    events = []
    home = ensure_instance(tmp_path / "home").parent
    with dg.DagsterInstance.from_config(str(home)) as instance:
        storage_class = type(instance.event_log_storage)
        keep = storage_class.store_event

        def recorded(self, event):
            events.append(event)
            return keep(self, event)

        storage_class.store_event = recorded
        try:
            for partition in ("2024", "2025", "2024"):
                assert rows_defs.resolve_job_def("yearly_job").execute_in_process(instance=instance, partition_key=partition).success
            assert rows_defs.resolve_job_def("rest").execute_in_process(instance=instance, raise_on_error=False)
            instance.report_runless_asset_event(dg.AssetMaterialization("runless", metadata={"n": 1}))
            instance.report_runless_asset_event(dg.AssetObservation("runless"))
            instance.report_runless_asset_event(
                dg.AssetCheckEvaluation(asset_key=dg.AssetKey("runless"), check_name="outside", passed=True)
            )
        finally:
            storage_class.store_event = keep
    kinds = {e.dagster_event_type for e in events if e.dagster_event_type}
    for kind in (
        "ASSET_MATERIALIZATION",
        "ASSET_MATERIALIZATION_PLANNED",
        "ASSET_OBSERVATION",
        "ASSET_CHECK_EVALUATION",
        "ASSET_CHECK_EVALUATION_PLANNED",
        "RUN_START",
        "RUN_SUCCESS",
        "STEP_OUTPUT",
    ):
        assert dg.DagsterEventType[kind] in kinds
    # an evaluation whose planned event was never stored: its row is made by the evaluation
    planned = [e for e in events if e.dagster_event_type == dg.DagsterEventType.ASSET_CHECK_EVALUATION_PLANNED]
    events.remove(planned[-1])
    for name, storage_class, session in (
        ("dagster", SqliteEventLogStorage, contextlib.nullcontext),
        ("held", HeldSqliteEventLogStorage, contextlib.nullcontext),
        ("held_in_a_session", HeldSqliteEventLogStorage, light_sqlite_commits),  # events committed together
    ):
        storage = storage_class(base_dir=str(tmp_path / name))
        try:
            with session():
                for event in events:
                    storage.store_event(event)
        finally:
            storage.dispose()
    dagster_rows = _stored_rows(tmp_path / "dagster")
    for name in ("held", "held_in_a_session"):
        held_rows = _stored_rows(tmp_path / name)
        assert dagster_rows.keys() == held_rows.keys()
        for key in dagster_rows:
            assert held_rows[key] == dagster_rows[key], (name, key)
    counts = {key[1]: len(rows[1]) for key, rows in dagster_rows.items() if key[0] == "index.db" and key[1] != "schema"}
    assert counts["asset_keys"] >= 5 and counts["asset_check_executions"] >= 5 and counts["asset_event_tags"] >= 3


def test_the_last_materialization_is_serialized_by_dagster_when_the_composed_text_differs(tmp_path, monkeypatch):
    """An asset's last materialization is written from the event's text only while that text is what
    Dagster's serialization gives (checked once per storage); otherwise Dagster's serialization is
    used, so a change in Dagster's format never reaches the stored rows."""
    home = ensure_instance(tmp_path / "home").parent
    with dg.DagsterInstance.from_config(str(home)) as instance:
        instance.report_runless_asset_event(dg.AssetMaterialization("first"))
        storage = instance.event_log_storage
        assert storage._record_text_checked is True
        changed = f"{event_log.serialize_value(1)} "  # a different text than the one composed

        monkeypatch.setattr(event_log, "serialize_value", lambda value: changed)
        storage._record_text_checked = None
        instance.report_runless_asset_event(dg.AssetMaterialization("second"))
        assert storage._record_text_checked is False
        with storage.index_connection() as conn:
            stored = conn.execute(sa.text("SELECT last_materialization FROM asset_keys WHERE asset_key = '[\"second\"]'")).scalar()
        assert stored == changed


def test_the_index_columns_are_reflected_once(tmp_path):
    """Dagster reads the index's ``asset_keys`` columns (``PRAGMA table_info``) for every asset event;
    the held storage once per process."""

    def reflections(home: Path) -> int:
        statements = []

        def seen(_conn, _cursor, statement, *_args):
            statements.append(statement)

        with dg.DagsterInstance.from_config(str(home)) as instance:  # its files made first
            sa.event.listen(sa.engine.Engine, "before_cursor_execute", seen)
            try:
                for partition in ("2024", "2025", "2024"):
                    assert rows_defs.resolve_job_def("yearly_job").execute_in_process(instance=instance, partition_key=partition).success
            finally:
                sa.event.remove(sa.engine.Engine, "before_cursor_execute", seen)
        return sum("table_info" in s and "asset_keys" in s for s in statements)

    ours = reflections(ensure_instance(tmp_path / "home").parent)
    theirs = reflections(older_home(tmp_path / "older"))
    assert ours <= 1 and theirs >= 6


def _schema_and_stamp(path: Path):
    with contextlib.closing(sqlite3.connect(path)) as conn:
        return (
            sorted(conn.execute("SELECT type, name, tbl_name, sql FROM sqlite_master").fetchall()),
            conn.execute("SELECT version_num FROM alembic_version").fetchall(),
            conn.execute("PRAGMA journal_mode").fetchone(),
        )


def test_a_runs_file_is_a_copy_of_the_template_dagster_made(tmp_path, monkeypatch):
    """A new home gets the run-file template with its index: an empty event file made and stamped by
    Dagster's ``_initdb``, outside the runs' listing. A run's file is then a copy of it — the tables,
    the stamp and the WAL mode ``_initdb`` gives a file — without ``_initdb``; a file already there
    is kept as it is, and a template that fails its checks is not used."""
    home = ensure_instance(tmp_path / "home").parent
    folder = home / "history" / "runs"
    calls = []
    keep = SqliteEventLogStorage._initdb

    def counted(self, engine, for_index_shard=False):
        calls.append(str(engine.url))
        return keep(self, engine, for_index_shard=for_index_shard)

    monkeypatch.setattr(SqliteEventLogStorage, "_initdb", counted)
    with dg.DagsterInstance.from_config(str(home)) as instance:
        template = folder / event_log.TEMPLATE_NAME
        assert template.exists() and [url for url in calls if "index.db" not in url] == [calls[-1]]  # once
        assert not [f for f in os.listdir(folder) if f.endswith((".tmp", "-wal", "-shm")) and "template" in f]
        calls.clear()
        run_id = _run_small(instance).run_id
        assert calls == [] and instance.event_log_storage.get_all_run_ids() == [run_id]
        reference = tmp_path / "reference.db"
        engine = sa.create_engine(f"sqlite:///{reference}")
        keep(instance.event_log_storage, engine)
        engine.dispose()
        assert _schema_and_stamp(folder / f"{run_id}.db") == _schema_and_stamp(reference)
        assert len(instance.all_logs(run_id)) > 10
    assert not [f for f in os.listdir(folder) if f.endswith(".tmp")]

    # a run's file made elsewhere first (the daemon, another process) is kept, events and all
    storage = HeldSqliteEventLogStorage(base_dir=str(tmp_path / "elsewhere"))
    try:
        other = SqliteEventLogStorage(base_dir=str(tmp_path / "elsewhere"))
        with dg.DagsterInstance.from_config(str(home)) as instance:
            for record in instance.all_logs(run_id)[:3]:
                other.store_event(record)
        other.dispose()
        assert not event_log.copy_run_file(storage, run_id)
        with storage.run_connection(run_id) as conn:
            assert conn.execute(sa.text("SELECT count(*) FROM event_logs")).scalar() == 3
    finally:
        storage.dispose()

    # a damaged template is made again; one that cannot be made is not used: the file is made by _initdb
    damaged = tmp_path / "damaged"
    ensure_instance(damaged)
    with dg.DagsterInstance.from_config(str(damaged)):
        pass
    template = damaged / "history" / "runs" / event_log.TEMPLATE_NAME
    good = template.read_bytes()
    template.write_bytes(good[:4096])
    event_log._templates.clear()
    calls.clear()
    with dg.DagsterInstance.from_config(str(damaged)) as instance:
        assert template.read_bytes() == good
        run_id = _run_small(instance).run_id
        made = [url for url in calls if "index.db" not in url]
        assert len(made) == 1 and event_log.TEMPLATE_NAME in made[0] and len(instance.all_logs(run_id)) > 10
    template.write_bytes(good[:4096])
    event_log._templates.clear()
    monkeypatch.setattr(event_log, "_make_template", lambda storage, path: None)
    with dg.DagsterInstance.from_config(str(damaged)) as instance:
        run_id = _run_small(instance).run_id
        assert any(run_id in url for url in calls)
        assert len(instance.all_logs(run_id)) > 10


def _memory_rows(storage) -> dict:
    """Every table of an in-memory event storage: its rows in order, the columns in ``MADE_AT`` left out."""
    out = {}
    with storage.index_connection() as conn:
        raw = conn.connection.dbapi_connection
        tables = [t for (t,) in raw.execute("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")]
        for table in tables:
            columns = [c[1] for c in raw.execute(f"PRAGMA table_info('{table}')") if c[1] not in MADE_AT]
            listed = ", ".join(f'"{c}"' for c in columns)
            out[table] = (columns, raw.execute(f"SELECT {listed} FROM '{table}' ORDER BY rowid").fetchall())
    return out


def test_the_throw_away_instance_stores_the_rows_dagsters_in_memory_storage_stores(monkeypatch):
    """`lianjian run` without DAGSTER_HOME: the throw-away instance's event storage writes Dagster's
    rows — events, tags, assets' rows with their last materialization, check executions, runless
    events — for every kind of event, serializing each event once (Dagster: again for a check's row
    and for an asset's last materialization)."""
    from dagster._core.storage.event_log import InMemoryEventLogStorage

    from pipelines.instance import light_ephemeral_instance

    events = []
    with dg.DagsterInstance.ephemeral() as instance:
        storage_class = type(instance.event_log_storage)
        keep = storage_class.store_event

        def recorded(self, event):
            events.append(event)
            return keep(self, event)

        monkeypatch.setattr(storage_class, "store_event", recorded)
        for partition in ("2024", "2025", "2024"):
            assert rows_defs.resolve_job_def("yearly_job").execute_in_process(instance=instance, partition_key=partition).success
        assert rows_defs.resolve_job_def("rest").execute_in_process(instance=instance, raise_on_error=False)
        instance.report_runless_asset_event(dg.AssetMaterialization("runless", metadata={"n": 1}))
        instance.report_runless_asset_event(dg.AssetObservation("runless"))
        instance.report_runless_asset_event(dg.AssetCheckEvaluation(asset_key=dg.AssetKey("runless"), check_name="outside", passed=True))
        monkeypatch.undo()
    kinds = ("ASSET_MATERIALIZATION", "ASSET_OBSERVATION", "ASSET_CHECK_EVALUATION_PLANNED", "ASSET_CHECK_EVALUATION", "RUN_SUCCESS")
    assert {dg.DagsterEventType[k] for k in kinds} <= {e.dagster_event_type for e in events}
    planned = [e for e in events if e.dagster_event_type == dg.DagsterEventType.ASSET_CHECK_EVALUATION_PLANNED]
    events.remove(planned[-1])  # an evaluation whose planned event was never stored: its row made by the evaluation

    serialized = []
    real = event_log.serialize_value

    def counted(value, *args, **kwargs):
        serialized.append(value)
        return real(value, *args, **kwargs)

    theirs, light = InMemoryEventLogStorage(), light_ephemeral_instance()
    ours = light.event_log_storage
    try:
        for event in events:
            theirs.store_event(event)
        monkeypatch.setattr("dagster._core.storage.event_log.sql_event_log.serialize_value", counted)
        monkeypatch.setattr(event_log, "serialize_value", counted)
        for event in events:
            ours.store_event(event)
        monkeypatch.undo()
        # once each, once to check the composed record text, once more for the runless check's row
        # (Dagster's own method); Dagster's storage: again for every check's row and materialization
        assert len(serialized) <= len(events) + 2
        dagster_rows, light_rows = _memory_rows(theirs), _memory_rows(ours)
        del dagster_rows["alembic_version"]  # the throw-away instance stamps no migration revision
        assert dagster_rows.keys() == light_rows.keys()
        for table in dagster_rows:
            assert light_rows[table] == dagster_rows[table], table
        assert len(dagster_rows["asset_check_executions"][1]) >= 5 and len(dagster_rows["asset_keys"][1]) >= 4
    finally:
        theirs.dispose()
        light.dispose()


def test_an_events_row_is_inserted_by_a_statement_compiled_once(tmp_path):
    """An event's row is written with the statement SQLAlchemy compiled once, its timestamp converted
    by the column type's own conversion, on the driver's connection: no execution set up by
    SQLAlchemy per row (the same rows as Dagster's: ``test_the_held_storage_stores_the_rows_dagster_stores``)."""
    statements = []

    def seen(_conn, _cursor, statement, *_args):
        statements.append(statement)

    home = ensure_instance(tmp_path / "home").parent
    with dg.DagsterInstance.from_config(str(home)) as instance:
        _run_small(instance)
        sa.event.listen(sa.engine.Engine, "before_cursor_execute", seen)
        try:
            result = _run_small(instance)
        finally:
            sa.event.remove(sa.engine.Engine, "before_cursor_execute", seen)
        stored = instance.all_logs(result.run_id)
        assert len(stored) > 15
        assert not [s for s in statements if s.startswith("INSERT INTO event_logs")]
        index = home / "history" / "runs" / "index.db"
        (text,) = _index_rows(index, f"SELECT timestamp FROM event_logs WHERE run_id = '{result.run_id}' ORDER BY id LIMIT 1")[0]
        assert text == event_log.datetime_from_timestamp(stored[0].timestamp).strftime("%Y-%m-%d %H:%M:%S.%f")


def test_a_group_that_fails_to_commit_in_time_fails_the_next_stored_event(tmp_path, monkeypatch):
    """A group committed by the storage's thread that fails (a full disk) is not lost silently: the next
    event stored raises the error, where Dagster's own commit would have raised it."""
    import threading

    home = ensure_instance(tmp_path / "home").parent
    with dg.DagsterInstance.from_config(str(home)) as instance:
        storage = instance.event_log_storage
        keep = sa.engine.Connection.commit

        def full_disk_in_the_thread(conn):
            if threading.current_thread().name == "lianjian-event-commits":
                raise OSError("No space left on device")
            return keep(conn)

        monkeypatch.setattr(sa.engine.Connection, "commit", full_disk_in_the_thread)
        with light_sqlite_commits():
            instance.report_runless_asset_event(dg.AssetMaterialization("lost"))
            deadline = time.monotonic() + 30
            while storage._failed_commit is None and time.monotonic() < deadline:
                time.sleep(GROUP_SECONDS)
            with pytest.raises(OSError, match="No space left"):
                instance.report_runless_asset_event(dg.AssetMaterialization("next"))
            monkeypatch.undo()
            instance.report_runless_asset_event(dg.AssetMaterialization("after"))
        assert {k.to_user_string() for k in instance.all_asset_keys()} == {"after"}  # the failed group's event is not there
