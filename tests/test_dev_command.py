"""`python3 dev.py test` (what CI runs) spreads the tests over the machine's cores with pytest-xdist,
which a clean set-up installs from the lock file."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import dev

ROOT = Path(__file__).resolve().parents[1]
SPREAD = ["-n", "logical"]


def test_the_test_command_runs_pytest_on_every_core(monkeypatch):
    calls: list[list[str]] = []
    monkeypatch.setattr(dev, "setup", lambda: None)
    monkeypatch.setattr(dev, "compile_project", lambda *a, **k: None)
    monkeypatch.setattr(dev.subprocess, "run", lambda *a, **k: None)  # tests/setup_extra.py
    monkeypatch.setattr(dev.subprocess, "call", lambda cmd, **k: calls.append(cmd) or 0)
    monkeypatch.chdir(ROOT)
    assert dev.main(["test"]) == 0
    assert dev.main(["test", "-k", "reader"]) == 0
    assert calls == [[str(dev.PY), "-m", "pytest", *SPREAD], [str(dev.PY), "-m", "pytest", *SPREAD, "-k", "reader"]]


def test_the_callers_own_choice_of_processes_is_left_as_given():
    for rest in (["-n", "0"], ["-n3"], ["--numprocesses=4"], ["-p", "no:xdist"], ["--dist", "load"], ["--pdb"],
                 ["-x", "--trace"]):
        assert dev.args_for_tests(rest) == rest
    assert dev.args_for_tests(["--durations=20", "-x"]) == [*SPREAD, "--durations=20", "-x"]


def test_a_clean_set_up_installs_pytest_xdist_pinned_and_hash_checked():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    pins = dict(p.split("==") for p in project["optional-dependencies"]["test"])
    lock = (ROOT / "requirements.lock").read_text(encoding="utf-8")
    for name in ("pytest-xdist", "execnet"):  # execnet: how xdist talks to its workers
        entry = re.search(rf"^{name}==(\S+) \\\n((?:    --hash=sha256:[0-9a-f]{{64}}(?: \\)?\n)+)", lock, re.M)
        assert entry, f"{name} is not pinned with hashes in requirements.lock"
        if name in pins:
            assert entry.group(1) == pins[name]
