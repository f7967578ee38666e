"""Column lineage an auditor can trust (docs/contract.md, "Column lineage"): every published column
names every staged column it depends on, followed through the computed tables.

The expected lists are written here by hand from the rules (docs/rules.md), not generated from the
code: each group below says which rule text it comes from. The convention (also in the contract
declaration): a column depends on what it is computed from and on what selects and matches the
records it reads (a date placing a record in a year, an id tying it to a person, a status or position
that makes someone count); by column, not by row (a rule that reads the family rows of
talk_obligations.fulfilled depends on that column, with everything it depends on). They are checked
through ``lianjian lineage``, the dictionary, and the Dagster webserver's GraphQL (the column lineage
of every asset, walked from the published table down to the staged sources, and the assets' inputs).
"""

from __future__ import annotations

import re

from lianjian.contract import PUBLISHED


def S(*refs: str) -> frozenset[str]:
    return frozenset(refs)


# ---------------------------------------------------------------- R1 talk obligations
# A yearly obligation belongs to the roster year; a must-talk to the year of its event date.
OB_YEAR = S("personnel.year", "personnel_events.event_date")
# Owed to the person of the roster row, or the person of the event.
OB_PERSON = S("personnel.person_id", "personnel_events.person_id")
# P's unit and department are those of P's roster row of that year (found by year and person).
OB_UNIT = OB_YEAR | OB_PERSON | S("personnel.unit_code")
OB_DEPT = OB_YEAR | OB_PERSON | S("personnel.dept_code")
# P's department D of that year: its row in departments, its head and its supervisor.
DEPT_OF_P = OB_UNIT | OB_DEPT | S(
    "departments.year", "departments.unit_code", "departments.dept_code", "departments.head_id", "departments.supervisor_id"
)
# Responsible: the head of D, the supervisor of D; for a must-talk of a leadership member (position)
# the party secretary (the active person flagged, else the active chief).
OB_RESPONSIBLE = DEPT_OF_P | S("personnel.position", "personnel.is_party_secretary", "personnel.status")
# Due: the year or its halves; a must-talk's window around the event date, by event type.
OB_DUE = OB_YEAR | S("personnel_events.event_type")
# Fulfilled by a talk of the right type with interviewee P, dated in the due period, form filed; a
# witness; family_signed (family); interviewer the head or supervisor of D; reason = the event type
# and, if it names one, this event (must-talk).
TALK_MATCH = S(
    "talks.talk_type", "talks.talk_date", "talks.interviewer_id", "talks.interviewee_id", "talks.reason",
    "talks.event_id", "talks.witness_id", "talks.form_filed", "talks.family_signed",
)
OB_FULFILLED = TALK_MATCH | OB_PERSON | OB_DUE | DEPT_OF_P | S("personnel_events.event_id")

TALK_OBLIGATIONS = {
    "year": OB_YEAR,
    "unit_code": OB_UNIT,
    "dept_code": OB_DEPT,
    "person_id": OB_PERSON,
    "obligation": S(),
    "event_id": S("personnel_events.event_id"),
    "responsible_id": OB_RESPONSIBLE,
    "due_from": OB_DUE,
    "due_to": OB_DUE,
    "fulfilled": OB_FULFILLED,
    "talk_id": OB_FULFILLED | S("talks.talk_id"),  # the earliest matching talk (ties: smallest id)
}

# ---------------------------------------------------------------- R2 廉洁从检评估
# Reviews of P in Y, by kind (self, peer — trimmed by how many —, department).
REVIEW = S("reviews.score", "reviews.reviewer_kind", "reviews.year", "reviews.person_id")
# incomplete without a department review; signoff_pending when it lacks a signature.
R2_STATUS = S("reviews.reviewer_kind", "reviews.dept_head_signed", "reviews.supervisor_signed", "reviews.year", "reviews.person_id")
# P's own family obligation of Y not fulfilled (not owed when due before P's hire_date).
R2_TALKS = OB_FULFILLED | OB_YEAR | OB_PERSON | S("personnel.hire_date")
# Cases P handled that closed in Y: flawed, unqualified, with an error_type.
R2_CASES = S("cases.quality_rating", "cases.error_type", "cases.closed_date", "cases.handler_id")
# P's violations decided in Y, by sanction.
R2_VIOLATIONS = S("violations.sanction", "violations.decided_date", "violations.person_id")
# A violation of P decided in Y that is criminal or has a vetoing sanction; its id.
R2_VETO = S("violations.violation_id", "violations.severity", "violations.sanction", "violations.decided_date", "violations.person_id")
R2_TOTAL = REVIEW | R2_TALKS | R2_CASES | R2_VIOLATIONS | R2_STATUS  # empty while incomplete

INTEGRITY = {
    "year": S("personnel.year"),
    "unit_code": S("personnel.unit_code"),
    "dept_code": S("personnel.dept_code"),
    "person_id": S("personnel.person_id"),
    "name": S("personnel.name"),
    "position": S("personnel.position"),
    "self_score": REVIEW,
    "peer_score": REVIEW,
    "department_score": REVIEW,
    "review_score": REVIEW,
    "deduction_talks": R2_TALKS,
    "deduction_cases": R2_CASES,
    "deduction_violations": R2_VIOLATIONS,
    "total_score": R2_TOTAL,
    "grade": R2_TOTAL | R2_VETO,
    "veto": R2_VETO,
    "status": R2_STATUS,
    "rules_version": S(),
}

# ---------------------------------------------------------------- R3 党风廉政考核
# Who the subjects are: the party secretary (flag, else active chief), the other active leadership
# members but the discipline_head, the active heads named in departments, the bodies of each unit.
SUBJECT = S(
    "personnel.year", "personnel.person_id", "personnel.unit_code", "personnel.position",
    "personnel.is_party_secretary", "personnel.status", "departments.year", "departments.unit_code", "departments.head_id",
)
# Duty items: the unit's duty activities of Y by actor kind, actor, type, date (halves, quarters),
# target or target department; targets from the roster (active leadership members, department
# members) and departments (heads, supervised departments); the R1 obligations towards others the
# subject is responsible for; the special cases of its department closed in Y with dept_verified.
DUTY = (
    S(
        "duty_activities.unit_code", "duty_activities.actor_kind", "duty_activities.actor_id",
        "duty_activities.activity_type", "duty_activities.activity_date", "duty_activities.target_id",
        "duty_activities.target_dept_code",
        "personnel.year", "personnel.person_id", "personnel.unit_code", "personnel.dept_code", "personnel.position",
        "personnel.status",
        "departments.year", "departments.unit_code", "departments.dept_code", "departments.head_id",
        "departments.supervisor_id",
        "cases.handler_id", "cases.closed_date", "cases.category", "cases.outcome", "cases.public_complaint",
        "cases.dept_verified",
    )
    | OB_RESPONSIBLE
    | OB_FULFILLED
    | SUBJECT
)
VOTES = S(
    "democratic_votes.votes_good", "democratic_votes.votes_fairly_good", "democratic_votes.votes_average",
    "democratic_votes.votes_poor", "democratic_votes.year", "democratic_votes.unit_code",
    "democratic_votes.subject_kind", "democratic_votes.subject_id",
)
# 一岗双责: violations decided in Y (severity) by people in scope — the violator's unit and department
# in the roster of that year; the departments a leader supervises or a head heads.
SCOPE = (
    S(
        "violations.severity", "violations.person_id", "violations.decided_date",
        "personnel.year", "personnel.person_id", "personnel.unit_code", "personnel.dept_code",
        "departments.year", "departments.unit_code", "departments.dept_code", "departments.head_id",
        "departments.supervisor_id",
    )
    | SUBJECT
)
# A criminal violation in scope, or the subject's own vetoing violation (severity or sanction).
R3_VETO = SCOPE | S("violations.violation_id", "violations.sanction")
R3_TOTAL = DUTY | VOTES | SCOPE

RESPONSIBILITY = {
    "year": S("personnel.year"),
    "unit_code": S("personnel.unit_code", "departments.unit_code"),
    "subject_kind": SUBJECT,
    "subject_id": SUBJECT,
    "subject_name": SUBJECT | S("personnel.name", "units.unit_name", "units.unit_code"),
    "duty_score": DUTY,
    "vote_score": VOTES,
    "deduction_scope": SCOPE,
    "total_score": R3_TOTAL,
    "grade": R3_TOTAL | R3_VETO,
    "veto": R3_VETO,
    "status": DUTY | VOTES,
    "rules_version": S(),
}

# ---------------------------------------------------------------- R4 accountability triggers
# 一案双查: the violator's roster row of the decision year, their department's head, supervisor and
# branch secretary, the party secretary.
ANSWER = S(
    "violations.person_id", "violations.decided_date",
    "personnel.year", "personnel.person_id", "personnel.unit_code", "personnel.dept_code", "personnel.position",
    "personnel.is_party_secretary", "personnel.status",
    "departments.year", "departments.unit_code", "departments.dept_code", "departments.head_id",
    "departments.supervisor_id", "departments.branch_secretary_id",
)
TRIGGER_SUBJECT = S("personnel.person_id") | SUBJECT | ANSWER
TRIGGERS = {
    "year": S("personnel.year", "violations.decided_date"),
    "unit_code": S("personnel.unit_code", "departments.unit_code", "personnel.year", "personnel.person_id",
                   "violations.person_id", "violations.decided_date"),
    "trigger_type": S(),
    "assessment": S(),
    "subject_kind": TRIGGER_SUBJECT,
    "subject_id": TRIGGER_SUBJECT,
    "subject_name": TRIGGER_SUBJECT | S("personnel.name", "units.unit_name", "units.unit_code", "violations.decided_date"),
    # runs of 较差 years of one person (any kind) or one body of a unit
    "streak_years": INTEGRITY["grade"] | RESPONSIBILITY["grade"] | SUBJECT | S("departments.unit_code"),
    "basis": TRIGGER_SUBJECT,  # the article by trigger and subject kind
    # the violations behind the other triggers; for 连续两年较差, the graded rows of each year of the run
    "evidence": S("violations.violation_id") | SCOPE | INTEGRITY["grade"] | RESPONSIBILITY["grade"] | SUBJECT
    | S("departments.unit_code"),
}

# ---------------------------------------------------------------- R5, R6, R7
CASE_KEY = S("cases.closed_date", "cases.handler_id", "cases.category")  # year closed, handler, category
SPECIAL = CASE_KEY | S("cases.outcome", "cases.public_complaint")
CASE_QUALITY = {
    "year": S("cases.closed_date"),
    "unit_code": CASE_KEY | S("personnel.unit_code", "personnel.year", "personnel.person_id", "cases.unit_code"),
    "person_id": S("cases.handler_id"),
    "category": S("cases.category"),
    "cases_closed": CASE_KEY,
    "major_cases": CASE_KEY | S("cases.is_major"),
    "rated": CASE_KEY | S("cases.quality_rating"),
    "excellent": CASE_KEY | S("cases.quality_rating"),
    "qualified": CASE_KEY | S("cases.quality_rating"),
    "flawed": CASE_KEY | S("cases.quality_rating"),
    "unqualified": CASE_KEY | S("cases.quality_rating"),
    "errors": CASE_KEY | S("cases.error_type"),
    "special_cases": SPECIAL,
    "special_unverified": SPECIAL | S("cases.dept_verified", "cases.supervisor_verified"),
}
# Quota leaders of U in Y: active, is_quota, a leadership member or head of a department of U.
QUOTA = S(
    "personnel.year", "personnel.unit_code", "personnel.person_id", "personnel.status", "personnel.is_quota",
    "personnel.position", "departments.year", "departments.unit_code", "departments.head_id",
)
HANDLED = S("cases.handler_id", "cases.accepted_date", "cases.closed_date")  # handled in Y
LEADERS = {
    "year": S("personnel.year"),
    "unit_code": S("personnel.unit_code"),
    "quota_leaders": QUOTA,
    "leaders_handling": QUOTA | HANDLED,
    "chiefs_on_major": QUOTA | HANDLED | S("cases.is_major"),
    "leader_cases": QUOTA | HANDLED | S("cases.case_id"),  # distinct cases
    "leader_major_cases": QUOTA | HANDLED | S("cases.case_id", "cases.is_major"),
    "implemented": QUOTA | HANDLED,
}
REPORTS = S("major_matter_reports.unit_code", "major_matter_reports.report_date")
STAFF = S("personnel.year", "personnel.unit_code", "personnel.status")
REPORT_STATS = {
    "year": S("personnel.year"),
    "unit_code": S("personnel.unit_code"),
    "staff": STAFF,
    "reports": REPORTS,
    "leader_reports": REPORTS | S(
        "major_matter_reports.reporter_id", "personnel.year", "personnel.person_id", "personnel.unit_code",
        "personnel.position", "departments.year", "departments.unit_code", "departments.head_id",
    ),
    "per_hundred_staff": REPORTS | STAFF,
    "zero_report": REPORTS,
    "reports_prev_year": REPORTS,
    "reports_two_years_ago": REPORTS,
}

# R9: per unit and month of a year; peers under the same parent and level, with active staff
PEERS = STAFF | S("units.unit_code", "units.parent_code", "units.level")
MONTHLY = {
    "year": S("personnel.year"),
    "month": S("personnel.year"),  # every month of the roster's year begun by the run date
    "unit_code": S("personnel.unit_code"),
    "staff": STAFF,
    "reports": REPORTS,
    "leader_reports": REPORT_STATS["leader_reports"],
    "reports_to_date": REPORTS,
    "per_hundred_staff_to_date": REPORTS | STAFF,
    "rank": REPORTS | PEERS,
    "peers": PEERS,
    "months_without_report": REPORTS,
    "low_report": REPORTS | PEERS,
}

# ---------------------------------------------------------------- R8 evidence
R2_SCORES = REVIEW | R2_TALKS | R2_CASES | R2_VIOLATIONS
R3_SCORES = DUTY | VOTES | SCOPE
EVIDENCE = {
    "year": S("personnel.year"),
    "unit_code": S("personnel.unit_code", "departments.unit_code"),
    "assessment": S(),
    "subject_kind": SUBJECT,
    "subject_id": SUBJECT,
    "component": S(),  # a column name, or a duty item of the rules file
    "value": R2_SCORES | R3_SCORES,
    # the records behind each fact: reviewers, cases, violations, activities, talks
    "record_ids": R2_SCORES | R3_SCORES | R2_VETO | R3_VETO | S(
        "reviews.reviewer_id", "cases.case_id", "duty_activities.activity_id", "talks.talk_id"
    ),
    "rule": S("violations.sanction", "violations.severity"),  # R2.violations.<sanction>, R3.scope.<severity>
    "basis": S("violations.sanction", "violations.severity"),  # the article of the rule id
}

EXPECTED: dict[str, dict[str, frozenset[str]]] = {
    "integrity_assessment": INTEGRITY,
    "responsibility_assessment": RESPONSIBILITY,
    "accountability_triggers": TRIGGERS,
    "talk_obligations": TALK_OBLIGATIONS,
    "case_quality": CASE_QUALITY,
    "leader_case_handling": LEADERS,
    "major_matter_report_stats": REPORT_STATS,
    "major_matter_report_monthly": MONTHLY,
    "assessment_evidence": EVIDENCE,
    # the dimension tables: the declared units and departments, the contract's own codes
    "units": {
        "unit_code": S("units.unit_code"),
        "unit_name": S("units.unit_name"),
        "level": S("units.level"),
        "parent_code": S("units.parent_code"),
        # the parent's row is found by its code
        "parent_name": S("units.parent_code", "units.unit_code", "units.unit_name"),
        # the unit or the nearest ancestor of that level: walking up parent codes, reading levels
        **{
            col: S("units.unit_code", "units.parent_code", "units.level") | (S("units.unit_name") if col.endswith("name") else S())
            for lv in ("province", "city", "county")
            for col in (f"{lv}_code", f"{lv}_name")
        },
        "depth": S("units.unit_code", "units.parent_code"),
        "path": S("units.unit_code", "units.parent_code", "units.unit_name"),
    },
    "departments": {c: S(f"departments.{c}") for c in ("year", "unit_code", "dept_code", "dept_name")},
    "codes": {c: S() for c in ("table", "column", "code", "label", "sort_order")},
    # rejected rows come from the landing files, before any staged table
    "rejected_records": {c: S() for c in ("source", "file", "row_number", "reasons", "raw")},
}

#: The inputs of each computing asset, from the rules (what each rule reads).
INPUTS = {
    ("derived", "talk_obligations"): {"staged/personnel", "staged/departments", "staged/personnel_events", "staged/talks"},
    ("derived", "case_quality"): {"staged/cases", "staged/personnel"},
    ("derived", "leader_case_handling"): {"staged/personnel", "staged/departments", "staged/cases"},
    ("derived", "major_matter_report_stats"): {"staged/personnel", "staged/departments", "staged/major_matter_reports"},
    ("derived", "major_matter_report_monthly"): {
        "staged/units", "staged/personnel", "staged/departments", "staged/major_matter_reports",
    },
    ("assessed", "integrity_assessment"): {
        "staged/personnel", "staged/reviews", "staged/cases", "staged/violations", "derived/talk_obligations",
    },
    ("assessed", "responsibility_assessment"): {
        "staged/units", "staged/personnel", "staged/departments", "staged/duty_activities", "staged/democratic_votes",
        "staged/cases", "staged/violations", "derived/talk_obligations",
    },
    ("assessed", "assessment_evidence"): {"assessed/integrity_evidence", "assessed/responsibility_evidence"},
    ("assessed", "accountability_triggers"): {
        "assessed/integrity_assessment", "assessed/responsibility_assessment", "staged/personnel",
        "staged/departments", "staged/violations",
    },
}
INPUTS[("assessed", "integrity_evidence")] = INPUTS[("assessed", "integrity_assessment")]
# the evidence rows name no subject, so they do not read the units' names
INPUTS[("assessed", "responsibility_evidence")] = INPUTS[("assessed", "responsibility_assessment")] - {"staged/units"}

ALL_COLUMNS = [(t, c) for t, cols in EXPECTED.items() for c in cols]


def test_every_published_column_has_a_hand_written_expectation():
    assert {t: list(cols) for t, cols in EXPECTED.items()} == {t: PUBLISHED[t].column_names for t in PUBLISHED}


def _cli_staged(capsys, target: str) -> set[str]:
    from lianjian.cli import main

    assert main(["lineage", target]) == 0
    lines = capsys.readouterr().out.splitlines()
    if "  追溯到暂存层：" not in lines:
        return set()
    out = lines[lines.index("  追溯到暂存层：") + 1 :]
    return {re.match(r"    staged/(\w+\.\w+)（", line).group(1) for line in out}


def test_lianjian_lineage_and_the_dictionary_name_every_staged_column(capsys):
    from lianjian.publish.dictionary import build_dictionary

    lineage = build_dictionary()["lineage"]
    wrong = {}
    for table, column in ALL_COLUMNS:
        want = EXPECTED[table][column]
        got_cli = _cli_staged(capsys, f"{table}.{column}")
        got_dict = set(lineage[f"{table}.{column}"]["staged"])
        if got_cli != want or got_dict != want:
            wrong[f"{table}.{column}"] = {"missing": sorted(want - got_cli), "extra": sorted(got_cli - want)}
    assert wrong == {}


def test_the_grade_follows_the_total_score_down_to_talks_cases_and_violations(capsys):
    """The example of docs/contract.md: integrity_assessment.grade is not just reviews and
    violations — the missed family talk, the cases and the roster move it too."""
    got = _cli_staged(capsys, "integrity_assessment.grade")
    assert {"talks.family_signed", "talks.talk_date", "talks.interviewee_id", "cases.quality_rating",
            "violations.sanction", "reviews.score", "personnel.hire_date"} <= got


QUERY = """
{
  assetNodes {
    assetKey { path }
    dependencyKeys { path }
    metadataEntries {
      label
      ... on TableColumnLineageMetadataEntry {
        lineage { columnName columnDeps { assetKey { path } columnName } }
      }
    }
  }
}
"""


def test_the_webserver_shows_each_assets_inputs_and_column_lineage(webserver):
    from tests.test_ops import _graphql

    from lianjian.contract import SOURCES
    from lianjian.publish.layers import upstream_key

    nodes = {tuple(n["assetKey"]["path"]): n for n in _graphql(webserver.port, QUERY)["assetNodes"]}

    def column_deps(key: tuple) -> dict[str, set[tuple[tuple, str]]]:
        for m in nodes[key]["metadataEntries"]:
            if m["label"] == "dagster/column_lineage":
                return {
                    c["columnName"]: {(tuple(d["assetKey"]["path"]), d["columnName"]) for d in c["columnDeps"]}
                    for c in m["lineage"]
                }
        return {}

    # each computing asset reads exactly what its rule reads, and its column lineage names only its
    # inputs and uses each of them
    for key, inputs in INPUTS.items():
        deps = {"/".join(d["path"]) for d in nodes[key]["dependencyKeys"]}
        assert deps == inputs, key
        used = {"/".join(k) for cols in column_deps(key).values() for k, _ in cols}
        assert used == inputs, key

    def walk(key: tuple, column: str, seen: set) -> set[str]:
        """Staged source columns reached by following the column lineage metadata of the assets."""
        if (key, column) in seen:
            return set()
        seen.add((key, column))
        if key[0] == "staged":
            return {f"{key[1]}.{column}"} if key[1] in SOURCES else set()
        out: set[str] = set()
        for dep_key, dep_col in column_deps(key).get(column, ()):
            out |= walk(dep_key, dep_col, seen)
        return out

    wrong = {}
    for table, column in ALL_COLUMNS:
        want = EXPECTED[table][column]
        # the published asset lists them itself (OSS Dagster does not draw the graph) ...
        listed = {f"{k[1]}.{c}" for k, c in column_deps(("published", table)).get(column, ()) if k[0] == "staged" and k[1] in SOURCES}
        # ... and walking the graph from the asset that computes it reaches the same ones
        up = upstream_key(table)  # None: written from the contract itself (codes)
        if up is not None and up[0] == "staged":  # a dimension table: a staged source's columns, and its own
            up = ("published", table)
        walked = walk(up, column, set()) if up is not None else set()
        if listed != want or walked != want:
            wrong[f"{table}.{column}"] = {"listed": sorted(listed ^ want), "walked": sorted(walked ^ want)}
    assert wrong == {}
