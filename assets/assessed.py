"""Assets of the assessed layer: R2 廉洁从检评估, R3 党风廉政考核, R8 their evidence, R4 accountability
triggers (docs/rules.md). Thin wrappers: the logic is in
``lianjian.scoring.{integrity,responsibility,evidence,triggers}``; each loads the rules file from the
``lianjian`` resource and returns its table sorted by its key.

Each asset reads exactly the tables its rule reads, so the graph shows what a grade depends on:

- R2 (one step, two outputs): ``integrity_assessment`` and its evidence rows ``integrity_evidence``,
  from the roster, reviews, cases, violations and the R1 talk obligations;
- R3 (one step, two outputs): ``responsibility_assessment`` from the units (for the bodies' names),
  roster, departments, duty activities, democratic votes, cases, violations and the R1 talk
  obligations, and its evidence rows ``responsibility_evidence`` from the same but the units;
- R8: ``assessment_evidence``, the two evidence parts together;
- R4: ``accountability_triggers``, from both assessments, the roster, departments and violations.

R2, R3 and R8 are partitioned by year (``pipelines/partitions.py``); R4 reads every year. R2 and R3
compute each year on its own, two years at a time (``lianjian.threads``), and write each year's
outputs to the step's private temporary folder as soon as they are computed (``_year_by_year``,
``pipelines.io_manager.SpilledYears``): the step holds the years being computed, never all of them,
and the IO manager writes the year files from the spills (docs/performance.md, "One year in memory in
R2 and R3", "Two years at a time"). Steps whose inputs are small (``ALL_YEARS_AT_ONCE_UP_TO``: the
demo's) compute all their years in one query instead, R8 its evidence too, and hand the IO manager one
frame: the same files, without a query, a spill and a thread a year (docs/performance.md, "Small steps
at once"). R2, R3 and R8 keep a year whose inputs are those its files were computed from, without
computing it (lianjian/yearkeep.py).

Not ``from __future__ import annotations`` here: Dagster inspects the ``context`` annotation at
definition time and needs the real class.
"""

from collections.abc import Callable
from pathlib import Path

import dagster as dg
import polars as pl

from lianjian.contract import INTERNAL, PUBLISHED
from lianjian.files import read_json, run_tmpdir
from lianjian.publish.lineage import dagster_column_lineage
from lianjian.scoring.common import IN_MEMORY
from lianjian.scoring.evidence import merged_evidence, year_evidence_in_order
from lianjian.scoring.integrity import deducting_cases, integrity_assessment
from lianjian.scoring.responsibility import responsibility_assessment, special_case_candidates
from lianjian.scoring.triggers import accountability_triggers
from lianjian.threads import each_year
from pipelines.io_manager import KeptYears, SpilledYears, published_form, scan_published_form, table_path, table_schema
from pipelines.partitions import YEARS, context_years
from pipelines.resources import LianjianSettings

GROUP = "assessed"
KINDS = {"polars", "parquet"}
CODE_VERSION = "2026.1"
OWNERS = ["team:jijian"]


def _staged(source: str) -> dg.AssetIn:
    return dg.AssetIn(key=["staged", source])


def _assessed(table: str) -> dg.AssetIn:
    return dg.AssetIn(key=[GROUP, table])


TALK_OBLIGATIONS = dg.AssetIn(key=["derived", "talk_obligations"])


def _metadata(table: str, ins: dict[str, dg.AssetIn]) -> dict:
    """The table's schema with Chinese column names, and its column lineage over the asset's inputs."""
    t = PUBLISHED.get(table) or INTERNAL[table]
    return {
        "dagster/column_schema": table_schema(t.schema(), {c.name: c.zh for c in t.columns}),
        "dagster/column_lineage": dagster_column_lineage(table, upstream=[tuple(a.key.path) for a in ins.values()]),
    }


def _sorted(frame: pl.DataFrame, table: str) -> pl.DataFrame:
    return frame.sort(list(PUBLISHED[table].key), nulls_last=False, maintain_order=True)


def _out(table: str, description: str, rule: str, ins: dict[str, dg.AssetIn]) -> dg.AssetOut:
    return dg.AssetOut(
        key=[GROUP, table],
        group_name=GROUP,
        description=description,
        owners=OWNERS,
        kinds=KINDS,
        code_version=CODE_VERSION,
        tags={"rule": rule},
        metadata=_metadata(table, ins),
        io_manager_key="io_manager",
    )


def _year_basis(warehouse: Path, ins: dict[str, dg.AssetIn], rules):
    """year -> the digest of what a step with inputs ``ins`` computes that year from
    (lianjian/yearkeep.py): the staged tables' recorded digests, the year's file of each
    year-partitioned input, the rules file and the code; None when any of it is unknown."""
    from lianjian.fingerprint import code_version
    from lianjian.ingest.digests import FILE
    from lianjian.yearkeep import year_key

    sources = (read_json(Path(warehouse) / "staged" / FILE) or {}).get("sources") or {}
    staged = {name: sources.get(a.key.path[-1]) for name, a in ins.items() if a.key.path[0] == "staged"}
    partitioned = {name: a.key for name, a in ins.items() if a.key.path[0] != "staged"}
    version = code_version()

    def basis(year: int) -> str | None:
        files = {name: table_path(warehouse, key, str(year)) for name, key in partitioned.items()}
        return year_key(code_version=version, rules_sha256=rules.sha256, staged=staged, partitioned=files)

    return basis


#: Up to this many bytes of input files (the staged tables R2 or R3 reads and the year files of its
#: year-partitioned inputs, for the years computed), the step computes all its years in one query
#: (``score_years``) and hands each output over as one frame, instead of one query a year on the year
#: threads with each year spilled. A small step's cost is each query's and each file's fixed cost
#: (≈ 15 collects a year of 1–3 ms each, the spill, and the reads of it that describe the year's
#: file), not its rows: the demo (0.1 MB of inputs, six years) computes R2 and R3 in 0.07 CPU-s at
#: once against 0.29 year by year. A province (≈ 7.5 MB for R2) costs as much CPU either way and gains
#: from the second core, and a national year (R2's evidence, ≈ 2 M rows) must not be held with the
#: others: both stay year by year (docs/performance.md, "Small steps at once").
ALL_YEARS_AT_ONCE_UP_TO = 2 << 20


def _year_by_year(
    context: dg.AssetExecutionContext,
    warehouse: Path,
    spill: Path,
    score,
    tables: tuple[str, str],
    ins: dict[str, dg.AssetIn],
    yearly: dict[str, pl.LazyFrame],
    read_once=None,
    **others,
) -> tuple[SpilledYears | pl.DataFrame | KeptYears, SpilledYears | pl.DataFrame | KeptYears, dict[int, str | None]]:
    """``score(**inputs)`` (R2 or R3: a table and its evidence rows) for each of the run's years on its
    own (two at a time: ``lianjian.threads.each_year``), from that year's rows of the inputs that have a ``year`` column: both rules grade a year
    from its own rows alone (RULES.md), so one year at a time gives the same rows and reads only the
    years the run computes (Polars cannot push the years down through the window functions of the
    evidence rows). Each year's table (sorted by its key) and evidence (in ``assessment_evidence``'s
    order) are spilled into ``spill`` as soon as they are computed, so the step holds the years being
    computed (two), never all of them: the
    key of both tables begins with the year, so the years one after the other are the rows and the
    order of the whole run's table sorted at once. Returns the two outputs' spills, for the IO
    manager (``pipelines/io_manager.py``, ``SpilledYears``), and the years computed with the digest
    of what each was computed from (for ``_record_years``).

    ``read_once(years, **others)``: the inputs without a ``year`` column that every year reads a part
    of (the cases, some 20 M rows at national), reduced to the rows and columns the rule reads for
    all the years computed and held in memory, so that the table is read once for the step, not
    once a year (docs/performance.md, "Scoring for less").

    A year whose inputs (``ins``: the staged tables, the year's file of each year-partitioned input),
    rules file and code are those its output files were computed from is kept, not computed
    (lianjian/yearkeep.py): a changed year of talks recomputes the year before, whose talk
    obligations most often come out the same.

    Up to ``ALL_YEARS_AT_ONCE_UP_TO`` bytes of inputs the years computed are computed together
    (``score_years``: the same rows and order) and each output is handed over as one frame of those
    years (``KeptYears`` of it when some years are kept), which the IO manager writes year by year."""
    table_name, evidence_name = tables
    table_years, evidence_years = SpilledYears(spill, table_name), SpilledYears(spill, evidence_name)
    computed, kept = _kept_years(context, warehouse, tables, ins, others["rules"])
    for year in kept:
        table_years.keep(year)
        evidence_years.keep(year)
    with_year = {name for name, lf in yearly.items() if "year" in lf.collect_schema()}
    years = [year for year in context_years(context) if year not in kept]
    if read_once is not None and years:
        others = {**others, **{name: lf.collect().lazy() for name, lf in read_once(years, **others).items()}}

    fixed = {**others, **{name: lf for name, lf in yearly.items() if name not in with_year}}
    if years and _input_bytes(warehouse, ins, years) <= ALL_YEARS_AT_ONCE_UP_TO:
        t, e = score_years(score, table_name, years, {name: lf for name, lf in yearly.items() if name in with_year}, fixed)
        if kept:
            return KeptYears(t, frozenset(kept)), KeptYears(e, frozenset(kept)), computed
        return t, e, computed

    per_year = _year_rows(warehouse, ins, {name: lf for name, lf in yearly.items() if name in with_year})

    def one_year(year: int) -> None:
        t, e = score_year(score, table_name, year, per_year, fixed)
        table_years.add(year, t)
        del t
        evidence_years.add(year, e)
        del e

    # the years are independent: two at a time fill both cores (lianjian/threads.py), each spilled
    # as soon as it is computed
    each_year(one_year, years)
    return table_years, evidence_years, computed


def _input_bytes(warehouse: Path, ins: dict[str, dg.AssetIn], years: list[int]) -> int:
    """The bytes of the files a step with inputs ``ins`` reads for ``years``: each staged table's
    file, and each year-partitioned input's files of those years (files not written count nothing)."""
    paths = [
        table_path(warehouse, a.key) if a.key.path[0] == "staged" else table_path(warehouse, a.key, str(year))
        for a in ins.values()
        for year in ([None] if a.key.path[0] == "staged" else years)
    ]
    return sum(p.stat().st_size for p in paths if p.is_file())


def _year_rows(warehouse: Path, ins: dict[str, dg.AssetIn], yearly: dict[str, pl.LazyFrame]) -> dict[str, pl.LazyFrame | Callable[[int], pl.LazyFrame]]:
    """The ``yearly`` inputs as ``score_year`` takes them: a frame filtered on the year, or, for an
    input whose year files are written in the published form (R1's talk obligations:
    ``lianjian.publish.publish.PUBLISHED_FORM``), a function giving a year's rows from that year's
    file alone. Such a file has no ``year`` column inside (the IO manager gives it back from the
    file's year), so a filter on the year cannot skip the other years' files: every year would read
    them all (1/6 of national: the seven years of obligations read for each year, 0.55 CPU-s against
    0.1)."""
    out: dict[str, pl.LazyFrame | Callable[[int], pl.LazyFrame]] = dict(yearly)
    for name, lf in yearly.items():
        key = ins[name].key
        table = published_form(key)
        if table is None:
            continue

        def rows(year: int, key=key, table=table, lf=lf) -> pl.LazyFrame:
            path = table_path(warehouse, key, str(year))
            return scan_published_form(table, [(str(year), path)]) if path.is_file() else lf.filter(pl.col("year") == year)

        out[name] = rows
    return out


def score_year(
    score, table_name: str, year: int, yearly: dict[str, pl.LazyFrame | Callable[[int], pl.LazyFrame]], others: dict
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """One year of R2 or R3 (``score``: ``integrity_assessment`` or ``responsibility_assessment``):
    its table sorted by its key and its evidence rows in ``assessment_evidence``'s order, from that
    year's rows of the ``yearly`` inputs (those with a ``year`` column: a frame, filtered on the year,
    or a function giving the year's rows, ``_year_rows``) and the ``others`` as they are. Computed
    with the in-memory engine (``lianjian.scoring.common.IN_MEMORY``)."""
    this_year = pl.col("year") == year
    table, facts = score(
        **{name: lf(year) if callable(lf) else lf.filter(this_year) for name, lf in yearly.items()}, **others
    )
    # collected together so that what both read is computed once
    t, e = pl.collect_all([table.filter(this_year), facts.filter(this_year)], engine=IN_MEMORY)
    return _sorted(t, table_name), year_evidence_in_order(e)


def score_years(
    score, table_name: str, years: list[int], yearly: dict[str, pl.LazyFrame], others: dict
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """``years`` of R2 or R3 in one query (``score``: ``integrity_assessment`` or
    ``responsibility_assessment``): the table sorted by its key and the evidence rows in
    ``assessment_evidence``'s order, from those years' rows of the ``yearly`` inputs (those with a
    ``year`` column) and the ``others`` as they are — each year's rows and order those ``score_year``
    gives for it: both rules grade a year from its own rows (RULES.md), every group and join of them
    is by the year, and both keys, like the evidence's order, begin with the year. Computed with the
    in-memory engine (``lianjian.scoring.common.IN_MEMORY``)."""
    in_years = pl.col("year").is_in(years)
    table, facts = score(**{name: lf.filter(in_years) for name, lf in yearly.items()}, **others)
    t, e = pl.collect_all([table.filter(in_years), facts.filter(in_years)], engine=IN_MEMORY)
    return _sorted(t, table_name), year_evidence_in_order(e)


def _kept_years(
    context: dg.AssetExecutionContext, warehouse: Path, tables: tuple[str, ...], ins: dict[str, dg.AssetIn], rules
) -> tuple[dict[int, str | None], set[int]]:
    """The run's years split into those to compute (year -> the digest of what it is computed from,
    for ``_record_years``) and those kept as they are: the same inputs (``ins``), rules file and
    code as the files of ``tables`` were computed from, and each file still as written then
    (lianjian/yearkeep.py). Nothing is kept outside a pipeline run's own years (``_may_keep``)."""
    from lianjian.yearkeep import read_record, unchanged

    basis = _year_basis(warehouse, ins, rules)
    record = read_record(warehouse, tables[0]) if _may_keep(context) else {}
    computed: dict[int, str | None] = {}
    kept: set[int] = set()
    for year in context_years(context):
        key = basis(year)
        if unchanged(record, year, key, _year_files(warehouse, tables, year)):
            kept.add(year)
            context.log.info(f"{year} 年度的输入与上次计算时相同，沿用其结果（year {year}: same inputs, results kept）")
        else:
            computed[year] = key
    return computed, kept


def _may_keep(context: dg.AssetExecutionContext) -> bool:
    """Whether this run may keep a year whose inputs did not change: the second run of a pipeline run
    over the years it chose (pipelines/runs.py). A run asked for years (``lianjian run --years``) or a
    repair launched from the UI computes every year it is given (and records them)."""
    from pipelines.runs import INGEST_RUN_TAG, YEARS_TAG

    tags = context.run.tags
    return INGEST_RUN_TAG in tags and YEARS_TAG not in tags


def _year_files(warehouse: Path, tables: tuple[str, ...], year: int) -> dict[str, Path]:
    return {name: table_path(warehouse, dg.AssetKey([GROUP, name]), str(year)) for name in tables}


def _record_years(warehouse: Path, tables: tuple[str, ...], computed: dict[int, str | None]) -> None:
    """After the IO manager wrote the year files: what each computed year was computed from, with the
    digests of its files (lianjian/yearkeep.py)."""
    from lianjian.yearkeep import write_record

    write_record(warehouse, tables[0], {year: (key, _year_files(warehouse, tables, year)) for year, key in computed.items()})


R2_INS = {
    "roster": _staged("personnel"),
    "reviews": _staged("reviews"),
    "talk_obligations": TALK_OBLIGATIONS,
    "cases": _staged("cases"),
    "violations": _staged("violations"),
}


@dg.multi_asset(
    name="assessed__integrity_assessment",
    partitions_def=YEARS,
    outs={
        "integrity_assessment": _out(
            "integrity_assessment",
            "廉洁从检评估（R2，连云港意见 二（四）、三（四））：每名当年在岗干警的自评、互评（五人及以上去掉一个最高分和一个最低分）、"
            "部门综合分析加权得分，减去家人谈话、办案质量（上限）和违纪扣分，一票否决，等次与状态。"
            " Individual integrity evaluation (R2): weighted review score, deductions for a missed family "
            "talk, case quality (capped) and violations, veto, grade (好/较好/一般/较差) and status.",
            "R2",
            R2_INS,
        ),
        "integrity_evidence": _out(
            "integrity_evidence",
            "廉洁从检评估证据（R2 的 R8 部分）：每一个影响廉洁从检评估分数的事实——评分、未履行的家人谈话、案件、违纪、否决——"
            "及其记录编号、规则编号与依据条款；与党风廉政考核证据合为 assessment_evidence。"
            " Evidence rows of the integrity evaluation (the R2 part of R8), put together with the "
            "responsibility assessment's in assessment_evidence.",
            "R8",
            R2_INS,
        ),
    },
    ins=R2_INS,
)
def integrity_assessment_asset(
    context: dg.AssetExecutionContext,
    lianjian: LianjianSettings,
    roster: pl.LazyFrame,
    reviews: pl.LazyFrame,
    talk_obligations: pl.LazyFrame,
    cases: pl.LazyFrame,
    violations: pl.LazyFrame,
):
    warehouse, tables = lianjian.warehouse_path, ("integrity_assessment", "integrity_evidence")
    with run_tmpdir(warehouse, "R2") as spill:
        table, evidence, computed = _year_by_year(
            context, warehouse, spill, integrity_assessment, tables, R2_INS,
            dict(roster=roster, reviews=reviews, talk_obligations=talk_obligations),
            read_once=lambda years, cases, **_: {"cases": deducting_cases(cases, years)},
            cases=cases, violations=violations, rules=lianjian.load_rules(),
        )
        # the IO manager writes each output before the step resumes: the spills are read before they go
        yield dg.Output(table, output_name="integrity_assessment")
        yield dg.Output(evidence, output_name="integrity_evidence")
    _record_years(warehouse, tables, computed)


R3_INS = {
    "units": _staged("units"),
    "roster": _staged("personnel"),
    "departments": _staged("departments"),
    "duty_activities": _staged("duty_activities"),
    "democratic_votes": _staged("democratic_votes"),
    "talk_obligations": TALK_OBLIGATIONS,
    "cases": _staged("cases"),
    "violations": _staged("violations"),
}


@dg.multi_asset(
    name="assessed__responsibility_assessment",
    partitions_def=YEARS,
    outs={
        "responsibility_assessment": _out(
            "responsibility_assessment",
            "党风廉政考核（R3，庆城办法 第四条至第十三条；连云港意见 五）：党组、党组书记、班子成员、部门负责人、纪检组的"
            "履职得分、民主测评得分、一岗双责扣分（上限）、一票否决、总分与等次。"
            " Responsibility assessment (R3): duty score from the rules file's duty items, democratic "
            "vote score, scope deduction (capped), veto, total and grade per subject and year.",
            "R3",
            R3_INS,
        ),
        "responsibility_evidence": _out(
            "responsibility_evidence",
            "党风廉政考核证据（R3 的 R8 部分）：每一个影响党风廉政考核分数的事实——履职项、测评、一岗双责违纪、否决——"
            "及其记录编号、规则编号与依据条款；与廉洁从检评估证据合为 assessment_evidence。"
            " Evidence rows of the responsibility assessment (the R3 part of R8), put together with the "
            "integrity evaluation's in assessment_evidence.",
            "R8",
            R3_INS,
        ),
    },
    ins=R3_INS,
    # the evidence rows name no subject: they do not read the units' names
    internal_asset_deps={
        "responsibility_assessment": {a.key for a in R3_INS.values()},
        "responsibility_evidence": {a.key for name, a in R3_INS.items() if name != "units"},
    },
)
def responsibility_assessment_asset(
    context: dg.AssetExecutionContext,
    lianjian: LianjianSettings,
    units: pl.LazyFrame,
    roster: pl.LazyFrame,
    departments: pl.LazyFrame,
    duty_activities: pl.LazyFrame,
    democratic_votes: pl.LazyFrame,
    talk_obligations: pl.LazyFrame,
    cases: pl.LazyFrame,
    violations: pl.LazyFrame,
):
    warehouse, tables = lianjian.warehouse_path, ("responsibility_assessment", "responsibility_evidence")
    with run_tmpdir(warehouse, "R3") as spill:
        table, evidence, computed = _year_by_year(
            context,
            warehouse,
            spill,
            responsibility_assessment,
            tables,
            R3_INS,
            dict(roster=roster, departments=departments, duty_activities=duty_activities, democratic_votes=democratic_votes,
                 talk_obligations=talk_obligations),
            read_once=lambda years, cases, rules, **_: {"cases": special_case_candidates(cases, rules, years)},
            units=units, cases=cases, violations=violations, rules=lianjian.load_rules(),
        )
        yield dg.Output(table, output_name="responsibility_assessment")
        yield dg.Output(evidence, output_name="responsibility_evidence")
    _record_years(warehouse, tables, computed)


R8_INS = {"integrity": _assessed("integrity_evidence"), "responsibility": _assessed("responsibility_evidence")}


@dg.asset(
    key=[GROUP, "assessment_evidence"],
    group_name=GROUP,
    partitions_def=YEARS,
    description=(
        "考核证据（R8）：影响廉洁从检评估与党风廉政考核分数的每一个事实——评分、未履行的谈话、案件、违纪、履职项、"
        "测评——及其记录编号、规则编号与依据条款。"
        " Assessment evidence (R8): every fact that moves an R2 or R3 score, with record ids, rule id "
        "and the article it rests on; deductions add up to the published deductions."
    ),
    ins=R8_INS,
    metadata=_metadata("assessment_evidence", R8_INS),
    owners=OWNERS,
    kinds=KINDS,
    code_version=CODE_VERSION,
    tags={"rule": "R8"},
)
def assessment_evidence_asset(context: dg.AssetExecutionContext, lianjian: LianjianSettings, integrity: pl.LazyFrame, responsibility: pl.LazyFrame):
    # R2 and R3 write each year's evidence in the table-key order (``_year_by_year``): each year is
    # the two parts one after the other (merged_evidence), not sorted again; lazy, so that the IO
    # manager computes and writes it one year at a time. A year whose two evidence files are those it
    # was computed from is kept (lianjian/yearkeep.py): R2 and R3 keep theirs.
    # Up to ALL_YEARS_AT_ONCE_UP_TO bytes of evidence it is computed in one query and handed over in
    # memory, not one query a year.
    warehouse, table = lianjian.warehouse_path, ("assessment_evidence",)
    computed, kept = _kept_years(context, warehouse, table, R8_INS, lianjian.load_rules())
    years = [y for y in context_years(context) if y not in kept]
    merged = merged_evidence(years, integrity=integrity, responsibility=responsibility)
    if _input_bytes(warehouse, R8_INS, years) <= ALL_YEARS_AT_ONCE_UP_TO:
        merged = merged.collect()
    yield dg.Output(KeptYears(merged, frozenset(kept)) if kept else merged)
    _record_years(warehouse, table, computed)


R4_INS = {
    "integrity": _assessed("integrity_assessment"),
    "responsibility": _assessed("responsibility_assessment"),
    "roster": _staged("personnel"),
    "departments": _staged("departments"),
    "violations": _staged("violations"),
}


@dg.asset(
    key=[GROUP, "accountability_triggers"],
    group_name=GROUP,
    description=(
        "问责触发（R4）：连续两年较差（庆城办法 第十八条第（九）项、第二十二条第（三）项；连云港意见 二（四））、"
        "下一年度内又发生严重违纪（连云港意见 五（四））、一案双查（庆城办法 第二十一条；连云港意见 五（一））。"
        " Accountability triggers (R4): two or more consecutive 较差 years, a serious violation in scope "
        "in two consecutive years, and the leaders who answer for each serious violation."
    ),
    ins=R4_INS,
    metadata=_metadata("accountability_triggers", R4_INS),
    owners=OWNERS,
    kinds=KINDS,
    code_version=CODE_VERSION,
    tags={"rule": "R4"},
)
def accountability_triggers_asset(
    lianjian: LianjianSettings,
    integrity: pl.LazyFrame,
    responsibility: pl.LazyFrame,
    roster: pl.LazyFrame,
    departments: pl.LazyFrame,
    violations: pl.LazyFrame,
) -> pl.DataFrame:
    frame = accountability_triggers(integrity, responsibility, roster, departments, violations, lianjian.load_rules())
    return _sorted(frame.collect(), "accountability_triggers")


defs = dg.Definitions(
    assets=[
        integrity_assessment_asset,
        responsibility_assessment_asset,
        assessment_evidence_asset,
        accountability_triggers_asset,
    ]
)
