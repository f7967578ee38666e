"""lianjian's run launcher (pipelines/launcher.py) and a run's own process (pipelines/run_process.py): the
example settings show it, a launched run succeeds in a process of its own that started the suite
worker before Dagster and leaves the suites' results cached, a run is terminated from outside and
ends canceled, a failing run ends failed — and no process is left behind."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import dagster as dg

ROOT = Path(__file__).resolve().parents[1]
#: A demo run's process ends within seconds; a loaded test machine is given ten times that.
WAIT_SECONDS = 120


def test_the_example_settings_show_the_launcher():
    from benchmarks.deployment_path import LIANJIAN_LAUNCHER

    example = (ROOT / "dagster.yaml.example").read_text(encoding="utf-8")
    assert "\n".join("#   " + line for line in LIANJIAN_LAUNCHER.splitlines()) in example


def test_run_process_starts_the_worker_before_dagster(demo_landing):
    code = (
        "import sys; from pathlib import Path; from lianjian.quality.worker import warm_beside_staging; "
        f"started = warm_beside_staging(Path({str(demo_landing)!r})); "
        "print(started, 'dagster' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=WAIT_SECONDS, check=True)
    assert out.stdout.split() == ["True", "False"]


def test_command_passes_the_landing_zone_only_for_the_worker(tmp_path):
    from pipelines.run_process import BESIDE_STAGING, command

    assert command("{}", executable="py") == ["py", "-m", "pipelines.run_process", "{}"]
    assert command("{}", landing=tmp_path, executable="py") == ["py", "-m", "pipelines.run_process", BESIDE_STAGING, str(tmp_path), "{}"]


def _instance(tmp_path: Path, landing: Path, warehouse: Path):
    from benchmarks.deployment_path import with_launcher
    from pipelines.instance import ensure_instance

    home = tmp_path / "home"
    ensure_instance(home)
    with_launcher(home, "lianjian")
    return dg.DagsterInstance.from_config(str(home))


def _launch(instance, landing: Path, warehouse: Path) -> dg.DagsterRun:
    """The first run of a pipeline run, created as a tick's request and launched by the instance's
    run launcher."""
    from pipelines import definitions
    from pipelines.resources import LianjianSettings
    from pipelines.runs import ingest_request

    settings = LianjianSettings.resolve(landing, warehouse, ROOT / "rules" / "default.yaml")
    request = ingest_request(settings, trigger="ui", force=True)
    recon = dg.reconstructable(definitions.ingest_job)
    run = instance.create_run_for_job(
        recon.get_definition(), run_config=request.run_config, tags=request.tags, job_code_origin=recon.get_python_origin()
    )
    instance.launch_run(run.run_id, workspace=None)
    return run


def _wait_finished(instance, run_id: str) -> dg.DagsterRun:
    deadline = time.monotonic() + WAIT_SECONDS
    while time.monotonic() < deadline:
        run = instance.get_run_by_id(run_id)
        if run.is_finished:
            return run
        time.sleep(0.1)
    raise AssertionError(f"run {run_id} did not finish")


def _wait_gone(pid: int) -> None:
    deadline = time.monotonic() + WAIT_SECONDS
    while Path(f"/proc/{pid}").exists() and time.monotonic() < deadline:
        time.sleep(0.1)
    if Path(f"/proc/{pid}").exists():
        os.kill(pid, 9)
        raise AssertionError(f"the run's process {pid} did not end")


def _pid(run: dg.DagsterRun) -> int:
    from pipelines.launcher import PID_TAG

    return int(run.tags[PID_TAG].split(":")[1])  # host:pid:start


def test_launched_run_succeeds_in_its_own_process_and_leaves_the_suites_cached(tmp_path, demo_landing):
    from lianjian.quality.gate import gx_cache_dir, staged_digests
    from lianjian.quality.validate import cache_key

    warehouse = tmp_path / "wh"
    with _instance(tmp_path, demo_landing, warehouse) as instance:
        run = _wait_finished(instance, _launch(instance, demo_landing, warehouse).run_id)
        assert run.status == dg.DagsterRunStatus.SUCCESS
        pid = _pid(run)
        assert pid != os.getpid()
        _wait_gone(pid)  # the process ends once its worker has validated what it was given
        logs = [e.user_message or (e.dagster_event.message if e.dagster_event else "") or "" for e in instance.all_logs(run.run_id)]
        assert any(m.startswith(f"Started process for run (pid: {pid})") for m in logs)
    digests = staged_digests(warehouse)
    assert digests  # the staged tables, each with its suite's result cached by the worker
    assert all((gx_cache_dir(warehouse) / f"{cache_key(src, None, d)}.json").exists() for src, d in digests.items())


def test_launched_run_is_terminated_and_ends_canceled(tmp_path, demo_landing):
    from lianjian.lock import warehouse_lock

    warehouse = tmp_path / "wh"
    warehouse.mkdir()
    with _instance(tmp_path, demo_landing, warehouse) as instance:
        with warehouse_lock(warehouse, landing=demo_landing):  # the run waits for it in its executor
            run = _launch(instance, demo_landing, warehouse)
            deadline = time.monotonic() + WAIT_SECONDS
            while instance.get_run_by_id(run.run_id).status != dg.DagsterRunStatus.STARTED and time.monotonic() < deadline:
                time.sleep(0.1)
            run = instance.get_run_by_id(run.run_id)
            assert instance.run_launcher.check_run_worker_health(run).status.value == "RUNNING"
            assert instance.run_launcher.terminate(run.run_id)
            run = _wait_finished(instance, run.run_id)
        assert run.status == dg.DagsterRunStatus.CANCELED
        _wait_gone(_pid(run))
        assert instance.run_launcher.check_run_worker_health(run).status.value == "NOT_FOUND"
        assert not instance.run_launcher.terminate(run.run_id)  # finished: nothing to terminate


def test_failing_run_ends_failed(tmp_path):
    landing = tmp_path / "landing"
    landing.mkdir()  # no files: the staging step fails
    warehouse = tmp_path / "wh"
    with _instance(tmp_path, landing, warehouse) as instance:
        run = _wait_finished(instance, _launch(instance, landing, warehouse).run_id)
        assert run.status == dg.DagsterRunStatus.FAILURE
        _wait_gone(_pid(run))


def _warm_worker_then_return(landing: Path) -> None:
    """In a spawned process: start the suite worker and wait until it is up and idle, as at the end of
    a run, then return (the process ends)."""
    from lianjian.quality.worker import suite_worker
    from lianjian.quality.worker import warm_beside_staging

    assert warm_beside_staging(landing)
    suite_worker()._pool.submit(os.getpid).result()


def test_a_spawned_run_process_ends_with_its_worker_started(demo_landing):
    """A run started by Dagster's code server is a process multiprocessing started ("spawn"): its exit
    joins its children before the interpreter's exit hooks run, so the idle suite worker must be
    ended before that join, or the process never ends."""
    import multiprocessing as mp

    process = mp.get_context("spawn").Process(target=_warm_worker_then_return, args=(demo_landing,))
    process.start()
    process.join(WAIT_SECONDS)
    alive = process.is_alive()
    if alive:
        for child in Path(f"/proc/{process.pid}/task/{process.pid}/children").read_text().split():
            os.kill(int(child), 9)
        process.kill()
        process.join()
    assert not alive
    assert process.exitcode == 0


# ---- the warm process (pipelines/warm_process.py) -------------------------------------------------


def _origin():
    """The code location's repository origin (its Python and working directory), as a run's."""
    from pipelines import definitions

    return dg.reconstructable(definitions.ingest_job).get_python_origin().repository_origin


def _warm_pid(instance) -> int:
    return instance.run_launcher._warm.process.pid


def test_run_process_id_names_a_process_by_its_id_and_start_time():
    """A forked run's command line is the warm process's: the run's process is known by its id and
    start time, and a process whose id is the same but started at another time is never signalled."""
    from pipelines.launcher import PID_TAG, process_tag, run_process_id
    from pipelines.warm_process import process_start

    sleeper = subprocess.Popen(["sleep", "60"])
    try:
        start = process_start(sleeper.pid)
        assert start is not None

        def run(tag: str) -> dg.DagsterRun:
            return dg.DagsterRun(job_name="job", run_id="0" * 36, tags={PID_TAG: tag})

        assert run_process_id(run(process_tag(sleeper.pid, start))) == sleeper.pid
        assert run_process_id(run(process_tag(sleeper.pid, start + 1))) is None  # the id reused since
        assert run_process_id(run(f"another-host:{sleeper.pid}:{start}")) is None
        assert run_process_id(run(process_tag(sleeper.pid, None))) is None  # ended before its start was read
        assert run_process_id(run(f"{process_tag(sleeper.pid, start).rsplit(':', 1)[0]}")) is None  # host:pid, not the run's command line
    finally:
        sleeper.kill()
        sleeper.wait()
    assert run_process_id(run(process_tag(sleeper.pid, start))) is None


def test_the_warm_process_is_alone_and_holds_nothing_open_and_ends_with_the_instance(tmp_path, demo_landing):
    """The warm process has imported Dagster and the storages' classes, but not Polars (which starts
    threads), has one thread, and holds no file of the instance, no socket: only its standard streams
    and the pipe of its replies."""
    with _instance(tmp_path, demo_landing, tmp_path / "wh") as instance:
        assert instance.run_launcher.warm_up(_origin())
        warm = _warm_pid(instance)
        assert os.listdir(f"/proc/{warm}/task") == [str(warm)]
        maps = Path(f"/proc/{warm}/maps").read_text()
        assert "sqlalchemy" in maps or "_sqlite3" in maps  # the storages' modules are loaded …
        assert "polars" not in maps  # … Polars is not
        fds = {int(fd): os.readlink(f"/proc/{warm}/fd/{fd}") for fd in os.listdir(f"/proc/{warm}/fd")}
        extra = {fd: target for fd, target in fds.items() if fd > 2}
        assert len(extra) == 1 and next(iter(extra.values())).startswith("pipe:"), fds
        assert fds[0].startswith("pipe:")
    _wait_gone(warm)  # the instance disposed of its launcher: the pipe closed, the warm process ended


def test_the_warm_process_ends_when_the_launchers_process_ends(tmp_path, demo_landing):
    """A daemon killed outright leaves no warm process behind: its pipe closes, the process ends."""
    _instance(tmp_path, demo_landing, tmp_path / "wh").dispose()
    code = (
        "import os, dagster as dg; from tests.test_launcher import _origin, _warm_pid; "
        f"instance = dg.DagsterInstance.from_config({str(tmp_path / 'home')!r}); "
        "assert instance.run_launcher.warm_up(_origin()); print(_warm_pid(instance), flush=True); os._exit(0)"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=WAIT_SECONDS, check=True)
    _wait_gone(int(out.stdout.split()[-1]))


def test_a_pipeline_run_forks_each_run_from_the_warm_process_and_publishes_the_demos_bytes(tmp_path, demo_landing, demo_run, monkeypatch):
    """The demo as a deployment runs it (benchmarks/deployment_path.py: the nightly schedule's tick, the
    chain sensor's), with the warm process up before the tick: both runs succeed, each in a process
    forked from the same warm process, which stays; the published files are `lianjian run`'s."""
    from benchmarks.deployment_path import deployment_pipeline_run, warm_up, workspace_context
    from pipelines.launcher import WarmProcess

    warehouse = tmp_path / "wh"
    forked = []
    fork = WarmProcess.fork
    monkeypatch.setattr(WarmProcess, "fork", lambda self, argv: forked.append(fork(self, argv)) or forked[-1])
    for key, value in (("LIANJIAN_LANDING", demo_landing), ("LIANJIAN_WAREHOUSE", warehouse), ("LIANJIAN_RULES", ROOT / "rules" / "default.yaml")):
        monkeypatch.setenv(key, str(value))
    with _instance(tmp_path, demo_landing, warehouse) as instance, workspace_context(instance) as context:
        workspace = context.create_request_context()
        assert warm_up(instance, workspace)
        warm = _warm_pid(instance)
        out = deployment_pipeline_run(instance, workspace)
        assert out.statuses == ["SUCCESS", "SUCCESS"]
        runs = [instance.get_run_by_id(run_id) for run_id in out.run_ids]
        assert [_pid(run) for run in runs] == [pid for pid, _ in forked]
        assert _warm_pid(instance) == warm and Path(f"/proc/{warm}").exists()  # it stays, for the next night
        for run in runs:
            _wait_gone(_pid(run))
    _wait_gone(warm)

    def published(root: Path) -> dict[str, bytes]:
        files = [p for part in ("published", "restricted") for p in (root / part).rglob("*") if p.is_file()]
        return {p.relative_to(root).as_posix(): p.read_bytes() for p in files if p.name not in ("_manifest.json", "access.log")}

    expected = published(demo_run[1])
    assert expected and published(warehouse) == expected


def test_a_launch_never_fails_because_of_the_warm_process(tmp_path, monkeypatch):
    """A warm process that ended is replaced, as is one started with another environment; one that
    answers it is unfit (threads) lets the run start afresh, and no other is started. Each run ends as
    it would (an empty landing zone: failed)."""
    from pipelines.launcher import WarmProcess

    landing = tmp_path / "landing"
    landing.mkdir()
    warehouse = tmp_path / "wh"

    def launched(instance) -> dg.DagsterRun:
        run = _wait_finished(instance, _launch(instance, landing, warehouse).run_id)
        assert run.status == dg.DagsterRunStatus.FAILURE
        _wait_gone(_pid(run))
        return run

    with _instance(tmp_path, landing, warehouse) as instance:
        assert instance.run_launcher.warm_up(_origin())
        first = _warm_pid(instance)
        os.kill(first, 9)
        _wait_gone(first)
        launched(instance)
        second = _warm_pid(instance)
        assert second != first
        monkeypatch.setenv("LIANJIAN_WARM_PROCESS_TEST", "another environment")
        launched(instance)
        third = _warm_pid(instance)
        assert third not in (first, second)
        _wait_gone(second)
        monkeypatch.setattr(WarmProcess, "fork", lambda self, argv: "unfit threads 3")
        run = instance.get_run_by_id(_launch(instance, landing, warehouse).run_id)
        cmdline = Path(f"/proc/{_pid(run)}/cmdline").read_bytes()  # started afresh: its own command line
        assert b"pipelines.run_process" in cmdline and run.run_id.encode() in cmdline
        assert _wait_finished(instance, run.run_id).status == dg.DagsterRunStatus.FAILURE
        assert instance.run_launcher._warm is None  # not started again
        _wait_gone(third)


def test_a_warm_process_whose_code_changed_forks_nothing(tmp_path, demo_landing):
    """The warm process compares the code on disk with the code it imported before each fork: after an
    edit it answers ``unfit stale`` and ends (the launcher then starts the run with the new code)."""
    import shutil

    from pipelines.launcher import WarmProcess, serialize_instance_ref

    code = tmp_path / "code"
    for package in ("lianjian", "pipelines", "assets", "checks"):
        shutil.copytree(ROOT / package, code / package, ignore=shutil.ignore_patterns("__pycache__"))
    with _instance(tmp_path, demo_landing, tmp_path / "wh") as instance:
        warm = WarmProcess(serialize_instance_ref(instance), sys.executable, str(code))
        try:
            assert warm.wait_ready() == "ready"
            with open(code / "lianjian" / "scoring" / "common.py", "a", encoding="utf-8") as f:
                f.write("\n# edited\n")
            assert warm.fork(["unused"]) == "unfit stale"
            _wait_gone(warm.process.pid)
        finally:
            warm.close(kill=True)
