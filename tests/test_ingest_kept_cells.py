"""The checked parts keep a cell as read only where its typed value does not give it back
(lianjian/ingest/quarantine.py ``as_text``, ``rows_as_read``; docs/performance.md "Reading for less"):
the rows as read are the same as before, every rejected row — rejected by its own checks, as a
conflicting duplicate or by a reference — is shown exactly as read, and the parts hold nothing for
the cells the typed values write back."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import polars as pl
from hypothesis import given, settings
from hypothesis import strategies as st
from support_ingest import BASE, HEADERS, write_landing

from lianjian.contract import SOURCES
from lianjian.ingest import DateBounds, ingest_landing, iter_landing, quarantine, reader, text

DATES = DateBounds(date(2000, 1, 1), date(2026, 12, 31))

#: talks: T3 as a landing file most often writes it; T4 in other spellings (slashes, 是, padding,
#: full-width digits) — both accepted; T5 and T6 rejected by a reference (P9 is nobody), the second
#: with cells the typed values do not write back; T7 rejected by its own checks (a bad date).
TALKS = BASE["talks"] + [
    ["T3", "2024-05-06", "family", "", "P3", "", "", "", "true", "false"],
    [" T4 ", "2024/5/6", "family", "", "P3", "", "", "", "是", "Y"],
    ["T5", "2024-05-07", "family", "", "P9", "", "", "", "true", ""],
    ["T6\u3000", "2024/5/8", "family", "", "Ｐ9", "", "", "", "是", "否"],
    ["T7", "2024-13-01", "family", "", "P3", "", "", "", "yes", ""],
]


def _zone(root: Path) -> Path:
    return write_landing(root, {"talks": TALKS})


def _read_talks(landing: Path, tmp: Path):
    (tmp / "t").mkdir(exist_ok=True)
    return {r.name: r for r in iter_landing(landing, tmp / "t", [], DATES)}["talks"]


def test_parts_keep_only_the_cells_their_typed_value_does_not_give_back(tmp_path):
    landing = _zone(tmp_path / "landing")
    talks = _read_talks(landing, tmp_path)
    part = pl.read_parquet(talks.files[0].parts)
    kept = {c: part.get_column(quarantine.RAW + c).to_list() for c in ("talk_id", "talk_date", "interviewee_id", "form_filed", "family_signed")}
    # rows: T1 T2 T3 T4 T5 T6 T7 (BASE's T1 and T2 write 是 for form_filed)
    assert kept["talk_id"] == [None, None, None, " T4 ", None, "T6\u3000", None]
    assert kept["talk_date"] == [None, None, None, "2024/5/6", None, "2024/5/8", "2024-13-01"]
    assert kept["interviewee_id"] == [None, None, None, None, None, "Ｐ9", None]
    assert kept["form_filed"] == ["是", "是", None, "是", None, "是", "yes"]
    assert kept["family_signed"] == ["是", None, None, "Y", None, "否", None]


def test_rows_as_read_are_the_cells_as_read(tmp_path):
    landing = _zone(tmp_path / "landing")
    talks = _read_talks(landing, tmp_path)
    frame = talks.frame.collect()
    assert frame.columns == list(reader.raw_schema(SOURCES["talks"]))
    as_read = [[v if v != "" else None for v in row] for row in TALKS]
    got = frame.select(HEADERS["talks"]).rows()
    assert [list(r) for r in got] == as_read
    assert frame.get_column("_row").to_list() == list(range(2, 2 + len(TALKS)))


def test_every_rejected_row_is_shown_as_read(tmp_path):
    landing = _zone(tmp_path / "landing")
    res = ingest_landing(landing, DATES)
    rejected = {r["row_number"]: r for r in res.rejected.to_dicts() if r["source"] == "talks"}
    assert sorted(rejected) == [6, 7, 8]  # T5, T6 (references), T7 (its own date)
    for row in (6, 7, 8):
        want = {h: v for h, v in zip(HEADERS["talks"], TALKS[row - 2]) if v != ""}
        assert json.loads(rejected[row]["raw"]) == {h: want.get(h) for h in HEADERS["talks"]}
    assert any("interviewee_id" in r for r in rejected[7]["reasons"])
    assert any("talk_date" in r for r in rejected[8]["reasons"])
    assert res.staged["talks"].get_column("talk_id").to_list() == ["T1", "T2", "T3", "T4"]


@settings(max_examples=200, deadline=None)
@given(st.lists(st.one_of(st.none(), st.text(alphabet=" \t\u3000\u00a0\ufeffａＡ１！～aZ9-中", max_size=6)), max_size=20))
def test_clean_series_is_clean(cells):
    """``text.clean_series`` (no full-width replacement when no cell needs one) gives ``clean``'s values."""
    s = pl.Series("c", cells, dtype=pl.String)
    assert text.clean_series(s).to_list() == pl.select(text.clean(pl.lit(s))).to_series().to_list()


def _decodes(monkeypatch) -> list[bytes]:
    """The chunks the UTF-8 check decodes (``reader._hash_and_encoding``), 4 bytes at a time."""
    import codecs as real

    seen: list[bytes] = []

    class Spy:
        @staticmethod
        def getincrementaldecoder(name):
            cls = real.getincrementaldecoder(name)

            class Decoder(cls):
                def decode(self, data, final=False):
                    seen.append(bytes(data))
                    return super().decode(data, final)

            return Decoder

    monkeypatch.setattr(reader, "codecs", Spy)
    monkeypatch.setattr(reader, "CHUNK", 4)
    return seen


def test_utf8_check_skips_ascii_chunks_and_still_finds_every_encoding(tmp_path, monkeypatch):
    """Chunks of 4 bytes: an ASCII chunk with no character left open before it is not decoded; a
    character split across chunks, an ASCII chunk after an unfinished character, a file ending in
    one, and GB18030 bytes are all told right, with the file's sha256."""
    import hashlib

    seen = _decodes(monkeypatch)
    cases = {
        "ascii.csv": (b"abcdefgh,ij\n", "utf-8"),
        "split.csv": ("ab中文cdef,中\n".encode("utf-8"), "utf-8"),
        "open_then_ascii.csv": (b"abc\xe4abcdefgh", "gb18030"),
        "ends_open.csv": (b"abcdefg\xe4", "gb18030"),
        "gb.csv": ("abcd中文,efgh\n".encode("gb18030"), "gb18030"),
    }
    for name, (data, encoding) in cases.items():
        path = tmp_path / name
        path.write_bytes(data)
        seen.clear()
        assert reader._hash_and_encoding(path) == (hashlib.sha256(data).hexdigest(), encoding), name
        if name == "ascii.csv":
            assert [c for c in seen if c] == []  # nothing decoded but the final check
        if name == "split.csv":
            # ab中 | 文 | cdef (ASCII, nothing open: skipped) | ,中 | \n (skipped) | the final check
            assert seen == [b"ab\xe4\xb8", b"\xad\xe6\x96\x87", b",\xe4\xb8\xad", b""]


def test_rows_of_blank_or_space_cells_are_skipped(tmp_path):
    """A row whose every cell is empty or only spaces (ASCII, full-width, NBSP, BOM) is no record."""
    talks = BASE["talks"] + [["", " ", "\u3000", "\u00a0", "\ufeff \t", "", "", "", "", ""], ["T3 ", "2024-05-06", "family", "", "P3", "", "", "", "", ""]]
    landing = write_landing(tmp_path / "landing", {"talks": talks})
    read = _read_talks(landing, tmp_path)
    assert read.frame.collect().get_column("_row").to_list() == [2, 3, 5]


#: A column of each kind, and cells for it: written as a landing file most often writes them, and not.
COLUMNS = {
    ("talks", "talk_date"): ["2024-03-05", "2021-12-31", "2000-01-01", "2024/3/5", " 2024-03-05", "2024-02-30", "1999-12-31", "20240305"],
    ("talks", "form_filed"): ["true", "false", "是", "TRUE", "0", "maybe"],
    ("talks", "talk_type"): ["family", "department", "nonsense", " family", "Family"],
    ("talks", "talk_id"): ["T1", "T2", "Ｔ3", " T4", "T\x005"],
    ("personnel", "year"): ["2024", "2021", "-3", "2024.0", "０2024", "x", "007"],
    ("reviews", "score"): ["90.5", "88", "100.0", "1e2", "-0.0", "abc", "3.25"],
    ("democratic_votes", "votes_good"): ["0", "12", "-1", "5.0", "+7"],
}


@settings(max_examples=60, deadline=None)
@given(st.data())
def test_columns_written_as_is_parse_as_the_general_path_does(data):
    """A by-value column whose every distinct cell is written as is takes the short path
    (``from_text``); the values, reasons and kept cells are those of the general path, for every
    kind, with and without such cells, nulls included."""
    import pytest

    for (source, name), pool in COLUMNS.items():
        c = SOURCES[source].column(name)
        cells = data.draw(st.lists(st.one_of(st.none(), st.sampled_from(pool)), max_size=12), label=name)
        raw = pl.Series(name, cells, dtype=pl.String)
        fast = quarantine._parse_column(c, raw, unique=False, dates=DATES)
        with pytest.MonkeyPatch.context() as mp:
            mp.setattr(quarantine, "_written_as_is", lambda parsed: False)
            slow = quarantine._parse_column(c, raw, unique=False, dates=DATES)
        for a, b in zip(fast, slow):
            assert a.dtype == b.dtype and a.to_list() == b.to_list(), (name, cells)


def test_columns_written_as_is_take_the_short_path(monkeypatch):
    """Cells a landing file writes as the typed values read back are not mapped value by value."""
    calls = []
    real = quarantine._written_as_is
    monkeypatch.setattr(quarantine, "_written_as_is", lambda parsed: calls.append(real(parsed)) or calls[-1])
    c = SOURCES["talks"].column("talk_date")
    quarantine._parse_column(c, pl.Series(["2024-03-05", None, "2024-03-06"], dtype=pl.String), unique=False, dates=DATES)
    quarantine._parse_column(c, pl.Series(["2024-03-05", "2024/3/6"], dtype=pl.String), unique=False, dates=DATES)
    assert calls == [True, False]


def test_only_rows_whose_first_cell_is_blank_are_tested_cell_by_cell(tmp_path):
    """Reading a file without unknown columns, a row's cells are all tested for blankness only when
    its first key cell is blank (``_f0``, then ``drop_blank`` batch by batch); a blank key with
    another cell filled — the personal column included, tested as read since it is masked whole —
    keeps the row (rejected for its missing key), a row of spaces is no record."""
    personnel = [
        ["2024", "P1", "张一", "", "U1", "", "chief", "是", "是", "active", ""],
        ["", " ", "", "  ", "", "", "", "", "", "", ""],  # row 3: spaces only, the identity number too
        ["", "", "", "11010519491231002X", "", "", "", "", "", "", ""],  # row 4: only an identity number
        ["", "", "", "", "", "", "", "", "", "2024-01-01", "\u3000"],  # row 5: a date, no key
    ]
    landing = write_landing(tmp_path / "landing", {"personnel": personnel})
    src = SOURCES["personnel"]
    (tmp_path / "t").mkdir()
    opened = reader._open_file(src, landing / "personnel.csv", landing, tmp_path / "t", None)
    _, rows, _, drop_blank = opened
    lazy = rows().collect()
    assert "_f0" in lazy.columns and "_pf_id_number" in lazy.columns
    assert lazy.get_column("_f0").to_list() == [True, False, False, False]  # the year: personnel's first key
    kept = drop_blank(lazy)
    assert kept.columns == list(reader.raw_schema(src))
    assert kept.get_column("_row").to_list() == [2, 4, 5]
    assert "11010519491231002X" not in str(kept.rows())
