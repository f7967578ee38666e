"""Seeds derived per (seed, stream, unit, year): chunks of units are generated independently, so the
files do not depend on chunk size or order of work, and one source can change without moving others."""

from __future__ import annotations

import zlib

import numpy as np


def rng_for(seed: int, stream: str, unit: int = 0, year: int = 0) -> np.random.Generator:
    """A numpy Generator for one stream (e.g. "cases") of one unit and year."""
    return np.random.default_rng([seed & 0xFFFFFFFF, zlib.crc32(stream.encode()), unit, year])
