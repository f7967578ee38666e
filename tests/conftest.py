"""Shared test set-up.

Every test starts and ends with the LIANJIAN_* settings it found (a test may set them to check that
the definitions read them), never records runs in the developer's Dagster instance (``DAGSTER_HOME``
unset, and no project ``.dagster_home`` found: `lianjian run` then uses a throw-away instance)."""

import os

import pytest

_KEYS = ("LIANJIAN_LANDING", "LIANJIAN_WAREHOUSE", "LIANJIAN_RULES")


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
def demo_run(demo_landing, tmp_path_factory):
    """One `lianjian run` (both runs) through Dagster on the demo data: (outcome, warehouse path)."""
    from pathlib import Path

    import dagster as dg

    from lianjian.runner import run_pipeline

    warehouse = tmp_path_factory.mktemp("demo_wh")
    rules = Path(__file__).resolve().parents[1] / "rules" / "default.yaml"
    outcome = run_pipeline(demo_landing, warehouse, rules, progress=False, instance=dg.DagsterInstance.ephemeral())
    return outcome, warehouse
