"""Polars' allocator keeps freed pages for a while (``lianjian.ALLOCATOR_SETTINGS``, docs/performance.md,
"Staging for less: landing files hashed a mebibyte at a time, Polars' allocator keeping its pages 5 s"):
set by importing the package, before Polars is loaded, on the CLI's path and
the Dagster definitions' (the daemon's); an operator's own setting is kept."""

from __future__ import annotations

import os
import subprocess
import sys

import lianjian

_SHOW = "import os, sys; import {module}; import polars; print(os.environ.get('_RJEM_MALLOC_CONF'))"


def _conf(module: str, env: dict[str, str]) -> tuple[str, str]:
    done = subprocess.run([sys.executable, "-c", _SHOW.format(module=module)], capture_output=True, text=True, env=env, timeout=120)
    assert done.returncode == 0, done.stderr
    return done.stdout.strip(), done.stderr


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "_RJEM_MALLOC_CONF"}
    return env | extra


def test_the_allocator_settings_are_set_before_polars_on_the_cli_and_the_daemons_paths():
    for module in ("lianjian.cli", "pipelines.definitions"):
        conf, err = _conf(module, _env())
        # Polars puts its own defaults first and the environment's after them: the last one counts
        assert conf.endswith("," + lianjian.ALLOCATOR_SETTINGS), (module, conf)
        assert "<jemalloc>" not in err  # every setting understood


def test_an_operators_own_allocator_setting_is_kept():
    conf, _ = _conf("lianjian.cli", _env(_RJEM_MALLOC_CONF="dirty_decay_ms:1000"))
    assert conf.endswith(",dirty_decay_ms:1000")
    assert lianjian.ALLOCATOR_SETTINGS not in conf
