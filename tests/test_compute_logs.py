"""The steps' stdout and stderr on the project's instance (pipelines/compute_logs.py): Dagster's files,
read by the UI as before, copied to the run's terminal by a thread of the run's process — no ``tail``
and no watcher processes, so nothing is left behind when a run's process is killed."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import dagster as dg
import pytest
import yaml
from dagster._serdes import ConfigurableClassData

from pipelines.compute_logs import MirroredComputeLogManager
from pipelines.instance import ensure_instance

ROOT = Path(__file__).resolve().parents[1]


def _children() -> list[int]:
    """This process's child processes (Linux)."""
    found: list[int] = []
    for task in Path(f"/proc/{os.getpid()}/task").iterdir():
        found += [int(pid) for pid in (task / "children").read_text().split()]
    return found


@dg.op
def talkative() -> list[int]:
    print("步骤的标准输出 stdout of the step", flush=True)
    print("步骤的标准错误 stderr of the step", file=sys.stderr, flush=True)
    return _children()


@dg.job
def talkative_job():
    talkative()


def _captured(instance: dg.DagsterInstance, result) -> tuple[list[str], object]:
    (event,) = [
        e.dagster_event for e in instance.all_logs(result.run_id, of_type=dg.DagsterEventType.LOGS_CAPTURED)
    ]
    manager = instance.compute_log_manager
    key = manager.build_log_key_for_run(result.run_id, event.logs_captured_data.file_key)
    return key, manager


@pytest.mark.skipif(sys.platform != "linux", reason="/proc")
def test_the_project_instance_captures_a_steps_output_into_dagsters_files_without_tail_processes(tmp_path, capfd):
    home = tmp_path / "home"
    ensure_instance(home)
    with dg.DagsterInstance.from_config(str(home)) as instance:
        assert type(instance.compute_log_manager) is MirroredComputeLogManager
        before = set(_children())  # an earlier test's workers, if any
        result = talkative_job.execute_in_process(instance=instance)
        assert result.success
        assert set(result.output_for_node("talkative")) <= before  # no tail, no watcher while the step ran
        key, manager = _captured(instance, result)
        # what the UI reads: Dagster's files in the instance folder's storage/, the capture marked complete
        data = manager.get_log_data(key)
        assert "步骤的标准输出 stdout of the step" in data.stdout.decode()
        assert "步骤的标准错误 stderr of the step" in data.stderr.decode()
        assert manager.is_capture_complete(key)
        assert Path(manager.get_log_metadata(key).stdout_location).parent == home / "storage" / result.run_id / "compute_logs"
    # and the same lines reached the process's own stdout and stderr, every one of them
    out, err = capfd.readouterr()
    assert "步骤的标准输出 stdout of the step" in out
    assert "步骤的标准错误 stderr of the step" in err


@pytest.mark.skipif(sys.platform != "linux", reason="/proc")
def test_a_killed_run_leaves_no_process_behind(tmp_path):
    home = tmp_path / "home"
    ensure_instance(home)
    started = tmp_path / "started"
    script = textwrap.dedent(
        f"""
        import os, sys, time
        import dagster as dg

        @dg.op
        def waits():
            print("waiting", flush=True)
            os.system("echo output of a child process")  # to the file descriptor, not sys.stdout
            open({str(started)!r}, "w").close()
            time.sleep(60)

        @dg.job
        def waiting_job():
            waits()

        with dg.DagsterInstance.from_config({str(home)!r}) as instance:
            waiting_job.execute_in_process(instance=instance)
        """
    )
    run = subprocess.Popen([sys.executable, "-c", script], cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 120
        while not started.exists():
            assert run.poll() is None and time.monotonic() < deadline
            time.sleep(0.05)
        children = [int(p) for task in Path(f"/proc/{run.pid}/task").iterdir() for p in (task / "children").read_text().split()]
        assert children == []  # Dagster's manager runs two tail and two watcher processes here
        # mirrored to the run's own stdout meanwhile, the child process's output too
        assert run.stdout.readline() == b"waiting\n"
        assert run.stdout.readline() == b"output of a child process\n"
    finally:
        run.send_signal(signal.SIGKILL)
        run.wait()
        run.stdout.close()
    logs = str(home / "storage")
    (out,) = (home / "storage").glob("*/compute_logs/*.out")  # the file has it all, as Dagster's
    assert out.read_text() == "waiting\noutput of a child process\n"
    for proc in Path("/proc").iterdir():
        if proc.name.isdigit():
            try:
                cmdline = (proc / "cmdline").read_bytes().decode(errors="replace")
            except OSError:
                continue
            assert logs not in cmdline, cmdline  # no tail of the run's files outlives it


def test_the_manager_takes_dagsters_settings_and_finds_the_instance_folder(tmp_path):
    # the production example's section, as Dagster's LocalComputeLogManager took it
    example = yaml.safe_load((ROOT / "dagster.yaml.example").read_text(encoding="utf-8"))["compute_logs"]
    manager = ConfigurableClassData(example["module"], example["class"], yaml.dump(example["config"])).rehydrate()
    assert type(manager) is MirroredComputeLogManager
    assert manager._base_dir == example["config"]["base_dir"]
    # without a base_dir (the project's dagster.yaml): the instance folder's storage/, as Dagster's default
    home = tmp_path / "home"
    ensure_instance(home)
    with dg.DagsterInstance.from_config(str(home)) as instance:
        assert instance.compute_log_manager._base_dir == str(home / "storage")
