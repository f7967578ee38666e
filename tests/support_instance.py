"""Helpers for the tests of the Dagster instance: homes as older code made them."""

from __future__ import annotations

import re
from pathlib import Path

from pipelines.instance import INSTANCE_YAML

#: The sections of the project's ``dagster.yaml`` each earlier lianjian did not write yet, oldest first:
#: its file was the project's without them, so the home kept Dagster's own classes for them
#: (``pipelines/instance.py``, ``EARLIER_INSTANCE_YAMLS``).
EARLIER_WITHOUT = (
    ("event_log_storage", "run_storage", "compute_logs", "run_launcher"),
    ("run_storage", "compute_logs", "run_launcher"),
    ("run_storage", "run_launcher"),
    ("run_launcher",),
)


def earlier_yaml(without: tuple[str, ...]) -> str:
    """The project's ``dagster.yaml`` without the sections ``without`` (each with its comment and the
    blank line before it): what an earlier lianjian wrote."""
    text = INSTANCE_YAML
    for key in without:
        text, found = re.subn(rf"\n(?:# .*\n)*{key}:\n(?:  .*\n)+", "", text)
        assert found == 1, key
    return text


def older_home(home: Path, without: tuple[str, ...] = EARLIER_WITHOUT[0]) -> Path:
    """A DAGSTER_HOME as older code made it, opened as it is (not through ``ensure_instance``): by
    default the first lianjian's settings, without the event, run and compute log storages, so the
    instance keeps Dagster's ``SqliteEventLogStorage`` and ``SqliteRunStorage``."""
    home.mkdir(parents=True, exist_ok=True)
    (home / "dagster.yaml").write_text(earlier_yaml(without), encoding="utf-8")
    return home
