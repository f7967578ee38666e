"""Turn numpy record columns of a chunk of units into Polars frames with the contract's columns.

How each column is rendered is derived from the contract declaration: enum columns from code
indices, dates from day numbers, booleans from 1/0/-1, person references (``ref:
personnel.person_id``) from person indices, unit and department references from their indices, and
key id columns from a serial within (unit, year) with the source's prefix.
"""

from __future__ import annotations

import numpy as np
import polars as pl

from lianjian.contract import SOURCES, Column
from lianjian.generate import names
from lianjian.generate.people import STATUS, UnitPeople
from lianjian.generate.records import NODAY, Frame
from lianjian.generate.units import Unit

#: Id prefixes (and digits) of record ids: <prefix>-<unit_code>-<year>-<serial>.
ID_PREFIX: dict[str, tuple[str, int]] = {
    "personnel_events": ("SJ", 4),
    "talks": ("TH", 5),
    "cases": ("AJ", 5),
    "violations": ("WJ", 3),
    "major_matter_reports": ("BG", 4),
    "duty_activities": ("LZ", 4),
}
DEPT_CODES = pl.Series([c for c, _, _ in names.DEPARTMENTS])
DEPT_NAMES = pl.Series([n for _, n, _ in names.DEPARTMENTS])


def _role(source: str, col: Column) -> str:
    """How the generator fills a str column."""
    if col.ref == "personnel.person_id" or (source == "personnel" and col.name == "person_id"):
        return "person"
    if col.name in ("unit_code", "parent_code"):
        return "unit"
    if col.name in ("dept_code", "target_dept_code"):
        return "dept"
    if col.ref == "personnel_events.event_id":
        return "id:personnel_events"
    if source == "major_matter_reports" and col.name == "case_id":
        return "id:cases"
    if col.key and source in ID_PREFIX:
        return f"id:{source}"
    return col.name  # name, id_number, dept_name, subject_id: special


class Chunk:
    """A chunk of units generated together: person indices become person_id strings here."""

    def __init__(self, units: list[Unit], peoples: list[UnitPeople]):
        self.units = units
        self.unit_codes = pl.Series([u.code for u in units])
        self.peoples = peoples
        sizes = np.array([p.size for p in peoples], dtype=np.int64)
        self.offset = np.concatenate([[0], np.cumsum(sizes)[:-1]])
        self.person_ids = pl.concat(
            [pl.Series(np.char.add(f"{p.unit.code}-", np.char.zfill(p.serial.astype(str), 4))) for p in peoples]
        )
        self.names = pl.concat([pl.Series(p.name) for p in peoples])
        self.id_numbers = pl.concat([pl.Series(p.id_number) for p in peoples])
        self.pos_of_unit = {u.index: i for i, u in enumerate(units)}

    def frame(self, source: str, year: int | None, parts: list[tuple[int, Frame]]) -> pl.DataFrame:
        """One source's frame from (unit position in chunk, Frame) parts."""
        spec = SOURCES[source]
        parts = [(i, f) for i, f in parts if f.rows]
        if not parts:
            return pl.DataFrame(schema={c.name: _out_dtype(c) for c in spec.columns})
        unit_pos = np.concatenate([np.full(f.rows, i) for i, f in parts])
        raw = {k: np.concatenate([np.asarray(f[k]) for _, f in parts]) for k in parts[0][1]}
        code = self.unit_codes.gather(unit_pos)
        cols = {}
        for c in spec.columns:
            role = _role(source, c) if c.kind == "str" else c.kind
            cols[c.name] = self._render(c, role, raw, unit_pos, code, year)
        return pl.DataFrame(cols)

    def _person(self, local: np.ndarray, unit_pos: np.ndarray) -> pl.Series:
        g = np.where(local >= 0, local + self.offset[unit_pos], -1)
        return _gather(self.person_ids, g)

    def _render(self, c: Column, role: str, raw: dict, unit_pos: np.ndarray, code: pl.Series, year) -> pl.Series:
        name = c.name
        if role == "enum":
            return _gather(pl.Series(c.enum.codes), raw[name]).alias(name)
        if role == "date":
            v = raw[name]
            return pl.Series(name, np.where(v == NODAY, 0, v), dtype=pl.Int32).cast(pl.Date).scatter(np.flatnonzero(v == NODAY), None)
        if role == "bool":
            v = raw[name]
            return pl.Series(name, v == 1).scatter(np.flatnonzero(v < 0), None)
        if role == "int":
            return pl.Series(name, raw[name].astype(np.int64))
        if role == "dec":
            return pl.Series(name, raw[name].astype(np.float64))
        if role == "person":
            return self._person(raw[name], unit_pos).alias(name)
        if role == "unit":
            return code.alias(name)
        if role == "dept":
            return _gather(DEPT_CODES, raw[name]).alias(name)
        if role.startswith("id:"):
            prefix, width = ID_PREFIX[role[3:]]
            serial = raw[name]
            yr = raw["_year"] if "_year" in raw else np.full(len(serial), year)
            s = pl.DataFrame({"c": code, "y": yr, "n": serial}).select(
                pl.when(pl.col("n") >= 0).then(
                    pl.concat_str([pl.lit(prefix + "-"), "c", pl.lit("-"), pl.col("y").cast(pl.String), pl.lit("-"),
                                   pl.col("n").cast(pl.String).str.zfill(width)])
                )
            ).to_series()
            return s.alias(name)
        if name == "name":
            return _gather(self.names, np.where(raw["person_id"] >= 0, raw["person_id"] + self.offset[unit_pos], -1)).alias(name)
        if name == "id_number":
            return _gather(self.id_numbers, np.where(raw["person_id"] >= 0, raw["person_id"] + self.offset[unit_pos], -1)).alias(name)
        if name == "dept_name":
            return _gather(DEPT_NAMES, raw["dept_code"]).alias(name)
        if name == "subject_id":  # a person, or the unit itself for the bodies
            return pl.DataFrame({"p": self._person(raw[name], unit_pos), "u": code}).select(pl.coalesce("p", "u")).to_series().alias(name)
        raise KeyError(f"generator does not know how to fill {name}")

    # ---- roster sources -------------------------------------------------------------------------
    def roster_parts(self, year: int) -> tuple[list[tuple[int, Frame]], list[tuple[int, Frame]]]:
        pers, deps = [], []
        for i, p in enumerate(self.peoples):
            r = p.years.get(year)
            if r is None:
                continue
            n = len(r.idx)
            sec_flag = (r.idx == r.secretary) & r.secretary_flagged & (r.status == STATUS["active"])
            pers.append((i, Frame(
                year=np.full(n, year), person_id=r.idx, name=r.idx, id_number=r.idx, unit_code=np.zeros(n),
                dept_code=r.dept, position=r.pos, is_party_secretary=sec_flag.astype(np.int8),
                is_quota=r.quota.astype(np.int8), status=r.status, hire_date=p.hire_day[r.idx],
            )))
            nd = len(r.head)
            deps.append((i, Frame(
                year=np.full(nd, year), unit_code=np.zeros(nd), dept_code=np.arange(nd), dept_name=np.arange(nd),
                head_id=r.head, supervisor_id=r.supervisor, liaison_id=r.liaison, branch_secretary_id=r.branch_secretary,
            )))
        return pers, deps


def _gather(values: pl.Series, idx: np.ndarray) -> pl.Series:
    """values[idx], with a negative index giving an empty value."""
    idx = np.asarray(idx, dtype=np.int64)
    s = pl.Series(np.where(idx < 0, 0, idx), dtype=pl.UInt32)
    return values.gather(s).scatter(np.flatnonzero(idx < 0), None)


def _out_dtype(c: Column) -> pl.DataType:
    return c.dtype(enums_as_codes=True)


def units_frame(units: list[Unit]) -> pl.DataFrame:
    return pl.DataFrame(
        {
            "unit_code": [u.code for u in units],
            "unit_name": [u.name for u in units],
            "level": [u.level for u in units],
            "parent_code": pl.Series([u.parent for u in units], dtype=pl.String),
        }
    ).select(SOURCES["units"].column_names)
