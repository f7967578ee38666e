"""Codes typed as the contract's Enum from the row checks on (docs/ingest.md, "Bounded memory";
docs/performance.md, "Codes as Enum from the row checks on"): the checked rows, their parts and the
rows kept in memory hold a code as staged, so staging casts nothing — and a column whose every cell
is a code as written is typed by one cast, without its labels being looked up."""

from __future__ import annotations

import polars as pl

from lianjian.contract import SOURCES
from lianjian.ingest import quarantine, reader, text


def _raw(src, rows: list[dict]) -> pl.DataFrame:
    schema = reader.raw_schema(src)
    filled = [{n: r.get(n) for n in schema} | {"_file": "talks.csv", "_personal": []} for r in rows]
    return pl.DataFrame(filled, schema=schema)


def _talk(i: int, kind: str | None) -> dict:
    return {"talk_id": f"T{i}", "talk_date": "2024-05-01", "talk_type": kind, "interviewee_id": "P1", "form_filed": "是", "_row": i + 2}


def test_every_code_column_is_checked_as_the_staged_enum():
    """The checked schema types each code column as the staged table does: staging casts no code."""
    for src in SOURCES.values():
        checked, staged = reader.checked_schema(src), src.staged_schema()
        for c in src.columns:
            if c.kind == "enum" and not c.personal:
                assert checked[c.name] == staged[c.name] == c.dtype(), (src.name, c.name)


def test_a_part_stores_and_gives_back_codes_as_the_enum(tmp_path):
    """A checked chunk written as a part and scanned back, or kept in memory, gives the codes as the
    Enum, the cells as read that are no code kept beside them, and the rows as read as before."""
    src = SOURCES["talks"]
    kinds = ["family", "家人廉政谈话", " department", "FAMILY", "nonsense", None]
    raw = _raw(src, [_talk(i, k) for i, k in enumerate(kinds)])
    checked = quarantine.check_chunk(src, raw, 0).cast(reader.checked_schema(src))
    written = reader.write_part(checked, tmp_path / "part-00000.parquet")
    for rows in (
        reader.scan_parts(src, [tmp_path / "part-00000.parquet"], "talks.csv"),
        reader.held_rows(src, [written], "talks.csv"),
    ):
        got = rows.collect()
        assert got.schema["talk_type"] == src.column("talk_type").dtype()
        assert got.get_column("talk_type").cast(pl.String).to_list() == ["family", "family", "department", "family", None, None]
        assert got.get_column("_in_talk_type").to_list() == [None, "家人廉政谈话", " department", "FAMILY", "nonsense", None]
        assert quarantine.rows_as_read(src, rows).collect().get_column("talk_type").to_list() == kinds
    own = checked.get_column(quarantine.OWN).to_list()
    assert [o is not None and 'talk_type: unknown code "nonsense"' in o for o in own] == [False, False, False, False, True, False]
    assert own[5] is not None and "talk_type: required value missing" in own[5]


def test_a_column_of_codes_as_written_is_typed_without_looking_up_labels(monkeypatch):
    """Every cell a code as it stands: the column is cast to the Enum, no spelling is resolved; one
    cell that is a label sends the column through the lookup, with the same codes for the others."""
    src = SOURCES["talks"]
    calls = []
    original = text._codes
    monkeypatch.setattr(text, "_codes", lambda s, spellings: calls.append(s.len()) or original(s, spellings))
    codes = _raw(src, [_talk(i, k) for i, k in enumerate(["family", "department", None, "family"])])
    frame = quarantine.row_checks(src, codes)
    assert calls == []
    assert frame.get_column("talk_type").dtype == src.column("talk_type").dtype()
    assert frame.get_column("talk_type").cast(pl.String).to_list() == ["family", "department", None, "family"]
    assert frame.get_column(quarantine.RAW + "talk_type").null_count() == 4
    labelled = _raw(src, [_talk(i, k) for i, k in enumerate(["family", "部门领导谈话", None, "family"])])
    frame = quarantine.row_checks(src, labelled)
    assert calls
    assert frame.get_column("talk_type").cast(pl.String).to_list() == ["family", "department", None, "family"]
    assert frame.get_column(quarantine.RAW + "talk_type").to_list() == [None, "部门领导谈话", None, None]


def test_a_clean_sources_counts_are_its_files_rows_read_without_a_scan(tmp_path, monkeypatch):
    """A source none of whose rows is rejected or a duplicate copy is counted from its files' rows
    read (the inventory), without grouping its rows by file; one with a rejected row is counted by
    its rows' fates. Both give the counts they gave."""
    from support_ingest import stage_talk_rows, talk

    grouped = []
    original = pl.LazyFrame.group_by
    monkeypatch.setattr(pl.LazyFrame, "group_by", lambda self, *a, **kw: grouped.append(a) or original(self, *a, **kw))

    def report(rows):
        staged = stage_talk_rows(tmp_path, rows, before_staging=grouped.clear)
        return staged.report.select("rows_read", "rows_accepted", "rows_rejected", "rows_duplicate").row(0), list(grouped)

    assert report([talk("T1"), talk("T2"), talk("T3")]) == ((3, 3, 0, 0), [])
    counts, scans = report([talk("T1"), talk("T2", date="nonsense")])
    assert counts == (2, 1, 1, 0) and scans == [("_file",)]


def test_a_column_of_flags_written_true_or_false_is_typed_without_its_distinct_values(monkeypatch):
    """Every cell true, false or blank: the flags are the cells compared with ``true``, no table of
    distinct values is made; a cell written 是 sends the column the long way, with the same flags for
    the others and the cell as read kept."""
    src = SOURCES["talks"]
    tables = []
    original = quarantine._written_as_is
    monkeypatch.setattr(quarantine, "_written_as_is", lambda parsed: tables.append(set(parsed.get_column("raw").to_list())) or original(parsed))

    def flags(cells):
        frame = quarantine.row_checks(src, _raw(src, [_talk(i, "family") | {"form_filed": f} for i, f in enumerate(cells)]))
        return frame.get_column("form_filed").to_list(), frame.get_column(quarantine.RAW + "form_filed").to_list()

    assert flags(["true", "false", None, "true"]) == ([True, False, None, True], [None, None, None, None])
    assert not [t for t in tables if t & {"true", "false"}]
    assert flags(["true", "是", None, "false"]) == ([True, True, None, False], [None, "是", None, None])
    assert [t for t in tables if "是" in t]
