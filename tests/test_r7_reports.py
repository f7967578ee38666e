"""R7 "三个规定" reporting statistics (RULES.md R7; 黑龙江巡礼): golden tests worked out by hand."""

from __future__ import annotations

import polars as pl
from hypothesis import given, settings
from hypothesis import strategies as st
from support_scoring import default_rules, departments, reports, roster, rules_with

from lianjian.contract import PUBLISHED
from lianjian.scoring.reports import major_matter_report_stats

RULES = default_rules()

PEOPLE = [
    # U1 in 2024: L deputy chief; H heads D1 (position says prosecutor); X says dept_head but heads
    # nothing; RL a retired deputy chief (still in the roster); Z was a deputy chief in 2023 and is a
    # prosecutor in 2024; A1–A3 prosecutors. Active: L, H, X, Z, A1, A2, A3 = 7 staff.
    {"person_id": "L", "position": "deputy_chief"},
    {"person_id": "H", "dept_code": "D1"},
    {"person_id": "X", "position": "dept_head", "dept_code": "D1"},
    {"person_id": "RL", "position": "deputy_chief", "status": "retired"},
    {"person_id": "Z"},
    {"person_id": "A1"},
    {"person_id": "A2"},
    {"person_id": "A3"},
    {"person_id": "Z", "year": 2023, "position": "deputy_chief"},
    # U2 in 2024: nobody active.
    {"person_id": "T", "unit_code": "U2", "status": "transferred"},
]
DEPTS = [{"dept_code": "D1", "head_id": "H"}]
REPORTS = [
    # U1, 2024: R1 by L (leader), R2 by H (department head), R3 by X (not a head), R4 by RL (a
    # leadership member in 2024's roster, whatever the status), R5 by Z (a leader only in 2023).
    {"report_id": "R1", "reporter_id": "L", "report_date": "2024-01-01"},
    {"report_id": "R2", "reporter_id": "H", "report_date": "2024-12-31"},
    {"report_id": "R3", "reporter_id": "X"},
    {"report_id": "R4", "reporter_id": "RL"},
    {"report_id": "R5", "reporter_id": "Z"},
    # U1, 2023: two (R6 by Z, then a leader); 2022: one; 2021: one (too early for any 2024 column).
    {"report_id": "R6", "reporter_id": "Z", "report_date": "2023-05-01"},
    {"report_id": "R7", "reporter_id": "A1", "report_date": "2023-12-31"},
    {"report_id": "R8", "reporter_id": "A1", "report_date": "2022-07-01"},
    {"report_id": "R9", "reporter_id": "A1", "report_date": "2021-07-01"},
    # U2: one in 2023, none in 2024.
    {"report_id": "R10", "unit_code": "U2", "reporter_id": "T", "report_date": "2023-03-01"},
    # U3 has no roster: no row, whatever it reports.
    {"report_id": "R11", "unit_code": "U3", "reporter_id": "A1"},
]


def stats() -> dict[tuple[int, str], dict]:
    out = major_matter_report_stats(roster(PEOPLE), departments(DEPTS), reports(REPORTS), RULES).collect()
    assert out.schema == PUBLISHED["major_matter_report_stats"].schema()
    return {(r["year"], r["unit_code"]): r for r in out.to_dicts()}


def test_one_row_per_unit_with_a_roster():
    # Rosters: U1 in 2023 (Z) and 2024; U2 in 2024. U3 reports but has no roster.
    assert sorted(stats()) == [(2023, "U1"), (2024, "U1"), (2024, "U2")]


def test_counts_leader_reports_and_rate():
    u1 = stats()[(2024, "U1")]
    # reports R1–R5 = 5; leaders R1 (L), R2 (H), R4 (RL) = 3; rate 5 / 7 × 100 = 71.428571… written
    # rounded like a score: 71.43
    assert (u1["staff"], u1["reports"], u1["leader_reports"], u1["zero_report"]) == (7, 5, 3, False)
    assert u1["per_hundred_staff"] == 71.43
    # Y−1 = 2023: R6, R7 = 2; Y−2 = 2022: R8 = 1.
    assert (u1["reports_prev_year"], u1["reports_two_years_ago"]) == (2, 1)


def test_previous_years_count_even_without_that_years_roster():
    u1_2023 = stats()[(2023, "U1")]
    # 2023: staff Z = 1; R6 (Z, then a deputy chief → leader), R7 = 2 reports, 1 by a leader;
    # 2022: R8 = 1 (no roster in 2022 needed); 2021: R9 = 1.
    assert (u1_2023["staff"], u1_2023["reports"], u1_2023["leader_reports"]) == (1, 2, 1)
    assert u1_2023["per_hundred_staff"] == 200.0
    assert (u1_2023["reports_prev_year"], u1_2023["reports_two_years_ago"]) == (1, 1)


def test_zero_report_and_no_active_staff():
    u2 = stats()[(2024, "U2")]
    # Nobody active → staff 0 and the rate is empty (not 0, not infinite); no report → zero_report;
    # one report in 2023 → reports_prev_year 1; none in 2022 → 0.
    assert (u2["staff"], u2["reports"], u2["per_hundred_staff"], u2["zero_report"]) == (0, 0, None, True)
    assert (u2["reports_prev_year"], u2["reports_two_years_ago"]) == (1, 0)


@settings(max_examples=25, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(["U1", "U2", "U3"]), st.sampled_from([2022, 2023, 2024])), max_size=30))
def test_unit_rows_add_up_to_the_province(reports_spec):
    # Property: summing the rows of Y over units that have a roster gives every report of those units
    # dated in Y, Y−1, Y−2.
    people = [{"person_id": f"P{u}", "unit_code": u, "year": 2024} for u in ("U1", "U2", "U3")]
    rs = [
        {"report_id": f"R{i}", "unit_code": u, "reporter_id": f"P{u}", "report_date": f"{y}-06-01"}
        for i, (u, y) in enumerate(reports_spec)
    ]
    out = major_matter_report_stats(roster(people), departments([]), reports(rs), RULES).collect()
    sums = out.select(pl.col("reports", "reports_prev_year", "reports_two_years_ago").sum()).row(0)
    assert sums == tuple(sum(1 for _, y in reports_spec if y == year) for year in (2024, 2023, 2022))
    assert out.get_column("zero_report").to_list() == [
        not any(u == unit and y == 2024 for u, y in reports_spec) for unit in ("U1", "U2", "U3")
    ]


def test_per_hundred_staff_rounded_half_away_from_zero_with_the_rules_rounding():
    """docs/rules.md R7 (settled reading): per_hundred_staff is rounded like a score. 1 report over 8
    staff = 12.5 exactly; over 16 staff = 6.25 → 2 decimals 6.25, with rounding_decimals 1 for 2024
    6.3 (half away from zero, not half to even 6.2); 1 over 3 staff = 33.333… → 33.33 (33.3)."""
    def rate(staff: int, rules) -> float:
        people = [{"person_id": f"P{i}"} for i in range(staff)]
        out = major_matter_report_stats(roster(people), departments([]), reports([{"report_id": "R1", "reporter_id": "P0"}]), rules)
        return out.collect().get_column("per_hundred_staff")[0]

    one_decimal = rules_with({"years": {2024: {"rounding_decimals": 1}}})
    assert (rate(8, RULES), rate(16, RULES), rate(3, RULES)) == (12.5, 6.25, 33.33)
    assert (rate(16, one_decimal), rate(3, one_decimal)) == (6.3, 33.3)


def test_leader_reports_count_heads_of_departments_of_their_own_unit_only():
    """docs/rules.md R7 (settled reading): a reporter counts as a leader when a leadership member, or
    the head of a department of their own unit, in that year's roster. O is in U1's roster but named
    head of U2's department E1: O's report is not a leader report; Q heads U1's D1: it is."""
    people = [{"person_id": "O"}, {"person_id": "Q", "dept_code": "D1"}, {"person_id": "W", "unit_code": "U2"}]
    depts = [{"dept_code": "D1", "head_id": "Q"}, {"unit_code": "U2", "dept_code": "E1", "head_id": "O"}]
    rs = [{"report_id": "R1", "reporter_id": "O"}, {"report_id": "R2", "reporter_id": "Q"}]
    out = major_matter_report_stats(roster(people), departments(depts), reports(rs), RULES).collect()
    u1 = out.filter(pl.col("unit_code") == "U1").row(0, named=True)
    assert (u1["reports"], u1["leader_reports"]) == (2, 1)
