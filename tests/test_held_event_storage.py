"""The run history's event storage of the project's SQLite instance (pipelines/event_log.py): one
connection per file in every process that uses it — the daemon creating a run, the webserver, a run's
worker — with the files, the transactions and the sharing between processes as Dagster has them."""

from __future__ import annotations

import contextlib
import os
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import dagster as dg
import pytest
import sqlalchemy as sa
from dagster._core.storage.event_log.sqlite.sqlite_event_log import SqliteEventLogStorage
from support_instance import older_home

from pipelines import event_log
from pipelines.event_log import HELD_RUN_FILES, HeldSqliteEventLogStorage
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


@pytest.fixture
def connections():
    """The event files' SQLite connections SQLAlchemy opens (Dagster's storages open theirs through
    it), by file: those under ``history/runs``, not the run storage's ``runs.db``."""
    opened = []

    def count(dbapi_connection, _record):
        path = next((row[2] for row in dbapi_connection.execute("PRAGMA database_list") if row[1] == "main"), "")
        if os.path.join("history", "runs", "") in path:
            opened.append(os.path.basename(path))

    sa.event.listen(sa.engine.Engine, "connect", count)
    yield opened
    sa.event.remove(sa.engine.Engine, "connect", count)


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
        with contextlib.closing(sqlite3.connect(index, timeout=0)) as other:
            other.execute("BEGIN IMMEDIATE")  # "database is locked" if a write lock were held
            other.execute("INSERT INTO asset_keys (asset_key) VALUES ('[\"other\"]')")
            other.commit()
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
    them — so a home made by older code reads the same history once its dagster.yaml names the new
    storage, and a moved or copied home writes into its own folder."""
    older = older_home(tmp_path / "older")
    with dg.DagsterInstance.from_config(str(older)) as instance:
        run_id = _run_small(instance).run_id
        count = len(instance.all_logs(run_id))
    ensure_instance(tmp_path / "new")
    shutil.copy(tmp_path / "new" / "dagster.yaml", older / "dagster.yaml")
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
