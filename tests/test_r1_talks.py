"""R1 talk obligations (RULES.md R1; 连云港意见 二（一）至（三）): golden tests worked out by hand.

Every expected row below is derived from the rule text, not from the code's output: the comments show
the windows and the reasoning.
"""

from __future__ import annotations

import datetime as dt

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from support_scoring import d, default_rules, departments, events, roster, rows_of, rules_with, talks

from lianjian.contract import PUBLISHED
from lianjian.scoring.talks import obligations_towards_others, talk_obligations

RULES = default_rules()
EMPTY_EVENTS = events([])
EMPTY_TALKS = talks([])

# A small unit used by several tests: department D1 headed by H and supervised by deputy chief S;
# the flagged party secretary SEC (chief); P a prosecutor in D1.
BASE_ROSTER = [
    {"person_id": "SEC", "position": "chief", "is_party_secretary": True},
    {"person_id": "S", "position": "deputy_chief"},
    {"person_id": "H", "position": "dept_head", "dept_code": "D1"},
    {"person_id": "P", "dept_code": "D1"},
]
BASE_DEPTS = [{"dept_code": "D1", "head_id": "H", "supervisor_id": "S"}]


def run(people, depts=BASE_DEPTS, evs=None, tks=None, rules=RULES) -> pl.DataFrame:
    return talk_obligations(
        roster(people),
        departments(depts),
        events(evs) if evs is not None else EMPTY_EVENTS,
        talks(tks) if tks is not None else EMPTY_TALKS,
        rules,
    ).collect()


def one(frame: pl.DataFrame, person: str, obligation: str, event: str | None = None, year: int | None = None) -> dict:
    f = frame.filter(pl.col("person_id") == person, pl.col("obligation") == obligation)
    if event is not None:
        f = f.filter(pl.col("event_id") == event)
    if year is not None:
        f = f.filter(pl.col("year") == year)
    assert f.height == 1, f"{person}/{obligation}/{event}: {f.height} rows"
    return f.row(0, named=True)


def kinds(frame: pl.DataFrame, person: str) -> list[str]:
    return sorted(frame.filter(pl.col("person_id") == person).get_column("obligation").to_list())


def test_output_has_exactly_the_published_columns_and_types():
    out = run(BASE_ROSTER)
    assert out.schema == PUBLISHED["talk_obligations"].schema()


def test_which_yearly_obligations_are_owed_and_to_whom():
    out = run(BASE_ROSTER)
    # P (in D1, head H ≠ P, supervisor S ≠ P): family + department_h1 + department_h2 + supervisor.
    assert kinds(out, "P") == ["department_h1", "department_h2", "family", "supervisor"]
    # H heads D1 itself: no department talk (the head is not "other than P"), but the supervisor's.
    assert kinds(out, "H") == ["family", "supervisor"]
    # Leadership members without a department: only the family talk.
    assert kinds(out, "S") == ["family"] and kinds(out, "SEC") == ["family"]
    p_h1, p_h2, p_sup, p_fam = (one(out, "P", k) for k in ("department_h1", "department_h2", "supervisor", "family"))
    assert (p_h1["responsible_id"], p_h1["due_from"], p_h1["due_to"]) == ("H", d("2024-01-01"), d("2024-06-30"))
    assert (p_h2["responsible_id"], p_h2["due_from"], p_h2["due_to"]) == ("H", d("2024-07-01"), d("2024-12-31"))
    assert (p_sup["responsible_id"], p_sup["due_from"], p_sup["due_to"]) == ("S", d("2024-01-01"), d("2024-12-31"))
    assert (p_fam["responsible_id"], p_fam["due_from"], p_fam["due_to"]) == ("P", d("2024-01-01"), d("2024-12-31"))
    assert p_fam["unit_code"] == "U1" and p_fam["dept_code"] == "D1" and p_fam["event_id"] is None
    # Nothing is fulfilled without talks; empty booleans are false, never null.
    assert out.get_column("fulfilled").to_list() == [False] * out.height
    assert out.get_column("talk_id").null_count() == out.height


def test_family_needs_family_signed_and_form_filed():
    people = [{"person_id": "A"}, {"person_id": "B"}, {"person_id": "C"}]
    tks = [
        # A: signed and filed, dated in Y → fulfils.
        {"talk_id": "T1", "talk_date": "2024-03-01", "talk_type": "family", "interviewee_id": "A", "family_signed": True},
        # B: family_signed empty (counts as false) → does not fulfil.
        {"talk_id": "T2", "talk_date": "2024-03-01", "talk_type": "family", "interviewee_id": "B"},
        # C: signed but form_filed empty (false) → does not fulfil; and a signed talk dated in the
        # previous year is outside Y.
        {"talk_id": "T3", "talk_date": "2024-03-01", "talk_type": "family", "interviewee_id": "C",
         "family_signed": True, "form_filed": None},
        {"talk_id": "T4", "talk_date": "2023-12-31", "talk_type": "family", "interviewee_id": "C", "family_signed": True},
    ]
    out = run(people, depts=[], tks=tks)
    assert (one(out, "A", "family")["fulfilled"], one(out, "A", "family")["talk_id"]) == (True, "T1")
    assert (one(out, "B", "family")["fulfilled"], one(out, "B", "family")["talk_id"]) == (False, None)
    assert (one(out, "C", "family")["fulfilled"], one(out, "C", "family")["talk_id"]) == (False, None)


def test_department_talks_by_half_need_the_head_and_a_witness():
    tks = [
        # 30 June is the last day of H1 (inclusive) → fulfils department_h1.
        {"talk_id": "T1", "talk_date": "2024-06-30", "talk_type": "department", "interviewer_id": "H",
         "interviewee_id": "P", "witness_id": "W"},
        # H2 talk without a witness → does not fulfil department_h2.
        {"talk_id": "T2", "talk_date": "2024-07-01", "talk_type": "department", "interviewer_id": "H",
         "interviewee_id": "P"},
        # H2 talk with a witness but held by someone who is not the head of D1 → does not fulfil.
        {"talk_id": "T3", "talk_date": "2024-09-01", "talk_type": "department", "interviewer_id": "S",
         "interviewee_id": "P", "witness_id": "W"},
        # Supervisor talk by S with a witness → fulfils supervisor.
        {"talk_id": "T4", "talk_date": "2024-11-11", "talk_type": "supervisor", "interviewer_id": "S",
         "interviewee_id": "P", "witness_id": "W"},
        # A supervisor talk for H held by H's own department head (H) is not by the supervisor → no.
        {"talk_id": "T5", "talk_date": "2024-11-11", "talk_type": "supervisor", "interviewer_id": "H",
         "interviewee_id": "H", "witness_id": "W"},
    ]
    out = run(BASE_ROSTER, tks=tks)
    assert one(out, "P", "department_h1")["talk_id"] == "T1"
    assert one(out, "P", "department_h2")["fulfilled"] is False
    assert one(out, "P", "supervisor")["talk_id"] == "T4"
    assert one(out, "H", "supervisor")["fulfilled"] is False


def test_missing_witness_never_fulfils():
    tks = [
        {"talk_id": "T1", "talk_date": "2024-02-01", "talk_type": "department", "interviewer_id": "H",
         "interviewee_id": "P"},
        {"talk_id": "T2", "talk_date": "2024-02-01", "talk_type": "supervisor", "interviewer_id": "S",
         "interviewee_id": "P"},
    ]
    evs = [{"event_id": "E1", "person_id": "P", "event_type": "reward", "event_date": "2024-02-01"}]
    tks.append({"talk_id": "T3", "talk_date": "2024-02-01", "talk_type": "must_talk", "interviewer_id": "H",
                "interviewee_id": "P", "reason": "reward"})
    out = run(BASE_ROSTER, evs=evs, tks=tks)
    for kind in ("department_h1", "supervisor", "must_talk"):
        assert one(out, "P", kind)["fulfilled"] is False, kind


def test_must_talk_window_crossing_new_year_belongs_to_the_event_year():
    people = BASE_ROSTER + [{**r, "year": 2025} for r in BASE_ROSTER]
    depts = BASE_DEPTS + [{**r, "year": 2025} for r in BASE_DEPTS]
    evs = [
        # promotion on 2024-12-20: [d−30, d+30] = [2024-11-20, 2025-01-19]; obligation of 2024.
        {"event_id": "E1", "person_id": "P", "event_type": "promotion", "event_date": "2024-12-20"},
        # retirement on 2024-12-15: [d, d+30] = [2024-12-15, 2025-01-14]; obligation of 2024.
        {"event_id": "E2", "person_id": "P", "event_type": "retirement", "event_date": "2024-12-15"},
        # business trip on 2025-01-10: [d−30, d] = [2024-12-11, 2025-01-10]; obligation of 2025.
        {"event_id": "E3", "person_id": "P", "event_type": "business_trip", "event_date": "2025-01-10"},
    ]
    w = {"talk_type": "must_talk", "interviewer_id": "H", "interviewee_id": "P", "witness_id": "W"}
    tks = [
        {**w, "talk_id": "T1", "talk_date": "2025-01-19", "reason": "promotion"},  # last day of E1's window
        {**w, "talk_id": "T2", "talk_date": "2025-01-15", "reason": "retirement"},  # one day after E2's window
        {**w, "talk_id": "T3", "talk_date": "2024-12-11", "reason": "business_trip"},  # first day of E3's
    ]
    out = run(people, depts=depts, evs=evs, tks=tks)
    e1, e2, e3 = (one(out, "P", "must_talk", e) for e in ("E1", "E2", "E3"))
    assert (e1["year"], e1["due_from"], e1["due_to"], e1["talk_id"]) == (2024, d("2024-11-20"), d("2025-01-19"), "T1")
    assert (e2["year"], e2["due_from"], e2["due_to"], e2["fulfilled"]) == (2024, d("2024-12-15"), d("2025-01-14"), False)
    assert (e3["year"], e3["due_from"], e3["due_to"], e3["talk_id"]) == (2025, d("2024-12-11"), d("2025-01-10"), "T3")


def test_hired_after_june_owes_no_first_half_department_talk():
    people = [
        *BASE_ROSTER[:3],
        # hired 2024-08-15: H1 ends 2024-06-30 < hire_date → not owed; H2, supervisor, family owed.
        {"person_id": "P", "dept_code": "D1", "hire_date": "2024-08-15"},
        # hired 2024-06-30: H1's due_to equals hire_date, not before it → still owed.
        {"person_id": "Q", "dept_code": "D1", "hire_date": "2024-06-30"},
    ]
    out = run(people)
    assert kinds(out, "P") == ["department_h2", "family", "supervisor"]
    assert kinds(out, "Q") == ["department_h1", "department_h2", "family", "supervisor"]


def test_must_talk_window_before_hire_date_is_not_owed():
    people = [*BASE_ROSTER[:3], {"person_id": "P", "dept_code": "D1", "hire_date": "2024-05-01"}]
    evs = [
        # business trip on 2024-04-20: window [2024-03-21, 2024-04-20] ends before hire → not owed.
        {"event_id": "E1", "person_id": "P", "event_type": "business_trip", "event_date": "2024-04-20"},
        # onboarding on 2024-05-01: window [2024-04-01, 2024-05-01]; due_to = hire_date → owed.
        {"event_id": "E2", "person_id": "P", "event_type": "onboarding", "event_date": "2024-05-01"},
    ]
    out = run(people, evs=evs)
    assert out.filter(pl.col("obligation") == "must_talk").get_column("event_id").to_list() == ["E2"]


@pytest.mark.parametrize("status", ["retired", "transferred"])
def test_retired_people_are_owed_only_their_must_talks(status):
    people = [*BASE_ROSTER[:3], {"person_id": "R", "dept_code": "D1", "status": status}]
    evs = [{"event_id": "E1", "person_id": "R", "event_type": "retirement", "event_date": "2024-10-01"}]
    # retirement: [d, d+30] = [2024-10-01, 2024-10-31]; R's department head H is responsible.
    tks = [{"talk_id": "T1", "talk_date": "2024-10-31", "talk_type": "must_talk", "interviewer_id": "H",
            "interviewee_id": "R", "reason": "retirement", "witness_id": "W"}]
    out = run(people, evs=evs, tks=tks)
    assert kinds(out, "R") == ["must_talk"]
    row = one(out, "R", "must_talk", "E1")
    assert (row["responsible_id"], row["due_from"], row["due_to"], row["talk_id"]) == (
        "H", d("2024-10-01"), d("2024-10-31"), "T1")


def test_department_and_responsible_come_from_that_years_roster_only():
    # 2024: P in D1 (head H, supervisor S). 2025: P moved to D2 (head H2, supervisor S); H is still
    # in the roster but heads nothing. Nothing carries over: 2025's department talks and must-talk
    # are H2's.
    people = BASE_ROSTER + [
        {**r, "year": 2025} for r in BASE_ROSTER[:3]
    ] + [{"person_id": "P", "year": 2025, "dept_code": "D2"}, {"person_id": "H2", "year": 2025, "dept_code": "D2"}]
    depts = BASE_DEPTS + [{"year": 2025, "dept_code": "D1", "supervisor_id": "S"},
                          {"year": 2025, "dept_code": "D2", "head_id": "H2", "supervisor_id": "S"}]
    evs = [{"event_id": "E25", "person_id": "P", "event_type": "reward", "event_date": "2025-04-01"}]
    out = run(people, depts=depts, evs=evs)
    assert one(out, "P", "department_h1", year=2024)["responsible_id"] == "H"
    assert (one(out, "P", "department_h1", year=2025)["responsible_id"], one(out, "P", "family", year=2025)["dept_code"]) == ("H2", "D2")
    assert one(out, "P", "must_talk", "E25")["responsible_id"] == "H2"


def test_event_of_someone_not_in_that_years_roster_is_not_owed():
    # X is in no roster of 2024 (only of 2023): the event of 2024 gives no obligation.
    people = BASE_ROSTER + [{"person_id": "X", "year": 2023}]
    evs = [{"event_id": "E1", "person_id": "X", "event_type": "reward", "event_date": "2024-03-01"}]
    out = run(people, evs=evs)
    assert out.filter(pl.col("person_id") == "X", pl.col("year") == 2024).height == 0
    assert out.filter(pl.col("obligation") == "must_talk").height == 0


def test_earliest_matching_talk_wins_ties_by_smallest_talk_id_as_text():
    fam = {"talk_type": "family", "interviewee_id": "P", "family_signed": True}
    tks = [
        {**fam, "talk_id": "T0", "talk_date": "2024-01-15", "family_signed": False},  # earliest but not matching
        {**fam, "talk_id": "T3", "talk_date": "2024-05-01"},
        {**fam, "talk_id": "T9", "talk_date": "2024-02-01"},
        {**fam, "talk_id": "T10", "talk_date": "2024-02-01"},  # same date as T9; "T10" < "T9" as text
    ]
    out = run(BASE_ROSTER, tks=tks)
    assert one(out, "P", "family")["talk_id"] == "T10"


def test_one_talk_fulfils_two_obligations():
    evs = [
        # business trips: E1 window [2024-04-10, 2024-05-10], E2 window [2024-04-20, 2024-05-20].
        {"event_id": "E1", "person_id": "P", "event_type": "business_trip", "event_date": "2024-05-10"},
        {"event_id": "E2", "person_id": "P", "event_type": "business_trip", "event_date": "2024-05-20"},
    ]
    # One must-talk on 2024-05-05, naming no event: inside both windows → fulfils both.
    tks = [{"talk_id": "T1", "talk_date": "2024-05-05", "talk_type": "must_talk", "interviewer_id": "H",
            "interviewee_id": "P", "reason": "business_trip", "witness_id": "W"}]
    out = run(BASE_ROSTER, evs=evs, tks=tks)
    assert one(out, "P", "must_talk", "E1")["talk_id"] == "T1"
    assert one(out, "P", "must_talk", "E2")["talk_id"] == "T1"


def test_talk_naming_another_event_or_reason_does_not_fulfil():
    evs = [
        {"event_id": "E1", "person_id": "P", "event_type": "business_trip", "event_date": "2024-05-10"},
        {"event_id": "E2", "person_id": "P", "event_type": "business_trip", "event_date": "2024-09-10"},
        {"event_id": "E3", "person_id": "P", "event_type": "reward", "event_date": "2024-11-10"},
    ]
    base = {"talk_type": "must_talk", "interviewee_id": "P", "witness_id": "W"}
    tks = [
        # In E1's window [04-10, 05-10] but names E2 → not E1's; outside E2's window → not E2's either.
        {**base, "talk_id": "T1", "talk_date": "2024-05-01", "interviewer_id": "H", "reason": "business_trip",
         "event_id": "E2"},
        # Names E2, in E2's window [08-11, 09-10], held by someone unrelated (anyone may hold it) → E2's.
        {**base, "talk_id": "T2", "talk_date": "2024-09-01", "interviewer_id": "SEC", "reason": "business_trip",
         "event_id": "E2"},
        # In E3's window [10-11, 12-10] but the reason is business_trip, not reward → not E3's.
        {**base, "talk_id": "T3", "talk_date": "2024-11-01", "interviewer_id": "H", "reason": "business_trip"},
    ]
    out = run(BASE_ROSTER, evs=evs, tks=tks)
    assert one(out, "P", "must_talk", "E1")["fulfilled"] is False
    assert one(out, "P", "must_talk", "E2")["talk_id"] == "T2"
    assert one(out, "P", "must_talk", "E3")["fulfilled"] is False


def test_must_talk_responsible_chain():
    people = [
        *BASE_ROSTER,  # SEC flagged secretary (chief), S deputy chief, H head of D1, P in D1
        {"person_id": "N"},  # no department
        {"person_id": "M", "dept_code": "D2"},  # D2 has no head
        {"person_id": "G", "dept_code": "D3"},  # D3: G is its head and it has no supervisor
        # Unit U2 flags nobody: its active chief C2 is the party secretary.
        {"person_id": "C2", "unit_code": "U2", "position": "chief"},
        {"person_id": "L2", "unit_code": "U2", "position": "political_director"},
    ]
    depts = [*BASE_DEPTS, {"dept_code": "D2"}, {"dept_code": "D3", "head_id": "G"}]
    evs = [
        {"event_id": f"E{p}", "person_id": p, "event_type": "reward", "event_date": "2024-06-01"}
        for p in ("P", "H", "S", "SEC", "N", "M", "G", "C2", "L2")
    ]
    out = run(people, depts=depts, evs=evs)
    responsible = {r["person_id"]: r["responsible_id"] for r in out.filter(pl.col("obligation") == "must_talk").to_dicts()}
    assert responsible == {
        "P": "H",  # P's department head
        "H": "S",  # P is that head → D's supervisor
        "S": "SEC",  # a leadership member → the party secretary
        "SEC": None,  # the party secretary themself → nobody
        "N": None,  # no department
        "M": None,  # department without a head
        "G": None,  # the head, and D3 has no supervisor
        "C2": None,  # the unflagged chief is U2's party secretary → nobody
        "L2": "C2",  # leadership member of U2 → its active chief
    }
    # The obligation still stands with nobody responsible: 9 must-talk rows.
    assert out.filter(pl.col("obligation") == "must_talk").height == 9


def test_must_talk_windows_come_from_the_rules_file_per_year():
    rules = rules_with({"years": {2025: {"talks": {"must_talk_windows": {"business_trip": {"from": -10, "to": 0}}}}}})
    people = BASE_ROSTER + [{**r, "year": 2025} for r in BASE_ROSTER]
    depts = BASE_DEPTS + [{**r, "year": 2025} for r in BASE_DEPTS]
    evs = [
        {"event_id": "E24", "person_id": "P", "event_type": "business_trip", "event_date": "2024-03-20"},
        {"event_id": "E25", "person_id": "P", "event_type": "business_trip", "event_date": "2025-03-20"},
    ]
    w = {"talk_type": "must_talk", "interviewer_id": "H", "interviewee_id": "P", "witness_id": "W",
         "reason": "business_trip"}
    # Each talk is 15 days before its trip: inside the default 30-day window (2024), outside the
    # 10-day window the file sets for 2025 ([2025-03-10, 2025-03-20]).
    tks = [{**w, "talk_id": "T24", "talk_date": "2024-03-05"}, {**w, "talk_id": "T25", "talk_date": "2025-03-05"}]
    out = run(people, depts=depts, evs=evs, tks=tks, rules=rules)
    assert one(out, "P", "must_talk", "E24")["talk_id"] == "T24"
    e25 = one(out, "P", "must_talk", "E25")
    assert (e25["due_from"], e25["fulfilled"]) == (d("2025-03-10"), False)


def test_obligations_towards_others():
    evs = [{"event_id": "E1", "person_id": "P", "event_type": "reward", "event_date": "2024-06-01"}]
    out = talk_obligations(
        roster(BASE_ROSTER), departments(BASE_DEPTS), events(evs), EMPTY_TALKS, RULES
    )
    towards = obligations_towards_others(out).collect()
    by = lambda who: sorted(  # noqa: E731
        (r["person_id"], r["obligation"]) for r in towards.filter(pl.col("responsible_id") == who).to_dicts()
    )
    # H: P's two department talks and P's must-talk — not H's own family talk.
    assert by("H") == [("P", "department_h1"), ("P", "department_h2"), ("P", "must_talk")]
    # S: the supervisor talks of P and of H.
    assert by("S") == [("H", "supervisor"), ("P", "supervisor")]
    assert towards.filter(pl.col("obligation") == "family").height == 0


@settings(max_examples=25, deadline=None)
@given(
    st.lists(
        st.tuples(st.integers(0, 400), st.booleans(), st.booleans(), st.sampled_from(["T1", "T2", "T10", "T3"])),
        max_size=6,
        unique_by=lambda t: t[3],
    )
)
def test_family_talk_is_the_earliest_signed_filed_one_in_the_year(specs):
    # Property: fulfilled ⇔ some talk in 2024 is signed and filed; the talk chosen is the minimum of
    # (date, id) over those talks.
    start = dt.date(2023, 12, 1)
    tks = [
        {"talk_id": tid, "talk_date": start + dt.timedelta(days=off), "talk_type": "family", "interviewee_id": "P",
         "family_signed": signed, "form_filed": filed}
        for off, signed, filed, tid in specs
    ]
    good = sorted(
        (t["talk_date"], t["talk_id"]) for t in tks
        if t["family_signed"] and t["form_filed"] and t["talk_date"].year == 2024
    )
    out = run([{"person_id": "P"}], depts=[], tks=tks)
    row = one(out, "P", "family")
    assert row["fulfilled"] is bool(good)
    assert row["talk_id"] == (good[0][1] if good else None)


def test_rows_are_sorted_by_the_table_key():
    out = run(BASE_ROSTER)
    assert rows_of(out) == rows_of(out, ["year", "person_id", "obligation", "event_id"])


def test_the_party_secretarys_own_must_talk_has_nobody_responsible_whatever_their_department():
    """docs/rules.md R1 (settled reading): the party secretary's must-talk has nobody responsible, even
    when the secretary is a prosecutor flagged is_party_secretary who works in a department.

    Unit: chief C (not flagged), flagged prosecutor F in D1, D1 headed by H and supervised by C.
    Events of 2024-06-01 for F and for P (also in D1). By the chain: F is the party secretary →
    nobody (not H, D1's head); P is staff of D1 → H. So H's R3 obligations towards others hold P's
    must-talk only: 1 (plus P's and F's department and supervisor talks, which are not must-talks).
    """
    people = [
        {"person_id": "C", "position": "chief"},
        {"person_id": "F", "dept_code": "D1", "is_party_secretary": True},
        {"person_id": "H", "position": "dept_head", "dept_code": "D1"},
        {"person_id": "P", "dept_code": "D1"},
    ]
    depts = [{"dept_code": "D1", "head_id": "H", "supervisor_id": "C"}]
    evs = [{"event_id": f"E{p}", "person_id": p, "event_type": "reward", "event_date": "2024-06-01"} for p in ("F", "P")]
    out = run(people, depts=depts, evs=evs)
    assert one(out, "F", "must_talk", "EF")["responsible_id"] is None
    assert one(out, "P", "must_talk", "EP")["responsible_id"] == "H"
    towards_h = obligations_towards_others(out.lazy()).filter(pl.col("responsible_id") == "H").collect()
    assert sorted(towards_h.filter(pl.col("obligation") == "must_talk").get_column("event_id")) == ["EP"]
    # F's yearly department talks are still H's (F is staff of D1 for those): h1, h2
    assert one(out, "F", "department_h1")["responsible_id"] == "H"


def test_a_retired_person_still_flagged_is_not_the_party_secretary():
    """Conventions (settled reading): a flag on a person who is not active is ignored. Retired R is
    still flagged beside the active flagged N: N is the secretary, so the leadership member L's
    must-talk is N's; R's own must-talk (R is a retired deputy chief, a leadership member by position)
    goes to N as well. In U2 the only flagged person is retired: the active chief C2 is the secretary.
    """
    people = [
        {"person_id": "N", "position": "chief", "is_party_secretary": True},
        {"person_id": "R", "position": "deputy_chief", "is_party_secretary": True, "status": "retired"},
        {"person_id": "L", "position": "deputy_chief"},
        {"person_id": "C2", "unit_code": "U2", "position": "chief"},
        {"person_id": "R2", "unit_code": "U2", "position": "chief", "is_party_secretary": True, "status": "retired"},
        {"person_id": "L2", "unit_code": "U2", "position": "committee_member"},
    ]
    evs = [{"event_id": f"E{p}", "person_id": p, "event_type": "retirement", "event_date": "2024-06-01"}
           for p in ("N", "R", "L", "C2", "R2", "L2")]
    out = run(people, depts=[], evs=evs)
    responsible = {r["person_id"]: r["responsible_id"] for r in out.filter(pl.col("obligation") == "must_talk").to_dicts()}
    assert responsible == {"N": None, "R": "N", "L": "N", "C2": None, "R2": "C2", "L2": "C2"}
