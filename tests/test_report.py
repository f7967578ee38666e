"""The yearly report (issue 7): numbers, files, workbook and formula neutralization.

Every expected number is worked out by hand from the fixture rows in support_report.py."""

from __future__ import annotations

import os
import re
from html.parser import HTMLParser
from pathlib import Path
from types import SimpleNamespace

import dagster as dg
import openpyxl
import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from support_report import FORMULA_NAME, UNITS, make_warehouse, tree_bytes

from lianjian.errors import FatalError, NotFound
from lianjian.report import report_command, write_reports
from lianjian.report.build import build_reports
from lianjian.report.html import FONT_STACK, table_html
from lianjian.report.load import load_inputs
from lianjian.report.scope import report_scopes, subtree_pairs
from lianjian.report.xlsx import Sheet, write_xlsx


@pytest.fixture(scope="module")
def warehouse(tmp_path_factory) -> Path:
    wh = make_warehouse(tmp_path_factory.mktemp("report"))
    write_reports(wh)
    return wh


@pytest.fixture(scope="module")
def reports(warehouse):
    return {(r.report_key, r.year): r for r in build_reports(load_inputs(warehouse))}


def block(report, key: str) -> pl.DataFrame:
    return next(b.frame for s in report.sections for b in s.blocks if b.key == key)


# --- who each report covers ----------------------------------------------------------------------


def test_scopes_cover_subtrees():
    units = pl.DataFrame(UNITS, schema={"unit_code": pl.String, "unit_name": pl.String, "level": pl.String, "parent_code": pl.String})
    pairs = subtree_pairs(units)
    # PRV -> CITY -> {CTY1, CTY2}: PRV covers 4 units, CITY 3, each county only itself.
    counts = dict(pairs.group_by("ancestor").len().iter_rows())
    assert counts == {"PRV": 4, "CITY": 3, "CTY1": 1, "CTY2": 1}
    assert pairs.filter((pl.col("ancestor") == "PRV") & (pl.col("unit_code") == "CTY2"))["depth"].item() == 2
    scopes = report_scopes(units)
    assert sorted(scopes.filter(pl.col("rollup"))["report_key"].unique()) == ["CITY.rollup", "PRV.rollup"]
    assert sorted(scopes.filter(pl.col("report_key") == "CITY.rollup")["unit_code"]) == ["CITY", "CTY1", "CTY2"]


def test_parent_cycle_does_not_loop():
    units = pl.DataFrame(
        {"unit_code": ["A", "B"], "unit_name": ["a", "b"], "level": ["city", "county"], "parent_code": ["B", "A"]}
    )
    pairs = subtree_pairs(units)
    assert pairs.height == 4  # A:{A,B}, B:{B,A}, each once


# --- the numbers ---------------------------------------------------------------------------------


def test_unit_headline_numbers(reports):
    m = reports[("CTY1", 2024)].metrics
    assert m == {
        "integrity_people": 5,  # p1..p5
        "integrity_poor": 1,  # p4 王五
        "integrity_incomplete": 1,  # p5
        "responsibility_subjects": 4,  # 党组, 书记, 班子成员, 纪检组
        "responsibility_poor": 1,  # 李四 (leader)
        "triggers": 1,  # consecutive_poor of 王五 (the CTY2 trigger is not CTY1's)
        "obligations_due": 5,
        "obligations_outstanding": 3,  # p2 family, p3 department_h2, p4 must_talk
        "cases_closed": 14,  # 10 + 4
        "special_unverified": 1,  # 1 + 0
        "leaders_handling": 2,
        "staff": 40,
        "mm_reports": 3,
    }


def test_rollup_sums_its_subtree(reports):
    m = reports[("CITY.rollup", 2024)].metrics
    # CITY + CTY1 + CTY2: people 1 + 5 + 2 = 8; 较差 p4 + q2 = 2; triggers 1 + 1 = 2;
    # staff 10 + 40 + 20 = 70; reports 1 + 3 + 0 = 4.
    assert (m["integrity_people"], m["integrity_poor"], m["triggers"], m["staff"], m["mm_reports"]) == (8, 2, 2, 70, 4)
    assert reports[("PRV.rollup", 2024)].metrics == m  # the province has no rows of its own
    kids = block(reports[("CITY.rollup", 2024)], "children")
    assert kids["单位编码"].to_list() == ["CTY1", "CTY2"]
    assert kids["参加廉洁从检评估人数"].to_list() == [5, 2]
    prv = block(reports[("PRV.rollup", 2024)], "children")  # CITY with everything below it
    assert prv["单位编码"].to_list() == ["CITY"] and prv["参加廉洁从检评估人数"].to_list() == [8]


def test_grade_distributions(reports):
    r = reports[("CTY1", 2024)]
    ig = block(r, "integrity_grades")
    assert ig["等次"].to_list() == ["好", "较好", "一般", "较差", "未评定"]
    assert ig["人数"].to_list() == [1, 1, 1, 1, 1]
    assert ig["占比（%）"].to_list() == [20.0] * 5  # 1 / 5
    rg = block(r, "responsibility_grades")
    assert rg["对象数"].to_list() == [1, 1, 1, 1, 0]
    chart = next(c for s in r.sections for c in s.charts if c.key == "integrity_grades")
    assert chart.series["人数"] == [1, 1, 1, 1, 1]


def test_todo_list_names_who_owes_what(reports):
    todo = block(reports[("CTY1", 2024)], "talks_todo")
    assert todo["责任人"].to_list() == ["李四（p2）", "李四（p2）", "（无责任人）"]
    assert todo["谈话对象"].to_list() == ["李四（p2）", f"{FORMULA_NAME}（p3）", "王五（p4）"]
    assert todo["谈话义务"].to_list() == ["家人廉政谈话", "部门领导谈话（下半年）", "六必谈"]
    by_dept = block(reports[("CTY1", 2024)], "talks_by_department")
    fam = by_dept.filter(pl.col("谈话义务") == "家人廉政谈话")
    assert (fam["应谈"].item(), fam["已谈"].item(), fam["履行率"].item()) == (2, 1, 50.0)
    assert fam["部门"].item() == "第一检察部（D1）"


def test_cases_and_leaders(reports):
    r = reports[("CTY1", 2024)]
    cq = block(r, "case_quality")
    assert cq["案件类别"].to_list() == ["自侦案件", "公诉案件"]  # contract order
    assert cq["办结案件数"].to_list() == [4, 10]
    pend = block(r, "special_pending")
    assert pend["承办人"].to_list() == ["张三（p1）"] and pend["未完成核定数"].to_list() == [1]
    lc = block(r, "leader_cases")
    assert lc["已落实"].to_list() == ["否"] and lc["员额内领导干部数"].to_list() == [3]


def test_major_matters_against_parent_median(reports):
    mmf = block(reports[("CTY1", 2024)], "major_matters")
    assert mmf["年度"].to_list() == [2022, 2023, 2024]
    assert mmf["每百人报告数"].to_list() == [2.0, 0.0, 7.5]  # 1/50, 0/50, 3/40 × 100
    # siblings under CITY: 2022 {2.0}; 2023 {0.0, 10.0}; 2024 {7.5, 0.0}
    assert mmf["上级单位中位数"].to_list() == [2.0, 5.0, 3.75]
    assert mmf["零报告"].to_list() == ["否", "是", "否"]
    sec = next(s for s in reports[("CITY.rollup", 2024)].sections if s.key == "major_matters")
    assert "乙县人民检察院" in sec.intro  # CTY2 reported nothing in 2024


def test_data_quality_is_the_units_own_year(reports):
    """Per dated source (Chinese names, contract order), the rows of the unit in the year
    (tests/support_report.py): CTY1 2024 — personnel p1–p5 accepted, p9 rejected (Chinese headers);
    department D1; talks T1, T2 (interviewee p1) accepted, T9 (p2, dated 2024年5月1日) rejected;
    cases K1–K3 accepted (K4 closed in 2023, K5 is CTY2's), K9 rejected. The roll-up of CITY sums
    CITY (c1), CTY1 and CTY2 (q1, q2; T3; K5)."""
    q = block(reports[("CTY1", 2024)], "quality")
    assert q["数据源"].to_list() == ["干警名册", "部门", "人事事件", "廉政谈话记录", "案件", "廉洁从检评估评分", "违纪违法及处理",
                                  '"三个规定"记录报告', "党风廉政建设履职记录", "民主测评"]
    got = {r[0]: r[1:] for r in q.iter_rows()}
    assert got["干警名册"] == (5, 1) and got["部门"] == (1, 0) and got["廉政谈话记录"] == (2, 1) and got["案件"] == (3, 1)
    assert sum(r[1] + r[2] for r in q.iter_rows()) == 5 + 1 + 1 + 2 + 1 + 3 + 1  # the others are 0
    assert dict((r[0], r[1:]) for r in block(reports[("CTY1", 2023)], "quality").iter_rows())["案件"] == (1, 0)  # K4
    city = {r[0]: r[1:] for r in block(reports[("CITY.rollup", 2024)], "quality").iter_rows()}
    assert city["干警名册"] == (8, 1) and city["廉政谈话记录"] == (3, 1) and city["案件"] == (4, 1)
    sec = next(s for s in reports[("CTY1", 2024)].sections if s.key == "quality")
    assert "本单位 2024 年" in sec.intro and "cases" not in q["数据源"].to_list()


def test_index_shows_the_whole_run_data_quality(warehouse):
    """The index page carries the whole run: read/accepted/rejected/duplicate per source (manifest)
    and the rejected rows that belong to no unit: personnel "{}" and talks of the unknown person zz."""
    index = (warehouse / "reports" / "index.html").read_text(encoding="utf-8")
    table = index[index.index('data-table="index_quality"'):]
    rows = re.findall(r"<tr>(.*?)</tr>", table[: table.index("</table>")])
    cells = [c for r in rows if (c := re.findall(r"<td[^>]*>(.*?)</td>", r))]  # the header row has no td
    assert cells == [
        ["干警名册", "personnel", "30", "27", "2", "1", "1"],
        ["廉政谈话记录", "talks", "5", "3", "2", "0", "1"],
        ["案件", "cases", "25", "24", "1", "0", "0"],
    ]


# --- the files -----------------------------------------------------------------------------------


def test_files_index_and_links(warehouse):
    root = warehouse / "reports"
    for name in ("2024/CTY1.html", "2024/CTY1.xlsx", "2024/CITY.rollup.html", "2024/PRV.rollup.xlsx", "2022/CTY2.html"):
        assert (root / name).is_file(), name
    assert not (root / "2024" / "CTY1.rollup.html").exists()  # a county has no units below it
    index = (root / "index.html").read_text(encoding="utf-8")
    for href in ("2024/CTY1.html", "2024/CTY1.xlsx", "2024/CITY.rollup.html", "data_docs/index.html"):
        assert f'href="{href}"' in index
    page = (root / "2024" / "CTY1.html").read_text(encoding="utf-8")
    assert 'href="../data_docs/index.html"' in page and 'href="../index.html"' in page
    assert 'href="CITY.html"' in page and 'href="CTY1.xlsx"' in page


def test_page_is_offline_and_chinese_safe(warehouse):
    page = (warehouse / "reports" / "2024" / "CTY1.html").read_text(encoding="utf-8")
    assert "<script" not in page and "@import" not in page and "@font-face" not in page
    assert not re.search(r'(src|href)\s*=\s*"(https?:)?//', page)  # nothing fetched from anywhere
    assert 'charset="utf-8"' in page and FONT_STACK in page and "@page { size: A4" in page
    assert page.count('<svg class="chart"') == 3  # two grade charts and the 三个规定 trend
    assert "&lt;" not in FORMULA_NAME and "=HYPERLINK(&quot;" in page  # text, escaped


def test_every_number_names_its_table_and_rule(warehouse):
    page = (warehouse / "reports" / "2024" / "CTY1.html").read_text(encoding="utf-8")
    for m in re.finditer(r'<div class="metric" data-metric="(\w+)" data-source="(\w+)" data-rule="(R\d)"', page):
        assert f"published/{m.group(2)} · {m.group(3)}" in page
    assert len(re.findall(r'class="metric"', page)) == 13
    tables = re.findall(r'<table data-table="\w+" data-source="([\w,]+)"', page)
    assert tables and all(tables)
    assert page.count("数据来源：published/") >= len(tables)


def test_consecutive_poor_trigger_shown_with_basis(warehouse):
    page = (warehouse / "reports" / "2024" / "CTY1.html").read_text(encoding="utf-8")
    section = page[page.index('id="triggers"') : page.index('id="talks"')]
    assert "<td>连续两年较差</td>" in section and "<td>王五（p4）</td>" in section
    assert "<td>连云港意见 二（四）</td>" in section  # the basis
    assert "<td class=\"n\">2</td>" in section  # streak_years
    # the evidence: each year of the streak with its grade and score (王五 58.00 in 2023, 55.00 in 2024)
    assert "<td>2023 年度 较差（58.00 分）, 2024 年度 较差（55.00 分）</td>" in section
    other = (warehouse / "reports" / "2024" / "CTY2.html").read_text(encoding="utf-8")
    assert "<td>连续两年较差</td>" not in other and "<td>一案双查</td>" in other


def test_no_identity_numbers(warehouse):
    id_like = re.compile(r"\d{17}[\dXx]")
    for path in (warehouse / "reports").rglob("*.html"):
        assert not id_like.search(path.read_text(encoding="utf-8")), path
    book = openpyxl.load_workbook(warehouse / "reports" / "2024" / "CTY1.xlsx", read_only=True)
    for ws in book.worksheets:
        for row in ws.iter_rows(values_only=True):
            assert not any(isinstance(v, str) and id_like.search(v) for v in row)


# --- the workbook --------------------------------------------------------------------------------


def test_workbook_numbers_headers_and_freeze(warehouse):
    book = openpyxl.load_workbook(warehouse / "reports" / "2024" / "CTY1.xlsx")
    assert book.sheetnames[0] == "概要" and book.sheetnames[-1] == "说明"
    for name in ("廉洁从检评估", "党风廉政考核", "问责触发", "谈话履行", "待谈清单", "办案质量", "待核定案件", "领导干部办案", "三个规定", "数据质量"):
        assert name in book.sheetnames
    for ws in book.worksheets:
        assert ws.freeze_panes == "A2", ws.title
    summary = {r[0]: r[1] for r in book["概要"].iter_rows(min_row=2, values_only=True)}
    assert summary["参加廉洁从检评估人数"] == 5 and summary["未履行谈话义务数（待办）"] == 3
    ig = book["廉洁从检评估"]
    assert [c.value for c in ig[1]][:3] == ["等次", "人数", "占比（%）"]
    assert [r[1] for r in ig.iter_rows(min_row=2, values_only=True)] == [1, 1, 1, 1, 1]
    mm = book["三个规定"]
    header = [c.value for c in mm[1]]
    rates = [r[header.index("每百人报告数")] for r in mm.iter_rows(min_row=2, values_only=True)]
    assert rates == [2.0, 0.0, 7.5]
    todo = book["待谈清单"]
    header = [c.value for c in todo[1]]
    col = header.index("谈话对象") + 1
    letter = openpyxl.utils.get_column_letter(col)
    # widest value: the formula name + "（p3）"; CJK characters count twice
    assert todo.column_dimensions[letter].width >= len(FORMULA_NAME) + 4


def test_workbook_every_number_has_a_format_and_every_sheet_a_filter(warehouse):
    """Scores and rates show two decimals (0.00), counts and years whole (0): no number is left in
    the General format; every sheet filters on its header row over exactly its table (not the note)."""
    book = openpyxl.load_workbook(warehouse / "reports" / "2024" / "CTY1.xlsx")
    seen = set()
    for ws in book.worksheets:
        header = [c.value for c in ws[1]]
        n_cols = header.index(None) if None in header else len(header)  # the note sits after a blank column
        assert ws.auto_filter.ref == f"A1:{openpyxl.utils.get_column_letter(n_cols)}{ws.max_row}", ws.title
        for row in ws.iter_rows(min_row=2):
            for c in row:
                if isinstance(c.value, bool) or not isinstance(c.value, (int, float)):
                    continue
                want = "0.00" if isinstance(c.value, float) else "0"
                assert c.number_format == want, (ws.title, c.coordinate, c.value, c.number_format)
                seen.add(want)
    assert seen == {"0", "0.00"}
    mm = book["三个规定"]
    header = [c.value for c in mm[1]]
    rate = mm.cell(row=2, column=header.index("每百人报告数") + 1)
    assert rate.value == 2.0 and rate.number_format == "0.00"
    year = mm.cell(row=2, column=header.index("年度") + 1)
    assert isinstance(year.value, int) and year.number_format == "0"  # 2022, not 2,022


def test_formula_name_arrives_as_text(warehouse):
    path = warehouse / "reports" / "2024" / "CTY1.xlsx"
    ws = openpyxl.load_workbook(path)["待谈清单"]
    cells = [c for row in ws.iter_rows(min_row=2) for c in row if isinstance(c.value, str) and c.value.startswith("=")]
    assert [c.value for c in cells] == [f"{FORMULA_NAME}（p3）"]
    assert cells[0].data_type == "s" and cells[0].quotePrefix
    import fastexcel  # calamine reads it as the same text

    sheet = fastexcel.read_excel(str(path)).load_sheet_by_name("待谈清单").to_polars()
    assert f"{FORMULA_NAME}（p3）" in sheet["谈话对象"].to_list()


TEXT = st.text(st.characters(exclude_categories=("Cs",)), max_size=30)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(values=st.lists(TEXT, min_size=1, max_size=4))
def test_any_text_survives_the_workbook_as_text(tmp_path, values):
    path = write_xlsx(tmp_path / "t.xlsx", [Sheet("t", pl.DataFrame({"文本": values}, schema={"文本": pl.String}))])
    ws = openpyxl.load_workbook(path)["t"]
    got = [ws.cell(row=i + 2, column=1) for i in range(len(values))]
    # what XML 1.0 cannot hold (C0 controls but tab/LF/CR, U+FFFE, U+FFFF) is removed; CR/CRLF become LF
    expect = [re.sub(r"\r\n?", "\n", re.sub(r"[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]", "", v)) for v in values]
    assert [c.value if c.value is not None else "" for c in got] == expect
    assert all(c.data_type != "f" for c in got)


class _Cells(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.cells: list[str] = []
        self._in = False

    def handle_starttag(self, tag, attrs):
        if tag == "td":
            self._in = True
            self.cells.append("")

    def handle_endtag(self, tag):
        self._in = False if tag == "td" else self._in

    def handle_data(self, data):
        if self._in:
            self.cells[-1] += data


@settings(max_examples=60, deadline=None)
@given(values=st.lists(TEXT.filter(lambda s: "\r" not in s and "\x00" not in s), min_size=1, max_size=5))
def test_any_text_is_escaped_in_tables(values):
    out = table_html(pl.DataFrame({"a": values}), "t", ("integrity_assessment",))
    parser = _Cells()
    parser.feed(out)
    assert parser.cells == values
    assert out.count("<tr>") == len(values) + 1


# --- command and asset ---------------------------------------------------------------------------


def test_report_command(tmp_path, monkeypatch, capsys):
    wh = make_warehouse(tmp_path, data_docs=False)
    monkeypatch.setenv("LIANJIAN_WAREHOUSE", str(wh))
    assert report_command(unit="CITY", year=2024, open_=False) == 0
    assert (wh / "reports" / "2024" / "CITY.html").is_file() and (wh / "reports" / "2024" / "CITY.rollup.xlsx").is_file()
    assert not (wh / "reports" / "2023").exists()
    assert "CITY.html" in capsys.readouterr().out
    with pytest.raises(NotFound, match="单位编码 NOPE"):
        report_command(unit="NOPE", year=2024, open_=False)
    with pytest.raises(NotFound, match="年度 1999"):
        report_command(unit="CITY", year=1999, open_=False)
    monkeypatch.setenv("LIANJIAN_WAREHOUSE", str(tmp_path / "empty"))
    with pytest.raises(NotFound, match="lianjian run"):
        report_command(unit="CITY", year=2024, open_=False)


def test_report_open_without_a_display_says_so(tmp_path, monkeypatch, capsys):
    """On a server or over SSH (no DISPLAY, no WAYLAND_DISPLAY) --open writes the report and says, in
    one Chinese line, that it cannot open a browser and where the page is; no browser is started."""
    import webbrowser

    wh = make_warehouse(tmp_path, data_docs=False)
    monkeypatch.setenv("LIANJIAN_WAREHOUSE", str(wh))
    monkeypatch.delenv("DISPLAY", raising=False)
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    monkeypatch.setattr("sys.platform", "linux")
    started = []
    monkeypatch.setattr(webbrowser, "open", lambda url: started.append(url) or True)
    assert report_command(unit="CTY1", year=2024, open_=True) == 0
    err = capsys.readouterr().err.strip().splitlines()
    assert started == [] and len(err) == 1
    assert err[0].startswith("无法打开浏览器：本机没有图形界面") and str(wh / "reports" / "2024" / "CTY1.html") in err[0]
    # with a display the page is handed to the browser, and nothing is said
    monkeypatch.setenv("DISPLAY", ":0")
    assert report_command(unit="CTY1", year=2024, open_=True) == 0
    assert started == [(wh / "reports" / "2024" / "CTY1.html").as_uri()] and capsys.readouterr().err == ""


def test_asset_materializes(tmp_path):
    """One step makes both assets of the reports layer: the notices (written while the report
    workers build the reports) and the yearly reports, whose index links the notices."""
    from assets.reports import PUBLISHED_DEPS, reports
    from pipelines.resources import LianjianSettings

    wh = make_warehouse(tmp_path)
    assert dg.AssetKey(["published", "integrity_assessment"]) in PUBLISHED_DEPS
    result = dg.materialize([reports], resources={"lianjian": LianjianSettings(warehouse=str(wh))})
    assert result.success
    by_key = {m.asset_key.to_user_string(): m.metadata for m in result.asset_materializations_for_node("reports")}
    meta = by_key["reports/yearly_reports"]
    assert meta["reports"].value == 4 * 3 and meta["rollups"].value == 2 * 3  # 4 units, 2 parents, 3 years
    assert meta["written"].value == 18 and meta["unchanged"].value == 0  # a first run writes every report
    assert (wh / "reports" / "index.html").is_file()
    assert "reports/major_matter_notices" in by_key and "pages" in by_key["reports/major_matter_notices"]
    specs = {s.key.to_user_string(): s for s in reports.specs}
    spec = specs["reports/yearly_reports"]
    assert spec.group_name == "reports" and spec.owners == ["team:jijian"] and spec.description.startswith("年度报告")
    assert dg.AssetKey(["reports", "major_matter_notices"]) in {d.asset_key for d in spec.deps}


def test_the_notices_are_written_while_the_workers_build_the_reports(tmp_path, monkeypatch):
    """``write_reports(alongside=...)`` runs the other work of the step in the calling process after
    the report tasks are handed to the worker processes (which then build them meanwhile), and
    before the index, which links what it wrote; the files are those of the two written one after
    the other."""
    import lianjian.report as report
    from lianjian.report.notices import write_notices

    one, both = (make_warehouse(tmp_path / name) for name in ("one", "both"))
    write_notices(one)
    write_reports(one, workers=1)
    monkeypatch.setattr(report, "CHUNK_REPORTS", 1)
    order: list[str] = []
    real_pool = report._pool

    class Pool:
        def __init__(self, *args):
            self.real = real_pool(*args)

        def map(self, fn, tasks, commons):
            order.append(f"handed out {len(list(tasks))}")
            return self.real.map(fn, tasks, commons)

        def shutdown(self, **kw):
            order.append("shut down")
            self.real.shutdown(**kw)

    monkeypatch.setattr(report, "_pool", lambda *args: Pool(*args))
    real_index, real_quality = report.render_index, report._index_quality
    monkeypatch.setattr(report, "render_index", lambda *a, **kw: order.append("index") or real_index(*a, **kw))
    monkeypatch.setattr(report, "_index_quality", lambda *a: order.append("index quality") or real_quality(*a))
    write_reports(both, workers=2, alongside=lambda: order.append("notices") or write_notices(both))
    # the index page's whole-run data quality too is worked out while the workers build the reports
    assert order[0].startswith("handed out") and order[1:] == ["notices", "index quality", "shut down", "index"]
    assert tree_bytes(both / "reports") == tree_bytes(one / "reports")
    assert 'href="notices.html"' in (both / "reports" / "index.html").read_text(encoding="utf-8")


def test_in_one_process_the_notices_are_written_on_a_thread_beside_the_reports(tmp_path, monkeypatch):
    """With everything in the calling process, ``alongside`` runs on another thread while the
    reports are built (the task started before it ends), the index after both; the files are those
    of the notices and the reports written one after the other. Its failure is raised once the
    reports are done."""
    import threading

    import lianjian.report as report
    from lianjian.report.notices import write_notices

    one, both = (make_warehouse(tmp_path / name) for name in ("one", "both"))
    write_notices(one)
    write_reports(one, workers=1)
    building = threading.Event()
    seen: dict[str, object] = {}
    real_run = report._Writer.run

    def run(self, task):
        seen["reports"] = threading.get_ident()
        building.set()
        return real_run(self, task)

    def notices(warehouse):
        seen["notices"] = threading.get_ident()
        seen["while building"] = building.wait(timeout=20)  # in turn, the reports would not have started
        return write_notices(warehouse)

    monkeypatch.setattr(report._Writer, "run", run)
    write_reports(both, workers=1, alongside=lambda: notices(both))
    assert seen["while building"] is True and seen["notices"] != seen["reports"] == threading.get_ident()
    assert tree_bytes(both / "reports") == tree_bytes(one / "reports")
    assert 'href="notices.html"' in (both / "reports" / "index.html").read_text(encoding="utf-8")

    def failing() -> None:
        raise RuntimeError("notices failed")

    with pytest.raises(RuntimeError, match="notices failed"):
        write_reports(make_warehouse(tmp_path / "failing"), workers=1, alongside=failing)


def test_the_objects_there_before_the_reports_are_left_out_of_the_cycle_collector_meanwhile(tmp_path):
    """While ``write_reports`` runs (and the work beside it), the objects of the process that were
    there before are frozen (``gc.freeze``: the collector's passes do not walk them), and given back
    to the collector when it ends — also when it fails, and only once the last of two overlapping
    calls ends. A cycle made before is still collected after."""
    import gc
    import threading
    import weakref

    import lianjian.report as report

    class Cycle:
        pass

    warehouse = make_warehouse(tmp_path / "wh")
    gone = threading.Event()
    seen: list[int] = []

    def beside() -> None:
        seen.append(gc.get_freeze_count())
        gc.collect()  # a pass meanwhile leaves the frozen cycle alone
        seen.append(int(gone.is_set()))

    gc.disable()  # no pass frees the cycle before the call
    try:
        garbage = Cycle()
        garbage.me = garbage  # freed only by the collector
        weakref.finalize(garbage, gone.set)
        del garbage
        assert gc.get_freeze_count() == 0
        write_reports(warehouse, workers=1, alongside=beside)
    finally:
        gc.enable()
    assert seen[0] > 0 and seen[1] == 0
    assert gc.get_freeze_count() == 0
    gc.collect()
    assert gone.is_set()

    def failing() -> None:
        raise RuntimeError("notices failed")

    with pytest.raises(RuntimeError, match="notices failed"):
        write_reports(make_warehouse(tmp_path / "failing"), workers=1, alongside=failing)
    assert gc.get_freeze_count() == 0

    with report._old_objects_left_alone():  # another call still running: the objects stay frozen
        write_reports(make_warehouse(tmp_path / "inner"), workers=1)
        assert gc.get_freeze_count() > 0
    assert gc.get_freeze_count() == 0

# --- at scale: roll-ups bounded, incremental writing, the workbook writer ------------------------


def test_rollup_lists_people_of_its_own_unit_only(reports):
    city = reports[("CITY.rollup", 2024)]
    poor = next(b for s in city.sections for b in s.blocks if b.key == "integrity_poor")
    # CITY's own staff in 2024: 周九 (c1), graded 较好 -> nobody; 王五 (CTY1) and 孙八 (CTY2) are in
    # the counties' own reports, and counted in the headline (integrity_poor = 2, see above).
    assert poor.frame.height == 0 and poor.title.endswith("（仅本单位）")
    assert block(city, "talks_todo").height == 0  # the three open talks are CTY1's
    assert block(city, "integrity_grades")["人数"].to_list() == [2, 2, 1, 2, 1]  # 好 p1,q1; 较好 p2,c1; 一般 p3; 较差 p4,q2; 未评定 p5
    assert block(city, "triggers").height == 2  # triggers stay listed over the subtree: CTY1 + CTY2
    # "三个规定" of a roll-up: the unit and its direct children, every year up to the report year.
    prv = block(reports[("PRV.rollup", 2024)], "major_matters")
    assert prv["单位编码"].to_list() == ["CITY"]  # PRV has no stats; CTY1/CTY2 are grandchildren
    assert block(city, "major_matters")["单位编码"].to_list() == ["CITY", "CTY1", "CTY1", "CTY1", "CTY2", "CTY2"]


def test_rollup_trigger_list_is_bounded(warehouse, monkeypatch):
    from lianjian.report import sections

    monkeypatch.setattr(sections, "ROLLUP_LIST_LIMIT", 1)
    got = {(r.report_key, r.year): r for r in build_reports(load_inputs(warehouse), report_keys=["CITY.rollup"], years=[2024])}
    city = got[("CITY.rollup", 2024)]
    assert block(city, "triggers").height == 1
    assert city.metrics["triggers"] == 2  # the headline still counts both
    intro = next(s.intro for s in city.sections if s.key == "triggers")
    assert "共 2 条，此处仅列前 1 条" in intro


def test_warm_run_writes_only_changed_reports(tmp_path):
    from support_report import frame, integrity_rows, write_published

    wh = make_warehouse(tmp_path)
    first = write_reports(wh)
    assert len(first) == (4 + 2) * 3 and all(w.fresh for w in first)  # 4 units + 2 roll-ups, 3 years
    book = wh / "reports" / "2023" / "CTY1.xlsx"
    stamp = book.stat().st_mtime_ns
    again = write_reports(wh)
    assert not any(w.fresh for w in again) and book.stat().st_mtime_ns == stamp
    # 钱七 (q1, CTY2) 2024: 好 -> 较好. Changes CTY2's 2024 grade distribution, and so the CITY and PRV
    # roll-ups of 2024; no other unit-year shows q1 (CITY's own report covers CITY only).
    rows = [r | {"grade": "较好"} if (r["person_id"], r["year"]) == ("q1", 2024) else r for r in integrity_rows()]
    import shutil

    shutil.rmtree(wh / "published" / "integrity_assessment")
    write_published(wh, "integrity_assessment", frame("integrity_assessment", rows))
    (wh / "reports" / "2022" / "CTY1.xlsx").unlink()  # a missing file is written again
    third = write_reports(wh)
    assert sorted((w.report_key, w.year) for w in third if w.fresh) == [
        ("CITY.rollup", 2024), ("CTY1", 2022), ("CTY2", 2024), ("PRV.rollup", 2024)
    ]
    assert (wh / "reports" / "2022" / "CTY1.xlsx").is_file()
    ig = openpyxl.load_workbook(wh / "reports" / "2024" / "CTY2.xlsx")["廉洁从检评估"]
    assert [r[1] for r in ig.iter_rows(min_row=2, values_only=True)] == [0, 1, 0, 1, 0]  # 较好 q1, 较差 q2
    assert len(write_reports(wh, report_keys=["CTY1"], years=[2024], index=False, force=True)) == 1


def test_a_code_change_builds_every_report_again_and_keeps_the_files_that_come_out_the_same(tmp_path, monkeypatch):
    """A change of the report code (``code_version``, part of every report's digest) builds every
    report again, but a page or workbook whose bytes come out as the file already there is not
    written again (the same inode and time); the year's digests record the new content digests. A
    report whose page does change (CTY1 2024's title here) has that page written, its workbook kept."""
    import json
    import os

    import lianjian.report as report

    wh = make_warehouse(tmp_path)
    write_reports(wh, workers=1)
    files = sorted(p for p in (wh / "reports").rglob("*") if p.suffix in (".html", ".xlsx") and p.parent.name.isdigit())
    stamps = {p: (p.stat().st_ino, p.stat().st_mtime_ns) for p in files}
    digests = json.loads((wh / "reports" / "2024" / report.DIGESTS).read_text(encoding="utf-8"))
    monkeypatch.setattr(report, "code_version", lambda: "another version of the report code")
    real_render = report.render_report
    changed = lambda r, links: real_render(r, links=links).replace(b"</h1>", b" </h1>") if (r.report_key, r.year) == ("CTY1", 2024) else real_render(r, links=links)  # noqa: E731
    monkeypatch.setattr(report, "render_report", lambda r, *, links: changed(r, links))
    again = write_reports(wh, workers=1)
    assert len(again) == 18 and [(w.report_key, w.year) for w in again if w.fresh] == [("CTY1", 2024)]
    page = wh / "reports" / "2024" / "CTY1.html"
    assert {p: (p.stat().st_ino, p.stat().st_mtime_ns) for p in files if p != page} == {p: s for p, s in stamps.items() if p != page}
    assert page.stat().st_ino != stamps[page][0] and b" </h1>" in page.read_bytes()
    now = json.loads((wh / "reports" / "2024" / report.DIGESTS).read_text(encoding="utf-8"))
    assert set(now) == set(digests) and all(now[k][0] != digests[k][0] for k in now)  # new content digests
    assert now["CTY1"][1] == os.path.getsize(page)


def test_a_new_rejected_row_rewrites_only_its_units_reports(tmp_path):
    """The 数据质量 section shows the unit's own year: a new landing drop with one rejected case of
    CTY2 in 2024 (and new whole-run counts in the manifest) rewrites CTY2's 2024 report and the
    roll-ups above it — not every report, as whole-warehouse counts did. The index shows the new
    whole-run counts."""
    import json

    from support_report import frame, rejected_rows, write_published

    wh = make_warehouse(tmp_path)
    write_reports(wh)
    bad = dict(source="cases", file="cases/2024-03.csv", row_number=2, reasons=["category: unknown code"],
               raw=json.dumps({"case_id": "K8", "unit_code": "CTY2", "closed_date": "2024-11-30"}))
    import shutil

    shutil.rmtree(wh / "published" / "rejected_records")
    write_published(wh, "rejected_records", frame("rejected_records", rejected_rows() + [bad]))
    manifest = json.loads((wh / "published" / "_manifest.json").read_text(encoding="utf-8"))
    manifest["inputs"].append({"source": "cases", "file": "cases/2024-03.csv", "sha256": "1", "rows_read": 1,
                               "rows_accepted": 0, "rows_rejected": 1, "rows_duplicate": 0})
    (wh / "published" / "_manifest.json").write_text(json.dumps(manifest, ensure_ascii=False), encoding="utf-8")
    again = write_reports(wh)
    assert sorted((w.report_key, w.year) for w in again if w.fresh) == [("CITY.rollup", 2024), ("CTY2", 2024), ("PRV.rollup", 2024)]
    got = {(r.report_key, r.year): r for r in build_reports(load_inputs(wh), report_keys=["CTY2"], years=[2024])}
    assert dict((r[0], r[1:]) for r in block(got[("CTY2", 2024)], "quality").iter_rows())["案件"] == (1, 1)  # K5; K8
    index = (wh / "reports" / "index.html").read_text(encoding="utf-8")
    assert "<td>案件</td><td>cases</td><td class=\"n\">26</td><td class=\"n\">24</td><td class=\"n\">2</td>" in index


def test_workbook_writer_types_and_same_bytes(tmp_path):
    from datetime import date, datetime

    df = pl.DataFrame(
        {"n": [1, None], "x": [7.5, float("nan")], "d": [date(2024, 3, 1), None], "b": [True, None], "t": ["+1", "a&<b>"], "l": [["E1", "E2"], []]}
    )
    a = write_xlsx(tmp_path / "a.xlsx", [Sheet("表", df, "数据来源：测试")], title="标题")
    b = write_xlsx(tmp_path / "b.xlsx", [Sheet("表", df, "数据来源：测试")], title="标题")
    assert a.read_bytes() == b.read_bytes()  # fixed zip times: a report unchanged is a file unchanged
    ws = openpyxl.load_workbook(a)["表"]
    assert [c.value for c in ws[1]] == ["n", "x", "d", "b", "t", "l", None, "数据来源：测试"]
    assert [c.value for c in ws[2]][:6] == [1, 7.5, datetime(2024, 3, 1), True, "+1", "E1, E2"]
    assert [c.value for c in ws[3]][:6] == [None, None, None, None, "a&<b>", ""]  # NaN is left empty
    assert ws["A1"].font.b and ws["E2"].quotePrefix and not ws["E3"].quotePrefix
    assert ws.freeze_panes == "A2" and ws.print_title_rows == "$1:$1" and ws.page_setup.paperSize == 9  # A4


names = st.text(st.characters(min_codepoint=0x21, max_codepoint=0x7E), min_size=1, max_size=20)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(parts=st.dictionaries(names, st.binary(max_size=3000) | st.text(max_size=300).map(str.encode), max_size=6))
def test_zip_writer_is_zipfile_byte_for_byte(tmp_path, parts):
    """xlsx.zip_bytes writes the archive itself (no zipfile objects, seeks and header rewrites per
    part); it must give exactly what zipfile gave for the same parts, so a workbook's bytes did not
    change with it."""
    import zipfile

    from lianjian.report.xlsx import ZIP_LEVEL, ZIP_TIME, zip_bytes

    ref = tmp_path / "ref.zip"
    with zipfile.ZipFile(ref, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=ZIP_LEVEL) as zf:
        for name, data in parts.items():
            info = zipfile.ZipInfo(name, ZIP_TIME)
            info.compress_type = zipfile.ZIP_DEFLATED
            zf.writestr(info, data, compresslevel=ZIP_LEVEL)
    assert zip_bytes(parts) == ref.read_bytes()
    assert zip_bytes(parts) == ref.read_bytes()  # again, through the cache of compressed small parts


def test_workbook_parts_are_deflated_at_the_fast_level():
    """Every part of a workbook is deflated at zlib level 1 (the fast deflate; ≈ 5 % larger than
    level 4 and ≈ 20 % cheaper, docs/performance.md): the stream stored for a worksheet is zlib's
    level-1 stream of it, which for this sheet is not the level-4 stream."""
    import struct
    import zlib

    from lianjian.report.xlsx import ZIP_LEVEL, zip_bytes

    assert ZIP_LEVEL == 1
    sheet = "".join(f'<row r="{i}"><c r="A{i}" t="inlineStr"><is><t>单位{i % 97}-{i * 7919 % 1000}</t></is></c></row>' for i in range(3000)).encode()
    archive = zip_bytes({"xl/worksheets/sheet1.xml": sheet})
    packed_size, name_len = struct.unpack("<L", archive[18:22])[0], struct.unpack("<H", archive[26:28])[0]
    stored = archive[30 + name_len : 30 + name_len + packed_size]

    def deflate(level: int) -> bytes:
        packer = zlib.compressobj(level, zlib.DEFLATED, -15)
        return packer.compress(sheet) + packer.flush()

    assert stored == deflate(1) and stored != deflate(4)
    assert zlib.decompress(stored, -15) == sheet


def test_what_every_workbook_of_a_kind_shares_is_made_once_per_process(monkeypatch):
    """A small part the same in every workbook (content types, styles, an empty table's sheet) is
    deflated and its zip records made once per process, and a worksheet's parts around its rows
    (header, column widths, filter, page set-up) once per header, row count and widths: a second
    workbook with the same small parts deflates only what differs, and comes out as zipfile would
    write it (``test_zip_writer_is_zipfile_byte_for_byte``)."""
    import io
    import zipfile

    import lianjian.report.xlsx as xlsx

    deflated: list[bytes] = []
    real = xlsx._deflate
    monkeypatch.setattr(xlsx, "_deflate", lambda data: deflated.append(data) or real(data))
    xlsx._entry_shared.cache_clear()
    styles, empty = xlsx.STYLES.encode(), xlsx.sheet_part(("单位", "人数"), 0, "数据来源：测试", b"", (0, 0))
    first = xlsx.zip_bytes({"xl/styles.xml": styles, "xl/worksheets/sheet1.xml": empty, "xl/worksheets/sheet2.xml": b"<a/>" * 5000})
    second = xlsx.zip_bytes({"xl/styles.xml": styles, "xl/worksheets/sheet1.xml": empty, "xl/worksheets/sheet2.xml": b"<b/>" * 5000})
    assert deflated == [styles, empty, b"<a/>" * 5000, b"<b/>" * 5000]  # the shared parts once, not twice
    for archive, last in ((first, b"<a/>"), (second, b"<b/>")):
        with zipfile.ZipFile(io.BytesIO(archive)) as zf:
            assert [zf.read(n) for n in zf.namelist()] == [styles, empty, last * 5000]
    xlsx._sheet_frame.cache_clear()
    rows = '<row r="2"><c r="A2" t="inlineStr"><is><t xml:space="preserve">甲</t></is></c></row>'.encode()
    one = xlsx.sheet_part(("单位", "人数"), 1, None, rows, (2, 0))
    two = xlsx.sheet_part(("单位", "人数"), 1, None, rows.replace("甲".encode(), "乙".encode()), (2, 0))
    info = xlsx._sheet_frame.cache_info()
    assert (info.misses, info.hits) == (1, 1)  # made for the first, taken for the second
    assert one.replace("甲".encode(), "乙".encode()) == two and rows in one and one.endswith(b"</worksheet>")


def test_a_report_reads_its_units_names_without_a_frame_row_per_report(warehouse, reports, monkeypatch):
    """Each unit's name, level and parent are taken once per year as Python values, not by a
    DataFrame ``row`` lookup per report (two per report: the unit and its parent), which cost more
    than building the report's frames at national scale; the reports still name the unit, its level
    and its parent."""
    import lianjian.report.build as build

    inputs = load_inputs(warehouse)
    monkeypatch.setattr(pl.DataFrame, "row", lambda *a, **kw: pytest.fail("a frame row read per report"))
    built = {(r.report_key, r.year): r for r in build.build_reports(inputs)}
    assert built.keys() == reports.keys() and any(r.parent_name for r in built.values())
    for key, report in built.items():
        assert (report.unit_name, report.level, report.parent_code, report.parent_name) == (
            reports[key].unit_name, reports[key].level, reports[key].parent_code, reports[key].parent_name
        )


def test_each_year_folder_is_made_private_once_not_per_file(tmp_path, monkeypatch):
    """A report writer makes its year's folder private once per run of reports, then writes every
    page and workbook into it without checking the folder again (two system calls per file less);
    the files are still 0600 in 0700 folders, and the sizes recorded are the files' sizes."""
    import json

    import lianjian.files as files
    import lianjian.report.writes as writes
    import lianjian.report.xlsx as xlsx

    wh = make_warehouse(tmp_path)
    calls: list[Path] = []
    real = files.private_mkdir
    spy = lambda path: calls.append(Path(path)) or real(path)  # noqa: E731
    monkeypatch.setattr(writes, "private_mkdir", spy)
    monkeypatch.setattr(xlsx, "private_mkdir", spy)
    written = write_reports(wh, workers=1)
    year_folders = [c for c in calls if re.fullmatch(r"\d{4}", c.name)]
    years = {w.year for w in written}
    assert len(written) == 18 and len(years) == 3
    # per year: once for its reports, once for its _digests.json (and _inputs.json) — not once per file
    assert len(year_folders) <= 3 * len(years) < 2 * len(written)
    for w in written:
        for f in (w.html, w.xlsx):
            assert f.stat().st_mode & 0o777 == 0o600 and f.parent.stat().st_mode & 0o777 == 0o700
        entry = json.loads((w.html.parent / "_digests.json").read_text(encoding="utf-8"))[w.report_key]
        assert entry[1:] == [w.html.stat().st_size, w.xlsx.stat().st_size]


def test_worker_processes_write_the_same_bytes(tmp_path, monkeypatch):
    """The parallel path (spawned worker processes; each year cut into runs of one report, each run
    reading only the rows of the units it covers) writes exactly the files of the single-process
    path (every year in one task) and of runs of one report in one process, index and digests
    included, and a warm parallel run rewrites nothing."""
    import lianjian.report as report

    one, chunked, parallel = (make_warehouse(tmp_path / name) for name in ("one", "chunked", "parallel"))
    first = write_reports(one, workers=1)  # one process, one run of every year reading every row
    monkeypatch.setattr(report, "CHUNK_REPORTS", 1)
    monkeypatch.setattr(report, "ONE_TASK_REPORTS", 0)
    pools: list[int] = []
    real_pool = report._pool
    monkeypatch.setattr(report, "_pool", lambda n, warehouse: pools.append(n) or real_pool(n, warehouse))
    listed = [(w.report_key, w.unit_code, w.year, w.rollup, w.fresh) for w in first]
    assert [(w.report_key, w.unit_code, w.year, w.rollup, w.fresh) for w in write_reports(chunked, workers=1)] == listed
    assert pools == []  # one worker: no process started
    written = write_reports(parallel, workers=2)
    assert pools == [2]  # the parallel path was taken
    assert [(w.report_key, w.unit_code, w.year, w.rollup, w.fresh) for w in written] == listed
    expected = tree_bytes(one / "reports")
    assert len(expected) == 18 * 2 + 3 + 2  # pages and workbooks, a digest file per year, index, data docs
    assert tree_bytes(chunked / "reports") == expected
    assert tree_bytes(parallel / "reports") == expected
    book = parallel / "reports" / "2024" / "CTY1.xlsx"
    stamp = book.stat().st_mtime_ns
    again = write_reports(parallel, workers=2)
    assert pools == [2, 2] and not any(w.fresh for w in again) and book.stat().st_mtime_ns == stamp


def test_the_shared_frames_are_worked_out_once_and_handed_to_the_workers(tmp_path, monkeypatch):
    """What every report needs (the report scopes, the subtrees, the data-quality counts that read
    every staged table, the 连续两年较差 streaks) is worked out once in the process that starts the
    workers and handed to each of them with its tasks, not read again by every worker: this process
    computes it exactly once, every task is given that very object, and the files are those of one
    process. The workers are started first, so that they import Polars and open the warehouse while
    this process works the frames out."""
    import lianjian.report as report

    one, parallel = (make_warehouse(tmp_path / name) for name in ("one", "parallel"))
    write_reports(one, workers=1)
    monkeypatch.setattr(report, "CHUNK_REPORTS", 1)
    order, made, given = [], [], []
    real_shared, real_pool = report.shared, report._pool

    def pool(n, warehouse):
        started = real_pool(n, warehouse)
        order.append(("pool", len(started._processes)))  # the processes exist before any task
        real_map = started.map
        started.map = lambda fn, tasks, commons: given.extend(commons) or real_map(fn, tasks, commons)
        return started

    monkeypatch.setattr(report, "shared", lambda inputs: order.append("shared") or made.append(real_shared(inputs)) or made[-1])
    monkeypatch.setattr(report, "_pool", pool)
    write_reports(parallel, workers=2)
    assert order == [("pool", 2), "shared"]  # the workers start before the shared frames are worked out
    assert len(made) == 1 and len(given) == 18 and all(c is made[0] for c in given)  # one task per report and year (9 × 2)
    assert made[0].quality.height > 0  # the counts the 数据质量 sections show
    assert tree_bytes(parallel / "reports") == tree_bytes(one / "reports")


def test_worker_count_setting(monkeypatch):
    import os

    from lianjian.report import PARALLEL_MIN_REPORTS, WORKERS_ENV, report_workers

    monkeypatch.delenv(WORKERS_ENV, raising=False)
    assert report_workers(PARALLEL_MIN_REPORTS) == min(2, os.cpu_count() or 1)
    assert report_workers(PARALLEL_MIN_REPORTS - 1) == 1  # a small warehouse pays no process start-up
    assert report_workers(10, workers=2) == 2  # unless asked for explicitly
    monkeypatch.setenv(WORKERS_ENV, "3")
    assert report_workers(10**6) == 3 and report_workers(10) == 1
    monkeypatch.setenv(WORKERS_ENV, "1")
    assert report_workers(10**6) == 1
    for bad in ("0", "two", "-1"):
        monkeypatch.setenv(WORKERS_ENV, bad)
        with pytest.raises(FatalError, match=f"{WORKERS_ENV}.*不是正整数"):
            report_workers(10**6)


def _as_published(wh: Path) -> None:
    """What publishing and staging leave beside the tables: the manifest listing every published file
    with its SHA-256, and the staged year digests."""
    import json

    from lianjian.files import sha256_file

    path = wh / "published" / "_manifest.json"
    manifest = json.loads(path.read_text(encoding="utf-8"))
    outputs = []
    for folder in sorted(p for p in (wh / "published").iterdir() if p.is_dir()):
        files = [{"path": f.relative_to(wh / "published").as_posix(), "rows": 0, "sha256": sha256_file(f)} for f in sorted(folder.rglob("*.parquet"))]
        outputs.append({"table": folder.name, "rows": 0, "files": files})
    manifest["outputs"] = outputs
    path.write_text(json.dumps(manifest, ensure_ascii=False), encoding="utf-8")
    _staged_digests(wh)


def _staged_digests(wh: Path) -> None:
    """staged/_year_digests.json as staging writes it, for the staged tables the fixture has."""
    import json

    from lianjian.contract import SOURCES
    from lianjian.ingest.digests import FILE, VERSION, table_digests

    sources = {p.stem: table_digests(SOURCES[p.stem], p) for p in sorted((wh / "staged").glob("*.parquet")) if p.stem in SOURCES}
    (wh / "staged" / FILE).write_text(json.dumps({"version": VERSION, "sources": sources}), encoding="utf-8")


def test_a_year_whose_inputs_did_not_change_is_not_built(tmp_path, monkeypatch):
    """reports/<year>/_inputs.json records what a year's reports read: the published files' SHA-256
    (that year's; every earlier year's too for the assessments and "三个规定"), the staged digests of
    the year and the unit tree. A full run builds only the years whose record differs; what it writes
    is what building every year writes."""
    import shutil

    import lianjian.report as report
    from support_report import frame, integrity_rows, write_published

    built: list[int] = []
    real = report.chunk_reports
    monkeypatch.setattr(report, "chunk_reports", lambda common, inputs, years, keys=None: built.extend(years) or real(common, inputs, years, keys))
    wh = make_warehouse(tmp_path)
    _as_published(wh)
    write_reports(wh, workers=1)
    assert sorted(set(built)) == [2022, 2023, 2024] and (wh / "reports" / "2023" / "_inputs.json").is_file()
    built.clear()
    again = write_reports(wh, workers=1)
    assert built == [] and len(again) == 18 and not any(w.fresh for w in again)

    # a department renamed in 2024's staged roster of departments: only 2024 is built (the name is shown)
    SOURCES = __import__("lianjian.contract", fromlist=["SOURCES"]).SOURCES
    SOURCES["departments"].staged_frame(
        [{"year": 2024, "unit_code": "CTY1", "dept_code": "D1", "dept_name": "第一检察部（更名）"}]
    ).write_parquet(wh / "staged" / "departments.parquet")
    _staged_digests(wh)
    stamps_2023 = {p: p.stat().st_mtime_ns for p in (wh / "reports" / "2023").iterdir()}
    written = write_reports(wh, workers=1)
    assert sorted(set(built)) == [2024], built
    assert {(w.report_key, w.year) for w in written if w.fresh} >= {("CTY1", 2024)}
    assert "第一检察部（更名）" in (wh / "reports" / "2024" / "CTY1.html").read_text(encoding="utf-8")
    assert {p: p.stat().st_mtime_ns for p in (wh / "reports" / "2023").iterdir()} == stamps_2023

    # 王五's 2023 score changed: 2023, and 2024, whose 连续两年较差 trigger shows the 2023 grade and score
    built.clear()
    rows = [r | {"total_score": 57.0} if (r["person_id"], r["year"]) == ("p4", 2023) else r for r in integrity_rows()]
    shutil.rmtree(wh / "published" / "integrity_assessment")
    write_published(wh, "integrity_assessment", frame("integrity_assessment", rows))
    _as_published(wh)
    write_reports(wh, workers=1)
    assert sorted(set(built)) == [2023, 2024], built

    # the files equal those of a run that builds every year
    cold = tmp_path / "cold"
    shutil.copytree(wh, cold, ignore=shutil.ignore_patterns("reports"))
    shutil.copytree(wh / "reports" / "data_docs", cold / "reports" / "data_docs")
    write_reports(cold, workers=1)
    assert tree_bytes(cold / "reports") == tree_bytes(wh / "reports")


def test_a_report_worker_ends_with_the_process_that_started_it(monkeypatch):
    """A run killed while its reports are written (its exit hooks never run) must not leave the
    writers waiting idle for tasks: each worker watches the process that started the pool. A worker
    opens the warehouse when it starts and makes its writer from the shared frames handed with its
    first task."""
    import lianjian.report as report

    watched = []
    monkeypatch.setattr(report, "_WORKER", None)
    monkeypatch.setattr(report, "_INPUTS", None)
    monkeypatch.setattr(report, "end_with_parent", watched.append)
    monkeypatch.setattr(report, "load_inputs", lambda warehouse: ("inputs", warehouse))
    monkeypatch.setattr(report, "_writer", lambda inputs, common: SimpleNamespace(made=(inputs, common), run=lambda task: [task]))
    pool = report._pool(1, Path("/nowhere"))
    try:
        # the worker's start, as the pool will run it in the spawned process
        report._start_worker(*pool._initargs)
    finally:
        pool.shutdown()
    assert watched == [os.getpid()]
    assert report._INPUTS == ("inputs", Path("/nowhere")) and report._WORKER is None
    assert report._worker_run("task", "common") == ["task"] and report._worker_run("next", "other") == ["next"]
    assert report._WORKER.made == (("inputs", Path("/nowhere")), "common")  # made once, at the first task




def test_every_reports_table_and_worksheet_are_made_by_polars_as_the_per_report_writers_make_them():
    """``build._prerender`` makes, for every report at once, each block's whole ``<table>`` and whole
    worksheet part (header, widths fitted and clamped to 6–60, rows, filter, page set-up) with
    Polars string expressions, so a report only joins ready bytes. Each must be exactly what the
    per-report writers (``table_html``, ``xlsx.sheet_xml``) give for that report's rows: escaped
    text, formula-like text with the quote prefix, decimals, dates, lists, nulls, a CJK value wider
    than the widest column allowed, and more than seven columns (landscape)."""
    from datetime import date

    from lianjian.report import build, xlsx
    from lianjian.report.model import source_note

    frame = pl.DataFrame(
        {
            "report_key": ["A", "B", "A", "A.rollup"],
            "year": [2024, 2024, 2024, 2024],
            "单位": ["<甲&乙>", "=SUM(A1)", None, "廉" * 40],
            "人数": [3, None, 12345678, 0],
            "得分": [77.94117647058823, 90.0, None, float("nan")],
            "日期": [date(2024, 1, 2), None, date(2023, 12, 31), date(2020, 2, 29)],
            "编号": [["R1", "R2"], [], None, ["X"]],
            "是否": [True, False, None, True],
            "说明": ["a\r\nb", "\x07控制", "-1", "@x"],
            "备注": ["", "x", "y", "z"],
        }
    )
    tables = ("integrity_assessment",)
    rendered = build._prerender(frame, ("编号",), key="integrity_poor", tables=tables)
    assert set(rendered) == {("A", 2024), ("B", 2024), ("A.rollup", 2024)}
    for (key, year), r in rendered.items():
        part = frame.filter(pl.col("report_key") == key).drop("report_key", "year")
        assert r.n_rows == part.height
        assert r.table == _table_with_keep(part, ("编号",), "integrity_poor", tables)
        assert r.sheet == xlsx.sheet_xml(part, source_note(*tables))
    wide = rendered[("A.rollup", 2024)].sheet.decode()
    assert '<col min="1" max="1" width="60" customWidth="1"/>' in wide and 'orientation="landscape"' in wide


def _table_with_keep(part: pl.DataFrame, keep: tuple[str, ...], key: str, tables: tuple[str, ...]) -> bytes:
    from lianjian.report.html import row_html_expr, table_head

    body = part.select(row_html_expr(part.schema, keep).alias("r"))["r"].str.join("\n").item()
    return f"{table_head(tuple(part.columns), key, tables)}{body}\n</tbody></table>".encode()


def test_the_row_expressions_of_a_kind_of_block_are_made_once_per_process():
    """A block's row expressions (a few hundred ``pl.lit``) are made once per kind of block
    (columns, types, table), and the next year's or task's frame of that kind reuses them."""
    from lianjian.report import build

    frame = pl.DataFrame({"report_key": ["A", "B"], "year": [2024, 2024], "单位": ["甲", "乙"], "人数": [1, 2]})
    build._render_exprs.cache_clear()
    first = build._prerender(frame, key="quality", tables=("rejected_records",))
    second = build._prerender(frame.with_columns(year=pl.lit(2025)), key="quality", tables=("rejected_records",))
    info = build._render_exprs.cache_info()
    assert (info.misses, info.hits) == (1, 1)
    assert first[("A", 2024)].sheet == second[("A", 2025)].sheet


def test_the_summary_sheet_is_cut_from_a_frame_cached_per_widths_not_per_report(reports):
    """The 概要 sheet's note is the report's title, different in every report: its worksheet is a
    frame cached per column widths with the note put in, byte for byte what ``sheet_xml`` writes
    for the same rows and note (escaped), and a report with the same widths as another reuses it."""
    from lianjian.report import xlsx

    xlsx._summary_frame_around_note.cache_clear()
    made = [xlsx.report_sheets(r)[0] for r in reports.values()]
    for sheet in made:
        assert sheet.xml == xlsx.sheet_xml(sheet.frame, sheet.note, sheet.rendered)
    info = xlsx._summary_frame_around_note.cache_info()
    assert info.hits > 0 and info.misses < len(made)
    report, note = next(iter(reports.values())), 'a<b>&"c" 标题'
    odd = xlsx._summary_sheet(report, note)
    assert odd.xml == xlsx.sheet_xml(odd.frame, note, odd.rendered) and "a&lt;b&gt;&amp;&quot;c&quot; 标题".encode() in odd.xml


def test_a_report_file_is_written_private_without_a_path_object_per_file(tmp_path, monkeypatch):
    """Reports and notices write tens of thousands of files: each is created 0600 under a temporary
    name and renamed, from its path as text — the report writer's own ``write_private`` returns no
    ``Path`` (``lianjian.files.write_private`` makes one for every file) and is what every file goes
    through (tests/test_run_outcome.py fills the disk there)."""
    from lianjian.report import xlsx

    seen: list[str] = []
    real = xlsx.write_private
    monkeypatch.setattr(xlsx, "write_private", lambda path, data: seen.append(path) or real(path, data))
    target = tmp_path / "r.html"
    assert xlsx.write_if_changed(str(target), b"abc", folder_ready=True) is True
    assert target.read_bytes() == b"abc" and (target.stat().st_mode & 0o777) == 0o600
    assert len(seen) == 1 and isinstance(seen[0], str) and real(str(tmp_path / "x"), b"") is None
    assert xlsx.write_if_changed(str(target), b"abc", folder_ready=True) is False and len(seen) == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == ["r.html", "x"]  # no temporary file left


def test_a_report_file_is_written_through_its_descriptor_without_a_file_object(tmp_path, monkeypatch):
    """A report file is written to its file descriptor directly: no buffered file object is made
    around it (making one asks the kernel for the file's block size and whether it is a terminal,
    twice more for each of tens of thousands of files). The file is still 0600, a short write goes on
    from where it stopped, and a file left under the same name takes the new bytes and mode."""
    import io

    from lianjian.report import xlsx

    def no_file_object(*args, **kwargs):
        raise AssertionError("a buffered file object was made for a report file")

    target = tmp_path / "r.xlsx"
    with monkeypatch.context() as m:
        m.setattr(os, "fdopen", no_file_object)
        m.setattr(io, "open", no_file_object)
        assert xlsx.write_if_changed(str(target), b"PK" * 1000, folder_ready=True) is True
    assert target.read_bytes() == b"PK" * 1000 and (target.stat().st_mode & 0o777) == 0o600

    left = tmp_path / "left"
    left.write_bytes(b"older and longer")
    left.chmod(0o644)
    real_write, calls = os.write, []

    def short_write(fd, data):  # the kernel may take part of the bytes: the rest follows
        calls.append(len(data))
        return real_write(fd, bytes(data[:3]))

    monkeypatch.setattr(os, "write", short_write)
    xlsx.write_private(str(left), b"new bytes")
    assert left.read_bytes() == b"new bytes" and (left.stat().st_mode & 0o777) == 0o600
    assert calls == [9, 6, 3]


def test_a_rollup_shows_its_own_units_lists_as_the_units_own_report_does(tmp_path):
    """The blocks that list the rows of the report's own unit only (people graded 较差, subjects, talks,
    cases awaiting 核定, leaders) are computed and rendered once per unit: a roll-up shows the very
    rows of its unit's own report — the same frame, the same rendered table and worksheet object,
    so its workbook deflates them once (``test_a_large_part_is_deflated_once_for_the_same_bytes_object``)
    — under its own titles ("（仅本单位）"). The fixture's tree with CTY2 put under CTY1, whose own
    lists have rows; and the same reports when a task holds the roll-up without the unit's own report."""
    from lianjian.contract import SOURCES
    from lianjian.report.build import OWN_BLOCKS

    wh = make_warehouse(tmp_path)
    units = [dict(u, parent_code="CTY1") if u["unit_code"] == "CTY2" else u for u in UNITS]
    SOURCES["units"].staged_frame(units).write_parquet(wh / "staged" / "units.parquet")
    reports = {(r.report_key, r.year): r for r in build_reports(load_inputs(wh))}
    alone = {(r.report_key, r.year): r for r in build_reports(load_inputs(wh), report_keys=["CTY1.rollup"], years=[2024])}
    for unit in ("CTY1", "CITY", "PRV"):
        own, roll = reports[(unit, 2024)], reports[(unit + ".rollup", 2024)]
        own_blocks = {b.key: b for s in own.sections for b in s.blocks}
        roll_blocks = {b.key: b for s in roll.sections for b in s.blocks}
        assert OWN_BLOCKS <= set(own_blocks) and OWN_BLOCKS <= set(roll_blocks)
        for key in OWN_BLOCKS:
            a, b = own_blocks[key], roll_blocks[key]
            assert a.frame.equals(b.frame)
            assert a.rendered is b.rendered or (a.rendered is None and b.rendered is None)
            assert b.title == a.title + "（仅本单位）"
    cty1, cty1_roll = reports[("CTY1", 2024)], reports[("CTY1.rollup", 2024)]
    assert block(cty1, "integrity_poor").height == 1 and block(cty1, "talks_todo").height > 0
    assert block(cty1_roll, "talks_todo").equals(block(cty1, "talks_todo"))
    by_itself = alone[("CTY1.rollup", 2024)]
    for key in OWN_BLOCKS:
        assert block(by_itself, key).equals(block(cty1, key))


def test_a_large_part_is_deflated_once_for_the_same_bytes_object(monkeypatch):
    """A worksheet part too large for the cache of small parts is deflated once when the same bytes
    object comes again, under another sheet number (a roll-up's lists of its own unit, just after
    its unit's own workbook): looked up by identity, so equal bytes of another object are deflated
    again and nothing large is hashed. The archives are those zipfile writes."""
    import io
    import zipfile

    import lianjian.report.xlsx as xlsx

    deflated: list[int] = []
    real = xlsx._deflate
    monkeypatch.setattr(xlsx, "_deflate", lambda data: deflated.append(id(data)) or real(data))
    big = ("".join(f'<row r="{i}"><c r="A{i}"><v>{i}</v></c></row>' for i in range(2000))).encode()
    assert len(big) > xlsx._SHARED_PART
    first = xlsx.zip_bytes({"xl/worksheets/sheet2.xml": big})
    second = xlsx.zip_bytes({"xl/worksheets/sheet1.xml": b"<a/>", "xl/worksheets/sheet3.xml": big})
    assert deflated.count(id(big)) == 1
    copy = bytes(bytearray(big))  # equal content, another object
    xlsx.zip_bytes({"xl/worksheets/sheet3.xml": copy})
    assert deflated.count(id(copy)) == 1
    with zipfile.ZipFile(io.BytesIO(second)) as zf:
        assert zf.namelist() == ["xl/worksheets/sheet1.xml", "xl/worksheets/sheet3.xml"] and zf.read("xl/worksheets/sheet3.xml") == big
    with zipfile.ZipFile(io.BytesIO(first)) as zf:
        assert zf.read("xl/worksheets/sheet2.xml") == big


def test_a_text_column_needing_no_escape_goes_into_the_cells_as_it_is():
    """A text column none of whose values holds a character HTML or XML escapes, a control character
    or a formula's first character (``html.plain_columns``: one scan) is copied into the page's
    cells and the worksheet without the escapes and the XML cleaning (which would give the same
    text); the other text columns still go through them. The table and the sheet are those of the
    per-report writers either way."""
    from lianjian.report import build, xlsx
    from lianjian.report.html import plain_columns, row_html_expr
    from lianjian.report.model import source_note

    frame = pl.DataFrame(
        {
            "report_key": ["A", "A", "B"],
            "year": [2024, 2024, 2024],
            "单位": ["甲院", "乙院", None],
            "说明": ["a&b", "x", "y"],
            "公式": ["1", "-2", "3"],
            "控制": ["ok", "a\r\nb", "c"],
            "人数": [1, 2, 3],
        }
    )
    assert plain_columns(frame) == {"report_key", "单位"}
    schema = frame.drop("report_key", "year").schema
    plain = plain_columns(frame.drop("report_key", "year"))
    assert plain == {"单位"}
    assert "replace_many" not in str(row_html_expr({"单位": pl.String}, plain=plain))
    assert "replace_many" in str(row_html_expr({"说明": pl.String}, plain=plain))
    cleaned, _ = xlsx.clean_columns(schema, plain)
    assert str(cleaned[0]) == str(pl.col("单位").alias("单位")) and "replace" in str(cleaned[3])
    xml = str(xlsx.row_xml_expr({"单位": pl.String}, plain))
    assert "replace_many" not in xml and "starts_with" not in xml
    tables = ("integrity_assessment",)
    rendered = build._prerender(frame, key="integrity_poor", tables=tables)
    for (key, _), r in rendered.items():
        part = frame.filter(pl.col("report_key") == key).drop("report_key", "year")
        assert r.table == _table_with_keep(part, (), "integrity_poor", tables)
        assert r.sheet == xlsx.sheet_xml(part, source_note(*tables))


def test_a_column_starting_like_a_formula_is_never_plain_whatever_the_prefixes(monkeypatch):
    """The worksheets' formula guard (``fmt.formula_like`` over ``fmt.FORMULA_PREFIXES``) decides
    which columns ``plain_columns`` may copy unguarded: every prefix keeps its column out, and a
    prefix added to the list does too — there is no second list of prefixes to forget."""
    from lianjian.report import fmt
    from lianjian.report.html import plain_columns

    for prefix in fmt.FORMULA_PREFIXES:
        assert plain_columns(pl.DataFrame({"a": ["ok", f"{prefix}1"]})) == frozenset(), prefix
    assert plain_columns(pl.DataFrame({"a": ["ok", "%1"]})) == {"a"}
    monkeypatch.setattr(fmt, "FORMULA_PREFIXES", (*fmt.FORMULA_PREFIXES, "%"))
    assert plain_columns(pl.DataFrame({"a": ["ok", "%1"]})) == frozenset()


def test_the_roster_is_made_one_row_per_person_and_year_once_for_every_source(monkeypatch, warehouse):
    """The data-quality counts reach the unit of a talk, a review, an event or a violation through
    the person's unit that year: the roster is read and made one row per person and year once for
    all of those sources, not once per source (≈ a quarter of the counts' time at national scale)."""
    from lianjian.report import quality

    rejected = load_inputs(warehouse).table("rejected_records")
    made: list[object] = []
    real = pl.LazyFrame.unique
    monkeypatch.setattr(pl.LazyFrame, "unique", lambda self, *a, **kw: made.append(a) or real(self, *a, **kw))
    counts = quality.unit_year_counts(warehouse, rejected)
    assert len(made) == 1
    assert counts.height > 0 and set(counts["source"]) >= {"talks", "personnel"}


def test_with_several_workers_the_years_are_cut_into_enough_tasks_for_each_worker():
    """The last task runs alone once the other worker has nothing left: with several workers, each
    year's reports are cut into enough runs for ``TASKS_PER_WORKER`` tasks per worker (five years of
    667 reports on two workers: ten tasks of 333–334, not five of 667, three for one worker and two
    for the other), but not into runs of fewer than ``MIN_TASK_REPORTS`` (a province's 133 a year
    stay whole), and into runs of at most ``CHUNK_REPORTS`` at any size; one process keeps a year
    whole. Every report of every year is in exactly one task."""
    from lianjian.report import CHUNK_REPORTS, MIN_TASK_REPORTS, TASKS_PER_WORKER, _tasks

    keys = [f"U{i:04d}" for i in range(667)]
    years = [2021, 2022, 2023, 2024, 2025]
    known = {y: {} for y in years}
    two = _tasks(keys, years, known, True, workers=2)
    assert len(two) == 10 >= TASKS_PER_WORKER * 2 and {len(t.report_keys) for t in two} == {333, 334}
    assert sorted(k for t in two if t.years == (2023,) for k in t.report_keys) == keys
    assert [(t.years, t.report_keys) for t in _tasks(keys, years, known, True)] == [((y,), None) for y in years]
    national = _tasks([f"U{i:04d}" for i in range(4002)], years, known, True, workers=2)
    assert len(national) == 25 and max(len(t.report_keys) for t in national) <= CHUNK_REPORTS
    province = _tasks(keys[:133], years, known, True, workers=2)
    assert 133 < MIN_TASK_REPORTS * 2 and [(t.years, t.report_keys) for t in province] == [((y,), None) for y in years]


def test_in_one_process_a_small_warehouses_years_are_one_task(tmp_path, monkeypatch):
    """In one process, every year's reports of a small warehouse (up to ``ONE_TASK_REPORTS`` in all)
    are built by one task: each section's plan and each kind of table's rendering made once for
    every year instead of once a year (the demo's reports step: ≈ 0.75 → ≈ 0.35 CPU-s). A larger run,
    a run for some units, or several workers keep a task per year; the files are those built year
    by year (``test_worker_processes_write_the_same_bytes`` compares them with runs of one report)."""
    import lianjian.report as report
    from lianjian.report import ONE_TASK_REPORTS, _tasks

    years = [2021, 2022, 2023, 2024, 2025]
    known = {y: {"A": ["d", 1, 2]} for y in years}
    small = [f"U{i:03d}" for i in range(ONE_TASK_REPORTS // len(years))]
    (one,) = _tasks(small, years, known, True)
    assert one.years == tuple(years) and one.report_keys is None and one.known == known
    assert len(_tasks(small + ["X"], years, known, True)) == len(years)  # above the bound: a year a task
    assert len(_tasks(small, years, known, False)) == len(years)  # some units only
    assert len(_tasks(small, years, known, True, workers=2)) == len(years)

    built: list[tuple[int, ...]] = []
    real = report.chunk_reports
    monkeypatch.setattr(report, "chunk_reports", lambda common, inputs, ys, keys=None: built.append(tuple(ys)) or real(common, inputs, ys, keys))
    wh = make_warehouse(tmp_path)
    written = write_reports(wh, workers=1)
    assert built == [(2022, 2023, 2024)] and {w.year for w in written} == {2022, 2023, 2024}
    assert all(w.html.is_file() and w.xlsx.is_file() and w.folder.name == str(w.year) for w in written)


def test_a_run_makes_the_data_quality_roster_once(tmp_path, monkeypatch):
    """The reports' data-quality counts (``shared``), the digest of a year's rejected rows and the
    index page's rows that belong to no unit all join the staged roster: a run makes it once
    (``quality.roster_of``), not once for each (≈ 0.5 CPU-s each at national scale)."""
    from lianjian.report import quality

    wh = make_warehouse(tmp_path)
    assert load_inputs(wh).table("rejected_records").select(pl.len()).collect().item() > 0  # every use asks for it
    made: list[Path] = []
    real = quality._roster
    monkeypatch.setattr(quality, "_roster", lambda warehouse: made.append(warehouse) or real(warehouse))
    written = write_reports(wh, workers=1)
    assert written and made == [wh]
    assert (wh / "reports" / "index.html").exists()


def test_stale_reports_are_found_by_name_without_asking_about_every_file(tmp_path, monkeypatch):
    """After a full run, a report no longer written (a unit gone) and a temporary file of a writer no
    longer running are removed; the ≈ 8,000 files a year kept at national scale are told apart by
    their names alone, not by a question to the file system each (``Path.is_file``), and a ``Written``
    makes its paths only when asked."""
    import lianjian.report as report
    from lianjian.report.xlsx import TMP_INFIX, TMP_PREFIX

    root = tmp_path / "reports"
    folder = root / "2024"
    folder.mkdir(parents=True)
    kept = [report.Written(f"U{i}", f"U{i}", 2024, False, folder) for i in range(50)]
    for w in kept:
        w.html.write_text("page")
        w.xlsx.write_bytes(b"book")
    (folder / "GONE.html").write_text("old")
    (folder / "GONE.rollup.xlsx").write_bytes(b"old")
    dead = folder / f"{TMP_PREFIX}U1.html{TMP_INFIX}999999999"  # no such process
    dead.write_text("cut short")
    (folder / "_digests.json").write_text("{}")
    asked: list[Path] = []
    real = Path.is_file
    monkeypatch.setattr(Path, "is_file", lambda self: asked.append(self) or real(self))
    known = {2024: {"U1": ["d", 4, 4], "GONE": ["d", 3, 3]}}
    report._remove_stale(root, kept, [2024], known)
    assert sorted(p.name for p in folder.iterdir()) == sorted([*(f"U{i}.html" for i in range(50)), *(f"U{i}.xlsx" for i in range(50)), "_digests.json"])
    assert known == {2024: {"U1": ["d", 4, 4]}}
    assert not [p for p in asked if p.parent == folder]
    assert kept[3].html == folder / "U3.html" and kept[3].xlsx == folder / "U3.xlsx"
