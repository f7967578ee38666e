#!/usr/bin/env python3
"""Benchmark: how far the pipeline is from the limit of the hardware, per stage.

    .venv/bin/python benchmarks/run.py --scale province [--years 2021-2025] [--workdir DIR] [--seed N]

1. Generates the landing zone for the scale into <workdir>/landing (only if absent).
2. The **limit**: Polars alone reads every landing file once and writes it once as Parquet (in a
   child process, so its peak RSS is its own).
3. The **pipeline**, by two paths on the same landing zone, each in a child process with its own
   DAGSTER_HOME (the project's dagster.yaml, SQLite) and warehouse:
   - ``cli``: ``lianjian.runner.run_pipeline`` — what `lianjian run` does;
   - ``daemon``: the nightly schedule's tick evaluated against the instance, its run request executed
     as the daemon's run launcher executes it, then the run-status sensor's tick and its request
     (``benchmarks/daemon_path.py``) — what the nightly run does, minus the daemon's polling.
   Both are handed the instance opened before the clock (``measured_call``).
   Per stage — ingest (the staging step: reading the landing files, staged group), validate (the
   steps that only evaluate asset checks), derive, assess,
   publish (and reports) — wall seconds are taken from the runs' event logs (STEP_START →
   STEP_SUCCESS of the stage's steps), with rows per second over the landing rows. Peak RSS is per
   process (Dagster does not record it per step): the whole run's; "peak RSS, all processes" is the
   largest sum over the run's processes at one moment (``TreeMemory``), what the memory target counts.
4. Prints a table per path, the ratio pipeline / limit and daemon / cli; writes <workdir>/results.json.

Not a test: run it by hand or in a nightly job. At demo scale it takes a few seconds.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import threading
import time
from contextlib import ExitStack
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

STAGES = ("ingest", "validate", "derive", "assess", "publish", "reports")
#: A step's stage by the group of the assets it materializes: the staging step (group staged: it reads
#: the landing files and writes the staged tables) is "ingest"; the steps that only evaluate checks
#: (Great Expectations, cross checks) are "validate".
GROUP_STAGE = {"landing": "ingest", "staged": "ingest", "checks": "validate", "derived": "derive",
               "assessed": "assess", "published": "publish", "reports": "reports"}


def peak_rss_mb() -> dict[str, float]:
    """Peak resident set size of this process and of its waited-for children, in MB (Linux: KB units)."""
    scale = 1 / 1024 if sys.platform != "darwin" else 1 / 1024 / 1024
    return {
        "self": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * scale,
        "children": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * scale,
    }


#: How often the memory of a run's processes together is sampled: a run's peak lasts seconds (a year's
#: scoring, the reports' workers), and each sample reads ``/proc`` (≈ 1 ms for the run's few processes).
TREE_MEMORY_SECONDS = 0.5


class TreeMemory:
    """The largest resident memory of this process and its descendants together (the report workers,
    the suite worker; in a deployment the code server, the warm process and the runs' processes), in
    MB, sampled every ``TREE_MEMORY_SECONDS`` from ``/proc/PID/statm`` by a thread, until ``stop``. The
    sum of RSS counts a page two processes share twice, so it is at least their proportional share
    (Pss) and the figure errs on the high side; ``None`` without ``/proc``."""

    def __init__(self):
        self.peak_mb: float | None = None
        self._done = threading.Event()
        if os.path.isdir("/proc/self"):
            self._thread = threading.Thread(target=self._sample, name="tree-memory", daemon=True)
            self._thread.start()
        else:
            self._thread = None

    def _sample(self) -> None:
        from benchmarks.deployment_path import descendants

        page_mb = os.sysconf("SC_PAGE_SIZE") / 1e6
        while True:
            pages = 0
            for pid in (os.getpid(), *descendants(os.getpid())):
                try:
                    pages += int(Path(f"/proc/{pid}/statm").read_text().split()[1])
                except (OSError, IndexError, ValueError):  # ended meanwhile
                    continue
            self.peak_mb = max(self.peak_mb or 0.0, pages * page_mb)
            if self._done.wait(TREE_MEMORY_SECONDS):
                return

    def stop(self) -> float | None:
        self._done.set()
        if self._thread is not None:
            self._thread.join()
        return self.peak_mb


def cpu_seconds(*, children: bool = True) -> float:
    """User + system CPU seconds of this process and (``children``) its waited-for children (the
    report workers): steadier than wall time on a machine shared with other work. A deployment's
    path counts its other processes by ``deployment_path.TreeCPU`` instead."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN) if children else None
    return own.ru_utime + own.ru_stime + (kids.ru_utime + kids.ru_stime if kids else 0.0)


# ---- child: the limit ---------------------------------------------------------------------------
def landing_files(landing: Path) -> list[Path]:
    return sorted(p for p in landing.rglob("*") if p.is_file() and p.suffix in (".csv", ".xlsx", ".parquet"))


def phase_limit(landing: Path, out: Path) -> dict:
    import polars as pl

    out.mkdir(parents=True, exist_ok=True)
    rows, nbytes = 0, 0
    t0 = time.perf_counter()
    for i, f in enumerate(landing_files(landing)):
        target = out / f"{i:05d}.parquet"
        nbytes += f.stat().st_size
        if f.suffix == ".xlsx":
            df = pl.read_excel(f, infer_schema_length=0)
        elif f.suffix == ".parquet":
            df = pl.read_parquet(f)
        else:
            data = f.read_bytes()
            try:
                data.decode("utf-8")
            except UnicodeDecodeError:  # GB18030 export
                data = data.decode("gb18030").encode("utf-8")
                df = pl.read_csv(data, infer_schema=False)
            else:
                lf = pl.scan_csv(f, infer_schema=False)
                lf.sink_parquet(target)
                rows += pl.scan_parquet(target).select(pl.len()).collect().item()
                continue
        df.write_parquet(target)
        rows += df.height
    seconds = time.perf_counter() - t0
    return {"seconds": seconds, "rows": rows, "files": len(landing_files(landing)), "bytes": nbytes, "rss_mb": peak_rss_mb()}


def changed_landing(landing: Path, into: Path) -> Path:
    """The landing zone of a night on which one talks file changed: ``into`` holds every file of
    ``landing`` as a hard link (a copy across file systems), except the last talks file by name (the
    latest month's or year's), written again without its last record. A run on it after a run on
    ``landing`` is the nightly case "only some files changed" (docs/performance.md, the nightly case)."""
    files = sorted(p for p in landing.rglob("*") if p.is_file())
    talks = max(p for p in landing_files(landing) if p.relative_to(landing).parts[0] == "talks")
    shutil.rmtree(into, ignore_errors=True)
    for f in files:
        target = into / f.relative_to(landing)
        target.parent.mkdir(parents=True, exist_ok=True)
        if f == talks:
            data = f.read_bytes().rstrip(b"\r\n")
            target.write_bytes(data[: data.rindex(b"\n") + 1])
            continue
        try:
            os.link(f.resolve(), target)
        except OSError:
            shutil.copy2(f, target)
    return into


# ---- child: the pipeline ------------------------------------------------------------------------
def _stage_of(step_key: str) -> str:
    """Fallback when a step materialized nothing: its name's first word (ops are named by layer)."""
    first = step_key.replace("__", "_").split("_", 1)[0]
    if first in GROUP_STAGE:
        return GROUP_STAGE[first]
    return "validate" if "check" in step_key or "quality" in step_key else "other"


def _stage_map() -> dict[str, str]:
    """asset key ("layer/name") -> stage, from the Definitions' asset groups."""
    try:
        from pipelines.definitions import defs

        return {spec.key.to_user_string(): GROUP_STAGE.get(spec.group_name or "", "other") for spec in defs.resolve_all_asset_specs()}
    except Exception:  # noqa: BLE001 — the heuristic below still works
        return {}


def measured_call(path: str, instance, landing: Path, warehouse: Path, rules: Path, reports: bool, workspace=None):
    """The call whose wall and CPU seconds a path's figures are: ``lianjian.runner.run_pipeline``
    (``cli``), the daemon's path (``daemon``) or a deployment's (``deployment``, ``deployment-lianjian``:
    ``workspace`` is the code server's, started before the clock as a deployment's runs before the
    tick), all given the instance that ``instance`` already opened before the clock. `lianjian run` is handed it here (a real one opens its own, ≈ 1.5 CPU-s
    and 1–3 s of wall on a fresh home: the storage modules' import and the history's tables made);
    the daemon opens its instance once when it starts, before any tick — so neither path's figures
    include that opening, and the two paths are compared on the same work."""
    if path in DEPLOYMENT_PATHS:
        from benchmarks.deployment_path import deployment_pipeline_run

        return lambda: deployment_pipeline_run(instance, workspace, first_tags={} if reports else {"lianjian/reports": "skip"})
    if path == "daemon":
        from benchmarks.daemon_path import daemon_pipeline_run
        from pipelines.resources import LianjianSettings

        settings = LianjianSettings.resolve(landing, warehouse, rules)
        first_tags = {} if reports else {"lianjian/reports": "skip"}
        return lambda: daemon_pipeline_run(instance, settings, trigger="nightly", first_tags=first_tags)
    from lianjian.runner import run_pipeline

    return lambda: run_pipeline(landing, warehouse, rules, instance=instance, progress=False, reports=reports)


def phase_pipeline(landing: Path, warehouse: Path, rules: Path, dagster_home: Path, reports: bool, path: str) -> dict:
    dagster_home.mkdir(parents=True, exist_ok=True)
    os.environ["DAGSTER_HOME"] = str(dagster_home)
    try:
        from lianjian.runner import run_pipeline  # noqa: F401 — Dagster and lianjian imported before the clock
    except ImportError as err:
        return {"unavailable": f"lianjian.runner.run_pipeline 不可用 (not available yet): {err}"}
    import dagster as dg

    from pipelines.instance import ensure_instance

    ensure_instance(dagster_home)
    with ExitStack() as stack:
        workspace = tree = None
        if path in DEPLOYMENT_PATHS:
            from benchmarks import deployment_path

            deployment_path.with_launcher(dagster_home, "lianjian" if path == "deployment-lianjian" else "dagster")
            # the code location is found by the deployment's environment (pipelines/resources.py)
            os.environ.update(LIANJIAN_LANDING=str(landing), LIANJIAN_WAREHOUSE=str(warehouse), LIANJIAN_RULES=str(rules))
            context = stack.enter_context(deployment_path.workspace_context(dg.DagsterInstance.get()))
            workspace = context.create_request_context()
            workspace.get_code_location(deployment_path.LOCATION)  # the code server is up before the tick
        instance = dg.DagsterInstance.get()
        run = measured_call(path, instance, landing, warehouse, rules, reports, workspace)
        if path in DEPLOYMENT_PATHS:
            # lianjian's launcher: its warm process up before the tick, as the code server is
            warm = deployment_path.warm_up(instance, workspace)
            tree = deployment_path.TreeCPU()
        memory = TreeMemory()
        t0, cpu0 = time.perf_counter(), cpu_seconds(children=tree is None)
        try:
            outcome = run()
            error = None
        except Exception as err:  # noqa: BLE001 — the run may still be in the event log: report what was measured
            outcome, error = None, f"run_pipeline raised {type(err).__name__}: {err}"
        total = time.perf_counter() - t0
        if tree is not None:
            time.sleep(DRAIN_SECONDS)  # the runs' processes end after their status is recorded
            others = tree.stop()
    # the suite worker (lianjian/quality/worker.py) outlives the run in its process: stopped (waited
    # for) before reading the CPU seconds and peak RSS, so that its work and memory are counted
    from lianjian.quality.worker import suite_worker

    suite_worker().close()
    peak_together = memory.stop()
    cpu = cpu_seconds(children=tree is None) - cpu0 + (others if tree is not None else 0.0)
    result = {"seconds": total, "cpu_seconds": cpu, "rss_mb": peak_rss_mb(), "peak_tree_rss_mb": peak_together,
              "stages": {}, "outcome": repr(outcome)[:300]}
    if getattr(outcome, "marks", None):
        result["marks"] = outcome.marks
    if tree is not None:
        result["warm_process"] = warm
    if error:
        result["success"], result["failure"] = False, error
    if outcome is not None:
        result["success"] = getattr(outcome, "success", None)
        result["failure"] = getattr(outcome, "failure", None) or getattr(outcome, "skipped", None)
        if getattr(outcome, "current", None):  # nothing changed: no Dagster run (lianjian/fingerprint.py)
            result["current"] = outcome.current
            return result
    try:
        instance = dg.DagsterInstance.get()
        run_id = (getattr(outcome, "run_ids", None) or [None])[-1]
        if run_id is None:
            runs = instance.get_runs(limit=1)
            run_id = runs[0].run_id if runs else None
        if run_id is None:
            return result
        # `lianjian run` is two runs (landing + staging, then the rest): read the events of both
        run_ids = list(getattr(outcome, "run_ids", None) or [run_id])

        def logs(of_type):
            return [entry for rid in run_ids for entry in instance.all_logs(rid, of_type=of_type)]

        types = {dg.DagsterEventType.STEP_START, dg.DagsterEventType.STEP_SUCCESS, dg.DagsterEventType.STEP_FAILURE}
        # A step's stage: the group of the assets it materialized; a step that only evaluated checks
        # is validation; otherwise its name.
        asset_stage = _stage_map()
        step_stage: dict[str, str] = {}
        for entry in logs({dg.DagsterEventType.ASSET_MATERIALIZATION}):
            key = entry.dagster_event.asset_key.to_user_string() if entry.dagster_event.asset_key else ""
            if entry.step_key and key in asset_stage:
                step_stage.setdefault(entry.step_key, asset_stage[key])
        for entry in logs({dg.DagsterEventType.ASSET_CHECK_EVALUATION}):
            if entry.step_key:
                step_stage.setdefault(entry.step_key, "validate")
        spans: dict[str, dict] = {}
        step_seconds: dict[str, float] = {}
        step_open: dict[str, float] = {}
        for entry in logs(types):
            key = entry.step_key
            if entry.dagster_event.event_type == dg.DagsterEventType.STEP_START:
                step_open[key] = entry.timestamp
            elif key in step_open:
                step_seconds[key] = step_seconds.get(key, 0.0) + entry.timestamp - step_open.pop(key)
            stage = step_stage.get(key) or _stage_of(key)
            s = spans.setdefault(stage, {"start": None, "end": None, "steps": 0, "step_seconds": 0.0, "_open": {}})
            if entry.dagster_event.event_type == dg.DagsterEventType.STEP_START:
                s["start"] = entry.timestamp if s["start"] is None else min(s["start"], entry.timestamp)
                s["_open"][key] = entry.timestamp
                s["steps"] += 1
            else:
                s["end"] = entry.timestamp if s["end"] is None else max(s["end"], entry.timestamp)
                if key in s["_open"]:
                    s["step_seconds"] += entry.timestamp - s["_open"].pop(key)
        for stage, s in spans.items():
            result["stages"][stage] = {
                # Steps of one in-process run do not overlap: a stage's time is the sum of its steps.
                "seconds": s["step_seconds"],
                "span_seconds": (s["end"] - s["start"]) if s["start"] is not None and s["end"] is not None else None,
                "steps": s["steps"],
            }
        result["steps"] = step_seconds  # each step's seconds (STEP_START → its end), by step key
        result["run_id"] = run_id
        result["run_ids"] = run_ids
    except Exception as err:  # noqa: BLE001 — fall back to the outcome's own step timings
        result["stages_error"] = f"{type(err).__name__}: {err}"
        for key, sec in (getattr(outcome, "step_seconds", None) or {}).items():
            st = result["stages"].setdefault(_stage_of(key), {"seconds": 0.0, "steps": 0})
            st["seconds"] += sec
            st["steps"] += 1
    return result


# ---- parent -------------------------------------------------------------------------------------
def _print_run(pipe: dict, i: int, label: str, path: str, rows: int, limit: dict, skip_reports: bool) -> None:
    name = {"cli": "lianjian run", "daemon": "daemon path (schedule tick → 2 runs)"}.get(path, f"{path} (code server, run launcher: schedule tick → 2 processes)")
    if pipe.get("warm_process"):
        name += "; the launcher's warm process started before the tick, as a daemon up since before it has it; each run forked from it"
    print(f"\n-- run {i + 1} ({label}, {name}{'，无年度报告 without reports' if skip_reports else ''})")
    if "unavailable" in pipe or "error" in pipe:
        print(f"{'pipeline':<12}  {pipe.get('unavailable') or pipe.get('error')}")
        return
    rss = max(pipe["rss_mb"]["self"], pipe["rss_mb"]["children"])
    stages = pipe.get("stages", {})
    if pipe.get("current"):
        print(f"{'current':<12}{pipe['seconds']:>10.2f}{'':>14}{rss:>14.0f}  已发布版本为最新，未启动运行 (published version current, no run)")
    for stage in STAGES + ("other",):
        st = stages.get(stage)
        if st:
            sec = st["seconds"]
            print(f"{stage:<12}{(sec or 0):>10.2f}{fmt_rate(rows, sec):>14}{'(run)':>14}")
    if "stages_error" in pipe:
        print(f"  (per-stage timings unavailable: {pipe['stages_error']})")
    reports = (stages.get("reports") or {}).get("seconds") or 0.0
    to_publish = pipe["seconds"] - reports
    pipe["seconds_to_publish"] = to_publish
    print(f"{'to publish':<12}{to_publish:>10.2f}{fmt_rate(rows, to_publish):>14}{rss:>14.0f}")
    print(f"{'total':<12}{pipe['seconds']:>10.2f}{fmt_rate(rows, pipe['seconds']):>14}{rss:>14.0f}")
    print(f"{'CPU s':<12}{pipe.get('cpu_seconds', 0):>10.2f}")
    if pipe.get("peak_tree_rss_mb"):  # the target's "peak for the whole run": all its processes together
        print(f"{'peak RSS, all processes':<26}{pipe['peak_tree_rss_mb']:>12.0f} MB")
    for n, marks in enumerate(pipe.get("marks") or ()):  # a deployment's runs, in seconds since the tick
        print(f"  run {n + 1}: " + ", ".join(f"{k} {v:.2f}" for k, v in marks.items()))
    if pipe.get("success") is False:
        print(f"  (run failed: {pipe.get('failure')})")
    ratio = to_publish / limit["seconds"] if limit["seconds"] else float("nan")
    pipe["ratio"] = ratio
    print(f"ratio pipeline (to publish) / limit: {ratio:.1f}×")



def child(phase: str, **kw) -> dict:
    cmd = [sys.executable, str(Path(__file__).resolve()), "--phase", phase] + [f"--{k}={v}" for k, v in kw.items()]
    proc = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT)
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("{")]
    if proc.returncode != 0 or not lines:
        return {"error": (proc.stderr.strip().splitlines() or ["(no output)"])[-1], "returncode": proc.returncode}
    return json.loads(lines[-1])


def fmt_rate(rows: int, seconds: float | None) -> str:
    return f"{rows / seconds:,.0f}" if seconds else "-"


#: A deployment's path (benchmarks/deployment_path.py): Dagster's default run launcher (``deployment``: the
#: code server starts each run), or lianjian's (``deployment-lianjian``: the one the project's instance
#: settings name, pipelines/launcher.py).
DEPLOYMENT_PATHS = ("deployment", "deployment-lianjian")
PATHS = ("cli", "daemon", *DEPLOYMENT_PATHS)
#: After a deployment's last run is recorded, its process still waits for its suite worker and ends:
#: the time given to it before the processes' CPU seconds are read (a demo run's ends in < 1 s).
DRAIN_SECONDS = 2.0


def results_key(path: str) -> str:
    """A path's runs in results.json: ``runs`` for `lianjian run` (the key the first benchmark wrote),
    ``daemon_runs`` for the daemon's path, ``<path>_runs`` for a deployment's."""
    return {"cli": "runs", "daemon": "daemon_runs"}.get(path, f"{path}_runs")


def path_list(text: str) -> list[str]:
    """``--paths``: ``both``, or a comma-separated list of ``PATHS``, in the order given."""
    paths = ["cli", "daemon"] if text.strip() == "both" else [p.strip() for p in text.split(",") if p.strip()]
    unknown = [p for p in paths if p not in PATHS]
    if unknown or not paths:
        raise argparse.ArgumentTypeError(f"--paths: 应为 {'、'.join(PATHS)} 或 both（expected one of {', '.join(PATHS)} or both），得到 {text!r}")
    return paths


def compiled_before_the_clock() -> None:
    """The project's modules compiled to bytecode before any run is timed, as `python3 dev.py`
    leaves them after set-up (dev.py ``compile_project``), so that a run measured here reads them
    compiled as an installed lianjian does, also after a change to the code since the last set-up
    (each child process imports Dagster before its clock for the same reason)."""
    import dev

    dev.compile_project(sys.executable)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--scale", default="demo", choices=["demo", "county", "city", "province", "national"])
    ap.add_argument("--years", default="2021-2025")
    ap.add_argument("--seed", type=int, default=20240101)
    ap.add_argument("--workdir", help="default: tmp/bench/<scale> under the project (git-ignored)")
    ap.add_argument("--rules", default=str(ROOT / "rules" / "default.yaml"))
    ap.add_argument("--limit-only", action="store_true", help="measure the limit only (no pipeline)")
    ap.add_argument("--runs", type=int, default=2, help="pipeline runs on the same warehouse: 1 cold, then warm (nightly, nothing new: with the"
        " reports, the published version is current and no Dagster run starts; --skip-reports runs recompute)")
    ap.add_argument("--skip-reports", action="store_true", help="without the yearly reports (tag lianjian/reports=skip)")
    ap.add_argument("--changed", action="store_true", help="after the runs, one more per path on the same warehouse with the"
        " latest talks file one record shorter (<workdir>/landing_changed): the night on which one file changed")
    ap.add_argument(
        "--paths",
        default="cli,daemon",
        type=path_list,
        help="cli (lianjian run), daemon (the nightly schedule's path, in one process), deployment (the same through a code"
        " server and Dagster's default run launcher, each run in its own process; deployment-lianjian: with lianjian's"
        " launcher, the one the project's settings name), or both (cli,daemon; the default)",
    )
    ap.add_argument("--reports", default="yes", choices=["yes", "no"], help=argparse.SUPPRESS)
    ap.add_argument("--path", default="cli", choices=PATHS, help=argparse.SUPPRESS)
    ap.add_argument("--phase", choices=["limit", "pipeline"], help=argparse.SUPPRESS)
    ap.add_argument("--landing", help=argparse.SUPPRESS)
    ap.add_argument("--out", help=argparse.SUPPRESS)
    ap.add_argument("--home", help=argparse.SUPPRESS)
    a = ap.parse_args(argv)

    if a.phase == "limit":
        print(json.dumps(phase_limit(Path(a.landing), Path(a.out))))
        return 0
    if a.phase == "pipeline":
        print(json.dumps(phase_pipeline(Path(a.landing), Path(a.out), Path(a.rules), Path(a.home), a.reports == "yes", a.path), default=str))
        return 0

    work = Path(a.workdir or ROOT / "tmp" / "bench" / a.scale).absolute()
    landing = work / "landing"
    compiled_before_the_clock()
    t0 = time.perf_counter()
    if not landing.exists():
        from lianjian.generate import write_landing

        print(f"生成 {a.scale} 落地数据 generating landing zone → {landing}", flush=True)
        write_landing(landing, a.scale, years=a.years, seed=a.seed,
                      log=lambda m: print(f"  {m}", flush=True))
        print(f"  generated in {time.perf_counter() - t0:.1f}s", flush=True)
    shutil.rmtree(work / "limit", ignore_errors=True)
    limit = child("limit", landing=landing, out=work / "limit")
    if "error" in limit:
        print(f"limit failed: {limit['error']}", file=sys.stderr)
        return 1
    rows = limit["rows"]
    results = {"scale": a.scale, "years": a.years, "landing": str(landing), "limit": limit}
    print(f"\nscale {a.scale}, years {a.years}: {rows:,} landing rows in {limit['files']} files ({limit['bytes'] / 1e6:,.1f} MB)")
    print(f"{'stage':<12}{'seconds':>10}{'rows/s':>14}{'peak RSS MB':>14}")
    print(f"{'limit':<12}{limit['seconds']:>10.2f}{fmt_rate(rows, limit['seconds']):>14}{limit['rss_mb']['self']:>14.0f}")
    if not a.limit_only:
        paths = a.paths
        for path in paths:
            for d in (f"warehouse_{path}", f"dagster_home_{path}"):
                shutil.rmtree(work / d, ignore_errors=True)
        # cold runs of both paths first, then warm ones, the order alternating from one round to the
        # next: both paths see the same machine as far as possible (a busy machine drifts)
        def run(path: str, zone: Path, i: int, label: str, shown: str) -> None:
            pipe = child(
                "pipeline", landing=zone, out=work / f"warehouse_{path}", rules=a.rules,
                home=work / f"dagster_home_{path}", reports="no" if a.skip_reports else "yes", path=path,
            )
            pipe["label"], pipe["path"] = label, path
            results.setdefault(results_key(path), []).append(pipe)
            _print_run(pipe, i, shown, path, rows, limit, a.skip_reports)

        for i in range(a.runs):
            label = "cold" if i == 0 else "warm"
            for path in (paths if i % 2 == 0 else paths[::-1]):
                run(path, landing, i, label, label)
        if a.changed:
            changed = changed_landing(landing, work / "landing_changed")
            for path in paths:
                run(path, changed, a.runs, "changed", "changed: one talks file one record shorter")
        if {"cli", "daemon"} <= set(paths):
            print("\n-- daemon path / lianjian run (same landing zone; lianjian run vs daemon path)")
            ratios, cpu_ratios = [], []
            for cli, daemon in zip(results["runs"], results["daemon_runs"]):
                if "seconds_to_publish" in cli and "seconds_to_publish" in daemon:
                    r_total = daemon["seconds"] / cli["seconds"]
                    r_pub = daemon["seconds_to_publish"] / cli["seconds_to_publish"]
                    r_cpu = daemon["cpu_seconds"] / cli["cpu_seconds"]
                    cli["daemon_ratio"] = daemon["daemon_ratio"] = r_total
                    cli["daemon_cpu_ratio"] = daemon["daemon_cpu_ratio"] = r_cpu
                    ratios.append(r_total)
                    cpu_ratios.append(r_cpu)
                    print(
                        f"{cli['label']:<6} total {cli['seconds']:.2f} s vs {daemon['seconds']:.2f} s ({r_total:.2f}×); "
                        f"to publish {cli['seconds_to_publish']:.2f} s vs {daemon['seconds_to_publish']:.2f} s ({r_pub:.2f}×); "
                        f"CPU {cli['cpu_seconds']:.2f} s vs {daemon['cpu_seconds']:.2f} s ({r_cpu:.2f}×)"
                    )
            if ratios:
                median = lambda xs: sorted(xs)[len(xs) // 2]  # noqa: E731
                results["daemon_ratio_median"] = median(ratios)
                results["daemon_cpu_ratio_median"] = median(cpu_ratios)
                print(
                    f"median daemon / lianjian run over {len(ratios)} pairs: wall {results['daemon_ratio_median']:.2f}×, "
                    f"CPU {results['daemon_cpu_ratio_median']:.2f}×"
                )
        results["load_average"] = os.getloadavg()
    work.mkdir(parents=True, exist_ok=True)
    (work / "results.json").write_text(json.dumps(results, indent=2, ensure_ascii=False, default=str), encoding="utf-8")
    print(f"results: {work / 'results.json'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
