"""Where lianjian reads and writes — the three paths of a run and how they are resolved: the given
value, else the ``LIANJIAN_*`` environment variable, else the default of docs/contract.md "Commands"
(relative to the working directory; the project's own ``rules/default.yaml`` when the working
directory has none).

Plain Python (no Dagster), so the command line can resolve them without loading Dagster; the one
Dagster resource that carries them through runs (``pipelines.resources.LianjianSettings``) uses the
same functions."""

from __future__ import annotations

import os
from pathlib import Path

#: setting -> (environment variable, default relative to the working directory; docs/contract.md "Commands")
SETTINGS = {
    "landing": ("LIANJIAN_LANDING", "data/landing"),
    "warehouse": ("LIANJIAN_WAREHOUSE", "warehouse"),
    "rules": ("LIANJIAN_RULES", "rules/default.yaml"),
}

PROJECT_ROOT = Path(__file__).resolve().parents[1]


def absolute(setting: str, value: str) -> Path:
    path = Path(value).expanduser().absolute()
    if setting == "rules" and value == SETTINGS["rules"][1] and not path.exists():
        return PROJECT_ROOT / SETTINGS["rules"][1]  # the project's own rules file
    return path


def resolve_paths(
    landing: str | os.PathLike | None = None,
    warehouse: str | os.PathLike | None = None,
    rules: str | os.PathLike | None = None,
) -> dict[str, Path]:
    """``{"landing", "warehouse", "rules"}`` as absolute paths: the given value, else the environment
    variable, else the default (reads the environment, never writes it)."""
    given = {"landing": landing, "warehouse": warehouse, "rules": rules}
    out = {}
    for setting, (env, default) in SETTINGS.items():
        value = given[setting]
        if value is None or str(value) == "":
            value = os.environ.get(env) or default
        out[setting] = absolute(setting, str(value))
    return out
