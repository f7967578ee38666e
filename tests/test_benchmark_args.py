"""The benchmark's ``--paths`` option: ``both`` means both paths, a list keeps its order, anything
else is refused at once instead of reaching a child process as an unknown path; both paths' measured
calls are handed the instance opened before the clock."""

import argparse

import pytest

from benchmarks.run import measured_call, path_list


def test_both_means_the_cli_and_the_daemon_path():
    assert path_list("both") == ["cli", "daemon"]


def test_a_list_keeps_its_order():
    assert path_list("daemon, cli") == ["daemon", "cli"]
    assert path_list("cli") == ["cli"]


@pytest.mark.parametrize("text", ["", "nightly", "cli,both"])
def test_an_unknown_path_is_refused(text):
    with pytest.raises(argparse.ArgumentTypeError):
        path_list(text)


@pytest.mark.parametrize("path", ["cli", "daemon"])
def test_both_paths_are_measured_on_the_instance_opened_before_the_clock(path, tmp_path, monkeypatch):
    """Opening a Dagster instance on a fresh home costs ≈ 1.5 CPU-s (its storage modules imported, the
    history's tables made): counted on one path and not on the other, it was most of the gap between
    them. Inside the measured call no instance is opened, and the run gets the one opened before."""
    import dagster as dg

    import benchmarks.daemon_path
    import lianjian.runner

    got = []
    monkeypatch.setattr(lianjian.runner, "run_pipeline", lambda *a, instance=None, **k: got.append(instance))
    monkeypatch.setattr(benchmarks.daemon_path, "daemon_pipeline_run", lambda instance, *a, **k: got.append(instance))
    opened = object()
    run = measured_call(path, opened, tmp_path / "landing", tmp_path / "warehouse", tmp_path / "rules.yaml", True)

    def no_instance(*_a, **_k):
        raise AssertionError("an instance opened inside the measured call")

    monkeypatch.setattr(dg.DagsterInstance, "get", staticmethod(no_instance))
    run()
    assert got == [opened]


def test_deployment_paths_are_known_and_measured_on_the_workspace_opened_before_the_clock(tmp_path, monkeypatch):
    """``deployment`` (the instance's run launcher: Dagster's default) and ``deployment-lianjian``
    (pipelines/launcher.py): the measured call is handed the instance and the code server's workspace, both
    opened before the clock, and the first run's tags as the other paths'."""
    import benchmarks.deployment_path

    assert path_list("deployment,deployment-lianjian") == ["deployment", "deployment-lianjian"]
    got = []
    monkeypatch.setattr(benchmarks.deployment_path, "deployment_pipeline_run", lambda instance, workspace, **k: got.append((instance, workspace, k)))
    opened, workspace = object(), object()
    for path in ("deployment", "deployment-lianjian"):
        measured_call(path, opened, tmp_path / "landing", tmp_path / "warehouse", tmp_path / "rules.yaml", False, workspace)()
    assert got == [(opened, workspace, {"first_tags": {"lianjian/reports": "skip"}})] * 2


def test_with_launcher_names_the_launcher_asked_for_once(tmp_path):
    import dagster as dg
    from dagster._core.launcher import DefaultRunLauncher

    from benchmarks.deployment_path import with_launcher
    from pipelines.instance import ensure_instance
    from pipelines.launcher import LianjianRunLauncher

    ensure_instance(tmp_path)
    for launcher, cls in (("lianjian", LianjianRunLauncher), ("dagster", DefaultRunLauncher), ("dagster", DefaultRunLauncher), ("lianjian", LianjianRunLauncher)):
        with_launcher(tmp_path, launcher)
        assert (tmp_path / "dagster.yaml").read_text(encoding="utf-8").count("run_launcher:") == 1
        with dg.DagsterInstance.from_config(str(tmp_path)) as instance:
            assert type(instance.run_launcher) is cls, launcher


def test_the_peak_of_all_processes_counts_the_run_s_children_at_once():
    """The memory target counts the whole run — the report and suite workers beside the main process —
    so the benchmark sums the resident memory of the process and its descendants at each sample: a
    child holding 300 MB while it runs shows in the peak on top of this process's own."""
    import os
    import subprocess
    import sys
    from pathlib import Path

    from benchmarks.run import TreeMemory

    page_mb = os.sysconf("SC_PAGE_SIZE") / 1e6
    own_mb = int(Path("/proc/self/statm").read_text().split()[1]) * page_mb
    memory = TreeMemory()
    subprocess.run([sys.executable, "-c", "import time; held = b'x' * 300_000_000; time.sleep(1.5)"], check=True)
    peak = memory.stop()
    assert peak >= own_mb * 0.9 + 300


def test_the_changed_night_s_landing_zone_has_the_latest_talks_file_one_record_shorter(tmp_path):
    """``--changed``: the same landing files (hard links), but the latest talks file by name without
    its last record — the night on which one talks file changed."""
    import os

    from benchmarks.run import changed_landing

    landing = tmp_path / "landing"
    (landing / "talks").mkdir(parents=True)
    (landing / "cases").mkdir()
    (landing / "talks" / "2024-12.csv").write_bytes(b"id,date\nT1,2024-12-01\nT2,2024-12-02\n")
    (landing / "talks" / "2025-01.csv").write_bytes(b"id,date\r\nT3,2025-01-01\r\nT4,2025-01-02\r\n")
    (landing / "cases" / "2025.xlsx").write_bytes(b"PK not really a workbook")
    out = changed_landing(landing, tmp_path / "changed")
    assert (out / "talks" / "2025-01.csv").read_bytes() == b"id,date\r\nT3,2025-01-01\r\n"
    for kept in ("talks/2024-12.csv", "cases/2025.xlsx"):
        assert os.path.samefile(out / kept, landing / kept)
    assert (landing / "talks" / "2025-01.csv").read_bytes().endswith(b"T4,2025-01-02\r\n")  # the original kept
