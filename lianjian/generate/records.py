"""One unit's records for one year, as numpy columns (local person indices, code indices, day numbers).

Rates are plausible practice, scaled by the unit's diligence that year (a unit that neglects its
duties also talks less, verifies less and gets worse votes). Counts of cases and major-matter
reports follow the profile; talks follow the R1 obligations (most fulfilled, some not), reviews the
review practice (self, 3–9 colleagues, the department's analysis).

Column conventions (see lianjian.generate.assemble): person columns hold local person indices (-1:
empty), unit columns the unit index, dept columns the department's catalogue index, enum columns the
code's index in the contract enumeration (-1: empty), date columns day numbers (NODAY: empty), bool
columns 1/0 (-1: empty), id columns a serial within (unit, year).
"""

from __future__ import annotations

import numpy as np

from lianjian.contract import ENUMS
from lianjian.generate.people import EVT, LEADER_POS, POS, RosterYear, UnitPeople, day
from lianjian.generate.profiles import Profile
from lianjian.generate.seeds import rng_for
from lianjian.rules_config import Settings

NODAY = np.iinfo(np.int64).min


def _codes(enum: str) -> dict[str, int]:
    return {c: i for i, c in enumerate(ENUMS[enum].codes)}


TALK = _codes("talk_type")
CAT = _codes("case_category")
OUT = _codes("case_outcome")
RATING = _codes("quality_rating")
ERR = _codes("error_type")
RK = _codes("reviewer_kind")
VCAT = _codes("violation_category")
SEV = _codes("severity")
SAN = _codes("sanction")
RCAT = _codes("report_category")
ACTOR = _codes("actor_kind")
ACT = _codes("activity_type")

#: Case mix and outcomes per category (weights).
CATEGORY_MIX = {
    "public_prosecution": 0.40, "investigation_supervision": 0.25, "complaint_appeal": 0.10,
    "civil_administrative": 0.08, "public_interest": 0.07, "prison_supervision": 0.05,
    "self_investigation": 0.02, "other": 0.03,
}
OUTCOMES = {
    "self_investigation": {"prosecuted": 0.6, "not_filed": 0.15, "filed_then_revoked": 0.1, "not_prosecuted": 0.1, "other": 0.05},
    "investigation_supervision": {"arrested": 0.45, "not_arrested": 0.3, "supervised": 0.1, "arrest_then_revoked": 0.05,
                                  "arrest_then_not_prosecuted": 0.07, "arrest_then_acquitted": 0.03},
    "public_prosecution": {"prosecuted": 0.82, "not_prosecuted": 0.1, "withdrawn": 0.03, "acquitted": 0.01,
                           "missed_or_wrong": 0.02, "other": 0.02},
    "civil_administrative": {"supervised": 0.6, "other": 0.4},
    "prison_supervision": {"supervised": 0.7, "other": 0.3},
    "complaint_appeal": {"supervised": 0.3, "other": 0.7},
    "public_interest": {"supervised": 0.5, "prosecuted": 0.3, "other": 0.2},
    "other": {"other": 1.0},
}
SEVERITY_MIX = {"minor": 0.45, "general": 0.38, "serious": 0.13, "criminal": 0.04}
SANCTIONS = {
    "minor": {"criticism": 0.7, "written_review": 0.3},
    "general": {"admonition": 0.5, "written_review": 0.2, "circulated_criticism": 0.3},
    "serious": {"party_discipline": 0.45, "procuratorial_discipline": 0.35, "organizational": 0.2},
    "criminal": {"judicial_transfer": 0.8, "party_discipline": 0.2},
}
#: Extra talks beyond the obligations (second department talks, 谈心 recorded as talks), per person.
EXTRA_TALKS = 1.6
#: Share of unit-years that file no major-matter report at all (R7 zero_report).
ZERO_REPORT_SHARE = 0.04


def _pick(rng: np.random.Generator, mix: dict[str, float], codes: dict[str, int], n: int) -> np.ndarray:
    keys = list(mix)
    p = np.array([mix[k] for k in keys], dtype=float)
    return np.array([codes[k] for k in keys])[rng.choice(len(keys), size=n, p=p / p.sum())]


def _uniform_days(rng: np.random.Generator, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    lo, hi = np.asarray(lo), np.asarray(hi)
    return lo + np.floor(rng.random(np.broadcast(lo, hi).shape) * (hi - lo + 1)).astype(np.int64)


def _bool(rng: np.random.Generator, p, n: int) -> np.ndarray:
    return (rng.random(n) < p).astype(np.int8)


class Frame(dict):
    """Columns of one source for one unit-year (name -> numpy array)."""

    @property
    def rows(self) -> int:
        return len(next(iter(self.values()))) if dict.__len__(self) else 0


def _cat(parts: list[dict[str, np.ndarray]], columns: list[str]) -> Frame:
    parts = [p for p in parts if len(next(iter(p.values()))) > 0]
    if not parts:
        return Frame({c: np.zeros(0, dtype=np.int64) for c in columns})
    return Frame({c: np.concatenate([np.asarray(p[c]) for p in parts]) for c in columns})


def diligence(seed: int, unit: int, year: int) -> float:
    """How well a unit keeps its duties in a year (≈ 0.65–1, mostly above 0.9)."""
    return float(1.0 - 0.35 * rng_for(seed, "diligence", unit, year).beta(1.5, 6.0))


def unit_year(people: UnitPeople, year: int, profile: Profile, settings: Settings, seed: int, last_year: int) -> dict[str, Frame]:
    """Every source's records of one unit in one year (units/personnel/departments excluded)."""
    u = people.unit.index
    r: RosterYear = people.years[year]
    dil = diligence(seed, u, year)
    jan1, jun30, jul1, dec31 = day(year), day(year, 6, 30), day(year, 7, 1), day(year, 12, 31)
    act = r.idx[r.active]
    act_pos, act_dept, act_quota = r.pos[r.active], r.dept[r.active], r.quota[r.active]
    n_act = len(act)
    start = np.maximum(jan1, people.hire_day[act])
    head_of = np.where(act_dept >= 0, r.head[np.maximum(act_dept, 0)], -1)
    sup_of = np.where(act_dept >= 0, r.supervisor[np.maximum(act_dept, 0)], -1)
    liaison_of = np.where(act_dept >= 0, r.liaison[np.maximum(act_dept, 0)], -1)
    discipline_head = r.idx[r.pos == POS["discipline_head"]]
    dh = int(discipline_head[0]) if len(discipline_head) else -1
    witness_of = np.where(act_dept >= 0, liaison_of, dh)
    out: dict[str, Frame] = {}

    # ---- violations (decided in this year; any roster person) --------------------------------
    rng = rng_for(seed, "violations", u, year)
    everyone = r.idx
    rate = 0.018 + np.where(people.quality[everyone] < 72, 0.08, 0.0)
    vio_p = everyone[rng.random(len(everyone)) < rate]
    nv = len(vio_p)
    sev = _pick(rng, SEVERITY_MIX, SEV, nv)
    san = np.zeros(nv, dtype=np.int64)
    for s, mix in SANCTIONS.items():
        m = sev == SEV[s]
        san[m] = _pick(rng, mix, SAN, int(m.sum()))
    decided = _uniform_days(rng, np.full(nv, jan1), np.full(nv, dec31))
    occurred = np.where(rng.random(nv) < 0.9, decided - rng.integers(20, 300, nv), NODAY)
    out["violations"] = Frame(
        violation_id=np.arange(1, nv + 1), person_id=vio_p, occurred_date=occurred, decided_date=decided,
        category=_pick(rng, {k: 1.0 for k in VCAT}, VCAT, nv), severity=sev, sanction=san,
    )

    # ---- personnel events: the simulation's own + business trips, sensitive cases, rewards, punishments
    rng = rng_for(seed, "events", u, year)
    handler = np.isin(act_pos, (POS["prosecutor"], POS["assistant"], POS["dept_head"]))
    trips = np.repeat(act, rng.poisson(np.where(handler, 0.6, 0.05)))
    sens = np.repeat(act, rng.poisson(np.where(act_quota, 0.3, 0.0)))
    rew = act[rng.random(n_act) < 0.08]
    punish_m = (sev != SEV["minor"]) & (rng.random(nv) < 0.8)
    ev_person = np.concatenate([r.events["person"], trips, sens, rew, vio_p[punish_m]])
    ev_type = np.concatenate([
        r.events["type"], np.full(len(trips), EVT["business_trip"]), np.full(len(sens), EVT["sensitive_case"]),
        np.full(len(rew), EVT["reward"]), np.full(int(punish_m.sum()), EVT["punishment"]),
    ])
    ev_day = np.concatenate([r.events["day"], _uniform_days(rng, np.full(len(trips) + len(sens) + len(rew), jan1), dec31),
                             decided[punish_m]])
    order = np.lexsort((ev_person, ev_day))
    ev_person, ev_type, ev_day = ev_person[order], ev_type[order], ev_day[order]
    ne = len(ev_person)
    out["personnel_events"] = Frame(event_id=np.arange(1, ne + 1), person_id=ev_person, event_type=ev_type, event_date=ev_day)

    # ---- talks -------------------------------------------------------------------------------
    rng = rng_for(seed, "talks", u, year)
    parts = []

    def talks(kind, who, interviewer, witness, when, p_ok, reason=None, event=None, family=False):
        n = len(who)
        keep = rng.random(n) < p_ok
        w_present = rng.random(n) < 0.95
        witness = np.where(np.asarray(witness) == np.asarray(who), dh, witness)  # nobody witnesses their own talk
        witness = np.where((witness == np.asarray(interviewer)) | (witness == np.asarray(who)), -1, witness)
        parts.append(dict(
            talk_type=np.full(n, TALK[kind])[keep], interviewer_id=np.asarray(interviewer)[keep],
            interviewee_id=np.asarray(who)[keep], talk_date=np.asarray(when)[keep],
            reason=(np.full(n, -1) if reason is None else reason)[keep],
            event_id=(np.full(n, -1) if event is None else event)[keep],
            witness_id=np.where(w_present, witness, -1)[keep],
            form_filed=_bool(rng, 0.97, n)[keep],
            family_signed=(_bool(rng, 0.96, n) if family else np.full(n, -1, dtype=np.int8))[keep],
        ))

    p = 0.93 + 0.06 * (dil - 0.9) / 0.1
    talks("family", act, np.full(n_act, -1), np.full(n_act, -1), _uniform_days(rng, start, dec31), min(p, 0.99), family=True)
    for lo, hi in ((jan1, jun30), (jul1, dec31)):
        m = (head_of >= 0) & (head_of != act) & (start <= hi)
        talks("department", act[m], head_of[m], witness_of[m], _uniform_days(rng, np.maximum(start[m], lo), hi), 0.93 * dil)
    m = (sup_of >= 0) & (sup_of != act)
    talks("supervisor", act[m], sup_of[m], witness_of[m], _uniform_days(rng, start[m], dec31), 0.9 * dil)
    extra = np.repeat(np.arange(n_act), rng.poisson(EXTRA_TALKS, n_act))
    extra = extra[(head_of[extra] >= 0) & (head_of[extra] != act[extra])]
    talks("department", act[extra], head_of[extra], witness_of[extra], _uniform_days(rng, start[extra], dec31), 1.0)
    leaders = r.idx[r.active & r.leader_mask & (r.idx != r.secretary)]
    talks("secretary", leaders, np.full(len(leaders), r.secretary), np.full(len(leaders), dh),
          _uniform_days(rng, np.full(len(leaders), jan1), dec31), 0.5)
    adm = vio_p[san == SAN["admonition"]]
    talks("admonition", adm, np.full(len(adm), dh), np.full(len(adm), -1), decided[san == SAN["admonition"]] + rng.integers(0, 10, len(adm)), 1.0)
    # 六必谈: one talk per event, by the responsible person, inside the event's window.
    if ne:
        loc = np.full(people.size, -1)
        loc[r.idx] = np.arange(len(r.idx))
        epos, edept = r.pos[loc[ev_person]], r.dept[loc[ev_person]]
        ehead = np.where(edept >= 0, r.head[np.maximum(edept, 0)], -1)
        esup = np.where(edept >= 0, r.supervisor[np.maximum(edept, 0)], -1)
        resp = np.where(np.isin(epos, LEADER_POS), r.secretary, np.where(ehead == ev_person, esup, ehead))
        resp = np.where(resp == ev_person, -1, resp)
        # Nobody is responsible (e.g. the party secretary's own event): the discipline head holds the talk.
        resp = np.where(resp < 0, np.where(ev_person == dh, r.secretary, dh), resp)
        wit = np.where(edept >= 0, r.liaison[np.maximum(edept, 0)], dh)
        win = settings.talks.must_talk_windows
        codes = ENUMS["event_type"].codes
        lo = np.array([win[c].from_ for c in codes])[ev_type]
        hi = np.array([win[c].to for c in codes])[ev_type]
        when = _uniform_days(rng, ev_day + lo, ev_day + hi)
        link = np.where(rng.random(ne) < 0.7, np.arange(1, ne + 1), -1)
        talks("must_talk", ev_person, resp, wit, when, 0.88 * dil, reason=ev_type, event=link)
    t = _cat(parts, list(parts[0]))
    order = np.lexsort((t["interviewee_id"], t["talk_date"]))
    t = Frame({k: v[order] for k, v in t.items()})
    t["talk_id"] = np.arange(1, t.rows + 1)
    out["talks"] = t

    # ---- cases -------------------------------------------------------------------------------
    rng = rng_for(seed, "cases", u, year)
    nc = int(rng.poisson(profile.cases_per_staff * n_act))
    w = np.select(
        [act_pos == POS["prosecutor"], (act_pos == POS["dept_head"]) & act_quota, act_pos == POS["chief"],
         act_pos == POS["deputy_chief"], act_pos == POS["committee_member"]],
        [1.0, 0.5, 0.08, 0.12, 0.25], 0.0,
    )
    w = np.where(act_quota | (act_pos == POS["prosecutor"]), w, 0.0)
    if w.sum() == 0:
        w = np.ones(n_act)
    hidx = rng.choice(n_act, size=nc, p=w / w.sum())
    is_leader = np.isin(act_pos[hidx], LEADER_POS)
    cat = _pick(rng, CATEGORY_MIX, CAT, nc)
    outcome = np.zeros(nc, dtype=np.int64)
    for c, mix in OUTCOMES.items():
        m = cat == CAT[c]
        outcome[m] = _pick(rng, mix, OUT, int(m.sum()))
    accepted = _uniform_days(rng, np.full(nc, jan1), dec31)
    closed = accepted + np.round(rng.lognormal(3.8, 0.7, nc)).astype(np.int64)
    pending = closed > day(last_year, 12, 31)
    closed = np.where(pending, NODAY, closed)
    outcome = np.where(pending, -1, outcome)
    rated = ~pending & (rng.random(nc) < 0.4)
    q = people.quality[act[hidx]]
    rating = np.where(rng.random(nc) < np.clip((q - 60) / 120, 0.05, 0.4), RATING["excellent"], RATING["qualified"])
    bad = rng.random(nc)
    rating = np.where(bad < 0.07, RATING["flawed"], np.where(bad < 0.09, RATING["unqualified"], rating))
    rating = np.where(rated, rating, -1)
    special_tab = np.zeros((len(CAT), len(OUT) + 1), dtype=bool)  # last column: no outcome (index -1)
    for c, outs in settings.cases.special_outcomes.items():
        special_tab[CAT[c], [OUT[o] for o in outs]] = True
    complaint = _bool(rng, 0.01, nc)
    special = special_tab[cat, outcome] | (complaint == 1)
    out["cases"] = Frame(
        case_id=np.arange(1, nc + 1), unit_code=np.full(nc, u), category=cat, handler_id=act[hidx],
        is_major=(rng.random(nc) < np.where(is_leader, 0.5, 0.06)).astype(np.int8),
        accepted_date=accepted, closed_date=closed, outcome=outcome, quality_rating=rating,
        error_type=np.where(~pending & (rng.random(nc) < 0.004), rng.integers(0, len(ERR), nc), -1),
        dept_verified=(rng.random(nc) < np.where(special, 0.93 * dil, 0.2)).astype(np.int8),
        supervisor_verified=(rng.random(nc) < np.where(special, 0.9 * dil, 0.1)).astype(np.int8),
        public_complaint=complaint,
    )

    # ---- reviews -----------------------------------------------------------------------------
    rng = rng_for(seed, "reviews", u, year)
    qa = people.quality[act]
    group = np.where(act_dept >= 0, act_dept, -2)
    same = (group[:, None] == group[None, :]) & ~np.eye(n_act, dtype=bool)
    keys = np.where(same, rng.random((n_act, n_act)), 2.0)
    rank = np.argsort(np.argsort(keys, axis=1, kind="stable"), axis=1, kind="stable")
    k = np.minimum(same.sum(axis=1), rng.integers(4, 10, n_act))
    ii, jj = np.nonzero(same & (rank < k[:, None]))
    has_self = rng.random(n_act) < 0.98
    has_dept = rng.random(n_act) < 0.97
    nd = int(has_dept.sum())

    def score(x):
        return np.round(np.clip(x, 0, 100), 1)

    out["reviews"] = _cat([
        dict(person_id=act[has_self], reviewer_kind=np.full(int(has_self.sum()), RK["self"]), reviewer_id=np.full(int(has_self.sum()), -1),
             score=score(qa[has_self] + 2 + rng.normal(0, 2.5, int(has_self.sum()))),
             dept_head_signed=np.full(int(has_self.sum()), -1, dtype=np.int8), supervisor_signed=np.full(int(has_self.sum()), -1, dtype=np.int8)),
        dict(person_id=act[ii], reviewer_kind=np.full(len(ii), RK["peer"]), reviewer_id=act[jj],
             score=score(qa[ii] + rng.normal(0, 4.0, len(ii))),
             dept_head_signed=np.full(len(ii), -1, dtype=np.int8), supervisor_signed=np.full(len(ii), -1, dtype=np.int8)),
        dict(person_id=act[has_dept], reviewer_kind=np.full(nd, RK["department"]), reviewer_id=np.full(nd, -1),
             score=score(qa[has_dept] + rng.normal(0, 3.0, nd)),
             dept_head_signed=_bool(rng, 0.97, nd), supervisor_signed=_bool(rng, 0.96, nd)),
    ], ["person_id", "reviewer_kind", "reviewer_id", "score", "dept_head_signed", "supervisor_signed"])
    out["reviews"]["year"] = np.full(out["reviews"].rows, year)

    # ---- major-matter reports ("三个规定") ------------------------------------------------------
    rng = rng_for(seed, "reports", u, year)
    nr = 0 if rng.random() < ZERO_REPORT_SHARE else int(rng.poisson(profile.reports_per_staff / (1 - ZERO_REPORT_SHARE) * n_act))
    boss = np.isin(act_pos, LEADER_POS) | (act_pos == POS["dept_head"])
    rw = np.where(boss, 3.0, 1.0)
    out["major_matter_reports"] = Frame(
        report_id=np.arange(1, nr + 1), unit_code=np.full(nr, u), reporter_id=act[rng.choice(n_act, size=nr, p=rw / rw.sum())],
        report_date=_uniform_days(rng, np.full(nr, jan1), dec31),
        category=_pick(rng, {"leader_interference": 0.3, "internal_inquiry": 0.3, "improper_contact": 0.4}, RCAT, nr),
        case_id=np.where((rng.random(nr) < 0.5) & (nc > 0), rng.integers(1, max(nc, 1) + 1, nr), -1),
    )

    # ---- duty activities (党风廉政建设履职) -------------------------------------------------------
    # Candidate rows (actor, type, target, period, probability) are built for all subjects at once,
    # then kept with their probability and dated uniformly inside their period.
    rng = rng_for(seed, "duty", u, year)
    cand: list[tuple] = []

    def rows(kind, actor, atype, p, lo=jan1, hi=dec31, target=-1, tdept=-1, n=None):
        arrs = [np.asarray(x) for x in (actor, p, lo, hi, target, tdept)]
        m = n if n is not None else max(len(np.atleast_1d(x)) for x in arrs)
        cand.append((np.full(m, ACTOR[kind]), np.full(m, ACT[atype]), *[np.broadcast_to(x, (m,)) for x in arrs]))

    halves = np.array([[jan1, jun30], [jul1, dec31]])
    quarters = np.array([[day(year, m), day(year, m + 3) - 1 if m < 10 else dec31] for m in (1, 4, 7, 10)])
    rows("party_group", -1, "special_meeting", 0.7 * dil, n=4)
    rows("party_group", -1, "work_report", 0.8 * dil, n=2)
    rows("party_group", -1, "special_inspection", 0.9 * dil, halves[:, 0], halves[:, 1])
    rows("party_group", -1, "special_rectification", 0.7 * dil, n=2)
    rows("party_group", -1, "responsibility_letter", 0.95 * dil, n=1)
    sec = r.secretary
    all_leaders = r.idx[r.active & r.leader_mask]
    others = all_leaders[all_leaders != sec]
    heads = np.unique(r.head[r.head >= 0])
    rows("secretary", sec, "lecture", 0.8 * dil, n=2)
    rows("secretary", sec, "interview", 0.9 * dil, target=others)
    rows("secretary", sec, "heart_talk", 0.85 * dil, target=np.concatenate([others, heads[~np.isin(heads, others)]]))
    rows("secretary", sec, "responsibility_letter", 0.95 * dil, target=others)
    n_d = len(r.supervisor)
    dq = np.repeat(np.arange(n_d), 4)  # department × quarter
    qq = np.tile(np.arange(4), n_d)
    ok = r.supervisor[dq] >= 0
    rows("leader", r.supervisor[dq][ok], "report_hearing", 0.85 * dil, quarters[qq[ok], 0], quarters[qq[ok], 1], tdept=dq[ok])
    ok &= r.head[dq] >= 0
    rows("leader", r.supervisor[dq][ok], "integrity_talk", 0.8 * dil, quarters[qq[ok], 0], quarters[qq[ok], 1], target=r.head[dq][ok])
    sups = np.unique(r.supervisor[r.supervisor >= 0])
    rows("leader", sups, "lecture", 0.85 * dil)
    ok = (r.supervisor >= 0) & (r.head >= 0)
    rows("leader", r.supervisor[ok], "responsibility_letter", 0.95 * dil, target=r.head[ok])
    mem = (act_dept >= 0) & (head_of >= 0) & (head_of != act)
    rows("dept_head", head_of[mem], "commitment_letter", 0.93 * dil, target=act[mem])
    exch = all_leaders[all_leaders != dh]
    hh = np.repeat([0, 1], len(exch))
    rows("discipline_group", -1, "opinion_exchange", 0.85 * dil, halves[hh, 0], halves[hh, 1], target=np.tile(exch, 2))
    rows("discipline_group", -1, "duty_report", 0.95 * dil, n=1)
    rows("discipline_group", -1, "special_inspection", 0.8 * dil, n=2)
    kind_, type_, actor_, p_, lo_, hi_, target_, tdept_ = (np.concatenate(x) for x in zip(*cand))
    keep = rng.random(len(kind_)) < p_
    nk = int(keep.sum())
    a = Frame(
        activity_id=np.arange(1, nk + 1), unit_code=np.full(nk, u), actor_kind=kind_[keep], actor_id=actor_[keep],
        activity_type=type_[keep], activity_date=_uniform_days(rng, lo_[keep], hi_[keep]), target_id=target_[keep],
        target_dept_code=tdept_[keep],
    )
    out["duty_activities"] = a

    # ---- democratic votes (民主测评) ----------------------------------------------------------
    rng = rng_for(seed, "votes", u, year)
    subj_leaders = all_leaders[(all_leaders != sec) & (all_leaders != dh)]
    subj_heads = np.intersect1d(heads, act)
    kinds = np.concatenate([[ACTOR["party_group"], ACTOR["secretary"]], np.full(len(subj_leaders), ACTOR["leader"]),
                            np.full(len(subj_heads), ACTOR["dept_head"]), [ACTOR["discipline_group"]]])
    subj = np.concatenate([[-1, sec], subj_leaders, subj_heads, [-1]])
    ns = len(subj)
    voters = max(int(round(n_act * 0.85)), 1)
    good = np.clip(0.25 + 0.6 * dil + rng.normal(0, 0.05, ns), 0.05, 0.95)
    probs = np.stack([good, np.full(ns, 0.25), np.full(ns, 0.08), np.full(ns, 0.02)], axis=1)
    probs = probs / probs.sum(axis=1, keepdims=True)
    votes = rng.multinomial(voters, probs)
    out["democratic_votes"] = Frame(
        year=np.full(ns, year), unit_code=np.full(ns, u), subject_kind=kinds, subject_id=subj,
        votes_good=votes[:, 0], votes_fairly_good=votes[:, 1], votes_average=votes[:, 2], votes_poor=votes[:, 3],
    )
    return out
