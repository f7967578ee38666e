"""What a run costs whatever its size (docs/performance.md, "Fixed cost of a run"): the run history in
SQLite written without waiting for the disk at every event, and how many events a run stores. Speed
itself is measured by benchmarks/run.py; these tests fail when the reason for the speed is lost."""

from __future__ import annotations

import contextlib
import sqlite3
from pathlib import Path

import dagster as dg
import pytest
import sqlalchemy as sa
from sqlalchemy.pool import NullPool
from support_instance import older_home

from pipelines import instance as instance_mod
from pipelines.instance import ensure_instance, light_sqlite_commits
from tests.support_ingest import write_landing

ROOT = Path(__file__).resolve().parents[1]
RULES = ROOT / "rules" / "default.yaml"


def _wal_database(path: Path) -> sa.Engine:
    """A SQLite file in WAL mode opened as Dagster's event storage opens its files: a new connection
    for every use (NullPool)."""
    with contextlib.closing(sqlite3.connect(path)) as conn:
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("CREATE TABLE events (n INTEGER)")
        conn.commit()
    return sa.create_engine(f"sqlite:///{path}", poolclass=NullPool)


def _store(engine: sa.Engine, n: int) -> int:
    """One event as Dagster stores it: connect, insert, commit, close; returns the connection's
    ``synchronous`` setting (2 FULL, SQLite's default; 1 NORMAL)."""
    with engine.connect() as conn, conn.begin():
        conn.execute(sa.text("INSERT INTO events VALUES (:n)"), {"n": n})
        return conn.execute(sa.text("PRAGMA synchronous")).scalar()


def test_inside_a_session_commits_do_not_sync_and_closing_does_not_checkpoint(tmp_path):
    """Outside a session SQLite's defaults hold: each commit syncs (FULL) and closing the only
    connection checkpoints the log into the database and deletes it. Inside, commits are NORMAL and
    the log stays (one connection is kept open) until the session ends; every row is there after."""
    db = tmp_path / "events.db"
    wal = Path(f"{db}-wal")
    engine = _wal_database(db)

    assert _store(engine, 0) == 2
    assert not wal.exists()  # checkpointed and deleted at the close

    with light_sqlite_commits():
        assert [_store(engine, n) for n in range(1, 6)] == [1] * 5
        assert wal.exists() and wal.stat().st_size > 0  # no checkpoint at each close
        with contextlib.closing(sqlite3.connect(db)) as conn:  # the kept connection holds no snapshot:
            busy, _, _ = conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()  # checkpoints go on
        assert busy == 0
        with light_sqlite_commits():  # sessions nest (the executor's inside `lianjian run`)
            assert _store(engine, 6) == 1
        assert instance_mod._keepers  # still open: the outer session goes on
    assert not instance_mod._keepers and not instance_mod._sessions
    assert not wal.exists()  # the session's end checkpointed the log once

    assert _store(engine, 7) == 2  # defaults again
    with contextlib.closing(sqlite3.connect(db)) as conn:
        assert [n for (n,) in conn.execute("SELECT n FROM events ORDER BY n")] == list(range(8))


def test_a_database_not_in_wal_mode_is_left_alone(tmp_path):
    db = tmp_path / "plain.db"
    with contextlib.closing(sqlite3.connect(db)) as conn:
        conn.execute("CREATE TABLE events (n INTEGER)")
        conn.commit()
    engine = sa.create_engine(f"sqlite:///{db}", poolclass=NullPool)
    with light_sqlite_commits():
        assert _store(engine, 1) == 2
        assert not instance_mod._keepers


@pytest.fixture
def sessions(monkeypatch):
    """Records, for every session opened, whether a Dagster event was stored inside it."""
    opened: list[dict] = []
    real = instance_mod.light_sqlite_commits

    @contextlib.contextmanager
    def recording():
        entry = {"events": 0}
        opened.append(entry)
        with real():
            yield
        entry["closed"] = True

    def count(self, event, *args, **kwargs):
        for entry in opened:
            if "closed" not in entry:
                entry["events"] += 1
        return original(self, event, *args, **kwargs)

    from dagster._core.instance import DagsterInstance

    original = DagsterInstance.handle_new_event
    monkeypatch.setattr(DagsterInstance, "handle_new_event", count)
    monkeypatch.setattr(instance_mod, "light_sqlite_commits", recording)
    import pipelines.executor

    monkeypatch.setattr(pipelines.executor, "light_sqlite_commits", recording)
    return opened


def test_lianjian_run_stores_its_events_inside_a_session(tmp_path, sessions):
    """Both Dagster runs of `lianjian run`: every event after the first run's creation is stored
    inside the session, and the run history is whole afterwards."""
    from lianjian.runner import run_pipeline

    landing = write_landing(tmp_path / "landing")
    home = tmp_path / "home"
    ensure_instance(home)
    with dg.DagsterInstance.from_config(str(home)) as instance:
        outcome = run_pipeline(landing, tmp_path / "wh", RULES, instance=instance, progress=False, reports=False)
        assert outcome.success, outcome.failure
        stored = sum(len(instance.all_logs(run_id)) for run_id in outcome.run_ids)
    assert len(sessions) == 1 and sessions[0]["events"] == stored
    assert len(outcome.run_ids) == 2
    # each step's seconds, from the step events alone
    assert {"staged_tables", "staged_data_quality", "publish"} <= set(outcome.step_seconds)
    assert all(seconds >= 0 for seconds in outcome.step_seconds.values())


def test_a_run_launched_by_the_daemon_stores_its_steps_events_inside_a_session(tmp_path, sessions):
    """A run launched by the schedule, a sensor or the UI (``execute_job`` with the job's own
    executor): the executor opens the session for the steps."""
    from pipelines import definitions

    landing = write_landing(tmp_path / "landing")
    home = tmp_path / "home"
    ensure_instance(home)
    with dg.DagsterInstance.from_config(str(home)) as instance:
        result = dg.execute_job(
            dg.reconstructable(definitions.ingest_job),
            instance=instance,
            run_config={"resources": {"lianjian": {"config": {"landing": str(landing), "warehouse": str(tmp_path / "wh"), "rules": str(RULES)}}}},
        )
        assert result.success
        logs = instance.all_logs(result.run_id)
    steps = [e for e in logs if e.dagster_event and e.dagster_event.event_type_value in ("STEP_START", "STEP_SUCCESS")]
    assert len(sessions) == 1 and sessions[0]["events"] >= len(steps) > 0


def test_starting_lianjian_imports_neither_great_expectations_nor_pandas():
    """The command line and the Dagster definitions load without Great Expectations (≈ 3 s) and
    pandas (≈ 0.3 s): a run imports them when a suite must run, a cache hit or `lianjian explain`
    never."""
    import subprocess
    import sys

    code = (
        "import sys, lianjian.cli, lianjian.runner, pipelines.definitions; "
        "print(sorted(m for m in ('great_expectations', 'pandas') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True)
    assert out.stdout.strip() == "[]"


def test_the_contract_files_read_the_same_with_either_yaml_loader():
    import yaml

    from lianjian import contract

    for name in ("sources.yaml", "published.yaml"):
        text = (contract.HERE / name).read_text(encoding="utf-8")
        assert contract._load_yaml(name) == yaml.safe_load(text)


#: Events a `lianjian run` of the demo data stores (both runs, with the reports): 678 on 2026-12-05.
#: Each one is a write to the run history; a new asset, check, input or year partition adds some. Raise
#: the bound knowingly (docs/performance.md, "Fixed cost of a run"), not to make this test pass.
DEMO_EVENTS_BOUND = 700


def test_a_demo_run_stores_a_bounded_number_of_events_and_plans_only_the_data_years(recorded):
    from pipelines.partitions import staged_years

    home, warehouse, outcome = recorded
    with dg.DagsterInstance.from_config(str(home)) as instance:
        logs = [entry for run_id in outcome.run_ids for entry in instance.all_logs(run_id)]
    assert len(outcome.run_ids) == 2
    assert len(logs) <= DEMO_EVENTS_BOUND, len(logs)
    first, last = staged_years(warehouse)
    planned = {
        e.dagster_event.event_specific_data.partition
        for e in logs
        if e.dagster_event and e.dagster_event.event_type_value == "ASSET_MATERIALIZATION_PLANNED"
    }
    assert planned - {None} == {str(y) for y in range(int(first), int(last) + 1)}


def test_the_publish_steps_audit_metadata_is_on_its_materializations_only(recorded):
    """Each published table's materialization carries the auditor's metadata (the input files' table
    among it), and the publish step's output events do not carry a copy of it: after the switch the
    step serializes and stores each table's ≈ 20 KB once, not twice."""
    from assets.published import OUTPUT_KEYS

    home, _, outcome = recorded
    keys = {dg.AssetKey(path) for path in OUTPUT_KEYS.values()}
    with dg.DagsterInstance.from_config(str(home)) as instance:
        logs = [e for e in instance.all_logs(outcome.run_ids[-1]) if e.dagster_event and e.step_key == "publish"]
    materialized = [e.dagster_event.event_specific_data.materialization for e in logs if e.dagster_event.event_type_value == "ASSET_MATERIALIZATION"]
    outputs = [e.dagster_event.event_specific_data for e in logs if e.dagster_event.event_type_value == "STEP_OUTPUT"]
    assert {m.asset_key for m in materialized} == keys
    assert all({"inputs", "inputs_sha256", "rules_sha256", "dagster_run_ids"} <= set(m.metadata) for m in materialized)
    assert len(outputs) >= len(keys) and not any(o.metadata for o in outputs)


CACHE_HIT = """
import sys
sys.path.insert(0, "tests")
from support_quality import staged
from lianjian.quality.validate import validate_cached
result = validate_cached("cases", staged()["cases"], sys.argv[1])
print(result.cached, "great_expectations" in sys.modules)
"""


def test_a_suite_result_from_the_cache_imports_no_great_expectations(tmp_path):
    """The first process validates (and imports GX); the second finds the result in the cache and
    never imports GX."""
    import subprocess
    import sys

    def once() -> str:
        return subprocess.run(
            [sys.executable, "-c", CACHE_HIT, str(tmp_path)], capture_output=True, text=True, cwd=ROOT, check=True
        ).stdout.strip()

    assert once() == "False True"
    assert once() == "True False"


def test_the_suite_fingerprint_follows_the_contract_declaration(monkeypatch):
    """The cache key changes when a source's declaration changes (here whether a column is required),
    not when another source's does."""
    import dataclasses

    from lianjian.contract import SOURCES
    from lianjian.quality.suites import suite_fingerprint

    before = {src: suite_fingerprint(src) for src in ("cases", "talks")}
    cases = SOURCES["cases"]
    optional = next(i for i, c in enumerate(cases.columns) if not c.required and not c.personal)
    columns = tuple(dataclasses.replace(c, required=True) if i == optional else c for i, c in enumerate(cases.columns))
    monkeypatch.setitem(SOURCES, "cases", dataclasses.replace(cases, columns=columns))
    assert suite_fingerprint("cases") != before["cases"]
    assert suite_fingerprint("talks") == before["talks"]


@pytest.fixture
def connections():
    """Counts the SQLite connections SQLAlchemy opens (Dagster's storages open theirs through it)."""
    opened = []

    def count(dbapi_connection, _record):
        opened.append(1)

    sa.event.listen(sa.engine.Engine, "connect", count)
    yield opened
    sa.event.remove(sa.engine.Engine, "connect", count)


def test_the_throw_away_instance_stores_a_run_over_its_held_connections(tmp_path, monkeypatch, connections):
    """`lianjian run` without DAGSTER_HOME: the in-memory instance stores both runs' events (several
    hundred) without opening a connection per event — Dagster's own in-memory storages open one for
    each — and holds the same history (run status, steps, checks) as Dagster's ephemeral instance,
    but one "planned" event per year-partitioned asset instead of one per asset and year."""
    import threading

    from lianjian.runner import instance_for_run, run_pipeline

    monkeypatch.delenv("DAGSTER_HOME", raising=False)
    monkeypatch.chdir(tmp_path)  # no ./.dagster_home here
    landing = write_landing(tmp_path / "landing")
    instance = instance_for_run()
    assert instance.is_ephemeral
    before = len(connections)
    outcome = run_pipeline(landing, tmp_path / "wh", RULES, instance=instance, progress=False, reports=False)
    assert outcome.success, outcome.failure
    assert len(connections) - before <= 5  # the light instance: none per event
    logs = [e for run_id in outcome.run_ids for e in instance.all_logs(run_id)]
    assert len(logs) > 200
    assert [instance.get_run_by_id(r).status for r in outcome.run_ids] == [dg.DagsterRunStatus.SUCCESS] * 2
    assert {"staged_tables", "staged_data_quality", "publish"} <= set(outcome.step_seconds)

    seen = []  # another thread (the steps' threads log too) uses the same storage
    thread = threading.Thread(target=lambda: seen.append(len(instance.all_logs(outcome.run_ids[0]))))
    thread.start()
    thread.join()
    assert seen == [len(instance.all_logs(outcome.run_ids[0]))]

    with dg.DagsterInstance.ephemeral() as plain:  # what it replaces: a connection for every event
        first = len(connections)
        again = run_pipeline(landing, tmp_path / "wh2", RULES, instance=plain, progress=False, reports=False, force=True)
        assert again.success
        assert len(connections) - first > 200

        def events(inst, o, planned: bool):
            return [
                e.dagster_event
                for r in o.run_ids
                for e in inst.all_logs(r)
                if e.dagster_event and (e.dagster_event.event_type_value == "ASSET_MATERIALIZATION_PLANNED") == planned
            ]

        kinds = lambda inst, o: sorted(e.event_type_value for e in events(inst, o, False))  # noqa: E731
        assert kinds(plain, again) == kinds(instance, outcome)
        # the "planned" events: one per asset for the run's years, not one per asset and year
        per_year = [(e.asset_key, e.event_specific_data.partition) for e in events(plain, again, True)]
        per_asset = [(e.asset_key, e.event_specific_data.partitions_subset) for e in events(instance, outcome, True)]
        assert len(per_asset) == len({k for k, _ in per_year}) <= len(per_year)
        years = {p for _, p in per_year if p}
        assert {frozenset(s.get_partition_keys()) for _, s in per_asset if s is not None} == {frozenset(years)}
    instance.dispose()


def test_an_older_home_is_brought_up_to_date_and_stores_a_run_over_one_connection_per_file(tmp_path, connections, monkeypatch):
    """`lianjian run` with a DAGSTER_HOME made by older code, whose dagster.yaml named Dagster's own
    SQLite storages: the file is brought up to date (``instance_for_run``, ``ensure_instance``), so the
    run's events go over the project's storage, one connection per file. A home whose file was edited
    by hand keeps Dagster's storage, which connects for every event and ``has_table`` question, and
    stores the same history."""
    from dagster._core.storage.event_log.sqlite.sqlite_event_log import SqliteEventLogStorage

    from lianjian.runner import instance_for_run, run_pipeline
    from pipelines.event_log import HeldSqliteEventLogStorage

    landing = write_landing(tmp_path / "landing")

    def run(home: Path, storage: type) -> tuple[int, list[str]]:
        """`lianjian run` on ``home``: the connections it opened, the kinds of the events it stored."""
        monkeypatch.setenv("DAGSTER_HOME", str(home))
        with instance_for_run() as instance:
            assert type(instance.event_log_storage) is storage
            before = len(connections)
            outcome = run_pipeline(landing, home / "wh", RULES, instance=instance, progress=False, reports=False)
            assert outcome.success, outcome.failure
            opened = len(connections) - before
            return opened, sorted(e.dagster_event.event_type_value for r in outcome.run_ids for e in instance.all_logs(r) if e.dagster_event)

    held, kinds = run(older_home(tmp_path / "home"), HeldSqliteEventLogStorage)
    assert len(kinds) > 200
    # what it replaces: Dagster's own storage, a connection for every event — the same events stored
    edited = older_home(tmp_path / "edited")
    settings = edited / "dagster.yaml"
    settings.write_text(settings.read_text(encoding="utf-8") + "# our own settings\n", encoding="utf-8")
    theirs, their_kinds = run(edited, SqliteEventLogStorage)
    assert their_kinds == kinds
    assert theirs > 10 * held  # the runs' and schedules' storages connect as before


GX_IMPORT = """
import sys
from lianjian.quality.validate import gx_context, run_suite
sys.path.insert(0, "tests")
from support_quality import staged
gx_context()
result = run_suite("cases", staged()["cases"])
loaded = sorted(m for m in ("scipy.stats._stats_py", "scipy.spatial", "scipy.linalg", "altair.vegalite") if m in sys.modules)
from scipy import stats  # what GX's KS-test and KL-divergence expectations do when they run
import great_expectations.expectations.core.expect_column_kl_divergence_to_be_less_than as kl
chart = kl.alt.Chart  # what its Data Docs renderers draw with
print(loaded, len(result.expectations) > 0, round(float(stats.entropy([0.5, 0.5])), 6), "scipy.stats._stats_py" in sys.modules,
      chart.__module__, "altair.vegalite" in sys.modules)
"""


def test_great_expectations_is_imported_without_scipy_stats_or_altair_until_they_are_used():
    """A suite worker imports GX (≈ 3 CPU-s) and validates a staged table without executing
    ``scipy.stats`` (≈ 1 CPU-s of that import) or ``altair`` (≈ 0.2–0.4), for expectations lianjian
    never uses; each module is whole the moment something uses it."""
    import subprocess
    import sys

    out = subprocess.run([sys.executable, "-c", GX_IMPORT], capture_output=True, text=True, cwd=ROOT, check=True)
    assert out.stdout.strip() == "[] True 0.693147 True altair.vegalite.v6.api True"


GX_WITHOUT_SQL = """
import json, re, sys
FIRST
import polars as pl
from lianjian.quality.validate import gx_context, run_suite
sys.path.insert(0, "tests")
from support_quality import staged
gx_context()
loaded = sorted(m for m in ("sqlalchemy", "psycopg2") if m in sys.modules)
frame = staged()["talks"].with_columns(pl.when(pl.col("talk_type") == "family").then(pl.col("interviewer_id")).alias("interviewer_id"))
result = run_suite("talks", frame)
import sqlalchemy  # what any other code of the process does: the real package
from great_expectations.compatibility import sqlalchemy as gx_sa
def walk(x):
    if isinstance(x, dict):
        return {k: walk(v) for k, v in x.items() if k not in ("id", "ge_load_time", "seconds")}
    return [walk(v) for v in x] if isinstance(x, list) else x
print(json.dumps([loaded, type(sqlalchemy.create_engine).__name__, bool(gx_sa.sqlalchemy), result.success,
                  walk(result.to_json())], ensure_ascii=False))
"""


def test_great_expectations_is_imported_without_sqlalchemy_with_the_same_results():
    """A process that has not imported SQLAlchemy (the suite worker) imports GX without it and the
    PostgreSQL driver (only GX's SQL data sources use them: ≈ 0.15–0.2 CPU-s), as an installation
    without GX's SQL extras would; a suite's results are those of a process where GX has them
    (Dagster's), and the process can still import SQLAlchemy itself."""
    import json
    import subprocess
    import sys

    def run(first: str) -> list:
        code = GX_WITHOUT_SQL.replace("FIRST", first)
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True)
        return json.loads(out.stdout)

    alone, with_sql = run(""), run("import sqlalchemy")
    assert alone[:4] == [[], "function", False, False]
    assert with_sql[:4] == [["psycopg2", "sqlalchemy"], "function", True, False]
    assert alone[4] == with_sql[4]


GX_LAZY = """
import json, sys
import polars as pl
import lianjian.quality.suites as suites
if "USUAL":  # GX imported the usual way: every package's __init__ as GX wrote it
    suites.LAZY_PACKAGES = ()
from lianjian.contract import SOURCES
from lianjian.quality.validate import gx_context, run_suite
sys.path.insert(0, "tests")
from support_quality import staged
gx_context()
lazy = sorted(n for n in suites.LAZY_PACKAGES if type(sys.modules[n].__spec__.loader).__name__ == "LazyPackageLoader")
def bound():
    return {n: sorted(vars(sys.modules[n])) for n in suites.LAZY_PACKAGES}
before = bound()
tables = staged()
tables["talks"] = tables["talks"].with_columns(pl.when(pl.col("talk_type") == "family").then(pl.col("interviewer_id")).alias("interviewer_id"))
results = {src: run_suite(src, frame) for src, frame in tables.items() if src in SOURCES}
unused = sorted(m for m in sys.modules if m.startswith(("great_expectations.expectations.core.expect_column_m",
    "great_expectations.datasource.fluent.spark", "great_expectations.datasource.fluent.snowflake", "great_expectations.render.view",
    "great_expectations.metrics.column.mean")))
after = bound()
from great_expectations.expectations.expectation_configuration import ExpectationConfiguration
from great_expectations.expectations.registry import list_registered_expectation_implementations
from great_expectations.expectations import ExpectColumnMeanToBeBetween  # a name of a lazy package, imported at its use
mean = ExpectationConfiguration(type="expect_column_mean_to_be_between", kwargs={"column": "x", "min_value": 1}).to_domain_obj()
null = ExpectationConfiguration(type="expect_column_values_to_be_null", kwargs={"column": "x"}).to_domain_obj()
registered = sorted(list_registered_expectation_implementations())
from great_expectations.metrics.metric import MetaMetric
mean_metric = MetaMetric.get_registered_metric_class_from_metric_name("column.mean").__name__  # a class of a lazy package
metric_classes = sorted(MetaMetric._registry)
suites.complete_lazy_package("great_expectations.datasource.fluent")
from great_expectations.datasource.fluent.sources import DataSourceManager
def walk(x):
    if isinstance(x, dict):
        return {k: walk(v) for k, v in x.items() if k not in ("id", "ge_load_time", "seconds")}
    return [walk(v) for v in x] if isinstance(x, list) else x
print(json.dumps([lazy, before == after, unused, type(mean) is ExpectColumnMeanToBeBetween, type(null).__name__, registered,
                  sorted(DataSourceManager.type_lookup.type_names()), {s: walk(r.to_json()) for s, r in results.items()},
                  mean_metric, metric_classes],
                 ensure_ascii=False, default=str))
"""


def test_great_expectations_packages_of_unused_classes_are_lazy_with_the_same_results():
    """GX's packages of every core expectation, every fluent data source, every renderer and every
    metric class of its newer API (lianjian/quality/suites.py ``LAZY_PACKAGES``) are imported lazily:
    a validation of every staged table imports none of what its suites do not use (no expectation,
    data source type, metric class or page view of another kind) and nothing of them after GX's import
    (``GX_USED`` is every name the suites use); the results of every suite (a failing one among them)
    are those of GX imported the usual way; an expectation type or a metric class the suites do not
    use is found by GX's registry at its first look-up, which then lists every one of them, and a
    completed package registers every data source type."""
    import json
    import subprocess
    import sys

    def run(usual: bool) -> list:
        code = GX_LAZY.replace('"USUAL"', "True" if usual else "False")
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True)
        return json.loads(out.stdout)

    lazy, usual = run(False), run(True)
    assert lazy[0] == sorted(suites_lazy_packages()) and usual[0] == []
    assert lazy[1] is True and lazy[2] == []  # nothing imported lazily after GX's import; nothing unused
    assert usual[2]  # GX's own import has them
    assert lazy[3] is usual[3] is True and lazy[4] == usual[4] == "ExpectColumnValuesToBeNull"
    assert lazy[5] == usual[5] and len(lazy[5]) > 50  # every core expectation, once one was missed
    assert lazy[6] == usual[6] and "spark" in lazy[6]
    assert lazy[7] == usual[7] and any(not r["success"] for r in lazy[7].values())
    assert lazy[8] == usual[8] == "ColumnMean" and lazy[9] == usual[9] and len(lazy[9]) > 20  # every metric class, once one was missed


def suites_lazy_packages() -> tuple[str, ...]:
    from lianjian.quality.suites import LAZY_PACKAGES

    return LAZY_PACKAGES


def test_a_lazy_package_imports_a_name_at_its_first_use(tmp_path, monkeypatch):
    """``LazyPackageFinder`` (lianjian/lazy_packages.py): a package's ``from … import`` whose names nothing else in its
    ``__init__`` reads is left to the first look-up of a name (attribute, ``from pkg import``, a class
    base), which imports the submodule once; an import whose name another statement reads (a call,
    a function's body) runs as written, and so does every other statement, in order."""
    import importlib
    import sys

    from lianjian.lazy_packages import LazyPackageFinder, LazyPackageLoader

    pkg = tmp_path / "lazypkg"
    pkg.mkdir()
    (pkg / "__init__.py").write_text(
        '"""doc"""\nimport os\nfrom .a import A\nfrom .b import B, helper as h\nfrom lazypkg.c import C as D\n'
        "VALUE = B()\ndef later():\n    return D\n",
        encoding="utf-8",
    )
    for name, text in {"a": "class A:\n    pass\n", "b": "class B:\n    pass\ndef helper():\n    return 1\n", "c": "class C:\n    pass\n"}.items():
        (pkg / f"{name}.py").write_text(text, encoding="utf-8")
    monkeypatch.syspath_prepend(str(tmp_path))
    finder = LazyPackageFinder(["lazypkg"])
    monkeypatch.setattr(sys, "meta_path", [finder, *sys.meta_path])
    try:
        lazypkg = importlib.import_module("lazypkg")
    finally:
        sys.meta_path.remove(finder)
    try:
        assert isinstance(lazypkg.__spec__.loader, LazyPackageLoader)
        assert lazypkg.__doc__ == "doc" and lazypkg.os is __import__("os")
        assert "lazypkg.b" in sys.modules and "lazypkg.c" in sys.modules  # read by other statements
        assert "lazypkg.a" not in sys.modules and "A" not in vars(lazypkg) and "A" in dir(lazypkg)
        from lazypkg import A

        class Sub(A):
            pass

        assert "lazypkg.a" in sys.modules and A is sys.modules["lazypkg.a"].A is lazypkg.A and vars(lazypkg)["A"] is A
        assert lazypkg.h() == 1 and isinstance(lazypkg.VALUE, lazypkg.B) and lazypkg.later() is lazypkg.D
        with pytest.raises(AttributeError):
            lazypkg.missing  # noqa: B018
    finally:
        for name in [m for m in sys.modules if m == "lazypkg" or m.startswith("lazypkg.")]:
            del sys.modules[name]


DAEMONS_OF_A_RUN = """
import sys
from pathlib import Path
import dagster as dg
import lianjian.runner
from pipelines.instance import ensure_instance, light_ephemeral_instance
light_ephemeral_instance()  # the throw-away instance's storages
home = Path(sys.argv[1])
ensure_instance(home)
with dg.DagsterInstance.from_config(str(home)) as instance:  # a DAGSTER_HOME's SQLite storages
    instance.get_runs()
loaded = sorted(m for m in ("structlog", "rich", "dagster._daemon.controller", "dagster._scheduler.scheduler") if m in sys.modules)
import dagster._daemon as daemons
from dagster._daemon import DaemonHeartbeat, SchedulerDaemon  # a name of the lazy package, at its use
from dagster._daemon.controller import DagsterDaemonController
from dagster._daemon.types import DaemonHeartbeat as heartbeat
from lianjian.lazy_packages import complete_lazy_package
complete_lazy_package("dagster._daemon")
print(loaded, type(daemons.__spec__.loader).__name__, DaemonHeartbeat is heartbeat, SchedulerDaemon.__module__,
      daemons.DagsterDaemonController is DagsterDaemonController)
print(sorted(n for n in dir(daemons) if not n.startswith("__")))
"""


def test_a_run_imports_dagsters_daemons_only_as_a_lazy_package(tmp_path):
    """The process of `lianjian run` imports ``dagster._daemon`` as a lazy package (lianjian/runner.py
    ``LAZY_DAGSTER_PACKAGES``): making either kind of instance its runs use imports only the daemons'
    heartbeat type, not every daemon with structlog, rich and pygments (≈ 120 modules); a daemon's
    name is the same object at its first use, and the package completed has every name of Dagster's
    own ``__init__``."""
    import subprocess
    import sys

    out = subprocess.run([sys.executable, "-c", DAEMONS_OF_A_RUN, str(tmp_path / "home")], capture_output=True, text=True, cwd=ROOT, check=True)
    first, names = out.stdout.strip().splitlines()
    assert first == "[] LazyPackageLoader True dagster._daemon.daemon True"
    plain = "import dagster._daemon as daemons; print(sorted(n for n in dir(daemons) if not n.startswith('__')))"
    assert names == subprocess.run([sys.executable, "-c", plain], capture_output=True, text=True, cwd=ROOT, check=True).stdout.strip()


def test_a_lazy_package_is_found_before_the_syntax_tree_module_is_imported():
    """``imported_lazily`` in a process that has not imported ``ast`` yet: the finder, asked about
    every import while it is in place, imports nothing itself."""
    import subprocess
    import sys

    code = (
        "import sys\nassert 'ast' not in sys.modules\nfrom lianjian.lazy_packages import imported_lazily\n"
        "with imported_lazily(['xml']):\n    import xml.dom\nprint(xml.dom.Node.ELEMENT_NODE)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT)
    assert out.stdout.strip() == "1", out.stderr[-2000:]


def test_the_throw_away_instance_stamps_no_migration_revision(monkeypatch):
    """Dagster's in-memory storages stamp the newest Alembic revision into their fresh tables, which
    loads every migration script Dagster ships (≈ 0.25 CPU-s for the two storages); the throw-away
    instance of `lianjian run` skips it — its database is never migrated — and leaves Dagster's own
    storages stamping as before."""
    from dagster._core.storage import sql
    from dagster._core.storage.event_log import in_memory as events_module
    from dagster._core.storage.runs import in_memory as runs_module

    stamped = []
    monkeypatch.setattr(sql, "stamp", lambda *args, **kwargs: stamped.append(args))
    own = (events_module.stamp_alembic_rev, runs_module.stamp_alembic_rev)
    light = instance_mod.light_ephemeral_instance()
    try:
        assert stamped == []
        assert light.get_runs() == []  # its tables are there
    finally:
        light.dispose()
    assert (events_module.stamp_alembic_rev, runs_module.stamp_alembic_rev) == own
    with dg.DagsterInstance.ephemeral():
        assert len(stamped) == 2  # what it skips: one stamp per storage


def _two_assets_job() -> dg.JobDefinition:
    @dg.asset
    def upstream() -> int:
        return 1

    @dg.asset
    def downstream(upstream: int) -> int:
        return upstream + 1

    @dg.asset_check(asset=downstream)
    def positive(downstream: int) -> dg.AssetCheckResult:
        return dg.AssetCheckResult(passed=downstream > 0)

    return dg.Definitions(assets=[upstream, downstream], asset_checks=[positive]).resolve_implicit_global_asset_job_def()


def test_the_throw_away_instance_looks_up_no_input_data_versions(monkeypatch):
    """Before each asset step Dagster looks up its inputs' latest materializations to write their data
    versions into the step's materialization tags (the UI's "stale" marks); the throw-away instance,
    whose history no UI ever shows, records the inputs as of no known version without a query. Any
    other instance (Dagster's own here) still looks them up, and the runs' results are the same."""
    from dagster._core.instance import DagsterInstance

    asked = []
    own = DagsterInstance.get_asset_records
    monkeypatch.setattr(DagsterInstance, "get_asset_records", lambda self, keys=None: asked.append(keys) or own(self, keys))
    job = _two_assets_job()

    def materializations(instance) -> dict[str, dict]:
        result = job.execute_in_process(instance=instance)
        assert result.success
        assert [e.passed for e in result.get_asset_check_evaluations()] == [True]
        return {m.asset_key.to_user_string(): dict(m.tags or {}) for m in result.asset_materializations_for_node("downstream")}

    light = instance_mod.light_ephemeral_instance()
    try:
        tags = materializations(light)
    finally:
        light.dispose()
    assert asked == []
    assert tags["downstream"]["dagster/input_event_pointer/upstream"] == "NULL"  # no known version

    with dg.DagsterInstance.ephemeral() as plain:
        tags = materializations(plain)
    assert asked  # Dagster's own instance: looked up
    assert tags["downstream"]["dagster/input_event_pointer/upstream"] != "NULL"


MAKE_LIGHT_INSTANCE = """
import sys
import dagster as dg
from pipelines.instance import light_ephemeral_instance
light = light_ephemeral_instance()
imported = sorted(m for m in ("alembic", "mako", "alembic.command") if m in sys.modules)
light.dispose()
from dagster._core.storage import sql
with dg.DagsterInstance.ephemeral() as plain:  # Dagster's own: stamps its tables through Alembic
    stamped = plain.get_runs() == []
import alembic.command
print(imported, stamped, type(sql.Config("x.ini")).__module__, alembic.command.stamp.__module__)
"""


def test_the_throw_away_instance_is_made_without_importing_alembic():
    """Dagster's SQL storage module imports Alembic's names when it is first imported (Alembic, Mako
    and Pygments: ≈ 0.15–0.2 CPU-s); the throw-away instance, never stamped nor migrated, is made with
    them standing in, and Alembic is imported the first time one of them is used — by Dagster's own
    instance here, which stamps its tables; later imports of Alembic get its real modules."""
    import subprocess
    import sys

    out = subprocess.run([sys.executable, "-c", MAKE_LIGHT_INSTANCE], capture_output=True, text=True, cwd=ROOT, check=True)
    assert out.stdout.split() == ["[]", "True", "alembic.config", "alembic.command"]

GC_AFTER_MAIN = """
import gc, sys, types
import lianjian.processes as processes
seen = []
setting = processes.fewer_collections
processes.fewer_collections = lambda landing: seen.append("dagster" in sys.modules) or setting(landing)
runner = types.ModuleType("lianjian.runner")  # what `lianjian run` finds when it starts the run
runner.run = lambda *args, **kwargs: seen.append(gc.get_threshold()[0]) or 0
sys.modules["lianjian.runner"] = runner
from lianjian.cli import main
before = gc.get_threshold()[0]
main(["run", "--force", "--landing", sys.argv[1], "--warehouse", sys.argv[2]])
print(before, *seen)
"""


def test_the_command_line_collects_cycles_less_often_on_a_small_landing_zone(tmp_path, monkeypatch):
    """`lianjian run` raises the young generation's threshold of Python's cycle collector before it
    imports Dagster (≈ 670 collections, 0.3–0.4 CPU-s of a demo run at 700) when the landing zone is
    small; above ``FEWER_COLLECTIONS_UP_TO`` it keeps Python's defaults."""
    import gc
    import subprocess
    import sys

    from lianjian import processes
    from lianjian.processes import YOUNG_OBJECTS

    landing = write_landing(tmp_path / "landing")
    out = subprocess.run(
        [sys.executable, "-c", GC_AFTER_MAIN, str(landing), str(tmp_path / "wh")], capture_output=True, text=True, cwd=ROOT, check=True
    )
    assert out.stdout.split()[-3:] == ["700", "False", str(YOUNG_OBJECTS)]  # set before Dagster's import

    saved = gc.get_threshold()
    gc.set_threshold(700, *saved[1:])
    try:
        size = sum(p.stat().st_size for p in landing.rglob("*") if p.is_file())
        monkeypatch.setattr(processes, "FEWER_COLLECTIONS_UP_TO", size - 1)  # a zone one byte too large
        assert processes.fewer_collections(landing) is False
        assert gc.get_threshold()[0] == 700
        monkeypatch.setattr(processes, "FEWER_COLLECTIONS_UP_TO", size)
        assert processes.fewer_collections(landing) is True
        assert gc.get_threshold()[0] == YOUNG_OBJECTS
    finally:
        gc.set_threshold(*saved)


def test_a_run_launched_by_the_daemon_collects_cycles_less_often(tmp_path):
    """The run worker's executor sets what `lianjian` sets, so the schedule's path gains the same."""
    import gc

    from lianjian.processes import YOUNG_OBJECTS
    from pipelines import definitions

    landing = write_landing(tmp_path / "landing")
    saved = gc.get_threshold()
    gc.set_threshold(700, *saved[1:])
    try:
        with dg.DagsterInstance.ephemeral() as instance:
            result = dg.execute_job(
                dg.reconstructable(definitions.ingest_job),
                instance=instance,
                run_config={"resources": {"lianjian": {"config": {"landing": str(landing), "warehouse": str(tmp_path / "wh"), "rules": str(RULES)}}}},
            )
            assert result.success
        assert gc.get_threshold()[0] == YOUNG_OBJECTS
    finally:
        gc.set_threshold(*saved)


def test_the_suite_fingerprint_looks_up_the_gx_version_once(monkeypatch):
    """Each suite's cache key names Great Expectations' installed version, looked up in the packages'
    metadata once per process, not for every staged table in each of the two steps that ask; a
    different version still gives different keys."""
    import importlib.metadata

    from lianjian.quality import suites

    looked: list[str] = []
    monkeypatch.setattr(importlib.metadata, "version", lambda name: looked.append(name) or "1.0.test")
    suites._gx_version.cache_clear()
    try:
        keys = [suites.suite_fingerprint(src) for src in ("cases", "talks", "cases", "units")]
        assert looked == ["great_expectations"] and keys[0] == keys[2] != keys[1]
        monkeypatch.setattr(importlib.metadata, "version", lambda name: "2.0.test")
        suites._gx_version.cache_clear()
        assert suites.suite_fingerprint("cases") != keys[0]
    finally:
        suites._gx_version.cache_clear()


END_PROCESS = r"""
import atexit, sys, threading
from lianjian.cli import end_process


class Teardown:
    def __del__(self):  # runs only when the interpreter clears this module at its teardown
        sys.__stdout__.write("teardown\n")
        sys.__stdout__.flush()


kept = Teardown()
atexit.register(lambda: print("atexit"))
threading._register_atexit(lambda: print("threads"))
waited = threading.Thread(target=lambda: (threading.Event().wait(0.3), print("thread done")))
waited.start()
sys.stdout.write("buffered, not flushed")
end_process(3)
"""


def test_a_pipeline_command_ends_its_process_without_the_interpreters_teardown():
    """`lianjian run` ends with ``end_process``: what an ordinary exit runs (running threads waited
    for, the threads' exit hooks — the suite worker's end —, the atexit hooks, the streams flushed)
    and the exit status, but not the interpreter's teardown, which after a run walked the whole heap
    again for 0.5–2 CPU-s (docs/performance.md, "The end of a run")."""
    import subprocess
    import sys

    out = subprocess.run([sys.executable, "-c", END_PROCESS], capture_output=True, text=True, cwd=ROOT, timeout=60)
    assert out.returncode == 3
    assert out.stdout.splitlines() == ["buffered, not flushedthreads", "thread done", "atexit"], out.stdout
    assert out.stderr == ""


def test_only_the_program_ends_its_process_after_a_pipeline_command(monkeypatch):
    """Called as the program (no arguments given: the ``lianjian`` script), `run` and `demo` end the
    process through ``end_process`` with their exit status; called with arguments (tests, scripts)
    and for the other commands, ``main`` returns it."""
    import sys

    from lianjian import cli

    ended: list[int] = []
    monkeypatch.setattr(cli, "dispatch", lambda args: 4)
    monkeypatch.setattr(cli, "end_process", ended.append)
    monkeypatch.setattr(sys, "argv", ["lianjian", "run", "--landing", "x"])
    assert cli.main() == 4 and ended == [4]
    monkeypatch.setattr(sys, "argv", ["lianjian", "demo"])
    assert cli.main() == 4 and ended == [4, 4]
    assert cli.main(["run", "--landing", "x"]) == 4 and ended == [4, 4]
    monkeypatch.setattr(sys, "argv", ["lianjian", "lineage", "published"])
    assert cli.main() == 4 and ended == [4, 4]


WORKER_END = r"""
import atexit, multiprocessing as mp, os, sys
from concurrent.futures import ProcessPoolExecutor
from lianjian.processes import end_with_parent

out = sys.argv[1]


class Teardown:
    def __del__(self, _open=open, _path=os.path.join(out, "teardown")):  # runs only at the teardown of
        _open(_path, "w").close()  # the worker's modules (the names it uses are its own by then)


def task():
    global kept
    kept = Teardown()
    atexit.register(lambda: open(os.path.join(out, "atexit"), "w").close())
    return os.getpid()


if __name__ == "__main__":
    pool = ProcessPoolExecutor(1, mp_context=mp.get_context("spawn"), initializer=end_with_parent, initargs=(os.getpid(),))
    worker = pool.submit(task).result(timeout=120)
    process = next(iter(pool._processes.values()))
    pool.shutdown(wait=True)
    print(worker, process.exitcode, sorted(os.listdir(out)))
"""


def test_a_worker_ends_without_the_interpreters_teardown(tmp_path):
    """A worker started with ``end_with_parent`` (the suite worker, the report writers) runs the exit
    hooks its tasks registered when its pool is shut down, and ends with status 0, but without
    Python's teardown of its modules and heap, which the pool's shutdown — the reports step — waited
    for (docs/performance.md, "The end of a run")."""
    import subprocess
    import sys

    script = tmp_path / "worker_end.py"
    script.write_text(WORKER_END)
    out = tmp_path / "out"
    out.mkdir()
    done = subprocess.run([sys.executable, str(script), str(out)], capture_output=True, text=True, cwd=ROOT, timeout=180, check=True)
    _pid, status, files = done.stdout.split(" ", 2)
    assert status == "0" and files.strip() == "['atexit']", done.stdout + done.stderr


def test_the_year_partitions_answer_their_keys_from_what_they_answered_before(monkeypatch):
    """Dagster asks the yearly partitions for their keys at every partitioned step, output, input and
    per-year metadata entry; ``pipelines.partitions.YEARS`` iterates the yearly schedule once per
    calendar year (keys) and per range (a range's keys), with the answers and the definition (equality,
    serialisation) of a fresh one, at any time and around the new year in its time zone."""
    import datetime as dt
    from zoneinfo import ZoneInfo

    from dagster._core.definitions.partitions.definition.time_window import TimeWindowPartitionsDefinition
    from dagster_shared.serdes import serialize_value

    from pipelines import partitions

    fresh = dg.TimeWindowPartitionsDefinition(
        cron_schedule="0 0 1 1 *", start=str(partitions.FIRST_YEAR), fmt="%Y", timezone=partitions.TIMEZONE, end_offset=1
    )
    zone = ZoneInfo(partitions.TIMEZONE)
    times = [
        None,
        dt.datetime(2025, 12, 31, 23, 59, tzinfo=zone),
        dt.datetime(2026, 1, 1, 0, 0, tzinfo=zone),
        dt.datetime(2025, 12, 31, 16, 30, tzinfo=dt.timezone.utc),  # 2026 in Shanghai
        dt.datetime(2025, 12, 31, 15, 59, tzinfo=dt.timezone.utc),  # still 2025 there
        dt.datetime(2024, 6, 1),  # naive: the partitions' time zone
    ]
    ranges = [dg.PartitionKeyRange("2021", "2025"), dg.PartitionKeyRange("2000", "2000"), dg.PartitionKeyRange("2024", "2026")]
    for _ in range(2):
        for when in times:
            assert partitions.YEARS.get_partition_keys(when) == fresh.get_partition_keys(when), when
            with dg.partition_loading_context(when):
                assert partitions.YEARS.get_partition_keys() == fresh.get_partition_keys()
        for keys in ranges:
            assert partitions.YEARS.get_partition_keys_in_range(keys) == fresh.get_partition_keys_in_range(keys)
    assert partitions.YEARS == fresh and serialize_value(partitions.YEARS) == serialize_value(fresh)

    iterated = []
    iterate = TimeWindowPartitionsDefinition._iterate_time_windows

    def spy(self, *args, **kwargs):
        iterated.append(args)
        return iterate(self, *args, **kwargs)

    monkeypatch.setattr(TimeWindowPartitionsDefinition, "_iterate_time_windows", spy)
    for _ in range(20):
        for when in times:
            partitions.YEARS.get_partition_keys(when)
        for keys in ranges:
            partitions.YEARS.get_partition_keys_in_range(keys)
    assert iterated == []  # every answer given before
    keys = partitions.YEARS.get_partition_keys(dt.datetime(2031, 3, 1, tzinfo=zone))  # a year not asked about yet
    assert keys[-1] == "2031" and len(iterated) >= 1
    assert fresh.get_partition_keys_in_range(dg.PartitionKeyRange("2001", "2003")) == ["2001", "2002", "2003"]


YEARS_2 = dg.StaticPartitionsDefinition(["2024", "2025"])


@dg.asset(partitions_def=YEARS_2)
def yearly() -> int:
    return 1


@dg.asset(partitions_def=YEARS_2)
def yearly_next(yearly: int) -> int:
    return yearly + 1


@dg.asset
def all_years(yearly_next: dict) -> int:  # every year of a partitioned input: the partitions' versions
    return sum(yearly_next.values())


@dg.asset_check(asset=all_years)
def all_years_is_four(all_years: int) -> dg.AssetCheckResult:
    return dg.AssetCheckResult(passed=all_years == 4)


def test_the_inputs_data_versions_come_from_what_the_process_stored_and_equal_dagsters_look_ups(tmp_path, monkeypatch):
    """On an SQLite instance that keeps its history, inside a run's session: a step's inputs and a
    check's target materialized by this process are answered from what it stored — the same storage
    ids, event types, data versions (a partitioned input's too), run ids and times as Dagster's own
    look-ups, made here right after each answer — and only the rest is looked up in the storage."""
    from dagster._core.execution.context.data_version_cache import DataVersionCache
    from dagster._core.instance import DagsterInstance

    defs = dg.Definitions(
        assets=[yearly, yearly_next, all_years], asset_checks=[all_years_is_four],
        resources={"io_manager": dg.FilesystemIOManager(base_dir=str(tmp_path / "values"))},
    )
    every = defs.resolve_implicit_global_asset_job_def()
    years_job = every.get_subset(asset_selection={yearly.key, yearly_next.key})
    all_job = every.get_subset(asset_selection={all_years.key})
    asked: list = []
    comparing = [False]
    own = DagsterInstance.get_asset_records

    def get_asset_records(self, keys=None):
        if not comparing[0]:
            asked.extend(keys or [])
        return own(self, keys)

    monkeypatch.setattr(DagsterInstance, "get_asset_records", get_asset_records)
    compared = []
    wrapped = DataVersionCache._fetch_input_asset_version_info

    def compare(cache, keys):
        wrapped(cache, keys)
        ours = {k: cache.input_asset_version_info[k] for k in keys}
        mine = {name: getattr(DataVersionCache, name) for name in instance_mod.DAGSTER_LOOK_UPS}
        comparing[0] = True
        for name, method in instance_mod.DAGSTER_LOOK_UPS.items():
            setattr(DataVersionCache, name, method)
        try:
            wrapped(cache, keys)
        finally:
            for name, method in mine.items():
                setattr(DataVersionCache, name, method)
            comparing[0] = False
        compared.append((ours, {k: cache.input_asset_version_info[k] for k in keys}))

    monkeypatch.setattr(DataVersionCache, "_fetch_input_asset_version_info", compare)
    home = tmp_path / "home"
    ensure_instance(home)
    with dg.DagsterInstance.from_config(str(home)) as instance:
        with light_sqlite_commits():
            for year in ("2024", "2025"):
                assert years_job.execute_in_process(instance=instance, partition_key=year).success
            assert all_job.execute_in_process(instance=instance).success
        assert asked == []  # every input and check target was this process's own materialization
        looked_up = len(compared)
        with light_sqlite_commits():  # a later run: 2024 is the earlier session's, looked up in the storage
            assert years_job.execute_in_process(instance=instance, partition_key="2025").success
            assert all_job.execute_in_process(instance=instance).success
    assert looked_up >= 5 and len(compared) > looked_up
    assert all(ours == theirs for ours, theirs in compared)
    assert all(info is not None and info.storage_id for ours, _ in compared for info in ours.values())


GX_FIELDS = """
import contextlib, copy, json, re, sys
import polars as pl
import lianjian.quality.suites as suites
if "OWN":  # GX's classes created with copy's own deep copy of their bases' fields
    suites._model_fields_copied_directly = contextlib.nullcontext
dispatch = set(copy._deepcopy_dispatch)
from lianjian.quality.validate import run_suite
sys.path.insert(0, "tests")
from support_quality import staged
from pydantic.v1 import BaseModel
from pydantic.v1.fields import ModelField

def text(x):
    return re.sub(r" at 0x[0-9a-f]+", "", repr(x))

callers = set()  # pydantic's generic callers of the validators, by identity

def field(f, seen):
    if f is None:
        return None
    assert id(f) not in seen  # no field object shared by two classes (each class has its own copies)
    seen.add(id(f))
    callers.update(id(v) for v in [*(f.validators or []), *(f.pre_validators or []), *(f.post_validators or [])])
    return [text(f), text(f.field_info), text(f.type_), text(f.outer_type_), text(f.annotation), f.shape, f.required,
            f.allow_none, f.validate_always, text(f.default), f.alias, f.model_config.__name__,
            [getattr(v, "__qualname__", text(v)) for v in (f.validators or [])],
            [getattr(v, "__qualname__", text(v)) for v in (f.pre_validators or [])],
            [getattr(v, "__qualname__", text(v)) for v in (f.post_validators or [])],
            {k: [v.func.__qualname__, v.pre, v.each_item, v.always, v.check_fields] for k, v in (f.class_validators or {}).items()},
            [field(s, seen) for s in (f.sub_fields or [])], field(f.key_field, seen)]

frame = staged()["talks"].with_columns(pl.when(pl.col("talk_type") == "family").then(pl.col("interviewer_id")).alias("interviewer_id"))
result = run_suite("talks", frame)  # GX imported here
models, seen, stack = {}, set(), [BaseModel]
while stack:
    for cls in stack.pop().__subclasses__():
        stack.append(cls)
        name = f"{cls.__module__}.{cls.__qualname__}"
        if cls.__module__.startswith("great_expectations") and "__fields__" in vars(cls) and name not in models:
            models[name] = {n: field(f, seen) for n, f in cls.__fields__.items()}
def walk(x):
    if isinstance(x, dict):
        return {k: walk(v) for k, v in x.items() if k not in ("id", "ge_load_time", "seconds")}
    return [walk(v) for v in x] if isinstance(x, list) else x
from pydantic.v1 import class_validators, fields
own = class_validators.make_generic_validator is fields.make_generic_validator and "suites" not in class_validators.make_generic_validator.__qualname__
print(json.dumps([set(copy._deepcopy_dispatch) == dispatch and own, len(models), models, result.success, walk(result.to_json()), len(callers)],
                 ensure_ascii=False, default=str))
"""


def test_great_expectations_model_fields_are_copied_directly_with_the_same_classes_and_results():
    """GX's import creates its pydantic v1 model classes with their bases' fields deep-copied by a
    copier of pydantic's field objects (lianjian/quality/suites.py ``_model_fields_copied_directly``,
    ≈ 0.3 CPU-s of the import), and each validator function's generic caller made once
    (``_validators_made_once``, ≈ 0.07 CPU-s): every GX model class has the same fields — types,
    defaults, validators, sub-fields — as with ``copy``'s own deep copy and pydantic's callers, no
    field object is shared between two classes, the fields hold fewer distinct callers, a suite's
    results are the same, and ``copy`` and pydantic are as before after the import."""
    import json
    import subprocess
    import sys

    def run(own: bool) -> list:
        code = GX_FIELDS.replace('"OWN"', "True" if own else "False")
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True)
        return json.loads(out.stdout)

    direct, own = run(False), run(True)
    assert direct[0] and own[0]  # copy's dispatch table and pydantic's function as before the import
    assert direct[5] * 2 < own[5]  # each validator's caller made once, not once per field
    assert direct[1] == own[1] > 100  # GX's model classes (those of the lazy packages' unused names not created)
    assert direct[2] == own[2]
    assert direct[3] is own[3] is False and direct[4] == own[4]
