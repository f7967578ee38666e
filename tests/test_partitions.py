"""Year partitions (issue 6, "beyond one machine"): the derived and assessed assets are partitioned by
year, so a year can be computed apart from the others — in its own run, worker or pod — and gives
exactly the files the all-years run gives for that year; R4 and publishing read every year."""

import datetime as dt
import hashlib
import os
import shutil
from pathlib import Path
from zoneinfo import ZoneInfo

import dagster as dg
import polars as pl
import pytest

from lianjian.errors import FatalError
from pipelines.resources import local_resources
from pipelines.partitions import FIRST_YEAR, YEARS, all_years, parse_years, range_tags
from tests.test_executors import published_digests

ROOT = Path(__file__).resolve().parents[1]
RULES = ROOT / "rules" / "default.yaml"
PARTITIONED = {
    "derived/talk_obligations",
    "derived/case_quality",
    "derived/leader_case_handling",
    "derived/major_matter_report_stats",
    "derived/major_matter_report_monthly",
    "derived/review_leads",
    "assessed/integrity_assessment",
    "assessed/integrity_evidence",
    "assessed/responsibility_assessment",
    "assessed/responsibility_evidence",
    "assessed/assessment_evidence",
}


def _digests(warehouse: Path, year: str) -> dict[str, str]:
    return {
        key: hashlib.sha256((warehouse / key / f"{year}.parquet").read_bytes()).hexdigest()
        for key in sorted(PARTITIONED)
    }


def _run(landing: Path, warehouse: Path, years: str | None):
    from lianjian.runner import run_pipeline

    return run_pipeline(landing, warehouse, RULES, progress=False, years=years)


def test_derived_and_assessed_are_partitioned_by_year_the_rest_is_not():
    from pipelines.definitions import defs

    graph = defs.resolve_asset_graph()
    partitioned = {k.to_user_string() for k in graph.get_all_asset_keys() if graph.get(k).partitions_def is not None}
    assert partitioned == PARTITIONED
    for key in PARTITIONED:
        node = graph.get(dg.AssetKey(key.split("/")))
        assert node.partitions_def == YEARS
    # R4 needs every earlier year (streaks), publishing swaps all tables at once
    assert graph.get(dg.AssetKey(["assessed", "accountability_triggers"])).partitions_def is None
    keys = all_years()
    assert keys[0] == str(FIRST_YEAR) == "2000"
    assert keys[-1] == str(dt.datetime.now(ZoneInfo("Asia/Shanghai")).year)  # the year in progress too
    assert range_tags() == {"dagster/asset_partition_range_start": keys[0], "dagster/asset_partition_range_end": keys[-1]}


@pytest.mark.parametrize(
    "text,expected",
    [("2024", ("2024", "2024")), ("2021-2025", ("2021", "2025")), ("２０２１～２０２３", ("2021", "2023")), ("2025-2021", ("2021", "2025"))],
)
def test_years_option_forms(text, expected):
    assert parse_years(text) == expected


@pytest.mark.parametrize(
    "text,message",
    [
        ("24", "年度格式不对 — 请写成 2024 或 2021-2025"),
        ("2021-2023-2025", "年度格式不对"),
        ("1999", f"可考核的年度为 2000–{all_years()[-1]}"),
        ("2024-2999", "请在此范围内指定年度"),
    ],
)
def test_years_option_errors_say_what_to_write(text, message):
    with pytest.raises(FatalError, match=message):
        parse_years(text)


def test_one_year_alone_gives_the_all_years_files_of_that_year(demo_run, demo_landing, tmp_path):
    outcome, full = demo_run
    assert outcome.success
    alone = tmp_path / "alone"
    result = _run(demo_landing, alone, "2024")
    assert result.success, result.failure
    assert _digests(alone, "2024") == _digests(full, "2024")
    # only that year was computed; R4 and publishing saw that year only
    assert not (alone / "derived" / "talk_obligations" / "2023.parquet").exists()
    published = pl.read_parquet(alone / "published" / "integrity_assessment" / "**" / "*.parquet", hive_partitioning=True)
    assert published.get_column("year").unique().to_list() == [2024]


def test_rerunning_one_year_keeps_the_other_years_and_publishes_the_same_files(demo_run, demo_landing, tmp_path):
    outcome, full = demo_run
    warehouse = tmp_path / "wh"
    shutil.copytree(full, warehouse, symlinks=True)
    other = warehouse / "assessed" / "integrity_assessment" / "2023.parquet"
    this = warehouse / "assessed" / "integrity_assessment" / "2024.parquet"
    os.utime(other, ns=(1, 1))
    os.utime(this, ns=(1, 1))
    result = _run(demo_landing, warehouse, "2024")
    assert result.success, result.failure
    assert other.stat().st_mtime_ns == 1  # not touched
    assert this.stat().st_mtime_ns != 1  # recomputed
    assert published_digests(warehouse) == published_digests(full)  # every year still published
    years = {e.partition for e in _materializations(result, "assessed/integrity_assessment")}
    assert years == {"2024"}


def _materializations(outcome, key: str):
    return [
        e for e in outcome.result.get_asset_materialization_events() if e.asset_key.to_user_string() == key
    ]


def test_a_year_without_rows_is_emptied_not_left_stale(tmp_path):
    """A year whose rows went away gets an empty file with the table's columns."""
    rows = {"now": [2023, 2024]}

    @dg.asset(key=["derived", "toy"], partitions_def=YEARS)
    def toy(context: dg.AssetExecutionContext) -> pl.DataFrame:
        years = [int(k) for k in context.partition_keys]
        return pl.DataFrame({"year": rows["now"], "n": [1, 2]}).filter(pl.col("year").is_in(years))

    resources = local_resources(warehouse=tmp_path)
    tags = range_tags("2023", "2024")
    assert dg.materialize([toy], resources=resources, tags=tags).success
    assert pl.read_parquet(tmp_path / "derived" / "toy" / "2024.parquet").height == 1
    rows["now"] = [2023, 2023]
    assert dg.materialize([toy], resources=resources, tags=tags).success
    emptied = pl.read_parquet(tmp_path / "derived" / "toy" / "2024.parquet")
    assert emptied.height == 0 and emptied.columns == ["year", "n"]
    assert pl.read_parquet(tmp_path / "derived" / "toy" / "2023.parquet").height == 2


def test_roster_years_after_the_last_partition_are_flagged():
    """The year partitions end with the current year; a later roster year (a slip such as 2062, inside
    the contract's 2000–2100) would not be assessed, so a WARN check counts its rows."""
    from lianjian.quality import cross
    from lianjian.quality.checks import WARN, catalogue, current_year

    assert all_years()[-1] == str(current_year())
    check = next(c for c in catalogue() if c.name == "roster_years_not_in_future")
    assert (check.table, check.severity) == ("personnel", WARN)
    roster = pl.DataFrame({"year": [2024, current_year(), 2062], "unit_code": ["U1"] * 3, "person_id": ["a", "b", "c"]})
    outcome = cross.roster_years_not_after(roster, current_year())
    assert (outcome.unexpected_count, outcome.total, outcome.samples) == (1, 3, ["2062 U1 person_id=c"])


def test_lianjian_run_computes_the_years_of_the_staged_data_only(demo_run):
    """`lianjian run` is two runs: landing + staging, then the rest over the staged data's years — not
    over all 27 partitions (two Dagster events per asset and year)."""
    from pipelines.partitions import staged_years

    outcome, warehouse = demo_run
    assert len(outcome.run_ids) == 2
    first, last = staged_years(warehouse)
    want = {f"{y}.parquet" for y in range(int(first), int(last) + 1)}
    assert {"2021.parquet", "2025.parquet"} <= want and "2000.parquet" not in want
    for key in PARTITIONED:
        assert {p.name for p in (warehouse / key).iterdir()} == want, key


def test_staged_years_come_from_each_sources_assessment_year_column(tmp_path):
    """The contract's ``year_from`` column of each source: a case counts in its closing year, not the
    year it was accepted; a hire date says nothing about the assessment year."""
    from lianjian.contract import SOURCES
    from pipelines.partitions import staged_years

    staged = tmp_path / "staged"
    staged.mkdir()
    people = SOURCES["personnel"].staged_schema()
    row = {c: None for c in people} | {"year": 2021, "hire_date": dt.date(1990, 5, 1)}
    pl.DataFrame([row], schema=people).write_parquet(staged / "personnel.parquet")
    cases = SOURCES["cases"].staged_schema()
    row = {c: None for c in cases} | {"accepted_date": dt.date(2015, 3, 1), "closed_date": dt.date(2019, 6, 1)}
    pl.DataFrame([row], schema=cases).write_parquet(staged / "cases.parquet")
    assert staged_years(tmp_path) == ("2019", "2021")
    assert SOURCES["cases"].year_from == "closed_date" and SOURCES["units"].year_from is None
    assert staged_years(tmp_path / "nothing") == (all_years()[-1],) * 2


def test_each_year_materialization_describes_that_years_file(demo_run):
    """Per-partition metadata is per partition: a year's materialization carries the row count, schema
    and path of that year's file, its count per grade, and the derived counts of that year — not the
    whole run's (the demo data holds 2020–2025)."""
    outcome, warehouse = demo_run
    events = _materializations(outcome, "assessed/integrity_assessment")
    assert len(events) >= 5
    for event in events:
        meta = event.event_specific_data.materialization.metadata
        path = warehouse / "assessed" / "integrity_assessment" / f"{event.partition}.parquet"
        year = pl.read_parquet(path)
        assert meta["path"].value == str(path)
        assert meta["dagster/row_count"].value == meta["dagster/partition_row_count"].value == year.height
        assert [c.name for c in meta["dagster/column_schema"].value.columns] == year.columns
        grades = {g: int((year.get_column("grade") == g).sum()) for g in ("好", "较好", "一般", "较差")}
        assert {g: meta[f"grades/{g}"].value for g in grades} == grades
        assert meta["grades/未评定"].value == year.get_column("grade").null_count()
    counts = {e.partition: e.event_specific_data.materialization.metadata["dagster/row_count"].value for e in events}
    assert len(set(counts.values())) > 1  # the years differ, so no year reports the whole table
    total = pl.scan_parquet(warehouse / "assessed" / "integrity_assessment" / "*.parquet").select(pl.len()).collect().item()
    assert sum(counts.values()) == total
    # the derived assets' own counts, per year
    for event in _materializations(outcome, "derived/talk_obligations"):
        year = pl.read_parquet(warehouse / "derived" / "talk_obligations" / f"{event.partition}.parquet")
        meta = event.event_specific_data.materialization.metadata
        assert meta["obligations"].value == year.height
        assert meta["fulfilled"].value == int(year.get_column("fulfilled").sum())


def test_a_year_whose_data_left_the_landing_zone_is_assessed_once_more_to_empty_it(tmp_path):
    """A pipeline run computes the staged data's years; a year whose results still have rows but whose
    staged rows are gone is covered too (its files are emptied, so the published tables lose it), and
    once empty it is not covered again."""
    from lianjian.contract import SOURCES
    from pipelines.partitions import result_years, years_to_assess

    staged = tmp_path / "staged"
    staged.mkdir()
    people = SOURCES["personnel"].staged_schema()
    pl.DataFrame([{c: None for c in people} | {"year": 2024}], schema=people).write_parquet(staged / "personnel.parquet")
    assert years_to_assess(tmp_path) == ("2024", "2024")
    stale = tmp_path / "assessed" / "integrity_assessment"
    stale.mkdir(parents=True)
    pl.DataFrame({"year": [2021], "n": [1]}).write_parquet(stale / "2021.parquet")
    pl.DataFrame({"year": [2024], "n": [1]}).write_parquet(stale / "2024.parquet")
    pl.DataFrame({"year": [], "n": []}, schema={"year": pl.Int64, "n": pl.Int64}).write_parquet(stale / "2019.parquet")
    assert result_years(tmp_path) == {2021, 2024}
    assert years_to_assess(tmp_path) == ("2021", "2024")  # 2019 is empty already
    pl.DataFrame({"year": [], "n": []}, schema={"year": pl.Int64, "n": pl.Int64}).write_parquet(stale / "2021.parquet")
    assert years_to_assess(tmp_path) == ("2024", "2024")
