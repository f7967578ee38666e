"""Read `lianjian explain` the way an auditor does: parse the printed text alone and recompute every
score and grade by hand from it, with the arithmetic of docs/rules.md written here independently of
lianjian (exact fractions; round half away from zero).

API:
    blocks(lines) -> list[Block]: the 【廉洁从检评估】 and 【党风廉政考核】 blocks of an explanation
    recompute_integrity(block) / recompute_responsibility(block) -> dict of the recomputed
        review_score / duty_score, vote_score, deductions, total_score, grade, status
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from fractions import Fraction

DETAIL = re.compile(r"^  · (?P<rule>R\d[\w.]*)｜[^：]*：(?P<value>[^；]*)；记录 (?P<ids>[^；]*)")
SETTING = re.compile(r"^  · (?P<path>[a-z_]+(?:\.[\w]+)*) = (?P<value>-?[\d.]+)$")
R3_HEADER = re.compile(r"^【党风廉政考核】\S+（(?P<kind>\w+)） (?P<subject>\S+)")
POOR, GRADES = "较差", (("good", "好"), ("fairly_good", "较好"), ("average", "一般"))


@dataclass
class Row:
    rule: str
    value: Fraction | None
    ids: list[str]


@dataclass
class Block:
    assessment: str  # integrity | responsibility
    kind: str | None = None
    subject: str | None = None
    rows: list[Row] = field(default_factory=list)
    settings: dict[str, Fraction] = field(default_factory=dict)

    def values(self, rule: str) -> list[Fraction]:
        return [r.value for r in self.rows if r.rule == rule and r.value is not None]

    def has(self, rule: str) -> bool:
        return any(r.rule == rule for r in self.rows)


def _value(text: str) -> Fraction | None:
    """A printed value: 85.00, 0.2, 7/12（0.5833）, 5 票, — (none)."""
    text = text.split("（")[0].removesuffix(" 票").strip()
    return None if text == "—" else Fraction(text)


def blocks(lines: list[str]) -> list[Block]:
    out: list[Block] = []
    section = None
    for line in lines:
        if line == "【廉洁从检评估】":
            out.append(Block("integrity", "person"))
        elif (m := R3_HEADER.match(line)) is not None:
            out.append(Block("responsibility", m["kind"], m["subject"]))
        elif line.startswith("【") or not line:
            section = None
            if line.startswith("【"):
                out.append(None)  # a block this module does not read (its rows are not collected)
            continue
        if not out or out[-1] is None:
            continue
        if line.startswith("明细"):
            section = "detail"
        elif line.startswith("设置"):
            section = "settings"
        elif not line.startswith("  ·"):
            section = None
        elif section == "detail" and (m := DETAIL.match(line)):
            ids = [] if m["ids"] == "无" else m["ids"].split("、")
            out[-1].rows.append(Row(m["rule"], _value(m["value"]), ids))
        elif section == "settings" and (m := SETTING.match(line)):
            out[-1].settings[m["path"]] = Fraction(m["value"])
    return [b for b in out if b is not None]


def round_half_away(f: Fraction, decimals: int) -> Fraction:
    scaled = abs(f) * 10**decimals
    whole = int(scaled) + (1 if scaled - int(scaled) >= Fraction(1, 2) else 0)
    return Fraction(whole if f >= 0 else -whole, 10**decimals)


def _finish(block: Block, before: Fraction | None, deductions: Fraction, vetoed: bool) -> tuple[float | None, str | None]:
    """Clamp to 0–100, round, grade the written score; a veto gives 较差 whatever the score."""
    s = block.settings
    total = None
    if before is not None:
        total = round_half_away(min(max(before - deductions, Fraction(0)), Fraction(100)), int(s["rounding_decimals"]))
    if vetoed:
        return (float(total) if total is not None else None), POOR
    if total is None:
        return None, None
    grade = next((zh for code, zh in GRADES if total >= s[f"grades.{code}"]), POOR)
    return float(total), grade


def _mean(values: list[Fraction]) -> Fraction | None:
    return sum(values, Fraction(0)) / len(values) if values else None


def recompute_integrity(block: Block) -> dict:
    """R2 from the printed rows: each review kind the mean of its rows (trimmed peers are printed as
    rules of their own), weighted over the kinds present; deductions the sum of their rows."""
    s = block.settings
    means = {k: _mean(block.values(f"R2.review.{k}")) for k in ("self", "peer", "department")}
    present = {k: m for k, m in means.items() if m is not None}
    review = None
    if present:
        w = {k: s[f"integrity.weights.{k}"] for k in present}
        review = sum((w[k] * present[k] for k in present), Fraction(0)) / sum(w.values(), Fraction(0))
    deductions = {
        name: sum((r.value for r in block.rows if r.rule.startswith(prefix) and r.value is not None), Fraction(0))
        for name, prefix in (("deduction_talks", "R2.talks."), ("deduction_cases", "R2.cases."), ("deduction_violations", "R2.violations."))
    }
    status = (
        "incomplete" if means["department"] is None
        else "signoff_pending" if block.has("R2.status.dept_head_unsigned") or block.has("R2.status.supervisor_unsigned")
        else "graded"
    )
    before = review if status != "incomplete" else None
    total, grade = _finish(block, before, sum(deductions.values(), Fraction(0)), block.has("R2.veto"))
    return {"review_score": review, **deductions, "total_score": total if status != "incomplete" else None,
            "grade": grade, "status": status}


def recompute_responsibility(block: Block) -> dict:
    """R3 from the printed rows: duty 100 × the weighted mean of the item completions, votes from the
    counts and the vote points, base 0.6/0.4 (the printed weights), scope the sum of its rows."""
    s = block.settings
    items = [(r.rule.removeprefix("R3.duty."), r.value) for r in block.rows
             if r.rule.startswith("R3.duty.") and not r.rule.endswith(".missed")]
    duty = None
    if items:
        w = {i: s[f"responsibility.duty_items.{block.kind}.{i}.weight"] for i, _ in items}
        duty = 100 * sum((w[i] * c for i, c in items), Fraction(0)) / sum(w.values(), Fraction(0))
    levels = ("good", "fairly_good", "average", "poor")
    counts = {k: sum(block.values(f"R3.vote.{k}"), Fraction(0)) for k in levels}
    n = sum(counts.values(), Fraction(0))
    vote = sum((s[f"responsibility.vote_points.{k}"] * counts[k] for k in levels), Fraction(0)) / n if n else None
    if duty is not None and vote is not None:
        base = s["responsibility.base_weights.duty"] * duty + s["responsibility.base_weights.vote"] * vote
    else:
        base = duty if duty is not None else vote
    scope = sum((r.value for r in block.rows if r.rule.startswith("R3.scope.") and r.value is not None), Fraction(0))
    total, grade = _finish(block, base, scope, block.has("R3.veto"))
    return {"duty_score": duty, "vote_score": vote, "deduction_scope": scope,
            "total_score": total if base is not None else None, "grade": grade,
            "status": "incomplete" if base is None else "graded"}
