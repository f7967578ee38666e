"""Identity-card numbers (身份证号): the one detector, the one mask, and the validation of the
identity-number column. Ingest, publishing, the quality checks, the reports and the tests all use
this module, so "what counts as an identity number" is decided once.

**What counts.** Any run of 15 or more consecutive decimal digits, optionally followed by an ``X``
(ASCII or full width, either case), found anywhere inside a text — whatever stands before or after
it (letters such as ``ID``, Chinese characters, spaces, punctuation). That covers the 18-character
number (17 digits and a check character, valid or not: a mistyped number is personal data too) and
the 15-digit number of the first-generation card, in ASCII or full-width digits (``１１０１…``), and
numbers glued to other text (``张三ID22010119850101040X``). "Digit" is any Unicode decimal digit
(Rust's and Python's ``\\d``), so full-width and other digit forms are caught the same way.

**Why so wide.** No identifier of this project comes near 15 digits (工号 like ``SD-0018``, case
numbers like ``AJ-SD-2021-00001``, dates have 8), so a wide net costs nothing on real data and leaves
no shape for a number to slip through (an invalid birth date, a wrong check digit, another digit
form). What it deliberately does not look for: digits split by spaces or dashes inside the number
(``110101 19900307 0097``) — too close to ordinary dates and counts to tell apart safely.

**The mask.** A match keeps its first 4 characters (the province and city of issue) and the rest
becomes 14 ``*`` — the form the identity-number column is masked to (``1101**************``). The
length is not kept.

Everything here is a Polars expression (a Rust regular expression over whole columns: no per-row
Python); ``mask_str``/``contains_id_str`` apply the very same expression to a few Python strings
(headers, file names, warning and sample texts).
"""

from __future__ import annotations

from collections.abc import Collection, Iterable

import polars as pl

#: The detector: 15 or more decimal digits in a row, optionally followed by X/x (ASCII or full width).
ID_RUN = r"\d{15,}[XxＸｘ]?"
#: The same test, as cheap as it gets: a text holds an identity number iff it holds 15 digits in a row.
_HAS_ID = r"\d{15}"
#: The fewest bytes of a text that holds an identity number: 15 digits, each at least one byte in
#: UTF-8. A column none of whose cells is that long holds none, and need not be searched.
ID_MIN_BYTES = 15
#: The same, with the 4 characters that stay visible captured.
_ID_RUN_HEAD = r"(\d{4})\d{11,}[XxＸｘ]?"
#: What replaces everything after the first 4 characters of a match.
STARS = "*" * 14
_MASK_TEMPLATE = "${1}" + STARS

#: GB 11643-1999 / ISO 7064 MOD 11-2: weights of the first 17 digits and the check character by remainder.
ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
ID_CHECK = "10X98765432"


# --------------------------------------------------------------------------------------------------
# The detector and the mask (any text)


def contains_id(e: pl.Expr) -> pl.Expr:
    """True where the text holds an identity number (null stays null)."""
    return e.str.contains(_HAS_ID)


def mask_ids(e: pl.Expr) -> pl.Expr:
    """Every identity number inside the text masked (first 4 characters kept, then 14 ``*``). The
    replacement runs only on the cells that hold one: about 35 ns a cell for the test instead of
    about 190 ns for a replacement of every cell (measured over 26 M cells of city-scale cases)."""
    return pl.when(contains_id(e)).then(e.str.replace_all(_ID_RUN_HEAD, _MASK_TEMPLATE)).otherwise(e)


def mask_str(value: str) -> str:
    """``mask_ids`` applied to one Python string (headers, file names, messages)."""
    return pl.select(mask_ids(pl.lit(value, pl.String))).item()


def mask_strs(values: Iterable[str]) -> list[str]:
    values = list(values)
    if not values:
        return []
    return pl.Series(values, dtype=pl.String).to_frame("v").select(mask_ids(pl.col("v"))).to_series().to_list()


def contains_id_str(value: str) -> bool:
    return bool(pl.select(contains_id(pl.lit(value, pl.String))).item())


def _text_columns(schema: pl.Schema) -> tuple[list[str], list[str]]:
    texts = [n for n, t in schema.items() if t == pl.String]
    lists = [n for n, t in schema.items() if t == pl.List(pl.String)]
    return texts, lists


#: Columns and JSON keys holding SHA-256 digests (hex: 64 characters that may well contain 15 decimal
#: digits in a row by chance), and the manifest's ``code_version``, which ends in 16 hex digits of the
#: code's digest (``0.1.0+src.974728176558762d`` holds 15 decimal digits: about one code in 600). A
#: digest is no personal data, and masking one would falsify it.
DIGESTS = ("sha256", "rules_sha256", "code_version")


def mask_frame(frame: pl.LazyFrame) -> pl.LazyFrame:
    """``frame`` with every String and List(String) column masked (other columns and digest columns
    untouched)."""
    texts, lists = _text_columns(frame.collect_schema())
    texts = [n for n in texts if n not in DIGESTS]
    exprs = [mask_ids(pl.col(n)) for n in texts] + [pl.col(n).list.eval(mask_ids(pl.element())) for n in lists]
    return frame.with_columns(exprs) if exprs else frame


def id_cell_exprs(schema: pl.Schema) -> list[pl.Expr]:
    """One aggregation per text column of ``schema`` (list elements included, digests not): how many
    of its cells hold an identity number (a list counts once), named after the column."""
    texts, lists = _text_columns(schema)
    texts = [n for n in texts if n not in DIGESTS]
    counts = [contains_id(pl.col(n)).sum().alias(n) for n in texts]
    counts += [pl.col(n).list.eval(contains_id(pl.element()).any()).explode().sum().alias(n) for n in lists]
    return counts


def id_cell_counts(frame: pl.LazyFrame) -> dict[str, int]:
    """Per text column (list elements included): how many cells hold an identity number."""
    counts = id_cell_exprs(frame.collect_schema())
    if not counts:
        return {}
    row = frame.select(counts).collect().row(0, named=True)
    return {n: int(v or 0) for n, v in row.items()}


def id_cell_count(frame: pl.LazyFrame) -> int:
    """How many text cells (a list counts once) of ``frame`` hold an identity number."""
    return sum(id_cell_counts(frame).values())


#: Collected frames of at least this many rows are searched in screened steps (``id_cells``); below
#: it (a demo's year files: a few hundred rows) in one query, whose start (≈ 1.7 ms) costs more than
#: any screen saves.
SCREEN_FROM_ROWS = 20_000


def id_cells(frame: pl.DataFrame, few: Collection[str] = ()) -> int:
    """``id_cell_count`` of a collected frame — how many text cells (a list counts once, digests left
    out) hold an identity number — exactly, for less CPU on a large frame. The search is a regular
    expression over every byte of every cell (≈ 1.6 ns a byte); two screens leave out cells that
    cannot change the count:

    - a column none of whose cells (list elements) has ``ID_MIN_BYTES`` bytes holds none: its longest
      cell is read from the lengths alone;
    - a column of ``few`` (named by the caller: texts taken from the rules file, repeated on every
      row, such as R8's ``basis``) is searched in its distinct values: when none holds a number, no
      cell does; when one does, its cells are counted as before.

    1/6 of national, R8's evidence (2.18 M rows, five years): 0.45 → 0.31 CPU-s (docs/performance.md)."""
    schema = frame.schema
    if frame.height < SCREEN_FROM_ROWS:
        return id_cell_count(frame.lazy())
    texts, lists = _text_columns(schema)
    texts = [n for n in texts if n not in DIGESTS]
    if not texts and not lists:
        return 0
    longest = frame.select(
        [pl.col(n).str.len_bytes().max() for n in texts] + [pl.col(n).explode().str.len_bytes().max() for n in lists]
    ).row(0, named=True)
    long = {n for n, most in longest.items() if (most or 0) >= ID_MIN_BYTES}
    distinct = [n for n in texts if n in long and n in few]
    counted = id_cell_exprs(pl.Schema({n: schema[n] for n in schema if n in long and n not in few}))
    screens = [contains_id(pl.col(n).unique()).any().alias(f"few:{n}") for n in distinct]
    if not counted and not screens:
        return 0
    row = frame.select(*counted, *screens).row(0, named=True)
    total = sum(int(v or 0) for k, v in row.items() if not k.startswith("few:"))
    holding = [k[4:] for k, v in row.items() if k.startswith("few:") and v]
    if holding:
        total += id_cell_count(frame.lazy().select(holding))
    return total


def json_strings(value: object) -> list[str]:
    """Every string of a parsed JSON document, keys included, except the values under ``DIGESTS``
    keys (for counting identity numbers in a manifest or a dictionary)."""
    out: list[str] = []

    def walk(x: object) -> None:
        if isinstance(x, str):
            out.append(x)
        elif isinstance(x, dict):
            for k, v in x.items():
                out.append(str(k))
                if k not in DIGESTS:
                    walk(v)
        elif isinstance(x, list):
            for v in x:
                walk(v)

    walk(value)
    return out


# --------------------------------------------------------------------------------------------------
# The identity-number column (personnel.id_number): validated, then masked whole


def id_number_problem(e: pl.Expr) -> pl.Expr:
    """The reason (without the column prefix) an identity number is invalid, or null when valid.
    ``e`` is the cleaned value (half-width); X is accepted in either case.

    The check character is ``ID_CHECK[(Σ dᵢ·ID_WEIGHTS[i]) mod 11]``. The weights are 2¹⁷ … 2¹ mod 11,
    and 13 ≡ 2 (mod 11), so the sum is congruent to twice the 17 digits read as a number in base 13
    (``check_total``): one parse of the text instead of 17 slices, 17 casts and their sum — ``e`` is
    the caller's cleaning expression, evaluated again for each use (3 here instead of 19; at national,
    1.35 M identity numbers: about 1.3 → 0.3 CPU-s, docs/performance.md)."""
    shape_ok = e.str.contains(r"^[0-9]{17}[0-9Xx]$")
    expected = pl.lit(ID_CHECK).str.slice(check_total(e.str.slice(0, 17)), 1)
    return (
        pl.when(~shape_ok)
        .then(pl.lit("must be 18 characters: 17 digits and a check digit (0-9 or X)"))
        .when(e.str.slice(17, 1).str.to_uppercase() != expected)
        .then(pl.lit("invalid check digit"))
    )


def check_total(digits: pl.Expr) -> pl.Expr:
    """``(Σ dᵢ·ID_WEIGHTS[i]) mod 11`` of 17 ASCII digits (null for other text): 2·N mod 11, N the
    digits read in base 13. N is at most 9·(13¹⁷−1)/12 ≈ 6.5·10¹⁸, within Int64; it is reduced mod 11
    before it is doubled."""
    return (digits.str.to_integer(base=13, strict=False) % 11 * 2 % 11).cast(pl.Int64)


def mask_whole(e: pl.Expr) -> pl.Expr:
    """A personal cell masked whole, whatever it holds: the first 4 characters, then 14 ``*``."""
    return pl.when(e.is_not_null()).then(pl.concat_str(e.str.slice(0, 4), pl.lit(STARS)))
