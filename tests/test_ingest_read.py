"""The reader accepts every form of CONTRACT.md §2 without being told: encodings, header languages,
boolean/date/enum spellings, full-width characters, XLSX with Excel dates, folders of drops."""

from __future__ import annotations

import datetime as dt

import polars as pl
import pytest
from support_ingest import HEADERS, ID_OK, ID_OK2, ingest, report_row, write_csv, write_landing, write_xlsx

from lianjian.contract import SOURCES
from lianjian import privacy
from lianjian.ingest import text

TALK_ZH = ["谈话编号", "谈话日期", "谈话类型", "谈话人工号", "谈话对象工号", "谈话事由", "关联事件编号", "在场纪检人员工号", "已填谈话表", "亲属签字"]
TALK_TRAD = ["談話編號", "談話日期", "談話類型", "談話人工號", "談話對象工號", "談話事由", "關聯事件編號", "在場紀檢人員工號", "已填談話表", "親屬簽字"]


def _talks(result) -> list[dict]:
    return result.staged["talks"].with_columns(pl.col("talk_type").cast(pl.String)).to_dicts()


@pytest.mark.parametrize(
    "encoding,bom", [("utf-8", False), ("utf-8", True), ("gb18030", False), ("gbk", False)], ids=["utf8", "utf8-bom", "gb18030", "gbk"]
)
def test_encodings_detected(tmp_path, encoding, bom):
    root = write_landing(tmp_path, skip=("talks",))
    write_csv(root / "talks.csv", TALK_ZH, [["T1", "2024-03-05", "家人廉政谈话", "", "P3", "", "", "", "是", "否"]], encoding, bom)
    result = ingest(root)
    assert result.rejected.height == 0
    [t] = _talks(result)
    assert (t["talk_id"], t["talk_date"], t["talk_type"], t["form_filed"], t["family_signed"]) == (
        "T1", dt.date(2024, 3, 5), "family", True, False,
    )


@pytest.mark.parametrize("header", [HEADERS["talks"], TALK_ZH, TALK_TRAD, [h.upper() for h in HEADERS["talks"]]], ids=["en", "zh", "zh-hant", "EN"])
def test_header_languages_any_order(tmp_path, header):
    order = [9, 8, 7, 6, 5, 4, 3, 2, 1, 0]  # reversed column order
    row = ["T1", "2024-03-05", "family", "", "P3", "", "", "", "是", "是"]
    root = write_landing(tmp_path, {"talks": ([f"\u3000 {header[i]} " for i in order], [[row[i] for i in order]])})
    result = ingest(root)
    assert result.rejected.height == 0
    assert _talks(result)[0]["talk_id"] == "T1"
    assert result.staged["talks"].columns == SOURCES["talks"].column_names


@pytest.mark.parametrize("spelling,expected", [
    ("是", True), ("否", False), ("Y", True), ("n", False), ("YES", True), ("no", False),
    ("True", True), ("FALSE", False), ("1", True), ("0", False), (" 是\u3000", True), ("１", True),
])
def test_boolean_spellings(spelling, expected):
    assert pl.select(text.to_bool(text.clean(pl.lit(spelling)))).item() is expected


@pytest.mark.parametrize("spelling", ["2024-03-05", "2024/3/5", "2024.3.5", "20240305", "2024年3月5日", "２０２４－０３－０５", " 2024/03/05 ", "2024-03-05 00:00:00"])
def test_date_spellings(spelling):
    assert pl.select(text.to_date(text.clean(pl.lit(spelling)))).item() == dt.date(2024, 3, 5)


@pytest.mark.parametrize("spelling", ["2024-02-30", "2023-02-29", "2024-13-01", "2024-00-10", "24-3-5", "March 5", "2024年13月1日"])
def test_impossible_or_unknown_dates_fail(spelling):
    assert pl.select(text.to_date(text.clean(pl.lit(spelling)))).item() is None


def test_leap_day_parses():
    assert pl.select(text.to_date(pl.lit("2024-02-29"))).item() == dt.date(2024, 2, 29)


@pytest.mark.parametrize("spelling,code", [
    ("family", "family"), ("FAMILY", "family"), ("Must_Talk", "must_talk"), ("家人廉政谈话", "family"),
    ("家人廉政談話", "family"), ("  六必谈　", "must_talk"), ("六必談", "must_talk"), ("誡勉談話", "admonition"),
])
def test_enum_spellings(spelling, code):
    enum = SOURCES["talks"].column("talk_type").enum
    assert pl.select(text.to_enum(text.clean(pl.lit(spelling)), enum)).item() == code


def test_quality_rating_second_label_and_traditional():
    enum = SOURCES["cases"].column("quality_rating").enum
    got = pl.select(text.to_enum(pl.lit(pl.Series(["基本合格", "瑕疵", "優質", "不合格"])), enum)).to_series().to_list()
    assert got == ["flawed", "flawed", "excellent", "unqualified"]


def test_full_width_digits_and_letters():
    got = pl.select(text.clean(pl.lit("\u3000ＡＢｃ－１２３\u3000"))).item()
    assert got == "ABc-123"


def test_blank_is_null():
    assert pl.select(text.clean(pl.Series(["", "  ", "\u3000", None]))).to_series().to_list() == [None] * 4


def test_id_number_check_digit_by_hand():
    # 11010519491231002X: sum of digit x weight over the 17 digits
    #   1*7 + 1*9 + 0*10 + 1*5 + 0*8 + 5*4 + 1*2 + 9*1 + 4*6 + 9*3 + 1*7 + 2*9 + 3*10 + 1*5 + 0*8 + 0*4 + 2*2 = 167
    #   167 mod 11 = 2 -> "10X98765432"[2] = X
    # 110101199003070011: 7+9+0+5+0+4+2+9+54+0+0+27+0+35+0+0+2 = 154; 154 mod 11 = 0 -> "1"
    got = pl.select(privacy.id_number_problem(pl.Series([ID_OK, ID_OK.lower(), ID_OK2, "110105194912310021", "11010519491231002"]))).to_series()
    assert got.to_list() == [None, None, None, "invalid check digit", "must be 18 characters: 17 digits and a check digit (0-9 or X)"]


def test_xlsx_with_excel_dates_and_chinese_headers(tmp_path):
    root = write_landing(tmp_path, skip=("cases",))
    header = ["案件编号", "单位编码", "案件类别", "承办人工号", "重大疑难复杂", "受理日期", "办结日期", "处理结果", "评查结果", "错案类型", "部门领导核定", "分管领导核定", "群众投诉"]
    write_xlsx(
        root / "cases.xlsx",
        header,
        [
            ["C1", "U1", "公诉案件", "P3", False, dt.date(2024, 1, 10), 45356, "起诉", "優質", None, "是", None, None],
            ["=C2", "U1", "public_prosecution", "P3", "否", dt.datetime(2024, 1, 10, 9, 30), "2024/3/5", None, "基本合格", None, True, None, None],
        ],
    )
    result = ingest(root)
    assert result.rejected.height == 0
    cases = result.staged["cases"].with_columns(pl.col("quality_rating").cast(pl.String)).to_dicts()
    # 45356 is an Excel serial day: 1899-12-30 + 45356 days = 2024-03-05
    assert [(c["case_id"], c["accepted_date"], c["closed_date"], c["quality_rating"], c["dept_verified"], c["is_major"]) for c in cases] == [
        ("C1", dt.date(2024, 1, 10), dt.date(2024, 3, 5), "excellent", True, False),
        ("=C2", dt.date(2024, 1, 10), dt.date(2024, 3, 5), "flawed", True, False),
    ]
    assert report_row(result, "cases.xlsx")["rows_read"] == 2


def test_parquet_input(tmp_path):
    root = write_landing(tmp_path, skip=("talks",))
    pl.DataFrame({"talk_id": ["T1"], "talk_date": [dt.date(2024, 3, 5)], "talk_type": ["family"], "interviewee_id": ["P3"], "form_filed": [True]}).write_parquet(root / "talks.parquet")
    result = ingest(root)
    assert result.rejected.height == 0
    assert _talks(result)[0]["talk_date"] == dt.date(2024, 3, 5)


def test_folder_of_drops_is_one_table(tmp_path):
    root = write_landing(tmp_path, skip=("talks",))
    head = HEADERS["talks"]
    write_csv(root / "talks" / "2024-02.csv", head, [["T2", "2024-02-01", "family", "", "P3", "", "", "", "是", ""]])
    write_csv(root / "talks" / "2024-01.csv", head, [["T1", "2024-01-01", "family", "", "P3", "", "", "", "是", ""]])
    write_xlsx(root / "talks" / "2024-03.xlsx", TALK_ZH, [["T3", dt.date(2024, 3, 1), "家人廉政谈话", None, "P3", None, None, None, "是", None]])
    result = ingest(root)
    assert result.rejected.height == 0
    assert result.staged["talks"]["talk_id"].to_list() == ["T1", "T2", "T3"]
    files = result.report.filter(pl.col("source") == "talks")
    assert files["file"].to_list() == ["talks/2024-01.csv", "talks/2024-02.csv", "talks/2024-03.xlsx"]
    assert files["rows_read"].to_list() == [1, 1, 1]
    assert all(len(s) == 64 for s in files["sha256"].to_list())


def test_unknown_columns_warned_once_per_source(tmp_path):
    root = write_landing(tmp_path, skip=("talks",))
    head = HEADERS["talks"] + ["备注"]
    for month in ("01", "02"):
        write_csv(root / "talks" / f"{month}.csv", head, [[f"T{month}", "2024-01-01", "family", "", "P3", "", "", "", "是", "", "x"]])
    result = ingest(root)
    assert result.rejected.height == 0
    assert [w for w in result.warnings if "备注" in w] == ["talks: 未知列「备注」已忽略 (unknown column ignored)"]
    assert "备注" not in result.staged["talks"].columns


def test_defaults_applied_to_blank_optional_booleans(tmp_path):
    result = ingest(write_landing(tmp_path))
    cases = result.staged["cases"]
    assert cases.select("dept_verified", "supervisor_verified", "public_complaint").row(0) == (False, False, False)
    assert result.staged["personnel"]["is_party_secretary"].to_list() == [True, False, False, False]


def test_staged_schema_is_the_contract(tmp_path):
    result = ingest(write_landing(tmp_path))
    for name, frame in result.staged.items():
        assert frame.schema == SOURCES[name].staged_schema(), name
