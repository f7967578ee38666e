"""Helpers for the ingestion tests: write small landing zones (CSV in any encoding, XLSX)."""

from __future__ import annotations

import csv
import io
from pathlib import Path

HEADERS = {
    "units": ["unit_code", "unit_name", "level", "parent_code"],
    "personnel": ["year", "person_id", "name", "id_number", "unit_code", "dept_code", "position", "is_party_secretary", "is_quota", "status", "hire_date"],
    "departments": ["year", "unit_code", "dept_code", "dept_name", "head_id", "supervisor_id", "liaison_id", "branch_secretary_id"],
    "personnel_events": ["event_id", "person_id", "event_type", "event_date"],
    "talks": ["talk_id", "talk_date", "talk_type", "interviewer_id", "interviewee_id", "reason", "event_id", "witness_id", "form_filed", "family_signed"],
    "reviews": ["year", "person_id", "reviewer_kind", "reviewer_id", "score", "dept_head_signed", "supervisor_signed"],
    "democratic_votes": ["year", "unit_code", "subject_kind", "subject_id", "votes_good", "votes_fairly_good", "votes_average", "votes_poor"],
    "cases": ["case_id", "unit_code", "category", "handler_id", "is_major", "accepted_date", "closed_date", "outcome", "quality_rating", "error_type", "dept_verified", "supervisor_verified", "public_complaint"],
}

# Valid GB 11643 numbers (check digits worked out by hand in test_ingest_read.py).
ID_OK = "11010519491231002X"
ID_OK2 = "110101199003070011"

#: A small consistent landing zone: one unit, two departments, four people, in 2024.
BASE = {
    "units": [
        ["U1", "一院", "city", ""],
        ["U2", "二院", "county", "U1"],
    ],
    "personnel": [
        ["2024", "P1", "张一", ID_OK, "U1", "", "chief", "是", "是", "active", "2010-01-01"],
        ["2024", "P2", "李二", "", "U1", "D1", "dept_head", "否", "是", "active", ""],
        ["2024", "P3", "王三", "", "U1", "D1", "prosecutor", "", "是", "active", ""],
        ["2024", "P4", "赵四", "", "U1", "D2", "clerk", "", "否", "active", ""],
    ],
    "departments": [
        ["2024", "U1", "D1", "一部", "P2", "P1", "P3", "P3"],
        ["2024", "U1", "D2", "二部", "P4", "P1", "", ""],
    ],
    "talks": [
        ["T1", "2024-03-05", "family", "", "P3", "", "", "", "是", "是"],
        ["T2", "2024-04-01", "department", "P2", "P3", "", "", "", "是", ""],
    ],
    "cases": [
        ["C1", "U1", "public_prosecution", "P3", "否", "2024-01-10", "2024-02-01", "prosecuted", "qualified", "", "", "", ""],
    ],
}


def csv_bytes(header: list[str], rows: list[list[str]], encoding: str = "utf-8", bom: bool = False) -> bytes:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(header)
    w.writerows(rows)
    data = buf.getvalue().encode(encoding)
    return (b"\xef\xbb\xbf" + data) if bom else data


def write_csv(path: Path, header: list[str], rows: list[list[str]], encoding: str = "utf-8", bom: bool = False) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(csv_bytes(header, rows, encoding, bom))
    return path


def write_landing(root: Path, overrides: dict | None = None, skip: tuple[str, ...] = ()) -> Path:
    """Write BASE (with per-source overrides: source -> rows, or -> (header, rows)) as UTF-8 CSVs."""
    overrides = overrides or {}
    root.mkdir(parents=True, exist_ok=True)
    for src in HEADERS:
        if src in skip:
            continue
        spec = overrides.get(src, BASE.get(src, []))
        header, rows = spec if isinstance(spec, tuple) else (HEADERS[src], spec)
        write_csv(root / f"{src}.csv", header, rows)
    return root


def write_xlsx(path: Path, header: list, rows: list[list], text_cells: bool = True) -> Path:
    """An XLSX first sheet; strings starting with '=' are stored as text, not formulas."""
    import openpyxl

    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(header)
    for r, row in enumerate(rows, start=2):
        for c, value in enumerate(row, start=1):
            cell = ws.cell(row=r, column=c, value=value)
            if text_cells and isinstance(value, str) and value.startswith("="):
                cell.data_type = "s"
    path.parent.mkdir(parents=True, exist_ok=True)
    wb.save(path)
    return path


def ingest(root: Path):
    from lianjian.ingest import ingest_landing

    return ingest_landing(root)


def reasons_by_row(result) -> dict[tuple[str, int], list[str]]:
    """{(file, row_number): reasons} of every rejected row."""
    return {(f, r): list(rs) for f, r, rs in result.rejected.select("file", "row_number", "reasons").iter_rows()}


def report_row(result, file: str) -> dict:
    rows = result.report.filter(result.report["file"] == file).to_dicts()
    assert len(rows) == 1, (file, result.report)
    return rows[0]


def rows(src: str, *extra: list[str]) -> list[list[str]]:
    """BASE rows of a source followed by extra rows (the first extra row is spreadsheet row len(BASE)+2)."""
    return BASE.get(src, []) + [list(r) for r in extra]


def talk(tid="T9", date="2024-05-01", kind="family", interviewer="", interviewee="P3", reason="", event="", witness="", filed="是", signed=""):
    """One talks row in HEADERS["talks"] order."""
    return [tid, date, kind, interviewer, interviewee, reason, event, witness, filed, signed]


def person(pid="P9", year="2024", name="新人", idn="", unit="U1", dept="D1", pos="prosecutor", sec="", quota="是", status="active", hire=""):
    """One personnel row in HEADERS["personnel"] order."""
    return [year, pid, name, idn, unit, dept, pos, sec, quota, status, hire]


def stage_talk_rows(tmp_path: Path, rows: list[list[str]], before_staging=lambda: None):
    """Reads ``rows`` as one talks file (a new parts folder each call), checks them and stages them
    against one person (P3, 2024) and one event (E1); ``before_staging`` runs just before staging."""
    import polars as pl

    from lianjian.contract import SOURCES
    from lianjian.ingest import quarantine, reader

    src = SOURCES["talks"]
    landing = tmp_path / "landing"
    parts = tmp_path / "parts"
    parts.mkdir(exist_ok=True)
    write_csv(landing / "talks.csv", HEADERS["talks"], rows)
    out = parts / f"{len(list(parts.iterdir()))}"
    out.mkdir()
    read = reader.read_file(src, landing / "talks.csv", landing, tmp_path, out)
    source = reader.SourceRead("talks", [read], True)
    checked = quarantine.check_rows(src, source.rows())
    personnel = pl.LazyFrame({"person_id": ["P3"], "year": [2024]})
    events = pl.LazyFrame({"event_id": ["E1"]}, schema={"event_id": pl.String})
    files = reader.files_frame(source.entries)
    before_staging()
    return quarantine.stage_checked(checked, {"personnel": personnel, "personnel_events": events}, files)
