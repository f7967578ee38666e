"""Assets of the assessed layer: R2 廉洁从检评估, R3 党风廉政考核, R8 their evidence, R4 accountability
triggers. Thin wrappers: the logic is in ``lianjian.scoring.{integrity,responsibility,evidence,triggers}``;
each reads staged tables and the derived talk obligations, loads the rules file from the ``lianjian``
resource, and returns its table sorted by its key.

Not ``from __future__ import annotations`` here: Dagster inspects the ``context`` annotation at
definition time and needs the real class.
"""

import dagster as dg
import polars as pl

from lianjian.contract import PUBLISHED
from lianjian.scoring.evidence import assessment_evidence
from lianjian.scoring.integrity import integrity_assessment
from lianjian.scoring.responsibility import responsibility_assessment
from lianjian.scoring.triggers import accountability_triggers
from pipelines.partitions import YEARS, context_years
from pipelines.resources import LianjianSettings

GROUP = "assessed"
KINDS = {"polars", "parquet"}
CODE_VERSION = "2026.1"
OWNERS = ["team:jijian"]


def _staged(source: str) -> dg.AssetIn:
    return dg.AssetIn(key=["staged", source])


def _sorted(frame: pl.DataFrame, table: str) -> pl.DataFrame:
    return frame.sort(list(PUBLISHED[table].key), nulls_last=False, maintain_order=True)


def _out(table: str, description: str, rule: str) -> dg.AssetOut:
    return dg.AssetOut(
        key=[GROUP, table],
        group_name=GROUP,
        description=description,
        owners=OWNERS,
        kinds=KINDS,
        code_version=CODE_VERSION,
        tags={"rule": rule},
        io_manager_key="io_manager",
    )


@dg.multi_asset(
    name="assessments",
    partitions_def=YEARS,
    outs={
        "integrity_assessment": _out(
            "integrity_assessment",
            "廉洁从检评估（R2，连云港意见 二（四）、三（四））：每名当年在岗干警的自评、互评（五人及以上去掉一个最高分和一个最低分）、"
            "部门综合分析加权得分，减去家人谈话、办案质量（上限）和违纪扣分，一票否决，等次与状态。"
            " Individual integrity evaluation (R2): weighted review score, deductions for a missed family "
            "talk, case quality (capped) and violations, veto, grade (好/较好/一般/较差) and status.",
            "R2",
        ),
        "responsibility_assessment": _out(
            "responsibility_assessment",
            "党风廉政考核（R3，庆城办法 第四条至第十三条；连云港意见 五）：党组、党组书记、班子成员、部门负责人、纪检组的"
            "履职得分、民主测评得分、一岗双责扣分（上限）、一票否决、总分与等次。"
            " Responsibility assessment (R3): duty score from the rules file's duty items, democratic "
            "vote score, scope deduction (capped), veto, total and grade per subject and year.",
            "R3",
        ),
        "assessment_evidence": _out(
            "assessment_evidence",
            "考核证据（R8）：影响廉洁从检评估与党风廉政考核分数的每一个事实——评分、未履行的谈话、案件、违纪、履职项、"
            "测评——及其记录编号、规则编号与依据条款。"
            " Assessment evidence (R8): every fact that moves an R2 or R3 score, with record ids, rule id "
            "and the article it rests on; deductions add up to the published deductions.",
            "R8",
        ),
    },
    ins={
        "units": _staged("units"),
        "roster": _staged("personnel"),
        "departments": _staged("departments"),
        "reviews": _staged("reviews"),
        "cases": _staged("cases"),
        "violations": _staged("violations"),
        "duty_activities": _staged("duty_activities"),
        "democratic_votes": _staged("democratic_votes"),
        "talk_obligations": dg.AssetIn(key=["derived", "talk_obligations"]),
    },
)
def assessments(
    context: dg.AssetExecutionContext,
    lianjian: LianjianSettings,
    units: pl.LazyFrame,
    roster: pl.LazyFrame,
    departments: pl.LazyFrame,
    reviews: pl.LazyFrame,
    cases: pl.LazyFrame,
    violations: pl.LazyFrame,
    duty_activities: pl.LazyFrame,
    democratic_votes: pl.LazyFrame,
    talk_obligations: pl.LazyFrame,
):
    rules = lianjian.load_rules()
    integrity, integrity_ev = integrity_assessment(roster, reviews, talk_obligations, cases, violations, rules)
    responsibility, responsibility_ev = responsibility_assessment(
        units, roster, departments, duty_activities, democratic_votes, talk_obligations, cases, violations, rules
    )
    # The run's years only (pushed down by Polars into each plan; all years in the nightly run)
    in_run = pl.col("year").is_in(context_years(context))
    integrity, responsibility, evidence = pl.collect_all(
        [f.filter(in_run) for f in (integrity, responsibility, assessment_evidence(integrity_ev, responsibility_ev))]
    )
    yield dg.Output(_sorted(integrity, "integrity_assessment"), output_name="integrity_assessment")
    yield dg.Output(_sorted(responsibility, "responsibility_assessment"), output_name="responsibility_assessment")
    # assessment_evidence() already returns the table-key order (ties by unit_code): not sorted twice
    yield dg.Output(evidence, output_name="assessment_evidence")


@dg.asset(
    key=[GROUP, "accountability_triggers"],
    group_name=GROUP,
    description=(
        "问责触发（R4）：连续两年较差（庆城办法 第十八条第（九）项、第二十二条第（三）项；连云港意见 二（四））、"
        "下一年度内又发生严重违纪（连云港意见 五（四））、一案双查（庆城办法 第二十一条；连云港意见 五（一））。"
        " Accountability triggers (R4): two or more consecutive 较差 years, a serious violation in scope "
        "in two consecutive years, and the leaders who answer for each serious violation."
    ),
    ins={
        "integrity": dg.AssetIn(key=[GROUP, "integrity_assessment"]),
        "responsibility": dg.AssetIn(key=[GROUP, "responsibility_assessment"]),
        "roster": _staged("personnel"),
        "departments": _staged("departments"),
        "violations": _staged("violations"),
    },
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


defs = dg.Definitions(assets=[assessments, accountability_triggers_asset])
