#!/usr/bin/env python3
"""Benchmark: the speed targets judged on this machine, against the code they were set on.

    .venv/bin/python benchmarks/calibrate.py --scale demo [--pairs 3] [--paths cli,deployment-lianjian] [--workdir DIR]

The targets (``benchmarks/targets.yaml``) are seconds of a 2-core machine of 2026-12-05, written
against the first build's figures of that day. Machines of that kind are not equally fast from one
day to the next — the first build's code took 10.3 s on the demo then and 19.4 s on 2026-12-07 — so a
figure in seconds alone says as much about the machine as about the code. This script therefore
measures the **reference** (the first build, ``reference.commit`` in the targets file, exported from
this repository's history and run by its own ``benchmarks/run.py`` with this interpreter) and the
current code on the same landing zone, in alternated pairs (reference first), and judges each target
on the machine of the hour:

    factor = median(reference now) / reference then        target here = target × factor

A target of time is met when the current code's median is at most the target here. The ratio to the
limit (Polars reading and writing every landing file once, measured in the same run) and the peak
memory of all the run's processes together do not depend on the machine's speed and are judged as
measured. Prints one line per target (met / not met) and exits 1 when one
is not met; writes ``<workdir>/calibration.json``.

A cross-check is printed beside each verdict where the day's limit is known (province, national): the
target scaled by the limit's factor instead (median limit now, both sides' runs, over the limit then).
The limit is Polars and the disk alone, a run is also Python, Dagster and Great Expectations, and the
two have not slowed alike from one day to the next (docs/performance.md, "The targets judged against the
code they were set on"); the verdict (and the exit status) is the reference's factor, which measures
the work the targets were written about.

The reference needs the packages its own ``pyproject.toml`` pins; they must be the installed ones
(this environment's lock holds the same versions), otherwise the script stops and says which.
Not a test: a national pair takes ≈ 10 minutes (docs/performance.md).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import shutil
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

TARGETS_FILE = ROOT / "benchmarks" / "targets.yaml"
#: The figures of a run a target names, as both benchmark scripts write them in results.json.
FIGURES = {"total": "seconds", "to_publish": "seconds_to_publish"}
#: The one-minute load average above which a pair's figures are said to be a busy machine's. Both sides
#: keep about two processes running, so an idle machine shows 1–2.6 between runs; other work slows the
#: reference (one long sequential run) more than the current code and so makes the factor too lenient.
BUSY_LOAD = 3.0


#: The nightly cases' figures (``benchmarks/run.py --runs 2 --changed``): the warm run on the same
#: landing files, and the run after one talks file changed.
NIGHTLY = {"warm": "nothing_changed_total", "changed": "changed_total"}


def scaled(target: str) -> bool:
    """Whether a target is seconds of the day it was set (scaled here) — not a ratio to the limit
    (``…_per_limit``) nor the peak memory (``peak_gib``), which the machine's speed does not move. A
    nightly case's seconds were set on the same machine as the others and are scaled alike, by the
    factor of the scale's ``total`` (no reference figure of its own stands behind them)."""
    return not (target.endswith("_per_limit") or target == "peak_gib")


def load_targets(path: Path = TARGETS_FILE) -> dict:
    import yaml

    return yaml.safe_load(path.read_text(encoding="utf-8"))


@dataclass(frozen=True)
class Verdict:
    """One target judged: ``target_then`` is its own number (seconds of that day's machine, a ratio, GiB),
    ``target_here`` that number on this machine (× ``factor``; unchanged when not scaled), ``measured``
    the current code's median (a ratio for ``…_per_limit``)."""

    scale: str
    path: str
    target: str
    target_then: float
    factor: float | None  # None: not scaled (a ratio to the limit, the peak memory)
    target_here: float
    measured: float
    #: The cross-check: the target scaled by the limit's factor instead (None where the day's limit is
    #: not known, and for a target not scaled).
    limit_factor: float | None = None

    @property
    def met(self) -> bool:
        return self.measured <= self.target_here

    @property
    def met_as_written(self) -> bool:
        """Whether the measured figure meets the target's own number, unscaled (for a scaled target:
        what a machine as fast as that day's would need; printed beside the verdict)."""
        return self.measured <= self.target_then

    @property
    def met_by_limit(self) -> bool | None:
        if self.limit_factor is None:
            return None
        return self.measured <= self.target_then * self.limit_factor


def judge(scale: str, targets: dict, reference_then: dict, reference_now: dict[str, list[float]],
          current: dict[str, dict[str, list[float]]], *, limit_then: float | None = None,
          limits_now: list[float] = ()) -> list[Verdict]:
    """Each target of ``scale`` judged for each measured path of the current code.

    ``reference_then``: the reference's seconds per figure when the targets were set;
    ``reference_now``: its seconds per figure measured now, one per pair; ``current``: per path, the
    current code's seconds per figure, and ``to_publish_per_limit`` ratios, one per pair;
    ``limit_then`` / ``limits_now``: the limit's seconds that day and in this session's runs (both
    sides'), for the cross-checking factor."""
    limit_factor = statistics.median(limits_now) / limit_then if limit_then and limits_now else None
    verdicts = []
    for path, figures in current.items():
        for name, then_target in targets.get(scale, {}).items():
            # a figure the runs did not give (no /proc for the memory) is not met
            measured = statistics.median(figures[name]) if figures.get(name) else math.nan
            if not scaled(name):
                verdicts.append(Verdict(scale, path, name, then_target, None, then_target, measured))
                continue
            figure = "total" if name in NIGHTLY.values() else name
            factor = statistics.median(reference_now[figure]) / reference_then[figure]
            verdicts.append(Verdict(scale, path, name, then_target, factor, then_target * factor,
                                    measured, limit_factor))
    return verdicts


def pinned_requirements(pyproject: Path) -> dict[str, str]:
    """``name == version`` pins of a project's own dependencies (not its extras)."""
    import tomllib

    pins = {}
    for requirement in tomllib.loads(pyproject.read_text(encoding="utf-8"))["project"]["dependencies"]:
        name, _, version = requirement.partition("==")
        pins[name.strip().lower()] = version.strip()
    return pins


def missing_requirements(pins: dict[str, str]) -> list[str]:
    """The pins this environment does not satisfy, as ``name==wanted (installed: …)``."""
    from importlib.metadata import PackageNotFoundError, version

    wrong = []
    for name, wanted in sorted(pins.items()):
        try:
            have = version(name)
        except PackageNotFoundError:
            have = "none"
        if wanted and have != wanted:
            wrong.append(f"{name}=={wanted} (installed: {have})")
    return wrong


def export_reference(commit: str, into: Path) -> Path:
    """The reference's files at ``commit`` (``git archive`` of this repository) under ``into``,
    its modules compiled as ``dev.py`` compiles the project's, and this environment's ``.venv`` linked
    into it: made once, reused by later calls."""
    tree = into / f"reference-{commit[:12]}"
    if (tree / ".exported").exists():
        return tree
    shutil.rmtree(tree, ignore_errors=True)
    tree.mkdir(parents=True)
    with tempfile.TemporaryFile() as archive:
        subprocess.run(["git", "-C", str(ROOT), "archive", "--format=tar", commit], stdout=archive, check=True)
        archive.seek(0)
        with tarfile.open(fileobj=archive) as tar:
            tar.extractall(tree, filter="data")
    if (ROOT / ".venv").exists():
        (tree / ".venv").symlink_to(ROOT / ".venv")
    import dev

    dev.compile_project(sys.executable, root=tree)
    subprocess.run([sys.executable, "-m", "compileall", "-q", str(tree / "benchmarks")],
                   check=False, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    (tree / ".exported").write_text(commit + "\n", encoding="utf-8")
    return tree


def measure(tree: Path, scale: str, landing: Path, work: Path, paths: list[str] | None, *, nightly: bool = False) -> dict:
    """One cold run of a tree's own benchmark on ``landing`` (linked into a fresh ``work``); its
    results.json. ``paths``: the current benchmark's ``--paths`` (the reference's knows only ``lianjian
    run``); ``nightly``: then the nightly cases on the same warehouse (nothing changed; one talks file
    changed), which only the current benchmark has."""
    work.mkdir(parents=True)
    (work / "landing").symlink_to(landing)
    cmd = [sys.executable, str(tree / "benchmarks" / "run.py"), "--scale", scale, "--runs", "2" if nightly else "1",
           "--workdir", str(work)]
    if nightly:
        cmd.append("--changed")
    if paths:
        cmd += ["--paths", ",".join(paths)]
    proc = subprocess.run(cmd, cwd=tree, capture_output=True, text=True)
    (work / "output.txt").write_text(proc.stdout + proc.stderr, encoding="utf-8")
    results = work / "results.json"
    if proc.returncode != 0 or not results.exists():
        raise SystemExit(f"{tree.name} 的基准运行失败（benchmark failed）: {(proc.stderr.strip().splitlines() or ['?'])[-1]} — 见 see {work / 'output.txt'}")
    return json.loads(results.read_text(encoding="utf-8"))


def figures_of(results: dict, path: str) -> dict[str, float]:
    """A path's cold run's figures from a results.json (``runs`` is `lianjian run`'s)."""
    from benchmarks.run import results_key

    key = results_key(path)
    run = results[key][0]
    if run.get("success") is False or "seconds" not in run:
        raise SystemExit(f"{path} 运行未成功（run failed）: {run.get('failure') or run.get('error')}")
    out = {name: run[field] for name, field in FIGURES.items()}
    out["to_publish_per_limit"] = run["seconds_to_publish"] / results["limit"]["seconds"]
    if run.get("peak_tree_rss_mb"):  # the current benchmark's: all the run's processes together
        out["peak_gib"] = run["peak_tree_rss_mb"] * 1e6 / 2**30
    for later in results[key][1:]:  # the current benchmark's nightly cases, when asked for
        if later.get("label") in NIGHTLY and "seconds" in later:
            out[NIGHTLY[later["label"]]] = later["seconds"]
    return out


def main(argv: list[str] | None = None) -> int:
    from benchmarks.run import path_list

    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--scale", default="demo", choices=["demo", "province", "national"])
    ap.add_argument("--pairs", type=int, default=3, help="alternated pairs (reference, then current)")
    ap.add_argument("--paths", default="cli", type=path_list, help="the current code's paths (benchmarks/run.py --paths); default cli")
    ap.add_argument("--workdir", help="default: tmp/calibrate/<scale> under the project (git-ignored)")
    ap.add_argument("--targets", default=str(TARGETS_FILE))
    ap.add_argument("--rejudge", metavar="CALIBRATION_JSON", help="judge the figures of an earlier calibration again (nothing measured)")
    a = ap.parse_args(argv)

    config = load_targets(Path(a.targets))
    commit = config["reference"]["commit"]
    if a.rejudge:  # the figures of an earlier calibration judged again (another targets file)
        saved = json.loads(Path(a.rejudge).read_text(encoding="utf-8"))
        a.scale, reference_now, current = saved["scale"], saved["reference_now"], saved["current"]
        limits_now, loads = saved["limits_now"], saved.get("loads", [])
    else:
        work = Path(a.workdir or ROOT / "tmp" / "calibrate" / a.scale).absolute()
        work.mkdir(parents=True, exist_ok=True)
        tree = export_reference(commit, work)
        wrong = missing_requirements(pinned_requirements(tree / "pyproject.toml"))
        if wrong:
            print(f"参照代码 {commit[:12]} 所需的包与本环境不同（the reference needs other packages）: {', '.join(wrong)}", file=sys.stderr)
            return 2
        landing = work / "landing"
        if not landing.exists():
            from lianjian.generate import write_landing

            print(f"生成 {a.scale} 落地数据 generating the landing zone → {landing}", flush=True)
            write_landing(landing, a.scale, years="2021-2025", seed=20240101, log=lambda m: None)

        reference_now: dict[str, list[float]] = {name: [] for name in FIGURES}
        limits_now: list[float] = []
        loads: list[float] = []
        current: dict[str, dict[str, list[float]]] = {p: {} for p in a.paths}
        spent = work / "spent"
        for i in range(1, a.pairs + 1):
            for side in ("reference", "current"):
                run_dir = work / f"pair{i}-{side}"
                shutil.rmtree(run_dir, ignore_errors=True)
                if side == "reference":
                    results = measure(tree, a.scale, landing, run_dir, None)
                    for name, value in figures_of(results, "cli").items():
                        if name in reference_now:
                            reference_now[name].append(value)
                    shown = f"total {results['runs'][0]['seconds']:.2f} s"
                else:
                    results = measure(ROOT, a.scale, landing, run_dir, a.paths, nightly=True)
                    shown = []
                    for path in a.paths:
                        for name, value in figures_of(results, path).items():
                            current[path].setdefault(name, []).append(value)
                        shown.append(f"{path} {current[path]['total'][-1]:.2f} s")
                    shown = "total " + ", ".join(shown)
                limits_now.append(results["limit"]["seconds"])
                loads.append(os.getloadavg()[0])
                print(f"pair {i} {side:<9} {shown}  (load {loads[-1]:.1f}, {time.strftime('%H:%M:%S')})", flush=True)
                # moved aside, deleted at the end: deleting a warehouse's files slows the next run's file
                # creation for minutes (docs/performance.md, "National's reports step and the kernel")
                spent.mkdir(exist_ok=True)
                run_dir.rename(spent / run_dir.name)

    limit_then = (config["reference"].get("limit_seconds") or {}).get(a.scale)
    verdicts = judge(a.scale, config["targets"], config["reference"]["seconds"][a.scale], reference_now, current,
                     limit_then=limit_then, limits_now=limits_now)
    print(f"\n{a.scale}: reference {commit[:12]} now {', '.join(f'{k} ' + '/'.join(f'{v:.2f}' for v in vs) for k, vs in reference_now.items())} s;"
          f" the limit now {'/'.join(f'{v:.2f}' for v in limits_now)} s" + (f", then {limit_then} s" if limit_then else ""))
    print(f"{'path':<22}{'target':<24}{'then':>8}{'factor':>8}{'here':>9}{'measured':>10}")
    for v in verdicts:
        factor = f"{v.factor:.2f}" if v.factor is not None else "-"
        cross = ""
        if v.factor is not None:
            cross += f"  (as written: {'met' if v.met_as_written else 'not met'})"
        if v.met_by_limit is not None:
            cross += f"  (by the limit's factor {v.limit_factor:.2f}: {v.target_then * v.limit_factor:.2f}, {'met' if v.met_by_limit else 'not met'})"
        print(f"{v.path:<22}{v.target:<24}{v.target_then:>8.2f}{factor:>8}{v.target_here:>9.2f}{v.measured:>10.2f}  "
              + ("达标 met" if v.met else "未达标 not met") + cross)
    if max(loads, default=0.0) > BUSY_LOAD:
        print(f"注意：机器繁忙（load 最高 {max(loads):.1f}），结论偏宽 — busy machine (load up to {max(loads):.1f} > {BUSY_LOAD}):"
              " other work slows the reference more than the current code; measure on an idle machine")
    if not a.rejudge:
        (work / "calibration.json").write_text(json.dumps({
            "scale": a.scale, "reference": commit, "reference_now": reference_now, "current": current, "loads": loads,
            "limits_now": limits_now, "limit_then": limit_then,
            "verdicts": [{**asdict(v), "met": v.met, "met_by_limit": v.met_by_limit, "met_as_written": v.met_as_written} for v in verdicts],
        }, indent=2, ensure_ascii=False), encoding="utf-8")
        shutil.rmtree(spent, ignore_errors=True)
    return 0 if all(v.met for v in verdicts) else 1


if __name__ == "__main__":
    sys.exit(main())
