"""R2 and R3 one year at a time (assets/assessed.py ``_year_by_year``; pipelines/io_manager.py
``SpilledYears``): each year's table and evidence are spilled as soon as they are computed and the IO
manager writes the year files from the spills, so the step holds one year — and the files are those
of the whole run computed at once.

On the demo warehouse's staged tables (six years): the two steps through Dagster, with spies on the
spills and on the IO manager's writer, then the same rules over every year at once, in this process.
"""

import hashlib
import shutil
import threading
from pathlib import Path

import dagster as dg
import polars as pl
import pytest

from pipelines import io_manager
from pipelines.io_manager import PARQUET_OPTIONS, SpilledYears
from pipelines.partitions import YEARS, range_tags
from lianjian.files import run_tmpdir
from lianjian.publish.publish import PUBLISHED_FORM, WRITER, write_published_form
from pipelines.resources import LianjianSettings, local_resources

ROOT = Path(__file__).resolve().parents[1]
RULES = ROOT / "rules" / "default.yaml"
STEPS = {
    "assessed__integrity_assessment": ("integrity_assessment", "integrity_evidence"),
    "assessed__responsibility_assessment": ("responsibility_assessment", "responsibility_evidence"),
}


def _sha(path: Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def _all_at_once(wh: Path) -> dict[str, pl.DataFrame]:
    """The four outputs computed over every year in one plan each (what the steps did before they
    went one year at a time), sorted as the steps write them."""
    from assets.assessed import _sorted
    from lianjian.rules_config import load_rules
    from lianjian.scoring.evidence import assessment_evidence
    from lianjian.scoring.integrity import integrity_assessment
    from lianjian.scoring.responsibility import responsibility_assessment

    def staged(name: str) -> pl.LazyFrame:
        return pl.scan_parquet(wh / "staged" / f"{name}.parquet")

    from pipelines.io_manager import scan_published_form

    # written in the published form: the year from each file's name
    files = sorted((wh / "derived" / "talk_obligations").glob("*.parquet"))
    obligations = scan_published_form("talk_obligations", [(p.stem, p) for p in files])
    rules = load_rules(RULES)
    r2, r2_evidence = integrity_assessment(
        staged("personnel"), staged("reviews"), obligations, staged("cases"), staged("violations"), rules
    )
    r3, r3_evidence = responsibility_assessment(
        staged("units"), staged("personnel"), staged("departments"), staged("duty_activities"),
        staged("democratic_votes"), obligations, staged("cases"), staged("violations"), rules,
    )
    return {
        "integrity_assessment": _sorted(r2.collect(), "integrity_assessment"),
        "integrity_evidence": assessment_evidence(r2_evidence).collect(),
        "responsibility_assessment": _sorted(r3.collect(), "responsibility_assessment"),
        "responsibility_evidence": assessment_evidence(r3_evidence).collect(),
    }


def test_r2_and_r3_hold_one_year_and_write_the_files_of_the_whole_run_at_once(demo_run, tmp_path, monkeypatch):
    from assets import assessed
    from lianjian.threads import WORKERS_ENV

    monkeypatch.setenv(WORKERS_ENV, "2")
    # the demo's inputs are small enough for every year at once (test_small_steps_at_once.py): year
    # by year here, as a province's or the national zone's
    monkeypatch.setattr(assessed, "ALL_YEARS_AT_ONCE_UP_TO", -1)
    from lianjian.contract import SOURCES

    _, demo = demo_run
    wh = tmp_path / "wh"
    for layer in ("staged", "derived"):
        shutil.copytree(demo / layer, wh / layer)
    years = sorted(int(p.stem) for p in (demo / "assessed" / "integrity_assessment").glob("*.parquet"))
    assert len(years) >= 3, years

    spilled: list[tuple[str, int, list]] = []  # (output, year, the years of the frame spilled)
    threads: set[str] = set()  # the threads that computed the years
    add = SpilledYears.add

    def spy_add(self, year, frame):
        spilled.append((self.folder.name, year, frame.get_column("year").unique().to_list()))
        threads.add(threading.current_thread().name)
        return add(self, year, frame)

    written: list[tuple[str, list]] = []  # (file, the years of the spill moved into place as it)
    move = io_manager._moved_into_place

    writers: set[str] = set()  # the threads that moved the spills into place as the year files

    def spy_move(spill, path):
        written.append((f"{path.parent.name}/{path.name}", pl.read_parquet(spill).get_column("year").unique().sort().to_list()))
        writers.add(threading.current_thread().name)
        return move(spill, path)

    def no_write(frame, path, options=None):
        raise AssertionError(f"{path}: a spilled year is moved into place, not written again")

    monkeypatch.setattr(SpilledYears, "add", spy_add)
    monkeypatch.setattr(io_manager, "_moved_into_place", spy_move)
    monkeypatch.setattr(io_manager, "write_parquet_atomic", no_write)

    upstream = [dg.AssetSpec(["staged", s]) for s in SOURCES] + [dg.AssetSpec(["derived", "talk_obligations"], partitions_def=YEARS)]
    outputs = [t for pair in STEPS.values() for t in pair]
    result = dg.materialize(
        [*assessed.defs.assets, *upstream],
        selection=dg.AssetSelection.assets(*(["assessed", t] for t in outputs)),
        tags=range_tags(str(years[0]), str(years[-1])),
        resources=local_resources(warehouse=wh, rules=RULES),
    )
    assert result.success

    # the years computed two at a time (lianjian/threads.py), each year's table and evidence spilled,
    # one year each, as soon as the year is computed, as the year's file; the IO manager moves each
    # spill into place as one year's file, without writing it again; the spills are gone
    expected = [(t, y) for pair in STEPS.values() for y in years for t in pair]
    assert sorted(name_year for name_year in ((name, year) for name, year, _ in spilled)) == sorted(expected)
    assert len(threads) == 2 and all(t.startswith("lianjian-year") for t in threads), threads
    assert len(writers) == 2 and all(t.startswith("lianjian-year") for t in writers), writers  # the IO manager too
    assert all(found in ([year], []) for _, year, found in spilled), spilled
    assert sorted(name for name, _ in written) == sorted(f"{t}/{y}.parquet" for t in outputs for y in years)
    assert all(found in ([int(name[-12:-8])], []) for name, found in written), written
    assert len({name for name, found in written if found}) >= 3 * len(outputs)  # years with rows, not only empty ones
    assert not [p for p in (wh / ".tmp").iterdir() if p.is_dir()]

    # the same bytes as the four outputs of every year computed at once, written year by year
    whole = _all_at_once(wh)
    for table, frame in whole.items():
        assert frame.height > 0, table
        for year in years:
            reference = tmp_path / "reference" / table / f"{year}.parquet"
            reference.parent.mkdir(parents=True, exist_ok=True)
            rows = frame.filter(pl.col("year") == year)
            if table in PUBLISHED_FORM:  # written as publish would write the year (docs/performance.md)
                write_published_form(table, rows, reference, lambda f, to: f.write_parquet(to, **WRITER))
            else:
                rows.write_parquet(reference, **PARQUET_OPTIONS)
            assert _sha(wh / "assessed" / table / f"{year}.parquet") == _sha(reference), (table, year)


def _toy(spill_years, rows):
    """A year-partitioned asset that hands the IO manager ``spill_years`` spilled from ``rows``."""

    @dg.asset(key=["derived", "toy"], partitions_def=YEARS)
    def toy(context: dg.AssetExecutionContext, lianjian: LianjianSettings):

        with run_tmpdir(lianjian.warehouse_path, "toy") as folder:
            spilled = SpilledYears(folder, "toy")
            for year in spill_years:
                spilled.add(year, pl.DataFrame({"year": rows[year], "n": list(range(len(rows[year])))}, schema={"year": pl.Int64, "n": pl.Int64}))
            yield dg.Output(spilled)

    return toy


def test_spilled_years_are_written_one_file_each(tmp_path):
    result = dg.materialize(
        [_toy([2023, 2024], {2023: [2023, 2023], 2024: []})], resources=local_resources(warehouse=tmp_path),
        tags=range_tags("2023", "2024"),
    )
    assert result.success
    assert pl.read_parquet(tmp_path / "derived" / "toy" / "2023.parquet").height == 2
    assert pl.read_parquet(tmp_path / "derived" / "toy" / "2024.parquet").height == 0
    # each year's materialization is described from the spill moved into place as its file
    recorded = {
        m.partition: (m.metadata["dagster/row_count"].value, m.metadata["path"].value, "unchanged" in m.metadata)
        for m in result.asset_materializations_for_node("derived__toy")
    }
    assert recorded == {
        "2023": (2, str(tmp_path / "derived" / "toy" / "2023.parquet"), False),
        "2024": (0, str(tmp_path / "derived" / "toy" / "2024.parquet"), False),
    }


def test_a_spill_on_another_file_system_is_copied_into_place(tmp_path, monkeypatch):
    """The spill is renamed into place; where the rename cannot cross file systems (EXDEV) it is copied
    beside the year file and renamed: the same bytes, 0600; the year is then described from the file."""
    import errno
    import os
    import stat

    spill = tmp_path / "spill.parquet"
    frame = pl.DataFrame({"year": [2024, 2024], "grade": ["好", None]})
    frame.write_parquet(spill, **PARQUET_OPTIONS)
    expected = _sha(spill)
    target = tmp_path / "assessed" / "toy" / "2024.parquet"
    target.parent.mkdir(parents=True)
    replace, crossed = os.replace, []

    def across(src, dst):
        if Path(src) == spill:
            crossed.append(src)
            raise OSError(errno.EXDEV, "Invalid cross-device link")
        return replace(src, dst)

    monkeypatch.setattr(io_manager.os, "replace", across)
    io_manager._moved_into_place(spill, target)
    assert crossed and _sha(target) == expected
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    assert not list(target.parent.glob(".*tmp-*"))
    rows, schema, grades = io_manager._described(target)
    assert rows == 2 and list(schema) == ["year", "grade"] and grades.get_column("grade").to_list() == ["好", None]


@pytest.mark.parametrize(
    ("spill_years", "rows", "message"),
    [
        ([2023], {2023: [2023]}, "years [2023] spilled, the run's years are 2023–2024"),
        ([2023, 2024], {2023: [2023], 2024: [2023]}, "1 rows of year 2024 have another year"),
        ([2023, 2024], {2023: [None], 2024: [2024]}, "1 rows of year 2023 have another year"),
    ],
)
def test_spilled_years_other_than_the_runs_are_refused(tmp_path, spill_years, rows, message):
    result = dg.materialize(
        [_toy(spill_years, rows)], resources=local_resources(warehouse=tmp_path), tags=range_tags("2023", "2024"),
        raise_on_error=False,
    )
    assert not result.success
    failure = next(e for e in result.all_events if e.is_step_failure)
    assert message in str(failure.step_failure_data.error.cause or failure.step_failure_data.error)
    assert not [p for p in (tmp_path / ".tmp").iterdir() if p.is_dir()]


def _assess(wh: Path, years: list[int], tags: dict[str, str] | None = None):
    """R2, R3 and R8 over ``years``, as the second run of a pipeline run (unless ``tags`` say otherwise)."""
    from assets import assessed
    from lianjian.contract import SOURCES
    from pipelines.runs import INGEST_RUN_TAG

    upstream = [dg.AssetSpec(["staged", s]) for s in SOURCES] + [dg.AssetSpec(["derived", "talk_obligations"], partitions_def=YEARS)]
    outputs = [t for pair in STEPS.values() for t in pair] + ["assessment_evidence"]
    result = dg.materialize(
        [*assessed.defs.assets, *upstream],
        selection=dg.AssetSelection.assets(*(["assessed", t] for t in outputs)),
        tags={**range_tags(str(years[0]), str(years[-1])), **(tags if tags is not None else {INGEST_RUN_TAG: "first-run-id"})},
        resources=local_resources(warehouse=wh, rules=RULES),
    )
    assert result.success
    return result


KEEPING = [t for pair in STEPS.values() for t in pair] + ["assessment_evidence"]


def _inodes(wh: Path) -> dict[str, int]:
    return {f"{t}/{p.name}": p.stat().st_ino for t in KEEPING for p in (wh / "assessed" / t).glob("*.parquet")}


@pytest.mark.parametrize("at_once", [True, False], ids=["small-steps-at-once", "year-by-year"])
def test_a_year_whose_inputs_did_not_change_is_kept_not_computed(demo_run, tmp_path, monkeypatch, at_once):
    """R2, R3 and R8 record what each year was computed from (lianjian/yearkeep.py). In the second run
    of a pipeline run after one year's talk obligations changed (an obligation fewer), they compute
    that year only: the
    other years' files stay as they are (same inode), recorded as unchanged; every file equals every
    year computed at once from the new inputs. A staged table's changed digest, or a year's output
    file replaced, computes again what depends on it. Both for steps small enough for all their years
    in one query (the demo's, ``assets.assessed.ALL_YEARS_AT_ONCE_UP_TO``) and year by year."""
    import json

    from assets import assessed

    if not at_once:
        monkeypatch.setattr(assessed, "ALL_YEARS_AT_ONCE_UP_TO", -1)

    _, demo = demo_run
    wh = tmp_path / "wh"
    for layer in ("staged", "derived"):
        shutil.copytree(demo / layer, wh / layer)
    years = sorted(int(p.stem) for p in (demo / "assessed" / "integrity_assessment").glob("*.parquet"))
    _assess(wh, years)
    first = _inodes(wh)

    spilled: list[tuple[str, int]] = []  # (output, year) computed: spilled, or computed with others at once
    add = SpilledYears.add
    monkeypatch.setattr(SpilledYears, "add", lambda self, year, frame: spilled.append((self.folder.name, year)) or add(self, year, frame))
    score_years = assessed.score_years

    def spy_score_years(score, table_name, years, yearly, others):
        pair = next(pair for pair in STEPS.values() if pair[0] == table_name)
        spilled.extend((t, y) for t in pair for y in years)
        return score_years(score, table_name, years, yearly, others)

    monkeypatch.setattr(assessed, "score_years", spy_score_years)

    # nothing changed: every year kept
    result = _assess(wh, years)
    assert spilled == [] and _inodes(wh) == first
    unchanged = [
        m for m in result.get_asset_materialization_events() if m.materialization.metadata.get("unchanged") is not None
    ]
    assert len(unchanged) == len(years) * len(KEEPING)

    # one obligation fewer in one year: that year computed again, the others kept
    changed = years[len(years) // 2]
    path = wh / "derived" / "talk_obligations" / f"{changed}.parquet"
    obligations = pl.read_parquet(path)
    assert obligations.height > 1
    # a family talk not held: its deduction and its evidence row go with it
    drop = obligations.with_row_index("_i").filter((pl.col("obligation") == "family") & ~pl.col("fulfilled")).get_column("_i").first()
    obligations.with_row_index("_i").filter(pl.col("_i") != drop).drop("_i").write_parquet(path, **PARQUET_OPTIONS)
    evidence = {t: _sha(wh / "assessed" / t / f"{changed}.parquet") for t in ("integrity_evidence", "responsibility_evidence")}
    _assess(wh, years)
    assert sorted(set(spilled)) == sorted((t, changed) for pair in STEPS.values() for t in pair)
    now = _inodes(wh)
    # R8's year again only if one of its two evidence files came out different
    same_evidence = all(_sha(wh / "assessed" / t / f"{changed}.parquet") == d for t, d in evidence.items())
    assert not same_evidence
    rewritten = {f"{t}/{changed}.parquet" for t in KEEPING if not (t == "assessment_evidence" and same_evidence)}
    assert {k for k in first if now[k] != first[k]} == rewritten
    whole = _all_at_once(wh)
    whole["assessment_evidence"] = pl.concat([whole["integrity_evidence"], whole["responsibility_evidence"]]).pipe(
        lambda f: __import__("lianjian.scoring.evidence", fromlist=["x"]).assessment_evidence(f.lazy()).collect()
    )
    for table, frame in whole.items():
        for year in years:
            reference = tmp_path / "reference" / table / f"{year}.parquet"
            reference.parent.mkdir(parents=True, exist_ok=True)
            rows = frame.filter(pl.col("year") == year)
            if table in PUBLISHED_FORM:  # written as publish would write the year (docs/performance.md)
                write_published_form(table, rows, reference, lambda f, to: f.write_parquet(to, **WRITER))
            else:
                rows.write_parquet(reference, **PARQUET_OPTIONS)
            assert _sha(wh / "assessed" / table / f"{year}.parquet") == _sha(reference), (table, year)

    # a run asked for years (lianjian run --years) or launched from the UI computes them all
    from pipelines.runs import INGEST_RUN_TAG, YEARS_TAG

    for tags in ({INGEST_RUN_TAG: "first-run-id", YEARS_TAG: f"{years[0]}-{years[-1]}"}, {}):
        spilled.clear()
        _assess(wh, years, tags)
        assert sorted(set(spilled)) == sorted((t, y) for pair in STEPS.values() for t in pair for y in years)

    # a staged table R2 reads (not R3's units) changed its digests: every year of R2 again, none of R3
    spilled.clear()
    digests = wh / "staged" / "_year_digests.json"
    data = json.loads(digests.read_text())
    data["sources"]["reviews"] = {"1999": "0" * 64}
    digests.write_text(json.dumps(data))
    _assess(wh, years)
    assert sorted(set(spilled)) == sorted((t, y) for t in STEPS["assessed__integrity_assessment"] for y in years)

    # an output file replaced since it was recorded: its year again
    spilled.clear()
    year = next(y for y in years if pl.scan_parquet(wh / "assessed" / "responsibility_evidence" / f"{y}.parquet").select(pl.len()).collect().item())
    victim = wh / "assessed" / "responsibility_evidence" / f"{year}.parquet"
    pl.read_parquet(victim).head(1).write_parquet(victim)
    _assess(wh, years)
    assert sorted(set(spilled)) == sorted((t, year) for t in STEPS["assessed__responsibility_assessment"])
    assert pl.read_parquet(victim).height > 1
