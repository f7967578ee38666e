"""lianjian's run launcher (pipelines/launcher.py) and a run's own process (pipelines/run_process.py): the
example settings show it, a launched run succeeds in a process of its own that started the suite
worker before Dagster, executes the pipeline run's second run itself (pipelines/chain.py: a run of the
instance as the daemon would create it, which the chain sensor does not launch again) and leaves the
suites' results cached, a run — the first or the second — is terminated from outside and ends
canceled, a failing run ends failed with its exit status — and no process is left behind."""

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


def test_the_project_and_example_settings_name_the_launcher():
    from benchmarks.deployment_path import LIANJIAN_LAUNCHER
    from pipelines.instance import INSTANCE_YAML

    example = (ROOT / "dagster.yaml.example").read_text(encoding="utf-8")
    assert LIANJIAN_LAUNCHER in example and LIANJIAN_LAUNCHER in INSTANCE_YAML


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


def _create(instance, landing: Path, warehouse: Path) -> dg.DagsterRun:
    """The first run of a pipeline run, created as a tick's request, its job from the definitions'
    repository (the code location's, as the daemon's runs have it)."""
    from dagster._core.definitions.reconstruct import ReconstructableRepository

    from pipelines.resources import LianjianSettings
    from pipelines.runs import INGEST_JOB, ingest_request

    settings = LianjianSettings.resolve(landing, warehouse, ROOT / "rules" / "default.yaml")
    request = ingest_request(settings, trigger="ui", force=True)
    recon = ReconstructableRepository.for_module("pipelines.definitions", "defs", working_directory=str(ROOT)).get_reconstructable_job(INGEST_JOB)
    return instance.create_run_for_job(
        recon.get_definition(), run_config=request.run_config, tags=request.tags, job_code_origin=recon.get_python_origin()
    )


def _launch(instance, landing: Path, warehouse: Path) -> dg.DagsterRun:
    """The first run of a pipeline run, launched by the instance's run launcher."""
    run = _create(instance, landing, warehouse)
    instance.launch_run(run.run_id, workspace=None)
    return run


def _assess_runs(instance, ingest_run_id: str) -> list[dg.DagsterRun]:
    from pipelines.runs import ASSESS_JOB, INGEST_RUN_TAG

    return list(instance.get_runs(filters=dg.RunsFilter(job_name=ASSESS_JOB, tags={INGEST_RUN_TAG: ingest_run_id})))


def _wait_for_assess_run(instance, ingest_run_id: str) -> dg.DagsterRun:
    deadline = time.monotonic() + WAIT_SECONDS
    while time.monotonic() < deadline:
        runs = _assess_runs(instance, ingest_run_id)
        if runs:
            return runs[0]
        time.sleep(0.05)
    raise AssertionError(f"no assess run after {ingest_run_id}")


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


def _messages(instance, run_id: str) -> list[str]:
    return [e.user_message or (e.dagster_event.message if e.dagster_event else "") or "" for e in instance.all_logs(run_id)]


def test_launched_run_executes_the_second_run_in_its_own_process_and_leaves_the_suites_cached(tmp_path, demo_landing):
    """The first run's process executes the second run too: a run of the instance with its own events
    and status, the tags the chain sensor's run would have, listed in the published manifest."""
    from lianjian.quality.gate import gx_cache_dir, staged_digests
    from lianjian.quality.validate import cache_key
    from lianjian.summary import live_manifest
    from pipelines.chain import CHAINED_TAG
    from pipelines.launcher import PID_TAG
    from pipelines.runs import CHAINS_TAG, INGEST_RUN_TAG, RUN_ID_TAG

    warehouse = tmp_path / "wh"
    with _instance(tmp_path, demo_landing, warehouse) as instance:
        run = _wait_finished(instance, _launch(instance, demo_landing, warehouse).run_id)
        assert run.status == dg.DagsterRunStatus.SUCCESS
        assert run.tags[CHAINS_TAG] == run.run_id  # said by the launcher, before the run could end
        second = _wait_finished(instance, _wait_for_assess_run(instance, run.run_id).run_id)
        pid = _pid(run)
        assert pid != os.getpid()
        _wait_gone(pid)  # the process ends once its worker has validated what it was given
        assert second.status == dg.DagsterRunStatus.SUCCESS and _pid(second) == pid
        assert [r.run_id for r in _assess_runs(instance, run.run_id)] == [second.run_id]
        for r in (run, second):
            assert any(m.startswith(f"Started process for run (pid: {pid})") for m in _messages(instance, r.run_id))
        from dagster._core.events import PIPELINE_EVENTS

        statuses = [e.dagster_event.event_type for e in instance.all_logs(second.run_id, of_type=set(PIPELINE_EVENTS))]
        assert statuses[0] == dg.DagsterEventType.RUN_STARTING and statuses[-1] == dg.DagsterEventType.RUN_SUCCESS
        # the tags of the sensor's run: the pipeline run's, the first run's id, the years, the run key
        launcher_tags = {PID_TAG: run.tags[PID_TAG], CHAINED_TAG: run.run_id}
        lianjian = {k: v for k, v in second.tags.items() if k.startswith("lianjian/")}
        assert lianjian == {**{k: v for k, v in run.tags.items() if k.startswith("lianjian/")}, INGEST_RUN_TAG: run.run_id}
        assert second.tags["dagster/run_key"] == f"{run.tags[RUN_ID_TAG]}:assess"
        assert {k: second.tags[k] for k in launcher_tags} == launcher_tags
        assert {"dagster/asset_partition_range_start", "dagster/asset_partition_range_end"} <= set(second.tags)
        assert second.job_code_origin.repository_origin == run.job_code_origin.repository_origin
        assert second.job_snapshot_id and second.execution_plan_snapshot_id
    assert live_manifest(warehouse)["dagster_run_ids"] == [run.run_id, second.run_id]
    digests = staged_digests(warehouse)
    assert digests  # the staged tables, each with its suite's result cached by the worker
    assert all((gx_cache_dir(warehouse) / f"{cache_key(src, None, d)}.json").exists() for src, d in digests.items())


def _terminated_once_started(instance, run_id: str) -> dg.DagsterRun:
    """Once run ``run_id`` has started (its process runs it), terminate it through the launcher as the
    UI does; the run once finished."""
    deadline = time.monotonic() + WAIT_SECONDS
    while instance.get_run_by_id(run_id).status != dg.DagsterRunStatus.STARTED and time.monotonic() < deadline:
        time.sleep(0.05)
    run = instance.get_run_by_id(run_id)
    assert instance.run_launcher.check_run_worker_health(run).status.value == "RUNNING"
    assert instance.run_launcher.terminate(run_id)
    return _wait_finished(instance, run_id)


def test_launched_run_is_terminated_and_ends_canceled(tmp_path, demo_landing):
    from lianjian.lock import warehouse_lock

    warehouse = tmp_path / "wh"
    warehouse.mkdir()
    with _instance(tmp_path, demo_landing, warehouse) as instance:
        with warehouse_lock(warehouse, landing=demo_landing):  # the run waits for it in its executor
            run = _terminated_once_started(instance, _launch(instance, demo_landing, warehouse).run_id)
        assert run.status == dg.DagsterRunStatus.CANCELED
        _wait_gone(_pid(run))
        assert instance.run_launcher.check_run_worker_health(run).status.value == "NOT_FOUND"
        assert not instance.run_launcher.terminate(run.run_id)  # finished: nothing to terminate
        assert not _assess_runs(instance, run.run_id)  # a terminated first run has no second


def test_the_second_run_in_the_first_runs_process_is_terminated_and_ends_canceled(tmp_path, demo_landing):
    """The second run, executed in its first run's process (whose command line holds only the first
    run's id), is found and terminated by the launcher: here while it waits for the warehouse lock,
    which the test takes as soon as the first run releases it."""
    import threading

    from lianjian.lock import read_holder, warehouse_lock

    warehouse = tmp_path / "wh"
    warehouse.mkdir()
    release, held = threading.Event(), threading.Event()

    def hold() -> None:
        with warehouse_lock(warehouse, landing=demo_landing):  # waits for the first run's executor
            held.set()
            release.wait(WAIT_SECONDS)

    holder = threading.Thread(target=hold, daemon=True)
    with _instance(tmp_path, demo_landing, warehouse) as instance:
        try:
            run = _launch(instance, demo_landing, warehouse)
            pid = _pid(instance.get_run_by_id(run.run_id))
            deadline = time.monotonic() + WAIT_SECONDS
            while getattr(read_holder(warehouse), "pid", None) != pid and time.monotonic() < deadline:
                time.sleep(0.01)
            holder.start()  # the first run holds the lock: the test's turn comes right after it
            assert held.wait(WAIT_SECONDS)
            second = _terminated_once_started(instance, _wait_for_assess_run(instance, run.run_id).run_id)
        finally:
            release.set()
        assert instance.get_run_by_id(run.run_id).status == dg.DagsterRunStatus.SUCCESS
        assert second.status == dg.DagsterRunStatus.CANCELED
        _wait_gone(pid)
        holder.join(WAIT_SECONDS)


def test_failing_run_ends_failed(tmp_path):
    landing = tmp_path / "landing"
    landing.mkdir()  # no files: the staging step fails
    warehouse = tmp_path / "wh"
    with _instance(tmp_path, landing, warehouse) as instance:
        run = _wait_finished(instance, _launch(instance, landing, warehouse).run_id)
        assert run.status == dg.DagsterRunStatus.FAILURE
        _wait_gone(_pid(run))
        assert not _assess_runs(instance, run.run_id)


def _run_process(instance, run: dg.DagsterRun) -> int:
    """Execute ``run`` in ``python -m pipelines.run_process`` as lianjian's launcher starts it (its tag
    saying that the process executes the second run too); the process's exit status."""
    from dagster._grpc.types import ExecuteRunArgs
    from dagster._serdes import serialize_value

    from pipelines.run_process import command
    from pipelines.runs import CHAINS_TAG

    instance.add_run_tags(run.run_id, {CHAINS_TAG: run.run_id})
    args = ExecuteRunArgs(job_origin=run.job_code_origin, run_id=run.run_id, instance_ref=instance.get_ref(), set_exit_code_on_failure=True)
    return subprocess.run(command(serialize_value(args)), cwd=ROOT, timeout=WAIT_SECONDS, capture_output=True).returncode


def test_a_failed_first_run_ends_its_process_with_its_failure_and_no_second_run(tmp_path):
    landing = tmp_path / "landing"
    landing.mkdir()  # no files: the staging step fails
    warehouse = tmp_path / "wh"
    with _instance(tmp_path, landing, warehouse) as instance:
        run = _create(instance, landing, warehouse)
        assert _run_process(instance, run) == 1
        assert instance.get_run_by_id(run.run_id).status == dg.DagsterRunStatus.FAILURE
        assert not _assess_runs(instance, run.run_id)


def test_a_failed_second_run_ends_failed_with_the_processs_exit_status(tmp_path, demo_landing):
    warehouse = tmp_path / "wh"
    warehouse.mkdir()
    (warehouse / "derived").write_text("")  # a file where the derived tables go: the second run fails
    with _instance(tmp_path, demo_landing, warehouse) as instance:
        run = _create(instance, demo_landing, warehouse)
        assert _run_process(instance, run) == 1
        assert instance.get_run_by_id(run.run_id).status == dg.DagsterRunStatus.SUCCESS
        (second,) = _assess_runs(instance, run.run_id)
        assert second.status == dg.DagsterRunStatus.FAILURE


def test_the_chain_sensor_leaves_alone_only_a_run_whose_process_executes_the_second(tmp_path, demo_landing):
    """A first run that lianjian's launcher tagged (its own id) is skipped by the sensor, at any tick
    after its success; one without the tag (Dagster's launcher) or with a tag copied from another run
    (re-executed from the UI) gets its second run from the sensor, as before."""
    from benchmarks import daemon_path
    from pipelines.definitions import defs
    from pipelines.resources import LianjianSettings
    from pipelines.runs import ASSESS_JOB, CHAINS_TAG, ingest_request

    settings = LianjianSettings.resolve(demo_landing, tmp_path / "wh", ROOT / "rules" / "default.yaml")
    with dg.instance_for_test() as instance:
        cursor = daemon_path.chain_cursor(instance)
        run_id = daemon_path.launch(ingest_request(settings, trigger="ui", force=True), instance).run_id

        def tick():
            return defs.resolve_sensor_def(daemon_path.CHAIN_SENSOR).evaluate_tick(dg.build_sensor_context(instance=instance, cursor=cursor))

        untagged = tick()
        assert [r.job_name for r in untagged.run_requests] == [ASSESS_JOB]
        instance.add_run_tags(run_id, {CHAINS_TAG: "a-parent-run"})
        assert [r.job_name for r in tick().run_requests] == [ASSESS_JOB]
        instance.add_run_tags(run_id, {CHAINS_TAG: run_id})
        tagged = tick()
        assert not tagged.run_requests and "its own process runs the assess run" in tagged.skip_message


def test_a_pipeline_run_cut_between_its_two_runs_is_run_again_at_the_next_tick(tmp_path, demo_landing):
    """A process killed after its first run succeeded, before it created the second: the sensor does not
    step in, the published version stays, and the next nightly tick runs the pipeline again — the
    staged tables are no longer those the published version finished with (lianjian/fingerprint.py)."""
    from benchmarks import daemon_path
    from lianjian.runner import run_pipeline
    from pipelines.resources import LianjianSettings
    from pipelines.runs import ingest_request

    settings = LianjianSettings.resolve(demo_landing, tmp_path / "wh", ROOT / "rules" / "default.yaml")
    with dg.instance_for_test() as instance:
        assert run_pipeline(settings.landing_path, settings.warehouse_path, settings.rules_path, instance=instance, progress=False).success
        assert isinstance(ingest_request(settings, trigger="nightly"), dg.SkipReason)  # current: nothing to run
        assert daemon_path.launch(ingest_request(settings, trigger="nightly", force=True), instance).success
    assert isinstance(ingest_request(settings, trigger="nightly"), dg.RunRequest)


def test_the_second_run_is_created_as_the_daemon_creates_it(tmp_path, demo_landing, monkeypatch):
    """Through a deployment (a code server, the schedule's tick, lianjian's launcher): the second run
    that the first run's process created has the job snapshot, plan, origins and selection that the
    daemon gives a run of the same request (here a subset: the reports left out), and the chain
    sensor's tick, evaluated by the code server, launches no other."""
    from benchmarks import deployment_path
    from pipelines.runs import ASSESS_JOB

    warehouse = tmp_path / "wh"
    for name, value in (("LANDING", demo_landing), ("WAREHOUSE", warehouse), ("RULES", ROOT / "rules" / "default.yaml")):
        monkeypatch.setenv(f"LIANJIAN_{name}", str(value))
    with _instance(tmp_path, demo_landing, warehouse) as instance, deployment_path.workspace_context(instance) as context:
        workspace = context.create_request_context()
        cursor = deployment_path.chain_cursor(instance, workspace)
        out = deployment_path.deployment_pipeline_run(instance, workspace, first_tags={"lianjian/reports": "skip"})
        assert out.statuses == ["SUCCESS", "SUCCESS"] and out.skipped is None
        first, second = (instance.get_run_by_id(r) for r in out.run_ids)
        location = workspace.get_code_location(deployment_path.LOCATION)
        handle = location.get_repository(deployment_path.REPOSITORY).handle
        tick = location.get_sensor_execution_data(instance, handle, deployment_path.CHAIN_SENSOR, None, None, cursor, None, None)
        assert not tick.run_requests and "its own process runs the assess run" in tick.skip_message
        request = dg.RunRequest(
            job_name=ASSESS_JOB, run_config=second.run_config, tags=second.tags, run_key=second.tags["dagster/run_key"],
            asset_selection=list(second.asset_selection), asset_check_keys=list(second.asset_check_selection),
        )
        daemons = deployment_path._create_run(instance, workspace, request)
        same = ("job_snapshot_id", "execution_plan_snapshot_id", "remote_job_origin", "job_code_origin", "asset_selection", "asset_check_selection", "resolved_op_selection", "tags", "run_config")
        assert {k: getattr(second, k) for k in same} == {k: getattr(daemons, k) for k in same}
        assert second.asset_selection and first.remote_job_origin.location_name == second.remote_job_origin.location_name
        _wait_gone(_pid(first))


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


def _children(pid: int) -> list[int]:
    """The processes whose parent is ``pid`` (``/proc/*/stat``'s 4th field), zombies included."""
    children = []
    for entry in os.listdir("/proc"):
        try:
            fields = Path(f"/proc/{entry}/stat").read_bytes().rsplit(b")", 1)[1].split()
        except (OSError, IndexError):
            continue
        if int(fields[1]) == pid:
            children.append(int(entry))
    return children


def _spare_pid(warm: int) -> int:
    """The warm process's one child, its spare (pipelines/warm_process.py)."""
    (spare,) = _children(warm)
    return spare


def _wait_for_spare(warm: int) -> int:
    """The warm process's spare, once it has one child (its spare) and no other."""
    deadline = time.monotonic() + WAIT_SECONDS
    while len(_children(warm)) != 1 and time.monotonic() < deadline:
        time.sleep(0.05)
    return _spare_pid(warm)


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
    and pipes (its replies', its wake-up's, its spare's). Its spare, ready once it is, has imported
    Polars and the definitions (its threads are Polars'), but not Great Expectations (the suite
    worker's), and holds nothing open either; both end with the instance."""
    with _instance(tmp_path, demo_landing, tmp_path / "wh") as instance:
        assert instance.run_launcher.warm_up(_origin())
        warm = _warm_pid(instance)
        assert os.listdir(f"/proc/{warm}/task") == [str(warm)]
        maps = Path(f"/proc/{warm}/maps").read_text()
        assert "sqlalchemy" in maps or "_sqlite3" in maps  # the storages' modules are loaded …
        assert "polars" not in maps  # … Polars is not
        spare = _spare_pid(warm)
        spare_maps = Path(f"/proc/{spare}/maps").read_text()
        assert "polars" in spare_maps and len(os.listdir(f"/proc/{spare}/task")) > 1
        for pid in (warm, spare):
            fds = {int(fd): os.readlink(f"/proc/{pid}/fd/{fd}") for fd in os.listdir(f"/proc/{pid}/fd")}
            extra = {fd: target for fd, target in fds.items() if fd > 2}
            assert extra and all(target.startswith("pipe:") or target == os.devnull for target in extra.values()), fds
        assert sum(target.startswith("pipe:") for target in extra.values()) == 1  # the spare: its own pipe only
        assert os.readlink(f"/proc/{warm}/fd/0").startswith("pipe:")
    _wait_gone(warm)  # the instance disposed of its launcher: the pipe closed, the warm process ended
    _wait_gone(spare)  # … and its spare with it


def test_a_spare_prepares_the_definitions_but_not_great_expectations():
    """What a spare imports before it knows its run: the definitions (Polars with them), never Great
    Expectations (the suite worker's, seconds of it)."""
    code = (
        "import sys; from pipelines.warm_process import prepare_run; prepare_run(); "
        "print('polars' in sys.modules and 'pipelines.definitions' in sys.modules, "
        "any(m.startswith('great_expectations') for m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=WAIT_SECONDS, check=True)
    assert out.stdout.split() == ["True", "False"]


def test_the_warm_process_ends_when_the_launchers_process_ends(tmp_path, demo_landing):
    """A daemon killed outright leaves no warm process behind: its pipe closes, the process ends, and
    its spare with it."""
    _instance(tmp_path, demo_landing, tmp_path / "wh").dispose()
    code = (
        "import os, dagster as dg; from tests.test_launcher import _origin, _warm_pid; "
        f"instance = dg.DagsterInstance.from_config({str(tmp_path / 'home')!r}); "
        "from tests.test_launcher import _spare_pid; "
        "assert instance.run_launcher.warm_up(_origin()); warm = _warm_pid(instance); "
        "print(warm, _spare_pid(warm), flush=True); os._exit(0)"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=WAIT_SECONDS, check=True)
    warm, spare = map(int, out.stdout.split()[-2:])
    _wait_gone(warm)
    _wait_gone(spare)


def test_a_pipeline_run_is_forked_from_the_warm_process_and_publishes_the_demos_bytes(tmp_path, demo_landing, demo_run, monkeypatch):
    """The demo as a deployment runs it (benchmarks/deployment_path.py: the nightly schedule's tick),
    with the warm process up before the tick: both runs succeed in one process forked from the warm
    process (the second run executed by the first run's process: pipelines/chain.py), which stays; the
    published files are `lianjian run`'s."""
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
        spare = _spare_pid(warm)
        out = deployment_pipeline_run(instance, workspace)
        assert out.statuses == ["SUCCESS", "SUCCESS"]
        runs = [instance.get_run_by_id(run_id) for run_id in out.run_ids]
        assert [pid for pid, _ in forked] == [_pid(runs[0])] == [_pid(runs[1])] == [spare]  # the spare ran them
        assert _warm_pid(instance) == warm and Path(f"/proc/{warm}").exists()  # it stays, for the next night
        for run in runs:
            _wait_gone(_pid(run))  # reaped by the warm process: no zombie
        next_spare = _wait_for_spare(warm)  # once no run runs, the next night's spare
        assert next_spare != spare
    _wait_gone(warm)
    _wait_gone(next_spare)

    def published(root: Path) -> dict[str, bytes]:
        files = [p for part in ("published", "restricted") for p in (root / part).rglob("*") if p.is_file()]
        return {p.relative_to(root).as_posix(): p.read_bytes() for p in files if p.name not in ("_manifest.json", "access.log")}

    expected = published(demo_run[1])
    assert expected and published(warehouse) == expected


def test_a_launch_never_fails_because_of_the_warm_process(tmp_path, monkeypatch):
    """A warm process that ended is replaced, as is one started with another environment; a spare that
    ended is replaced by a child forked for the run; one that answers it is unfit (threads) lets the
    run start afresh, and no other is started. Each run ends as it would (an empty landing zone:
    failed)."""
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
        spare = _wait_for_spare(second)
        os.kill(spare, 9)
        run = launched(instance)
        assert _warm_pid(instance) == second  # it stayed, and forked the next run too
        assert _pid(run) != spare and _wait_for_spare(second) not in (spare, _pid(run))
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
    """The warm process compares the code on disk with the code it and its spare imported before each
    hand-over: after an edit it answers ``unfit stale`` and ends, its spare with it (the launcher then
    starts the run with the new code)."""
    import shutil

    from pipelines.launcher import WarmProcess, serialize_instance_ref

    code = tmp_path / "code"
    for package in ("lianjian", "pipelines", "assets", "checks"):
        shutil.copytree(ROOT / package, code / package, ignore=shutil.ignore_patterns("__pycache__"))
    with _instance(tmp_path, demo_landing, tmp_path / "wh") as instance:
        warm = WarmProcess(serialize_instance_ref(instance), sys.executable, str(code))
        try:
            assert warm.wait_ready() == "ready"
            spare = _spare_pid(warm.process.pid)  # prepared from the code before the edit
            with open(code / "lianjian" / "scoring" / "common.py", "a", encoding="utf-8") as f:
                f.write("\n# edited\n")
            assert warm.fork(["unused"]) == "unfit stale"
            _wait_gone(warm.process.pid)
            _wait_gone(spare)  # never handed a run
        finally:
            warm.close(kill=True)


def test_without_proc_and_for_a_run_it_did_not_launch_dagsters_launcher_does_it(tmp_path, monkeypatch):
    """A run without the launcher's process tag (launched by Dagster's launcher before the settings
    named this one) is terminated by Dagster's launcher, and its health is not guessed; on a machine
    without /proc (macOS) every launch and termination goes to Dagster's launcher, which the code
    server starts the run for, and no health check is offered. Nothing of this launcher's is tagged."""
    from dagster._core.launcher import DefaultRunLauncher, LaunchRunContext, WorkerStatus

    import pipelines.launcher as launcher
    from pipelines.runs import CHAINS_TAG

    calls = []
    monkeypatch.setattr(DefaultRunLauncher, "launch_run", lambda self, context: calls.append(("launch", context.dagster_run.run_id)))
    monkeypatch.setattr(DefaultRunLauncher, "terminate", lambda self, run_id: calls.append(("terminate", run_id)) or True)
    landing = tmp_path / "landing"
    landing.mkdir()
    with _instance(tmp_path, landing, tmp_path / "wh") as instance:
        ours = instance.run_launcher
        run = _create(instance, landing, tmp_path / "wh")
        assert ours.supports_check_run_worker_health
        assert ours.check_run_worker_health(run).status == WorkerStatus.UNKNOWN
        assert ours.terminate(run.run_id) is True and calls == [("terminate", run.run_id)]
        monkeypatch.setattr(launcher, "PROC_STAT", tmp_path / "no-proc" / "stat")
        assert not ours.supports_check_run_worker_health
        ours.launch_run(LaunchRunContext(dagster_run=run, workspace=None))
        assert calls[-1] == ("launch", run.run_id) and ours._warm is None
        tags = instance.get_run_by_id(run.run_id).tags
        assert launcher.PID_TAG not in tags and CHAINS_TAG not in tags
        instance.add_run_tags(run.run_id, {launcher.PID_TAG: launcher.process_tag(os.getpid(), 1)})
        assert ours.terminate(run.run_id) is True and calls[-1] == ("terminate", run.run_id)
