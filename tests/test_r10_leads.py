"""R10 线索核查 review leads (RULES.md R10; 黑龙江巡礼: 健全线索核查制度): golden cases worked out by hand.

2024 roster of U1 (D1 department for everyone but RET, who is retired and in D2):

    A    violation V1 decided 2024                              → violation
    B    case K1 closed 2024, unqualified                       → unqualified_case
    F    case K2 closed 2024, flawed                            → flawed_case
    E    case K3 closed 2024, qualified, error_type wrong_arrest → case_error
    G    case K4 closed 2024, excellent, public complaint       → public_complaint
    M    violation V2; K10 unqualified + error + complaint; K9 flawed → all five, ids K10, K9, V2
    REP  violation V3 but reported a matter in 2024              → no lead
    REP2 violation V4 in 2024, reported only in 2023             → violation
    RET  retired, violation V5                                   → violation (any status)
    OPEN case K5 unqualified, still open                         → no lead
    OLD  case K6 unqualified, closed 2023 (OLD not in 2023's roster) → no lead
    NOB  violation V6 decided 2024 of a person not in 2024's roster → no row
    S    in 2017 and 2018 with violations V7 (2017), V8 (2018)   → 2018 only (first lead year 2018)
"""

from __future__ import annotations

from support_scoring import cases, default_rules, reports, roster, rules_with, violations

from lianjian.contract import RESTRICTED
from lianjian.scoring.leads import REASONS, review_leads

PEOPLE = [
    {"person_id": p, "dept_code": "D1"} for p in ("A", "B", "F", "E", "G", "M", "REP", "REP2", "OPEN", "OLD")
] + [
    {"person_id": "RET", "dept_code": "D2", "status": "retired", "unit_code": "U2"},
    {"person_id": "REP2", "year": 2023},
    {"person_id": "S", "year": 2017},
    {"person_id": "S", "year": 2018},
    {"person_id": "NOB", "year": 2023},
]
VIOLATIONS = [
    {"violation_id": "V1", "person_id": "A"},
    {"violation_id": "V2", "person_id": "M"},
    {"violation_id": "V3", "person_id": "REP"},
    {"violation_id": "V4", "person_id": "REP2"},
    {"violation_id": "V5", "person_id": "RET"},
    {"violation_id": "V6", "person_id": "NOB"},
    {"violation_id": "V7", "person_id": "S", "decided_date": "2017-05-01"},
    {"violation_id": "V8", "person_id": "S", "decided_date": "2018-05-01"},
]
CLOSED = "2024-06-30"
CASES = [
    {"case_id": "K1", "handler_id": "B", "closed_date": CLOSED, "quality_rating": "unqualified"},
    {"case_id": "K2", "handler_id": "F", "closed_date": CLOSED, "quality_rating": "flawed"},
    {"case_id": "K3", "handler_id": "E", "closed_date": CLOSED, "quality_rating": "qualified", "error_type": "wrong_arrest"},
    {"case_id": "K4", "handler_id": "G", "closed_date": CLOSED, "quality_rating": "excellent", "public_complaint": True},
    {"case_id": "K10", "handler_id": "M", "closed_date": CLOSED, "quality_rating": "unqualified", "error_type": "incident", "public_complaint": True},
    {"case_id": "K9", "handler_id": "M", "closed_date": "2024-01-02", "quality_rating": "flawed"},
    {"case_id": "K5", "handler_id": "OPEN", "quality_rating": "unqualified"},
    {"case_id": "K6", "handler_id": "OLD", "accepted_date": "2023-01-01", "closed_date": "2023-12-31", "quality_rating": "unqualified"},
    # reviewed as excellent, no error, no complaint: no reason at all
    {"case_id": "K7", "handler_id": "A", "closed_date": CLOSED, "quality_rating": "excellent"},
]
REPORTS = [
    {"report_id": "R1", "reporter_id": "REP", "report_date": "2024-11-30"},
    {"report_id": "R2", "reporter_id": "REP2", "report_date": "2023-12-31"},
]


def leads(rules=None) -> dict:
    out = review_leads(roster(PEOPLE), reports(REPORTS), cases(CASES), violations(VIOLATIONS), rules or default_rules()).collect()
    assert out.schema == RESTRICTED["review_leads"].schema()
    return {(r["year"], r["person_id"]): r for r in out.to_dicts()}


def test_each_reason_alone():
    got = leads()
    assert (got[(2024, "A")]["reasons"], got[(2024, "A")]["record_ids"]) == (["violation"], ["V1"])  # K7 adds nothing
    assert (got[(2024, "B")]["reasons"], got[(2024, "B")]["record_ids"]) == (["unqualified_case"], ["K1"])
    assert (got[(2024, "F")]["reasons"], got[(2024, "F")]["record_ids"]) == (["flawed_case"], ["K2"])
    assert (got[(2024, "E")]["reasons"], got[(2024, "E")]["record_ids"]) == (["case_error"], ["K3"])
    assert (got[(2024, "G")]["reasons"], got[(2024, "G")]["record_ids"]) == (["public_complaint"], ["K4"])


def test_all_reasons_together_in_order_with_ids_sorted_as_text():
    m = leads()[(2024, "M")]
    assert m["reasons"] == list(REASONS) == ["violation", "unqualified_case", "flawed_case", "case_error", "public_complaint"]
    # K10 stands behind three reasons but is listed once; "K10" < "K9" as text.
    assert m["record_ids"] == ["K10", "K9", "V2"]
    assert (m["unit_code"], m["dept_code"], m["name"], m["rules_version"]) == ("U1", "D1", "M", default_rules().version)


def test_a_person_who_reported_is_no_lead_but_a_report_of_another_year_does_not_count():
    got = leads()
    assert (2024, "REP") not in got
    assert got[(2024, "REP2")]["reasons"] == ["violation"]  # reported in 2023 only
    assert (2023, "REP2") not in got  # nothing to check in 2023


def test_a_retired_person_is_a_lead_with_that_years_unit_and_department():
    ret = leads()[(2024, "RET")]
    assert (ret["unit_code"], ret["dept_code"], ret["reasons"], ret["record_ids"]) == ("U2", "D2", ["violation"], ["V5"])


def test_open_cases_other_years_and_people_outside_the_roster():
    got = leads()
    # K5 not closed; K6 closed in 2023 but OLD is not in 2023's roster; V6's person is not in 2024's.
    assert (2024, "OPEN") not in got and (2024, "OLD") not in got and (2023, "OLD") not in got
    assert (2024, "NOB") not in got and (2023, "NOB") not in got
    assert sorted(got) == sorted(
        [(2024, p) for p in ("A", "B", "F", "E", "G", "M", "REP2", "RET")] + [(2018, "S")]
    )


def test_first_lead_year_and_its_setting():
    got = leads()
    # leads_from_year 2018: S's 2017 violation is no lead, the 2018 one is.
    assert (2017, "S") not in got and got[(2018, "S")]["record_ids"] == ["V8"]
    later = leads(rules_with({"review_leads": {"leads_from_year": 2019}}))
    assert (2018, "S") not in later and (2024, "A") in later
    earlier = leads(rules_with({"review_leads": {"leads_from_year": 2017}}))
    assert earlier[(2017, "S")]["record_ids"] == ["V7"]


def test_reasons_setting_changed():
    only = leads(rules_with({"review_leads": {"reasons": ["violation"]}}))
    # Only violations count: M keeps V2 alone; B, F, E, G are no longer leads.
    assert only[(2024, "M")]["reasons"] == ["violation"] and only[(2024, "M")]["record_ids"] == ["V2"]
    assert {p for (_, p) in only} == {"A", "M", "REP2", "RET", "S"}
    # Written in another order in the file, the reasons still come out in RULES.md's order.
    two = leads(rules_with({"review_leads": {"reasons": ["case_error", "unqualified_case"]}}))
    assert two[(2024, "M")]["reasons"] == ["unqualified_case", "case_error"] and two[(2024, "M")]["record_ids"] == ["K10"]
    # A per-year override: in 2024 only flawed cases count; 2018 keeps every reason.
    year = leads(rules_with({"years": {2024: {"review_leads": {"reasons": ["flawed_case"]}}}}))
    assert {p for (y, p) in year if y == 2024} == {"F", "M"} and year[(2024, "M")]["record_ids"] == ["K9"]
    assert (2018, "S") in year
    assert leads(rules_with({"review_leads": {"reasons": []}})) == {}


def test_the_rules_file_rejects_unknown_or_repeated_reasons():
    import pytest

    from lianjian.errors import FatalError

    with pytest.raises(FatalError, match=r"review_leads\.reasons: unknown codes \['complaint'\]"):
        rules_with({"review_leads": {"reasons": ["violation", "complaint"]}})
    with pytest.raises(FatalError, match=r"review_leads\.reasons: a reason is listed twice"):
        rules_with({"review_leads": {"reasons": ["violation", "violation"]}})
    with pytest.raises(FatalError, match=r"years\.2024\.review_leads\.leads_from_year"):
        rules_with({"years": {2024: {"review_leads": {"leads_from_year": 1999}}}})


from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402


@settings(max_examples=25, deadline=None)
@given(
    st.lists(st.tuples(st.sampled_from(["A", "B", "REP"]), st.sampled_from(["unqualified", "flawed", "qualified", None]),
                       st.booleans(), st.booleans()), max_size=12),
    st.lists(st.sampled_from(["A", "B", "REP"]), max_size=4),
)
def test_every_lead_rests_on_its_records_and_nobody_who_reported(case_spec, violators):
    """Property: a lead has at least one reason and one record; its records are exactly the person's
    violations and cases that make a reason hold; a reporter is never a lead."""
    people = [{"person_id": p} for p in ("A", "B", "REP")]
    cs = [{"case_id": f"K{i:02d}", "handler_id": h, "closed_date": "2024-05-05", "quality_rating": q,
           "error_type": "incident" if err else None, "public_complaint": comp} for i, (h, q, err, comp) in enumerate(case_spec)]
    vs = [{"violation_id": f"V{i}", "person_id": p} for i, p in enumerate(violators)]
    out = review_leads(roster(people), reports([{"report_id": "R", "reporter_id": "REP", "report_date": "2024-02-02"}]),
                       cases(cs), violations(vs), default_rules()).collect()
    got = {r["person_id"]: r for r in out.to_dicts()}
    assert "REP" not in got
    for person in ("A", "B"):
        ids = sorted([c["case_id"] for c in cs if c["handler_id"] == person and (c["quality_rating"] in ("unqualified", "flawed")
                      or c["error_type"] or c["public_complaint"])] + [v["violation_id"] for v in vs if v["person_id"] == person])
        if ids:
            assert got[person]["record_ids"] == ids and got[person]["reasons"]
        else:
            assert person not in got
