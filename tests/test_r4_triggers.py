"""R4 accountability triggers (RULES.md R4): golden tests worked out by hand, default rules file
(streak of at least 2 较差 years; serious and criminal for both violation triggers)."""

from __future__ import annotations

import support_scoring as s
from support_assessed import integrity_rows, r4, responsibility_rows

RULES = s.default_rules()
BASIS = RULES.settings(2024).triggers.basis


def rows(triggers, trigger_type):
    return [t for t in triggers if t["trigger_type"] == trigger_type]


# ---------------------------------------------------------------- consecutive_poor


def test_consecutive_poor_person_across_kinds_and_worse_grade_of_the_year():
    resp = responsibility_rows(
        [
            # P1: leader 较差 in 2023; in 2024 leader 一般 but dept_head 较差 → the worse grade counts
            {"year": 2023, "subject_kind": "leader", "subject_id": "P1", "grade": "较差"},
            {"year": 2024, "subject_kind": "leader", "subject_id": "P1", "grade": "一般"},
            {"year": 2024, "subject_kind": "dept_head", "subject_id": "P1", "grade": "较差"},
            # P2: 较差 in 2024 only
            {"year": 2024, "subject_kind": "secretary", "subject_id": "P2", "grade": "较差"},
        ]
    )
    t = rows(r4(responsibility=resp), "consecutive_poor")
    assert len(t) == 1
    row = t[0]
    # one row for the person, whose subject_kind is the first of secretary, leader, dept_head the person
    # is assessed under in 2024 (docs/rules.md R4, settled reading): leader, though 较差 came as dept_head
    assert (row["year"], row["subject_id"], row["subject_kind"], row["assessment"]) == (2024, "P1", "leader",
                                                                                        "responsibility")
    assert row["streak_years"] == 2 and row["basis"] == BASIS["consecutive_poor"]["leader"]
    # evidence: the assessment row graded 较差 of each year of the streak (R8: its score and evidence
    # rows are the facts behind the grade)
    assert row["evidence"] == ["responsibility_assessment/2023/U1/leader/P1", "responsibility_assessment/2024/U1/dept_head/P1"]


def test_consecutive_poor_bodies_by_unit_and_basis_per_kind():
    resp = responsibility_rows(
        [
            {"year": y, "unit_code": u, "subject_kind": "discipline_group", "subject_id": u, "grade": g}
            for y, u, g in ((2023, "U1", "较差"), (2024, "U1", "较差"), (2023, "U2", "较差"), (2024, "U2", "一般"))
        ]
        + [{"year": y, "subject_kind": "party_group", "subject_id": "U1", "grade": "较差"} for y in (2023, 2024)]
    )
    t = rows(r4(responsibility=resp), "consecutive_poor")
    got = {(r["subject_kind"], r["subject_id"]): r for r in t}
    assert set(got) == {("discipline_group", "U1"), ("party_group", "U1")}
    assert got[("discipline_group", "U1")]["basis"] == "庆城办法第二十二条第（三）项"
    assert got[("party_group", "U1")]["basis"] == "庆城办法第十八条第（九）项"
    assert got[("party_group", "U1")]["unit_code"] == "U1"


def test_consecutive_poor_year_without_grade_breaks_streak_and_three_years_give_three():
    integ = integrity_rows(
        [
            # P1: 较差 2022, no grade 2023 (incomplete), 较差 2024 → no trigger
            {"year": 2022, "person_id": "P1", "grade": "较差"},
            {"year": 2023, "person_id": "P1", "grade": None, "status": "incomplete"},
            {"year": 2024, "person_id": "P1", "grade": "较差"},
            # P2: 较差 2022, 2023, 2024 → rows in 2023 (streak 2) and 2024 (streak 3)
            *[{"year": y, "person_id": "P2", "grade": "较差"} for y in (2022, 2023, 2024)],
            # P3: not assessed in 2023 at all → no trigger in 2024
            {"year": 2022, "person_id": "P3", "grade": "较差"},
            {"year": 2024, "person_id": "P3", "grade": "较差"},
        ]
    )
    t = rows(r4(integrity=integ), "consecutive_poor")
    assert sorted((r["year"], r["subject_id"], r["streak_years"]) for r in t) == [(2023, "P2", 2), (2024, "P2", 3)]
    assert sorted(r["evidence"] for r in t) == [
        ["integrity_assessment/2022/P2", "integrity_assessment/2023/P2"],
        ["integrity_assessment/2022/P2", "integrity_assessment/2023/P2", "integrity_assessment/2024/P2"],
    ]
    assert all(r["subject_kind"] == "person" and r["assessment"] == "integrity" for r in t)
    assert all(r["basis"] == BASIS["consecutive_poor"]["person"] for r in t)


def test_consecutive_poor_counts_a_veto_poor_and_keeps_assessments_apart():
    integ = integrity_rows(
        [
            {"year": 2023, "person_id": "P1", "grade": "较差", "total_score": 50.0},
            # 较差 from a veto while incomplete (no total) still counts
            {"year": 2024, "person_id": "P1", "grade": "较差", "veto": "V1", "status": "incomplete"},
        ]
    )
    # P1 is 较差 in 2023 in integrity only and in 2024 in responsibility only: no streak in either
    resp = responsibility_rows([{"year": 2024, "subject_kind": "leader", "subject_id": "P1", "grade": "较差"},
                                {"year": 2023, "subject_kind": "leader", "subject_id": "P1", "grade": "较好"}])
    t = rows(r4(integrity=integ, responsibility=resp), "consecutive_poor")
    assert [(r["assessment"], r["subject_id"], r["streak_years"]) for r in t] == [("integrity", "P1", 2)]


# ---------------------------------------------------------------- repeat_serious_violation


def two_year_unit():
    roster = s.roster(
        [
            {"year": y, "person_id": p, "position": pos, "dept_code": dept}
            for y in (2023, 2024)
            for p, pos, dept in (("C1", "chief", None), ("D1", "deputy_chief", None), ("H1", "dept_head", "A"),
                                 ("S1", "prosecutor", "A"), ("B1", "clerk", "A"))
        ]
    )
    deps = s.departments([{"year": y, "dept_code": "A", "head_id": "H1", "supervisor_id": "D1",
                           "branch_secretary_id": "B1"} for y in (2023, 2024)])
    return roster, deps


def test_repeat_serious_violation():
    roster, deps = two_year_unit()
    viols = s.violations(
        [
            {"violation_id": "V1", "person_id": "S1", "severity": "serious", "decided_date": "2023-05-01"},
            {"violation_id": "V2", "person_id": "S1", "severity": "criminal", "decided_date": "2024-05-01"},
            {"violation_id": "V3", "person_id": "D1", "severity": "serious", "decided_date": "2024-06-01"},
        ]
    )
    resp = responsibility_rows(
        [
            # H1 was dept_head in 2023 and leader+dept_head in 2024 (any kinds will do)
            {"year": 2023, "subject_kind": "dept_head", "subject_id": "H1"},
            {"year": 2024, "subject_kind": "dept_head", "subject_id": "H1"},
            # D1 leader both years: scope A (S1, H1) → V1 in 2023, V2 in 2024 (own V3 excluded)
            {"year": 2023, "subject_kind": "leader", "subject_id": "D1"},
            {"year": 2024, "subject_kind": "leader", "subject_id": "D1"},
            # C1 secretary in 2024 only → no trigger
            {"year": 2024, "subject_kind": "secretary", "subject_id": "C1"},
        ]
    )
    t = rows(r4(responsibility=resp, roster=roster, departments=deps, violations=viols), "repeat_serious_violation")
    got = {r["subject_id"]: r for r in t}
    assert set(got) == {"H1", "D1"}
    assert got["D1"]["evidence"] == ["V1", "V2"] and got["D1"]["subject_kind"] == "leader"
    assert got["H1"]["evidence"] == ["V1", "V2"] and got["H1"]["year"] == 2024
    assert got["D1"]["basis"] == BASIS["repeat_serious_violation"] and got["D1"]["streak_years"] is None


# ---------------------------------------------------------------- one_case_two_investigations


def test_one_case_two_investigations_roles_once_each_nobody_for_themselves():
    roster, deps = two_year_unit()
    roster = s.roster(
        [
            *roster.collect().to_dicts(),
            {"year": 2024, "person_id": "S2", "dept_code": "B"},
            {"year": 2024, "person_id": "H2", "position": "dept_head", "dept_code": "B"},
            {"year": 2023, "person_id": "X1"},  # missing from the 2024 roster
        ]
    )
    # department B: its head H2 is also its branch secretary; its supervisor is the chief C1
    deps = s.departments([*deps.collect().to_dicts(),
                          {"dept_code": "B", "head_id": "H2", "supervisor_id": "C1", "branch_secretary_id": "H2"}])
    viols = s.violations(
        [
            {"violation_id": "V1", "person_id": "S1", "severity": "serious"},    # staff of A
            {"violation_id": "V2", "person_id": "H1", "severity": "criminal"},   # head of A
            {"violation_id": "V3", "person_id": "D1", "severity": "serious"},    # leadership member
            {"violation_id": "V4", "person_id": "S2", "severity": "serious"},    # staff of B
            {"violation_id": "V5", "person_id": "C1", "severity": "serious"},    # the secretary themself
            {"violation_id": "V6", "person_id": "S1", "severity": "general"},    # not serious
            {"violation_id": "V7", "person_id": "X1", "severity": "serious"},    # not in the 2024 roster
        ]
    )
    t = rows(r4(roster=roster, departments=deps, violations=viols), "one_case_two_investigations")
    got = sorted((r["evidence"][0], r["subject_id"], r["subject_kind"]) for r in t)
    assert got == [
        # staff S1: head H1, supervisor D1, branch secretary B1
        ("V1", "B1", "branch_secretary"), ("V1", "D1", "leader"), ("V1", "H1", "dept_head"),
        # head H1: supervisor D1 and party secretary C1
        ("V2", "C1", "secretary"), ("V2", "D1", "leader"),
        # leadership member D1: the party secretary C1
        ("V3", "C1", "secretary"),
        # staff S2: H2 once (as dept_head, not again as branch secretary), supervisor C1 as leader
        ("V4", "C1", "leader"), ("V4", "H2", "dept_head"),
        # V5: C1 is the party secretary → nobody answers for themselves; V6 general; V7 no roster row
    ]
    assert all(r["assessment"] == "none" and r["unit_code"] == "U1" and r["streak_years"] is None for r in t)
    assert all(r["year"] == 2024 and r["basis"] == BASIS["one_case_two_investigations"] for r in t)
    assert {r["subject_name"] for r in t if r["subject_id"] == "C1"} == {"C1"}


def test_one_case_two_investigations_unit_of_the_violator():
    roster = s.roster([{"person_id": "S1", "unit_code": "U2", "dept_code": "A"},
                       {"person_id": "H9", "unit_code": "U2", "position": "dept_head", "dept_code": "A"}])
    deps = s.departments([{"unit_code": "U2", "dept_code": "A", "head_id": "H9"}])
    viols = s.violations([{"violation_id": "V1", "person_id": "S1", "severity": "criminal"}])
    t = r4(roster=roster, departments=deps, violations=viols)
    assert [(r["unit_code"], r["subject_id"], r["subject_kind"]) for r in t] == [("U2", "H9", "dept_head")]


# ---------------------------------------------------------------- the Dagster assets


def _assessed(warehouse, table: str):
    """An assessed table: one file, or one file per year for the year-partitioned ones (R8's evidence
    in the published form, ``year`` from each file's name: read as the IO manager reads it)."""
    import polars as pl

    from pipelines.io_manager import scan_published_form

    path = warehouse / "assessed" / f"{table}.parquet"
    if path.exists():
        return pl.read_parquet(path)
    files = sorted((warehouse / "assessed" / table).glob("*.parquet"))
    if table == "assessment_evidence":
        return scan_published_form(table, [(f.stem, f) for f in files]).collect()
    return pl.read_parquet(files)


def test_assessed_assets_materialize(tmp_path):
    """The assessed assets read staged tables and the derived talk obligations from the warehouse and
    write the four assessed tables (published schemas, sorted by key)."""
    import dagster as dg
    import polars as pl
    from support_assessed import obligations

    from pipelines.partitions import range_tags

    from assets import assessed
    from lianjian.contract import PUBLISHED, SOURCES
    from pipelines.io_manager import write_parquet_atomic
    from pipelines.resources import local_resources

    roster, deps = two_year_unit()
    staged = {
        "units": s.units([{"unit_code": "U1"}]),
        "personnel": roster,
        "departments": deps,
        "reviews": s.reviews([{"year": 2024, "person_id": "S1", "reviewer_kind": "department", "score": 95,
                               "dept_head_signed": True, "supervisor_signed": True}]),
        "violations": s.violations([{"violation_id": "V1", "person_id": "S1", "severity": "serious"}]),
    }
    for src in SOURCES:
        frame = staged.get(src, SOURCES[src].staged_frame([]).lazy())
        write_parquet_atomic(frame.collect(), tmp_path / "staged" / f"{src}.parquet")
    write_parquet_atomic(obligations([]).collect(), tmp_path / "derived" / "talk_obligations.parquet")
    upstream = [dg.AssetSpec(["staged", src]) for src in SOURCES] + [dg.AssetSpec(["derived", "talk_obligations"])]
    result = dg.materialize(
        [*assessed.defs.assets, *upstream],
        selection=dg.AssetSelection.groups("assessed"),
        tags=range_tags("2023", "2024"),  # R2/R3/R8 are partitioned by year; R4 reads both years
        resources=local_resources(warehouse=tmp_path, rules=s.DEFAULT_RULES),
    )
    assert result.success
    for table in ("integrity_assessment", "responsibility_assessment", "accountability_triggers", "assessment_evidence"):
        df = _assessed(tmp_path, table)
        assert df.schema == PUBLISHED[table].schema(), table
        if table == "assessment_evidence":  # the published form: publish's total order (lianjian/publish/publish.py)
            order = list(PUBLISHED[table].key) + [c for c in df.columns if c not in PUBLISHED[table].key]
            assert df.equals(df.sort(order, nulls_last=True)), table
        else:
            assert df.equals(df.sort(list(PUBLISHED[table].key), nulls_last=False, maintain_order=True)), table
    integrity = _assessed(tmp_path, "integrity_assessment")
    # S1 in 2024: department 95 only; no deductions but criticism 3 → 92.00 好
    assert integrity.filter(pl.col("person_id") == "S1", pl.col("year") == 2024)["total_score"].to_list() == [92.0]
    triggers = _assessed(tmp_path, "accountability_triggers")
    # V1 (serious, staff S1 of A): head H1, supervisor D1, branch secretary B1 answer
    one_case = triggers.filter(pl.col("trigger_type") == "one_case_two_investigations")
    assert sorted(one_case["subject_id"]) == ["B1", "D1", "H1"]
    # no duty activities and no votes in either year: every R3 subject has duty 0 → 较差 in 2023 and 2024
    poor = triggers.filter(pl.col("trigger_type") == "consecutive_poor")
    assert set(poor["year"]) == {2024} and set(poor["streak_years"]) == {2}
    assert ("party_group", "U1") in set(zip(poor["subject_kind"], poor["subject_id"]))


def test_empty_inputs_give_empty_tables_in_published_schemas():
    """Absent optional sources are empty staged frames: every assessed table is then empty, typed."""
    from support_assessed import empty, obligations, r2, r3

    t2, ev2 = r2(empty("personnel"))
    t3, ev3 = r3(empty("personnel"), units=empty("units"))
    assert t2 == {} and ev2 == [] and t3 == {} and ev3 == []
    assert r4() == []
    # a roster alone: everyone active is assessed, incomplete, with zero deductions; the evidence says
    # why (no department review) beside the year's settings
    t2, ev2 = r2(s.roster([{"person_id": "P1"}]), obligations=obligations([]))
    assert t2["P1"]["status"] == "incomplete" and t2["P1"]["deduction_cases"] == 0.0
    assert [e["rule"] for e in ev2 if e["subject_id"] is not None] == ["R2.status.no_department_review"]


def test_a_two_kind_person_has_one_trigger_row_secretary_then_leader_then_dept_head():
    """docs/rules.md R4 (settled reading): a person assessed under two kinds in a year has one trigger
    row, whose subject_kind is the first of secretary, leader, dept_head; repeat_serious_violation rows
    have assessment ``responsibility``.

    consecutive_poor: C1 is secretary (一般) and dept_head (较差) in 2023 and 2024 → the worse grade
    较差 both years → one row in 2024, subject_kind secretary, basis of the secretary.
    repeat_serious_violation (the unit of ``two_year_unit``): D1 supervises A in both years, S1's
    serious V1 (2023) and criminal V2 (2024) are in D1's scope; in 2024 D1 is assessed as dept_head and
    as leader → one row, subject_kind leader, assessment responsibility, evidence V1, V2.
    """
    resp = responsibility_rows(
        [
            {"year": y, "subject_kind": k, "subject_id": "C1", "grade": g}
            for y in (2023, 2024)
            for k, g in (("dept_head", "较差"), ("secretary", "一般"))
        ]
    )
    t = rows(r4(responsibility=resp), "consecutive_poor")
    assert [(r["year"], r["subject_kind"], r["subject_id"], r["streak_years"], r["basis"]) for r in t] == [
        (2024, "secretary", "C1", 2, BASIS["consecutive_poor"]["secretary"])
    ]

    roster, deps = two_year_unit()
    viols = s.violations(
        [
            {"violation_id": "V1", "person_id": "S1", "severity": "serious", "decided_date": "2023-05-01"},
            {"violation_id": "V2", "person_id": "S1", "severity": "criminal", "decided_date": "2024-05-01"},
        ]
    )
    resp = responsibility_rows(
        [
            {"year": 2023, "subject_kind": "leader", "subject_id": "D1"},
            {"year": 2024, "subject_kind": "dept_head", "subject_id": "D1"},
            {"year": 2024, "subject_kind": "leader", "subject_id": "D1"},
        ]
    )
    t = rows(r4(responsibility=resp, roster=roster, departments=deps, violations=viols), "repeat_serious_violation")
    assert [(r["year"], r["subject_kind"], r["subject_id"], r["assessment"], r["evidence"]) for r in t] == [
        (2024, "leader", "D1", "responsibility", ["V1", "V2"])
    ]
