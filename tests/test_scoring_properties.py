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


# ---------------------------------------------------------------- R8 basis matching (issue 6: the
# basis is now matched once per distinct (year, rule) and joined back; the years may be passed in)

RULE_IDS = ["R2", "R2.talks", "R2.talks.family", "R2.veto", "R2.vetoed", "R3.scope.serious", "R3.duty.x",
            "R9.unknown", "R2.cases.cap"]


@PROPS
@given(st.lists(st.tuples(st.sampled_from([2023, 2024]), st.sampled_from(RULE_IDS)), min_size=1, max_size=30),
       st.booleans())
def test_evidence_basis_is_longest_matching_key(rows, pass_years):
    import polars as pl

    from lianjian.scoring.evidence import finish_evidence

    rules = s.default_rules()
    part = pl.LazyFrame(
        {
            "year": [y for y, _ in rows], "unit_code": "U1", "subject_kind": "person",
            "subject_id": [f"P{i}" for i in range(len(rows))], "component": "c", "value": 1.0,
            "record_ids": [[] for _ in rows], "rule": [r for _, r in rows],
        },
        schema_overrides={"record_ids": pl.List(pl.String)},
    )
    # a superset of the years is allowed and changes nothing
    years = [2020, 2023, 2024, 2030] if pass_years else None
    got = finish_evidence([part], "integrity", rules, years).collect()
    assert got.height == len(rows)
    for i, (year, rule) in enumerate(rows):
        keys = rules.settings(year).basis
        # expected by hand: the longest key equal to the rule id or a dotted prefix of it
        cands = [k for k in keys if rule == k or rule.startswith(k + ".")]
        want = keys[max(cands, key=len)] if cands else None
        row = got.filter(pl.col("subject_id") == f"P{i}").row(0, named=True)
        assert row["basis"] == want and row["rule"] == rule and row["assessment"] == "integrity"


# ---------------------------------------------------------------- R6 special cases (issue 6: the flag
# is now one expression per group of years with equal settings instead of a join per case)

_SPECIAL_RULES = s.rules_with(
    {"years": {2023: {"cases": {"special_outcomes": {"public_prosecution": ["acquitted"]},
                                "public_complaint_is_special": False}}}}
)


@PROPS
@given(st.lists(st.tuples(st.sampled_from([2022, 2023, 2024]), st.data()), min_size=1, max_size=25))
def test_special_flag_matches_the_rules_of_the_closing_year(rows):
    import datetime as dt

    import polars as pl

    from lianjian.contract import SOURCES
    from lianjian.scoring.common import with_special_flag

    cols = {c.name: c for c in SOURCES["cases"].columns}
    cats, outs = cols["category"].enum.codes, cols["outcome"].enum.codes
    drawn = [
        (year, data.draw(st.sampled_from(cats)), data.draw(st.sampled_from([None, *outs])),
         data.draw(st.sampled_from([None, True, False])))
        for year, data in rows
    ]
    frame = s.cases(
        [
            {"case_id": f"K{i}", "handler_id": "P1", "category": c, "outcome": o, "public_complaint": pc,
             "closed_date": dt.date(y, 6, 30)}
            for i, (y, c, o, pc) in enumerate(drawn)
        ]
    ).with_columns(pl.col("closed_date").dt.year().cast(pl.Int64).alias("year"))
    got = with_special_flag(frame, _SPECIAL_RULES).collect().sort("case_id").get_column("special").to_list()
    got = dict(zip(sorted(f"K{i}" for i in range(len(drawn))), got))
    for i, (y, c, o, pc) in enumerate(drawn):
        st_ = _SPECIAL_RULES.settings(y).cases
        # by hand: the pair of that year's rules, or a complaint where complaints count that year
        pair = o is not None and o in st_.special_outcomes.get(c, [])
        want = pair or (bool(pc) and st_.public_complaint_is_special)
        assert got[f"K{i}"] is want, (y, c, o, pc)


# ---------------------------------------------------------------- the one rounding


@PROPS
@given(st.lists(st.integers(-1_000_000, 1_000_000), min_size=1, max_size=20), st.integers(0, 4), st.booleans())
def test_rounding_writes_the_nearest_double_of_the_decimal(whole, decimals, one_row_settings):
    """A written score is exactly the double nearest its decimal text (88.6, never 88.60000000000001),
    however Polars divides (by a constant it multiplies by the reciprocal); halves go away from zero
    (2.345 → 2.35, −2.345 → −2.35, 89.995 → 90.00 although stored as 89.99499…)."""
    import polars as pl

    from lianjian.scoring.common import round_by_year, round_half_away

    values = [n / 10**decimals for n in whole]
    frame = pl.DataFrame({"x": values, "year": [2024] * len(values)})
    got = frame.select(round_half_away(pl.col("x"), decimals)).to_series().to_list()
    assert [repr(g) for g in got] == [repr(float(f"{v:.{decimals}f}")) for v in values]
    # per year (rounding_decimals 2): the same whether the year's settings are one row or several
    years = [2024] if one_row_settings else [2023, 2024, 2025]
    by_year = frame.select(round_by_year(pl.col("x"), s.default_rules(), years)).to_series().to_list()
    if decimals <= 2:
        assert [repr(g) for g in by_year] == [repr(float(f"{v:.2f}")) for v in values]
    halves = pl.DataFrame({"x": [2.345, -2.345, 89.995, 0.125]}).select(round_half_away(pl.col("x"), 2))
    assert halves.to_series().to_list() == [2.35, -2.35, 90.0, 0.13]
