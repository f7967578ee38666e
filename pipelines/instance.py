"""The Dagster instance settings lianjian ships (``dagster.yaml``), written into the instance folder the
first time `lianjian ui` uses it (``$DAGSTER_HOME``, else ``./.dagster_home``); never over an existing
file. Production (PostgreSQL storage) starts from ``dagster.yaml.example``, which has the same
settings below its storage section.

- ``telemetry: enabled: false`` — nothing leaves the machine (a closed network), and the UI shows no
  telemetry notice;
- ``nux: enabled: false`` — no "Join the Dagster community" pop-up;
- the file itself — no "No dagster instance configuration file (dagster.yaml) found" warning;
- a ``QueuedRunCoordinator`` that runs at most one run per ``lianjian/warehouse`` tag value (every run
  of a pipeline run carries it, ``pipelines/runs.py``): the nightly schedule and the landing sensor
  firing together queue one behind the other instead of writing one warehouse at once, while two
  warehouses may run side by side.
"""

from __future__ import annotations

from pathlib import Path

CONFIG_FILENAME = "dagster.yaml"

INSTANCE_YAML = """\
# Dagster instance settings of lianjian (pipelines/instance.py; docs/operations.md).
# Storage: SQLite files in this folder — fine for one desk. Production: dagster.yaml.example (PostgreSQL).

# Nothing is sent outside the machine; the UI shows no telemetry notice.
telemetry:
  enabled: false

# No "Join the Dagster community" pop-up.
nux:
  enabled: false

# Runs launched by the schedule, the sensors or the UI wait in a queue: at most one run per warehouse
# (the lianjian/warehouse tag every lianjian run carries), two runs in all.
run_coordinator:
  module: dagster.core.run_coordinator
  class: QueuedRunCoordinator
  config:
    max_concurrent_runs: 2
    tag_concurrency_limits:
      - key: "lianjian/warehouse"
        value:
          applyLimitPerUniqueValue: true
        limit: 1
"""


def ensure_instance(home: Path) -> Path:
    """Create ``home`` and write lianjian's ``dagster.yaml`` into it unless it has one; returns the
    path of the instance settings file."""
    home = Path(home)
    home.mkdir(parents=True, exist_ok=True)
    path = home / CONFIG_FILENAME
    if not path.exists():
        tmp = path.with_name(f".{CONFIG_FILENAME}.tmp")
        tmp.write_text(INSTANCE_YAML, encoding="utf-8")
        tmp.replace(path)
    return path
