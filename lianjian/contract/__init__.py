"""The one declaration of the data contract, loaded from ``sources.yaml`` and ``published.yaml``.

Every consumer — the reader, the quarantine, the Great Expectations suites, the Dagster table
schemas and the published dictionary — takes names, types, Chinese headers, enumerations, keys
and references from here. Nothing about a source is written anywhere else.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import polars as pl
import yaml

HERE = Path(__file__).parent


@dataclass(frozen=True)
class EnumDef:
    """An enumeration: English codes with their Chinese labels (first label is the canonical one)."""

    name: str
    labels: dict[str, tuple[str, ...]]  # code -> simplified labels (first is canonical)
    traditional: dict[str, tuple[str, ...]]  # code -> traditional-character forms of the labels

    @property
    def codes(self) -> list[str]:
        return list(self.labels)

    def label(self, code: str) -> str:
        return self.labels[code][0]

    @property
    def dtype(self) -> pl.Enum:
        return pl.Enum(self.codes)

    def spellings(self) -> dict[str, str]:
        """Every accepted spelling (code, label, traditional label) -> code; lower-cased codes too."""
        out: dict[str, str] = {}
        for code in self.codes:
            out[code] = code
            out[code.lower()] = code
            for s in self.labels[code] + self.traditional.get(code, ()):
                out[s] = code
        return out


@dataclass(frozen=True)
class Column:
    name: str
    zh: str
    type: str  # str | int | dec | date | bool | enum:<name> | list[str]
    required: bool = False
    key: bool = False
    default: object = None
    min: float | None = None
    max: float | None = None
    pattern: str | None = None
    ref: str | None = None  # "<source>.<column>"
    ref_scope: str = "any_year"  # any_year | same_year | same_year_unit | unit
    ref_filter: str | None = None  # "leadership"
    required_if: dict[str, list[str]] | None = None  # required when another column takes one of these codes
    required_unless: dict[str, list[str]] | None = None  # required unless another column takes one of these codes
    personal: bool = False
    note: str = ""
    lineage: tuple[str, ...] = ()

    @property
    def enum(self) -> EnumDef | None:
        if self.type.startswith("enum:"):
            return ENUMS[self.type.split(":", 1)[1]]
        return None

    @property
    def kind(self) -> str:
        """The base type without the enum name: str, int, dec, date, bool, enum, list[str]."""
        return "enum" if self.type.startswith("enum:") else self.type

    def dtype(self, *, enums_as_codes: bool = False) -> pl.DataType:
        e = self.enum
        if e is not None:
            return pl.String() if enums_as_codes else e.dtype
        return _DTYPES[self.type]


_DTYPES: dict[str, pl.DataType] = {
    "str": pl.String(),
    "int": pl.Int64(),
    "dec": pl.Float64(),
    "date": pl.Date(),
    "bool": pl.Boolean(),
    "list[str]": pl.List(pl.String()),
}


@dataclass(frozen=True)
class Source:
    name: str
    zh: str
    required: bool
    key: tuple[str, ...]
    columns: tuple[Column, ...]
    date_order: tuple[tuple[str, str], ...] = ()
    year_from: str | None = None  # the column whose value (or date's year) is a row's assessment year

    @property
    def column_names(self) -> list[str]:
        return [c.name for c in self.columns]

    def column(self, name: str) -> Column:
        for c in self.columns:
            if c.name == name:
                return c
        raise KeyError(f"{self.name}.{name}")

    @property
    def required_columns(self) -> list[str]:
        """Columns that must be present as headers (a required value cannot live in a missing column)."""
        return [c.name for c in self.columns if c.required]

    def schema(self) -> pl.Schema:
        """The typed Polars schema of every declared column (personal ones included)."""
        return pl.Schema({c.name: c.dtype() for c in self.columns})

    def staged_schema(self) -> pl.Schema:
        """The staged table's schema: every column but the personal ones, which never leave ingest."""
        return pl.Schema({c.name: c.dtype() for c in self.columns if not c.personal})

    def staged_frame(self, rows: list[dict] | None = None) -> pl.DataFrame:
        """A staged-typed frame from Python rows (missing columns null; enum values as codes). For tests
        and for empty optional sources."""
        schema = self.staged_schema()
        rows = rows or []
        data = {name: [r.get(name) for r in rows] for name in schema}
        return pl.DataFrame(data, schema=schema)

    def header_aliases(self) -> dict[str, str]:
        """Every accepted header spelling -> column name (English, Chinese, traditional Chinese)."""
        out: dict[str, str] = {}
        trad = _traditional()
        for c in self.columns:
            out[c.name] = c.name
            out[c.name.lower()] = c.name
            out[c.zh] = c.name
            for t in trad.get(c.zh, []):
                out[t] = c.name
        return out


@dataclass(frozen=True)
class PublishedTable:
    name: str
    zh: str
    note: str
    yearly: bool
    rule: str | None
    key: tuple[str, ...]
    columns: tuple[Column, ...]
    restricted: bool = False  # under restricted/, never where BI users read (CONTRACT.md §3)

    @property
    def column_names(self) -> list[str]:
        return [c.name for c in self.columns]

    def schema(self) -> pl.Schema:
        """The published Polars schema: enumerations as their English codes (String)."""
        return pl.Schema({c.name: c.dtype(enums_as_codes=True) for c in self.columns})

    def empty(self) -> pl.DataFrame:
        return pl.DataFrame(schema=self.schema())


@cache
def _traditional() -> dict[str, list[str]]:
    """Simplified label/header -> traditional forms (generated by scripts/make_traditional.py)."""
    path = HERE / "traditional.json"
    return json.loads(path.read_text(encoding="utf-8")) if path.exists() else {}


@cache
def traditional_char_map() -> dict[str, str]:
    """Character-level traditional -> simplified map covering every character of the contract's labels."""
    out: dict[str, str] = {}
    for simp, forms in _traditional().items():
        for form in forms:
            if len(form) == len(simp):
                for t, s in zip(form, simp):
                    if t != s:
                        out[t] = s
    return out


def _load_yaml(name: str) -> dict:
    return yaml.safe_load((HERE / name).read_text(encoding="utf-8"))


def _enums(raw: dict) -> dict[str, EnumDef]:
    trad = _traditional()
    out = {}
    for name, codes in raw.items():
        labels = {code: tuple(v if isinstance(v, list) else [v]) for code, v in codes.items()}
        tforms = {
            code: tuple(t for lab in labs for t in trad.get(lab, []) if t != lab) for code, labs in labels.items()
        }
        out[name] = EnumDef(name=name, labels=labels, traditional=tforms)
    return out


def _column(raw: dict, key: tuple[str, ...] = ()) -> Column:
    raw = dict(raw)
    raw["lineage"] = tuple(raw.get("lineage", ()))
    return Column(key=raw["name"] in key, **raw)


_SRC = _load_yaml("sources.yaml")
_PUB = _load_yaml("published.yaml")

ENUMS: dict[str, EnumDef] = _enums(_SRC["enums"]) | _enums(_PUB["enums"])
LEADERSHIP_POSITIONS: tuple[str, ...] = tuple(_SRC["leadership_positions"])

SOURCES: dict[str, Source] = {
    name: Source(
        name=name,
        zh=s["zh"],
        required=s["required"],
        key=tuple(s["key"]),
        columns=tuple(_column(c, tuple(s["key"])) for c in s["columns"]),
        date_order=tuple(tuple(p) for p in s.get("date_order", [])),
        year_from=s.get("year_from"),
    )
    for name, s in _SRC["sources"].items()
}

def _tables(raw: dict, *, restricted: bool = False) -> dict[str, PublishedTable]:
    return {
        name: PublishedTable(
            name=name,
            zh=t["zh"],
            note=t.get("note", ""),
            yearly=t["yearly"],
            rule=t.get("rule"),
            key=tuple(t["key"]),
            columns=tuple(_column(c) for c in t["columns"]),
            restricted=restricted,
        )
        for name, t in raw.items()
    }


PUBLISHED: dict[str, PublishedTable] = _tables(_PUB["tables"])
#: Restricted outputs (R10 review leads): published with the run under ``restricted/``, never in
#: ``published/``, the dictionary's BI part, the DuckDB views or the reports (CONTRACT.md §3).
RESTRICTED: dict[str, PublishedTable] = _tables(_PUB.get("restricted") or {}, restricted=True)
#: Tables one layer writes for another that are not published on their own (the ingest report).
INTERNAL: dict[str, PublishedTable] = _tables(_PUB["internal"])

REQUIRED_SOURCES: tuple[str, ...] = tuple(n for n, s in SOURCES.items() if s.required)

__all__ = [
    "Column",
    "EnumDef",
    "ENUMS",
    "INTERNAL",
    "LEADERSHIP_POSITIONS",
    "PUBLISHED",
    "PublishedTable",
    "REQUIRED_SOURCES",
    "RESTRICTED",
    "SOURCES",
    "Source",
    "traditional_char_map",
]
