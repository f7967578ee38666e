"""Great Expectations suites generated from the one contract declaration (``lianjian.contract``).

Nothing here names a source's columns one by one: every staged table's suite is derived from
``SOURCES[src]`` — column presence and order, types, required values, enumerations, ranges, key
uniqueness, patterns, date order, conditional requirements and a row count above zero for the
required sources. One conditional requirement feeds a named check of its own
(``NAMED_CONDITIONAL``): a reason on every must_talk talk. (At most one active party secretary per
unit and year is a Polars rule: ``lianjian.quality.cross``.)

Each expectation carries ``meta``: ``family`` (columns, types, not_null, conditional_required, enum,
range, unique_key, pattern, row_count, date_order, cross_field), ``column``, ``check`` (the Dagster
check its result feeds) and ``zh`` (the Chinese sentence shown in the data docs).

GX 1.x has no Polars engine, so the frame GX validates (the distinct values of a staged table, see
``lianjian.quality.validate``) is converted to pandas with fixed, numpy-backed or pandas-nullable
dtypes (``to_gx_pandas``): Arrow-backed columns break GX's type expectations.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import importlib
import importlib.util
import json
import os
import types
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import polars as pl

from lianjian.contract import SOURCES, Column
from lianjian.lazy_packages import complete_lazy_package, imported_lazily, lazy_loader

# GX reads this before creating a context: no usage statistics leave a closed network.
os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")

# Great Expectations is imported where a suite is built, not with this module: importing it takes
# about 2.5 s, which a process that validates nothing — a step of another asset in a process of its
# own (the multiprocess executor), the webserver loading the definitions, `lianjian explain` — should
# not pay (docs/performance.md).
# pandas (the frame GX validates) likewise: only where a frame is converted for GX.
if TYPE_CHECKING:
    import great_expectations as gx
    import great_expectations.expectations as gxe
    import pandas as pd

#: Modules Great Expectations imports for expectations lianjian never uses: ``scipy.stats`` (for its
#: KS-test and KL-divergence expectations; it brings scipy's linear algebra, spatial, special-function
#: and optimisation packages with it): about 1 CPU-s of GX's 3 s of import; ``altair`` (the charts of
#: the KL-divergence expectation's Data Docs, drawn only inside its renderers; it brings Vega-Lite's
#: schema classes, jsonschema and narwhals): ≈ 0.2–0.4 CPU-s more. ``import_gx`` has them loaded at
#: their first use instead. (A package whose submodules other code imports by name — ``import
#: jsonschema.exceptions`` in altair — cannot be one: the import system reads the stand-in's
#: ``__path__`` to find the submodule.)
DEFERRED_MODULES = ("scipy.stats", "altair")

#: Optional packages GX binds when it is imported and that only its SQL data sources and SQL
#: execution engine use: SQLAlchemy (with the dialects GX's compatibility layer loads and the
#: PostgreSQL driver they import, ≈ 0.15–0.2 CPU-s). GX imports them with ``from sqlalchemy import
#: engine`` and the like, inside ``try`` blocks that bind a "not installed" marker on ImportError, so
#: a stand-in cannot defer them: in a process that has not imported them already (the suite worker)
#: ``import_gx`` has GX find them absent, as in an installation without GX's SQL extras — GX then
#: validates pandas frames as before, and ``import sqlalchemy`` anywhere else imports the real
#: package. A process that has them (Dagster's, where the suites' step and the publish gate run when
#: the worker did not) gives them to GX as before. SQLAlchemy first: the others are its drivers.
ABSENT_FOR_GX = ("sqlalchemy", "psycopg2")


#: Packages of Great Expectations whose ``__init__`` imports a whole family of submodules that a suite
#: mostly never uses: every core expectation (≈ 60 classes; lianjian's suites make ten, ``GX_USED``),
#: every fluent data source (Spark, SQL, Snowflake, Databricks, Fabric, the cloud file stores…; lianjian's
#: context has one pandas source), and GX's renderers and the Jinja page views of its own Data Docs
#: (lianjian writes its own, lianjian/quality/docs.py), and every metric class of GX's newer metrics API
#: (pydantic v2 models, ≈ 5 ms each to create; only ``Batch.compute_metrics`` looks them up, which
#: lianjian does not call): ≈ 0.4–0.6 CPU-s of GX's import. ``import_gx``
#: has each of them imported as a lazy package (lianjian/lazy_packages.py): its ``__init__`` without the
#: ``from … import`` statements whose names nothing else in it reads, each such name imported from its
#: submodule at its first use (PEP 562: the module's ``__getattr__``), so ``from pkg import Name``, a
#: class base and ``pkg.Name`` get the real object, unlike a stand-in (``DEFERRED_MODULES``). A parent
#: before its child: ``great_expectations.expectations`` imports every name of ``.core``.
LAZY_PACKAGES = (
    "great_expectations.expectations",
    "great_expectations.expectations.core",
    "great_expectations.datasource.fluent",
    "great_expectations.render",
    "great_expectations.render.renderer",
    "great_expectations.metrics",
)

#: The names of ``LAZY_PACKAGES`` lianjian uses, imported with GX (while its classes are created the
#: cheaper way, ``_model_fields_copied_directly``): the expectation classes ``expectations_for`` makes
#: (it reaches them only through ``declared_names``, so this is the one list of them),
#: and the pandas data source, which registers ``add_pandas`` (``validate._batch_definition``) with the
#: context's data source manager as its class is created. GX registers an expectation, a data source
#: type, a metric class or a renderer when its class is created: a name not imported is not
#: registered. Where GX looks an expectation type or a metric class up by name (``_REGISTRIES``), the
#: rest of the package is imported when GX asks for one it does not have; a data source of another
#: type, which lianjian's context never holds, is unknown to GX's manager (its "not found" error, never
#: a different result) until ``complete_lazy_package`` imports the package whole.
GX_USED = {
    "great_expectations.expectations": (
        "ExpectTableColumnsToMatchOrderedList",
        "ExpectTableRowCountToBeBetween",
        "ExpectColumnValuesToBeInTypeList",
        "ExpectColumnValuesToNotBeNull",
        "ExpectColumnValuesToBeInSet",
        "ExpectColumnValuesToBeBetween",
        "ExpectColumnValuesToMatchRegex",
        "ExpectColumnValuesToBeUnique",
        "ExpectCompoundColumnsToBeUnique",
        "ExpectColumnPairValuesAToBeGreaterThanB",
    ),
    "great_expectations.datasource.fluent": ("PandasDatasource",),
}


#: GX's registries of classes by name, each filled as a class is created, and the lazy packages whose
#: names register there: (module, the registry's owner in it — the module itself when None, else a
#: class of it —, the registry's attribute, the packages). The expectation types: an expectation
#: configuration made into an expectation, a validator's ``expect_…`` method; the metric classes of
#: GX's newer metrics API: ``Batch.compute_metrics``.
_REGISTRIES = (
    (
        "great_expectations.expectations.registry",
        None,
        "_registered_expectations",
        ("great_expectations.expectations", "great_expectations.expectations.core"),
    ),
    ("great_expectations.metrics.metric", "MetaMetric", "_registry", ("great_expectations.metrics",)),
)


class _CompletedOnMiss(dict):
    """One of GX's registries (``_REGISTRIES``) that imports the rest of its lazy packages
    (``complete_lazy_package``) before it answers a name it does not have (``[]``, ``get``) or lists
    what it has (``items``, ``keys``, ``values``): it answers as if GX had imported the packages
    whole. Registering a class (``in``, ``[] =``) and counting them are as before."""

    def __init__(self, registry: dict, packages: tuple[str, ...]) -> None:
        super().__init__(registry)
        self.packages = packages

    def _complete(self) -> None:
        for package in self.packages:
            complete_lazy_package(package)

    def __missing__(self, name):
        self._complete()
        if dict.__contains__(self, name):
            return dict.__getitem__(self, name)
        raise KeyError(name)

    def get(self, name, default=None):
        if name not in self:
            self._complete()
        return super().get(name, default)

    def items(self):
        self._complete()
        return super().items()

    def keys(self):
        self._complete()
        return super().keys()

    def values(self):
        self._complete()
        return super().values()


def _registries_completed_on_miss() -> None:
    """Each of ``_REGISTRIES`` whose packages are lazy made a ``_CompletedOnMiss`` of what it holds."""
    for module, owner, attribute, packages in _REGISTRIES:
        holder = importlib.import_module(module)
        holder = holder if owner is None else getattr(holder, owner)
        registry = getattr(holder, attribute)
        if type(registry) is dict and any(lazy_loader(p) is not None for p in packages):
            setattr(holder, attribute, _CompletedOnMiss(registry, packages))


class _Deferred(types.ModuleType):
    """A stand-in registered under a module's name until something looks up one of its attributes:
    then the module is imported for real (in ``sys.modules`` from then on) and the attribute taken from
    it. ``import altair as alt`` and ``from scipy import stats`` get the stand-in without executing
    anything (the import system only reads its ``__spec__``, None here); ``alt.Chart`` or
    ``stats.entropy`` imports the module whole."""

    def __getattr__(self, attr: str):  # called only for what the stand-in does not have itself
        if attr.startswith("__"):  # the import system's and tools' probes: not a use of the module
            raise AttributeError(attr)
        return getattr(_import_deferred(self.__name__), attr)


def _import_deferred(name: str):
    import sys

    if isinstance(sys.modules.get(name), _Deferred):
        del sys.modules[name]
    module = importlib.import_module(name)  # sets it on its parent package too
    return module


@contextlib.contextmanager
def _model_fields_copied_directly() -> Iterator[None]:
    """While the block runs: ``copy.deepcopy`` copies pydantic v1's field objects (``ModelField``,
    ``FieldInfo``, ``Validator``) by a copier of their own.

    Each pydantic v1 model class deep-copies its bases' fields when it is created, and Great
    Expectations creates ≈ 370 model classes when it is imported: ≈ 3,800 fields copied, a fifth of
    the import's CPU (≈ 0.3 CPU-s), most of it ``copy``'s generic path for an object with
    ``__slots__`` (its ``__reduce_ex__``, a state tuple and dictionary built and copied, each slot's
    name copied). These classes have no copy method of their own and no ``__dict__``: the copier does
    what that path does — a new object of the class, registered in the memo first, each slot that is
    set given a deep copy of its value through the same memo — without the state built in between;
    a value of a type that ``copy`` returns as it is (str, int, None, functions, …) is set as it is.
    The copies are the same objects, shared the same way, as ``copy``'s own; after the block ``copy``
    is as before."""
    import copy
    import copyreg

    try:
        from pydantic.v1.class_validators import Validator
        from pydantic.v1.fields import FieldInfo, ModelField
    except ImportError:  # no pydantic v1: nothing to copy faster
        yield
        return
    atomic = frozenset(t for t, copier in copy._deepcopy_dispatch.items() if copier is copy._deepcopy_atomic)
    deepcopy = copy.deepcopy

    def copier_of(cls: type):
        slots = tuple(copyreg._slotnames(cls))

        def copied(x, memo):
            y = cls.__new__(cls)
            memo[id(x)] = y
            for name in slots:
                try:
                    value = getattr(x, name)
                except AttributeError:  # a slot not set: not set in the copy either
                    continue
                setattr(y, name, value if type(value) in atomic else deepcopy(value, memo))
            return y

        return copied

    classes = [
        cls
        for cls in (ModelField, FieldInfo, Validator)
        if cls not in copy._deepcopy_dispatch
        and not hasattr(cls, "__deepcopy__")
        and cls.__reduce_ex__ is object.__reduce_ex__
        and cls.__getstate__ is object.__getstate__
        and cls.__dictoffset__ == 0
    ]
    copy._deepcopy_dispatch.update({cls: copier_of(cls) for cls in classes})
    try:
        with _validators_made_once():
            yield
    finally:
        for cls in classes:
            copy._deepcopy_dispatch.pop(cls, None)


@contextlib.contextmanager
def _validators_made_once() -> Iterator[None]:
    """While the block runs: pydantic v1 makes the generic caller of a validator function once.

    pydantic v1 prepares every field of every model class it creates by wrapping each of the field's
    validator functions in a generic caller (``make_generic_validator``: the function's signature
    read by ``inspect``, a closure over it): ≈ 2,300 times while GX is imported, for a few hundred
    distinct functions (``str_validator`` and the like). The caller depends only on the function; a
    field's copy in a subclass already shares its base's callers (``copy`` returns functions as they
    are). So the caller of a plain function is made once and given again; any other callable
    (``functools.partial``, a callable object) is wrapped by pydantic as before. pydantic's function is
    back after the block."""
    import types

    try:
        from pydantic.v1 import class_validators, fields
    except ImportError:
        yield
        return
    pydantic_own = class_validators.make_generic_validator
    made: dict[int, tuple] = {}

    def make_generic_validator(validator):
        if type(validator) is not types.FunctionType:
            return pydantic_own(validator)
        found = made.get(id(validator))
        if found is None or found[0] is not validator:  # the function itself is kept: its id is not reused
            found = made[id(validator)] = (validator, pydantic_own(validator))
        return found[1]

    owners = [m for m in (class_validators, fields) if m.make_generic_validator is pydantic_own]
    for module in owners:
        module.make_generic_validator = make_generic_validator
    try:
        yield
    finally:
        for module in owners:
            module.make_generic_validator = pydantic_own


def import_gx():
    """``great_expectations``, imported with ``DEFERRED_MODULES`` left to load when first used and
    ``ABSENT_FOR_GX`` not loaded for it: each deferred module is registered (in ``sys.modules`` and on
    its parent package, where GX's ``from scipy import stats`` finds it) as a stand-in (``_Deferred``)
    that imports the module at the first attribute looked up on it, so an expectation that needs it
    still gets it whole; when the process has not imported SQLAlchemy, each of ``ABSENT_FOR_GX`` it
    has not imported is marked absent (None in ``sys.modules``: its import raises ImportError) while
    GX is imported, and unmarked after.
    The packages of ``LAZY_PACKAGES`` are imported lazily, the names of ``GX_USED`` with GX, and GX's
    registries of classes by name completed on a miss (``_registries_completed_on_miss``).
    Every import of GX in lianjian goes through here."""
    import sys

    if "great_expectations" not in sys.modules:
        for name in DEFERRED_MODULES:
            if name in sys.modules or importlib.util.find_spec(name) is None:  # imports the parent package (scipy's is small)
                continue
            sys.modules[name] = stand_in = _Deferred(name)
            parent, _, child = name.rpartition(".")
            if parent:
                setattr(importlib.import_module(parent), child, stand_in)
        # the driver with SQLAlchemy: a process that has SQLAlchemy gives GX both, as before
        absent = [] if ABSENT_FOR_GX[0] in sys.modules else [name for name in ABSENT_FOR_GX if name not in sys.modules]
        sys.modules.update(dict.fromkeys(absent))
        try:
            with imported_lazily(LAZY_PACKAGES), _model_fields_copied_directly():
                import great_expectations  # noqa: F401

                for package, names in GX_USED.items():
                    module = importlib.import_module(package)
                    for name in names:
                        getattr(module, name)
                _registries_completed_on_miss()
        finally:
            for name in absent:
                if name in sys.modules and sys.modules[name] is None:
                    del sys.modules[name]
    import great_expectations

    return great_expectations


#: GX (pandas) type names accepted for each contract kind, as ``to_gx_pandas`` produces them.
TYPE_LISTS: dict[str, list[str]] = {
    "str": ["str"],  # object column of Python str: GX checks each value
    "enum": ["str"],
    "int": ["Int64Dtype"],  # pandas nullable Int64
    "dec": ["float64"],
    "date": ["datetime64[ns]"],
    "bool": ["BooleanDtype"],  # pandas nullable boolean
}

KIND_ZH = {"str": "文本", "enum": "枚举", "int": "整数", "dec": "小数", "date": "日期", "bool": "是/否"}

FAMILY_ZH = {
    "columns": "列齐全",
    "types": "类型",
    "not_null": "必填",
    "conditional_required": "条件必填",
    "enum": "枚举取值",
    "range": "取值范围",
    "unique_key": "主键唯一",
    "pattern": "格式",
    "row_count": "行数",
    "date_order": "日期先后",
    "cross_field": "跨字段规则",
}

#: Bump when the way results are computed or summarized changes: invalidates the result cache.
SUITE_CODE_VERSION = "3"  # 3: GX over distinct values per column group, keys in Polars (issue 6)


def suite_name(src: str) -> str:
    return f"staged.{src}"


def _label(c: Column) -> str:
    return f"{c.zh}（{c.name}）"


def _meta(family: str, zh: str, column: str | None = None, check: str | None = None) -> dict:
    return {"family": family, "zh": zh, "column": column, "check": check}


def _condition(spec: dict[str, list[str]], negate: bool):
    """A GX row condition from a contract required_if / required_unless mapping."""
    import_gx()
    from great_expectations.expectations.row_conditions import Column as GxColumn

    (other, codes), *rest = spec.items()
    if rest:
        raise ValueError("required_if/required_unless with more than one column is not supported")
    col = GxColumn(other)
    return col.is_not_in(list(codes)) if negate else col.is_in(list(codes))


#: Conditional requirements that feed a named check instead of the suite check: (source, column) -> check.
NAMED_CONDITIONAL = {("talks", "reason"): "must_talk_has_reason"}


def declared_names(package: str) -> types.SimpleNamespace:
    """The classes ``GX_USED`` declares for ``package`` (GX imported), and no other name of it: the
    suites make their expectations from this namespace, so ``GX_USED`` is the one list of the classes
    they make — a class used but not declared there (it would be imported only after GX's import,
    lazily) fails every suite's build with AttributeError instead."""
    import_gx()
    module = importlib.import_module(package)
    return types.SimpleNamespace(**{name: getattr(module, name) for name in GX_USED[package]})


def expectations_for(src: str) -> list[gxe.Expectation]:
    """Every expectation of one staged source, derived from its contract declaration."""
    gxe = declared_names("great_expectations.expectations")
    s = SOURCES[src]
    staged = [c for c in s.columns if not c.personal]
    names = [c.name for c in staged]
    out: list[gxe.Expectation] = [
        gxe.ExpectTableColumnsToMatchOrderedList(
            column_list=names, meta=_meta("columns", f"列与契约一致且顺序相同：{', '.join(names)}")
        )
    ]
    if s.required:
        out.append(
            gxe.ExpectTableRowCountToBeBetween(
                min_value=1, meta=_meta("row_count", f"必需数据源“{s.zh}”至少有一行")
            )
        )
    for c in staged:
        out.append(
            gxe.ExpectColumnValuesToBeInTypeList(
                column=c.name,
                type_list=TYPE_LISTS[c.kind],
                meta=_meta("types", f"{_label(c)}的类型为{KIND_ZH[c.kind]}", c.name),
            )
        )
    for c in staged:
        if c.required:
            out.append(
                gxe.ExpectColumnValuesToNotBeNull(column=c.name, meta=_meta("not_null", f"{_label(c)}不为空", c.name))
            )
        for spec, negate, word in ((c.required_if, False, "为"), (c.required_unless, True, "不为")):
            if spec:
                (other, codes), *_ = spec.items()
                oc = s.column(other)
                labels = "、".join(oc.enum.label(x) if oc.enum else x for x in codes)
                out.append(
                    gxe.ExpectColumnValuesToNotBeNull(
                        column=c.name,
                        row_condition=_condition(spec, negate),
                        meta=_meta(
                            "conditional_required",
                            f"{_label(oc)}{word}{labels}时，{_label(c)}不为空",
                            c.name,
                            NAMED_CONDITIONAL.get((src, c.name)),
                        ),
                    )
                )
        if c.enum is not None:
            out.append(
                gxe.ExpectColumnValuesToBeInSet(
                    column=c.name,
                    value_set=c.enum.codes,
                    meta=_meta("enum", f"{_label(c)}取值为契约列出的代码之一（{len(c.enum.codes)} 个）", c.name),
                )
            )
        if c.min is not None or c.max is not None:
            lo = "" if c.min is None else f"≥ {c.min:g}"
            hi = "" if c.max is None else f"≤ {c.max:g}"
            out.append(
                gxe.ExpectColumnValuesToBeBetween(
                    column=c.name,
                    min_value=c.min,
                    max_value=c.max,
                    meta=_meta("range", f"{_label(c)}{' 且 '.join(x for x in (lo, hi) if x)}", c.name),
                )
            )
        if c.pattern:
            out.append(
                gxe.ExpectColumnValuesToMatchRegex(
                    column=c.name, regex=c.pattern, meta=_meta("pattern", f"{_label(c)}符合格式 {c.pattern}", c.name)
                )
            )
    key_zh = "+".join(_label(s.column(k)) for k in s.key)
    if len(s.key) == 1:
        out.append(gxe.ExpectColumnValuesToBeUnique(column=s.key[0], meta=_meta("unique_key", f"{key_zh}不重复", s.key[0])))
    else:
        out.append(
            gxe.ExpectCompoundColumnsToBeUnique(
                column_list=list(s.key), meta=_meta("unique_key", f"主键 {key_zh} 不重复", ",".join(s.key))
            )
        )
    for earlier, later in s.date_order:
        out.append(
            gxe.ExpectColumnPairValuesAToBeGreaterThanB(
                column_A=later,
                column_B=earlier,
                or_equal=True,
                ignore_row_if="either_value_is_missing",
                meta=_meta(
                    "date_order", f"{_label(s.column(later))}不早于{_label(s.column(earlier))}", f"{earlier},{later}"
                ),
            )
        )
    return out


def build_suite(src: str) -> gx.ExpectationSuite:
    """The GX suite of one staged source (not registered with any context)."""
    gx = import_gx()

    return gx.ExpectationSuite(
        name=suite_name(src),
        expectations=expectations_for(src),
        meta={"source": src, "zh": SOURCES[src].zh, "generated_from": "lianjian.contract"},
    )


@functools.cache
def _suite_code() -> str:
    """sha256 of the code that builds and runs the suites (this module and ``validate.py``)."""
    here = Path(__file__)
    return hashlib.sha256(here.read_bytes() + here.with_name("validate.py").read_bytes()).hexdigest()


def suite_fingerprint(src: str) -> str:
    """A hash of what a suite's result depends on besides the data (cache key part): the source's
    contract declaration (``expectations_for`` derives every expectation from it), the code that
    builds and runs the suites, ``SUITE_CODE_VERSION`` and GX's installed version.

    Computed without importing Great Expectations (≈ 3 CPU-s): a run whose every staged table is in
    the cache does not import it at all (docs/performance.md, "Fixed cost of a run")."""
    text = json.dumps(
        {"v": SUITE_CODE_VERSION, "gx": _gx_version(), "code": _suite_code(), "source": repr(SOURCES[src])},
        sort_keys=True,
    )
    return hashlib.sha256(text.encode()).hexdigest()


@functools.cache
def _gx_version() -> str:
    """Great Expectations' installed version, looked up once per process (each lookup scans the
    installed packages' metadata: ≈ 8 ms, eleven times in each of the two steps that ask)."""
    from importlib.metadata import version

    return version("great_expectations")


# --- Polars → pandas for GX ----------------------------------------------------------------------


def _to_pandas(series: pl.Series) -> pd.Series | pd.api.extensions.ExtensionArray:
    import pandas as pd

    dt = series.dtype
    mask = series.is_null().to_numpy()
    if dt == pl.Int64:
        return pd.arrays.IntegerArray(series.fill_null(0).to_numpy(), mask)
    if dt == pl.Boolean:
        return pd.arrays.BooleanArray(series.fill_null(False).to_numpy(), mask)
    if dt in (pl.String, pl.Categorical) or isinstance(dt, pl.Enum):
        return pd.Series(series.cast(pl.String).to_numpy(), dtype=object)
    if dt == pl.Date:
        return series.cast(pl.Datetime("ns")).to_pandas(use_pyarrow_extension_array=False)
    if dt == pl.Float64:
        return series.to_pandas(use_pyarrow_extension_array=False)
    # anything else keeps a dtype of its own, so the type expectation reports it
    return pd.Series(series.to_list(), dtype=object) if dt.is_nested() else series.to_pandas()


def to_gx_pandas(frame: pl.DataFrame) -> pd.DataFrame:
    """A pandas frame with the dtypes ``TYPE_LISTS`` expects for correctly typed Polars columns."""
    import pandas as pd

    return pd.DataFrame({name: pd.Series(_to_pandas(frame[name])).reset_index(drop=True) for name in frame.columns})
