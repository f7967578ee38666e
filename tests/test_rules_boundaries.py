"""Every threshold and every period end at its boundary (docs/rules.md): the grades at exactly 90.00,
80.00 and 60.00 and one hundredth below; the first and last day of each half, quarter, year and
must-talk window, and the day outside; caps exactly reached and just passed; asymmetric vote counts;
inputs a filter must drop. Each expected value is worked out by hand in the comments, from the rule
text and the defaults of rules/default.yaml — a rule written with ``>`` for ``>=``, June counted in
the second half, or the points of two vote levels swapped fails here.
"""

from __future__ import annotations

import datetime as dt

import polars as pl
import pytest
import support_scoring as s
from support_assessed import duty_items, ev_of, obligations, r2, r3, r4, responsibility_rows
from support_rules import NO_DUTY, activity, dept_review, unit_departments, unit_roster

from lianjian.scoring.cases import leader_case_handling
from lianjian.scoring.talks import talk_obligations

RULES = s.default_rules()

# ---------------------------------------------------------------- grades (R2, R3)

GRADE_CASES = [
    # department review alone: the review score is that review; no deduction → total = the score
    (100.0, 100.0, "好"),
    (90.0, 90.0, "好"),  # exactly 90.00 → 好 (≥)
    (89.99, 89.99, "较好"),
    (89.995, 90.0, "好"),  # written 90.00 → 好: the grade compares the written score
    (80.0, 80.0, "较好"),  # exactly 80.00 → 较好 (≥)
    (79.99, 79.99, "一般"),
    (79.995, 80.0, "较好"),
    (60.0, 60.0, "一般"),  # exactly 60.00 → 一般 (≥)
    (59.99, 59.99, "较差"),
    (59.994, 59.99, "较差"),
    (59.995, 60.0, "一般"),
    (0.0, 0.0, "较差"),
    # halves whose double lies just below the half (79.975 × 100 = 7997.4999…): still away from zero
    (79.975, 79.98, "一般"),
    (1.005, 1.01, "较差"),
]


def test_integrity_grade_at_every_threshold_and_one_hundredth_below():
    people = [f"P{i}" for i in range(len(GRADE_CASES))]
    t, _ = r2(s.roster([{"person_id": p} for p in people]),
              s.reviews([dept_review(p, x) for p, (x, _, _) in zip(people, GRADE_CASES)]))
    got = [(t[p]["total_score"], t[p]["grade"]) for p in people]
    assert got == [(total, grade) for _, total, grade in GRADE_CASES]


def test_integrity_grade_at_a_threshold_reached_through_deductions():
    """Department 82, family talk not held (2) → 80.00 较好; department 62, two flawed cases (1 each)
    → 60.00 一般; department 92, one flawed case (1) and one criticism (3) → 88.00 较好; department 93,
    one criticism (3) → 90.00 好."""
    people = ["A", "B", "C", "D"]
    roster = s.roster([{"person_id": p} for p in people])
    reviews = s.reviews([dept_review("A", 82), dept_review("B", 62), dept_review("C", 92), dept_review("D", 93)])
    fam = obligations([{"person_id": "A", "obligation": "family", "responsible_id": "A"}])
    cases = s.cases([{"case_id": f"K{i}", "handler_id": h, "closed_date": "2024-06-30", "quality_rating": "flawed"}
                     for i, h in enumerate(["B", "B", "C"])])
    viols = s.violations([{"violation_id": "V1", "person_id": "C"}, {"violation_id": "V2", "person_id": "D"}])
    t, _ = r2(roster, reviews, fam, cases, viols)
    assert [(t[p]["total_score"], t[p]["grade"]) for p in people] == [
        (80.0, "较好"), (60.0, "一般"), (88.0, "较好"), (90.0, "好")]


def test_responsibility_grade_at_every_threshold():
    """With no duty items the base score is the vote score (R3). Votes (points 100/80/60/0):
    party group 1 good + 1 fairly good → 180/2 = 90.00; secretary C1 3 fairly good → 80.00; leader D1
    2 average → 60.00; dept head H1 1 fairly good + 1 average → 70.00; discipline group 3 average →
    60.00. Every one of them answers for S1 (in A: unit-wide, D1 supervises A, H1 heads A): S1's
    general violation costs each 2 points, so each total is one grade step lower or not, as below;
    without it the totals are exactly 90.00 好, 80.00 较好 and 60.00 一般."""
    votes = s.votes(
        [
            {"subject_kind": "party_group", "subject_id": "U1", "votes_good": 1, "votes_fairly_good": 1},
            {"subject_kind": "secretary", "subject_id": "C1", "votes_fairly_good": 3},
            {"subject_kind": "leader", "subject_id": "D1", "votes_average": 2},
            {"subject_kind": "dept_head", "subject_id": "H1", "votes_fairly_good": 1, "votes_average": 1},
            {"subject_kind": "discipline_group", "subject_id": "U1", "votes_average": 3},
        ]
    )
    viols = s.violations([{"violation_id": "V1", "person_id": "S1", "severity": "general"}])
    t, _ = r3(unit_roster(), unit_departments(), votes=votes, violations=viols, rules=NO_DUTY)
    got = {k: (r["vote_score"], r["total_score"], r["grade"]) for k, r in t.items()}
    # the party group, the secretary and the leader D1 answer for S1 as well (unit-wide; D1
    # supervises A): 90 − 2 = 88 较好, 80 − 2 = 78 一般, 60 − 2 = 58 较差
    assert got == {
        ("party_group", "U1"): (90.0, 88.0, "较好"),
        ("secretary", "C1"): (80.0, 78.0, "一般"),
        ("leader", "D1"): (60.0, 58.0, "较差"),
        ("dept_head", "H1"): (70.0, 68.0, "一般"),
        ("discipline_group", "U1"): (60.0, 58.0, "较差"),
    }
    # without the violation: exactly 90.00 好, 80.00 较好, 60.00 一般
    t, _ = r3(unit_roster(), unit_departments(), votes=votes, rules=NO_DUTY)
    assert [t[k]["grade"] for k in (("party_group", "U1"), ("secretary", "C1"), ("leader", "D1"))] == ["好", "较好", "一般"]


# ---------------------------------------------------------------- votes (R3)


def test_vote_score_with_asymmetric_counts():
    """(100·good + 80·fairly good + 60·average + 0·poor) / all votes, with counts that differ per level
    so that no two levels can be swapped unnoticed:
    C1: 1, 2, 3, 4 → (100 + 160 + 180 + 0)/10 = 44.00 (swapping 较好 and 一般: 46);
    D1: 4, 3, 2, 1 → (400 + 240 + 120 + 0)/10 = 76.00 (swapped: 74);
    H1: 0, 1, 0, 3 → 80/4 = 20.00;
    the party group: all four counts 0 → no vote score (no division by zero), incomplete."""
    votes = s.votes(
        [
            {"subject_kind": "secretary", "subject_id": "C1", "votes_good": 1, "votes_fairly_good": 2,
             "votes_average": 3, "votes_poor": 4},
            {"subject_kind": "leader", "subject_id": "D1", "votes_good": 4, "votes_fairly_good": 3,
             "votes_average": 2, "votes_poor": 1},
            {"subject_kind": "dept_head", "subject_id": "H1", "votes_fairly_good": 1, "votes_poor": 3},
            {"subject_kind": "party_group", "subject_id": "U1"},
        ]
    )
    t, ev = r3(unit_roster(), unit_departments(), votes=votes, rules=NO_DUTY)
    assert t[("secretary", "C1")]["vote_score"] == 44.0 and t[("secretary", "C1")]["total_score"] == 44.0
    assert t[("leader", "D1")]["vote_score"] == 76.0
    assert t[("dept_head", "H1")]["vote_score"] == 20.0
    pg = t[("party_group", "U1")]
    assert (pg["vote_score"], pg["status"], pg["grade"]) == (None, "incomplete", None)
    # R8: the count of each level, as given
    assert {e["rule"]: e["value"] for e in ev_of(ev, "C1", kind="secretary") if e["rule"].startswith("R3.vote.")} == {
        "R3.vote.good": 1.0, "R3.vote.fairly_good": 2.0, "R3.vote.average": 3.0, "R3.vote.poor": 4.0}


def test_base_score_weights_with_duty_and_vote_apart():
    """base = 0.6 · duty + 0.4 · vote with duty and vote far apart (a swap of the weights shows):
    leader D1: lecture 1/1, other items 0 (report hearing, integrity talk, responsibility letter) →
    duty 100 × 1/4 = 25; votes 4 good → 100; base 0.6·25 + 0.4·100 = 15 + 40 = 55.00 (swapped: 70)."""
    activities = s.duty_activities([{"activity_id": "E1", "actor_kind": "leader", "actor_id": "D1",
                                     "activity_type": "lecture"}])
    votes = s.votes([{"subject_kind": "leader", "subject_id": "D1", "votes_good": 4}])
    t, _ = r3(unit_roster(), unit_departments(), activities=activities, votes=votes)
    d1 = t[("leader", "D1")]
    assert (d1["duty_score"], d1["vote_score"], d1["total_score"], d1["grade"]) == (25.0, 100.0, 55.0, "较差")


# ---------------------------------------------------------------- caps exactly reached (R2, R3)


def test_case_cap_exactly_reached_and_just_passed():
    """Cap 20: A's four unqualified cases 4 × 5 = 20 → 20, no cap row (the cap does not bite);
    B's four unqualified and one flawed 20 + 1 = 21 → 20, cap row −1."""
    roster = s.roster([{"person_id": "A"}, {"person_id": "B"}])
    reviews = s.reviews([dept_review("A", 100), dept_review("B", 100)])
    cases = s.cases(
        [{"case_id": f"A{i}", "handler_id": "A", "closed_date": "2024-03-01", "quality_rating": "unqualified"}
         for i in range(4)]
        + [{"case_id": f"B{i}", "handler_id": "B", "closed_date": "2024-03-01", "quality_rating": "unqualified"}
           for i in range(4)]
        + [{"case_id": "B9", "handler_id": "B", "closed_date": "2024-03-01", "quality_rating": "flawed"}]
    )
    t, ev = r2(roster, reviews, cases=cases)
    assert (t["A"]["deduction_cases"], t["A"]["total_score"]) == (20.0, 80.0)
    assert (t["B"]["deduction_cases"], t["B"]["total_score"]) == (20.0, 80.0)
    assert ev_of(ev, "A", "R2.cases.cap") == []
    assert [e["value"] for e in ev_of(ev, "B", "R2.cases.cap")] == [-1.0]


def test_scope_cap_exactly_reached_and_just_passed():
    """Cap 30: H1 answers for S1 and S2 (department A). Three serious violations of S1 → 30 → 30, no
    cap row; the discipline group (unit-wide) also answers for K1's general one → 32 → 30, cap row −2."""
    viols = s.violations(
        [{"violation_id": f"V{i}", "person_id": "S1", "severity": "serious"} for i in range(3)]
        + [{"violation_id": "V9", "person_id": "K1", "severity": "general"}]
    )
    t, ev = r3(unit_roster(), unit_departments(), violations=viols)
    assert t[("dept_head", "H1")]["deduction_scope"] == 30.0
    assert ev_of(ev, "H1", "R3.scope.cap", kind="dept_head") == []
    assert t[("discipline_group", "U1")]["deduction_scope"] == 30.0
    assert [e["value"] for e in ev_of(ev, "U1", "R3.scope.cap", kind="discipline_group")] == [-2.0]


# ---------------------------------------------------------------- halves and quarters (R1, R3)

Y = 2024


def _talk(talk_id, date, talk_type, interviewee="P", **kw):
    return {"talk_id": talk_id, "talk_date": date, "talk_type": talk_type, "interviewee_id": interviewee, **kw}


R1_ROSTER = [
    {"person_id": "SEC", "position": "chief", "is_party_secretary": True},
    {"person_id": "S", "position": "deputy_chief"},
    {"person_id": "H", "position": "dept_head", "dept_code": "D1"},
    {"person_id": "P", "dept_code": "D1"},
]
R1_DEPTS = [{"dept_code": "D1", "head_id": "H", "supervisor_id": "S"}]
FAMILY = {"family_signed": True}
DEPARTMENT = {"interviewer_id": "H", "witness_id": "W"}
SUPERVISOR = {"interviewer_id": "S", "witness_id": "W"}


@pytest.mark.parametrize(
    "obligation, talk_type, extra, date, fulfils",
    [
        # the year: 1 January and 31 December are in; the days around them are not
        ("family", "family", FAMILY, "2024-01-01", True),
        ("family", "family", FAMILY, "2024-12-31", True),
        ("family", "family", FAMILY, "2023-12-31", False),
        ("family", "family", FAMILY, "2025-01-01", False),
        ("supervisor", "supervisor", SUPERVISOR, "2024-01-01", True),
        ("supervisor", "supervisor", SUPERVISOR, "2024-12-31", True),
        ("supervisor", "supervisor", SUPERVISOR, "2023-12-31", False),
        ("supervisor", "supervisor", SUPERVISOR, "2025-01-01", False),
        # H1 is January–June, H2 July–December
        ("department_h1", "department", DEPARTMENT, "2024-01-01", True),
        ("department_h1", "department", DEPARTMENT, "2024-06-30", True),
        ("department_h1", "department", DEPARTMENT, "2024-07-01", False),
        ("department_h1", "department", DEPARTMENT, "2023-12-31", False),
        ("department_h2", "department", DEPARTMENT, "2024-07-01", True),
        ("department_h2", "department", DEPARTMENT, "2024-12-31", True),
        ("department_h2", "department", DEPARTMENT, "2024-06-30", False),
        ("department_h2", "department", DEPARTMENT, "2025-01-01", False),
    ],
)
def test_yearly_and_half_year_talks_at_the_ends_of_their_period(obligation, talk_type, extra, date, fulfils):
    out = talk_obligations(s.roster(R1_ROSTER), s.departments(R1_DEPTS), s.events([]),
                           s.talks([_talk("T1", date, talk_type, **extra)]), RULES).collect()
    row = out.filter(pl.col("person_id") == "P", pl.col("obligation") == obligation).row(0, named=True)
    assert (row["fulfilled"], row["talk_id"]) == (fulfils, "T1" if fulfils else None)


EVENT_DATES = ("2024-02-15", "2024-05-15", "2024-08-15", "2024-11-15")


@pytest.mark.parametrize("event_type", sorted(RULES.settings(Y).talks.must_talk_windows))
def test_must_talk_window_first_and_last_day_in_the_days_around_out(event_type):
    """Four events of one type, three months apart; each talk names its event: on d + from (the first
    day of the window) and on d + to (the last) it fulfils; one day before the first and one day
    after the last it does not."""
    w = RULES.settings(Y).talks.must_talk_windows[event_type]
    days = [w.from_, w.to, w.from_ - 1, w.to + 1]
    evs = [{"event_id": f"E{i}", "person_id": "P", "event_type": event_type, "event_date": d}
           for i, d in enumerate(EVENT_DATES)]
    tks = [
        _talk(f"T{i}", dt.date.fromisoformat(d) + dt.timedelta(days=k), "must_talk", reason=event_type,
              event_id=f"E{i}", interviewer_id="H", witness_id="W")
        for i, (d, k) in enumerate(zip(EVENT_DATES, days))
    ]
    out = talk_obligations(s.roster(R1_ROSTER), s.departments(R1_DEPTS), s.events(evs), s.talks(tks), RULES).collect()
    got = {r["event_id"]: (r["due_from"], r["due_to"], r["talk_id"])
           for r in out.filter(pl.col("obligation") == "must_talk").to_dicts()}
    for i, d in enumerate(EVENT_DATES):
        day = dt.date.fromisoformat(d)
        window = (day + dt.timedelta(days=w.from_), day + dt.timedelta(days=w.to))
        assert got[f"E{i}"] == (*window, f"T{i}" if i < 2 else None), (event_type, i)


@pytest.mark.parametrize(
    "dates, completion",
    [
        (["2024-01-01", "2024-06-30"], 0.5),  # both in H1 (June is the first half)
        (["2024-07-01", "2024-12-31"], 0.5),  # both in H2
        (["2024-06-30", "2024-07-01"], 1.0),  # one in each half
        (["2023-12-31", "2025-01-01"], 0.0),  # other years count nowhere in 2024
    ],
)
def test_per_half_item_at_the_ends_of_each_half(dates, completion):
    """The 党组's special_inspection (per half): the share of 2024's two halves with an activity."""
    acts = s.duty_activities([activity(f"A{i}", "party_group", "special_inspection", None, d) for i, d in enumerate(dates)])
    _, ev = r3(unit_roster(), unit_departments(), activities=acts)
    assert duty_items(ev, "U1", "party_group")["R3.duty.special_inspection"]["value"] == completion


@pytest.mark.parametrize(
    "dates, completion",
    [
        (["2024-01-01", "2024-03-31"], 0.25),  # both in Q1
        (["2024-04-01", "2024-06-30"], 0.25),  # both in Q2
        (["2024-07-01", "2024-09-30"], 0.25),  # both in Q3
        (["2024-10-01", "2024-12-31"], 0.25),  # both in Q4
        (["2024-03-31", "2024-04-01", "2024-09-30", "2024-10-01"], 1.0),  # the four quarters
        (["2024-06-30", "2024-07-01"], 0.5),  # Q2 and Q3
    ],
)
def test_per_quarter_item_at_the_ends_of_each_quarter(dates, completion):
    """Leader D1's report_hearing over department A (per quarter): the share of 2024's four quarters
    with a hearing."""
    acts = s.duty_activities([activity(f"A{i}", "leader", "report_hearing", "D1", d, dept="A") for i, d in enumerate(dates)])
    _, ev = r3(unit_roster(), unit_departments(), activities=acts)
    assert duty_items(ev, "D1", "leader")["R3.duty.report_hearing"]["value"] == completion


def test_per_target_half_item_at_the_ends_of_each_half():
    """The 纪检组's opinion_exchange (per target and half) over C1 and D1: C1 on 30 June and 1 January
    (both H1) → 1/2; D1 on 1 July and 31 December (both H2) → 1/2 → mean 0.5. (June counted in the
    second half would give C1 2/2 → 0.75.)"""
    acts = s.duty_activities(
        [
            activity("O1", "discipline_group", "opinion_exchange", None, "2024-06-30", target="C1"),
            activity("O2", "discipline_group", "opinion_exchange", None, "2024-01-01", target="C1"),
            activity("O3", "discipline_group", "opinion_exchange", None, "2024-07-01", target="D1"),
            activity("O4", "discipline_group", "opinion_exchange", None, "2024-12-31", target="D1"),
        ]
    )
    _, ev = r3(unit_roster(), unit_departments(), activities=acts)
    assert duty_items(ev, "U1", "discipline_group")["R3.duty.opinion_exchange"]["value"] == 0.5


def test_count_item_exactly_required_and_one_short():
    """The 党组's special_meeting needs 2 a year: two on 1 January and 31 December → 1; one → 0.5;
    three → still 1 (min(done / required, 1))."""
    def completion(dates):
        acts = s.duty_activities([activity(f"M{i}", "party_group", "special_meeting", None, d) for i, d in enumerate(dates)])
        _, ev = r3(unit_roster(), unit_departments(), activities=acts)
        return duty_items(ev, "U1", "party_group")["R3.duty.special_meeting"]["value"]

    assert completion(["2024-01-01", "2024-12-31"]) == 1.0
    assert completion(["2024-01-01", "2023-12-31"]) == 0.5
    assert completion(["2024-01-01", "2024-05-01", "2024-12-31"]) == 1.0


# ---------------------------------------------------------------- filters that must drop inputs (R4)


def three_year_unit():
    roster = s.roster(
        [
            {"year": y, "person_id": p, "position": pos, "dept_code": dept}
            for y in (2022, 2023, 2024)
            for p, pos, dept in (("C1", "chief", None), ("D1", "deputy_chief", None), ("H1", "dept_head", "A"),
                                 ("S1", "prosecutor", "A"))
        ]
    )
    deps = s.departments([{"year": y, "dept_code": "A", "head_id": "H1", "supervisor_id": "D1"} for y in (2022, 2023, 2024)])
    resp = responsibility_rows([{"year": y, "subject_kind": "leader", "subject_id": "D1"} for y in (2022, 2023, 2024)])
    return roster, deps, resp


@pytest.mark.parametrize(
    "severities, triggered",
    [
        ((("serious", "2023-05-01"), ("criminal", "2024-05-01")), True),  # serious, then criminal → a row in 2024
        ((("general", "2023-05-01"), ("general", "2024-05-01")), False),  # general both years: filtered out
        ((("general", "2023-05-01"), ("serious", "2024-05-01")), False),  # the first is not serious
        ((("serious", "2023-05-01"), ("minor", "2024-05-01")), False),  # the second is not serious
        ((("serious", "2022-05-01"), ("serious", "2024-05-01")), False),  # two years apart: not the next year
        ((("serious", "2024-01-01"), ("serious", "2024-12-31")), False),  # both in the same year
        ((("serious", "2023-12-31"), ("serious", "2024-01-01")), True),  # last day of Y−1, first of Y
    ],
)
def test_repeat_serious_violation_needs_serious_ones_in_consecutive_years(severities, triggered):
    """Leader D1 supervises A in 2022–2024; S1 (in A) has the violations listed."""
    roster, deps, resp = three_year_unit()
    viols = s.violations([{"violation_id": f"V{i}", "person_id": "S1", "severity": sev, "decided_date": day}
                          for i, (sev, day) in enumerate(severities)])
    rows = [r for r in r4(responsibility=resp, roster=roster, departments=deps, violations=viols)
            if r["trigger_type"] == "repeat_serious_violation"]
    assert [(r["year"], r["subject_id"], r["evidence"]) for r in rows] == ([(2024, "D1", ["V0", "V1"])] if triggered else [])


def test_consecutive_poor_streak_exactly_the_minimum():
    """Minimum 2: 较差 in 2023 and 2024 → one row (streak 2); 较差 in 2024 after 一般 in 2023 → none;
    a third year gives streak 3."""
    resp = responsibility_rows(
        [
            {"year": 2023, "subject_kind": "leader", "subject_id": "A", "grade": "较差"},
            {"year": 2024, "subject_kind": "leader", "subject_id": "A", "grade": "较差"},
            {"year": 2023, "subject_kind": "leader", "subject_id": "B", "grade": "一般"},
            {"year": 2024, "subject_kind": "leader", "subject_id": "B", "grade": "较差"},
            *[{"year": y, "subject_kind": "leader", "subject_id": "C", "grade": "较差"} for y in (2022, 2023, 2024)],
        ]
    )
    rows = [r for r in r4(responsibility=resp) if r["trigger_type"] == "consecutive_poor"]
    assert sorted((r["year"], r["subject_id"], r["streak_years"]) for r in rows) == [
        (2023, "C", 2), (2024, "A", 2), (2024, "C", 3)]


# ---------------------------------------------------------------- R5: handled in Y


def test_a_case_closed_on_the_first_day_of_the_year_is_handled_in_it():
    """R5: handled in Y when accepted on or before 31 December Y and open or closed on or after
    1 January Y. K1 closed 2024-01-01 → handled in 2024; K2 accepted 2024-12-31 → 2024;
    K3 closed 2023-12-31 → not in 2024; K4 accepted 2025-01-01 → not in 2024."""
    people = [{"person_id": p, "position": "chief" if p == "C" else "deputy_chief", "is_quota": True}
              for p in ("C", "D", "E", "F")]
    cs = [
        {"case_id": "K1", "handler_id": "C", "accepted_date": "2023-06-01", "closed_date": "2024-01-01"},
        {"case_id": "K2", "handler_id": "D", "accepted_date": "2024-12-31"},
        {"case_id": "K3", "handler_id": "E", "accepted_date": "2023-06-01", "closed_date": "2023-12-31"},
        {"case_id": "K4", "handler_id": "F", "accepted_date": "2025-01-01"},
    ]
    out = leader_case_handling(s.roster(people), s.departments([]), s.cases(cs), RULES).collect().row(0, named=True)
    assert (out["quota_leaders"], out["leaders_handling"], out["leader_cases"], out["implemented"]) == (4, 2, 2, False)
