"""Staff of one unit across the years: leadership, departments, hires, moves, promotions, departures.

The same person keeps their person_id every year. Each year some leave at year end (retired or
transferred: they are in that year's roster with that status and gone the next year); vacancies are
filled by promotion (a department head becomes a leadership member, a prosecutor becomes a head);
new people are hired during the year (hire_date inside it) so that active staff stays near the target.
Everything is vectorized over the unit's people; the only loops are over years, leadership slots
and departments.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import numpy as np

from lianjian.contract import ENUMS
from lianjian.generate import names
from lianjian.generate.idnumber import id_numbers
from lianjian.generate.seeds import rng_for
from lianjian.generate.units import Unit

POS = {c: i for i, c in enumerate(ENUMS["position"].codes)}
EVT = {c: i for i, c in enumerate(ENUMS["event_type"].codes)}
STATUS = {c: i for i, c in enumerate(ENUMS["person_status"].codes)}
LEADER_POS = np.array([POS[p] for p in ("chief", "deputy_chief", "discipline_head", "political_director", "committee_member")])
QUOTA_LEADER_POS = (POS["chief"], POS["deputy_chief"], POS["committee_member"])
EPOCH = dt.date(1970, 1, 1)


def day(y: int, m: int = 1, d: int = 1) -> int:
    """Days since 1970-01-01."""
    return (dt.date(y, m, d) - EPOCH).days


@dataclass
class RosterYear:
    """One year's roster of a unit (local person indices) and its departments."""

    idx: np.ndarray  # local person index
    pos: np.ndarray  # position code index
    dept: np.ndarray  # local dept index, -1 for leadership
    quota: np.ndarray  # bool
    status: np.ndarray  # person_status code index
    head: np.ndarray  # per dept: local person index
    supervisor: np.ndarray  # per dept
    liaison: np.ndarray  # per dept (-1 when the department has nobody else)
    branch_secretary: np.ndarray  # per dept
    secretary: int  # party secretary (local index), flagged or not
    secretary_flagged: bool
    events: dict[str, np.ndarray]  # person, type, day: events the simulation itself causes

    @property
    def active(self) -> np.ndarray:
        return self.status == STATUS["active"]

    @property
    def leader_mask(self) -> np.ndarray:
        return np.isin(self.pos, LEADER_POS)


@dataclass
class UnitPeople:
    unit: Unit
    depts: tuple[tuple[str, str, str], ...]
    serial: np.ndarray
    name: np.ndarray
    id_number: np.ndarray
    hire_day: np.ndarray
    quality: np.ndarray  # integrity propensity, ~N(88, 5); lower means poorer reviews
    years: dict[int, RosterYear] = field(default_factory=dict)

    @property
    def size(self) -> int:
        return len(self.serial)


def _member_positions(rng: np.random.Generator, kinds: np.ndarray) -> np.ndarray:
    u = rng.random(len(kinds))
    case = np.select([u < 0.45, u < 0.80], [POS["prosecutor"], POS["assistant"]], POS["clerk"])
    police = np.where(u < 0.9, POS["judicial_police"], POS["other"])
    admin = np.select([u < 0.6, u < 0.9], [POS["other"], POS["clerk"]], POS["assistant"])
    return np.select([kinds == 0, kinds == 1], [case, police], admin)


def simulate_unit(unit: Unit, years: list[int], seed: int, hooks=None) -> UnitPeople:
    """Simulate one unit's staff over ``years`` (deterministic for seed and unit)."""
    rng = rng_for(seed, "people", unit.index)
    n_target = unit.staff
    n_dept = int(np.clip(round(n_target / 9), 4, len(names.DEPARTMENTS)))
    depts = names.DEPARTMENTS[:n_dept]
    dkind = np.array([{"case": 0, "police": 1, "admin": 2}[k] for _, _, k in depts])
    dweight = np.where(dkind == 0, 1.6, np.where(dkind == 1, 0.8, 0.6))
    dweight = dweight / dweight.sum()
    n_dep = 1 + (n_target >= 35) + (n_target >= 80) + (n_target >= 200)
    n_com = (n_target >= 50) + (n_target >= 150)
    slot_pos = np.array(
        [POS["chief"], POS["discipline_head"], POS["political_director"]] + [POS["deputy_chief"]] * n_dep + [POS["committee_member"]] * n_com
    )
    L = len(slot_pos)
    # Who supervises each department (a leadership slot): 办公室 the chief, 政治部 the political director,
    # 检务督察部 the discipline head, the others in turn the deputies and committee members.
    rota = list(range(3, L)) or [0]
    fixed = {"BGS": 0, "ZZB": 2, "JWD": 1}
    sup_slot = np.array([fixed.get(c, rota[i % len(rota)]) for i, (c, _, _) in enumerate(depts)])

    cap = n_target + int(n_target * 0.2 * len(years)) + 4 * len(years) + 20
    y0 = years[0]
    # Per-person state (local index).
    pos = np.full(cap, -1)
    dept = np.full(cap, -1)
    quota = np.zeros(cap, dtype=bool)
    alive = np.zeros(cap, dtype=bool)
    birth = np.zeros(cap, dtype=np.int64)
    hire = np.zeros(cap, dtype=np.int64)
    n_init = max(n_target, L + n_dept * 3)
    # Initial population: leaders, heads, members.
    pos[:L] = slot_pos
    quota[:L] = np.isin(slot_pos, QUOTA_LEADER_POS)
    pos[L : L + n_dept] = POS["dept_head"]
    dept[L : L + n_dept] = np.arange(n_dept)
    quota[L : L + n_dept] = dkind == 0
    m = n_init - L - n_dept
    mdept = np.concatenate([np.repeat(np.arange(n_dept), 2), rng.choice(n_dept, size=m - 2 * n_dept, p=dweight)])
    dept[L + n_dept : n_init] = mdept
    pos[L + n_dept : n_init] = _member_positions(rng, dkind[mdept])
    quota[L + n_dept : n_init] |= pos[L + n_dept : n_init] == POS["prosecutor"]
    alive[:n_init] = True
    age = np.concatenate([rng.integers(45, 58, L), rng.integers(36, 56, n_dept), rng.integers(23, 60, m)])
    birth[:n_init] = day(y0) - age * 365 - rng.integers(0, 365, n_init)
    hire[:n_init] = np.minimum(birth[:n_init] + (23 + rng.integers(0, 6, n_init)) * 365 + rng.integers(0, 365, n_init), day(y0) - 30)
    n = n_init
    slot_holder = np.arange(L)
    dept_head = np.arange(L, L + n_dept)
    flag_secretary = bool(rng.random() < 0.9)

    people = UnitPeople(unit=unit, depts=depts, serial=np.zeros(0), name=np.zeros(0), id_number=np.zeros(0), hire_day=hire, quality=np.zeros(0))
    for yi, y in enumerate(years):
        jan1, dec31 = day(y), day(y, 12, 31)
        ev_p, ev_t, ev_d = [], [], []

        def event(who, kind, when):
            ev_p.append(np.atleast_1d(who))
            ev_t.append(np.full(np.atleast_1d(who).shape, EVT[kind]))
            ev_d.append(np.atleast_1d(when))

        new = np.zeros(cap, dtype=bool)
        if yi > 0:
            # Fill leadership vacancies by promoting a department head; then department-head vacancies.
            for s in np.flatnonzero(slot_holder < 0):
                heads = dept_head[dept_head >= 0]
                who = heads[rng.integers(len(heads))] if len(heads) else None
                if who is None:
                    continue
                dept_head[dept[who]] = -1
                pos[who], dept[who], quota[who] = slot_pos[s], -1, slot_pos[s] in QUOTA_LEADER_POS
                slot_holder[s] = who
                event(who, "promotion", rng.integers(jan1, dec31 - 60))
            for d in np.flatnonzero(dept_head < 0):
                cand = np.flatnonzero(alive[:n] & (dept[:n] == d) & (pos[:n] != POS["dept_head"]))
                if not len(cand):
                    continue
                pref = cand[np.isin(pos[cand], (POS["prosecutor"], POS["judicial_police"], POS["other"]))]
                who = (pref if len(pref) else cand)[rng.integers(len(pref) if len(pref) else len(cand))]
                pos[who], quota[who] = POS["dept_head"], dkind[d] == 0
                dept_head[d] = who
                event(who, "promotion", rng.integers(jan1, dec31 - 30))
            # Hires during the year (hire_date inside it; onboarding is their 六必谈 occasion).
            n_hire = max(round(n_target * 1.04) - int(alive[:n].sum()), 0) + int(rng.poisson(0.3))
            if hooks is not None:
                n_hire = max(n_hire, hooks.min_hires(unit, y))
            n_hire = min(n_hire, cap - n)
            if n_hire:
                sl = slice(n, n + n_hire)
                hd = rng.choice(n_dept, size=n_hire, p=dweight)
                dept[sl], pos[sl] = hd, _member_positions(rng, dkind[hd])
                quota[sl] = pos[sl] == POS["prosecutor"]
                hire[sl] = rng.integers(jan1 + 5, dec31 - 45, n_hire)
                if hooks is not None:
                    forced = hooks.hire_day(unit, y)
                    if forced is not None:
                        hire[n] = forced
                birth[sl] = hire[sl] - rng.integers(23, 35, n_hire) * 365
                alive[sl], new[sl] = True, True
                event(np.arange(n, n + n_hire), "onboarding", hire[sl])
                n += n_hire
            # Moves between departments (岗位变动) and assistants promoted to prosecutor (晋升).
            members = np.flatnonzero(alive[:n] & ~new[:n] & (dept[:n] >= 0) & (pos[:n] != POS["dept_head"]))
            movers = members[rng.random(len(members)) < 0.04]
            if len(movers):
                dept[movers] = (dept[movers] + rng.integers(1, n_dept, len(movers))) % n_dept
                pos[movers] = _member_positions(rng, dkind[dept[movers]])
                quota[movers] = pos[movers] == POS["prosecutor"]
                event(movers, "position_change", rng.integers(jan1, dec31 + 1, len(movers)))
            asst = np.flatnonzero(alive[:n] & ~new[:n] & (pos[:n] == POS["assistant"]) & (dkind[np.maximum(dept[:n], 0)] == 0))
            up = asst[rng.random(len(asst)) < 0.05]
            if len(up):
                pos[up], quota[up] = POS["prosecutor"], True
                event(up, "promotion", rng.integers(jan1, dec31 + 1, len(up)))
        # Departures at year end: retirement (age 60 and some early), transfers.
        present = np.flatnonzero(alive[:n])
        age_y = (jan1 - birth[present]) // 365
        u = rng.random(len(present))
        old = present[(age_y >= 59) & (u < 0.7) & ~new[present]]
        early = present[(age_y < 59) & (u < 0.012) & ~new[present]]
        retire = np.concatenate([old, early])
        rest = np.setdiff1d(present, retire)
        transfer = rest[(rng.random(len(rest)) < 0.022) & ~new[rest]]
        if hooks is not None and yi < len(years) - 1:
            need = hooks.min_retirements(unit, y) - len(retire)
            if need > 0:
                cand = np.setdiff1d(present[(pos[present] != POS["dept_head"]) & ~np.isin(pos[present], LEADER_POS) & ~new[present]], transfer)
                retire = np.concatenate([retire, cand[:need]])
        status = np.full(cap, STATUS["active"])
        status[retire] = STATUS["retired"]
        status[transfer] = STATUS["transferred"]
        if len(retire):
            event(retire, "retirement", rng.integers(jan1 + 30, dec31 + 1, len(retire)))
        bosses = present[(pos[present] == POS["dept_head"]) | np.isin(pos[present], LEADER_POS)]
        dismissed = bosses[rng.random(len(bosses)) < 0.004]
        if len(dismissed):
            event(dismissed, "dismissal", rng.integers(jan1, dec31 + 1, len(dismissed)))
        # Departments of the year.
        sup = slot_holder[sup_slot]
        liaison = np.full(n_dept, -1)
        branch = dept_head.copy()
        for d in range(n_dept):
            mem = present[(dept[present] == d) & (present != dept_head[d])]
            if len(mem):
                liaison[d] = mem[rng.integers(len(mem))]
                if rng.random() < 0.4:
                    branch[d] = mem[rng.integers(len(mem))]
        people.years[y] = RosterYear(
            idx=present,
            pos=pos[present].copy(),
            dept=dept[present].copy(),
            quota=quota[present].copy(),
            status=status[present],
            head=dept_head.copy(),
            supervisor=sup.copy(),
            liaison=liaison,
            branch_secretary=branch,
            secretary=int(slot_holder[0]),
            secretary_flagged=flag_secretary,
            events={
                "person": np.concatenate(ev_p) if ev_p else np.zeros(0, dtype=np.int64),
                "type": np.concatenate(ev_t) if ev_t else np.zeros(0, dtype=np.int64),
                "day": np.concatenate(ev_d) if ev_d else np.zeros(0, dtype=np.int64),
            },
        )
        leavers = np.concatenate([retire, transfer])
        alive[leavers] = False
        slot_holder[np.isin(slot_holder, leavers)] = -1
        dept_head[np.isin(dept_head, leavers)] = -1
    # Names and identity numbers for everyone who ever appeared.
    male = rng.random(n) < 0.55
    people.serial = np.arange(1, n + 1)
    people.name = names.person_names(rng, n)
    people.id_number = id_numbers(rng, unit.province_digits, birth[:n], male)
    people.hire_day = hire[:n]
    people.quality = np.clip(rng.normal(88.0, 4.5, n), 55, 99)
    return people
