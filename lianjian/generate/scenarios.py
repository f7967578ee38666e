"""Rare-path scenarios of the demo landing zone: deterministic records that reach every branch of
docs/rules.md that random data might miss. Tests and docs (docs/generator.md) rely on these ids.

Years are relative to the first generated year Y0 (Y1 = Y0 + 1, …); a scenario whose years fall
outside ``--years`` is skipped. Units: SD (省院), SD-JN (市院), SD-JN-LC (区院). People are picked
by a fixed rule (smallest person_id with the needed role), so they are the same for a given seed.

| id  | unit, year | what | reaches |
|-----|------------|------|---------|
| S01 | SD-JN-LC, Y1–Y3 | 党组 and 党组书记 do almost no duties (one 专题会议) and get poor votes (2/3/5/15) | R3 较差 → R4 consecutive_poor (streak 2, 3) |
| S02 | SD-JN, Y1–last | one prosecutor reviewed 58 (self) / 50 (peers) / 52 (department) | R2 较差 several years → R4 consecutive_poor (integrity) |
| S03 | SD, Y2 | WJ-SD-<Y2>-901: a 第一检察部 member, criminal, judicial_transfer | R2 veto, R3 scope veto, R4 一案双查 |
| S04 | SD-JN, Y1 | WJ-SD-JN-<Y1>-901: serious, party_discipline | R2 veto, R4 一案双查 |
| S05 | SD, Y1 and Y2 | WJ-SD-<Y1>-902 and WJ-SD-<Y2>-902: serious violations in 第二检察部 in consecutive years | R3 scope deduction, R4 repeat_serious_violation |
| S06 | SD-JN, Y1 | events SJ-SD-JN-<Y1>-9001 (business_trip 1 Jan+9, talk 20 Dec of Y0), -9002 (promotion 25 Dec, talk 12 Jan of Y2), -9003 (sensitive_case, no talk) | R1 windows crossing New Year; an unfulfilled must_talk |
| S07 | SD-JN-LC, Y1 | a hire on 15 July (hire_date), onboarding event that day | R1 department_h1 not owed (due_to < hire_date) |
| S08 | SD, Y2 | two retirees: one retirement event on 20 Dec with its must_talk on 8 Jan of Y3, one with no talk | R1 must_talk owed to retired people |
| S09 | SD-JN, Y1 | AJ-SD-JN-<Y1>-90001..90003: special cases, two not fully verified (核定) | R6 special_unverified, R3 special_cases_verified |
| S10 | SD every year; SD-JN-LC Y1 | the chief handles a major case (AJ-SD-<Y>-90001); SD-JN-LC's deputy chiefs handle none in Y1 | R5 chiefs_on_major, implemented = false |
| S11 | SD-JN-LC, Y2 | no major-matter report at all | R7 zero_report |
| S12 | SD-JN-LC, Y1 | first eligible person: no department review | R2 status incomplete |
| S13 | SD-JN-LC, Y1 | second eligible person: department review not signed by the supervisor | R2 status signoff_pending |
| S14 | SD, Y1 | first eligible 第一检察部 member: self 90, six peers 95/90/88/86/84/60, department 88 | R2 peer trimming: (90+88+86+84)/4 = 87; review_score 0.2·90 + 0.4·87 + 0.4·88 = 88.00 |
"""

from __future__ import annotations

import datetime as dt

import polars as pl

from lianjian.generate.people import day

PROVINCE, CITY, COUNTY = "SD", "SD-JN", "SD-JN-LC"


class Hooks:
    """What the staff simulation must make sure of for the scenarios (S07, S08, mid-year hires)."""

    def __init__(self, years: list[int]):
        self.years = years
        self.y0 = years[0]

    def min_hires(self, unit, year: int) -> int:
        return 1  # every demo unit hires someone every year after the first (mid-year hires)

    def hire_day(self, unit, year: int) -> int | None:
        return day(year, 7, 15) if unit.code == COUNTY and year == self.y0 + 1 else None  # S07

    def min_retirements(self, unit, year: int) -> int:
        return 2 if unit.code == PROVINCE and year == self.y0 + 2 else 0  # S08


def _d(y: int, m: int, d: int) -> dt.date:
    return dt.date(y, m, d)


def _year(col: str) -> pl.Expr:
    return pl.col(col).dt.year()


def _roster(f: dict, unit: str, year: int) -> pl.DataFrame:
    return f["personnel"].filter((pl.col("unit_code") == unit) & (pl.col("year") == year)).sort("person_id")


def _dept(f: dict, unit: str, year: int, code: str) -> dict | None:
    d = f["departments"].filter((pl.col("unit_code") == unit) & (pl.col("year") == year) & (pl.col("dept_code") == code))
    return d.row(0, named=True) if d.height else None


def _append(f: dict, source: str, rows: list[dict]) -> None:
    schema = f[source].schema
    f[source] = pl.concat([f[source], pl.DataFrame(rows, schema=schema)], how="vertical")


def _member(f: dict, unit: str, year: int, dept: str | None = None, exclude=(), positions=("prosecutor",)) -> str | None:
    r = _roster(f, unit, year).filter(
        (pl.col("status") == "active") & pl.col("position").is_in(list(positions)) & ~pl.col("person_id").is_in(list(exclude))
    )
    if dept is not None:
        r = r.filter(pl.col("dept_code") == dept)
    heads = f["departments"].filter(pl.col("year") == year)["head_id"].drop_nulls()
    r = r.filter(~pl.col("person_id").is_in(heads.implode()))
    return r["person_id"][0] if r.height else None


def _active_all(f: dict, unit: str, years: list[int]) -> pl.DataFrame:
    """Prosecutors of ``unit`` active in every one of ``years`` with the same department."""
    p = f["personnel"].filter((pl.col("unit_code") == unit) & pl.col("year").is_in(years) & (pl.col("status") == "active")
                              & (pl.col("position") == "prosecutor"))
    g = p.group_by("person_id", maintain_order=True).agg(pl.len().alias("n"), pl.col("dept_code").n_unique().alias("nd"))
    return g.filter((pl.col("n") == len(years)) & (pl.col("nd") == 1)).sort("person_id")


def _violation(vid, pid, occurred, decided, category, severity, sanction) -> dict:
    return dict(violation_id=vid, person_id=pid, occurred_date=occurred, decided_date=decided, category=category,
                severity=severity, sanction=sanction)


def _talk(tid, when, kind, interviewer, interviewee, reason=None, event=None, witness=None) -> dict:
    return dict(talk_id=tid, talk_date=when, talk_type=kind, interviewer_id=interviewer, interviewee_id=interviewee,
                reason=reason, event_id=event, witness_id=witness, form_filed=True, family_signed=None)


def apply(frames: dict[str, pl.DataFrame], years: list[int]) -> dict[str, pl.DataFrame]:
    """The demo frames with every scenario whose years are generated."""
    f = dict(frames)
    y0 = years[0]
    has = lambda *ys: all(y in years for y in ys)  # noqa: E731
    y1, y2, y3 = y0 + 1, y0 + 2, y0 + 3

    # S01 — a neglectful party group (SD-JN-LC), Y1..Y3.
    for y in (y1, y2, y3):
        if not has(y):
            continue
        da = f["duty_activities"]
        mine = (pl.col("unit_code") == COUNTY) & (_year("activity_date") == y) & pl.col("actor_kind").is_in(["party_group", "secretary"])
        f["duty_activities"] = da.filter(~mine)
        _append(f, "duty_activities", [dict(activity_id=f"LZ-{COUNTY}-{y}-9001", unit_code=COUNTY, actor_kind="party_group",
                                            actor_id=None, activity_type="special_meeting", activity_date=_d(y, 3, 10),
                                            target_id=None, target_dept_code=None)])
        v = f["democratic_votes"]
        sel = (pl.col("unit_code") == COUNTY) & (pl.col("year") == y) & pl.col("subject_kind").is_in(["party_group", "secretary"])
        f["democratic_votes"] = v.with_columns(
            *[pl.when(sel).then(pl.lit(n, dtype=pl.Int64)).otherwise(pl.col(c)).alias(c)
              for c, n in (("votes_good", 2), ("votes_fairly_good", 3), ("votes_average", 5), ("votes_poor", 15))]
        )

    # S02 — a person reviewed poorly year after year (SD-JN).
    span = [y for y in years if y >= y1]
    cands = _active_all(f, CITY, span) if span else pl.DataFrame()
    if span and cands.height:
        pid = cands["person_id"][0]
        rv = f["reviews"]
        mine = (pl.col("person_id") == pid) & pl.col("year").is_in(span)
        peers = rv.filter(mine & (pl.col("reviewer_kind") == "peer")).with_columns(score=pl.lit(50.0))
        f["reviews"] = pl.concat([rv.filter(~mine), peers], how="vertical")
        _append(f, "reviews", [r for y in span for r in (
            dict(year=y, person_id=pid, reviewer_kind="self", reviewer_id=None, score=58.0, dept_head_signed=None, supervisor_signed=None),
            dict(year=y, person_id=pid, reviewer_kind="department", reviewer_id=None, score=52.0, dept_head_signed=True, supervisor_signed=True),
        )])

    # S03 — a criminal violation (SD, Y2).
    s03 = None
    if has(y2):
        s03 = _member(f, PROVINCE, y2, "JC1")
        if s03:
            _append(f, "violations", [_violation(f"WJ-{PROVINCE}-{y2}-901", s03, _d(y2, 1, 20), _d(y2, 3, 15), "integrity", "criminal", "judicial_transfer")])

    # S04 — party discipline (SD-JN, Y1).
    if has(y1):
        p = _member(f, CITY, y1, positions=("assistant", "clerk", "prosecutor"))
        if p:
            _append(f, "violations", [_violation(f"WJ-{CITY}-{y1}-901", p, _d(y1, 2, 1), _d(y1, 5, 20), "eight_rules", "serious", "party_discipline")])

    # S05 — serious violations in the same department two years running (SD 第二检察部).
    if has(y1, y2):
        a = _member(f, PROVINCE, y1, "JC2", positions=("prosecutor", "assistant", "clerk"))
        b = _member(f, PROVINCE, y2, "JC2", exclude=[a] if a else [], positions=("prosecutor", "assistant", "clerk"))
        if a and b:
            _append(f, "violations", [
                _violation(f"WJ-{PROVINCE}-{y1}-902", a, _d(y1, 3, 1), _d(y1, 6, 10), "case_handling", "serious", "procuratorial_discipline"),
                _violation(f"WJ-{PROVINCE}-{y2}-902", b, _d(y2, 5, 2), _d(y2, 9, 20), "three_rules", "serious", "organizational"),
            ])

    # S06 — must-talk windows across New Year (SD-JN, Y1).
    if has(y1):
        span6 = [y for y in (y1, y2) if y in years]
        c6 = _active_all(f, CITY, span6)
        if c6.height:
            q = c6["person_id"][-1]
            r = _roster(f, CITY, y1).filter(pl.col("person_id") == q).row(0, named=True)
            d = _dept(f, CITY, y1, r["dept_code"])
            ev = lambda n: f"SJ-{CITY}-{y1}-{n}"  # noqa: E731
            _append(f, "personnel_events", [
                dict(event_id=ev(9001), person_id=q, event_type="business_trip", event_date=_d(y1, 1, 10)),
                dict(event_id=ev(9002), person_id=q, event_type="promotion", event_date=_d(y1, 12, 25)),
                dict(event_id=ev(9003), person_id=q, event_type="sensitive_case", event_date=_d(y1, 1, 5)),
            ])
            _append(f, "talks", [
                _talk(f"TH-{CITY}-{y1}-90001", _d(y0, 12, 20), "must_talk", d["head_id"], q, "business_trip", ev(9001), d["liaison_id"]),
                _talk(f"TH-{CITY}-{y1}-90002", _d(y1 + 1, 1, 12), "must_talk", d["head_id"], q, "promotion", ev(9002), d["liaison_id"]),
            ])

    # S08 — retired people owed a must-talk (SD, Y2).
    if has(y2):
        ret = _roster(f, PROVINCE, y2).filter(pl.col("status") == "retired")["person_id"]
        ev = f["personnel_events"]
        sel = lambda p: (pl.col("person_id") == p) & (pl.col("event_type") == "retirement") & (_year("event_date") == y2)  # noqa: E731
        if len(ret) >= 2:
            r1, r2 = ret[0], ret[1]
            e1 = ev.filter(sel(r1))["event_id"]
            if len(e1):
                f["personnel_events"] = ev.with_columns(
                    event_date=pl.when(pl.col("event_id") == e1[0]).then(pl.lit(_d(y2, 12, 20))).otherwise("event_date"))
            t = f["talks"]
            f["talks"] = t.filter(~((pl.col("talk_type") == "must_talk") & (pl.col("reason") == "retirement")
                                    & pl.col("interviewee_id").is_in([r1, r2])))
            if len(e1):
                roster = _roster(f, PROVINCE, y2).filter(pl.col("person_id") == r1).row(0, named=True)
                d = _dept(f, PROVINCE, y2, roster["dept_code"]) if roster["dept_code"] else None
                who = d["head_id"] if d else None
                _append(f, "talks", [_talk(f"TH-{PROVINCE}-{y2}-90001", _d(y2 + 1, 1, 8), "must_talk", who, r1, "retirement", e1[0],
                                           d["liaison_id"] if d else None)])

    # S09 — special cases not fully verified (SD-JN, Y1).
    if has(y1):
        h = _member(f, CITY, y1)
        if h:
            base = dict(unit_code=CITY, handler_id=h, is_major=False, quality_rating=None, error_type=None)
            _append(f, "cases", [
                dict(base, case_id=f"AJ-{CITY}-{y1}-90001", category="public_prosecution", accepted_date=_d(y1, 2, 10), closed_date=_d(y1, 5, 6),
                     outcome="not_prosecuted", dept_verified=False, supervisor_verified=True, public_complaint=False),
                dict(base, case_id=f"AJ-{CITY}-{y1}-90002", category="self_investigation", accepted_date=_d(y1, 3, 1), closed_date=_d(y1, 4, 20),
                     outcome="not_filed", dept_verified=False, supervisor_verified=False, public_complaint=False),
                dict(base, case_id=f"AJ-{CITY}-{y1}-90003", category="complaint_appeal", accepted_date=_d(y1, 6, 1), closed_date=_d(y1, 7, 15),
                     outcome="other", dept_verified=True, supervisor_verified=True, public_complaint=True),
            ])

    # S10 — the chief on a major case every year (SD); no case for SD-JN-LC's deputy chiefs in Y1.
    for y in years:
        chief = _roster(f, PROVINCE, y).filter((pl.col("position") == "chief") & (pl.col("status") == "active"))["person_id"]
        if len(chief):
            _append(f, "cases", [dict(case_id=f"AJ-{PROVINCE}-{y}-90001", unit_code=PROVINCE, category="public_prosecution", handler_id=chief[0],
                                      is_major=True, accepted_date=_d(y, 3, 3), closed_date=_d(y, 8, 18), outcome="prosecuted",
                                      quality_rating="excellent", error_type=None, dept_verified=False, supervisor_verified=False,
                                      public_complaint=False)])
    if has(y1):
        deps = _roster(f, COUNTY, y1).filter(pl.col("position") == "deputy_chief")["person_id"]
        sub = _member(f, COUNTY, y1)
        if len(deps) and sub:
            c = f["cases"]
            touch = pl.col("handler_id").is_in(deps.implode()) & (pl.col("unit_code") == COUNTY) & (_year("accepted_date") <= y1) & (
                pl.col("closed_date").is_null() | (_year("closed_date") >= y1))
            f["cases"] = c.with_columns(handler_id=pl.when(touch).then(pl.lit(sub)).otherwise("handler_id"))

    # S11 — no major-matter report (SD-JN-LC, Y2).
    if has(y2):
        f["major_matter_reports"] = f["major_matter_reports"].filter(~((pl.col("unit_code") == COUNTY) & (_year("report_date") == y2)))

    # S12/S13 — incomplete and signoff_pending (SD-JN-LC, Y1).
    if has(y1):
        rv = f["reviews"]
        dept_rows = rv.filter((pl.col("year") == y1) & (pl.col("reviewer_kind") == "department"))
        people = _roster(f, COUNTY, y1).filter((pl.col("status") == "active") & pl.col("dept_code").is_not_null())["person_id"]
        cands = [p for p in people.to_list() if p in set(dept_rows["person_id"].to_list())][:2]
        if len(cands) == 2:
            p12, p13 = cands
            is_dept = (pl.col("year") == y1) & (pl.col("reviewer_kind") == "department")
            rv = rv.filter(~(is_dept & (pl.col("person_id") == p12)))
            f["reviews"] = rv.with_columns(
                dept_head_signed=pl.when(is_dept & (pl.col("person_id") == p13)).then(True).otherwise("dept_head_signed"),
                supervisor_signed=pl.when(is_dept & (pl.col("person_id") == p13)).then(False).otherwise("supervisor_signed"),
            )

    # S14 — six peer reviews, trimmed (SD, Y1).
    if has(y1):
        p = _member(f, PROVINCE, y1, "JC1", exclude=[s03] if s03 else [])
        if p:
            mates = _roster(f, PROVINCE, y1).filter(pl.col("person_id") != p)["person_id"].head(6).to_list()
            rv = f["reviews"]
            f["reviews"] = rv.filter(~((pl.col("person_id") == p) & (pl.col("year") == y1)))
            rows = [dict(year=y1, person_id=p, reviewer_kind="self", reviewer_id=None, score=90.0, dept_head_signed=None, supervisor_signed=None)]
            rows += [dict(year=y1, person_id=p, reviewer_kind="peer", reviewer_id=m, score=s, dept_head_signed=None, supervisor_signed=None)
                     for m, s in zip(mates, (95.0, 90.0, 88.0, 86.0, 84.0, 60.0))]
            rows.append(dict(year=y1, person_id=p, reviewer_kind="department", reviewer_id=None, score=88.0, dept_head_signed=True, supervisor_signed=True))
            _append(f, "reviews", rows)
    return f
