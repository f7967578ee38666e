"""Every field of every R3 duty item of rules/default.yaml changed by a test that sees its effect
(docs/rules.md R3, ``responsibility.duty_items``): its weight, quota (``required``), activity type,
period, target set, kind and article (``basis``). The items are read from the rules file itself, so
an item added there is tested here without a new line of test code.

The unit (``support_rules.unit_roster``): chief C1 (the party secretary), deputy chief D1 supervising
department A, discipline head K1, H1 heading A, S1 and S2 in A, all in 2024. Every item of every
subject exists with completion 0 unless a test meets it (``BASE``): the talk obligations D1 and H1
answer for are not fulfilled, department A's two special cases are not verified. ``meet`` gives the
activities (or fulfilled obligations, verified cases) that meet one item exactly: ``required``
activities for a count, ``required`` for each target, one in each half or quarter.
"""

from __future__ import annotations

import copy

import pytest
import support_scoring as s
import yaml
from support_assessed import duty_items, ev_of, obligations, r3
from support_rules import activity, unit_departments, unit_roster

from lianjian.contract import ENUMS

RAW = yaml.safe_load(s.DEFAULT_RULES.read_text(encoding="utf-8"))
ITEMS = {kind: items for kind, items in RAW["responsibility"]["duty_items"].items()}
ALL = [(kind, it["item"]) for kind, items in ITEMS.items() for it in items]

#: The subject of each kind in the unit and the actor_id its activities carry (bodies: none needed).
SUBJECT = {"party_group": ("U1", None), "secretary": ("C1", "C1"), "leader": ("D1", "D1"),
           "dept_head": ("H1", "H1"), "discipline_group": ("U1", None)}
#: Target sets of the unit, worked out by hand from docs/rules.md R3 ("Targets"; a subject is never
#: its own target): other active leadership members; they and the department heads named in
#: `departments`; leadership members but the discipline head; the departments a leader supervises
#: and their heads; the other active members of a head's department. Absent: no target.
TARGETS = {
    ("party_group", "other_leaders"): ["C1", "D1", "K1"],
    ("party_group", "other_leaders_and_dept_heads"): ["C1", "D1", "H1", "K1"],
    ("party_group", "leaders_but_discipline_head"): ["C1", "D1"],
    ("discipline_group", "other_leaders"): ["C1", "D1", "K1"],
    ("discipline_group", "other_leaders_and_dept_heads"): ["C1", "D1", "H1", "K1"],
    ("discipline_group", "leaders_but_discipline_head"): ["C1", "D1"],
    ("secretary", "other_leaders"): ["D1", "K1"],
    ("secretary", "other_leaders_and_dept_heads"): ["D1", "H1", "K1"],
    ("secretary", "leaders_but_discipline_head"): ["D1"],
    ("leader", "other_leaders"): ["C1", "K1"],
    ("leader", "other_leaders_and_dept_heads"): ["C1", "H1", "K1"],
    ("leader", "leaders_but_discipline_head"): ["C1"],
    ("leader", "supervised_depts"): ["A"],
    ("leader", "supervised_dept_heads"): ["H1"],
    ("dept_head", "other_leaders"): ["C1", "D1", "K1"],
    ("dept_head", "other_leaders_and_dept_heads"): ["C1", "D1", "K1"],
    ("dept_head", "leaders_but_discipline_head"): ["C1", "D1"],
    ("dept_head", "dept_members"): ["S1", "S2"],
}
TARGET_NAMES = ["other_leaders", "other_leaders_and_dept_heads", "leaders_but_discipline_head", "supervised_depts",
                "supervised_dept_heads", "dept_members"]
PERIOD_DATES = {"half": ["2024-03-01", "2024-09-01"], "quarter": ["2024-02-01", "2024-05-01", "2024-08-01", "2024-11-01"]}
PERIODS = {"half": 2, "quarter": 4}


def item_of(kind: str, name: str, items: dict | None = None) -> dict:
    return next(it for it in (items or ITEMS)[kind] if it["item"] == name)


def rules_changing(subject_kind: str, name: str, **fields):
    """The default rules with one duty item's fields changed (None: the field removed)."""
    items = copy.deepcopy(ITEMS[subject_kind])
    it = next(i for i in items if i["item"] == name)
    for k, v in fields.items():
        if v is None:
            it.pop(k, None)
        else:
            it[k] = v
    return s.rules_with({"responsibility": {"duty_items": {subject_kind: items}}})


def _obligations(subject: str, fulfilled: bool) -> list[dict]:
    return [{"person_id": p, "obligation": "must_talk", "event_id": f"E{subject}{p}", "responsible_id": subject,
             "fulfilled": fulfilled, "talk_id": f"T{subject}{p}" if fulfilled else None} for p in ("S1", "S2")]


def _special_cases(verified: bool) -> list[dict]:
    return [{"case_id": f"K{p}", "handler_id": p, "closed_date": "2024-05-01", "outcome": "acquitted",
             "dept_verified": verified} for p in ("S1", "S2")]


def meet(kind: str, it: dict, dates: list[str] | None = None) -> dict:
    """What meets item ``it`` of the subject of ``kind`` exactly: {"activities", "obligations", "cases"}
    (the parts not given stay as in BASE)."""
    sid, actor = SUBJECT[kind]
    k, atype, n = it["kind"], it.get("activity_type"), int(it.get("required") or 1)
    targets = TARGETS.get((kind, it.get("target")), [])
    dept = it.get("target") == "supervised_depts"
    acts = []

    def add(date, target=None):
        acts.append(activity(f"A{len(acts)}", kind, atype, actor, date, target=None if dept else target,
                             dept=target if dept else None))

    if k == "count":
        for _ in range(n):
            add(dates[0] if dates else "2024-03-01")
    elif k == "per_target":
        for t in targets:
            for _ in range(n):
                add(dates[0] if dates else "2024-03-01", t)
    elif k == "per_period":
        for d in dates or PERIOD_DATES[it["period"]]:
            add(d)
    elif k == "per_target_period":
        for t in targets:
            for d in dates or PERIOD_DATES[it["period"]]:
                add(d, t)
    elif k == "obligations":
        others = [sub for sub in ("D1", "H1") if sub != sid]
        return {"obligations": _obligations(sid, True) + [o for x in others for o in _obligations(x, False)]}
    elif k == "special_cases_verified":
        return {"cases": _special_cases(True)}
    return {"activities": acts}


BASE = {"activities": [], "obligations": _obligations("D1", False) + _obligations("H1", False),
        "cases": _special_cases(False)}


def run(parts: dict | None = None, rules=None):
    p = {**BASE, **(parts or {})}
    return r3(unit_roster(), unit_departments(), activities=s.duty_activities(p["activities"]),
              obligations=obligations(p["obligations"]), cases=s.cases(p["cases"]), rules=rules)


def completions(ev, kind) -> dict[str, float]:
    sid, _ = SUBJECT[kind]
    return {rule.removeprefix("R3.duty."): e["value"] for rule, e in duty_items(ev, sid, kind).items()}


def test_base_every_item_present_and_not_met():
    """BASE: every item of every subject exists (each has a target, an obligation or a special case)
    and none is met: every duty score 0."""
    t, ev = run()
    for kind, items in ITEMS.items():
        assert completions(ev, kind) == {it["item"]: 0.0 for it in items}, kind
        assert t[(kind, SUBJECT[kind][0])]["duty_score"] == 0.0


@pytest.mark.parametrize("kind, name", ALL)
def test_each_duty_item_alone_fills_its_share(kind, name):
    """Meeting one item alone: its completion 1, the others 0; with equal weights the duty score is
    100 / (the subject's number of items)."""
    t, ev = run(meet(kind, item_of(kind, name)))
    n = len(ITEMS[kind])
    assert completions(ev, kind) == {it["item"]: 1.0 if it["item"] == name else 0.0 for it in ITEMS[kind]}
    assert t[(kind, SUBJECT[kind][0])]["duty_score"] == round(100 / n, 2)


@pytest.mark.parametrize("kind, name", ALL)
def test_every_duty_item_weight(kind, name):
    """weight 3 for the one item met, 1 for the n − 1 others: 100 × 3 / (n + 2) instead of 100 / n."""
    rules = rules_changing(kind, name, weight=3)
    t, _ = run(meet(kind, item_of(kind, name)), rules)
    n = len(ITEMS[kind])
    assert t[(kind, SUBJECT[kind][0])]["duty_score"] == round(300 / (n + 2), 2) != round(100 / n, 2)


WITH_REQUIRED = [(k, it["item"]) for k, items in ITEMS.items() for it in items if "required" in it]


@pytest.mark.parametrize("kind, name", WITH_REQUIRED)
def test_every_duty_item_required(kind, name):
    """The quota raised by one: what met ``r`` now meets r / (r + 1) (for each target alike)."""
    it = item_of(kind, name)
    r = int(it["required"])
    _, ev = run(meet(kind, it), rules_changing(kind, name, required=r + 1))
    assert completions(ev, kind)[name] == pytest.approx(r / (r + 1), abs=1e-12)


WITH_TYPE = [(k, it["item"]) for k, items in ITEMS.items() for it in items if "activity_type" in it]


@pytest.mark.parametrize("kind, name", WITH_TYPE)
def test_every_duty_item_activity_type(kind, name):
    """Another activity type: the activities of the old type no longer count (0); activities of the
    new type meet the item (1)."""
    it = item_of(kind, name)
    other = next(c for c in ENUMS["activity_type"].codes if c != it["activity_type"])
    rules = rules_changing(kind, name, activity_type=other)
    _, ev = run(meet(kind, it), rules)
    assert completions(ev, kind)[name] == 0.0
    _, ev = run(meet(kind, {**it, "activity_type": other}), rules)
    assert completions(ev, kind)[name] == 1.0


WITH_PERIOD = [(k, it["item"]) for k, items in ITEMS.items() for it in items if "period" in it]


@pytest.mark.parametrize("kind, name", WITH_PERIOD)
def test_every_duty_item_period(kind, name):
    """Activities in February and August (Q1 and Q3, H1 and H2): per half 2/2 = 1, per quarter
    2/4 = 0.5 — the item's period switched between half and quarter switches the completion."""
    it = item_of(kind, name)
    dates = ["2024-02-01", "2024-08-01"]
    expect = {"half": 1.0, "quarter": 0.5}
    _, ev = run(meet(kind, it, dates))
    assert completions(ev, kind)[name] == expect[it["period"]]
    other = "quarter" if it["period"] == "half" else "half"
    _, ev = run(meet(kind, it, dates), rules_changing(kind, name, period=other))
    assert completions(ev, kind)[name] == expect[other]


WITH_TARGET = [(k, it["item"]) for k, items in ITEMS.items() for it in items if "target" in it]


@pytest.mark.parametrize("kind, name", WITH_TARGET)
def test_every_duty_item_target(kind, name):
    """Another target set: with no activity every target is missed, so the item's ``missed`` evidence
    names exactly the target set — the hand-worked one of the default, then of the new setting
    (the first of TARGET_NAMES with another non-empty set)."""
    it = item_of(kind, name)
    sid, _ = SUBJECT[kind]
    original = TARGETS[(kind, it["target"])]
    new = next(n for n in TARGET_NAMES if TARGETS.get((kind, n)) and sorted(TARGETS[(kind, n)]) != sorted(original))

    def missed(rules=None):
        _, ev = run(rules=rules)
        return sorted(e["record_ids"] for e in ev_of(ev, sid, f"R3.duty.{name}.missed", kind=kind))

    assert missed() == [sorted(original)]
    assert missed(rules_changing(kind, name, target=new)) == [sorted(TARGETS[(kind, new)])]


#: The kind each kind of item becomes, with the fields that kind needs, and the completion of what
#: met the item before under the new kind.
def _changed_kind(it: dict) -> tuple[dict, float]:
    k = it["kind"]
    if k == "count":  # all in March → one half of two
        return {"kind": "per_period", "period": "half", "required": None}, 0.5
    if k == "per_target":  # each target in March → one quarter of four
        return {"kind": "per_target_period", "period": "quarter", "required": None}, 0.25
    if k in ("per_period", "per_target_period"):  # one per period → periods / (periods + 1)
        p = PERIODS[it["period"]]
        return {"kind": k.replace("_period", "") if k == "per_target_period" else "count",
                "required": p + 1, "period": None}, p / (p + 1)
    # obligations fulfilled / special cases verified, no activity → a count of lectures: 0
    return {"kind": "count", "activity_type": "lecture", "required": 1}, 0.0


@pytest.mark.parametrize("kind, name", ALL)
def test_every_duty_item_kind(kind, name):
    it = item_of(kind, name)
    fields, expected = _changed_kind(it)
    _, ev = run(meet(kind, it), rules_changing(kind, name, **fields))
    assert completions(ev, kind)[name] == pytest.approx(expected, abs=1e-12) != 1.0


def test_every_duty_item_basis():
    """Each item's article (its ``basis``) is written with its evidence rows, per subject kind: the
    same item name (responsibility_letter) rests on different articles for the 党组, the secretary
    and a leader."""
    items = {kind: [{**it, "basis": f"条文 {kind}.{it['item']}"} for it in its] for kind, its in ITEMS.items()}
    rules = s.rules_with({"responsibility": {"duty_items": items}})
    _, ev = run(rules=rules)
    for kind, its in ITEMS.items():
        sid, _ = SUBJECT[kind]
        got = {rule: e["basis"] for rule, e in duty_items(ev, sid, kind).items()}
        assert got == {f"R3.duty.{it['item']}": f"条文 {kind}.{it['item']}" for it in its}, kind


def test_duty_items_overridden_for_one_year():
    """Per-year override of a subject kind's duty items (``years: {2024: {responsibility: {duty_items:
    {leader: …}}}}``): in 2024 the leader's lecture weighs 4, in 2023 1. D1 gives one lecture each
    year, nothing else (5 items, talk obligations: one unfulfilled each year): 2023 100 × 1/5 = 20.00;
    2024 100 × 4/8 = 50.00."""
    leader = [{**it, "weight": 4} if it["item"] == "lecture" else it for it in ITEMS["leader"]]
    rules = s.rules_with({"years": {2024: {"responsibility": {"duty_items": {"leader": leader}}}}})
    base_roster = unit_roster().collect().to_dicts()
    roster = s.roster([r | {"year": y} for r in base_roster for y in (2023, 2024)])
    deps = s.departments([{"year": y, "dept_code": "A", "head_id": "H1", "supervisor_id": "D1"} for y in (2023, 2024)])
    acts = s.duty_activities([activity(f"L{y}", "leader", "lecture", "D1", f"{y}-03-01") for y in (2023, 2024)])
    obl = obligations([{"year": y, "person_id": "S1", "obligation": "supervisor", "responsible_id": "D1"} for y in (2023, 2024)])
    t, _ = r3(roster, deps, activities=acts, obligations=obl, rules=rules)
    assert (t[(2023, "leader", "D1")]["duty_score"], t[("leader", "D1")]["duty_score"]) == (20.0, 50.0)
