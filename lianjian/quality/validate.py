"""Run a staged table's GX suite once per content, and summarize the result.

GX 1.x on pandas is many times slower than Polars (and fingerprints the whole frame on every batch
fetch), so a table is validated only when its content is new: the summarized result is cached under
``<cache_dir>/<key>.json`` where the key hashes the table's content, the suite (expectations, GX
version, code version). A nightly run over unchanged sources pays only for hashing.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import time
from dataclasses import asdict, dataclass, field
from functools import cache
from pathlib import Path

import polars as pl

from lianjian.quality.suites import build_suite, suite_fingerprint, suite_name, to_gx_pandas

import great_expectations as gx  # noqa: E402  (suites sets GX_ANALYTICS_ENABLED first)

#: An 18-character identity-card number (region, birth date, sequence, check digit); also valid
#: as a Polars (Rust) regular expression.
ID_NUMBER_18 = r"[1-9]\d{5}(?:18|19|20)\d{2}(?:0[1-9]|1[0-2])(?:0[1-9]|[12]\d|3[01])\d{3}[\dXx]"
#: What sample texts mask: the 18-character form or any 15-digit run (the old card number).
ID_NUMBER = re.compile(ID_NUMBER_18 + r"|(?<!\d)\d{15}(?!\d)")

MAX_SAMPLES = 5


def mask_personal(value: object) -> str:
    """A sample value as text with anything that looks like an identity number masked."""
    if hasattr(value, "item") and not isinstance(value, (str, dict, list)):
        value = value.item()  # numpy scalar
    if value is None:
        return "（空）"
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, default=str)
    text = ID_NUMBER.sub(lambda m: m.group(0)[:2] + "*" * (len(m.group(0)) - 2), text)
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
        return asdict(self)

    @classmethod
    def from_json(cls, raw: dict) -> "SuiteResult":
        raw = dict(raw)
        raw["expectations"] = [ExpectationOutcome(**e) for e in raw["expectations"]]
        return cls(**raw)


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
    return gx.get_context(mode="ephemeral", project_config=config)


def _batch_definition(src: str):
    ctx = gx_context()
    try:
        ds = ctx.data_sources.get("staged")
    except (KeyError, ValueError, gx.exceptions.DataContextError):
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
    """The GX result as stored: sample values masked like everything else we write."""
    def walk(x):
        if isinstance(x, str):
            return ID_NUMBER.sub(lambda m: m.group(0)[:2] + "*" * (len(m.group(0)) - 2), x)
        if isinstance(x, dict):
            return {k: walk(v) for k, v in x.items()}
        if isinstance(x, list):
            return [walk(v) for v in x]
        return x

    return walk(json.loads(json.dumps(gx_json, ensure_ascii=False, default=str)))


def run_suite(src: str, frame: pl.DataFrame) -> SuiteResult:
    """Validate one staged frame with its suite (no cache)."""
    t0 = time.perf_counter()
    ctx = gx_context()
    suite = ctx.suites.add_or_update(build_suite(src))
    batch = _batch_definition(src).get_batch(batch_parameters={"dataframe": to_gx_pandas(frame)})
    res = batch.validate(suite, result_format={"result_format": "SUMMARY", "partial_unexpected_count": MAX_SAMPLES})
    outcomes = [_summarize(r, frame.height) for r in res.results]
    return SuiteResult(
        source=src,
        suite=suite_name(src),
        content_hash=content_hash(frame),
        rows=frame.height,
        success=all(o.success for o in outcomes),
        expectations=outcomes,
        seconds=time.perf_counter() - t0,
        gx_result=_scrub(res.to_json_dict()),
    )


def cache_key(src: str, frame: pl.DataFrame) -> str:
    return hashlib.sha256(f"{src}|{content_hash(frame)}|{suite_fingerprint(src)}".encode()).hexdigest()


def validate_cached(src: str, frame: pl.DataFrame, cache_dir: Path | None) -> SuiteResult:
    """``run_suite`` unless a result for the same content and suite is cached under ``cache_dir``."""
    if cache_dir is None:
        return run_suite(src, frame)
    t0 = time.perf_counter()
    path = Path(cache_dir) / f"{cache_key(src, frame)}.json"
    if path.exists():
        try:
            result = SuiteResult.from_json(json.loads(path.read_text(encoding="utf-8")))
        except (ValueError, TypeError, KeyError):
            result = None  # a damaged cache entry is recomputed
        if result is not None:
            result.cached = True
            result.seconds = time.perf_counter() - t0
            return result
    result = run_suite(src, frame)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    tmp.write_text(json.dumps(result.to_json(), ensure_ascii=False, default=str), encoding="utf-8")
    os.replace(tmp, path)
    return result
