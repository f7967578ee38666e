"""Test helpers for the assessed layer (R2, R3, R4, R8): run a rule with only the frames a test cares
about (the rest empty, staged-typed), and read the result as dicts.

Builds on ``support_scoring`` (staged-typed builders, ``default_rules``, ``rules_with``, ``d``).

API:
    obligations(rows) -> talk_obligations LazyFrame (published schema); defaults year 2024, unit U1,
        fulfilled false, due the whole year.
    r2(roster=..., reviews=..., obligations=..., cases=..., violations=..., rules=None)
        -> (table rows by person_id: dict[str, dict], evidence rows: list[dict])
    r3(units=..., roster=..., departments=..., activities=..., votes=..., obligations=..., cases=...,
       violations=..., rules=None) -> (table rows by (subject_kind, subject_id), evidence rows)
    r4(integrity=..., responsibility=..., roster=..., departments=..., violations=..., rules=None)
        -> trigger rows (list[dict], sorted by key)
    integrity_rows(rows) / responsibility_rows(rows): assessment frames (published schema) from a few
        dicts (defaults unit U1, grade null) for R4 tests.
"""

from __future__ import annotations

import datetime as dt

import polars as pl
import support_scoring as s

from lianjian.contract import PUBLISHED, SOURCES
from lianjian.scoring.integrity import integrity_assessment
from lianjian.scoring.responsibility import responsibility_assessment
from lianjian.scoring.triggers import accountability_triggers

d = s.d
YEAR, UNIT = s.YEAR, s.UNIT


def empty(source: str) -> pl.LazyFrame:
    return SOURCES[source].staged_frame([]).lazy()


def _published(table: str, rows: list[dict], defaults: dict) -> pl.LazyFrame:
    schema = PUBLISHED[table].schema()
    data = {c: [r.get(c, defaults.get(c)) for r in rows] for c in schema}
    return pl.DataFrame(data, schema=schema).lazy()


def obligations(rows: list[dict]) -> pl.LazyFrame:
    """talk_obligations rows (published schema): defaults year 2024, unit U1, not fulfilled, due the
    whole of 2024."""
    return _published(
        "talk_obligations",
        rows,
        {
            "year": YEAR,
            "unit_code": UNIT,
            "fulfilled": False,
            "due_from": dt.date(YEAR, 1, 1),
            "due_to": dt.date(YEAR, 12, 31),
        },
    )


def integrity_rows(rows: list[dict]) -> pl.LazyFrame:
    """integrity_assessment rows (published schema): defaults unit U1, name = person_id."""
    rows = [{"name": r.get("person_id"), **r} for r in rows]
    return _published("integrity_assessment", rows, {"unit_code": UNIT, "status": "graded"})


def responsibility_rows(rows: list[dict]) -> pl.LazyFrame:
    """responsibility_assessment rows (published schema): defaults unit U1, subject_name = subject_id."""
    rows = [{"subject_name": r.get("subject_id"), **r} for r in rows]
    return _published("responsibility_assessment", rows, {"unit_code": UNIT, "status": "graded"})


def r2(roster, reviews=None, obligations=None, cases=None, violations=None, rules=None):
    table, evidence = integrity_assessment(
        roster,
        reviews if reviews is not None else empty("reviews"),
        obligations if obligations is not None else _published("talk_obligations", [], {}),
        cases if cases is not None else empty("cases"),
        violations if violations is not None else empty("violations"),
        rules or s.default_rules(),
    )
    t = table.collect()
    assert t.schema == PUBLISHED["integrity_assessment"].schema()
    ev = evidence.collect()
    assert ev.schema == PUBLISHED["assessment_evidence"].schema()
    return {(r["person_id"] if r["year"] == YEAR else (r["year"], r["person_id"])): r for r in t.to_dicts()}, ev.to_dicts()


def r3(
    roster,
    departments=None,
    units=None,
    activities=None,
    votes=None,
    obligations=None,
    cases=None,
    violations=None,
    rules=None,
):
    table, evidence = responsibility_assessment(
        units if units is not None else s.units([{"unit_code": UNIT}]),
        roster,
        departments if departments is not None else empty("departments"),
        activities if activities is not None else empty("duty_activities"),
        votes if votes is not None else empty("democratic_votes"),
        obligations if obligations is not None else _published("talk_obligations", [], {}),
        cases if cases is not None else empty("cases"),
        violations if violations is not None else empty("violations"),
        rules or s.default_rules(),
    )
    t = table.collect()
    assert t.schema == PUBLISHED["responsibility_assessment"].schema()
    ev = evidence.collect()
    assert ev.schema == PUBLISHED["assessment_evidence"].schema()
    by = {}
    for r in t.to_dicts():
        k = (r["subject_kind"], r["subject_id"]) if r["year"] == YEAR else (r["year"], r["subject_kind"], r["subject_id"])
        by[k] = r
    return by, ev.to_dicts()


def r4(integrity=None, responsibility=None, roster=None, departments=None, violations=None, rules=None):
    frame = accountability_triggers(
        integrity if integrity is not None else integrity_rows([]),
        responsibility if responsibility is not None else responsibility_rows([]),
        roster if roster is not None else empty("personnel"),
        departments if departments is not None else empty("departments"),
        violations if violations is not None else empty("violations"),
        rules or s.default_rules(),
    )
    t = frame.collect()
    assert t.schema == PUBLISHED["accountability_triggers"].schema()
    return t.to_dicts()


def ev_of(evidence: list[dict], subject_id: str, rule: str | None = None, kind: str | None = None) -> list[dict]:
    """Evidence rows of one subject (optionally one rule / subject kind)."""
    return [
        e
        for e in evidence
        if e["subject_id"] == subject_id and (rule is None or e["rule"] == rule) and (kind is None or e["subject_kind"] == kind)
    ]


def deduction_sum(evidence: list[dict], subject_id: str, kind: str | None = None) -> float:
    """Sum of the values of a subject's deduction_* evidence rows."""
    return sum(e["value"] for e in ev_of(evidence, subject_id, kind=kind) if e["component"].startswith("deduction_"))


def duty_items(evidence: list[dict], subject_id: str, kind: str) -> dict[str, dict]:
    """A subject's duty item rows (rule ``R3.duty.<item>``, not the ``….missed`` ones) by rule."""
    return {e["rule"]: e for e in ev_of(evidence, subject_id, kind=kind)
            if e["rule"].startswith("R3.duty.") and not e["rule"].endswith(".missed")}


def duty_mean(evidence: list[dict], subject_id: str, kind: str) -> float | None:
    """Mean of a subject's duty item completions × 100 (equal weights, as in default.yaml)."""
    vals = [e["value"] for e in duty_items(evidence, subject_id, kind).values()]
    return 100 * sum(vals) / len(vals) if vals else None
