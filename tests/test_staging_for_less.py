"""Staging for less (docs/performance.md, "Staging for less: landing files hashed a mebibyte at a
time, Polars' allocator keeping its pages 5 s"): work the reading no longer does, shown not done —
and what is read is what it was."""

from __future__ import annotations

import hashlib
import io

from lianjian.ingest import reader


class _Spied:
    """A landing file whose reads are recorded (``_hash_and_encoding`` opens ``path.open("rb")``)."""

    def __init__(self, data: bytes):
        self.data = data
        self.sizes: list[int] = []

    def open(self, mode: str):
        assert mode == "rb"
        spied = self

        class _File(io.BytesIO):
            def read(self, n=-1):
                spied.sizes.append(n)
                return super().read(n)

        return _File(self.data)


def test_a_landing_file_is_hashed_in_blocks_of_at_most_a_mebibyte():
    """A 5 MiB file is read a mebibyte at a time (16 MiB blocks were hashed from main memory, each a
    fresh allocation), and its SHA-256 and encoding are those of the whole file."""
    data = ("编号,日期\n" + "A1,2024-05-01\n" * 400_000).encode("utf-8")
    spied = _Spied(data)
    assert reader._hash_and_encoding(spied) == (hashlib.sha256(data).hexdigest(), "utf-8")
    assert max(spied.sizes) <= 1 << 20
    assert len(spied.sizes) > len(data) >> 20
    spied = _Spied(data + "乙".encode("gb18030"))
    assert reader._hash_and_encoding(spied)[1] == "gb18030"
