"""Inputs a rule must drop, count once or read as false (docs/rules.md): empty booleans count as false,
a person heading two departments is one leader, a filter keeps out what the rule text keeps out.
Each case is one a mutation of lianjian/scoring showed untested (docs/testing.md, "Mutation
testing"); the expected values are worked out by hand from the rule text.
"""

from __future__ import annotations

import support_scoring as s

from lianjian.scoring.cases import leader_case_handling

RULES = s.default_rules()


# ---------------------------------------------------------------- R5


def r5(people, depts, cases) -> dict:
    out = leader_case_handling(s.roster(people), s.departments(depts), s.cases(cases), RULES).collect()
    return {r["unit_code"]: r for r in out.to_dicts()}


def test_r5_a_head_of_two_departments_is_one_quota_leader():
    """H heads D1 and D2 (quota, handles K1): one quota leader, one handling — not two."""
    got = r5([{"person_id": "H", "dept_code": "D1", "is_quota": True}],
             [{"dept_code": "D1", "head_id": "H"}, {"dept_code": "D2", "head_id": "H"}],
             [{"case_id": "K1", "handler_id": "H"}])
    assert (got["U1"]["quota_leaders"], got["U1"]["leaders_handling"], got["U1"]["leader_cases"]) == (1, 1, 1)


def test_r5_empty_quota_flag_and_empty_major_flag_count_as_false():
    """Conventions: empty booleans count as false. C (chief, is_quota empty) is no quota leader; D
    (deputy chief, in the quota) handles K2 whose is_major is empty: not a major case — chiefs_on_major
    0, leader_major_cases 0."""
    got = r5([{"person_id": "C", "position": "chief", "is_quota": None},
              {"person_id": "D", "position": "deputy_chief", "is_quota": True}],
             [], [{"case_id": "K1", "handler_id": "C", "is_major": True}, {"case_id": "K2", "handler_id": "D", "is_major": None}])
    u1 = got["U1"]
    assert (u1["quota_leaders"], u1["leaders_handling"], u1["chiefs_on_major"], u1["leader_cases"], u1["leader_major_cases"],
            u1["implemented"]) == (1, 1, 0, 1, 0, True)
