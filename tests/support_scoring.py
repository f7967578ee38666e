"""Shared test helpers for the scoring rules (R1–R8): staged-typed LazyFrames from a few dicts.

Each builder takes a list of rows (dicts) and fills the columns a test does not care about with a
sensible default, then types the frame with ``SOURCES[src].staged_schema()`` (enums as pl.Enum,
dates pl.Date …). Dates may be given as ``datetime.date`` or as ``"2024-03-05"`` text.

API (stable; other scoring tests import it read-only):
    roster(rows), departments(rows), units(rows), events(rows), talks(rows), cases(rows),
    reviews(rows), violations(rows), reports(rows), duty_activities(rows), votes(rows)
        -> pl.LazyFrame typed as the staged table
    default_rules() -> Rules (rules/default.yaml, loaded once)
    rules_with(overrides: dict) -> Rules (default.yaml with ``overrides`` merged in, e.g.
        {"years": {2024: {...}}}; written to a temporary file)
    d(text) -> datetime.date
    rows_of(frame, key=...) -> list[dict] (collected, sorted by key, for comparisons)
"""

from __future__ import annotations

import datetime as dt
import tempfile
from functools import cache
from pathlib import Path

import polars as pl
import yaml

from lianjian.contract import SOURCES
from lianjian.rules_config import Rules, load_rules, merge_settings

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_RULES = ROOT / "rules" / "default.yaml"

YEAR = 2024
UNIT = "U1"


def d(text: str | dt.date | None) -> dt.date | None:
    """A date from ``"2024-03-05"`` (or a date, or None)."""
    if text is None or isinstance(text, dt.date):
        return text
    return dt.date.fromisoformat(text)


def _frame(source: str, rows: list[dict], defaults: dict) -> pl.LazyFrame:
    src = SOURCES[source]
    schema = src.staged_schema()
    unknown = {k for r in rows for k in r} - set(schema)
    if unknown:
        raise KeyError(f"{source}: no staged column {sorted(unknown)}")
    full = []
    for r in rows:
        row = {}
        for name, dtype in schema.items():
            if name in r:
                value = r[name]
            else:
                default = defaults.get(name)
                value = default(r) if callable(default) else default
            if dtype == pl.Date():
                value = d(value)
            row[name] = value
        full.append(row)
    return src.staged_frame(full).lazy()


def roster(rows: list[dict]) -> pl.LazyFrame:
    """personnel rows: defaults year 2024, unit U1, name = person_id, position prosecutor, not party
    secretary, not in the quota, active, no department, no hire_date."""
    return _frame(
        "personnel",
        rows,
        {
            "year": YEAR,
            "name": lambda r: r.get("person_id"),
            "unit_code": UNIT,
            "position": "prosecutor",
            "is_party_secretary": False,
            "is_quota": False,
            "status": "active",
        },
    )


def departments(rows: list[dict]) -> pl.LazyFrame:
    """departments rows: defaults year 2024, unit U1, dept_name = dept_code, nobody named."""
    return _frame("departments", rows, {"year": YEAR, "unit_code": UNIT, "dept_name": lambda r: r.get("dept_code")})


def units(rows: list[dict]) -> pl.LazyFrame:
    """units rows: defaults unit_name = unit_code, level county."""
    return _frame("units", rows, {"unit_name": lambda r: r.get("unit_code"), "level": "county"})


def events(rows: list[dict]) -> pl.LazyFrame:
    """personnel_events rows (no defaults but the event_type business_trip)."""
    return _frame("personnel_events", rows, {"event_type": "business_trip"})


def talks(rows: list[dict]) -> pl.LazyFrame:
    """talks rows: default form_filed true; witness, reason, event_id, family_signed empty."""
    return _frame("talks", rows, {"form_filed": True})


def cases(rows: list[dict]) -> pl.LazyFrame:
    """cases rows: defaults unit U1, public_prosecution, not major, accepted 2024-01-10, still open,
    not verified, no complaint."""
    return _frame(
        "cases",
        rows,
        {
            "unit_code": UNIT,
            "category": "public_prosecution",
            "is_major": False,
            "accepted_date": "2024-01-10",
            "dept_verified": False,
            "supervisor_verified": False,
            "public_complaint": False,
        },
    )


def reviews(rows: list[dict]) -> pl.LazyFrame:
    """reviews rows: defaults year 2024, reviewer_kind self, not signed."""
    return _frame(
        "reviews",
        rows,
        {"year": YEAR, "reviewer_kind": "self", "dept_head_signed": False, "supervisor_signed": False},
    )


def violations(rows: list[dict]) -> pl.LazyFrame:
    """violations rows: defaults decided 2024-06-01, category other, severity minor, sanction criticism."""
    return _frame(
        "violations",
        rows,
        {"decided_date": "2024-06-01", "category": "other", "severity": "minor", "sanction": "criticism"},
    )


def reports(rows: list[dict]) -> pl.LazyFrame:
    """major_matter_reports rows: defaults unit U1, dated 2024-03-01, category internal_inquiry."""
    return _frame(
        "major_matter_reports",
        rows,
        {"unit_code": UNIT, "report_date": "2024-03-01", "category": "internal_inquiry"},
    )


def duty_activities(rows: list[dict]) -> pl.LazyFrame:
    """duty_activities rows: defaults unit U1, dated 2024-03-01."""
    return _frame("duty_activities", rows, {"unit_code": UNIT, "activity_date": "2024-03-01"})


def votes(rows: list[dict]) -> pl.LazyFrame:
    """democratic_votes rows: defaults year 2024, unit U1, all vote counts 0."""
    return _frame(
        "democratic_votes",
        rows,
        {
            "year": YEAR,
            "unit_code": UNIT,
            "votes_good": 0,
            "votes_fairly_good": 0,
            "votes_average": 0,
            "votes_poor": 0,
        },
    )


@cache
def default_rules() -> Rules:
    """rules/default.yaml, loaded once."""
    return load_rules(DEFAULT_RULES)


def rules_with(overrides: dict) -> Rules:
    """default.yaml with ``overrides`` merged in (nested dicts merge; other values replace)."""
    raw = yaml.safe_load(DEFAULT_RULES.read_text(encoding="utf-8"))
    merged = merge_settings(raw, overrides)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "rules.yaml"
        path.write_text(yaml.safe_dump(merged, allow_unicode=True, sort_keys=False), encoding="utf-8")
        return load_rules(path)  # read whole on load; the file is not needed afterwards


def rows_of(frame: pl.LazyFrame | pl.DataFrame, key: list[str] | None = None) -> list[dict]:
    """Collected rows as dicts, sorted by ``key`` (nulls first) when given."""
    df = frame.collect() if isinstance(frame, pl.LazyFrame) else frame
    if key:
        df = df.sort(key, nulls_last=False)
    return df.to_dicts()


def talk_obligations_with_plans(warehouse: Path, rules: Rules) -> tuple[pl.DataFrame, list[str]]:
    """R1's talk obligations computed from ``warehouse``'s staged tables, with the plan of every
    LazyFrame collected on the way (``LazyFrame.explain``, in order): for tests of what R1's queries
    carry."""
    import pytest

    from lianjian.scoring.talks import talk_obligations

    staged = [pl.scan_parquet(warehouse / "staged" / f"{t}.parquet") for t in ("personnel", "departments", "personnel_events", "talks")]
    plans: list[str] = []
    collect = pl.LazyFrame.collect

    def recording_collect(self, *args, **kwargs):
        plans.append(self.explain())
        return collect(self, *args, **kwargs)

    with pytest.MonkeyPatch.context() as m:
        m.setattr(pl.LazyFrame, "collect", recording_collect)
        got = talk_obligations(*staged, rules).collect()
    return got, plans
