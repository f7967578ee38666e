"""Bad-input corpus: every case names the exact reason(s) recorded for the rows it breaks, and that
nothing else is rejected. Reasons come from CONTRACT.md §2 (each starts with the column concerned).

Row numbers are spreadsheet rows: the header is row 1, so the k-th data row is row k + 1. BASE has
2 talks, 4 personnel, 2 departments, 2 units and 1 case, so an extra talk is row 4, an extra person
row 6, an extra department row 4, an extra unit row 4, an extra case row 3.
"""

from __future__ import annotations

import pytest
from support_ingest import BASE, HEADERS, ID_OK, ingest, reasons_by_row, report_row, rows, write_csv, write_landing, write_xlsx

from lianjian.errors import FatalError

T = HEADERS["talks"]


def talk(tid="T9", date="2024-05-01", kind="family", interviewer="", interviewee="P3", reason="", event="", witness="", filed="是", signed=""):
    return [tid, date, kind, interviewer, interviewee, reason, event, witness, filed, signed]


def person(pid="P9", year="2024", name="新人", idn="", unit="U1", dept="D1", pos="prosecutor", sec="", quota="是", status="active", hire=""):
    return [year, pid, name, idn, unit, dept, pos, sec, quota, status, hire]


def case(cid="C9", accepted="2024-03-10", closed="", rating="", handler="P3"):
    return [cid, "U1", "public_prosecution", handler, "否", accepted, closed, "", rating, "", "", "", ""]


# (case id, overrides for write_landing, {(file, row): exact reasons})
CASES = [
    ("unparseable date", {"talks": rows("talks", talk(date="2024-13-01"))},
     {("talks.csv", 4): ['talk_date: cannot parse "2024-13-01" as a date']}),
    ("impossible date", {"talks": rows("talks", talk(date="2024-02-30"))},
     {("talks.csv", 4): ['talk_date: cannot parse "2024-02-30" as a date']}),
    ("impossible compact date", {"talks": rows("talks", talk(date="20230229"))},
     {("talks.csv", 4): ['talk_date: cannot parse "20230229" as a date']}),
    ("unknown talk type", {"talks": rows("talks", talk(kind="xx"))},
     {("talks.csv", 4): ['talk_type: unknown code "xx"']}),
    ("unknown position", {"personnel": rows("personnel", person(pos="xx"))},
     {("personnel.csv", 6): ['position: unknown code "xx"']}),
    ("unknown level", {"units": rows("units", ["U3", "三院", "乡级", ""])},
     {("units.csv", 4): ['level: unknown code "乡级"']}),
    ("unparseable boolean", {"talks": rows("talks", talk(filed="maybe"))},
     {("talks.csv", 4): ['form_filed: cannot parse "maybe" as yes/no (是/否)']}),
    ("required value missing", {"personnel": rows("personnel", person(pid=""))},
     {("personnel.csv", 6): ["person_id: required value missing"]}),
    ("required boolean missing", {"talks": rows("talks", talk(filed=""))},
     {("talks.csv", 4): ["form_filed: required value missing"]}),
    ("unparseable year", {"personnel": rows("personnel", person(year="二〇二四"))},
     {("personnel.csv", 6): ['year: cannot parse "二〇二四" as a whole number']}),
    ("year out of range", {"personnel": rows("personnel", person(year="1999"))},
     # both apply: the year is out of range, and there is no department D1 of U1 in 1999
     {("personnel.csv", 6): ["year: 1999 is below the minimum 2000", 'dept_code: no such department "D1" of unit U1 in 1999']}),
    ("unparseable decimal", {"reviews": [["2024", "P3", "self", "", "九十", "", ""]]},
     {("reviews.csv", 2): ['score: cannot parse "九十" as a number']}),
    ("decimal above maximum", {"reviews": [["2024", "P3", "self", "", "100.5", "", ""]]},
     {("reviews.csv", 2): ["score: 100.5 is above the maximum 100"]}),
    ("negative votes", {"democratic_votes": [["2024", "U1", "party_group", "U1", "-1", "0", "0", "0"]]},
     {("democratic_votes.csv", 2): ["votes_good: -1 is below the minimum 0"]}),
    ("closed before accepted", {"cases": rows("cases", case(accepted="2024-03-10", closed="2024-02-01"))},
     {("cases.csv", 3): ["closed_date: before accepted_date"]}),
    ("interviewer required unless family", {"talks": rows("talks", talk(kind="department"))},
     {("talks.csv", 4): ["interviewer_id: required for talk_type department"]}),
    ("reason required for must_talk", {"talks": rows("talks", talk(kind="must_talk", interviewer="P2"))},
     {("talks.csv", 4): ["reason: required for talk_type must_talk"]}),
    ("peer review needs a reviewer", {"reviews": [["2024", "P3", "peer", "", "90", "", ""]]},
     {("reviews.csv", 2): ["reviewer_id: required for reviewer_kind peer"]}),
    ("conflicting duplicates", {"talks": rows("talks", talk(tid="T1", date="2024-03-06"))},
     {("talks.csv", 2): ["talk_id: conflicting duplicates"], ("talks.csv", 4): ["talk_id: conflicting duplicates"]}),
    ("conflicting composite key", {"personnel": rows("personnel", person(pid="P4", name="赵四", dept="D1", pos="clerk", quota="否"))},
     {("personnel.csv", 5): ["year+person_id: conflicting duplicates"],
      ("personnel.csv", 6): ["year+person_id: conflicting duplicates"],
      # P4 was head of D2: with both P4 rows rejected, D2's head is no longer in the roster
      ("departments.csv", 3): ['head_id: no such person "P4" in the 2024 roster']}),
    ("dangling interviewee", {"talks": rows("talks", talk(interviewee="P9"))},
     {("talks.csv", 4): ['interviewee_id: no such person "P9" in personnel']}),
    ("dangling event", {"talks": rows("talks", talk(event="E9"))},
     {("talks.csv", 4): ['event_id: no such event_id "E9" in personnel_events']}),
    ("head not in that year's roster", {"departments": rows("departments", ["2025", "U1", "D1", "一部", "P2", "", "", ""])},
     {("departments.csv", 4): ['head_id: no such person "P2" in the 2025 roster']}),
    ("supervisor not a leader", {"departments": rows("departments", ["2024", "U1", "D3", "三部", "", "P3", "", ""])},
     {("departments.csv", 4): ['supervisor_id: "P3" is not a leadership member (班子成员) in the 2024 roster']}),
    ("dept_code of no department", {"personnel": rows("personnel", person(dept="D9"))},
     {("personnel.csv", 6): ['dept_code: no such department "D9" of unit U1 in 2024']}),
    ("unit_code not in units", {"cases": rows("cases", ["C9", "U9", "other", "P3", "否", "2024-01-01", "", "", "", "", "", "", ""])},
     {("cases.csv", 3): ['unit_code: no such unit_code "U9" in units']}),
    ("parent_code not in units", {"units": rows("units", ["U3", "三院", "county", "U9"])},
     {("units.csv", 4): ['parent_code: no such unit_code "U9" in units']}),
    ("unit_code names a folder", {"units": rows("units", ["../x", "坏", "county", ""])},
     {("units.csv", 4): ["unit_code: does not match ^[A-Za-z0-9_-]{1,32}$"]}),
    ("reference to a rejected row", {"personnel": rows("personnel", person(pid="P9", pos="xx")), "talks": rows("talks", talk(interviewee="P9"))},
     {("personnel.csv", 6): ['position: unknown code "xx"'],
      ("talks.csv", 4): ['interviewee_id: no such person "P9" in personnel']}),
    ("bad id_number check digit", {"personnel": rows("personnel", person(idn="110105194912310021"))},
     {("personnel.csv", 6): ["id_number: invalid check digit"]}),
    ("id_number of the wrong length", {"personnel": rows("personnel", person(idn="1101051949"))},
     {("personnel.csv", 6): ["id_number: must be 18 characters: 17 digits and a check digit (0-9 or X)"]}),
    ("NUL byte in a cell", {"talks": rows("talks", talk(kind="fam\x00ily"))},
     {("talks.csv", 4): ["talk_type: contains a NUL byte", 'talk_type: unknown code "fam␀ily"']}),
    ("every reason of a row", {"talks": rows("talks", talk(date="2024-13-01", kind="xx", interviewee="", filed="maybe"))},
     {("talks.csv", 4): ['talk_date: cannot parse "2024-13-01" as a date', 'talk_type: unknown code "xx"',
                         "interviewee_id: required value missing", 'form_filed: cannot parse "maybe" as yes/no (是/否)']}),
]


@pytest.mark.parametrize("name,overrides,expected", CASES, ids=[c[0] for c in CASES])
def test_bad_input_reasons(tmp_path, name, overrides, expected):
    result = ingest(write_landing(tmp_path, overrides))
    assert reasons_by_row(result) == expected


def test_base_landing_is_clean(tmp_path):
    result = ingest(write_landing(tmp_path))
    assert result.rejected.height == 0
    assert result.staged["talks"].height == 2 and result.staged["personnel"].height == 4


def test_exact_duplicate_kept_once_and_counted(tmp_path):
    # T2 again, written differently but equal after normalization (是 = Y, 2024-04-01 = 2024/4/1,
    # department = 部门领导谈话): kept once, counted as a duplicate, never rejected.
    dup = talk(tid="T2", date="2024/4/1", kind="部门领导谈话", interviewer="P2", filed="Y")
    result = ingest(write_landing(tmp_path, {"talks": rows("talks", dup)}))
    assert result.rejected.height == 0
    assert result.staged["talks"]["talk_id"].to_list() == ["T1", "T2"]
    r = report_row(result, "talks.csv")
    assert (r["rows_read"], r["rows_accepted"], r["rows_rejected"], r["rows_duplicate"]) == (3, 2, 0, 1)


def test_ragged_row_rejected(tmp_path):
    root = write_landing(tmp_path, skip=("talks",))
    (root / "talks.csv").write_text(
        "talk_id,talk_date,talk_type,interviewee_id,form_filed\n"
        "T1,2024-03-01,family,P3,是\n"
        "T2,2024-03-01,family,P3,是,surplus\n"
        "T3,2024-03-02,family,P3\n",  # short: the missing trailing cell is blank (as spreadsheets read it)
        encoding="utf-8",
    )
    result = ingest(root)
    assert reasons_by_row(result) == {
        ("talks.csv", 3): ["row: more fields than the 5 of the header"],
        ("talks.csv", 4): ["form_filed: required value missing"],
    }
    assert result.staged["talks"]["talk_id"].to_list() == ["T1"]


def test_unclosed_quote_rejects_that_row_only(tmp_path):
    root = write_landing(tmp_path, skip=("talks",))
    (root / "talks.csv").write_text(
        "talk_id,talk_date,talk_type,interviewee_id,form_filed\n"
        'T1,"2024-03-01,family,P3,是\n'
        "T2,2024-03-02,family,P3,是\n",
        encoding="utf-8",
    )
    result = ingest(root)
    assert reasons_by_row(result) == {
        ("talks.csv", 2): ['row: unclosed quote (odd number of ")', 'talk_date: cannot parse ""2024-03-01" as a date']
    }
    assert result.staged["talks"]["talk_id"].to_list() == ["T2"]


def test_empty_file_of_optional_source_is_no_rows(tmp_path):
    root = write_landing(tmp_path)
    (root / "personnel_events.csv").write_bytes(b"")
    result = ingest(root)
    assert result.staged["personnel_events"].height == 0
    assert report_row(result, "personnel_events.csv")["rows_read"] == 0
    assert any("personnel_events.csv" in w and "空文件" in w for w in result.warnings)


def test_empty_file_of_required_source_is_fatal(tmp_path):
    root = write_landing(tmp_path)
    (root / "talks.csv").write_bytes(b"")
    with pytest.raises(FatalError, match=r"^talks\.csv: 文件为空"):
        ingest(root)


def test_header_only_file_is_no_rows(tmp_path):
    result = ingest(write_landing(tmp_path, {"talks": []}))
    assert result.staged["talks"].height == 0 and result.rejected.height == 0
    assert report_row(result, "talks.csv")["rows_read"] == 0


def test_missing_required_column_is_fatal_one_line(tmp_path):
    header = [h for h in T if h != "talk_date"]
    root = write_landing(tmp_path, {"talks": (header, [r[:1] + r[2:] for r in BASE["talks"]])})
    with pytest.raises(FatalError) as err:
        ingest(root)
    assert str(err.value) == "talks.csv: 缺少必填列 talk_date（谈话日期）— 请在表头中加入该列 (missing required column)"


def test_missing_required_source_is_fatal(tmp_path):
    root = write_landing(tmp_path, skip=("cases",))
    with pytest.raises(FatalError, match=r"^cases\.csv: 缺少必需的数据源 cases（案件）"):
        ingest(root)


def test_missing_optional_source_is_empty(tmp_path):
    root = write_landing(tmp_path, skip=("reviews", "personnel_events"))
    result = ingest(root)
    assert result.present["reviews"] is False
    assert result.staged["reviews"].schema == __import__("lianjian.contract", fromlist=["SOURCES"]).SOURCES["reviews"].staged_schema()


def test_formula_like_cell_kept_as_text(tmp_path):
    result = ingest(write_landing(tmp_path, {"personnel": rows("personnel", person(name="=HYPERLINK(1)")), }))
    assert result.rejected.height == 0
    assert "=HYPERLINK(1)" in result.staged["personnel"]["name"].to_list()


def test_very_long_cell_kept(tmp_path):
    long_name = "长" * 20_000
    result = ingest(write_landing(tmp_path, {"personnel": rows("personnel", person(name=long_name))}))
    assert result.rejected.height == 0
    assert long_name in result.staged["personnel"]["name"].to_list()


def test_very_long_bad_value_is_echoed_cut(tmp_path):
    result = ingest(write_landing(tmp_path, {"talks": rows("talks", talk(kind="x" * 500))}))
    assert reasons_by_row(result) == {("talks.csv", 4): ['talk_type: unknown code "' + "x" * 60 + '…"']}


def test_id_number_never_in_outputs_and_masked_in_raw(tmp_path):
    bad = "110105194912310021"
    result = ingest(write_landing(tmp_path, {"personnel": rows("personnel", person(idn=bad))}))
    assert "id_number" not in result.staged["personnel"].columns
    raw = result.rejected["raw"].to_list()
    assert len(raw) == 1 and '"id_number":"1101**************"' in raw[0]
    everything = str(result.rejected.to_dicts()) + str(result.warnings)
    assert bad not in everything and ID_OK not in everything


def test_id_number_from_numeric_excel_cell(tmp_path):
    root = write_landing(tmp_path, skip=("personnel",))
    write_xlsx(
        root / "personnel.xlsx",
        HEADERS["personnel"],
        [[2024, "P1", "张一", 110105194912310021, "U1", None, "chief", "是", "是", "active", None]]
        + [[int(r[0])] + r[1:3] + [None] + r[4:] for r in BASE["personnel"][1:]],
    )
    result = ingest(root)
    got = reasons_by_row(result)
    assert got[("personnel.xlsx", 2)] == ["id_number: stored as a number, digits lost"]


def test_mixed_encodings_in_one_folder(tmp_path):
    root = write_landing(tmp_path, skip=("talks",))
    head_zh = ["谈话编号", "谈话日期", "谈话类型", "谈话对象工号", "已填谈话表"]
    write_csv(root / "talks" / "01.csv", head_zh, [["T1", "2024-01-05", "家人廉政谈话", "P3", "是"]], encoding="gb18030")
    write_csv(root / "talks" / "02.csv", head_zh, [["T2", "2024-02-05", "家人廉政谈话", "P3", "否"]], encoding="utf-8", bom=True)
    write_csv(root / "talks" / "03.csv", head_zh, [["T3", "2024-03-05", "家人廉政谈话", "P3", "是"]], encoding="gbk")
    result = ingest(root)
    assert result.rejected.height == 0
    assert result.staged["talks"]["talk_id"].to_list() == ["T1", "T2", "T3"]
    assert result.report.filter(result.report["source"] == "talks")["file"].to_list() == ["talks/01.csv", "talks/02.csv", "talks/03.csv"]


def test_column_named_twice_is_fatal(tmp_path):
    header = HEADERS["talks"] + ["谈话日期"]  # talk_date in English and again in Chinese
    root = write_landing(tmp_path, {"talks": (header, [r + ["2024-03-06"] for r in BASE["talks"]])})
    with pytest.raises(FatalError) as err:
        ingest(root)
    assert str(err.value) == "talks.csv: 列 talk_date（谈话日期）在表头中出现了两次 — 请删除重复的列 (column given twice in the header)"


def test_empty_workbook_of_optional_source_is_no_rows(tmp_path):
    import openpyxl

    root = write_landing(tmp_path)
    openpyxl.Workbook().save(root / "violations.xlsx")
    result = ingest(root)
    assert result.staged["violations"].height == 0
    assert report_row(result, "violations.xlsx")["rows_read"] == 0


def test_blank_lines_are_not_records(tmp_path):
    root = write_landing(tmp_path, skip=("talks",))
    (root / "talks.csv").write_text(
        "talk_id,talk_date,talk_type,interviewee_id,form_filed\nT1,2024-03-01,family,P3,是\n,,,,\n\nT2,2024/3/2,family,P3,否\n",
        encoding="utf-8",
    )
    result = ingest(root)
    assert result.rejected.height == 0
    assert result.staged["talks"]["talk_id"].to_list() == ["T1", "T2"]
    assert report_row(result, "talks.csv")["rows_read"] == 2


def test_unreadable_header_is_fatal(tmp_path):
    root = write_landing(tmp_path, skip=("talks",))
    (root / "talks.csv").write_text('talk_id,"talk_date,talk_type\nT1,2024-03-01,family\n', encoding="utf-8")
    with pytest.raises(FatalError, match=r"^talks\.csv: 表头"):
        ingest(root)


DUTY = ["activity_id", "unit_code", "actor_kind", "actor_id", "activity_type", "activity_date", "target_id", "target_dept_code"]


def test_target_department_of_that_unit_and_year(tmp_path):
    root = write_landing(tmp_path)
    write_csv(root / "duty_activities.csv", DUTY, [
        ["A1", "U1", "leader", "P1", "report_hearing", "2024-06-01", "", "D1"],  # D1 of U1 in 2024: fine
        ["A2", "U1", "leader", "P1", "report_hearing", "2024-06-01", "", "D9"],  # no D9 at all
        ["A3", "U1", "leader", "P1", "report_hearing", "2025-06-01", "", "D1"],  # no departments list for 2025
        ["A4", "U2", "leader", "P1", "lecture", "2024-06-01", "", "D1"],         # D1 belongs to U1, not U2
    ])
    result = ingest(root)
    assert reasons_by_row(result) == {
        ("duty_activities.csv", 3): ['target_dept_code: no such department "D9" of unit U1 in 2024'],
        ("duty_activities.csv", 4): ['target_dept_code: no such department "D1" of unit U1 in 2025'],
        ("duty_activities.csv", 5): ['target_dept_code: no such department "D1" of unit U2 in 2024'],
    }
    assert result.staged["duty_activities"]["activity_id"].to_list() == ["A1"]
