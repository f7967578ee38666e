"""The documented production instance (dagster.yaml.example) names storage the installed packages provide."""

from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]


def test_example_uses_postgres_storage_that_is_installed():
    cfg = yaml.safe_load((ROOT / "dagster.yaml.example").read_text(encoding="utf-8"))
    assert "postgres" in cfg["storage"]
    import dagster_postgres  # installed from the lock (the `postgres` extra)

    assert dagster_postgres.__version__ == "0.29.27"
    from dagster_postgres import DagsterPostgresStorage  # the class `storage: postgres:` resolves to

    assert DagsterPostgresStorage.config_type()
