"""Property tests of R2/R3 (and R8 evidence): grades are monotone in the score, a fulfilled talk never
lowers a score, a violation never raises one, and the evidence adds up to the deductions and the duty
score. Kept small (few examples, a handful of people) so the file runs in well under a minute."""

from __future__ import annotations

import pytest
import support_scoring as s
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from support_assessed import deduction_sum, duty_mean, obligations, r2, r3

from lianjian.contract import ENUMS

PROPS = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
GRADE_RANK = {ENUMS["grade"].label(c): i for i, c in enumerate(["poor", "average", "fairly_good", "good"])}
SANCTIONS = ENUMS["sanction"].codes
SEVERITIES = ENUMS["severity"].codes
RATINGS = [None, *ENUMS["quality_rating"].codes]
ERRORS = [None, *ENUMS["error_type"].codes]

score = st.floats(min_value=0, max_value=100, allow_nan=False).map(lambda x: round(x, 3))
violation = st.tuples(st.sampled_from(SEVERITIES), st.sampled_from(SANCTIONS))
case = st.tuples(st.sampled_from(RATINGS), st.sampled_from(ERRORS))


def dept(pid, x):
    return {"person_id": pid, "reviewer_kind": "department", "score": x, "dept_head_signed": True,
            "supervisor_signed": True}


@PROPS
@given(st.lists(score, min_size=2, max_size=8))
def test_grades_monotone_in_total_score(scores):
    pids = [f"P{i}" for i in range(len(scores))]
    t, _ = r2(s.roster([{"person_id": p} for p in pids]), s.reviews([dept(p, x) for p, x in zip(pids, scores)]))
    graded = sorted((r["total_score"], GRADE_RANK[r["grade"]]) for r in t.values())
    assert all(a[1] <= b[1] for a, b in zip(graded, graded[1:]))
    th = s.default_rules().settings(2024).grades
    for total, rank in graded:  # the grade is that of the written score
        assert rank == (3 if total >= th.good else 2 if total >= th.fairly_good else 1 if total >= th.average else 0)


def _person(pid, dept_score, self_score, cases, viols):
    reviews = [dept(pid, dept_score)] + ([{"person_id": pid, "score": self_score}] if self_score is not None else [])
    cs = [{"case_id": f"{pid}C{i}", "handler_id": pid, "closed_date": "2024-06-30", "quality_rating": r, "error_type": e}
          for i, (r, e) in enumerate(cases)]
    vs = [{"violation_id": f"{pid}V{i}", "person_id": pid, "severity": sev, "sanction": san}
          for i, (sev, san) in enumerate(viols)]
    return reviews, cs, vs


@PROPS
@given(score, st.one_of(st.none(), score), st.lists(case, max_size=6), st.lists(violation, max_size=3), violation)
def test_integrity_violation_never_raises_and_fulfilled_talk_never_lowers(dept_score, self_score, cases, viols, extra):
    roster = s.roster([{"person_id": "P1"}])
    reviews, cs, vs = _person("P1", dept_score, self_score, cases, viols)
    unfulfilled = obligations([{"person_id": "P1", "obligation": "family", "responsible_id": "P1"}])
    fulfilled = obligations([{"person_id": "P1", "obligation": "family", "responsible_id": "P1", "fulfilled": True,
                              "talk_id": "T1"}])
    base, ev = r2(roster, s.reviews(reviews), unfulfilled, s.cases(cs), s.violations(vs))
    talked, _ = r2(roster, s.reviews(reviews), fulfilled, s.cases(cs), s.violations(vs))
    more, _ = r2(roster, s.reviews(reviews), unfulfilled, s.cases(cs),
                 s.violations(vs + [{"violation_id": "PX", "person_id": "P1", "severity": extra[0], "sanction": extra[1]}]))
    b, t, m = base["P1"], talked["P1"], more["P1"]
    assert t["total_score"] >= b["total_score"] and GRADE_RANK[t["grade"]] >= GRADE_RANK[b["grade"]]
    assert m["total_score"] <= b["total_score"] and GRADE_RANK[m["grade"]] <= GRADE_RANK[b["grade"]]
    # R8: the deduction evidence adds up to the deductions
    assert deduction_sum(ev, "P1") == pytest.approx(
        b["deduction_talks"] + b["deduction_cases"] + b["deduction_violations"], abs=1e-9
    )


def unit(extra=()):
    return s.roster(
        [
            {"person_id": "C1", "position": "chief"},
            {"person_id": "D1", "position": "deputy_chief"},
            {"person_id": "K1", "position": "discipline_head"},
            {"person_id": "H1", "position": "dept_head", "dept_code": "A"},
            *[{"person_id": f"S{i}", "dept_code": "A"} for i in range(4)],
            *extra,
        ]
    )


DEPS = [{"dept_code": "A", "head_id": "H1", "supervisor_id": "D1"}]
ACTIVITY_TYPES = ENUMS["activity_type"].codes
activity = st.tuples(
    st.sampled_from(["party_group", "secretary", "leader", "dept_head", "discipline_group"]),
    st.sampled_from(ACTIVITY_TYPES),
    st.integers(min_value=1, max_value=12),
    st.sampled_from([None, "C1", "D1", "K1", "H1", "S0", "S1"]),
    st.sampled_from([None, "A"]),
)
ACTOR = {"party_group": None, "secretary": "C1", "leader": "D1", "dept_head": "H1", "discipline_group": None}
obligation = st.tuples(st.sampled_from(["S0", "S1", "S2", "S3"]), st.sampled_from(["H1", "D1"]), st.booleans())
scope_violation = st.tuples(st.sampled_from(["S0", "S1", "H1", "D1", "C1"]), st.sampled_from(SEVERITIES))


def _r3_inputs(acts, obls, viols):
    activities = s.duty_activities(
        [{"activity_id": f"A{i}", "actor_kind": k, "actor_id": ACTOR[k], "activity_type": a,
          "activity_date": f"2024-{m:02d}-15", "target_id": t, "target_dept_code": dd}
         for i, (k, a, m, t, dd) in enumerate(acts)]
    )
    obl = [{"person_id": p, "obligation": "must_talk", "event_id": f"E{i}", "responsible_id": r, "fulfilled": f,
            "talk_id": f"T{i}" if f else None} for i, (p, r, f) in enumerate(obls)]
    vs = [{"violation_id": f"V{i}", "person_id": p, "severity": sev, "sanction": "criticism"}
          for i, (p, sev) in enumerate(viols)]
    return activities, obl, vs


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(activity, max_size=12), st.lists(obligation, max_size=5), st.lists(scope_violation, max_size=5),
       scope_violation, st.sampled_from(["H1", "D1"]))
def test_responsibility_properties(acts, obls, viols, extra, responsible):
    activities, obl, vs = _r3_inputs(acts, obls, viols)
    votes = s.votes([{"subject_kind": k, "subject_id": i, "votes_good": 3, "votes_average": 1}
                     for k, i in (("leader", "D1"), ("dept_head", "H1"), ("party_group", "U1"))])
    args = dict(departments=s.departments(DEPS), activities=activities, votes=votes)
    base, ev = r3(unit(), obligations=obligations(obl), violations=s.violations(vs), **args)
    talked, _ = r3(unit(), violations=s.violations(vs), **args, obligations=obligations(
        obl + [{"person_id": "S3", "obligation": "must_talk", "event_id": "EX", "responsible_id": responsible,
                "fulfilled": True, "talk_id": "TX"}]))
    more, _ = r3(unit(), obligations=obligations(obl), **args, violations=s.violations(
        vs + [{"violation_id": "VX", "person_id": extra[0], "severity": extra[1], "sanction": "criticism"}]))
    for key, b in base.items():
        t, m = talked[key], more[key]
        if b["total_score"] is not None:
            assert t["total_score"] >= b["total_score"] - 1e-9, key
            assert m["total_score"] <= b["total_score"] + 1e-9, key
        if b["grade"] is not None:
            assert GRADE_RANK[t["grade"]] >= GRADE_RANK[b["grade"]] and GRADE_RANK[m["grade"]] <= GRADE_RANK[b["grade"]]
        # R8: scope evidence adds up to the deduction; duty evidence averages to the duty score
        kind, sid = key
        assert deduction_sum(ev, sid, kind=kind) == pytest.approx(b["deduction_scope"], abs=1e-9)
        mean = duty_mean(ev, sid, kind)
        assert (mean is None and b["duty_score"] is None) or mean == pytest.approx(b["duty_score"], abs=0.005)
