"""Cross-source rules in Polars and the check catalogue: bad tables fail with the expected count,
good ones pass; samples never carry an identity number."""

from __future__ import annotations

import json

from hypothesis import given
from hypothesis import strategies as st

from lianjian.contract import SOURCES
from lianjian.quality import cross
from lianjian.quality.checks import catalogue, run_quality
from lianjian.quality.validate import mask_personal
from support_quality import good_rows, ingest_report, rejected_records, staged

ID = "11010519491231002X"  # a well-formed 18-character identity number (test value)


def frames(mutate=None):
    rows = good_rows()
    if mutate:
        mutate(rows)
    return staged(rows)


def test_good_layer_passes_every_cross_rule():
    f = frames()
    assert cross.dept_heads_and_supervisors_active_in_roster(f["departments"], f["personnel"]) == (0, 2, [])
    assert cross.supervisors_are_leadership(f["departments"], f["personnel"]) == (0, 1, [])
    assert cross.reviewed_in_roster(f["reviews"], f["personnel"]) == (0, 2, [])


def test_head_retired_and_supervisor_of_another_unit():
    def m(rows):
        rows["personnel"][2]["status"] = "retired"  # P3 heads D1
        rows["personnel"][1]["unit_code"] = "U2"  # P2 supervises D1 of U1
    f = frames(m)
    o = cross.dept_heads_and_supervisors_active_in_roster(f["departments"], f["personnel"])
    # 2 references (head P3, supervisor P2), both broken
    assert (o.unexpected_count, o.total) == (2, 2)
    assert o.samples == ["2024 U1/D1 head_id=P3", "2024 U1/D1 supervisor_id=P2"]
    # a supervisor who is a leadership member of ANOTHER unit that year breaks no rule (RULES.md,
    # settled readings): supervisors_are_leadership passes
    assert cross.supervisors_are_leadership(f["departments"], f["personnel"]) == (0, 1, [])


def test_supervisor_not_a_leadership_member():
    def m(rows):
        rows["departments"][0]["supervisor_id"] = "P4"  # a prosecutor
    f = frames(m)
    o = cross.supervisors_are_leadership(f["departments"], f["personnel"])
    assert (o.unexpected_count, o.total, o.share) == (1, 1, 1.0)


def test_review_of_someone_not_in_that_years_roster():
    def m(rows):
        rows["reviews"].append({"year": 2023, "person_id": "P4", "reviewer_kind": "self", "score": 70.0})
        rows["reviews"].append({"year": 2024, "person_id": "P9", "reviewer_kind": "self", "score": 70.0})
    f = frames(m)
    o = cross.reviewed_in_roster(f["reviews"], f["personnel"])
    assert (o.unexpected_count, o.total) == (2, 4)  # P4 has no 2023 roster row; P9 none at all


def test_rejected_share_threshold():
    # cases: 2 read... use 20 read with 1 rejected = 5% (not above 5%: passes); talks 10 read, 1 rejected = 10% (fails)
    report = ingest_report(read={"cases": 20, "talks": 10}, rejected={"cases": 1, "talks": 1})
    rej = rejected_records([
        {"source": "talks", "file": "talks.csv", "row_number": 7, "reasons": ["talk_date: 无法解析的日期"], "raw": "{}"},
    ])
    run = run_quality(staged(), rej, report, max_rejected_share=0.05)
    talks, cases = run.outcome("talks_rejected_share"), run.outcome("cases_rejected_share")
    assert (talks.passed, talks.unexpected_count, talks.total, talks.share) == (False, 1, 10, 0.1)
    assert talks.samples == ["talks.csv:7 talk_date"]
    assert (cases.passed, cases.share) == (True, 0.05)
    assert not talks.check.blocking


def test_quarantine_raw_rows_with_an_identity_number():
    rej = rejected_records([
        {"source": "personnel", "file": "p.csv", "row_number": 2, "reasons": ["name: 必填"], "raw": json.dumps({"id_number": ID})},
        {"source": "personnel", "file": "p.csv", "row_number": 3, "reasons": ["name: 必填"], "raw": json.dumps({"id_number": "11" + "*" * 16})},
    ])
    o = cross.rejected_records_without_id_numbers(rej)
    assert (o.unexpected_count, o.total) == (1, 2)
    assert o.samples == ["p.csv:2"] and ID not in json.dumps(o.samples)


@given(st.text(alphabet="0123456789Xx,:{}\" ", max_size=40), st.text(alphabet="abc123 ", max_size=10))
def test_mask_never_leaks_an_identity_number(before, after):
    assert ID not in mask_personal(before + ID + after)
    assert ID not in mask_personal({"raw": before + ID})


def test_catalogue_names_and_severities():
    names = [c.name for c in catalogue()]
    assert len(names) == len(set(names))
    for src in SOURCES:
        assert f"{src}_contract_suite" in names and f"{src}_rejected_share" in names
    sev = {c.name: c.severity for c in catalogue()}
    # CONTRACT.md §2, a row never stops the run: blocking only what means the whole load is wrong —
    # a staged table against its contract, two or more ACTIVE party secretaries in a unit-year
    # (conservation is checks/conservation.py); everything one row can cause is a WARN
    assert {n for n, s in sev.items() if s == "ERROR"} == {f"{src}_contract_suite" for src in SOURCES} | {
        "one_party_secretary_per_unit_year"
    }
    for name in ("must_talk_has_reason", "supervisors_are_leadership", "rejected_records_without_id_numbers", "reviewed_in_roster"):
        assert sev[name] == "WARN", name
    assert all(c.zh and c.en for c in catalogue())


def test_run_quality_counts_a_blocking_failure():
    def m(rows):
        rows["personnel"][1]["is_party_secretary"] = True
    run = run_quality(frames(m), rejected_records(), ingest_report(), max_rejected_share=0.05)
    assert [(o.check.name, o.unexpected_count) for o in run.blocking_failures] == [("one_party_secretary_per_unit_year", 2)]
    # the secretary rule is its own check: the personnel suite check itself still passes
    assert run.outcome("personnel_contract_suite").passed


def test_a_retired_secretary_still_flagged_is_ignored():
    """RULES.md (settled readings): a retired or transferred person still flagged as 党组书记 is
    ignored; two ACTIVE ones block. U1 2024 has P1 (active, flagged)."""
    def retired(rows):
        rows["personnel"][1] |= {"is_party_secretary": True, "status": "retired"}
    o = cross.one_active_party_secretary(staged(_mut(retired))["personnel"])
    assert (o.unexpected_count, o.total) == (0, 2)  # P1 of U1 and P5 of U2: one active each

    def two_active(rows):
        rows["personnel"][1]["is_party_secretary"] = True
    o = cross.one_active_party_secretary(staged(_mut(two_active))["personnel"])
    assert (o.unexpected_count, o.total) == (2, 3)
    assert o.samples == ["2024 U1 person_id=P1", "2024 U1 person_id=P2"]


def _mut(f):
    rows = good_rows()
    f(rows)
    return rows


@given(st.lists(st.tuples(st.sampled_from(["U1", "U2", "U3"]), st.sampled_from([2023, 2024]), st.booleans(),
                          st.sampled_from(["active", "retired", "transferred"])), min_size=1, max_size=12))
def test_secretary_count_property(people):
    """The count equals the ACTIVE flagged rows of every unit-year with two or more of them (counted here)."""
    frame = SOURCES["personnel"].staged_frame(
        [{"year": y, "person_id": f"P{i}", "name": "n", "unit_code": u, "position": "other",
          "is_party_secretary": f, "is_quota": False, "status": st_} for i, (u, y, f, st_) in enumerate(people)]
    )
    flagged: dict[tuple, int] = {}
    for u, y, f, st_ in people:
        if f and st_ == "active":
            flagged[(u, y)] = flagged.get((u, y), 0) + 1
    expected = sum(n for n in flagged.values() if n >= 2)
    assert cross.one_active_party_secretary(frame).unexpected_count == expected


def test_stored_gx_result_masks_strings_but_keeps_numbers():
    from lianjian.quality.validate import _scrub

    raw = {"unexpected_percent": 33.333333333333336, "partial_unexpected_list": [ID], "n": 123456789012345}
    out = _scrub(raw)
    assert out["unexpected_percent"] == 33.333333333333336 and out["n"] == 123456789012345
    assert ID not in json.dumps(out)
