"""R3 党风廉政考核 (RULES.md R3): golden tests, numbers worked out by hand from RULES.md and the
defaults of rules/default.yaml (duty items as listed there, base 0.6 duty + 0.4 vote, vote points
100/80/60/0, scope points general 2 / serious 10 / criminal 10, cap 30, grades 90/80/60).

The unit used throughout (2024, U1): chief C1 (party secretary by default, nobody flagged), deputy
chief D1 (supervises department A), discipline head K1, department head H1 (heads A), prosecutors S1
and S2 in A.
"""

from __future__ import annotations

import support_scoring as s
from support_assessed import deduction_sum, duty_items, duty_mean, ev_of, obligations, r3
from support_rules import unit_departments, unit_roster


def act(aid, kind, atype, actor=None, date="2024-03-01", target=None, dept=None):
    return {"activity_id": aid, "actor_kind": kind, "actor_id": actor, "activity_type": atype,
            "activity_date": date, "target_id": target, "target_dept_code": dept}


def test_subjects_of_a_unit():
    units = s.units([{"unit_code": "U1", "unit_name": "某某县人民检察院"}])
    t, _ = r3(unit_roster([{"person_id": "R9", "position": "deputy_chief", "status": "retired"}]),
              unit_departments(), units=units)
    # discipline_head K1 is not a `leader` subject; retired R9 is nobody; S1/S2 are no subjects
    assert set(t) == {("party_group", "U1"), ("discipline_group", "U1"), ("secretary", "C1"), ("leader", "D1"),
                      ("dept_head", "H1")}
    assert t[("party_group", "U1")]["subject_name"] == "某某县人民检察院"
    assert t[("leader", "D1")]["subject_name"] == "D1"


def test_flagged_secretary_and_leader_heading_a_department_assessed_twice():
    roster = unit_roster([{"person_id": "Z1", "position": "political_director", "is_party_secretary": True}])
    deps = unit_departments([{"dept_code": "B", "head_id": "D1", "supervisor_id": "C1"}])
    t, _ = r3(roster, deps)
    # flagged Z1 is the secretary; the chief C1 is then a leader; D1 heads B → leader and dept_head
    assert ("secretary", "Z1") in t and ("leader", "C1") in t and ("secretary", "C1") not in t
    assert ("leader", "D1") in t and ("dept_head", "D1") in t


def test_secretary_targets_exclude_themself():
    activities = s.duty_activities(
        [
            act("L1", "secretary", "lecture", "C1"),
            act("I1", "secretary", "interview", "C1", target="D1"),
            act("I2", "secretary", "interview", "C1", target="C1"),  # with themself: no target
            act("T1", "secretary", "heart_talk", "C1", target="H1"),
            act("X1", "leader", "interview", "D1", target="K1"),  # someone else's interview
        ]
    )
    t, ev = r3(unit_roster(), unit_departments(), activities=activities)
    # lecture 1/1 = 1; interview over {D1, K1}: (1 + 0)/2 = 0.5; heart_talk over {D1, K1, H1}: 1/3;
    # responsibility_letter over {D1, K1}: 0 → (1 + 0.5 + 1/3 + 0)/4 × 100 = 45.8333… → 45.83
    row = t[("secretary", "C1")]
    assert row["duty_score"] == 45.83
    items = duty_items(ev, "C1", "secretary")
    assert items["R3.duty.interview"]["value"] == 0.5 and items["R3.duty.interview"]["record_ids"] == ["I1"]
    # what lowers it: the targets missed (K1 for the interview; D1 and K1 for the heart talk)
    assert ev_of(ev, "C1", "R3.duty.interview.missed")[0]["record_ids"] == ["K1"]
    assert ev_of(ev, "C1", "R3.duty.heart_talk.missed")[0]["record_ids"] == ["D1", "K1"]
    assert ev_of(ev, "C1", "R3.duty.lecture.missed") == []  # fully met: nothing named
    assert items["R3.duty.interview"]["component"] == "interview"  # the item's name
    assert abs(duty_mean(ev, "C1", "secretary") - 45.8333333) < 1e-4
    # no votes → base = duty alone; total 45.83 → 较差
    assert row["vote_score"] is None and row["total_score"] == 45.83 and row["grade"] == "较差"


def test_per_quarter_and_per_half_count_the_whole_calendar_year():
    activities = s.duty_activities(
        [
            # leader D1 over department A: report hearings in Feb, Mar (both Q1) and Nov (Q4) → 2/4
            act("R1", "leader", "report_hearing", "D1", "2024-02-01", dept="A"),
            act("R2", "leader", "report_hearing", "D1", "2024-03-30", dept="A"),
            act("R3", "leader", "report_hearing", "D1", "2024-11-01", dept="A"),
            act("R0", "leader", "report_hearing", "D1", "2023-06-01", dept="A"),  # other year
            act("R9", "leader", "report_hearing", "C1", "2024-06-01", dept="A"),  # other actor
            # integrity talk with head H1 in Q2 → 1/4
            act("G1", "leader", "integrity_talk", "D1", "2024-05-01", target="H1"),
            # lectures 2 ≥ 1 → 1; responsibility letter with H1 → 1
            act("E1", "leader", "lecture", "D1"),
            act("E2", "leader", "lecture", "D1"),
            act("B1", "leader", "responsibility_letter", "D1", target="H1"),
            # discipline group: opinion exchange with C1 in both halves, with D1 in H2 only → (1 + 0.5)/2;
            # K1 (the discipline head) is no target; actor_id of a body does not matter
            act("O1", "discipline_group", "opinion_exchange", "K1", "2024-01-15", target="C1"),
            act("O2", "discipline_group", "opinion_exchange", None, "2024-07-15", target="C1"),
            act("O3", "discipline_group", "opinion_exchange", None, "2024-12-31", target="D1"),
            act("O4", "discipline_group", "opinion_exchange", None, "2024-12-31", target="K1"),
            act("Q1", "discipline_group", "duty_report"),
        ]
    )
    # D1 is responsible for three supervisor obligations, two fulfilled → 2/3
    obl = obligations(
        [
            {"person_id": p, "obligation": "supervisor", "responsible_id": "D1", "fulfilled": f, "talk_id": tid}
            for p, f, tid in (("S1", True, "T1"), ("S2", True, "T2"), ("H1", False, None))
        ]
    )
    t, ev = r3(unit_roster(), unit_departments(), activities=activities, obligations=obl)
    # leader: (0.5 + 0.25 + 1 + 1 + 2/3)/5 = 3.41666…/5 = 0.683333… → 68.33
    assert t[("leader", "D1")]["duty_score"] == 68.33
    # discipline group: (0.75 + 1 + 0)/3 = 0.583333… → 58.33
    assert t[("discipline_group", "U1")]["duty_score"] == 58.33
    d1 = {e["rule"]: e for e in ev_of(ev, "D1", kind="leader")}
    assert d1["R3.duty.report_hearing"]["value"] == 0.5
    assert d1["R3.duty.report_hearing"]["record_ids"] == ["R1", "R2", "R3"]
    assert d1["R3.duty.talk_obligations"]["record_ids"] == ["T1", "T2"]


def test_dept_head_items_and_items_without_targets_left_out():
    roster = unit_roster([{"person_id": "H2", "position": "dept_head", "dept_code": "B"},
                          {"person_id": "S5", "dept_code": "B", "status": "retired"}])
    deps = unit_departments([{"dept_code": "B", "head_id": "H2"}])
    activities = s.duty_activities([act("M1", "dept_head", "commitment_letter", "H1", target="S1")])
    obl = obligations(
        [
            # H1's department talks: 4 obligations towards others, 3 fulfilled → 0.75
            {"person_id": "S1", "obligation": "department_h1", "responsible_id": "H1", "fulfilled": True, "talk_id": "T1"},
            {"person_id": "S1", "obligation": "department_h2", "responsible_id": "H1", "fulfilled": True, "talk_id": "T2"},
            {"person_id": "S2", "obligation": "department_h1", "responsible_id": "H1", "fulfilled": True, "talk_id": "T3"},
            {"person_id": "S2", "obligation": "department_h2", "responsible_id": "H1", "fulfilled": False},
            # H1's own family talk is not an obligation towards others
            {"person_id": "H1", "obligation": "family", "responsible_id": "H1", "fulfilled": False},
        ]
    )
    cases = s.cases(
        [
            # special cases of department A closed in 2024: 2, one dept_verified → 0.5
            {"case_id": "K1", "handler_id": "S1", "closed_date": "2024-04-01", "public_complaint": True,
             "dept_verified": True},
            {"case_id": "K2", "handler_id": "S2", "closed_date": "2024-05-01", "outcome": "acquitted"},
            {"case_id": "K3", "handler_id": "S2", "closed_date": "2024-05-01", "outcome": "prosecuted"},  # not special
            {"case_id": "K4", "handler_id": "S1", "closed_date": "2023-05-01", "accepted_date": "2023-01-01",
             "public_complaint": True},  # closed in 2023
        ]
    )
    votes = s.votes([{"subject_kind": "dept_head", "subject_id": "H2", "votes_good": 2, "votes_fairly_good": 1,
                      "votes_average": 1}])
    t, ev = r3(roster, deps, activities=activities, obligations=obl, cases=cases, votes=votes)
    # H1: obligations 0.75; commitment letters over {S1, S2}: 0.5; special cases verified 0.5
    #     → (0.75 + 0.5 + 0.5)/3 = 0.583333… → 58.33
    assert t[("dept_head", "H1")]["duty_score"] == 58.33
    # R8: the verified special case is counted, the unverified one named as what lowers the item
    assert ev_of(ev, "H1", "R3.duty.special_cases_verified")[0]["record_ids"] == ["K1"]
    assert ev_of(ev, "H1", "R3.duty.special_cases_verified.missed")[0]["record_ids"] == ["K2"]
    # and the department talk not held names its obligation; the commitment letter not signed, S2
    assert ev_of(ev, "H1", "R3.duty.talk_obligations.missed")[0]["record_ids"] == ["talk_obligations/2024/S2/department_h2"]
    assert ev_of(ev, "H1", "R3.duty.commitment_letter.missed")[0]["record_ids"] == ["S2"]
    # H2: no other active member, no obligations, no special cases → no items → duty_score empty;
    #     vote (100·2 + 80·1 + 60·1)/4 = 340/4 = 85 → base = vote alone → 85 较好
    h2 = t[("dept_head", "H2")]
    assert h2["duty_score"] is None and h2["vote_score"] == 85.0
    assert h2["total_score"] == 85.0 and h2["grade"] == "较好" and h2["status"] == "graded"
    # R8: the votes of each level (no duty item)
    assert {e["rule"]: e["value"] for e in ev_of(ev, "H2", kind="dept_head")} == {
        "R3.vote.good": 2.0, "R3.vote.fairly_good": 1.0, "R3.vote.average": 1.0, "R3.vote.poor": 0.0}


def test_base_score_weights_and_incomplete_without_duty_or_vote():
    # No items at all for the party group if the rules file lists none → duty empty
    rules = s.rules_with({"responsibility": {"duty_items": {"party_group": []}}})
    activities = s.duty_activities([act("E1", "leader", "lecture", "D1")])
    votes = s.votes([{"subject_kind": "leader", "subject_id": "D1", "votes_good": 1, "votes_poor": 1}])
    t, _ = r3(unit_roster(), unit_departments(), activities=activities, votes=votes, rules=rules)
    # D1: report_hearing 0, integrity_talk 0, lecture 1, responsibility_letter 0 (obligations: none → left out)
    #     → 1/4 → 25; vote (100·1 + 0·1)/2 = 50; base 0.6·25 + 0.4·50 = 15 + 20 = 35 → 较差
    d1 = t[("leader", "D1")]
    assert (d1["duty_score"], d1["vote_score"], d1["total_score"], d1["grade"]) == (25.0, 50.0, 35.0, "较差")
    pg = t[("party_group", "U1")]
    assert pg["duty_score"] is None and pg["vote_score"] is None
    assert pg["status"] == "incomplete" and pg["total_score"] is None and pg["grade"] is None
    assert d1["status"] == "graded"


def test_scope_deductions_own_excluded_and_roster_of_decision_year():
    roster = unit_roster(
        [
            {"person_id": "S3", "dept_code": "A", "year": 2023},
            {"person_id": "S3", "dept_code": "B", "year": 2024},  # in B when the 2024 decision is made
            {"person_id": "X1", "year": 2023},  # missing from the 2024 roster
        ]
    )
    deps = unit_departments([{"dept_code": "B", "supervisor_id": "C1"}])
    viols = s.violations(
        [
            {"violation_id": "V1", "person_id": "S1", "severity": "serious"},  # 10
            {"violation_id": "V2", "person_id": "S2", "severity": "general"},  # 2
            {"violation_id": "V3", "person_id": "H1", "severity": "serious"},  # 10, H1's own
            {"violation_id": "V4", "person_id": "D1", "severity": "general"},  # 2, D1's own
            {"violation_id": "V5", "person_id": "S3", "severity": "general"},  # 2, dept B in 2024
            {"violation_id": "V6", "person_id": "X1", "severity": "criminal"},  # nobody's scope
            {"violation_id": "V7", "person_id": "S1", "severity": "minor"},  # 0 points
            {"violation_id": "V8", "person_id": "S2", "severity": "serious", "decided_date": "2023-06-01"},  # 2023
        ]
    )
    t, ev = r3(roster, deps, violations=viols)
    # unit-wide (party group, secretary C1, discipline group): 10 + 2 + 10 + 2 + 2 = 26
    for key in (("party_group", "U1"), ("secretary", "C1"), ("discipline_group", "U1")):
        assert t[key]["deduction_scope"] == 26.0, key
        assert t[key]["veto"] is None  # V6 (criminal) is in nobody's scope
    # leader D1 over department A: S1 10 + S2 2 + H1 10 = 22 (own V4 excluded; S3 is in B in 2024)
    assert t[("leader", "D1")]["deduction_scope"] == 22.0
    # dept head H1: S1 10 + S2 2 = 12 (own V3 excluded)
    assert t[("dept_head", "H1")]["deduction_scope"] == 12.0
    h1 = {e["rule"]: e for e in ev_of(ev, "H1", kind="dept_head") if e["component"] == "deduction_scope"}
    assert h1 == {
        "R3.scope.serious": {**h1["R3.scope.serious"], "value": 10.0, "record_ids": ["V1"]},
        "R3.scope.general": {**h1["R3.scope.general"], "value": 2.0, "record_ids": ["V2"]},
    }
    assert h1["R3.scope.serious"]["basis"] == s.default_rules().settings(2024).basis["R3.scope"]


def test_scope_deduction_capped_at_30():
    viols = s.violations(
        [{"violation_id": f"V{i}", "person_id": p, "severity": "serious"} for i, p in enumerate(["S1", "S1", "S2", "S2"])]
    )
    t, ev = r3(unit_roster(), unit_departments(), violations=viols)
    # 4 × 10 = 40 → capped at 30 for everyone who answers for S1 and S2
    for key in (("party_group", "U1"), ("leader", "D1"), ("dept_head", "H1")):
        assert t[key]["deduction_scope"] == 30.0
    pg = {e["rule"]: e["value"] for e in ev_of(ev, "U1", kind="party_group") if e["component"] == "deduction_scope"}
    assert pg == {"R3.scope.serious": 40.0, "R3.scope.cap": -10.0}
    assert deduction_sum(ev, "U1", kind="party_group") == 30.0


def test_veto_criminal_in_scope_and_own_r2_veto():
    viols = s.violations(
        [
            {"violation_id": "V1", "person_id": "S1", "severity": "criminal", "sanction": "judicial_transfer"},
            {"violation_id": "V2", "person_id": "C1", "severity": "general", "sanction": "party_discipline"},
        ]
    )
    votes = s.votes([{"subject_kind": "party_group", "subject_id": "U1", "votes_good": 10}])
    t, ev = r3(unit_roster(), unit_departments(), violations=viols, votes=votes)
    # S1's criminal violation vetoes everyone who answers for S1
    for key in (("party_group", "U1"), ("leader", "D1"), ("dept_head", "H1"), ("discipline_group", "U1")):
        assert t[key]["grade"] == "较差" and t[key]["veto"] == "V1", key
    # the party group: duty 0 (five items, no activity), vote 100 → 0.6·0 + 0.4·100 = 40;
    # scope 10 (V1) + 2 (V2) = 12 → 28, 较差 by veto as well
    assert t[("party_group", "U1")]["duty_score"] == 0.0 and t[("party_group", "U1")]["total_score"] == 28.0
    # the secretary C1: V1 in scope + own V2 (party_discipline vetoes under R2) → "V1,V2"
    assert t[("secretary", "C1")]["veto"] == "V1,V2"
    assert ev_of(ev, "C1", "R3.veto")[0]["record_ids"] == ["V1", "V2"]


def test_a_supervisor_of_another_unit_is_used_as_given():
    """The supervisor as given (docs/rules.md R1, R3, R4): department A of U1 names X, a deputy chief
    of U2, as supervisor. Scoring takes that as it is:

    R1: the supervisor talks of A's members S1 and H1 are X's (S1's held by X, T1; H1's not).
    R3, X as a leader of U2 (default items, equal weights): report_hearing over A per quarter — one
    hearing in Q1, recorded with A's unit U1 → 1/4; integrity_talk with A's head H1 per quarter → 0;
    lecture (U2) ≥ 1 → 1; responsibility_letter with H1 → 0; talk obligations 1 of 2 → 1/2.
    duty = 100 × (0.25 + 0 + 1 + 0 + 0.5)/5 = 35; no votes → base 35; scope: S1's serious violation in
    A → 10; total 25 → 较差. (Ignoring the cross-unit supervision would leave lecture and obligations
    only: (1 + 0.5)/2 = 75, scope 0.)
    R4 一案双查: S1 (staff of A) → A's head H1 (dept_head) and X (leader), in the violator's unit U1.
    """
    from lianjian.scoring.talks import talk_obligations

    roster = s.roster(
        [
            {"person_id": "C1", "position": "chief"},
            {"person_id": "H1", "position": "dept_head", "dept_code": "A"},
            {"person_id": "S1", "dept_code": "A"},
            {"person_id": "C2", "unit_code": "U2", "position": "chief"},
            {"person_id": "X", "unit_code": "U2", "position": "deputy_chief"},
        ]
    )
    deps = s.departments([{"dept_code": "A", "head_id": "H1", "supervisor_id": "X"}])
    talks = s.talks([{"talk_id": "T1", "talk_date": "2024-05-01", "talk_type": "supervisor", "interviewer_id": "X",
                      "interviewee_id": "S1", "witness_id": "W"}])
    obl = talk_obligations(roster, deps, s.events([]), talks, s.default_rules())
    sup = {r["person_id"]: (r["responsible_id"], r["talk_id"]) for r in obl.collect().to_dicts()
           if r["obligation"] == "supervisor"}
    assert sup == {"S1": ("X", "T1"), "H1": ("X", None)}

    activities = s.duty_activities(
        [
            act("RH", "leader", "report_hearing", "X", "2024-02-01", dept="A"),  # U1: A's unit
            {**act("LX", "leader", "lecture", "X"), "unit_code": "U2"},
        ]
    )
    viols = s.violations([{"violation_id": "V1", "person_id": "S1", "severity": "serious"}])
    units = s.units([{"unit_code": "U1"}, {"unit_code": "U2"}])
    t, ev = r3(roster, deps, units=units, activities=activities, obligations=obl, violations=viols)
    x = t[("leader", "X")]
    assert x["unit_code"] == "U2"
    assert (x["duty_score"], x["deduction_scope"], x["total_score"], x["grade"]) == (35.0, 10.0, 25.0, "较差")
    items = {e["rule"]: e["value"] for e in ev_of(ev, "X", kind="leader") if e["rule"].startswith("R3.duty.")
             and e["value"] is not None}
    assert items == {"R3.duty.report_hearing": 0.25, "R3.duty.integrity_talk": 0.0, "R3.duty.lecture": 1.0,
                     "R3.duty.responsibility_letter": 0.0, "R3.duty.talk_obligations": 0.5}

    from support_assessed import r4

    rows = [(r["unit_code"], r["subject_kind"], r["subject_id"]) for r in r4(roster=roster, departments=deps, violations=viols)
            if r["trigger_type"] == "one_case_two_investigations"]
    assert sorted(rows) == [("U1", "dept_head", "H1"), ("U1", "leader", "X")]


def test_department_heads_as_targets_whatever_their_status_and_never_oneself():
    """docs/rules.md R3 (settled reading): "each department head" / "per department head" are the
    head_ids named in Y's departments whatever their status; a subject is never its own target.

    The unit of ``unit_roster`` plus department B headed by RH (retired) and supervised by D1, and
    department C headed by the secretary C1 themself. RH is no subject (not active) but a target:
    secretary C1: lecture 0; interview over {D1, K1} 0; heart_talk over {D1, K1, H1, RH} (not C1,
    who heads C) — one with RH, one with C1 (not a target) → 1/4; responsibility_letter 0
    → 100 × 0.25/4 = 6.25.
    leader D1 over A and B: report_hearing 0; integrity_talk over {H1, RH} per quarter, RH in Q1
    → (0 + 1/4)/2 = 0.125; lecture 0; responsibility_letter over {H1, RH}, RH's → 1/2
    → 100 × 0.625/4 = 15.625 → 15.63.
    """
    roster = unit_roster([{"person_id": "RH", "position": "dept_head", "dept_code": "B", "status": "retired"}])
    deps = unit_departments([{"dept_code": "B", "head_id": "RH", "supervisor_id": "D1"},
                             {"dept_code": "C", "head_id": "C1"}])
    activities = s.duty_activities(
        [
            act("T1", "secretary", "heart_talk", "C1", target="RH"),
            act("T2", "secretary", "heart_talk", "C1", target="C1"),
            act("G1", "leader", "integrity_talk", "D1", "2024-02-01", target="RH"),
            act("B1", "leader", "responsibility_letter", "D1", target="RH"),
        ]
    )
    t, ev = r3(roster, deps, activities=activities)
    assert ("dept_head", "RH") not in t and ("dept_head", "C1") in t
    assert t[("secretary", "C1")]["duty_score"] == 6.25
    assert t[("leader", "D1")]["duty_score"] == 15.63
    c1 = {e["rule"]: e for e in ev_of(ev, "C1", kind="secretary") if e["value"] is not None}
    assert c1["R3.duty.heart_talk"]["value"] == 0.25 and c1["R3.duty.heart_talk"]["record_ids"] == ["T1"]
    d1 = {e["rule"]: e["value"] for e in ev_of(ev, "D1", kind="leader") if e["value"] is not None}
    assert (d1["R3.duty.integrity_talk"], d1["R3.duty.responsibility_letter"]) == (0.125, 0.5)
