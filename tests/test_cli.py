"""`lianjian` fails with one actionable line (no traceback) when it cannot run at all."""

import os
import subprocess
import sys
from pathlib import Path

from lianjian.cli import main

ROOT = Path(__file__).resolve().parents[1]


def test_missing_landing_is_one_line(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    code = main(["run", "--landing", str(tmp_path / "nope"), "--warehouse", str(tmp_path / "wh"), "--rules", str(ROOT / "rules" / "default.yaml")])
    err = capsys.readouterr().err.strip()
    assert code == 2
    assert len(err.splitlines()) == 1
    assert "nope" in err and "--landing" in err


def test_unreadable_rules_is_one_line(tmp_path, capsys):
    (tmp_path / "landing").mkdir()
    bad = tmp_path / "rules.yaml"
    bad.write_text("version: '1'\ngrades: {good: 50, fairly_good: 80, average: 60}\n", encoding="utf-8")
    code = main(["run", "--landing", str(tmp_path / "landing"), "--warehouse", str(tmp_path / "wh"), "--rules", str(bad)])
    err = capsys.readouterr().err.strip()
    assert code == 2 and len(err.splitlines()) == 1
    assert "rules.yaml" in err


def test_unwritable_warehouse_is_one_line(tmp_path, capsys):
    (tmp_path / "landing").mkdir()
    blocker = tmp_path / "file"
    blocker.write_text("x")
    code = main(["run", "--landing", str(tmp_path / "landing"), "--warehouse", str(blocker / "wh"), "--rules", str(ROOT / "rules" / "default.yaml")])
    err = capsys.readouterr().err.strip()
    assert code == 2 and len(err.splitlines()) == 1 and "--warehouse" in err


def test_entry_point_installed():
    exe = Path(sys.executable).with_name("lianjian")
    out = subprocess.run([str(exe), "--help"], capture_output=True, text=True, env={**os.environ})
    assert out.returncode == 0
    for cmd in ("run", "demo", "generate", "explain"):
        assert cmd in out.stdout


def test_missing_required_column_through_dagster_ends_with_one_line(demo_landing, tmp_path, capsys):
    """A required column missing from a landing file stops `lianjian run` (exit 2) with a last line
    naming the file and the column, and no traceback."""
    import shutil

    import polars as pl

    landing = tmp_path / "landing"
    shutil.copytree(demo_landing, landing)
    cases = pl.read_csv(landing / "cases.csv", infer_schema=False)
    cases.drop("accepted_date").write_csv(landing / "cases.csv")
    code = main(["run", "--landing", str(landing), "--warehouse", str(tmp_path / "wh"), "--rules", str(ROOT / "rules" / "default.yaml")])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2
    assert "cases.csv" in err[-1] and "accepted_date" in err[-1]
    assert not any("Traceback" in line for line in err)
