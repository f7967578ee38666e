"""`python3 dev.py test` (what CI runs) spreads the tests over the machine's cores with pytest-xdist,
which a clean set-up installs from the lock file, and keeps the tests of the session's webserver in one
process."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path
from types import SimpleNamespace

import conftest
import dev

ROOT = Path(__file__).resolve().parents[1]
SPREAD = ["-n", "logical", "--dist", "loadgroup"]


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


def test_what_the_tests_share_is_made_once_per_session_or_module(request):
    """The webserver's tests in one group; the tests sharing a module's fixture in that module's group
    (made once, as without xdist); the others anywhere."""

    class Item:
        def __init__(self, nodeid, **scopes):
            self.nodeid, self.fixturenames, self.marks = nodeid, tuple(scopes), []
            self._fixtureinfo = SimpleNamespace(name2fixturedefs={k: [SimpleNamespace(scope=v)] for k, v in scopes.items()})

        def add_marker(self, mark):
            self.marks.append(mark)

    reader = Item("tests/test_ops.py::test_ui", tmp_path="function", webserver="session", recorded="session")
    sharer = Item("tests/test_hand_zone.py::test_r1", published="module", tmp_path="function")
    free = Item("tests/test_cli.py::test_x", recorded="session", demo_run="session", tmp_path="function")
    conftest.pytest_collection_modifyitems([reader, sharer, free])
    assert [(m.name, m.args) for m in reader.marks] == [("xdist_group", ("webserver",))]
    assert [(m.name, m.args) for m in sharer.marks] == [("xdist_group", ("tests/test_hand_zone.py",))]
    assert free.marks == []
    # and in this session (the whole suite: the webserver's tests, test_hand_zone's …), each as said
    for item in request.session.items:
        want = conftest.xdist_group(item)
        assert [m.args for m in item.iter_markers("xdist_group")] == ([(want,)] if want else []), item.nodeid
    hand = [conftest.xdist_group(i) for i in request.session.items if i.nodeid.startswith("tests/test_hand_zone.py::")]
    assert set(hand) <= {"tests/test_hand_zone.py"}
