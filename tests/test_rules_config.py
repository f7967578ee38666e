"""The rules file is validated on load: every default of RULES.md is there, per-year overrides apply,
and a broken file ends with one line naming the setting."""

from pathlib import Path

import pytest
import yaml

from lianjian.errors import FatalError
from lianjian.rules_config import load_rules

DEFAULT = Path(__file__).resolve().parents[1] / "rules" / "default.yaml"


def write(tmp_path: Path, change) -> Path:
    raw = yaml.safe_load(DEFAULT.read_text(encoding="utf-8"))
    change(raw)
    p = tmp_path / "rules.yaml"
    p.write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
    return p


def test_defaults_match_rules_md():
    s = load_rules(DEFAULT).settings(2024)
    # R2: weights 0.2/0.4/0.4, family 2, cases 1/5/5 cap 20, thresholds 90/80/60
    assert (s.integrity.weights.self, s.integrity.weights.peer, s.integrity.weights.department) == (0.2, 0.4, 0.4)
    assert s.integrity.deductions.family_talk_missing == 2
    c = s.integrity.deductions.cases
    assert (c.flawed, c.unqualified, c.error, c.cap) == (1, 5, 5, 20)
    assert s.integrity.deductions.violations == {"criticism": 3, "written_review": 3, "admonition": 5, "circulated_criticism": 10}
    assert (s.grades.good, s.grades.fairly_good, s.grades.average) == (90, 80, 60)
    # R1 windows: before [d-30, d], around [d-30, d+30], after [d, d+30]
    w = s.talks.must_talk_windows
    assert (w["business_trip"].from_, w["business_trip"].to) == (-30, 0)
    assert (w["promotion"].from_, w["promotion"].to) == (-30, 30)
    assert (w["punishment"].from_, w["punishment"].to) == (0, 30)
    # R3: base 0.6/0.4, votes 100/80/60/0, scope 2/10/10 cap 30
    r = s.responsibility
    assert (r.base_weights.duty, r.base_weights.vote) == (0.6, 0.4)
    assert (r.vote_points.good, r.vote_points.fairly_good, r.vote_points.average, r.vote_points.poor) == (100, 80, 60, 0)
    assert (r.scope_deduction.points["general"], r.scope_deduction.points["serious"], r.scope_deduction.points["criminal"]) == (2, 10, 10)
    assert r.scope_deduction.cap == 30


def test_year_override_applies_to_that_year_only(tmp_path):
    p = write(tmp_path, lambda raw: raw.update(years={2025: {"integrity": {"deductions": {"cases": {"cap": 25}}}}}))
    rules = load_rules(p)
    assert rules.settings(2025).integrity.deductions.cases.cap == 25
    assert rules.settings(2025).integrity.deductions.cases.flawed == 1  # untouched keys kept
    assert rules.settings(2024).integrity.deductions.cases.cap == 20
    assert rules.year_table([2024, 2025], cap=lambda s: s.integrity.deductions.cases.cap)["cap"].to_list() == [20, 25]


@pytest.mark.parametrize(
    "change, where",
    [
        (lambda raw: raw["grades"].update(good=70), "grades"),
        (lambda raw: raw["integrity"].update(wieghts={}), "integrity.wieghts"),
        (lambda raw: raw["integrity"]["deductions"]["cases"].update(cap="twenty"), "integrity.deductions.cases.cap"),
        (lambda raw: raw["integrity"]["deductions"]["cases"].update(flawed=-1), "integrity.deductions.cases.flawed"),
        (lambda raw: raw["talks"]["must_talk_windows"]["reward"].update({"from": 5, "to": -5}), "talks.must_talk_windows.reward"),
        (lambda raw: raw.update(colour="red"), "colour"),
        (lambda raw: raw["integrity"]["veto"].update(sanctions=["beheading"]), "integrity.veto.sanctions"),
        (lambda raw: raw.update(years={2025: {"grades": {"average": 95}}}), "years.2025.grades"),
    ],
)
def test_broken_rules_end_with_one_line_naming_the_setting(tmp_path, change, where):
    p = write(tmp_path, change)
    with pytest.raises(FatalError) as err:
        load_rules(p)
    msg = str(err.value)
    assert "\n" not in msg
    assert where in msg and str(p) in msg


def test_unreadable_and_invalid_yaml(tmp_path):
    with pytest.raises(FatalError, match="无法读取"):
        load_rules(tmp_path / "missing.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("version: 1\ngrades: [unclosed\n", encoding="utf-8")
    with pytest.raises(FatalError, match="YAML"):
        load_rules(bad)
