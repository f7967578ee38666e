"""R1 — talk obligations: 三谈话 (family, department leader, supervising leader) and 六必谈 (the
must-talk occasions). 连云港意见 二（一）至（三）; docs/rules.md R1.

``talk_obligations(roster, departments, events, talks, rules)`` gives one row per obligation owed in a
year — who is owed it, who is responsible for it, its due period, and the earliest talk that fulfils
it — in the columns of ``PUBLISHED["talk_obligations"]``.

For R3 (庆城办法 第四条至第十三条): the obligations "towards others" a subject is responsible for are
every obligation with that subject as ``responsible_id`` except its own family talk —
``obligations_towards_others``, which the R3 duty item ``obligations`` reads. (``responsible_id`` of a
family obligation is the person themself, so dropping the family rows drops exactly "its own family
talk".)

How an obligation is matched is one small table per obligation (``_talk_type``, ``_interviewer``,
``_reason``, ``_needs_witness``, ``_needs_family_signed``), read off the R1 table, so the matching
itself is written once (``_fulfil``).
"""

from __future__ import annotations

import polars as pl

from lianjian.contract import ENUMS, PUBLISHED
from lianjian.rules_config import Rules
from lianjian.scoring.common import IN_MEMORY, active, is_leadership, materialize, party_secretaries, year_of

TABLE = PUBLISHED["talk_obligations"]

# The obligation codes of the published enumeration (docs/rules.md R1, first column of the table).
FAMILY, DEPARTMENT_H1, DEPARTMENT_H2, SUPERVISOR, MUST_TALK = (
    "family",
    "department_h1",
    "department_h2",
    "supervisor",
    "must_talk",
)
assert {FAMILY, DEPARTMENT_H1, DEPARTMENT_H2, SUPERVISOR, MUST_TALK} == set(ENUMS["obligation"].codes)

# The talk types that fulfil each obligation (docs/rules.md R1, last column); codes of enum talk_type.
_TALK_TYPE = {
    FAMILY: "family",
    DEPARTMENT_H1: "department",
    DEPARTMENT_H2: "department",
    SUPERVISOR: "supervisor",
    MUST_TALK: "must_talk",
}
assert set(_TALK_TYPE.values()) <= set(ENUMS["talk_type"].codes)

#: Each obligation code's place in the codes' text order, carried by every obligation as a small
#: integer: the table is sorted by its key, whose ``obligation`` is published as text
#: (department_h1 < department_h2 < family < must_talk < supervisor).
_ORDER = {code: i for i, code in enumerate(sorted(ENUMS["obligation"].codes))}

_MATCH_COLUMNS = ("_talk_type", "_interviewer", "_reason", "_needs_witness", "_needs_family_signed")


def _year_start(year: pl.Expr = pl.col("year")) -> pl.Expr:
    return pl.date(year, 1, 1)


def _year_end(year: pl.Expr = pl.col("year")) -> pl.Expr:
    return pl.date(year, 12, 31)


def _with_department(roster: pl.LazyFrame, departments: pl.LazyFrame) -> pl.LazyFrame:
    """Roster rows with the head and supervisor of P's department D of that year (null when P has no
    department, or D names none)."""
    d = departments.select("year", "unit_code", "dept_code", "head_id", "supervisor_id")
    return roster.join(d, on=["year", "unit_code", "dept_code"], how="left")


def _obligation(
    people: pl.LazyFrame,
    obligation: str,
    *,
    due_from: pl.Expr,
    due_to: pl.Expr,
    responsible: pl.Expr,
    interviewer: pl.Expr | None,
    needs_witness: bool,
    needs_family_signed: bool,
) -> pl.LazyFrame:
    """One yearly obligation (family, department half, supervisor) for each row of ``people``."""
    return people.select(
        "year",
        "unit_code",
        "dept_code",
        "person_id",
        pl.lit(obligation).alias("obligation"),
        pl.lit(None, pl.String).alias("event_id"),
        responsible.cast(pl.String).alias("responsible_id"),
        due_from.alias("due_from"),
        due_to.alias("due_to"),
        "hire_date",
        "_person",
        pl.lit(_ORDER[obligation], pl.UInt8).alias("_order"),
        pl.lit(_TALK_TYPE[obligation]).alias("_talk_type"),
        (interviewer if interviewer is not None else pl.lit(None, pl.String)).cast(pl.String).alias("_interviewer"),
        pl.lit(None, pl.String).alias("_reason"),
        pl.lit(needs_witness).alias("_needs_witness"),
        pl.lit(needs_family_signed).alias("_needs_family_signed"),
    )


def family_obligations(people: pl.LazyFrame) -> pl.LazyFrame:
    """家人廉政谈话: every active P, due in Y, P responsible; a family talk with interviewee P, dated in
    Y, family_signed and form_filed (连云港意见 二（一）)."""
    return _obligation(
        people,
        FAMILY,
        due_from=_year_start(),
        due_to=_year_end(),
        responsible=pl.col("person_id"),
        interviewer=None,
        needs_witness=False,
        needs_family_signed=True,
    )


def department_obligations(people: pl.LazyFrame) -> pl.LazyFrame:
    """部门领导谈话, once in each half of Y, when D has a head other than P; the head of D is
    responsible and holds it with a discipline liaison present (连云港意见 二（二）: 每半年进行一次)."""
    owed = people.filter(pl.col("head_id").is_not_null() & (pl.col("head_id") != pl.col("person_id")))
    halves = [
        (DEPARTMENT_H1, _year_start(), pl.date(pl.col("year"), 6, 30)),
        (DEPARTMENT_H2, pl.date(pl.col("year"), 7, 1), _year_end()),
    ]
    return pl.concat(
        [
            _obligation(
                owed,
                code,
                due_from=start,
                due_to=end,
                responsible=pl.col("head_id"),
                interviewer=pl.col("head_id"),
                needs_witness=True,
                needs_family_signed=False,
            )
            for code, start, end in halves
        ]
    )


def supervisor_obligations(people: pl.LazyFrame) -> pl.LazyFrame:
    """分管领导谈话, once in Y, when D has a supervisor other than P; the supervisor is responsible and
    holds it with a discipline liaison present (连云港意见 二（三）: 分管领导与分管部门每名干警每年谈心一次)."""
    owed = people.filter(pl.col("supervisor_id").is_not_null() & (pl.col("supervisor_id") != pl.col("person_id")))
    return _obligation(
        owed,
        SUPERVISOR,
        due_from=_year_start(),
        due_to=_year_end(),
        responsible=pl.col("supervisor_id"),
        interviewer=pl.col("supervisor_id"),
        needs_witness=True,
        needs_family_signed=False,
    )


def must_talk_windows(rules: Rules, years: list[int]) -> pl.DataFrame:
    """(year, event_type, _from, _to): the must-talk window in days around the event date, from the
    rules file ``talks.must_talk_windows`` in force in the year of the event."""
    rows = [
        (y, event_type, w.from_, w.to)
        for y in sorted(set(years))
        for event_type, w in rules.settings(y).talks.must_talk_windows.items()
    ]
    return pl.DataFrame(
        rows,
        schema={"year": pl.Int64, "event_type": pl.String, "_from": pl.Int64, "_to": pl.Int64},
        orient="row",
    )


def must_talk_responsible() -> pl.Expr:
    """Who is responsible for P's must-talk (docs/rules.md R1), in this order: if P is the party
    secretary, nobody — whatever P's department; if P is a leadership member, the party secretary; if
    P heads D, D's supervisor; otherwise D's head. With no department, no such person, or only P
    themself, nobody (null): the obligation still stands."""
    person = pl.col("person_id")
    supervisor, head = pl.col("supervisor_id"), pl.col("head_id")
    return (
        pl.when((pl.col("secretary_id") == person).fill_null(False))
        .then(pl.lit(None, pl.String))
        .when(is_leadership())
        .then(pl.col("secretary_id"))
        .when((head == person).fill_null(False))
        .then(pl.when(supervisor != person).then(supervisor))
        .otherwise(head)
    )


def must_talk_obligations(people: pl.LazyFrame, events: pl.LazyFrame, rules: Rules) -> pl.LazyFrame:
    """六必谈: one obligation per event whose person is in the roster of the event's year, whatever
    their status; due in the event's window (which may cross New Year: it still belongs to the year
    of the event date); a must_talk talk with interviewee P, reason = event_type, witness present,
    form filed, and — if it names an event — naming this one (连云港意见 二（二）: 坚持"六必谈")."""
    ev = events.select(
        "event_id",
        "person_id",
        pl.col("event_type").cast(pl.String),
        "event_date",
        year_of(pl.col("event_date")).alias("year"),
    )
    years = ev.select(pl.col("year").unique()).collect().get_column("year").drop_nulls().to_list()
    windows = must_talk_windows(rules, years).lazy()
    return (
        ev.join(people, on=["year", "person_id"], how="inner")
        .join(windows, on=["year", "event_type"], how="left")
        .select(
            "year",
            "unit_code",
            "dept_code",
            "person_id",
            pl.lit(MUST_TALK).alias("obligation"),
            "event_id",
            must_talk_responsible().cast(pl.String).alias("responsible_id"),
            (pl.col("event_date") + pl.duration(days=pl.col("_from"))).alias("due_from"),
            (pl.col("event_date") + pl.duration(days=pl.col("_to"))).alias("due_to"),
            "hire_date",
            "_person",
            pl.lit(_ORDER[MUST_TALK], pl.UInt8).alias("_order"),
            pl.lit(_TALK_TYPE[MUST_TALK]).alias("_talk_type"),
            pl.lit(None, pl.String).alias("_interviewer"),
            pl.col("event_type").alias("_reason"),
            pl.lit(True).alias("_needs_witness"),
            pl.lit(False).alias("_needs_family_signed"),
        )
    )


#: The talks' columns the matching reads, under the names it gives them. ``_t_form`` must hold for
#: every obligation; the witness and the family's signature are flags the obligation may ask for.
_TALK_COLUMNS = {
    "talk_id": pl.col("talk_id"),
    "talk_date": pl.col("talk_date"),
    "_talk_type": pl.col("talk_type"),
    "person_id": pl.col("interviewee_id"),
    "_t_interviewer": pl.col("interviewer_id"),
    "_t_reason": pl.col("reason"),
    "_t_event": pl.col("event_id"),
    "_t_witness": pl.col("witness_id").is_not_null(),
    "_t_form": pl.col("form_filed").fill_null(False),
    "_t_signed": pl.col("family_signed").fill_null(False),
}


def _pairs_in_window(ob: pl.LazyFrame, t: pl.DataFrame) -> pl.DataFrame:
    """(_row, _t, talk_date): each obligation (``_row``) with each talk (``_t``, the talk's row in
    ``t``) of its person and talk type dated in its due period, form filed, with a witness and the
    family's signature where the obligation asks for them — the conditions on dates and flags. The
    join carries row numbers, dates and flags only: the text the other conditions compare
    (interviewer, reason, event) is taken for the pairs that pass (``_matching_pairs``), not carried
    through every candidate pair (1/6 of national: 1.74 M pairs, 1.07 M in their due period)."""
    # A window inside one calendar year can only be met by a talk of that year: join those on the
    # year too (not every year's talks of the person against every year's obligations); windows
    # across New Year (must-talk) or without dates are joined on person and type alone.
    one_year = pl.col("due_from").dt.year() == pl.col("due_to").dt.year()
    # the talk type joined on as the talks' own enumeration (the obligations' codes are among its
    # codes), not every talk's type cast to text: 1/6 of national, 1.5 -> 1.25 CPU-s for the
    # matching (docs/performance.md, "Scoring for less")
    cands = ob.select(
        "_row", "person_id", pl.col("_talk_type").cast(t.schema["_talk_type"]), "due_from", "due_to", "_needs_witness", "_needs_family_signed"
    )
    talks = (
        t.lazy()
        .with_row_index("_t")
        .filter(pl.col("_t_form"))
        .select("_t", "person_id", "_talk_type", "talk_date", "_t_witness", "_t_signed")
    )
    by_year = (
        cands.filter(one_year.fill_null(False))
        .with_columns(pl.col("due_from").dt.year().alias("_bucket"))
        .join(talks.with_columns(pl.col("talk_date").dt.year().alias("_bucket")), on=["person_id", "_talk_type", "_bucket"])
        .drop("_bucket")
    )
    across = cands.filter(~one_year.fill_null(False)).join(talks, on=["person_id", "_talk_type"], how="inner")
    return (
        pl.concat([by_year, across], how="vertical")
        .filter(
            pl.col("talk_date").is_between(pl.col("due_from"), pl.col("due_to"), closed="both"),
            ~pl.col("_needs_witness") | pl.col("_t_witness"),
            ~pl.col("_needs_family_signed") | pl.col("_t_signed"),
        )
        .select("_row", "_t", "talk_date")
        .collect()
    )


def _matching_pairs(ob: pl.LazyFrame, t: pl.DataFrame, pairs: pl.DataFrame) -> pl.LazyFrame:
    """The pairs of ``_pairs_in_window`` whose talk also has the obligation's interviewer and reason
    and, for a must-talk, names no other event: the text compared is taken by row number (``_row``
    of the obligations, ``_t`` of the talks) for these pairs alone."""
    mine = ob.select("_interviewer", "_reason", "event_id", (pl.col("obligation") == MUST_TALK).alias("_must")).collect()
    theirs = t.select("_t_interviewer", "_t_reason", "_t_event")
    both = pl.concat(
        [pairs, mine.gather(pairs.get_column("_row")), theirs.gather(pairs.get_column("_t"))], how="horizontal"
    )
    return both.lazy().filter(
        pl.col("_interviewer").is_null() | (pl.col("_t_interviewer") == pl.col("_interviewer")).fill_null(False),
        pl.col("_reason").is_null() | (pl.col("_t_reason").cast(pl.String) == pl.col("_reason")).fill_null(False),
        ~pl.col("_must") | pl.col("_t_event").is_null() | (pl.col("_t_event") == pl.col("event_id")).fill_null(False),
    ).select("_row", "_t", "talk_date")


def _earliest(matches: pl.DataFrame, t: pl.DataFrame) -> tuple[pl.Series, pl.Series]:
    """(rows, talk ids): for each obligation with a matching talk, its earliest by (talk_date,
    talk_id). The pairs are sorted by two integers (the obligation's row, the date) and each row's
    first taken; where a row's first date is shared by another of its talks (a few in a thousand),
    those rows are decided by the talk ids themselves, as ``sort_by("talk_date", "talk_id")`` would
    (a group-by of every pair sorting its talk ids cost a fifth of the matching)."""
    ordered = matches.sort("_row", "talk_date")
    row, date = ordered.get_column("_row"), ordered.get_column("talk_date")
    leads = (row != row.shift(1)).fill_null(True)
    first = ordered.filter(leads)
    ids = t.get_column("talk_id").gather(first.get_column("_t"))
    tied = ordered.filter(leads.shift(1).fill_null(False) & (row == row.shift(1)) & (date == date.shift(1))).get_column("_row")
    if tied.len():
        some = matches.filter(pl.col("_row").is_in(tied.implode()))
        some = some.with_columns(t.get_column("talk_id").gather(some.get_column("_t")).alias("talk_id"))
        least = some.group_by("_row").agg(pl.col("talk_id").sort_by("talk_date", "talk_id").first())
        # the tied rows' ids put in their places among the first rows (both sets of rows are
        # distinct row numbers; ``first`` is in row order)
        at = first.get_column("_row").search_sorted(least.get_column("_row"))
        ids = ids.scatter(at, least.get_column("talk_id"))
    return first.get_column("_row"), ids


def _fulfil(obligations: pl.LazyFrame, talks: pl.LazyFrame) -> pl.LazyFrame:
    """Attach the earliest matching talk (ties: smallest talk_id) to each obligation; a talk may
    fulfil several obligations. Empty booleans count as false. The obligations keep their order.

    In three steps, over row numbers: the pairs of an obligation and a talk of its person and type
    in its due period, with the flags it asks for (``_pairs_in_window``); of those, the talks with
    its interviewer, reason and event (``_matching_pairs``); each obligation's earliest
    (``_earliest``). The candidate pairs carry no text but the join keys (1/6 of national: the
    matching 1.27 -> 0.91 CPU-s; docs/performance.md, "The talk obligations matched over row
    numbers")."""
    # computed once: the row numbers must name the same rows in the matches and in the final join
    # (upstream joins do not keep row order, so a second evaluation could number them differently)
    # (the in-memory engine: the obligations are built by joins and concatenations of frames that
    # fit in memory; 1/6 of national, R1 2.35 -> 2.2 CPU-s, the same memory)
    (ob,) = materialize(obligations.with_row_index("_row"), engine=IN_MEMORY)
    # the talks' columns read once, so that a talk's row number names the same talk in every step
    t = talks.select(**_TALK_COLUMNS).collect()
    rows, ids = _earliest(_matching_pairs(ob, t, _pairs_in_window(ob, t)).collect(), t)
    # each obligation's talk put in its row (``_row`` numbers the rows from 0): the obligations keep
    # their order, with no join back to them
    talk_id = pl.repeat(None, ob.select(pl.len()).collect().item(), dtype=pl.String, eager=True)
    talk_id = talk_id.scatter(rows, ids).alias("talk_id")
    return ob.with_columns(talk_id, talk_id.is_not_null().alias("fulfilled"))


def talk_obligations(
    roster: pl.LazyFrame,
    departments: pl.LazyFrame,
    events: pl.LazyFrame,
    talks: pl.LazyFrame,
    rules: Rules,
) -> pl.LazyFrame:
    """R1 (连云港意见 二（一）至（三）): every talk obligation owed in each roster year, who is
    responsible, its due period, and whether (and by which talk) it was fulfilled.

    family / department_h1 / department_h2 / supervisor for people active in Y; must_talk for every
    event whose person is in the roster of the event's year, whatever the status. An obligation whose
    due period ends before P's hire_date is not owed.

    Sorted by the table key, an empty event_id last: the order publishing writes the table in
    (``lianjian.publish.publish.prepare``: the key, then the other columns, empty values last), so
    that a year's rows are written in the published form without a second sort
    (``lianjian.publish.publish.IN_ORDER``). The key alone decides: it is unique — one family,
    department-half and supervisor obligation per person and year (the roster's key is (year,
    person_id), a unit has one party secretary and a department one head and supervisor), one
    must-talk per event (the events' key) — and its text is never empty (person_id and event_id are
    required in their sources).

    The rows are put in that order without sorting the table by its text key: the roster's rows are
    sorted by (year, person_id) and numbered, each obligation carries its person's number and its
    code's place in the codes' text order (``_ORDER``), and the obligations are sorted by those two
    small integers and the event id before they are numbered and matched; the matched talks are put
    back in the obligations' rows (``_fulfil``), not joined. The same order as the key's (a person's
    number orders (year, person_id) as the text does), for less CPU: the roster has a quarter of the
    obligations' rows, and the sort of the obligations by their text key cost about a fifth of R1
    (1/6 of national, 896 k obligations: R1 2.0 -> 1.75 CPU-s; docs/performance.md, "The assessed
    steps' inputs read once a year").

    Computed when called (every year of the inputs: the obligations are numbered and collected before
    the matching already): the frame returned is the rows held in memory."""
    # the roster's rows in the order of their key, numbered (``_person``): every obligation carries its
    # person's number and its code's place (``_order``), and is sorted by these small integers
    (people,) = materialize(
        _with_department(roster, departments)
        .join(party_secretaries(roster), on=["year", "unit_code"], how="left")
        .sort("year", "person_id")
        .with_row_index("_person"),
        engine=IN_MEMORY,
    )
    working = active(people)
    owed = pl.concat(
        [
            family_obligations(working),
            department_obligations(working),
            supervisor_obligations(working),
            must_talk_obligations(people, events, rules),
        ]
    ).filter(pl.col("hire_date").is_null() | (pl.col("due_to") >= pl.col("hire_date")))
    in_order = owed.sort("_person", "_order", "event_id", nulls_last=True)
    return _fulfil(in_order, talks).select(TABLE.column_names).cast(dict(TABLE.schema())).collect().lazy()


def obligations_towards_others(obligations: pl.LazyFrame) -> pl.LazyFrame:
    """The R1 obligations someone is responsible for towards others (R3 duty item ``obligations``):
    every row with a responsible_id except family talks (whose responsible is the person themself).
    Filter further on ``responsible_id`` for one subject."""
    return obligations.filter(pl.col("responsible_id").is_not_null() & (pl.col("obligation") != FAMILY))
