"""Writing the landing zone.

StreamSink (county … national): plain UTF-8 CSV, English headers, codes; ``units.csv`` and one file
per source and year (``cases/2023.csv``), appended chunk by chunk.

CollectSink (demo): keeps the small dataset, applies the rare-path scenarios and the deliberately
bad rows, and writes the file formats real records offices export (lianjian.generate.formats).
"""

from __future__ import annotations

from pathlib import Path

import polars as pl

from lianjian.generate.profiles import Profile


class StreamSink:
    def __init__(self, out: Path):
        self.out = out
        self.handles: dict[Path, object] = {}
        self.rows: dict[str, int] = {}
        out.mkdir(parents=True, exist_ok=True)

    def add(self, source: str, df: pl.DataFrame, year: int | None) -> None:
        path = self.out / (f"{source}.csv" if year is None else f"{source}/{year}.csv")
        fh = self.handles.get(path)
        if fh is None:
            path.parent.mkdir(parents=True, exist_ok=True)
            fh = self.handles[path] = open(path, "wb")
            df.write_csv(fh, include_header=True)
        elif df.height:
            df.write_csv(fh, include_header=False)
        self.rows[source] = self.rows.get(source, 0) + df.height

    def close(self) -> dict[str, int]:
        for fh in self.handles.values():
            fh.close()
        self.handles.clear()
        return dict(self.rows)


class CollectSink:
    def __init__(self, out: Path, profile: Profile, years: list[int], seed: int):
        self.out, self.profile, self.years, self.seed = out, profile, years, seed
        self.frames: dict[str, list[pl.DataFrame]] = {}

    def add(self, source: str, df: pl.DataFrame, year: int | None) -> None:
        self.frames.setdefault(source, []).append(df)

    def close(self) -> dict[str, int]:
        from lianjian.generate import formats, scenarios

        frames = {s: pl.concat(parts, how="vertical") for s, parts in self.frames.items()}
        if self.profile.scenarios:
            frames = scenarios.apply(frames, self.years)
        return formats.write_demo(self.out, frames, self.years)
