"""`lianjian explain` and `lianjian lineage` (CONTRACT.md §1), over hand-built published tables
(tests/support_publish.py, where the arithmetic behind every number is written out)."""

from __future__ import annotations

import pytest

from lianjian.cli import main
from support_publish import publish_golden

Q3 = "庆城办法 第四条至第十三条；连云港意见 五"
S = "庆城办法 第十八条；连云港意见 五"

PERSON_P002 = f"""\
廉检评定说明 — 工号 P002（王五），2024 年度
依据已发布数据（运行 golden，规则版本 2026.1）

【廉洁从检评估】
单位 U01，部门 —，职务 检察长（chief）
评分：个人自评分 95.00；干警互评分 90.00；部门综合分析分 92.00 → 评估得分 91.80
扣分：谈话扣分 0.00；办案质量扣分 5.00；违纪扣分 0.00
明细：
  · R2.cases.error｜办案质量扣分：5.00；记录 C201；依据 连云港意见 三（四）
总分 86.80 → 等次 较好；状态 待签字（signoff_pending）
一票否决：无

【党风廉政考核】党组书记（secretary） P002 王五
履职得分 81.25；民主测评得分 85.00；一岗双责扣分 12.00
明细：
  · R3.duty.interview｜约谈：0.50；记录 A10；依据 {Q3}
  · R3.scope.serious｜一岗双责扣分：10.00；记录 V003；依据 {S}
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
  · R2.review.department｜部门综合分析分：88.00；记录 P004；依据 连云港意见 二（四）、三（四）
  · R2.review.peer｜干警互评分：85.00；记录 P011、P012、P013、P014、P015；依据 连云港意见 二（四）、三（四）
  · R2.review.self｜个人自评分：90.00；记录 无；依据 连云港意见 二（四）、三（四）
  · R2.talks.family｜谈话扣分：2.00；记录 无；依据 连云港意见 二（一）
  · R2.violations.criticism｜违纪扣分：3.00；记录 V001；依据 连云港意见 二（四）、三（四）
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
  · R3.duty.special_inspection｜专项督察：0.50；记录 A03；依据 {Q3}
  · R3.duty.special_meeting｜党组专题会议：1.00；记录 A01、A02；依据 {Q3}
  · R3.scope.general｜一岗双责扣分：2.00；记录 V001；依据 {S}
  · R3.scope.serious｜一岗双责扣分：10.00；记录 V003；依据 {S}
  · R3.vote｜民主测评得分：96.00；记录 无；依据 {Q3}
总分 80.40 → 等次 较好；状态 已评定（graded）
一票否决：无

【党风廉政考核】纪检组（discipline_group） U01 甲县人民检察院纪检组
履职得分 58.33；民主测评得分 —；一岗双责扣分 12.00
明细：
  · R3.duty.special_inspection｜专项督察：0.00；记录 无；依据 {Q3}
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
def test_unknown_person_unit_or_year_is_one_chinese_line_and_exit_1(warehouse, capsys, argv, message):
    code, lines, err = _run(["explain", *argv, "--warehouse", str(warehouse)], capsys)
    assert code == 1 and lines == []
    assert len(err.strip().splitlines()) == 1 and err.startswith(message)


def test_explain_without_a_published_warehouse(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("LIANJIAN_WAREHOUSE", str(tmp_path))
    code, _, err = _run(["explain", "--person", "P001", "--year", "2024"], capsys)
    assert code == 1 and "请先运行 lianjian run" in err


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
    assert code == 1 and err.startswith("未知的发布表或列：integrity_assessment.nope")
