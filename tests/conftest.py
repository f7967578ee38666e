"""Shared test set-up.

Every test starts and ends with the LIANJIAN_* settings it found (a test may set them to check that
the definitions read them), never records runs in the developer's Dagster instance (``DAGSTER_HOME``
unset, and no project ``.dagster_home`` found: `lianjian run` then uses a throw-away instance).

The demo landing zone, one run of it recorded in a DAGSTER_HOME of its own, and a dagster-webserver
over that instance are made once per session and shared by the modules that read them."""

import os
import socket
import subprocess
import time
import urllib.request
from pathlib import Path

import pytest
from hypothesis import settings

_ROOT = Path(__file__).resolve().parents[1]

# Property tests judge what a function returns, not how fast: on two shared cores an example can take
# longer than Hypothesis' default 200 ms deadline and fail a correct test, so no test has a deadline.
settings.register_profile("lianjian", deadline=None)
settings.load_profile("lianjian")

_KEYS = ("LIANJIAN_LANDING", "LIANJIAN_WAREHOUSE", "LIANJIAN_RULES")

#: The test files that take longest, longest first (seconds of one worker in a whole run of
#: `python3 dev.py test`, 2026-12-07, docs/performance.md "The test suite's longest files first"). They
#: are collected first, every other file after them in its usual order: `dev.py test` hands whole files
#: to the two workers in collection order (``--dist loadfile``), so the long files start at once and the
#: run ends on short files on both workers, not with one worker idle while the other runs a long file it
#: took last. A file missing from the list only runs in its usual place; a name no longer a file is
#: ignored (``test_the_longest_files_first_are_test_files``).
LONGEST_FIRST = (
    "test_launcher.py",  # ≈ 210 s: launched, forked and deployment runs of the demo
    "test_suite_worker.py",  # ≈ 140 s: pipeline runs (`lianjian run`, the nightly path) in new processes
    "test_fixed_cost.py",  # ≈ 105 s: Great Expectations imported in new processes
    "test_executors.py",  # ≈ 75 s: the multiprocess executor, one process per step
    "test_report.py",
    "test_run_lock.py",
    "test_privacy_pipeline.py",
    "test_generator.py",
    "test_nightly.py",
    "test_run_outcome.py",
    "test_publish.py",
    "test_year_by_year.py",
    "test_changed_years.py",
    "test_rules_duty_items.py",
    "test_held_event_storage.py",
    "test_privacy.py",
)


def pytest_collection_modifyitems(items):
    """The files of ``LONGEST_FIRST`` first, in its order; each file's tests keep their order (a stable
    sort), so module-scoped fixtures are made once per worker as before."""
    rank = {name: i for i, name in enumerate(LONGEST_FIRST)}
    items.sort(key=lambda item: rank.get(item.path.name, len(rank)))


@pytest.fixture(autouse=True)
def _restore_lianjian_env(monkeypatch, tmp_path_factory):
    saved = {k: os.environ.get(k) for k in _KEYS}
    monkeypatch.delenv("DAGSTER_HOME", raising=False)
    monkeypatch.setattr("lianjian.ui.PROJECT_DAGSTER_HOME", str(tmp_path_factory.getbasetemp() / "no-dagster-home"))
    yield
    for k, v in saved.items():
        if v is None:
            os.environ.pop(k, None)
        else:
            os.environ[k] = v


@pytest.fixture(scope="session")
def demo_landing(tmp_path_factory):
    """The bundled demo landing zone (generated once per test session)."""
    from lianjian.generate import ensure_demo

    landing = tmp_path_factory.mktemp("demo") / "landing"
    ensure_demo(landing)
    return landing


@pytest.fixture(scope="session")
def demo_run(recorded):
    """One `lianjian run` (both runs) through Dagster on the demo data: (outcome, warehouse path)."""
    _, warehouse, outcome = recorded
    return outcome, warehouse


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def recorded(demo_landing, tmp_path_factory):
    """A DAGSTER_HOME with the project's instance settings, and one `lianjian run` of the demo data
    recorded in it: (home, warehouse, outcome). The one demo run of the session (``demo_run``): tests
    read its warehouse, or copy it before writing."""
    import dagster as dg

    from lianjian.runner import run_pipeline
    from pipelines.instance import ensure_instance

    root = tmp_path_factory.mktemp("ui")
    home, warehouse = root / "dagster_home", root / "warehouse"
    ensure_instance(home)
    with dg.DagsterInstance.from_config(str(home)) as instance:
        outcome = run_pipeline(demo_landing, warehouse, _ROOT / "rules" / "default.yaml", instance=instance, progress=False)
    assert outcome.success, outcome.failure
    return home, warehouse, outcome


@pytest.fixture(scope="session")
def webserver(recorded, demo_landing):
    """`dagster-webserver -w workspace.yaml` on that instance (the webserver's stderr in ``.log``)."""
    home, warehouse, _ = recorded
    port = _free_port()
    env = dict(os.environ, DAGSTER_HOME=str(home), LIANJIAN_WAREHOUSE=str(warehouse), LIANJIAN_LANDING=str(demo_landing))
    exe = Path(os.__file__).parents[2] / "bin" / "dagster-webserver"
    exe = exe if exe.exists() else Path(_ROOT, ".venv", "bin", "dagster-webserver")
    log = home.parent / "webserver.log"
    with open(log, "wb") as err:
        proc = subprocess.Popen(
            [str(exe), "-w", "workspace.yaml", "-h", "127.0.0.1", "-p", str(port)],
            cwd=_ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=err,
        )
    try:
        deadline = time.monotonic() + 180
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/server_info", timeout=5):
                    break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("dagster-webserver did not start") from None
                time.sleep(1)
        port_log = type("Webserver", (), {"port": port, "log": log})
        yield port_log
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
