"""Which units each report covers: a unit's own report covers that unit; a roll-up page of a parent
unit covers it and every unit below it (a city over its counties, a province over its cities and
their counties). Written as (report_key, unit_code) pairs, so every section is one join away."""

from __future__ import annotations

import polars as pl

ROLLUP_SUFFIX = ".rollup"  # unit codes match ^[A-Za-z0-9_-]+$, so "<code>.rollup" never collides


def subtree_pairs(units: pl.DataFrame) -> pl.DataFrame:
    """(ancestor, unit_code, depth): every unit paired with itself (depth 0) and each unit below it.

    Walks down one level per step (a loop over tree depth, not rows); a parent cycle in the data
    stops the walk because pairs already found are not added again."""
    parent = units.select("unit_code", "parent_code").drop_nulls("parent_code")
    pairs = units.select(ancestor="unit_code", unit_code="unit_code", depth=pl.lit(0, pl.Int64))
    frontier = pairs
    for _ in range(units.height):
        step = (
            frontier.join(parent, left_on="unit_code", right_on="parent_code", suffix="_child")
            .select("ancestor", unit_code="unit_code_child", depth=pl.col("depth") + 1)
            .join(pairs, on=["ancestor", "unit_code"], how="anti")
            .unique(["ancestor", "unit_code"], keep="first")
        )
        if step.is_empty():
            break
        pairs = pl.concat([pairs, step])
        frontier = step
    return pairs.sort("ancestor", "depth", "unit_code")


def report_scopes(units: pl.DataFrame) -> pl.DataFrame:
    """One row per (report, unit it covers): report_key, report_unit, rollup, unit_code, depth (of
    unit_code below report_unit: 0 for the unit itself, 1 for a direct child, …).

    Every unit has its own report (report_key = unit_code); every unit with units below it also has
    a roll-up (report_key = unit_code + ".rollup") over its whole subtree."""
    pairs = subtree_pairs(units)
    own = units.select(
        report_key="unit_code", report_unit="unit_code", rollup=pl.lit(False), unit_code="unit_code", depth=pl.lit(0, pl.Int64)
    )
    parents = pairs.filter(pl.col("depth") > 0).select("ancestor").unique()
    rollups = pairs.join(parents, on="ancestor").select(
        report_key=pl.col("ancestor") + ROLLUP_SUFFIX,
        report_unit="ancestor",
        rollup=pl.lit(True),
        unit_code="unit_code",
        depth="depth",
    )
    return pl.concat([own, rollups]).sort("report_key", "unit_code")


def direct_children(units: pl.DataFrame) -> pl.DataFrame:
    """report_key (the parent's roll-up), child_code: the units right below each parent."""
    return (
        units.drop_nulls("parent_code")
        .select(report_key=pl.col("parent_code") + ROLLUP_SUFFIX, child_code="unit_code")
        .sort("report_key", "child_code")
    )
