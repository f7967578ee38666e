"""Helpers for the tests of the Dagster instance: homes as older code made them."""

from __future__ import annotations

from pathlib import Path

from pipelines.instance import ensure_instance


def older_home(home: Path) -> Path:
    """A DAGSTER_HOME as older code made it: lianjian's settings without its event storage, so the
    instance keeps Dagster's ``SqliteEventLogStorage``."""
    ensure_instance(home)
    path = home / "dagster.yaml"
    text = path.read_text(encoding="utf-8")
    path.write_text(text[: text.index("\n# The run history's events")] + "\n", encoding="utf-8")
    return home
