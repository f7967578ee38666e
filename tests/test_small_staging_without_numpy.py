"""A small zone's staging does not import numpy in the run's main process (docs/performance.md,
"Staging a small zone without numpy"): its duplicate keys' hashes are found by Polars and its year
digests fed through a Python ``array`` while numpy is not imported — importing it cost ≈ 0.1 s
beside the suite worker's start. A large source or batch still goes through numpy, with the same
results."""

from __future__ import annotations

import hashlib
import subprocess
import sys
from pathlib import Path

import polars as pl
import pytest
from polars.testing import assert_series_equal

from lianjian.contract import SOURCES
from lianjian.ingest import digests, quarantine, reader
from support_ingest import write_landing

ROOT = Path(__file__).resolve().parents[1]

SCRIPT = """
import sys
from pathlib import Path
import polars as pl
from lianjian.contract import SOURCES
from lianjian.ingest import ingest_landing, quarantine
from lianjian.ingest.digests import YearDigests, frame_digest
assert "numpy" not in sys.modules
result = ingest_landing(Path(sys.argv[1]))
for name, frame in result.staged.items():
    digests = YearDigests(SOURCES[name], frame.schema)
    digests.add(frame)
    digests.result()
    frame_digest(frame)
keys = pl.DataFrame({"a": ["k1", "k2", "k1"], quarantine.ORD: [0, 1, 2]}).lazy()
print(sorted(quarantine._key_hash_duplicates(keys, ["a"]).to_list()))
print(sum(f.height for f in result.staged.values()) > 0, "numpy" in sys.modules)
"""


def test_a_small_zone_is_staged_and_its_year_digests_computed_without_numpy(tmp_path):
    landing = write_landing(tmp_path / "landing")
    out = subprocess.run(
        [sys.executable, "-c", SCRIPT, str(landing)],
        cwd=ROOT, capture_output=True, text=True, check=True, env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"},
    ).stdout.splitlines()
    assert out == ["[0, 2]", "True False"]


def _hashes(n: int) -> pl.Series:
    return pl.Series("x", range(n), dtype=pl.UInt64).hash(3)


def test_a_small_batchs_row_hashes_feed_the_digest_the_bytes_numpy_gives(monkeypatch):
    """``_update`` through ``array`` and through numpy: the same little-endian bytes, so the same
    digests (the 64-bit extremes among them)."""
    hashes = pl.concat([_hashes(1000), pl.Series("x", [0, 1, 2**63, 2**64 - 1], dtype=pl.UInt64)])
    expected = hashlib.sha256(b"".join(v.to_bytes(8, "little") for v in hashes.to_list())).hexdigest()
    monkeypatch.setattr(digests, "_numpy_imported", lambda: False)
    small = hashlib.sha256()
    digests._update(small, hashes)
    monkeypatch.setattr(digests, "ARRAY_ROWS", 0)
    large = hashlib.sha256()
    digests._update(large, hashes)
    monkeypatch.setattr(digests, "ARRAY_ROWS", 65_536)
    monkeypatch.setattr(digests, "_numpy_imported", lambda: True)  # numpy there: through numpy
    loaded = hashlib.sha256()
    digests._update(loaded, hashes)
    assert small.hexdigest() == large.hexdigest() == loaded.hexdigest() == expected


def test_the_year_digests_of_a_table_are_the_same_by_either_path(monkeypatch):
    frame = pl.DataFrame({"talk_id": [f"T{i}" for i in range(300)], "talk_date": [None] * 300})
    src = SOURCES["talks"]
    frame = pl.DataFrame({c: frame.get_column(c) if c in frame.columns else None for c in src.staged_schema()})
    frame = frame.cast(src.staged_schema())
    monkeypatch.setattr(digests, "_numpy_imported", lambda: False)
    small = digests.YearDigests(src, frame.schema)
    small.add(frame)
    monkeypatch.setattr(digests, "ARRAY_ROWS", 10)
    large = digests.YearDigests(src, frame.schema)
    large.add(frame)
    assert small.result() == large.result()


def test_the_shared_key_hashes_are_the_same_found_by_polars_or_by_numpy(monkeypatch):
    """``_key_hash_duplicates`` of the same rows under and over ``SORTED_BY_POLARS``: the same rows."""
    n = 5000
    keys = pl.DataFrame(
        {
            "a": [f"k{i % 1500}" if i % 7 else None for i in range(n)],
            "b": [i % 3 for i in range(n)],
            quarantine.ORD: list(range(n)),
        }
    ).lazy()
    found = {k: sorted(quarantine._key_hash_duplicates(keys, list(k)).to_list()) for k in (("a",), ("a", "b"))}
    monkeypatch.setattr(quarantine, "SORTED_BY_POLARS", 0)
    assert {k: sorted(quarantine._key_hash_duplicates(keys, list(k)).to_list()) for k in found} == found
    assert found[("a",)] and found[("a", "b")]


@pytest.mark.parametrize("heights", [[34] * 61, [5000], [3000, 0, 2000], [0], [], [0, 0, 3], [70_000, 5]])
def test_each_rows_file_is_the_same_from_a_list_or_from_polars(monkeypatch, heights):
    """``_file_of_rows``: a small zone's column built from a Python list is the one Polars builds
    (files without rows among them)."""
    listed = reader._file_of_rows(heights)
    monkeypatch.setattr(reader, "FILE_OF_ROWS_LISTED", -1)
    by_polars = reader._file_of_rows(heights)
    assert_series_equal(listed, by_polars)
    assert listed.to_list() == [i for i, n in enumerate(heights) for _ in range(n)]
