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
