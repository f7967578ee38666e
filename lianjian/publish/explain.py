"""``lianjian explain``: how a person's or a unit's results for a year were reached, read from the
published tables only (``integrity_assessment``, ``responsibility_assessment``,
``accountability_triggers``, ``assessment_evidence`` and, for units, the R5/R7 statistics).

Every component, deduction, veto and trigger is printed with its record ids, rule id and basis
(article), in Chinese, with the settings in force that year (weights, points, grade thresholds,
rounding: the settings rows of the evidence) and the arithmetic that leads from them to the published
score and grade, so that an auditor can recompute any grade by hand (docs/auditors.md). The values
printed are those published; the arithmetic is done on the published evidence with exact fractions,
and a line where it would not give the published value says so.
"""

from __future__ import annotations

import sys
from fractions import Fraction
from pathlib import Path

import polars as pl

from lianjian import errors
from lianjian.contract import ENUMS, PUBLISHED
from lianjian.publish.publish import read_manifest, read_published

BODIES = ("party_group", "discipline_group")
REVIEW_KINDS = ("self", "peer", "department")
VOTE_LEVELS = ("good", "fairly_good", "average", "poor")
GRADE_LEVELS = (("good", "好"), ("fairly_good", "较好"), ("average", "一般"))


# ---------------------------------------------------------------- reading the published tables


class Published:
    """The published tables of a warehouse, each read once when first needed and kept: explaining
    many subjects reads every table once."""

    def __init__(self, warehouse: Path):
        self.warehouse = Path(warehouse)
        self._tables: dict[str, pl.DataFrame] = {}

    def table(self, name: str) -> pl.DataFrame:
        if name not in self._tables:
            self._tables[name] = read_published(self.warehouse, name).collect()
        return self._tables[name]

    def rows(self, name: str, **equal) -> pl.DataFrame:
        """The rows of a table whose columns equal the values given (None: empty)."""
        t = self.table(name)
        for column, value in equal.items():
            t = t.filter(pl.col(column).is_null() if value is None else pl.col(column) == value)
        return t

    def evidence(self, year: int, assessment: str, kind: str, subject: str) -> pl.DataFrame:
        return self.rows("assessment_evidence", year=year, assessment=assessment, subject_kind=kind, subject_id=subject)

    def settings(self, year: int, assessment: str, kind: str) -> dict[str, float]:
        """The settings rows of a year that apply to a subject kind: {path in the rules file: value}."""
        ev = self.rows("assessment_evidence", year=year, assessment=assessment, subject_id=None).filter(
            pl.col("subject_kind").is_null() | (pl.col("subject_kind") == kind)
        )
        return dict(ev.select("component", "value").iter_rows())

    def years(self) -> list[int]:
        return sorted(
            set(self.table("integrity_assessment").get_column("year").to_list())
            | set(self.table("responsibility_assessment").get_column("year").to_list())
        )


# ---------------------------------------------------------------- numbers


def _num(v) -> str:
    """A published score as written: 2 decimals."""
    return "—" if v is None else f"{v:.2f}"


def _exact(v) -> str:
    """A value exactly as stored (the shortest text that reads back the same), at least 2 decimals:
    review scores, points, weights (85.00, 85.125, 0.2)."""
    if v is None:
        return "—"
    text = repr(float(v))
    if "e" in text:
        return text
    whole, _, decimals = text.partition(".")
    return f"{whole}.{decimals.ljust(2, '0')}" if len(decimals) <= 2 else text


def _fraction(value: float) -> Fraction:
    """A completion (a share of counts) back as the fraction it is: 0.5833… → 7/12."""
    f = Fraction(value).limit_denominator(1_000_000)
    return f if abs(float(f) - value) < 1e-12 else Fraction(value)


def _completion(v) -> str:
    """A duty item's completion: the fraction and its decimal (7/12（0.5833）)."""
    if v is None:
        return "—"
    f = _fraction(v)
    return f"{f.numerator}/{f.denominator}（{float(f):.4f}）" if f.denominator != 1 else str(f.numerator)


def _dec(f: Fraction) -> str:
    """An exact number in decimals: finite expansions in full (up to 6 places), others to 6 places
    with an ellipsis."""
    for places in range(7):
        scaled = f * 10**places
        if scaled.denominator == 1:
            return f"{float(f):.{places}f}" if places else str(int(scaled))
    return f"{float(f):.6f}…"


def round_half_away(f: Fraction, decimals: int) -> Fraction:
    """Half away from zero (docs/rules.md, conventions), exactly."""
    scaled = abs(f) * 10**decimals
    whole = int(scaled)
    if scaled - whole >= Fraction(1, 2):
        whole += 1
    return Fraction(whole if f >= 0 else -whole, 10**decimals)


def _label(enum: str, code: str | None) -> str:
    if code is None:
        return "—"
    e = ENUMS[enum]
    return f"{e.label(code)}（{code}）" if code in e.codes else code


def _zh(table: str, column: str) -> str:
    """Chinese name of an evidence component: a column of the table, a duty item named after its
    activity type, or the component as written."""
    t = PUBLISHED[table]
    if column in t.column_names:
        return t.columns[t.column_names.index(column)].zh
    if column in ENUMS["activity_type"].codes:
        return ENUMS["activity_type"].label(column)
    return column


def _ids(ids) -> str:
    return "、".join(ids) if ids else "无"


# ---------------------------------------------------------------- evidence lines

#: What a rule-id suffix says about its row, printed after the component's name.
SUFFIXES = {".missed": "（未完成）", ".trimmed": "（去掉）"}


def _evidence_value(rule: str, value) -> str:
    if rule.startswith("R3.duty.") and not rule.endswith(".missed"):
        return _completion(value)
    if rule.startswith("R3.vote."):
        return "—" if value is None else f"{int(value)} 票"
    return _exact(value)


def _evidence_lines(ev: pl.DataFrame, table: str) -> list[str]:
    if ev.height == 0:
        return ["明细：无"]
    lines = ["明细："]
    for r in ev.sort(["rule", "component", "record_ids"], nulls_last=True).iter_rows(named=True):
        basis = f"；依据 {r['basis']}" if r["basis"] else ""
        suffix = next((text for end, text in SUFFIXES.items() if r["rule"].endswith(end)), "")
        lines.append(
            f"  · {r['rule']}｜{_zh(table, r['component'])}{suffix}：{_evidence_value(r['rule'], r['value'])}；"
            f"记录 {_ids(r['record_ids'])}{basis}"
        )
    return lines


def _settings_lines(settings: dict[str, float], paths: list[str], year: int) -> list[str]:
    shown = [p for p in paths if p in settings]
    if not shown:
        return [f"设置：{year} 年度的设置未发布"]
    return [f"设置（规则文件，{year} 年度生效）：", *(f"  · {p} = {_dec(Fraction(settings[p]).limit_denominator(10**9))}" for p in shown)]


def _values(ev: pl.DataFrame, rule: str) -> list[Fraction]:
    return [Fraction(v) for v in ev.filter(pl.col("rule") == rule).get_column("value").to_list() if v is not None]


def _sum_line(name: str, parts: list[Fraction], published) -> str:
    total = sum(parts, Fraction(0))
    terms = " + ".join(_dec(p) for p in parts) + " = " if len(parts) > 1 else ""
    return f"  {name} = {terms}{_dec(total)}{_check(total, published)}"


def _check(value: Fraction | None, published, decimals: int = 2) -> str:
    """An empty string when ``value`` written rounded is the published value, else a warning."""
    if published is None or value is None:
        return ""
    if float(round_half_away(value, decimals)) == round(float(published), decimals):
        return ""
    return f"（与发布值 {_num(published)} 不符）"


def _total_lines(before: Fraction | None, deductions: list[Fraction], settings: dict[str, float], row: dict) -> list[str]:
    """总分 = before − deductions, kept within 0–100, rounded; the grade of the written score."""
    decimals = int(settings.get("rounding_decimals", 2))
    if before is None:
        return ["  总分：不计（见状态）"]
    raw = before - sum(deductions, Fraction(0))
    kept = min(max(raw, Fraction(0)), Fraction(100))
    written = round_half_away(kept, decimals)
    minus = "".join(f" − {_dec(d)}" for d in deductions)
    clamp = f" → 保持在 0–100 之间：{_dec(kept)}" if kept != raw else ""
    return [
        f"  总分 = {_dec(before)}{minus} = {_dec(raw)}{clamp} → 四舍五入保留 {decimals} 位小数："
        f"{float(written):.{decimals}f}{_check(written, row['total_score'], decimals)}"
    ]


def _grade_lines(settings: dict[str, float], row: dict) -> list[str]:
    thresholds = [(zh, settings.get(f"grades.{code}")) for code, zh in GRADE_LEVELS]
    if any(v is None for _, v in thresholds):
        return ["等次线：未发布"]
    return ["等次线：" + "，".join(f"{zh} ≥ {_exact(v)}" for zh, v in thresholds) + "，以下 较差（按写出的总分比较）"]


def _status_reason(row: dict, ev: pl.DataFrame, assessment: str) -> str:
    status = row["status"]
    if status == "incomplete":
        if assessment == "integrity":
            return "：无部门综合分析评分，不计总分与等次"
        return "：既无履职项目也无民主测评，不计总分与等次"
    if status == "signoff_pending":
        who = {"R2.status.dept_head_unsigned": "部门领导", "R2.status.supervisor_unsigned": "分管领导"}
        reasons = [
            f"{_ids(r['record_ids'])} 缺{who[r['rule']]}签字"
            for r in ev.filter(pl.col("rule").is_in(list(who))).sort("rule").iter_rows(named=True)
        ]
        return "：部门综合分析 " + "；".join(reasons) + "（照常评定）" if reasons else "：部门综合分析未经部门领导和分管领导签字"
    return ""


def _outcome_lines(row: dict, ev: pl.DataFrame, assessment: str) -> list[str]:
    veto = row["veto"]
    return [
        f"总分 {_num(row['total_score'])} → 等次 {row['grade'] or '—'}；状态 {_label('assessment_status', row['status'])}"
        + _status_reason(row, ev, assessment),
        f"一票否决：{veto} → 等次 较差（不论分数）" if veto else "一票否决：无",
    ]


# ---------------------------------------------------------------- 廉洁从检评估 (R2)


def _integrity_arithmetic(row: dict, ev: pl.DataFrame, settings: dict[str, float]) -> list[str]:
    t = "integrity_assessment"
    lines = ["计算："]
    means: dict[str, Fraction] = {}
    for kind in REVIEW_KINDS:
        values = _values(ev, f"R2.review.{kind}")
        if not values:
            continue
        means[kind] = sum(values, Fraction(0)) / len(values)
        trimmed = _values(ev, f"R2.review.{kind}.trimmed")
        note = f"（共 {len(values) + len(trimmed)} 份，去掉最高分 {_dec(max(trimmed))} 和最低分 {_dec(min(trimmed))}）" if trimmed else ""
        terms = " + ".join(_dec(v) for v in values)
        formula = f"({terms}) ÷ {len(values)} = " if len(values) > 1 else ""
        lines.append(
            f"  {_zh(t, f'{kind}_score')} = {formula}{_dec(means[kind])}{note}{_check(means[kind], row[f'{kind}_score'])}"
        )
    review = None
    if means and all(f"integrity.weights.{k}" in settings for k in means):
        weights = {k: Fraction(settings[f"integrity.weights.{k}"]).limit_denominator(10**9) for k in means}
        review = sum((weights[k] * means[k] for k in means), Fraction(0)) / sum(weights.values(), Fraction(0))
        top = " + ".join(f"{_dec(weights[k])} × {_dec(means[k])}" for k in means)
        bottom = " + ".join(_dec(weights[k]) for k in means)
        lines.append(
            f"  {_zh(t, 'review_score')} = ({top}) ÷ ({bottom}) = {_dec(review)}（按已有评分的权重重新归一）"
            + _check(review, row["review_score"])
        )
    deductions = []
    for column in ("deduction_talks", "deduction_cases", "deduction_violations"):
        parts = [Fraction(v) for v in ev.filter(pl.col("component") == column).get_column("value").to_list() if v is not None]
        deductions.append(sum(parts, Fraction(0)))
        lines.append(_sum_line(_zh(t, column), parts, row[column]))
    before = review if row["status"] != "incomplete" else None
    return lines + _total_lines(before, deductions, settings, row)


def _integrity_settings(ev: pl.DataFrame) -> list[str]:
    rules = set(ev.get_column("rule").to_list())
    paths = [f"integrity.weights.{k}" for k in REVIEW_KINDS] + ["integrity.peer_trim_from"]
    if "R2.talks.family" in rules:
        paths.append("integrity.deductions.family_talk_missing")
    for kind in ("flawed", "unqualified", "error"):
        if f"R2.cases.{kind}" in rules:
            paths.append(f"integrity.deductions.cases.{kind}")
    if any(r.startswith("R2.cases.") for r in rules):
        paths.append("integrity.deductions.cases.cap")
    paths += sorted(f"integrity.deductions.violations.{r.removeprefix('R2.violations.')}" for r in rules if r.startswith("R2.violations."))
    return paths + [f"grades.{code}" for code, _ in GRADE_LEVELS] + ["rounding_decimals"]


def _integrity_lines(row: dict, published: Published) -> list[str]:
    t = "integrity_assessment"
    ev = published.evidence(row["year"], "integrity", "person", row["person_id"])
    settings = published.settings(row["year"], "integrity", "person")
    return [
        "【廉洁从检评估】",
        f"单位 {row['unit_code']}，部门 {row['dept_code'] or '—'}，职务 {_label('position', row['position'])}",
        f"评分：{_zh(t, 'self_score')} {_num(row['self_score'])}；{_zh(t, 'peer_score')} {_num(row['peer_score'])}；"
        f"{_zh(t, 'department_score')} {_num(row['department_score'])} → {_zh(t, 'review_score')} {_num(row['review_score'])}",
        f"扣分：{_zh(t, 'deduction_talks')} {_num(row['deduction_talks'])}；{_zh(t, 'deduction_cases')} {_num(row['deduction_cases'])}；"
        f"{_zh(t, 'deduction_violations')} {_num(row['deduction_violations'])}",
        *_evidence_lines(ev, t),
        *_settings_lines(settings, _integrity_settings(ev), row["year"]),
        *_integrity_arithmetic(row, ev, settings),
        *_grade_lines(settings, row),
        *_outcome_lines(row, ev, "integrity"),
    ]


# ---------------------------------------------------------------- 党风廉政考核 (R3)


def _duty_items(ev: pl.DataFrame) -> list[tuple[str, Fraction]]:
    """(item, completion) of a subject's duty item rows, in item order."""
    items = ev.filter(pl.col("rule").str.starts_with("R3.duty.") & ~pl.col("rule").str.ends_with(".missed"))
    return [(item, _fraction(v)) for item, v in items.sort("component").select("component", "value").iter_rows()]


def _responsibility_arithmetic(row: dict, ev: pl.DataFrame, settings: dict[str, float], kind: str) -> list[str]:
    t = "responsibility_assessment"
    lines = ["计算："]
    duty = vote = None
    items = _duty_items(ev)
    weights = {item: settings.get(f"responsibility.duty_items.{kind}.{item}.weight") for item, _ in items}
    if items and all(w is not None for w in weights.values()):
        w = {item: Fraction(weights[item]).limit_denominator(10**9) for item, _ in items}
        duty = 100 * sum((w[i] * c for i, c in items), Fraction(0)) / sum(w.values(), Fraction(0))
        top = " + ".join(f"{_dec(w[i])} × {c.numerator}/{c.denominator}" for i, c in items)
        bottom = " + ".join(_dec(w[i]) for i, _ in items)
        lines.append(f"  {_zh(t, 'duty_score')} = 100 × ({top}) ÷ ({bottom}) = {_dec(duty)}" + _check(duty, row["duty_score"]))
    elif not items:
        lines.append(f"  {_zh(t, 'duty_score')}：无履职项目（没有对象的项目不计）")
    counts = {level: _values(ev, f"R3.vote.{level}") for level in VOTE_LEVELS}
    if all(counts.values()) and all(f"responsibility.vote_points.{k}" in settings for k in VOTE_LEVELS):
        n = {k: counts[k][0] for k in VOTE_LEVELS}
        points = {k: Fraction(settings[f"responsibility.vote_points.{k}"]).limit_denominator(10**9) for k in VOTE_LEVELS}
        vote = sum((points[k] * n[k] for k in VOTE_LEVELS), Fraction(0)) / sum(n.values(), Fraction(0))
        top = " + ".join(f"{_dec(points[k])} × {_dec(n[k])}" for k in VOTE_LEVELS)
        lines.append(
            f"  {_zh(t, 'vote_score')} = ({top}) ÷ {_dec(sum(n.values(), Fraction(0)))} = {_dec(vote)}" + _check(vote, row["vote_score"])
        )
    else:
        lines.append(f"  {_zh(t, 'vote_score')}：无测评票")
    base = None
    if duty is not None and vote is not None and {"responsibility.base_weights.duty", "responsibility.base_weights.vote"} <= set(settings):
        wd = Fraction(settings["responsibility.base_weights.duty"]).limit_denominator(10**9)
        wv = Fraction(settings["responsibility.base_weights.vote"]).limit_denominator(10**9)
        base = wd * duty + wv * vote
        lines.append(f"  基础分 = {_dec(wd)} × {_dec(duty)} + {_dec(wv)} × {_dec(vote)} = {_dec(base)}")
    elif duty is not None or vote is not None:
        base = duty if duty is not None else vote
        lines.append(f"  基础分 = {_dec(base)}（只有{'履职得分' if duty is not None else '民主测评得分'}）")
    scope = [Fraction(v) for v in ev.filter(pl.col("component") == "deduction_scope").get_column("value").to_list() if v is not None]
    lines.append(_sum_line(_zh(t, "deduction_scope"), scope, row["deduction_scope"]))
    return lines + _total_lines(base, [sum(scope, Fraction(0))], settings, row)


def _responsibility_settings(ev: pl.DataFrame, kind: str) -> list[str]:
    rules = set(ev.get_column("rule").to_list())
    items = sorted({i for i, _ in _duty_items(ev)})
    paths = []
    for item in items:
        paths += [f"responsibility.duty_items.{kind}.{item}.weight", f"responsibility.duty_items.{kind}.{item}.required"]
    paths += ["responsibility.base_weights.duty", "responsibility.base_weights.vote"]
    if any(r.startswith("R3.vote.") for r in rules):
        paths += [f"responsibility.vote_points.{k}" for k in VOTE_LEVELS]
    paths += sorted(
        f"responsibility.scope_deduction.points.{r.removeprefix('R3.scope.')}"
        for r in rules
        if r.startswith("R3.scope.") and r != "R3.scope.cap"
    )
    if any(r.startswith("R3.scope.") for r in rules):
        paths.append("responsibility.scope_deduction.cap")
    return paths + [f"grades.{code}" for code, _ in GRADE_LEVELS] + ["rounding_decimals"]


def _responsibility_lines(row: dict, published: Published) -> list[str]:
    t = "responsibility_assessment"
    kind = row["subject_kind"]
    ev = published.evidence(row["year"], "responsibility", kind, row["subject_id"])
    settings = published.settings(row["year"], "responsibility", kind)
    return [
        f"【党风廉政考核】{_label('trigger_subject_kind', kind)} {row['subject_id']} {row['subject_name'] or ''}".rstrip(),
        f"{_zh(t, 'duty_score')} {_num(row['duty_score'])}；{_zh(t, 'vote_score')} {_num(row['vote_score'])}；"
        f"{_zh(t, 'deduction_scope')} {_num(row['deduction_scope'])}",
        *_evidence_lines(ev, t),
        *_settings_lines(settings, _responsibility_settings(ev, kind), row["year"]),
        *_responsibility_arithmetic(row, ev, settings, kind),
        *_grade_lines(settings, row),
        *_outcome_lines(row, ev, "responsibility"),
    ]


# ---------------------------------------------------------------- triggers


def _lowering_facts(ev: pl.DataFrame) -> str:
    """The evidence rows that lower a score, as one line: deductions and duty items not fully met."""
    lowering = ev.filter(
        pl.col("component").str.starts_with("deduction_") | pl.col("rule").str.ends_with(".missed")
    ).sort("rule", "record_ids")
    facts = []
    for r in lowering.iter_rows(named=True):
        value = "" if r["value"] is None else f" {_exact(r['value'])}"
        facts.append(f"{r['rule']}{value}（{_ids(r['record_ids'])}）")
    return "；".join(facts) if facts else "无扣分"


def _streak_lines(record: str, published: Published) -> list[str]:
    """One line per year of a 连续两年较差 streak: the assessment row named by ``record`` (its grade,
    score and the facts behind the grade)."""
    table, _, key = record.partition("/")
    parts = key.split("/")
    if table == "integrity_assessment" and len(parts) == 2:
        year, person = int(parts[0]), parts[1]
        rows = published.rows(table, year=year, person_id=person)
        ev = published.evidence(year, "integrity", "person", person)
        score = lambda r: f"总分 {_num(r['total_score'])}（评估得分 {_num(r['review_score'])}）"  # noqa: E731
        what = "廉洁从检评估"
    elif table == "responsibility_assessment" and len(parts) >= 4:
        year, unit, kind, subject = int(parts[0]), parts[1], parts[2], "/".join(parts[3:])
        rows = published.rows(table, year=year, unit_code=unit, subject_kind=kind, subject_id=subject)
        ev = published.evidence(year, "responsibility", kind, subject)
        score = lambda r: (  # noqa: E731
            f"总分 {_num(r['total_score'])}（履职得分 {_num(r['duty_score'])}，民主测评得分 {_num(r['vote_score'])}）"
        )
        what = f"党风廉政考核 {_label('trigger_subject_kind', kind)}"
    else:
        return [f"      {record}：无法解读的记录编号"]
    if rows.height == 0:
        return [f"      {year} 年度 {what}：已发布的数据中没有该行（{record}）"]
    r = rows.row(0, named=True)
    veto = f"；一票否决 {r['veto']}" if r["veto"] else ""
    return [f"      {year} 年度 {what}：等次 {r['grade'] or '—'}，{score(r)}{veto}；{_lowering_facts(ev)}"]


def _trigger_lines(trig: pl.DataFrame, published: Published) -> list[str]:
    if trig.height == 0:
        return ["【问责触发】无"]
    lines = ["【问责触发】"]
    for r in trig.sort(["trigger_type", "subject_kind", "subject_id", "evidence"], nulls_last=True).iter_rows(named=True):
        streak = f"，连续 {r['streak_years']} 年" if r["streak_years"] is not None else ""
        lines.append(
            f"  · {_label('trigger_type', r['trigger_type'])}：{_label('trigger_subject_kind', r['subject_kind'])} "
            f"{r['subject_id']} {r['subject_name'] or ''}，考核 {_label('trigger_assessment', r['assessment'])}{streak}；"
            f"依据 {r['basis'] or '—'}；证据 {_ids(r['evidence'])}"
        )
        if r["trigger_type"] == "consecutive_poor":
            for record in r["evidence"] or []:
                lines += _streak_lines(record, published)
    return lines


# ---------------------------------------------------------------- the commands


def _source_line(warehouse: Path, *frames: pl.DataFrame) -> str:
    """The run that published, and the rules version the rows shown were computed with (each row
    carries its own: after a ``--years`` run, other years keep theirs)."""
    m = read_manifest(warehouse) or {}
    versions = sorted({v for f in frames if "rules_version" in f.columns for v in f.get_column("rules_version").drop_nulls()})
    return f"依据已发布数据（运行 {m.get('run_id', '—')}，规则版本 {'、'.join(versions) or '—'}）"


class NotFound(errors.NotFound):
    """The person, unit or year is not in the published tables (message in Chinese)."""


def _check_year(published: Published, year: int) -> None:
    years = published.years()
    if not years:
        raise NotFound(
            f"{published.warehouse}/published 中没有已发布的评估结果 — 请先运行 lianjian run（或用 --warehouse 指定数据仓库）"
        )
    if year not in years:
        raise NotFound(f"已发布的数据中没有 {year} 年度（现有年度：{'、'.join(map(str, years))}）— 请检查 --year")


def explain_person(warehouse: Path, person: str, year: int, published: Published | None = None) -> list[str]:
    """The explanation of one person's results in ``year``, line by line. ``published``: the tables
    already read (to explain many subjects of one warehouse)."""
    published = published or Published(warehouse)
    _check_year(published, year)
    integ = published.rows("integrity_assessment", year=year, person_id=person)
    resp = published.rows("responsibility_assessment", year=year, subject_id=person).filter(
        ~pl.col("subject_kind").is_in(list(BODIES))
    )
    if integ.height == 0 and resp.height == 0:
        raise NotFound(f"{year} 年度已发布的评估结果中没有工号 {person} — 请检查工号（该年度不在岗的人员不参加评估）")
    name = integ.get_column("name")[0] if integ.height else resp.get_column("subject_name")[0]
    lines = [f"廉检评定说明 — 工号 {person}（{name or '—'}），{year} 年度", _source_line(warehouse, integ, resp), ""]
    if integ.height:
        lines += _integrity_lines(integ.row(0, named=True), published)
    else:
        lines.append("【廉洁从检评估】该年度无评估（不是在岗干警）")
    order = {c: i for i, c in enumerate(ENUMS["actor_kind"].codes)}
    for row in sorted(resp.iter_rows(named=True), key=lambda r: order.get(r["subject_kind"], 99)):
        lines += ["", *_responsibility_lines(row, published)]
    if resp.height == 0:
        lines += ["", "【党风廉政考核】该年度不是考核对象"]
    trig = published.rows("accountability_triggers", year=year, subject_id=person)
    return lines + ["", *_trigger_lines(trig, published)]


def explain_unit(warehouse: Path, unit: str, year: int, published: Published | None = None) -> list[str]:
    """The explanation of one unit's results in ``year``: its bodies (党组, 纪检组) in full, every
    subject's grade, the unit's integrity grades, triggers and the R5/R7 statistics."""
    published = published or Published(warehouse)
    _check_year(published, year)
    resp = published.rows("responsibility_assessment", year=year, unit_code=unit)
    integ = published.rows("integrity_assessment", year=year, unit_code=unit)
    if resp.height == 0 and integ.height == 0:
        raise NotFound(f"{year} 年度已发布的评估结果中没有单位 {unit} — 请检查单位编码")
    bodies = resp.filter(pl.col("subject_kind").is_in(list(BODIES)))
    lines = [f"廉检评定说明 — 单位 {unit}，{year} 年度", _source_line(warehouse, bodies)]
    for kind in BODIES:
        for row in resp.filter(pl.col("subject_kind") == kind).sort("subject_id").iter_rows(named=True):
            lines += ["", *_responsibility_lines(row, published)]
    order = pl.Enum(ENUMS["actor_kind"].codes)
    lines += ["", "【本单位考核对象】"]
    subjects = resp.sort([pl.col("subject_kind").cast(order), pl.col("subject_id")])
    lines += [
        f"  · {_label('trigger_subject_kind', r['subject_kind'])} {r['subject_id']} {r['subject_name'] or ''}：总分 "
        f"{_num(r['total_score'])}，等次 {r['grade'] or '—'}"
        for r in subjects.iter_rows(named=True)
    ] or ["  无"]
    counts = dict(integ.group_by("grade").agg(pl.len()).iter_rows())
    levels = "，".join(f"{g} {counts.get(g, 0)} 人" for g in ("好", "较好", "一般", "较差"))
    lines += ["", f"【廉洁从检评估】{levels}，未评定 {counts.get(None, 0)} 人（共 {integ.height} 人）"]
    trig = published.rows("accountability_triggers", year=year, unit_code=unit)
    lines += ["", *_trigger_lines(trig, published)]
    lch = published.rows("leader_case_handling", year=year, unit_code=unit)
    if lch.height:
        r = lch.row(0, named=True)
        lines += [
            "",
            f"【领导干部办案】员额内领导干部 {r['quota_leaders']} 人，办案 {r['leaders_handling']} 人，"
            f"办理重大案件的检察长副检察长 {r['chiefs_on_major']} 人；办案 {r['leader_cases']} 件"
            f"（重大 {r['leader_major_cases']} 件）；已落实：{'是' if r['implemented'] else '否'}",
        ]
    mm = published.rows("major_matter_report_stats", year=year, unit_code=unit)
    if mm.height:
        r = mm.row(0, named=True)
        lines += [
            "",
            f'【"三个规定"记录报告】在岗 {r["staff"]} 人，报告 {r["reports"]} 件（领导干部 {r["leader_reports"]} 件），'
            f"每百人 {_num(r['per_hundred_staff'])} 件{'，零报告' if r['zero_report'] else ''}；"
            f"上年 {r['reports_prev_year']} 件，前年 {r['reports_two_years_ago']} 件",
        ]
    return lines


def explain_command(person: str | None, unit: str | None, year: int, warehouse: Path | None = None) -> int:
    """``lianjian explain --person ID | --unit CODE --year YYYY``. Exit ``EXIT_NOT_FOUND`` (3, as every
    command) with one Chinese line when the person, unit or year is not published."""
    if warehouse is None:
        from pipelines.resources import LianjianSettings

        warehouse = LianjianSettings.resolve().warehouse_path
    try:
        lines = explain_person(warehouse, person, year) if person else explain_unit(warehouse, unit or "", year)
    except NotFound as err:
        print(str(err), file=sys.stderr)
        return errors.EXIT_NOT_FOUND
    print("\n".join(lines))
    return 0
