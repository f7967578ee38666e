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
# Identity-card numbers (GB 11643-1999), implemented here independently of lianjian.publish.privacy.

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
    ]


def trigger_rows() -> list[dict]:
    return [
        # V003 (serious) by leadership member P003 → the party secretary P002 answers (R4 一案双查).
        dict(year=2024, unit_code="U01", trigger_type="one_case_two_investigations", assessment="none",
             subject_kind="secretary", subject_id="P002", subject_name="王五", streak_years=None, basis=Q2,
             evidence=["V003"]),
    ]


def evidence_rows() -> list[dict]:
    b = dict(year=2024, unit_code="U01")
    i = dict(b, assessment="integrity", subject_kind="person")
    r = dict(b, assessment="responsibility")
    R2 = "连云港意见 二（四）、三（四）"
    R3 = "庆城办法 第四条至第十三条；连云港意见 五"
    S = "庆城办法 第十八条；连云港意见 五"
    return [
        dict(i, subject_id="P001", component="self_score", value=90.0, record_ids=[], rule="R2.review.self", basis=R2),
        dict(i, subject_id="P001", component="peer_score", value=85.0, record_ids=["P011", "P012", "P013", "P014", "P015"], rule="R2.review.peer", basis=R2),
        dict(i, subject_id="P001", component="department_score", value=88.0, record_ids=["P004"], rule="R2.review.department", basis=R2),
        dict(i, subject_id="P001", component="deduction_talks", value=2.0, record_ids=[], rule="R2.talks.family", basis="连云港意见 二（一）"),
        dict(i, subject_id="P001", component="deduction_cases", value=1.0, record_ids=["C101"], rule="R2.cases.flawed", basis="连云港意见 三（四）"),
        dict(i, subject_id="P001", component="deduction_cases", value=5.0, record_ids=["C102"], rule="R2.cases.unqualified", basis="连云港意见 三（四）"),
        dict(i, subject_id="P001", component="deduction_violations", value=3.0, record_ids=["V001"], rule="R2.violations.criticism", basis=R2),
        dict(i, subject_id="P002", component="deduction_cases", value=5.0, record_ids=["C201"], rule="R2.cases.error", basis="连云港意见 三（四）"),
        dict(r, subject_kind="party_group", subject_id="U01", component="special_meeting", value=1.0, record_ids=["A01", "A02"], rule="R3.duty.special_meeting", basis=R3),
        dict(r, subject_kind="party_group", subject_id="U01", component="special_inspection", value=0.5, record_ids=["A03"], rule="R3.duty.special_inspection", basis=R3),
        dict(r, subject_kind="party_group", subject_id="U01", component="vote_score", value=96.0, record_ids=[], rule="R3.vote", basis=R3),
        dict(r, subject_kind="party_group", subject_id="U01", component="deduction_scope", value=2.0, record_ids=["V001"], rule="R3.scope.general", basis=S),
        dict(r, subject_kind="party_group", subject_id="U01", component="deduction_scope", value=10.0, record_ids=["V003"], rule="R3.scope.serious", basis=S),
        dict(r, subject_kind="secretary", subject_id="P002", component="interview", value=0.5, record_ids=["A10"], rule="R3.duty.interview", basis=R3),
        dict(r, subject_kind="secretary", subject_id="P002", component="deduction_scope", value=10.0, record_ids=["V003"], rule="R3.scope.serious", basis=S),
        dict(r, subject_kind="discipline_group", subject_id="U01", component="special_inspection", value=0.0, record_ids=[], rule="R3.duty.special_inspection", basis=R3),
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
    }
    return tables


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


def publish_golden(warehouse: Path, *, run_id: str = "golden", variant: int = 0, sha: str = "a" * 64, shuffle: int | None = None):
    """Publish the golden tables into ``warehouse`` (rows shuffled with ``shuffle`` as seed, if given)."""
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
