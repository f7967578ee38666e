"""R10 review leads and R5 leader case handling read fewer cases, with the same rows
(docs/performance.md, "Review leads and leader case handling for less"):

- R10 keeps only the closed cases behind one of its case reasons (rated unqualified or flawed, an
  error, a public complaint) before the four reasons read them, and compares the rating as the
  enumeration it is staged as: no cast of every closed case's rating to text, and the frame the
  four reasons share is that of the few cases behind a reason, not of every closed case;
- R5 collects the quota leaders first and filters the cases on their handler in the scan, so that
  the ids of the cases no quota leader handled are not read.

The rows are pinned down by the golden cases (tests/test_r10_leads.py, tests/test_r5_r6_cases.py);
here each change is checked where it is made, on staged Parquet files as the steps read them, and
its rows compared with the former plan's.
"""

from __future__ import annotations

from pathlib import Path

import polars as pl
from support_scoring import cases, default_rules, departments, reports, roster, violations

from lianjian.scoring.cases import leader_case_handling
from lianjian.scoring.leads import lead_facts, review_leads

CLOSED = "2024-06-30"
CASES = [
    {"case_id": "K1", "handler_id": "B", "closed_date": CLOSED, "quality_rating": "unqualified"},
    {"case_id": "K2", "handler_id": "B", "closed_date": CLOSED, "quality_rating": "flawed"},
    {"case_id": "K3", "handler_id": "C", "closed_date": CLOSED, "quality_rating": "qualified", "error_type": "wrong_arrest"},
    {"case_id": "K4", "handler_id": "C", "closed_date": CLOSED, "quality_rating": "excellent", "public_complaint": True},
    # behind no reason: rated well, no error, no complaint; or not rated at all; or still open
    {"case_id": "K5", "handler_id": "B", "closed_date": CLOSED, "quality_rating": "excellent"},
    {"case_id": "K6", "handler_id": "C", "closed_date": CLOSED},
    {"case_id": "K7", "handler_id": "B", "quality_rating": "unqualified"},
]


def _parquet(tmp_path: Path, name: str, frame: pl.LazyFrame) -> pl.LazyFrame:
    path = tmp_path / f"{name}.parquet"
    frame.collect().write_parquet(path)
    return pl.scan_parquet(path)


def _cases_scan(plan: str) -> str:
    """The lines of the cases scan in an ``explain()``: the scan and its pushed-down selection."""
    lines = plan.splitlines()
    at = next(i for i, line in enumerate(lines) if "cases.parquet" in line)
    return "\n".join(lines[at : at + 4])


def test_review_leads_read_only_the_cases_behind_a_reason(tmp_path):
    """K1 unqualified, K2 flawed, K3 an error, K4 a complaint; K5 (excellent), K6 (not rated) and K7
    (open) are behind no reason. The scan of the cases selects the cases behind a reason (error_type,
    public_complaint, the ratings) — before, it selected every closed case and cast each one's
    rating to text — and the facts are the four cases' own."""
    staged = _parquet(tmp_path, "cases", cases(CASES))
    no_violations = violations([]).filter(pl.lit(False))
    plan = lead_facts(staged, no_violations).explain()
    assert 'col("quality_rating").strict_cast(String)' not in plan
    scan = _cases_scan(plan)
    assert "SELECTION" in scan and "error_type" in scan and "public_complaint" in scan, scan
    facts = lead_facts(staged, no_violations).sort("record_id", "reason").collect()
    assert facts.select("year", "person_id", "reason", "record_id").rows() == [
        (2024, "B", "unqualified_case", "K1"),
        (2024, "B", "flawed_case", "K2"),
        (2024, "C", "case_error", "K3"),
        (2024, "C", "public_complaint", "K4"),
    ]
    people = roster([{"person_id": "B"}, {"person_id": "C"}])
    leads = review_leads(people, reports([]), staged, no_violations, default_rules()).collect()
    assert leads.select("person_id", "reasons", "record_ids").rows() == [
        ("B", ["unqualified_case", "flawed_case"], ["K1", "K2"]),
        ("C", ["case_error", "public_complaint"], ["K3", "K4"]),
    ]


def _former_leader_cases(people: pl.LazyFrame, depts: pl.LazyFrame, staged: pl.LazyFrame) -> pl.DataFrame:
    """R5 as it was computed before: every case joined to the quota leaders."""
    import lianjian.scoring.cases as module

    leaders = module.quota_leaders(people, depts)
    handled = (
        leaders.select("year", "person_id")
        .join(staged.select(pl.col("handler_id").alias("person_id"), "case_id", "accepted_date", "closed_date"), on="person_id")
        .filter(module.cases_handled_in())
    )
    return handled.select("year", "person_id", "case_id").sort("case_id").collect()


def test_leader_case_handling_filters_the_cases_on_the_quota_leaders_in_the_scan(tmp_path):
    """L (deputy chief, quota) handled K1 and K2, H (head of D1, quota) K3; P (prosecutor, not a
    leader) K4 and K5. The scan of the cases selects the leaders' cases by handler (before, every
    case went into the join); the counts are those of the former plan: U1 in 2024, 2 quota leaders
    both handling, 3 leader cases (K1, K2, K3)."""
    people = roster(
        [
            {"person_id": "L", "position": "deputy_chief", "is_quota": True},
            {"person_id": "H", "position": "prosecutor", "is_quota": True, "dept_code": "D1"},
            {"person_id": "P", "position": "prosecutor", "is_quota": True, "dept_code": "D1"},
        ]
    )
    depts = departments([{"dept_code": "D1", "head_id": "H"}])
    staged = _parquet(
        tmp_path,
        "cases",
        cases(
            [
                {"case_id": "K1", "handler_id": "L", "closed_date": CLOSED},
                {"case_id": "K2", "handler_id": "L"},
                {"case_id": "K3", "handler_id": "H", "closed_date": CLOSED},
                {"case_id": "K4", "handler_id": "P", "closed_date": CLOSED},
                {"case_id": "K5", "handler_id": "P"},
            ]
        ),
    )
    plan = leader_case_handling(people, depts, staged, default_rules())
    scan = _cases_scan(plan.explain())
    assert "SELECTION" in scan and 'col("handler_id").is_in' in scan, scan
    got = plan.collect()
    assert got.select("year", "unit_code", "quota_leaders", "leaders_handling", "leader_cases").rows() == [
        (2024, "U1", 2, 2, 3)
    ]
    assert _former_leader_cases(people, depts, staged).get_column("case_id").to_list() == ["K1", "K2", "K3"]
