"""Our own Parquet IO manager for Polars frames (dagster-polars does not work with Polars 2.x, and it
records preview rows — real names — in the event log; this one records only counts and schemas).

An asset with key ``[layer, name]`` is stored at ``<warehouse>/<layer>/<name>.parquet``; a year-partitioned
asset (derived, assessed: ``pipelines/partitions.py``) at ``<warehouse>/<layer>/<name>/<year>.parquet``,
one file per year of the run — a year without rows gets an empty file with the table's columns, so a
year whose data went away does not keep stale rows. Inputs load as a LazyFrame (``scan_parquet``)
unless the parameter is annotated ``pl.DataFrame``; a partitioned input loads the years the
downstream asset asks for (all of them for an unpartitioned downstream such as R4 or publishing),
skipping years never computed. Writes go to a temporary file first and are renamed into place, with
fixed writer settings, so files are whole and byte-identical for identical frames. Every folder it
makes is 0700 and every file 0600 (set here, whatever the process umask): these layers hold names
and the texts as read (lianjian.files, docs/operations.md).

The warehouse is the ``lianjian`` settings resource's (``pipelines/resources.py``): the IO manager has
no path setting of its own, so it always writes where the assets read and publish.

Metadata: an unpartitioned asset records its row count, column schema and path; a year partition
records those of THAT year's file (``dagster/row_count`` and ``dagster/partition_row_count`` are the
year's rows, ``path`` the year's file) and, for a table with a ``grade`` column, the year's count per
grade (``grades/好`` …) — never values of a row.

A step that computes its years one at a time (R2, R3: ``assets/assessed.py``) hands each yearly output
over as ``SpilledYears``: every year is written to the step's private temporary folder as soon as it is
computed and dropped from memory, written as the year's file would be, and this IO manager moves those
spills into place as the year files, so that the step never holds more than the years in hand (national: R2's evidence,
≈ 2 M rows a year, held for five years made the run's peak; docs/performance.md). A Polars frame
cannot serve here: Dagster hands a step's outputs to the IO manager only when the step yields them,
and a multi-asset step yields its two outputs (a table and its evidence) after computing both. (R2
and R3 of small inputs compute every year at once and hand over one frame: assets/assessed.py
``ALL_YEARS_AT_ONCE_UP_TO``.)

A frame's years are written two at a time on the year threads (lianjian/threads.py), but a frame in
memory of fewer than ``ON_THREADS_FROM`` rows has its year files written one after the other on the
step's thread: there a year file costs its fixed costs, which a
second thread does not share.

A year-partitioned output may leave some of the run's years as they are: a year kept by
``SpilledYears.keep``, or one of the ``years`` of a ``KeptYears`` value, is not written — its file is
what the step would compute (the same inputs, lianjian/yearkeep.py) — and its materialization is
described from the file, with ``unchanged`` true.

An unpartitioned output whose value is ``Unchanged`` is not written: its file is already what the
asset would write (staging keeps the table of a source whose inputs did not change,
lianjian/ingest/stagecache.py). The materialization is recorded all the same, with the metadata read
from the file kept and ``unchanged`` true, so the UI and the lineage show the table as current.
"""


import errno
import os
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import dagster as dg
import polars as pl

from lianjian.contract import ENUMS
from lianjian.files import make_private, private_dirs, private_mkdir, remove_stale_siblings
from lianjian.threads import each_year
from pipelines.resources import LianjianSettings

PARQUET_OPTIONS = dict(compression="zstd", compression_level=3, statistics=True, row_group_size=1_000_000)


def write_parquet_atomic(
    frame: pl.DataFrame | pl.LazyFrame, path: Path, options: dict | None = None, each: Callable[[pl.DataFrame], None] | None = None
) -> int:
    """Write ``frame`` to ``path`` via a temporary file and an atomic rename; returns the row count.
    The file is 0600; a missing folder is made 0700 (the IO manager makes the layer folders first).
    ``options``: the Parquet writer settings (``PARQUET_OPTIONS`` unless given). ``each`` (a lazy
    ``frame`` only): called with the rows written, batch after batch in their order, in the same
    pass (``Streamed``)."""
    options = PARQUET_OPTIONS if options is None else options
    if not path.parent.is_dir():
        private_mkdir(path.parent)
    remove_stale_siblings(path)
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    if isinstance(frame, pl.LazyFrame):
        if each is None:
            frame.sink_parquet(tmp, **options)
        else:  # one query, two sinks: the file, and the batches handed to ``each``
            batches = frame.sink_batches(each, lazy=True, chunk_size=STREAMED_BATCH_ROWS, maintain_order=True)
            pl.collect_all([frame.sink_parquet(tmp, lazy=True, **options), batches])
        rows = pl.scan_parquet(tmp).select(pl.len()).collect().item()
    else:
        frame.write_parquet(tmp, **options)
        rows = frame.height
    make_private(tmp)
    os.replace(tmp, path)
    return rows


#: A year-partitioned output handed over as a frame in memory of fewer rows than this has its year
#: files written one after the other on the step's thread. Below it a year file costs its fixed costs — the Parquet writer's set-up, the
#: rename, the metadata, a few Polars calls of about a millisecond, mostly under the GIL — which a
#: second thread cannot share, and the hand-offs to it add some (the demo: 14 k rows, 66 year files);
#: above it compressing a year keeps a core busy and two years at a time fill both (a province's year
#: of talk obligations is ≈ 30 k rows, a national one ≈ 1 M: docs/performance.md, "Small steps at once").
ON_THREADS_FROM = 50_000

#: Rows a batch handed to ``Streamed.each`` holds at most (memory: one batch, beside the writer's).
STREAMED_BATCH_ROWS = 1_000_000


@dataclass
class Streamed:
    """An unpartitioned output written from ``frame`` whose rows are also handed to ``each``, batch
    after batch in the order they are stored, while the file is written — what a step would otherwise
    read the file back for (the staged tables' year digests: lianjian/ingest/digests.py
    ``YearDigests``; a sixth of the national zone, 0.3–0.5 CPU-s of the staging step's ≈ 18). The file
    is the bytes ``frame`` alone would give. ``each`` has seen every row once the IO manager returns.

    Once the file is written the IO manager lets go of ``frame`` and ``each`` (both None): Dagster's
    ``execute_in_process`` keeps every output value of a run until the run ends, and a staged table's
    frame may be over rows held in memory (lianjian/ingest/reader.py ``Budget``) — kept, they made
    the national run's peak 1.2 GB higher (docs/performance.md, "Staging from the rows kept since
    reading")."""

    frame: pl.LazyFrame | None
    each: Callable[[pl.DataFrame], None] | None


@dataclass(frozen=True)
class KeptYears:
    """A year-partitioned output computed for some of the run's years only: ``frame`` holds the rows of
    the run's years but ``years``, whose files are already what the asset would write (the same
    inputs: lianjian/yearkeep.py); the IO manager writes the others and records those as unchanged."""

    frame: pl.LazyFrame | pl.DataFrame
    years: frozenset[int]


@dataclass(frozen=True)
class Unchanged:
    """The value of an output whose table file in the warehouse is already what the asset would write
    now: the IO manager keeps the file as it is (``why`` says how the asset knows, for the log)."""

    why: str


class SpilledYears:
    """One year-partitioned output of a step, computed one year at a time and spilled year by year
    into ``folder`` (the step's private temporary folder, ``lianjian.files.run_tmpdir``, which must
    outlive the step's ``yield`` of it: Dagster calls the IO manager before the step resumes).

    Each year is spilled as its year file: the rows as one chunk, written with the year files' writer
    settings (``PARQUET_OPTIONS``; Parquet page boundaries follow the chunks of the frame written, not
    only its values), so that the IO manager moves the spill into place (``path``) instead of reading
    it back and compressing the same rows again — the bytes the year's rows written from one
    contiguous frame have (1/6 of national, a year of R2's 356 k evidence rows: a read back and a
    second zstd write, ≈ 0.17 CPU-s, no longer done; docs/performance.md)."""

    def __init__(self, folder: Path, name: str):
        self.folder = private_mkdir(Path(folder) / name)
        self._years: dict[int, Path | None] = {}

    def add(self, year: int, frame: pl.DataFrame) -> None:
        """Spill ``frame``, the rows of ``year`` (the IO manager checks every row's year when it writes
        the year's file)."""
        if year in self._years:
            raise ValueError(f"year {year} spilled twice")
        path = self.folder / f"{year}.parquet"
        frame.rechunk().write_parquet(path, **PARQUET_OPTIONS)
        make_private(path)
        self._years[year] = path

    def keep(self, year: int) -> None:
        """``year``'s file in the warehouse is already what the step would compute (the same inputs:
        lianjian/yearkeep.py): the IO manager leaves it as it is and records it as unchanged."""
        if year in self._years:
            raise ValueError(f"year {year} spilled twice")
        self._years[year] = None

    @property
    def years(self) -> list[int]:
        return sorted(self._years)

    def path(self, year: int) -> Path | None:
        """The year's spill, written as its year file (``add``); None for a year kept as it is."""
        return self._years[year]


def table_path(warehouse: Path, key: dg.AssetKey, partition: str | None = None) -> Path:
    """Where an asset's table lives in the warehouse: ``<layer>/<name>.parquet``, or for a year
    partition ``<layer>/<name>/<year>.parquet``."""
    *layers, name = key.path
    if partition is not None:
        return Path(warehouse).joinpath(*layers, name, f"{partition}.parquet")
    return Path(warehouse).joinpath(*layers, f"{name}.parquet")


def table_schema(schema: pl.Schema, descriptions: dict[str, str] | None = None) -> dg.TableSchema:
    descriptions = descriptions or {}
    return dg.TableSchema(
        columns=[dg.TableColumn(name, str(dtype), description=descriptions.get(name)) for name, dtype in schema.items()]
    )


#: The grade labels in the order staff read them (好, 较好, 一般, 较差), and the key of an ungraded row.
GRADE_LABELS = [ENUMS["grade"].label(c) for c in ENUMS["grade"].codes]
UNGRADED = "未评定"


def grade_counts(frame: pl.DataFrame) -> dict[str, int]:
    """Rows per grade label (every label, 0 when absent) and ungraded rows (null grade)."""
    counts = dict(frame.group_by("grade").len().iter_rows())
    out = {g: int(counts.get(g, 0)) for g in GRADE_LABELS}
    out[UNGRADED] = int(counts.get(None, 0))
    return out


def grade_metadata(frame: pl.DataFrame) -> dict[str, dg.MetadataValue]:
    """``grades/<label>`` integer entries (the UI plots an integer entry across partitions)."""
    if "grade" not in frame.columns:
        return {}
    return {f"grades/{g}": dg.MetadataValue.int(n) for g, n in grade_counts(frame).items()}


def add_partition_metadata(context: dg.OutputContext, partition: str, metadata: dict) -> None:
    """Metadata of ONE partition's materialization. ``OutputContext.add_output_metadata`` would give
    every partition of a ranged run the same values, so this goes through the step's
    ``add_asset_metadata(partition_key=…)`` — what ``AssetExecutionContext.add_asset_metadata`` does."""
    context.step_context.add_asset_metadata(metadata, asset_key=context.asset_key, partition_key=partition)


class WarehouseIOManager(dg.ConfigurableIOManager):
    """Polars frames as Parquet under the warehouse of the ``lianjian`` settings (staged/, derived/,
    assessed/)."""

    settings: LianjianSettings

    def _root(self) -> Path:
        return self.settings.warehouse_path

    def _path(self, key: dg.AssetKey, partition: str | None = None) -> Path:
        return table_path(self._root(), key, partition)

    def handle_output(self, context: dg.OutputContext, obj) -> None:
        if obj is None:
            return
        if isinstance(obj, Unchanged):
            self._keep(context, obj)
            return
        each = None
        if isinstance(obj, Streamed):
            if context.has_asset_partitions:
                raise TypeError(f"{context.asset_key.to_user_string()}: a year-partitioned output cannot be streamed")
            if obj.frame is None:
                raise ValueError(f"{context.asset_key.to_user_string()}: a streamed output is written once")
            streamed = obj
            obj, each = obj.frame, obj.each
            streamed.frame = streamed.each = None  # the run keeps the output value: not its rows
        if not isinstance(obj, (pl.DataFrame, pl.LazyFrame, SpilledYears, KeptYears)):
            raise TypeError(f"{context.asset_key.to_user_string()}: expected a Polars frame, got {type(obj).__name__}")
        *layers, name = context.asset_key.path
        if context.has_asset_partitions:
            private_dirs(self._root(), *layers, name)
            frame = obj.frame if isinstance(obj, KeptYears) else obj
            if isinstance(obj, SpilledYears):
                years = self._spilled_years(context, obj)
            else:
                years = self._frame_years(context, frame, obj.years if isinstance(obj, KeptYears) else frozenset())
            # a small frame's years one after the other: a year's file is then a few milliseconds of
            # Python and Polars' fixed costs, which a second thread does not share (``ON_THREADS_FROM``)
            small = isinstance(frame, pl.DataFrame) and frame.height < ON_THREADS_FROM
            self._write_years(context, years, workers=1 if small else None)
            return
        if isinstance(obj, (SpilledYears, KeptYears)):
            raise TypeError(f"{context.asset_key.to_user_string()}: years handed over one at a time, but the asset is not partitioned by year")
        private_dirs(self._root(), *layers)
        path = self._path(context.asset_key)
        rows = write_parquet_atomic(obj, path, each=each)
        schema = obj.collect_schema() if isinstance(obj, pl.LazyFrame) else obj.schema
        context.add_output_metadata(
            {
                "dagster/row_count": dg.MetadataValue.int(rows),
                "dagster/column_schema": table_schema(schema),
                "path": dg.MetadataValue.path(str(path)),
            }
        )

    def _keep(self, context: dg.OutputContext, obj: Unchanged) -> None:
        """Record the materialization of a table whose file is kept as it is (see ``Unchanged``)."""
        if context.has_asset_partitions:
            raise TypeError(f"{context.asset_key.to_user_string()}: a year-partitioned output cannot be kept unchanged")
        path = self._path(context.asset_key)
        if not path.is_file():
            raise FileNotFoundError(f"{context.asset_key.to_user_string()}: {path} is missing, it cannot be kept unchanged")
        scan = pl.scan_parquet(path)
        context.add_output_metadata(
            {
                "dagster/row_count": dg.MetadataValue.int(scan.select(pl.len()).collect().item()),
                "dagster/column_schema": table_schema(scan.collect_schema()),
                "path": dg.MetadataValue.path(str(path)),
                "unchanged": dg.MetadataValue.bool(True),
                "unchanged_why": dg.MetadataValue.text(obj.why),
            }
        )

    @staticmethod
    def _frame_years(
        context: dg.OutputContext, obj: pl.DataFrame | pl.LazyFrame, kept: frozenset[int] = frozenset()
    ) -> Callable[[str], pl.DataFrame | None]:
        """The rows of one of the run's years of a frame that holds exactly them (None for the ``kept``
        years). A lazy frame is computed one year at a time (the largest table, the evidence, is
        never held whole: national, some 13 M rows). The years a frame in memory holds are checked on
        its ``year`` column, without a query. Each year's rows are the frame's filtered on the year:
        the bytes of its file follow the rows' buffers, not only their values, and ``partition_by``
        gives other buffers (lists of text: other Parquet pages at 1/6 of national)."""
        keys = list(context.asset_partition_keys)
        year = pl.col("year")
        computed = [int(k) for k in keys if int(k) not in kept]
        if isinstance(obj, pl.DataFrame):
            found = set(obj.get_column("year").unique().to_list()) - set(computed)
        else:
            # the filter reaches the plan's scans: only the year column is read to find rows of other years (or none)
            found = set(obj.filter(year.is_null() | ~year.is_in(computed)).select(year.unique()).collect().get_column("year").to_list())
        if found:  # the asset filters its output to the run's years: anything else is a bug
            found = sorted(found, key=lambda y: (y is None, y))
            raise ValueError(f"{context.asset_key.to_user_string()}: rows of years {found} outside the run's years {keys[0]}–{keys[-1]}")

        def rows_of(key: str) -> pl.DataFrame | None:
            if int(key) in kept:
                return None
            part = obj.filter(year == int(key))
            return part.collect() if isinstance(part, pl.LazyFrame) else part

        return rows_of

    @staticmethod
    def _spilled_years(context: dg.OutputContext, spilled: SpilledYears) -> Callable[[str], Path | None]:
        """The spill of one of the run's years of a step that spilled them one at a time (a file written
        as the year's file: ``SpilledYears.add``): the years spilled must be the run's, and every row
        of a year's spill of that year (its ``year`` column alone is read)."""
        keys = list(context.asset_partition_keys)
        if spilled.years != [int(k) for k in keys]:
            raise ValueError(f"{context.asset_key.to_user_string()}: years {spilled.years} spilled, the run's years are {keys[0]}–{keys[-1]}")

        def rows_of(key: str) -> Path | None:
            path = spilled.path(int(key))
            if path is None:  # kept: the year's file stays as it is
                return None
            year = pl.col("year")
            wrong = pl.scan_parquet(path).filter(year.is_null() | (year != int(key))).select(pl.len()).collect().item()
            if wrong:
                raise ValueError(f"{context.asset_key.to_user_string()}: {wrong} rows of year {key} have another year")
            return path

        return rows_of

    def _write_years(
        self, context: dg.OutputContext, rows_of: Callable[[str], pl.DataFrame | Path | None], workers: int | None = None
    ) -> None:
        """One file per partition year of this run, each year's materialization described by its own
        file; ``rows_of(year)`` gives a year's rows (None: a year kept as it is, described from its
        file and marked ``unchanged``; a path: a file already written as the year's file, moved into
        place). Two years at a time (lianjian/threads.py: compressing a year's file keeps about one
        core busy; ``workers``: how many, ``each_year``'s default unless given), each year's rows held
        only while its file is written; the metadata recorded afterwards, in the years' order."""

        table = published_form(context.asset_key)
        formed: dict[str, dict] = {}

        def write(key: str) -> dict:
            part = rows_of(key)
            path = self._path(context.asset_key, key)
            extra = {}
            if isinstance(part, Path) and table is not None:
                part = pl.read_parquet(part)
            if isinstance(part, Path):  # a spill written as the year's file: moved into place, described from it
                _moved_into_place(part, path)
                rows, schema, part = _described(path)
            elif part is not None and table is not None:
                # the file publish would write for the year, which it then copies (lianjian.publish.publish.PUBLISHED_FORM)
                from lianjian.publish.publish import WRITER, write_published_form

                formed[key] = write_published_form(table, part, path, lambda frame, to: write_parquet_atomic(frame, to, WRITER))
                rows, schema = part.height, part.schema
            elif part is None:
                if not path.is_file():
                    raise FileNotFoundError(f"{context.asset_key.to_user_string()}: {path} is missing, it cannot be kept unchanged")
                rows, schema, part = _described(path)
                extra = {"unchanged": dg.MetadataValue.bool(True)}
            else:
                rows = write_parquet_atomic(part, path)
                schema = part.schema
            return {
                "dagster/row_count": dg.MetadataValue.int(rows),
                "dagster/partition_row_count": dg.MetadataValue.int(rows),
                "dagster/column_schema": table_schema(schema),
                "path": dg.MetadataValue.path(str(path)),
                **(grade_metadata(part) if part is not None else {}),
                **extra,
            }

        keys = list(context.asset_partition_keys)
        for key, metadata in zip(keys, each_year(write, keys, workers)):
            add_partition_metadata(context, key, metadata)
        if table is not None:
            from lianjian.publish.publish import write_form_record

            write_form_record(self._path(context.asset_key, keys[0]).parent, formed)

    def load_input(self, context: dg.InputContext):
        if context.has_asset_partitions:
            years = [(k, p) for k in context.asset_partition_keys if (p := self._path(context.asset_key, k)).exists()]
            if not years:
                raise FileNotFoundError(
                    f"{context.asset_key.to_user_string()}: 所需年度尚未计算（no year of it has been computed yet）— 请先运行全部年度"
                )
            table = published_form(context.asset_key)
            lazy = pl.scan_parquet([p for _, p in years]) if table is None else scan_published_form(table, years)
        else:
            lazy = pl.scan_parquet(self._path(context.asset_key))
        if context.dagster_type.typing_type is pl.DataFrame:
            return lazy.collect()
        return lazy


def _moved_into_place(spill: Path, path: Path) -> None:
    """Move ``spill``, a file written as the year file ``path`` (``SpilledYears.add``), into place: an
    atomic rename, or a copy renamed into place when the two are on different file systems."""
    remove_stale_siblings(path)
    try:
        os.replace(spill, path)
    except OSError as err:
        if err.errno != errno.EXDEV:
            raise
        tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
        shutil.copyfile(spill, tmp)
        make_private(tmp)
        os.replace(tmp, path)


def _described(path: Path) -> tuple[int, pl.Schema, pl.DataFrame | None]:
    """What a year's materialization records of a year file not written from rows in hand (kept as it
    is, or a spill moved into place): its row count and schema (the file's footer) and its ``grade``
    column, if it has one."""
    scan = pl.scan_parquet(path)
    schema = scan.collect_schema()
    grades = scan.select("grade").collect() if "grade" in schema else None
    return scan.select(pl.len()).collect().item(), schema, grades


def published_form(key: dg.AssetKey) -> str | None:
    """The published table whose year files this asset's are, written in the published form (no
    ``year`` column inside: lianjian.publish.publish.PUBLISHED_FORM), or None."""
    from lianjian.publish.layers import upstream_key
    from lianjian.publish.publish import PUBLISHED_FORM

    return next((t for t in PUBLISHED_FORM if upstream_key(t) == tuple(key.path)), None)


def scan_published_form(table: str, years: list[tuple[str, Path]]) -> pl.LazyFrame:
    """The year files of an asset written in the published form, as one frame with the ``year`` column
    (from each file's year, where the file has none inside) and the contract's columns in order."""
    from lianjian.contract import PUBLISHED, RESTRICTED

    names = {**PUBLISHED, **RESTRICTED}[table].column_names
    frames = []
    for key, path in years:
        lf = pl.scan_parquet(path)
        if "year" not in lf.collect_schema():
            lf = lf.with_columns(pl.lit(int(key), pl.Int64).alias("year"))
        frames.append(lf.select(names))
    return pl.concat(frames, how="vertical")
