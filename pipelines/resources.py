"""Where lianjian reads and writes: landing zone, warehouse and rules file.

Each is taken from the CLI flag (which sets the environment variable), else the environment variable
(LIANJIAN_LANDING, LIANJIAN_WAREHOUSE, LIANJIAN_RULES), else the embedded default (CONTRACT.md §1):
data/landing/, warehouse/, rules/default.yaml, relative to the working directory.
"""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path

import dagster as dg

from lianjian.rules_config import Rules, load_rules

DEFAULTS = {
    "LIANJIAN_LANDING": "data/landing",
    "LIANJIAN_WAREHOUSE": "warehouse",
    "LIANJIAN_RULES": "rules/default.yaml",
}


PROJECT_ROOT = Path(__file__).resolve().parents[1]


def configured_path(env: str) -> Path:
    """The path in force for one of the LIANJIAN_* settings (environment, else default). The default
    rules file is the project's own rules/default.yaml when the working directory has none."""
    value = os.environ.get(env)
    if value:
        return Path(value).absolute()
    path = Path(DEFAULTS[env]).absolute()
    if env == "LIANJIAN_RULES" and not path.exists():
        return PROJECT_ROOT / DEFAULTS[env]
    return path


@lru_cache(maxsize=8)
def _rules(path: str, mtime_ns: int) -> Rules:
    return load_rules(path)


class LianjianSettings(dg.ConfigurableResource):
    """Landing zone, warehouse and rules file of this deployment (empty: environment or default)."""

    landing: str = ""
    warehouse: str = ""
    rules: str = ""

    @property
    def landing_path(self) -> Path:
        return Path(self.landing).absolute() if self.landing else configured_path("LIANJIAN_LANDING")

    @property
    def warehouse_path(self) -> Path:
        return Path(self.warehouse).absolute() if self.warehouse else configured_path("LIANJIAN_WAREHOUSE")

    @property
    def rules_path(self) -> Path:
        return Path(self.rules).absolute() if self.rules else configured_path("LIANJIAN_RULES")

    def load_rules(self) -> Rules:
        p = self.rules_path
        mtime = p.stat().st_mtime_ns if p.exists() else 0
        return _rules(str(p), mtime)
