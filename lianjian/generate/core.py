"""The generator's main loop: units in fixed-size chunks, every year of a chunk, written as it goes.

Memory holds one chunk of units (their staff over all years and one year's records) at a time, so
the national scale runs in bounded memory. Every random draw comes from a generator seeded by
(seed, stream, unit, year) (lianjian.generate.seeds), so the output is byte-identical for the same
seed, scale and years, whatever the machine.
"""

from __future__ import annotations

import time
from pathlib import Path

from lianjian.errors import FatalError
from lianjian.generate.assemble import Chunk, units_frame
from lianjian.generate.people import simulate_unit
from lianjian.generate.profiles import PROFILES, Profile
from lianjian.generate.records import unit_year
from lianjian.generate.units import build_units
from lianjian.rules_config import load_rules

#: Units generated together (fixed, so the order of rows in a file never depends on it).
CHUNK_UNITS = 64
RECORD_SOURCES = ("personnel_events", "talks", "cases", "reviews", "violations", "major_matter_reports",
                  "duty_activities", "democratic_votes")
DEFAULT_RULES = Path(__file__).resolve().parents[2] / "rules" / "default.yaml"


def parse_years(years: str | tuple[int, int] | list[int]) -> list[int]:
    """"2021-2025" -> [2021, ..., 2025]; "2024" -> [2024]."""
    if isinstance(years, str):
        a, _, b = years.strip().partition("-")
        try:
            lo, hi = int(a), int(b or a)
        except ValueError:
            raise FatalError(f"--years {years!r} 无法识别：应为 2021-2025 或 2024 这样的年度范围 (expected a year range)") from None
    else:
        lo, hi = min(years), max(years)
    if not (2000 <= lo <= hi <= 2100):
        raise FatalError(f"--years {lo}-{hi} 超出范围：年度须在 2000–2100 之间且起始不晚于结束 (years must be 2000–2100, ascending)")
    return list(range(lo, hi + 1))


def resolve_profile(profile: str | Profile, units: int | None = None) -> Profile:
    if isinstance(profile, str):
        if profile not in PROFILES:
            raise FatalError(f"--scale {profile!r} 未知：可选 {', '.join(PROFILES)} (unknown scale)")
        profile = PROFILES[profile]
    return profile.resized(units) if units is not None and units != profile.units else profile


def generate(
    out: str | Path,
    profile: str | Profile = "demo",
    *,
    years: str | list[int] = "2021-2025",
    seed: int = 20240101,
    units: int | None = None,
    rules: str | Path | None = None,
    log=None,
) -> dict[str, int]:
    """Write a synthetic landing zone to ``out``; returns rows written per source.

    ``profile`` is a scale name (or Profile); ``units`` resizes it keeping its proportions.
    """
    prof = resolve_profile(profile, units)
    yrs = parse_years(years)
    out = Path(out)
    rule_set = load_rules(rules or DEFAULT_RULES)
    from lianjian.generate.writer import CollectSink, StreamSink  # noqa: PLC0415 (writer imports openpyxl lazily)

    sink = CollectSink(out, prof, yrs, seed) if prof.rich_formats else StreamSink(out)
    hooks = None
    if prof.scenarios:
        from lianjian.generate import scenarios

        hooks = scenarios.Hooks(yrs)
    all_units = build_units(prof, seed)
    sink.add("units", units_frame(all_units), None)
    t0 = time.perf_counter()
    for start in range(0, len(all_units), CHUNK_UNITS):
        chunk_units = all_units[start : start + CHUNK_UNITS]
        peoples = [simulate_unit(u, yrs, seed, hooks) for u in chunk_units]
        chunk = Chunk(chunk_units, peoples)
        for y in yrs:
            settings = rule_set.settings(y)
            pers, deps = chunk.roster_parts(y)
            sink.add("personnel", chunk.frame("personnel", y, pers), y)
            sink.add("departments", chunk.frame("departments", y, deps), y)
            recs = [(i, unit_year(p, y, prof, settings, seed, yrs[-1])) for i, p in enumerate(peoples)]
            for src in RECORD_SOURCES:
                sink.add(src, chunk.frame(src, y, [(i, r[src]) for i, r in recs]), y)
        if log is not None:
            log(f"{min(start + CHUNK_UNITS, len(all_units))}/{len(all_units)} 个单位 units, {time.perf_counter() - t0:.1f}s")
    return sink.close()
