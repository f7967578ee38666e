#!/usr/bin/env python3
"""The two commands of lianjian, for a fresh machine with only Python 3.11+.

    python3 dev.py demo    set up (first time), generate the demo landing zone, run the whole pipeline
    python3 dev.py test    set up (first time), run the test suite

Set-up creates .venv/ and installs exactly requirements.lock (hash-checked), then this project.
It is redone only when the lock file changes. Any further arguments go to the command
(`python3 dev.py test -k reader`, `python3 dev.py run --landing DIR`).
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
BIN = VENV / ("Scripts" if os.name == "nt" else "bin")
PY = BIN / "python"
STAMP = VENV / ".lianjian-setup"


def say(msg: str) -> None:
    print(f"[lianjian] {msg}", flush=True)


def setup() -> None:
    lock = ROOT / "requirements.lock"
    want = hashlib.sha256(lock.read_bytes() + (ROOT / "pyproject.toml").read_bytes()).hexdigest()
    if STAMP.exists() and STAMP.read_text() == want and PY.exists():
        return
    if sys.version_info < (3, 11):
        sys.exit("lianjian 需要 Python 3.11 或更新版本 (needs Python 3.11+)")
    if not PY.exists():
        say("创建虚拟环境 .venv/ (creating .venv)")
        venv.EnvBuilder(with_pip=True).create(VENV)
    say("安装锁定的依赖 requirements.lock (installing pinned dependencies; first time takes a few minutes)")
    pip = [str(PY), "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
    subprocess.run([*pip, "--no-deps", "--require-hashes", "-r", str(lock)], check=True)
    subprocess.run([*pip, "--no-deps", "--no-build-isolation", "-e", str(ROOT)], check=True)
    STAMP.write_text(want)


def packages(root: Path = ROOT) -> list[str]:
    """The project's top-level packages, as pyproject.toml's ``packages.find`` includes them."""
    import tomllib

    found = tomllib.loads((root / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["setuptools"]["packages"]["find"]
    return sorted({pattern.split(".")[0].rstrip("*") for pattern in found["include"]})


def compile_project(python: Path | str = PY, root: Path = ROOT) -> None:
    """Compile the project's modules to bytecode (``__pycache__/``, git-ignored), as installing a
    package does. The editable install leaves them to be compiled when first imported, and where
    ``PYTHONDONTWRITEBYTECODE`` is set nothing compiled is kept: every run, and every worker process a
    run starts, compiled ≈ 80 modules again (≈ 0.2 CPU-s before a run's first step; docs/performance.md).
    Only what changed since is compiled (≈ 0.04 s when nothing has); a failure to write (a read-only
    checkout) only leaves the modules to be compiled when imported, as before."""
    subprocess.run(
        [str(python), "-m", "compileall", "-q", *(str(root / p) for p in packages(root))],
        check=False, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )


#: Arguments by which the caller has chosen how the tests are spread (or not) over processes.
_SPREAD_CHOSEN = ("-n", "--numprocesses", "--dist", "-d", "no:xdist", "--pdb", "--trace")


#: How ``dev.py test`` spreads the tests: one worker process per core this process may use
#: (``-n logical``), each given whole test files, the next file in collection order as it becomes free
#: (``--dist loadfile``), in that order — tests/conftest.py collects the longest files first — rather
#: than reordered by their number of tests (``--no-loadscope-reorder``). docs/testing.md, "How the
#: suite runs".
SPREAD = ("-n", "logical", "--dist", "loadfile", "--no-loadscope-reorder")


def args_for_tests(rest: list[str]) -> list[str]:
    """pytest's arguments for ``dev.py test``: the tests spread over every core (``SPREAD``). One
    pytest process kept one core busy for most of the suite (docs/performance.md, "The test suite on
    both cores"); whole files longest first end both workers together, each module's shared fixtures
    made once ("The test suite's longest files first"). The caller's own choice (``-n 0``, ``-p
    no:xdist``, ``--dist load``, ``--pdb`` …) is left as given."""
    if any(arg.startswith(_SPREAD_CHOSEN) for arg in rest):
        return list(rest)
    return [*SPREAD, *rest]


def main(argv: list[str]) -> int:
    if not argv or argv[0] not in {"demo", "test", "run", "setup"}:
        print(__doc__)
        return 2
    cmd, rest = argv[0], argv[1:]
    setup()
    compile_project()
    env = dict(os.environ)
    os.chdir(ROOT)
    if cmd == "setup":
        return 0
    if cmd == "test":
        extra = ROOT / "tests" / "setup_extra.py"
        if extra.exists():  # system packages some tests need (headless Chromium for the report test)
            subprocess.run([str(PY), str(extra)], check=False)
        return subprocess.call([str(PY), "-m", "pytest", *args_for_tests(rest)], env=env)
    return subprocess.call([str(BIN / "lianjian"), cmd, *rest], env=env)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
