"""Property tests whose strategies draw at and around the thresholds (docs/rules.md): scores with two
(and three) decimals within a few hundredths of 60, 80 and 90 — or of thresholds drawn themselves —
reached directly or through deductions; vote counts whose scores land on a threshold; dates within a
few days of the end of a half, a quarter, a year and a must-talk window. Each is checked against an
oracle written from the rule text (exact decimal arithmetic, calendar months), not from the code.
"""

from __future__ import annotations

import datetime as dt
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction

import polars as pl
import support_scoring as s
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from support_assessed import duty_items, r2, r3
from support_rules import NO_DUTY, activity, dept_review, unit_departments, unit_roster

from lianjian.scoring.talks import talk_obligations

PROPS = settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
RULES = s.default_rules()
GRADES = RULES.settings(2024).grades
THRESHOLDS = (GRADES.good, GRADES.fairly_good, GRADES.average)

# ---------------------------------------------------------------- strategies


def near(threshold: float) -> st.SearchStrategy[Decimal]:
    """A score within 0.03 of ``threshold``, with two decimals, or a half-way value with three
    (59.995: written 60.00) — as exact decimals."""
    t = Decimal(str(threshold))
    two = st.integers(-3, 3).map(lambda k: t + Decimal(k) / 100)
    three = st.sampled_from([-15, -5, -4, 4, 5, 6]).map(lambda k: t + Decimal(k) / 1000)
    return st.one_of(two, three)


around_thresholds = st.sampled_from(THRESHOLDS).flatmap(near).filter(lambda x: 0 <= x <= 100)


def days_around(*anchors: dt.date, spread: int = 2) -> st.SearchStrategy[dt.date]:
    """A date within ``spread`` days of one of the anchors (the first day of a period)."""
    return st.tuples(st.sampled_from(anchors), st.integers(-spread, spread)).map(lambda a: a[0] + dt.timedelta(days=a[1]))


QUARTER_STARTS = (dt.date(2024, 1, 1), dt.date(2024, 4, 1), dt.date(2024, 7, 1), dt.date(2024, 10, 1), dt.date(2025, 1, 1))

# ---------------------------------------------------------------- oracles


def written(x: Fraction | Decimal) -> Decimal:
    """Rounded half away from zero to two decimals (the scores here are never negative)."""
    if isinstance(x, Fraction):
        x = Decimal(x.numerator) / Decimal(x.denominator)
    return x.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


def grade_of(total: Decimal, good=GRADES.good, fairly_good=GRADES.fairly_good, average=GRADES.average) -> str:
    if total >= Decimal(str(good)):
        return "好"
    if total >= Decimal(str(fairly_good)):
        return "较好"
    if total >= Decimal(str(average)):
        return "一般"
    return "较差"


# ---------------------------------------------------------------- R2 around the thresholds


@PROPS
@given(st.lists(st.tuples(around_thresholds, st.integers(0, 4)), min_size=1, max_size=6))
def test_integrity_total_and_grade_around_the_thresholds(people):
    """A department review of total + d (d flawed cases, 1 point each): the total written is the exact
    decimal rounded half away from zero, graded by ≥ 90 / 80 / 60."""
    ids = [f"P{i}" for i in range(len(people))]
    reviews = s.reviews([dept_review(p, float(x + d)) for p, (x, d) in zip(ids, people)])
    cases = s.cases([{"case_id": f"{p}K{j}", "handler_id": p, "closed_date": "2024-06-30", "quality_rating": "flawed"}
                     for p, (_, d) in zip(ids, people) for j in range(d)])
    t, _ = r2(s.roster([{"person_id": p} for p in ids]), reviews, cases=cases)
    for p, (x, d) in zip(ids, people):
        total = written(x)
        assert (t[p]["total_score"], t[p]["deduction_cases"], t[p]["grade"]) == (float(total), float(d), grade_of(total)), (x, d)


@PROPS
@given(around_thresholds, st.integers(0, 100))
def test_integrity_weighted_review_around_the_thresholds(department, own):
    """Self and department reviews: (0.2·self + 0.4·department)/0.6 exactly, written and graded."""
    reviews = s.reviews([{"person_id": "P", "reviewer_kind": "self", "score": own}, dept_review("P", float(department))])
    t, _ = r2(s.roster([{"person_id": "P"}]), reviews)
    exact = (Fraction(1, 5) * own + Fraction(2, 5) * Fraction(department)) / Fraction(3, 5)
    total = written(exact)
    assert (t["P"]["total_score"], t["P"]["grade"]) == (float(total), grade_of(total))


thresholds_drawn = st.tuples(st.integers(1, 9800), st.integers(1, 9800), st.integers(1, 9800)).map(
    lambda a: sorted({x / 100 for x in a}, reverse=True)).filter(lambda a: len(a) == 3)


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(thresholds_drawn, st.lists(st.integers(-2, 2), min_size=3, max_size=3))
def test_grades_at_thresholds_drawn(thresholds, offsets):
    """Thresholds of the rules file drawn (two decimals, good > fairly_good > average): a score at
    each threshold and a hundredth either side is graded by them."""
    good, fairly_good, average = thresholds
    rules = s.rules_with({"grades": {"good": good, "fairly_good": fairly_good, "average": average}})
    scores = [Decimal(str(t)) + Decimal(k) / 100 for t, k in zip(thresholds, offsets)]
    scores = [x for x in scores if 0 <= x <= 100]
    ids = [f"P{i}" for i in range(len(scores))]
    t, _ = r2(s.roster([{"person_id": p} for p in ids]), s.reviews([dept_review(p, float(x)) for p, x in zip(ids, scores)]),
              rules=rules)
    for p, x in zip(ids, scores):
        assert t[p]["grade"] == grade_of(x, good, fairly_good, average), (thresholds, x)


# ---------------------------------------------------------------- R3 votes around the thresholds


@PROPS
@given(st.lists(st.tuples(st.integers(0, 6), st.integers(0, 6), st.integers(0, 6), st.integers(0, 3)), min_size=1,
                max_size=4))
def test_vote_scores_and_grades(counts):
    """Vote counts drawn small, so that scores often land exactly on 60, 80 or 90 (4 fairly good; 1
    good + 1 fairly good …): vote score = Σ points·votes / votes, exactly, written and graded; no vote
    at all → no score."""
    subjects = [("party_group", "U1"), ("secretary", "C1"), ("leader", "D1"), ("dept_head", "H1")][: len(counts)]
    votes = s.votes([{"subject_kind": k, "subject_id": i, "votes_good": g, "votes_fairly_good": f, "votes_average": a,
                      "votes_poor": p} for (k, i), (g, f, a, p) in zip(subjects, counts)])
    t, _ = r3(unit_roster(), unit_departments(), votes=votes, rules=NO_DUTY)
    for key, (g, f, a, p) in zip(subjects, counts):
        n = g + f + a + p
        if n == 0:
            assert (t[key]["vote_score"], t[key]["grade"]) == (None, None)
            continue
        total = written(Fraction(100 * g + 80 * f + 60 * a, n))
        assert (t[key]["vote_score"], t[key]["total_score"], t[key]["grade"]) == (float(total), float(total), grade_of(total))


# ---------------------------------------------------------------- dates near period ends


@PROPS
@given(st.lists(days_around(*QUARTER_STARTS), min_size=1, max_size=5))
def test_per_period_items_near_the_ends_of_quarters_and_halves(dates):
    """Activities a day or two either side of 1 January, 1 April, 1 July, 1 October: the party group's
    special_inspection (per half) and leader D1's report_hearing on A (per quarter) count the 2024
    halves / quarters their calendar months fall in."""
    acts = [activity(f"P{i}", "party_group", "special_inspection", None, d) for i, d in enumerate(dates)]
    acts += [activity(f"L{i}", "leader", "report_hearing", "D1", d, dept="A") for i, d in enumerate(dates)]
    _, ev = r3(unit_roster(), unit_departments(), activities=s.duty_activities(acts))
    in_year = [d for d in dates if d.year == 2024]
    halves = {1 if d.month <= 6 else 2 for d in in_year}
    quarters = {(d.month - 1) // 3 + 1 for d in in_year}
    assert duty_items(ev, "U1", "party_group")["R3.duty.special_inspection"]["value"] == len(halves) / 2
    assert duty_items(ev, "D1", "leader")["R3.duty.report_hearing"]["value"] == len(quarters) / 4


R1_ROSTER = [{"person_id": "H", "position": "dept_head", "dept_code": "D1"}, {"person_id": "P", "dept_code": "D1"}]
R1_DEPTS = [{"dept_code": "D1", "head_id": "H"}]


@PROPS
@given(st.lists(days_around(dt.date(2024, 1, 1), dt.date(2024, 7, 1), dt.date(2025, 1, 1)), min_size=1, max_size=4,
                unique=True))
def test_department_talks_near_the_ends_of_the_halves(dates):
    """Department talks a day or two either side of 1 January, 1 July and 1 January next: the first
    half's obligation is fulfilled by the earliest talk dated January–June 2024, the second's by the
    earliest dated July–December 2024."""
    tks = [{"talk_id": f"T{i}", "talk_date": d, "talk_type": "department", "interviewer_id": "H", "interviewee_id": "P",
            "witness_id": "W"} for i, d in enumerate(dates)]
    out = talk_obligations(s.roster(R1_ROSTER), s.departments(R1_DEPTS), s.events([]), s.talks(tks), RULES).collect()
    got = {r["obligation"]: r["talk_id"] for r in out.filter(pl.col("person_id") == "P").to_dicts()}

    def first(cond):
        held = sorted((d, f"T{i}") for i, d in enumerate(dates) if d.year == 2024 and cond(d.month))
        return held[0][1] if held else None

    assert (got["department_h1"], got["department_h2"]) == (first(lambda m: m <= 6), first(lambda m: m >= 7))


@PROPS
@given(st.sampled_from(sorted(RULES.settings(2024).talks.must_talk_windows)), st.integers(-2, 2), st.booleans(),
       st.dates(dt.date(2024, 2, 1), dt.date(2024, 11, 30)))
def test_must_talk_near_the_ends_of_its_window(event_type, k, at_start, day):
    """A must-talk a day or two either side of the first or the last day of its window (d + from,
    d + to): fulfilled exactly when from ≤ talk − event ≤ to."""
    w = RULES.settings(2024).talks.must_talk_windows[event_type]
    offset = (w.from_ if at_start else w.to) + k
    evs = s.events([{"event_id": "E1", "person_id": "P", "event_type": event_type, "event_date": day}])
    tks = s.talks([{"talk_id": "T1", "talk_date": day + dt.timedelta(days=offset), "talk_type": "must_talk",
                    "interviewer_id": "H", "interviewee_id": "P", "reason": event_type, "witness_id": "W"}])
    out = talk_obligations(s.roster(R1_ROSTER), s.departments(R1_DEPTS), evs, tks, RULES).collect()
    row = out.filter(pl.col("obligation") == "must_talk").row(0, named=True)
    assert row["fulfilled"] is (w.from_ <= offset <= w.to)
