"""A landing zone worked out by hand (tests/fixtures/hand_zone/, CSV), run through `lianjian run`
(``lianjian.runner.run_pipeline``: both Dagster runs, staging to publishing): every published R1–R4
value of it is asserted, one by one, with the arithmetic below (docs/rules.md, default rules file).
With the peer trim or the case cap removed, or any of R1–R4 computed otherwise, this fails.

The zone — unit U1 (手算检察院), 2023 and 2024, the same six people both years:
C1 chief and party secretary · D1 deputy chief supervising department A · K1 discipline head ·
H1 head of A · S1 and S2 prosecutors in A. 2023 holds nothing but the roster and S1's serious
violation V23 (admonition, decided 2023-05-10); S1's serious violation V24 (written review) is decided
2024-05-10. S2 is promoted 2024-09-10 (E1), H1 rewarded 2024-04-01 (E2).

R1 2024 (15 obligations): family for all six — C1 none, D1 T4 (1 January), H1 T3 (31 December),
K1 none, S1 T1, S2's T2 not signed by the family → no. S1: department H1 by T5 on 30 June (last day
of the first half), H2 by T6 on 1 July; supervisor D1 by T8. S2: department talk T7 has no witness →
H1 and H2 not held; supervisor not held; must-talk E1 (promotion: [08-11, 10-10]) by T10 on 10
October (last day), responsible H1. H1 (heads A): supervisor D1 by T9; must-talk E2 (reward:
[03-02, 05-01]) not held, responsible D1 (H1 heads A → A's supervisor). 2023: 13 obligations (family
6, department 4, supervisor 3), none held.

R2 2024 (weights self 0.2 / peer 0.4 / department 0.4, renormalized; family 2; cases 1/5/5 cap 20):
  C1  self 95, dept 92: (19 + 36.8)/0.6 = 93.00; family −2 → 91.00 好
  D1  self 90, dept 85: (18 + 34)/0.6 = 86.666… → 86.67 较好
  K1  dept 82 → 82; family −2 → 80.00 较好 (exactly the threshold)
  H1  self 100, dept 100 → 100; cases K1–K3 unqualified with an error: 3 × (5 + 5) = 30 → cap 20
      → 80.00 较好 (without the cap: 70.00 一般)
  S1  self 90, dept 90 → 90; written review −3 → 87.00 较好
  S2  self 70; peers 50, 80, 85, 90, 100 → five: drop 50 and 100 → (80 + 85 + 90)/3 = 85 (without
      the trim: 81); dept 80 not signed by the supervisor → signoff_pending;
      0.2·70 + 0.4·85 + 0.4·80 = 14 + 34 + 32 = 80.00; family −2 → 78.00 一般 (untrimmed: 76.40)
  2023: no review → incomplete, no total; family −2 each; S1 admonition −5.

R3 2024 (base 0.6 duty + 0.4 vote; votes 100/80/60/0; scope serious 10; V24 is in every scope):
  党组 U1: special_meeting 2/2 = 1 · work_report 1 · special_inspection 15 Jan and 30 June, both the
      first half → 1/2 · special_rectification 0 · responsibility_letter 1 → 3.5/5 = 70.00;
      votes 10, 5, 3, 2 → (1000 + 400 + 180)/20 = 79.00; 0.6·70 + 0.4·79 = 73.60; −10 → 63.60 一般
  secretary C1: lecture 1 · interview D1, K1 → 1 · heart_talk {D1, K1, H1} H1 only → 1/3 ·
      responsibility_letter {D1, K1} D1 only → 1/2 → 2.8333…/4 = 70.83; votes 6, 3, 1, 0 → 900/10 =
      90.00; 0.6·70.8333… + 36 = 78.50; −10 → 68.50 一般
  leader D1: report_hearing on A 31 March, 1 April, 30 September → Q1, Q2, Q3 → 3/4 ·
      integrity_talk H1 31 December → 1/4 · lecture 1 · responsibility_letter H1 1 · talk obligations
      (H1 supervisor ✓, S1 supervisor ✓, S2 supervisor ✗, H1 must-talk E2 ✗) 2/4 → 3.5/5 = 70.00;
      votes 2, 4, 6, 8 → (200 + 320 + 360)/20 = 44.00; 42 + 17.6 = 59.60; −10 → 49.60 较差
  dept_head H1: talk obligations (S1 H1 ✓, H2 ✓; S2 H1 ✗, H2 ✗, must-talk E1 ✓) 3/5 ·
      commitment_letter {S1, S2} S1 only → 1/2; no special case → left out → 1.1/2 = 55.00; no votes
      → base 55; −10 → 45.00 较差
  纪检组 U1: opinion_exchange {C1, D1}: C1 on 30 June (H1) and 1 July (H2) → 1, D1 → 0 → 1/2 ·
      duty_report 1 · special_inspection 0 → 1.5/3 = 50.00; votes 0, 1, 2, 1 → 200/4 = 50.00; 50;
      −10 → 40.00 较差
  2023: no activity, no vote: every item 0 → duty 0; −10 (V23) → kept at 0.00 → 较差, all five.

R4: 连续两年较差 in 2024 (较差 in 2023 and 2024): D1 (leader), H1 (dept_head), the 纪检组 — streak 2;
下一年度内又发生 in 2024: C1 (secretary, unit-wide), D1 (supervises A), H1 (heads A) — V23, V24;
一案双查: V23 in 2023 and V24 in 2024, staff S1 of A → H1 (dept_head) and D1 (leader), A naming no
branch secretary. 10 rows.
"""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path

import polars as pl
import pytest

ROOT = Path(__file__).resolve().parents[1]
ZONE = Path(__file__).resolve().parent / "fixtures" / "hand_zone"
RULES = ROOT / "rules" / "default.yaml"


@pytest.fixture(scope="module")
def published(tmp_path_factory):
    import dagster as dg

    from lianjian.runner import run_pipeline

    tmp = tmp_path_factory.mktemp("hand_zone")
    shutil.copytree(ZONE, tmp / "landing")
    outcome = run_pipeline(tmp / "landing", tmp / "warehouse", RULES, progress=False,
                           instance=dg.DagsterInstance.ephemeral())
    assert outcome.success, outcome.failure
    assert outcome.failed_checks == []
    root = tmp / "warehouse" / "published"

    def read(table: str) -> pl.DataFrame:
        return pl.read_parquet(str(root / table / "**" / "*.parquet"), hive_partitioning=True)

    assert read("rejected_records").height == 0
    return read


def d(text: str) -> dt.date:
    return dt.date.fromisoformat(text)


def test_r1_talk_obligations(published):
    rows = published("talk_obligations")
    got = {(r["person_id"], r["obligation"], r["event_id"]): (r["responsible_id"], r["due_from"], r["due_to"], r["talk_id"],
                                                            r["fulfilled"])
           for r in rows.filter(pl.col("year") == 2024).to_dicts()}
    year, h1, h2 = (d("2024-01-01"), d("2024-12-31")), (d("2024-01-01"), d("2024-06-30")), (d("2024-07-01"), d("2024-12-31"))
    assert got == {
        ("C1", "family", None): ("C1", *year, None, False),
        ("D1", "family", None): ("D1", *year, "T4", True),
        ("H1", "family", None): ("H1", *year, "T3", True),
        ("H1", "must_talk", "E2"): ("D1", d("2024-03-02"), d("2024-05-01"), None, False),
        ("H1", "supervisor", None): ("D1", *year, "T9", True),
        ("K1", "family", None): ("K1", *year, None, False),
        ("S1", "department_h1", None): ("H1", *h1, "T5", True),
        ("S1", "department_h2", None): ("H1", *h2, "T6", True),
        ("S1", "family", None): ("S1", *year, "T1", True),
        ("S1", "supervisor", None): ("D1", *year, "T8", True),
        ("S2", "department_h1", None): ("H1", *h1, None, False),
        ("S2", "department_h2", None): ("H1", *h2, None, False),
        ("S2", "family", None): ("S2", *year, None, False),
        ("S2", "must_talk", "E1"): ("H1", d("2024-08-11"), d("2024-10-10"), "T10", True),
        ("S2", "supervisor", None): ("D1", *year, None, False),
    }
    y2023 = rows.filter(pl.col("year") == 2023)
    assert (y2023.height, y2023["fulfilled"].any()) == (13, False)
    assert sorted(y2023.group_by("obligation").len().rows()) == [
        ("department_h1", 2), ("department_h2", 2), ("family", 6), ("supervisor", 3)]


R2_COLUMNS = ["self_score", "peer_score", "department_score", "review_score", "deduction_talks", "deduction_cases",
              "deduction_violations", "total_score", "grade", "status", "veto"]


def test_r2_integrity_assessment(published):
    rows = published("integrity_assessment")
    got = {(r["year"], r["person_id"]): tuple(r[c] for c in R2_COLUMNS) for r in rows.to_dicts()}
    assert got == {
        #              self   peer  dept   review talks cases viol  total  grade   status
        (2024, "C1"): (95.0, None, 92.0, 93.0, 2.0, 0.0, 0.0, 91.0, "好", "graded", None),
        (2024, "D1"): (90.0, None, 85.0, 86.67, 0.0, 0.0, 0.0, 86.67, "较好", "graded", None),
        (2024, "K1"): (None, None, 82.0, 82.0, 2.0, 0.0, 0.0, 80.0, "较好", "graded", None),
        (2024, "H1"): (100.0, None, 100.0, 100.0, 0.0, 20.0, 0.0, 80.0, "较好", "graded", None),
        (2024, "S1"): (90.0, None, 90.0, 90.0, 0.0, 0.0, 3.0, 87.0, "较好", "graded", None),
        (2024, "S2"): (70.0, 85.0, 80.0, 80.0, 2.0, 0.0, 0.0, 78.0, "一般", "signoff_pending", None),
        **{(2023, p): (None, None, None, None, 2.0, 0.0, 5.0 if p == "S1" else 0.0, None, None, "incomplete", None)
           for p in ("C1", "D1", "K1", "H1", "S1", "S2")},
    }


R3_COLUMNS = ["duty_score", "vote_score", "deduction_scope", "total_score", "grade", "status", "veto"]


def test_r3_responsibility_assessment(published):
    rows = published("responsibility_assessment")
    got = {(r["year"], r["subject_kind"], r["subject_id"]): tuple(r[c] for c in R3_COLUMNS) for r in rows.to_dicts()}
    assert got == {
        #                                     duty   vote  scope total grade
        (2024, "party_group", "U1"): (70.0, 79.0, 10.0, 63.6, "一般", "graded", None),
        (2024, "secretary", "C1"): (70.83, 90.0, 10.0, 68.5, "一般", "graded", None),
        (2024, "leader", "D1"): (70.0, 44.0, 10.0, 49.6, "较差", "graded", None),
        (2024, "dept_head", "H1"): (55.0, None, 10.0, 45.0, "较差", "graded", None),
        (2024, "discipline_group", "U1"): (50.0, 50.0, 10.0, 40.0, "较差", "graded", None),
        **{(2023, k, i): (0.0, None, 10.0, 0.0, "较差", "graded", None)
           for k, i in (("party_group", "U1"), ("secretary", "C1"), ("leader", "D1"), ("dept_head", "H1"),
                        ("discipline_group", "U1"))},
    }


def test_r4_accountability_triggers(published):
    rows = published("accountability_triggers")
    got = sorted((r["year"], r["trigger_type"], r["assessment"], r["subject_kind"], r["subject_id"], r["streak_years"],
                  tuple(r["evidence"])) for r in rows.to_dicts())
    poor = lambda kind, sid: (2024, "consecutive_poor", "responsibility", kind, sid, 2, (  # noqa: E731
        f"responsibility_assessment/2023/U1/{kind}/{sid}", f"responsibility_assessment/2024/U1/{kind}/{sid}"))
    assert got == sorted([
        (2023, "one_case_two_investigations", "none", "dept_head", "H1", None, ("V23",)),
        (2023, "one_case_two_investigations", "none", "leader", "D1", None, ("V23",)),
        poor("dept_head", "H1"), poor("discipline_group", "U1"), poor("leader", "D1"),
        (2024, "one_case_two_investigations", "none", "dept_head", "H1", None, ("V24",)),
        (2024, "one_case_two_investigations", "none", "leader", "D1", None, ("V24",)),
        *[(2024, "repeat_serious_violation", "responsibility", k, i, None, ("V23", "V24"))
          for k, i in (("secretary", "C1"), ("leader", "D1"), ("dept_head", "H1"))],
    ])
    assert set(rows["unit_code"]) == {"U1"}
    assert dict(zip(rows["subject_id"], rows["subject_name"])) == {"H1": "何四", "D1": "邓二", "C1": "陈一", "U1": "手算检察院"}
