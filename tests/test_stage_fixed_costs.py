"""Staging's fixed costs (docs/performance.md, "Staging's fixed costs"): what a source or a file pays
whatever its rows, cut without changing what is read, staged or published."""

from __future__ import annotations

from datetime import date

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lianjian.contract import SOURCES
from lianjian.ingest import DateBounds, quarantine, reader


@pytest.mark.parametrize("dates", [None, DateBounds(date(1990, 1, 1), date(2030, 12, 31))])
def test_the_checked_schema_is_written_out_from_the_contract_and_is_check_chunks(monkeypatch, dates):
    """The schema of every source's checked parts is ``check_chunk``'s (the frame the checks give for
    no rows), without running the checks: ``check_chunk`` is not called to work it out."""
    expected = {
        name: quarantine.check_chunk(src, pl.DataFrame(schema=reader.raw_schema(src)), 0, dates).schema
        for name, src in SOURCES.items()
    }

    def refuse(*_args, **_kwargs):
        raise AssertionError("the checks ran to find a schema")

    monkeypatch.setattr(quarantine, "check_chunk", refuse)
    monkeypatch.setattr(reader, "check_chunk", refuse)
    for name, src in SOURCES.items():
        assert reader.checked_schema(src, dates) == expected[name], name
        assert list(reader.checked_schema(src, dates)) == list(expected[name]), name


def test_a_small_source_is_staged_from_its_rows_read_once_and_gives_what_its_parts_give(tmp_path, monkeypatch):
    """A source of at most ``IN_MEMORY_ROWS`` rows is staged from its checked rows read once into
    memory: once taken, they no longer need its part files (gone here, staging still works); a larger
    one is staged over its parts. Both give the same staged rows, rejected rows and counts, on a zone
    with a rejected row, a conflicting key and an exact duplicate across files."""
    from test_ingest_small_files import DATES, _same, _zone

    import lianjian.ingest as ingest

    landing = _zone(tmp_path / "landing")
    reads = {r.name: r for r in ingest.iter_landing(landing, tmp_path, [], DATES)}
    talks = reads["talks"]
    assert sum(f.rows for f in talks.files) <= ingest.IN_MEMORY_ROWS
    held = ingest._source_rows(talks)
    monkeypatch.setattr(ingest, "IN_MEMORY_ROWS", -1)
    over_parts = ingest._source_rows(talks)
    expected = held.collect()
    assert over_parts.collect().equals(expected)
    for f in talks.files:
        for part in f.parts:
            part.unlink()
    assert held.collect().equals(expected)  # read once: the parts are no longer needed

    in_parts = ingest.ingest_landing(landing, DATES)
    monkeypatch.setattr(ingest, "IN_MEMORY_ROWS", 10**9)
    in_memory = ingest.ingest_landing(landing, DATES)
    _same(in_memory, in_parts)
    assert in_memory.rejected.filter(pl.col("source") == "talks").height == 2
    assert in_memory.staged["talks"].get_column("talk_id").to_list() == ["T1", "T2", "T8"]


def test_a_header_shared_by_many_files_is_cleaned_once_and_read_the_same(monkeypatch):
    """``clean_headers`` cleans each distinct header once (the files of a source mostly share one):
    the second file's header is not given to Polars again, and reads exactly as the first; another
    header (full-width letters, spaces, a missing cell) is cleaned as ``clean_header`` says."""
    from lianjian.ingest import text

    text._clean_headers.cache_clear()
    calls = []
    real = text.clean_header
    monkeypatch.setattr(text, "clean_header", lambda e: calls.append(1) or real(e))
    header = ["talk_id", " ｔａｌｋ_date　", None]
    first = text.clean_headers(header)
    assert first == ["talk_id", "talk_date", ""]
    assert text.clean_headers(list(header)) == first
    assert len(calls) == 1
    first.append("changed")  # the answer is the caller's own list: the cache is not changed through it
    assert text.clean_headers(header) == ["talk_id", "talk_date", ""]
    assert text.clean_headers(["案件编号 "]) == ["案件编号"]
    assert len(calls) == 2


_CELLS = st.one_of(
    st.none(),
    st.text(alphabet=st.sampled_from(list("AZaz09-_ 中\t\u3000\u00a0\ufeff\x00\r\nＡ１～")), max_size=6),
)


@settings(max_examples=150, deadline=None)
@given(cells=st.lists(_CELLS, min_size=1, max_size=12), patterned=st.booleans())
def test_a_unique_id_column_screened_as_plain_parses_as_when_cleaned(cells, patterned):
    """A unique key column of text whose cells cleaning would not change is taken as it is (one
    regular expression screens it): the cleaned text, typed value, reasons and kept cells are those
    the full cleaning gives, whatever the cells (surrounding spaces of every kind, full-width forms,
    NUL bytes, empty cells, nulls), with and without a pattern."""
    import dataclasses

    col = SOURCES["cases"].column("case_id")
    if patterned:
        col = dataclasses.replace(col, pattern=r"^[A-Za-z0-9_-]{1,4}$")
    raw = pl.Series("case_id", cells, dtype=pl.String)
    screened = quarantine._parse_column(col, raw, unique=True)
    real = quarantine._plain
    try:
        quarantine._plain = lambda _raw: False
        cleaned = quarantine._parse_column(col, raw, unique=True)
    finally:
        quarantine._plain = real
    for a, b in zip(screened, cleaned):
        assert a.to_list() == b.to_list()
        assert a.dtype == b.dtype
    plain = all(c is not None and c != "" and c == c.strip(" \t\r\n\u3000\u00a0\ufeff") and "\x00" not in c
                and not any("\uff01" <= ch <= "\uff5e" for ch in c) for c in cells if c is not None)
    assert quarantine._plain(raw) == plain


def test_a_part_leaves_out_its_empty_columns_and_is_read_back_whole(tmp_path):
    """A checked part is written without the columns null in every one of its rows (cells as read
    that their typed value gives back, no reason, no problem) and read back (``scan_parts``) with
    every column of the checked schema, in its order and types, the left-out ones null: the rows
    are those written. Parts of one file that leave out different columns read back as one."""
    from support_ingest import HEADERS, talk, write_csv

    src = SOURCES["talks"]
    landing = tmp_path / "landing"
    write_csv(landing / "talks.csv", HEADERS["talks"], [talk("T1", "2024-05-01"), talk(" T2 ", "2024/5/2", kind="nonsense")])
    opened = reader._open_file(src, landing / "talks.csv", landing, tmp_path, None)
    _read, rows, _fallback, finish = opened
    raw = finish(rows().collect())
    schema = reader.checked_schema(src)
    clean = quarantine.check_chunk(src, raw.head(1), 0).cast(schema)
    messy = quarantine.check_chunk(src, raw.tail(1), 1).cast(schema)
    reader.write_part(clean, tmp_path / "a.parquet")
    reader.write_part(messy, tmp_path / "b.parquet")

    left_out = set(schema) - set(pl.read_parquet_schema(tmp_path / "a.parquet"))
    assert {"_own", "_unparsed", "_problem", quarantine.RAW + "talk_id", quarantine.RAW + "talk_date"} <= left_out
    assert {quarantine.ORD, "_file"} <= left_out and "talk_id" not in left_out  # given by the part's place
    assert {quarantine.RAW + "talk_id", quarantine.RAW + "talk_date", "_own"} <= set(pl.read_parquet_schema(tmp_path / "b.parquet"))

    back = reader.scan_parts(src, [tmp_path / "a.parquet", tmp_path / "b.parquet"], "talks.csv").collect()
    assert back.schema == schema
    assert back.equals(pl.concat([clean, messy]))
    assert back.get_column(quarantine.RAW + "talk_id").to_list() == [None, " T2 "]


def test_a_small_source_of_several_files_with_broken_references_is_staged_from_memory(tmp_path):
    """The rows of a small source read into memory from several parts are one chunk per column
    (rechunked): a frame whose columns are cut into chunks at different places (a column left out of
    a part and put back null is one chunk, the others one per part) made Polars' streaming engine
    panic in the references' reasons. Here: talks in three files, a reference to an unknown person in
    two of them, an exact duplicate across files."""
    from support_ingest import HEADERS, rows, talk, write_csv, write_landing

    import lianjian.ingest as ingest

    landing = write_landing(tmp_path / "landing")
    (landing / "talks.csv").unlink()
    write_csv(landing / "talks" / "a.csv", HEADERS["talks"], rows("talks"))
    write_csv(landing / "talks" / "b.csv", HEADERS["talks"], [talk("T8", interviewee="P9"), talk("T7")])
    write_csv(landing / "talks" / "c.csv", HEADERS["talks"], [talk("T6", interviewee="P9", witness="P2"), talk("T7")])
    reads = {r.name: r for r in ingest.iter_landing(landing, tmp_path, [])}
    held = ingest._source_rows(reads["talks"]).collect()
    assert len(set(held.n_chunks("all"))) == 1
    result = ingest.ingest_landing(landing)
    rejected = {(r["file"], r["row_number"]): r["reasons"] for r in result.rejected.to_dicts() if r["source"] == "talks"}
    assert set(rejected) == {("talks/b.csv", 2), ("talks/c.csv", 2)}
    assert all(any('no such person "P9"' in x for x in reasons) for reasons in rejected.values())
    counts = {r["file"]: (r["rows_read"], r["rows_accepted"], r["rows_rejected"], r["rows_duplicate"]) for r in result.report.to_dicts()}
    assert counts["talks/b.csv"] == (2, 1, 1, 0) and counts["talks/c.csv"] == (2, 0, 1, 1)


#: A zone on which staging talks from memory made Polars panic before its rows were rechunked
#: (found by tests/test_ingest_property.py): two files of ragged, bad and duplicated rows and an empty one.
PANIC_TALKS = {
    '00.csv': [
        ['T3', '2024-03-05', 'xx', 'P3', 'P3', '', '', '', '否', 'Y'],
        ['T2', '', 'family', 'P2', 'P2', '', '', '', 'maybe', 'Y', 'surplus'],
        ['T5', '２０２４年３月５日', 'department', 'P9', 'P3', '', '', '', 'maybe', '否'],
        ['T1', '2024/3/5', 'family', 'P2', 'P2', '', '', '', 'maybe', '是', 'surplus'],
        ['T5', '20240305', '家人廉政谈话', 'P2', 'P2', '', '', '', '是', 'maybe', 'surplus'],
        ['T2', '', 'department', '', 'P9', '', '', '', 'maybe', '否', 'surplus'],
        ['T2', '2024-03-05', 'xx', '', 'P9', '', '', '', '', '是', 'surplus'],
        ['T7', '２０２４年３月５日', 'xx', 'P3', 'P3', '', '', '', '是', '是', 'surplus'],
        ['T5', '', 'department', 'P9', 'P9', '', '', '', '是', 'maybe'],
    ],
    '01.csv': [
    ],
    '02.csv': [
        ['T6', '', '', 'P3', 'P3', '', '', '', '否', '是'],
        ['T5', '20240305', '家人廉政谈话', 'P9', '', '', '', '', 'maybe', '否', 'surplus'],
        ['T2', 'bad', 'department', '', '', '', '', '', '', ''],
        ['T2', '20240305', '', 'P9', 'P3', '', '', '', 'Y', '否', 'surplus'],
        ['T8', '20240305', 'family', '', 'P2', '', '', '', 'maybe', ''],
        ['T4', '2024/3/5', '', '', '', '', '', '', '是', 'maybe'],
        ['T3', '', '家人廉政谈话', '', 'P2', '', '', '', '', '', 'surplus'],
        ['T8', '2024-02-30', '', '', 'P3', '', '', '', 'Y', 'Y', 'surplus'],
        ['T4', '2024-02-30', 'xx', 'P3', 'P2', '', '', '', '', '', 'surplus'],
        ['T7', '2024-02-30', 'family', 'P2', 'P2', '', '', '', 'Y', '是', 'surplus'],
        ['T7', '２０２４年３月５日', 'family', 'P9', '', '', '', '', 'Y', ''],
        ['T3', '2024/3/5', 'xx', 'P2', 'P9', '', '', '', '否', '是', 'surplus'],
    ],
}


def test_staging_a_small_source_from_memory_gives_what_its_parts_give_on_the_zone_that_made_polars_panic(tmp_path, monkeypatch):
    """On ``PANIC_TALKS`` the staging of talks from memory ended in a Polars panic in the streaming
    engine (the references' reasons over columns cut into chunks at different places); rechunked,
    it gives what the staging over the parts gives, and conserves every row."""
    from support_ingest import HEADERS, write_csv, write_landing

    import lianjian.ingest as ingest

    landing = write_landing(tmp_path / "landing", skip=("talks",))
    for name, rows in PANIC_TALKS.items():
        write_csv(landing / "talks" / name, HEADERS["talks"], rows)
    in_memory = ingest.ingest_landing(landing)
    monkeypatch.setattr(ingest, "IN_MEMORY_ROWS", -1)
    in_parts = ingest.ingest_landing(landing)
    for name in SOURCES:
        assert in_memory.staged[name].equals(in_parts.staged[name]), name
    assert in_memory.rejected.equals(in_parts.rejected)
    assert in_memory.report.equals(in_parts.report)
    report = in_memory.report.filter(pl.col("source") == "talks")
    assert report.get_column("rows_read").to_list() == [9, 0, 12]
    for r in report.iter_rows(named=True):
        assert r["rows_read"] == r["rows_accepted"] + r["rows_rejected"] + r["rows_duplicate"]
