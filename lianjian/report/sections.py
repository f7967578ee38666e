"""The report's numbers, computed once for every report and year with Polars (no row loops).

Each function takes the published tables (LazyFrames) and the report scopes — (report_key,
unit_code) pairs from ``scope.report_scopes`` — and returns one frame keyed by ``report_key`` and
``year`` whose other columns are what the page and the workbook show, headed in Chinese (taken from
the contract where the column is published as is). Numbers stay numbers; the renderers format them.
"""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

from lianjian.contract import PUBLISHED, SOURCES
from lianjian.report.fmt import GRADES, NONE_DEPT, POOR, UNGRADED, column, dec_text, joined, label, person, yes_no, zh
from lianjian.report.load import ReportInputs
from lianjian.report.quality import DATED
from lianjian.report.scope import direct_children
from lianjian.scoring.evidence import record_id

KEYS = ["report_key", "year"]

#: A roll-up lists at most this many accountability triggers of its subtree (the rest are in the
#: units' own reports) and names at most this many zero-report units; display limits, not rules.
ROLLUP_LIST_LIMIT = 200
ZERO_NAMES_LIMIT = 20


@dataclass(frozen=True)
class Metric:
    """A headline number: the sum over the report's units of a per-unit count of one published table."""

    key: str
    title: str
    table: str

    @property
    def rule(self) -> str:
        return PUBLISHED[self.table].rule or ""


#: The headline numbers, in the order an office works through them.
METRICS: tuple[Metric, ...] = (
    Metric("integrity_people", "参加廉洁从检评估人数", "integrity_assessment"),
    Metric("integrity_poor", "廉洁从检评估较差人数", "integrity_assessment"),
    Metric("integrity_incomplete", "廉洁从检评估材料不全人数", "integrity_assessment"),
    Metric("responsibility_subjects", "党风廉政考核对象数", "responsibility_assessment"),
    Metric("responsibility_poor", "党风廉政考核较差数", "responsibility_assessment"),
    Metric("triggers", "问责触发数", "accountability_triggers"),
    Metric("obligations_due", "应履行谈话义务数", "talk_obligations"),
    Metric("obligations_outstanding", "未履行谈话义务数（待办）", "talk_obligations"),
    Metric("cases_closed", "办结案件数", "case_quality"),
    Metric("special_unverified", "待核定特殊案件数", "case_quality"),
    Metric("leaders_handling", "办案领导干部数", "leader_case_handling"),
    Metric("staff", "在岗干警数", "major_matter_report_stats"),
    Metric("mm_reports", '"三个规定"报告数', "major_matter_report_stats"),
)


def _in_scope(frame: pl.LazyFrame, scopes: pl.LazyFrame) -> pl.LazyFrame:
    return frame.join(scopes.select("report_key", "unit_code"), on="unit_code")


def _names(inputs: ReportInputs, id_col: str, name_col: str) -> pl.LazyFrame:
    return inputs.people.select("year", pl.col("person_id").alias(id_col), pl.col("name").alias(name_col))


def _unit_names(inputs: ReportInputs) -> pl.LazyFrame:
    return inputs.units.lazy().select("unit_code", 单位=pl.col("unit_name"))


def _dept_label(inputs: ReportInputs, frame: pl.LazyFrame) -> pl.LazyFrame:
    """Adds 部门 = 'dept_name（dept_code）' (or the code alone, or （无部门）)."""
    return frame.join(inputs.departments, on=["year", "unit_code", "dept_code"], how="left").with_columns(
        部门=pl.when(pl.col("dept_code").is_null())
        .then(pl.lit(NONE_DEPT))
        .otherwise(person("dept_name", "dept_code"))
    )


def report_years(inputs: ReportInputs) -> list[int]:
    """Every year any yearly published table has rows for."""
    frames = [inputs.table(t).select("year") for t in inputs.tables if PUBLISHED[t].yearly]
    years = pl.concat(frames).unique().collect()["year"].drop_nulls().sort()
    return years.to_list()


def unit_metrics(inputs: ReportInputs, years: list[int]) -> pl.LazyFrame:
    """unit_code, year and one count per METRICS key (0 where the table has no rows)."""
    t = inputs.table
    ia, ra = t("integrity_assessment"), t("responsibility_assessment")
    parts = [
        ia.group_by("unit_code", "year").agg(
            integrity_people=pl.len(),
            integrity_poor=(pl.col("grade") == POOR).sum(),
            integrity_incomplete=(pl.col("status") == "incomplete").sum(),
        ),
        ra.group_by("unit_code", "year").agg(
            responsibility_subjects=pl.len(), responsibility_poor=(pl.col("grade") == POOR).sum()
        ),
        t("accountability_triggers").group_by("unit_code", "year").agg(triggers=pl.len()),
        t("talk_obligations")
        .group_by("unit_code", "year")
        .agg(obligations_due=pl.len(), obligations_outstanding=(~pl.col("fulfilled").fill_null(False)).sum()),
        t("case_quality")
        .group_by("unit_code", "year")
        .agg(cases_closed=pl.col("cases_closed").sum(), special_unverified=pl.col("special_unverified").sum()),
        t("leader_case_handling").group_by("unit_code", "year").agg(leaders_handling=pl.col("leaders_handling").sum()),
        t("major_matter_report_stats")
        .group_by("unit_code", "year")
        .agg(staff=pl.col("staff").sum(), mm_reports=pl.col("reports").sum()),
    ]
    grid = inputs.units.lazy().select("unit_code").join(
        pl.LazyFrame({"year": years}, schema={"year": pl.Int64}), how="cross"
    )
    for part in parts:
        grid = grid.join(part, on=["unit_code", "year"], how="left")
    return grid.with_columns(pl.col(m.key).fill_null(0).cast(pl.Int64) for m in METRICS)


def headline(metrics: pl.LazyFrame, scopes: pl.LazyFrame) -> pl.LazyFrame:
    """report_key, year, one column per metric: the sums over each report's units."""
    return _in_scope(metrics, scopes).group_by(KEYS).agg(pl.col(m.key).sum() for m in METRICS)


def children_overview(inputs: ReportInputs, metrics: pl.LazyFrame, pairs: pl.DataFrame) -> pl.LazyFrame:
    """For roll-ups: one row per unit right below the parent, its whole subtree summed."""
    kids = direct_children(inputs.units).lazy()
    sub = pairs.lazy().select(child_code="ancestor", unit_code="unit_code")
    rows = (
        kids.join(sub, on="child_code")
        .join(metrics, on="unit_code")
        .group_by("report_key", "year", "child_code")
        .agg(pl.col(m.key).sum() for m in METRICS)
        .join(_unit_names(inputs).rename({"unit_code": "child_code"}), on="child_code", how="left")
    )
    return rows.sort(KEYS + ["child_code"]).select(
        *KEYS,
        单位编码="child_code",
        单位名称="单位",
        **{m.title: pl.col(m.key) for m in METRICS},
    )


def grade_distribution(table: str, scopes: pl.LazyFrame, inputs: ReportInputs, years: list[int]) -> pl.LazyFrame:
    """report_key, year, 等次, 人数, 占比(%): every grade (and 未评定) with its count, zeros included."""
    per_unit = (  # counted per unit first, so a roll-up sums a few rows per unit, not every person
        inputs.table(table)
        .with_columns(等次=pl.col("grade").fill_null(UNGRADED))
        .group_by("unit_code", "year", "等次")
        .agg(人数=pl.len())
    )
    counts = _in_scope(per_unit, scopes).group_by(KEYS + ["等次"]).agg(人数=pl.col("人数").sum())
    order = pl.LazyFrame({"等次": [*GRADES, UNGRADED], "_order": list(range(len(GRADES) + 1))})
    grid = (
        scopes.select("report_key")
        .unique()
        .join(pl.LazyFrame({"year": years}, schema={"year": pl.Int64}), how="cross")
        .join(order, how="cross")
    )
    return (
        grid.join(counts, on=KEYS + ["等次"], how="left")
        .with_columns(pl.col("人数").fill_null(0).cast(pl.Int64))
        .with_columns(
            占比=pl.when(pl.col("人数").sum().over(KEYS) > 0)
            .then(pl.col("人数") / pl.col("人数").sum().over(KEYS) * 100)
            .otherwise(None)
            .round(1)
        )
        .sort(KEYS + ["_order"])
        .drop("_order")
    )


def integrity_poor(inputs: ReportInputs, scopes: pl.LazyFrame) -> pl.LazyFrame:
    """People graded 较差 in 廉洁从检评估, with score and veto."""
    t = "integrity_assessment"
    rows = _dept_label(inputs, _in_scope(inputs.table(t), scopes).filter(pl.col("grade") == POOR))
    return (
        rows.join(_unit_names(inputs), on="unit_code", how="left")
        .sort(KEYS + ["unit_code", "person_id"])
        .select(
            *KEYS,
            "单位",
            "部门",
            pl.col("person_id").alias(zh(t, "person_id")),
            pl.col("name").alias(zh(t, "name")),
            label(t, "position").alias(zh(t, "position")),
            pl.col("review_score").alias(zh(t, "review_score")),
            (pl.col("deduction_talks") + pl.col("deduction_cases") + pl.col("deduction_violations")).alias("扣分合计"),
            pl.col("total_score").alias(zh(t, "total_score")),
            pl.col("veto").alias(zh(t, "veto")),
            label(t, "status").alias(zh(t, "status")),
        )
    )


def responsibility_subjects(inputs: ReportInputs, scopes: pl.LazyFrame) -> pl.LazyFrame:
    """Every 党风廉政考核 subject with its scores and grade."""
    t = "responsibility_assessment"
    kinds = {c: i for i, c in enumerate(column_codes(t, "subject_kind"))}
    return (
        _in_scope(inputs.table(t), scopes)
        .join(_unit_names(inputs), on="unit_code", how="left")
        .with_columns(_kind=pl.col("subject_kind").replace_strict(kinds, default=len(kinds), return_dtype=pl.Int64))
        .sort(KEYS + ["unit_code", "_kind", "subject_id"])
        .select(
            *KEYS,
            "单位",
            label(t, "subject_kind").alias(zh(t, "subject_kind")),
            pl.col("subject_name").alias(zh(t, "subject_name")),
            pl.col("duty_score").alias(zh(t, "duty_score")),
            pl.col("vote_score").alias(zh(t, "vote_score")),
            pl.col("deduction_scope").alias(zh(t, "deduction_scope")),
            pl.col("total_score").alias(zh(t, "total_score")),
            pl.col("grade").fill_null(UNGRADED).alias(zh(t, "grade")),
            pl.col("veto").alias(zh(t, "veto")),
            label(t, "status").alias(zh(t, "status")),
        )
    )


def column_codes(table: str, name: str) -> list[str]:
    """The codes of an enumeration column, in declared order (used to sort rows as the contract does)."""
    enum = column(table, name).enum
    return enum.codes if enum else []


def streak_years(inputs: ReportInputs) -> pl.DataFrame:
    """The assessment rows the 连续两年较差 triggers name as evidence (one per year of each streak, of
    any year: ``inputs`` whole, not one year's view), each as a text '2023 年度 较差（33.33 分）':
    (record_id, text). Small: only the rows the triggers name."""
    named = (
        inputs.table("accountability_triggers")
        .filter(pl.col("trigger_type") == "consecutive_poor")
        .select(pl.col("evidence").alias("record_id"))
        .explode("record_id")
        .unique()
    )
    keyed = {
        "integrity_assessment": ("year", "person_id"),
        "responsibility_assessment": ("year", "unit_code", "subject_kind", "subject_id"),
    }
    rows = [
        inputs.table(t).select(record_id(t, *key).alias("record_id"), "year", "grade", "total_score").join(named, on="record_id", how="semi")
        for t, key in keyed.items()
    ]
    return pl.concat(rows).select(
        "record_id",
        pl.concat_str(
            [pl.col("year").cast(pl.String), pl.lit(" 年度 "), pl.col("grade").fill_null(UNGRADED), pl.lit("（"),
             dec_text(pl.col("total_score")).fill_null("—"), pl.lit(" 分）")]
        ).alias("text"),
    ).collect()


def _evidence_text(rows: pl.LazyFrame, streaks: pl.DataFrame | None) -> pl.LazyFrame:
    """The evidence of each trigger row (``_row``) as shown: record ids, except the assessment rows of
    a 连续两年较差 streak, shown with their year, grade and score (``streak_years``)."""
    texts = (streaks if streaks is not None else pl.DataFrame(schema={"record_id": pl.String, "text": pl.String})).lazy()
    return (
        rows.select("_row", pl.col("evidence").alias("record_id"))
        .explode("record_id")
        .join(texts, on="record_id", how="left", maintain_order="left")
        .group_by("_row", maintain_order=True)
        .agg(pl.coalesce("text", "record_id").drop_nulls().alias("_shown"))
    )


def triggers(
    inputs: ReportInputs, scopes: pl.LazyFrame, limit: int | None = None, streaks: pl.DataFrame | None = None
) -> pl.LazyFrame:
    """Accountability triggers (R4) with their basis and evidence; with ``limit``, only the first
    ``limit`` of each report (in the order shown: type, unit, subject). ``streaks``: ``streak_years``,
    to show a 连续两年较差 streak year by year."""
    t = "accountability_triggers"
    types = {c: i for i, c in enumerate(column_codes(t, "trigger_type"))}
    rows = (
        _in_scope(inputs.table(t), scopes)
        .join(_unit_names(inputs), on="unit_code", how="left")
        .with_columns(_type=pl.col("trigger_type").replace_strict(types, default=len(types), return_dtype=pl.Int64))
        .with_columns(_evidence=joined(pl.col("evidence")))
        .sort(  # every column shown breaks ties, so the order (and the report's digest) is the same every run
            KEYS + ["_type", "unit_code", "subject_kind", "subject_id", "assessment", "streak_years", "basis", "_evidence"],
            nulls_last=True,
            maintain_order=True,
        )
    )
    if limit is not None:
        rows = rows.filter(pl.int_range(pl.len()).over(KEYS) < limit)
    rows = rows.with_row_index("_row")
    return (
        rows.join(_evidence_text(rows, streaks), on="_row", how="left", maintain_order="left")
        .select(
            *KEYS,
            "单位",
            label(t, "trigger_type").alias(zh(t, "trigger_type")),
            label(t, "assessment").alias(zh(t, "assessment")),
            label(t, "subject_kind").alias(zh(t, "subject_kind")),
            person("subject_name", "subject_id").alias(zh(t, "subject_name")),
            pl.col("streak_years").alias(zh(t, "streak_years")),
            pl.col("basis").alias(zh(t, "basis")),
            joined(pl.col("_shown")).alias(zh(t, "evidence")),
        )
    )


def talks_by_department(inputs: ReportInputs, scopes: pl.LazyFrame) -> pl.LazyFrame:
    """Talk obligations owed and fulfilled per department and type (R1)."""
    t = "talk_obligations"
    kinds = {c: i for i, c in enumerate(column_codes(t, "obligation"))}
    rows = (
        _in_scope(inputs.table(t), scopes)
        .group_by(KEYS + ["unit_code", "dept_code", "obligation"])
        .agg(应谈=pl.len(), 已谈=pl.col("fulfilled").fill_null(False).sum().cast(pl.Int64))
    )
    return (
        _dept_label(inputs, rows)
        .join(_unit_names(inputs), on="unit_code", how="left")
        .with_columns(_kind=pl.col("obligation").replace_strict(kinds, default=len(kinds), return_dtype=pl.Int64))
        .sort(KEYS + ["unit_code", pl.col("dept_code").fill_null(""), "_kind"])
        .select(
            *KEYS,
            "单位",
            "部门",
            label(t, "obligation").alias(zh(t, "obligation")),
            "应谈",
            "已谈",
            未谈=pl.col("应谈") - pl.col("已谈"),
            履行率=(pl.col("已谈") / pl.col("应谈") * 100).round(1),
        )
    )


#: Per section frame, the display columns a printed page must not break across lines: in the to-do
#: list the people (name and 工号), the event id and the due dates (dates never wrap anywhere).
KEEP_TOGETHER: dict[str, tuple[str, ...]] = {
    "talks_todo": (
        zh("talk_obligations", "responsible_id").removesuffix("工号"),
        zh("talk_obligations", "person_id").removesuffix("工号"),
        zh("talk_obligations", "event_id"),
    ),
}


def talks_todo(inputs: ReportInputs, scopes: pl.LazyFrame) -> pl.LazyFrame:
    """The to-do list: every obligation not fulfilled, with who is responsible for it (R1)."""
    t = "talk_obligations"
    rows = _in_scope(inputs.table(t), scopes).filter(~pl.col("fulfilled").fill_null(False))
    rows = (
        _dept_label(inputs, rows)
        .join(_names(inputs, "person_id", "_person"), on=["year", "person_id"], how="left")
        .join(_names(inputs, "responsible_id", "_resp"), on=["year", "responsible_id"], how="left")
        .join(_unit_names(inputs), on="unit_code", how="left")
    )
    order = ["unit_code", pl.col("responsible_id").fill_null("~"), "due_to", "person_id", "obligation", "event_id", "due_from"]
    return rows.sort(KEYS + order, nulls_last=True, maintain_order=True).select(
        *KEYS,
        "单位",
        "部门",
        person("_resp", "responsible_id").fill_null("（无责任人）").alias(zh(t, "responsible_id").removesuffix("工号")),
        person("_person", "person_id").alias(zh(t, "person_id").removesuffix("工号")),
        label(t, "obligation").alias(zh(t, "obligation")),
        pl.col("event_id").alias(zh(t, "event_id")),
        pl.col("due_from").alias(zh(t, "due_from")),
        pl.col("due_to").alias(zh(t, "due_to")),
    )


CASE_COUNTS = (
    "cases_closed",
    "major_cases",
    "rated",
    "excellent",
    "qualified",
    "flawed",
    "unqualified",
    "errors",
    "special_cases",
    "special_unverified",
)


def case_quality_by_category(inputs: ReportInputs, scopes: pl.LazyFrame) -> pl.LazyFrame:
    """Case quality summed per category (R6)."""
    t = "case_quality"
    cats = {c: i for i, c in enumerate(column_codes(t, "category"))}
    per_unit = inputs.table(t).group_by("unit_code", "year", "category").agg(pl.col(c).sum() for c in CASE_COUNTS)
    return (
        _in_scope(per_unit, scopes)
        .group_by(KEYS + ["category"])
        .agg(pl.col(c).sum() for c in CASE_COUNTS)
        .with_columns(_cat=pl.col("category").replace_strict(cats, default=len(cats), return_dtype=pl.Int64))
        .sort(KEYS + ["_cat"])
        .select(*KEYS, label(t, "category").alias(zh(t, "category")), *[pl.col(c).alias(zh(t, c)) for c in CASE_COUNTS])
    )


def special_pending(inputs: ReportInputs, scopes: pl.LazyFrame) -> pl.LazyFrame:
    """Handlers with special cases still awaiting 分层核定 (R6)."""
    t = "case_quality"
    return (
        _in_scope(inputs.table(t), scopes)
        .filter(pl.col("special_unverified") > 0)
        .join(_names(inputs, "person_id", "_name"), on=["year", "person_id"], how="left")
        .join(_unit_names(inputs), on="unit_code", how="left")
        .sort(KEYS + ["unit_code", "person_id", "category"])
        .select(
            *KEYS,
            "单位",
            person("_name", "person_id").alias("承办人"),
            label(t, "category").alias(zh(t, "category")),
            pl.col("special_cases").alias(zh(t, "special_cases")),
            pl.col("special_unverified").alias(zh(t, "special_unverified")),
        )
    )


def leader_cases(inputs: ReportInputs, scopes: pl.LazyFrame) -> pl.LazyFrame:
    """Leaders who handle cases, one row per unit (R5)."""
    t = "leader_case_handling"
    counts = ["quota_leaders", "leaders_handling", "chiefs_on_major", "leader_cases", "leader_major_cases"]
    return (
        _in_scope(inputs.table(t), scopes)
        .join(_unit_names(inputs), on="unit_code", how="left")
        .sort(KEYS + ["unit_code"])
        .select(
            *KEYS,
            "单位",
            *[pl.col(c).alias(zh(t, c)) for c in counts],
            yes_no(pl.col("implemented").fill_null(False)).alias(zh(t, "implemented")),
        )
    )


def major_matter_trend(inputs: ReportInputs, scopes: pl.LazyFrame, years: list[int]) -> pl.LazyFrame:
    """"三个规定" per unit in scope, for the report year and every year before it, with the median
    per-hundred-staff rate of the units under the same parent unit that year (R7)."""
    t = "major_matter_report_stats"
    stats = inputs.table(t).join(inputs.units.lazy().select("unit_code", "parent_code"), on="unit_code", how="left")
    medians = (
        stats.drop_nulls("parent_code")
        .group_by("parent_code", "year")
        .agg(上级单位中位数=pl.col("per_hundred_staff").median())
    )
    stats = stats.join(medians, on=["parent_code", "year"], how="left")
    report_years = pl.LazyFrame({"year": years}, schema={"year": pl.Int64})
    return (
        scopes.select("report_key", "unit_code")
        .join(report_years, how="cross")
        .join(stats.rename({"year": "data_year"}), on="unit_code")
        .filter(pl.col("data_year") <= pl.col("year"))
        .join(_unit_names(inputs), on="unit_code", how="left")
        .sort(KEYS + ["unit_code", "data_year"])
        .select(
            *KEYS,
            "单位",
            pl.col("unit_code").alias(zh(t, "unit_code")),
            pl.col("data_year").alias(zh(t, "year")),
            pl.col("staff").alias(zh(t, "staff")),
            pl.col("reports").alias(zh(t, "reports")),
            pl.col("leader_reports").alias(zh(t, "leader_reports")),
            pl.col("per_hundred_staff").alias(zh(t, "per_hundred_staff")),
            pl.col("上级单位中位数").round(2),
            yes_no(pl.col("zero_report").fill_null(False)).alias(zh(t, "zero_report")),
        )
    )


def data_quality(counts: pl.LazyFrame, scopes: pl.LazyFrame, years: list[int]) -> pl.LazyFrame:
    """report_key, year, 数据源 (Chinese name), 接收行数, 拒收行数: per dated source, the rows that belong
    to the report's units in the year (``quality.unit_year_counts``), every source listed (zeros
    included), in the contract's order."""
    order = pl.LazyFrame(
        {"source": list(DATED), "数据源": [SOURCES[n].zh for n in DATED], "_order": list(range(len(DATED)))},
        schema={"source": pl.String, "数据源": pl.String, "_order": pl.Int64},
    )
    sums = _in_scope(counts, scopes).group_by(KEYS + ["source"]).agg(pl.col("accepted", "rejected").sum())
    grid = (
        scopes.select("report_key").unique()
        .join(pl.LazyFrame({"year": years}, schema={"year": pl.Int64}), how="cross")
        .join(order, how="cross")
    )
    return (
        grid.join(sums, on=KEYS + ["source"], how="left")
        .sort(KEYS + ["_order"])
        .select(
            *KEYS,
            "数据源",
            接收行数=pl.col("accepted").fill_null(0).cast(pl.Int64),
            拒收行数=pl.col("rejected").fill_null(0).cast(pl.Int64),
        )
    )


def index_quality(inputs: ReportInputs, unattributed: pl.DataFrame) -> pl.DataFrame:
    """The whole run, for the index page: per source (Chinese name) rows read, accepted, rejected and
    duplicate (the manifest), and how many rejected rows belong to no unit's report."""
    names = pl.DataFrame({"source": list(SOURCES), "数据源": [s.zh for s in SOURCES.values()], "_order": list(range(len(SOURCES)))})
    return (
        inputs.ingest.join(unattributed, on="source", how="full", coalesce=True)
        .join(names, on="source", how="left")
        .with_columns(pl.col("数据源").fill_null(pl.col("source")), pl.col(pl.Int64).exclude("_order").fill_null(0))
        .sort("_order", "source", nulls_last=True)
        .select(
            "数据源",
            pl.col("source").alias("代码"),
            读取行数="rows_read",
            接收行数="rows_accepted",
            拒收行数="rows_rejected",
            重复行数="rows_duplicate",
            无法归属单位的拒收行数="rows",
        )
    )


__all__ = [
    "METRICS",
    "Metric",
    "case_quality_by_category",
    "children_overview",
    "data_quality",
    "grade_distribution",
    "headline",
    "index_quality",
    "integrity_poor",
    "leader_cases",
    "major_matter_trend",
    "report_years",
    "responsibility_subjects",
    "special_pending",
    "talks_by_department",
    "talks_todo",
    "triggers",
    "unit_metrics",
]
