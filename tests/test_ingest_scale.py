"""Staging in bounded memory (issue 6): a source is checked in chunks of CHUNK_ROWS rows, then
duplicates and references over the whole source. The outcome must not depend on the chunk size:
duplicates and references that cross chunk boundaries behave exactly as within one chunk."""

from __future__ import annotations

import hypothesis.strategies as st
import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from support_ingest import BASE, ingest, person, reasons_by_row, report_row, rows, talk, write_landing

from lianjian.ingest import quarantine


def _landing(root):
    # talks rows 2..3 are BASE (T1, T2); then, each in its own chunk when CHUNK_ROWS = 1:
    extra = [
        talk(tid="T2", date="2024/4/1", kind="部门领导谈话", interviewer="P2", filed="Y"),  # row 4: exact copy of T2
        talk(tid="T1", date="2024-03-06", kind="family", filed="是", signed="是"),  # row 5: T1 differs (date)
        talk(tid="T7", date="2024-05-01", interviewee="P3", filed=""),  # row 6: form_filed blank (required)
        talk(tid="T8", date="2024-05-01", interviewee="P9"),  # row 7: no such person P9 in personnel
        talk(tid="T9", date="not a date " + "x" * 70, filed="是"),  # row 8 and 9: same key, both unparseable,
        talk(tid="T9", date="not a date " + "x" * 70 + "y", filed="是"),  # different beyond the 60 echoed chars
    ]
    units = BASE["units"] + [["U3", "三院", "county", "U9"]]  # parent U9: no such unit (self-reference)
    return write_landing(root, {"talks": rows("talks", *extra), "units": units})


def _same(a, b):
    for name in a.staged:
        assert a.staged[name].equals(b.staged[name]), name
    assert a.rejected.equals(b.rejected)
    assert a.report.equals(b.report)


def test_duplicates_and_references_across_chunks(tmp_path, monkeypatch):
    root = _landing(tmp_path)
    whole = ingest(root)
    monkeypatch.setattr(quarantine, "CHUNK_ROWS", 1)  # every row its own chunk
    one_by_one = ingest(root)
    _same(whole, one_by_one)
    # worked out by hand from CONTRACT.md §2 / docs/ingest.md:
    # read 8 talks rows = accepted 1 (T2, row 3) + rejected 6 (rows 2, 5, 6, 7, 8, 9) + duplicate 1 (row 4)
    r = report_row(one_by_one, "talks.csv")
    assert (r["rows_read"], r["rows_accepted"], r["rows_rejected"], r["rows_duplicate"]) == (8, 1, 6, 1)
    assert one_by_one.staged["talks"]["talk_id"].to_list() == ["T2"]
    why = reasons_by_row(one_by_one)
    assert why[("talks.csv", 2)] == ["talk_id: conflicting duplicates"]
    assert why[("talks.csv", 5)] == ["talk_id: conflicting duplicates"]
    assert why[("talks.csv", 6)] == ["form_filed: required value missing"]
    assert why[("talks.csv", 7)] == ['interviewee_id: no such person "P9" in personnel']  # no ref_scope on talks
    # the two T9 rows differ (beyond the echoed 60 characters), so they also conflict
    echo = 'talk_date: cannot parse "' + ("not a date " + "x" * 70)[:60] + '…" as a date'
    assert why[("talks.csv", 8)] == [echo, "talk_id: conflicting duplicates"]
    assert why[("talks.csv", 9)] == [echo, "talk_id: conflicting duplicates"]
    assert why[("units.csv", 4)] == ['parent_code: no such unit_code "U9" in units']


def test_blank_flag_and_explicit_default_are_not_the_same_content(tmp_path, monkeypatch):
    # is_party_secretary has default false; a blank cell and an explicit 否 are different as read, so
    # two rows of one person-year that differ only there are conflicting, not exact, duplicates.
    twin = person(pid="P4", dept="D2", pos="clerk", sec="否", quota="否")
    monkeypatch.setattr(quarantine, "CHUNK_ROWS", 2)
    result = ingest(write_landing(tmp_path, {"personnel": rows("personnel", twin)}))
    why = reasons_by_row(result)
    assert why[("personnel.csv", 5)] == ["year+person_id: conflicting duplicates"]
    assert why[("personnel.csv", 6)] == ["year+person_id: conflicting duplicates"]
    # and the default still fills the accepted rows: P3's blank is False
    staged = result.staged["personnel"]
    assert staged.filter(pl.col("person_id") == "P3")["is_party_secretary"].to_list() == [False]


@pytest.fixture(scope="module")
def landing_and_whole(tmp_path_factory):
    root = _landing(tmp_path_factory.mktemp("scale"))
    return root, ingest(root)


@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(chunk=st.integers(min_value=1, max_value=9))
def test_chunk_size_never_changes_the_outcome(landing_and_whole, chunk):
    root, whole = landing_and_whole
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(quarantine, "CHUNK_ROWS", chunk)
        _same(whole, ingest(root))
