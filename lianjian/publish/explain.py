"""``lianjian explain``: how a person's or a unit's results for a year were reached, read from the
published tables only (``integrity_assessment``, ``responsibility_assessment``,
``accountability_triggers``, ``assessment_evidence`` and, for units, the R5/R7 statistics).

Every component, deduction, veto and trigger is printed with its record ids, rule id and basis
(article), in Chinese. Nothing is recomputed: what is printed is what was published.
"""

from __future__ import annotations

import sys
from pathlib import Path

import polars as pl

from lianjian.contract import ENUMS, PUBLISHED
from lianjian.publish.publish import read_manifest, read_published


def _num(v) -> str:
    return "—" if v is None else f"{v:.2f}"


def _label(enum: str, code: str | None) -> str:
    if code is None:
        return "—"
    e = ENUMS[enum]
    return f"{e.label(code)}（{code}）" if code in e.codes else code


def _zh(table: str, column: str) -> str:
    """Chinese name of an evidence component: a column of the table, a duty item named after its
    activity type, or the component as written."""
    t = PUBLISHED[table]
    if column in t.column_names:
        return t.columns[t.column_names.index(column)].zh
    if column in ENUMS["activity_type"].codes:
        return ENUMS["activity_type"].label(column)
    return column


def _ids(ids) -> str:
    return "、".join(ids) if ids else "无"


def _evidence_lines(ev: pl.DataFrame, table: str) -> list[str]:
    if ev.height == 0:
        return ["明细：无"]
    lines = ["明细："]
    for r in ev.sort(["rule", "component", "record_ids"], nulls_last=True).iter_rows(named=True):
        basis = f"；依据 {r['basis']}" if r["basis"] else ""
        lines.append(f"  · {r['rule']}｜{_zh(table, r['component'])}：{_num(r['value'])}；记录 {_ids(r['record_ids'])}{basis}")
    return lines


def _outcome_lines(row: dict) -> list[str]:
    veto = row["veto"]
    return [
        f"总分 {_num(row['total_score'])} → 等次 {row['grade'] or '—'}；状态 {_label('assessment_status', row['status'])}",
        f"一票否决：{veto} → 等次 较差（不论分数）" if veto else "一票否决：无",
    ]


def _integrity_lines(row: dict, ev: pl.DataFrame) -> list[str]:
    t = "integrity_assessment"
    return [
        "【廉洁从检评估】",
        f"单位 {row['unit_code']}，部门 {row['dept_code'] or '—'}，职务 {_label('position', row['position'])}",
        f"评分：{_zh(t, 'self_score')} {_num(row['self_score'])}；{_zh(t, 'peer_score')} {_num(row['peer_score'])}；"
        f"{_zh(t, 'department_score')} {_num(row['department_score'])} → {_zh(t, 'review_score')} {_num(row['review_score'])}",
        f"扣分：{_zh(t, 'deduction_talks')} {_num(row['deduction_talks'])}；{_zh(t, 'deduction_cases')} {_num(row['deduction_cases'])}；"
        f"{_zh(t, 'deduction_violations')} {_num(row['deduction_violations'])}",
        *_evidence_lines(ev, t),
        *_outcome_lines(row),
    ]


def _responsibility_lines(row: dict, ev: pl.DataFrame) -> list[str]:
    t = "responsibility_assessment"
    return [
        f"【党风廉政考核】{_label('trigger_subject_kind', row['subject_kind'])} {row['subject_id']} {row['subject_name'] or ''}".rstrip(),
        f"{_zh(t, 'duty_score')} {_num(row['duty_score'])}；{_zh(t, 'vote_score')} {_num(row['vote_score'])}；"
        f"{_zh(t, 'deduction_scope')} {_num(row['deduction_scope'])}",
        *_evidence_lines(ev, t),
        *_outcome_lines(row),
    ]


def _trigger_lines(trig: pl.DataFrame) -> list[str]:
    if trig.height == 0:
        return ["【问责触发】无"]
    lines = ["【问责触发】"]
    for r in trig.sort(["trigger_type", "subject_kind", "subject_id", "evidence"], nulls_last=True).iter_rows(named=True):
        streak = f"，连续 {r['streak_years']} 年" if r["streak_years"] is not None else ""
        lines.append(
            f"  · {_label('trigger_type', r['trigger_type'])}：{_label('trigger_subject_kind', r['subject_kind'])} "
            f"{r['subject_id']} {r['subject_name'] or ''}，考核 {_label('trigger_assessment', r['assessment'])}{streak}；"
            f"依据 {r['basis'] or '—'}；证据 {_ids(r['evidence'])}"
        )
    return lines


def _source_line(warehouse: Path) -> str:
    m = read_manifest(warehouse) or {}
    return f"依据已发布数据（运行 {m.get('run_id', '—')}，规则版本 {m.get('rules_version', '—')}）"


def _evidence(warehouse: Path, year: int, assessment: str, kind: str, subject: str) -> pl.DataFrame:
    return (
        read_published(warehouse, "assessment_evidence")
        .filter(
            (pl.col("year") == year)
            & (pl.col("assessment") == assessment)
            & (pl.col("subject_kind") == kind)
            & (pl.col("subject_id") == subject)
        )
        .collect()
    )


class NotFound(Exception):
    """The person, unit or year is not in the published tables (message in Chinese)."""


def _check_year(warehouse: Path, year: int) -> None:
    years = (
        pl.concat(
            [read_published(warehouse, t).select("year") for t in ("integrity_assessment", "responsibility_assessment")]
        )
        .unique()
        .sort("year")
        .collect()
        .get_column("year")
        .to_list()
    )
    if not years:
        raise NotFound(f"{warehouse}/published 中没有已发布的评估结果 — 请先运行 lianjian run（或用 --warehouse 指定数据仓库）")
    if year not in years:
        raise NotFound(f"已发布的数据中没有 {year} 年度（现有年度：{'、'.join(map(str, years))}）— 请检查 --year")


def explain_person(warehouse: Path, person: str, year: int) -> list[str]:
    """The explanation of one person's results in ``year``, line by line."""
    _check_year(warehouse, year)
    integ = read_published(warehouse, "integrity_assessment").filter(
        (pl.col("year") == year) & (pl.col("person_id") == person)
    ).collect()
    resp = (
        read_published(warehouse, "responsibility_assessment")
        .filter((pl.col("year") == year) & (pl.col("subject_id") == person) & ~pl.col("subject_kind").is_in(["party_group", "discipline_group"]))
        .collect()
    )
    if integ.height == 0 and resp.height == 0:
        raise NotFound(f"{year} 年度已发布的评估结果中没有工号 {person} — 请检查工号（该年度不在岗的人员不参加评估）")
    name = integ.get_column("name")[0] if integ.height else resp.get_column("subject_name")[0]
    lines = [f"廉检评定说明 — 工号 {person}（{name or '—'}），{year} 年度", _source_line(warehouse), ""]
    if integ.height:
        row = integ.row(0, named=True)
        lines += _integrity_lines(row, _evidence(warehouse, year, "integrity", "person", person))
    else:
        lines.append("【廉洁从检评估】该年度无评估（不是在岗干警）")
    order = {c: i for i, c in enumerate(ENUMS["actor_kind"].codes)}
    for row in sorted(resp.iter_rows(named=True), key=lambda r: order.get(r["subject_kind"], 99)):
        lines += ["", *_responsibility_lines(row, _evidence(warehouse, year, "responsibility", row["subject_kind"], person))]
    if resp.height == 0:
        lines += ["", "【党风廉政考核】该年度不是考核对象"]
    trig = read_published(warehouse, "accountability_triggers").filter(
        (pl.col("year") == year) & (pl.col("subject_id") == person)
    ).collect()
    return lines + ["", *_trigger_lines(trig)]


def explain_unit(warehouse: Path, unit: str, year: int) -> list[str]:
    """The explanation of one unit's results in ``year``: its bodies (党组, 纪检组) in full, every
    subject's grade, the unit's integrity grades, triggers and the R5/R7 statistics."""
    _check_year(warehouse, year)
    in_unit = (pl.col("year") == year) & (pl.col("unit_code") == unit)
    resp = read_published(warehouse, "responsibility_assessment").filter(in_unit).collect()
    integ = read_published(warehouse, "integrity_assessment").filter(in_unit).collect()
    if resp.height == 0 and integ.height == 0:
        raise NotFound(f"{year} 年度已发布的评估结果中没有单位 {unit} — 请检查单位编码")
    lines = [f"廉检评定说明 — 单位 {unit}，{year} 年度", _source_line(warehouse)]
    for kind in ("party_group", "discipline_group"):
        for row in resp.filter(pl.col("subject_kind") == kind).sort("subject_id").iter_rows(named=True):
            lines += ["", *_responsibility_lines(row, _evidence(warehouse, year, "responsibility", kind, row["subject_id"]))]
    order = pl.Enum(ENUMS["actor_kind"].codes)
    lines += ["", "【本单位考核对象】"]
    subjects = resp.sort([pl.col("subject_kind").cast(order), pl.col("subject_id")])
    lines += [
        f"  · {_label('trigger_subject_kind', r['subject_kind'])} {r['subject_id']} {r['subject_name'] or ''}：总分 "
        f"{_num(r['total_score'])}，等次 {r['grade'] or '—'}"
        for r in subjects.iter_rows(named=True)
    ] or ["  无"]
    counts = dict(integ.group_by("grade").agg(pl.len()).iter_rows())
    levels = "，".join(f"{g} {counts.get(g, 0)} 人" for g in ("好", "较好", "一般", "较差"))
    lines += ["", f"【廉洁从检评估】{levels}，未评定 {counts.get(None, 0)} 人（共 {integ.height} 人）"]
    trig = read_published(warehouse, "accountability_triggers").filter(in_unit).collect()
    lines += ["", *_trigger_lines(trig)]
    lch = read_published(warehouse, "leader_case_handling").filter(in_unit).collect()
    if lch.height:
        r = lch.row(0, named=True)
        lines += [
            "",
            f"【领导干部办案】员额内领导干部 {r['quota_leaders']} 人，办案 {r['leaders_handling']} 人，"
            f"办理重大案件的检察长副检察长 {r['chiefs_on_major']} 人；办案 {r['leader_cases']} 件"
            f"（重大 {r['leader_major_cases']} 件）；已落实：{'是' if r['implemented'] else '否'}",
        ]
    mm = read_published(warehouse, "major_matter_report_stats").filter(in_unit).collect()
    if mm.height:
        r = mm.row(0, named=True)
        lines += [
            "",
            f'【"三个规定"记录报告】在岗 {r["staff"]} 人，报告 {r["reports"]} 件（领导干部 {r["leader_reports"]} 件），'
            f"每百人 {_num(r['per_hundred_staff'])} 件{'，零报告' if r['zero_report'] else ''}；"
            f"上年 {r['reports_prev_year']} 件，前年 {r['reports_two_years_ago']} 件",
        ]
    return lines


def explain_command(person: str | None, unit: str | None, year: int, warehouse: Path | None = None) -> int:
    """``lianjian explain --person ID | --unit CODE --year YYYY``. Exit 1 with one Chinese line when
    the person, unit or year is not published."""
    if warehouse is None:
        from pipelines.resources import LianjianSettings

        warehouse = LianjianSettings.resolve().warehouse_path
    try:
        lines = explain_person(warehouse, person, year) if person else explain_unit(warehouse, unit or "", year)
    except NotFound as err:
        print(str(err), file=sys.stderr)
        return 1
    print("\n".join(lines))
    return 0
