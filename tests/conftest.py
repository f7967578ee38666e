"""Shared test set-up: every test starts and ends with the LIANJIAN_* settings it found, so a CLI test
that sets --landing/--warehouse (which become environment variables) cannot leak into the next."""

import os

import pytest

_KEYS = ("LIANJIAN_LANDING", "LIANJIAN_WAREHOUSE", "LIANJIAN_RULES")


@pytest.fixture(autouse=True)
def _restore_lianjian_env():
    saved = {k: os.environ.get(k) for k in _KEYS}
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
    """One full run of the main job through Dagster on the demo data: (outcome, warehouse path)."""
    from pathlib import Path

    from lianjian.runner import run_pipeline

    warehouse = tmp_path_factory.mktemp("demo_wh")
    saved = {k: os.environ.get(k) for k in _KEYS}
    try:
        outcome = run_pipeline(demo_landing, warehouse, Path(__file__).resolve().parents[1] / "rules" / "default.yaml", progress=False)
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
    return outcome, warehouse
