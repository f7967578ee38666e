"""Load and validate the rules file (rules/default.yaml or --rules FILE).

The file's shape is declared here once (pydantic models, unknown keys forbidden); its values live only
in the file. ``Rules.settings(year)`` gives the settings in force for a year (base + that year's
override); ``Rules.year_table`` turns per-year values into a small frame to join on ``year``, so
transforms stay vectorized across years.
"""

from __future__ import annotations

import copy
import hashlib
from pathlib import Path
from typing import Callable, Literal

import polars as pl
import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from lianjian.contract import ENUMS
from lianjian.errors import FatalError


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Grades(_Strict):
    good: float
    fairly_good: float
    average: float

    @model_validator(mode="after")
    def _ordered(self):
        if not (100 >= self.good > self.fairly_good > self.average >= 0):
            raise ValueError("thresholds must satisfy 100 ≥ good > fairly_good > average ≥ 0")
        return self


class Window(_Strict):
    from_: int = Field(alias="from")
    to: int

    @model_validator(mode="after")
    def _ordered(self):
        if self.to < self.from_:
            raise ValueError(f"window ends ({self.to}) before it starts ({self.from_})")
        return self


class Talks(_Strict):
    must_talk_windows: dict[str, Window]

    @model_validator(mode="after")
    def _all_events(self):
        codes = set(ENUMS["event_type"].codes)
        missing, unknown = codes - set(self.must_talk_windows), set(self.must_talk_windows) - codes
        if missing or unknown:
            raise ValueError(f"must_talk_windows: missing {sorted(missing)}, unknown {sorted(unknown)}")
        return self


NonNeg = Field(ge=0)


class CaseDeductions(_Strict):
    flawed: float = NonNeg
    unqualified: float = NonNeg
    error: float = NonNeg
    cap: float = NonNeg


class IntegrityDeductions(_Strict):
    family_talk_missing: float = NonNeg
    cases: CaseDeductions
    violations: dict[str, float]

    @model_validator(mode="after")
    def _sanctions(self):
        unknown = set(self.violations) - set(ENUMS["sanction"].codes)
        if unknown:
            raise ValueError(f"violations: unknown sanctions {sorted(unknown)}")
        if any(v < 0 for v in self.violations.values()):
            raise ValueError("violations: points must be ≥ 0")
        return self


class Veto(_Strict):
    severities: list[str]
    sanctions: list[str]


class Weights3(_Strict):
    self: float = NonNeg
    peer: float = NonNeg
    department: float = NonNeg


class Integrity(_Strict):
    weights: Weights3
    peer_trim_from: int = Field(ge=3)
    deductions: IntegrityDeductions
    veto: Veto


class DutyItem(_Strict):
    item: str
    kind: Literal["count", "per_target", "per_period", "per_target_period", "obligations", "special_cases_verified"]
    activity_type: str | None = None
    required: float | None = Field(default=None, gt=0)
    period: Literal["half", "quarter"] | None = None
    target: (
        Literal[
            "other_leaders",
            "other_leaders_and_dept_heads",
            "supervised_depts",
            "supervised_dept_heads",
            "dept_members",
            "leaders_but_discipline_head",
        ]
        | None
    ) = None
    weight: float = Field(default=1, gt=0)

    @model_validator(mode="after")
    def _consistent(self):
        needs_activity = self.kind in ("count", "per_target", "per_period", "per_target_period")
        if needs_activity and self.activity_type not in ENUMS["activity_type"].codes:
            raise ValueError(f"{self.item}: activity_type must be one of the activity_type codes")
        if self.kind in ("count", "per_target") and self.required is None:
            raise ValueError(f"{self.item}: a {self.kind} item needs `required`")
        if self.kind in ("per_period", "per_target_period") and self.period is None:
            raise ValueError(f"{self.item}: a {self.kind} item needs `period`")
        if self.kind in ("per_target", "per_target_period") and self.target is None:
            raise ValueError(f"{self.item}: a {self.kind} item needs `target`")
        return self


class BaseWeights(_Strict):
    duty: float = NonNeg
    vote: float = NonNeg


class VotePoints(_Strict):
    good: float
    fairly_good: float
    average: float
    poor: float


class ScopeDeduction(_Strict):
    points: dict[str, float]
    cap: float = NonNeg


class ResponsibilityVeto(_Strict):
    scope_severities: list[str]


class Responsibility(_Strict):
    base_weights: BaseWeights
    vote_points: VotePoints
    duty_items: dict[Literal["party_group", "secretary", "leader", "dept_head", "discipline_group"], list[DutyItem]]
    scope_deduction: ScopeDeduction
    veto: ResponsibilityVeto


class Cases(_Strict):
    special_outcomes: dict[str, list[str]]
    public_complaint_is_special: bool

    @model_validator(mode="after")
    def _codes(self):
        cats, outs = set(ENUMS["case_category"].codes), set(ENUMS["case_outcome"].codes)
        for cat, values in self.special_outcomes.items():
            if cat not in cats:
                raise ValueError(f"special_outcomes: unknown case category {cat!r}")
            bad = set(values) - outs
            if bad:
                raise ValueError(f"special_outcomes.{cat}: unknown outcomes {sorted(bad)}")
        return self


class Triggers(_Strict):
    consecutive_poor_min_years: int = Field(ge=2)
    repeat_serious_severities: list[str]
    one_case_two_investigations_severities: list[str]
    basis: dict[str, str | dict[str, str]]


class Quality(_Strict):
    max_rejected_share: float = Field(ge=0, le=1)


class MonthlyNotice(_Strict):
    """R9 "三个规定" monthly notice: when a unit is 少报告 among its peers."""

    low_report_min_peers: int = Field(ge=1)
    low_report_share: float = Field(ge=0)


class ReviewLeads(_Strict):
    """R10 线索核查: the first year with leads and the reasons that count (codes of ``lead_reason``)."""

    leads_from_year: int = Field(ge=2000, le=2100)
    reasons: list[str]

    @model_validator(mode="after")
    def _codes(self):
        known = ENUMS["lead_reason"].codes
        bad = [r for r in self.reasons if r not in known]
        if bad:
            raise ValueError(f"reasons: unknown codes {bad} (known: {', '.join(known)})")
        if len(set(self.reasons)) != len(self.reasons):
            raise ValueError("reasons: a reason is listed twice")
        return self


class Settings(_Strict):
    """The settings in force for one year."""

    rounding_decimals: int = Field(ge=0, le=6)
    grades: Grades
    talks: Talks
    integrity: Integrity
    responsibility: Responsibility
    cases: Cases
    triggers: Triggers
    basis: dict[str, str]
    quality: Quality
    monthly_notice: MonthlyNotice
    review_leads: ReviewLeads

    @model_validator(mode="after")
    def _codes(self):
        sev, san = set(ENUMS["severity"].codes), set(ENUMS["sanction"].codes)
        lists = {
            "integrity.veto.severities": (self.integrity.veto.severities, sev),
            "integrity.veto.sanctions": (self.integrity.veto.sanctions, san),
            "responsibility.veto.scope_severities": (self.responsibility.veto.scope_severities, sev),
            "responsibility.scope_deduction.points": (list(self.responsibility.scope_deduction.points), sev),
            "triggers.repeat_serious_severities": (self.triggers.repeat_serious_severities, sev),
            "triggers.one_case_two_investigations_severities": (
                self.triggers.one_case_two_investigations_severities,
                sev,
            ),
        }
        for where, (values, allowed) in lists.items():
            bad = set(values) - allowed
            if bad:
                raise ValueError(f"{where}: unknown codes {sorted(bad)}")
        return self


def merge_settings(base: dict, over: dict) -> dict:
    """``over`` merged into ``base``: nested mappings merge, other values replace (per-year overrides)."""
    out = copy.deepcopy(base)
    for k, v in over.items():
        out[k] = merge_settings(out[k], v) if isinstance(v, dict) and isinstance(out.get(k), dict) else copy.deepcopy(v)
    return out


def _one_line(err: ValidationError) -> str:
    e = err.errors()[0]
    where = ".".join(str(p) for p in e["loc"]) or "(top level)"
    msg = e["msg"].removeprefix("Value error, ")
    return f"{where}: {msg}"


class Rules:
    """A validated rules file: ``version``, ``sha256``, ``settings(year)``."""

    def __init__(self, path: Path, raw: dict, text: bytes):
        self.path = path
        self.raw = raw
        self.sha256 = hashlib.sha256(text).hexdigest()
        self.version = str(raw["version"])
        body = {k: v for k, v in raw.items() if k not in ("version", "years")}
        self.base = self._validate(body, "")
        self.overrides: dict[int, dict] = {int(y): o or {} for y, o in (raw.get("years") or {}).items()}
        self._by_year = {y: self._validate(merge_settings(body, o), f"years.{y}.") for y, o in self.overrides.items()}

    def _validate(self, body: dict, prefix: str) -> Settings:
        try:
            return Settings.model_validate(body)
        except ValidationError as err:
            raise FatalError(f"规则文件 {self.path}: {prefix}{_one_line(err)} — 请按 rules/default.yaml 的格式改正该设置") from None

    def settings(self, year: int | None = None) -> Settings:
        return self._by_year.get(year, self.base) if year is not None else self.base

    def year_table(self, years: list[int], **getters: Callable[[Settings], object]) -> pl.DataFrame:
        """A frame with one row per year and one column per getter: join it on ``year``."""
        years = sorted(set(int(y) for y in years))
        data: dict[str, list] = {"year": years}
        for name, get in getters.items():
            data[name] = [get(self.settings(y)) for y in years]
        return pl.DataFrame(data, schema_overrides={"year": pl.Int64})

    def year_codes(self, years: list[int], column: str, get: Callable[[Settings], list[str]]) -> pl.LazyFrame:
        """(year, <column>) for every code of a per-year list setting (e.g. the vetoing sanctions):
        join or semi-join it on ``[year, column]``."""
        rows = [(y, code) for y in sorted(set(years)) for code in get(self.settings(y))]
        return pl.LazyFrame(rows, schema={"year": pl.Int64, column: pl.String}, orient="row")

    def year_points(self, years: list[int], column: str, get: Callable[[Settings], dict[str, float]]) -> pl.LazyFrame:
        """(year, <column>, _points) for a per-year code → points setting (e.g. deduction per sanction)."""
        rows = [(y, code, float(v)) for y in sorted(set(years)) for code, v in get(self.settings(y)).items()]
        return pl.LazyFrame(rows, schema={"year": pl.Int64, column: pl.String, "_points": pl.Float64}, orient="row")


def load_rules(path: str | Path) -> Rules:
    path = Path(path)
    try:
        text = path.read_bytes()
    except OSError as err:
        raise FatalError(f"规则文件 {path}: 无法读取（{err.strerror}）— 请检查 --rules 或 LIANJIAN_RULES 指向的文件") from None
    try:
        raw = yaml.safe_load(text.decode("utf-8"))
    except (yaml.YAMLError, UnicodeDecodeError) as err:
        line = getattr(getattr(err, "problem_mark", None), "line", None)
        where = f"第 {line + 1} 行" if line is not None else "文件"
        raise FatalError(f"规则文件 {path}: {where}不是有效的 YAML — 请改正语法") from None
    if not isinstance(raw, dict) or "version" not in raw:
        raise FatalError(f"规则文件 {path}: version: 缺少规则版本 — 请在文件开头写 version: \"…\"")
    unknown = set(raw) - set(Settings.model_fields) - {"version", "years"}
    if unknown:
        raise FatalError(f"规则文件 {path}: {sorted(unknown)[0]}: 未知的设置项 — 请删除或改正拼写")
    return Rules(path, raw, text)
