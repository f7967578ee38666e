"""The yearly report as data: what both the HTML page and the Excel workbook show, in order."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache

import polars as pl

from lianjian.contract import PUBLISHED


@lru_cache(maxsize=256)
def source_note(*tables: str) -> str:
    """'数据来源：published/<table>（中文名；说明（规则，依据））' for each table a number comes from."""
    parts = [f"published/{t}（{PUBLISHED[t].zh}；{PUBLISHED[t].note}）" for t in tables]
    return "数据来源：" + "；".join(parts)


@dataclass(frozen=True)
class Chart:
    key: str  # data-chart attribute and file-safe id
    title: str
    kind: str  # "bars" (one series, horizontal) | "columns" (series over categories, vertical)
    categories: list[str]
    series: dict[str, list[float | None]]  # series name -> one value per category


@dataclass(frozen=True)
class Rendered:
    """A block's rows already rendered (computed once for every report by ``build._prerender``):
    the HTML ``<tr>`` rows, the worksheet ``<row>`` XML from row 2, and per column the widest value
    as printed (CJK counts double). The renderers use it instead of formatting ``frame`` again.
    The rows are UTF-8 bytes, as Polars made them: they go into the files (and the digest) as they
    are, never decoded to ``str`` and encoded back."""

    html: bytes
    xml: bytes
    value_widths: tuple[int, ...]
    #: The whole ``<table>`` (head, rows, end) and the whole worksheet part, when the builder made
    #: them for every report at once (``build._prerender``); ``html`` and ``xml`` are then empty.
    table: bytes | None = None
    sheet: bytes | None = None
    n_rows: int = 0


@dataclass(frozen=True)
class Block:
    """One table: shown under its section on the page and as its own sheet in the workbook."""

    key: str
    title: str
    sheet: str  # ≤ 31 characters, unique per workbook
    frame: pl.DataFrame  # display columns only (Chinese headers)
    tables: tuple[str, ...]  # the published tables the numbers come from
    empty_text: str = "无"
    rendered: Rendered | None = None  # the rows pre-rendered, when the builder did it

    @property
    def source(self) -> str:
        return source_note(*self.tables)


@dataclass(frozen=True)
class Section:
    key: str
    title: str
    tables: tuple[str, ...]
    intro: str = ""
    charts: list[Chart] = field(default_factory=list)
    blocks: list[Block] = field(default_factory=list)
    links: list[tuple[str, str]] = field(default_factory=list)  # (text, href) shown under the title

    @property
    def source(self) -> str:
        return source_note(*self.tables)


@dataclass(frozen=True)
class Report:
    report_key: str  # unit_code, or unit_code + ".rollup"
    unit_code: str
    unit_name: str
    level: str  # Chinese label
    parent_code: str | None
    parent_name: str | None
    rollup: bool
    year: int
    units_covered: int
    rules_versions: list[str]
    metrics: dict[str, int]  # METRICS key -> value
    sections: list[Section]

    @property
    def title(self) -> str:
        kind = "汇总报告（含下级单位）" if self.rollup else "廉政工作年度报告"
        return f"{self.unit_name} {self.year} 年度{kind}"

    @property
    def file_stem(self) -> str:
        return self.report_key
