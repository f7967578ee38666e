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


def _set(path: str, value):
    """A change setting one dotted path (list items by index) of the raw rules to ``value``."""

    def change(raw):
        *parents, last = path.split(".")
        node = raw
        for part in parents:
            node = node[int(part)] if isinstance(node, list) else node.setdefault(int(part) if part.isdigit() else part, {})
        node[int(last) if isinstance(node, list) else last] = value

    return change


@pytest.mark.parametrize(
    "path, value, where",
    [
        # weights of a weighted mean: sum 1, at least one positive (all 0 left 142 people ungraded)
        ("integrity.weights", {"self": 0, "peer": 0, "department": 0}, "integrity.weights"),
        ("integrity.weights", {"self": 0.2, "peer": 0.4, "department": 4}, "integrity.weights"),
        ("integrity.weights.peer", -0.4, "integrity.weights.peer"),
        # {duty: 6, vote: 4} graded all 30 subjects 好
        ("responsibility.base_weights", {"duty": 6, "vote": 4}, "responsibility.base_weights"),
        ("responsibility.base_weights", {"duty": 0, "vote": 0}, "responsibility.base_weights"),
        # vote points: within 0–100, in the grades' order, not all equal
        ("responsibility.vote_points.good", 120, "responsibility.vote_points.good"),
        ("responsibility.vote_points.poor", -10, "responsibility.vote_points.poor"),
        ("responsibility.vote_points.fairly_good", 100.5, "responsibility.vote_points.fairly_good"),
        ("responsibility.vote_points", {"good": 60, "fairly_good": 80, "average": 60, "poor": 0}, "responsibility.vote_points"),
        ("responsibility.vote_points", {"good": 50, "fairly_good": 50, "average": 50, "poor": 50}, "responsibility.vote_points"),
        # deductions and caps ≥ 0
        ("responsibility.scope_deduction.points.serious", -10, "responsibility.scope_deduction"),
        ("responsibility.scope_deduction.cap", -1, "responsibility.scope_deduction.cap"),
        ("integrity.deductions.cases.cap", -20, "integrity.deductions.cases.cap"),
        ("integrity.deductions.family_talk_missing", -2, "integrity.deductions.family_talk_missing"),
        ("integrity.deductions.violations.admonition", -5, "integrity.deductions.violations"),
        # quotas: whole numbers ≥ 1; item weights > 0; one name per item
        ("responsibility.duty_items.party_group.0.required", 0.5, "responsibility.duty_items.party_group.0.required"),
        ("responsibility.duty_items.party_group.0.required", 1.5, "responsibility.duty_items.party_group.0"),
        ("responsibility.duty_items.secretary.1.weight", 0, "responsibility.duty_items.secretary.1.weight"),
        ("responsibility.duty_items.secretary.1.item", "lecture", "responsibility.duty_items"),
        # thresholds within 0–100 and ordered; shares within 0–1
        ("grades.good", 101, "grades"),
        ("grades.average", -1, "grades"),
        ("quality.max_rejected_share", 1.5, "quality.max_rejected_share"),
        # the same mistakes only in one year's override are named with that year
        ("years.2026.integrity.weights", {"self": 0, "peer": 0, "department": 0}, "years.2026.integrity.weights"),
        ("years.2026.responsibility.base_weights", {"duty": 6, "vote": 4}, "years.2026.responsibility.base_weights"),
        ("years.2025.responsibility.vote_points.poor", 90, "years.2025.responsibility.vote_points"),
    ],
)
def test_rules_that_would_wreck_results_end_with_one_line(tmp_path, path, value, where):
    p = write(tmp_path, _set(path, value))
    with pytest.raises(FatalError) as err:
        load_rules(p)
    msg = str(err.value)
    assert "\n" not in msg and str(p) in msg
    assert f": {where}" in msg, msg  # the setting's full path, the year override included


def test_the_year_in_the_message_is_the_override_that_broke_it(tmp_path):
    """The base is fine and 2025's override is fine: only 2026's weights are named."""
    p = write(
        tmp_path,
        lambda raw: raw.update(
            years={2025: {"integrity": {"weights": {"self": 0.5, "peer": 0.25, "department": 0.25}}}, 2026: {"integrity": {"weights": {"department": 0.5}}}}
        ),
    )
    with pytest.raises(FatalError) as err:
        load_rules(p)
    assert "years.2026.integrity.weights" in str(err.value) and "1.1" in str(err.value)


@pytest.mark.parametrize(
    "weights",
    [
        {"self": 0.1, "peer": 0.2, "department": 0.7},  # 0.1 + 0.2 is 0.30000000000000004 in binary
        {"self": 0, "peer": 0, "department": 1},  # one positive is enough
        {"self": 1 / 3, "peer": 1 / 3, "department": 1 / 3},
    ],
)
def test_weights_summing_to_one_within_rounding_are_accepted(tmp_path, weights):
    p = write(tmp_path, lambda raw: raw["integrity"].update(weights=weights))
    assert load_rules(p).settings(2024).integrity.weights.department == weights["department"]


def test_weight_sum_tolerance_boundary(tmp_path):
    """1 ± 1e-10 passes (decimal rounding), 1 ± 1e-8 does not."""
    ok = write(tmp_path, lambda raw: raw["responsibility"].update(base_weights={"duty": 0.6 + 1e-10, "vote": 0.4}))
    assert load_rules(ok).settings().responsibility.base_weights.duty == pytest.approx(0.6)
    bad = write(tmp_path, lambda raw: raw["responsibility"].update(base_weights={"duty": 0.6 + 1e-8, "vote": 0.4}))
    with pytest.raises(FatalError, match="responsibility.base_weights"):
        load_rules(bad)


def test_duty_item_weights_are_relative(tmp_path):
    """Duty item weights need not sum to 1 (duty_score renormalizes over the items present)."""

    def change(raw):
        for item in raw["responsibility"]["duty_items"]["party_group"]:
            item["weight"] = 3

    assert all(it.weight == 3 for it in load_rules(write(tmp_path, change)).settings().responsibility.duty_items["party_group"])


def test_vote_points_at_their_bounds_are_accepted(tmp_path):
    p = write(tmp_path, lambda raw: raw["responsibility"].update(vote_points={"good": 100, "fairly_good": 100, "average": 0, "poor": 0}))
    assert load_rules(p).settings().responsibility.vote_points.fairly_good == 100


@pytest.mark.parametrize("years", [[2026], {"twenty": {}}, {2026: 5}])
def test_malformed_year_overrides_end_with_one_line(tmp_path, years):
    p = write(tmp_path, lambda raw: raw.update(years=years))
    with pytest.raises(FatalError, match="years") as err:
        load_rules(p)
    assert "\n" not in str(err.value)


def test_lianjian_run_refuses_broken_weights_before_writing(tmp_path, capsys):
    """Through the command: exit 2, one line naming the year override's setting, nothing written."""
    from lianjian.cli import main

    (tmp_path / "landing").mkdir()
    p = write(tmp_path, _set("years.2026.responsibility.base_weights", {"duty": 6, "vote": 4}))
    code = main(["run", "--landing", str(tmp_path / "landing"), "--warehouse", str(tmp_path / "wh"), "--rules", str(p)])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1
    assert "years.2026.responsibility.base_weights" in err[0] and "1" in err[0]
    assert not (tmp_path / "wh").exists()
