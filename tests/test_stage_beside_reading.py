"""Staging beside reading (docs/performance.md, "Staging beside reading"): the landing zone is read in
a background thread (``read_ahead``) while the sources already read are staged, in an order where a
source can be staged as soon as it is read (``reference_order`` = declaration order); duplicates are
found from 64-bit hashes of the keys, compared exactly afterwards. The result is the staging of the
same zone source after source: same staged tables, rejected rows and report."""

from __future__ import annotations

import threading
import time

import polars as pl
import pytest
from support_ingest import talk, write_landing

from lianjian.contract import SOURCES
from lianjian.errors import FatalError
from lianjian.ingest import ingest_landing, iter_landing, read_ahead, reference_order, stage_sources, upstream
from lianjian.ingest import quarantine
from lianjian.ingest.quarantine import ORD


def test_the_staging_order_is_the_reading_order():
    """Every source can be staged once it is read: the sources it is checked against come before it,
    but for personnel, which takes the departments' candidates (read right after it)."""
    assert reference_order() == list(SOURCES)
    for name in SOURCES:
        before, after = upstream(name)
        assert all(list(SOURCES).index(t) < list(SOURCES).index(name) for t in before)
        assert after == ({"departments"} if name == "personnel" else set())


def test_a_source_is_staged_before_the_later_sources_are_read(tmp_path):
    landing = write_landing(tmp_path / "landing")
    events: list[str] = []

    def reads():
        for read in iter_landing(landing, tmp_path, [], None):
            events.append(f"read {read.name}")
            yield read

    staged = {}
    for name, res in stage_sources(reads(), on_read=lambda r: events.append(f"taken {r.name}")):
        events.append(f"staged {name}")
        staged[name] = res.staged.collect()
    assert events.index("staged units") < events.index("read personnel")
    # personnel waits for the departments' candidates, then is staged before talks is read
    assert events.index("read departments") < events.index("staged personnel") < events.index("read talks")
    assert events.index("staged talks") < events.index("read cases")
    assert [e for e in events if e.startswith("taken ")] == [f"taken {n}" for n in SOURCES]
    whole = ingest_landing(landing)
    assert set(staged) == set(SOURCES)
    for name in SOURCES:
        assert staged[name].equals(whole.staged[name])


def test_read_ahead_reads_in_another_thread_and_raises_its_errors_in_the_caller():
    threads = []

    def reads():
        threads.append(threading.current_thread())
        yield "first"
        raise FatalError("talks/2024.csv: 无法读取文件")

    ahead = read_ahead(reads())
    assert next(ahead) == "first"
    with pytest.raises(FatalError, match="talks/2024.csv"):
        next(ahead)
    assert threads and threads[0] is not threading.current_thread()
    assert not threads[0].is_alive()


def test_read_ahead_stops_reading_when_the_caller_stops():
    produced = []

    def reads():
        for i in range(20):
            produced.append(i)
            yield i
            time.sleep(0.2)

    ahead = read_ahead(reads())
    assert next(ahead) == 0
    ahead.close()  # returns once reading has stopped
    assert len(produced) < 20
    count = len(produced)
    time.sleep(0.3)
    assert len(produced) == count


def test_key_hashes_find_every_row_sharing_a_key():
    rows_ = pl.LazyFrame({"k": ["a", "b", "a", None, None, "c", "d", "d"], ORD: list(range(8))})
    assert sorted(quarantine._key_hash_duplicates(rows_, ["k"]).to_list()) == [0, 2, 3, 4, 6, 7]
    pair = pl.LazyFrame({"y": [2024, 2024, 2025, 2024], "k": ["a", "a", "a", "b"], ORD: [0, 1, 2, 3]})
    assert sorted(quarantine._key_hash_duplicates(pair, ["y", "k"]).to_list()) == [0, 1]
    assert quarantine._key_hash_duplicates(pair.head(0), ["y", "k"]).len() == 0


def test_rows_whose_keys_only_hash_alike_are_not_duplicates(tmp_path, monkeypatch):
    """Every key hashing alike (as if all collided): the duplicates are still those of the keys
    themselves — compared exactly after the hashes."""
    landing = write_landing(
        tmp_path / "landing",
        {"talks": [talk("T1"), talk("T1"), talk("T3", date="2024-06-01"), talk("T3", date="2024-06-02")]},
    )
    expected = ingest_landing(landing)
    assert expected.report.filter(pl.col("source") == "talks")["rows_duplicate"].sum() == 1
    monkeypatch.setattr(
        quarantine, "_key_hash_duplicates", lambda rows, key: rows.select(ORD).collect().get_column(ORD)
    )
    collided = ingest_landing(landing)
    assert collided.report.equals(expected.report)
    assert collided.rejected.equals(expected.rejected)
    for name in SOURCES:
        assert collided.staged[name].equals(expected.staged[name])
