"""Seed reproductions: the published figures of two source documents arise from landing data built here.

(a) 辽宁报道 (Liaoning 2017): 133 of 137 procuratorates implemented leaders handling cases; 280 chiefs
    and deputy chiefs led major cases; 1,274 leaders handled 10,345 cases — the sums of
    ``leader_case_handling`` (R5) over the province's units.
(b) 黑龙江巡礼 (Heilongjiang 2021): 7,189 "三个规定" reports in 2021, +1126.8% over 2019 (586) and
    +140% over 2020 (2,995); 2,302 (32.0%) by leaders — the sums of ``major_matter_report_stats`` (R7).

The landing zone is generated programmatically: units, rosters, departments and individual cases and
reports are laid out so that the facts hold (which leaders handle, which case is major, which report a
leader files); the totals are never typed into any table. The figures are then checked twice: by the
pure functions on staged frames, and through Dagster (CSV landing → landing → staged → derived →
Parquet) with the project's own assets and IO manager.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import dagster as dg
import polars as pl
import pytest
from support_scoring import ROOT, cases, default_rules, departments, reports, roster

from lianjian.contract import PUBLISHED, SOURCES
from lianjian.scoring.cases import leader_case_handling
from lianjian.scoring.reports import major_matter_report_stats
from pipelines.io_manager import scan_published_form

RULES = default_rules()

# ----------------------------------------------------------------------------- (a) Liaoning 2017

LN_YEAR = 2017
LN_UNITS = 137
LN_NOT_IMPLEMENTED = {17, 58, 99, 136}  # a deputy chief who handled no case in 2017
LN_DEPUTY2_MAJOR = range(6)  # units whose second deputy also led a major case
LN_WITH_COMMITTEE_MEMBER = range(0, LN_UNITS, 10)  # 14 units have a quota committee member
LN_SEVEN_HEADS = range(31)  # units with 7 department heads handling cases (the others 6)
LN_EXTRA_CASE_HANDLERS = 153  # the first 153 handling leaders have 9 cases, the others 8


def liaoning() -> dict[str, list[dict]]:
    """137 procuratorates of one province. In each: a chief and two deputy chiefs (quota), department
    heads (quota) who handle cases, plus people who must not count: a quota head who handles nothing,
    a non-quota head and a prosecutor who do handle, a retired quota deputy with a case."""
    y = LN_YEAR
    out: dict[str, list[dict]] = {"units": [{"unit_code": "LN", "unit_name": "辽宁省人民检察院", "level": "province"}],
                                  "personnel": [], "departments": [], "cases": []}
    handling: list[tuple[str, str, bool]] = []  # (person_id, unit_code, leads a major case), in order

    def person(pid, unit, position, *, quota=True, dept=None, status="active"):
        out["personnel"].append({"year": y, "person_id": pid, "name": pid, "unit_code": unit, "dept_code": dept,
                                 "position": position, "is_quota": quota, "status": status,
                                 "is_party_secretary": position == "chief"})

    def dept(unit, code, head):
        out["departments"].append({"year": y, "unit_code": unit, "dept_code": code, "dept_name": code,
                                   "head_id": head, "supervisor_id": f"{unit}-D1"})

    def case(cid, unit, handler, *, major=False, accepted="2017-03-01", closed="2017-06-01"):
        out["cases"].append({"case_id": cid, "unit_code": unit, "category": "public_prosecution",
                             "handler_id": handler, "is_major": major, "accepted_date": accepted,
                             "closed_date": closed, "outcome": "prosecuted"})

    for i in range(LN_UNITS):
        u = f"LN{i:03d}"
        out["units"].append({"unit_code": u, "unit_name": f"辽宁第{i}院", "level": "county", "parent_code": "LN"})
        person(f"{u}-C", u, "chief")
        person(f"{u}-D1", u, "deputy_chief")
        person(f"{u}-D2", u, "deputy_chief")
        handling += [(f"{u}-C", u, True), (f"{u}-D1", u, True)]
        if i in LN_NOT_IMPLEMENTED:  # D2's only case closed in 2016: nothing handled in 2017
            case(f"{u}-OLD", u, f"{u}-D2", accepted="2016-03-01", closed="2016-12-31")
        else:
            handling.append((f"{u}-D2", u, i in LN_DEPUTY2_MAJOR))
        if i in LN_WITH_COMMITTEE_MEMBER:
            person(f"{u}-CM", u, "committee_member")
            handling.append((f"{u}-CM", u, False))
        for k in range(7 if i in LN_SEVEN_HEADS else 6):
            head = f"{u}-H{k}"
            dept(u, f"D{k}", head)
            person(head, u, "dept_head", dept=f"D{k}")
            handling.append((head, u, False))
        # People who must not count.
        dept(u, "DQ", f"{u}-HQ")  # a quota head who handled nothing
        person(f"{u}-HQ", u, "dept_head", dept="DQ")
        dept(u, "DN", f"{u}-HN")  # a head outside the quota, handling a major case
        person(f"{u}-HN", u, "dept_head", quota=False, dept="DN")
        case(f"{u}-N1", u, f"{u}-HN", major=True)
        person(f"{u}-P", u, "prosecutor", dept="D0")  # a prosecutor, handling cases
        case(f"{u}-P1", u, f"{u}-P")
        case(f"{u}-P2", u, f"{u}-P", major=True)
        person(f"{u}-R", u, "deputy_chief", status="retired")  # retired in 2017, one case
        case(f"{u}-R1", u, f"{u}-R")

    for j, (pid, u, major) in enumerate(handling):
        for k in range(9 if j < LN_EXTRA_CASE_HANDLERS else 8):
            # Case 0 spans New Year (accepted 2016, closed 2017) and is the major one when the leader
            # led a major case; case 1 is accepted late in 2017 and still open; the rest lie in 2017.
            if k == 0:
                case(f"{pid}-K{k}", u, pid, major=major, accepted="2016-11-01", closed="2017-02-01")
            elif k == 1:
                case(f"{pid}-K{k}", u, pid, accepted="2017-12-01", closed=None)
            else:
                case(f"{pid}-K{k}", u, pid)
    return out


def liaoning_figures(table: pl.DataFrame) -> dict[str, int]:
    """The report's figures from the province's leader_case_handling rows (a BI sum)."""
    rows = table.filter(pl.col("year") == LN_YEAR, pl.col("unit_code").str.starts_with("LN"))
    return {
        "units": rows.height,
        "implemented": int(rows.get_column("implemented").sum()),
        "chiefs_on_major": int(rows.get_column("chiefs_on_major").sum()),
        "leaders_handling": int(rows.get_column("leaders_handling").sum()),
        "leader_cases": int(rows.get_column("leader_cases").sum()),
    }


LIAONING_REPORT = {"units": 137, "implemented": 133, "chiefs_on_major": 280, "leaders_handling": 1274,
                   "leader_cases": 10345}

# -------------------------------------------------------------------------- (b) Heilongjiang 2021

HLJ_UNITS = 40
HLJ_YEARS = (2019, 2020, 2021)
HLJ_REPORTS = {2019: 586, 2020: 2995, 2021: 7189}  # what the records offices filed, per year …
HLJ_LEADER_REPORTS = {2019: 180, 2020: 900, 2021: 2302}  # … and how many of them leaders filed
HLJ_SILENT_2019 = range(10)  # units with no report at all in 2019 (零报告)
HLJ_STAFF = 20


def _spread(total: int, units: list[int]) -> dict[int, int]:
    """``total`` items over ``units`` as evenly as possible (the first ones get one more)."""
    q, r = divmod(total, len(units))
    return {u: q + (1 if k < r else 0) for k, u in enumerate(units)}


def heilongjiang() -> dict[str, list[dict]]:
    """40 procuratorates, rostered 2019–2021: a chief, a deputy chief, the head of D1 (a prosecutor by
    position: head_id makes him a leader) and 20 prosecutors, one retired clerk. Leaders' reports are
    filed by the three leaders in turn, the others by the prosecutors; dates are spread over the year."""
    out: dict[str, list[dict]] = {"units": [{"unit_code": "HLJ", "unit_name": "黑龙江省人民检察院", "level": "province"}],
                                  "personnel": [], "departments": [], "major_matter_reports": []}
    for i in range(HLJ_UNITS):
        u = f"HLJ{i:02d}"
        out["units"].append({"unit_code": u, "unit_name": f"黑龙江第{i}院", "level": "county", "parent_code": "HLJ"})
    for y in HLJ_YEARS:
        active_units = [i for i in range(HLJ_UNITS) if not (y == 2019 and i in HLJ_SILENT_2019)]
        totals = _spread(HLJ_REPORTS[y], active_units)
        leaders = _spread(HLJ_LEADER_REPORTS[y], active_units)
        for i in range(HLJ_UNITS):
            u = f"HLJ{i:02d}"
            staff = [(f"{u}-C", "chief", None), (f"{u}-D", "deputy_chief", None), (f"{u}-H", "prosecutor", "D1")]
            staff += [(f"{u}-P{k:02d}", "prosecutor", "D1") for k in range(HLJ_STAFF)]
            for pid, pos, dept in staff:
                out["personnel"].append({"year": y, "person_id": pid, "name": pid, "unit_code": u, "dept_code": dept,
                                         "position": pos, "is_quota": True, "status": "active"})
            out["personnel"].append({"year": y, "person_id": f"{u}-X", "name": f"{u}-X", "unit_code": u,
                                     "dept_code": "D1", "position": "clerk", "is_quota": False, "status": "retired"})
            out["departments"].append({"year": y, "unit_code": u, "dept_code": "D1", "dept_name": "第一检察部",
                                       "head_id": f"{u}-H", "supervisor_id": f"{u}-D"})
            n, n_lead = totals.get(i, 0), leaders.get(i, 0)
            filers = [f"{u}-C", f"{u}-D", f"{u}-H"]
            for k in range(n):
                reporter = filers[k % 3] if k < n_lead else f"{u}-P{k % HLJ_STAFF:02d}"
                out["major_matter_reports"].append({"report_id": f"{u}-{y}-{k:04d}", "unit_code": u, "reporter_id": reporter,
                                       "report_date": (dt.date(y, 1, 1) + dt.timedelta(days=k % 365)).isoformat(),
                                       "category": "internal_inquiry"})
    return out


def heilongjiang_figures(table: pl.DataFrame) -> dict[str, float]:
    """The report's figures from the province's 2021 major_matter_report_stats rows (a BI sum), with
    growth and share rounded as the report prints them."""
    rows = table.filter(pl.col("year") == 2021, pl.col("unit_code").str.starts_with("HLJ"))
    s = rows.select(pl.col("reports", "leader_reports", "reports_prev_year", "reports_two_years_ago").sum()).row(
        0, named=True
    )
    return {
        "reports": s["reports"],
        "reports_2020": s["reports_prev_year"],
        "reports_2019": s["reports_two_years_ago"],
        "leader_reports": s["leader_reports"],
        "growth_over_2019_pct": round((s["reports"] - s["reports_two_years_ago"]) / s["reports_two_years_ago"] * 100, 1),
        "growth_over_2020_pct": round((s["reports"] - s["reports_prev_year"]) / s["reports_prev_year"] * 100),
        "leader_share_pct": round(s["leader_reports"] / s["reports"] * 100, 1),
    }


# The report: 7,189 in 2021; +1126.8% over 2019 and +140% over 2020; 2,302 (32.0%) by leaders.
# Check by hand: (7189 − 586) / 586 = 11.2679… → 1126.8%; (7189 − 2995) / 2995 = 1.4003 → 140%;
# 2302 / 7189 = 0.32021… → 32.0%.
HEILONGJIANG_REPORT = {"reports": 7189, "reports_2020": 2995, "reports_2019": 586, "leader_reports": 2302,
                       "growth_over_2019_pct": 1126.8, "growth_over_2020_pct": 140, "leader_share_pct": 32.0}


# ----------------------------------------------------------------------- pure functions on frames


@pytest.fixture(scope="module")
def zones() -> dict[str, dict[str, list[dict]]]:
    return {"liaoning": liaoning(), "heilongjiang": heilongjiang()}


def test_liaoning_figures_from_the_pure_function(zones):
    z = zones["liaoning"]
    table = leader_case_handling(roster(z["personnel"]), departments(z["departments"]), cases(z["cases"]), RULES)
    assert liaoning_figures(table.collect()) == LIAONING_REPORT


def test_heilongjiang_figures_from_the_pure_function(zones):
    z = zones["heilongjiang"]
    table = major_matter_report_stats(
        roster(z["personnel"]), departments(z["departments"]), reports(z["major_matter_reports"]), RULES
    ).collect()
    assert heilongjiang_figures(table) == HEILONGJIANG_REPORT
    # 2019: ten units filed nothing (零报告).
    zero_2019 = table.filter(pl.col("year") == 2019, pl.col("zero_report")).get_column("unit_code").to_list()
    assert zero_2019 == [f"HLJ{i:02d}" for i in HLJ_SILENT_2019]


# ------------------------------------------------------------------- through the full Dagster run


def _cell(value) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "是" if value else "否"
    return str(value)


def write_landing(folder: Path, zone: dict[str, list[dict]]) -> None:
    """One CSV per source (UTF-8, English headers, every staged column; absent values blank)."""
    folder.mkdir(parents=True, exist_ok=True)
    for name, src in SOURCES.items():
        rows = zone.get(name)
        if rows is None and not src.required:
            continue  # optional source absent
        cols = [c.name for c in src.columns if not c.personal]
        data = {c: [_cell(r.get(c)) for r in rows or []] for c in cols}
        pl.DataFrame(data, schema={c: pl.String for c in cols}).write_csv(folder / f"{name}.csv")


@pytest.fixture(scope="module")
def warehouse(zones, tmp_path_factory) -> Path:
    """Both provinces in one landing zone, materialized landing → staged → derived through Dagster."""
    from assets import derived, landing, staged
    from pipelines.definitions import RESOURCES
    from pipelines.resources import local_resources

    root = tmp_path_factory.mktemp("seeds")
    zone = {
        name: zones["liaoning"].get(name, []) + zones["heilongjiang"].get(name, [])
        for name in ("units", "personnel", "departments", "cases", "major_matter_reports")
    }
    zone["talks"] = []
    write_landing(root / "landing", zone)
    wh = root / "warehouse"
    resources = dict(RESOURCES) | local_resources(root / "landing", wh, ROOT / "rules" / "default.yaml")
    from pipelines.partitions import range_tags

    result = dg.materialize(
        [*landing.defs.assets, *staged.defs.assets, *derived.defs.assets], resources=resources, tags=range_tags()
    )
    assert result.success
    RUN["result"] = result
    return wh


RUN: dict[str, dg.ExecuteInProcessResult] = {}


def test_nothing_was_rejected_on_the_way(warehouse):
    report = pl.read_parquet(warehouse / "staged" / "ingest_report.parquet")
    totals = report.select(pl.col("rows_read", "rows_accepted", "rows_rejected").sum()).row(0, named=True)
    assert totals["rows_rejected"] == 0, pl.read_parquet(warehouse / "staged" / "rejected_records.parquet").head(5)
    assert totals["rows_read"] == totals["rows_accepted"]


def test_derived_parquet_has_the_published_schemas(warehouse):
    from lianjian.publish.publish import PUBLISHED_FORM

    for name in ("talk_obligations", "case_quality", "leader_case_handling", "major_matter_report_stats"):
        files = sorted((warehouse / "derived" / name).glob("*.parquet"))  # one file per year
        if name in PUBLISHED_FORM:  # the published year file: ``year`` is in the file's name only
            assert all("year" not in pl.read_parquet_schema(f) for f in files), name
        table = scan_published_form(name, [(p.stem, p) for p in files]).collect()
        assert table.schema == PUBLISHED[name].schema(), name
        assert table.equals(table.sort(list(PUBLISHED[name].key), nulls_last=False)), name
        assert table.height > 0 and not table.select(PUBLISHED[name].key).is_duplicated().any(), name
    # Nothing personal in the derived layer.
    assert "id_number" not in pl.read_parquet_schema(warehouse / "staged" / "personnel.parquet")


def test_liaoning_figures_through_dagster(warehouse):
    table = pl.read_parquet(warehouse / "derived" / "leader_case_handling" / "*.parquet")
    assert liaoning_figures(table) == LIAONING_REPORT
    # The asset's own metadata of the report's year shows the implemented units: 133 in Liaoning;
    # Heilongjiang's units have no quota leader handling a case (no cases at all), so none of theirs.
    # Each year's materialization counts that year only.
    mats = RUN["result"].get_asset_materialization_events()
    meta = {
        m.partition: m.materialization.metadata
        for m in mats
        if m.asset_key == dg.AssetKey(["derived", "leader_case_handling"])
    }
    assert meta[str(LN_YEAR)]["implemented"].value == 133
    assert sum(m["implemented"].value for m in meta.values()) == table.get_column("implemented").sum()


def test_heilongjiang_figures_through_dagster(warehouse):
    table = pl.read_parquet(warehouse / "derived" / "major_matter_report_stats" / "*.parquet")
    assert heilongjiang_figures(table) == HEILONGJIANG_REPORT


def test_derived_asset_specs():
    from assets import derived

    specs = {spec.key.path[1]: spec for a in derived.defs.assets for spec in a.specs}
    assert sorted(specs) == ["case_quality", "leader_case_handling", "major_matter_report_monthly",
                             "major_matter_report_stats", "review_leads", "talk_obligations"]
    rule = {"talk_obligations": "R1", "leader_case_handling": "R5", "case_quality": "R6",
            "major_matter_report_stats": "R7", "major_matter_report_monthly": "R9", "review_leads": "R10"}
    for name, spec in specs.items():
        assert spec.key.path == ["derived", name]
        assert spec.group_name == "derived"
        assert spec.tags.get("rule") == rule[name]
        assert spec.owners and all(o.startswith("team:") for o in spec.owners)
        assert {"polars", "parquet"} <= set(spec.kinds)
        assert spec.code_version
        # Chinese first, citing the rule.
        assert "\u4e00" <= spec.description.lstrip('"')[0] <= "\u9fff" and rule[name] in spec.description
        assert all(dep.asset_key.path[0] == "staged" for dep in spec.deps)
