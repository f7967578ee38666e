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

    return int(run.tags[PID_TAG].rpartition(":")[2])


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
