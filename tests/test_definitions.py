"""The code location loads as `dagster dev -w workspace.yaml` loads it: no error and no warning."""

import subprocess
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]

LOAD = """
import dagster as dg
from pipelines.definitions import defs
dg.Definitions.validate_loadable(defs)
repo = defs.get_repository_def()
repo.load_all_definitions()
graph = defs.resolve_asset_graph()
print(len(list(graph.get_all_asset_keys())))
"""


def test_workspace_points_at_the_definitions():
    ws = yaml.safe_load((ROOT / "workspace.yaml").read_text(encoding="utf-8"))
    target = ws["load_from"][0]["python_module"]
    assert (target["module_name"], target["attribute"]) == ("pipelines.definitions", "defs")


def test_definitions_do_not_import_great_expectations():
    """Great Expectations is imported where a suite is built, not with the definitions: a process that
    validates nothing (a step process of another asset, the webserver, the second run) never loads it."""
    code = "import sys, pipelines.definitions\nprint('great_expectations' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.strip() == "False"


def test_definitions_load_without_warnings():
    out = subprocess.run([sys.executable, "-c", LOAD], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    assert "Warning" not in out.stderr and "warning" not in out.stderr.lower(), out.stderr[-2000:]
    assert int(out.stdout.strip().splitlines()[-1]) >= 40  # landing, staged, derived, assessed, published, reports
