"""`lianjian explain` and `lianjian lineage` (CONTRACT.md §1), over hand-built published tables
(tests/support_publish.py, where the arithmetic behind every number is written out)."""

from __future__ import annotations

import polars as pl
import pytest

from lianjian.cli import main
from support_publish import publish_golden

Q3 = "庆城办法 第四条至第十三条；连云港意见 五"
S = "庆城办法 第十八条；连云港意见 五"

# Every number below follows from the golden tables of tests/support_publish.py, whose comments work
# out the arithmetic by hand; the 计算 lines repeat it from the printed rows and settings.

PERSON_P002 = f"""\
廉检评定说明 — 工号 P002（王五），2024 年度
依据已发布数据（运行 golden，规则版本 2026.1）

【廉洁从检评估】
单位 U01，部门 —，职务 检察长（chief）
评分：个人自评分 95.00；干警互评分 90.00；部门综合分析分 92.00 → 评估得分 91.80
扣分：谈话扣分 0.00；办案质量扣分 5.00；违纪扣分 0.00
明细：
  · R2.cases.error｜办案质量扣分：5.00；记录 C201；依据 连云港意见 三（四）
  · R2.review.department｜部门综合分析分：92.00；记录 reviews/2024/P002/department；依据 连云港意见 二（四）、三（四）
  · R2.review.peer｜干警互评分：80.00；记录 reviews/2024/P002/peer/P021；依据 连云港意见 二（四）、三（四）
  · R2.review.peer｜干警互评分：90.00；记录 reviews/2024/P002/peer/P022；依据 连云港意见 二（四）、三（四）
  · R2.review.peer｜干警互评分：100.00；记录 reviews/2024/P002/peer/P023；依据 连云港意见 二（四）、三（四）
  · R2.review.self｜个人自评分：95.00；记录 reviews/2024/P002/self；依据 连云港意见 二（四）、三（四）
  · R2.status.supervisor_unsigned｜状态：—；记录 reviews/2024/P002/department；依据 连云港意见 二（四）、三（四）
设置（规则文件，2024 年度生效）：
  · integrity.weights.self = 0.2
  · integrity.weights.peer = 0.4
  · integrity.weights.department = 0.4
  · integrity.peer_trim_from = 5
  · integrity.deductions.cases.error = 5
  · integrity.deductions.cases.cap = 20
  · grades.good = 90
  · grades.fairly_good = 80
  · grades.average = 60
  · rounding_decimals = 2
计算：
  个人自评分 = 95
  干警互评分 = (80 + 90 + 100) ÷ 3 = 90
  部门综合分析分 = 92
  评估得分 = (0.2 × 95 + 0.4 × 90 + 0.4 × 92) ÷ (0.2 + 0.4 + 0.4) = 91.8（按已有评分的权重重新归一）
  谈话扣分 = 0
  办案质量扣分 = 5
  违纪扣分 = 0
  总分 = 91.8 − 0 − 5 − 0 = 86.8 → 四舍五入保留 2 位小数：86.80
等次线：好 ≥ 90.00，较好 ≥ 80.00，一般 ≥ 60.00，以下 较差（按写出的总分比较）
总分 86.80 → 等次 较好；状态 待签字（signoff_pending）：部门综合分析 reviews/2024/P002/department 缺分管领导签字（照常评定）
一票否决：无

【党风廉政考核】党组书记（secretary） P002 王五
履职得分 81.25；民主测评得分 85.00；一岗双责扣分 12.00
明细：
  · R3.duty.heart_talk｜谈心谈话：3/4（0.7500）；记录 A11、A12、A13；依据 {Q3}
  · R3.duty.heart_talk.missed｜谈心谈话（未完成）：—；记录 P007；依据 {Q3}
  · R3.duty.interview｜约谈：1/2（0.5000）；记录 A10；依据 {Q3}
  · R3.duty.interview.missed｜约谈（未完成）：—；记录 P003；依据 {Q3}
  · R3.duty.lecture｜廉政党课或专题辅导报告：1；记录 A07；依据 {Q3}
  · R3.duty.responsibility_letter｜签订党风廉政建设责任书：1；记录 A14、A15；依据 {Q3}
  · R3.scope.general｜一岗双责扣分：2.00；记录 V001；依据 {S}
  · R3.scope.serious｜一岗双责扣分：10.00；记录 V003；依据 {S}
  · R3.vote.average｜民主测评得分：5 票；记录 无；依据 {Q3}
  · R3.vote.fairly_good｜民主测评得分：5 票；记录 无；依据 {Q3}
  · R3.vote.good｜民主测评得分：10 票；记录 无；依据 {Q3}
  · R3.vote.poor｜民主测评得分：0 票；记录 无；依据 {Q3}
设置（规则文件，2024 年度生效）：
  · responsibility.duty_items.secretary.heart_talk.weight = 1
  · responsibility.duty_items.secretary.heart_talk.required = 1
  · responsibility.duty_items.secretary.interview.weight = 1
  · responsibility.duty_items.secretary.interview.required = 1
  · responsibility.duty_items.secretary.lecture.weight = 1
  · responsibility.duty_items.secretary.lecture.required = 1
  · responsibility.duty_items.secretary.responsibility_letter.weight = 1
  · responsibility.duty_items.secretary.responsibility_letter.required = 1
  · responsibility.base_weights.duty = 0.6
  · responsibility.base_weights.vote = 0.4
  · responsibility.vote_points.good = 100
  · responsibility.vote_points.fairly_good = 80
  · responsibility.vote_points.average = 60
  · responsibility.vote_points.poor = 0
  · responsibility.scope_deduction.points.general = 2
  · responsibility.scope_deduction.points.serious = 10
  · responsibility.scope_deduction.cap = 30
  · grades.good = 90
  · grades.fairly_good = 80
  · grades.average = 60
  · rounding_decimals = 2
计算：
  履职得分 = 100 × (1 × 3/4 + 1 × 1/2 + 1 × 1/1 + 1 × 1/1) ÷ (1 + 1 + 1 + 1) = 81.25
  民主测评得分 = (100 × 10 + 80 × 5 + 60 × 5 + 0 × 0) ÷ 20 = 85
  基础分 = 0.6 × 81.25 + 0.4 × 85 = 82.75
  一岗双责扣分 = 2 + 10 = 12
  总分 = 82.75 − 12 = 70.75 → 四舍五入保留 2 位小数：70.75
等次线：好 ≥ 90.00，较好 ≥ 80.00，一般 ≥ 60.00，以下 较差（按写出的总分比较）
总分 70.75 → 等次 一般；状态 已评定（graded）
一票否决：无

【问责触发】
  · 一案双查（one_case_two_investigations）：党组书记（secretary） P002 王五，考核 无（none）；依据 庆城办法第二十一条；连云港意见 五（一）；证据 V003
"""

PERSON_P001 = """\
廉检评定说明 — 工号 P001（张三），2024 年度
依据已发布数据（运行 golden，规则版本 2026.1）

【廉洁从检评估】
单位 U01，部门 D01，职务 检察官（prosecutor）
评分：个人自评分 90.00；干警互评分 85.00；部门综合分析分 88.00 → 评估得分 87.20
扣分：谈话扣分 2.00；办案质量扣分 6.00；违纪扣分 3.00
明细：
  · R2.cases.flawed｜办案质量扣分：1.00；记录 C101；依据 连云港意见 三（四）
  · R2.cases.unqualified｜办案质量扣分：5.00；记录 C102；依据 连云港意见 三（四）
  · R2.review.department｜部门综合分析分：88.00；记录 reviews/2024/P001/department/P004；依据 连云港意见 二（四）、三（四）
  · R2.review.peer｜干警互评分：80.00；记录 reviews/2024/P001/peer/P012；依据 连云港意见 二（四）、三（四）
  · R2.review.peer｜干警互评分：85.00；记录 reviews/2024/P001/peer/P013；依据 连云港意见 二（四）、三（四）
  · R2.review.peer｜干警互评分：90.00；记录 reviews/2024/P001/peer/P014；依据 连云港意见 二（四）、三（四）
  · R2.review.peer.trimmed｜干警互评分（去掉）：70.00；记录 reviews/2024/P001/peer/P011；依据 连云港意见 二（四）、三（四）
  · R2.review.peer.trimmed｜干警互评分（去掉）：95.00；记录 reviews/2024/P001/peer/P015；依据 连云港意见 二（四）、三（四）
  · R2.review.self｜个人自评分：90.00；记录 reviews/2024/P001/self；依据 连云港意见 二（四）、三（四）
  · R2.talks.family｜谈话扣分：2.00；记录 talk_obligations/2024/P001/family；依据 连云港意见 二（一）
  · R2.violations.criticism｜违纪扣分：3.00；记录 V001；依据 连云港意见 二（四）、三（四）
设置（规则文件，2024 年度生效）：
  · integrity.weights.self = 0.2
  · integrity.weights.peer = 0.4
  · integrity.weights.department = 0.4
  · integrity.peer_trim_from = 5
  · integrity.deductions.family_talk_missing = 2
  · integrity.deductions.cases.flawed = 1
  · integrity.deductions.cases.unqualified = 5
  · integrity.deductions.cases.cap = 20
  · integrity.deductions.violations.criticism = 3
  · grades.good = 90
  · grades.fairly_good = 80
  · grades.average = 60
  · rounding_decimals = 2
计算：
  个人自评分 = 90
  干警互评分 = (80 + 85 + 90) ÷ 3 = 85（共 5 份，去掉最高分 95 和最低分 70）
  部门综合分析分 = 88
  评估得分 = (0.2 × 90 + 0.4 × 85 + 0.4 × 88) ÷ (0.2 + 0.4 + 0.4) = 87.2（按已有评分的权重重新归一）
  谈话扣分 = 2
  办案质量扣分 = 1 + 5 = 6
  违纪扣分 = 3
  总分 = 87.2 − 2 − 6 − 3 = 76.2 → 四舍五入保留 2 位小数：76.20
等次线：好 ≥ 90.00，较好 ≥ 80.00，一般 ≥ 60.00，以下 较差（按写出的总分比较）
总分 76.20 → 等次 一般；状态 已评定（graded）
一票否决：无

【党风廉政考核】该年度不是考核对象

【问责触发】无
"""

UNIT_U01 = f"""\
廉检评定说明 — 单位 U01，2024 年度
依据已发布数据（运行 golden，规则版本 2026.1）

【党风廉政考核】党组（party_group） U01 甲县人民检察院党组
履职得分 90.00；民主测评得分 96.00；一岗双责扣分 12.00
明细：
  · R3.duty.responsibility_letter｜签订党风廉政建设责任书：1；记录 A06；依据 {Q3}
  · R3.duty.special_inspection｜专项督察：1/2（0.5000）；记录 A03；依据 {Q3}
  · R3.duty.special_meeting｜党组专题会议：1；记录 A01、A02；依据 {Q3}
  · R3.duty.special_rectification｜专项治理：1；记录 A05；依据 {Q3}
  · R3.duty.work_report｜向上级报告党风廉政建设情况：1；记录 A04；依据 {Q3}
  · R3.scope.general｜一岗双责扣分：2.00；记录 V001；依据 {S}
  · R3.scope.serious｜一岗双责扣分：10.00；记录 V003；依据 {S}
  · R3.vote.average｜民主测评得分：0 票；记录 无；依据 {Q3}
  · R3.vote.fairly_good｜民主测评得分：2 票；记录 无；依据 {Q3}
  · R3.vote.good｜民主测评得分：8 票；记录 无；依据 {Q3}
  · R3.vote.poor｜民主测评得分：0 票；记录 无；依据 {Q3}
设置（规则文件，2024 年度生效）：
  · responsibility.duty_items.party_group.responsibility_letter.weight = 1
  · responsibility.duty_items.party_group.responsibility_letter.required = 1
  · responsibility.duty_items.party_group.special_inspection.weight = 1
  · responsibility.duty_items.party_group.special_meeting.weight = 1
  · responsibility.duty_items.party_group.special_meeting.required = 2
  · responsibility.duty_items.party_group.special_rectification.weight = 1
  · responsibility.duty_items.party_group.special_rectification.required = 1
  · responsibility.duty_items.party_group.work_report.weight = 1
  · responsibility.duty_items.party_group.work_report.required = 1
  · responsibility.base_weights.duty = 0.6
  · responsibility.base_weights.vote = 0.4
  · responsibility.vote_points.good = 100
  · responsibility.vote_points.fairly_good = 80
  · responsibility.vote_points.average = 60
  · responsibility.vote_points.poor = 0
  · responsibility.scope_deduction.points.general = 2
  · responsibility.scope_deduction.points.serious = 10
  · responsibility.scope_deduction.cap = 30
  · grades.good = 90
  · grades.fairly_good = 80
  · grades.average = 60
  · rounding_decimals = 2
计算：
  履职得分 = 100 × (1 × 1/1 + 1 × 1/2 + 1 × 1/1 + 1 × 1/1 + 1 × 1/1) ÷ (1 + 1 + 1 + 1 + 1) = 90
  民主测评得分 = (100 × 8 + 80 × 2 + 60 × 0 + 0 × 0) ÷ 10 = 96
  基础分 = 0.6 × 90 + 0.4 × 96 = 92.4
  一岗双责扣分 = 2 + 10 = 12
  总分 = 92.4 − 12 = 80.4 → 四舍五入保留 2 位小数：80.40
等次线：好 ≥ 90.00，较好 ≥ 80.00，一般 ≥ 60.00，以下 较差（按写出的总分比较）
总分 80.40 → 等次 较好；状态 已评定（graded）
一票否决：无

【党风廉政考核】纪检组（discipline_group） U01 甲县人民检察院纪检组
履职得分 58.33；民主测评得分 —；一岗双责扣分 12.00
明细：
  · R3.duty.duty_report｜履职情况报告：1；记录 A23；依据 {Q3}
  · R3.duty.opinion_exchange｜交换意见：3/4（0.7500）；记录 A20、A21、A22；依据 {Q3}
  · R3.duty.opinion_exchange.missed｜交换意见（未完成）：—；记录 P003；依据 {Q3}
  · R3.duty.special_inspection｜专项督察：0；记录 无；依据 {Q3}
  · R3.scope.general｜一岗双责扣分：2.00；记录 V001；依据 {S}
  · R3.scope.serious｜一岗双责扣分：10.00；记录 V003；依据 {S}
设置（规则文件，2024 年度生效）：
  · responsibility.duty_items.discipline_group.duty_report.weight = 1
  · responsibility.duty_items.discipline_group.duty_report.required = 1
  · responsibility.duty_items.discipline_group.opinion_exchange.weight = 1
  · responsibility.duty_items.discipline_group.special_inspection.weight = 1
  · responsibility.duty_items.discipline_group.special_inspection.required = 1
  · responsibility.base_weights.duty = 0.6
  · responsibility.base_weights.vote = 0.4
  · responsibility.scope_deduction.points.general = 2
  · responsibility.scope_deduction.points.serious = 10
  · responsibility.scope_deduction.cap = 30
  · grades.good = 90
  · grades.fairly_good = 80
  · grades.average = 60
  · rounding_decimals = 2
计算：
  履职得分 = 100 × (1 × 1/1 + 1 × 3/4 + 1 × 0/1) ÷ (1 + 1 + 1) = 58.333333…
  民主测评得分：无测评票
  基础分 = 58.333333…（只有履职得分）
  一岗双责扣分 = 2 + 10 = 12
  总分 = 58.333333… − 12 = 46.333333… → 四舍五入保留 2 位小数：46.33
等次线：好 ≥ 90.00，较好 ≥ 80.00，一般 ≥ 60.00，以下 较差（按写出的总分比较）
总分 46.33 → 等次 较差；状态 已评定（graded）
一票否决：无

【本单位考核对象】
  · 党组（party_group） U01 甲县人民检察院党组：总分 80.40，等次 较好
  · 党组书记（secretary） P002 王五：总分 70.75，等次 一般
  · 班子成员（leader） P003 赵六：总分 74.00，等次 一般
  · 部门负责人（dept_head） P004 钱八：总分 98.00，等次 好
  · 纪检组（discipline_group） U01 甲县人民检察院纪检组：总分 46.33，等次 较差

【廉洁从检评估】好 0 人，较好 1 人，一般 2 人，较差 0 人，未评定 1 人（共 4 人）

【问责触发】
  · 连续两年较差（consecutive_poor）：纪检组（discipline_group） U01 甲县人民检察院纪检组，考核 党风廉政考核（responsibility），连续 2 年；依据 庆城办法第二十二条第（三）项；证据 responsibility_assessment/2023/U01/discipline_group/U01、responsibility_assessment/2024/U01/discipline_group/U01
      2023 年度 党风廉政考核 纪检组（discipline_group）：等次 较差，总分 33.33（履职得分 33.33，民主测评得分 —）；R3.duty.opinion_exchange.missed（P002、P003）
      2024 年度 党风廉政考核 纪检组（discipline_group）：等次 较差，总分 46.33（履职得分 58.33，民主测评得分 —）；R3.duty.opinion_exchange.missed（P003）；R3.scope.general 2.00（V001）；R3.scope.serious 10.00（V003）
  · 一案双查（one_case_two_investigations）：党组书记（secretary） P002 王五，考核 无（none）；依据 庆城办法第二十一条；连云港意见 五（一）；证据 V003

【领导干部办案】员额内领导干部 3 人，办案 2 人，办理重大案件的检察长副检察长 1 人；办案 7 件（重大 2 件）；已落实：否

【"三个规定"记录报告】在岗 20 人，报告 3 件（领导干部 1 件），每百人 15.00 件；上年 2 件，前年 0 件
"""


@pytest.fixture(autouse=True)
def _restore_env(monkeypatch):
    """A LIANJIAN_WAREHOUSE of the caller's environment must not decide where these tests read."""
    monkeypatch.delenv("LIANJIAN_WAREHOUSE", raising=False)


@pytest.fixture(scope="module")
def warehouse(tmp_path_factory):
    wh = tmp_path_factory.mktemp("explain")
    publish_golden(wh)
    return wh


def _run(argv, capsys) -> tuple[int, list[str], str]:
    code = main(argv)
    out = capsys.readouterr()
    return code, out.out.splitlines(), out.err


@pytest.mark.parametrize(("person", "expected"), [("P002", PERSON_P002), ("P001", PERSON_P001)])
def test_explain_person_line_by_line(warehouse, capsys, person, expected):
    code, lines, err = _run(["explain", "--person", person, "--year", "2024", "--warehouse", str(warehouse)], capsys)
    assert code == 0, err
    want = expected.splitlines()
    for i, (got, exp) in enumerate(zip(lines, want)):
        assert got == exp, f"line {i + 1}"
    assert len(lines) == len(want)


def test_explain_veto_from_an_earlier_year(warehouse, capsys):
    code, lines, _ = _run(["explain", "--person", "P002", "--year", "2023", "--warehouse", str(warehouse)], capsys)
    assert code == 0
    assert "总分 90.00 → 等次 较差；状态 已评定（graded）" in lines  # 90 would be 好, the veto makes it 较差
    assert "一票否决：V000 → 等次 较差（不论分数）" in lines


def test_explain_unit_line_by_line(warehouse, capsys):
    code, lines, err = _run(["explain", "--unit", "U01", "--year", "2024", "--warehouse", str(warehouse)], capsys)
    assert code == 0, err
    want = UNIT_U01.splitlines()
    for i, (got, exp) in enumerate(zip(lines, want)):
        assert got == exp, f"line {i + 1}"
    assert len(lines) == len(want)


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--person", "P404", "--year", "2024"], "2024 年度已发布的评估结果中没有工号 P404"),
        (["--unit", "U99", "--year", "2024"], "2024 年度已发布的评估结果中没有单位 U99"),
        (["--person", "P001", "--year", "2019"], "已发布的数据中没有 2019 年度（现有年度：2023、2024）"),
    ],
)
def test_unknown_person_unit_or_year_is_one_chinese_line_and_exit_3(warehouse, capsys, argv, message):
    code, lines, err = _run(["explain", *argv, "--warehouse", str(warehouse)], capsys)
    assert code == 3 and lines == []  # "not found", as in every command
    assert len(err.strip().splitlines()) == 1 and err.startswith(message)


def test_explain_without_a_published_warehouse(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("LIANJIAN_WAREHOUSE", str(tmp_path))
    code, _, err = _run(["explain", "--person", "P001", "--year", "2024"], capsys)
    assert code == 3 and "请先运行 lianjian run" in err


def test_lineage_command(capsys):
    code, lines, _ = _run(["lineage", "integrity_assessment.deduction_cases"], capsys)
    assert code == 0
    assert lines[0] == "integrity_assessment（廉洁从检评估）：每名当年在岗干警一行（R2，连云港意见 二（四））"
    assert lines[1] == "integrity_assessment.deduction_cases（办案质量扣分）"
    assert "    staged/cases.quality_rating（案件 · 评查结果）" in lines
    code, lines, _ = _run(["lineage", "responsibility_assessment.duty_score"], capsys)
    assert "    derived/talk_obligations.fulfilled（谈话义务 · 已履行）" in lines
    assert "  追溯到暂存层：" in lines and "    staged/talks.witness_id（廉政谈话记录 · 在场纪检人员工号）" in lines
    code, lines, err = _run(["lineage", "integrity_assessment.nope"], capsys)
    assert code == 3 and err.startswith("未知的发布表或列：integrity_assessment.nope")


def test_the_rules_version_printed_is_the_rows_own(tmp_path, capsys):
    """After a `--years` run the manifest names the latest rules version while older years keep the
    version they were graded with: explain prints the version of the rows it shows."""
    from support_publish import golden_tables, ingest_report

    from lianjian.publish.publish import publish_tables

    tables = golden_tables()
    tables["integrity_assessment"] = tables["integrity_assessment"].with_columns(
        pl.when(pl.col("year") == 2023).then(pl.lit("2025.9")).otherwise(pl.col("rules_version")).alias("rules_version")
    )
    publish_tables(tmp_path, tables, ingest_report=ingest_report(), run_id="later", rules_version="2026.1",
                   rules_sha256="c" * 64, code_version_="test")
    _, lines, _ = _run(["explain", "--person", "P002", "--year", "2023", "--warehouse", str(tmp_path)], capsys)
    assert lines[1] == "依据已发布数据（运行 later，规则版本 2025.9）"
    _, lines, _ = _run(["explain", "--person", "P001", "--year", "2024", "--warehouse", str(tmp_path)], capsys)
    assert lines[1] == "依据已发布数据（运行 later，规则版本 2026.1）"


def test_a_line_that_does_not_add_up_says_so(tmp_path, capsys):
    """The arithmetic is redone from the printed rows: were a published value not what its evidence
    gives (here P001's case deduction published as 7 while its rows add up to 6), the line says so."""
    from support_publish import golden_tables, ingest_report

    from lianjian.publish.publish import publish_tables

    tables = golden_tables()
    tables["integrity_assessment"] = tables["integrity_assessment"].with_columns(
        pl.when((pl.col("person_id") == "P001") & (pl.col("year") == 2024)).then(7.0).otherwise(pl.col("deduction_cases"))
        .alias("deduction_cases")
    )
    publish_tables(tmp_path, tables, ingest_report=ingest_report(), run_id="x", rules_version="2026.1",
                   rules_sha256="c" * 64, code_version_="test")
    _, lines, _ = _run(["explain", "--person", "P001", "--year", "2024", "--warehouse", str(tmp_path)], capsys)
    assert "  办案质量扣分 = 1 + 5 = 6（与发布值 7.00 不符）" in lines
