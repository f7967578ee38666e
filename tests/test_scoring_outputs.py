"""Every scoring function returns its rows in its table's key order (empty values first), as its
docstring says — whatever order the inputs come in (here: the reverse of it) — so that the same input
gives the same rows in the same order (docs/architecture.md: same input → byte-identical Parquet).

The zone: three units (U3, U2, U1) in 2024 and 2023, each with a chief, a deputy supervising
department A, a head of A and four prosecutors in A, all given in descending order; each year every
person has a department review, a family talk obligation, a closed case of every category, a
violation and a report; every R3 subject has votes; S-persons have serious violations both years.
"""

from __future__ import annotations

import datetime as dt

import polars as pl
import pytest
import support_scoring as s

from lianjian.contract import ENUMS, PUBLISHED, RESTRICTED
from lianjian.scoring.cases import case_quality, leader_case_handling
from lianjian.scoring.evidence import assessment_evidence
from lianjian.scoring.integrity import integrity_assessment
from lianjian.scoring.leads import review_leads
from lianjian.scoring.monthly import major_matter_report_monthly
from lianjian.scoring.reports import major_matter_report_stats
from lianjian.scoring.responsibility import responsibility_assessment
from lianjian.scoring.talks import talk_obligations
from lianjian.scoring.triggers import accountability_triggers

RULES = s.default_rules()
YEARS = (2024, 2023)
UNITS = ("U3", "U2", "U1")
ROLES = [("S4", "prosecutor"), ("S3", "prosecutor"), ("S2", "prosecutor"), ("S1", "prosecutor"), ("H", "dept_head"),
         ("D", "deputy_chief"), ("C", "chief")]


def pid(unit: str, who: str) -> str:
    return f"{unit}{who}"


def zone() -> dict[str, pl.LazyFrame]:
    people = [{"year": y, "person_id": pid(u, w), "unit_code": u, "position": pos, "dept_code": None if w in ("C", "D") else "A",
               "is_quota": True} for y in YEARS for u in UNITS for w, pos in ROLES]
    depts = [{"year": y, "unit_code": u, "dept_code": "A", "head_id": pid(u, "H"), "supervisor_id": pid(u, "D")}
             for y in YEARS for u in UNITS]
    cats = list(reversed(ENUMS["case_category"].codes))
    cases = [{"case_id": f"K{y}{p['person_id']}{c}", "unit_code": p["unit_code"], "handler_id": p["person_id"], "category": c,
              "accepted_date": f"{y}-01-02", "closed_date": f"{y}-06-01", "quality_rating": "flawed", "outcome": "acquitted"}
             for y in YEARS for p in people if p["year"] == y for c in cats]
    viols = [{"violation_id": f"V{y}{p['person_id']}", "person_id": p["person_id"], "decided_date": f"{y}-05-01",
              "severity": "serious" if p["person_id"].endswith("S1") else "general"} for y in YEARS for p in people if p["year"] == y]
    reviews = [{"year": p["year"], "person_id": p["person_id"], "reviewer_kind": "department", "score": 70 + i % 25,
                "dept_head_signed": True, "supervisor_signed": True} for i, p in enumerate(people)]
    events = [{"event_id": f"E{p['year']}{p['person_id']}", "person_id": p["person_id"], "event_type": "reward",
               "event_date": f"{p['year']}-04-01"} for p in people]
    reports = [{"report_id": f"M{p['year']}{p['person_id']}", "unit_code": p["unit_code"], "reporter_id": p["person_id"],
                "report_date": f"{p['year']}-0{1 + i % 9}-11"} for i, p in enumerate(people) if not p["person_id"].endswith("S1")]
    kinds = [("secretary", "C"), ("leader", "D"), ("dept_head", "H")]
    votes = [{"year": y, "unit_code": u, "subject_kind": k, "subject_id": pid(u, w), "votes_good": 3, "votes_poor": 1}
             for y in YEARS for u in UNITS for k, w in kinds]
    acts = [{"activity_id": f"A{y}{u}{i}", "unit_code": u, "actor_kind": "party_group", "activity_type": "special_meeting",
             "activity_date": f"{y}-0{9 - i}-01"} for y in YEARS for u in UNITS for i in range(3)]
    return {
        "units": s.units([{"unit_code": u, "level": "city", "parent_code": "P"} for u in UNITS]),
        "roster": s.roster(people), "departments": s.departments(depts), "cases": s.cases(cases),
        "violations": s.violations(viols), "reviews": s.reviews(reviews), "events": s.events(events),
        "talks": s.talks([]), "reports": s.reports(reports), "votes": s.votes(votes), "activities": s.duty_activities(acts),
    }


def _outputs() -> dict[str, pl.DataFrame]:
    z = zone()
    obligations = talk_obligations(z["roster"], z["departments"], z["events"], z["talks"], RULES)
    integrity, integrity_ev = integrity_assessment(z["roster"], z["reviews"], obligations, z["cases"], z["violations"], RULES)
    responsibility, responsibility_ev = responsibility_assessment(
        z["units"], z["roster"], z["departments"], z["activities"], z["votes"], obligations, z["cases"], z["violations"], RULES)
    return {
        "talk_obligations": obligations.collect(),
        "integrity_assessment": integrity.collect(),
        "responsibility_assessment": responsibility.collect(),
        "accountability_triggers": accountability_triggers(integrity, responsibility, z["roster"], z["departments"],
                                                           z["violations"], RULES).collect(),
        "leader_case_handling": leader_case_handling(z["roster"], z["departments"], z["cases"], RULES).collect(),
        "case_quality": case_quality(z["cases"], z["roster"], RULES).collect(),
        "major_matter_report_stats": major_matter_report_stats(z["roster"], z["departments"], z["reports"], RULES).collect(),
        "major_matter_report_monthly": major_matter_report_monthly(z["units"], z["roster"], z["departments"], z["reports"],
                                                                   RULES, dt.date(2025, 6, 30)).collect(),
        "review_leads": review_leads(z["roster"], z["reports"], z["cases"], z["violations"], RULES).collect(),
        "assessment_evidence": assessment_evidence(integrity_ev, responsibility_ev).collect(),
    }


@pytest.fixture(scope="module")
def outputs() -> dict[str, pl.DataFrame]:
    return _outputs()


@pytest.mark.parametrize("table", ["talk_obligations", "integrity_assessment", "responsibility_assessment",
                                   "accountability_triggers", "leader_case_handling", "case_quality",
                                   "major_matter_report_stats", "major_matter_report_monthly", "review_leads",
                                   "assessment_evidence"])
def test_rows_come_in_the_key_order(outputs, table):
    out = outputs[table]
    key = list({**PUBLISHED, **RESTRICTED}[table].key)
    if table == "assessment_evidence":  # publish's total order: the key, then every other column, empty last
        from lianjian.scoring.evidence import PUBLISHED_ORDER

        expected = out.sort(PUBLISHED_ORDER, nulls_last=True, maintain_order=True)
    elif table == "talk_obligations":  # publish's total order too (IN_ORDER), given by its key alone
        from lianjian.contract import one_empty

        schema = PUBLISHED[table].schema()
        order = [one_empty(c, schema[c]) for c in (*key, *(c for c in schema if c not in key))]
        expected = out.sort(order, nulls_last=True, maintain_order=True)
        assert out.select(key).is_unique().all() and out.get_column("event_id").null_count() > 0
        assert out.filter(pl.col("event_id").is_null()).select(key[:3]).is_unique().all()
    else:
        expected = out.sort(key, nulls_last=False, maintain_order=True)
    assert out.height >= 6 and out.select(key[:2]).n_unique() >= 2, table
    assert out.equals(expected), table


def test_the_same_input_gives_the_same_rows_twice(outputs):
    again = _outputs()
    for table, frame in outputs.items():
        assert frame.equals(again[table]), table
