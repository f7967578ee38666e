"""The dimension tables a BI tool joins on (docs/contract.md "What it publishes"): ``units`` (names,
level, parent and the path of names from the top unit down), ``departments`` (names per year) and ``codes`` (every code of
every enumeration column of the published tables with its Chinese label, grades included).

Pure functions over Polars frames; ``units`` and ``departments`` come from the staged sources of the
same names, ``codes`` from the contract declaration alone (``lianjian/contract/published.yaml``).
"""

from __future__ import annotations

import polars as pl

from lianjian.contract import ENUMS, PUBLISHED

#: Between the names of ``units.path`` (from the top unit down to the unit itself).
PATH_SEPARATOR = " / "


def units_table(units: pl.LazyFrame | pl.DataFrame) -> pl.DataFrame:
    """One row per unit of the staged ``units`` table: its name, level (code), parent and the parent's
    name; per level of the ``level`` enumeration (province, city, county) the code and name of the
    nearest unit of that level among the unit and its ancestors; its depth (0 for a unit without a
    parent) and ``path``, the names from the top unit down joined by ``PATH_SEPARATOR``.

    The ancestors come from ``subtree_pairs`` (a walk over the tree's depth, not its rows), which also
    stops at a parent cycle in the data."""
    from lianjian.report.scope import subtree_pairs  # the report reads published tables: import late

    base = (
        units.lazy()
        .select("unit_code", "unit_name", pl.col("level").cast(pl.String), "parent_code")
        .collect()
        .unique("unit_code", keep="first", maintain_order=True)
    )
    named = base.select(ancestor="unit_code", _name="unit_name", _level="level")
    up = subtree_pairs(base).join(named, on="ancestor", how="inner")  # (ancestor, unit_code, depth, …)
    levels = []
    for level in ENUMS["level"].codes:
        nearest = pl.col("_level") == level
        levels += [
            pl.col("ancestor").filter(nearest).sort_by(pl.col("depth").filter(nearest)).first().alias(f"{level}_code"),
            pl.col("_name").filter(nearest).sort_by(pl.col("depth").filter(nearest)).first().alias(f"{level}_name"),
        ]
    walk = up.group_by("unit_code").agg(
        *levels,
        pl.col("depth").max().alias("depth"),
        pl.col("_name").sort_by("depth", descending=True).str.join(PATH_SEPARATOR).alias("path"),
    )
    parents = base.select(parent_code="unit_code", parent_name="unit_name")
    return (
        base.join(parents, on="parent_code", how="left")
        .join(walk, on="unit_code", how="left")
        .select(PUBLISHED["units"].column_names)
    )


def departments_table(departments: pl.LazyFrame | pl.DataFrame) -> pl.LazyFrame:
    """year, unit_code, dept_code, dept_name of the staged ``departments`` table."""
    return departments.lazy().select(PUBLISHED["departments"].column_names)


def codes_table() -> pl.DataFrame:
    """table, column, code, label, sort_order: every code of every enumeration column of every
    published table, in declared order (``Column.codes``: English codes; grades as their labels)."""
    rows = [
        (table, c.name, code, label, i)
        for table, t in PUBLISHED.items()
        for c in t.columns
        for i, (code, label) in enumerate(c.codes(), 1)
    ]
    names = PUBLISHED["codes"].column_names
    return pl.DataFrame(rows, schema=PUBLISHED["codes"].schema(), orient="row").select(names)
