"""R2 廉洁从检评估 (RULES.md R2): golden tests, numbers worked out by hand from RULES.md and the
defaults of rules/default.yaml (weights self 0.2 / peer 0.4 / department 0.4, peers trimmed from 5,
family talk 2, cases flawed 1 / unqualified 5 / error 5 / cap 20, violations criticism 3 /
written_review 3 / admonition 5 / circulated_criticism 10, grades 90 / 80 / 60)."""

from __future__ import annotations

import pytest
import support_scoring as s
from support_assessed import deduction_sum, ev_of, obligations, r2


def signed_dept(pid, score, **kw):
    return {"person_id": pid, "reviewer_kind": "department", "score": score, "dept_head_signed": True,
            "supervisor_signed": True, **kw}


def peers(pid, scores):
    return [{"person_id": pid, "reviewer_kind": "peer", "reviewer_id": f"R{i}", "score": x} for i, x in enumerate(scores)]


def test_peer_trim_drops_one_highest_and_one_lowest_even_when_tied():
    roster = s.roster([{"person_id": "P1"}, {"person_id": "P2"}])
    reviews = s.reviews(
        # P1: six peers 70, 70, 85, 90, 90, 90 → drop ONE 70 and ONE 90 → (70+85+90+90)/4 = 335/4 = 83.75
        # (dropping every tied extreme would give 85.00)
        peers("P1", [70, 90, 70, 85, 90, 90])
        # P2: four peers → no trim: (60+70+80+100)/4 = 77.5
        + peers("P2", [60, 70, 80, 100])
    )
    t, ev = r2(roster, reviews)
    assert t["P1"]["peer_score"] == 83.75
    assert t["P2"]["peer_score"] == 77.5
    # only peers present: the weights renormalize to peer alone → review = peer score
    assert t["P1"]["review_score"] == 83.75
    # no department review → incomplete, no total, no grade
    assert t["P1"]["status"] == "incomplete" and t["P1"]["total_score"] is None and t["P1"]["grade"] is None
    # R8: one row per review; the two left out (one 70 with the smallest reviewer id R0, one 90 with
    # the largest, R5) as R2.review.peer.trimmed; the mean of the others is the peer score
    kept = {e["record_ids"][0]: e["value"] for e in ev_of(ev, "P1", "R2.review.peer")}
    trimmed = {e["record_ids"][0]: e["value"] for e in ev_of(ev, "P1", "R2.review.peer.trimmed")}
    assert trimmed == {"reviews/2024/P1/peer/R0": 70.0, "reviews/2024/P1/peer/R5": 90.0}
    assert kept == {"reviews/2024/P1/peer/R1": 90.0, "reviews/2024/P1/peer/R2": 70.0, "reviews/2024/P1/peer/R3": 85.0,
                    "reviews/2024/P1/peer/R4": 90.0}
    assert sum(kept.values()) / len(kept) == 83.75
    assert ev_of(ev, "P2", "R2.review.peer.trimmed") == [] and len(ev_of(ev, "P2", "R2.review.peer")) == 4
    # why incomplete: no department review, a status row naming no record
    assert [(e["component"], e["record_ids"]) for e in ev_of(ev, "P1", "R2.status.no_department_review")] == [("status", [])]


def test_peer_trim_from_exactly_five():
    # five peers 50, 60, 70, 80, 100 → drop 50 and 100 → (60+70+80)/3 = 70
    t, _ = r2(s.roster([{"person_id": "P1"}]), s.reviews(peers("P1", [50, 60, 70, 80, 100])))
    assert t["P1"]["peer_score"] == 70.0


def test_weights_renormalized_over_present_components():
    roster = s.roster([{"person_id": "P1"}, {"person_id": "P2"}])
    reviews = s.reviews(
        [
            # P1: self 90, department 80, no peers → (0.2·90 + 0.4·80)/(0.2+0.4) = 50/0.6 = 83.333… → 83.33
            {"person_id": "P1", "reviewer_kind": "self", "score": 90},
            signed_dept("P1", 80),
            # P2: all three: 0.2·100 + 0.4·(70+80+90)/3 + 0.4·85 = 20 + 32 + 34 = 86
            {"person_id": "P2", "reviewer_kind": "self", "score": 100},
            *peers("P2", [70, 80, 90]),
            signed_dept("P2", 85),
        ]
    )
    t, _ = r2(roster, reviews)
    assert t["P1"]["review_score"] == 83.33
    assert t["P1"]["total_score"] == 83.33 and t["P1"]["grade"] == "较好" and t["P1"]["status"] == "graded"
    assert t["P2"]["review_score"] == 86.0 and t["P2"]["total_score"] == 86.0


def test_department_score_is_mean_of_rows_and_signoff_needs_every_row():
    roster = s.roster([{"person_id": "P1"}])
    reviews = s.reviews(
        [
            {"person_id": "P1", "reviewer_kind": "self", "score": 90},
            # two department rows: 80 (signed by both) and 90 (dept head only) → department 85
            signed_dept("P1", 80, reviewer_id="H1"),
            {"person_id": "P1", "reviewer_kind": "department", "reviewer_id": "H2", "score": 90,
             "dept_head_signed": True, "supervisor_signed": False},
        ]
    )
    t, ev = r2(roster, reviews)
    row = t["P1"]
    assert row["department_score"] == 85.0
    # signoff_pending, graded all the same: (0.2·90 + 0.4·85)/0.6 = 52/0.6 = 86.666… → 86.67 较好
    assert row["status"] == "signoff_pending"
    assert row["total_score"] == 86.67 and row["grade"] == "较好"
    # why: H2's department review lacks the supervisor's signature (both carry the dept head's)
    assert [e["record_ids"] for e in ev_of(ev, "P1", "R2.status.supervisor_unsigned")] == [["reviews/2024/P1/department/H2"]]
    assert ev_of(ev, "P1", "R2.status.dept_head_unsigned") == []


def test_incomplete_without_department_review_but_veto_still_gives_poor():
    roster = s.roster([{"person_id": "P1"}, {"person_id": "P2"}])
    reviews = s.reviews([{"person_id": p, "reviewer_kind": "self", "score": 95} for p in ("P1", "P2")])
    viols = s.violations([{"violation_id": "V1", "person_id": "P2", "severity": "criminal", "sanction": "judicial_transfer"}])
    t, _ = r2(roster, reviews, violations=viols)
    assert t["P1"]["status"] == "incomplete"
    assert t["P1"]["review_score"] == 95.0  # still computed from what is present
    assert t["P1"]["total_score"] is None and t["P1"]["grade"] is None
    assert t["P2"]["status"] == "incomplete" and t["P2"]["total_score"] is None
    assert t["P2"]["grade"] == "较差" and t["P2"]["veto"] == "V1"


def test_grade_compares_the_written_score():
    roster = s.roster([{"person_id": p} for p in ("P1", "P2", "P3")])
    reviews = s.reviews(
        # department only (renormalized to 1): P1 89.995 → written 90.00 → 好 (not 较好)
        [signed_dept("P1", 89.995), signed_dept("P2", 79.994), signed_dept("P3", 60.0)]
    )
    t, _ = r2(roster, reviews)
    assert t["P1"]["total_score"] == 90.0 and t["P1"]["grade"] == "好"
    # 79.994 → 79.99 → 一般
    assert t["P2"]["total_score"] == 79.99 and t["P2"]["grade"] == "一般"
    assert t["P3"]["grade"] == "一般"  # ≥ 60 一般


def test_family_talk_deduction_only_when_not_fulfilled():
    roster = s.roster([{"person_id": p} for p in ("P1", "P2", "P3")])
    reviews = s.reviews([signed_dept(p, 90) for p in ("P1", "P2", "P3")])
    obl = obligations(
        [
            {"person_id": "P1", "obligation": "family", "responsible_id": "P1", "fulfilled": False},
            {"person_id": "P2", "obligation": "family", "responsible_id": "P2", "fulfilled": True, "talk_id": "T1"},
            # someone else's unfulfilled department talk does not cost P3 anything under R2
            {"person_id": "P3", "obligation": "department_h1", "responsible_id": "P1", "fulfilled": False},
        ]
    )
    t, ev = r2(roster, reviews, obligations=obl)
    # P1: 90 − 2 = 88 较好
    assert t["P1"]["deduction_talks"] == 2.0 and t["P1"]["total_score"] == 88.0 and t["P1"]["grade"] == "较好"
    assert t["P2"]["deduction_talks"] == 0.0 and t["P2"]["total_score"] == 90.0
    assert t["P3"]["deduction_talks"] == 0.0
    family = ev_of(ev, "P1", "R2.talks.family")
    # the missed family talk names its obligation (table talk_obligations, key year/person/obligation)
    assert [(e["value"], e["component"], e["record_ids"]) for e in family] == [
        (2.0, "deduction_talks", ["talk_obligations/2024/P1/family"])
    ]
    # basis: the longest rules-file key that prefixes the rule id (R2.talks before R2)
    assert family[0]["basis"] == s.default_rules().settings(2024).basis["R2.talks"]


def test_case_deductions_capped_at_20_with_cap_evidence():
    roster = s.roster([{"person_id": "P1"}, {"person_id": "P2"}])
    reviews = s.reviews([signed_dept("P1", 100), signed_dept("P2", 100)])
    cases = s.cases(
        # P1: three cases closed in 2024, each unqualified (5) with an error (5) → 30 → capped at 20
        [{"case_id": f"C{i}", "handler_id": "P1", "closed_date": "2024-05-01", "quality_rating": "unqualified",
          "error_type": "incident"} for i in range(3)]
        # P2: two flawed (1 each) and one qualified with an error (5) → 7; one closed in 2023 ignored, one open ignored
        + [
            {"case_id": "F1", "handler_id": "P2", "closed_date": "2024-02-01", "quality_rating": "flawed"},
            {"case_id": "F2", "handler_id": "P2", "closed_date": "2024-12-31", "quality_rating": "flawed"},
            {"case_id": "E1", "handler_id": "P2", "closed_date": "2024-07-01", "quality_rating": "qualified",
             "error_type": "wrong_arrest"},
            {"case_id": "OLD", "handler_id": "P2", "accepted_date": "2023-01-01", "closed_date": "2023-12-31",
             "quality_rating": "unqualified"},
            {"case_id": "OPEN", "handler_id": "P2", "quality_rating": "unqualified"},
        ]
    )
    t, ev = r2(roster, reviews, cases=cases)
    assert t["P1"]["deduction_cases"] == 20.0 and t["P1"]["total_score"] == 80.0
    assert t["P2"]["deduction_cases"] == 7.0 and t["P2"]["total_score"] == 93.0
    p1 = {e["rule"]: e for e in ev_of(ev, "P1")}
    assert p1["R2.cases.unqualified"]["value"] == 15.0 and p1["R2.cases.unqualified"]["record_ids"] == ["C0", "C1", "C2"]
    assert p1["R2.cases.error"]["value"] == 15.0
    assert p1["R2.cases.cap"]["value"] == -10.0  # 15 + 15 − 10 = 20
    assert deduction_sum(ev, "P1") == 20.0
    p2 = {e["rule"]: e for e in ev_of(ev, "P2")}
    assert p2["R2.cases.flawed"]["record_ids"] == ["F1", "F2"] and "R2.cases.cap" not in p2
    assert deduction_sum(ev, "P2") == 7.0


def test_violation_points_by_sanction_and_vetoing_sanctions_add_none():
    roster = s.roster([{"person_id": "P1"}, {"person_id": "P2"}])
    reviews = s.reviews([signed_dept("P1", 100), signed_dept("P2", 100)])
    viols = s.violations(
        [
            # P1: criticism 3 + written_review 3 + admonition 5 + circulated_criticism 10 = 21 (no cap)
            {"violation_id": "A1", "person_id": "P1", "sanction": "criticism"},
            {"violation_id": "A2", "person_id": "P1", "sanction": "written_review"},
            {"violation_id": "A3", "person_id": "P1", "sanction": "admonition"},
            {"violation_id": "A4", "person_id": "P1", "sanction": "circulated_criticism"},
            {"violation_id": "A5", "person_id": "P1", "sanction": "criticism", "decided_date": "2023-12-31"},  # other year
            # P2: party_discipline (vetoing, 0 points) + criticism 3 → 3 points, veto B1
            {"violation_id": "B1", "person_id": "P2", "severity": "general", "sanction": "party_discipline"},
            {"violation_id": "B2", "person_id": "P2", "sanction": "criticism"},
        ]
    )
    t, ev = r2(roster, reviews, violations=viols)
    assert t["P1"]["deduction_violations"] == 21.0 and t["P1"]["total_score"] == 79.0 and t["P1"]["grade"] == "一般"
    assert t["P1"]["veto"] is None
    assert t["P2"]["deduction_violations"] == 3.0 and t["P2"]["total_score"] == 97.0
    assert t["P2"]["veto"] == "B1" and t["P2"]["grade"] == "较差"  # veto whatever the score
    assert {e["rule"]: e["value"] for e in ev_of(ev, "P1") if e["component"] != "status"} == {
        "R2.review.department": 100.0,
        "R2.violations.criticism": 3.0,
        "R2.violations.written_review": 3.0,
        "R2.violations.admonition": 5.0,
        "R2.violations.circulated_criticism": 10.0,
    }
    assert [e["record_ids"] for e in ev_of(ev, "P2", "R2.veto")] == [["B1"]]
    assert deduction_sum(ev, "P2") == 3.0


def test_veto_lists_every_vetoing_record_in_id_order():
    roster = s.roster([{"person_id": "P1"}])
    reviews = s.reviews([signed_dept("P1", 100)])
    viols = s.violations(
        [
            # text order: "V10" < "V2" < "V3"; V3 is minor/criticism → no veto
            {"violation_id": "V2", "person_id": "P1", "severity": "criminal", "sanction": "criticism"},
            {"violation_id": "V10", "person_id": "P1", "severity": "general", "sanction": "organizational"},
            {"violation_id": "V3", "person_id": "P1", "severity": "minor", "sanction": "criticism"},
        ]
    )
    t, _ = r2(roster, reviews, violations=viols)
    # criminal with criticism still costs its 3 points: V2 3 + V3 3 = 6 → 94, but 较差 by veto
    assert t["P1"]["veto"] == "V10,V2"
    assert t["P1"]["deduction_violations"] == 6.0 and t["P1"]["total_score"] == 94.0 and t["P1"]["grade"] == "较差"


def test_total_kept_within_0_100_and_only_active_people():
    roster = s.roster(
        [{"person_id": "P1"}, {"person_id": "P2", "status": "retired"}, {"person_id": "P3", "year": 2023}]
    )
    reviews = s.reviews([signed_dept("P1", 10)])
    viols = s.violations([{"violation_id": "V1", "person_id": "P1", "sanction": "circulated_criticism"}])
    t, _ = r2(roster, reviews, violations=viols)
    # 10 − 10 = 0 → 0.00; 较差
    assert t["P1"]["total_score"] == 0.0 and t["P1"]["grade"] == "较差"
    v2 = s.violations([{"violation_id": "V1", "person_id": "P1", "sanction": "circulated_criticism"},
                       {"violation_id": "V2", "person_id": "P1", "sanction": "admonition"}])
    t2, _ = r2(roster, reviews, violations=v2)
    assert t2["P1"]["total_score"] == 0.0  # 10 − 15 = −5 → kept at 0
    # retired P2 is not assessed; P3 is active in 2023 only and gets a 2023 row
    assert "P2" not in t and (2023, "P3") in t and set(t) == {"P1", (2023, "P3")}


def test_unit_department_position_from_that_years_roster():
    roster = s.roster(
        [
            {"person_id": "P1", "year": 2023, "unit_code": "U0", "dept_code": "X", "position": "clerk"},
            {"person_id": "P1", "year": 2024, "unit_code": "U1", "dept_code": "A", "position": "prosecutor"},
        ]
    )
    t, _ = r2(roster)
    assert (t["P1"]["unit_code"], t["P1"]["dept_code"], t["P1"]["position"]) == ("U1", "A", "prosecutor")
    assert (t[(2023, "P1")]["unit_code"], t[(2023, "P1")]["position"]) == ("U0", "clerk")
    assert t["P1"]["deduction_talks"] == 0.0 and t["P1"]["rules_version"] == s.default_rules().version


def test_settings_come_from_the_rules_file():
    rules = s.rules_with({"years": {2024: {"integrity": {"deductions": {"cases": {"cap": 12}}}}}})
    roster = s.roster([{"person_id": "P1"}])
    reviews = s.reviews([signed_dept("P1", 100)])
    cases = s.cases([{"case_id": f"C{i}", "handler_id": "P1", "closed_date": "2024-05-01",
                      "quality_rating": "unqualified"} for i in range(3)])
    t, ev = r2(roster, reviews, cases=cases, rules=rules)
    # 3 × 5 = 15 → capped at the 2024 override 12 → 88
    assert t["P1"]["deduction_cases"] == 12.0 and t["P1"]["total_score"] == 88.0
    assert deduction_sum(ev, "P1") == pytest.approx(12.0)


def test_settings_in_force_are_written_with_the_evidence_per_year():
    """R8: the settings a recomputation needs are evidence rows of the year (no subject, no unit;
    component = the setting's path in the rules file), after that year's overrides: with the peer
    weight 0.5 for 2024 only (self 0.1, so that the weights still sum to 1), 2024 says 0.5 and 2023
    the default 0.4."""
    rules = s.rules_with({"years": {2024: {"integrity": {"weights": {"self": 0.1, "peer": 0.5}}, "grades": {"good": 95}}}})
    roster = s.roster([{"person_id": "P1", "year": y} for y in (2023, 2024)])
    _, ev = r2(roster, rules=rules)
    settings = {(e["year"], e["component"]): (e["value"], e["rule"]) for e in ev if e["subject_id"] is None}
    assert settings[(2024, "integrity.weights.peer")] == (0.5, "R2.review")
    assert settings[(2023, "integrity.weights.peer")] == (0.4, "R2.review")
    assert settings[(2024, "grades.good")] == (95.0, "R2.grade") and settings[(2023, "grades.good")] == (90.0, "R2.grade")
    assert settings[(2024, "integrity.deductions.cases.cap")] == (20.0, "R2.cases.cap")
    assert settings[(2024, "integrity.deductions.violations.admonition")] == (5.0, "R2.violations.admonition")
    assert settings[(2024, "rounding_decimals")] == (2.0, "R2.total")
    assert all(e["subject_kind"] == "person" and e["unit_code"] is None and e["record_ids"] == [] for e in ev
               if e["subject_id"] is None)
