"""The one declaration of the data contract, loaded from ``sources.yaml`` and ``published.yaml``.

Every consumer — the reader, the quarantine, the Great Expectations suites, the Dagster table
schemas and the published dictionary — takes names, types, Chinese headers, enumerations, keys
and references from here. Nothing about a source is written anywhere else.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

import polars as pl
import yaml

from lianjian.files import yaml_safe_loader

HERE = Path(__file__).parent


@dataclass(frozen=True)
class EnumDef:
    """An enumeration: English codes with their Chinese labels (first label is the canonical one).
    Labels are declared in simplified characters only; the reader also accepts them in any regional
    traditional variant by converting what it reads (``lianjian.ingest.text``)."""

    name: str
    labels: dict[str, tuple[str, ...]]  # code -> simplified labels (first is canonical)

    @property
    def codes(self) -> list[str]:
        return list(self.labels)

    def label(self, code: str) -> str:
        return self.labels[code][0]

    @property
    def dtype(self) -> pl.Enum:
        return pl.Enum(self.codes)

    def spellings(self) -> dict[str, str]:
        """Every declared spelling (code, label) -> code; lower-cased codes too."""
        out: dict[str, str] = {}
        for code in self.codes:
            out[code] = code
            out[code.lower()] = code
            for s in self.labels[code]:
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
    empty: str | None = None  # published: what an empty value (null, or an empty list) means; None: never empty
    labels_of: str | None = None  # published text column holding the Chinese labels of this enumeration

    @property
    def nullable(self) -> bool:
        """A published scalar column that may be null (lists are never null: empty means none)."""
        return self.empty is not None and not self.type.startswith("list[")

    def codes(self) -> list[tuple[str, str]]:
        """(value as published, Chinese label) of an enumeration column, in declared order: the English
        code for ``enum:`` columns, the label itself for ``labels_of`` columns (grades); [] otherwise."""
        if self.enum is not None:
            return [(code, self.enum.label(code)) for code in self.enum.codes]
        if self.labels_of is not None:
            e = ENUMS[self.labels_of]
            return [(e.label(code), e.label(code)) for code in e.codes]
        return []

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
    unit_via: str | None = None  # without unit_code: the person column whose unit (that year) a row belongs to

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
        """Every declared header spelling -> column name (English, lower-cased English, Chinese). The
        reader also accepts the Chinese header in any regional traditional variant by converting what
        it reads (``lianjian.ingest.text``)."""
        out: dict[str, str] = {}
        for c in self.columns:
            out[c.name] = c.name
            out[c.name.lower()] = c.name
            out[c.zh] = c.name
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
    restricted: bool = False  # under restricted/, never where BI users read (docs/contract.md "What it publishes")

    @property
    def column_names(self) -> list[str]:
        return [c.name for c in self.columns]

    def schema(self) -> pl.Schema:
        """The published Polars schema: enumerations as their English codes (String)."""
        return pl.Schema({c.name: c.dtype(enums_as_codes=True) for c in self.columns})

    def empty(self) -> pl.DataFrame:
        return pl.DataFrame(schema=self.schema())


#: The contract is read by every process at start (the CLI, each run, each step process): with
#: libyaml's loader when PyYAML has it (lianjian/files.py ``yaml_safe_loader``).
_LOADER = yaml_safe_loader()


def _load_yaml(name: str) -> dict:
    return yaml.load((HERE / name).read_text(encoding="utf-8"), Loader=_LOADER)  # noqa: S506 - a safe loader


def _enums(raw: dict) -> dict[str, EnumDef]:
    out = {}
    for name, codes in raw.items():
        labels = {code: tuple(v if isinstance(v, list) else [v]) for code, v in codes.items()}
        out[name] = EnumDef(name=name, labels=labels)
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
        unit_via=s.get("unit_via"),
    )
    for name, s in _SRC["sources"].items()
}

def _tables(raw: dict, known: dict[str, PublishedTable] | None = None, *, restricted: bool = False) -> dict[str, PublishedTable]:
    """Tables as declared; a table ``like`` a known one takes its columns and key, with the lineage
    its own ``lineage`` mapping gives each column (none where it gives none)."""
    out = {}
    for name, t in raw.items():
        if "like" in t:
            base = (known or {})[t["like"]]
            own = {c: tuple(refs) for c, refs in t.get("lineage", {}).items()}
            unknown = set(own) - set(base.column_names)
            assert not unknown, f"{name}: lineage of unknown columns {sorted(unknown)}"
            columns = tuple(replace(c, lineage=own.get(c.name, ())) for c in base.columns)
            key = tuple(t.get("key", base.key))
        else:
            columns = tuple(_column(c) for c in t["columns"])
            key = tuple(t["key"])
        out[name] = PublishedTable(
            name=name,
            zh=t["zh"],
            note=t.get("note", ""),
            yearly=t["yearly"],
            rule=t.get("rule"),
            key=key,
            columns=columns,
            restricted=restricted,
        )
    return out


PUBLISHED: dict[str, PublishedTable] = _tables(_PUB["tables"])
#: Restricted outputs (R10 review leads): published with the run under ``restricted/``, never in
#: ``published/``, the dictionary's BI part, the DuckDB views or the reports (docs/contract.md).
RESTRICTED: dict[str, PublishedTable] = _tables(_PUB.get("restricted") or {}, restricted=True)
#: Tables one layer writes for another that are not published on their own: the ingest report, and
#: the evidence rows of R2 and of R3 that R8 puts together.
INTERNAL: dict[str, PublishedTable] = _tables(_PUB["internal"], PUBLISHED)

REQUIRED_SOURCES: tuple[str, ...] = tuple(n for n, s in SOURCES.items() if s.required)


def one_empty(name: str, dtype: pl.DataType) -> pl.Expr:
    """A published column with its empty values spelled one way: an empty text as null, a null list as
    the empty list; any other column as it is. Publishing writes every table so, and R8's evidence is
    sorted by these spellings (lianjian/scoring/evidence.py ``PUBLISHED_ORDER``)."""
    if dtype == pl.String:
        return pl.when(pl.col(name) != "").then(pl.col(name)).alias(name)
    if isinstance(dtype, pl.List):
        return pl.col(name).fill_null(pl.lit([], dtype=dtype)).alias(name)
    return pl.col(name)

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
    "one_empty",
]
