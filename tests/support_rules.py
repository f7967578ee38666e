"""Helpers for the tests that change the rules file's settings and probe its thresholds
(test_rules_boundaries, test_rules_settings, test_rules_duty_items, test_rules_thresholds).

API:
    setting_paths(raw=None) -> list[str]: every setting of rules/default.yaml by its path
        (``integrity.deductions.cases.cap``; a duty item's fields by the item's name,
        ``responsibility.duty_items.leader.lecture.weight``; lists of codes are one setting each;
        ``version`` and ``years`` are not settings).
    unit_roster(extra=()), unit_departments(extra=()): the R3 unit of 2024 — chief C1 (the party
        secretary), deputy chief D1 (supervises department A), discipline head K1, H1 heading A, S1
        and S2 in A — as staged frames.
    activity(aid, kind, atype, actor=None, date="2024-03-01", target=None, dept=None) -> dict
    dept_review(person_id, score) -> a signed department review row.
    NO_DUTY: the default rules with no duty item for any subject kind (base score = vote score).
"""

from __future__ import annotations

import support_scoring as s
import yaml

SUBJECT_KINDS = ("party_group", "secretary", "leader", "dept_head", "discipline_group")


def setting_paths(raw: dict | None = None) -> list[str]:
    raw = raw if raw is not None else yaml.safe_load(s.DEFAULT_RULES.read_text(encoding="utf-8"))

    def walk(node, prefix):
        if isinstance(node, dict):
            for k, v in node.items():
                yield from walk(v, f"{prefix}.{k}" if prefix else str(k))
        elif isinstance(node, list) and node and all(isinstance(x, dict) and "item" in x for x in node):
            for x in node:
                for k in x:
                    if k != "item":
                        yield f"{prefix}.{x['item']}.{k}"
        else:
            yield prefix

    return [p for k, v in raw.items() if k not in ("version", "years") for p in walk(v, k)]


def unit_roster(extra=()):
    return s.roster(
        [
            {"person_id": "C1", "position": "chief"},
            {"person_id": "D1", "position": "deputy_chief"},
            {"person_id": "K1", "position": "discipline_head"},
            {"person_id": "H1", "position": "dept_head", "dept_code": "A"},
            {"person_id": "S1", "dept_code": "A"},
            {"person_id": "S2", "dept_code": "A"},
            *extra,
        ]
    )


def unit_departments(extra=()):
    return s.departments([{"dept_code": "A", "head_id": "H1", "supervisor_id": "D1"}, *extra])


def activity(aid, kind, atype, actor=None, date="2024-03-01", target=None, dept=None) -> dict:
    return {"activity_id": aid, "actor_kind": kind, "actor_id": actor, "activity_type": atype,
            "activity_date": date, "target_id": target, "target_dept_code": dept}


def dept_review(pid, score) -> dict:
    return {"person_id": pid, "reviewer_kind": "department", "score": score, "dept_head_signed": True,
            "supervisor_signed": True}


NO_DUTY = s.rules_with({"responsibility": {"duty_items": {k: [] for k in SUBJECT_KINDS}}})
