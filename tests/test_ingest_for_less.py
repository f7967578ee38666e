"""Reading and staging for less (docs/performance.md, "Reading and staging for less, again"): work
the reading and staging no longer do, each shown not done — and what is read, staged and published
is what it was."""

from __future__ import annotations

import hashlib
import json
import struct

import polars as pl
import pytest

from lianjian.contract import SOURCES
from lianjian.errors import FatalError
from lianjian.ingest import digests, quarantine, reader


def _whole_file_fields(path):
    """The header as the whole file read for one row gives it (what ``_csv_fields`` did before)."""
    head = pl.read_csv(path, has_header=False, n_rows=1, infer_schema=False, raise_if_empty=False, truncate_ragged_lines=True)
    if head.width == 0 or head.height == 0:
        return None
    return [v if v is not None else "" for v in head.row(0)]


def _body(rows: int) -> str:
    return "".join(f"T{i},2024-05-01,family\n" for i in range(rows))


@pytest.mark.parametrize(
    "header",
    [
        "talk_id,talk_date,talk_type\n",
        '"talk\nid",talk_date,"talk_type, ""quoted"""\n',  # a quoted header cell over two lines
        "\ufefftalk_id,talk_date,talk_type\n",  # a byte order mark
        "talk_id," + "x" * (reader.HEADER_BYTES + 10) + ",talk_type\n",  # longer than the block
    ],
)
def test_a_large_csvs_header_is_read_from_its_first_block_as_the_whole_file_gives_it(tmp_path, header, monkeypatch):
    """A CSV larger than ``HEADER_BYTES`` has its header parsed from its first block when the block
    holds the start of a second record; the header is the one the whole file gives, also when it
    spans lines or is longer than the block (then the whole file is read, as before)."""
    path = tmp_path / "talks.csv"
    path.write_text(header + _body(reader.HEADER_BYTES // 10), encoding="utf-8")
    assert path.stat().st_size > reader.HEADER_BYTES
    whole = _whole_file_fields(path)
    calls = []
    original = pl.read_csv
    monkeypatch.setattr(pl, "read_csv", lambda source, **kw: calls.append(source) or original(source, **kw))
    assert reader._csv_fields(path) == whole
    from_block = len(header.encode("utf-8")) < reader.HEADER_BYTES
    assert [isinstance(c, bytes) for c in calls] == ([True] if from_block else [False])


@pytest.mark.parametrize(
    "content",
    [
        "talk_id,talk_date,talk_type\n" + _body(3),
        '"talk\nid",talk_date,"talk_type, ""quoted"""\n' + _body(3),
        "\ufefftalk_id,talk_date,talk_type\r\n" + _body(2).replace("\n", "\r\n"),
        "talk_id,talk_date,talk_type",  # a header alone, no line end
        "\n",
        "",  # empty
        " ,talk_date,\n" + _body(1),  # blank header cells
        '"talk_id,talk_date,talk_type\n' + _body(2),  # a quote left open
    ],
)
def test_a_small_csvs_header_is_read_from_its_bytes_as_the_whole_file_gives_it(tmp_path, content, monkeypatch):
    """A CSV shorter than ``HEADER_BYTES`` has its header parsed from the bytes already read, the whole
    file, not by Polars opening the file: the same header (or the same error) as the whole file
    read for one row gives."""
    path = tmp_path / "talks.csv"
    path.write_text(content, encoding="utf-8")
    assert path.stat().st_size < reader.HEADER_BYTES
    try:
        whole = _whole_file_fields(path)
    except pl.exceptions.PolarsError as err:
        whole = type(err)
    calls = []
    original = pl.read_csv
    monkeypatch.setattr(pl, "read_csv", lambda source, **kw: calls.append(source) or original(source, **kw))
    try:
        got = reader._csv_fields(path)
    except pl.exceptions.PolarsError as err:
        got = type(err)
    assert got == whole
    assert calls and all(isinstance(c, bytes) for c in calls)


def test_a_header_with_an_unclosed_quote_still_ends_the_run(tmp_path):
    """An unclosed quote in a large file's header: the block gives no second record, the whole file is
    read as before, and the run ends naming the file."""
    path = tmp_path / "talks.csv"
    path.write_text('"talk_id,talk_date,talk_type\n' + _body(reader.HEADER_BYTES // 10), encoding="utf-8")
    with pytest.raises(FatalError, match="表头无法读取"):
        reader._read_csv(path, "talks.csv", "utf-8", tmp_path)


def test_the_chunks_checked_are_one_piece_per_column(tmp_path):
    """The streamed rows of a file come in many pieces per column; a chunk is rechunked once before
    its checks (Polars otherwise realigned the pieces on every operation of the checks)."""
    frame = pl.concat([pl.DataFrame({"a": [i, i + 1], "b": ["x", "y"]}) for i in range(5)], rechunk=False)
    assert frame.get_column("a").n_chunks() > 1
    chunks = list(reader._chunks(frame.lazy(), 4))
    assert [c.height for c in chunks] == [4, 4, 2]
    assert all(c.get_column(n).n_chunks() == 1 for c in chunks for n in c.columns)
    assert pl.concat(chunks).equals(frame)


def _raw(src, rows: list[dict]) -> pl.DataFrame:
    schema = reader.raw_schema(src)
    filled = [{n: r.get(n) for n in schema} | {"_file": "talks.csv", "_personal": []} for r in rows]
    return pl.DataFrame(filled, schema=schema)


def test_a_required_columns_reason_column_exists_only_where_a_cell_is_blank():
    """A required column none of whose cells is blank gets no reason column (all of its reasons would
    be null); one with a blank cell gets it, and the row its reason."""
    src = SOURCES["talks"]
    full = {"talk_id": "T1", "talk_date": "2024-05-01", "talk_type": "family", "interviewee_id": "P1", "form_filed": "是", "_row": 2}
    clean = quarantine.row_checks(src, _raw(src, [full]))
    assert not [c for c in clean.columns if c.endswith("_required")]
    blank = quarantine.row_checks(src, _raw(src, [full, full | {"interviewee_id": " ", "_row": 3}]))
    required = [c for c in blank.columns if c.endswith("_required")]
    assert len(required) == 1 and "interviewee_id" in required[0]
    assert blank.get_column(required[0]).to_list() == [None, "interviewee_id: required value missing"]


def test_a_source_every_row_of_which_is_accepted_is_staged_without_a_filter(tmp_path):
    """Staging a source with no rejected row and no duplicate copy does not filter its rows (nor count
    them by their fate); one with a rejected row does. Both give the rows and counts they gave."""
    from support_ingest import stage_talk_rows, talk

    def staged(rows):
        return stage_talk_rows(tmp_path, rows)

    clean = staged([talk("T1"), talk("T2")])
    assert "FILTER" not in clean.staged.explain(optimized=False)
    assert clean.staged.collect().get_column("talk_id").to_list() == ["T1", "T2"]
    assert clean.report.select("rows_read", "rows_accepted", "rows_rejected", "rows_duplicate").row(0) == (2, 2, 0, 0)
    bad = staged([talk("T1"), talk("T2", date="nonsense")])
    assert "FILTER" in bad.staged.explain(optimized=False)
    assert bad.staged.collect().get_column("talk_id").to_list() == ["T1"]
    assert bad.report.select("rows_read", "rows_accepted", "rows_rejected", "rows_duplicate").row(0) == (2, 1, 1, 0)


def test_a_referenced_key_set_is_read_once_per_staging(monkeypatch):
    """The distinct keys a reference is checked against are read once per target frame, scope and
    filter in a staging (``known``): personnel's ids are referenced by three columns of talks here,
    read once; without ``known`` once per source (its references' keys are read in one call). The
    reasons are the same."""
    src = SOURCES["talks"]
    rows = pl.LazyFrame(
        {
            "talk_id": ["T1", "T2"],
            "talk_date": [pl.date(2024, 5, 1), pl.date(2024, 5, 2)],
            "interviewer_id": ["P1", "P9"],
            "interviewee_id": ["P2", "P1"],
            "witness_id": [None, "P8"],
            "event_id": [None, None],
            quarantine.ORD: [0, 1],
        }
    ).with_columns(pl.col("talk_date").cast(pl.Date))
    checked = quarantine.Checked(src, rows, pl.Series(quarantine.ORD, [], pl.Int64), pl.DataFrame(schema={quarantine.ORD: pl.Int64, "reason": pl.String}))
    targets = {"personnel": pl.LazyFrame({"person_id": ["P1", "P2"], "year": [2024, 2024]}), "personnel_events": pl.LazyFrame({"event_id": ["E1"]})}
    reads = []
    original = quarantine._ref_keys_plan
    monkeypatch.setattr(quarantine, "_ref_keys_plan", lambda c, target: reads.append(c.name) or original(c, target))
    alone = quarantine.reference_problems(checked, targets)
    assert sorted(reads) == ["event_id", "interviewer_id"]  # within one source, each target's keys once
    reads.clear()
    known: quarantine.KnownKeys = {}
    shared = quarantine.reference_problems(checked, targets, known)
    again = quarantine.reference_problems(checked, targets, known)
    assert sorted(reads) == ["event_id", "interviewer_id"]  # the first column of each target, once
    assert all(a.equals(b) and a.equals(c) for a, b, c in zip(alone, shared, again))
    assert [p.get_column("reason").to_list() for p in alone if p.height] == [
        ['interviewer_id: no such person "P9" in personnel'],
        ['witness_id: no such person "P8" in personnel'],
    ]


def test_the_year_digest_feeds_each_rows_hash_little_endian():
    """The rows' hashes are fed to the digest in place: the bytes are each row's 64-bit hash, little
    endian, row after row — one hash a row (version 2), -0.0 still told from 0.0."""
    frame = pl.DataFrame({"a": [1, 2, None], "b": ["x", None, "z"], "f": [0.0, -0.0, 1.5]})
    hashes = digests._row_hashes(frame)
    assert hashes.dtype == pl.UInt64 and hashes.len() == 3 and hashes[0] != hashes[1]
    fed = hashlib.sha256()
    digests._update(fed, hashes)
    assert fed.hexdigest() == hashlib.sha256(struct.pack("<3Q", *hashes.to_list())).hexdigest()
    empty = hashlib.sha256()
    digests._update(empty, hashes.head(0))
    assert empty.hexdigest() == hashlib.sha256().hexdigest()


def _two_files_of_talks(tmp_path, first, second):
    """Two talks files read as one source (``SourceRead`` of both, parts under ``tmp_path``), checked
    and staged against a roster of P3 and an event E1: (the source as read, its ``Staged``)."""
    from support_ingest import HEADERS, write_csv

    src = SOURCES["talks"]
    landing = tmp_path / "landing"
    reads = []
    for i, rows in enumerate((first, second)):
        write_csv(landing / "talks" / f"{2023 + i}.csv", HEADERS["talks"], rows)
        out = tmp_path / f"parts-{i}"
        out.mkdir()
        reads.append(reader.read_file(src, landing / "talks" / f"{2023 + i}.csv", landing, tmp_path, out))
    source = reader.SourceRead("talks", reads, True)
    checked = quarantine.check_rows(src, source.rows())
    personnel = pl.LazyFrame({"person_id": ["P3"], "year": [2024]})
    events = pl.LazyFrame({"event_id": ["E1"]}, schema={"event_id": pl.String})
    return source, quarantine.stage_checked(checked, {"personnel": personnel, "personnel_events": events}, reader.files_frame(source.entries))


def test_the_rejected_rows_are_picked_by_file_and_row_number_among_files_sharing_row_numbers(tmp_path):
    """The rejected rows are read back by their row number and their position: of two files whose
    rows have the same row numbers, only the rejected rows are shown — each as read, with its own
    file, row number and reasons — and no row of the other file that shares a rejected row's number."""
    from support_ingest import talk

    _, staged = _two_files_of_talks(
        tmp_path,
        [talk("T1"), talk("T2", date="nonsense"), talk("T3")],
        [talk("T4"), talk("T5"), talk("T6", date="2024-13-01")],
    )
    rejected = staged.rejected.select("file", "row_number", "reasons", "raw")
    assert rejected.select("file", "row_number").rows() == [("talks/2023.csv", 3), ("talks/2024.csv", 4)]
    assert [r[0] for r in rejected.get_column("reasons").to_list()] == [
        'talk_date: cannot parse "nonsense" as a date',
        'talk_date: cannot parse "2024-13-01" as a date',
    ]
    raws = [json.loads(r) for r in rejected.get_column("raw")]
    assert [r["talk_id"] for r in raws] == ["T2", "T6"]
    assert [r["talk_date"] for r in raws] == ["nonsense", "2024-13-01"]
    assert staged.staged.collect().get_column("talk_id").to_list() == ["T1", "T3", "T4", "T5"]


def test_the_rejected_rows_scan_of_the_parts_filters_on_the_stored_row_number(tmp_path, monkeypatch):
    """The parts are scanned for the rejected rows with a filter on ``_row``, a column the parts
    store, beside ``_ord`` (a row index): the Parquet reader then decodes every other column only
    for the rows that pass, not for every row of every part."""
    from support_ingest import talk

    seen = []
    original = quarantine.rows_as_read
    monkeypatch.setattr(quarantine, "rows_as_read", lambda src, rows: seen.append(rows) or original(src, rows))
    _two_files_of_talks(tmp_path, [talk("T1"), talk("T2", date="nonsense")], [talk("T3")])
    (rows,) = seen
    scans = [line for line in rows.explain().splitlines() if "SELECTION" in line]
    assert scans and all('col("_row")' in line and '"_ord"' in line for line in scans)
