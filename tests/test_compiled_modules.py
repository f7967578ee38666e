"""The project's modules are compiled to bytecode after set-up (dev.py ``compile_project``) and before
the benchmark's clock, also where ``PYTHONDONTWRITEBYTECODE`` keeps Python from writing any itself."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import dev

ROOT = Path(__file__).resolve().parents[1]


def test_the_packages_are_those_pyproject_installs():
    assert dev.packages() == ["assets", "checks", "lianjian", "pipelines"]


def test_compile_project_writes_every_package_module_and_nothing_else(tmp_path, monkeypatch):
    monkeypatch.setenv("PYTHONDONTWRITEBYTECODE", "1")
    (tmp_path / "pyproject.toml").write_text(
        '[tool.setuptools.packages.find]\ninclude = ["alpha*", "beta*"]\n', encoding="utf-8"
    )
    for name in ("alpha/__init__.py", "alpha/sub/mod.py", "beta/__init__.py", "tests/test_x.py"):
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text("X = 1\n", encoding="utf-8")
    dev.compile_project(sys.executable, tmp_path)
    compiled = sorted(str(p.relative_to(tmp_path)).split("__pycache__")[0] + p.name.split(".")[0] for p in tmp_path.rglob("*.pyc"))
    assert compiled == ["alpha/__init__", "alpha/sub/mod", "beta/__init__"]
    # and Python, told not to write bytecode, reads what was compiled (no error, same value)
    out = subprocess.run([sys.executable, "-c", "import alpha.sub.mod as m; print(m.X, m.__cached__)"], cwd=tmp_path,
                         capture_output=True, text=True, env={**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}, check=True)
    assert out.stdout.split()[0] == "1" and Path(out.stdout.split()[1]).exists()


def test_the_benchmark_compiles_before_its_first_measurement(tmp_path, monkeypatch):
    import benchmarks.run as bench

    calls: list[str] = []
    monkeypatch.setattr(dev, "compile_project", lambda python=None, root=None: calls.append("compile"))

    def child(phase, **_kw):
        calls.append(phase)
        return {"error": "stopped by the test"}

    monkeypatch.setattr(bench, "child", child)
    (tmp_path / "landing").mkdir()
    assert bench.main(["--scale", "demo", "--workdir", str(tmp_path), "--limit-only"]) == 1
    assert calls == ["compile", "limit"]


def test_every_dev_command_compiles_after_set_up(monkeypatch):
    calls: list[str] = []
    monkeypatch.setattr(dev, "setup", lambda: calls.append("setup"))
    monkeypatch.setattr(dev, "compile_project", lambda *a, **k: calls.append("compile"))
    monkeypatch.chdir(ROOT)
    assert dev.main(["setup"]) == 0
    assert calls == ["setup", "compile"]
