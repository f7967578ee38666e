"""A small hand-made warehouse for the report tests: staged units and personnel, and the published
tables as the publisher writes them (hive-partitioned by year). Every number the tests expect is
worked out by hand from these rows (see the comments in test_report.py)."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import polars as pl

from lianjian.contract import PUBLISHED, SOURCES

V = "2026.1"
FORMULA_NAME = '=HYPERLINK("http://example.invalid","点我")'

UNITS = [
    {"unit_code": "PRV", "unit_name": "某省人民检察院", "level": "province", "parent_code": None},
    {"unit_code": "CITY", "unit_name": "某市人民检察院", "level": "city", "parent_code": "PRV"},
    {"unit_code": "CTY1", "unit_name": "甲县人民检察院", "level": "county", "parent_code": "CITY"},
    {"unit_code": "CTY2", "unit_name": "乙县人民检察院", "level": "county", "parent_code": "CITY"},
]

PEOPLE = [  # (person_id, name, unit, position)
    ("p1", "张三", "CTY1", "chief"),
    ("p2", "李四", "CTY1", "deputy_chief"),
    ("p3", FORMULA_NAME, "CTY1", "prosecutor"),
    ("p4", "王五", "CTY1", "prosecutor"),
    ("p5", "赵六", "CTY1", "clerk"),
    ("q1", "钱七", "CTY2", "chief"),
    ("q2", "孙八", "CTY2", "prosecutor"),
    ("c1", "周九", "CITY", "chief"),
]


def frame(table: str, rows: list[dict]) -> pl.DataFrame:
    schema = PUBLISHED[table].schema()
    return pl.DataFrame({c: [r.get(c) for r in rows] for c in schema}, schema=schema)


def ia(year, pid, grade, total, status="graded", veto=None, dept="D1"):
    _, name, unit, position = next(p for p in PEOPLE if p[0] == pid)
    return dict(
        year=year, unit_code=unit, dept_code=dept, person_id=pid, name=name, position=position,
        self_score=total, peer_score=total, department_score=total, review_score=total,
        deduction_talks=0.0, deduction_cases=0.0, deduction_violations=0.0,
        total_score=total, grade=grade, veto=veto, status=status, rules_version=V,
    )


def integrity_rows() -> list[dict]:
    return [
        # CTY1 2024: 好 1, 较好 1, 一般 1, 较差 1, 未评定 1 (incomplete) -> 5 people
        ia(2024, "p1", "好", 92.5),
        ia(2024, "p2", "较好", 85.0),
        ia(2024, "p3", "一般", 70.0),
        ia(2024, "p4", "较差", 55.0),
        ia(2024, "p5", None, None, status="incomplete"),
        # CTY2 2024: 好 1, 较差 1 (by veto V9)
        ia(2024, "q1", "好", 95.0),
        ia(2024, "q2", "较差", 88.0, veto="V9"),
        # CITY 2024: 较好 1
        ia(2024, "c1", "较好", 81.0, dept=None),
        # 2023: 王五 already 较差
        ia(2023, "p4", "较差", 58.0),
        ia(2023, "p1", "好", 91.0),
    ]


def ra(year, unit, kind, sid, name, grade, total):
    return dict(
        year=year, unit_code=unit, subject_kind=kind, subject_id=sid, subject_name=name, duty_score=total,
        vote_score=total, deduction_scope=0.0, total_score=total, grade=grade, veto=None,
        status="graded" if grade else "incomplete", rules_version=V,
    )


def responsibility_rows() -> list[dict]:
    return [
        ra(2024, "CTY1", "party_group", "CTY1", "甲县人民检察院党组", "好", 95.0),
        ra(2024, "CTY1", "secretary", "p1", "张三", "较好", 82.0),
        ra(2024, "CTY1", "leader", "p2", "李四", "较差", 50.0),
        ra(2024, "CTY1", "discipline_group", "CTY1", "甲县人民检察院纪检组", "一般", 65.0),
    ]


def trigger_rows() -> list[dict]:
    return [
        dict(year=2024, unit_code="CTY1", trigger_type="consecutive_poor", assessment="integrity",
             subject_kind="person", subject_id="p4", subject_name="王五", streak_years=2,
             basis="连云港意见 二（四）",
             evidence=["integrity_assessment/2023/p4", "integrity_assessment/2024/p4"]),
        dict(year=2024, unit_code="CTY2", trigger_type="one_case_two_investigations", assessment="none",
             subject_kind="secretary", subject_id="q1", subject_name="钱七", streak_years=None,
             basis="庆城办法第二十一条；连云港意见 五（一）", evidence=["V9"]),
    ]


def obligation_rows() -> list[dict]:
    def ob(pid, kind, resp, fulfilled, talk=None, event=None, frm=date(2024, 1, 1), to=date(2024, 12, 31)):
        return dict(year=2024, unit_code="CTY1", dept_code="D1", person_id=pid, obligation=kind, event_id=event,
                    responsible_id=resp, due_from=frm, due_to=to, fulfilled=fulfilled, talk_id=talk)

    return [
        ob("p1", "family", "p1", True, talk="T1"),
        ob("p2", "family", "p2", False),
        ob("p3", "department_h1", "p2", True, talk="T2", to=date(2024, 6, 30)),
        ob("p3", "department_h2", "p2", False, frm=date(2024, 7, 1)),
        ob("p4", "must_talk", None, False, event="E1", frm=date(2024, 3, 1), to=date(2024, 3, 31)),
    ]


def case_rows() -> list[dict]:
    base = dict(year=2024, unit_code="CTY1")
    return [
        base | dict(person_id="p1", category="public_prosecution", cases_closed=10, major_cases=2, rated=8,
                    excellent=3, qualified=3, flawed=1, unqualified=1, errors=1, special_cases=2, special_unverified=1),
        base | dict(person_id="p2", category="self_investigation", cases_closed=4, major_cases=1, rated=4,
                    excellent=1, qualified=3, flawed=0, unqualified=0, errors=0, special_cases=1, special_unverified=0),
    ]


def leader_rows() -> list[dict]:
    return [dict(year=2024, unit_code="CTY1", quota_leaders=3, leaders_handling=2, chiefs_on_major=1,
                 leader_cases=5, leader_major_cases=1, implemented=False)]


def mm(year, unit, staff, reports):
    return dict(year=year, unit_code=unit, staff=staff, reports=reports, leader_reports=min(reports, 1),
                per_hundred_staff=round(reports / staff * 100, 2), zero_report=reports == 0,
                reports_prev_year=0, reports_two_years_ago=0)


def major_matter_rows() -> list[dict]:
    return [
        mm(2022, "CTY1", 50, 1),   # 2.0
        mm(2023, "CTY1", 50, 0),   # 0.0, zero report
        mm(2024, "CTY1", 40, 3),   # 7.5
        mm(2023, "CTY2", 20, 2),   # 10.0
        mm(2024, "CTY2", 20, 0),   # 0.0, zero report
        mm(2024, "CITY", 10, 1),   # 10.0
    ]


def rejected_rows() -> list[dict]:
    """Rejected rows as read (headers as in the file): four belong to CTY1 in 2024 — by unit code
    (Chinese headers, English headers) or by the person's unit that year (talks) — two to no unit."""
    return [
        dict(source="personnel", file="personnel.csv", row_number=3, reasons=["id_number: invalid check digit"],
             raw=json.dumps({"年度": "2024", "工号": "p9", "单位编码": "CTY1", "身份证号": "***"}, ensure_ascii=False)),
        dict(source="personnel", file="personnel.csv", row_number=7, reasons=["unit_code: unknown"], raw="{}"),
        dict(source="cases", file="cases/2024-01.csv", row_number=2, reasons=["closed_date: before accepted_date"],
             raw=json.dumps({"case_id": "K9", "unit_code": "CTY1", "closed_date": "2024-02-01", "accepted_date": "2024-03-01"})),
        dict(source="talks", file="talks.csv", row_number=4, reasons=["talk_type: unknown code"],
             raw=json.dumps({"谈话编号": "T9", "谈话日期": "2024年5月1日", "谈话对象工号": "p2"}, ensure_ascii=False)),
        dict(source="talks", file="talks.csv", row_number=5, reasons=["interviewee_id: no such person"],
             raw=json.dumps({"talk_id": "T8", "talk_date": "2024-05-02", "interviewee_id": "zz"})),
    ]


#: Staged (accepted) rows the data-quality section counts: cases by unit and closing year, talks by
#: the interviewee's unit that year.
STAGED_CASES = [("K1", "CTY1", date(2024, 3, 1)), ("K2", "CTY1", date(2024, 6, 1)), ("K3", "CTY1", date(2024, 9, 1)),
                ("K4", "CTY1", date(2023, 9, 1)), ("K5", "CTY2", date(2024, 1, 9))]
STAGED_TALKS = [("T1", "p1", date(2024, 2, 1)), ("T2", "p1", date(2024, 8, 1)), ("T3", "q1", date(2024, 4, 1))]


TABLES = {
    "integrity_assessment": integrity_rows,
    "responsibility_assessment": responsibility_rows,
    "accountability_triggers": trigger_rows,
    "talk_obligations": obligation_rows,
    "case_quality": case_rows,
    "leader_case_handling": leader_rows,
    "major_matter_report_stats": major_matter_rows,
    "rejected_records": rejected_rows,
}


def write_published(warehouse: Path, name: str, df: pl.DataFrame) -> None:
    """One table as the publish step lays it out (hive convention: ``year`` only in the folder names)."""
    folder = warehouse / "published" / name
    folder.mkdir(parents=True, exist_ok=True)
    if PUBLISHED[name].yearly:
        for (year,), part in df.partition_by("year", as_dict=True, include_key=False).items():
            (folder / f"year={year}").mkdir(exist_ok=True)
            part.write_parquet(folder / f"year={year}" / "part-0.parquet")
    else:
        df.write_parquet(folder / "part-0.parquet")


def make_warehouse(root: Path, *, data_docs: bool = True) -> Path:
    """Write the fixture warehouse under ``root`` and return it."""
    wh = root / "warehouse"
    (wh / "staged").mkdir(parents=True, exist_ok=True)
    SOURCES["units"].staged_frame(UNITS).write_parquet(wh / "staged" / "units.parquet")
    roster = [
        {"year": y, "person_id": pid, "name": name, "unit_code": unit, "dept_code": None, "position": pos,
         "is_party_secretary": False, "is_quota": True, "status": "active"}
        for y in (2022, 2023, 2024) for pid, name, unit, pos in PEOPLE
    ]
    SOURCES["personnel"].staged_frame(roster).write_parquet(wh / "staged" / "personnel.parquet")
    SOURCES["departments"].staged_frame(
        [{"year": 2024, "unit_code": "CTY1", "dept_code": "D1", "dept_name": "第一检察部"}]
    ).write_parquet(wh / "staged" / "departments.parquet")
    SOURCES["cases"].staged_frame(
        [{"case_id": c, "unit_code": u, "closed_date": d, "accepted_date": d, "handler_id": "p1", "category": "public_prosecution"} for c, u, d in STAGED_CASES]
    ).write_parquet(wh / "staged" / "cases.parquet")
    SOURCES["talks"].staged_frame(
        [{"talk_id": t, "interviewee_id": p, "talk_date": d, "talk_type": "family", "interviewer_id": "p1"} for t, p, d in STAGED_TALKS]
    ).write_parquet(wh / "staged" / "talks.parquet")
    for name, rows in TABLES.items():
        write_published(wh, name, frame(name, rows()))
    manifest = {
        "run_id": "test",
        "inputs": [
            {"source": "personnel", "file": "personnel.csv", "sha256": "0", "rows_read": 30, "rows_accepted": 27, "rows_rejected": 2, "rows_duplicate": 1},
            {"source": "cases", "file": "cases/2024-01.csv", "sha256": "0", "rows_read": 20, "rows_accepted": 19, "rows_rejected": 1, "rows_duplicate": 0},
            {"source": "cases", "file": "cases/2024-02.csv", "sha256": "0", "rows_read": 5, "rows_accepted": 5, "rows_rejected": 0, "rows_duplicate": 0},
            {"source": "talks", "file": "talks.csv", "sha256": "0", "rows_read": 5, "rows_accepted": 3, "rows_rejected": 2, "rows_duplicate": 0},
        ],
        "outputs": [],
    }
    (wh / "published" / "_manifest.json").write_text(json.dumps(manifest, ensure_ascii=False), encoding="utf-8")
    if data_docs:
        (wh / "reports" / "data_docs").mkdir(parents=True, exist_ok=True)
        (wh / "reports" / "data_docs" / "index.html").write_text("<html></html>", encoding="utf-8")
    return wh


def tree_bytes(root: Path) -> dict[str, bytes]:
    """Every file under ``root`` (relative path -> content), to compare two runs byte for byte."""
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}
