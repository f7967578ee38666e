"""Helpers for tests/test_generator.py: read a generated landing zone back as plain text frames.

This is deliberately *not* the project's reader (lianjian's ingest is written and tested elsewhere):
it only knows the few spellings the generator itself writes, so generator tests do not depend on it.
Every value comes back as text with English headers, enum codes, ISO dates and true/false.
"""

from __future__ import annotations

import re
from pathlib import Path

import polars as pl
import zhconv

from lianjian.contract import SOURCES

def source_files(landing: Path, source: str) -> list[Path]:
    files = [landing / f"{source}.{ext}" for ext in ("csv", "xlsx") if (landing / f"{source}.{ext}").exists()]
    folder = landing / source
    if folder.is_dir():
        files += sorted(folder.glob("*.csv"))
    return files


def raw_header(path: Path) -> list[str]:
    """The header row exactly as written."""
    if path.suffix == ".xlsx":
        return pl.read_excel(path, infer_schema_length=0).columns
    data = path.read_bytes()
    text = data.decode("utf-8-sig") if _is_utf8(data) else data.decode("gb18030")
    return text.splitlines()[0].split(",")


def _is_utf8(data: bytes) -> bool:
    try:
        data.decode("utf-8")
        return True
    except UnicodeDecodeError:
        return False


def _read_one(path: Path) -> pl.DataFrame:
    if path.suffix == ".xlsx":
        return pl.read_excel(path, infer_schema_length=0)
    data = path.read_bytes()
    enc = "utf8" if _is_utf8(data) else None
    if enc is None:
        data = data.decode("gb18030").encode("utf-8")
    return pl.read_csv(data, infer_schema=False)


def _date(col: str) -> pl.Expr:
    s = pl.col(col).str.replace_all(r"[年月/.]", "-").str.replace("日", "")
    parts = s.str.split("-")
    return pl.when(s.str.contains(r"^\d{4}-\d{1,2}-\d{1,2}$")).then(
        pl.concat_str([parts.list.get(0), parts.list.get(1).str.zfill(2), parts.list.get(2).str.zfill(2)], separator="-")
    ).otherwise(pl.col(col))


def read_source(landing: Path, source: str) -> pl.DataFrame:
    """All files of one source, normalized to English headers, codes, ISO dates and true/false text."""
    spec = SOURCES[source]
    aliases = spec.header_aliases()
    frames = []
    for f in source_files(landing, source):
        df = _read_one(f)
        df = df.rename({c: aliases.get(c.strip(), c) for c in df.columns})
        frames.append(df.select([pl.col(c).cast(pl.String) for c in spec.column_names]))
    df = pl.concat(frames, how="vertical")
    exprs = []
    for c in spec.columns:
        e = pl.col(c.name)
        if c.enum is not None:
            spell = c.enum.spellings()
            # the traditional form the generator writes once (嚴重), found by another converter
            spell |= {zhconv.convert(k, "zh-hant"): v for k, v in spell.items()}
            e = pl.col(c.name).replace(spell)
        elif c.kind == "date":
            e = _date(c.name)
        elif c.kind == "bool":
            e = pl.col(c.name).str.to_lowercase().replace({"是": "true", "否": "false", "y": "true", "n": "false", "1": "true", "0": "false"})
        exprs.append(e.alias(c.name))
    # full-width digits (one demo row has them) before the date normalization
    dates = [c.name for c in spec.columns if c.kind == "date"]
    df = df.with_columns([pl.col(c).str.replace_many(list("０１２３４５６７８９"), list("0123456789")) for c in dates])
    return df.with_columns(exprs)


def is_iso(s: str | None) -> bool:
    return s is not None and re.fullmatch(r"\d{4}-\d{2}-\d{2}", s) is not None
