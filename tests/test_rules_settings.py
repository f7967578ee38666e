"""Every setting of rules/default.yaml is changed by at least one test that sees its effect.

``CHANGED_BY`` names, for every setting path of the rules file (``support_rules.setting_paths``; a
pattern stands for the settings a test enumerates from the file itself), the tests that change it
and check a result that moves; ``test_every_setting_has_a_test_that_changes_it`` fails when a setting
is added to the rules file without one. ``PER_YEAR`` does the same for each kind of per-year override
(``years: {2024: …}``). The tests below change the settings that no rule's own golden tests change,
each with the numbers worked out by hand from docs/rules.md.
"""

from __future__ import annotations

import ast
import datetime as dt
import fnmatch
import re
from pathlib import Path

import polars as pl
import pytest
import support_scoring as s
import yaml
from support_assessed import ev_of, integrity_rows, obligations, r2, r3, r4, responsibility_rows
from support_rules import activity, dept_review, setting_paths, unit_departments, unit_roster

from lianjian.contract import ENUMS
from lianjian.scoring.cases import case_quality
from lianjian.scoring.talks import talk_obligations

TESTS = Path(__file__).resolve().parent
RULES = s.default_rules()
RAW_RULES = yaml.safe_load(s.DEFAULT_RULES.read_text(encoding="utf-8"))

# ---------------------------------------------------------------- the registry

HERE = "tests/test_rules_settings.py"
DUTY = "tests/test_rules_duty_items.py"
#: setting path (or pattern) -> the tests that change it and see its effect
CHANGED_BY: dict[str, list[str]] = {
    "rounding_decimals": [f"{HERE}::test_rounding_decimals",
                          "tests/test_r7_reports.py::test_per_hundred_staff_rounded_half_away_from_zero_with_the_rules_rounding"],
    "grades.*": [f"{HERE}::test_grade_thresholds", f"{HERE}::test_grade_thresholds_for_one_year"],
    "talks.must_talk_windows.*.from": [f"{HERE}::test_every_must_talk_window_end"],
    "talks.must_talk_windows.*.to": [f"{HERE}::test_every_must_talk_window_end"],
    "integrity.weights.*": [f"{HERE}::test_review_weights"],
    "integrity.peer_trim_from": [f"{HERE}::test_peer_trim_from"],
    "integrity.deductions.family_talk_missing": [f"{HERE}::test_family_talk_points"],
    "integrity.deductions.cases.flawed": [f"{HERE}::test_case_points"],
    "integrity.deductions.cases.unqualified": [f"{HERE}::test_case_points"],
    "integrity.deductions.cases.error": [f"{HERE}::test_case_points"],
    "integrity.deductions.cases.cap": ["tests/test_r2_integrity.py::test_settings_come_from_the_rules_file",
                                       f"{HERE}::test_case_points"],
    "integrity.deductions.violations.*": [f"{HERE}::test_violation_points"],
    "integrity.veto.severities": [f"{HERE}::test_integrity_veto_lists"],
    "integrity.veto.sanctions": [f"{HERE}::test_integrity_veto_lists"],
    "responsibility.base_weights.*": [f"{HERE}::test_base_weights"],
    "responsibility.vote_points.*": [f"{HERE}::test_vote_points", f"{HERE}::test_vote_points_for_one_year"],
    "responsibility.duty_items.*.*.weight": [f"{DUTY}::test_every_duty_item_weight"],
    "responsibility.duty_items.*.*.required": [f"{DUTY}::test_every_duty_item_required"],
    "responsibility.duty_items.*.*.activity_type": [f"{DUTY}::test_every_duty_item_activity_type"],
    "responsibility.duty_items.*.*.period": [f"{DUTY}::test_every_duty_item_period"],
    "responsibility.duty_items.*.*.target": [f"{DUTY}::test_every_duty_item_target"],
    "responsibility.duty_items.*.*.kind": [f"{DUTY}::test_every_duty_item_kind"],
    "responsibility.duty_items.*.*.basis": [f"{DUTY}::test_every_duty_item_basis"],
    "responsibility.scope_deduction.points.*": [f"{HERE}::test_scope_points_and_cap"],
    "responsibility.scope_deduction.cap": [f"{HERE}::test_scope_points_and_cap"],
    "responsibility.veto.scope_severities": [f"{HERE}::test_scope_veto_severities"],
    "cases.special_outcomes.*": [f"{HERE}::test_every_special_outcome_list",
                                 "tests/test_r5_r6_cases.py::test_r6_special_cases_follow_the_rules_file"],
    "cases.public_complaint_is_special": ["tests/test_r5_r6_cases.py::test_r6_special_cases_follow_the_rules_file"],
    "triggers.consecutive_poor_min_years": [f"{HERE}::test_consecutive_poor_min_years"],
    "triggers.repeat_serious_severities": [f"{HERE}::test_trigger_severities"],
    "triggers.one_case_two_investigations_severities": [f"{HERE}::test_trigger_severities"],
    "triggers.basis.*": [f"{HERE}::test_every_trigger_basis"],
    "basis.R2*": [f"{HERE}::test_every_evidence_basis", f"{HERE}::test_basis_texts_for_one_year"],
    "basis.R3*": [f"{HERE}::test_every_evidence_basis"],
    "quality.max_rejected_share": [f"{HERE}::test_plausible_dates_and_rejected_share_through_dagster"],
    "plausible_dates.*": [f"{HERE}::test_plausible_dates_and_rejected_share_through_dagster"],
    "monthly_notice.low_report_min_peers": ["tests/test_r9_monthly.py::test_fewer_peers_required_by_the_rules_file"],
    "monthly_notice.low_report_share": ["tests/test_r9_monthly.py::test_low_report_boundary_and_share_setting_per_year"],
    "review_leads.leads_from_year": ["tests/test_r10_leads.py::test_first_lead_year_and_its_setting"],
    "review_leads.reasons": ["tests/test_r10_leads.py::test_reasons_setting_changed"],
}
#: Settings that change no result, and why: no test can see an effect, so none is owed.
NO_EFFECT = {
    "basis.R1": "no evidence row has a rule R1…: R1's own table (talk_obligations) carries no basis",
    "basis.R5": "R5's table carries no basis and no evidence row has a rule R5…",
    "basis.R6": "R6's table carries no basis and no evidence row has a rule R6…",
    "basis.R7": "R7's table carries no basis and no evidence row has a rule R7…",
    "basis.R9": "R9's table carries no basis and no evidence row has a rule R9…",
    "basis.R10": "R10's table carries no basis and no evidence row has a rule R10…",
}
#: Each kind of per-year override (``years: {2024: …}``) and a test of it, where one year's results
#: follow the override and another's the base settings.
PER_YEAR = {
    "a number (a cap)": "tests/test_r2_integrity.py::test_settings_come_from_the_rules_file",
    "the rounding": f"{HERE}::test_rounding_decimals",
    "the grade thresholds": f"{HERE}::test_grade_thresholds_for_one_year",
    "points by level (a mapping)": f"{HERE}::test_vote_points_for_one_year",
    "a list of codes": f"{HERE}::test_integrity_veto_lists",
    "a list of reasons": "tests/test_r10_leads.py::test_reasons_setting_changed",
    "a must-talk window": "tests/test_r1_talks.py::test_must_talk_windows_come_from_the_rules_file_per_year",
    "the duty items of a subject kind": f"{DUTY}::test_duty_items_overridden_for_one_year",
    "special outcomes and complaints": "tests/test_r5_r6_cases.py::test_r6_special_cases_follow_the_rules_file",
    "a trigger minimum": f"{HERE}::test_consecutive_poor_min_years",
    "a share (R9)": "tests/test_r9_monthly.py::test_low_report_boundary_and_share_setting_per_year",
    "basis texts (evidence, duty items, triggers)": f"{HERE}::test_basis_texts_for_one_year",
}


def _test_source(node_id: str) -> str:
    """The source of the test function a node id names (``file::name``), or '' when there is none."""
    file, name = node_id.split("::")
    tree = ast.parse((TESTS.parent / file).read_text(encoding="utf-8"))
    fn = next((n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name == name), None)
    return ast.get_source_segment((TESTS.parent / file).read_text(encoding="utf-8"), fn) if fn else ""


def test_every_setting_has_a_test_that_changes_it():
    """A setting added to rules/default.yaml without a test fails here: name the test that changes it
    and sees its effect in CHANGED_BY (or, if it changes nothing, why in NO_EFFECT)."""
    paths = setting_paths()
    assert len(paths) == len(set(paths))
    missing = [p for p in paths if not any(fnmatch.fnmatchcase(p, pat) for pat in [*CHANGED_BY, *NO_EFFECT])]
    assert missing == [], f"settings without a test that changes them: {missing}"
    stale = [pat for pat in [*CHANGED_BY, *NO_EFFECT] if not any(fnmatch.fnmatchcase(p, pat) for p in paths)]
    assert stale == [], f"registry entries that name no setting of the rules file: {stale}"


def test_the_registry_names_tests_that_exist_and_change_a_setting():
    for pattern, node_ids in CHANGED_BY.items():
        for node_id in node_ids:
            source = _test_source(node_id)
            assert source, f"{pattern}: no test {node_id}"
            # the test builds rules of its own (rules_with / rules_changing / a rules file), and a
            # test that is not generic names the setting it changes
            assert re.search(r"rules_with|rules_changing|rules\.yaml|yaml", source), node_id
            leaf = pattern.split(".")[-1]
            assert "*" in pattern or leaf in source, f"{node_id} does not mention {leaf}"


def test_every_kind_of_per_year_override_has_a_test():
    for kind, node_id in PER_YEAR.items():
        source = _test_source(node_id)
        assert source and "years" in source, f"{kind}: {node_id}"


# ---------------------------------------------------------------- rounding and grades


def test_rounding_decimals():
    """rounding_decimals 1 (base) and 0 (2025 only): department 89.96 → 90.0 好 (2 decimals: 89.96
    较好); 83.34 → 83.3; in 2025 83.34 → 83 and 89.5 → 90 好 (half away from zero)."""
    rules = s.rules_with({"rounding_decimals": 1, "years": {2025: {"rounding_decimals": 0}}})
    people = [{"person_id": p, "year": y} for p in ("A", "B") for y in (2024, 2025)]
    reviews = s.reviews([{**dept_review("A", 89.96), "year": 2024}, {**dept_review("B", 83.34), "year": 2024},
                         {**dept_review("A", 89.5), "year": 2025}, {**dept_review("B", 83.34), "year": 2025}])
    t, _ = r2(s.roster(people), reviews, rules=rules)
    assert (t["A"]["total_score"], t["A"]["grade"], t["B"]["total_score"]) == (90.0, "好", 83.3)
    assert (t[(2025, "A")]["total_score"], t[(2025, "A")]["grade"], t[(2025, "B")]["total_score"]) == (90.0, "好", 83.0)
    default, _ = r2(s.roster(people), reviews)
    assert (default["A"]["total_score"], default["A"]["grade"], default["B"]["total_score"]) == (89.96, "较好", 83.34)
    # R3 as well: votes 1 good + 2 fairly good → 260/3 = 86.666… → 86.7 (2 decimals: 86.67)
    votes = s.votes([{"subject_kind": "leader", "subject_id": "D1", "votes_good": 1, "votes_fairly_good": 2}])
    t3, _ = r3(unit_roster(), unit_departments(), votes=votes,
               rules=s.rules_with({"rounding_decimals": 1, "responsibility": {"duty_items": {"leader": []}}}))
    assert (t3[("leader", "D1")]["vote_score"], t3[("leader", "D1")]["total_score"]) == (86.7, 86.7)


def test_grade_thresholds():
    """grades good 95, fairly_good 85, average 70: 95 好; 94.99 较好; 90 较好 (好 by default); 85 较好;
    84.99 一般; 80 一般 (较好 by default); 70 一般; 69.99 较差; 60 较差 (一般 by default)."""
    rules = s.rules_with({"grades": {"good": 95, "fairly_good": 85, "average": 70}})
    scores = [95, 94.99, 90, 85, 84.99, 80, 70, 69.99, 60]
    people = [f"P{i}" for i in range(len(scores))]
    roster, reviews = s.roster([{"person_id": p} for p in people]), s.reviews([dept_review(p, x) for p, x in zip(people, scores)])
    t, _ = r2(roster, reviews, rules=rules)
    assert [t[p]["grade"] for p in people] == ["好", "较好", "较好", "较好", "一般", "一般", "一般", "较差", "较差"]
    default, _ = r2(roster, reviews)
    assert [default[p]["grade"] for p in people] == ["好", "好", "好", "较好", "较好", "较好", "一般", "一般", "一般"]


def test_grade_thresholds_for_one_year():
    """years 2024: grades good 95 — P with department 92 in 2023 and in 2024: 好 in 2023, 较好 in 2024;
    the responsibility grade follows the same year's thresholds: leader D1 with no duty item and 4
    good + 1 average votes → 460/5 = 92.00 → 好 in 2023, 较好 in 2024."""
    rules = s.rules_with({"years": {2024: {"grades": {"good": 95}}}})
    roster = s.roster([{"person_id": "P", "year": y} for y in (2023, 2024)])
    reviews = s.reviews([{**dept_review("P", 92), "year": y} for y in (2023, 2024)])
    t, _ = r2(roster, reviews, rules=rules)
    assert (t[(2023, "P")]["grade"], t["P"]["grade"]) == ("好", "较好")
    units = s.units([{"unit_code": "U1"}])
    votes = s.votes([{"year": y, "subject_kind": "leader", "subject_id": "D1", "votes_good": 4, "votes_average": 1}
                     for y in (2023, 2024)])
    two_years = s.roster([{"person_id": "D1", "position": "deputy_chief", "year": y} for y in (2023, 2024)])
    no_items = s.rules_with({"responsibility": {"duty_items": {"leader": []}}, "years": {2024: {"grades": {"good": 95}}}})
    t3, _ = r3(two_years, units=units, votes=votes, rules=no_items)
    assert (t3[(2023, "leader", "D1")]["grade"], t3[("leader", "D1")]["grade"]) == ("好", "较好")


# ---------------------------------------------------------------- R1 windows


@pytest.mark.parametrize("end", ["from", "to"])
@pytest.mark.parametrize("event_type", sorted(RULES.settings(2024).talks.must_talk_windows))
def test_every_must_talk_window_end(event_type, end):
    """The window's end moved 5 days outward: a talk 5 days beyond the default end fulfils the
    must-talk with the new setting, and not with the default; the due dates follow the setting."""
    w = RULES.settings(2024).talks.must_talk_windows[event_type]
    new = {"from": w.from_ - 5, "to": w.to} if end == "from" else {"from": w.from_, "to": w.to + 5}
    rules = s.rules_with({"talks": {"must_talk_windows": {event_type: new}}})
    day = dt.date(2024, 6, 15)
    talk_day = day + dt.timedelta(days=new[end])
    people = [{"person_id": "H", "position": "dept_head", "dept_code": "D1"}, {"person_id": "P", "dept_code": "D1"}]
    depts = s.departments([{"dept_code": "D1", "head_id": "H"}])
    evs = s.events([{"event_id": "E1", "person_id": "P", "event_type": event_type, "event_date": day}])
    tks = s.talks([{"talk_id": "T1", "talk_date": talk_day, "talk_type": "must_talk", "interviewer_id": "H",
                    "interviewee_id": "P", "reason": event_type, "witness_id": "W"}])

    def must_talk(r):
        out = talk_obligations(s.roster(people), depts, evs, tks, r).collect()
        return out.filter(pl.col("obligation") == "must_talk").select("due_from", "due_to", "talk_id").row(0)

    window = (day + dt.timedelta(days=new["from"]), day + dt.timedelta(days=new["to"]))
    assert must_talk(rules) == (*window, "T1")
    assert must_talk(RULES)[2] is None


# ---------------------------------------------------------------- R2


def test_review_weights():
    """integrity.weights self 0.5, peer 0.3, department 0.2 (default 0.2 / 0.4 / 0.4):
    A: self 100, peers 50, 50, 50 → 50, department 0 → 0.5·100 + 0.3·50 + 0.2·0 = 65.00 (default 40);
    B: self 100, department 0 → renormalized 0.5·100 / 0.7 = 71.43 (default 20/0.6 = 33.33)."""
    rules = s.rules_with({"integrity": {"weights": {"self": 0.5, "peer": 0.3, "department": 0.2}}})
    roster = s.roster([{"person_id": "A"}, {"person_id": "B"}])
    reviews = s.reviews(
        [{"person_id": p, "reviewer_kind": "self", "score": 100} for p in ("A", "B")]
        + [{"person_id": "A", "reviewer_kind": "peer", "reviewer_id": f"R{i}", "score": 50} for i in range(3)]
        + [dept_review("A", 0), dept_review("B", 0)]
    )
    t, ev = r2(roster, reviews, rules=rules)
    assert (t["A"]["review_score"], t["B"]["review_score"]) == (65.0, 71.43)
    default, _ = r2(roster, reviews)
    assert (default["A"]["review_score"], default["B"]["review_score"]) == (40.0, 33.33)
    assert {e["component"]: e["value"] for e in ev if e["subject_id"] is None and e["component"].startswith("integrity.weights")} == {
        "integrity.weights.self": 0.5, "integrity.weights.peer": 0.3, "integrity.weights.department": 0.2}


def test_peer_trim_from():
    """peer_trim_from 4: A's four peers 60, 70, 80, 100 → drop 60 and 100 → 75.00 (default, no trim:
    77.50); B's three 60, 70, 100 → no trim → 76.67. peer_trim_from 3: B → 70.00."""
    peers = [("A", [60, 70, 80, 100]), ("B", [60, 70, 100])]
    roster = s.roster([{"person_id": p} for p, _ in peers])
    reviews = s.reviews([{"person_id": p, "reviewer_kind": "peer", "reviewer_id": f"R{i}", "score": x}
                         for p, xs in peers for i, x in enumerate(xs)])
    four, ev = r2(roster, reviews, rules=s.rules_with({"integrity": {"peer_trim_from": 4}}))
    assert (four["A"]["peer_score"], four["B"]["peer_score"]) == (75.0, 76.67)
    assert sorted(e["record_ids"][0] for e in ev_of(ev, "A", "R2.review.peer.trimmed")) == [
        "reviews/2024/A/peer/R0", "reviews/2024/A/peer/R3"]
    three, _ = r2(roster, reviews, rules=s.rules_with({"integrity": {"peer_trim_from": 3}}))
    assert three["B"]["peer_score"] == 70.0
    default, _ = r2(roster, reviews)
    assert (default["A"]["peer_score"], default["B"]["peer_score"]) == (77.5, 76.67)


def test_family_talk_points():
    """family_talk_missing 7: department 100, own family talk not held → 93.00 (default 98.00)."""
    rules = s.rules_with({"integrity": {"deductions": {"family_talk_missing": 7}}})
    args = (s.roster([{"person_id": "P"}]), s.reviews([dept_review("P", 100)]),
            obligations([{"person_id": "P", "obligation": "family", "responsible_id": "P"}]))
    t, ev = r2(*args, rules=rules)
    assert (t["P"]["deduction_talks"], t["P"]["total_score"]) == (7.0, 93.0)
    assert [e["value"] for e in ev_of(ev, "P", "R2.talks.family")] == [7.0]
    assert r2(*args)[0]["P"]["total_score"] == 98.0


def test_case_points():
    """cases flawed 2, unqualified 7, error 4, cap 12 (default 1 / 5 / 5 / 20): A has one flawed case
    and one unqualified case with an error → 2 + 7 + 4 = 13 → capped at 12 (default 1 + 5 + 5 = 11);
    B one flawed → 2 (default 1)."""
    rules = s.rules_with({"integrity": {"deductions": {"cases": {"flawed": 2, "unqualified": 7, "error": 4, "cap": 12}}}})
    roster = s.roster([{"person_id": "A"}, {"person_id": "B"}])
    reviews = s.reviews([dept_review("A", 100), dept_review("B", 100)])
    cases = s.cases([
        {"case_id": "K1", "handler_id": "A", "closed_date": "2024-05-01", "quality_rating": "flawed"},
        {"case_id": "K2", "handler_id": "A", "closed_date": "2024-05-01", "quality_rating": "unqualified",
         "error_type": "wrong_arrest"},
        {"case_id": "K3", "handler_id": "B", "closed_date": "2024-05-01", "quality_rating": "flawed"},
    ])
    t, ev = r2(roster, reviews, cases=cases, rules=rules)
    assert (t["A"]["deduction_cases"], t["B"]["deduction_cases"]) == (12.0, 2.0)
    assert {e["rule"]: e["value"] for e in ev_of(ev, "A") if e["component"] == "deduction_cases"} == {
        "R2.cases.flawed": 2.0, "R2.cases.unqualified": 7.0, "R2.cases.error": 4.0, "R2.cases.cap": -1.0}
    default, _ = r2(roster, reviews, cases=cases)
    assert (default["A"]["deduction_cases"], default["B"]["deduction_cases"]) == (11.0, 1.0)


def test_violation_points():
    """violations criticism 1, written_review 2, admonition 4, circulated_criticism 8 (default 3, 3, 5,
    10): A has one of each → 15 (default 21). criticism 0: B's criticism costs nothing and leaves no
    evidence row."""
    rules = s.rules_with({"integrity": {"deductions": {"violations": {
        "criticism": 1, "written_review": 2, "admonition": 4, "circulated_criticism": 8}}}})
    roster = s.roster([{"person_id": "A"}, {"person_id": "B"}])
    reviews = s.reviews([dept_review("A", 100), dept_review("B", 100)])
    sanctions = ["criticism", "written_review", "admonition", "circulated_criticism"]
    viols = s.violations([{"violation_id": f"V{i}", "person_id": "A", "sanction": x} for i, x in enumerate(sanctions)]
                         + [{"violation_id": "W1", "person_id": "B", "sanction": "criticism"}])
    t, ev = r2(roster, reviews, violations=viols, rules=rules)
    assert t["A"]["deduction_violations"] == 15.0
    assert {e["rule"]: e["value"] for e in ev_of(ev, "A") if e["component"] == "deduction_violations"} == {
        "R2.violations.criticism": 1.0, "R2.violations.written_review": 2.0, "R2.violations.admonition": 4.0,
        "R2.violations.circulated_criticism": 8.0}
    assert r2(roster, reviews, violations=viols)[0]["A"]["deduction_violations"] == 21.0
    zero = s.rules_with({"integrity": {"deductions": {"violations": {"criticism": 0}}}})
    t, ev = r2(roster, reviews, violations=viols, rules=zero)
    assert (t["B"]["deduction_violations"], t["B"]["total_score"]) == (0.0, 100.0)
    assert [e for e in ev_of(ev, "B") if e["component"] == "deduction_violations"] == []


def test_integrity_veto_lists():
    """integrity.veto: severities [serious, criminal] vetoes A's serious violation (criticism);
    sanctions without organizational: B's organizational sanction no longer vetoes (and costs no
    points: it has none). Then only for 2025 (years: 2025): in 2024 the defaults."""
    change = {"integrity": {"veto": {"severities": ["serious", "criminal"],
                                     "sanctions": ["party_discipline", "procuratorial_discipline", "judicial_transfer"]}}}
    people = [{"person_id": p, "year": y} for p in ("A", "B") for y in (2024, 2025)]
    reviews = s.reviews([{**dept_review(p, 95), "year": y} for p in ("A", "B") for y in (2024, 2025)])
    viols = s.violations([
        {"violation_id": f"A{y}", "person_id": "A", "severity": "serious", "sanction": "criticism", "decided_date": f"{y}-03-01"}
        for y in (2024, 2025)] + [
        {"violation_id": f"B{y}", "person_id": "B", "severity": "general", "sanction": "organizational", "decided_date": f"{y}-03-01"}
        for y in (2024, 2025)])
    t, _ = r2(s.roster(people), reviews, violations=viols, rules=s.rules_with(change))
    assert (t["A"]["veto"], t["A"]["grade"], t["B"]["veto"], t["B"]["grade"]) == ("A2024", "较差", None, "好")
    t, _ = r2(s.roster(people), reviews, violations=viols, rules=s.rules_with({"years": {2025: change}}))
    assert (t["A"]["veto"], t["B"]["veto"], t["B"]["grade"]) == (None, "B2024", "较差")
    assert (t[(2025, "A")]["veto"], t[(2025, "B")]["veto"], t[(2025, "B")]["grade"]) == ("A2025", None, "好")



def test_a_sanction_made_vetoing_adds_no_points():
    """integrity.veto.sanctions with criticism added: A's criticism (3 points by default) now vetoes —
    veto V1, grade 较差 — and, a vetoing sanction adding no points (docs/rules.md R2 step 2),
    deduction_violations 0 with no ``R2.violations`` evidence row. Default rules: 95 − 3 = 92.00, 好."""
    sanctions = [*RULES.settings().integrity.veto.sanctions, "criticism"]
    viols = s.violations([{"violation_id": "V1", "person_id": "A", "sanction": "criticism"}])
    args = (s.roster([{"person_id": "A"}]), s.reviews([dept_review("A", 95)]))
    t, _ = r2(*args, violations=viols)
    assert (t["A"]["deduction_violations"], t["A"]["total_score"], t["A"]["veto"], t["A"]["grade"]) == (3.0, 92.0, None, "好")
    t, ev = r2(*args, violations=viols, rules=s.rules_with({"integrity": {"veto": {"sanctions": sanctions}}}))
    assert (t["A"]["deduction_violations"], t["A"]["total_score"], t["A"]["veto"], t["A"]["grade"]) == (0.0, 95.0, "V1", "较差")
    assert ev_of(ev, "A", "R2.violations.criticism") == []


# ---------------------------------------------------------------- R3


def test_base_weights():
    """base_weights duty 0.3, vote 0.7 (default 0.6 / 0.4): leader D1 with a lecture only → duty 25.00
    (1 of 4 items; no talk obligations), 4 good votes → 100 → 0.3·25 + 0.7·100 = 77.50 (default 55.00)."""
    acts = s.duty_activities([activity("E1", "leader", "lecture", "D1")])
    votes = s.votes([{"subject_kind": "leader", "subject_id": "D1", "votes_good": 4}])
    args = dict(activities=acts, votes=votes)
    t, _ = r3(unit_roster(), unit_departments(), **args,
              rules=s.rules_with({"responsibility": {"base_weights": {"duty": 0.3, "vote": 0.7}}}))
    assert (t[("leader", "D1")]["duty_score"], t[("leader", "D1")]["total_score"]) == (25.0, 77.5)
    assert r3(unit_roster(), unit_departments(), **args)[0][("leader", "D1")]["total_score"] == 55.0


VOTES_1234 = {"votes_good": 1, "votes_fairly_good": 2, "votes_average": 3, "votes_poor": 4}


def test_vote_points():
    """vote_points good 95, fairly_good 70, average 50, poor 10 with votes 1, 2, 3, 4:
    (95 + 140 + 150 + 40)/10 = 42.50 (default (100 + 160 + 180 + 0)/10 = 44.00)."""
    rules = s.rules_with({"responsibility": {"vote_points": {"good": 95, "fairly_good": 70, "average": 50, "poor": 10}}})
    votes = s.votes([{"subject_kind": "leader", "subject_id": "D1", **VOTES_1234}])
    t, _ = r3(unit_roster(), unit_departments(), votes=votes, rules=rules)
    assert t[("leader", "D1")]["vote_score"] == 42.5
    assert r3(unit_roster(), unit_departments(), votes=votes)[0][("leader", "D1")]["vote_score"] == 44.0


def test_vote_points_for_one_year():
    """years 2024: vote_points fairly_good 90, average 20: votes 1, 2, 3, 4 in 2023 → 44.00 (defaults),
    in 2024 → (100 + 180 + 60 + 0)/10 = 34.00. The settings rows of the evidence (what a recomputation
    reads) are each year's: fairly_good 80 in 2023, 90 in 2024."""
    rules = s.rules_with({"years": {2024: {"responsibility": {"vote_points": {"fairly_good": 90, "average": 20}}}}})
    roster = s.roster([{"person_id": "D1", "position": "deputy_chief", "year": y} for y in (2023, 2024)])
    votes = s.votes([{"year": y, "subject_kind": "leader", "subject_id": "D1", **VOTES_1234} for y in (2023, 2024)])
    t, ev = r3(roster, votes=votes, rules=rules)
    assert (t[(2023, "leader", "D1")]["vote_score"], t[("leader", "D1")]["vote_score"]) == (44.0, 34.0)
    assert RULES.settings(2023).responsibility.vote_points.fairly_good == 80
    assert {e["year"]: e["value"] for e in ev if e["component"] == "responsibility.vote_points.fairly_good"} == {2023: 80.0, 2024: 90.0}


def test_scope_points_and_cap():
    """scope_deduction points minor 1, general 3, serious 7, criminal 9 (default 0 / 2 / 10 / 10): H1
    answers for S1's four violations, one of each severity → 1 + 3 + 7 + 9 = 20 (default 22 → cap 30
    not reached). cap 15: → 15 with a cap row −5."""
    viols = s.violations([{"violation_id": f"V{i}", "person_id": "S1", "severity": sev}
                          for i, sev in enumerate(["minor", "general", "serious", "criminal"])])
    points = {"minor": 1, "general": 3, "serious": 7, "criminal": 9}
    t, ev = r3(unit_roster(), unit_departments(), violations=viols,
               rules=s.rules_with({"responsibility": {"scope_deduction": {"points": points}}}))
    assert t[("dept_head", "H1")]["deduction_scope"] == 20.0
    assert {e["rule"]: e["value"] for e in ev_of(ev, "H1", kind="dept_head") if e["component"] == "deduction_scope"} == {
        "R3.scope.minor": 1.0, "R3.scope.general": 3.0, "R3.scope.serious": 7.0, "R3.scope.criminal": 9.0}
    assert r3(unit_roster(), unit_departments(), violations=viols)[0][("dept_head", "H1")]["deduction_scope"] == 22.0
    t, ev = r3(unit_roster(), unit_departments(), violations=viols,
               rules=s.rules_with({"responsibility": {"scope_deduction": {"points": points, "cap": 15}}}))
    assert t[("dept_head", "H1")]["deduction_scope"] == 15.0
    assert [e["value"] for e in ev_of(ev, "H1", "R3.scope.cap", kind="dept_head")] == [-5.0]


def test_scope_veto_severities():
    """veto.scope_severities [serious, criminal]: S1's serious violation vetoes H1, D1 and the unit's
    bodies (default: criminal only — no veto)."""
    viols = s.violations([{"violation_id": "V1", "person_id": "S1", "severity": "serious"}])
    rules = s.rules_with({"responsibility": {"veto": {"scope_severities": ["serious", "criminal"]}}})
    t, _ = r3(unit_roster(), unit_departments(), violations=viols, rules=rules)
    assert {k: r["veto"] for k, r in t.items()} == {
        ("party_group", "U1"): "V1", ("secretary", "C1"): "V1", ("leader", "D1"): "V1", ("dept_head", "H1"): "V1",
        ("discipline_group", "U1"): "V1"}
    assert all(r["veto"] is None for r in r3(unit_roster(), unit_departments(), violations=viols)[0].values())


# ---------------------------------------------------------------- R6


@pytest.mark.parametrize("category", sorted(RULES.settings(2024).cases.special_outcomes))
def test_every_special_outcome_list(category):
    """cases.special_outcomes.<category> replaced by one outcome the default does not list: a case of
    that category with the new outcome is special, one with a formerly special outcome is not (no
    public complaint)."""
    old = RULES.settings(2024).cases.special_outcomes[category]
    new = next(o for o in ENUMS["case_outcome"].codes if o not in old)
    rules = s.rules_with({"cases": {"special_outcomes": {category: [new]}}})
    cases = s.cases([{"case_id": "K1", "handler_id": "A", "category": category, "outcome": new, "closed_date": "2024-05-01"},
                     {"case_id": "K2", "handler_id": "A", "category": category, "outcome": old[0], "closed_date": "2024-05-01"}])

    def special(r):
        return case_quality(cases, s.roster([]), r).collect().row(0, named=True)["special_cases"]

    assert (special(rules), special(RULES)) == (1, 1)
    only_new = s.cases([{"case_id": "K1", "handler_id": "A", "category": category, "outcome": new, "closed_date": "2024-05-01"}])
    assert case_quality(only_new, s.roster([]), rules).collect()["special_cases"].to_list() == [1]
    assert case_quality(only_new, s.roster([]), RULES).collect()["special_cases"].to_list() == [0]


# ---------------------------------------------------------------- R4


def test_consecutive_poor_min_years():
    """consecutive_poor_min_years 3: A poor 2023–2024 (2 years) → no row; C poor 2022–2024 → a row in
    2024 only (streak 3), none in 2023 (streak 2). Per year (years: 2024 → 3): A has no row in 2024,
    C has its 2023 row (streak 2, default minimum) and its 2024 row (3)."""
    resp = responsibility_rows(
        [{"year": y, "subject_kind": "leader", "subject_id": "A", "grade": "较差"} for y in (2023, 2024)]
        + [{"year": y, "subject_kind": "leader", "subject_id": "C", "grade": "较差"} for y in (2022, 2023, 2024)]
    )

    def streaks(rules):
        return sorted((r["year"], r["subject_id"], r["streak_years"]) for r in r4(responsibility=resp, rules=rules)
                      if r["trigger_type"] == "consecutive_poor")

    assert streaks(s.rules_with({"triggers": {"consecutive_poor_min_years": 3}})) == [(2024, "C", 3)]
    assert streaks(s.rules_with({"years": {2024: {"triggers": {"consecutive_poor_min_years": 3}}}})) == [
        (2023, "C", 2), (2024, "C", 3)]
    assert streaks(RULES) == [(2023, "C", 2), (2024, "A", 2), (2024, "C", 3)]


def _two_year_unit():
    roster = s.roster([{"year": y, "person_id": p, "position": pos, "dept_code": dept}
                       for y in (2023, 2024)
                       for p, pos, dept in (("C1", "chief", None), ("D1", "deputy_chief", None),
                                            ("H1", "dept_head", "A"), ("S1", "prosecutor", "A"))])
    deps = s.departments([{"year": y, "dept_code": "A", "head_id": "H1", "supervisor_id": "D1"} for y in (2023, 2024)])
    resp = responsibility_rows([{"year": y, "subject_kind": "leader", "subject_id": "D1"} for y in (2023, 2024)])
    return roster, deps, resp


def test_trigger_severities():
    """repeat_serious_severities [general] and one_case_two_investigations_severities [general]: S1's
    general violations of 2023 and 2024 give D1 a repeat row and each give 一案双查 rows (H1 head, D1
    supervisor); S1's serious ones give neither. With the defaults the other way round."""
    roster, deps, resp = _two_year_unit()
    general = s.violations([{"violation_id": f"G{y}", "person_id": "S1", "severity": "general", "decided_date": f"{y}-05-01"}
                            for y in (2023, 2024)])
    serious = s.violations([{"violation_id": f"S{y}", "person_id": "S1", "severity": "serious", "decided_date": f"{y}-05-01"}
                            for y in (2023, 2024)])
    rules = s.rules_with({"triggers": {"repeat_serious_severities": ["general"],
                                       "one_case_two_investigations_severities": ["general"]}})

    def kinds(viols, r):
        rows = r4(responsibility=resp, roster=roster, departments=deps, violations=viols, rules=r)
        return sorted((x["trigger_type"], x["year"], x["subject_id"]) for x in rows)

    expected = sorted([("one_case_two_investigations", y, who) for y in (2023, 2024) for who in ("D1", "H1")]
                      + [("repeat_serious_violation", 2024, "D1")])
    assert kinds(general, rules) == expected and kinds(serious, rules) == []
    assert kinds(serious, RULES) == expected and kinds(general, RULES) == []


def test_every_trigger_basis():
    """triggers.basis: every text replaced; each trigger row carries the one of its type and, for
    连续两年较差, of its subject kind (the person for the integrity evaluation)."""
    kinds = ["party_group", "secretary", "leader", "dept_head", "discipline_group", "person"]
    basis = {"consecutive_poor": {k: f"依据 cp.{k}" for k in kinds}, "repeat_serious_violation": "依据 rsv",
             "one_case_two_investigations": "依据 oc"}
    rules = s.rules_with({"triggers": {"basis": basis}})
    roster, deps, _ = _two_year_unit()
    ids = {"party_group": "U1", "discipline_group": "U1", "secretary": "C1", "leader": "D1", "dept_head": "H1"}
    resp = responsibility_rows([{"year": y, "subject_kind": k, "subject_id": i, "grade": "较差"}
                                for y in (2023, 2024) for k, i in ids.items()])
    integ = integrity_rows([{"year": y, "person_id": "S1", "grade": "较差"} for y in (2023, 2024)])
    viols = s.violations([{"violation_id": f"V{y}", "person_id": "S1", "severity": "serious", "decided_date": f"{y}-05-01"}
                          for y in (2023, 2024)])
    rows = r4(integrity=integ, responsibility=resp, roster=roster, departments=deps, violations=viols, rules=rules)
    got = {(r["trigger_type"], r["subject_kind"] if r["trigger_type"] == "consecutive_poor" else "") : r["basis"] for r in rows}
    assert got == {**{("consecutive_poor", k): f"依据 cp.{k}" for k in kinds},
                   ("repeat_serious_violation", ""): "依据 rsv", ("one_case_two_investigations", ""): "依据 oc"}



@pytest.mark.parametrize(
    ("path", "value"),
    [
        (("consecutive_poor", "leader"), None),  # a kind left out
        (("consecutive_poor", "person"), " "),  # an empty text
        (("repeat_serious_violation",), None),
        (("one_case_two_investigations",), ""),
    ],
)
def test_a_trigger_basis_left_out_ends_with_one_line(tmp_path, path, value):
    """triggers.basis names the article of every trigger row (R4 rows carry it as their basis): a
    kind of 连续两年较差 or a trigger type without a text is a mistake of the rules file, said in one
    line naming the setting, not a trigger written without its article."""
    from lianjian.errors import FatalError
    from lianjian.rules_config import load_rules

    raw = yaml.safe_load(s.DEFAULT_RULES.read_text(encoding="utf-8"))
    parent = raw["triggers"]["basis"]
    for key in path[:-1]:
        parent = parent[key]
    if value is None:
        del parent[path[-1]]
    else:
        parent[path[-1]] = value
    rules = tmp_path / "rules.yaml"
    rules.write_text(yaml.safe_dump(raw, allow_unicode=True, sort_keys=False), encoding="utf-8")
    with pytest.raises(FatalError) as err:
        load_rules(rules)
    msg = str(err.value)
    assert "\n" not in msg and "triggers" in msg and f"basis.{path[0]}" in msg and str(rules) in msg


# ---------------------------------------------------------------- R8 basis


def test_every_evidence_basis():
    """basis.<rule family>: every text replaced; each R2 and R3 evidence row, the settings rows
    included (duty items apart: their own article), carries the text of the longest key that is its
    rule id or a dotted prefix of it — and every R2/R3 key is the longest for some row here."""
    keys = list(RULES.settings(2024).basis)
    rules = s.rules_with({"basis": {k: f"依据·{k}" for k in keys}})
    roster = s.roster([{"person_id": "P"}])
    reviews = s.reviews([{"person_id": "P", "reviewer_kind": "self", "score": 90}, dept_review("P", 90)])
    fam = obligations([{"person_id": "P", "obligation": "family", "responsible_id": "P"}])
    cases = s.cases([{"case_id": f"K{i}", "handler_id": "P", "closed_date": "2024-05-01", "quality_rating": "unqualified"}
                     for i in range(5)])
    viols = s.violations([{"violation_id": "V1", "person_id": "P"},
                          {"violation_id": "V2", "person_id": "P", "sanction": "party_discipline"}])
    _, ev2 = r2(roster, reviews, fam, cases, viols, rules=rules)
    votes = s.votes([{"subject_kind": "leader", "subject_id": "D1", "votes_good": 1}])
    scope = s.violations([{"violation_id": "W1", "person_id": "S1", "severity": "criminal"}])
    _, ev3 = r3(unit_roster(), unit_departments(), votes=votes, violations=scope, rules=rules)
    used = set()
    # the settings rows too (no subject; R3's settings of every kind have no subject kind either)
    assert any(e["subject_kind"] is None for e in ev3)
    for e in ev2 + ev3:
        if e["rule"].startswith("R3.duty."):
            continue
        cands = [k for k in keys if e["rule"] == k or e["rule"].startswith(k + ".")]
        key = max(cands, key=len)
        assert e["basis"] == f"依据·{key}", e
        used.add(key)
    assert used == {k for k in keys if k.split(".")[0] in ("R2", "R3")}



def test_a_duty_item_keeps_its_article_without_a_basis_for_its_rule_family(tmp_path):
    """R8: a duty item's evidence rows carry the item's own ``basis``, whether or not the rules file has
    a ``basis`` text for its rule family. basis.R3 removed: D1's ``R3.duty.lecture`` row (leader)
    still carries the lecture's article; an R3 row without a key of its own (``R3.vote.good``: no
    ``R3.vote``, no ``R3``) carries none."""
    from lianjian.rules_config import load_rules

    raw = yaml.safe_load(s.DEFAULT_RULES.read_text(encoding="utf-8"))
    del raw["basis"]["R3"]
    path = tmp_path / "rules.yaml"
    path.write_text(yaml.safe_dump(raw, allow_unicode=True, sort_keys=False), encoding="utf-8")
    votes = s.votes([{"subject_kind": "leader", "subject_id": "D1", "votes_good": 1}])
    _, ev = r3(unit_roster(), unit_departments(), votes=votes, rules=load_rules(path))
    lecture = next(it.basis for it in RULES.settings(2024).responsibility.duty_items["leader"] if it.item == "lecture")
    assert [e["basis"] for e in ev_of(ev, "D1", "R3.duty.lecture", kind="leader")] == [lecture]
    assert [e["basis"] for e in ev_of(ev, "D1", "R3.vote.good")] == [None]


# ---------------------------------------------------------------- staging: plausible dates, rejected share


def test_plausible_dates_and_rejected_share_through_dagster(tmp_path):
    """The rules file's plausible_dates (earliest 1990-01-01, years_ahead 1) and
    quality.max_rejected_share (0.2) reach the staging of a landing zone through Dagster: of ten talks,
    one of 1989-12-31 (before the earliest; accepted under the default 1950) and one of 1 January two
    years ahead (after 31 December of next year) are rejected with the bounds in their reasons; 1990-01-01
    and 31 December of next year (rejected under the default years_ahead 0) are accepted. 2 of 10
    rejected = 0.2: the rejected-share check passes at exactly its limit (it fails with the default
    0.05)."""
    import dagster as dg
    import yaml
    from support_ingest import BASE, HEADERS, write_landing

    from assets import landing, staged
    from checks.quality import staged_data_quality
    from lianjian.quality.checks import current_year
    from pipelines.definitions import RESOURCES
    from pipelines.resources import local_resources

    year = current_year()
    raw = yaml.safe_load(s.DEFAULT_RULES.read_text(encoding="utf-8"))
    raw["plausible_dates"] = {"earliest": dt.date(1990, 1, 1), "years_ahead": 1}
    raw["quality"] = {"max_rejected_share": 0.2}
    rules = tmp_path / "rules.yaml"
    rules.write_text(yaml.safe_dump(raw, allow_unicode=True, sort_keys=False), encoding="utf-8")

    def talk(tid, date):
        return [tid, date, "family", "", "P3", "", "", "", "是", "是"]

    dates = ["1989-12-31", "1990-01-01", f"{year + 1}-12-31", f"{year + 2}-01-01"] + [f"2024-0{m}-01" for m in range(1, 5)]
    talks = BASE["talks"] + [talk(f"X{i}", d) for i, d in enumerate(dates)]
    assert len(talks) == 10 and len(HEADERS["talks"]) == len(talks[0])
    root = write_landing(tmp_path / "landing", {"talks": talks})
    wh = tmp_path / "warehouse"
    result = dg.materialize(
        [*landing.LANDING, staged.staged_assets, staged_data_quality],
        resources=dict(RESOURCES) | local_resources(landing=root, warehouse=wh, rules=rules),
        selection=dg.AssetSelection.all(),
    )
    rejected = pl.read_parquet(wh / "staged" / "rejected_records.parquet").filter(pl.col("file") == "talks.csv")
    reasons = sorted(r for rs in rejected["reasons"].to_list() for r in rs)
    assert reasons == [
        "talk_date: 1989-12-31 is before 1990-01-01, the earliest plausible date",
        f"talk_date: {year + 2}-01-01 is after {year + 1}-12-31, the latest plausible date",
    ]
    accepted = set(pl.read_parquet(wh / "staged" / "talks.parquet")["talk_id"])
    assert {"X1", "X2"} <= accepted and not {"X0", "X3"} & accepted
    checks = {e.check_name: e for e in result.get_asset_check_evaluations()}
    assert checks["talks_rejected_share"].passed


def test_basis_texts_for_one_year():
    """years 2025: basis.R2.talks, the leader's lecture's basis and the 纪检组's 连续两年较差 basis
    replaced: 2025's evidence and trigger rows carry the new texts, 2024's the defaults."""
    leader = [{**it, "basis": "2025 讲党课条文"} if it["item"] == "lecture" else it
              for it in RAW_RULES["responsibility"]["duty_items"]["leader"]]
    rules = s.rules_with({"years": {2025: {"basis": {"R2.talks": "2025 家访条文"},
                                           "responsibility": {"duty_items": {"leader": leader}},
                                           "triggers": {"basis": {"consecutive_poor": {"discipline_group": "2025 纪检条文"}}}}}})
    base = RULES.settings(2024)
    roster = s.roster([{"person_id": "D1", "position": "deputy_chief", "year": y} for y in (2024, 2025)])
    fam = obligations([{"year": y, "person_id": "D1", "obligation": "family", "responsible_id": "D1"} for y in (2024, 2025)])
    _, ev2 = r2(roster, obligations=fam, rules=rules)
    assert {e["year"]: e["basis"] for e in ev_of(ev2, "D1", "R2.talks.family")} == {
        2024: base.basis["R2.talks"], 2025: "2025 家访条文"}
    _, ev3 = r3(roster, rules=rules)
    lecture = next(it.basis for it in base.responsibility.duty_items["leader"] if it.item == "lecture")
    assert {e["year"]: e["basis"] for e in ev_of(ev3, "D1", "R3.duty.lecture", kind="leader")} == {
        2024: lecture, 2025: "2025 讲党课条文"}
    resp = responsibility_rows([{"year": y, "subject_kind": "discipline_group", "subject_id": "U1", "grade": "较差"}
                                for y in (2023, 2024, 2025)])
    rows = [r for r in r4(responsibility=resp, rules=rules) if r["trigger_type"] == "consecutive_poor"]
    assert {r["year"]: r["basis"] for r in rows} == {
        2024: base.triggers.basis["consecutive_poor"]["discipline_group"], 2025: "2025 纪检条文"}
