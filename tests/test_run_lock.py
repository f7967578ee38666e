"""One warehouse, one run at a time (docs/operations.md): a run holds ``<warehouse>/.lock`` from its first
write to its end; a second run waits for it (or with ``--no-wait`` stops with one line naming the
holder); a killed holder leaves no lock behind; runs launched by Dagster (schedule, sensor, UI) take
the same lock in their executor."""

from __future__ import annotations

import hashlib
import json
import os
import signal
import stat
import subprocess
import sys
import threading
import time
from pathlib import Path

import dagster as dg
import pytest

from lianjian.lock import lock_path, read_holder, warehouse_lock
from lianjian.publish.publish import read_manifest
from support_ingest import person, rows, talk, write_landing

ROOT = Path(__file__).resolve().parents[1]
RULES = ROOT / "rules" / "default.yaml"
LIANJIAN = Path(sys.executable).with_name("lianjian")
WAIT_TEXT = "正被另一个运行占用"


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LIANJIAN_", "DAGSTER_HOME"))}
    return env | {"PYTHONUNBUFFERED": "1"}


def _start(landing: Path, warehouse: Path, out: Path, *extra: str) -> subprocess.Popen:
    args = [str(LIANJIAN), "run", *extra, "--landing", str(landing), "--warehouse", str(warehouse), "--rules", str(RULES)]
    return subprocess.Popen(args, cwd=out.parent, env=_env(), stdout=open(out.with_suffix(".out"), "wb"), stderr=open(out.with_suffix(".err"), "wb"))


def _text(out: Path, suffix: str) -> str:
    path = out.with_suffix(suffix)
    return path.read_text(encoding="utf-8") if path.exists() else ""


def _until(condition, timeout: float = 240.0, what: str = "condition") -> None:
    end = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > end:
            pytest.fail(f"timed out waiting for {what}")
        time.sleep(0.1)


def _landing_b(root: Path) -> Path:
    """BASE with other people and talks, a review and one talk rejected (bad date): other results."""
    reviews = [["2024", "P3", "department", "P2", "88", "是", "是"], ["2024", "P3", "self", "P3", "95", "", ""]]
    return write_landing(
        root,
        {
            "personnel": rows("personnel", person("P5", name="钱五")),
            "talks": rows("talks", talk("T3", date="2024-13-40"), talk("T4", interviewee="P5")),
            "reviews": reviews,
        },
    )


def _file_sha(landing: Path) -> set[str]:
    return {hashlib.sha256(p.read_bytes()).hexdigest() for p in landing.rglob("*") if p.is_file()}


def _version(warehouse: Path) -> dict[str, bytes]:
    """Every file of the published version, the manifest without what names the run (its Dagster and
    pipeline run ids), its time and the checkout's git commit (a commit made while the tests run — a
    developer's, not the code's: ``code_version`` is still compared — would otherwise make two runs of
    the same code differ)."""
    root = (warehouse / "published").resolve()
    out = {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file() and p.name != "_manifest.json"}
    manifest = json.loads((root / "_manifest.json").read_text(encoding="utf-8"))
    for key in ("run_id", "pipeline_run_id", "dagster_run_ids", "time", "version", "git_commit"):
        manifest.pop(key)
    out["_manifest.json"] = json.dumps(manifest, sort_keys=True, ensure_ascii=False).encode("utf-8")
    return out


def test_two_runs_on_one_warehouse_publish_exactly_one_of_them(tmp_path):
    """Two `lianjian run` on the same warehouse and different landing zones, started together while a
    third holder has the lock (so both are certainly waiting at once): both say they wait, both end
    with exit 0, and the version left published equals, file for file and byte for byte (the
    manifest but for its run id and time), a clean run of the landing zone of the run that published
    last on a fresh warehouse. Without the lock they interleave and publish a mix."""
    a, b = write_landing(tmp_path / "landing_a"), _landing_b(tmp_path / "landing_b")
    assert _file_sha(a) != _file_sha(b)
    warehouse = tmp_path / "wh"
    outs = [tmp_path / "run_a", tmp_path / "run_b"]
    with warehouse_lock(warehouse, landing="test holder", run_id="holder"):
        procs = [_start(a, warehouse, outs[0]), _start(b, warehouse, outs[1])]
        _until(lambda: all(WAIT_TEXT in _text(o, ".err") for o in outs), what="both runs to wait for the lock")
    assert [p.wait(timeout=300) for p in procs] == [0, 0], [_text(o, ".err")[-2000:] for o in outs]
    for o in outs:
        assert "进程" in _text(o, ".err") and "落地区 test holder" in _text(o, ".err")

    inputs = {i["sha256"] for i in read_manifest(warehouse)["inputs"]}
    last = a if inputs <= _file_sha(a) else b
    assert inputs <= _file_sha(last)

    from lianjian.runner import run_pipeline

    clean = tmp_path / "clean"
    outcome = run_pipeline(last, clean, RULES, progress=False)
    assert outcome.success, outcome.failure
    got, want = _version(warehouse), _version(clean)
    assert sorted(got) == sorted(want)
    assert [k for k in got if got[k] != want[k]] == []
    assert any(k.endswith(".parquet") for k in got)


def test_no_wait_stops_with_one_line_naming_the_holder(tmp_path):
    landing = write_landing(tmp_path / "landing")
    warehouse = tmp_path / "wh"
    out = tmp_path / "run"
    with warehouse_lock(warehouse, landing="/srv/landing-of-the-holder", run_id="holder-run") as holder:
        proc = _start(landing, warehouse, out, "--no-wait")
        assert proc.wait(timeout=120) == 2
    err = _text(out, ".err").strip().splitlines()
    assert len(err) == 1, err
    line = err[0]
    assert str(warehouse) in line and f"进程 {os.getpid()}" in line and "/srv/landing-of-the-holder" in line
    assert holder.started_text() in line and "--no-wait" in line
    assert "Traceback" not in _text(out, ".err")
    assert not (warehouse / "published").exists() and not (warehouse / "staged").exists()  # nothing written


def test_a_killed_holder_leaves_no_lock(tmp_path):
    """SIGKILL a `lianjian run` while it holds the lock: the next run, even with --no-wait, proceeds,
    says the previous run did not end normally, and publishes."""
    landing = write_landing(tmp_path / "landing")
    warehouse = tmp_path / "wh"
    first = tmp_path / "first"
    proc = _start(landing, warehouse, first)
    _until(lambda: (h := read_holder(warehouse)) is not None and h.pid == proc.pid, what="the first run to hold the lock")
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=30)
    assert read_holder(warehouse).pid == proc.pid  # the record stays; the lock does not

    second = tmp_path / "second"
    assert _start(landing, warehouse, second, "--no-wait").wait(timeout=300) == 0, _text(second, ".err")[-2000:]
    assert f"进程 {proc.pid}" in _text(second, ".err") and "未正常结束" in _text(second, ".err")
    assert read_manifest(warehouse)["inputs"]
    assert read_holder(warehouse) is None  # a run that ended normally leaves no holder record


def test_lock_record_mode_and_reentry(tmp_path):
    """The lock file is 0600 and records pid, start time (+08:00), landing folder and run id while held;
    the same process asking again (a Dagster run inside `lianjian run`) does not wait; another process
    cannot take it meanwhile."""
    warehouse = tmp_path / "wh"
    with warehouse_lock(warehouse, landing=tmp_path / "landing", run_id="r1") as me:
        assert stat.S_IMODE(lock_path(warehouse).stat().st_mode) == 0o600
        record = json.loads(lock_path(warehouse).read_text(encoding="utf-8"))
        assert record == {"pid": os.getpid(), "started": me.started, "landing": str(tmp_path / "landing"), "run_id": "r1"}
        assert me.started.endswith("+08:00")
        with warehouse_lock(warehouse, landing="other", wait=False) as again:
            assert again == me
        probe = subprocess.run(
            [sys.executable, "-c", f"from lianjian.lock import warehouse_lock\nwith warehouse_lock({str(warehouse)!r}, landing='x', wait=False): pass"],
            capture_output=True,
            text=True,
            env=_env(),
        )
        assert probe.returncode != 0 and "WarehouseBusy" in probe.stderr
    assert read_holder(warehouse) is None
    with warehouse_lock(warehouse, landing="x", wait=False):  # released
        pass


def _run_config(landing: Path, warehouse: Path) -> dict:
    """The run configuration the schedule, the sensors and the UI's Launchpad give a run: its paths
    (the one settings resource) and the executor, here in process (the definitions' default)."""
    from pipelines.resources import LianjianSettings

    return LianjianSettings.resolve(landing, warehouse, RULES).run_config() | {"execution": {"config": {"in_process": {}}}}


def _landing_keys(definitions) -> list[dg.AssetKey]:
    """The staging step's assets (it reads the landing zone): the first step of every pipeline run."""
    from assets.staged import staged_assets

    return list(staged_assets.keys)


HOLD = """
import sys, time
from lianjian.lock import warehouse_lock
with warehouse_lock(sys.argv[1], landing="held by a test", run_id="holder"):
    print("held", flush=True)
    time.sleep(600)
"""


def test_a_run_launched_by_dagster_waits_for_the_lock(tmp_path):
    """The schedule, the sensor and the UI launch the job in a run worker of its own (here
    ``execute_job``): its executor takes the warehouse's lock before the first step. While another
    process holds it, the run logs who holds it and starts no step; once that holder is killed, the
    run proceeds and succeeds."""
    landing = write_landing(tmp_path / "landing")
    warehouse = tmp_path / "wh"
    holder = subprocess.Popen([sys.executable, "-c", HOLD, str(warehouse)], stdout=subprocess.PIPE, text=True, env=_env())
    assert holder.stdout.readline().strip() == "held"

    from pipelines import definitions

    (tmp_path / "home").mkdir()
    with dg.instance_for_test(temp_dir=str(tmp_path / "home")) as instance:
        box: dict = {}

        def launch():
            box["result"] = dg.execute_job(
                dg.reconstructable(definitions.ingest_job),
                instance=instance,
                run_config=_run_config(landing, warehouse),
                asset_selection=_landing_keys(definitions),  # the lock is the run's, whatever it selects
            )

        worker = threading.Thread(target=launch)
        worker.start()

        def messages():
            runs = instance.get_runs()
            return [e.user_message for r in runs for e in instance.all_logs(r.run_id)] if runs else []

        _until(lambda: any(WAIT_TEXT in m and "held by a test" in m for m in messages()), what="the run to report the holder")
        time.sleep(1.0)
        run_id = instance.get_runs()[0].run_id
        started = [e for e in instance.all_logs(run_id) if e.dagster_event and e.dagster_event.event_type_value == "STEP_START"]
        assert started == []  # no step before the lock
        killed_at = time.time()
        holder.kill()
        holder.wait()
        worker.join(timeout=300)
        result = box["result"]
        assert result.success
        first = min(e.timestamp for e in instance.all_logs(result.run_id) if e.dagster_event and e.dagster_event.event_type_value == "STEP_START")
        assert first >= killed_at
    assert (warehouse / "staged").is_dir()


def test_a_dagster_run_inside_lianjian_run_does_not_wait(tmp_path):
    """A process that holds the lock and launches a run through the locked executor in itself (as
    `lianjian run` does) goes straight through instead of waiting for itself."""
    landing = write_landing(tmp_path / "landing")
    warehouse = tmp_path / "wh"
    from pipelines import definitions

    (tmp_path / "home").mkdir()
    with warehouse_lock(warehouse, landing=landing, run_id="outer"), dg.instance_for_test(temp_dir=str(tmp_path / "home")) as instance:
        result = dg.execute_job(
            dg.reconstructable(definitions.ingest_job),
            instance=instance,
            run_config=_run_config(landing, warehouse),
            asset_selection=_landing_keys(definitions),
        )
        assert result.success
        assert read_holder(warehouse).run_id == "outer"

