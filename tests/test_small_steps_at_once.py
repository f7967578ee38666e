"""Small steps at once (assets/assessed.py ``ALL_YEARS_AT_ONCE_UP_TO``, ``score_years``;
pipelines/io_manager.py ``ON_THREADS_FROM``): a step whose inputs are small pays for its queries,
threads and files, not for its rows, so R2 and R3 compute all their years in one query, R8 its
evidence in one, and a small frame's year files are written one after the other on the step's thread
— the same files, byte for byte, as year by year on the year threads.

On copies of the demo warehouse's staged and derived layers (six years, 0.1 MB of inputs), through
Dagster.
"""

import hashlib
import shutil
import threading
from pathlib import Path

import dagster as dg
import polars as pl
import pytest

from pipelines import io_manager
from pipelines.io_manager import SpilledYears
from pipelines.partitions import YEARS, range_tags
from pipelines.resources import LianjianSettings, local_resources

ROOT = Path(__file__).resolve().parents[1]
RULES = ROOT / "rules" / "default.yaml"
OUTPUTS = ["integrity_assessment", "integrity_evidence", "responsibility_assessment", "responsibility_evidence", "assessment_evidence"]


def _sha(path: Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def _copy(demo: Path, wh: Path) -> Path:
    for layer in ("staged", "derived"):
        shutil.copytree(demo / layer, wh / layer)
    return wh


def _assess(wh: Path, years: list[int]) -> None:
    from assets import assessed
    from lianjian.contract import SOURCES

    upstream = [dg.AssetSpec(["staged", s]) for s in SOURCES] + [dg.AssetSpec(["derived", "talk_obligations"], partitions_def=YEARS)]
    result = dg.materialize(
        [*assessed.defs.assets, *upstream],
        selection=dg.AssetSelection.assets(*(["assessed", t] for t in OUTPUTS)),
        tags=range_tags(str(years[0]), str(years[-1])),
        resources=local_resources(warehouse=wh, rules=RULES),
    )
    assert result.success


def test_small_r2_r3_and_r8_compute_their_years_at_once_to_the_same_files(demo_run, tmp_path, monkeypatch):
    """Under ``ALL_YEARS_AT_ONCE_UP_TO`` bytes of inputs (the demo's): R2 and R3 score every year in
    one query each, spill nothing and start no year thread; R8 collects its evidence once; every
    year file is written on the step's thread. The files are those of the steps year by year."""
    from assets import assessed
    from lianjian.threads import WORKERS_ENV

    monkeypatch.setenv(WORKERS_ENV, "2")
    _, demo = demo_run
    years = sorted(int(p.stem) for p in (demo / "assessed" / "integrity_assessment").glob("*.parquet"))
    assert len(years) >= 3
    assert assessed._input_bytes(demo, assessed.R2_INS, years) <= assessed.ALL_YEARS_AT_ONCE_UP_TO

    # year by year, as a province's or the national zone's steps
    apart = _copy(demo, tmp_path / "apart")
    with monkeypatch.context() as m:
        m.setattr(assessed, "ALL_YEARS_AT_ONCE_UP_TO", -1)
        _assess(apart, years)

    scored: list[tuple[str, list[int]]] = []
    score_years = assessed.score_years
    monkeypatch.setattr(
        assessed, "score_years", lambda score, name, ys, *a: scored.append((name, list(ys))) or score_years(score, name, ys, *a)
    )
    spilled: list[int] = []
    add = SpilledYears.add
    monkeypatch.setattr(SpilledYears, "add", lambda self, year, frame: spilled.append(year) or add(self, year, frame))
    writers: set[str] = set()
    write = io_manager.write_parquet_atomic

    def spy_write(frame, path, options=None, each=None):
        writers.add(threading.current_thread().name)
        assert isinstance(frame, pl.DataFrame), path  # R8's evidence collected, not one query a year
        return write(frame, path, options, each)

    monkeypatch.setattr(io_manager, "write_parquet_atomic", spy_write)
    at_once = _copy(demo, tmp_path / "at_once")
    _assess(at_once, years)

    assert sorted(scored) == [("integrity_assessment", years), ("responsibility_assessment", years)]
    assert spilled == []
    assert writers == {threading.current_thread().name}
    for table in OUTPUTS:
        for year in years:
            rel = Path("assessed") / table / f"{year}.parquet"
            assert _sha(at_once / rel) == _sha(apart / rel), rel
            assert _sha(at_once / rel) == _sha(demo / rel), rel
    rows = [pl.scan_parquet(at_once / "assessed" / "integrity_evidence" / f"{y}.parquet").select(pl.len()).collect().item() for y in years]
    assert sum(rows) > 0 and 0 in rows  # years with rows, and an empty one (the demo's first)


def test_the_size_of_a_steps_inputs_decides_at_once_or_year_by_year(tmp_path):
    """``_input_bytes``: each staged table's file once, and the year files of the years asked for of a
    year-partitioned input; files not written count nothing."""
    from assets.assessed import R2_INS, _input_bytes

    (tmp_path / "staged").mkdir()
    (tmp_path / "staged" / "personnel.parquet").write_bytes(b"x" * 100)
    (tmp_path / "staged" / "reviews.parquet").write_bytes(b"x" * 20)
    folder = tmp_path / "derived" / "talk_obligations"
    folder.mkdir(parents=True)
    for year, size in ((2023, 1), (2024, 3), (2025, 1000)):
        (folder / f"{year}.parquet").write_bytes(b"x" * size)
    assert _input_bytes(tmp_path, R2_INS, [2023, 2024]) == 124
    assert _input_bytes(tmp_path, R2_INS, [2022, 2025]) == 1120


def _toy(rows: dict[int, int]):
    """A year-partitioned asset returning one frame of ``rows[year]`` rows a year, with grades."""

    @dg.asset(key=["derived", "toy"], partitions_def=YEARS)
    def toy(context: dg.AssetExecutionContext, lianjian: LianjianSettings) -> pl.DataFrame:
        return pl.DataFrame(
            {
                "year": [y for y, n in rows.items() for _ in range(n)],
                "n": [i for n in rows.values() for i in range(n)],
                "grade": [["好", "较差", None][i % 3] for n in rows.values() for i in range(n)],
            },
            schema={"year": pl.Int64, "n": pl.Int64, "grade": pl.String},
        )

    return toy


@pytest.mark.parametrize("on_threads_from", [10**9, 1], ids=["small-on-the-step-thread", "large-on-the-year-threads"])
def test_a_small_frames_years_are_written_on_the_steps_thread(tmp_path, monkeypatch, on_threads_from):
    """A frame of fewer than ``ON_THREADS_FROM`` rows is written year after year on the step's thread;
    a larger one on the year threads. The same files, and each year's materialization describes its
    own file (rows, grades), either way."""
    from lianjian.threads import WORKERS_ENV

    monkeypatch.setenv(WORKERS_ENV, "2")
    monkeypatch.setattr(io_manager, "ON_THREADS_FROM", on_threads_from)
    writers: list[str] = []
    write = io_manager.write_parquet_atomic
    monkeypatch.setattr(
        io_manager, "write_parquet_atomic", lambda frame, path, *a, **k: writers.append(threading.current_thread().name) or write(frame, path, *a, **k)
    )
    rows = {2022: 5, 2023: 0, 2024: 7}
    result = dg.materialize([_toy(rows)], resources=local_resources(warehouse=tmp_path), tags=range_tags("2022", "2024"))
    assert result.success

    small = on_threads_from > 12
    if small:
        assert set(writers) == {threading.current_thread().name}
    else:
        assert all(w.startswith("lianjian-year") for w in writers)
    assert len(writers) == 3
    recorded = {
        m.partition: (m.metadata["dagster/row_count"].value, m.metadata["grades/好"].value, m.metadata["grades/未评定"].value)
        for m in result.asset_materializations_for_node("derived__toy")
    }
    assert recorded == {"2022": (5, 2, 1), "2023": (0, 0, 0), "2024": (7, 3, 2)}
    for year, n in rows.items():
        frame = pl.read_parquet(tmp_path / "derived" / "toy" / f"{year}.parquet")
        assert frame.height == n and frame.get_column("year").to_list() == [year] * n
        assert frame.get_column("n").to_list() == list(range(n))


def test_a_small_frame_with_rows_of_other_years_is_refused(tmp_path):
    """The check of the years a frame in memory holds (no query): rows outside the run's years fail
    the step, naming the years (None for a row without one)."""

    @dg.asset(key=["derived", "toy"], partitions_def=YEARS)
    def toy(context: dg.AssetExecutionContext, lianjian: LianjianSettings) -> pl.DataFrame:
        return pl.DataFrame({"year": [2023, 2021, None]}, schema={"year": pl.Int64})

    result = dg.materialize([toy], resources=local_resources(warehouse=tmp_path), tags=range_tags("2022", "2024"), raise_on_error=False)
    assert not result.success
    failure = next(e for e in result.all_events if e.is_step_failure)
    assert "rows of years [2021, None] outside the run's years 2022–2024" in str(failure.step_failure_data.error.cause or failure.step_failure_data.error)
