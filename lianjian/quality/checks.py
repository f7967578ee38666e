"""The data-quality checks over the staged layer: their catalogue and one plain function that runs
them all (``run_quality``), testable without Dagster. ``checks/quality.py`` turns the outcomes into
Dagster asset-check results.

Severity (docs/contract.md "What it reads": a row that breaks the contract never stops the run). ERROR checks are
blocking — a failure stops publishing; a rule's (checked right after staging) stops the derived and
assessed assets too, a suite's (checked beside the scoring, ``CheckDef.by_suite``) only publishing
(docs/data_quality.md, "Blocking") — and are kept for what
means the whole load is wrong, which no single bad row can cause: a staged table that does not
match its contract (every expectation of a suite is enforced row by row by the quarantine, so only a
broken load or a required source with no accepted row fails it), two or more ACTIVE party
secretaries in one unit and year (nobody can tell which one R1 and R3 assess), and, in
checks/conservation.py, rows that do not add up. Everything one row can cause is a rejection in the
quarantine, or a WARN check here: recorded, shown in the data docs and the summary, never blocking.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import polars as pl

from lianjian.contract import SOURCES
from lianjian.quality import cross
from lianjian.quality.validate import SuiteResult, validate_cached

ERROR, WARN = "ERROR", "WARN"

#: The checks computed in Polars over the staged tables (the rejected shares aside): run at once,
#: after staging. The others are fed by the Great Expectations suites (``CheckDef.by_suite``).
POLARS_CHECKS = (
    "one_party_secretary_per_unit_year",
    "supervisors_are_leadership",
    "dept_heads_and_supervisors_active_in_roster",
    "reviewed_in_roster",
    "roster_years_not_in_future",
    "rejected_records_without_id_numbers",
)
#: Which checks ``run_quality`` runs: all of them, those fed by the suites, or the rest (the rules).
ALL, SUITES, RULES = "all", "suites", "rules"


def current_year() -> int:
    """The year in progress in Asia/Shanghai: the last year partition (pipelines/partitions.py)."""
    return datetime.now(ZoneInfo("Asia/Shanghai")).year


@dataclass(frozen=True)
class CheckDef:
    name: str
    table: str  # the staged table it is attached to (asset key ["staged", table])
    severity: str
    zh: str
    en: str
    reads: tuple[str, ...] = ()  # the staged tables it reads besides its own


    @property
    def blocking(self) -> bool:
        return self.severity == ERROR

    @property
    def by_suite(self) -> bool:
        """Fed by a staged table's Great Expectations suite (the suite itself, or a named expectation
        inside it): run before publishing, beside the scoring, not before it (``SUITES``)."""
        return self.name.endswith("_contract_suite") or not (self.name.endswith("_rejected_share") or self.name in POLARS_CHECKS)

    @property
    def description(self) -> str:
        return f"{self.zh} — {self.en}"


def catalogue() -> list[CheckDef]:
    """Every quality check, in a stable order."""
    out: list[CheckDef] = []
    for src, s in SOURCES.items():
        out.append(
            CheckDef(
                f"{src}_contract_suite",
                src,
                ERROR,
                f"“{s.zh}”暂存表符合数据契约（GX 套件 staged.{src}：列、类型、必填、枚举、范围、主键、格式、行数）",
                f"staged {src} matches the contract (GX suite staged.{src})",
            )
        )
        out.append(
            CheckDef(
                f"{src}_rejected_share",
                src,
                WARN,
                f"“{s.zh}”拒收行占读取行的比例不超过规则文件 quality.max_rejected_share",
                f"share of {src} rows quarantined stays under quality.max_rejected_share",
                reads=("ingest_report", "rejected_records"),
            )
        )
    out += [
        CheckDef(
            "one_party_secretary_per_unit_year",
            "personnel",
            ERROR,
            "每个单位每年至多一名在岗党组书记（离退休、调离人员的党组书记标记不计；否则无法确定党组书记谈话与考核对象）",
            "at most one ACTIVE party secretary per unit and year (a retired or transferred person still flagged is ignored)",
        ),
        CheckDef(
            "supervisors_are_leadership",
            "departments",
            WARN,
            "分管院领导均为当年名册中（任一单位）的班子成员（考核按数据所列的分管领导计算）",
            "every department supervisor is a leadership member in that year's roster of any unit (scoring uses the supervisor as given)",
            reads=("personnel",),
        ),
        CheckDef(
            "dept_heads_and_supervisors_active_in_roster",
            "departments",
            WARN,
            "部门负责人与分管院领导均为当年本单位名册中的在岗人员",
            "every department head and supervisor is active in that year's roster of the same unit",
            reads=("personnel",),
        ),
        CheckDef(
            "must_talk_has_reason",
            "talks",
            WARN,
            "每次六必谈都写明谈话事由（否则无法对应人事事件）",
            "every must_talk talk has a reason",
        ),
        CheckDef(
            "roster_years_not_in_future",
            "personnel",
            WARN,
            "名册年度不晚于当前年度（以后的年度尚未开始，不予考核）",
            "no roster year after the current year (later years are not assessed yet)",
        ),
        CheckDef(
            "reviewed_in_roster",
            "reviews",
            WARN,
            "每个被评估人都在当年名册中（否则该评分不计入评估）",
            "every reviewed person is in that year's roster",
            reads=("personnel",),
        ),
        CheckDef(
            "rejected_records_without_id_numbers",
            "rejected_records",
            WARN,
            "拒收记录中没有未遮蔽的身份证号（读取时已遮蔽；发布前的 no_identity_numbers 检查会阻止发布）",
            "no unmasked identity number in the quarantine (masked when read; publishing's no_identity_numbers check stops a publish)",
        ),
    ]
    return out


@dataclass
class CheckOutcome:
    check: CheckDef
    passed: bool
    unexpected_count: int
    total: int
    share: float
    samples: list[str]
    failures: list[dict] = field(default_factory=list)  # failed expectations (GX checks)
    cached: bool | None = None
    seconds: float = 0.0


@dataclass
class QualityRun:
    outcomes: list[CheckOutcome]
    suites: dict[str, SuiteResult]
    seconds: float
    docs_index: Path | None = None

    def outcome(self, name: str) -> CheckOutcome:
        return next(o for o in self.outcomes if o.check.name == name)

    @property
    def blocking_failures(self) -> list[CheckOutcome]:
        return [o for o in self.outcomes if not o.passed and o.check.blocking]


def _from_expectations(check: CheckDef, result: SuiteResult, expectations) -> CheckOutcome:
    failed = [e for e in expectations if not e.success]
    samples = [f"{e.column or ''}: {s}".lstrip(": ") for e in failed for s in e.samples][:5]
    return CheckOutcome(
        check=check,
        passed=not failed,
        unexpected_count=sum(e.unexpected_count for e in failed),
        total=result.rows,
        share=max((e.share for e in failed), default=0.0),
        samples=samples,
        failures=[
            {"family": e.family, "column": e.column, "zh": e.zh, "unexpected_count": e.unexpected_count, "share": e.share}
            for e in failed
        ],
        cached=result.cached,
        seconds=result.seconds,
    )


def _from_outcome(check: CheckDef, o: cross.Outcome, seconds: float) -> CheckOutcome:
    return CheckOutcome(
        check=check,
        passed=o.unexpected_count == 0,
        unexpected_count=o.unexpected_count,
        total=o.total,
        share=o.share,
        samples=o.samples if o.unexpected_count else [],
        seconds=seconds,
    )


def _empty(src: str) -> pl.DataFrame:
    return SOURCES[src].staged_frame()


def _eager(frame: pl.LazyFrame | pl.DataFrame) -> pl.DataFrame:
    return frame.collect() if isinstance(frame, pl.LazyFrame) else frame


def run_quality(
    staged: dict[str, pl.LazyFrame | pl.DataFrame],
    rejected_records: pl.LazyFrame | pl.DataFrame,
    ingest_report: pl.LazyFrame | pl.DataFrame,
    *,
    max_rejected_share: float,
    cache_dir: Path | None = None,
    digests: dict[str, str] | None = None,
    files: dict[str, Path] | None = None,
    part: str = ALL,
) -> QualityRun:
    """Run every check of ``catalogue()`` over the staged tables (absent sources count as empty).
    ``digests``: the content key of a staged table known without reading it (its file's SHA-256 as
    staging recorded it), so a suite whose result is cached for that content reads nothing.
    ``files``: the Parquet file a lazy staged table scans (``gate.staged_frames``), whose footer gives
    its row and null counts (``validate.run_suite``).
    ``part``: ``ALL``, or only the checks fed by the suites (``SUITES``) or only the others (``RULES``:
    no suite is run, and the result lists no suite)."""
    t0 = time.perf_counter()
    frames = {src: _empty(src) if staged.get(src) is None else staged[src] for src in SOURCES}
    digests = digests or {}
    # one table in memory at a time (read only when its suite must run, or its content key is not
    # known): the cross rules below read the (lazy) inputs themselves
    suites = (
        {}
        if part == RULES
        else {
            src: validate_cached(
                src, frame if src in digests else _eager(frame), cache_dir, digest=digests.get(src), file=(files or {}).get(src)
            )
            for src, frame in frames.items()
        }
    )
    polars_checks = {
        "one_party_secretary_per_unit_year": lambda: cross.one_active_party_secretary(frames["personnel"]),
        "supervisors_are_leadership": lambda: cross.supervisors_are_leadership(frames["departments"], frames["personnel"]),
        "dept_heads_and_supervisors_active_in_roster": lambda: cross.dept_heads_and_supervisors_active_in_roster(
            frames["departments"], frames["personnel"]
        ),
        "reviewed_in_roster": lambda: cross.reviewed_in_roster(frames["reviews"], frames["personnel"]),
        "roster_years_not_in_future": lambda: cross.roster_years_not_after(frames["personnel"], current_year()),
        "rejected_records_without_id_numbers": lambda: cross.rejected_records_without_id_numbers(rejected_records),
    }
    outcomes: list[CheckOutcome] = []
    for check in catalogue():
        if (part == SUITES and not check.by_suite) or (part == RULES and check.by_suite):
            continue
        if check.name.endswith("_contract_suite"):
            r = suites[check.table]
            outcomes.append(_from_expectations(check, r, r.for_check(None)))
        elif check.name.endswith("_rejected_share"):
            t = time.perf_counter()
            o = cross.rejected_share(ingest_report, rejected_records, check.table)
            out = _from_outcome(check, o, time.perf_counter() - t)
            out.passed = o.share <= max_rejected_share
            out.samples = o.samples
            outcomes.append(out)
        elif check.name in polars_checks:
            t = time.perf_counter()
            outcomes.append(_from_outcome(check, polars_checks[check.name](), time.perf_counter() - t))
        else:  # a named cross-field expectation inside a GX suite
            r = suites[check.table]
            exps = r.for_check(check.name)
            if not exps:
                raise LookupError(f"check {check.name}: no expectation of suite {r.suite} feeds it")
            outcomes.append(_from_expectations(check, r, exps))
    return QualityRun(outcomes=outcomes, suites=suites, seconds=time.perf_counter() - t0)
