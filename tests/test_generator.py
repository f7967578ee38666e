"""The synthetic landing-zone generator (lianjian.generate) and the benchmark script.

Everything is asserted on the files as written (read back with tests/support_generator.py, not with
the project's reader). Years: the demo is 2021–2025, so in the scenario ids Y0 = 2021, Y1 = 2022,
Y2 = 2023, Y3 = 2024 (see lianjian/generate/scenarios.py and docs/generator.md).
"""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lianjian.contract import LEADERSHIP_POSITIONS, SOURCES
from lianjian.errors import FatalError
from lianjian.generate import PROFILES, ensure_demo, generate, write_landing
from lianjian.generate import core as gen_core
from lianjian.generate.idnumber import id_numbers, is_valid
from support_generator import raw_header, read_source, source_files

ROOT = Path(__file__).resolve().parents[1]
SEED = 20240101
Y0, Y1, Y2, Y3 = 2021, 2022, 2023, 2024


def files_bytes(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def demo(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("gen") / "demo"
    generate(out, "demo", years="2021-2025", seed=SEED)
    return out


@pytest.fixture(scope="module")
def demo_data(demo) -> dict[str, pl.DataFrame]:
    return {s: read_source(demo, s) for s in SOURCES}


@pytest.fixture(scope="module")
def small(tmp_path_factory) -> Path:
    """The national profile at 40 units, two years."""
    out = tmp_path_factory.mktemp("gen") / "national40"
    generate(out, "national", units=40, years="2024-2025", seed=7)
    return out


@pytest.fixture(scope="module")
def small_data(small) -> dict[str, pl.DataFrame]:
    return {s: read_source(small, s) for s in SOURCES}


# ---- determinism ---------------------------------------------------------------------------------
def test_demo_same_seed_is_byte_identical(demo, tmp_path):
    again = tmp_path / "again"
    generate(again, "demo", years="2021-2025", seed=SEED)
    a, b = files_bytes(demo), files_bytes(again)
    assert a.keys() == b.keys()
    assert [k for k in a if a[k] != b[k]] == []  # units.xlsx included: fixed zip and core times


def test_small_same_seed_is_byte_identical_whatever_the_chunk_size(small, tmp_path, monkeypatch):
    monkeypatch.setattr(gen_core, "CHUNK_UNITS", 7)  # per-unit seeds: chunking does not change a byte
    again = tmp_path / "again"
    generate(again, "national", units=40, years="2024-2025", seed=7)
    a, b = files_bytes(small), files_bytes(again)
    assert a.keys() == b.keys()
    assert [k for k in a if a[k] != b[k]] == []


def test_different_seed_gives_different_data(demo, tmp_path):
    other = tmp_path / "other"
    generate(other, "demo", years="2021-2025", seed=SEED + 1)
    a, b = files_bytes(demo), files_bytes(other)
    assert a["cases.csv"] != b["cases.csv"]
    assert a["personnel.csv"] != b["personnel.csv"]
    assert a["reviews.csv"] != b["reviews.csv"]


# ---- proportions of the national profile ---------------------------------------------------------
def test_small_custom_size_has_national_proportions(small_data):
    # CONTRACT.md §1, national, per year: 3,600 units; 260,000 staff; 4,000,000 cases; 1,300,000 talks;
    # 2,000,000 reviews; 180,000 reports. Ratios worked out by hand:
    #   staff per unit   260,000 / 3,600   = 72.2
    #   cases per staff  4,000,000 / 260,000 = 15.38
    #   talks per staff  1,300,000 / 260,000 = 5.0
    #   reviews per staff 2,000,000 / 260,000 = 7.69
    #   reports per staff 180,000 / 260,000 = 0.692
    d = small_data
    years = 2
    units = d["units"].height
    assert units == 40
    active = d["personnel"].filter(pl.col("status") == "active").height / years
    assert active / units == pytest.approx(72.2, rel=0.15)
    assert d["cases"].height / years / active == pytest.approx(15.38, rel=0.10)
    assert d["talks"].height / years / active == pytest.approx(5.0, rel=0.20)
    assert d["reviews"].height / years / active == pytest.approx(7.69, rel=0.15)
    assert d["major_matter_reports"].height / years / active == pytest.approx(0.692, rel=0.25)
    # the tree: 1 province, ≈10 % cities (round(39 × 0.104) = 4), the rest counties
    assert d["units"]["level"].value_counts().sort("level").rows() == [("city", 4), ("county", 35), ("province", 1)]


def test_profiles_match_the_contract_table():
    # CONTRACT.md §1 verbatim (per year)
    table = {
        "demo": (3, 90, 1_400, 450, 700, 60),
        "county": (1, 70, 1_100, 350, 550, 50),
        "city": (12, 900, 14_000, 4_500, 7_000, 600),
        "province": (120, 9_000, 140_000, 45_000, 70_000, 6_000),
        "national": (3_600, 260_000, 4_000_000, 1_300_000, 2_000_000, 180_000),
    }
    for name, row in table.items():
        p = PROFILES[name]
        assert (p.units, p.staff, p.cases, p.talks, p.reviews, p.reports) == row


# ---- files and headers ---------------------------------------------------------------------------
def test_every_source_present_with_contract_headers(demo, small):
    for landing in (demo, small):
        for name, spec in SOURCES.items():
            files = source_files(landing, name)
            assert files, f"{landing.name}: no file for {name}"
            for f in files:
                header = raw_header(f)
                assert header in (spec.column_names, [c.zh for c in spec.columns]), (f, header)
    # larger scales: English headers and codes only, one file per source and year
    for name, spec in SOURCES.items():
        for f in source_files(small, name):
            assert raw_header(f) == spec.column_names
    assert sorted(p.name for p in (small / "cases").iterdir()) == ["2024.csv", "2025.csv"]


def test_demo_exercises_the_reader_like_real_exports(demo):
    assert (demo / "units.xlsx").exists() and not (demo / "units.csv").exists()
    assert (demo / "personnel.csv").read_bytes().startswith(b"\xef\xbb\xbf")  # UTF-8 with BOM
    raw = (demo / "departments.csv").read_bytes()
    with pytest.raises(UnicodeDecodeError):
        raw.decode("utf-8")
    assert raw.decode("gb18030").startswith("年度,单位编码,部门编码,部门名称")
    months = sorted(p.name for p in (demo / "talks").iterdir())
    assert "2021-01.csv" in months and "2025-12.csv" in months
    assert all(len(m) == len("2021-01.csv") for m in months)
    assert raw_header(demo / "personnel.csv")[:3] == ["年度", "工号", "姓名"]
    text = (demo / "personnel.csv").read_text(encoding="utf-8-sig")
    assert ",检察长," in text and ",在岗," in text and ",是," in text  # labels and 是/否
    vtext = (demo / "violations.csv").read_text(encoding="utf-8")
    assert "年" in vtext and "嚴重" in vtext  # 2024年3月5日 dates, a traditional label
    assert "２０２１" in (demo / "duty_activities.csv").read_text(encoding="utf-8")  # full-width digits


def test_demo_sizes_are_about_the_contract_table(demo_data):
    d = demo_data
    per_year = lambda n: n / 5  # noqa: E731
    active = per_year(d["personnel"].filter(pl.col("status") == "active").height)
    assert active == pytest.approx(90, rel=0.1)
    assert per_year(d["cases"].height) == pytest.approx(1_400, rel=0.15)
    assert per_year(d["talks"].height) == pytest.approx(450, rel=0.2)
    assert per_year(d["reviews"].height) == pytest.approx(700, rel=0.2)
    assert per_year(d["major_matter_reports"].height) == pytest.approx(60, rel=0.3)


# ---- consistency of a larger scale (no bad rows there) --------------------------------------------
def test_small_scale_keys_references_and_identity_numbers(small_data):
    d = small_data
    for name, spec in SOURCES.items():
        dup = d[name].group_by(list(spec.key)).len().filter(pl.col("len") > 1)
        assert dup.height == 0, name
    people = d["personnel"]["person_id"].unique().implode()
    for name, spec in SOURCES.items():
        for c in spec.columns:
            if c.ref == "personnel.person_id":
                dangling = d[name].filter(pl.col(c.name).is_not_null() & ~pl.col(c.name).is_in(people))
                assert dangling.height == 0, (name, c.name)
    events = d["personnel_events"]["event_id"].implode()
    assert d["talks"].filter(pl.col("event_id").is_not_null() & ~pl.col("event_id").is_in(events)).height == 0
    roster = d["personnel"].select("year", "person_id", "position")
    dep = d["departments"].join(roster.rename({"person_id": "supervisor_id"}), on=["year", "supervisor_id"], how="left")
    assert dep["position"].is_in(list(LEADERSHIP_POSITIONS)).all()  # supervisors: leadership of that year
    heads = d["departments"].join(roster.rename({"person_id": "head_id"}), on=["year", "head_id"], how="left")
    assert heads["position"].null_count() == 0  # heads: in that year's roster
    assert d["personnel"].filter(pl.col("is_party_secretary") == "true").group_by("year", "unit_code").len()["len"].max() == 1
    assert d["cases"].filter(pl.col("closed_date") < pl.col("accepted_date")).height == 0
    numbers = d["personnel"]["id_number"].to_list()
    assert all(is_valid(n) for n in numbers)
    assert all(n[2:4] == "99" for n in numbers)  # prefecture 99: never a real area code
    # the same person keeps their id across years, and some leave
    st = d["personnel"].group_by("year", "status").len()
    assert set(st["status"]) == {"active", "retired", "transferred"}


# ---- the rare paths in the demo --------------------------------------------------------------------
def _d(s: str) -> dt.date:
    return dt.date.fromisoformat(s)


def test_demo_events_near_new_year_and_cross_year_talks(demo_data):
    ev, talks = demo_data["personnel_events"], demo_data["talks"]
    dates = ev["event_date"].str.to_date()
    near = ev.filter((dates.dt.month() == 1) & (dates.dt.day() <= 30) | (dates.dt.month() == 12) & (dates.dt.day() >= 2))
    assert near.height > 10
    # S06: business_trip on 2022-01-10, window [d−30, d] = [2021-12-11, 2022-01-10]; talk on 2021-12-20
    e = ev.filter(pl.col("event_id") == "SJ-SD-JN-2022-9001").row(0, named=True)
    assert (e["event_type"], e["event_date"]) == ("business_trip", "2022-01-10")
    t = talks.filter(pl.col("event_id") == "SJ-SD-JN-2022-9001").row(0, named=True)
    assert (t["talk_type"], t["talk_date"], t["reason"], t["interviewee_id"]) == ("must_talk", "2021-12-20", "business_trip", e["person_id"])
    # promotion on 2022-12-25, window [d−30, d+30] reaches 2023-01-24; the talk is on 2023-01-12
    t2 = talks.filter(pl.col("event_id") == "SJ-SD-JN-2022-9002").row(0, named=True)
    assert t2["talk_date"] == "2023-01-12"
    # sensitive_case on 2022-01-05: nobody talked (window [2021-12-06, 2022-01-05])
    owed = talks.filter((pl.col("interviewee_id") == e["person_id"]) & (pl.col("reason") == "sensitive_case")
                        & pl.col("talk_date").is_between(pl.lit("2021-12-06"), pl.lit("2022-01-05")))
    assert owed.height == 0
    assert talks.filter(pl.col("event_id") == "SJ-SD-JN-2022-9003").height == 0


def test_demo_mid_year_hire(demo_data):
    per = demo_data["personnel"]
    hire = per.filter((pl.col("year") == "2022") & (pl.col("unit_code") == "SD-JN-LC") & (pl.col("hire_date") == "2022-07-15"))
    assert hire.height == 1
    pid = hire["person_id"][0]
    assert per.filter((pl.col("person_id") == pid) & (pl.col("year") == "2021")).height == 0  # new that year
    ev = demo_data["personnel_events"].filter((pl.col("person_id") == pid) & (pl.col("event_type") == "onboarding"))
    assert ev["event_date"].to_list() == ["2022-07-15"]
    # department_h1 (due to 2022-06-30 < hire_date) is not owed, and no talk pretends it was held; only the
    # onboarding must-talk (window [d−30, d], before taking up the post) may precede the hire date
    early = demo_data["talks"].filter((pl.col("interviewee_id") == pid) & (pl.col("talk_date") < "2022-07-15"))
    assert set(early["talk_type"].to_list()) <= {"must_talk"}
    assert set(early["reason"].to_list()) <= {"onboarding"}
    # mid-year hires in every unit and year after the first
    hires = per.filter(pl.col("hire_date").str.slice(0, 4) == pl.col("year"))
    assert hires.select("unit_code", "year").unique().height == 3 * 4


def test_demo_vetoes_and_one_case_two_investigations(demo_data):
    v, per, deps = demo_data["violations"], demo_data["personnel"], demo_data["departments"]
    crim = v.filter(pl.col("violation_id") == "WJ-SD-2023-901").row(0, named=True)
    assert (crim["severity"], crim["sanction"], crim["decided_date"]) == ("criminal", "judicial_transfer", "2023-03-15")
    who = per.filter((pl.col("person_id") == crim["person_id"]) & (pl.col("year") == "2023")).row(0, named=True)
    assert who["dept_code"] == "JC1" and who["position"] not in LEADERSHIP_POSITIONS
    d = deps.filter((pl.col("year") == "2023") & (pl.col("unit_code") == "SD") & (pl.col("dept_code") == "JC1")).row(0, named=True)
    # 一案双查: the head, the supervisor and the branch secretary answer; none of them is the violator
    assert crim["person_id"] not in (d["head_id"], d["supervisor_id"])
    assert d["head_id"] and d["supervisor_id"] and d["branch_secretary_id"]
    pd_ = v.filter(pl.col("violation_id") == "WJ-SD-JN-2022-901").row(0, named=True)
    assert (pd_["severity"], pd_["sanction"]) == ("serious", "party_discipline")


def test_demo_repeat_serious_violation_in_one_scope(demo_data):
    v, per = demo_data["violations"], demo_data["personnel"]
    a = v.filter(pl.col("violation_id") == "WJ-SD-2022-902").row(0, named=True)
    b = v.filter(pl.col("violation_id") == "WJ-SD-2023-902").row(0, named=True)
    assert a["severity"] == b["severity"] == "serious"
    assert a["person_id"] != b["person_id"]
    for rec, year in ((a, "2022"), (b, "2023")):
        row = per.filter((pl.col("person_id") == rec["person_id"]) & (pl.col("year") == year)).row(0, named=True)
        assert (row["unit_code"], row["dept_code"]) == ("SD", "JC2")


def test_demo_poor_party_group_three_years_running(demo_data):
    votes, duty = demo_data["democratic_votes"], demo_data["duty_activities"]
    for y in ("2022", "2023", "2024"):
        pg = votes.filter((pl.col("year") == y) & (pl.col("unit_code") == "SD-JN-LC") & (pl.col("subject_kind") == "party_group"))
        assert pg.select("votes_good", "votes_fairly_good", "votes_average", "votes_poor").row(0) == ("2", "3", "5", "15")
        acts = duty.filter((pl.col("unit_code") == "SD-JN-LC") & pl.col("activity_date").str.starts_with(y)
                           & pl.col("actor_kind").is_in(["party_group", "secretary"]))
        assert acts["activity_type"].to_list() == ["special_meeting"]
    # By hand (RULES R3, default settings): party_group duty items special_meeting 1/2 = 0.5, the other
    # four 0 → duty_score 100 × 0.5 / 5 = 10; vote_score (100·2 + 80·3 + 60·5 + 0·15) / 25 = 740 / 25 = 29.6;
    # base 0.6 · 10 + 0.4 · 29.6 = 17.84 < 60 → 较差 in 2022, 2023, 2024 (consecutive_poor streaks 2 and 3).
    # 2021 and 2025 are ordinary years:
    other = votes.filter((pl.col("year") == "2021") & (pl.col("unit_code") == "SD-JN-LC") & (pl.col("subject_kind") == "party_group"))
    assert int(other["votes_good"][0]) > int(other["votes_poor"][0])


def test_demo_poor_person_several_years(demo_data):
    rv = demo_data["reviews"]
    selfs = rv.filter((pl.col("reviewer_kind") == "self") & (pl.col("score") == "58.0") & pl.col("person_id").str.starts_with("SD-JN-"))
    pid = selfs["person_id"][0]
    mine = rv.filter(pl.col("person_id") == pid)
    for y in ("2022", "2023", "2024", "2025"):
        yr = mine.filter(pl.col("year") == y)
        assert yr.filter(pl.col("reviewer_kind") == "self")["score"].to_list() == ["58.0"]
        assert yr.filter(pl.col("reviewer_kind") == "department")["score"].to_list() == ["52.0"]
        assert set(yr.filter(pl.col("reviewer_kind") == "peer")["score"].to_list()) <= {"50.0"}
    # review_score ≤ 0.2·58 + 0.4·52 + 0.4·52 = 52.8 < 60 → 较差 four years running


def test_demo_retired_people_owed_a_must_talk(demo_data):
    per, ev, talks = demo_data["personnel"], demo_data["personnel_events"], demo_data["talks"]
    retired = per.filter((pl.col("year") == "2023") & (pl.col("unit_code") == "SD") & (pl.col("status") == "retired"))["person_id"].sort()
    assert len(retired) >= 2
    r1, r2 = retired[0], retired[1]
    e = ev.filter((pl.col("person_id") == r1) & (pl.col("event_type") == "retirement")).row(0, named=True)
    assert e["event_date"] == "2023-12-20"  # window [d, d+30] ends 2024-01-19
    t = talks.filter(pl.col("talk_id") == "TH-SD-2023-90001").row(0, named=True)
    assert (t["talk_date"], t["reason"], t["event_id"], t["interviewee_id"]) == ("2024-01-08", "retirement", e["event_id"], r1)
    assert talks.filter((pl.col("interviewee_id") == r2) & (pl.col("reason") == "retirement")).height == 0


def test_demo_special_cases_and_leaders_on_cases(demo_data):
    c, per = demo_data["cases"], demo_data["personnel"]
    sp = c.filter(pl.col("case_id").str.starts_with("AJ-SD-JN-2022-9000")).sort("case_id")
    assert sp.select("category", "outcome", "dept_verified", "supervisor_verified", "public_complaint").rows() == [
        ("public_prosecution", "not_prosecuted", "false", "true", "false"),
        ("self_investigation", "not_filed", "false", "false", "false"),
        ("complaint_appeal", "other", "true", "true", "true"),
    ]
    for y in range(2021, 2026):
        chief = per.filter((pl.col("year") == str(y)) & (pl.col("unit_code") == "SD") & (pl.col("position") == "chief")
                           & (pl.col("status") == "active"))["person_id"][0]
        case = c.filter(pl.col("case_id") == f"AJ-SD-{y}-90001").row(0, named=True)
        assert (case["handler_id"], case["is_major"]) == (chief, "true")
    deputies = per.filter((pl.col("year") == "2022") & (pl.col("unit_code") == "SD-JN-LC") & (pl.col("position") == "deputy_chief"))
    assert deputies.height >= 1 and (deputies["is_quota"] == "true").all()
    handled = c.filter(pl.col("handler_id").is_in(deputies["person_id"].implode()) & (pl.col("accepted_date") <= "2022-12-31")
                       & (pl.col("closed_date").is_null() | (pl.col("closed_date") >= "2022-01-01")))
    assert handled.height == 0  # R5 implemented = false for SD-JN-LC in 2022


def test_demo_zero_reports(demo_data):
    r = demo_data["major_matter_reports"].with_columns(y=pl.col("report_date").str.slice(0, 4))
    counts = dict(r.filter(pl.col("unit_code") == "SD-JN-LC").group_by("y").len().rows())
    assert "2023" not in counts and counts.get("2022", 0) > 0


def test_demo_review_paths(demo_data):
    rv, per = demo_data["reviews"], demo_data["personnel"]
    peers = rv.filter(pl.col("reviewer_kind") == "peer").group_by("year", "person_id").len()
    assert peers.filter(pl.col("len") >= 5).height > 50
    # S14: six peers, trimmed: (90 + 88 + 86 + 84) / 4 = 87; review 0.2·90 + 0.4·87 + 0.4·88 = 88.00
    six = rv.filter((pl.col("year") == "2022") & pl.col("person_id").str.starts_with("SD-") & ~pl.col("person_id").str.starts_with("SD-JN"))
    s14 = six.filter((pl.col("reviewer_kind") == "self") & (pl.col("score") == "90.0"))["person_id"].to_list()
    found = [p for p in s14 if sorted(six.filter((pl.col("person_id") == p) & (pl.col("reviewer_kind") == "peer"))["score"].cast(pl.Float64).to_list())
             == [60.0, 84.0, 86.0, 88.0, 90.0, 95.0]]
    assert len(found) == 1
    # S12: an active SD-JN-LC member without department review in 2022; S13: one not signed by the supervisor
    active = per.filter((pl.col("year") == "2022") & (pl.col("unit_code") == "SD-JN-LC") & (pl.col("status") == "active"))["person_id"]
    dept = rv.filter((pl.col("year") == "2022") & (pl.col("reviewer_kind") == "department"))
    assert active.filter(~active.is_in(dept["person_id"].implode())).len() >= 1
    unsigned = dept.filter(pl.col("person_id").is_in(active.implode()) & (pl.col("supervisor_signed") == "false"))
    assert unsigned.height >= 1


def test_demo_bad_rows_for_the_quarantine(demo, demo_data):
    cases_text = (demo / "cases.csv").read_text(encoding="utf-8").splitlines()[1:]
    assert len(cases_text) - len(set(cases_text)) == 1  # B1: one exact duplicate
    c = demo_data["cases"]
    assert c.filter(pl.col("category") == "刑事案件").height == 1  # B2
    assert c.filter(pl.col("closed_date") < pl.col("accepted_date")).height == 1  # B3
    conflicting = c.unique().group_by("case_id").len().filter(pl.col("len") > 1)
    assert conflicting.height == 1  # B8
    assert "2023-02-30" in (demo / "talks" / "2023-02.csv").read_text(encoding="utf-8")  # B4
    people = demo_data["personnel"]["person_id"].implode()
    assert demo_data["talks"].filter(~pl.col("interviewee_id").is_in(people)).height == 1  # B5
    assert demo_data["personnel"].filter(pl.col("unit_code") == "SD-QD").height == 1  # B6
    assert demo_data["violations"].filter(pl.col("severity") == "很严重").height == 1  # B7
    assert demo_data["reviews"].filter(pl.col("score") == "105").height == 1  # B9


# ---- identity numbers ------------------------------------------------------------------------------
def test_gb11643_check_digit_known_example():
    # GB 11643-1999's own example: 11010519491231002X; Σ digit·weight = 167 (worked: 1·7+1·9+0·10+1·5+0·8
    # +5·4+1·2+9·1+4·6+9·3+1·7+2·9+3·10+1·5+0·8+0·4+2·2 = 167), 167 mod 11 = 2 → 'X'
    assert is_valid("11010519491231002X")
    assert not is_valid("110105194912310021")


@settings(max_examples=50, deadline=None)
@given(st.integers(min_value=-10_000, max_value=13_000), st.booleans(), st.integers(0, 2**31))
def test_identity_numbers_are_valid_and_encode_birth_and_sex(birth_day, male, seed):
    n = id_numbers(np.random.default_rng(seed), "37", np.array([birth_day]), np.array([male]))[0]
    assert is_valid(n)
    assert n[:4] == "3799"
    assert n[6:14] == (dt.date(1970, 1, 1) + dt.timedelta(days=birth_day)).strftime("%Y%m%d")
    assert int(n[16]) % 2 == (1 if male else 0)


# ---- commands ----------------------------------------------------------------------------------------
def test_years_and_output_folder_errors(tmp_path):
    assert gen_core.parse_years("2021-2025") == [2021, 2022, 2023, 2024, 2025]
    assert gen_core.parse_years("2024") == [2024]
    for bad in ("20x", "2025-2021", "1990-1991"):
        with pytest.raises(FatalError):
            gen_core.parse_years(bad)
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "x.csv").write_text("a\n")
    with pytest.raises(FatalError, match="已有文件"):
        write_landing(tmp_path / "full", "county", years="2024")


def test_ensure_demo_writes_once(tmp_path):
    landing = tmp_path / "data" / "landing"
    assert ensure_demo(landing) is True
    assert (landing / "units.xlsx").exists() and (landing / "talks").is_dir()
    before = files_bytes(landing)
    assert ensure_demo(landing) is False
    assert files_bytes(landing) == before
    assert not any(p.name.startswith(".") for p in landing.parent.iterdir())  # no temporary folder left


def test_cli_generate_county(tmp_path):
    out = tmp_path / "county"
    proc = subprocess.run([sys.executable, "-m", "lianjian.cli", "generate", "--out", str(out), "--scale", "county",
                           "--years", "2024-2025", "--seed", "3"], capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert (out / "units.csv").exists() and sorted(p.name for p in (out / "talks").iterdir()) == ["2024.csv", "2025.csv"]
    assert "cases" in proc.stdout


def test_benchmark_limit_at_demo_scale(tmp_path):
    """The benchmark script's generation and limit measurement (the Dagster part is run by hand)."""
    proc = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "run.py"), "--scale", "demo", "--workdir", str(tmp_path),
                           "--limit-only"], capture_output=True, text=True, cwd=ROOT, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert "limit" in proc.stdout
    res = json.loads((tmp_path / "results.json").read_text(encoding="utf-8"))
    landing = tmp_path / "landing"
    # rows the limit read = data rows of every landing file (CSV lines minus the header; XLSX rows)
    expected = 0
    for f in landing.rglob("*.csv"):
        data = f.read_bytes()
        expected += len(data.decode("utf-8-sig" if data[:3] == b"\xef\xbb\xbf" else ("gb18030" if f.name == "departments.csv" else "utf-8")).splitlines()) - 1
    expected += pl.read_excel(landing / "units.xlsx").height
    assert res["limit"]["rows"] == expected
    assert res["limit"]["files"] == len([p for p in landing.rglob("*") if p.is_file()])
    assert len(list((tmp_path / "limit").glob("*.parquet"))) == res["limit"]["files"]


def test_benchmark_full_pipeline_at_demo_scale(tmp_path):
    """The benchmark end to end at demo scale (CI proves it works; the figures at province and national
    scale are in docs/performance.md): the run succeeds through Dagster and every stage is timed."""
    proc = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "run.py"), "--scale", "demo", "--workdir", str(tmp_path),
                           "--runs", "1"], capture_output=True, text=True, cwd=ROOT, timeout=600)
    assert proc.returncode == 0, proc.stderr[-2000:]
    res = json.loads((tmp_path / "results.json").read_text(encoding="utf-8"))
    # `lianjian run` and the nightly schedule's path (tick, first run, run-status sensor, second run)
    for run in (res["runs"][0], res["daemon_runs"][0]):
        assert run["success"] is True, run.get("failure")
        assert {"ingest", "validate", "derive", "assess", "publish", "reports"} <= set(run["stages"])
        assert all(st["seconds"] > 0 for st in run["stages"].values())
        assert run["ratio"] > 1  # the pipeline cannot beat Polars reading and writing the files once
        assert len(run["run_ids"]) == 2  # landing + staging, then the rest
    assert res["runs"][0]["daemon_ratio"] == res["daemon_runs"][0]["daemon_ratio"] > 0
    assert "ratio pipeline (to publish) / limit" in proc.stdout and "daemon path / lianjian run" in proc.stdout
