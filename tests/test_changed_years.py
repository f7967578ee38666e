"""Only the years whose inputs changed (lianjian/digests.py, pipelines/runs.py ``changed_years``).

The rules of widening by hand on small digest maps, then the whole pipeline on a copy of the demo
data: one month of 2023's talks changed, the second run stages talks only (lianjian/ingest/stagecache.py),
recomputes 2022–2025 only (R1 widens to 2022, R7 to 2024 and 2025; 2020 and 2021 are kept) and every
staged, published and restricted file is byte-identical to a cold run on the same landing zone.

The digests themselves (what staging writes) are tested in tests/test_ingest_cache.py.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import time
from pathlib import Path

import dagster as dg
import pytest

from lianjian import digests as D
from lianjian.contract import SOURCES

ROOT = Path(__file__).resolve().parents[1]
RULES = ROOT / "rules" / "default.yaml"
KW = dict(rules_sha256="r" * 64, code_version="1.0+gabc", run_month="2026-12")


def _digests(**sources: dict[str, str]) -> dict:
    return {"version": D.DIGESTS_VERSION, "sources": sources}


def _write_digests(wh: Path, digests: dict) -> None:
    """What staging writes (staged/_year_digests.json), here from a hand-made map."""
    (wh / "staged").mkdir(parents=True, exist_ok=True)
    (wh / "staged" / D.DIGESTS_FILE).write_text(json.dumps(digests), encoding="utf-8")


def test_the_file_read_is_the_file_staging_writes():
    from lianjian.ingest import digests as staging

    assert D.DIGESTS_FILE == staging.FILE and D.DIGESTS_VERSION == staging.VERSION == 2


def test_a_digests_file_of_an_older_version_makes_every_year_count_as_changed(tmp_path):
    """A warehouse whose staged/_year_digests.json older code wrote (version 1: two row hashes a row)
    is not compared with the record: every year counts as changed, even where its digests equal the
    record's; the same map as version 2 changes nothing."""
    wh = _setup(tmp_path, _digests(**BASE), _digests(**BASE))
    assert _dirty(wh) is None and D.changed_sources(wh, **KW) == set()
    _write_digests(wh, {"version": 1, "sources": BASE})
    assert D.read_year_digests(wh) is None
    assert _dirty(wh) == (2020, 2025)
    assert D.changed_sources(wh, **KW) is None


def _setup(tmp_path: Path, before: dict, now: dict, **record) -> Path:
    wh = tmp_path / "wh"
    _write_digests(wh, before)
    D.record_computed(wh, rules_sha256=KW["rules_sha256"], code_version=KW["code_version"], run_month=KW["run_month"], all_years=True)
    if record:
        data = json.loads(D.computed_path(wh).read_text(encoding="utf-8")) | record
        D.computed_path(wh).write_text(json.dumps(data), encoding="utf-8")
    _write_digests(wh, now)
    return wh


BASE = dict(
    talks={str(y): f"t{y}" for y in range(2020, 2026)},
    cases={**{str(y): f"c{y}" for y in range(2020, 2026)}, "none": "open"},
    units={"none": "u"},
)


def _dirty(wh: Path, **kw) -> tuple[int, int] | None:
    return D.dirty_years(wh, first=2020, last=2025, **{**KW, **kw})


def test_changed_sources_are_known_only_from_a_record_of_the_same_rules_code_and_month(tmp_path):
    wh = _setup(tmp_path, _digests(**BASE), _digests(**{**BASE, "talks": {**BASE["talks"], "2024": "changed"}}))
    assert D.changed_sources(wh, **KW) == {"talks"}
    assert D.changed_sources(wh, **{**KW, "code_version": "other"}) is None
    assert D.changed_sources(wh, **{**KW, "run_month": "2027-01"}) is None
    assert D.changed_sources(wh, **{**KW, "rules_sha256": "x" * 64}) is None
    same = _setup(tmp_path / "same", _digests(**BASE), _digests(**BASE))
    assert D.changed_sources(same, **KW) == set()
    # a result file written after the record (a run that failed half-way): nothing is known
    late = same / "derived" / "case_quality" / "2024.parquet"
    late.parent.mkdir(parents=True)
    late.write_bytes(b"x")
    os.utime(late, ns=(D.computed_path(same).stat().st_mtime_ns + 10**9,) * 2)
    assert D.changed_sources(same, **KW) is None
    assert D.changed_sources(tmp_path / "none", **KW) is None


@pytest.mark.parametrize(
    ("window", "expected"),
    [
        (None, (-1, 0, 1, 2)),  # rules/default.yaml: every window within 30 days
        ({"from": -30, "to": 365}, (-1, 0, 1, 2)),  # 365 days back from 1 January: still the year before
        ({"from": -30, "to": 366}, (-2, -1, 0, 1, 2)),
        ({"from": -731, "to": 0}, (-1, 0, 1, 2, 3)),
    ],
)
def test_the_widening_follows_the_must_talk_windows(window, expected):
    from tests.support_scoring import default_rules, rules_with

    rules = default_rules() if window is None else rules_with({"talks": {"must_talk_windows": {"promotion": window}}})
    assert D.widening(rules) == expected
    # a window set for one year only counts too
    if window is not None:
        rules = rules_with({"years": {2023: {"talks": {"must_talk_windows": {"promotion": window}}}}})
        assert D.widening(rules) == expected


def test_a_window_longer_than_a_year_widens_what_a_changed_year_dirties(tmp_path):
    """With a promotion window ending 400 days after the event, a talk of 2024-02-01 fulfils the
    obligation of a promotion of 2022-12-31 (window 2022-12-01 … 2024-02-04): a change of 2024's
    talks must dirty 2022 — two years back, where the default widening stops at 2023."""
    import datetime as dt

    import polars as pl

    from lianjian.scoring.talks import talk_obligations
    from tests import support_scoring as s

    rules = s.rules_with({"talks": {"must_talk_windows": {"promotion": {"from": -30, "to": 400}}}})
    years = (2022, 2023, 2024)
    roster = s.roster([{"person_id": "H", "position": "dept_head", "dept_code": "D1", "year": y} for y in years]
                      + [{"person_id": "P", "dept_code": "D1", "year": y} for y in years])
    depts = s.departments([{"dept_code": "D1", "head_id": "H", "year": y} for y in years])
    evs = s.events([{"event_id": "E1", "person_id": "P", "event_type": "promotion", "event_date": dt.date(2022, 12, 31)}])
    tks = s.talks([{"talk_id": "T1", "talk_date": dt.date(2024, 2, 1), "talk_type": "must_talk", "interviewer_id": "H",
                    "interviewee_id": "P", "reason": "promotion", "witness_id": "W"}])
    out = talk_obligations(roster, depts, evs, tks, rules).collect().filter(pl.col("obligation") == "must_talk")
    assert out.select("year", "talk_id").rows() == [(2022, "T1")]

    wh = _setup(tmp_path, _digests(**BASE), _digests(**{**BASE, "talks": {**BASE["talks"], "2024": "changed"}}))
    assert _dirty(wh) == (2023, 2025)
    assert _dirty(wh, widen=D.widening(rules)) == (2022, 2025)


def test_one_changed_year_of_talks_dirties_the_year_before_and_two_after(tmp_path):
    """talks 2022 changed: R1 → 2021; R7/R9 → 2023, 2024: 2021–2024."""
    now = _digests(**{**BASE, "talks": {**BASE["talks"], "2022": "changed"}})
    assert _dirty(_setup(tmp_path, _digests(**BASE), now)) == (2021, 2024)


def test_the_range_is_clipped_to_what_a_full_run_computes(tmp_path):
    """talks 2025 changed: 2024–2027 clipped to 2024–2025; talks 2020: 2019–2022 → 2020–2022."""
    now = _digests(**{**BASE, "talks": {**BASE["talks"], "2025": "x"}})
    assert _dirty(_setup(tmp_path / "a", _digests(**BASE), now)) == (2024, 2025)
    now = _digests(**{**BASE, "talks": {**BASE["talks"], "2020": "x"}})
    assert _dirty(_setup(tmp_path / "b", _digests(**BASE), now)) == (2020, 2022)


def test_a_changed_year_of_cases_dirties_every_earlier_year(tmp_path):
    """cases closed in 2023 changed: R5 counts a case in every year since it was accepted → 2020–2025
    (2023 + 2); cases 2021 → 2020–2023."""
    now = _digests(**{**BASE, "cases": {**BASE["cases"], "2023": "x"}})
    assert _dirty(_setup(tmp_path / "a", _digests(**BASE), now)) == (2020, 2025)
    now = _digests(**{**BASE, "cases": {**BASE["cases"], "2021": "x"}})
    assert _dirty(_setup(tmp_path / "b", _digests(**BASE), now)) == (2020, 2023)


@pytest.mark.parametrize(
    "change",
    ["units", "open_cases", "rules", "code", "month", "no_record", "no_digests"],
)
def test_what_dirties_every_year(tmp_path, change):
    before, now = _digests(**BASE), _digests(**BASE)
    kw = {}
    if change == "units":
        now["sources"]["units"] = {"none": "u2"}
    elif change == "open_cases":
        now["sources"]["cases"] = {**BASE["cases"], "none": "open2"}
    elif change == "rules":
        kw["rules_sha256"] = "s" * 64
    elif change == "code":
        kw["code_version"] = "1.0+gdef"
    elif change == "month":
        kw["run_month"] = "2027-01"
    wh = _setup(tmp_path, before, now)
    if change == "no_record":
        D.computed_path(wh).unlink()
    elif change == "no_digests":
        (wh / "staged" / D.DIGESTS_FILE).unlink()
    assert _dirty(wh, **kw) == (2020, 2025)


def test_nothing_changed_and_a_year_gone_or_added(tmp_path):
    assert _dirty(_setup(tmp_path / "a", _digests(**BASE), _digests(**BASE))) is None
    gone = {k: v for k, v in BASE["talks"].items() if k != "2021"}
    assert _dirty(_setup(tmp_path / "b", _digests(**BASE), _digests(**{**BASE, "talks": gone}))) == (2020, 2023)
    added = _digests(**{**BASE, "reviews": {"2024": "new"}})
    assert _dirty(_setup(tmp_path / "c", _digests(**BASE), added)) == (2023, 2025)


def test_a_year_rewritten_after_the_record_is_computed_again(tmp_path):
    """A run that failed half-way wrote 2021's results: 2021 is recomputed whatever the digests say."""
    wh = _setup(tmp_path, _digests(**BASE), _digests(**BASE))
    part = wh / "assessed" / "integrity_assessment" / "2021.parquet"
    part.parent.mkdir(parents=True)
    old = wh / "assessed" / "integrity_assessment" / "2024.parquet"
    old.write_bytes(b"x")
    stamp = D.computed_path(wh).stat().st_mtime_ns
    os.utime(old, ns=(stamp - 10**9, stamp - 10**9))
    assert _dirty(wh) is None
    time.sleep(0.01)
    part.write_bytes(b"x")
    os.utime(part, ns=(stamp + 10**9, stamp + 10**9))
    assert _dirty(wh) == (2021, 2021)


def test_a_run_limited_to_some_years_removes_the_record(tmp_path):
    wh = _setup(tmp_path, _digests(**BASE), _digests(**BASE))
    D.record_computed(wh, rules_sha256="r", code_version="c", run_month="2026-12", all_years=False)
    assert not D.computed_path(wh).exists()
    assert _dirty(wh) == (2020, 2025)


# ---- the pipeline ------------------------------------------------------------------------------


def _published_files(warehouse: Path) -> dict[str, str]:
    """Every file of the live version — published and restricted — by content; the manifest without
    what names the run (ids, time, version)."""
    root = (warehouse / ".current").resolve()
    out = {}
    for p in sorted(root.rglob("*")):
        if not p.is_file():
            continue
        rel = str(p.relative_to(root))
        if p.name == "_manifest.json":
            m = json.loads(p.read_text(encoding="utf-8"))
            for k in ("run_id", "pipeline_run_id", "dagster_run_ids", "version", "time"):
                m.pop(k, None)
            out[rel] = json.dumps(m, sort_keys=True)
        else:
            out[rel] = hashlib.sha256(p.read_bytes()).hexdigest()
    return out


def test_the_tables_linked_from_the_live_version_are_those_computed_per_year():
    """A year file is linked from the live version only for tables whose asset is year-partitioned
    (a year not computed again is the live version's); R4's triggers read every year."""
    from assets.published import YEAR_PARTITIONED
    from lianjian.publish.layers import upstream_key
    from pipelines.definitions import defs

    graph = defs.resolve_asset_graph()
    partitioned = {
        t for t in YEAR_PARTITIONED | {"accountability_triggers", "rejected_records", "units"}
        if graph.get(dg.AssetKey(list(upstream_key(t)))).partitions_def is not None
    }
    assert partitioned == set(YEAR_PARTITIONED) and "accountability_triggers" not in YEAR_PARTITIONED


def _reports(warehouse: Path) -> dict[str, str]:
    """Every report, notice, workbook, index and record under ``reports/`` by content (not the
    validation report, which names its run)."""
    root = warehouse / "reports"
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file() and p.relative_to(root).parts[0] not in ("data_docs", "gx_cache")
    }


def _stamps(warehouse: Path, year: int) -> dict[Path, tuple[int, int]]:
    return {p: (p.stat().st_ino, p.stat().st_mtime_ns) for p in (warehouse / "reports" / str(year)).rglob("*") if p.is_file()}


def test_one_changed_month_of_talks_recomputes_its_years_only_and_publishes_the_same_bytes(tmp_path, demo_landing, monkeypatch):
    """The reports and notices too: the second run builds those of the recomputed years only (the
    other years' inputs — their published files, staged digests, unit tree — are unchanged), leaves
    the other years' files as they were, and every report equals a cold run's."""
    import lianjian.report as report
    import lianjian.report.notices as notices
    from assets.published import YEAR_PARTITIONED
    from lianjian.runner import run_pipeline

    monkeypatch.setenv(report.WORKERS_ENV, "1")  # reports built in this process, where the spies are
    built: list[tuple[str, int]] = []
    real_chunk, real_rows = report.chunk_reports, notices.monthly_rows
    monkeypatch.setattr(report, "chunk_reports", lambda common, inputs, years, keys=None: built.extend(("report", y) for y in years) or real_chunk(common, inputs, years, keys))
    monkeypatch.setattr(
        notices, "monthly_rows", lambda monthly, units: built.extend(("notice", y) for y in monthly["year"].unique().sort()) or real_rows(monthly, units)
    )

    landing = tmp_path / "landing"
    shutil.copytree(demo_landing, landing)
    warm, cold = tmp_path / "warm", tmp_path / "cold"
    instance = dg.DagsterInstance.ephemeral()

    first = run_pipeline(landing, warm, RULES, instance=instance, progress=False, reports=True)
    assert first.success, first.failure
    assert {y for kind, y in built if kind == "report"} == set(range(2021, 2026))  # 2020: no published rows
    assert {y for kind, y in built if kind == "notice"} >= set(range(2021, 2026))
    reports_2021 = _stamps(warm, 2021)
    assert any(p.parent.name == "notices" for p in reports_2021) and any(p.suffix == ".xlsx" for p in reports_2021)
    assert D.computed_path(warm).exists()
    kept = {p: p.stat().st_mtime_ns for p in (warm / "derived").glob("*/2021.parquet")}
    live = (warm / ".current").resolve()
    year_2021 = {p.relative_to(live): p.stat().st_ino for p in live.rglob("year=2021/*.parquet")}
    every_year = {p.relative_to(live): p.stat().st_ino for p in live.rglob("year=*/*.parquet")}
    from lianjian.publish.layers import upstream_key

    sources_before = {
        rel: hashlib.sha256((warm / "/".join(upstream_key(rel.parts[-3])) / f"{rel.parts[-2][5:]}.parquet").read_bytes()).hexdigest()
        for rel in every_year
        if rel.parts[-3] in YEAR_PARTITIONED
    }

    month = landing / "talks" / "2023-06.csv"
    lines = month.read_bytes().splitlines(keepends=True)
    month.write_bytes(b"".join(lines[:-1]))  # one talk of June 2023 less
    staged_files = {p.name: p.stat().st_ino for p in (warm / "staged").glob("*.parquet")}
    case_quality_2023 = {p: p.stat().st_mtime_ns for p in (warm / "derived" / "case_quality").glob("2023.parquet")}
    assert case_quality_2023

    built.clear()
    second = run_pipeline(landing, warm, RULES, instance=instance, progress=False, reports=True)
    assert second.success, second.failure
    # 2023's talks changed: its reports are built again; of the other recomputed years, those whose
    # published files came out byte-identical need not be (their inputs are the same)
    assert {2023} <= {y for kind, y in built if kind == "report"} <= set(range(2022, 2026)), built
    assert {y for kind, y in built if kind == "notice"} <= set(range(2022, 2026)), built
    assert _stamps(warm, 2021) == reports_2021  # not built, not written again
    # staging: talks only checked and written again (nothing references talks); the other staged
    # tables kept as they were, their materializations recorded as unchanged; the suites' check step
    # (second run) validates talks again and takes the others' suites from its cache without reading them
    rewritten = {n for n, ino in staged_files.items() if (warm / "staged" / n).stat().st_ino != ino}
    assert rewritten == {"talks.parquet", "rejected_records.parquet", "ingest_report.parquet"}
    restaged = {
        n for n in SOURCES
        if instance.get_latest_materialization_event(dg.AssetKey(["staged", n])).asset_materialization.metadata["restaged"].value
    }
    assert restaged == {"talks"}
    units = instance.get_latest_materialization_event(dg.AssetKey(["staged", "units"])).asset_materialization
    assert units.metadata["unchanged"].value is True and units.metadata["dagster/row_count"].value > 0
    checks = {
        e.dagster_event.event_specific_data.check_name: e.dagster_event.event_specific_data.metadata
        for run_id in second.run_ids
        for e in instance.all_logs(run_id, of_type=dg.DagsterEventType.ASSET_CHECK_EVALUATION)
    }
    cached = {n for n in SOURCES if checks[f"{n}_contract_suite"]["gx_cached"].value}
    assert cached == set(SOURCES) - {"talks"}
    assess = instance.get_run_by_id(second.run_ids[-1])
    assert (assess.tags["dagster/asset_partition_range_start"], assess.tags["dagster/asset_partition_range_end"]) == ("2022", "2025")
    assert {p: p.stat().st_mtime_ns for p in kept} == kept  # 2021 not written again
    # the results that read no talks, directly or through R1, keep their files: not computed again
    without_talks = {
        "derived/case_quality", "derived/leader_case_handling", "derived/major_matter_report_monthly",
        "derived/major_matter_report_stats", "derived/review_leads",
    }
    assert set(assess.tags["lianjian/kept"].split(",")) == without_talks
    computed = {
        e.dagster_event.asset_key.to_user_string()
        for e in instance.all_logs(assess.run_id, of_type=dg.DagsterEventType.ASSET_MATERIALIZATION)
    }
    assert not computed & without_talks
    assert {"derived/talk_obligations", "assessed/integrity_assessment", "assessed/assessment_evidence"} <= computed
    assert {p: p.stat().st_mtime_ns for p in case_quality_2023} == case_quality_2023
    # published: 2021's files of the tables computed per year are the first version's, linked; so are
    # those of R4's triggers and of the departments, prepared from files that did not change
    new = (warm / ".current").resolve()
    assert new != live
    linked = {rel for rel, ino in year_2021.items() if (new / rel).stat().st_ino == ino}
    assert {rel.parts[-3] for rel in linked} == set(YEAR_PARTITIONED) | {"accountability_triggers", "departments"}, sorted(map(str, linked))
    # and every year file of the results kept (prepared from the same files: not sorted and written again)
    linked = {rel for rel, ino in every_year.items() if (new / rel).stat().st_ino == ino}
    kept_files = {rel for rel in every_year if f"derived/{rel.parts[-3]}" in without_talks}
    assert kept_files and kept_files <= linked, sorted(map(str, kept_files - linked))
    assert {rel.parts[-3] for rel in kept_files} == {"case_quality", "leader_case_handling", "major_matter_report_monthly", "major_matter_report_stats", "review_leads"}
    # of the years computed again, a file is linked exactly when the result it is prepared from came
    # out byte-identical, written otherwise (here every one: the talk removed fulfilled no obligation
    # that counts; tests/test_linked_years.py changes one)
    def source(rel: Path) -> Path:
        table, year = rel.parts[-3], rel.parts[-2].removeprefix("year=")
        return warm / "/".join(upstream_key(table)) / f"{year}.parquet"

    redone = {rel for rel in every_year if rel.parts[-3] in YEAR_PARTITIONED and rel.parts[-2] != "year=2021"}
    same = {rel for rel in redone if hashlib.sha256(source(rel).read_bytes()).hexdigest() == sources_before[rel]}
    assert same, sorted(map(str, redone))
    assert {rel for rel in redone if rel in linked} == same

    third = run_pipeline(landing, cold, RULES, instance=instance, progress=False, reports=True)
    assert third.success, third.failure
    assess = instance.get_run_by_id(third.run_ids[-1])
    assert (assess.tags["dagster/asset_partition_range_start"], assess.tags["dagster/asset_partition_range_end"]) == ("2020", "2025")
    assert _published_files(warm) == _published_files(cold)
    assert _published_files(warm) != {}
    assert _reports(warm) == _reports(cold)  # records of what each year was built from included
    assert any(k.endswith("2021/_inputs.json") for k in _reports(warm)) and any(k.endswith("notices/_inputs.json") for k in _reports(warm))
    staged = lambda wh: {p.name: p.read_bytes() for p in sorted((wh / "staged").iterdir())}  # noqa: E731
    assert staged(warm) == staged(cold) and "_year_digests.json" in staged(warm)

    # a run limited to some years leaves the others as they were: no record, every year next time
    limited = run_pipeline(landing, cold, RULES, instance=instance, progress=False, reports=False, years="2025")
    assert limited.success, limited.failure
    assert not D.computed_path(cold).exists()


def test_the_second_run_widens_by_the_rules_file_it_runs_with(tmp_path, monkeypatch):
    """pipelines/runs.py ``changed_years`` hands dirty_years the widening of the run's rules file:
    with a 400-day promotion window, 2024's talks changed → 2022–2025; with the default, 2023–2025."""
    import yaml

    from lianjian.clock import run_month
    from lianjian.files import sha256_file
    from lianjian.fingerprint import code_version
    from pipelines import runs
    from pipelines.resources import LianjianSettings

    long = tmp_path / "long.yaml"
    raw = yaml.safe_load(RULES.read_text(encoding="utf-8"))
    raw["talks"]["must_talk_windows"]["promotion"] = {"from": -30, "to": 400}
    long.write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
    monkeypatch.setattr(runs, "years_to_assess", lambda wh: ("2020", "2025"))
    seen = {}
    for rules in (RULES, long):
        wh = tmp_path / f"wh-{rules.stem}"
        _write_digests(wh, _digests(**BASE))
        D.record_computed(wh, rules_sha256=sha256_file(rules), code_version=code_version(), run_month=run_month(), all_years=True)
        _write_digests(wh, _digests(**{**BASE, "talks": {**BASE["talks"], "2024": "changed"}}))
        settings = LianjianSettings(landing=str(tmp_path / "landing"), warehouse=str(wh), rules=str(rules))
        seen[rules.stem] = runs.changed_years(settings)
    assert seen == {"default": ("2023", "2025"), "long": ("2022", "2025")}
