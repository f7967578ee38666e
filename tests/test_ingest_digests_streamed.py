"""The staged tables' year digests are computed from the rows as the IO manager writes them
(``pipelines.io_manager.Streamed``, ``lianjian.ingest.digests.YearDigests``), not by reading the staged
file back: the same digests, the same file."""

from __future__ import annotations

import hashlib
from datetime import date

import dagster as dg
import polars as pl
import pytest

from lianjian.contract import SOURCES
from lianjian.ingest.digests import YearDigests, table_digests
from pipelines.io_manager import Streamed, WarehouseIOManager, write_parquet_atomic
from pipelines.resources import LianjianSettings


def _talks(n: int) -> pl.DataFrame:
    """``n`` rows whose years interleave (2023, 2024, none), with a float column holding -0.0."""
    years = [date(2023, 5, 1), date(2024, 1, 2), None]
    return pl.DataFrame(
        {
            "talk_date": [years[i % 3] for i in range(n)],
            "x": [(-0.0 if i % 5 == 0 else float(i)) for i in range(n)],
            "y": [None if i % 7 == 0 else f"v{i}" for i in range(n)],
        }
    )


def test_each_gets_every_row_written_in_order_and_the_file_is_the_plain_writes(tmp_path, monkeypatch):
    """Batches of 4 rows (the limit lowered) of a lazy frame over a file of several row groups: ``each``
    sees every row once, in the stored order, and the file has the bytes of the write without it."""
    monkeypatch.setattr("pipelines.io_manager.STREAMED_BATCH_ROWS", 4)
    _talks(23).write_parquet(tmp_path / "in.parquet", row_group_size=5)
    lazy = pl.scan_parquet(tmp_path / "in.parquet").with_columns(z=pl.col("x") * 2)
    seen: list[pl.DataFrame] = []
    rows = write_parquet_atomic(lazy, tmp_path / "streamed.parquet", each=seen.append)
    write_parquet_atomic(lazy, tmp_path / "plain.parquet")
    assert rows == 23
    assert max(b.height for b in seen) <= 4 and len(seen) >= 6
    assert pl.concat(seen).equals(lazy.collect())
    digest = lambda p: hashlib.sha256(p.read_bytes()).hexdigest()  # noqa: E731
    assert digest(tmp_path / "streamed.parquet") == digest(tmp_path / "plain.parquet")


def test_year_digests_of_the_rows_as_written_are_the_files(tmp_path, monkeypatch):
    """``YearDigests`` fed the batches as the table is written gives what ``table_digests`` reads from
    the file: each year's rows in order, whatever the batches (years interleaved within them)."""
    monkeypatch.setattr("pipelines.io_manager.STREAMED_BATCH_ROWS", 4)
    _talks(31).write_parquet(tmp_path / "in.parquet", row_group_size=6)
    lazy = pl.scan_parquet(tmp_path / "in.parquet")
    fed = YearDigests(SOURCES["talks"], lazy.collect_schema())
    write_parquet_atomic(lazy, tmp_path / "t.parquet", each=fed.add)
    got = fed.result()
    assert list(got) == ["2023", "2024", "none"]
    assert got == table_digests(SOURCES["talks"], tmp_path / "t.parquet")
    empty = YearDigests(SOURCES["talks"], lazy.collect_schema())
    write_parquet_atomic(lazy.head(0), tmp_path / "e.parquet", each=empty.add)
    assert empty.result() == {} == table_digests(SOURCES["talks"], tmp_path / "e.parquet")


def test_the_io_manager_writes_a_streamed_table_and_hands_its_rows_over(tmp_path):
    settings = LianjianSettings(warehouse=str(tmp_path / "wh"), landing=str(tmp_path / "landing"))
    manager = WarehouseIOManager(settings=settings)
    frame = _talks(10)
    seen: list[pl.DataFrame] = []
    context = dg.build_output_context(asset_key=dg.AssetKey(["staged", "talks"]))
    streamed = Streamed(frame.lazy(), seen.append)
    manager.handle_output(context, streamed)
    assert pl.read_parquet(tmp_path / "wh" / "staged" / "talks.parquet").equals(frame)
    assert pl.concat(seen).equals(frame)
    # written: the value a run keeps until it ends (execute_in_process) no longer holds the rows
    assert streamed.frame is None and streamed.each is None
    partitioned = dg.build_output_context(asset_key=dg.AssetKey(["derived", "x"]), partition_key="2024")
    with pytest.raises(TypeError, match="streamed"):
        manager.handle_output(partitioned, Streamed(frame.lazy(), seen.append))
