"""R9 "三个规定" monthly notice (RULES.md R9; 黑龙江巡礼: 月通报、季分析): golden cases worked out by hand.

The zone (run date 2025-03-15, so 2024 has twelve months and 2025 three):

    P  province, no parent      2024: 2 active               report Jan (1)
    Q  province, no parent      2024: 1 active               no report
    C1 city under P             2024: 3 active (L1 deputy chief)   Jan 1 (by L1), Apr 1; 2025: Jan 1
    C2 city under P             2024: 6 active (H2 heads D2)       Mar 2 (one by H2)
    C3 city under P             2024: 4 active               no report all year
    C4 city under P             2024: nobody active (R4 retired)   Feb 1 (by R4)
    X  county under P           2024: 2 active               Jan 1
    D1 city under Q             no roster in 2024            Jan 1 (no row: no roster)
"""

from __future__ import annotations

import datetime as dt

import pytest
from support_scoring import default_rules, departments, reports, roster, rules_with, units

from lianjian.contract import PUBLISHED
from lianjian.scoring.monthly import major_matter_report_monthly

RUN_DATE = dt.date(2025, 3, 15)

UNITS = [
    {"unit_code": "P", "level": "province"},
    {"unit_code": "Q", "level": "province"},
    {"unit_code": "C1", "level": "city", "parent_code": "P"},
    {"unit_code": "C2", "level": "city", "parent_code": "P"},
    {"unit_code": "C3", "level": "city", "parent_code": "P"},
    {"unit_code": "C4", "level": "city", "parent_code": "P"},
    {"unit_code": "X", "level": "county", "parent_code": "P"},
    {"unit_code": "D1", "level": "city", "parent_code": "Q"},
]


def _people() -> list[dict]:
    rows = [{"person_id": f"P{i}", "unit_code": "P"} for i in range(2)]
    rows += [{"person_id": "Q0", "unit_code": "Q"}]
    rows += [{"person_id": "L1", "unit_code": "C1", "position": "deputy_chief"}]
    rows += [{"person_id": f"C1-{i}", "unit_code": "C1"} for i in range(2)]
    rows += [{"person_id": "H2", "unit_code": "C2", "dept_code": "D2"}]
    rows += [{"person_id": f"C2-{i}", "unit_code": "C2"} for i in range(5)]
    rows += [{"person_id": f"C3-{i}", "unit_code": "C3"} for i in range(4)]
    rows += [{"person_id": "R4", "unit_code": "C4", "status": "retired"}]
    rows += [{"person_id": f"X{i}", "unit_code": "X"} for i in range(2)]
    rows += [{"person_id": "L1", "unit_code": "C1", "year": 2025, "position": "deputy_chief"}]
    rows += [{"person_id": f"C1-{i}", "unit_code": "C1", "year": 2025} for i in range(2)]
    return rows


REPORTS = [
    {"report_id": "M01", "unit_code": "P", "reporter_id": "P0", "report_date": "2024-01-20"},
    {"report_id": "M02", "unit_code": "C1", "reporter_id": "L1", "report_date": "2024-01-05"},
    {"report_id": "M03", "unit_code": "C1", "reporter_id": "C1-0", "report_date": "2024-04-30"},
    {"report_id": "M04", "unit_code": "C1", "reporter_id": "C1-1", "report_date": "2025-01-02"},
    {"report_id": "M05", "unit_code": "C2", "reporter_id": "H2", "report_date": "2024-03-01"},
    {"report_id": "M06", "unit_code": "C2", "reporter_id": "C2-0", "report_date": "2024-03-31"},
    {"report_id": "M07", "unit_code": "C4", "reporter_id": "R4", "report_date": "2024-02-10"},
    {"report_id": "M08", "unit_code": "X", "reporter_id": "X0", "report_date": "2024-01-31"},
    {"report_id": "M09", "unit_code": "D1", "reporter_id": "Q0", "report_date": "2024-01-15"},
]


def monthly(rules=None, run_date: dt.date = RUN_DATE, people=None, unit_rows=None, report_rows=None) -> dict:
    out = major_matter_report_monthly(
        units(unit_rows or UNITS),
        roster(people or _people()),
        departments([{"dept_code": "D2", "unit_code": "C2", "head_id": "H2"}]),
        reports(REPORTS if report_rows is None else report_rows),
        rules or default_rules(),
        run_date,
    ).collect()
    assert out.schema == PUBLISHED["major_matter_report_monthly"].schema()
    return {(r["year"], r["month"], r["unit_code"]): r for r in out.to_dicts()}


def test_one_row_per_unit_with_a_roster_and_month_begun():
    rows = monthly()
    # 2024: 7 units with a roster (D1 has none, whatever it reports) × 12 months; 2025: C1 × Jan–Mar
    # (the run date 2025-03-15 is in March: April–December have not begun).
    assert len(rows) == 7 * 12 + 3
    assert {u for (y, _, u) in rows if y == 2024} == {"P", "Q", "C1", "C2", "C3", "C4", "X"}
    assert sorted(m for (y, m, _) in rows if y == 2025) == [1, 2, 3]


@pytest.mark.parametrize("run_date, months", [(dt.date(2025, 3, 1), 3), (dt.date(2025, 2, 28), 2), (dt.date(2024, 12, 31), 0)])
def test_months_not_yet_begun_have_no_row(run_date, months):
    rows = monthly(run_date=run_date)
    # March begins on 1 March (included that day); on 28 February only January and February;
    # in 2024 no month of 2025 has begun and 2024 has all twelve.
    assert len([k for k in rows if k[0] == 2025]) == months
    assert len([k for k in rows if k[0] == 2024]) == 7 * 12


def test_counts_to_date_and_leader_reports_of_one_unit():
    rows = monthly()
    c1 = [rows[(2024, m, "C1")] for m in range(1, 13)]
    # C1: M02 on 5 Jan by L1 (deputy chief → leader), M03 on 30 Apr by C1-0. Staff 3 every month.
    assert [r["reports"] for r in c1] == [1, 0, 0, 1] + [0] * 8
    assert [r["leader_reports"] for r in c1] == [1, 0, 0, 0] + [0] * 8
    assert [r["reports_to_date"] for r in c1] == [1, 1, 1, 2] + [2] * 8
    assert {r["staff"] for r in c1} == {3}
    # per hundred to date: 1/3 × 100 = 33.333… → 33.33; 2/3 × 100 = 66.666… → 66.67 (half away from zero)
    assert [r["per_hundred_staff_to_date"] for r in c1[:5]] == [33.33, 33.33, 33.33, 66.67, 66.67]
    # C2 in March: M05 by H2 (heads D2 of his own unit, position prosecutor → leader), M06 not.
    c2 = rows[(2024, 3, "C2")]
    assert (c2["reports"], c2["leader_reports"], c2["reports_to_date"]) == (2, 1, 2)


def test_a_month_without_report_after_one_with_a_report():
    rows = monthly()
    # C1 reported in January and April: Feb 1, Mar 2 months without; April 0; May … Dec 1 … 8.
    assert [rows[(2024, m, "C1")]["months_without_report"] for m in range(1, 13)] == [0, 1, 2, 0, 1, 2, 3, 4, 5, 6, 7, 8]
    # C2 reported first in March: January 1, February 2 (counted from 1 January, never from Y−1).
    assert [rows[(2024, m, "C2")]["months_without_report"] for m in (1, 2, 3, 4)] == [1, 2, 0, 1]


def test_a_year_without_any_report():
    rows = monthly()
    # C3 reports nothing in 2024: every month 0 reports, 0.00 per hundred (it has staff), and the
    # months without a report run 1 … 12.
    c3 = [rows[(2024, m, "C3")] for m in range(1, 13)]
    assert [r["months_without_report"] for r in c3] == list(range(1, 13))
    assert {(r["reports"], r["reports_to_date"], r["per_hundred_staff_to_date"]) for r in c3} == {(0, 0, 0.0)}


def test_the_new_year_starts_from_zero():
    rows = monthly()
    # C1 2025: M04 on 2 Jan; nothing dated 2024 counts. Jan 1/3 → 33.33, Feb months without 1.
    got = [(rows[(2025, m, "C1")]["reports_to_date"], rows[(2025, m, "C1")]["months_without_report"]) for m in (1, 2, 3)]
    assert got == [(1, 0), (1, 1), (1, 2)]


def test_rank_ties_share_a_rank_and_units_without_staff_have_none():
    rows = monthly()
    rank = lambda m, u: rows[(2024, m, u)]["rank"]  # noqa: E731
    # Cities under P with staff: C1, C2, C3 (C4 has nobody active) → 3 peers each, C4's peers 3 too.
    # January: C1 33.33, C2 0.00, C3 0.00 → C1 1; C2 and C3 tie: 1 + one greater = 2 each.
    assert (rank(1, "C1"), rank(1, "C2"), rank(1, "C3")) == (1, 2, 2)
    # March: C1 1/3 → 33.33, C2 2/6 → 33.33 (equal as written) → both 1; C3 0.00 → 1 + 2 = 3.
    assert (rank(3, "C1"), rank(3, "C2"), rank(3, "C3")) == (1, 1, 3)
    # April: C1 66.67 → 1, C2 33.33 → 2, C3 → 3.
    assert (rank(4, "C1"), rank(4, "C2"), rank(4, "C3")) == (1, 2, 3)
    assert {rows[(2024, m, u)]["peers"] for m in range(1, 13) for u in ("C1", "C2", "C3", "C4")} == {3}
    # C4: nobody active → per hundred, rank empty; its February report is still counted; never 少报告.
    c4 = rows[(2024, 2, "C4")]
    assert (c4["staff"], c4["reports"], c4["per_hundred_staff_to_date"], c4["rank"], c4["low_report"]) == (0, 1, None, None, False)


def test_low_report_against_half_the_peers_median():
    rows = monthly()
    low = lambda m: [rows[(2024, m, u)]["low_report"] for u in ("C1", "C2", "C3")]  # noqa: E731
    # January: values 33.33, 0, 0 → median 0 → 0.5 × 0 = 0: nobody below 0 → none low.
    assert low(1) == [False, False, False]
    # March: 33.33, 33.33, 0 → median 33.33 → 16.665: C3 (0) is below → 少报告.
    assert low(3) == [False, False, True]
    # December: 66.67, 33.33, 0 → median 33.33 → C3 still low.
    assert low(12) == [False, False, True]


def test_peers_are_same_parent_and_level_and_top_units_group_by_level():
    rows = monthly()
    # X is the only county under P: 1 peer (itself), rank 1, never low (fewer than 3 peers).
    x = rows[(2024, 1, "X")]
    assert (x["peers"], x["rank"], x["per_hundred_staff_to_date"], x["low_report"]) == (1, 1, 50.0, False)
    # P and Q: provinces without a parent → peers of each other. Q 0 < 0.5 × median(50, 0) = 25, but
    # only 2 peers < 3 → not low.
    q, p = rows[(2024, 1, "Q")], rows[(2024, 1, "P")]
    assert (p["peers"], p["rank"], q["rank"], q["per_hundred_staff_to_date"], q["low_report"]) == (2, 1, 2, 0.0, False)


def test_fewer_peers_required_by_the_rules_file():
    rules = rules_with({"monthly_notice": {"low_report_min_peers": 2}})
    rows = monthly(rules)
    # With 2 peers enough, Q (0 < 25) becomes 少报告; P (50) not.
    assert (rows[(2024, 1, "Q")]["low_report"], rows[(2024, 1, "P")]["low_report"]) == (True, False)


def test_low_report_boundary_and_share_setting_per_year():
    # Three cities under P with 10 staff each and 1, 2, 4 reports in January → 10, 20, 40;
    # median 20; 0.5 × 20 = 10: K1 (10) is not below 10 → not low (strict "below").
    people, rs = [], []
    for unit, n in (("K1", 1), ("K2", 2), ("K3", 4)):
        people += [{"person_id": f"{unit}-{i}", "unit_code": unit} for i in range(10)]
        people += [{"person_id": f"{unit}-{i}", "unit_code": unit, "year": 2025} for i in range(10)]
        for year in (2024, 2025):
            rs += [{"report_id": f"{unit}-{year}-{i}", "unit_code": unit, "reporter_id": f"{unit}-0", "report_date": f"{year}-01-10"} for i in range(n)]
    us = [{"unit_code": "P", "level": "province"}] + [{"unit_code": u, "level": "city", "parent_code": "P"} for u in ("K1", "K2", "K3")]
    rules = rules_with({"years": {2025: {"monthly_notice": {"low_report_share": 0.6}}}})
    rows = monthly(rules, people=people, unit_rows=us, report_rows=rs)
    k1_2024, k1_2025 = rows[(2024, 1, "K1")], rows[(2024 + 1, 1, "K1")]
    assert (k1_2024["per_hundred_staff_to_date"], k1_2024["low_report"]) == (10.0, False)
    # 2025 overrides the share: 0.6 × 20 = 12 → K1 (10) is below → low; 2024 keeps 0.5.
    assert (k1_2025["per_hundred_staff_to_date"], k1_2025["low_report"]) == (10.0, True)
    assert [rows[(2025, 1, u)]["rank"] for u in ("K1", "K2", "K3")] == [3, 2, 1]


@pytest.mark.parametrize(
    "setting, where",
    [({"low_report_min_peers": 0}, "monthly_notice.low_report_min_peers"), ({"low_report_share": -0.5}, "monthly_notice.low_report_share")],
)
def test_the_rules_file_rejects_impossible_monthly_settings(setting, where):
    from lianjian.errors import FatalError

    with pytest.raises(FatalError, match=where.replace(".", r"\.")):
        rules_with({"monthly_notice": setting})


from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402


@settings(max_examples=25, deadline=None)
@given(
    st.lists(st.tuples(st.sampled_from(["C1", "C2", "C3", "X"]), st.integers(1, 12)), max_size=25),
    st.sampled_from([dt.date(2024, 12, 31), dt.date(2024, 7, 1), dt.date(2024, 1, 1)]),
)
def test_months_add_up_and_ranks_stay_within_the_peers(spec, run_date):
    """Property: over the months begun, the monthly reports add up to reports_to_date; a unit's last
    month with a report is `months_without_report` back; rank is between 1 and peers; never low with
    fewer peers than the setting."""
    rs = [{"report_id": f"R{i}", "unit_code": u, "reporter_id": "P0", "report_date": f"2024-{m:02d}-15"} for i, (u, m) in enumerate(spec)]
    people = [p for p in _people() if p.get("year", 2024) == 2024]
    rows = monthly(run_date=run_date, people=people, report_rows=rs)
    months = run_date.month
    for unit in ("C1", "C2", "C3", "X"):
        series = [rows[(2024, m, unit)] for m in range(1, months + 1)]
        assert len([k for k in rows if k[2] == unit]) == months
        dated = [m for u, m in spec if u == unit and m <= months]
        assert [r["reports"] for r in series] == [dated.count(m) for m in range(1, months + 1)]
        assert [r["reports_to_date"] for r in series] == [sum(1 for d in dated if d <= m) for m in range(1, months + 1)]
        for m, r in enumerate(series, 1):
            last = max([d for d in dated if d <= m], default=0)
            assert r["months_without_report"] == m - last
            assert 1 <= r["rank"] <= r["peers"]
            assert not (r["low_report"] and r["peers"] < 3)
