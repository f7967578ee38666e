"""Load and validate the rules file (rules/default.yaml or --rules FILE).

The file's shape is declared here once (pydantic models, unknown keys forbidden); its values live only
in the file. ``Rules.settings(year)`` gives the settings in force for a year (base + that year's
override); ``Rules.year_table`` turns per-year values into a small frame to join on ``year``, so
transforms stay vectorized across years.

Validation is per year: the base settings, then each year's override merged into them, so a mistake
only in ``years: {2026: …}`` is named as ``years.2026.<setting>``. Besides types and unknown keys it
refuses the values that would silently wreck results (exit 2, one line naming the setting):
weights of a weighted mean that do not sum to 1 (``integrity.weights``,
``responsibility.base_weights``; within ``WEIGHT_SUM_TOLERANCE``), duty item weights ≤ 0 (they are
relative: renormalized over the items present, so only their ratios matter), vote points outside
0–100 or out of the grades' order, negative deductions or caps, quotas (``required``) that are not
whole numbers ≥ 1, grade thresholds out of order, windows that end before they start, unknown codes.
"""

from __future__ import annotations

import copy
import datetime as dt
import hashlib
import re
from pathlib import Path
from typing import Callable, Literal

import polars as pl
import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from lianjian.contract import ENUMS
from lianjian.errors import FatalError
from lianjian.files import yaml_safe_loader


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


#: How far a set of weights may sum from 1 (rounding of decimal fractions written in YAML).
WEIGHT_SUM_TOLERANCE = 1e-9


def _sums_to_one(weights: dict[str, float]) -> None:
    """Weights of a weighted mean whose formula in docs/rules.md multiplies by them as written (R3's base
    score) or whose defaults sum to 1 (R2's review score, renormalized over the components present)
    must sum to 1: {duty: 6, vote: 4} would grade everyone 好, all zeros nobody."""
    total = sum(weights.values())
    if abs(total - 1) > WEIGHT_SUM_TOLERANCE:
        names = " + ".join(weights)
        raise ValueError(f"权重之和须为 1，现为 {total:g}（{names}；weights must sum to 1）")


class Weights3(_Strict):
    """R2.1 review weights (each ≥ 0, summing to 1)."""

    self: float = NonNeg
    peer: float = NonNeg
    department: float = NonNeg

    @model_validator(mode="after")
    def _sum(self):
        _sums_to_one({"self": self.self, "peer": self.peer, "department": self.department})
        return self


class Integrity(_Strict):
    weights: Weights3
    peer_trim_from: int = Field(ge=3)
    deductions: IntegrityDeductions
    veto: Veto


class DutyItem(_Strict):
    item: str
    kind: Literal["count", "per_target", "per_period", "per_target_period", "obligations", "special_cases_verified"]
    activity_type: str | None = None
    required: float | None = Field(default=None, ge=1)
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
    #: the article the item rests on, written with its evidence (R8); empty: the R3 basis
    basis: str | None = None

    @model_validator(mode="after")
    def _consistent(self):
        needs_activity = self.kind in ("count", "per_target", "per_period", "per_target_period")
        if needs_activity and self.activity_type not in ENUMS["activity_type"].codes:
            raise ValueError(f"activity_type: must be one of the activity_type codes (item {self.item})")
        if self.kind in ("count", "per_target") and self.required is None:
            raise ValueError(f"required: a {self.kind} item needs `required` (item {self.item})")
        if self.required is not None and self.required != int(self.required):
            raise ValueError(f"required: 须为整数（活动次数），现为 {self.required:g}（事项 {self.item}；must be a whole number）")
        if self.kind in ("per_period", "per_target_period") and self.period is None:
            raise ValueError(f"period: a {self.kind} item needs `period` (item {self.item})")
        if self.kind in ("per_target", "per_target_period") and self.target is None:
            raise ValueError(f"target: a {self.kind} item needs `target` (item {self.item})")
        return self


class BaseWeights(_Strict):
    """R3 base score = duty · duty_score + vote · vote_score (each ≥ 0, summing to 1)."""

    duty: float = NonNeg
    vote: float = NonNeg

    @model_validator(mode="after")
    def _sum(self):
        _sums_to_one({"duty": self.duty, "vote": self.vote})
        return self


class VotePoints(_Strict):
    """Points of each vote in R3's vote score, on the 0–100 scale of the grades, in the order of the
    grades (a 较好 vote never counts more than a 好 vote) and not all equal."""

    good: float = Field(ge=0, le=100)
    fairly_good: float = Field(ge=0, le=100)
    average: float = Field(ge=0, le=100)
    poor: float = Field(ge=0, le=100)

    @model_validator(mode="after")
    def _ordered(self):
        if not (self.good >= self.fairly_good >= self.average >= self.poor and self.good > self.poor):
            raise ValueError(
                "须满足 good ≥ fairly_good ≥ average ≥ poor 且 good > poor（vote points follow the grades' order）"
            )
        return self


class ScopeDeduction(_Strict):
    points: dict[str, float]
    cap: float = NonNeg

    @model_validator(mode="after")
    def _non_negative(self):
        bad = sorted(k for k, v in self.points.items() if v < 0)
        if bad:
            raise ValueError(f"points.{bad[0]}: 扣分须 ≥ 0（points must be ≥ 0）")
        return self


class ResponsibilityVeto(_Strict):
    scope_severities: list[str]


class Responsibility(_Strict):
    base_weights: BaseWeights
    vote_points: VotePoints
    duty_items: dict[Literal["party_group", "secretary", "leader", "dept_head", "discipline_group"], list[DutyItem]]
    scope_deduction: ScopeDeduction
    veto: ResponsibilityVeto

    @model_validator(mode="after")
    def _unique_items(self):
        # Item weights are relative (duty_score is their weighted mean, renormalized over the items
        # that have targets): each must be > 0, their sum is free. Names must be unique per kind.
        for kind, items in self.duty_items.items():
            names = [it.item for it in items]
            twice = sorted({n for n in names if names.count(n) > 1})
            if twice:
                raise ValueError(f"duty_items.{kind}: 事项 {twice[0]} 出现两次（item names must be unique per subject kind）")
        return self


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


#: The trigger types whose rows carry one article (``triggers.basis.<type>``), and the one that
#: carries one per subject kind: 连续两年较差 of a person (R2) or of any kind R3 assesses.
TRIGGER_BASIS_TEXT = ("repeat_serious_violation", "one_case_two_investigations")
TRIGGER_BASIS_BY_KIND = "consecutive_poor"


class Triggers(_Strict):
    consecutive_poor_min_years: int = Field(ge=2)
    repeat_serious_severities: list[str]
    one_case_two_investigations_severities: list[str]
    basis: dict[str, str | dict[str, str]]

    @model_validator(mode="after")
    def _every_basis(self):
        """Every trigger row names the article it rests on (R4, R8): a text for each trigger type and,
        for 连续两年较差, for each subject kind it can concern — none missing, none empty."""
        kinds = ["person", *ENUMS["actor_kind"].codes]
        by_kind = self.basis.get(TRIGGER_BASIS_BY_KIND)
        if not isinstance(by_kind, dict):
            raise ValueError(f"basis.{TRIGGER_BASIS_BY_KIND}: needs a text per subject kind {kinds}")
        missing = [k for k in kinds if not str(by_kind.get(k) or "").strip()]
        if missing:
            raise ValueError(f"basis.{TRIGGER_BASIS_BY_KIND}: no text for {missing}")
        for name in TRIGGER_BASIS_TEXT:
            if not isinstance(self.basis.get(name), str) or not self.basis[name].strip():
                raise ValueError(f"basis.{name}: needs the text of the article")
        return self


class Quality(_Strict):
    max_rejected_share: float = Field(ge=0, le=1)


#: The plausible range of dates may not start after the contract's first year (docs/contract.md: years
#: 2000–2100), or hire dates of serving staff would be rejected; nor before 1900.
EARLIEST_FLOOR, EARLIEST_CEILING = dt.date(1900, 1, 1), dt.date(2000, 1, 1)


class PlausibleDates(_Strict):
    """Dates a record can carry: from ``earliest`` to 31 December of the current year (Asia/Shanghai)
    plus ``years_ahead``. Read once for the whole landing zone (not per year)."""

    earliest: dt.date
    years_ahead: int = Field(ge=0, le=10)

    @model_validator(mode="after")
    def _range(self):
        if not (EARLIEST_FLOOR <= self.earliest <= EARLIEST_CEILING):
            raise ValueError(f"earliest must be between {EARLIEST_FLOOR} and {EARLIEST_CEILING}")
        return self

    def latest(self, current_year: int) -> dt.date:
        return dt.date(current_year + self.years_ahead, 12, 31)

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
    plausible_dates: PlausibleDates
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


#: A validator's message that starts with the setting it concerns below its model ("points.serious: …").
_SUB_PATH = re.compile(r"^([A-Za-z0-9_]+(?:\.[A-Za-z0-9_]+)*): (.+)$")


def _one_line(err: ValidationError) -> str:
    """``<full dotted path of the setting>: <what is wrong>`` for the first error."""
    e = err.errors()[0]
    where = ".".join(str(p) for p in e["loc"])
    msg = e["msg"].removeprefix("Value error, ")
    sub = _SUB_PATH.match(msg)
    if sub:
        where = f"{where}.{sub.group(1)}" if where else sub.group(1)
        msg = sub.group(2)
    return f"{where or '(top level)'}: {msg}"


class Rules:
    """A validated rules file: ``version``, ``sha256``, ``settings(year)``."""

    def __init__(self, path: Path, raw: dict, text: bytes):
        self.path = path
        self.raw = raw
        self.sha256 = hashlib.sha256(text).hexdigest()
        self.version = str(raw["version"])
        body = {k: v for k, v in raw.items() if k not in ("version", "years")}
        self.base = self._validate(body, "")
        self.overrides = self._overrides(raw.get("years") or {})
        for y, o in self.overrides.items():
            if "plausible_dates" in o:
                raise FatalError(
                    f"规则文件 {self.path}: years.{y}.plausible_dates: 日期合理范围对整个落地区生效，不能按年度设置"
                    " — 请把它移到文件顶层 (plausible_dates applies to the whole landing zone)"
                )
        self._by_year = {y: self._validate(merge_settings(body, o), f"years.{y}.") for y, o in self.overrides.items()}

    def _overrides(self, years: object) -> dict[int, dict]:
        """``years: {2026: {…}, …}``: per-year partial settings, keyed by a four-digit year."""
        fix = "— 请按 rules/default.yaml 末尾的示例改正"
        if not isinstance(years, dict):
            raise FatalError(f"规则文件 {self.path}: years: 须为「年度: 设置」的映射 {fix}")
        out: dict[int, dict] = {}
        for y, over in years.items():
            if not (isinstance(y, int) or (isinstance(y, str) and y.isdigit())) or not 1900 <= int(y) <= 9999:
                raise FatalError(f"规则文件 {self.path}: years.{y}: 不是年度 {fix}")
            if over is not None and not isinstance(over, dict):
                raise FatalError(f"规则文件 {self.path}: years.{y}: 须为该年度要改的设置（映射） {fix}")
            out[int(y)] = over or {}
        return out

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


#: The rules file is parsed by every run before it starts (the preflight, then the run's settings):
#: with libyaml's loader when PyYAML has it (lianjian/files.py ``yaml_safe_loader``) — ≈ 1.5 against
#: 14 CPU ms for rules/default.yaml, the same data (tests/test_rules_yaml.py), as the contract's.
_LOADER = yaml_safe_loader()


def load_rules(path: str | Path) -> Rules:
    path = Path(path)
    try:
        text = path.read_bytes()
    except OSError as err:
        raise FatalError(f"规则文件 {path}: 无法读取（{err.strerror}）— 请检查 --rules 或 LIANJIAN_RULES 指向的文件") from None
    try:
        raw = yaml.load(text.decode("utf-8"), Loader=_LOADER)  # noqa: S506 - a safe loader
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
