"""Inputs a rule must drop, count once or read as false (docs/rules.md): empty booleans count as false,
a person heading two departments is one leader, a filter keeps out what the rule text keeps out.
Each case is one a mutation of lianjian/scoring showed untested (docs/testing.md, "Mutation
testing"); the expected values are worked out by hand from the rule text.
"""

from __future__ import annotations

import support_scoring as s

from lianjian.scoring.cases import leader_case_handling

RULES = s.default_rules()


# ---------------------------------------------------------------- R5


def r5(people, depts, cases) -> dict:
    out = leader_case_handling(s.roster(people), s.departments(depts), s.cases(cases), RULES).collect()
    return {r["unit_code"]: r for r in out.to_dicts()}


def test_r5_a_head_of_two_departments_is_one_quota_leader():
    """H heads D1 and D2 (quota, handles K1): one quota leader, one handling — not two."""
    got = r5([{"person_id": "H", "dept_code": "D1", "is_quota": True}],
             [{"dept_code": "D1", "head_id": "H"}, {"dept_code": "D2", "head_id": "H"}],
             [{"case_id": "K1", "handler_id": "H"}])
    assert (got["U1"]["quota_leaders"], got["U1"]["leaders_handling"], got["U1"]["leader_cases"]) == (1, 1, 1)


def test_r5_empty_quota_flag_and_empty_major_flag_count_as_false():
    """Conventions: empty booleans count as false. C (chief, is_quota empty) is no quota leader; D
    (deputy chief, in the quota) handles K2 whose is_major is empty: not a major case — chiefs_on_major
    0, leader_major_cases 0."""
    got = r5([{"person_id": "C", "position": "chief", "is_quota": None},
              {"person_id": "D", "position": "deputy_chief", "is_quota": True}],
             [], [{"case_id": "K1", "handler_id": "C", "is_major": True}, {"case_id": "K2", "handler_id": "D", "is_major": None}])
    u1 = got["U1"]
    assert (u1["quota_leaders"], u1["leaders_handling"], u1["chiefs_on_major"], u1["leader_cases"], u1["leader_major_cases"],
            u1["implemented"]) == (1, 1, 0, 1, 0, True)


# ---------------------------------------------------------------- R6


def test_r6_a_special_case_with_empty_verification_flags_is_unverified():
    """R6: special cases not verified by both the department leader and the supervisor. K1 (acquitted:
    special) has both flags empty → unverified; K2 dept_verified only → unverified; K3 both → verified;
    K4 supervisor_verified only, dept_verified empty → unverified. Special 4, unverified 3."""
    from lianjian.scoring.cases import case_quality

    cases = s.cases([
        {"case_id": "K1", "handler_id": "A", "outcome": "acquitted", "closed_date": "2024-05-01", "dept_verified": None,
         "supervisor_verified": None},
        {"case_id": "K2", "handler_id": "A", "outcome": "acquitted", "closed_date": "2024-05-01", "dept_verified": True,
         "supervisor_verified": None},
        {"case_id": "K3", "handler_id": "A", "outcome": "acquitted", "closed_date": "2024-05-01", "dept_verified": True,
         "supervisor_verified": True},
        {"case_id": "K4", "handler_id": "A", "outcome": "acquitted", "closed_date": "2024-05-01", "dept_verified": None,
         "supervisor_verified": True},
    ])
    row = case_quality(cases, s.roster([]), RULES).collect().row(0, named=True)
    assert (row["special_cases"], row["special_unverified"]) == (4, 3)


def test_r6_no_special_outcome_and_complaints_not_special_make_no_special_case():
    """R6 special cases come from the rules file alone: with every category's ``special_outcomes``
    empty and ``public_complaint_is_special`` false, K1 (acquitted, with a public complaint) is not
    special — special_cases 0, special_unverified 0 (with the default rules: 1 and 1)."""
    from lianjian.scoring.cases import case_quality

    cases = s.cases([{"case_id": "K1", "handler_id": "A", "outcome": "acquitted", "closed_date": "2024-05-01",
                      "public_complaint": True}])
    none = s.rules_with({"cases": {"special_outcomes": {c: [] for c in RULES.settings().cases.special_outcomes},
                                   "public_complaint_is_special": False}})
    rows = [case_quality(cases, s.roster([]), r).collect().row(0, named=True) for r in (RULES, none)]
    assert [(r["special_cases"], r["special_unverified"]) for r in rows] == [(1, 1), (0, 0)]


# ---------------------------------------------------------------- who is who (common)


def test_an_empty_party_secretary_flag_is_no_flag_and_the_smallest_chief_is_the_secretary():
    """Conventions: the party secretary is the active person flagged; nobody flagged → the unit's active
    chief (the smallest id of several). U1: prosecutor X's flag is empty (false) → the chief C1 is the
    secretary. U2: two chiefs C3 and C2, nobody flagged → C2."""
    from support_assessed import r3

    roster = s.roster([
        {"person_id": "C1", "position": "chief"},
        {"person_id": "X", "is_party_secretary": None},
        {"person_id": "C3", "unit_code": "U2", "position": "chief"},
        {"person_id": "C2", "unit_code": "U2", "position": "chief"},
    ])
    t, _ = r3(roster, units=s.units([{"unit_code": "U1"}, {"unit_code": "U2"}]))
    assert sorted(k for k in t if k[0] == "secretary") == [("secretary", "C1"), ("secretary", "C2")]
    assert ("leader", "C3") in t


def test_of_two_flagged_the_smallest_is_the_secretary_and_a_unit_without_flag_or_chief_has_none():
    """Conventions: the party secretary is the person flagged (at most one a unit and year; should two
    be flagged, the smallest id, as for chiefs), found whether or not the unit has a chief; a unit with
    neither has no secretary. U3: F2 and F1 flagged, no chief → F1 is the secretary (R3 subject
    ``secretary``), F2 is not. U4: one prosecutor, nobody flagged, no chief → no secretary subject at
    all (only the unit's bodies)."""
    from support_assessed import r3

    roster = s.roster([
        {"person_id": "F2", "unit_code": "U3", "is_party_secretary": True},
        {"person_id": "F1", "unit_code": "U3", "is_party_secretary": True},
        {"person_id": "P4", "unit_code": "U4"},
    ])
    t, _ = r3(roster, units=s.units([{"unit_code": "U3"}, {"unit_code": "U4"}]))
    assert sorted(k for k in t if k[0] == "secretary") == [("secretary", "F1")]
    assert sorted(k for k in t if k[1] in ("U4", None) or k[0] == "secretary") == [
        ("discipline_group", "U4"), ("party_group", "U4"), ("secretary", "F1")]


def test_a_department_naming_no_head_adds_no_head_target():
    """R3 targets: "each department head" are the heads named in departments. Department B names no
    head: the secretary's heart_talk targets are D1, K1 and H1 (A's head) — three, no empty one —
    so a heart talk with each of them meets the item (1.0)."""
    from support_assessed import duty_items, r3
    from support_rules import activity, unit_departments, unit_roster

    deps = unit_departments([{"dept_code": "B", "supervisor_id": "D1"}])
    acts = s.duty_activities([activity(f"T{p}", "secretary", "heart_talk", "C1", target=p) for p in ("D1", "K1", "H1")])
    _, ev = r3(unit_roster(), deps, activities=acts)
    assert duty_items(ev, "C1", "secretary")["R3.duty.heart_talk"]["value"] == 1.0


# ---------------------------------------------------------------- R2


def test_r2_several_self_reviews_are_averaged_and_an_empty_signature_is_missing():
    """R2 step 1: the self score is the mean of the self rows (80, 90 → 85); step 6: a department
    review whose supervisor_signed is empty lacks that signature (empty booleans count as false) →
    signoff_pending, named in the evidence. (0.2·85 + 0.4·90)/0.6 = 53/0.6 = 88.33."""
    from support_assessed import ev_of, r2
    from support_rules import dept_review

    reviews = s.reviews([
        {"person_id": "P", "reviewer_kind": "self", "reviewer_id": "P", "score": 80},
        {"person_id": "P", "reviewer_kind": "self", "reviewer_id": "P2", "score": 90},
        {**dept_review("P", 90), "reviewer_id": "H", "supervisor_signed": None},
    ])
    t, ev = r2(s.roster([{"person_id": "P"}]), reviews)
    assert (t["P"]["self_score"], t["P"]["review_score"], t["P"]["status"]) == (85.0, 88.33, "signoff_pending")
    assert [e["record_ids"] for e in ev_of(ev, "P", "R2.status.supervisor_unsigned")] == [["reviews/2024/P/department/H"]]
    assert ev_of(ev, "P", "R2.status.dept_head_unsigned") == []


def test_r2_the_trimmed_peer_reviews_are_each_persons_own_extremes():
    """R8: the peer reviews left out are, for each person, the lowest and the highest of that
    person's own — whatever order the reviews come in. A: 80 (R1), 100 (R2), 60 (R3), 90 (R4), 70 (R5)
    → R3 and R2 left out, peer score (80 + 90 + 70)/3 = 80; B: 50 (Q1), 40 (Q2), 95 (Q3), 55 (Q4),
    45 (Q5) → Q2 and Q3, (50 + 55 + 45)/3 = 50."""
    from support_assessed import ev_of, r2

    given = {"A": [("R1", 80), ("R2", 100), ("R3", 60), ("R4", 90), ("R5", 70)],
             "B": [("Q1", 50), ("Q2", 40), ("Q3", 95), ("Q4", 55), ("Q5", 45)]}
    reviews = s.reviews([{"person_id": p, "reviewer_kind": "peer", "reviewer_id": r, "score": x}
                         for i in range(5) for p in ("B", "A") for r, x in [given[p][i]]])
    t, ev = r2(s.roster([{"person_id": "A"}, {"person_id": "B"}]), reviews)
    assert (t["A"]["peer_score"], t["B"]["peer_score"]) == (80.0, 50.0)
    trimmed = {p: sorted(e["record_ids"][0].rsplit("/", 1)[1] for e in ev_of(ev, p, "R2.review.peer.trimmed")) for p in given}
    assert trimmed == {"A": ["R2", "R3"], "B": ["Q2", "Q3"]}


def test_r2_an_empty_dept_head_signature_is_missing():
    """R2 step 6, the other signature: P's department review is signed by the supervisor, its
    dept_head_signed is empty (false) → signoff_pending, with an ``R2.status.dept_head_unsigned`` row
    naming the review and no ``supervisor_unsigned`` row. Score 90 (the department review alone)."""
    from support_assessed import ev_of, r2
    from support_rules import dept_review

    reviews = s.reviews([{**dept_review("P", 90), "reviewer_id": "H", "dept_head_signed": None}])
    t, ev = r2(s.roster([{"person_id": "P"}]), reviews)
    assert (t["P"]["review_score"], t["P"]["status"]) == (90.0, "signoff_pending")
    assert [e["record_ids"] for e in ev_of(ev, "P", "R2.status.dept_head_unsigned")] == [["reviews/2024/P/department/H"]]
    assert ev_of(ev, "P", "R2.status.supervisor_unsigned") == []


def test_r2_without_any_review_the_review_score_is_empty():
    """R2 step 1: the weighted mean of the components present; with none present there is no score —
    empty, not 0/0 (NaN). P has no review: review_score, total_score and grade empty, status
    incomplete."""
    from support_assessed import r2

    t, _ = r2(s.roster([{"person_id": "P"}]))
    row = t["P"]
    assert (row["review_score"], row["total_score"], row["grade"], row["status"]) == (None, None, None, "incomplete")


def test_r2_a_family_obligation_with_empty_fulfilled_costs_the_points():
    """R2 step 2 (talks): P's own family obligation not fulfilled costs ``family_talk_missing`` (2)
    points; an empty fulfilled counts as false (conventions) → deduction_talks 2, with its
    ``R2.talks.family`` evidence row."""
    from support_assessed import ev_of, obligations, r2

    t, ev = r2(s.roster([{"person_id": "P"}]), obligations=obligations([{"person_id": "P", "obligation": "family", "fulfilled": None}]))
    assert t["P"]["deduction_talks"] == RULES.settings().integrity.deductions.family_talk_missing == 2
    assert [e["value"] for e in ev_of(ev, "P", "R2.talks.family")] == [2.0]


def test_r2_only_a_person_without_department_review_is_incomplete_for_that_reason():
    """R2 step 6 and R8: P has a signed department review (graded), Q has only a self review
    (incomplete) — the evidence row ``R2.status.no_department_review`` is Q's alone."""
    from support_assessed import r2
    from support_rules import dept_review

    reviews = s.reviews([dept_review("P", 90), {"person_id": "Q", "reviewer_kind": "self", "score": 80}])
    t, ev = r2(s.roster([{"person_id": "P"}, {"person_id": "Q"}]), reviews)
    assert (t["P"]["status"], t["Q"]["status"]) == ("graded", "incomplete")
    assert [e["subject_id"] for e in ev if e["rule"] == "R2.status.no_department_review"] == ["Q"]


# ---------------------------------------------------------------- R3 evidence


def test_r3_votes_for_a_subject_not_assessed_leave_no_evidence():
    """R8: the evidence is that of the subjects assessed. The votes name leader X, who is not in the
    roster: no table row for X and no evidence row either; the votes for D1 (a deputy chief, assessed)
    give D1's four ``R3.vote.<level>`` rows (3, 1, 0, 0)."""
    from support_assessed import ev_of, r3

    votes = s.votes([{"subject_kind": "leader", "subject_id": "X", "votes_good": 5},
                     {"subject_kind": "leader", "subject_id": "D1", "votes_good": 3, "votes_fairly_good": 1}])
    t, ev = r3(s.roster([{"person_id": "D1", "position": "deputy_chief"}]), votes=votes)
    assert ("leader", "X") not in t and [e for e in ev if e["subject_id"] == "X"] == []
    assert sorted((e["rule"], e["value"]) for e in ev_of(ev, "D1") if e["rule"].startswith("R3.vote.")) == [
        ("R3.vote.average", 0.0), ("R3.vote.fairly_good", 1.0), ("R3.vote.good", 3.0), ("R3.vote.poor", 0.0)]


# ---------------------------------------------------------------- R7


def test_r7_a_leader_who_also_heads_a_department_reports_once():
    """R7: leader_reports counts the reports of people who are a leadership member or head a
    department — a person who is both counts once. D (deputy chief) heads department A and files one
    report; P (prosecutor) files one: reports 2, leader_reports 1, per hundred staff 2/2 × 100 = 100."""
    from lianjian.scoring.reports import major_matter_report_stats

    out = major_matter_report_stats(
        s.roster([{"person_id": "D", "position": "deputy_chief", "dept_code": "A"}, {"person_id": "P", "dept_code": "A"}]),
        s.departments([{"dept_code": "A", "head_id": "D"}]),
        s.reports([{"report_id": "M1", "reporter_id": "D"}, {"report_id": "M2", "reporter_id": "P"}]),
        RULES,
    ).collect()
    row = out.row(0, named=True)
    assert (out.height, row["reports"], row["leader_reports"], row["per_hundred_staff"]) == (1, 2, 1, 100.0)


# ---------------------------------------------------------------- R10


def test_r10_an_empty_public_complaint_is_no_reason():
    """R10 reason public_complaint: a closed case of the year with public_complaint. Conventions:
    empty counts as false. P's case K1 (closed 2024, public_complaint empty, nothing else wrong) gives
    no reason → P is no lead; Q's K2 (public_complaint true) → Q is a lead for public_complaint, K2."""
    from lianjian.scoring.leads import review_leads

    cases = s.cases([
        {"case_id": "K1", "handler_id": "P", "closed_date": "2024-05-01", "public_complaint": None},
        {"case_id": "K2", "handler_id": "Q", "closed_date": "2024-05-01", "public_complaint": True},
    ])
    empty_reports = s.reports([])
    out = review_leads(s.roster([{"person_id": "P"}, {"person_id": "Q"}]), empty_reports, cases, s.violations([]), RULES).collect()
    assert [(r["person_id"], r["reasons"], r["record_ids"]) for r in out.to_dicts()] == [("Q", ["public_complaint"], ["K2"])]


def test_r10_a_reason_is_listed_once_whatever_the_number_of_its_records():
    """R10: ``reasons`` lists each reason that holds once, in the enumeration's order; ``record_ids``
    names every record. P: violations V2 and V1 and the unqualified case K1 → reasons [violation,
    unqualified_case], record ids [K1, V1, V2]."""
    from lianjian.scoring.leads import review_leads

    viols = s.violations([{"violation_id": "V2", "person_id": "P"}, {"violation_id": "V1", "person_id": "P"}])
    cases = s.cases([{"case_id": "K1", "handler_id": "P", "closed_date": "2024-05-01", "quality_rating": "unqualified"}])
    out = review_leads(s.roster([{"person_id": "P"}]), s.reports([]), cases, viols, RULES).collect()
    assert [(r["reasons"], r["record_ids"]) for r in out.to_dicts()] == [(["violation", "unqualified_case"], ["K1", "V1", "V2"])]


# ---------------------------------------------------------------- R4


def test_r4_a_streak_of_poor_years_whatever_the_order_of_the_rows():
    """R4 连续两年较差: the years of a run are counted in calendar order, whatever order the assessment
    rows come in. A's integrity grade is 较差 in 2024, 2023 and 2022, given newest first: one trigger
    in 2023 (run of 2) and one in 2024 (run of 3), with the evidence of the run's years."""
    from support_assessed import integrity_rows, r4

    integrity = integrity_rows([{"year": y, "person_id": "A", "grade": "较差"} for y in (2024, 2023, 2022)])
    rows = [r for r in r4(integrity=integrity) if r["trigger_type"] == "consecutive_poor"]
    assert [(r["year"], r["subject_id"], r["streak_years"], r["evidence"]) for r in rows] == [
        (2023, "A", 2, ["integrity_assessment/2022/A", "integrity_assessment/2023/A"]),
        (2024, "A", 3, ["integrity_assessment/2022/A", "integrity_assessment/2023/A", "integrity_assessment/2024/A"]),
    ]


def test_r4_the_evidence_of_a_run_is_its_own_years_only():
    """R4 连续两年较差: the evidence is the assessment rows of the run's years. A is 较差 in 2021, 2023
    and 2024 (2022 好 breaks the run): one trigger, 2024, run of 2, evidence 2023 and 2024 — not 2021."""
    from support_assessed import integrity_rows, r4

    integrity = integrity_rows([{"year": y, "person_id": "A", "grade": g}
                                for y, g in ((2021, "较差"), (2022, "好"), (2023, "较差"), (2024, "较差"))])
    rows = [r for r in r4(integrity=integrity) if r["trigger_type"] == "consecutive_poor"]
    assert [(r["year"], r["streak_years"], r["evidence"]) for r in rows] == [
        (2024, 2, ["integrity_assessment/2023/A", "integrity_assessment/2024/A"])]


def test_r4_a_repeat_serious_violation_is_a_persons_trigger_not_a_bodys():
    """R4 下一年度内又发生: the subjects are people (secretary, leader, dept_head). S1 (department A,
    supervised by D1) has serious violations decided in 2023 and 2024; the unit's 党组 and 纪检组 are
    assessed too and answer for everyone of the unit, but are no person: the only row is D1's (2024,
    evidence V1, V2)."""
    from support_assessed import r4, responsibility_rows
    from test_rules_boundaries import three_year_unit

    roster, deps, _ = three_year_unit()
    resp = responsibility_rows([{"year": y, "subject_kind": k, "subject_id": i}
                                for y in (2023, 2024) for k, i in (("leader", "D1"), ("party_group", "U1"), ("discipline_group", "U1"))])
    viols = s.violations([{"violation_id": f"V{i}", "person_id": "S1", "severity": "serious", "decided_date": f"{y}-05-01"}
                          for i, y in ((1, 2023), (2, 2024))])
    rows = [r for r in r4(responsibility=resp, roster=roster, departments=deps, violations=viols)
            if r["trigger_type"] == "repeat_serious_violation"]
    assert [(r["year"], r["subject_kind"], r["subject_id"], r["evidence"]) for r in rows] == [(2024, "leader", "D1", ["V1", "V2"])]
