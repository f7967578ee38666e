"""The derived steps side by side (pipelines/ahead.py, assets/derived.py): the first derived step of a
run whose steps share one process starts the others' computations on a worker thread, so two of
them run at the same time; each later step takes its frame from the worker (a failure there is that
step's failure, with the usual message) or computes it itself; ``$LIANJIAN_PARALLEL_YEARS=1`` runs
them one after the other, as before.

On a copy of the demo warehouse's staged tables, the six derived steps through Dagster, with spies
on the scoring functions the steps call."""

import hashlib
import shutil
import threading
from pathlib import Path

import dagster as dg

from assets import derived
from lianjian.contract import SOURCES
from lianjian.threads import WORKERS_ENV
from pipelines.ahead import ENV as AHEAD_ENV
from pipelines.ahead import WorkAhead, enabled, work_ahead
from pipelines.partitions import range_tags
from pipelines.resources import local_resources

ROOT = Path(__file__).resolve().parents[1]
RULES = ROOT / "rules" / "default.yaml"
TABLES = sorted(derived.PLANS)


def _staged_copy(demo_run, tmp_path) -> tuple[Path, list[int]]:
    _, demo = demo_run
    wh = tmp_path / "wh"
    shutil.copytree(demo / "staged", wh / "staged")
    years = sorted(int(p.stem) for p in (demo / "derived" / "talk_obligations").glob("*.parquet"))
    return wh, years


def _materialize(wh: Path, years: list[int], run_config: dict | None = None) -> dg.ExecuteInProcessResult:
    upstream = [dg.AssetSpec(["staged", s]) for s in SOURCES]
    return dg.materialize(
        [*derived.defs.assets, *upstream],
        selection=dg.AssetSelection.groups("derived"),
        tags=range_tags(str(years[0]), str(years[-1])),
        resources=local_resources(warehouse=wh, rules=RULES),
        raise_on_error=False,
        run_config=run_config,
    )


def _spy(monkeypatch, seen: dict[str, str], name: str, before=None) -> None:
    """Record in ``seen`` the thread that computes ``name`` (its scoring function, looked up by the
    step's plan), calling ``before()`` there first."""
    function = getattr(derived, name)

    def spy(*args, **kwargs):
        seen[name] = threading.current_thread().name
        if before is not None:
            before()
        return function(*args, **kwargs)

    monkeypatch.setattr(derived, name, spy)


def _digests(wh: Path) -> dict[str, str]:
    return {str(p.relative_to(wh)): hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted((wh / "derived").rglob("*.parquet"))}


def test_two_derived_computations_run_at_the_same_time_and_write_the_same_files(demo_run, tmp_path, monkeypatch):
    monkeypatch.setenv(WORKERS_ENV, "2")
    wh, years = _staged_copy(demo_run, tmp_path)
    # passes only when case quality (the first step) and the talk obligations (the worker's first)
    # are computed at the same time: one after the other, the first waits in vain and fails
    both = threading.Barrier(2, timeout=30)
    seen: dict[str, str] = {}
    _spy(monkeypatch, seen, "case_quality", both.wait)
    _spy(monkeypatch, seen, "talk_obligations", both.wait)
    main = threading.current_thread().name
    result = _materialize(wh, years)
    assert result.success
    assert seen["case_quality"] == main
    assert seen["talk_obligations"].startswith("lianjian-ahead")  # taken from the worker by its step
    ahead = _digests(wh)
    assert len(ahead) == len(TABLES) * len(years)
    # each year's metadata is the step's, as without the worker
    counts = {
        (m.asset_key.path[-1], m.partition): m.metadata
        for m in result.asset_materializations_for_node("derived__talk_obligations")
    }
    assert {p for _, p in counts} == {str(y) for y in years}
    assert all("obligations" in md and "fulfilled" in md for md in counts.values())

    # the same files when every step computes its own table, one after the other
    monkeypatch.undo()
    monkeypatch.setenv(WORKERS_ENV, "1")
    shutil.rmtree(wh / "derived")
    assert _materialize(wh, years).success
    assert _digests(wh) == ahead
    assert not work_ahead()._work  # nothing left behind by the run


def test_one_at_a_time_every_step_computes_its_own_table(demo_run, tmp_path, monkeypatch):
    monkeypatch.setenv(WORKERS_ENV, "1")
    wh, years = _staged_copy(demo_run, tmp_path)
    seen: dict[str, str] = {}
    for name in ("case_quality", "leader_case_handling", "review_leads", "talk_obligations"):
        _spy(monkeypatch, seen, name)
    assert _materialize(wh, years).success
    assert set(seen.values()) == {threading.current_thread().name}, seen


def test_a_failure_on_the_worker_is_the_failure_of_its_step(demo_run, tmp_path, monkeypatch):
    monkeypatch.setenv(WORKERS_ENV, "2")
    wh, years = _staged_copy(demo_run, tmp_path)
    where: list[str] = []

    def broken(*args, **kwargs):
        where.append(threading.current_thread().name)
        raise ValueError("谈话记录无法计算")

    monkeypatch.setattr(derived, "talk_obligations", broken)
    result = _materialize(wh, years)
    assert not result.success
    assert where and where[0].startswith("lianjian-ahead")  # it failed on the worker
    failed = [e for e in result.all_events if e.event_type_value == "STEP_FAILURE"]
    assert [e.step_key for e in failed] == ["derived__talk_obligations"]
    from lianjian.runner import _first_error_line

    assert _first_error_line(failed[0].event_specific_data.error) == "ValueError: 谈话记录无法计算"
    # the other steps are not touched by it
    done = {e.step_key for e in result.all_events if e.event_type_value == "STEP_SUCCESS"}
    assert done == {f"derived__{t}" for t in TABLES if t != "talk_obligations"}


def test_lianjian_run_reports_a_failure_on_the_worker_as_its_steps(demo_landing, tmp_path, monkeypatch):
    from lianjian.runner import run_pipeline

    monkeypatch.setenv(WORKERS_ENV, "2")

    def broken(*args, **kwargs):
        raise ValueError("谈话记录无法计算")

    monkeypatch.setattr(derived, "talk_obligations", broken)
    outcome = run_pipeline(demo_landing, tmp_path / "wh", RULES, progress=False, reports=False)
    assert not outcome.success
    assert outcome.failure == "derived__talk_obligations: ValueError: 谈话记录无法计算"
    assert not work_ahead()._work


def test_a_multiprocess_run_does_not_compute_ahead(monkeypatch):
    monkeypatch.setenv(WORKERS_ENV, "2")
    assert enabled(None) and enabled({"execution": {"config": {"in_process": {}}}})
    assert not enabled({"execution": {"config": {"multiprocess": {"max_concurrent": 2}}}})
    monkeypatch.setenv(WORKERS_ENV, "1")
    assert not enabled(None)
    monkeypatch.setenv(WORKERS_ENV, "2")
    monkeypatch.setenv(AHEAD_ENV, "0")
    assert not enabled(None)


def test_a_step_takes_only_work_of_its_run_and_key_and_begun():
    ahead = WorkAhead()
    gate, begun = threading.Event(), threading.Event()

    def slow() -> str:
        begun.set()
        gate.wait(10)
        return "A"

    try:
        ahead.start("run-1", [("a", ("k", 1), slow), ("b", ("k", 2), lambda: "B")], own="c")
        assert begun.wait(10)
        assert ahead.take("run-2", "a", ("k", 1)) is None  # another run's
        assert ahead.take("run-1", "b", ("k", 2)) is None  # queued behind "a", not begun: the step computes it
        assert ahead.take("run-1", "c", ("k", 3)) is None  # the step that started the others
        # started once per run: neither the step computing itself nor one taken is queued again
        assert ahead.start("run-1", [("b", ("k", 2), lambda: "B"), ("c", ("k", 3), lambda: "C")]) == []
        future = ahead.take("run-1", "a", ("k", 1))
        assert future is not None  # begun: the step waits for it
        gate.set()
        assert future.result(timeout=10) == "A"
        assert ahead.take("run-1", "a", ("k", 1)) is None  # taken once

        ahead.start("run-3", [("a", ("k", 1), lambda: "A")])
        ahead._work["a"][1].result(timeout=10)
        assert ahead.take("run-3", "a", ("another key",)) is None  # its files or years changed since
        ahead.start("run-4", [("a", ("k", 1), lambda: "A")])
        ahead._work["a"][1].result(timeout=10)
        ahead.discard("run-4")
        assert ahead.take("run-4", "a", ("k", 1)) is None  # the run ended without its step
    finally:
        gate.set()
