"""Shared helpers for the publishing, operations and explain tests: hand-made published tables for a
golden unit U01 (years 2023, 2024), identity-card numbers with valid check digits, and an
independent scanner for them."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import polars as pl
import pyarrow.parquet as pq

from lianjian.contract import PUBLISHED

# --------------------------------------------------------------------------------------------------
# Identity-card numbers (GB 11643-1999), implemented here independently of lianjian.privacy.

_W = [2 ** (17 - i) % 11 for i in range(17)]  # 7 9 10 5 8 4 2 1 6 3 7 9 10 5 8 4 2


def with_check_digit(first17: str) -> str:
    s = sum(int(c) * w for c, w in zip(first17, _W))
    return first17 + "10X98765432"[s % 11]


def is_id_number(s: str) -> bool:
    return len(s) == 18 and s[:17].isdigit() and with_check_digit(s[:17]) == s[:17] + s[17].upper()


def find_id_numbers(text: str) -> list[str]:
    """Every 18-character window of ``text`` that is an identity-card number with a valid check digit."""
    return [text[i : i + 18] for i in range(len(text) - 17) if is_id_number(text[i : i + 18])]


ID_A = with_check_digit("11010519491231002")  # the standard example: 11010519491231002X
ID_B = with_check_digit("44030119900307123")


def scan_tree(root: Path) -> list[tuple[str, str]]:
    """(file, number) for every identity-card number in any Parquet cell or text file under root."""
    hits = []
    for p in sorted(Path(root).rglob("*")):
        if not p.is_file() or p.name == ".lock":
            continue
        if p.suffix == ".parquet":
            text = json.dumps(pq.read_table(p).to_pylist(), ensure_ascii=False, default=str)
        else:
            text = p.read_bytes().decode("utf-8", errors="replace")
        hits += [(str(p), n) for n in find_id_numbers(text)]
    return hits


# --------------------------------------------------------------------------------------------------
# Golden published tables

RULES_VERSION = "2026.1"
Q2 = "庆城办法第二十一条；连云港意见 五（一）"


def frame(table: str, rows: list[dict]) -> pl.DataFrame:
    schema = PUBLISHED[table].schema()
    return pl.DataFrame({c: [r.get(c) for r in rows] for c in schema}, schema=schema)


def integrity_rows() -> list[dict]:
    base = dict(unit_code="U01", rules_version=RULES_VERSION)
    return [
        # P001 2024 (RULES R2): self 90; peers 70 80 85 90 95 → 5 or more: drop 95 and 70 → (80+85+90)/3 = 85;
        # department 88. review = 0.2·90 + 0.4·85 + 0.4·88 = 18 + 34 + 35.2 = 87.2.
        # Deductions: family talk missing 2; cases flawed 1 + unqualified 5 = 6; violation criticism 3.
        # total = 87.2 − 2 − 6 − 3 = 76.2 → ≥ 60 and < 80: 一般; department review signed: graded.
        dict(base, year=2024, dept_code="D01", person_id="P001", name="张三", position="prosecutor", self_score=90.0,
             peer_score=85.0, department_score=88.0, review_score=87.2, deduction_talks=2.0, deduction_cases=6.0,
             deduction_violations=3.0, total_score=76.2, grade="一般", veto=None, status="graded"),
        # P002 2024: self 95; peers 80 90 100 (fewer than 5: no trim) → 90; department 92 (unsigned).
        # review = 0.2·95 + 0.4·90 + 0.4·92 = 19 + 36 + 36.8 = 91.8; cases: one with an error_type 5.
        # total = 91.8 − 5 = 86.8 → 较好; status signoff_pending (graded all the same).
        dict(base, year=2024, dept_code=None, person_id="P002", name="王五", position="chief", self_score=95.0,
             peer_score=90.0, department_score=92.0, review_score=91.8, deduction_talks=0.0, deduction_cases=5.0,
             deduction_violations=0.0, total_score=86.8, grade="较好", veto=None, status="signoff_pending"),
        # P003 2024: veto by V003? No: V003 is serious with admonition (not vetoing): 80 − 5 = 75 → 一般.
        dict(base, year=2024, dept_code=None, person_id="P003", name="赵六", position="deputy_chief", self_score=80.0,
             peer_score=80.0, department_score=80.0, review_score=80.0, deduction_talks=0.0, deduction_cases=0.0,
             deduction_violations=5.0, total_score=75.0, grade="一般", veto=None, status="graded"),
        # P005 2024: no department review → incomplete, no total, no grade.
        dict(base, year=2024, dept_code="D01", person_id="P005", name="孙七", position="clerk", self_score=85.0,
             peer_score=None, department_score=None, review_score=85.0, deduction_talks=0.0, deduction_cases=0.0,
             deduction_violations=0.0, total_score=None, grade=None, veto=None, status="incomplete"),
        # 2023: P001 好 (95), P002 较差 by a veto (V000, party_discipline).
        dict(base, year=2023, dept_code="D01", person_id="P001", name="张三", position="prosecutor", self_score=95.0,
             peer_score=95.0, department_score=95.0, review_score=95.0, deduction_talks=0.0, deduction_cases=0.0,
             deduction_violations=0.0, total_score=95.0, grade="好", veto=None, status="graded"),
        dict(base, year=2023, dept_code=None, person_id="P002", name="王五", position="chief", self_score=90.0,
             peer_score=90.0, department_score=90.0, review_score=90.0, deduction_talks=0.0, deduction_cases=0.0,
             deduction_violations=0.0, total_score=90.0, grade="较差", veto="V000", status="graded"),
    ]


def responsibility_rows() -> list[dict]:
    base = dict(year=2024, unit_code="U01", rules_version=RULES_VERSION, veto=None, status="graded")
    return [
        # party_group: items 1, 1, 0.5, 1, 1 → duty = 100 · 4.5/5 = 90; votes 8 好 2 较好 → (800+160)/10 = 96;
        # base = 0.6·90 + 0.4·96 = 54 + 38.4 = 92.4; scope: V001 general 2 + V003 serious 10 = 12 → 80.4 较好.
        dict(base, subject_kind="party_group", subject_id="U01", subject_name="甲县人民检察院党组", duty_score=90.0,
             vote_score=96.0, deduction_scope=12.0, total_score=80.4, grade="较好"),
        # secretary P002: lecture 1, interview 0.5, heart_talk 0.75, letters 1 → 100 · 3.25/4 = 81.25;
        # votes 10/5/5/0 → (1000+400+300)/20 = 85; base = 48.75 + 34 = 82.75; scope 12 → 70.75 → 一般.
        dict(base, subject_kind="secretary", subject_id="P002", subject_name="王五", duty_score=81.25,
             vote_score=85.0, deduction_scope=12.0, total_score=70.75, grade="一般"),
        # leader P003: 0.6·70 + 0.4·80 = 74; nobody in scope → 74 → 一般.
        dict(base, subject_kind="leader", subject_id="P003", subject_name="赵六", duty_score=70.0,
             vote_score=80.0, deduction_scope=0.0, total_score=74.0, grade="一般"),
        # dept_head P004: duty 100, no votes → base 100; V001 (P001, his department) general 2 → 98 → 好.
        dict(base, subject_kind="dept_head", subject_id="P004", subject_name="钱八", duty_score=100.0,
             vote_score=None, deduction_scope=2.0, total_score=98.0, grade="好"),
        # discipline_group: (0.75 + 1 + 0)/3 = 0.58333… → 58.333…; no votes → base 58.333…; scope 12 →
        # 46.333… written 46.33 → 较差.
        dict(base, subject_kind="discipline_group", subject_id="U01", subject_name="甲县人民检察院纪检组",
             duty_score=58.33, vote_score=None, deduction_scope=12.0, total_score=46.33, grade="较差"),
        # discipline_group 2023: duty_report 1, opinion_exchange 0, special_inspection 0 → 100 · 1/3 =
        # 33.333…; no votes, nobody in scope → 33.33 较差: the second year of a streak in 2024.
        dict(base, year=2023, subject_kind="discipline_group", subject_id="U01", subject_name="甲县人民检察院纪检组",
             duty_score=33.33, vote_score=None, deduction_scope=0.0, total_score=33.33, grade="较差"),
    ]


def trigger_rows() -> list[dict]:
    return [
        # V003 (serious) by leadership member P003 → the party secretary P002 answers (R4 一案双查).
        dict(year=2024, unit_code="U01", trigger_type="one_case_two_investigations", assessment="none",
             subject_kind="secretary", subject_id="P002", subject_name="王五", streak_years=None, basis=Q2,
             evidence=["V003"]),
        # the 纪检组 is 较差 in 2023 and in 2024 (R4 连续两年较差): the assessment rows of both years.
        dict(year=2024, unit_code="U01", trigger_type="consecutive_poor", assessment="responsibility",
             subject_kind="discipline_group", subject_id="U01", subject_name="甲县人民检察院纪检组", streak_years=2,
             basis="庆城办法第二十二条第（三）项",
             evidence=["responsibility_assessment/2023/U01/discipline_group/U01",
                       "responsibility_assessment/2024/U01/discipline_group/U01"]),
    ]


R2_BASIS = "连云港意见 二（四）、三（四）"
R3_BASIS = "庆城办法 第四条至第十三条；连云港意见 五"
SCOPE_BASIS = "庆城办法 第十八条；连云港意见 五"
GRADE_SETTINGS = {"grades.good": 90.0, "grades.fairly_good": 80.0, "grades.average": 60.0, "rounding_decimals": 2.0}


def settings_rows(year: int) -> list[dict]:
    """The settings rows of a year (rules/default.yaml's values, written out by hand): those the
    subjects explained in the tests need."""
    i = dict(year=year, unit_code=None, assessment="integrity", subject_kind="person", subject_id=None, record_ids=[],
             basis=R2_BASIS)
    r = dict(year=year, unit_code=None, assessment="responsibility", subject_kind=None, subject_id=None, record_ids=[],
             basis=R3_BASIS)
    integrity = {
        ("integrity.weights.self", "R2.review"): 0.2, ("integrity.weights.peer", "R2.review"): 0.4,
        ("integrity.weights.department", "R2.review"): 0.4, ("integrity.peer_trim_from", "R2.review.peer"): 5.0,
        ("integrity.deductions.family_talk_missing", "R2.talks.family"): 2.0,
        ("integrity.deductions.cases.flawed", "R2.cases.flawed"): 1.0,
        ("integrity.deductions.cases.unqualified", "R2.cases.unqualified"): 5.0,
        ("integrity.deductions.cases.error", "R2.cases.error"): 5.0,
        ("integrity.deductions.cases.cap", "R2.cases.cap"): 20.0,
        ("integrity.deductions.violations.criticism", "R2.violations.criticism"): 3.0,
        **{(k, "R2.grade" if k.startswith("grades") else "R2.total"): v for k, v in GRADE_SETTINGS.items()},
    }
    responsibility = {
        ("responsibility.base_weights.duty", "R3.base"): 0.6, ("responsibility.base_weights.vote", "R3.base"): 0.4,
        ("responsibility.vote_points.good", "R3.vote.good"): 100.0,
        ("responsibility.vote_points.fairly_good", "R3.vote.fairly_good"): 80.0,
        ("responsibility.vote_points.average", "R3.vote.average"): 60.0,
        ("responsibility.vote_points.poor", "R3.vote.poor"): 0.0,
        ("responsibility.scope_deduction.points.general", "R3.scope.general"): 2.0,
        ("responsibility.scope_deduction.points.serious", "R3.scope.serious"): 10.0,
        ("responsibility.scope_deduction.cap", "R3.scope.cap"): 30.0,
        **{(k, "R3.grade" if k.startswith("grades") else "R3.total"): v for k, v in GRADE_SETTINGS.items()},
    }
    items = {
        "party_group": [("special_meeting", 2.0), ("work_report", 1.0), ("special_inspection", None),
                        ("special_rectification", 1.0), ("responsibility_letter", 1.0)],
        "secretary": [("lecture", 1.0), ("interview", 1.0), ("heart_talk", 1.0), ("responsibility_letter", 1.0)],
        "discipline_group": [("opinion_exchange", None), ("duty_report", 1.0), ("special_inspection", 1.0)],
    }
    rows = [dict(i, component=c, rule=rule, value=v) for (c, rule), v in integrity.items()]
    rows += [dict(r, component=c, rule=rule, value=v) for (c, rule), v in responsibility.items()]
    for kind, its in items.items():
        for item, required in its:
            path = f"responsibility.duty_items.{kind}.{item}"
            rows.append(dict(r, subject_kind=kind, component=f"{path}.weight", rule=f"R3.duty.{item}", value=1.0))
            if required is not None:
                rows.append(dict(r, subject_kind=kind, component=f"{path}.required", rule=f"R3.duty.{item}", value=required))
    return rows


def evidence_rows() -> list[dict]:
    b = dict(year=2024, unit_code="U01")
    i = dict(b, assessment="integrity", subject_kind="person", basis=R2_BASIS)
    r = dict(b, assessment="responsibility", basis=R3_BASIS)
    pg = dict(r, subject_kind="party_group", subject_id="U01")
    sec = dict(r, subject_kind="secretary", subject_id="P002")
    dg = dict(r, subject_kind="discipline_group", subject_id="U01")

    def review(pid, kind, score, reviewer=None, year=2024, trimmed=False):
        rid = "/".join(x for x in ("reviews", str(year), pid, kind, reviewer) if x)
        return dict(i, year=year, subject_id=pid, component=f"{kind}_score", value=score, record_ids=[rid],
                    rule=f"R2.review.{kind}" + (".trimmed" if trimmed else ""))

    def item(base, name, value, ids=(), missed=None):
        rows = [dict(base, component=name, value=value, record_ids=list(ids), rule=f"R3.duty.{name}")]
        if missed:
            rows.append(dict(base, component=name, value=None, record_ids=missed, rule=f"R3.duty.{name}.missed"))
        return rows

    def votes(base, good=0, fairly_good=0, average=0, poor=0):
        counts = dict(good=good, fairly_good=fairly_good, average=average, poor=poor)
        return [dict(base, component="vote_score", value=float(n), record_ids=[], rule=f"R3.vote.{k}") for k, n in counts.items()]

    def scope(base, severity, points, ids):
        return dict(base, component="deduction_scope", value=points, record_ids=ids, rule=f"R3.scope.{severity}", basis=SCOPE_BASIS)

    return [
        # P001 2024: self 90; peers P011 70, P012 80, P013 85, P014 90, P015 95 → five: 70 and 95 left out →
        # (80 + 85 + 90)/3 = 85; department 88 (signed by both).
        review("P001", "self", 90.0),
        review("P001", "peer", 70.0, "P011", trimmed=True),
        review("P001", "peer", 80.0, "P012"),
        review("P001", "peer", 85.0, "P013"),
        review("P001", "peer", 90.0, "P014"),
        review("P001", "peer", 95.0, "P015", trimmed=True),
        review("P001", "department", 88.0, "P004"),
        dict(i, subject_id="P001", component="deduction_talks", value=2.0, record_ids=["talk_obligations/2024/P001/family"],
             rule="R2.talks.family", basis="连云港意见 二（一）"),
        dict(i, subject_id="P001", component="deduction_cases", value=1.0, record_ids=["C101"], rule="R2.cases.flawed", basis="连云港意见 三（四）"),
        dict(i, subject_id="P001", component="deduction_cases", value=5.0, record_ids=["C102"], rule="R2.cases.unqualified", basis="连云港意见 三（四）"),
        dict(i, subject_id="P001", component="deduction_violations", value=3.0, record_ids=["V001"], rule="R2.violations.criticism"),
        # P002 2024: self 95; peers 80, 90, 100 (fewer than five) → 90; department 92 without a reviewer
        # id and without the supervisor's signature → signoff_pending.
        review("P002", "self", 95.0),
        *(review("P002", "peer", x, p) for x, p in ((80.0, "P021"), (90.0, "P022"), (100.0, "P023"))),
        review("P002", "department", 92.0),
        dict(i, subject_id="P002", component="status", value=None, record_ids=["reviews/2024/P002/department"],
             rule="R2.status.supervisor_unsigned"),
        dict(i, subject_id="P002", component="deduction_cases", value=5.0, record_ids=["C201"], rule="R2.cases.error", basis="连云港意见 三（四）"),
        # P002 2023: 90 throughout, vetoed by V000 (party_discipline).
        review("P002", "self", 90.0, year=2023),
        review("P002", "peer", 90.0, "P021", year=2023),
        review("P002", "department", 90.0, "P004", year=2023),
        dict(i, year=2023, subject_id="P002", component="veto", value=None, record_ids=["V000"], rule="R2.veto",
             basis="连云港意见 二（四）"),
        # the 党组 2024
        *item(pg, "special_meeting", 1.0, ["A01", "A02"]),
        *item(pg, "work_report", 1.0, ["A04"]),
        *item(pg, "special_inspection", 0.5, ["A03"]),
        *item(pg, "special_rectification", 1.0, ["A05"]),
        *item(pg, "responsibility_letter", 1.0, ["A06"]),
        *votes(pg, good=8, fairly_good=2),
        scope(pg, "general", 2.0, ["V001"]),
        scope(pg, "serious", 10.0, ["V003"]),
        # the secretary P002 2024: interview over P003, P006 (P003 missed); heart talk over P003, P004,
        # P006, P007 (P007 missed)
        *item(sec, "lecture", 1.0, ["A07"]),
        *item(sec, "interview", 0.5, ["A10"], missed=["P003"]),
        *item(sec, "heart_talk", 0.75, ["A11", "A12", "A13"], missed=["P007"]),
        *item(sec, "responsibility_letter", 1.0, ["A14", "A15"]),
        *votes(sec, good=10, fairly_good=5, average=5),
        scope(sec, "general", 2.0, ["V001"]),
        scope(sec, "serious", 10.0, ["V003"]),
        # the 纪检组 2024: opinion exchange with P002 both halves, P003 one → 3/4; duty report; no
        # special inspection
        *item(dg, "opinion_exchange", 0.75, ["A20", "A21", "A22"], missed=["P003"]),
        *item(dg, "duty_report", 1.0, ["A23"]),
        *item(dg, "special_inspection", 0.0),
        scope(dg, "general", 2.0, ["V001"]),
        scope(dg, "serious", 10.0, ["V003"]),
        # the 纪检组 2023: duty report only
        *item(dict(dg, year=2023), "opinion_exchange", 0.0, missed=["P002", "P003"]),
        *item(dict(dg, year=2023), "duty_report", 1.0, ["A30"]),
        *item(dict(dg, year=2023), "special_inspection", 0.0),
        *settings_rows(2023),
        *settings_rows(2024),
    ]


def golden_tables(variant: int = 0) -> dict[str, pl.DataFrame]:
    """Every published table by hand. ``variant`` 1 changes one score (a changed input)."""
    integ = integrity_rows()
    if variant:
        integ[0] = dict(integ[0], self_score=91.0)
    tables = {
        "integrity_assessment": frame("integrity_assessment", integ),
        "responsibility_assessment": frame("responsibility_assessment", responsibility_rows()),
        "accountability_triggers": frame("accountability_triggers", trigger_rows()),
        "assessment_evidence": frame("assessment_evidence", evidence_rows()),
        "talk_obligations": frame("talk_obligations", [
            dict(year=2024, unit_code="U01", dept_code="D01", person_id="P001", obligation="family", event_id=None,
                 responsible_id="P001", due_from=dt.date(2024, 1, 1), due_to=dt.date(2024, 12, 31), fulfilled=False, talk_id=None),
            dict(year=2024, unit_code="U01", dept_code="D01", person_id="P001", obligation="department_h1", event_id=None,
                 responsible_id="P004", due_from=dt.date(2024, 1, 1), due_to=dt.date(2024, 6, 30), fulfilled=True, talk_id="T01"),
        ]),
        "case_quality": frame("case_quality", [
            dict(year=2024, unit_code="U01", person_id="P001", category="public_prosecution", cases_closed=3, major_cases=1,
                 rated=2, excellent=0, qualified=0, flawed=1, unqualified=1, errors=0, special_cases=1, special_unverified=1),
        ]),
        "leader_case_handling": frame("leader_case_handling", [
            dict(year=2024, unit_code="U01", quota_leaders=3, leaders_handling=2, chiefs_on_major=1, leader_cases=7,
                 leader_major_cases=2, implemented=False),
            dict(year=2023, unit_code="U01", quota_leaders=3, leaders_handling=3, chiefs_on_major=2, leader_cases=9,
                 leader_major_cases=3, implemented=True),
        ]),
        "major_matter_report_stats": frame("major_matter_report_stats", [
            # 3 reports / 20 staff × 100 = 15.
            dict(year=2024, unit_code="U01", staff=20, reports=3, leader_reports=1, per_hundred_staff=15.0,
                 zero_report=False, reports_prev_year=2, reports_two_years_ago=0),
        ]),
        "major_matter_report_monthly": frame("major_matter_report_monthly", [
            # January: 1 report / 20 staff × 100 = 5.00; February none → 1 month without; 1 peer.
            dict(year=2024, month=1, unit_code="U01", staff=20, reports=1, leader_reports=1, reports_to_date=1,
                 per_hundred_staff_to_date=5.0, rank=1, peers=1, months_without_report=0, low_report=False),
            dict(year=2024, month=2, unit_code="U01", staff=20, reports=0, leader_reports=0, reports_to_date=1,
                 per_hundred_staff_to_date=5.0, rank=1, peers=1, months_without_report=1, low_report=False),
        ]),
        "rejected_records": frame("rejected_records", [
            dict(source="personnel", file="personnel.csv", row_number=7, reasons=["status: unknown value"],
                 raw=json.dumps({"person_id": "P099", "id_number": "***", "status": "x"}, ensure_ascii=False)),
            dict(source="cases", file="cases/2024-01.xlsx", row_number=3, reasons=["closed_date: before accepted_date"],
                 raw=json.dumps({"case_id": "=C9", "note": "联系人 " + ID_B}, ensure_ascii=False)),  # unmasked on purpose
        ]),
        # dimensions: the unit tree 某省 → 某市 → 甲县 (U01), and U01's department D01 in both years
        "units": frame("units", units_rows()),
        "departments": frame("departments", [
            dict(year=2023, unit_code="U01", dept_code="D01", dept_name="第一检察部"),
            dict(year=2024, unit_code="U01", dept_code="D01", dept_name="第一检察部"),
        ]),
    }
    return tables


def units_rows() -> list[dict]:
    """The published ``units`` rows of the golden tree, written out by hand (path from the top down)."""
    p, c, u = "某省人民检察院", "某市人民检察院", "甲县人民检察院"
    top = dict(province_code="P1", province_name=p)
    return [
        dict(unit_code="P1", unit_name=p, level="province", parent_code=None, parent_name=None, **top,
             city_code=None, city_name=None, county_code=None, county_name=None, depth=0, path=p),
        dict(unit_code="C1", unit_name=c, level="city", parent_code="P1", parent_name=p, **top,
             city_code="C1", city_name=c, county_code=None, county_name=None, depth=1, path=f"{p} / {c}"),
        dict(unit_code="U01", unit_name=u, level="county", parent_code="C1", parent_name=c, **top,
             city_code="C1", city_name=c, county_code="U01", county_name=u, depth=2, path=f"{p} / {c} / {u}"),
    ]
#: The review leads of the golden unit (a restricted output): their markers must never reach a
#: BI-readable file.
LEAD_MARKERS = ("review_leads", "线索核查", "unqualified_case")


def golden_leads(variant: int = 0) -> pl.DataFrame:
    """The golden unit's review leads; ``variant`` 1 (a changed input) adds P003's violation."""
    from lianjian.contract import RESTRICTED

    schema = RESTRICTED["review_leads"].schema()
    rows = [
        # P001 2024: V001 (criticism), the flawed C101 and the unqualified C102; no "三个规定" report in 2024.
        dict(year=2024, unit_code="U01", dept_code="D01", person_id="P001", name="张三",
             reasons=["violation", "unqualified_case", "flawed_case"], record_ids=["C101", "C102", "V001"], rules_version=RULES_VERSION),
    ]
    if variant:
        rows.append(dict(year=2024, unit_code="U01", dept_code=None, person_id="P003", name="赵六", reasons=["violation"],
                         record_ids=["V003"], rules_version=RULES_VERSION))
    return pl.DataFrame({c: [r.get(c) for r in rows] for c in schema}, schema=schema)


def ingest_report(sha: str = "a" * 64) -> pl.DataFrame:
    return pl.DataFrame(
        {
            "source": ["personnel", "cases"],
            "file": ["personnel.csv", "cases/2024-01.xlsx"],
            "sha256": [sha, "b" * 64],
            "rows_read": [10, 5],
            "rows_accepted": [8, 4],
            "rows_rejected": [1, 1],
            "rows_duplicate": [1, 0],
        },
        schema={"source": pl.String, "file": pl.String, "sha256": pl.String, "rows_read": pl.Int64,
                "rows_accepted": pl.Int64, "rows_rejected": pl.Int64, "rows_duplicate": pl.Int64},
    )


def publish_golden(warehouse: Path, *, run_id: str = "golden", variant: int = 0, sha: str = "a" * 64, shuffle: int | None = None, **options):
    """Publish the golden tables into ``warehouse`` (rows shuffled with ``shuffle`` as seed, if given;
    ``options``: more arguments of ``publish_tables``)."""
    from lianjian.publish.publish import publish_tables

    tables = golden_tables(variant)
    if shuffle is not None:
        tables = {k: v.sample(fraction=1.0, shuffle=True, seed=shuffle) for k, v in tables.items()}
    return publish_tables(
        warehouse,
        tables,
        ingest_report=ingest_report(sha),
        run_id=run_id,
        rules_version=RULES_VERSION,
        rules_sha256="c" * 64,
        code_version_="test",
        restricted={"review_leads": golden_leads(variant)},
        **options,
    )


def parquet_bytes(warehouse: Path, folder: str = "published") -> dict[str, bytes]:
    """Every Parquet file under ``published/`` (or ``restricted/``, whose tables are links), path -> bytes."""
    root = Path(warehouse) / folder
    if not root.is_dir():
        return {}
    out = {}
    for top in sorted(root.iterdir()):
        files = [top] if top.is_file() else sorted(top.rglob("*.parquet"))
        out.update({p.relative_to(root).as_posix(): p.read_bytes() for p in files if p.suffix == ".parquet"})
    return out
