"""Synthetic, realistic landing zones (`lianjian generate`, `lianjian demo`).

    generate(out, "demo")                         # the demo: 3 units, rich formats, scenarios
    generate(out, "national", units=40)           # national proportions at a small size
    generate_command(out, scale, years, seed)     # the CLI entry; returns the exit status
    ensure_demo(landing_dir)                      # writes the demo landing zone if absent

Deterministic for a seed: byte-identical files for the same seed, scale and years. See
docs/generator.md for the profiles, the file layout and the rare-path scenarios (scenarios.py).
"""

from __future__ import annotations

import shutil
import sys
import time
from pathlib import Path

from lianjian.errors import FatalError
from lianjian.generate.core import generate, parse_years, resolve_profile
from lianjian.generate.profiles import PROFILES, Profile

#: The seed and years `lianjian demo` uses (and the CLI's defaults).
DEFAULT_SEED = 20240101
DEFAULT_YEARS = "2021-2025"

__all__ = ["DEFAULT_SEED", "DEFAULT_YEARS", "PROFILES", "Profile", "ensure_demo", "generate", "generate_command", "write_landing"]


def _has_files(path: Path) -> bool:
    return path.exists() and any(p.is_file() for p in path.rglob("*"))


def write_landing(out: str | Path, profile: str | Profile = "demo", *, years: str | list[int] = DEFAULT_YEARS,
                  seed: int = DEFAULT_SEED, units: int | None = None, log=None) -> dict[str, int]:
    """Generate into a temporary sibling folder and move it into place, so that ``out`` is either
    absent or complete (a killed run never leaves half a landing zone behind)."""
    out = Path(out).absolute()
    if _has_files(out):
        raise FatalError(f"输出目录 {out} 已有文件：请指定空目录或先删除它 (output folder is not empty)")
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise FatalError(f"无法创建输出目录 {out.parent}：{err.strerror}；请检查路径和权限 (cannot create output folder)") from None
    tmp = out.parent / f".{out.name}.generating"
    shutil.rmtree(tmp, ignore_errors=True)
    try:
        rows = generate(tmp, profile, years=years, seed=seed, units=units, log=log)
        if out.exists():
            out.rmdir()  # empty (checked above)
        tmp.rename(out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return rows


def generate_command(out: str, scale: str, years: str, seed: int) -> int:
    """`lianjian generate`: write the landing zone, print rows per source; 0 on success."""
    prof = resolve_profile(scale)
    yrs = parse_years(years)
    t0 = time.perf_counter()
    log = (lambda msg: print(f"  {msg}", file=sys.stderr, flush=True)) if prof.units > 64 else None
    print(f"生成模拟落地数据 generating {prof.name}: {prof.units} 个单位 units, {yrs[0]}–{yrs[-1]}, seed {seed} → {out}", file=sys.stderr)
    rows = write_landing(out, prof, years=years, seed=seed, log=log)
    for source, n in rows.items():
        print(f"{source:22s} {n:>12,d}")
    print(f"完成 done in {time.perf_counter() - t0:.1f}s: {Path(out).absolute()}", file=sys.stderr)
    return 0


def ensure_demo(landing_dir: Path) -> bool:
    """Write the demo landing zone (seed DEFAULT_SEED, years DEFAULT_YEARS) to ``landing_dir`` unless
    it already holds files; True when it was written."""
    landing_dir = Path(landing_dir)
    if _has_files(landing_dir):
        return False
    write_landing(landing_dir, "demo", years=DEFAULT_YEARS, seed=DEFAULT_SEED)
    return True
