"""R5 leaders who handle cases and R6 case quality (RULES.md R5, R6): golden tests worked out by hand."""

from __future__ import annotations

import polars as pl
from support_scoring import cases, default_rules, departments, roster, rules_with

from lianjian.contract import PUBLISHED
from lianjian.scoring.cases import case_quality, leader_case_handling

RULES = default_rules()


def by_unit(frame: pl.LazyFrame) -> dict[tuple[int, str], dict]:
    return {(r["year"], r["unit_code"]): r for r in frame.collect().to_dicts()}


# ------------------------------------------------------------------------------------------- R5

R5_ROSTER = [
    # U1: chief C, deputy D, committee member CM (all quota); H heads D1 (position says prosecutor,
    # but head_id names H, so H is a department head); X says dept_head but heads nothing; NQ is a
    # non-quota deputy; RT a retired quota deputy; PR an ordinary quota prosecutor.
    {"person_id": "C", "position": "chief", "is_quota": True},
    {"person_id": "D", "position": "deputy_chief", "is_quota": True},
    {"person_id": "CM", "position": "committee_member", "is_quota": True},
    {"person_id": "H", "position": "prosecutor", "dept_code": "D1", "is_quota": True},
    {"person_id": "X", "position": "dept_head", "dept_code": "D1", "is_quota": True},
    {"person_id": "NQ", "position": "deputy_chief", "is_quota": False},
    {"person_id": "RT", "position": "deputy_chief", "is_quota": True, "status": "retired"},
    {"person_id": "PR", "dept_code": "D1", "is_quota": True},
    # U2: chief C2 handles, deputy D2 handles nothing in 2024, head H2 handles.
    {"person_id": "C2", "unit_code": "U2", "position": "chief", "is_quota": True},
    {"person_id": "D2", "unit_code": "U2", "position": "deputy_chief", "is_quota": True},
    {"person_id": "H2", "unit_code": "U2", "dept_code": "E1", "is_quota": True},
    # U3: the chief is outside the quota; only the department head H3 is a quota leader.
    {"person_id": "C3", "unit_code": "U3", "position": "chief", "is_quota": False},
    {"person_id": "H3", "unit_code": "U3", "dept_code": "F1", "is_quota": True},
    # U4: nobody but a prosecutor.
    {"person_id": "P4", "unit_code": "U4", "is_quota": True},
]
R5_DEPTS = [
    {"dept_code": "D1", "head_id": "H"},
    {"unit_code": "U2", "dept_code": "E1", "head_id": "H2"},
    {"unit_code": "U3", "dept_code": "F1", "head_id": "H3"},
]
R5_CASES = [
    {"case_id": "K1", "handler_id": "C", "is_major": True, "accepted_date": "2023-06-01", "closed_date": "2025-02-01"},
    {"case_id": "K2", "handler_id": "D", "accepted_date": "2024-03-01"},  # open
    {"case_id": "K3", "handler_id": "CM", "is_major": True, "accepted_date": "2024-02-01", "closed_date": "2024-04-01"},
    {"case_id": "K4", "handler_id": "H", "is_major": True, "accepted_date": "2024-05-01"},
    {"case_id": "K5", "handler_id": "H", "accepted_date": "2024-05-02", "closed_date": "2024-05-30"},
    {"case_id": "K6", "handler_id": "X", "is_major": True},  # X is no department head: not a leader
    {"case_id": "K7", "handler_id": "PR"},
    {"case_id": "K7b", "handler_id": "NQ", "is_major": True},  # NQ outside the quota
    {"case_id": "K8", "handler_id": "C2", "unit_code": "U2"},
    # D2's only case closed on 2023-12-31: not handled in 2024.
    {"case_id": "K9", "handler_id": "D2", "unit_code": "U2", "accepted_date": "2023-01-01", "closed_date": "2023-12-31"},
    {"case_id": "K10", "handler_id": "H2", "unit_code": "U2", "accepted_date": "2024-12-31"},
    {"case_id": "K11", "handler_id": "H3", "unit_code": "U3", "is_major": True},
]


def test_r5_output_schema():
    out = leader_case_handling(roster(R5_ROSTER), departments(R5_DEPTS), cases(R5_CASES), RULES).collect()
    assert out.schema == PUBLISHED["leader_case_handling"].schema()
    assert out.select("year", "unit_code").rows() == [(2024, "U1"), (2024, "U2"), (2024, "U3"), (2024, "U4")]


def test_r5_per_unit_counts():
    out = by_unit(leader_case_handling(roster(R5_ROSTER), departments(R5_DEPTS), cases(R5_CASES), RULES))
    cols = ["quota_leaders", "leaders_handling", "chiefs_on_major", "leader_cases", "leader_major_cases", "implemented"]
    got = {k: tuple(v[c] for c in cols) for k, v in out.items()}
    assert got == {
        # U1: quota leaders C, D, CM, H (not X: heads nothing; not NQ: outside the quota; not RT:
        # retired; not PR: no leader) = 4, all handled = 4; chiefs on a major case: C (K1) = 1 (D's
        # K2 is not major, CM is no chief); cases K1–K5 = 5, major K1, K3, K4 = 3; C, D, CM all
        # handled → implemented.
        (2024, "U1"): (4, 4, 1, 5, 3, True),
        # U2: C2, D2, H2 = 3; D2's K9 closed 2023-12-31 → 2 handling; K8, K10 = 2 cases, no major;
        # deputy D2 handled nothing → not implemented.
        (2024, "U2"): (3, 2, 0, 2, 0, False),
        # U3: only H3 (the chief is outside the quota) → 1 handling, K11 major; no quota leader among
        # chief/deputy/committee member → not implemented.
        (2024, "U3"): (1, 1, 0, 1, 1, False),
        # U4: no leaders at all.
        (2024, "U4"): (0, 0, 0, 0, 0, False),
    }


def test_r5_handled_in_year_spans_years():
    # C is chief of U1 in 2022–2025. K1 runs 2023-06-01 → 2025-02-01 (handled in 2023, 2024, 2025);
    # K2 runs 2022-01-01 → 2023-12-31 (2022, 2023); K3 is accepted 2025-01-01, open (2025); K4 is
    # accepted 2024-12-31, open (2024, 2025).
    people = [{"person_id": "C", "position": "chief", "is_quota": True, "year": y} for y in (2022, 2023, 2024, 2025)]
    cs = [
        {"case_id": "K1", "handler_id": "C", "accepted_date": "2023-06-01", "closed_date": "2025-02-01"},
        {"case_id": "K2", "handler_id": "C", "accepted_date": "2022-01-01", "closed_date": "2023-12-31"},
        {"case_id": "K3", "handler_id": "C", "accepted_date": "2025-01-01"},
        {"case_id": "K4", "handler_id": "C", "accepted_date": "2024-12-31"},
    ]
    out = by_unit(leader_case_handling(roster(people), departments([]), cases(cs), RULES))
    assert {y: out[(y, "U1")]["leader_cases"] for y in (2022, 2023, 2024, 2025)} == {2022: 1, 2023: 2, 2024: 2, 2025: 3}
    assert all(out[(y, "U1")]["implemented"] for y in (2022, 2023, 2024, 2025))


def test_r5_implemented_false_when_one_key_leader_handled_nothing():
    people = [
        {"person_id": "C", "position": "chief", "is_quota": True},
        {"person_id": "CM", "position": "committee_member", "is_quota": True},  # handles nothing
        {"person_id": "H", "dept_code": "D1", "is_quota": True},  # handles nothing: does not matter
    ]
    cs = [{"case_id": "K1", "handler_id": "C"}]
    out = by_unit(leader_case_handling(roster(people), departments([{"dept_code": "D1", "head_id": "H"}]), cases(cs), RULES))
    assert out[(2024, "U1")]["implemented"] is False
    # Once CM handles one, it is implemented even though head H handled nothing.
    cs.append({"case_id": "K2", "handler_id": "CM"})
    out = by_unit(leader_case_handling(roster(people), departments([{"dept_code": "D1", "head_id": "H"}]), cases(cs), RULES))
    assert (out[(2024, "U1")]["implemented"], out[(2024, "U1")]["leaders_handling"]) == (True, 2)


# ------------------------------------------------------------------------------------------- R6


def _r6_cases() -> list[dict]:
    a = {"handler_id": "A", "closed_date": "2024-06-01"}
    both = {"dept_verified": True, "supervisor_verified": True}
    si, isup, pp, ca = "self_investigation", "investigation_supervision", "public_prosecution", "civil_administrative"
    return [
        {**a, "case_id": "K1", "category": si, "outcome": "not_filed", "quality_rating": "excellent", "is_major": True},
        {**a, "case_id": "K2", "category": si, "outcome": "prosecuted", "quality_rating": "qualified"},
        {**a, **both, "case_id": "K3", "category": si, "outcome": "filed_then_revoked", "quality_rating": "flawed",
         "error_type": "wrong_filing"},
        {**a, "case_id": "K4", "category": isup, "outcome": "arrest_then_revoked", "quality_rating": "unqualified",
         "error_type": "wrong_arrest", "dept_verified": True},
        {**a, "case_id": "K5", "category": isup, "outcome": "arrested"},
        {**a, "case_id": "K6", "category": isup, "outcome": "not_prosecuted", "supervisor_verified": True},
        {**a, **both, "case_id": "K7", "category": pp, "outcome": "withdrawn"},
        {**a, "case_id": "K8", "category": pp, "outcome": "missed_or_wrong"},
        {**a, "case_id": "K9", "category": pp, "outcome": "acquitted"},
        {**a, "case_id": "K10", "category": pp, "outcome": "not_prosecuted"},
        {**a, "case_id": "K11", "category": pp, "outcome": "prosecuted", "public_complaint": True},
        {**a, "case_id": "K12", "category": pp, "outcome": "prosecuted"},
        {**a, "case_id": "K13", "category": ca, "outcome": "not_filed"},
        {**a, **both, "case_id": "K14", "category": ca, "public_complaint": True},
        # Closed on New Year's Eve 2023 → counts in 2023; K16 is still open → counts nowhere.
        {"case_id": "K15", "handler_id": "A", "category": si, "closed_date": "2023-12-31", "outcome": "not_filed"},
        {"case_id": "K16", "handler_id": "A", "category": si, "outcome": "not_filed"},
        {"case_id": "K17", "handler_id": "B", "unit_code": "U2", "category": pp, "closed_date": "2024-02-01"},
    ]


R6_COLS = ["cases_closed", "major_cases", "rated", "excellent", "qualified", "flawed", "unqualified", "errors",
           "special_cases", "special_unverified"]


def r6(rules=RULES) -> dict[tuple, tuple]:
    out = case_quality(cases(_r6_cases()), roster([]), rules).collect()
    assert out.schema == PUBLISHED["case_quality"].schema()
    return {(r["year"], r["unit_code"], r["person_id"], r["category"]): tuple(r[c] for c in R6_COLS) for r in out.to_dicts()}


def test_r6_counts_and_special_cases_per_category():
    assert r6() == {
        #                                        closed major rated exc qual flaw unq err special unverified
        # K1 not_filed (special, unverified), K2 prosecuted (not special), K3 filed_then_revoked
        # (special, verified by both; flawed with an error).
        (2024, "U1", "A", "self_investigation"): (3, 1, 3, 1, 1, 1, 0, 1, 2, 1),
        # K4 arrest_then_revoked (special; only the department verified → unverified; unqualified
        # with an error); K5 arrested and K6 not_prosecuted are not special in this category.
        (2024, "U1", "A", "investigation_supervision"): (3, 0, 1, 0, 0, 0, 1, 1, 1, 1),
        # K7 withdrawn (verified), K8 missed_or_wrong, K9 acquitted, K10 not_prosecuted: special;
        # K11 prosecuted but with a public complaint: special; K12: not. 5 special, 4 unverified.
        (2024, "U1", "A", "public_prosecution"): (6, 0, 0, 0, 0, 0, 0, 0, 5, 4),
        # K13 not_filed is special only in self_investigation; K14's complaint makes it special, and
        # it is verified by both.
        (2024, "U1", "A", "civil_administrative"): (2, 0, 0, 0, 0, 0, 0, 0, 1, 0),
        (2023, "U1", "A", "self_investigation"): (1, 0, 0, 0, 0, 0, 0, 0, 1, 1),
        (2024, "U2", "B", "public_prosecution"): (1, 0, 0, 0, 0, 0, 0, 0, 0, 0),
    }


def test_r6_special_cases_follow_the_rules_file():
    # Settings for 2024 only: complaints are not special, and public_prosecution's special outcomes
    # shrink to `acquitted`. Then in 2024: public_prosecution special = K9 only (unverified) → 1, 1;
    # civil_administrative K14 (complaint) no longer special → 0, 0; 2023 keeps the defaults.
    rules = rules_with(
        {"years": {2024: {"cases": {"public_complaint_is_special": False,
                                    "special_outcomes": {"public_prosecution": ["acquitted"]}}}}}
    )
    got = r6(rules)
    assert got[(2024, "U1", "A", "public_prosecution")][-2:] == (1, 1)
    assert got[(2024, "U1", "A", "civil_administrative")][-2:] == (0, 0)
    assert got[(2023, "U1", "A", "self_investigation")][-2:] == (1, 1)


def test_r6_one_row_per_handler_year_and_category_in_the_handlers_roster_unit():
    """docs/rules.md R6 (settled reading): unit_code is the handler's unit in the roster of the closing
    year, even when the cases are another unit's; a handler missing from that roster takes the
    smallest unit_code of those cases.

    A is in U2's roster of 2024 and closed K1 (unit U1) and K2 (unit U3), both public_prosecution →
    one row (2024, U2, A): 2 closed. In 2023 A is in no roster: K3 (U3) and K4 (U1) → (2023, U1, A)
    with 2 closed. B, in no roster at all, closed K5 (U3) → (2024, U3, B).
    """
    people = [{"person_id": "A", "unit_code": "U2"}]
    cs = [
        {"case_id": "K1", "handler_id": "A", "unit_code": "U1", "closed_date": "2024-03-01"},
        {"case_id": "K2", "handler_id": "A", "unit_code": "U3", "closed_date": "2024-04-01"},
        {"case_id": "K3", "handler_id": "A", "unit_code": "U3", "accepted_date": "2023-01-02", "closed_date": "2023-03-01"},
        {"case_id": "K4", "handler_id": "A", "unit_code": "U1", "accepted_date": "2023-01-02", "closed_date": "2023-04-01"},
        {"case_id": "K5", "handler_id": "B", "unit_code": "U3", "closed_date": "2024-05-01"},
    ]
    out = case_quality(cases(cs), roster(people), RULES).collect()
    got = [(r["year"], r["unit_code"], r["person_id"], r["category"], r["cases_closed"]) for r in out.to_dicts()]
    assert got == [
        (2023, "U1", "A", "public_prosecution", 2),
        (2024, "U2", "A", "public_prosecution", 2),
        (2024, "U3", "B", "public_prosecution", 1),
    ]


def test_r5_quota_leaders_are_people_of_the_units_roster():
    """docs/rules.md R5 (settled reading): the quota leaders of U are people of U's roster of Y. O is in
    U2's roster (a quota prosecutor) but named head of U1's department D1: no quota leader of U1 (not
    in its roster) nor of U2 (no leadership member, heads no department of U2). Q heads U1's D2 and is
    in U1's roster: U1's only quota leader, who handled K2 → 1 leader, 1 handling, 1 case."""
    people = [
        {"person_id": "O", "unit_code": "U2", "is_quota": True},
        {"person_id": "Q", "dept_code": "D2", "is_quota": True},
    ]
    depts = [{"dept_code": "D1", "head_id": "O"}, {"dept_code": "D2", "head_id": "Q"}]
    cs = [{"case_id": "K1", "handler_id": "O"}, {"case_id": "K2", "handler_id": "Q"}]
    out = by_unit(leader_case_handling(roster(people), departments(depts), cases(cs), RULES))
    cols = ["quota_leaders", "leaders_handling", "leader_cases"]
    assert {k: tuple(v[c] for c in cols) for k, v in out.items()} == {(2024, "U1"): (1, 1, 1), (2024, "U2"): (0, 0, 0)}
