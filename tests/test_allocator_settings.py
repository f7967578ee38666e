"""Polars' allocator keeps freed pages for a while, in one arena (``lianjian.ALLOCATOR_SETTINGS``,
docs/performance.md, "Staging for less: landing files hashed a mebibyte at a time, Polars' allocator
keeping its pages 5 s" and "The kernel's share"):
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


_READ_BACK = (
    "import os, lianjian; os.environ['_RJEM_MALLOC_CONF'] += ',stats_print:true'; "
    "import polars as pl; pl.DataFrame({'a': [1, 2]}).sum()"
)


def test_polars_allocator_runs_with_one_arena_and_pages_kept_20_s_then_given_back():
    """Read back from jemalloc's own report of the options in force (printed at exit), after Polars'
    defaults: one arena for every thread, freed pages kept 20 s, then given back without the lazy
    ``MADV_FREE`` step."""
    done = subprocess.run([sys.executable, "-c", _READ_BACK], capture_output=True, text=True, env=_env(), timeout=120)
    assert done.returncode == 0, done.stderr
    report = done.stdout + done.stderr
    assert "opt.narenas: 1\n" in report
    assert "opt.dirty_decay_ms: 20000 " in report
    assert "opt.muzzy_decay_ms: 0 " in report
    assert "<jemalloc>" not in report
