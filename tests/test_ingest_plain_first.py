"""A short text column parsed by distinct value is first tested whole for cells cleaning would change
(``quarantine._parse_column``, ``PLAIN_FIRST_ROWS``; docs/performance.md, "The staging step's small
files read together"): the cleaned text, typed value, reasons and kept cells are those of its table of
distinct values, whatever the cells."""

from __future__ import annotations

import polars as pl
from hypothesis import given, settings
from hypothesis import strategies as st

from lianjian.contract import SOURCES
from lianjian.ingest import quarantine

CELLS = st.lists(
    st.one_of(
        st.none(),
        st.sampled_from(["P1", "P2", "U-1", "a b", " P3", "P4 ", "", "\u3000P5", "Ｐ６", "P\x007", "../x", "张三", "P1\u00a0"]),
        st.text(alphabet="Pp0129-_ .Ｐ１\u3000\x00张", max_size=6),
    ),
    max_size=40,
)

#: A reference column without a pattern, and a column with one, each parsed by distinct value.
COLUMNS = [SOURCES["talks"].column("interviewee_id"), SOURCES["units"].column("unit_code")]


@settings(max_examples=150, deadline=None)
@given(cells=CELLS, which=st.sampled_from([0, 1]))
def test_a_short_text_column_tested_whole_first_parses_as_by_its_distinct_values(cells, which):
    c = COLUMNS[which]
    raw = pl.Series(c.name, cells, dtype=pl.String)
    assert len(cells) <= quarantine.PLAIN_FIRST_ROWS
    first = quarantine._parse_column(c, raw, unique=False)
    saved, quarantine.PLAIN_FIRST_ROWS = quarantine.PLAIN_FIRST_ROWS, -1
    try:
        table = quarantine._parse_column(c, raw, unique=False)
    finally:
        quarantine.PLAIN_FIRST_ROWS = saved
    for a, b in zip(first, table):
        assert a.dtype == b.dtype and a.to_list() == b.to_list()


def test_a_plain_short_column_is_not_parsed_by_a_table_of_distinct_values(monkeypatch):
    """Plain cells (no space around them, no full-width form, no NUL, none empty): the column is its
    own cleaned text and typed value, with no distinct-value table built; a cell with a space is not
    plain, and the table gives its cleaned text and keeps the cell as read."""
    built: list[int] = []
    real = quarantine.text.clean_series
    monkeypatch.setattr(quarantine.text, "clean_series", lambda s: built.append(s.len()) or real(s))
    c = COLUMNS[0]
    v, t, r, k = quarantine._parse_column(c, pl.Series(c.name, ["P1", "P2", None, "P1"]), unique=False)
    assert built == [] and t.to_list() == ["P1", "P2", None, "P1"] and r.null_count() == 4 and k.null_count() == 4
    v, t, r, k = quarantine._parse_column(c, pl.Series(c.name, ["P1", " P2", None, "P1"]), unique=False)
    assert built == [2] and t.to_list() == ["P1", "P2", None, "P1"] and k.to_list() == [None, " P2", None, None]
