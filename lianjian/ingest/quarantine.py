"""Typing, row checks, duplicates and references of the raw landing frames (docs/contract.md "What it reads").

Every rule comes from the declaration in ``lianjian.contract``: column kinds, required flags,
``min``/``max``, ``pattern``, ``required_if``/``required_unless``, ``date_order``, keys and
``ref``/``ref_scope``/``ref_filter``. A row gets EVERY reason that applies, each starting with the
column it concerns; rows with no reason are accepted, exact duplicate copies are counted and dropped.

Reasons are kept as one nullable String column per check (``_why_*``, in the order the checks run)
until the end: a row is rejected when any of them is set, and only the rejected rows — few — get the
list of reasons built. Values that repeat (codes, dates, flags, numbers) are parsed once per
distinct value. Both keep tens of millions of rows cheap.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date

import polars as pl

from lianjian.contract import INTERNAL, LEADERSHIP_POSITIONS, PUBLISHED, SOURCES, Column, Source
from lianjian.ingest import text

#: How much of a bad value a reason repeats (a very long cell is kept, but not echoed whole).
ECHO_CHARS = 60

REPORT_SCHEMA = INTERNAL["ingest_report"].schema()


def _refs(src: Source) -> set[str]:
    return {c.ref.split(".")[0] for c in src.columns if c.ref} - {src.name}


def _reaches(start: str, goal: str) -> bool:
    """Whether ``start`` references ``goal``, directly or through other sources."""
    seen, todo = set(), [start]
    while todo:
        s = todo.pop()
        if s == goal:
            return True
        if s not in seen:
            seen.add(s)
            todo.extend(_refs(SOURCES[s]))
    return False


def reference_order() -> list[str]:
    """Sources in the order their references can be checked against ACCEPTED rows: a source comes
    after every source it references. The one cycle (personnel.dept_code -> departments,
    departments.*_id -> personnel) is broken in declaration order: personnel goes first and checks
    dept_code against the departments' candidate rows (those passing their own row checks). Among
    the sources that can go next, the one declared first: the landing zone is read in declaration
    order, so a source can be staged as soon as it (and the sources it takes candidates from) is
    read, while the next ones are read (``stage_sources``)."""
    names = list(SOURCES)
    # a reference to a source declared later that references this one back is the cycle, broken
    deps = {
        name: {t for t in _refs(s) if not (names.index(t) > names.index(name) and _reaches(t, name))}
        for name, s in SOURCES.items()
    }
    order: list[str] = []
    remaining = list(SOURCES)
    while remaining:
        ready = [s for s in remaining if deps[s] <= set(order)]
        pick = ready[0] if ready else remaining[0]
        order.append(pick)
        remaining.remove(pick)
    return order


def upstream(name: str) -> tuple[set[str], set[str]]:
    """(sources whose accepted rows ``name`` is checked against, sources whose candidates it uses)."""
    order = reference_order()
    before = set(order[: order.index(name)])
    targets = {c.ref.split(".")[0] for c in SOURCES[name].columns if c.ref} - {name}
    return targets & before, targets - before


def _echo(v: pl.Expr) -> pl.Expr:
    """A bad value as a reason repeats it: NUL bytes shown as ␀, cut after ECHO_CHARS characters."""
    v = v.str.replace_all("\x00", "␀", literal=True)
    return pl.when(v.str.len_chars() > ECHO_CHARS).then(pl.concat_str(v.str.slice(0, ECHO_CHARS), pl.lit("…"))).otherwise(v)


def _typed(c: Column, v: pl.Expr) -> pl.Expr:
    kind = c.kind
    if kind == "int":
        return text.to_int(v)
    if kind == "dec":
        return text.to_dec(v)
    if kind == "date":
        return text.to_date(v)
    if kind == "bool":
        return text.to_bool(v)
    if kind == "enum":
        return text.to_enum(v, c.enum)
    return v


@dataclass(frozen=True)
class DateBounds:
    """The plausible range of every date column (rules file ``plausible_dates``): a date outside it is
    a typing slip (1850 for 2018, 2031 for 2021) and rejects its row."""

    earliest: date
    latest: date


_PARSE_WORDS = {"int": "a whole number", "dec": "a number", "date": "a date", "bool": "yes/no (是/否)"}


def _value_reasons(c: Column, v: pl.Expr, typed: pl.Expr, raw: pl.Expr, dates: DateBounds | None = None) -> list[pl.Expr]:
    """Reasons that depend on one cell's value alone (not on it being blank)."""
    n = c.name
    out = [pl.when(raw.str.contains("\x00", literal=True)).then(pl.lit(f"{n}: contains a NUL byte"))]
    if c.kind in _PARSE_WORDS:
        word = _PARSE_WORDS[c.kind]
        out.append(pl.when(v.is_not_null() & typed.is_null()).then(pl.format(f'{n}: cannot parse "{{}}" as {word}', _echo(v))))
    if c.kind == "enum":
        out.append(pl.when(v.is_not_null() & typed.is_null()).then(pl.format(f'{n}: unknown code "{{}}"', _echo(v))))
    if c.min is not None:
        out.append(pl.when(typed < c.min).then(pl.format(f"{n}: {{}} is below the minimum {c.min:g}", v)))
    if c.max is not None:
        out.append(pl.when(typed > c.max).then(pl.format(f"{n}: {{}} is above the maximum {c.max:g}", v)))
    if c.pattern is not None:
        out.append(pl.when(v.is_not_null() & ~v.str.contains(c.pattern)).then(pl.lit(f"{n}: does not match {c.pattern}")))
    if c.kind == "date" and dates is not None:
        iso = typed.dt.to_string("%Y-%m-%d")
        out.append(pl.when(typed < dates.earliest).then(pl.format(f"{n}: {{}} is before {dates.earliest}, the earliest plausible date", iso)))
        out.append(pl.when(typed > dates.latest).then(pl.format(f"{n}: {{}} is after {dates.latest}, the latest plausible date", iso)))
    return out


#: Separator of several reasons held in one String cell until the list is built.
SEP = "\x1e"
WHY = "_why_"
#: Kinds whose cells repeat a lot (codes, dates, flags, numbers): parsed once per distinct value and
#: mapped back.
_BY_VALUE = {"enum", "date", "bool", "int", "dec"}


def _joined(reasons: list[pl.Expr]) -> pl.Expr:
    """Several optional reasons as one String (SEP between them), null when none applies."""
    if not reasons:
        return pl.lit(None, pl.String)
    if len(reasons) == 1:
        return reasons[0]
    return pl.when(pl.any_horizontal([r.is_not_null() for r in reasons])).then(
        pl.concat_str(reasons, separator=SEP, ignore_nulls=True)
    )


#: Prefix of the cells as read (masked) kept beside the checked columns: a rejected row is shown as
#: read (``rejected_records.raw``), whatever rejected it. Only the cells their typed value does not
#: write back exactly (``as_text``) are kept; the others are null there and restored (``rows_as_read``).
RAW = "_in_"


def as_text(c: Column, typed: pl.Expr) -> pl.Expr:
    """A typed value written as text the way a landing file most often holds it: text and codes as
    they are, numbers as Polars writes them, dates ISO, flags ``true``/``false``; null stays null. A
    cell as read that equals this text of its typed value is not kept in the checked parts: it is
    this text again (``kept_cells``, ``rows_as_read``)."""
    if c.kind == "date":
        return typed.dt.to_string("%Y-%m-%d")
    if c.kind == "bool":
        return pl.when(typed).then(pl.lit("true")).when(typed.not_()).then(pl.lit("false"))
    if c.kind in ("int", "dec", "enum"):
        return typed.cast(pl.String)
    return typed


def from_text(c: Column, e: pl.Expr) -> pl.Expr:
    """The typed value of a text that ``as_text`` wrote (its inverse, cheaper than the parsers):
    only for cells known to be such text (``_written_as_is``)."""
    if c.kind == "date":
        return e.str.to_date("%Y-%m-%d", strict=False)
    if c.kind == "bool":
        return e == "true"
    if c.kind == "int":
        return e.cast(pl.Int64, strict=False)
    if c.kind == "dec":
        return e.cast(pl.Float64, strict=False)
    return e


def _kept(c: Column, raw: pl.Expr, typed: pl.Expr) -> pl.Expr:
    """The cell as read where ``as_text`` of its typed value does not give it back, else null."""
    return pl.when(raw.eq_missing(as_text(c, typed))).then(pl.lit(None, pl.String)).otherwise(raw)


def _written_as_is(parsed: pl.DataFrame) -> bool:
    """Whether every distinct value (``raw``) of a column is its own cleaned text (``v``), gives no
    reason (``r``) and is the text of its typed value (``k`` null)."""
    return parsed.select((pl.col("v").eq_missing(pl.col("raw")) & pl.col("r").is_null() & pl.col("k").is_null()).all()).item()


#: A cell that cleaning (``text.clean``) or the value checks would read otherwise than as it is: a
#: surrounding space, a full-width form, a NUL byte.
_NOT_PLAIN = "|".join(
    (
        "^[" + "".join(f"\\x{{{ord(ch):X}}}" for ch in text.SPACES) + "]",
        "[" + "".join(f"\\x{{{ord(ch):X}}}" for ch in text.SPACES) + "]$",
        text._FULL_WIDTH_RE,
        "\\x00",
    )
)


def _plain(raw: pl.Series) -> bool:
    """Whether every cell of ``raw`` is its own cleaned text and holds no NUL byte: no cell empty,
    none with a surrounding space, a full-width form or a NUL (one pass of one regular expression,
    about half the cost of cleaning the column: docs/performance.md, "Staging's fixed costs")."""
    frame = raw.to_frame("v")
    return not frame.select((pl.col("v").str.len_bytes() == 0).any() | pl.col("v").str.contains(_NOT_PLAIN).any()).item()


#: A text column of this many cells or fewer is first tested whole for cells cleaning would change
#: (``_plain``), even when it is parsed by distinct value (ids of people, units, events; names): at
#: the demo's sizes the distinct-value table costs ≈ 6 Polars queries a column, ≈ 0.6 ms, where the
#: test is one; a longer column keeps its table (a national chunk: hashing its values once is the
#: table's cost either way, and the test would then be a second pass). docs/performance.md, "The
#: staging step's small files read together".
PLAIN_FIRST_ROWS = 65_536


def _parse_column(
    c: Column, raw: pl.Series, unique: bool = True, dates: DateBounds | None = None
) -> tuple[pl.Series, pl.Series, pl.Series, pl.Series]:
    """(cleaned text, typed value, value reasons joined, the cell as read where its typed value does
    not give it back — ``_kept``) of one column. Codes, dates, flags, numbers — and text that is not
    mostly unique (``unique`` False: ids of people, units, events) — are parsed once per distinct
    value and mapped back."""
    dtype = c.dtype()
    by_value = c.kind in _BY_VALUE or not unique
    if c.kind == "str" and (not by_value or raw.len() <= PLAIN_FIRST_ROWS) and _plain(raw):
        # a column of unique ids none of whose cells cleaning would change: each cell is its own
        # cleaned text and typed value, kept nowhere; only the pattern can give a reason
        none = pl.repeat(None, raw.len(), dtype=pl.String, eager=True)
        if c.pattern is None:
            return raw, raw, none, none
        bad = raw.is_not_null() & ~raw.str.contains(c.pattern)
        why = pl.select(pl.when(pl.lit(bad)).then(pl.lit(f"{c.name}: does not match {c.pattern}"))).to_series()
        return raw, raw, why, none
    if c.kind in ("enum", "bool") and c.pattern is None and c.min is None and c.max is None:
        # a column of codes each written as its code, or of flags each written true or false (the
        # usual case): typed by one cast or comparison, without a table of distinct values; a cell
        # written otherwise (a label, 是, a space, another case) sends the column the long way below
        if c.kind == "enum":
            typed = raw.cast(dtype, strict=False)
            as_is = typed.null_count() == raw.null_count()
        else:
            typed = raw == "true"
            as_is = typed.sum() + (raw == "false").sum() == raw.len() - raw.null_count()
        if as_is:
            none = pl.repeat(None, raw.len(), dtype=pl.String, eager=True)
            return raw, typed, none, none
    values = pl.DataFrame({"raw": raw.unique().drop_nulls() if by_value else raw})
    parsed = values.with_columns(text.clean_series(values.get_column("raw")).alias("v"))
    parsed = parsed.with_columns(_typed(c, pl.col("v")).cast(dtype).alias("t"))
    parsed = parsed.with_columns(
        _joined(_value_reasons(c, pl.col("v"), pl.col("t"), pl.col("raw"), dates)).alias("r"),
        _kept(c, pl.col("raw"), pl.col("t")).alias("k"),
    )
    if not by_value:
        return parsed["v"], parsed["t"], parsed["r"], parsed["k"]
    if _written_as_is(parsed):
        # every distinct value is its own cleaned text and the text of its typed value, with no
        # reason: the cells are the cleaned column, their typed values read back (``from_text``)
        typed = pl.select(from_text(c, pl.lit(raw)).cast(dtype)).to_series()
        none = pl.repeat(None, raw.len(), dtype=pl.String, eager=True)
        return raw, typed, none, none
    # each row's position in the table of distinct values (null for a null cell), then gather: the
    # codes of the cells cast to an Enum of those values (about half the cost of a replace)
    if parsed.height:
        pos = raw.cast(pl.Enum(parsed["raw"])).to_physical()
    else:
        pos = pl.repeat(None, raw.len(), dtype=pl.UInt32, eager=True)
    return parsed["v"].gather(pos), parsed["t"].gather(pos), parsed["r"].gather(pos), parsed["k"].gather(pos)


def _conditional_reasons(src: Source) -> list[pl.Expr]:
    """required_if / required_unless / date_order, over the typed columns."""
    out = []
    for c in src.columns:
        for other, codes in (c.required_if or {}).items():
            cond = pl.col(other).is_in(codes)
            out.append(pl.when(cond & pl.col(c.name).is_null()).then(pl.format(f"{c.name}: required for {other} {{}}", pl.col(other))))
        for other, codes in (c.required_unless or {}).items():
            cond = pl.col(other).is_not_null() & ~pl.col(other).is_in(codes)
            out.append(pl.when(cond & pl.col(c.name).is_null()).then(pl.format(f"{c.name}: required for {other} {{}}", pl.col(other))))
    for first, second in src.date_order:
        out.append(pl.when(pl.col(second) < pl.col(first)).then(pl.lit(f"{second}: before {first}")))
    return out


def why_columns(frame: pl.DataFrame) -> list[str]:
    """The reason columns of a checked frame, in the order the checks ran."""
    return [c for c in frame.columns if c.startswith(WHY)]


def is_bad(frame: pl.DataFrame) -> pl.Expr:
    cols = why_columns(frame)
    return pl.any_horizontal([pl.col(c).is_not_null() for c in cols]) if cols else pl.lit(False)


def row_checks(src: Source, raw: pl.DataFrame, dates: DateBounds | None = None) -> pl.DataFrame:
    """The checks of each row on its own (no duplicates, no references, defaults not filled): typed
    columns, ``_v_*``, ``_in_*`` (``_kept``), ``_file``, ``_row`` and the reason columns ``_why_*`` in
    check order. ``dates``: the plausible range of dates (None: not checked)."""
    cols = [c for c in src.columns if not c.personal]
    data: dict[str, pl.Series] = {}
    why: dict[str, pl.Series] = {f"{WHY}000_row": raw.get_column("_problem")}
    for i, c in enumerate(cols, start=1):
        v, t, r, k = _parse_column(c, raw.get_column(c.name), unique=tuple(src.key) == (c.name,), dates=dates)
        data[c.name] = t
        data[f"_v_{c.name}"] = v
        data[RAW + c.name] = k
        why[f"{WHY}{i:03d}_{c.name}"] = r
    frame = pl.DataFrame(data).with_columns(raw.select("_file", "_row"))
    # a required column's reason only where one of its cells is blank: a column with none gives no
    # reason, and building an all-null reason over every row cost ≈ 15 ms per column and million rows
    # (docs/performance.md, "Reading and staging for less, again")
    required = {
        f"{WHY}{i:03d}_{c.name}_required": pl.when(pl.col(f"_v_{c.name}").is_null()).then(pl.lit(f"{c.name}: required value missing"))
        for i, c in enumerate(cols, start=1)
        if c.required and data[f"_v_{c.name}"].null_count()
    }
    frame = frame.with_columns(**required).with_columns([s.alias(n) for n, s in why.items()])
    # every reason column in check order: row problem, each column (value, then blank), then the rest
    order = [f"{WHY}000_row"] + [n for i, c in enumerate(cols, start=1) for n in (f"{WHY}{i:03d}_{c.name}", f"{WHY}{i:03d}_{c.name}_required") if n in frame.columns]
    frame = frame.select([c for c in frame.columns if not c.startswith(WHY)] + order)
    frame = frame.with_columns(_joined(_conditional_reasons(src)).alias(f"{WHY}900_conditional"))
    personal = raw.get_column("_personal")
    if personal.list.len().sum():
        frame = frame.with_columns(
            pl.when(personal.list.len() > 0).then(personal.list.join(SEP)).alias(f"{WHY}901_personal")
        )
    return frame


REF_YEAR = "_ref_year"


def _record_year(src: Source) -> pl.Expr:
    """The year a record belongs to: its ``year`` column, else the year of its first required date."""
    if "year" in src.column_names:
        return pl.col("year")
    dates = [c.name for c in src.columns if c.kind == "date" and c.required]
    return pl.col(dates[0]).dt.year().cast(pl.Int64) if dates else pl.lit(None, pl.Int64)


def _ref_reason(c: Column) -> pl.Expr:
    tsrc, tcol = c.ref.split(".")
    v = pl.col(c.name)
    if tsrc == "personnel":
        if c.ref_filter == "leadership":
            return pl.format(f'{c.name}: "{{}}" is not a leadership member (班子成员) in the {{}} roster', v, pl.col("year"))
        if c.ref_scope == "same_year":
            return pl.format(f'{c.name}: no such person "{{}}" in the {{}} roster', v, pl.col("year"))
        return pl.format(f'{c.name}: no such person "{{}}" in personnel', v)
    if tsrc == "departments":
        if c.ref_scope == "same_year_unit":
            return pl.format(f'{c.name}: no such department "{{}}" of unit {{}} in {{}}', v, pl.col("unit_code"), pl.col("year"))
        return pl.format(f'{c.name}: no such department "{{}}" of unit {{}} in {{}}', v, pl.col("unit_code"), pl.col(REF_YEAR))
    return pl.format(f'{c.name}: no such {tcol} "{{}}" in {tsrc}', v)


CHUNK_ROWS = 1_000_000
ORD = "_ord"
OWN = "_own"
HASH = "_h"
STREAMING = "streaming"


UNPARSED = "_unparsed"


def _content_hash(cols: list[Column]) -> pl.Expr:
    """Hash of a row's normalized content: the typed values (defaults not filled) and, for a rejected
    row, the cleaned text of the cells that did not parse (two rows are exact duplicates when both
    agree: ``2024/4/1`` equals ``2024-04-01``, ``Y`` equals ``是``)."""
    return pl.struct([pl.col(c.name) for c in cols] + [pl.col(UNPARSED)]).hash(seed=7)


def check_chunk(src: Source, raw: pl.DataFrame, offset: int, dates: DateBounds | None = None) -> pl.DataFrame:
    """Row checks of one chunk of raw rows (``reader.raw_schema``): the typed columns (defaults NOT
    filled), ``_file``, ``_row``, ``_ord`` (position in the source, from ``offset``), ``_own`` (the
    row's own reasons joined by SEP, null when it has none) and ``_unparsed`` (on rejected rows only:
    the cleaned text of the cells that did not parse, for telling duplicates apart); then the cells as
    read, ``_in_<column>`` for every contract column — null where the typed value gives the cell back
    (``as_text``; a personal column's masked cell is always kept) — ``_problem`` and ``_personal``.
    ``rows_as_read`` gives the rows as read back."""
    cols = [c for c in src.columns if not c.personal]
    frame = row_checks(src, raw, dates)
    bad = frame.select(is_bad(frame)).to_series()
    own = pl.repeat(None, frame.height, dtype=pl.String, eager=True)
    unparsed = own.clone()
    if bad.any():
        idx = bad.arg_true()
        rows = frame.filter(bad)
        own = own.scatter(idx, rows.select(reasons_joined(frame)).to_series())
        texts = [
            pl.when(pl.col(c.name).is_null()).then(pl.col(f"_v_{c.name}")).fill_null("\x00") for c in cols if c.kind != "str"
        ]
        if texts:
            unparsed = unparsed.scatter(idx, rows.select(pl.concat_str(texts, separator=SEP)).to_series())
    checked = frame.select(
        *[c.name for c in cols],
        "_file",
        "_row",
        (pl.int_range(pl.len(), dtype=pl.Int64) + offset).alias(ORD),
    ).with_columns(own.alias(OWN), unparsed.alias(UNPARSED))
    cells = [frame.get_column(RAW + c.name) if not c.personal else raw.get_column(c.name).alias(RAW + c.name) for c in src.columns]
    return checked.with_columns(*cells, raw.get_column("_problem"), raw.get_column("_personal"))


def checked_schema(src: Source) -> pl.Schema:
    """The schema of ``check_chunk``'s frame, from the contract alone: each non-personal column typed
    (a code as the contract's Enum, as staged: the staged table casts nothing, and a part stores a
    code in a byte), ``_file``, ``_row``, ``_ord``, ``_own``,
    ``_unparsed``, every column as read (``_in_<column>``), ``_problem``, ``_personal``."""
    typed = {c.name: c.dtype() for c in src.columns if not c.personal}
    book = {"_file": pl.String(), "_row": pl.Int64(), ORD: pl.Int64(), OWN: pl.String(), UNPARSED: pl.String()}
    cells = {RAW + c.name: pl.String() for c in src.columns}
    return pl.Schema(typed | book | cells | {"_problem": pl.String(), "_personal": pl.List(pl.String())})


def rows_as_read(src: Source, checked: pl.LazyFrame) -> pl.LazyFrame:
    """The rows as read (``reader.raw_schema``: every contract column as text, ``_file``, ``_row``,
    ``_problem``, ``_personal``) of checked rows (``check_chunk``): each cell the one kept, else the
    text of its typed value (``as_text``), which is then the cell as read. Filter the rows first: the
    text is worked out for every row asked for."""
    def cell(c: Column) -> pl.Expr:
        kept = pl.col(RAW + c.name)
        return (kept if c.personal else pl.coalesce(kept, as_text(c, pl.col(c.name)))).alias(c.name)

    return checked.select(*[cell(c) for c in src.columns], "_file", "_row", "_problem", "_personal")


def reasons_joined(frame: pl.DataFrame) -> pl.Expr:
    return pl.concat_str([pl.col(c) for c in why_columns(frame)], separator=SEP, ignore_nulls=True)


@dataclass
class Checked:
    """A source after its own checks: ``rows`` (lazy over the chunk parts), the exact duplicate copies
    and the rows of conflicting duplicates (``_ord`` -> reason)."""

    src: Source
    rows: pl.LazyFrame
    dup_copies: pl.Series  # _ord of exact duplicate copies (Int64)
    conflicts: pl.DataFrame  # _ord, reason
    #: whether ``rows`` are held in memory (not read from the parts): how the references are tested
    #: (``reference_problems``)
    in_memory: bool = False
    #: whether the source is small (``lianjian.ingest.IN_MEMORY_ROWS``): its references' queries are
    #: then run together (``reference_problems``), a large one's one after the other, in bounded memory
    small: bool = False

    def candidates(self) -> pl.LazyFrame:
        """Rows passing their own checks (before references): no reason, not a duplicate copy."""
        drop = pl.concat([self.dup_copies, self.conflicts.get_column(ORD)])
        return self.rows.filter(pl.col(OWN).is_null() & ~pl.col(ORD).is_in(drop.implode()))


def check_rows(src: Source, rows: pl.LazyFrame, in_memory: bool = False, small: bool = False) -> Checked:
    """A source after its own checks: ``rows`` are its checked rows (``check_chunk``, chunk by chunk,
    done as each file is read: lianjian.ingest.reader), over which duplicates are found here;
    ``in_memory``: whether they are held in memory rather than read from the parts; ``small``: see
    ``Checked``."""
    dup_copies, conflicts = _duplicate_rows(src, rows)
    return Checked(src, rows, dup_copies, conflicts, in_memory, small)


#: Seed of the key hashes (any: they are compared within one staging only, never stored).
KEY_SEED = 11
#: The column a reference's test is worked out in (``reference_problems``), never stored.
MISSING = "_missing"
#: At most this many key hashes, the shared ones are found by Polars (``is_duplicated``) rather than
#: by numpy's sort: for a small source numpy's sort saves microseconds, while importing numpy costs
#: ≈ 0.1 s of a run's main process that would not otherwise import it (a small zone's staging, beside
#: the suite worker's start). The same shared hashes either way, so the same rows compared.
SORTED_BY_POLARS = 65_536


def _key_hash_duplicates(rows: pl.LazyFrame, key: list[str]) -> pl.Series:
    """``_ord`` of the rows whose key's 64-bit hash another row shares: every row sharing its key with
    another is among them (equal keys, equal hashes; null key parts hash alike, as they compare), and
    the few others are rows whose different keys happen to hash alike, which the caller compares
    exactly. Only (hash, ``_ord``) of each row is held, and the shared hashes are found by sorting the
    hashes (cheaper than grouping millions of text keys)."""
    h = (pl.struct(key) if len(key) > 1 else pl.col(key[0])).hash(KEY_SEED).alias(HASH)
    # the hashes alone first: most sources share none, and then no row's ``_ord`` is read at all
    hashes = rows.select(h).collect(engine=STREAMING).get_column(HASH)
    if hashes.len() <= SORTED_BY_POLARS:
        shared = hashes.filter(hashes.is_duplicated()).unique()
        if shared.is_empty():
            return pl.Series(ORD, [], pl.Int64)
    else:
        import numpy as np  # here: a small zone's staging (and a run that stages nothing) needs none of it

        # sorted by numpy (its vectorised sort of 64-bit integers: about half the CPU of Polars' sort, a
        # national cases source's 19.6 M hashes 0.29 against 0.64 CPU-s), the shared ones next to each other
        ordered = np.sort(hashes.to_numpy())
        repeated = ordered[1:][ordered[1:] == ordered[:-1]]
        if repeated.size == 0:
            return pl.Series(ORD, [], pl.Int64)
        shared = pl.Series(HASH, np.unique(repeated), dtype=pl.UInt64)
    return rows.filter(h.is_in(shared.implode())).select(ORD).collect(engine=STREAMING).get_column(ORD)


def _duplicate_rows(src: Source, rows: pl.LazyFrame) -> tuple[pl.Series, pl.DataFrame]:
    """Rows sharing a key: identical content -> later copies are duplicate copies; differing -> every
    one of them gets ``<key>: conflicting duplicates``. Null key parts count as one key value; rows
    missing a required key part are not compared. Of every row only a 64-bit hash of its key is kept
    (``_key_hash_duplicates``); the key columns are read for the rows whose hash is shared, the whole
    content only for the rows sharing a key (usually none)."""
    key = list(src.key)
    required_key = [k for k in key if src.column(k).required]
    has_key = pl.all_horizontal([pl.col(k).is_not_null() for k in required_key]) if required_key else pl.lit(True)
    maybe = _key_hash_duplicates(rows.filter(has_key), key)
    keys = rows.filter(pl.col(ORD).is_in(maybe.implode())).select(*key, ORD).collect(engine=STREAMING) if maybe.len() else None
    shared = has_key & (pl.struct(key).is_duplicated() if len(key) > 1 else pl.col(key[0]).is_duplicated())
    ords = keys.filter(shared).get_column(ORD) if keys is not None else pl.Series(ORD, [], pl.Int64)
    del keys
    label = "+".join(key)
    if ords.len() == 0:
        return pl.Series(ORD, [], pl.Int64), pl.DataFrame(schema={ORD: pl.Int64, "reason": pl.String})
    cols = [c for c in src.columns if not c.personal]
    sub = rows.filter(pl.col(ORD).is_in(ords.implode())).collect(engine=STREAMING).sort(ORD)
    sub = sub.select(*key, ORD, _content_hash(cols).alias(HASH))
    variants = pl.col(HASH).n_unique().over(key)
    first = pl.col(ORD).min().over([*key, HASH])
    sub = sub.with_columns(variants.alias("_variants"), first.alias("_first"))
    copies = sub.filter((pl.col("_variants") == 1) & (pl.col(ORD) != pl.col("_first"))).get_column(ORD)
    conflicts = sub.filter(pl.col("_variants") > 1).select(ORD, pl.lit(f"{label}: conflicting duplicates").alias("reason"))
    return copies, conflicts


def _ref_columns(c: Column) -> tuple[list[str], list[str]]:
    """The (left, right) columns of a reference: the referencing row's and the referenced row's."""
    tcol = c.ref.split(".")[1]
    if c.ref_scope == "same_year":
        return ["year", c.name], ["year", tcol]
    if c.ref_scope == "same_year_unit":
        return ["year", "unit_code", c.name], ["year", "unit_code", tcol]
    if c.ref_scope == "unit":
        return [REF_YEAR, "unit_code", c.name], ["year", "unit_code", tcol]
    return [c.name], [tcol]


def _ref_keys(c: Column, target: pl.LazyFrame) -> pl.DataFrame:
    """The referenced keys (distinct), as columns ``_k0``, ``_k1``, … (``_ref_columns``' right side)."""
    return _ref_keys_plan(c, target).collect(engine=STREAMING)


def _ref_keys_plan(c: Column, target: pl.LazyFrame) -> pl.LazyFrame:
    """``_ref_keys``' query, not yet run."""
    frame = target
    if c.ref_filter == "leadership":
        frame = frame.filter(pl.col("position").cast(pl.String).is_in(LEADERSHIP_POSITIONS))
    right = _ref_columns(c)[1]
    keys = frame.select([pl.col(r).cast(pl.String) if r != "year" else pl.col(r) for r in right]).unique()
    return keys.rename({r: f"_k{i}" for i, r in enumerate(right)})


#: The referenced keys already worked out in one staging (``reference_problems``' ``known``): by the
#: target frame's identity (the frame is kept in the value, so the identity is not reused) and the
#: reference's column, scope and filter.
KnownKeys = dict[tuple, tuple[pl.LazyFrame, pl.DataFrame]]


def reference_problems(checked: Checked, targets: dict[str, pl.LazyFrame], known: KnownKeys | None = None) -> list[pl.DataFrame]:
    """For each reference column (contract order): ``_ord``, reason of every row whose target does not
    exist among ``targets`` (accepted rows of the referenced sources, or their candidates where noted;
    a source's own candidates for a reference to itself). Null values are not references. ``known``:
    the referenced keys of the same target frames already read (``stage_sources`` keeps them for a
    whole staging: personnel's ids are referenced by a dozen columns of eight sources, and were read
    and made distinct for each)."""
    src = checked.src
    rows = checked.rows.with_columns(_record_year(src).alias(REF_YEAR))
    refs = [(c, checked.candidates() if c.ref.split(".")[0] == src.name else targets[c.ref.split(".")[0]]) for c in src.columns if c.ref]
    # the keys not known yet, then each reference's test: a small source's in one Polars call each —
    # its few small queries at once rather than one after the other, each handed to Polars' threads
    # and waited for (docs/performance.md, "Staging a small zone without numpy"); a large source's one
    # query at a time, in bounded memory
    def run(plans: list[pl.LazyFrame]) -> list[pl.DataFrame]:
        if checked.small:
            return pl.collect_all(plans, engine=STREAMING) if plans else []
        return [p.collect(engine=STREAMING) for p in plans]

    slots = [(id(target), c.ref, c.ref_scope, c.ref_filter) for c, target in refs]
    found: dict[tuple, pl.DataFrame] = {}
    for slot, (_, target) in zip(slots, refs):
        if known is not None and slot in known and known[slot][0] is target:
            found[slot] = known[slot][1]
    reading: dict[tuple, tuple[Column, pl.LazyFrame]] = {}
    for slot, (c, target) in zip(slots, refs):
        if slot not in found and slot not in reading:
            reading[slot] = (c, target)
    for slot, keys in zip(reading, run([_ref_keys_plan(c, t) for c, t in reading.values()])):
        c, target = reading[slot]
        found[slot] = keys
        if known is not None and c.ref.split(".")[0] != src.name:
            known[slot] = (target, keys)
    plans = []
    for slot, (c, _) in zip(slots, refs):
        keys = found[slot]
        left = _ref_columns(c)[0]
        right = [f"_k{i}" for i in range(len(left))]
        if len(left) == 1:  # a plain membership test is cheaper than a join
            absent = pl.col(c.name).is_not_null() & ~pl.col(c.name).is_in(keys.get_column(right[0]).implode())
            if checked.in_memory:
                # rows held in memory: the test worked out as a column, then filtered on — given as the
                # filter itself, Polars pushed it down into each file's frame, where it cost 1.3–2.7
                # times as much (docs/performance.md, "Staging for less: the references' test as a
                # column over rows in memory, the duplicate keys' hashes sorted by numpy")
                missing = rows.with_columns(absent.alias(MISSING)).filter(pl.col(MISSING))
            else:
                # rows read from the parts: the filter pushed down into the Parquet reader, which tests
                # a part's dictionary-encoded column by its distinct values (a third of the CPU of
                # the column form there)
                missing = rows.filter(absent)
        else:
            scoped = rows.filter(pl.all_horizontal([pl.col(x).is_not_null() for x in left]))
            missing = scoped.join(keys.lazy(), left_on=left, right_on=right, how="anti")
        plans.append(missing.select(ORD, _ref_reason(c).alias("reason")))
    return run(plans)


@dataclass
class Staged:
    """One source staged: ``staged`` (lazy: accepted rows, the contract's staged schema, in the order
    read), ``rejected`` and ``report`` rows (eager, small)."""

    staged: pl.LazyFrame
    rejected: pl.DataFrame
    report: pl.DataFrame
    key: str | None = None  # its stage key (lianjian.ingest.stagecache), when staged with records


def stage_checked(checked: Checked, targets: dict[str, pl.LazyFrame], files: pl.DataFrame, known: KnownKeys | None = None) -> Staged:
    """References, then the accepted rows (lazy), the rejected rows with every reason and the raw row
    as read (``rows_as_read``), and the per-file counts. ``known``: see ``reference_problems``."""
    src = checked.src
    extra = [checked.conflicts.rename({"reason": "_r910"})]
    extra += [p.rename({"reason": f"_r95{i:03d}"}) for i, p in enumerate(reference_problems(checked, targets, known))]
    extra = [e for e in extra if e.height]
    extra_bad = pl.concat([e.get_column(ORD) for e in extra]).unique() if extra else pl.Series(ORD, [], pl.Int64)
    is_rejected = pl.col(OWN).is_not_null() | pl.col(ORD).is_in(extra_bad.implode())
    is_copy = pl.col(ORD).is_in(checked.dup_copies.implode())
    schema = src.staged_schema()
    defaults = {c.name: c.default for c in src.columns if c.kind == "bool" and c.default is not None}
    bad = checked.rows.filter(is_rejected).select("_file", "_row", ORD, OWN).collect(engine=STREAMING)
    # every row accepted (the usual case): no row to leave out of the staged table, nor to count by
    # its fate — the counts are each file's rows (docs/performance.md, "Reading and staging for less,
    # again")
    clean = bad.height == 0 and checked.dup_copies.len() == 0
    accepted = checked.rows if clean else checked.rows.filter(~is_rejected & ~is_copy)
    staged = accepted.select(
        [(pl.col(n).fill_null(defaults[n]) if n in defaults else pl.col(n)).cast(dt) for n, dt in schema.items()]
    )
    for e in extra:  # one row per _ord in each: conflicts, then each reference in contract order
        bad = bad.join(e, on=ORD, how="left")
    reason_cols = [OWN] + [c for e in extra for c in e.columns if c != ORD]
    bad = bad.with_columns(
        pl.concat_str([pl.col(c) for c in reason_cols], separator=SEP, ignore_nulls=True).str.split(SEP).alias("_reasons")
    )
    none = pl.lit(0, pl.Int64)
    if clean:  # every row read is accepted: each file's count is its rows read, no row is scanned
        counts = files.lazy().filter(pl.col("source") == src.name).select(
            pl.col("file").alias("_file"), pl.col("rows_read").cast(pl.Int64).alias("rows_accepted"),
            none.alias("rows_rejected"), none.alias("rows_duplicate"),
        )
    else:
        counts = checked.rows.group_by("_file").agg(
            rows_accepted=(~is_rejected & ~is_copy).sum().cast(pl.Int64),
            rows_rejected=is_rejected.sum().cast(pl.Int64),
            rows_duplicate=(~is_rejected & is_copy).sum().cast(pl.Int64),
        ).collect(engine=STREAMING).lazy()
    return Staged(staged=staged, rejected=_rejected_rows(src, bad, checked.rows, files), report=_report_rows(src, counts, files))


def _rejected_rows(src: Source, bad: pl.DataFrame, rows: pl.LazyFrame, files: pl.DataFrame) -> pl.DataFrame:
    """PUBLISHED["rejected_records"] rows: the row as read (``rows_as_read`` of the checked ``rows``)
    as JSON, keys = the file's own headers."""
    schema = PUBLISHED["rejected_records"].schema()
    if bad.height == 0:
        return pl.DataFrame(schema=schema)
    headers = {f: h for s, f, h in zip(*(files.get_column(c).to_list() for c in ("source", "file", "headers"))) if s == src.name}
    # the rows are picked by ``_row`` too, a column the parts store: the Parquet reader then decodes
    # the other columns only for the rows that pass (``_ord`` alone, a row index, made it decode every
    # column of every row: a third of this step's CPU, docs/performance.md, "The staging step's phases,
    # and the rejected rows picked by their row number"); ``_ord`` then keeps exactly the rejected ones
    picked = pl.col("_row").is_in(bad.get_column("_row").unique().implode()) & pl.col(ORD).is_in(bad.get_column(ORD).implode())
    raw = rows_as_read(src, rows.filter(picked))
    rows = bad.lazy().select("_file", "_row", "_reasons").join(raw, on=["_file", "_row"], how="left")
    # each file's raw rows as JSON keyed by its own headers: the files sharing their headers (usually
    # all of a source's) in one part, and every part in one query — not a few small queries a file
    # (docs/performance.md, "Staging a small zone without numpy")
    by_headers: dict[str, list[str]] = {}
    for file in bad.get_column("_file").unique().to_list():
        by_headers.setdefault(headers.get(file) or "{}", []).append(file)
    parts = []
    for hjson, names in by_headers.items():
        hmap: dict[str, str] = json.loads(hjson)
        fields = [pl.col(n).alias(h) for n, h in hmap.items()]
        rawjson = pl.struct(fields).struct.json_encode() if fields else pl.lit("{}")
        parts.append(
            rows.filter(pl.col("_file").is_in(names)).select(
                pl.lit(src.name).alias("source"),
                pl.col("_file").alias("file"),
                pl.col("_row").alias("row_number"),
                pl.col("_reasons").alias("reasons"),
                rawjson.alias("raw"),
            )
        )
    return pl.concat(parts).sort("file", "row_number").cast(schema).collect(engine=STREAMING)


def _report_rows(src: Source, counts: pl.LazyFrame, files: pl.DataFrame) -> pl.DataFrame:
    """The report's rows of ``src``'s files, in the inventory's order, with their ``counts`` (by
    ``_file``): one query (a small source's staging runs a few dozen; each costs its fixed costs)."""
    inv = files.lazy().filter(pl.col("source") == src.name).select("source", "file", "sha256", "rows_read")
    out = inv.join(counts, left_on="file", right_on="_file", how="left", maintain_order="left")
    return out.with_columns(pl.col("rows_accepted", "rows_rejected", "rows_duplicate").fill_null(0)).select(
        list(REPORT_SCHEMA)
    ).cast(REPORT_SCHEMA).collect()
