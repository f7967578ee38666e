"""Run a staged table's GX suite once per content, and summarize the result.

GX 1.x on pandas is many times slower than Polars (and fingerprints the whole frame on every batch
fetch), so GX is never given a whole table: it evaluates the suite's row-local expectations over each
column's distinct values (with the rows each stands for), date order over one pair per distinct
earlier date, and key uniqueness is computed in Polars — see "bounded inputs for GX" below. Counts
stay exact row counts. And a table is validated only when its content is new: the summarized result
is cached under ``<cache_dir>/<key>.json`` where the key hashes the table's content, the suite
(expectations, GX version, code version). A nightly run over unchanged sources pays only for hashing."""

from __future__ import annotations

import hashlib
import json
import os
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field, fields
from functools import cache
from pathlib import Path

import polars as pl

from lianjian.files import private_mkdir, write_private
from lianjian.privacy import mask_str, mask_strs
from lianjian.quality.suites import build_suite, import_gx, suite_fingerprint, suite_name, to_gx_pandas
from lianjian.quality.worker import suite_worker

MAX_SAMPLES = 5


def mask_personal(value: object) -> str:
    """A sample value as text with every identity number masked (lianjian.privacy)."""
    if hasattr(value, "item") and not isinstance(value, (str, dict, list)):
        value = value.item()  # numpy scalar
    if value is None:
        return "（空）"
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, default=str)
    text = mask_str(text)
    return text if len(text) <= 120 else text[:117] + "…"


@dataclass
class ExpectationOutcome:
    """One expectation's result, summarized (no GX objects: JSON-serializable, cacheable)."""

    type: str
    family: str
    column: str | None
    check: str | None
    zh: str
    kwargs: dict
    success: bool
    unexpected_count: int
    element_count: int
    share: float
    samples: list[str]
    observed: str | None = None
    error: str | None = None


@dataclass
class SuiteResult:
    source: str
    suite: str
    content_hash: str
    rows: int
    success: bool
    expectations: list[ExpectationOutcome]
    cached: bool = False
    seconds: float = 0.0
    gx_result: dict = field(default_factory=dict)

    def for_check(self, check: str | None) -> list[ExpectationOutcome]:
        """The expectations that feed one Dagster check (``None``: the suite check itself)."""
        return [e for e in self.expectations if e.check == check]

    def to_json(self) -> dict:
        """``dataclasses.asdict`` of the result, made faster (``_copied``): a suite's GX result alone is
        ≈ 3,000 values, each of which ``asdict`` gives to ``copy.deepcopy`` (≈ 5 % of the suites' CPU,
        twice per suite in the worker: its cache entry and its answer)."""
        return _copied(self)

    @classmethod
    def from_json(cls, raw: dict) -> "SuiteResult":
        raw = dict(raw)
        raw["expectations"] = [ExpectationOutcome(**e) for e in raw["expectations"]]
        return cls(**raw)


#: The types ``copy.deepcopy`` returns as they are (not copied), told apart by their exact type.
_NOT_COPIED = frozenset({str, int, float, bool, type(None)})


def _copied(value):
    """What ``dataclasses.asdict`` makes of ``value`` (a dataclass instance, or a value of one's field),
    for the values a result holds (JSON's: dictionaries, lists, text, numbers, booleans, None), without
    ``copy.deepcopy``'s dispatch for each of them: a dataclass instance becomes a dictionary of its
    fields, a dictionary and a list are copied item by item, a value ``copy.deepcopy`` would return as
    it is is returned as it is; anything else is ``asdict``'s own."""
    kind = type(value)
    if kind in _NOT_COPIED:
        return value
    if kind is dict:
        return {_copied(k): _copied(v) for k, v in value.items()}
    if kind is list:
        return [_copied(v) for v in value]
    if kind in (SuiteResult, ExpectationOutcome):
        return {f.name: _copied(getattr(value, f.name)) for f in fields(value)}
    return asdict(_Holding(value))["value"]


@dataclass
class _Holding:
    """A value of a type ``_copied`` does not copy itself, given to ``dataclasses.asdict``."""

    value: object


def content_hash(frame: pl.DataFrame) -> str:
    """A hash of the table's content (schema, row order and values), stable within a Polars version."""
    h = hashlib.sha256()
    h.update(f"polars {pl.__version__}|{frame.height}|{frame.schema!r}".encode())
    if frame.height and frame.width:
        for seed in (0, 20240101):  # two independent 64-bit row hashes: collisions out of reach
            h.update(frame.hash_rows(seed=seed).to_numpy().tobytes())
    return h.hexdigest()


@cache
def gx_context():
    """An ephemeral GX context: nothing written by GX itself, no analytics, no progress bars."""
    gx = import_gx()
    from great_expectations.data_context.types.base import (
        DataContextConfig,
        InMemoryStoreBackendDefaults,
        ProgressBarsConfig,
    )

    config = DataContextConfig(
        store_backend_defaults=InMemoryStoreBackendDefaults(init_temp_docs_sites=False),
        analytics_enabled=False,
        progress_bars=ProgressBarsConfig(globally=False, metric_calculations=False),
    )
    context = gx.get_context(mode="ephemeral", project_config=config)
    # An ephemeral context keeps its configuration in memory and writes it again, as YAML into an
    # in-memory store, every time a data source, data asset or batch definition is added (GX's
    # ``_save_project_config``: 23 times for the eleven staged tables, ≈ 3 ms each); nothing reads
    # that copy back — the data sources are read from the context's own objects — so this context
    # does not write it.
    context._save_project_config = _no_saved_configuration
    return context


def _no_saved_configuration() -> None:
    """The ephemeral context's ``_save_project_config`` (``gx_context``): its configuration is not
    written again to its in-memory store."""


def _batch_definition(src: str):
    import_gx()
    from great_expectations.exceptions import DataContextError

    ctx = gx_context()
    try:
        ds = ctx.data_sources.get("staged")
    except (KeyError, ValueError, DataContextError):
        ds = ctx.data_sources.add_pandas("staged")
    try:
        asset = ds.get_asset(src)
    except (LookupError, ValueError):
        asset = ds.add_dataframe_asset(src)
    try:
        return asset.get_batch_definition("whole")
    except (KeyError, LookupError, ValueError):
        return asset.add_batch_definition_whole_dataframe("whole")


def _summarize(r, rows: int) -> ExpectationOutcome:
    cfg = r.expectation_config
    meta = cfg.meta or {}
    res = r.result or {}
    kwargs = {k: v for k, v in cfg.kwargs.items() if k not in ("batch_id",)}
    exc = (r.exception_info or {}) if isinstance(r.exception_info, dict) else {}
    error = exc.get("exception_message") if exc.get("raised_exception") else None
    observed = res.get("observed_value")
    samples: list = []
    if "unexpected_count" in res:
        unexpected = int(res.get("unexpected_count") or 0)
        element = int(res.get("element_count") or 0)
        samples = list(res.get("partial_unexpected_list") or [])
    elif cfg.type == "expect_table_columns_to_match_ordered_list":
        want, got = list(cfg.kwargs["column_list"]), list(observed or [])
        diff = [f"缺少 {c}" for c in want if c not in got] + [f"多出 {c}" for c in got if c not in want]
        if not diff and want != got:
            diff = ["列顺序不同"]
        unexpected, element, samples = len(diff), len(want), diff
    else:  # aggregate expectations (types, row count): one failing column or table
        unexpected, element = (0 if r.success else 1), 1
        if not r.success and observed is not None:
            samples = [f"实际 {observed}"]
    if error and not unexpected:
        unexpected, element = max(rows, 1), max(rows, 1)
        samples = [error[:120]]
    share = unexpected / element if element else 0.0
    return ExpectationOutcome(
        type=cfg.type,
        family=meta.get("family", ""),
        column=meta.get("column"),
        check=meta.get("check"),
        zh=meta.get("zh", cfg.type),
        kwargs=json.loads(json.dumps(kwargs, default=str)),
        success=bool(r.success),
        unexpected_count=unexpected,
        element_count=element,
        share=share,
        samples=[mask_personal(s) for s in samples[:MAX_SAMPLES]],
        observed=None if observed is None else mask_personal(observed),
        error=error,
    )


def _scrub(gx_json: dict) -> dict:
    """The GX result as stored: every string (sample values, keys) masked like everything else we
    write (lianjian.privacy), in one pass over all of them."""
    plain = json.loads(json.dumps(gx_json, ensure_ascii=False, default=str))
    found: list[str] = []

    def collect(x):
        if isinstance(x, str):
            found.append(x)
        elif isinstance(x, dict):
            for k, v in x.items():
                found.append(k)
                collect(v)
        elif isinstance(x, list):
            for v in x:
                collect(v)

    collect(plain)
    unique = list(dict.fromkeys(found))
    masked = dict(zip(unique, mask_strs(unique)))

    def walk(x):
        if isinstance(x, str):
            return masked[x]
        if isinstance(x, dict):
            return {masked[k]: walk(v) for k, v in x.items()}
        if isinstance(x, list):
            return [walk(v) for v in x]
        return x

    return walk(plain)


# --- bounded inputs for GX ------------------------------------------------------------------------
#
# GX on pandas costs time and memory per row, and its row-local expectations only depend on the
# VALUES a column takes, not on how often. So GX is fed, per source, a frame of distinct values:
#
# * the main batch has every column of the table (the columns and row-count expectations see the
#   table's own columns and dtypes). Columns are grouped: a column whose expectations are
#   conditional on another column (``required_if`` / ``required_unless``) is grouped with it; every
#   other column is a group of its own. Each group is reduced to its distinct combinations, with a
#   row weight; a column whose expectations don't look at values (types, not null) is first reduced
#   to a representative (its first non-null value, or null), so an identifier column becomes at most
#   two rows. Groups of unequal length are padded by repeating their own rows, which changes no
#   verdict. GX's ``unexpected_index_list`` then names the unexpected distinct rows, and the exact
#   unexpected ROW count is the sum of their weights.
# * each ``date_order`` pair is a batch of its own: the distinct (earlier, later) pairs.
# * table-level expectations (key uniqueness, the named compound uniqueness) are computed in Polars
#   (a group-by of the key) and reported through the same outcome structure.

#: Expectation types evaluated in Polars over the whole table (they are not row-local).
TABLE_LEVEL = {"expect_column_values_to_be_unique", "expect_compound_columns_to_be_unique"}
#: Expectation types over a pair of columns, evaluated over that pair's distinct values.
PAIR_LEVEL = {"expect_column_pair_values_a_to_be_greater_than_b"}
#: Expectations whose verdict depends on the value itself (otherwise only on null / not null and dtype).
VALUE_LEVEL = {
    "expect_column_values_to_be_in_set",
    "expect_column_values_to_be_between",
    "expect_column_values_to_match_regex",
}
WEIGHT = "__lianjian_rows__"
NULLS = "__lianjian_nulls__:"
#: The Polars engine of every query over a staged table here. A staged table whose content key is
#: known (its file's SHA-256 as staging recorded it) is validated from a lazy scan of its file, never
#: collected whole: each query reads only the columns it needs and the streaming engine keeps only
#: the distinct values and key hashes, not the table (national cases, 19.6 M rows: 2.9 GB peak
#: collected whole; docs/performance.md, "The suites beside the scoring, from the staged files").
ENGINE = "streaming"


def _op(condition) -> str:
    op = getattr(condition, "operator", None)
    return str(getattr(op, "value", op))


def polars_condition(condition) -> pl.Expr:
    """The Polars filter equal to a GX row condition (pandas semantics: a null never equals)."""
    col = pl.col(condition.column.name)
    op, value = _op(condition), condition.parameter
    if op == "==":
        return (col == value).fill_null(False)
    if op == "!=":
        return (col != value).fill_null(True)
    if op.upper() == "IN":
        return col.cast(pl.String).is_in(list(value)).fill_null(False)
    if op.upper() == "NOT_IN":
        return ~col.cast(pl.String).is_in(list(value)).fill_null(False)
    raise ValueError(f"GX row condition {condition!r} has no Polars translation")


def _columns_of(e) -> list[str]:
    kw = e.configuration.kwargs
    if "column" in kw:
        return [kw["column"]]
    if "column_A" in kw:
        return [kw["column_A"], kw["column_B"]]
    return list(kw.get("column_list") or [])


def _condition_column(e) -> str | None:
    rc = getattr(e, "row_condition", None)
    return None if rc is None or not hasattr(rc, "column") else rc.column.name


@dataclass
class _Batch:
    """One bounded GX input: the padded frame, and per column its group's distinct rows and weights."""

    frame: pl.DataFrame
    group_of: dict[str, int]
    groups: list[pl.DataFrame]  # distinct rows of each group, with WEIGHT

    def rows(self, column: str) -> pl.DataFrame:
        return self.groups[self.group_of[column]]


#: The rows read from the head of a staged file to find each column's first non-null value (its
#: representative, ``_reduce``) when the file's footer gives the null counts: a column with a value in
#: its first rows is not read further (national cases: the first non-null of every column took a
#: pass over the table's identifiers, ≈ 1 CPU-s); a column whose first value is further on is read
#: whole for it, as without the footer.
HEAD_ROWS = 1024


@dataclass
class Footer:
    """What a Parquet file's footer says of the table it holds, without reading its data: the number
    of rows and each column's null count (its row groups' statistics summed; Polars writes them)."""

    rows: int
    nulls: dict[str, int]


def read_footer(file: Path | str, columns: list[str]) -> Footer | None:
    """The row count and the null counts of ``columns`` from the footer of the Parquet file ``file``;
    None when a column's null count is not there for every row group (a file written without
    statistics, a nested column): the table is then counted by reading it."""
    import pyarrow.parquet as pq

    meta = pq.read_metadata(file)
    at = {meta.schema.column(j).path: j for j in range(meta.num_columns)}
    if not all(c in at for c in columns):
        return None
    nulls = dict.fromkeys(columns, 0)
    for g in range(meta.num_row_groups):
        group = meta.row_group(g)
        for c in columns:
            stats = group.column(at[c]).statistics
            if stats is None or not stats.has_null_count:
                return None
            nulls[c] += stats.null_count
    return Footer(rows=meta.num_rows, nulls=nulls)


def _first_values(lf: pl.LazyFrame, columns: list[str], footer: Footer) -> pl.DataFrame:
    """Each column's first non-null value (null when it has none), one row: found in the file's first
    ``HEAD_ROWS`` rows, and only a column with values none of which is there is read further."""
    first = [pl.col(c).drop_nulls().first() for c in columns]
    found = lf.head(HEAD_ROWS).select(first).collect()
    further = [c for c in columns if found[c][0] is None and footer.nulls[c] < footer.rows]
    if further:
        rest = lf.select(pl.col(c).drop_nulls().first() for c in further).collect(engine=ENGINE)
        found = found.with_columns(rest)
    return found


#: The codes ``_enum_counts`` counts at a time: ``numpy.bincount`` widens its input to 64-bit integers
#: first, which for a whole column of one-byte codes writes and reads eight bytes a row; a slice of
#: this many stays in the processor's cache (national cases: 0.03 CPU-s a column against 0.08).
COUNT_SLICE = 1 << 16


def _enum_counts(column: pl.Series, weight: pl.DataType) -> pl.DataFrame:
    """An Enum column's distinct values and the rows of each (null included), as a group-by of it
    gives them: its codes counted by their index (``numpy.bincount``, ``COUNT_SLICE`` at a time), in
    the order of its categories, the null last (``_reduce`` sorts the groups alike)."""
    import numpy as np

    dtype, index = column.dtype, column.to_physical()
    codes, nulls = dtype.categories, index.null_count()
    found = (index.drop_nulls() if nulls else index).to_numpy()
    total = np.zeros(len(codes), dtype=np.int64)
    for start in range(0, len(found), COUNT_SLICE):
        total += np.bincount(found[start : start + COUNT_SLICE], minlength=len(codes))
    counts = total.tolist()
    present = [i for i, n in enumerate(counts) if n]
    values, weights = [codes[i] for i in present], [counts[i] for i in present]
    if nulls:
        values, weights = [*values, None], [*weights, nulls]
    return pl.DataFrame({column.name: pl.Series(values, dtype=dtype), WEIGHT: pl.Series(weights, dtype=weight)})


def _reduce(
    lf: pl.LazyFrame, columns: list[str], groups: list[list[str]], by_value: set[str], footer: Footer | None = None
) -> _Batch:
    """Distinct rows of each group with their weights; a column not looked at by value is grouped by
    null / not null and then shown with a representative value (its first non-null one). A group of
    one such column alone is counted, not grouped: its null and non-null rows (``null_count``) come
    from one pass over the table with the representatives — or, given the file's ``footer``, from its
    null counts, and the representatives from the file's first rows (``_first_values``): no column is
    read for them. A group of one Enum column (a code list, few values) is counted by its codes
    (``_enum_counts``) from a query of its own that collects only its one-byte codes, not grouped. The same rows, weights and order
    as a group-by per column would give."""
    schema = lf.collect_schema()
    shown = [c for c in columns if c not in by_value]
    counted = {g[0] for g in groups if len(g) == 1 and g[0] not in by_value}
    coded = [g[0] for g in groups if len(g) == 1 and g[0] in by_value and isinstance(schema[g[0]], pl.Enum)]
    grouped = [g for g in groups if not (len(g) == 1 and (g[0] in counted or g[0] in coded))]
    queries = []
    if footer is None:
        head = [pl.col(c).drop_nulls().first() for c in shown]
        head += [pl.col(c).null_count().alias(f"{NULLS}{c}") for c in columns if c in counted] + [pl.len().alias(WEIGHT)]
        queries.append(lf.select(head))
    queries += [
        lf.group_by([pl.col(c) if c in by_value else pl.col(c).is_null().alias(c) for c in g]).agg(
            pl.len().alias(WEIGHT)
        )
        for g in grouped
    ]
    queries += [lf.select(c) for c in coded]  # one column of one-byte codes each, never the table
    found = pl.collect_all(queries, engine=ENGINE) if queries else []
    weight = pl.get_index_type()
    if footer is None:
        reps, *found = found
        total = int(reps[WEIGHT][0])
        nulls = {c: int(reps[f"{NULLS}{c}"][0]) for c in counted}
    else:
        reps, total, nulls = _first_values(lf, shown, footer), footer.rows, footer.nulls
    by_group = dict(zip(map(tuple, grouped), found))
    by_group.update({(c,): _enum_counts(codes.to_series(), weight) for c, codes in zip(coded, found[len(grouped) :])})
    for c in counted:
        by_group[(c,)] = pl.DataFrame(
            {c: [False, True], WEIGHT: [total - nulls[c], nulls[c]]}, schema={c: pl.Boolean, WEIGHT: weight}
        ).filter(pl.col(WEIGHT) > 0)
    parts = [by_group[tuple(g)] for g in groups]
    parts = [
        part.with_columns(
            [
                pl.when(pl.col(c)).then(None).otherwise(pl.lit(reps[c]).first()).alias(c)
                for c in g
                if c not in by_value
            ]
        ).sort(g, nulls_last=True)
        for g, part in zip(groups, parts)
    ]
    length = max((p.height for p in parts), default=0)
    padded: dict[str, pl.Series] = {}
    for g, part in zip(groups, parts):
        idx = pl.int_range(length, eager=True) % max(part.height, 1)
        rows = part.drop(WEIGHT)[idx] if part.height else part.drop(WEIGHT).clear()
        padded.update({c: rows[c] for c in g})
    return _Batch(
        frame=pl.DataFrame([padded[c] for c in columns]) if columns else pl.DataFrame(),
        group_of={c: i for i, g in enumerate(groups) for c in g},
        groups=parts,
    )


def _main_groups(columns: list[str], expectations: list) -> list[list[str]]:
    """Columns linked by a row condition form one group; the others are groups of their own."""
    parent = {c: c for c in columns}

    def find(c):
        while parent[c] != c:
            c = parent[c]
        return c

    for e in expectations:
        cond = _condition_column(e)
        for c in _columns_of(e):
            if cond and c in parent and cond in parent:
                parent[find(c)] = find(cond)
    out: dict[str, list[str]] = {}
    for c in columns:
        out.setdefault(find(c), []).append(c)
    return list(out.values())


def _samples_of(values: list) -> list[str]:
    seen, out = set(), []
    for v in values:
        text = mask_personal(v)
        if text not in seen:
            seen.add(text)
            out.append(text)
    return out[:MAX_SAMPLES]


def _map_outcome(r, e, batch: _Batch, rows: int) -> ExpectationOutcome:
    """A GX map result over distinct rows, with exact row counts from the group's weights."""
    out = _summarize(r, rows)
    res = r.result or {}
    if "column_list" in e.configuration.kwargs or not _columns_of(e):
        return out  # table columns, row count: aggregate, as GX reports them
    needed = _columns_of(e) + ([_condition_column(e)] if _condition_column(e) else [])
    if not all(c in batch.group_of for c in needed):
        return _missing(e, needed, list(batch.group_of), rows)
    if out.error or "unexpected_index_list" not in res:
        return out
    column = _columns_of(e)[0]
    group = batch.rows(column)
    n = max(group.height, 1)
    listed = res.get("unexpected_index_list") or []
    if len(listed) != int(res.get("unexpected_count") or 0):  # GX caps some lists: never guess a count
        raise RuntimeError(f"GX listed {len(listed)} of {res.get('unexpected_count')} unexpected rows ({e.configuration.type} {column})")
    idx = sorted({int(i) % n for i in listed})
    unexpected = int(group[WEIGHT].gather(idx).sum()) if idx else 0
    rc = getattr(e, "row_condition", None)
    element = int(group.filter(polars_condition(rc))[WEIGHT].sum()) if rc is not None else rows
    out.unexpected_count = unexpected
    out.element_count = element
    out.share = unexpected / element if element else 0.0
    # samples: the unexpected distinct values, most frequent first (GX's own value list is capped)
    shown = group[idx].sort(WEIGHT, descending=True, maintain_order=True).head(MAX_SAMPLES) if idx else group.clear()
    out.samples = _samples_of(shown[column].to_list())
    return out


def _hash_repeats(hashes: pl.Series) -> bool:
    """Whether a value occurs twice among ``hashes`` (64-bit key hashes, no null): copied out, sorted in
    place by numpy, then each compared with its neighbour. A hash set of them (``n_unique``) takes
    several times their 8 bytes a row (national cases, 19.6 M keys: ≈ 0.9 GB against ≈ 0.2 GB here);
    Polars' own sort of them took ≈ 2.5 times numpy's CPU (national cases: 0.68 against 0.24 CPU-s
    with the copy)."""
    if hashes.len() < 2:
        return False
    values = hashes.to_numpy(writable=True)
    values.sort()
    return bool((values[1:] == values[:-1]).any())


def _table_outcome(e, lf: pl.LazyFrame, rows: int) -> tuple[ExpectationOutcome, dict]:
    """Key uniqueness over the whole table in Polars: every row of a key seen twice or more."""
    cfg = e.configuration
    cols = _columns_of(e)
    rc = getattr(e, "row_condition", None)
    scoped = lf.filter(polars_condition(rc)) if rc is not None else lf
    keyed = scoped.select(cols)
    if len(cols) == 1:  # GX: missing values are not compared
        keyed = keyed.filter(pl.col(cols[0]).is_not_null())
    else:  # GX default ignore_row_if="all_values_are_missing"
        keyed = keyed.filter(~pl.all_horizontal(pl.col(c).is_null() for c in cols))
    key = pl.col(cols[0]) if len(cols) == 1 else pl.struct(cols)
    # Fast exact path: no two keyed rows with the same key hash means no key repeats. Otherwise (a
    # repeat, or a hash collision) the keys themselves are grouped.
    element, hashes = pl.collect_all(
        [scoped.select(pl.len().alias("n")), keyed.select(key.hash(20240101).alias("h"))], engine=ENGINE
    )
    if not _hash_repeats(hashes.get_column("h")):
        dup = keyed.select(cols).clear().with_columns(pl.lit(0, pl.UInt32).alias(WEIGHT)).collect()
    else:
        dup = keyed.group_by(cols).agg(pl.len().alias(WEIGHT)).filter(pl.col(WEIGHT) > 1).collect(engine=ENGINE)
    counts = dup.select(pl.col(WEIGHT).sum().alias("n"), pl.len().alias("keys"), pl.col(WEIGHT).max().alias("most"))
    first = dup.sort(cols, nulls_last=True).head(MAX_SAMPLES).drop(WEIGHT)
    element_count = int(element["n"][0]) if rc is not None else rows
    unexpected = int(counts["n"][0] or 0)
    samples = first.to_series().to_list() if len(cols) == 1 else first.to_dicts()
    meta = cfg.meta or {}
    outcome = ExpectationOutcome(
        type=cfg.type,
        family=meta.get("family", ""),
        column=meta.get("column"),
        check=meta.get("check"),
        zh=meta.get("zh", cfg.type),
        kwargs=json.loads(json.dumps({k: v for k, v in cfg.kwargs.items() if k != "batch_id"}, default=str)),
        success=unexpected == 0,
        unexpected_count=unexpected,
        element_count=element_count,
        share=unexpected / element_count if element_count else 0.0,
        samples=_samples_of(samples),
        observed=f"重复的键 {int(counts['keys'][0])} 个，最多 {int(counts['most'][0] or 0)} 行" if unexpected else None,
    )
    gx_like = {
        "expectation_config": cfg.to_json_dict(),
        "success": outcome.success,
        "result": {
            "element_count": element_count,
            "unexpected_count": unexpected,
            "unexpected_percent": 100 * outcome.share,
            "partial_unexpected_list": samples,
        },
        "meta": {"engine": "polars", "note": "表级期望（主键唯一）由 Polars 按键分组计算 table-level, computed in Polars"},
    }
    return outcome, gx_like


def _pair_outcome(src: str, e, lf: pl.LazyFrame, rows: int) -> tuple[ExpectationOutcome, dict]:
    """Column A ≥ (or >) column B, rows with either value missing ignored. GX sees, for each distinct
    B, the smallest A found with it (the pair most likely to break the rule, a real pair of the
    table): it fails exactly for the B values that carry a breaking row. Polars then counts those
    rows (same B, A below B) exactly."""
    kw = e.configuration.kwargs
    a, b = kw["column_A"], kw["column_B"]
    name = f"{suite_name(src)}.{b}.{a}"
    if kw.get("ignore_row_if") != "either_value_is_missing":  # other semantics: every distinct pair
        batch = _reduce(lf, [b, a], [[b, a]], {a, b})
        r = _validate(src, batch, [e], name).results[0]
        return _map_outcome(r, e, batch, rows), r.to_json_dict()
    both = lf.filter(pl.col(a).is_not_null() & pl.col(b).is_not_null())
    worst = both.group_by(b).agg(pl.col(a).min()).sort(b).collect(engine=ENGINE)
    batch = _Batch(frame=worst, group_of={a: 0, b: 0}, groups=[worst])
    r = _validate(src, batch, [e], name).results[0]
    out = _summarize(r, rows)
    res = r.result or {}
    if out.error or "unexpected_index_list" not in res:
        return out, r.to_json_dict()
    idx = sorted({int(i) for i in res.get("unexpected_index_list") or []})
    if idx:
        flagged = worst[b].gather(idx)
        breaks = pl.col(a) < pl.col(b) if kw.get("or_equal") else pl.col(a) <= pl.col(b)
        bad = both.filter(pl.col(b).is_in(flagged.implode()) & breaks)
        count, first = pl.collect_all([bad.select(pl.len()), bad.sort(b, a).head(MAX_SAMPLES).select(b, a)], engine=ENGINE)
    else:  # GX flagged no earlier date: no row breaks the rule, nothing to count
        count, first = pl.DataFrame({"len": [0]}), worst.select(b, a).clear()
    out.unexpected_count = int(count.item())
    out.element_count = rows
    out.share = out.unexpected_count / rows if rows else 0.0
    out.samples = _samples_of([list(t) for t in first.iter_rows()])
    gx_json = r.to_json_dict()
    gx_json.setdefault("meta", {})["lianjian"] = {
        "input": f"每个 {b} 取值配其最早的 {a}；违规行数由 Polars 按这些 {b} 取值精确统计。"
        f" GX saw, per distinct {b}, the earliest {a}; Polars counted the breaking rows.",
        "distinct_rows": worst.height,
    }
    return out, gx_json


def _trim(gx_json: dict) -> dict:
    """Keep the stored GX result small: indices are into the distinct-value frame, lists bounded."""
    for r in gx_json.get("results", []):
        res = r.get("result") or {}
        for k in ("unexpected_index_list", "unexpected_list", "partial_unexpected_index_list", "unexpected_index_query"):
            if isinstance(res.get(k), list):
                res[k] = res[k][:MAX_SAMPLES]
            elif k == "unexpected_index_query":
                res.pop(k, None)
    return gx_json


def _config_key(cfg) -> str:
    kwargs = {k: v for k, v in cfg.kwargs.items() if k != "batch_id"}
    return json.dumps([cfg.type, kwargs, cfg.meta], sort_keys=True, default=str)


_CONFIGURATIONS = threading.local()
#: GX's own ``Expectation.configuration`` getter (set when ``_configuration_once_per_validation`` runs).
_gx_configuration = None
#: GX's own ``ExpectationConfiguration.to_domain_obj`` (set when ``_configuration_once_per_validation`` runs).
_gx_to_domain_obj = None


@cache
def _configuration_once_per_validation() -> None:
    """GX builds an expectation's ``configuration`` (a pydantic ``dict()`` of the expectation and a
    new ``ExpectationConfiguration``) anew every time it is read, and while validating it reads it
    once per domain and success key of every expectation and metric (GX 1.x,
    ``Expectation._get_domain_kwargs`` / ``_get_success_kwargs`` / ``_get_success_kwarg``): ≈ 24,000
    builds for the demo's eleven suites, a third of their CPU. Inside ``_configurations_kept`` (one
    ``validate`` call, during which no expectation of the suite changes: their ids are given by
    ``_validate`` before) each expectation's configuration is built once and the same
    object read again; everywhere else, and in other threads, it is GX's property as it is.

    And GX turns such a configuration back into an expectation (``to_domain_obj``: a new pydantic
    model, whose own configuration is then built again) every time it looks up a metric's keyword
    arguments (GX 1.x ``registry.get_metric_kwargs``, which only reads the new expectation's runtime
    keyword arguments): ≈ 2,100 times for the demo's eleven suites, each a validation of the model and
    a configuration built, ≈ a fifth of their CPU. Inside ``_configurations_kept``, a configuration
    built there (never changed while the block runs, as above) gives the same expectation each time;
    any other configuration (GX's own copies, which it changes: the batch id added) gets a new one,
    as GX gives it."""
    global _gx_configuration, _gx_to_domain_obj
    from great_expectations.expectations.expectation import Expectation
    from great_expectations.expectations.expectation_configuration import ExpectationConfiguration

    _gx_configuration = Expectation.configuration.fget
    _gx_to_domain_obj = ExpectationConfiguration.to_domain_obj

    def configuration(self):
        kept = getattr(_CONFIGURATIONS, "kept", None)
        if kept is None:
            return _gx_configuration(self)
        found = kept.get(id(self))
        if found is None or found[0] is not self:  # the object itself is kept: its id is not reused
            found = kept[id(self)] = (self, _gx_configuration(self))
            _CONFIGURATIONS.domains[id(found[1])] = (found[1], None)
        return found[1]

    def to_domain_obj(self):
        domains = getattr(_CONFIGURATIONS, "domains", None)
        found = None if domains is None else domains.get(id(self))
        if found is None or found[0] is not self:  # not a configuration built inside the block
            return _gx_to_domain_obj(self)
        if found[1] is None:
            found = domains[id(self)] = (self, _gx_to_domain_obj(self))
        return found[1]

    configuration.__doc__ = _gx_configuration.__doc__
    to_domain_obj.__doc__ = _gx_to_domain_obj.__doc__
    Expectation.configuration = property(configuration)
    ExpectationConfiguration.to_domain_obj = to_domain_obj


@cache
def _none_converted_at_once() -> None:
    """GX's ``convert_to_json_serializable`` (which makes the id of every metric configuration GX
    builds while validating: 8,000 for the demo's eleven suites, each a dictionary of keyword
    arguments converted value by value) tests a value against twenty types, four of them by
    ``numpy.issubdtype``, before it finds that the value is None and returns it: ≈ 120,000 calls of
    ``issubdtype`` for the demo, a tenth of the suites' CPU. The function is wrapped once per process
    so that None is returned at once — what GX returns for it — and every other value is converted
    by GX's own function; GX's recursion into dictionaries and lists goes through the wrapper (it
    looks the name up in its module)."""
    import great_expectations.util as gx_util

    gx_convert = gx_util.convert_to_json_serializable

    def convert_to_json_serializable(data):
        return None if data is None else gx_convert(data)

    convert_to_json_serializable.__doc__ = gx_convert.__doc__
    convert_to_json_serializable.__wrapped__ = gx_convert
    gx_util.convert_to_json_serializable = convert_to_json_serializable


#: GX's own ``IDDict.to_id`` (set when ``_plain_ids_once`` runs).
_gx_to_id = None
#: The most ids ``_plain_ids_once`` keeps (the demo's eleven suites make 92 distinct ones): past it the
#: kept ones are dropped and kept again as they come, so a long-lived process holds at most this many.
MAX_KEPT_IDS = 4096
#: The value types whose GX JSON form is the value itself, told apart by their exact type (``True``
#: and ``1`` are equal keys of a dictionary but not the same JSON).
_PLAIN = (str, int, bool, type(None))


@cache
def _plain_ids_once() -> None:
    """GX names every metric configuration it builds (8,200 for the demo's eleven suites) by the ids of
    its domain and value keyword arguments (``IDDict.to_id``: the arguments converted to JSON value by
    value, dumped with sorted keys, hashed with MD5), ≈ 15,000 ids of which 92 differ. An id of
    arguments that are all strings, integers, booleans or None — 91 % of them, whose JSON form is the
    values themselves — is computed once per process by GX's own method and looked up after, keyed
    by each argument's name, exact type and value; any other (lists, dictionaries, floats, GX's
    objects, a subclass of ``IDDict`` or one asked for some of its keys) is GX's method as it is."""
    global _gx_to_id
    from great_expectations.core.id_dict import IDDict

    _gx_to_id = IDDict.to_id
    kept: dict[tuple, object] = {}

    def to_id(self, id_keys=None, id_ignore_keys=None):
        if id_keys is not None or id_ignore_keys is not None or type(self) is not IDDict or len(self) < 2:
            return _gx_to_id(self, id_keys, id_ignore_keys)
        key = []
        for name, value in self.items():
            kind = type(value)
            if kind not in _PLAIN:
                return _gx_to_id(self, id_keys, id_ignore_keys)
            key.append((name, kind.__name__, value))
        key = tuple(sorted(key))
        found = kept.get(key)
        if found is None:
            if len(kept) >= MAX_KEPT_IDS:
                kept.clear()
            found = kept[key] = _gx_to_id(self)
        return found

    to_id.__doc__ = _gx_to_id.__doc__
    to_id.__wrapped__ = _gx_to_id
    IDDict.to_id = to_id


@contextmanager
def _configurations_kept() -> Iterator[None]:
    """Each expectation's configuration built once while the block runs, and the expectation GX makes
    again from it once (``_configuration_once_per_validation``). A block inside another keeps its own
    (a validation inside ``run_suite``'s block), and the outer block's are back after it."""
    import_gx()  # GX as lianjian imports it, before any of its modules is imported here
    _configuration_once_per_validation()
    _none_converted_at_once()
    _plain_ids_once()
    outer = getattr(_CONFIGURATIONS, "kept", None), getattr(_CONFIGURATIONS, "domains", None)
    _CONFIGURATIONS.kept, _CONFIGURATIONS.domains = {}, {}
    try:
        yield
    finally:
        _CONFIGURATIONS.kept, _CONFIGURATIONS.domains = outer


def _configurations_changed(expectations: list) -> None:
    """The expectations ``expectations`` are changed (their ids and meta given by ``_validate``): the
    configurations kept for them by the block around (``_configurations_kept``) are built again."""
    kept = getattr(_CONFIGURATIONS, "kept", None)
    if kept is not None:
        for expectation in expectations:
            kept.pop(id(expectation), None)


def _validate(src: str, batch: _Batch, expectations: list, name: str):
    """GX's result of the suite ``name`` of ``expectations`` over the bounded input ``batch``. The
    suite is not added to the context: a batch validates a suite it is given, and the context's
    store would only serialise it, read it back and give the suite and each expectation a random id
    (≈ 15 ms a validation); the ids are given here as that store gives them, and the expectations
    validated are the ones built (``run_suite`` matches GX's results to them by their
    configurations). Nor is the batch fetched first: a fetched batch's ``validate`` only hands its
    batch definition's asset and its parameters to GX's validator of a batch definition, which fetches
    the batch itself (each fetch builds the frame's batch markers: a hash of every row, ≈ 3 % of the
    suites' CPU); the validator is given the asset's batch definition and the parameters directly."""
    import uuid

    gx = import_gx()
    from great_expectations.validator.v1_validator import Validator

    suite = gx.ExpectationSuite(name=name, expectations=expectations, meta={"source": src})
    suite.id = str(uuid.uuid4())
    for expectation in suite.expectations:
        expectation.id = str(uuid.uuid4())
        # the store gives an expectation's meta back with its keys sorted, and GX's results show it so
        expectation.meta = dict(sorted(expectation.meta.items())) if expectation.meta else expectation.meta
    _configurations_changed([*expectations, *suite.expectations])
    validator = Validator(
        batch_definition=_batch_definition(src),
        batch_parameters={"dataframe": to_gx_pandas(batch.frame)},
        result_format={"result_format": "COMPLETE", "partial_unexpected_count": MAX_SAMPLES},
    )
    with _configurations_kept():
        return validator.validate_expectation_suite(suite)


def _suite_json_without_results(suite_result) -> dict:
    """GX's JSON of a suite's validation result with an empty ``results`` list: ``run_suite`` has
    each expectation's JSON already (GX's ``to_json_dict`` of the suite deep-copies and converts every
    result again). The suite's other fields (success, statistics, meta, suite name and parameters)
    do not depend on its results list."""
    results = suite_result.results
    suite_result.results = []
    try:
        return suite_result.to_json_dict()
    finally:
        suite_result.results = results


def run_suite(
    src: str, frame: pl.DataFrame | pl.LazyFrame, *, digest: str | None = None, file: Path | str | None = None
) -> SuiteResult:
    """Validate one staged table with its suite (no cache), GX over bounded distinct-value inputs.
    ``file``: the Parquet file ``frame`` scans (``pl.scan_parquet(file)``, the staged table's file):
    its footer's row and null counts are taken instead of reading its columns for them. The
    expectations' configurations read around the validations (their types, columns and conditions,
    the outcomes' keyword arguments: ≈ 1,700 reads for the demo's eleven suites) are built once each
    (``_configurations_kept``; ``_validate`` has those it changes built again)."""
    with _configurations_kept():
        return _run_suite(src, frame, digest=digest, file=file)


def _run_suite(src: str, frame: pl.DataFrame | pl.LazyFrame, *, digest: str | None, file: Path | str | None) -> SuiteResult:
    """``run_suite`` inside its block of kept configurations."""
    t0 = time.perf_counter()
    footer = None
    if isinstance(frame, pl.LazyFrame) and digest is not None:
        # a staged file scanned lazily, its content key known: never held whole (see ``ENGINE``)
        eager, lf = None, frame
        columns = lf.collect_schema().names()
        rows = int(lf.select(pl.len()).collect().item())
        if file is not None and (footer := read_footer(file, columns)) is not None and footer.rows != rows:
            footer = None  # not the file the frame scans
    else:
        eager = frame.collect() if isinstance(frame, pl.LazyFrame) else frame
        lf, rows, columns = eager.lazy(), eager.height, eager.columns
    expectations = build_suite(src).expectations
    kind = [e.configuration.type for e in expectations]
    main_at = [i for i, k in enumerate(kind) if k not in TABLE_LEVEL | PAIR_LEVEL]
    main = [expectations[i] for i in main_at]
    by_value = {c for e in main for c in _columns_of(e) if e.configuration.type in VALUE_LEVEL}
    by_value |= {c for e in main if (c := _condition_column(e))}
    by_value &= set(columns)
    batch = _reduce(lf, columns, _main_groups(columns, main), by_value, footer)
    results: dict[int, ExpectationOutcome] = {}
    gx_results: dict[int, dict] = {}
    main_res = _validate(src, batch, main, suite_name(src))
    at = {_config_key(expectations[i].configuration): i for i in main_at}
    for r in main_res.results:  # GX does not keep the suite's order
        i = at[_config_key(r.expectation_config)]
        e = expectations[i]
        results[i] = _map_outcome(r, e, batch, rows)
        gx_results[i] = r.to_json_dict()
    for i, e in enumerate(expectations):
        if kind[i] in PAIR_LEVEL:
            pair = [c for c in _columns_of(e)]
            if all(c in columns for c in pair):
                results[i], gx_results[i] = _pair_outcome(src, e, lf, rows)
            else:
                results[i] = _missing(e, pair, columns, rows)
                gx_results[i] = {"expectation_config": e.configuration.to_json_dict(), "success": False}
        elif kind[i] in TABLE_LEVEL:
            cols = _columns_of(e) + ([_condition_column(e)] if _condition_column(e) else [])
            if all(c in columns for c in cols):
                results[i], gx_results[i] = _table_outcome(e, lf, rows)
            else:
                results[i] = _missing(e, cols, columns, rows)
                gx_results[i] = {"expectation_config": e.configuration.to_json_dict(), "success": False}
    outcomes = [results[i] for i in range(len(expectations))]
    gx_json = _suite_json_without_results(main_res)
    gx_json["results"] = [gx_results[i] for i in range(len(expectations))]
    gx_json["success"] = all(o.success for o in outcomes)
    gx_json.setdefault("meta", {})["lianjian"] = {
        "input": "每列（或条件关联的列组）的不同取值及其行数；表级期望由 Polars 计算。"
        " GX validated distinct values per column group, weighted by their row counts; table-level in Polars.",
        "table_rows": rows,
        "distinct_rows": batch.frame.height,
    }
    return SuiteResult(
        source=src,
        suite=suite_name(src),
        content_hash=digest or content_hash(eager),
        rows=rows,
        success=all(o.success for o in outcomes),
        expectations=outcomes,
        seconds=time.perf_counter() - t0,
        gx_result=_scrub(_trim(gx_json)),
    )


def _missing(e, needed: list[str], columns: list[str], rows: int) -> ExpectationOutcome:
    """An expectation over a column the table lacks fails for every row (as GX reports it)."""
    cfg = e.configuration
    meta = cfg.meta or {}
    lacking = [c for c in needed if c not in columns]
    n = max(rows, 1)
    return ExpectationOutcome(
        type=cfg.type, family=meta.get("family", ""), column=meta.get("column"), check=meta.get("check"),
        zh=meta.get("zh", cfg.type), kwargs=json.loads(json.dumps(dict(cfg.kwargs), default=str)),
        success=False, unexpected_count=n, element_count=n, share=1.0,
        samples=[f"缺少列 {', '.join(lacking)}"], error=f"missing column(s): {', '.join(lacking)}",
    )


def cache_key(src: str, frame: pl.DataFrame | None, digest: str | None = None) -> str:
    digest = digest or content_hash(frame)
    return hashlib.sha256(f"{src}|{digest}|{suite_fingerprint(src)}".encode()).hexdigest()


def validate_cached(
    src: str,
    frame: pl.DataFrame | pl.LazyFrame,
    cache_dir: Path | None,
    *,
    digest: str | None = None,
    file: Path | str | None = None,
) -> SuiteResult:
    """``run_suite`` unless a result for the same content and suite is cached under ``cache_dir``.
    ``digest``: the table's content key when known already (a staged table: the SHA-256 of its file
    as recorded when staging wrote it, lianjian/ingest/stagecache.py) — then a cached result is found
    without reading the table; otherwise the table is read and hashed (``content_hash``). ``file``:
    the Parquet file ``frame`` scans, if it is one (``run_suite``)."""
    if cache_dir is None:
        return run_suite(src, frame, digest=digest, file=file)
    t0 = time.perf_counter()
    eager = None
    if digest is None:
        eager = frame.collect() if isinstance(frame, pl.LazyFrame) else frame
        digest = content_hash(eager)
    path = Path(cache_dir) / f"{cache_key(src, eager, digest)}.json"
    # computed in this run: by the suite worker beside staging or the scoring (lianjian/quality/worker.py),
    # or already in this process (the publish step's gate asks before the suites' step reports)
    owed = suite_worker().take(path)
    if owed is not None:
        return owed
    if path.exists():
        try:
            result = SuiteResult.from_json(json.loads(path.read_text(encoding="utf-8")))
        except (ValueError, TypeError, KeyError):
            result = None  # a damaged cache entry is recomputed
        if result is not None:
            result.cached = True
            result.seconds = time.perf_counter() - t0
            return result
    result = run_suite(src, frame if eager is None else eager, digest=digest, file=file)
    private_mkdir(path.parent)  # the cache holds sample values: private like the staged layer
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    write_private(tmp, json.dumps(result.to_json(), ensure_ascii=False, default=str).encode("utf-8"))
    os.replace(tmp, path)
    suite_worker().keep(path, result)
    return result
