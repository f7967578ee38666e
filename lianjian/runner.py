"""`lianjian run` and `lianjian demo`: one pipeline run through Dagster — the same two runs, built by
the same functions (``pipelines/runs.py``), as the nightly schedule and the landing sensor: landing +
staging first, then the rest over the staged data's years — executed in this process, with progress in
plain Chinese and a short summary.

Paths come in as arguments (the command line's flags, else LIANJIAN_* environment variables, else the
defaults) and go to Dagster as run configuration and run tags; the environment is never changed.
Runs are recorded in the Dagster instance of ``DAGSTER_HOME`` when it is set, else in the project
instance ``./.dagster_home`` when it exists (``lianjian ui`` makes it), else in a throw-away instance.
Exit status: 0 when the run succeeded (rows may have been rejected), 1 when the run failed (a blocking
check or a step), 2 when it could not run at all.
"""

from __future__ import annotations

import logging
import os
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import dagster as dg

from lianjian.errors import FatalError, not_a_file
from lianjian.lazy_packages import imported_lazily

#: Packages of Dagster a run imports only for a name or two and whose ``__init__`` imports much more,
#: imported as lazy packages (lianjian/lazy_packages.py) before anything imports them: Dagster's
#: daemons (``dagster._daemon``: its ``__init__`` imports every daemon — the scheduler, the sensors,
#: the backfills, the run monitoring, the freshness daemon with structlog, rich and pygments —, ≈ 120
#: modules), of which a run's storages import only ``dagster._daemon.types`` (the daemons'
#: heartbeats). A process that runs a daemon imports the daemon's module by name, as before.
LAZY_DAGSTER_PACKAGES = ("dagster._daemon",)

with imported_lazily(LAZY_DAGSTER_PACKAGES):
    import dagster._daemon  # noqa: F401 - imported here as a lazy package

from pipelines.resources import LianjianSettings  # noqa: E402 - after Dagster's lazy packages

LOGGER_NAME = "lianjian_progress"

_EVENT_LABELS = {
    "STEP_START": "开始",
    "STEP_SUCCESS": "完成",
    "STEP_FAILURE": "失败",
    "STEP_SKIPPED": "跳过",
}


def _progress_handler(stream) -> logging.Handler:
    """Formats Dagster's event stream as short progress lines: one when each step starts and ends,
    the assets' own messages, failed checks. Nothing else (no preview rows, no values)."""

    class Progress(logging.Handler):
        def __init__(self):
            super().__init__(level=logging.DEBUG)
            self.started: dict[str, float] = {}

        def emit(self, record: logging.LogRecord) -> None:
            meta = getattr(record, "dagster_meta", None) or {}
            event = meta.get("dagster_event")
            step = meta.get("step_key") or ""
            stamp = time.strftime("%H:%M:%S")
            if event is None:
                message = str(meta.get("orig_message", record.getMessage()))
                if message.startswith("Dependencies for step"):
                    print(f"[{stamp}] – 跳过 {step}（上游未完成 upstream did not finish）", file=stream, flush=True)
                elif record.levelno >= logging.INFO and step:
                    print(f"[{stamp}]   · {step}: {meta.get('orig_message', record.getMessage())}", file=stream, flush=True)
                return
            kind = event.event_type_value
            if kind == "STEP_START":
                self.started[step] = time.monotonic()
                print(f"[{stamp}] ▶ {_EVENT_LABELS[kind]} {step}", file=stream, flush=True)
            elif kind in ("STEP_SUCCESS", "STEP_FAILURE", "STEP_SKIPPED"):
                took = time.monotonic() - self.started.get(step, time.monotonic())
                mark = {"STEP_SUCCESS": "✓", "STEP_FAILURE": "✗", "STEP_SKIPPED": "–"}[kind]
                print(f"[{stamp}] {mark} {_EVENT_LABELS[kind]} {step}（{took:.1f} 秒）", file=stream, flush=True)
            elif kind == "ASSET_CHECK_EVALUATION":
                data = event.event_specific_data
                if not data.passed:
                    sev = getattr(data.severity, "value", str(data.severity))
                    print(f"[{stamp}]   ! 检查未通过 {data.check_name}（{sev}）", file=stream, flush=True)

    return Progress()


def progress_logger(stream=None) -> dg.LoggerDefinition:
    stream = stream or sys.stderr

    @dg.logger(description="简明进度（中文）：每一步的开始、结束与未通过的检查")
    def _progress(_init_context):
        lg = logging.Logger(LOGGER_NAME, level=logging.DEBUG)
        lg.addHandler(_progress_handler(stream))
        return lg

    return _progress


@dataclass
class RunOutcome:
    success: bool
    run_id: str
    seconds: float
    failed_checks: list[dict] = field(default_factory=list)  # name, asset, severity, unexpected_count
    failure: str | None = None  # one line for the user
    fatal: bool = False  # the run could not run at all (missing source/column …): exit status 2
    step_seconds: dict[str, float] = field(default_factory=dict)
    result: object = None  # the last run's ExecuteInProcessResult
    run_ids: list[str] = field(default_factory=list)  # the Dagster runs: landing + staging, then the rest
    pipeline_run_id: str | None = None  # the lianjian/run_id tag shared by those runs
    settings: LianjianSettings | None = None  # the paths the runs used
    skipped: str | None = None  # why the second run was not launched (a later staging run replaced the data)
    current: str | None = None  # no run at all: the published version is current (the one line to print)


#: Errors whose text is the whole message for the user (lianjian/errors.py): shown without the class.
_PLAIN_ERRORS = ("FatalError", "ReportsNotWritten")


def _first_error_line(error) -> str:
    """The innermost error message (a FatalError's text, else the exception's last line)."""
    while getattr(error, "cause", None) is not None:
        error = error.cause
    msg = (error.message or "").strip().splitlines()
    line = msg[-1] if msg else (error.cls_name or "error")
    for cls in _PLAIN_ERRORS:
        for prefix in (f"lianjian.errors.{cls}: ", f"{cls}: "):
            if line.startswith(prefix):
                return line[len(prefix) :]
    return f"{error.cls_name}: {line.split(': ', 1)[-1]}" if error.cls_name else line


def instance_for_run() -> dg.DagsterInstance:
    """``DAGSTER_HOME``'s instance when set (with lianjian's instance settings written there if it has
    none), else ``./.dagster_home`` when `lianjian ui` made it (so the UI shows these runs), else a
    throw-away instance in memory that stores events over one held connection
    (pipelines/instance.py). A home's settings file that an earlier lianjian wrote is brought up to
    date first (``ensure_instance``); one that keeps Dagster's own SQLite classes otherwise gets a
    line on stderr saying what to add (``instance_notice``)."""
    from lianjian.ui import PROJECT_DAGSTER_HOME
    from pipelines.instance import ensure_instance, instance_notice, light_ephemeral_instance

    def brought_up_to_date(home: Path) -> None:
        notice = instance_notice(ensure_instance(home))  # a hand-edited file naming Dagster's SQLite classes
        if notice:
            print(notice, file=sys.stderr, flush=True)

    if os.environ.get("DAGSTER_HOME"):
        brought_up_to_date(Path(os.environ["DAGSTER_HOME"]).expanduser())
        return dg.DagsterInstance.get()
    home = Path(PROJECT_DAGSTER_HOME).absolute()
    if (home / "dagster.yaml").is_file():
        brought_up_to_date(home)
        return dg.DagsterInstance.from_config(str(home))
    return light_ephemeral_instance()


def _execute(job: dg.JobDefinition, request: dg.RunRequest, instance, config: dict):
    """Execute one run request in this process, as the daemon would launch it: its run configuration
    (the paths), tags, partitions (range tags) and asset selection."""
    from pipelines.runs import requested_subset

    run_config = {**(request.run_config or {}), **config}
    job, selection = requested_subset(job, request)
    return job.execute_in_process(
        instance=instance,
        raise_on_error=False,
        run_config=run_config,
        tags=request.tags,
        asset_selection=selection,
    )


def run_pipeline(
    landing: Path | None = None,
    warehouse: Path | None = None,
    rules: Path | None = None,
    *,
    instance: dg.DagsterInstance | None = None,
    progress: bool = True,
    run_config: dict | None = None,
    years: str | None = None,
    reports: bool = True,
    trigger: str = "cli",
    wait: bool = True,
    force: bool = False,
) -> RunOutcome:
    """One pipeline run through Dagster on the given paths (None: environment / defaults): the first
    run (landing + staging) and, when it succeeded, the second (derived → reports) over the staged
    data's years — requested by ``pipelines.runs.ingest_request`` / ``assess_request``, exactly as the
    schedule, the sensors and a launch from the UI request them.

    ``years`` (``2024`` or ``2021-2025``) limits the year-partitioned assets (derived, assessed) to
    those years; the other years' results stay as the last run left them and are published with
    them. ``reports=False`` leaves the yearly reports out (the benchmark's "to publish").

    Both Dagster runs happen under the warehouse's lock (lianjian/lock.py): when another run holds
    it, this one waits, or with ``wait=False`` raises ``WarehouseBusy`` (exit 2). Once it holds the
    lock, no Dagster run starts when the published version is current (lianjian/fingerprint.py;
    ``outcome.current`` says so) unless ``force``."""
    settings = LianjianSettings.resolve(landing, warehouse, rules)
    preflight(settings)
    from lianjian.processes import fewer_collections
    from pipelines.runs import new_run_id

    fewer_collections(settings.landing_path)  # what the command line set before importing Dagster

    run_id = new_run_id()
    with hold_warehouse(settings, run_id=run_id, wait=wait):
        return _pipeline(
            settings, run_id, instance=instance, progress=progress, run_config=run_config, years=years,
            reports=reports, trigger=trigger, force=force,
        )


def hold_warehouse(settings: LianjianSettings, *, run_id: str | None = None, wait: bool = True):
    """The warehouse lock of a `lianjian run` (lianjian/lock.py), saying on stderr when it waits
    for another run and when the previous holder ended without releasing it."""
    from lianjian.lock import warehouse_lock

    def waiting(message: str) -> None:
        print(f"lianjian: {message}", file=sys.stderr, flush=True)

    def stale(previous) -> None:
        print(
            f"lianjian: 上一次运行（{previous.describe()}）未正常结束（被终止）；已发布的版本不受影响，本次运行重新生成其余结果",
            file=sys.stderr,
            flush=True,
        )

    return warehouse_lock(
        settings.warehouse_path, landing=settings.landing_path, run_id=run_id, wait=wait, on_wait=waiting, on_stale=stale
    )


def _pipeline(
    settings: LianjianSettings,
    run_id: str,
    *,
    instance: dg.DagsterInstance | None,
    progress: bool,
    run_config: dict | None,
    years: str | None,
    reports: bool,
    trigger: str,
    force: bool = False,
) -> RunOutcome:
    """The two Dagster runs of ``run_pipeline`` (called with the warehouse lock held; ``run_id``: the
    pipeline run's ``lianjian/run_id``, also recorded in the lock)."""
    from pipelines.runs import ingest_request

    started = time.monotonic()
    first = ingest_request(settings, trigger=trigger, years=years, reports=reports, run_id=run_id, force=force)
    if isinstance(first, dg.SkipReason):  # the published version is current: nothing to run
        return RunOutcome(
            success=True, run_id=run_id, seconds=time.monotonic() - started, pipeline_run_id=run_id,
            settings=settings, current=first.skip_message,
        )
    from pipelines.executor import in_process, start_suite_worker
    from pipelines.runs import INGEST_JOB

    if not force and in_process(run_config):
        # something changed since the published version: tables will be staged and their suites run;
        # on a small zone the suite worker imports Great Expectations now, beside loading the
        # definitions and reading the landing files (lianjian/quality/worker.py)
        start_suite_worker(INGEST_JOB, settings.warehouse_path, settings.landing_path)
    from pipelines.definitions import defs

    config = {k: v for k, v in (run_config or {}).items() if k != "resources"}
    loggers = {LOGGER_NAME: progress_logger()} if progress else {}
    if loggers:
        config.setdefault("loggers", {LOGGER_NAME: {}})
    else:
        config.setdefault("loggers", {"console": {"config": {"log_level": "ERROR"}}})

    def job(name: str) -> dg.JobDefinition:
        j = defs.resolve_job_def(name)
        return j.with_logger_defs({**j.loggers, **loggers}) if loggers else j

    instance = instance or instance_for_run()
    from pipelines.instance import light_sqlite_commits

    with light_sqlite_commits():  # the run history in SQLite: commits that do not wait for the disk
        return _runs(settings, first, job, instance, config, started, suites_beside=in_process(run_config))


def _runs(
    settings: LianjianSettings, first: dg.RunRequest, job, instance: dg.DagsterInstance, config: dict, started: float,
    *, suites_beside: bool = False,
) -> RunOutcome:
    """The first Dagster run of a pipeline run, then the second when the first succeeded.
    ``suites_beside``: the second run's steps run in this process, so a suite worker started before it
    can import Great Expectations beside the scoring (lianjian/quality/worker.py)."""
    from pipelines.runs import ASSESS_JOB, INGEST_JOB, KEPT_TAG, assess_request

    result = _execute(job(INGEST_JOB), first, instance, config)
    outcome = RunOutcome(
        success=result.success,
        run_id=result.run_id,
        seconds=0.0,
        result=result,
        run_ids=[result.run_id],
        pipeline_run_id=first.tags["lianjian/run_id"],
        settings=settings,
    )
    _collect(result, instance, outcome)
    if outcome.success:
        second = assess_request(instance.get_run_by_id(result.run_id), instance)
        if isinstance(second, dg.SkipReason):
            outcome.skipped = second.skip_message
        else:
            if LOGGER_NAME in config.get("loggers", {}) and second.tags.get(KEPT_TAG):  # progress shown
                stamp = time.strftime("%H:%M:%S")
                print(f"[{stamp}]   · 输入未变，沿用上次的结果（不重算）：{second.tags[KEPT_TAG]} (inputs unchanged: kept)", file=sys.stderr, flush=True)
            if suites_beside:
                from pipelines.executor import start_suite_worker

                start_suite_worker(ASSESS_JOB, settings.warehouse_path, settings.landing_path)
            result = _execute(job(ASSESS_JOB), second, instance, config)
            outcome.success, outcome.run_id, outcome.result = result.success, result.run_id, result
            outcome.run_ids.append(result.run_id)
            _collect(result, instance, outcome)
    outcome.seconds = time.monotonic() - started
    return outcome


def _collect(result, instance: dg.DagsterInstance, outcome: RunOutcome) -> None:
    starts: dict[str, float] = {}
    steps = {dg.DagsterEventType.STEP_START, dg.DagsterEventType.STEP_SUCCESS, dg.DagsterEventType.STEP_FAILURE}
    for entry in instance.all_logs(result.run_id, of_type=steps):  # not the run's other 300-400 events
        ev = entry.dagster_event
        if ev is None or not entry.step_key:
            continue
        if ev.event_type_value == "STEP_START":
            starts[entry.step_key] = entry.timestamp
        elif ev.event_type_value in ("STEP_SUCCESS", "STEP_FAILURE") and entry.step_key in starts:
            outcome.step_seconds[entry.step_key] = entry.timestamp - starts[entry.step_key]
    for e in result.get_asset_check_evaluations():
        if not e.passed:
            meta = {k: getattr(v, "value", v) for k, v in (e.metadata or {}).items()}
            outcome.failed_checks.append(
                {
                    "name": e.check_name,
                    "asset": e.asset_key.to_user_string(),
                    "severity": getattr(e.severity, "value", str(e.severity)),
                    "unexpected_count": meta.get("unexpected_count"),
                }
            )
    if outcome.success:
        return
    for ev in result.all_events:
        if ev.event_type_value == "STEP_FAILURE":
            outcome.failure = f"{ev.step_key}: {_first_error_line(ev.event_specific_data.error)}"
            if _is_fatal(ev.event_specific_data.error):
                outcome.failure = _first_error_line(ev.event_specific_data.error)
                outcome.fatal = True
            break
    blocking = [c for c in outcome.failed_checks if c["severity"] == "ERROR"]
    if blocking and not outcome.fatal:
        names = "；".join(f"{c['name']}（{c['asset']}）{c['unexpected_count']} 处不符" for c in blocking)
        # the rules checked after staging stop the run before the scoring; the suites, checked beside
        # the scoring, stop it before publishing (checks/quality.py)
        stopped = "已停止考核与发布" if outcome.run_ids == [outcome.run_id] else "考核已计算但未发布"
        outcome.failure = f"阻断性数据质量检查未通过：{names} — {stopped}，上一版发布结果保持不变；请查看数据质量报告改正数据"


def _is_fatal(error) -> bool:
    while error is not None:
        if error.cls_name == "FatalError":
            return True
        error = getattr(error, "cause", None)
    return False


def preflight(settings: LianjianSettings) -> None:
    """Problems that stop a run before it starts: unreadable rules, no landing folder, no writable warehouse."""
    from lianjian.files import warehouse_root
    from lianjian.rules_config import load_rules

    load_rules(settings.rules_path)
    landing = settings.landing_path
    not_a_file(landing, "落地区", "--landing")
    if not landing.is_dir():
        raise FatalError(f"落地区 {landing}: 目录不存在 — 请用 --landing 指定落地区，或运行 lianjian demo 生成演示数据")
    warehouse = settings.warehouse_path
    not_a_file(warehouse, "数据仓库", "--warehouse")
    try:
        warehouse_root(warehouse)  # 0755 when made here, whatever the umask: BI tools pass through it
        probe = warehouse / f".write-test-{os.getpid()}"
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as err:
        raise FatalError(f"数据仓库 {warehouse}: 无法写入（{err.strerror}）— 请用 --warehouse 指定可写的目录") from None


def print_summary(outcome: RunOutcome, stream=None) -> None:
    """First what happened to this run and which published version is live, then that version's
    numbers (lianjian/summary.py): a failed run's own counts never sit next to an older version's."""
    stream = stream or sys.stdout
    warehouse = (outcome.settings or LianjianSettings.resolve()).warehouse_path
    w = lambda s="": print(s, file=stream)  # noqa: E731
    from lianjian.summary import live_manifest, outcome_lines, published_by, summary_lines

    w()
    try:
        for line in outcome_lines(outcome, warehouse):
            w(line)
        if outcome.skipped:
            w(f"  未考核与发布：{outcome.skipped}")
        for line in summary_lines(warehouse):
            w(line)
    except Exception as err:  # a summary must never hide the outcome
        w(f"廉检运行{'完成' if outcome.success else '失败'}（run {outcome.run_id[:8]}，{outcome.seconds:.1f} 秒）")
        w(f"  （摘要不可用：{type(err).__name__}）")
    w(f"  输出目录：{warehouse / 'published'}")
    docs = warehouse / "reports" / "data_docs" / "index.html"
    if docs.exists():
        w(f"  数据质量报告：{docs}")
    reports = warehouse / "reports" / "index.html"
    if not outcome.success and published_by(live_manifest(warehouse), outcome.run_ids):
        w(f"  年度报告：未写完（{warehouse / 'reports'}），下次运行补写")
    elif reports.exists():
        w(f"  年度报告：{reports}")


def run(
    landing: Path | None = None,
    warehouse: Path | None = None,
    rules: Path | None = None,
    *,
    years: str | None = None,
    wait: bool = True,
    force: bool = False,
) -> int:
    outcome = run_pipeline(landing, warehouse, rules, years=years, wait=wait, force=force)
    if outcome.current:  # one line, nothing else to say: the published version stays as it is
        print(outcome.current)
        return 0
    if outcome.fatal:  # could not run at all: one line, like the checks before the run
        raise FatalError(outcome.failure or "运行失败")
    print_summary(outcome)
    if not outcome.success:
        from lianjian.summary import failure_line

        print(f"lianjian: {failure_line(outcome, outcome.settings.warehouse_path)}", file=sys.stderr)
        return 1
    return 0


def demo(landing: Path | None = None, warehouse: Path | None = None) -> int:
    from lianjian.generate import ensure_demo

    settings = LianjianSettings.resolve(landing, warehouse)
    not_a_file(settings.landing_path, "落地区", "--landing")
    if ensure_demo(settings.landing_path):
        print(f"已生成演示数据：{settings.landing_path}", file=sys.stderr)
    else:
        print(f"使用已有的演示数据：{settings.landing_path}", file=sys.stderr)
    return run(settings.landing_path, settings.warehouse_path)
