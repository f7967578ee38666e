"""Year partitions of the derived and assessed layers (issue 6: years can run apart).

Every rule computes one assessment year from the staged tables (which hold every year): R1, R2, R3,
R5, R6, R7 and R8 for year Y read the staged rows they need — R7 reads the reports of Y−1 and Y−2
from the staged table, not from an earlier partition — so the derived and assessed assets are
partitioned by year and a year can be computed alone: in its own run, on its own worker of the
multiprocess executor or in its own pod on a cluster. R4 (consecutive 较差, a serious violation in two
consecutive years) needs the assessed rows of every earlier year, and publishing swaps all tables at
once: both stay unpartitioned and read every year's partition (docs/performance.md, "Beyond one machine").

The partitions are the calendar years from the contract's first valid year (2000, the lower bound of
every ``year`` column in ``lianjian/contract/sources.yaml``) to the current year in Asia/Shanghai
(``end_offset=1``: the year in progress is a partition too). Every pipeline run — the nightly schedule,
the landing sensor, a UI launch, ``lianjian run`` — is two runs (``pipelines/runs.py``): landing and
staging first, then the rest over the years the staged data holds (``years_to_assess``) in ONE run
(the partition-range run tags of ``range_tags``: each asset computes all its years in one Polars plan
and the IO manager writes one file per year), never the empty years: Dagster records two events per
asset and year, and 27 mostly empty years cost seconds per run. ``lianjian run --years 2024``
computes only the years asked for and leaves the other years' files as they are. A backfill launched from the Dagster UI runs one year per run (Dagster's default without a
backfill policy — what a cluster wants: years in parallel runs); ``BackfillPolicy.single_run()`` would
make it one run, but it is still a beta API in Dagster 1.13, so it is not used.
"""

from __future__ import annotations

import unicodedata
from pathlib import Path
from zoneinfo import ZoneInfo

import dagster as dg
import polars as pl

from lianjian.contract import SOURCES
from lianjian.clock import TIMEZONE  # noqa: F401 - re-exported: the partitions' and schedules' clock
from lianjian.errors import FatalError


def _first_year() -> int:
    """The lowest ``min`` of the contract's ``year`` columns (one source of truth for the range)."""
    lows = [c.min for s in SOURCES.values() for c in s.columns if c.name == "year" and c.min is not None]
    return int(min(lows))


FIRST_YEAR = _first_year()

YEARS = dg.TimeWindowPartitionsDefinition(
    cron_schedule="0 0 1 1 *",
    start=str(FIRST_YEAR),
    fmt="%Y",
    timezone=TIMEZONE,
    end_offset=1,
)


def _keys_kept(years: dg.TimeWindowPartitionsDefinition) -> dg.TimeWindowPartitionsDefinition:
    """``years`` answering Dagster's two questions about its keys from what it answered before in this
    process: its keys (``get_partition_keys``), which change only when the calendar year changes in
    its time zone (the keys run from the first year to the current one), and the keys of a range
    (``get_partition_keys_in_range``), which depend on the range alone. Dagster asks them for every
    partitioned step, output, input and per-year metadata entry (≈ 175 times in a demo run) and
    answers each by iterating the yearly cron schedule from 2000 (≈ 0.15 CPU-s a run,
    docs/performance.md). The definition itself — what the UI, the snapshots and serialisation see —
    is unchanged; a copy Dagster makes of it simply computes again."""
    all_keys = years.get_partition_keys
    in_range = years.get_partition_keys_in_range
    zone = ZoneInfo(years.timezone)
    by_year: dict[int, list[str]] = {}
    by_range: dict[tuple[str, str], list[str]] = {}

    def get_partition_keys(current_time=None, dynamic_partitions_store=None) -> list[str]:
        with dg.partition_loading_context(current_time, dynamic_partitions_store) as ctx:
            now = ctx.effective_dt
            year = (now if now.tzinfo is None else now.astimezone(zone)).year
            if year not in by_year:
                by_year[year] = list(all_keys())
        return list(by_year[year])

    def get_partition_keys_in_range(partition_key_range: dg.PartitionKeyRange) -> list[str]:
        key = (partition_key_range.start, partition_key_range.end)
        if key not in by_range:
            by_range[key] = list(in_range(partition_key_range))
        return list(by_range[key])

    object.__setattr__(years, "get_partition_keys", get_partition_keys)
    object.__setattr__(years, "get_partition_keys_in_range", get_partition_keys_in_range)
    return years


YEARS = _keys_kept(YEARS)

RANGE_START = "dagster/asset_partition_range_start"
RANGE_END = "dagster/asset_partition_range_end"


def all_years() -> list[str]:
    return YEARS.get_partition_keys()


def range_tags(first: str | None = None, last: str | None = None) -> dict[str, str]:
    """Run tags that make one run compute the years ``first``..``last`` (default: every year)."""
    keys = all_years()
    return {RANGE_START: first or keys[0], RANGE_END: last or keys[-1]}


def parse_years(text: str) -> tuple[str, str]:
    """``2024`` or ``2021-2025`` (also ``2021~2025``, full-width digits) → (first, last) partition keys."""
    s = unicodedata.normalize("NFKC", text).strip().replace("~", "-").replace("—", "-").replace("至", "-")
    parts = [p.strip() for p in s.split("-")]
    keys = all_years()
    if not (1 <= len(parts) <= 2) or not all(p.isdigit() and len(p) == 4 for p in parts):
        raise FatalError(f"--years {text}: 年度格式不对 — 请写成 2024 或 2021-2025")
    first, last = parts[0], parts[-1]
    if first > last:
        first, last = last, first
    if first not in keys or last not in keys:
        raise FatalError(f"--years {text}: 可考核的年度为 {keys[0]}–{keys[-1]} — 请在此范围内指定年度")
    return first, last


def staged_years(warehouse: Path) -> tuple[str, str]:
    """The first and last assessment year of the staged data (each source's ``year_from`` column in
    the contract: ``year``, or the year of the date a row counts in), clipped to the partitions: what
    a run has to compute. Results carry only the years of the rows they come from, so nothing outside
    this range has rows. One column's minimum and maximum per table (cheap even at national scale)."""
    lows, highs = [], []
    for name, src in SOURCES.items():
        path = warehouse / "staged" / f"{name}.parquet"
        if src.year_from is None or not path.exists():
            continue
        col = pl.col(src.year_from)
        year = col.dt.year() if src.staged_schema()[src.year_from] == pl.Date else col
        lo, hi = pl.scan_parquet(path).select(year.min(), year.max().alias("hi")).collect().row(0)
        if lo is not None:
            lows.append(int(lo))
            highs.append(int(hi))
    keys = all_years()
    first, last = int(keys[0]), int(keys[-1])
    if not lows or min(lows) > last:
        return keys[-1], keys[-1]  # nothing to assess: the current year (empty results are published)
    return str(max(min(lows), first)), str(min(max(highs), last))


#: The year-partitioned layers: ``<warehouse>/<layer>/<asset>/<year>.parquet``.
PARTITIONED_LAYERS = ("derived", "assessed")


def result_years(warehouse: Path) -> set[int]:
    """The years that still have rows in a year-partitioned result file (row counts from the Parquet
    footers: no data is read). Counted by Polars, not pyarrow: importing pyarrow cost a run's main
    process ≈ 0.1–0.2 s, and nothing else there needs it (docs/performance.md, "The staging step's
    small files read together")."""
    years: set[int] = set()
    for layer in PARTITIONED_LAYERS:
        root = warehouse / layer
        if not root.is_dir():
            continue
        for path in root.glob("*/*.parquet"):
            if path.stem.isdigit() and int(path.stem) not in years and pl.scan_parquet(path).select(pl.len()).collect().item():
                years.add(int(path.stem))
    return years


def years_to_assess(warehouse: Path) -> tuple[str, str]:
    """What the second run of a pipeline run computes: the staged data's years (``staged_years``),
    widened to every year whose results still have rows — that year's data has left the landing zone,
    and computing it again empties its files, so no stale row is published. The next run no longer
    covers it (its files are empty)."""
    first, last = staged_years(warehouse)
    keys = set(all_years())
    left = sorted(str(y) for y in result_years(warehouse) if str(y) in keys)
    if left:
        first, last = min(first, left[0]), max(last, left[-1])
    return first, last


def context_years(context) -> list[int]:
    """The years an execution of a partitioned asset computes (its partition keys as integers)."""
    return [int(k) for k in context.partition_keys]
