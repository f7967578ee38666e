"""`python3 dev.py test` (what CI runs) spreads the tests over the machine's cores with pytest-xdist,
which a clean set-up installs from the lock file."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import dev

ROOT = Path(__file__).resolve().parents[1]
SPREAD = ["-n", "logical", "--dist", "loadfile", "--no-loadscope-reorder"]


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


def test_the_longest_files_are_collected_first_and_each_files_tests_keep_their_order():
    """tests/conftest.py puts the files of ``LONGEST_FIRST`` first, in its order, every other file
    after them; the tests of one file stay in their order. Each name is a test file of the suite."""
    from types import SimpleNamespace

    import conftest

    tests = ROOT / "tests"
    assert set(conftest.LONGEST_FIRST) <= {p.name for p in tests.glob("test_*.py")}
    first, second = conftest.LONGEST_FIRST[:2]
    items = [SimpleNamespace(path=tests / name, n=n) for n, name in enumerate(["test_a.py", second, "test_b.py", first, second, first])]
    conftest.pytest_collection_modifyitems(items)
    assert [(i.path.name, i.n) for i in items] == [(first, 3), (first, 5), (second, 1), (second, 4), ("test_a.py", 0), ("test_b.py", 2)]
