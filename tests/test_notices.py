"""The "三个规定" monthly notice and quarterly analysis (R9; 黑龙江巡礼: 月通报、季分析), written from a
hand-made published monthly table. Every value expected below is read off the rows in ``MONTHLY``.

Units: P province; C1, C2, C3 cities under P; K county under C1 (so C1 is a parent as well).
2024, months 1–3 (as if run in March):

    month  C1 (10 staff)            C2 (5 staff)          C3 (4 staff)
    1      1 report (1 leader) 10.0 rank 1   0 → 0.0 rank 2        0 → 0.0 rank 2
    2      0           10.0 rank 2         1 → 20.0 rank 1       0 → 0.0 rank 3, 少报告
    3      2 (1 leader) 30.0 rank 1        0 → 20.0 rank 2       0 → 0.0 rank 3, 少报告
"""

from __future__ import annotations

import re
from pathlib import Path

import openpyxl
import polars as pl
import pytest

from lianjian.contract import PUBLISHED
from lianjian.report.notices import write_notices

T = "major_matter_report_monthly"


def row(month, unit, staff, reports, leaders, to_date, rate, rank, peers, without, low):
    return dict(year=2024, month=month, unit_code=unit, staff=staff, reports=reports, leader_reports=leaders,
                reports_to_date=to_date, per_hundred_staff_to_date=rate, rank=rank, peers=peers,
                months_without_report=without, low_report=low)


MONTHLY = [
    row(1, "C1", 10, 1, 1, 1, 10.0, 1, 3, 0, False),
    row(1, "C2", 5, 0, 0, 0, 0.0, 2, 3, 1, False),
    row(1, "C3", 4, 0, 0, 0, 0.0, 2, 3, 1, False),
    row(2, "C1", 10, 0, 0, 1, 10.0, 2, 3, 1, False),
    row(2, "C2", 5, 1, 0, 1, 20.0, 1, 3, 0, False),
    row(2, "C3", 4, 0, 0, 0, 0.0, 3, 3, 2, True),
    row(3, "C1", 10, 2, 1, 3, 30.0, 1, 3, 0, False),
    row(3, "C2", 5, 0, 0, 1, 20.0, 2, 3, 1, False),
    row(3, "C3", 4, 0, 0, 0, 0.0, 3, 3, 3, True),
    row(1, "K", 3, 0, 0, 0, 0.0, 1, 1, 1, False),
    row(2, "K", 3, 0, 0, 0, 0.0, 1, 1, 2, False),
    row(3, "K", 3, 1, 1, 1, 33.33, 1, 1, 0, False),
    row(1, "P", 2, 0, 0, 0, 0.0, 1, 1, 1, False),  # P has no parent: in no notice
]
UNITS = [
    ("P", "某省院", "province", None),
    ("C1", "甲市院", "city", "P"),
    ("C2", "乙市院", "city", "P"),
    ("C3", "丙市院", "city", "P"),
    ("K", "子县院", "county", "C1"),
]


def make_warehouse(root: Path) -> Path:
    schema = PUBLISHED[T].schema()
    part = root / "published" / T / "year=2024"
    part.mkdir(parents=True)
    pl.DataFrame({c: [r[c] for r in MONTHLY] for c in schema}, schema=schema).write_parquet(part / "part-0.parquet")
    (root / "staged").mkdir()
    pl.DataFrame(
        {"unit_code": [u[0] for u in UNITS], "unit_name": [u[1] for u in UNITS], "level": [u[2] for u in UNITS],
         "parent_code": [u[3] for u in UNITS]},
        schema={"unit_code": pl.String, "unit_name": pl.String, "level": pl.String, "parent_code": pl.String},
    ).write_parquet(root / "staged" / "units.parquet")
    return root


def table_rows(html: str, key: str) -> list[list[str]]:
    body = html.split(f'data-table="{key}"', 1)[1].split("</table>", 1)[0]
    rows = [re.findall(r"<td[^>]*>(.*?)</td>", tr) for tr in re.findall(r"<tr>(.*?)</tr>", body)]
    return [r for r in rows if r]  # the header row has no <td>


@pytest.fixture(scope="module")
def wh(tmp_path_factory) -> Path:
    root = make_warehouse(tmp_path_factory.mktemp("notices"))
    write_notices(root)
    return root


def test_one_notice_per_parent_and_month_one_analysis_per_quarter_end(wh):
    folder = wh / "reports" / "2024" / "notices"
    assert sorted(p.name for p in folder.iterdir()) == [
        "C1.01.html", "C1.02.html", "C1.03.html", "C1.Q1.html", "C1.xlsx",
        "P.01.html", "P.02.html", "P.03.html", "P.Q1.html", "P.xlsx",
    ]
    index = (wh / "reports" / "notices.html").read_text(encoding="utf-8")
    assert 'href="2024/notices/P.02.html"' in index and 'href="2024/notices/C1.Q1.html"' in index


def test_the_monthly_notice_ranks_children_marks_zero_and_low_and_the_change(wh):
    page = (wh / "reports" / "2024" / "notices" / "P.02.html").read_text(encoding="utf-8")
    assert "某省院 2024年2月“三个规定”记录报告情况通报" in page
    rows = table_rows(page, "notice")
    # ranked: C2 (1), C1 (2), C3 (3); columns: rank, name, code, level, staff, reports, leaders, to date,
    # rate, last month's rate, change, last month's rank, rank change, months without, peers, marks
    assert [r[:3] for r in rows] == [["1", "乙市院", "C2"], ["2", "甲市院", "C1"], ["3", "丙市院", "C3"]]
    c2, c1, c3 = rows
    assert c2[8:13] == ["20.00", "0.00", "20.00", "2", "1"]  # 0 → 20 per hundred, rank 2 → 1: up 1
    assert c1[8:13] == ["10.00", "10.00", "0.00", "1", "-1"]  # unchanged rate, down one place
    assert c1[13] == "1" and c1[15] == "本月零报告"
    assert c3[15] == "年内零报告、少报告"
    assert "年内零报告单位（1 个）：丙市院。" in page and "本月零报告单位（1 个）：甲市院。" in page
    assert "少报告单位（1 个）：丙市院。" in page and "排名上升最多：乙市院（上升 1 位）。" in page
    # January has no month before within the year: the change columns are empty
    jan = table_rows((wh / "reports" / "2024" / "notices" / "P.01.html").read_text(encoding="utf-8"), "notice")
    assert [r[9:13] for r in jan] == [["", "", "", ""]] * 3


def test_the_quarterly_analysis_shows_the_trend_and_the_leaders_share(wh):
    page = (wh / "reports" / "2024" / "notices" / "P.Q1.html").read_text(encoding="utf-8")
    rows = {r[1]: r for r in table_rows(page, "analysis")}
    # name, code, staff, Q1–Q4 rate at quarter end, quarter reports, previous quarter, leaders, share,
    # to date, year share, rank, low, marks
    assert rows["C1"][3:7] == ["30.00", "", "", ""]
    assert rows["C1"][7:12] == ["3", "", "2", "66.70", "3"]  # 2 of 3 by leaders: 66.7 %
    assert rows["C2"][7:12] == ["1", "", "0", "0.00", "1"]
    assert rows["C3"][7:12] == ["0", "", "0", "", "0"]  # no report: no share
    assert rows["C3"][13:] == ["3", "是", "年内零报告"]
    assert "本季度 3 个下级单位共记录报告 4 件，其中领导干部 2 件（占 50.0%）。" in page


def test_the_workbook_holds_every_notice_and_analysis(wh):
    book = openpyxl.load_workbook(wh / "reports" / "2024" / "notices" / "P.xlsx")
    assert book.sheetnames == ["1月通报", "2月通报", "3月通报", "第1季度分析"]
    feb = list(book["2月通报"].iter_rows(values_only=True))
    assert feb[0][:3] == ("同级排名", "单位", "单位编码")
    assert [r[:3] for r in feb[1:]] == [(1, "乙市院", "C2"), (2, "甲市院", "C1"), (3, "丙市院", "C3")]


def test_unchanged_notices_are_not_rewritten(wh):
    page = wh / "reports" / "2024" / "notices" / "P.02.html"
    before = page.stat().st_mtime_ns
    write_notices(wh)
    assert page.stat().st_mtime_ns == before


def test_the_reports_index_links_the_notices():
    from lianjian.report.html import render_index

    entries = pl.DataFrame(schema={"year": pl.Int64, "unit_code": pl.String})
    assert 'href="notices.html"' in render_index(entries, has_data_docs=False, has_notices=True)
    assert 'href="notices.html"' not in render_index(entries, has_data_docs=False)
