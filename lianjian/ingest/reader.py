"""Reading the landing zone (docs/contract.md "What it reads") into raw String frames, one per source.

Each source is ``<source>.csv|.xlsx|.parquet`` or a folder ``<source>/`` of any number of such files,
read in the order of their relative paths. Every cell is read as text; headers may be English,
Chinese (simplified or any regional traditional variant) in any order. The raw frame of a source has the contract's columns
(String, null where a file lacks the column) plus:

- ``_file``   the file's path relative to the landing folder
- ``_row``    the row number as a spreadsheet shows it (header = 1, first data row = 2)
- ``_problem`` a row-level reading problem (``row: ...``), e.g. more fields than the header
- ``_personal`` reasons about identity numbers: an invalid ``id_number``, or one found in a key or
  reference column. Every identity number in every cell (and unknown header) is masked here, as it
  is read (lianjian.privacy): identity numbers never leave this module in clear.

The inventory of files (``files``) carries the sha256 of each file's bytes, its encoding and the
mapping of its original headers, which the quarantine uses to show a rejected row as read.

A file is read in one pass (``read_file``): the raw rows, chunk by chunk, are typed and checked on
their own (``quarantine.check_chunk``) and written as checked parts that keep, beside the typed values,
the cells as read that the typed value does not give back (``_in_<column>``; the others are the text
of their typed value, ``quarantine.rows_as_read``); a run keeps them in the warehouse's file cache
(``lianjian.ingest.cache``), so an unchanged file is not read again (docs/ingest.md).
"""

from __future__ import annotations

import codecs
from collections import deque
import hashlib
import json
import re
import tempfile
import threading
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterator

import polars as pl

from lianjian.contract import SOURCES, Source
from lianjian import privacy
from lianjian.errors import FatalError
from lianjian.files import create_private, make_private, write_private
from lianjian.ingest import text
from lianjian.ingest import quarantine
from lianjian.ingest.cache import FileCache, FileRead
from lianjian.ingest.quarantine import ORD, SEP, DateBounds, check_chunk, rows_as_read

EXTENSIONS = (".csv", ".xlsx", ".parquet")
#: Bytes of a landing file read at a time to hash it and check its UTF-8 (``_hash_and_encoding``): a
#: block this size stays in the processor's cache between the copy out of the page cache and the
#: SHA-256 that reads it, and the same block of memory is used again read after read. 16 MiB blocks
#: were hashed from main memory, each a fresh allocation faulted in page by page: 0.81 against 0.50
#: CPU-s for a sixth of the national zone's 631 MiB (docs/performance.md, "Staging for less: landing
#: files hashed a mebibyte at a time, Polars' allocator keeping its pages 5 s").
CHUNK = 1 << 20

FILES_SCHEMA = pl.Schema(
    {
        "source": pl.String(),
        "file": pl.String(),
        "sha256": pl.String(),
        "format": pl.String(),
        "encoding": pl.String(),
        "headers": pl.String(),  # JSON object: column name -> original header
        "rows_read": pl.Int64(),
    }
)


def raw_schema(src: Source) -> pl.Schema:
    """The landing (as read) frame of a source: every contract column as String, plus bookkeeping."""
    cols = {c.name: pl.String() for c in src.columns}
    return pl.Schema(
        cols | {"_file": pl.String(), "_row": pl.Int64(), "_problem": pl.String(), "_personal": pl.List(pl.String())}
    )


@dataclass
class LandingRead:
    """What the landing zone holds: one raw frame per source, the file inventory, and warnings."""

    frames: dict[str, pl.DataFrame]
    files: pl.DataFrame
    warnings: list[str] = field(default_factory=list)
    present: dict[str, bool] = field(default_factory=dict)


def source_files(landing: Path, source: str) -> list[Path]:
    """The files of one source, sorted by relative path (deterministic)."""
    found = [landing / f"{source}{ext}" for ext in EXTENSIONS if (landing / f"{source}{ext}").is_file()]
    folder = landing / source
    if folder.is_dir():
        found += [p for p in folder.rglob("*") if p.is_file() and p.suffix.lower() in EXTENSIONS]
    return sorted(found, key=lambda p: p.relative_to(landing).as_posix())


def _hash_and_encoding(path: Path) -> tuple[str, str]:
    """sha256 of the bytes and the encoding: utf-8 if the whole file decodes strictly, else gb18030.
    A chunk of ASCII bytes met with no multi-byte character left open before it is valid UTF-8 as
    it is: it is not decoded (most landing files are ASCII throughout)."""
    h = hashlib.sha256()
    dec = codecs.getincrementaldecoder("utf-8")("strict")
    utf8 = True
    with path.open("rb") as f:
        while chunk := f.read(CHUNK):
            h.update(chunk)
            if utf8 and not (chunk.isascii() and not dec.getstate()[0]):
                try:
                    dec.decode(chunk)
                except UnicodeDecodeError:
                    utf8 = False
    if utf8:
        try:
            dec.decode(b"", final=True)
        except UnicodeDecodeError:
            utf8 = False
    return h.hexdigest(), "utf-8" if utf8 else "gb18030"


#: The reason of a CSV line that is neither UTF-8 nor GB18030 (shown as read, undecodable bytes as �).
ENCODING_PROBLEM = "row: encoding: the line is neither UTF-8 nor GB18030 (编码无法识别)"
#: How many line numbers a mixed-encoding warning lists before it only counts.
LISTED_LINES = 20


@dataclass
class Transcoded:
    """A CSV that is not UTF-8 throughout, rewritten as UTF-8: the path; how many lines were taken as
    UTF-8 (non-ASCII ones only) and as GB18030, with the first ``LISTED_LINES`` physical line numbers
    of each (memory stays bounded); and the rows (spreadsheet numbers, header = 1) of the lines that
    decode in neither (each becomes a rejected row)."""

    path: Path
    utf8_count: int = 0
    gb18030_count: int = 0
    utf8_lines: list[int] = field(default_factory=list)
    gb18030_lines: list[int] = field(default_factory=list)
    bad_rows: list[int] = field(default_factory=list)

    @property
    def mixed(self) -> bool:
        return bool(self.utf8_count and self.gb18030_count)

    @property
    def encoding(self) -> str:
        return "utf-8+gb18030" if self.mixed else "gb18030"


def _decode_line(line: bytes) -> tuple[bytes, str]:
    """(the line as UTF-8 bytes, "ascii" | "utf-8" | "gb18030" | "bad"): UTF-8 is tried first."""
    if line.isascii():
        return line, "ascii"
    text = line.decode("utf-8", "replace")
    if "\ufffd" not in text:
        return line, "utf-8"
    try:
        line.decode("utf-8")
        return line, "utf-8"  # a genuine U+FFFD in a UTF-8 line
    except UnicodeDecodeError:
        pass
    try:
        return line.decode("gb18030").encode("utf-8"), "gb18030"
    except UnicodeDecodeError:
        return line.decode("gb18030", "replace").encode("utf-8"), "bad"


def _transcode(path: Path, tmpdir: Path) -> Transcoded:
    """A CSV that is not UTF-8 as a whole, decoded LINE BY LINE into a UTF-8 temporary file (Polars
    reads UTF-8 only): each line in the encoding it is valid in — UTF-8 first, else GB18030 — so a
    file exported in GB18030 and appended to in UTF-8 (or the reverse) reads right throughout. A line
    valid in neither is kept with its undecodable bytes as U+FFFD and its row is rejected
    (``ENCODING_PROBLEM``). Row numbers follow records: a quoted field spanning lines (an even count
    of ``"`` closes it; ``"`` is never part of a multi-byte character in either encoding) is one row."""
    out = tmpdir / f"{hashlib.sha1(str(path).encode()).hexdigest()}.csv"
    res = Transcoded(out)
    row, open_quote = 1, False
    with path.open("rb") as src, create_private(out) as dst:
        for lineno, line in enumerate(src, start=1):
            data, kind = _decode_line(line)
            dst.write(data)
            if kind == "utf-8":
                res.utf8_count += 1
                if res.utf8_count <= LISTED_LINES:
                    res.utf8_lines.append(lineno)
            elif kind == "gb18030":
                res.gb18030_count += 1
                if res.gb18030_count <= LISTED_LINES:
                    res.gb18030_lines.append(lineno)
            elif kind == "bad":
                res.bad_rows.append(row)
            if line.count(b'"') % 2:
                open_quote = not open_quote
            if not open_quote:
                row += 1
    return res


def _mixed_warning(src: str, rel: str, t: Transcoded) -> str | None:
    """One warning naming the lines of the less used encoding, when a file mixes the two."""
    if not t.mixed:
        return None
    if t.gb18030_count <= t.utf8_count:
        name, other, lines, count = "GB18030", "UTF-8", t.gb18030_lines, t.gb18030_count
    else:
        name, other, lines, count = "UTF-8", "GB18030", t.utf8_lines, t.utf8_count
    more = count > len(lines)
    shown = "、".join(str(n) for n in lines) + (f" 等共 {count}" if more else "")
    return (
        f"{src}: {rel}: 文件混用两种编码：第 {shown} 行按 {name} 解码，其余按 {other} — 建议统一另存为 UTF-8"
        f" (mixed encodings: lines read as {name}: {', '.join(str(n) for n in lines)}{f', … ({count} lines)' if more else ''})"
    )


def _header_map(src: Source, headers: list[str], rel: str, warnings: list[str]) -> dict[int, str]:
    """Position -> contract column for a file's headers; unknown headers are warned about; a header
    named twice or a missing required column ends the run (FatalError, one line)."""
    out: dict[int, str] = {}
    cleaned = text.clean_headers(headers)
    names = text.resolve_spellings(cleaned, src.header_aliases())
    for i, h in enumerate(cleaned):
        name = names.get(h)
        if name is None:  # the header text is masked: it may hold an identity number
            shown = privacy.mask_str(h) if h else "(空表头)"
            warnings.append(f"{src.name}: 未知列「{shown}」已忽略 (unknown column ignored)")
            continue
        if name in out.values():
            col = src.column(name)
            raise FatalError(
                f"{rel}: 列 {name}（{col.zh}）在表头中出现了两次 — 请删除重复的列 (column given twice in the header)"
            )
        out[i] = name
    for name in src.required_columns:
        if name not in out.values():
            col = src.column(name)
            raise FatalError(f"{rel}: 缺少必填列 {name}（{col.zh}）— 请在表头中加入该列 (missing required column)")
    return out


#: How many bytes of a CSV are read to find its header (``_csv_fields``): any real header fits.
HEADER_BYTES = 1 << 16


def _csv_fields(path: Path) -> list[str] | None:
    """The cells of a CSV's first record (its header), or None when it has none. Parsed from the
    file's first ``HEADER_BYTES``, cut after their last line end, when they hold the start of a second
    record — the first one then ended in them: about 0.5 ms instead of 15–30 ms for Polars to open
    the whole file for one row (docs/performance.md, "Reading and staging for less, again"). A file
    shorter than that is parsed from those bytes, which are the whole file: the same parse as from
    the file, without Polars opening it (0.25 ms instead of 0.75 per file, the demo's 61 talks files of
    a few KB each). Otherwise (a header longer than that, a quote left open) from the whole file."""
    with path.open("rb") as f:
        block = f.read(HEADER_BYTES)
    end = block.rfind(b"\n")
    if len(block) == HEADER_BYTES and end > 0:
        try:
            head = pl.read_csv(block[: end + 1], has_header=False, n_rows=2, infer_schema=False, truncate_ragged_lines=True)
        except pl.exceptions.PolarsError:
            head = None
        if head is not None and head.height == 2:
            return [v if v is not None else "" for v in head.row(0)]
    whole = block if len(block) < HEADER_BYTES else path
    head = pl.read_csv(whole, has_header=False, n_rows=1, infer_schema=False, raise_if_empty=False, truncate_ragged_lines=True)
    if head.width == 0 or head.height == 0:
        return None
    return [v if v is not None else "" for v in head.row(0)]


def _scan_cells(source, width: int, **options) -> pl.LazyFrame:
    """The CSV scan of ``_scan_csv_cells`` and ``_scan_csv_files``: every cell a String column
    _c0.._c{width}, no header, ragged rows kept, a row index ``_i`` (``options``: more of
    ``pl.scan_csv``'s)."""
    schema = {f"_c{i}": pl.String() for i in range(width + 1)}
    return pl.scan_csv(
        source,
        has_header=False,
        schema=schema,
        missing_columns="insert",
        truncate_ragged_lines=True,
        row_index_name="_i",
        quote_char='"',
        **options,
    )


def _scan_csv_cells(path: Path, width: int) -> pl.LazyFrame:
    """Cells of a CSV as String columns _c0.._c{width} (one spare column catches rows with too many
    fields), with _row numbered as a spreadsheet shows it. Lazy: the caller streams it to Parquet."""
    lf = _scan_cells(path, width)
    return lf.filter(pl.col("_i") > 0).with_columns(
        (pl.col("_i").cast(pl.Int64) + 1).alias("_row"),
        pl.when(pl.col(f"_c{width}").is_not_null())
        .then(pl.lit(f"row: more fields than the {width} of the header"))
        .alias("_problem"),
    ).drop("_i", f"_c{width}")


def _scan_csv_files(paths: list[Path], rels: list[str], width: int) -> pl.LazyFrame:
    """``_scan_csv_cells`` of several CSV files of one header width in one query: each file's rows in
    the files' order, its header line left out, ``_row`` counted within the file, and ``_file``
    (``rels``, the files' paths in the landing zone). Polars parses each file on its own, as it
    parses one: the cells are those of scanning each file alone."""
    lf = _scan_cells([str(p) for p in paths], width, include_file_paths="_path", glob=False)
    which = pl.col("_path").rle_id()  # the files come in order, each at least its header line
    local = pl.col("_i").cast(pl.Int64) - pl.col("_i").min().over(which).cast(pl.Int64)
    lf = lf.with_columns(local.alias("_i"), pl.lit(pl.Series(rels, dtype=pl.String)).gather(which).alias("_file"))
    return lf.filter(pl.col("_i") > 0).with_columns(
        (pl.col("_i") + 1).alias("_row"),
        pl.when(pl.col(f"_c{width}").is_not_null())
        .then(pl.lit(f"row: more fields than the {width} of the header"))
        .alias("_problem"),
    ).drop("_i", "_path", f"_c{width}")


def _csv_line_fallback(path: Path, width: int, tmpdir: Path) -> pl.DataFrame:
    """A CSV Polars cannot parse (an unclosed quote swallows the rest of the file): read it line by
    line; a line with an odd number of quotes is a rejected row (``row: unclosed quote``), the others
    are parsed as CSV again with their original row numbers."""
    raw = path.read_text(encoding="utf-8", errors="replace")
    lines = pl.Series("line", raw.replace("\r\n", "\n").split("\n"), dtype=pl.String)
    frame = pl.DataFrame({"line": lines}).with_row_index("_i").filter(pl.col("_i") > 0)
    frame = frame.filter(~((pl.col("_i") == len(lines) - 1) & (pl.col("line") == "")))
    odd = pl.col("line").str.count_matches('"', literal=True) % 2 == 1
    # the broken line's cells, split naively at commas, so the row's other reasons still show
    parts = pl.col("line").str.split(",")
    bad = frame.filter(odd).select(
        *[parts.list.get(i, null_on_oob=True).alias(f"_c{i}") for i in range(width)],
        (pl.col("_i").cast(pl.Int64) + 1).alias("_row"),
        pl.lit("row: unclosed quote (odd number of \")").alias("_problem"),
    )
    good = frame.filter(~odd)
    tmp = tmpdir / f"fallback-{hashlib.sha1(str(path).encode()).hexdigest()}.csv"
    body = good.select(pl.format("{},{}", pl.col("_i") + 1, pl.col("line"))).to_series()
    write_private(tmp, ("\n".join(["_row"] + body.to_list()) + "\n").encode("utf-8"))
    schema = {"_row": pl.String()} | {f"_c{i}": pl.String() for i in range(width + 1)}
    cells = pl.read_csv(tmp, has_header=True, schema=schema, missing_columns="insert", truncate_ragged_lines=True)
    cells = cells.with_columns(
        pl.col("_row").cast(pl.Int64),
        pl.when(pl.col(f"_c{width}").is_not_null())
        .then(pl.lit(f"row: more fields than the {width} of the header"))
        .alias("_problem"),
    ).drop(f"_c{width}")
    return pl.concat([cells, bad], how="diagonal_relaxed")


def _read_csv(
    path: Path, rel: str, encoding: str, tmpdir: Path
) -> tuple[list[str] | None, pl.LazyFrame | None, Path, Transcoded | None]:
    """(headers, lazy cells or None when the file has no header, the UTF-8 path actually read, how a
    non-UTF-8 file was decoded)."""
    transcoded = _transcode(path, tmpdir) if encoding != "utf-8" else None
    p = transcoded.path if transcoded else path
    try:
        headers = _csv_fields(p)
    except pl.exceptions.PolarsError:
        raise FatalError(f"{rel}: 表头无法读取（引号不成对？）— 请检查第1行表头 (header row unreadable)") from None
    if headers is None:
        with path.open("rb") as f:
            start = f.read(4096)
        if start.strip(b"\xef\xbb\xbf \t\r\n"):  # bytes there, but no header read
            raise FatalError(f"{rel}: 表头无法读取（引号不成对？）— 请检查第1行表头 (header row unreadable)")
        return None, None, p, transcoded
    return headers, _scan_csv_cells(p, len(headers)), p, transcoded


def _read_xlsx(path: Path, src: Source) -> tuple[list[str] | None, pl.DataFrame, pl.DataFrame | None]:
    """First sheet, every cell as text; also which cells of personal columns were numbers. The
    header's width is up to its last non-blank cell: a row with a value further right gets
    ``row: more fields than the N of the header``, as a ragged CSV row does."""
    import fastexcel

    reader = fastexcel.read_excel(path)
    sheet = reader.load_sheet(0, header_row=None, dtypes="string")
    # handed to Polars through the Arrow C interface: pyarrow is not imported (≈ 0.1–0.2 s of a run's
    # main process, and only a workbook needed it: docs/performance.md, "The staging step's small
    # files read together")
    df = sheet.to_polars()
    if df.height == 0:
        return None, pl.DataFrame(), None
    headers = [v if v is not None else "" for v in df.row(0)]
    filled = [i for i, h in enumerate(headers) if h.strip(text.SPACES)]
    width = filled[-1] + 1 if filled else 0
    if width == 0:
        return None, pl.DataFrame(), None
    headers = headers[:width]
    df = df.rename({c: f"_c{i}" for i, c in enumerate(df.columns)})
    beyond = [f"_c{i}" for i in range(width, df.width)]
    extra = pl.any_horizontal([pl.col(c).str.strip_chars(text.SPACES).str.len_bytes() > 0 for c in beyond]).fill_null(False) if beyond else pl.lit(False)
    df = df.with_row_index("_i").filter(pl.col("_i") > 0)
    df = df.with_columns(
        (pl.col("_i").cast(pl.Int64) + 1).alias("_row"),
        pl.when(extra).then(pl.lit(f"row: more fields than the {width} of the header")).otherwise(pl.lit(None, pl.String)).alias("_problem"),
    ).drop("_i", *beyond)
    # An 18-digit identity number typed into a number cell has already lost its last digits: find
    # those cells by reading the column again as booleans (only number/boolean cells convert).
    numeric = {}
    cleaned = text.clean_headers(headers)
    names = text.resolve_spellings(cleaned, src.header_aliases())
    for i, hc in enumerate(cleaned):
        name = names.get(hc)
        if name and src.column(name).personal:
            s = reader.load_sheet(0, header_row=None, dtypes={i: "boolean"}, use_columns=[i])
            col = s.to_polars().to_series().slice(1)
            numeric[f"_c{i}"] = col.is_not_null().to_list()
    numeric_df = pl.DataFrame(numeric) if numeric else None
    return headers, df, numeric_df


def _as_text(dtype: pl.DataType, c: str) -> pl.Expr:
    """A Parquet column as text: dates ISO; decimal numbers rounded to 10 places (float noise such as
    ``33.333333333333336`` would otherwise be a 15-digit run: an identity number to the detector)."""
    if dtype == pl.Date():
        return pl.col(c).dt.to_string("%Y-%m-%d")
    if dtype.is_float() or dtype.is_decimal():
        return pl.col(c).cast(pl.Float64).round(10).cast(pl.String)
    return pl.col(c).cast(pl.String)


def _read_parquet(path: Path) -> tuple[list[str], pl.DataFrame]:
    df = pl.read_parquet(path)
    headers = df.columns
    df = df.select([_as_text(df.schema[c], c).alias(f"_c{i}") for i, c in enumerate(headers)])
    df = df.with_row_index("_i").with_columns(
        (pl.col("_i").cast(pl.Int64) + 2).alias("_row"), pl.lit(None, pl.String).alias("_problem")
    ).drop("_i")
    return headers, df


#: The reason given to a row whose key or reference cell holds an identity number (masked there).
ID_IN_KEY = "holds an identity number (身份证号), masked — a code or 工号 belongs here"


def identifying_columns(src: Source) -> set[str]:
    """The columns whose values identify a row or another row (key and reference columns): an
    identity number in one of them rejects the row, since masking could make two values equal."""
    return set(src.key) | {c.name for c in src.columns if c.ref}


#: Writer settings of the temporary per-file parts (read once more, then deleted): fast, not small.
PART_OPTIONS = dict(compression="lz4", statistics=False, row_group_size=1_000_000)


#: How many landing files of a source are read at once (``read_source``), each on its own thread.
READERS = 2

#: A landing file up to this size is read whole and row-checked together with the other small files
#: of its source, up to ``quarantine.CHUNK_ROWS`` rows per check (``_check_together``); a larger one
#: is streamed in chunks (``read_file``).
SMALL_FILE_BYTES = 16 << 20

#: A small UTF-8 CSV shorter than this is read in one query with the next files of its source that
#: begin with the same line (``_read_together``), up to ``SMALL_FILE_BYTES`` in all: below it, what a
#: file costs is Polars' fixed cost per query (≈ 2 ms a file for its header, scan, blank rows and
#: identity-number search, the demo's 2.7 KB talks files), not its rows. The province's smallest
#: files (≈ 80 KB) and the national zone's are above it: read one by one, as before.
TOGETHER_BYTES = 64 << 10

#: Characters that make a path a pattern to Polars' scans: a file named with one is read on its own.
_GLOB = set("*?[]{}")


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return 0  # read_file names the file when it cannot be read


#: The reason of a row whose only values stand under headers outside the contract.
ORPHAN_PROBLEM = "row: values only under columns outside the contract (unknown or blank header)"


def _read_cells(src: Source, path: Path, rel: str, encoding: str, tmpdir: Path):
    """(encoding, headers, cells, numeric cells of personal columns, the UTF-8 path read, transcoding)
    of one landing file; a file that cannot be read at all is a FatalError naming it."""
    suffix = path.suffix.lower()
    if suffix == ".csv":
        headers, cells, utf8_path, transcoded = _read_csv(path, rel, encoding, tmpdir)
        return (transcoded.encoding if transcoded else encoding), headers, cells, None, utf8_path, transcoded
    if suffix == ".xlsx":
        try:
            headers, cells, numeric = _read_xlsx(path, src)
        except Exception as err:  # a corrupt workbook: name the file, say what to do
            raise FatalError(f"{rel}: 无法读取 Excel 文件（{type(err).__name__}）— 请用 Excel 重新另存为 .xlsx") from None
        return "xlsx", headers, cells, numeric, path, None
    try:
        headers, cells = _read_parquet(path)
    except Exception as err:  # corrupt, truncated, or columns with no text form
        raise FatalError(
            f"{rel}: 无法读取 Parquet 文件（{type(err).__name__}）— 请重新导出该文件，或改为 .csv / .xlsx (unreadable Parquet file)"
        ) from None
    return "parquet", headers, cells, None, path, None


#: Fifteen characters in a row each of which is an ASCII digit or not ASCII: every text that holds an
#: identity number (15 decimal digits in a row, ``privacy.contains_id``) holds such a run, since a
#: decimal digit other than 0-9 is not ASCII.
_MAYBE_ID = re.compile("[0-9\u0080-\U0010ffff]{15}")


def check_name(rel: str) -> None:
    """A landing file name holding an identity number ends the run, the name masked. A name without
    fifteen characters in a row that could be digits (``_MAYBE_ID``: most names, ``talks/2024-01.csv``)
    holds none and is not searched by the detector — a Polars query a name, ≈ 0.1–1 ms, twice a file
    of the demo's 71 (docs/performance.md, "The staging step's small files read together")."""
    if _MAYBE_ID.search(rel) and privacy.contains_id_str(rel):
        raise FatalError(
            f"{privacy.mask_str(rel)}: 文件名中含有身份证号 — 请重命名该文件 (a landing file name holds an identity number)"
        )


def unreadable(rel: str, err: OSError) -> FatalError:
    return FatalError(f"{rel}: 无法读取文件（{err.strerror or type(err).__name__}）— 请检查文件权限与磁盘 (unreadable file)")


def file_digest(path: Path, rel: str) -> tuple[str, str]:
    """(sha256, encoding) of a landing file, in one pass over its bytes (``_hash_and_encoding``): what
    the file cache is keyed by. A file that cannot be read ends the run with one line naming it."""
    try:
        return _hash_and_encoding(path)
    except OSError as err:
        raise unreadable(rel, err) from None


def checked_schema(src: Source, dates: DateBounds | None = None) -> pl.Schema:
    """The columns of a checked part, ``check_chunk``'s: typed values, ``_file``, ``_row``, ``_ord``,
    ``_own``, ``_unparsed``, then every contract column as read where its typed value does not give
    it back (``_in_<column>``, text), ``_problem`` and ``_personal``. Written out from the contract
    (``quarantine.checked_schema``), not found by running the checks on an empty frame: that took
    ≈ 10 ms a source, a tenth of the demo's staging (docs/performance.md, "Staging's fixed costs");
    ``dates`` changes no column."""
    return quarantine.checked_schema(src)


#: The columns of checked rows a part does not store: every row of a part has its file's ``_file``,
#: and ``_ord`` counts the file's rows from 0 across its parts in order — ``scan_parts`` puts both
#: back (writing them was a fifth of a part's write: docs/performance.md, "Reading and staging for
#: less, again").
GIVEN_BY_PLACE = ("_file", ORD)


def write_part(checked: pl.DataFrame, part: Path) -> pl.DataFrame:
    """Write checked rows (``checked_schema``) as a part (0600), without the columns none of whose
    rows has a value: most of the cells as read (``_in_<column>``), ``_own``, ``_unparsed`` and
    ``_problem`` are null in every row of most parts, and writing 16 empty columns cost a quarter of
    a part's write (docs/performance.md, "Staging's fixed costs"); nor ``GIVEN_BY_PLACE``, the file
    and the position of each row. ``scan_parts`` puts them back. Returns the rows as written (what
    ``held_rows`` takes instead of the part)."""
    return write_parts([(checked, part)])[0]


def write_parts(parts: list[tuple[pl.DataFrame, Path]]) -> list[pl.DataFrame]:
    """``write_part`` of each (checked rows, part), the files written by one Polars call: a part of a
    few rows costs Polars' fixed cost of a write (≈ 0.8–1.2 ms), which the files of a source checked
    together (``_check_together``: the demo's 61 talks files) paid one after the other; in one call
    ≈ 0.5–0.75 ms a part, the same bytes (docs/performance.md, "The staging step's small files read
    together")."""
    written = []
    for checked, _ in parts:
        checked = checked.drop(GIVEN_BY_PLACE)
        if checked.height:
            checked = checked.drop([n for n in checked.columns if checked.get_column(n).null_count() == checked.height])
        written.append(checked)
    if len(parts) == 1:
        written[0].write_parquet(parts[0][1], **PART_OPTIONS)
    elif parts:
        pl.collect_all([w.lazy().sink_parquet(part, lazy=True, **PART_OPTIONS) for w, (_, part) in zip(written, parts)])
    for _, part in parts:
        make_private(part)
    return written


#: How many bytes of checked rows (as the parts hold them, ``DataFrame.estimated_size``) a reading of
#: the landing zone keeps in memory at most, beside their parts, until their source is staged
#: (``Budget``): staging then reads them instead of decoding the parts again — its checks across
#: files and its staged write (a sixth of the national zone, everything kept: ≈ 0.9 of ≈ 5 CPU-s of
#: staging; docs/performance.md, "Staging from the rows kept since reading"). A national cases source
#: (≈ 1.9 GB as held) does not fit whole and is staged partly from its parts; the smaller sources fit,
#: one or two at a time. Measured there: the staging step's RSS ≈ 4.6 GB instead of ≈ 3.1 (the freed
#: chunks the allocator keeps count too), under the run's peak (≈ 4.7 GB, set by the scoring steps).
HELD_BYTES = 1 << 30


class Budget:
    """The bytes of checked rows kept in memory (``HELD_BYTES`` at most), shared by the threads that
    read a landing zone: a file's rows are kept only while every chunk of it fits (``_check_parts``),
    and given back when its source is staged (``SourceRead.release``)."""

    def __init__(self, limit: int = HELD_BYTES):
        self.limit = limit
        self.used = 0
        self._lock = threading.Lock()

    def take(self, n: int) -> bool:
        with self._lock:
            if self.used + n > self.limit:
                return False
            self.used += n
            return True

    def give(self, n: int) -> None:
        with self._lock:
            self.used -= n


def _held_size(frames: list[pl.DataFrame]) -> int:
    """The bytes ``frames`` count against the ``Budget`` (what ``_keep`` took for them)."""
    return sum(f.estimated_size() for f in frames)


def _keep(budget: Budget | None, frames: list[pl.DataFrame] | None, frame: pl.DataFrame) -> list[pl.DataFrame] | None:
    """``frames`` (a file's rows kept so far, None when not kept) with ``frame`` added if the budget
    allows; else None, the file's kept rows given back (its parts are read instead)."""
    if budget is None or frames is None:
        return None
    frame = frame.rechunk()  # one chunk a column: the streaming engine scans it as it scans a part
    if budget.take(frame.estimated_size()):
        frames.append(frame)
        return frames
    budget.give(_held_size(frames))
    return None


def _held(read: FileRead, frames: list[pl.DataFrame] | None) -> None:
    read.held = frames
    read.held_bytes = _held_size(frames) if frames is not None else 0


def held_rows(src: Source, frames: list[pl.DataFrame], file: str, dates: DateBounds | None = None) -> pl.LazyFrame:
    """The checked rows of a file's parts from the rows as written (``write_part``'s result, kept in
    memory since reading): the rows ``scan_parts`` gives of the parts, without decoding them."""
    schema = checked_schema(src, dates)
    stored = pl.Schema({n: t for n, t in schema.items() if n not in GIVEN_BY_PLACE})
    frames = [
        f.lazy().select([pl.col(n) if n in f.columns else pl.lit(None, t).alias(n) for n, t in stored.items()]) for f in frames
    ]
    rows = frames[0] if len(frames) == 1 else pl.concat(frames, how="vertical")
    rows = rows.with_row_index(ORD)
    return rows.with_columns(pl.lit(file, pl.String).alias("_file"), pl.col(ORD).cast(pl.Int64)).select(list(schema))


def scan_parts(src: Source, parts: list[Path], file: str, dates: DateBounds | None = None) -> pl.LazyFrame:
    """The checked rows of ``parts`` (``write_part``), the parts of ONE landing file (``file``, its
    path in the landing zone) in their order, every column of ``checked_schema`` in its order: a
    column a part left out (null in each of its rows) is null there; ``_file`` is ``file`` and
    ``_ord`` each row's position among the parts' rows."""
    schema = checked_schema(src, dates)
    stored = pl.Schema({n: t for n, t in schema.items() if n not in GIVEN_BY_PLACE})
    scan = pl.scan_parquet(parts, schema=stored, missing_columns="insert", row_index_name=ORD)
    return scan.with_columns(pl.lit(file, pl.String).alias("_file"), pl.col(ORD).cast(pl.Int64)).select(list(schema))


def _chunks(frame: pl.LazyFrame, size: int, prepare: Callable[[pl.DataFrame], pl.DataFrame] | None = None) -> Iterator[pl.DataFrame]:
    """The rows of ``frame``, streamed, in chunks of exactly ``size`` rows (the last one shorter);
    ``prepare``: applied to each batch as it comes, before it is cut into chunks."""
    held: list[pl.DataFrame] = []
    have = 0
    for batch in frame.collect_batches(chunk_size=size):
        if prepare is not None:
            batch = prepare(batch)
        while batch.height:
            take = min(size - have, batch.height)
            held.append(batch.slice(0, take))
            have += take
            batch = batch.slice(take)
            if have == size:
                yield pl.concat(held).rechunk()
                held, have = [], 0
    if have:
        yield pl.concat(held).rechunk()


def _check_parts(
    src: Source, chunks: Iterator[pl.DataFrame], outdir: Path, dates: DateBounds | None, budget: Budget | None = None
) -> tuple[list[Path], int, list[pl.DataFrame] | None]:
    """Row checks of one file's rows as read (``raw_schema``), in chunks of ``quarantine.CHUNK_ROWS``
    (``_chunks``), each chunk written as a part under ``outdir`` (the checked columns and the cells as
    read). Returns the parts, the number of rows and, when the ``budget`` allowed every chunk, the
    rows as written (``held_rows``), else None."""
    schema = checked_schema(src, dates)
    parts, n = [], 0
    kept: list[pl.DataFrame] | None = [] if budget is not None else None
    try:
        for i, chunk in enumerate(chunks):
            part = outdir / f"part-{i:05d}.parquet"
            kept = _keep(budget, kept, write_part(check_chunk(src, chunk, n, dates).cast(schema), part))
            parts.append(part)
            n += chunk.height
    except BaseException:
        if kept:
            budget.give(_held_size(kept))
        raise
    return parts, n, kept


def read_file(
    src: Source,
    path: Path,
    landing: Path,
    tmpdir: Path,
    outdir: Path,
    dates: DateBounds | None = None,
    digest: tuple[str, str] | None = None,
    budget: Budget | None = None,
) -> FileRead:
    """One landing file, in one pass: decoded, headers resolved, every cell cleaned and every identity
    number masked, blank rows dropped, then each chunk of rows typed and checked on its own
    (``check_chunk``) and written to a part under ``outdir`` together with its cells as read. A CSV is
    read in a stream, so memory grows with the chunk, not with the file. Identity numbers are masked
    before any row is written anywhere; a file that cannot be read ends the run with one line naming
    it. ``digest``: its (sha256, encoding) when already known; ``tmpdir``: decoded copies; ``budget``:
    the rows are kept in memory as well when it allows (``FileRead.held``)."""
    opened = _open_file(src, path, landing, tmpdir, digest)
    if isinstance(opened, FileRead):
        return opened
    read, rows, fallback, finish = opened
    try:
        read.parts, n, kept = _check_parts(src, _chunks(rows(), quarantine.CHUNK_ROWS, finish), outdir, dates, budget)
    except pl.exceptions.PolarsError:
        if fallback is None:
            raise
        for part in outdir.glob("part-*.parquet"):
            part.unlink()
        read.parts, n, kept = _check_parts(src, _chunks(fallback(), quarantine.CHUNK_ROWS, finish), outdir, dates, budget)
    read.entry["rows_read"] = n
    _held(read, kept)
    return read


def _read_rows(
    src: Source, path: Path, landing: Path, tmpdir: Path, digest: tuple[str, str] | None = None
) -> FileRead | tuple[FileRead, pl.DataFrame]:
    """A small landing file read whole, as ``read_file`` reads it, its rows not yet checked: the
    FileRead (entry and warnings; no parts yet) and the rows as read (``raw_schema``), or a FileRead
    alone for an empty file."""
    opened = _open_file(src, path, landing, tmpdir, digest)
    if isinstance(opened, FileRead):
        return opened
    read, rows, fallback, finish = opened
    try:
        return read, finish(rows().collect())
    except pl.exceptions.PolarsError:
        if fallback is None:
            raise
        return read, finish(fallback().collect())


def _first_line(path: Path) -> bytes | None:
    """The first line of a small CSV, its line end included, when every file that begins with these
    bytes has the same header (``_csv_fields``) and the same cells after it as if read alone: a line
    that ends within ``HEADER_BYTES``, holds no quote (a quoted header cell may go on past the line
    end) and holds more than spaces, line ends and a byte-order mark (a line Polars could take as
    no record). Else None: the file is read on its own."""
    try:
        with path.open("rb") as f:
            block = f.read(HEADER_BYTES)
    except OSError:
        return None  # read on its own, which names the file
    end = block.find(b"\n")
    if end < 0:
        return None
    line = block[: end + 1]
    if b'"' in line or not line.strip(b" \t\r\n\xef\xbb\xbf"):
        return None
    return line


def _read_together(
    src: Source, files: list[tuple[Path, tuple[str, str]]], landing: Path, tmpdir: Path
) -> list[FileRead | tuple[FileRead, pl.DataFrame]]:
    """Small UTF-8 CSV files of one source that begin with the same line (``_first_line``), each with
    its (sha256, encoding): what ``_read_rows`` gives for each, in the files' order, from one query.
    One file's header is read and resolved, the cells of all of them scanned at once
    (``_scan_csv_files``) and their blank rows and identity numbers handled in one pass (``finish``
    works row by row), instead of paying Polars' fixed cost per file for each step (the demo's 61
    talks files: docs/performance.md, "The staging step's small files read together"). When Polars
    cannot parse one of them (an unclosed quote), each is read on its own, as ``_read_rows`` does."""
    (path, digest), rest = files[0], files[1:]
    opened = _open_file(src, path, landing, tmpdir, digest, others=[p for p, _ in rest])
    if isinstance(opened, FileRead):
        return [opened] + [_read_rows(src, p, landing, tmpdir, d) for p, d in rest]
    read, rows, _, finish = opened
    try:
        frame = finish(rows().collect())
    except pl.exceptions.PolarsError:
        return [_read_rows(src, p, landing, tmpdir, d) for p, d in files]
    rels = [p.relative_to(landing).as_posix() for p, _ in files]
    counts = dict(frame.get_column("_file").value_counts().iter_rows())
    out: list[FileRead | tuple[FileRead, pl.DataFrame]] = []
    start = 0
    for k, (rel, (_, (sha, _))) in enumerate(zip(rels, files)):
        if k:  # the same header: the same entry but for the file, and the same warnings
            check_name(rel)
            read = FileRead(opened[0].entry | {"file": rel, "sha256": sha}, list(opened[0].warnings), [])
        height = counts.get(rel, 0)
        out.append((read, frame.slice(start, height)))
        start += height
    return out


#: At most this many rows, ``_file_of_rows`` builds its column from a Python list: a few Polars queries
#: handed to Polars' threads cost more than the list for a small zone's sources (≈ 0.06 against 0.15
#: CPU ms, and a wait for a thread each on a busy machine).
FILE_OF_ROWS_LISTED = 65_536


def _file_of_rows(heights: pl.Series | list[int]) -> pl.Series:
    """For rows concatenated file after file (``heights``: each file's rows), the index of the file of
    each row (UInt32); a file without rows takes none (``explode`` gives it a null, dropped)."""
    heights = pl.Series(heights, dtype=pl.UInt32)
    if heights.sum() <= FILE_OF_ROWS_LISTED:
        listed = [i for i, n in enumerate(heights.to_list()) for _ in range(n)]
        return pl.Series("literal", listed, dtype=pl.UInt32)
    return pl.select(pl.int_range(heights.len(), dtype=pl.UInt32).repeat_by(heights).explode()).to_series().drop_nulls()


def _check_together(
    src: Source, files: list[tuple[FileRead, pl.DataFrame, Path]], dates: DateBounds | None, budget: Budget | None = None
) -> None:
    """Row checks of several small files of one source (``_read_rows``, at most ``CHUNK_ROWS`` rows in
    all) in one call of ``check_chunk``, each file's rows then written to a part under its own folder
    exactly as ``read_file`` writes them: the checks of a row depend on that row alone, and ``_ord``
    counts from 0 within each file. The checks cost a fixed ≈ 10 ms per call whatever the rows (the
    cleaning and parsing expressions are built and compiled per column and call), which made a zone
    of many small files (the demo: 71) pay it per file (docs/performance.md)."""
    schema = checked_schema(src, dates)
    checked = check_chunk(src, pl.concat([rows for _, rows, _ in files], how="vertical", rechunk=True), 0, dates)
    # each row's ``_ord`` within its own file, and the schema's types, for every file at once: one
    # query, not one per file (the demo's 61 talks files)
    heights = pl.Series([rows.height for _, rows, _ in files], dtype=pl.Int64)
    which = _file_of_rows(heights)
    checked = checked.with_columns(pl.col(ORD) - (heights.cum_sum() - heights).gather(which)).cast(schema)
    start, parts = 0, []
    for read, rows, outdir in files:
        if rows.height:
            parts.append((checked.slice(start, rows.height), outdir / "part-00000.parquet"))
        start += rows.height
    written = iter(write_parts(parts))
    for read, rows, outdir in files:
        read.parts = []
        if rows.height:
            read.parts = [outdir / "part-00000.parquet"]
            _held(read, _keep(budget, [] if budget is not None else None, next(written)))
        read.entry["rows_read"] = rows.height


def _open_file(
    src: Source, path: Path, landing: Path, tmpdir: Path, digest: tuple[str, str] | None, others: list[Path] | None = None
):
    """A landing file opened (``read_file``): a FileRead alone for an empty file, else its FileRead
    (entry and warnings, no parts), a function giving its rows as read (lazy) and, for a CSV, one
    giving them read line by line (when Polars cannot parse the file), else None; and the function
    that drops the blank rows of a batch of those rows (``_chunks``'s ``prepare``): the rows are
    the rows as read (``raw_schema``) once it has run. ``others``: small UTF-8 CSV files of the same
    source whose first line is this file's, byte for byte (``_read_together``) — their rows come
    after this file's, from the same query, each with its own ``_file`` and ``_row``; the fallback
    is then None (the caller reads them one by one instead)."""
    rel = path.relative_to(landing).as_posix()
    check_name(rel)
    warnings: list[str] = []
    sha, encoding = digest or file_digest(path, rel)
    try:
        encoding, headers, cells, numeric, utf8_path, transcoded = _read_cells(src, path, rel, encoding, tmpdir)
    except OSError as err:
        raise unreadable(rel, err) from None
    if others and headers is not None:
        paths = [path, *others]
        cells = _scan_csv_files(paths, [p.relative_to(landing).as_posix() for p in paths], len(headers))
    suffix = path.suffix.lower()
    entry = {"source": src.name, "file": rel, "sha256": sha, "format": suffix[1:], "encoding": encoding}
    if headers is None:  # an empty file: no header, no rows
        warnings.append(f"{src.name}: {rel}: 空文件，没有表头和数据行 (empty file: no header, no rows)")
        entry |= {"headers": "{}", "rows_read": 0}
        return FileRead(entry, warnings, [])
    if transcoded is not None and (mixed := _mixed_warning(src.name, rel, transcoded)):
        warnings.append(mixed)
    hmap = _header_map(src, headers, rel, warnings)
    entry["headers"] = json.dumps({name: headers[i].strip() for i, name in hmap.items()}, ensure_ascii=False)
    if numeric is not None:
        cells = pl.concat([cells, numeric.rename({c: f"{c}_numeric" for c in numeric.columns})], how="horizontal")
    numeric_cols = set(numeric.columns) if numeric is not None else set()
    cols = []
    # Reasons about identity numbers (``_personal``), by contract column: those worked out in the scan
    # here (the personal column's validation; a key or reference column of dates in a workbook), and
    # the columns whose identity numbers are searched batch by batch (``finish``).
    scanned_reasons: dict[str, pl.Expr] = {}
    searched: list[str] = []
    identifying = identifying_columns(src)
    for c in src.columns:
        pos = [i for i, n in hmap.items() if n == c.name]
        expr = pl.col(f"_c{pos[0]}") if pos else pl.lit(None, pl.String)
        if c.personal:  # validated, then masked whole
            v = text.clean(expr)
            problem = privacy.id_number_problem(v)
            if pos and f"_c{pos[0]}" in numeric_cols:
                problem = pl.when(pl.col(f"_c{pos[0]}_numeric")).then(pl.lit("stored as a number, digits lost")).otherwise(problem)
            scanned_reasons[c.name] = pl.when(v.is_not_null() & problem.is_not_null()).then(pl.format(f"{c.name}: {{}}", problem))
            expr = privacy.mask_whole(expr)
        elif pos and suffix == ".xlsx" and c.kind == "date":
            # a workbook's date cell: masked before a serial day number is read as a date
            if c.name in identifying:
                scanned_reasons[c.name] = pl.when(privacy.contains_id(expr)).then(pl.lit(f"{c.name}: {ID_IN_KEY}"))
            expr = text.excel_serial_to_iso(privacy.mask_ids(expr))
        elif pos:
            # Every other cell: an identity number inside it is masked batch by batch as the rows are
            # read, before anything is written (``finish``). In a key or reference column the mask
            # could make two values equal: the row is rejected instead of merged (docs/ingest.md,
            # "Identity numbers").
            searched.append(c.name)
        cols.append(expr.alias(c.name))
    reason_cols = {n: f"_pr_{n}" for n in scanned_reasons}
    file = pl.col("_file") if others else pl.lit(rel)  # the files read together carry their own
    scan_schema = pl.Schema({n: t for n, t in raw_schema(src).items() if n != "_personal"} | {r: pl.String() for r in reason_cols.values()})

    # A row whose every cell is blank is not a record (spreadsheets leave them at the end): skipped.
    # One with values only under unknown or blank headers is a record the contract cannot read:
    # counted and rejected, as is a line that decodes in neither encoding.
    def filled(i: int) -> pl.Expr:  # not blank: something left once leading spaces are cut
        return (pl.col(f"_c{i}").str.strip_chars_start(text.SPACES).str.len_bytes() > 0).fill_null(False)

    other = [i for i in range(len(headers)) if i not in hmap]
    blank = ~pl.any_horizontal([filled(i) for i in hmap] or [pl.lit(False)])
    # Without unknown columns, a row is tested cell by cell only when its first cell (a key column's
    # where the file has one) is blank — few rows: ``drop_blank``, batch by batch, on the cells as read
    # (masking never makes a cell blank); the personal columns' in the scan, before they are masked whole.
    first = next((i for i, n in hmap.items() if n in src.key), next(iter(hmap), None))
    personal_filled = {f"_pf_{n}": filled(i) for i, n in hmap.items() if src.column(n).personal}
    screened = not other and first is not None
    problems = [pl.col("_problem")]
    if transcoded is not None and transcoded.bad_rows:
        problems.insert(0, pl.when(pl.col("_row").is_in(transcoded.bad_rows)).then(pl.lit(ENCODING_PROBLEM)))
    if other:
        problems.append(pl.when(blank & pl.any_horizontal([filled(i) for i in other])).then(pl.lit(ORPHAN_PROBLEM)))
    problem = problems[0] if len(problems) == 1 else pl.when(pl.any_horizontal([p.is_not_null() for p in problems])).then(
        pl.concat_str(problems, separator=SEP, ignore_nulls=True)
    )

    def rows_of(cells: pl.LazyFrame) -> pl.LazyFrame:
        """The rows as read, before ``finish``: every cell but the searched columns' masked, the
        reasons worked out in the scan as columns (``_pr_<column>``), no ``_personal`` yet."""
        reasons = [e.alias(reason_cols[n]) for n, e in scanned_reasons.items()]
        if screened:
            frame = cells.with_columns(problem.alias("_problem")).select(
                *cols, file.alias("_file"), pl.col("_row"), pl.col("_problem"), *reasons,
                filled(first).alias("_f0"), *[e.alias(n) for n, e in personal_filled.items()],
            )
            return frame.cast(scan_schema | {"_f0": pl.Boolean(), **{n: pl.Boolean() for n in personal_filled}})
        frame = cells.with_columns(problem.alias("_problem"), blank.alias("_blank")).select(
            *cols, file.alias("_file"), pl.col("_row"), pl.col("_problem"), *reasons, pl.col("_blank")
        )
        return frame.filter(~pl.col("_blank") | pl.col("_problem").is_not_null()).drop("_blank").cast(scan_schema)

    masked_filled = [
        (pl.col(n).str.strip_chars_start(text.SPACES).str.len_bytes() > 0).fill_null(False)
        for n in hmap.values()
        if not src.column(n).personal
    ] + [pl.col(n) for n in personal_filled]

    def drop_blank(batch: pl.DataFrame) -> pl.DataFrame:
        """The rows of ``rows_of`` less the blank ones (every cell empty or spaces, no problem)."""
        if not screened:
            return batch
        aux = ["_f0", *personal_filled]
        maybe = (~batch.get_column("_f0")) & batch.get_column("_problem").is_null()
        if maybe.any():
            idx = maybe.arg_true()
            filled_rows = batch[idx].select(pl.any_horizontal(masked_filled)).to_series()
            drop = pl.repeat(False, batch.height, dtype=pl.Boolean, eager=True).scatter(idx, ~filled_rows)
            batch = batch.filter(~drop)
        return batch.drop(aux)

    def finish(batch: pl.DataFrame) -> pl.DataFrame:
        """A batch of ``rows_of`` as read (``raw_schema``): blank rows dropped, every identity number
        of the searched columns masked, ``_personal`` built. A column is searched only when one of
        its cells is long enough to hold an identity number (``privacy.ID_MIN_BYTES``: most columns
        of codes, dates and flags have none), and masked only where one is found; the reasons are
        put in a list only when a row has one (docs/performance.md, "Reading and staging for less
        CPU")."""
        batch = drop_blank(batch)
        # the longest cell of every searched column, in one query (two per column cost ≈ 0.15 ms a file
        # of the demo's talks: docs/performance.md, "Staging for less: one row hash a year digest, the
        # small files' fixed costs")
        longest = batch.select(pl.col(n).str.len_bytes().max() for n in searched).row(0) if searched else ()
        long = [n for n, most in zip(searched, longest) if (most or 0) >= privacy.ID_MIN_BYTES]
        found = batch.select(privacy.contains_id(pl.col(n)).any().alias(n) for n in long).row(0, named=True) if long else {}
        holding = [n for n in long if found[n]]
        reasons = []
        for c in src.columns:
            if c.name in reason_cols:
                reasons.append(pl.col(reason_cols[c.name]))
            elif c.name in holding and c.name in identifying:
                reasons.append(pl.when(privacy.contains_id(pl.col(c.name))).then(pl.lit(f"{c.name}: {ID_IN_KEY}")))
        given = batch.select(r.is_not_null().any().alias(f"_{i}") for i, r in enumerate(reasons)).row(0) if reasons else ()
        reasons = [r for r, g in zip(reasons, given) if g]
        personal = pl.concat_list(reasons).list.drop_nulls() if reasons else pl.lit([], pl.List(pl.String))
        batch = batch.with_columns(*[privacy.mask_ids(pl.col(n)) for n in holding], personal.alias("_personal"))
        return batch.select(list(raw_schema(src))).cast(raw_schema(src))

    # Polars cannot parse a CSV whose quote is not closed (it swallows the rest of the file): line by line
    fallback = (lambda: rows_of(_csv_line_fallback(utf8_path, len(headers), tmpdir).lazy())) if suffix == ".csv" and not others else None
    return FileRead(entry, warnings, []), (lambda: rows_of(cells.lazy())), fallback, finish


@dataclass
class SourceRead:
    """One source as read: its files (inventory entries and checked parts) and whether any file of it
    was present. ``rows()`` are the checked rows of the whole source, ``frame`` the rows as read."""

    name: str
    files: list[FileRead]
    present: bool
    dates: DateBounds | None = None
    budget: Budget | None = None  # what the rows kept in memory since reading count against

    @property
    def entries(self) -> list[dict]:
        return [f.entry for f in self.files]

    @property
    def held(self) -> bool:
        """Whether every file's rows are in memory since reading (``FileRead.held``): no part is read."""
        return all(f.held is not None for f in self.files if f.parts)

    def rows(self) -> pl.LazyFrame:
        """The checked rows of every file in order, ``_ord`` counting over the whole source: a file's
        rows kept in memory since reading (``held_rows``), else its parts (``scan_parts``)."""
        frames, base = [], 0
        src = SOURCES[self.name]
        for f in self.files:
            if f.parts:
                rows = held_rows(src, f.held, f.entry["file"], self.dates) if f.held is not None else scan_parts(src, f.parts, f.entry["file"], self.dates)
                frames.append(rows.with_columns(pl.col(ORD) + base))
            base += f.rows
        if not frames:
            return pl.LazyFrame(schema=checked_schema(SOURCES[self.name], self.dates))
        return frames[0] if len(frames) == 1 else pl.concat(frames, how="vertical")

    def held_frame(self) -> pl.DataFrame | None:
        """The rows ``rows()`` gives, built at once from the rows kept in memory since reading (one
        chunk a column), or None when a file's rows are not kept. ``rows()`` is a plan over every
        file (a select of every column, a row index, the file's path), which a source of many small
        files paid per file when it was collected: the demo's 61 talks files ≈ 27 ms of CPU for
        2,100 rows, ≈ 1.3 ms this way (docs/performance.md, "Staging for less: one row hash a year
        digest, the small files' fixed costs")."""
        files = [f for f in self.files if f.parts]
        if not files or any(f.held is None for f in files):
            return None
        schema = checked_schema(SOURCES[self.name], self.dates)
        rows = pl.concat([h for f in files for h in f.held], how="diagonal")
        heights, shift, base, start = [], [], 0, 0  # ``rows()``: ``_ord`` counts from base, over every file
        for f in self.files:
            if f.parts:
                heights.append(sum(h.height for h in f.held))
                shift.append(base - start)
                start += heights[-1]
            base += f.rows
        which = _file_of_rows(heights)
        given = {
            "_file": pl.Series([f.entry["file"] for f in files], dtype=pl.String).gather(which),
            ORD: pl.int_range(rows.height, dtype=pl.Int64, eager=True)
            + pl.Series(shift, dtype=pl.Int64).gather(which),
        }
        return rows.select(
            [given[n].alias(n) if n in given else pl.col(n) if n in rows.columns else pl.lit(None, t).alias(n) for n, t in schema.items()]
        ).rechunk()

    @property
    def frame(self) -> pl.LazyFrame:
        """The rows as read (``raw_schema``): every cell as text, identity numbers masked."""
        return rows_as_read(SOURCES[self.name], self.rows())

    def release(self) -> None:
        """Forget the rows kept in memory since reading (its source is staged) and give their bytes
        back to the budget: ``rows()`` reads the parts from now on."""
        for f in self.files:
            if f.held is not None:
                if self.budget is not None:
                    self.budget.give(f.held_bytes)
                f.held, f.held_bytes = None, 0


def read_source(
    src: Source,
    landing: Path,
    tmpdir: Path,
    warnings: list[str],
    dates: DateBounds | None = None,
    cache: FileCache | None = None,
    budget: Budget | None = None,
) -> SourceRead:
    """Every file of one source, read and row-checked (``read_file``; the small files of a source are
    checked together, ``_check_together``). The files are read ``READERS`` at a time, each on its own
    thread, while the next ones are hashed and looked up and the small files already read are
    checked: reading one file keeps about one core busy, and the machine has more (docs/performance.md,
    "Reading and staging for less CPU").
    What a file's reading gives depends on that file alone, so the parts, the entries and the
    warnings (in the files' order) are those of reading them one after the other. With a ``cache`` (a run: the
    warehouse's private cache), a file whose bytes, path and reading settings are those of a cached
    read is not read again; without one, the parts are written under ``tmpdir`` (they must outlive
    the result). With a ``budget``, the rows of the files read are kept in memory as well while it
    allows (``FileRead.held``; not those of a file taken from the cache)."""
    paths = source_files(landing, src.name)
    if not paths:
        if src.required:
            raise FatalError(
                f"{src.name}.csv: 缺少必需的数据源 {src.name}（{src.zh}）— 请把 {src.name}.csv、.xlsx 或 .parquet"
                f"（或文件夹 {src.name}/）放入落地区 {landing}"
            )
        return SourceRead(src.name, [], False, dates, budget)
    files: list[FileRead | None] = []
    small: list[tuple[int, FileRead, pl.DataFrame, Path, str | None]] = []  # read whole, to be checked together
    built: dict[int, str] = {}  # files read into a new cache entry: their keys
    reading: deque[tuple[int, bool, Future, str | None, Path]] = deque()  # (index, large, read, key, folder)

    held: dict[int, tuple[list[pl.DataFrame] | None, int]] = {}  # files put in the cache: their rows kept

    def done(i: int, read: FileRead, key: str | None, outdir: Path) -> None:
        if key is None:
            files[i] = read
        else:
            cache.put(key, read, outdir)
            held[i] = (read.held, read.held_bytes)

    def check_small() -> None:
        if small:
            _check_together(src, [(read, rows, outdir) for _, read, rows, outdir, _ in small], dates, budget)
            for i, read, _, outdir, key in small:
                done(i, read, key, outdir)
            small.clear()

    def take(i: int | list, large: bool, future: Future, key: str | None, outdir: Path | None) -> None:
        """A file's read, in the files' order: a large file's is done; a small file's rows join the
        next check of small files together (or, many short rows, are checked in chunks). Files read
        together (``i`` a list of (index, key, folder)): each taken in turn."""
        if isinstance(i, list):
            for (j, k, o), opened in zip(i, future.result()):
                take_small(j, opened, k, o)
            return
        if large:
            return done(i, future.result(), key, outdir)
        take_small(i, future.result(), key, outdir)

    def take_small(i: int, opened, key: str | None, outdir: Path) -> None:
        read, rows = opened if isinstance(opened, tuple) else (opened, None)
        if rows is not None and rows.height <= quarantine.CHUNK_ROWS:
            if sum(r.height for _, _, r, _, _ in small) + rows.height > quarantine.CHUNK_ROWS:
                check_small()
            small.append((i, read, rows, outdir, key))
            return
        if rows is not None:  # a small file of many short rows: in chunks, as read_file does
            read.parts, n, kept = _check_parts(src, _chunks(rows.lazy(), quarantine.CHUNK_ROWS), outdir, dates, budget)
            read.entry["rows_read"] = n
            _held(read, kept)
        done(i, read, key, outdir)

    together: list[tuple[int, Path, tuple[str, str], str | None, Path]] = []  # small CSV files of one first line
    together_of = {"line": b"", "bytes": 0}  # their first line and their bytes

    def submit(future_of: Callable[[], Future], i, large: bool, key: str | None, outdir: Path | None) -> None:
        reading.append((i, large, future_of(), key, outdir))
        while len(reading) > READERS:  # at most one file read ahead of the readers
            take(*reading.popleft())

    def read_together() -> None:
        """The files gathered in ``together``: one alone as any small file, several in one query."""
        files = list(together)
        together.clear()
        if len(files) == 1:
            i, p, digest, key, outdir = files[0]
            submit(lambda: pool.submit(_read_rows, src, p, landing, tmpdir, digest), i, False, key, outdir)
        elif files:
            batch = [(p, digest) for _, p, digest, _, _ in files]
            which = [(i, key, outdir) for i, _, _, key, outdir in files]
            submit(lambda: pool.submit(_read_together, src, batch, landing, tmpdir), which, False, None, None)

    # the pool is left (its reads ended) before the cache's building folders are
    with ExitStack() as building, ThreadPoolExecutor(READERS, thread_name_prefix="lianjian-read-file") as pool:
        try:
            for i, p in enumerate(paths):
                rel = p.relative_to(landing).as_posix()
                check_name(rel)
                read, key = None, None
                if cache is not None:
                    # a file whose SHA-256 is known from its stat (the landing stat cache) and whose entry is
                    # cached is not even hashed; otherwise it is hashed, then looked up
                    sha = cache.known_sha256(rel, p)
                    read = cache.get(cache.key(src, rel, sha, dates)) if sha is not None else None
                    if read is None:
                        digest = file_digest(p, rel)
                        key = cache.key(src, rel, digest[0], dates)
                        read = cache.get(key)
                else:
                    digest = file_digest(p, rel)
                if read is not None:
                    files.append(read)
                    continue
                files.append(None)
                if cache is None:
                    outdir = tmpdir / f"{src.name}-{i:05d}"
                    outdir.mkdir(mode=0o700)
                else:
                    outdir = building.enter_context(cache.building(key))
                    built[i] = key
                size = _size(p)
                line = None
                if 0 < size < TOGETHER_BYTES and size <= SMALL_FILE_BYTES and digest[1] == "utf-8":
                    if p.suffix.lower() == ".csv" and not _GLOB & set(str(p)):
                        line = _first_line(p)
                # a small CSV beginning with the line of the files gathered before it joins them
                if together and (line != together_of["line"] or together_of["bytes"] + size > SMALL_FILE_BYTES):
                    read_together()
                if line is not None:
                    if not together:
                        together_of.update(line=line, bytes=0)
                    together.append((i, p, digest, key, outdir))
                    together_of["bytes"] += size
                    continue
                large = size > SMALL_FILE_BYTES
                if large:  # streamed in chunks, each checked and written as a part
                    submit(lambda: pool.submit(read_file, src, p, landing, tmpdir, outdir, dates, digest, budget), i, True, key, outdir)
                else:  # read whole, checked with the other small files
                    submit(lambda: pool.submit(_read_rows, src, p, landing, tmpdir, digest), i, False, key, outdir)
            read_together()
            while reading:
                take(*reading.popleft())
            check_small()
        finally:
            for _, _, future, _, _ in reading:
                future.cancel()  # after an error: the reads not started yet are not started
    for i, key in built.items():  # the cache entries written above, now in place
        if files[i] is None:
            read = cache.get(key)
            if read is None:
                raise FatalError(f"{cache.root / key}: 无法写入数据仓库的缓存 — 请检查磁盘空间与权限 (file cache not written)")
            read.cached = False
            read.held, read.held_bytes = held.get(i, (None, 0))
            files[i] = read
    for read in files:
        warnings.extend(read.warnings)
    if src.required and all(f.entry["headers"] == "{}" for f in files):
        raise FatalError(
            f"{files[0].entry['file']}: 文件为空，必需的数据源 {src.name}（{src.zh}）没有表头 — 请重新导出该文件 (empty file)"
        )
    return SourceRead(src.name, files, True, dates, budget)


def landing_folder(landing: Path) -> Path:
    landing = Path(landing)
    if not landing.is_dir():
        raise FatalError(f"{landing}: 落地区目录不存在 — 请用 --landing 指定落地区 (landing folder not found)")
    return landing


def iter_landing(
    landing: Path,
    tmpdir: Path,
    warnings: list[str],
    dates: DateBounds | None = None,
    cache: FileCache | None = None,
    budget: Budget | None = None,
) -> Iterator[SourceRead]:
    """Read the landing zone one source at a time, in declaration order (raises FatalError when a
    required source or column is missing). Each source's rows are lazy over its checked parts (under
    ``tmpdir``, or in the ``cache``), or over the rows kept in memory since reading while the
    ``budget`` (by default ``HELD_BYTES`` for this reading) allows: ``SourceRead.release`` gives
    them back once the source is staged. Warnings are appended."""
    landing = landing_folder(landing)
    budget = Budget() if budget is None else budget
    for src in SOURCES.values():
        yield read_source(src, landing, tmpdir, warnings, dates, cache, budget)


def files_frame(entries: list[dict]) -> pl.DataFrame:
    return pl.DataFrame(entries, schema=FILES_SCHEMA) if entries else pl.DataFrame(schema=FILES_SCHEMA)


def read_landing(landing: Path, dates: DateBounds | None = None) -> LandingRead:
    """Read every source of the landing zone into memory, as read (tests and small zones; a run
    streams with ``iter_landing``). Unknown columns are reported once per source and header."""
    warnings: list[str] = []
    frames: dict[str, pl.DataFrame] = {}
    entries: list[dict] = []
    present: dict[str, bool] = {}
    with tempfile.TemporaryDirectory(prefix="lianjian-landing-") as tmp:
        for read in iter_landing(landing, Path(tmp), warnings, dates):
            entries += read.entries
            frames[read.name] = read.frame.collect()
            present[read.name] = read.present
    return LandingRead(frames=frames, files=files_frame(entries), warnings=list(dict.fromkeys(warnings)), present=present)
