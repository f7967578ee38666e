"""The run history's run storage of the project's SQLite instance (pipelines/run_storage.py): one
connection per process — the daemon creating runs, the code server's ticks, the webserver, a run's
worker — with the file, the transactions and the sharing between processes as Dagster has them; and
Alembic's migration scripts read once per process when instances are opened."""

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
from dagster._core.storage.runs.sqlite.sqlite_run_storage import SqliteRunStorage
from support_instance import older_home

from pipelines import event_log, run_storage
from pipelines.instance import ensure_instance, light_sqlite_commits
from pipelines.run_storage import HeldSqliteRunStorage

ROOT = Path(__file__).resolve().parents[1]


@dg.asset
def first() -> int:
    return 1


small_defs = dg.Definitions(assets=[first], jobs=[dg.define_asset_job("small", selection=[first])])


def _run_small(instance: dg.DagsterInstance):
    result = small_defs.resolve_job_def("small").execute_in_process(instance=instance, tags={"lianjian/warehouse": "w"})
    assert result.success
    return result


@pytest.fixture
def runs_connections():
    """The SQLite connections SQLAlchemy opens to a run storage's ``runs.db``."""
    opened: list[str] = []

    def count(dbapi_connection, _record):
        path = next((row[2] for row in dbapi_connection.execute("PRAGMA database_list") if row[1] == "main"), "")
        if os.path.basename(path) == "runs.db":
            opened.append(path)

    sa.event.listen(sa.engine.Engine, "connect", count)
    try:
        yield opened
    finally:
        sa.event.remove(sa.engine.Engine, "connect", count)


def _rows(db: Path) -> dict:
    """Every row of the run storage's tables but the snapshots' and the daemon's, without the columns
    that hold times or the database's own ids."""
    skip = {"id", "create_timestamp", "update_timestamp", "start_time", "end_time", "timestamp", "snapshot_body"}
    out = {}
    with contextlib.closing(sqlite3.connect(db)) as conn:
        for (table,) in conn.execute("SELECT name FROM sqlite_master WHERE type='table' AND name IN ('runs', 'run_tags', 'snapshots')"):
            cols = [r[1] for r in conn.execute(f"PRAGMA table_info({table})") if r[1] not in skip]
            out[table] = sorted(map(repr, conn.execute(f"SELECT {', '.join(cols)} FROM {table}")))
    return out


def test_the_project_instance_keeps_its_runs_over_one_connection_with_dagsters_rows(tmp_path, runs_connections):
    """A home made by ``ensure_instance`` keeps its list of runs in the instance folder's
    ``history/runs.db`` — where Dagster's default storage keeps it — over one connection for all its
    calls (creating the run, its start and end, the look-ups), where Dagster's storage on a home made by
    older code connects for every call; the same runs, tags and snapshots either way, and the file
    reads the same through Dagster's own class."""
    home = ensure_instance(tmp_path / "home").parent
    with dg.DagsterInstance.from_config(str(home)) as instance:
        assert type(instance.run_storage) is HeldSqliteRunStorage
        _run_small(instance)
        before = len(runs_connections)
        run_id = _run_small(instance).run_id
        ours = len(runs_connections) - before
        assert instance.get_run_by_id(run_id).is_success
    with dg.DagsterInstance.from_config(str(older_home(tmp_path / "older"))) as instance:
        assert type(instance.run_storage) is SqliteRunStorage
        _run_small(instance)
        before = len(runs_connections)
        _run_small(instance)
        theirs = len(runs_connections) - before
    assert ours <= 1 and theirs > 5
    ours_rows, their_rows = _rows(home / "history" / "runs.db"), _rows(tmp_path / "older" / "history" / "runs.db")
    assert {t: len(r) for t, r in ours_rows.items()} == {t: len(r) for t, r in their_rows.items()}
    assert ours_rows["snapshots"] == their_rows["snapshots"]  # the same job's and plan's snapshots, by their ids
    plain = SqliteRunStorage.from_local(str(home / "history"))
    try:
        (run,) = plain.get_runs(dg.RunsFilter(run_ids=[run_id]))
        assert run.is_success
        assert plain.get_run_tags(tag_keys=["lianjian/warehouse"]) == [("lianjian/warehouse", {"w"})]
    finally:
        plain.dispose()


def test_the_held_connection_leaves_the_file_to_other_processes(tmp_path):
    """Between two calls the held connection holds no lock and no snapshot: another connection writes
    the file with no busy timeout, another process (the daemon, the webserver) adds a run, and the
    held connection's next call sees both; its commits do not wait for the disk."""
    home = ensure_instance(tmp_path / "home").parent
    with dg.DagsterInstance.from_config(str(home)) as instance:
        storage = instance.run_storage
        first_run = _run_small(instance).run_id
        assert storage._held is not None
        (synchronous,) = storage._held[1].connection.dbapi_connection.execute("PRAGMA synchronous").fetchone()
        assert synchronous == 1  # NORMAL
        with contextlib.closing(sqlite3.connect(home / "history" / "runs.db", timeout=0)) as other:
            other.execute("BEGIN IMMEDIATE")
            other.execute("INSERT INTO kvs (key, value) VALUES ('other', '1')")
            other.commit()
        code = (
            "import dagster as dg\n"
            "from tests.test_held_run_storage import small_defs\n"
            f"with dg.DagsterInstance.from_config({str(home)!r}) as i:\n"
            "    print(small_defs.resolve_job_def('small').execute_in_process(instance=i).run_id)\n"
        )
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=180,
                             env={**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), str(ROOT / "tests")])})
        assert out.returncode == 0, out.stderr[-2000:]
        other_run = out.stdout.strip().splitlines()[-1]
        assert {r.run_id for r in instance.get_runs()} == {first_run, other_run}
        assert instance.run_storage.get_cursor_values({"other"}) == {"other": "1"}


def test_a_failed_call_is_rolled_back_and_its_connection_not_kept_and_sessions_release_it(tmp_path):
    """A call that fails is rolled back and its connection closed (the next call opens another); a call
    made inside another by the same thread joins its transaction, and nothing else does; the end of a run's session closes
    the connection, so the write-ahead log is checkpointed there, once; ``dispose`` closes it too."""
    home = ensure_instance(tmp_path / "home").parent
    with dg.DagsterInstance.from_config(str(home)) as instance:
        storage = instance.run_storage
        storage.set_cursor_values({"kept": "1"})
        with pytest.raises(RuntimeError), storage.connect() as conn:
            conn.execute(sa.text("INSERT INTO kvs (key, value) VALUES ('lost', '1')"))
            raise RuntimeError("a call that fails")
        assert storage._held is None
        assert storage.get_cursor_values({"kept", "lost"}) == {"kept": "1"}
        with storage.connect() as outer:
            outer.execute(sa.text("INSERT INTO kvs (key, value) VALUES ('inner', '0')"))
            storage.set_cursor_values({"inner": "1"})  # the same transaction: no lock waited for
        assert storage.get_cursor_values({"inner"}) == {"inner": "1"}
        # a transaction begun on the connection outside any call is not joined by the next call
        storage._held[1].execute(sa.text("INSERT INTO kvs (key, value) VALUES ('outside', '1')"))
        storage.set_cursor_values({"next": "1"})
        assert storage.get_cursor_values({"outside", "next"}) == {"next": "1"}
        with light_sqlite_commits():
            _run_small(instance)
            assert storage._held is not None
        assert storage._held is None
        storage.get_cursor_values({"kept"})
        event_log.release_held_connections()  # any storage of the process, the daemon's as a run's
        assert storage._held is None
    assert not (home / "history" / "runs.db-wal").exists()


def test_the_runs_tables_columns_are_reflected_once_per_storage(tmp_path, monkeypatch):
    """Dagster reflects the runs table for the run stats' columns at every read of a run's record, on a
    call of its own; the held storage asks the file once, in every process, once they are there, and
    again after an upgrade (``dagster instance migrate`` adds them)."""
    from dagster._core.storage.runs.sql_run_storage import SqlRunStorage

    asked = []
    dagsters = SqlRunStorage.has_run_stats_index_cols
    monkeypatch.setattr(SqlRunStorage, "has_run_stats_index_cols", lambda self: asked.append(1) or dagsters(self))
    home = ensure_instance(tmp_path / "home").parent
    with dg.DagsterInstance.from_config(str(home)) as instance:
        run_id = _run_small(instance).run_id  # the columns seen (the file's set-up asks too)
        del asked[:]
        records = [instance.get_run_record_by_id(run_id) for _ in range(3)]
        assert not asked and all(r.start_time for r in records)
        instance.run_storage.upgrade()
        instance.get_run_record_by_id(run_id)
        assert len(asked) == 1


def test_a_home_keeps_its_own_file_when_moved_and_an_explicit_base_dir_is_dagsters(tmp_path):
    """Without ``base_dir`` the file is the instance folder's ``history/runs.db``: a home made by older
    code reads the same runs once its dagster.yaml is brought up to date (``ensure_instance``), and a
    moved home uses its own file; with ``base_dir`` the storage is made where Dagster's would be."""
    older = older_home(tmp_path / "older")
    with dg.DagsterInstance.from_config(str(older)) as instance:
        assert type(instance.run_storage) is SqliteRunStorage
        run_id = _run_small(instance).run_id
    ensure_instance(older)
    moved = tmp_path / "moved"
    shutil.move(older, moved)
    with dg.DagsterInstance.from_config(str(moved)) as instance:
        assert type(instance.run_storage) is HeldSqliteRunStorage
        assert instance.run_storage._conn_string.endswith(str(moved / "history" / "runs.db"))
        assert instance.get_run_by_id(run_id).is_success
        assert len(instance.get_runs()) == 1
    explicit = HeldSqliteRunStorage.from_config_value(None, {"base_dir": str(tmp_path / "explicit")})
    try:
        explicit.set_cursor_values({"k": "v"})
        assert (tmp_path / "explicit" / "runs.db").exists() and explicit.get_cursor_values({"k"}) == {"k": "v"}
    finally:
        explicit.dispose()


def test_opening_instances_reads_alembics_scripts_once_per_process(tmp_path, monkeypatch):
    """Opening the project's instance checks each storage's Alembic revision as Dagster does — the
    database's revision against the newest script's — but the scripts are read once per process: a
    schedule's or sensor's tick opening an instance from the daemon's reference reads none."""
    from alembic.script import Script

    import dagster._core.storage.sql as dagster_sql

    home = ensure_instance(tmp_path / "home").parent
    with dg.DagsterInstance.from_config(str(home)) as instance:
        ref = instance.get_ref()
        db_revision, head = instance.run_storage.alembic_version()
    assert db_revision == head and head
    assert dagster_sql.ScriptDirectory is run_storage.ScriptsReadOnce
    loaded: list[str] = []
    real = Script._from_path.__func__
    monkeypatch.setattr(Script, "_from_path", classmethod(lambda cls, *a, **k: loaded.append(a) or real(cls, *a, **k)))
    with dg.DagsterInstance.from_ref(ref) as again:
        assert again.run_storage.alembic_version() == (db_revision, head)
        assert again.schedule_storage.alembic_version()[1] == head
    assert loaded == []
    monkeypatch.setattr(run_storage, "_scripts", {})  # without what was read: each storage's check reads them
    with dg.DagsterInstance.from_ref(ref):
        pass
    assert len(loaded) > 50
