"""Cross-source quality rules that Great Expectations cannot state (they join two tables), in Polars.

Each function is named for what it protects, takes staged frames (lazy or eager) and returns an
``Outcome``: how many records break the rule, out of how many it applies to, and a few samples
(record keys only; staged tables carry no identity numbers, and samples are masked all the same).
"""

from __future__ import annotations

from typing import NamedTuple

import polars as pl

from lianjian.contract import LEADERSHIP_POSITIONS, SOURCES
from lianjian.privacy import contains_id
from lianjian.quality.validate import MAX_SAMPLES, mask_personal

Frame = pl.LazyFrame | pl.DataFrame


class Outcome(NamedTuple):
    unexpected_count: int
    total: int
    samples: list[str]

    @property
    def share(self) -> float:
        return self.unexpected_count / self.total if self.total else 0.0


def _lazy(frame: Frame) -> pl.LazyFrame:
    return frame.lazy() if isinstance(frame, pl.DataFrame) else frame


def _outcome(bad: pl.LazyFrame, total: pl.LazyFrame, sample: pl.Expr) -> Outcome:
    """Count ``bad`` and ``total`` rows and take the first samples of ``bad`` (sorted, so stable)."""
    counts, samples = pl.collect_all(
        [
            pl.concat([bad.select(n=pl.len()), total.select(n=pl.len())]),
            bad.select(s=sample).sort("s").head(MAX_SAMPLES),
        ]
    )
    n_bad, n_total = counts["n"].to_list()
    return Outcome(int(n_bad), int(n_total), [mask_personal(s) for s in samples["s"].to_list()])


def _roster(personnel: Frame) -> pl.LazyFrame:
    return _lazy(personnel).select("year", "unit_code", "person_id", "position", "status")


def _department_leaders(departments: Frame) -> pl.LazyFrame:
    """One row per (department, role) naming a person: role head_id or supervisor_id."""
    d = _lazy(departments)
    return pl.concat(
        [
            d.select("year", "unit_code", "dept_code", pl.lit(role).alias("role"), pl.col(role).alias("person_id"))
            for role in ("head_id", "supervisor_id")
        ]
    ).filter(pl.col("person_id").is_not_null())


def dept_heads_and_supervisors_active_in_roster(departments: Frame, personnel: Frame) -> Outcome:
    """Every department head and supervisor is active in that year's roster of the same unit
    (docs/contract.md departments.head_id / supervisor_id; docs/rules.md R1, R3 name them as responsible)."""
    active = (
        _roster(personnel)
        .filter(pl.col("status") == "active")
        .select("year", "unit_code", "person_id")
        .unique()
    )
    leaders = _department_leaders(departments)
    bad = leaders.join(active, on=["year", "unit_code", "person_id"], how="anti")
    sample = pl.format("{} {}/{} {}={}", "year", "unit_code", "dept_code", "role", "person_id")
    return _outcome(bad, leaders, sample)


def one_active_party_secretary(personnel: Frame) -> Outcome:
    """At most one ACTIVE party secretary (党组书记) per unit and year (docs/rules.md, settled readings: a
    retired or transferred person still flagged is ignored; two active ones stop the run, since R1
    and R3 could not tell which one to assess). Counts every active flagged row of such a unit-year."""
    p = _lazy(personnel).filter(pl.col("is_party_secretary").fill_null(False) & (pl.col("status").cast(pl.String) == "active"))
    bad = p.filter(pl.len().over("year", "unit_code") > 1)
    sample = pl.format("{} {} person_id={}", "year", "unit_code", "person_id")
    return _outcome(bad, p, sample)


def supervisors_are_leadership(departments: Frame, personnel: Frame) -> Outcome:
    """Every supervisor (分管院领导) is a leadership member (班子成员) in that year's roster, of any
    unit (docs/rules.md, settled readings: a supervisor from another unit breaks no rule that stops a run;
    scoring uses the supervisor as given). The quarantine already rejects a department whose
    supervisor is no leadership member that year (contract: ``ref_filter: leadership``)."""
    leadership = (
        _roster(personnel)
        .filter(pl.col("position").cast(pl.String).is_in(list(LEADERSHIP_POSITIONS)))
        .select("year", "person_id")
        .unique()
    )
    sup = _department_leaders(departments).filter(pl.col("role") == "supervisor_id")
    bad = sup.join(leadership, on=["year", "person_id"], how="anti")
    sample = pl.format("{} {}/{} supervisor_id={}", "year", "unit_code", "dept_code", "person_id")
    return _outcome(bad, sup, sample)


def roster_years_not_after(personnel: Frame, last_year: int) -> Outcome:
    """Roster years are not after the current year: the year partitions of the derived and assessed
    layers end with the current year (pipelines/partitions.py), so a later year (a typing slip such
    as 2062, which the contract's 2000–2100 range lets through) would not be assessed."""
    p = _lazy(personnel)
    bad = p.filter(pl.col("year") > last_year)
    sample = pl.format("{} {} person_id={}", "year", "unit_code", "person_id")
    return _outcome(bad, p, sample)


def reviewed_in_roster(reviews: Frame, personnel: Frame) -> Outcome:
    """Every reviewed person is in that year's roster (docs/rules.md R2 grades only the roster's people)."""
    roster = _roster(personnel).select("year", "person_id").unique()
    r = _lazy(reviews)
    bad = r.join(roster, on=["year", "person_id"], how="anti")
    sample = pl.format("{} person_id={} {}", "year", "person_id", pl.col("reviewer_kind").cast(pl.String))
    return _outcome(bad, r, sample)


def rejected_shares(ingest_report: Frame) -> pl.DataFrame:
    """Per source: rows read, rows rejected and their share (0 when nothing was read)."""
    sources = pl.LazyFrame({"source": list(SOURCES)})
    per = (
        _lazy(ingest_report)
        .group_by("source")
        .agg(pl.col("rows_read").sum(), pl.col("rows_rejected").sum())
    )
    return (
        sources.join(per, on="source", how="left")
        .with_columns(pl.col("rows_read", "rows_rejected").fill_null(0))
        .with_columns(
            share=pl.when(pl.col("rows_read") > 0).then(pl.col("rows_rejected") / pl.col("rows_read")).otherwise(0.0)
        )
        .collect()
    )


def rejected_share(ingest_report: Frame, rejected: Frame, source: str) -> Outcome:
    """Quarantine of one source: rows rejected out of rows read (the check compares ``share`` with
    the rules file's quality.max_rejected_share), with the first rejected rows as ``file:row column``."""
    row = rejected_shares(ingest_report).filter(pl.col("source") == source)
    read, rejected_n = row.select("rows_read", "rows_rejected").row(0)
    samples = (
        _lazy(rejected)
        .filter(pl.col("source") == source)
        .sort("file", "row_number")
        .head(MAX_SAMPLES)
        .select(
            s=pl.format(
                "{}:{} {}",
                "file",
                "row_number",
                pl.col("reasons").list.first().str.split(":").list.first(),
            )
        )
        .collect()["s"]
        .to_list()
    )
    return Outcome(int(rejected_n), int(read), [mask_personal(s) for s in samples])


def rejected_records_without_id_numbers(rejected: Frame) -> Outcome:
    """No identity number in the quarantine's raw rows or reasons (both are masked when read, and
    publishing checks again before the switch; this should never find one)."""
    r = _lazy(rejected)
    bad = r.filter(contains_id(pl.col("raw")) | pl.col("reasons").list.eval(contains_id(pl.element())).list.any())
    return _outcome(bad, r, pl.format("{}:{}", "file", "row_number"))
