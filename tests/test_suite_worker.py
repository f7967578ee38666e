"""The staged tables' Great Expectations suites run beside staging, in the suite worker process
(lianjian/quality/worker.py; docs/performance.md "Demo and province fixed cost"): the data-quality
step takes their results from it, and reports exactly what it would have computed itself — the
same outcomes, the same blocking failures, computed in this run (not taken from the cache)."""

from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import polars as pl
import pytest
from support_quality import good_rows, ingest_report, rejected_records, staged

from lianjian.quality import validate
from lianjian.quality.checks import ERROR, run_quality
from lianjian.quality.worker import SuiteWorker

ROOT = Path(__file__).resolve().parents[1]


def _bad_tables() -> dict[str, pl.DataFrame]:
    """Good tables but: a duplicated case key (a blocking suite failure: 2 rows) and a review score
    above 100 (1 row)."""
    rows = good_rows()
    rows["cases"][1]["case_id"] = rows["cases"][0]["case_id"]
    rows["reviews"][0]["score"] = 100.5
    return staged(rows)


def _outcomes(run) -> list[dict]:
    out = []
    for o in run.outcomes:
        d = dataclasses.asdict(o)
        d.pop("seconds")
        d["check"] = o.check.name
        out.append(d)
    return out


def test_the_step_takes_the_suites_from_the_worker_and_reports_the_same(tmp_path, monkeypatch):
    tables = _bad_tables()
    digests = {}
    for src, frame in tables.items():
        frame.write_parquet(tmp_path / f"{src}.parquet")
        digests[src] = f"test-digest:{src}:{validate.content_hash(frame)}"
    here = run_quality(
        tables, rejected_records(), ingest_report(), max_rejected_share=0.05, cache_dir=tmp_path / "here", digests=digests
    )

    worker = SuiteWorker()
    monkeypatch.setattr("lianjian.quality.worker._WORKER", worker)
    try:
        worker.warm()
        for src in tables:
            assert worker.submit(src, tmp_path / f"{src}.parquet", digests[src], tmp_path / "beside")
        # every suite now comes from the worker: this process must not validate a single table
        monkeypatch.setattr(validate, "run_suite", lambda *a, **k: pytest.fail("suite run in the step's process"))
        beside = run_quality(
            {src: pl.scan_parquet(tmp_path / f"{src}.parquet") for src in tables},
            rejected_records(),
            ingest_report(),
            max_rejected_share=0.05,
            cache_dir=tmp_path / "beside",
            digests=digests,
        )
    finally:
        worker.close()

    assert _outcomes(beside) == _outcomes(here)
    suites = [o for o in beside.outcomes if o.check.name.endswith("_contract_suite")]
    assert len(suites) == len(tables) and all(o.cached is False for o in suites)  # computed in this run
    failed = {o.check.name: (o.unexpected_count, o.check.severity) for o in beside.outcomes if not o.passed}
    assert failed["cases_contract_suite"] == (2, ERROR)  # blocking, as computed in the step
    assert failed["reviews_contract_suite"][0] == 1
    # the worker wrote the same cache entries the step would have: a later run finds them
    assert sorted(p.name for p in (tmp_path / "beside").glob("*.json")) == sorted(p.name for p in (tmp_path / "here").glob("*.json"))
    for p in (tmp_path / "here").glob("*.json"):
        a, b = json.loads(p.read_text()), json.loads((tmp_path / "beside" / p.name).read_text())
        assert _stable(a) == _stable(b), p.name


def _stable(entry: dict) -> dict:
    """A cache entry without what differs between any two validations of the same table: the time
    taken, GX's load time and the random ids GX gives its expectations."""
    entry = dict(entry)
    entry.pop("seconds")
    gx = json.loads(json.dumps(entry.pop("gx_result")))
    gx.get("meta", {}).get("batch_markers", {}).pop("ge_load_time", None)
    for r in gx.get("results", []):
        r.get("expectation_config", {}).pop("id", None)
    return entry | {"gx_result": gx}


def test_a_cached_or_unknown_table_is_not_handed_to_the_worker(tmp_path):
    worker = SuiteWorker()
    try:
        frame = staged()["units"]
        frame.write_parquet(tmp_path / "units.parquet")
        validate.validate_cached("units", frame, tmp_path / "cache", digest="d1")
        assert not worker.submit("units", tmp_path / "units.parquet", "d1", tmp_path / "cache")  # cached already
        assert not worker.started  # and nothing was started for it
        assert worker.take(tmp_path / "cache" / "unknown.json") is None
    finally:
        worker.close()


RUN = r"""
import json, sys
from pathlib import Path
import dagster as dg
from lianjian.runner import run_pipeline
import lianjian.quality.worker as worker
worker.MAX_LANDING_BYTES = int(sys.argv[4])
beside_scoring = []
_warm_beside_scoring = worker.SuiteWorker.warm_beside_scoring
handed = []
def _spy(self, wh):
    beside_scoring.append(_warm_beside_scoring(self, wh))
    handed.append(len(self._pending))  # tables given to the worker as the scoring begins
    return beside_scoring[-1]
worker.SuiteWorker.warm_beside_scoring = _spy
first_warm = []
_warm = worker.SuiteWorker.warm
def _warm_spy(self):
    if not self.started and not first_warm:  # who starts the worker: the first caller outside worker.py
        frame = sys._getframe(1)
        while frame.f_code.co_filename == worker.__file__:
            frame = frame.f_back
        first_warm.append(frame.f_code.co_name)
    return _warm(self)
worker.SuiteWorker.warm = _warm_spy
import lianjian.quality.cross as cross
roster_rule = []
_reviewed = cross.reviewed_in_roster
cross.reviewed_in_roster = lambda *a: roster_rule.append(1) or _reviewed(*a)
if sys.argv[5] == "cli":
    instance = dg.DagsterInstance.ephemeral()
    outcome = run_pipeline(Path(sys.argv[1]), Path(sys.argv[2]), Path(sys.argv[3]), instance=instance, progress=False, reports=False)
else:  # the nightly schedule's path, on a SQLite instance (DAGSTER_HOME: sys.argv[6])
    import os
    os.environ["DAGSTER_HOME"] = sys.argv[6]
    from benchmarks.daemon_path import daemon_pipeline_run
    from pipelines.instance import ensure_instance
    from pipelines.resources import LianjianSettings
    ensure_instance(Path(sys.argv[6]))
    instance = dg.DagsterInstance.get()
    settings = LianjianSettings.resolve(Path(sys.argv[1]), Path(sys.argv[2]), Path(sys.argv[3]))
    outcome = daemon_pipeline_run(instance, settings, trigger="nightly", first_tags={"lianjian/reports": "skip"})
checks = {}
for run in instance.get_runs():
    for rec in instance.all_logs(run.run_id, of_type=dg.DagsterEventType.ASSET_CHECK_EVALUATION):
        ev = rec.dagster_event.event_specific_data
        meta = {k: v.value for k, v in ev.metadata.items() if k not in ("seconds", "data_docs")}
        checks[ev.check_name] = [ev.passed, str(ev.severity), json.dumps(meta, sort_keys=True, default=str)]
print(json.dumps({
    "success": outcome.success, "gx_in_run_process": "great_expectations" in sys.modules, "checks": checks,
    "started_beside_scoring": beside_scoring, "worker_running_after": worker.suite_worker().started,
    "handed_beside_scoring": handed, "roster_rule_evaluations": len(roster_rule), "first_warm": first_warm,
}))
"""


def _run(tmp_path: Path, name: str, worker: bool, max_landing_bytes: int, path: str = "cli") -> dict:
    """A pipeline run in a new process: ``lianjian run`` (``path="cli"``), or the nightly schedule's
    tick and the runs it leads to, as the daemon launches them (``"daemon"``, benchmarks/daemon_path.py),
    of the landing zone in ``tmp_path / "landing"``, into the warehouse ``tmp_path / name``."""
    env = {k: v for k, v in os.environ.items() if k != "DAGSTER_HOME"}
    env["LIANJIAN_SUITE_WORKER"] = "1" if worker else "0"
    out = subprocess.run(
        [
            sys.executable, "-c", RUN, str(tmp_path / "landing"), str(tmp_path / name), str(ROOT / "rules" / "default.yaml"),
            str(max_landing_bytes), path, str(tmp_path / f"home_{name}"),
        ],
        capture_output=True, text=True, cwd=ROOT, env=env, check=True,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


class _Runs:
    """The pipeline runs of this module's tests, each configuration run once and read by every test
    that asks for it (``runs(...)``): every run is of the same landing zone (``support_ingest.
    write_landing``), into a warehouse and Dagster home of its own, its result read only. A zone of
    ``size`` bytes is validated beside staging when the worker's limit is ``size``, beside the scoring
    when it is ``size - 1``."""

    def __init__(self, root: Path):
        from support_ingest import write_landing

        self.root = root
        self.size = sum(p.stat().st_size for p in write_landing(root / "landing").rglob("*") if p.is_file())
        self._done: dict[tuple, dict] = {}

    def __call__(self, *, worker: bool, limit: int, path: str = "cli") -> dict:
        key = (worker, limit, path)
        if key not in self._done:
            self._done[key] = _run(self.root, f"wh_{len(self._done)}", worker, limit, path)
        return self._done[key]

    def warehouse(self, *, worker: bool, limit: int, path: str = "cli") -> Path:
        return self.root / f"wh_{list(self._done).index((worker, limit, path))}"


@pytest.fixture(scope="module")
def runs(tmp_path_factory) -> _Runs:
    return _Runs(tmp_path_factory.mktemp("runs"))


def test_lianjian_run_validates_beside_staging_and_reports_the_same_checks(runs):
    """Through `lianjian run`: with the worker, the run's own process never imports Great
    Expectations (the suites ran in the worker, computed in this run); without it, it does; the
    checks, their results and metadata are the same."""
    beside = runs(worker=True, limit=runs.size)
    alone = runs(worker=False, limit=runs.size - 1)
    assert beside["success"] and alone["success"]
    assert beside["gx_in_run_process"] is False and alone["gx_in_run_process"] is True
    assert beside["checks"] == alone["checks"]
    suites = {k: v for k, v in beside["checks"].items() if k.endswith("_contract_suite")}
    assert len(suites) == 11 and all('"gx_cached": false' in v[2] for v in suites.values())


def test_a_large_landing_zone_is_validated_by_a_worker_started_beside_the_scoring(runs):
    """Above ``MAX_LANDING_BYTES`` of landing files (1/6 national, national) no worker runs beside
    staging, whose memory it would add to: the worker starts as the scoring begins and is given all
    11 staged tables then (it imports Great Expectations and validates them on the second core,
    beside the scoring, not after it); the suites' step takes the results and the worker ends. The
    run's process never imports GX; the results are the same as validated beside staging. Without
    the worker at all, the step validates in the run's process."""
    small = runs(worker=True, limit=runs.size)
    large = runs(worker=True, limit=runs.size - 1)
    alone = runs(worker=False, limit=runs.size - 1)
    assert small["success"] and large["success"] and alone["success"]
    assert small["started_beside_scoring"] == [False] and small["worker_running_after"] is True
    assert large["started_beside_scoring"] == [True] and large["worker_running_after"] is False
    assert large["handed_beside_scoring"] == [11]
    # the rules are evaluated once, in the first run's step; the suites' step (whose Data Docs list
    # every check) takes their outcomes from it, in this process
    assert small["roster_rule_evaluations"] == large["roster_rule_evaluations"] == alone["roster_rule_evaluations"] == 1
    assert small["gx_in_run_process"] is False and large["gx_in_run_process"] is False
    assert alone["started_beside_scoring"] == [False] and alone["gx_in_run_process"] is True
    assert small["checks"] == large["checks"] == alone["checks"]
    suites = {k: v for k, v in large["checks"].items() if k.endswith("_contract_suite")}
    assert len(suites) == 11 and all('"gx_cached": false' in v[2] for v in suites.values())
    # every suite's result is now cached for these staged tables: no worker, no Great Expectations
    from lianjian.quality.worker import SuiteWorker

    again = SuiteWorker()
    assert again.warm_beside_scoring(runs.warehouse(worker=True, limit=runs.size - 1)) is False and not again.started


def test_the_nightly_path_starts_the_worker_where_each_run_begins(runs):
    """Through the nightly schedule's path (each Dagster run executed as the daemon's run worker
    executes it): the run's executor starts the suite worker as ``lianjian run`` does — for a small
    zone as the first run begins, before staging reads a file; for a large one as the second run
    begins, with every staged table handed over — so the suites run beside staging or the scoring,
    never after them in the suites' step. The checks are those of ``lianjian run``."""
    cli = runs(worker=True, limit=runs.size)
    small = runs(worker=True, limit=runs.size, path="daemon")
    large = runs(worker=True, limit=runs.size - 1, path="daemon")
    assert cli["success"] and small["success"] and large["success"]
    assert small["first_warm"] == ["start_suite_worker"]  # by the executor, as the first run begins
    assert cli["first_warm"] == ["start_suite_worker"]  # `lianjian run`: before it loads the definitions
    assert small["gx_in_run_process"] is False and small["worker_running_after"] is True
    assert large["started_beside_scoring"] == [True] and large["handed_beside_scoring"] == [11]
    assert large["gx_in_run_process"] is False and large["worker_running_after"] is False
    assert small["checks"] == large["checks"] == cli["checks"]
    suites = {k: v for k, v in large["checks"].items() if k.endswith("_contract_suite")}
    assert len(suites) == 11 and all('"gx_cached": false' in v[2] for v in suites.values())


def _with_warm_worker(
    tmp_path: Path, body: str, *, timeout: int, check: bool = True, before: str = ""
) -> subprocess.CompletedProcess:
    """Run a script in a new Python process that runs ``before``, starts the suite worker (``w``) and
    then runs ``body``; its output as text."""
    script = tmp_path / "script.py"
    script.write_text(
        "import os, signal, time\n" + before +
        "from lianjian.quality.worker import suite_worker\n"
        "w = suite_worker()\n"
        "w.warm()\n" + body
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT), "LIANJIAN_SUITE_WORKER": "1"}
    return subprocess.run([sys.executable, str(script)], capture_output=True, text=True, cwd=ROOT, env=env, timeout=timeout, check=check)


def test_the_worker_does_not_run_the_parents_main_script_again(tmp_path):
    """A process started with "spawn" imports the parent's main script: a script without a main
    guard that starts the worker (as ``run_pipeline`` does) must not run again inside it — it would
    run the pipeline again and wait forever for the warehouse lock its parent holds."""
    out = _with_warm_worker(
        tmp_path,
        "print('worker pid differs:', w._pool.submit(os.getpid).result(timeout=120) != os.getpid(), flush=True)\n",
        timeout=300,
    )
    # the script has no main guard: run again inside the worker, it would start a worker of its own
    # there (which a process still starting cannot do: the script fails) and print its line twice
    assert out.stdout.splitlines() == ["worker pid differs: True"]


WARM_COLLECTIONS = """
import gc, json, os, sys, tempfile
collections = []
gc.callbacks.append(lambda phase, info: phase == "stop" and collections.append(info["generation"]))
from lianjian.quality.worker import _warm, _validate
sys.path.insert(0, "tests")
from support_quality import staged
collections.clear()
_warm()
during, frozen, enabled = list(collections), gc.get_freeze_count(), gc.isenabled()
left = gc.collect()  # after the warm-up: a collection runs as before, over what was made since
staged_dir = tempfile.mkdtemp()
staged()["talks"].write_parquet(f"{staged_dir}/talks.parquet")
raw, _ = _validate("talks", f"{staged_dir}/talks.parquet", "digest", tempfile.mkdtemp())
print(json.dumps([during, frozen, enabled, len(collections) > len(during), raw["success"], len(raw["expectations"])]))
os._exit(0)
"""


def test_the_worker_imports_great_expectations_without_the_cycle_collector_and_freezes_it(tmp_path):
    """The worker's warm-up (``_warm``: Great Expectations, pandas, Polars, the context) runs without
    a single collection of the cycle collector, and freezes what it made (≈ 250,000 objects left out
    of later collections); the collector is on again after it, and a suite runs as before."""
    out = subprocess.run([sys.executable, "-c", WARM_COLLECTIONS], capture_output=True, text=True, cwd=ROOT, check=True, timeout=300)
    during, frozen, enabled, collected_after, success, expectations = json.loads(out.stdout)
    assert during == [] and frozen > 100_000 and enabled and collected_after
    assert success is True and expectations > 10


def test_a_process_ending_does_not_wait_for_the_worker(tmp_path):
    """A run that ends before its data-quality step (a fatal input error) does not keep the command
    waiting: at the process's exit the worker is ended, not waited for (here it is busy for ten
    minutes; the process must end well before — within five, which leaves room for the worker's
    start on a loaded machine)."""
    out = _with_warm_worker(tmp_path, "w._pool.submit(time.sleep, 600)\nprint('leaving', flush=True)\n", timeout=300)
    assert out.stdout.splitlines() == ["leaving"]


def test_a_process_ending_does_not_wait_for_a_worker_that_ignores_sigterm(tmp_path):
    """A command run in the background from a script starts with SIGINT ignored; Dagster makes
    SIGTERM do what SIGINT does, so the command and the worker it starts afterwards ignore SIGTERM.
    Its exit must still not wait for the busy worker (here SIGTERM is ignored before the worker
    starts, as it is then)."""
    out = _with_warm_worker(
        tmp_path,
        "w._pool.submit(time.sleep, 600)\nprint('leaving', flush=True)\n",
        timeout=300,
        before="signal.signal(signal.SIGTERM, signal.SIG_IGN)\n",
    )
    assert out.stdout.splitlines() == ["leaving"]


def test_a_lock_made_in_the_worker_is_not_reported_leaked_at_exit(tmp_path):
    """tqdm makes a multiprocessing lock in the worker (when Great Expectations' code first draws a
    progress bar); the worker is ended at its process's exit without running its own exit hooks, and
    its lock's semaphore was then reported by Python's resource tracker at the end of every demo run
    ("There appear to be 1 leaked semaphore objects"). Locks made in a worker leave nothing behind
    (lianjian/processes.py)."""
    out = _with_warm_worker(
        tmp_path,
        "import tqdm.std\n"
        "w._pool.submit(tqdm.std.TqdmDefaultWriteLock.create_mp_lock).result(timeout=120)\n"
        "print('lock made:', w._pool.submit(getattr, tqdm.std.TqdmDefaultWriteLock, 'mp_lock').exception(timeout=60) is not None, flush=True)\n",
        timeout=300,
    )
    assert out.stdout.splitlines() == ["lock made: True"]  # the lock exists in the worker (it cannot be sent back)
    assert "leaked" not in out.stderr and "resource_tracker" not in out.stderr, out.stderr


def test_the_worker_ends_when_its_process_is_killed(tmp_path):
    """A `lianjian run` killed outright (its exit hooks never run) leaves no worker behind."""
    out = _with_warm_worker(
        tmp_path,
        "print(w._pool.submit(os.getpid).result(timeout=120), flush=True)\nos.kill(os.getpid(), signal.SIGKILL)\n",
        timeout=180,
        check=False,
    )
    assert out.returncode == -9
    worker = int(out.stdout.split()[0])
    for _ in range(100):
        if not Path(f"/proc/{worker}").exists():
            break
        time.sleep(0.2)
    else:
        os.kill(worker, 9)
        pytest.fail("the worker outlived its killed process")


def test_the_worker_serves_only_runs_whose_steps_share_one_process():
    """The staging step and the data-quality step share the worker only when they run in one process:
    the executor's default, not a run configured ``multiprocess`` (each step its own process)."""
    from pipelines.executor import in_process

    assert in_process(None) and in_process({}) and in_process({"execution": {"config": {"in_process": {}}}})
    assert not in_process({"execution": {"config": {"multiprocess": {"max_concurrent": 2}}}})


START_EARLY = r"""
import sys, types
from lianjian.quality import worker
from lianjian.cli import main

seen = []
worker.SuiteWorker.warm = lambda self: seen.append("dagster" in sys.modules)
sys.modules["lianjian.runner"] = types.SimpleNamespace(run=lambda *a, **k: print(seen) or 0)
main(["run", "--landing", sys.argv[1], "--warehouse", sys.argv[2]] + sys.argv[3:])
"""


def test_lianjian_run_starts_the_worker_before_importing_dagster(tmp_path):
    """`lianjian run` into a warehouse whose published version is not current starts the suite
    worker's import of Great Expectations before it imports Dagster and the definitions (≈ 1 s
    earlier); with ``--force`` it does not (unchanged tables' suites are cached)."""
    from support_ingest import write_landing

    landing = write_landing(tmp_path / "landing")
    env = {**{k: v for k, v in os.environ.items() if k != "DAGSTER_HOME"}, "LIANJIAN_SUITE_WORKER": "1"}

    def run(*extra: str) -> str:
        out = subprocess.run(
            [sys.executable, "-c", START_EARLY, str(landing), str(tmp_path / "wh"), *extra],
            capture_output=True, text=True, cwd=ROOT, env=env, check=True, timeout=120,
        )
        return out.stdout.strip()

    assert run() == "[False]"
    assert run("--force") == "[]"


def test_beside_the_scoring_the_largest_staged_files_go_first(tmp_path, monkeypatch):
    """Handed over as the scoring begins, the tables go to the worker largest file first (the
    heaviest suites while the first scoring steps hold the least); the suites' step hands over in
    the contract's order."""
    import lianjian.quality.gate as gate

    sizes = {"units": 10, "cases": 300, "talks": 200}
    (tmp_path / "staged").mkdir()
    for src, n in sizes.items():
        (tmp_path / "staged" / f"{src}.parquet").write_bytes(b"x" * n)
    monkeypatch.setattr(gate, "staged_digests", lambda wh: {src: f"d-{src}" for src in sizes})
    worker = SuiteWorker()
    given: list[str] = []
    monkeypatch.setattr(worker, "submit", lambda src, *a: given.append(src) or True)
    monkeypatch.setattr(SuiteWorker, "started", property(lambda self: True))
    worker.hand_over(tmp_path, largest_first=True)
    assert given == ["cases", "talks", "units"]
    given.clear()
    worker.hand_over(tmp_path)
    assert given == list(sizes)  # as staged_digests lists them


def test_a_worker_started_beside_the_scoring_ends_once_its_tables_are_validated(tmp_path, monkeypatch):
    """Given every table as the scoring begins, the worker stops as soon as the last one is validated
    (not at the suites' step: its memory is not held through the rest of the scoring); the results
    wait in the parent and are those of validating here — a duplicated case key fails the cases suite
    for its 2 rows."""
    import lianjian.quality.gate as gate

    tables = _bad_tables()
    (tmp_path / "staged").mkdir()
    for src in ("units", "cases"):
        tables[src].write_parquet(tmp_path / "staged" / f"{src}.parquet")
    monkeypatch.setattr(gate, "staged_digests", lambda wh: {src: f"staged-file-sha256:{src}" for src in ("units", "cases")})
    worker = SuiteWorker()
    try:
        assert worker.warm_beside_scoring(tmp_path)
        deadline = time.monotonic() + 90
        while worker.started and time.monotonic() < deadline:
            time.sleep(0.2)
        assert not worker.started  # ended by itself, before anyone asked for a result
        cache = gate.gx_cache_dir(tmp_path)
        for src in ("units", "cases"):
            digest = f"staged-file-sha256:{src}"
            got = worker.take(cache / f"{validate.cache_key(src, None, digest)}.json")
            assert got is not None and got.cached is False
            here = validate.run_suite(src, tables[src], digest=digest)
            assert [dataclasses.asdict(e) for e in got.expectations] == [dataclasses.asdict(e) for e in here.expectations]
        assert not here.success and [e.unexpected_count for e in here.expectations if not e.success] == [2]  # cases
        worker.release()
        assert not worker.started
    finally:
        worker.close()


def test_the_worker_and_the_publish_gate_count_a_staged_table_from_its_files_footer(tmp_path, monkeypatch):
    """The worker and the gate before publishing give each suite the staged file it scans, whose
    footer gives its row and null counts (lianjian/quality/validate.py, ``read_footer``); the results
    are those of validating the table in memory — the duplicated case key fails cases for its 2 rows."""
    import lianjian.quality.gate as gate
    from lianjian.quality import worker as worker_module

    tables = _bad_tables()
    (tmp_path / "staged").mkdir()
    for src in ("units", "cases"):
        tables[src].write_parquet(gate.staged_path(tmp_path, src))
    monkeypatch.setattr(gate, "staged_digests", lambda wh: {src: f"staged-file-sha256:{src}" for src in ("units", "cases")})
    read: list[Path] = []
    read_footer = validate.read_footer
    monkeypatch.setattr(validate, "read_footer", lambda file, columns: read.append(Path(file)) or read_footer(file, columns))

    raw, _ = worker_module._validate("cases", str(gate.staged_path(tmp_path, "cases")), "staged-file-sha256:cases", str(gate.gx_cache_dir(tmp_path)))
    assert read == [gate.staged_path(tmp_path, "cases")]
    run = gate.suite_run(tmp_path)  # cases from the cache the worker wrote, units validated here
    assert read == [gate.staged_path(tmp_path, "cases"), gate.staged_path(tmp_path, "units")]
    here = {src: validate.run_suite(src, tables[src]) for src in ("units", "cases")}
    assert [e["unexpected_count"] for e in raw["expectations"]] == [e.unexpected_count for e in here["cases"].expectations]
    for src in ("units", "cases"):
        assert [dataclasses.asdict(e) for e in run.suites[src].expectations] == [dataclasses.asdict(e) for e in here[src].expectations]
    assert "cases_contract_suite" in [o.check.name for o in run.blocking_failures]  # (and the absent required sources)
