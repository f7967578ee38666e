"""Shared helpers for the data-quality tests: a small, valid staged layer built from Python rows."""

from __future__ import annotations

import datetime as dt

import polars as pl

from lianjian.contract import PUBLISHED, SOURCES

D = dt.date


def good_rows() -> dict[str, list[dict]]:
    """A tiny staged layer that passes every quality check: one unit, one department, 2024."""
    return {
        "units": [
            {"unit_code": "U1", "unit_name": "甲市院", "level": "city"},
            {"unit_code": "U2", "unit_name": "乙县院", "level": "county", "parent_code": "U1"},
        ],
        "personnel": [
            {"year": 2024, "person_id": "P1", "name": "甲", "unit_code": "U1", "position": "chief",
             "is_party_secretary": True, "is_quota": True, "status": "active", "hire_date": D(2001, 1, 1)},
            {"year": 2024, "person_id": "P2", "name": "乙", "unit_code": "U1", "position": "deputy_chief",
             "is_party_secretary": False, "is_quota": True, "status": "active"},
            {"year": 2024, "person_id": "P3", "name": "丙", "unit_code": "U1", "dept_code": "D1", "position": "dept_head",
             "is_party_secretary": None, "is_quota": True, "status": "active"},
            {"year": 2024, "person_id": "P4", "name": "丁", "unit_code": "U1", "dept_code": "D1", "position": "prosecutor",
             "is_party_secretary": False, "is_quota": True, "status": "active"},
            {"year": 2024, "person_id": "P5", "name": "戊", "unit_code": "U2", "position": "chief",
             "is_party_secretary": True, "is_quota": True, "status": "active"},
        ],
        "departments": [
            {"year": 2024, "unit_code": "U1", "dept_code": "D1", "dept_name": "第一检察部", "head_id": "P3",
             "supervisor_id": "P2", "liaison_id": "P4"},
        ],
        "personnel_events": [
            {"event_id": "E1", "person_id": "P4", "event_type": "promotion", "event_date": D(2024, 5, 1)},
        ],
        "talks": [
            {"talk_id": "T1", "talk_date": D(2024, 5, 2), "talk_type": "must_talk", "interviewer_id": "P3",
             "interviewee_id": "P4", "reason": "promotion", "event_id": "E1", "witness_id": "P4", "form_filed": True},
            {"talk_id": "T2", "talk_date": D(2024, 3, 1), "talk_type": "family", "interviewee_id": "P4",
             "form_filed": True, "family_signed": True},
        ],
        "cases": [
            {"case_id": "C1", "unit_code": "U1", "category": "public_prosecution", "handler_id": "P4", "is_major": False,
             "accepted_date": D(2024, 1, 2), "closed_date": D(2024, 2, 1), "outcome": "prosecuted",
             "quality_rating": "qualified"},
            {"case_id": "C2", "unit_code": "U1", "category": "other", "handler_id": "P3", "is_major": True,
             "accepted_date": D(2024, 6, 1)},
        ],
        "reviews": [
            {"year": 2024, "person_id": "P4", "reviewer_kind": "self", "score": 90.0},
            {"year": 2024, "person_id": "P4", "reviewer_kind": "peer", "reviewer_id": "P3", "score": 85.5},
        ],
        "violations": [],
        "major_matter_reports": [],
        "duty_activities": [],
        "democratic_votes": [
            {"year": 2024, "unit_code": "U1", "subject_kind": "party_group", "subject_id": "U1", "votes_good": 10,
             "votes_fairly_good": 2, "votes_average": 0, "votes_poor": 0},
        ],
    }


def staged(rows: dict[str, list[dict]] | None = None) -> dict[str, pl.DataFrame]:
    rows = good_rows() if rows is None else rows
    return {src: SOURCES[src].staged_frame(rows.get(src, [])) for src in SOURCES}


def ingest_report(read: dict[str, int] | None = None, rejected: dict[str, int] | None = None) -> pl.DataFrame:
    """One landing file per source; rows_read defaults to the good layer's row count."""
    counts = {src: len(r) for src, r in good_rows().items()} | (read or {})
    rejected = rejected or {}
    return pl.DataFrame(
        [
            {
                "source": src,
                "file": f"{src}.csv",
                "sha256": "0" * 64,
                "rows_read": counts.get(src, 0),
                "rows_accepted": counts.get(src, 0) - rejected.get(src, 0),
                "rows_rejected": rejected.get(src, 0),
                "rows_duplicate": 0,
            }
            for src in SOURCES
        ],
        schema={
            "source": pl.String, "file": pl.String, "sha256": pl.String, "rows_read": pl.Int64,
            "rows_accepted": pl.Int64, "rows_rejected": pl.Int64, "rows_duplicate": pl.Int64,
        },
    )


def rejected_records(rows: list[dict] | None = None) -> pl.DataFrame:
    return pl.DataFrame(rows or [], schema=PUBLISHED["rejected_records"].schema())
