"""Input that is silently garbled or half read (docs/ingest.md): a CSV mixing UTF-8 and GB18030 lines,
XLSX rows wider than their header or with values only under a blank header, unreadable landing files,
and dates outside the plausible range. Every row is accepted with the right text, or rejected with its
reason and counted (rows read = accepted + rejected + duplicates); a file that cannot be read at all
ends the run with one line naming it."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import polars as pl
import pytest
from support_ingest import BASE, HEADERS, ingest, reasons_by_row, report_row, rows, talk, write_landing, write_xlsx

from lianjian.errors import FatalError
from lianjian.ingest import DateBounds, ingest_landing
from lianjian.ingest.reader import ENCODING_PROBLEM, ORPHAN_PROBLEM

P = HEADERS["personnel"]


def _line(cells: list[str]) -> str:
    return ",".join(cells) + "\n"


def _people(result) -> dict[str, str]:
    return dict(result.staged["personnel"].select("person_id", "name").iter_rows())


# --------------------------------------------------------------------------------------------------
# Mixed encodings


def test_csv_mixing_utf8_and_gb18030_lines_reads_each_line_right(tmp_path):
    """A roster exported in GB18030 and appended to in UTF-8: every name is read right (the whole file
    used to be decoded as GB18030, turning the UTF-8 names into mojibake), and a warning names the
    lines of the less used encoding (physical line numbers, header = line 1)."""
    root = write_landing(tmp_path)
    data = _line(P).encode("utf-8")
    data += _line(BASE["personnel"][0]).encode("gb18030")  # line 2: 张一
    data += _line(BASE["personnel"][1]).encode("utf-8")  # line 3: 李二
    data += _line(BASE["personnel"][2]).encode("gb18030")  # line 4: 王三
    data += _line(BASE["personnel"][3]).encode("gb18030")  # line 5: 赵四
    (root / "personnel.csv").write_bytes(data)
    result = ingest(root)
    assert _people(result) == {"P1": "张一", "P2": "李二", "P3": "王三", "P4": "赵四"}
    assert result.rejected.height == 0
    # lines 2, 4, 5 are GB18030, line 3 UTF-8 (line 1 is ASCII): the UTF-8 line is named
    assert [w for w in result.warnings if "混用" in w] == [
        "personnel: personnel.csv: 文件混用两种编码：第 3 行按 UTF-8 解码，其余按 GB18030 — 建议统一另存为 UTF-8"
        " (mixed encodings: lines read as UTF-8: 3)"
    ]
    files = result.report.filter(pl.col("file") == "personnel.csv")
    assert files["rows_read"].to_list() == [4]


def test_mixed_encoding_warning_lists_twenty_lines_then_counts(tmp_path):
    from support_ingest import person

    root = write_landing(tmp_path)
    extra = [person(pid=f"Q{i}", name=f"新{i}") for i in range(60)]
    data = _line(P).encode("utf-8") + b"".join(_line(r).encode("gb18030") for r in BASE["personnel"])
    # lines 6..65: the even rows in UTF-8 (30 lines), the odd ones in GB18030 (30 + 4 lines)
    data += b"".join(_line(r).encode("utf-8" if i % 2 == 0 else "gb18030") for i, r in enumerate(extra))
    (root / "personnel.csv").write_bytes(data)
    result = ingest(root)
    assert len(_people(result)) == 64 and _people(result)["Q0"] == "新0"
    (warning,) = [w for w in result.warnings if "混用" in w]
    utf8 = [str(6 + i) for i in range(0, 40, 2)]  # the first 20 UTF-8 lines: 6, 8, …, 44
    assert warning.startswith(f"personnel: personnel.csv: 文件混用两种编码：第 {'、'.join(utf8)} 等共 30 行按 UTF-8 解码")
    assert warning.endswith(f"(mixed encodings: lines read as UTF-8: {', '.join(utf8)}, … (30 lines))")


def test_a_line_valid_in_neither_encoding_is_rejected_and_counted(tmp_path):
    """A line with bytes that are neither UTF-8 nor GB18030 (0xFF never occurs in either) is rejected
    with the reason ``row: encoding: …``; the other lines of the file read normally."""
    root = write_landing(tmp_path)
    data = _line(P).encode("utf-8")
    data += _line(BASE["personnel"][0]).encode("gb18030")
    data += _line(BASE["personnel"][1]).encode("gb18030").replace("李".encode("gb18030"), b"\xff\xff")
    data += b"".join(_line(r).encode("gb18030") for r in BASE["personnel"][2:])
    (root / "personnel.csv").write_bytes(data)
    result = ingest(root)
    got = reasons_by_row(result)
    assert got[("personnel.csv", 3)][0] == ENCODING_PROBLEM
    assert _people(result) == {"P1": "张一", "P3": "王三", "P4": "赵四"}
    r = report_row(result, "personnel.csv")
    assert (r["rows_read"], r["rows_accepted"], r["rows_rejected"]) == (4, 3, 1)
    assert not [w for w in result.warnings if "混用" in w]  # all readable lines are GB18030


def test_encoding_row_numbers_follow_records_across_a_quoted_line_break(tmp_path):
    """A quoted name spanning two lines is one row: the undecodable line after it is row 4, line 5."""
    root = write_landing(tmp_path)
    data = _line(P).encode("utf-8")
    data += _line(BASE["personnel"][0]).encode("gb18030")
    data += '2024,P2,"李\n二",,U1,D1,dept_head,否,是,active,\n'.encode("gb18030")
    data += b"2024,P3,\xff\xfe,,U1,D1,prosecutor,,\xe6\x98\xaf,active,\n"
    data += _line(BASE["personnel"][3]).encode("gb18030")
    (root / "personnel.csv").write_bytes(data)
    result = ingest(root)
    assert reasons_by_row(result)[("personnel.csv", 4)][0] == ENCODING_PROBLEM
    assert _people(result)["P2"] == "李\n二"


# --------------------------------------------------------------------------------------------------
# XLSX rows wider than their header, values under a blank header


def test_xlsx_row_beyond_the_header_is_rejected_like_a_ragged_csv_row(tmp_path):
    root = write_landing(tmp_path, skip=("talks",))
    header = HEADERS["talks"]
    write_xlsx(root / "talks.xlsx", header, [talk("T1"), talk("T2") + ["多出的一格"], talk("T3")])
    result = ingest(root)
    assert reasons_by_row(result) == {("talks.xlsx", 3): [f"row: more fields than the {len(header)} of the header"]}
    assert result.staged["talks"]["talk_id"].to_list() == ["T1", "T3"]
    r = report_row(result, "talks.xlsx")
    assert (r["rows_read"], r["rows_accepted"], r["rows_rejected"]) == (3, 2, 1)
    assert not [w for w in result.warnings if "空表头" in w]  # trailing blank header cells are no column


REQUIRED_TALK = [f"{c}: required value missing" for c in ("talk_id", "talk_date", "talk_type", "interviewee_id", "form_filed")]


def test_xlsx_row_with_values_only_under_a_blank_header_is_counted_and_rejected(tmp_path):
    """Header: talk_id, (blank), the other columns. Row 3 has a value only under the blank header: it
    is a record the contract cannot read, so it is counted and rejected (it used to vanish)."""
    root = write_landing(tmp_path, skip=("talks",))
    header = HEADERS["talks"][:1] + [None] + HEADERS["talks"][1:]
    first = talk("T1")
    write_xlsx(root / "talks.xlsx", header, [first[:1] + ["备注"] + first[1:], [None, "只有这一格", *[None] * 9]])
    result = ingest(root)
    # every reason that applies: the row problem first, then the required cells it lacks
    assert reasons_by_row(result) == {("talks.xlsx", 3): [ORPHAN_PROBLEM, *REQUIRED_TALK]}
    r = report_row(result, "talks.xlsx")
    assert (r["rows_read"], r["rows_accepted"], r["rows_rejected"]) == (2, 1, 1)


def test_csv_row_with_values_only_under_an_unknown_column_is_counted_and_rejected(tmp_path):
    root = write_landing(tmp_path, {"talks": (HEADERS["talks"] + ["备注"], [talk("T1") + ["x"], [""] * 10 + ["孤立的备注"]])})
    result = ingest(root)
    assert reasons_by_row(result) == {("talks.csv", 3): [ORPHAN_PROBLEM, *REQUIRED_TALK]}
    assert report_row(result, "talks.csv")["rows_read"] == 2


def test_truly_blank_rows_stay_uncounted(tmp_path):
    root = write_landing(tmp_path, {"talks": (HEADERS["talks"] + ["备注"], [talk("T1") + ["x"], [""] * 11, [" "] * 11])})
    result = ingest(root)
    assert result.rejected.height == 0 and report_row(result, "talks.csv")["rows_read"] == 1


# --------------------------------------------------------------------------------------------------
# Unreadable landing files: one line naming the file


def test_corrupt_parquet_is_one_line_naming_the_file(tmp_path):
    root = write_landing(tmp_path, skip=("talks",))
    (root / "talks").mkdir()
    (root / "talks" / "2024-01.parquet").write_bytes(b"PAR1 this is not a parquet file PAR1")
    with pytest.raises(FatalError) as err:
        ingest(root)
    msg = str(err.value)
    assert msg.startswith("talks/2024-01.parquet: 无法读取 Parquet 文件") and "\n" not in msg


def test_unreadable_csv_is_one_line_naming_the_file(tmp_path, monkeypatch):
    """A file the operating system will not read (permissions, I/O error): one line naming it."""
    from lianjian.ingest import reader

    root = write_landing(tmp_path)

    def denied(path):
        if path.name == "talks.csv":
            raise PermissionError(13, "Permission denied")
        return real(path)

    real = reader._hash_and_encoding
    monkeypatch.setattr(reader, "_hash_and_encoding", denied)
    with pytest.raises(FatalError) as err:
        ingest(root)
    assert str(err.value) == "talks.csv: 无法读取文件（Permission denied）— 请检查文件权限与磁盘 (unreadable file)"


# --------------------------------------------------------------------------------------------------
# Implausible dates (rules file: plausible_dates)

BOUNDS = DateBounds(dt.date(1950, 1, 1), dt.date(2026, 12, 31))


def case(cid: str, accepted: str, closed: str = "") -> list[str]:
    return [cid, "U1", "public_prosecution", "P3", "否", accepted, closed, "", "", "", "", "", ""]


def test_dates_outside_the_plausible_range_are_rejected_at_both_bounds(tmp_path):
    """Bounds 1950-01-01 … 2026-12-31 inclusive: 1949-12-31 and 2027-01-01 are rejected, the bounds
    themselves accepted; a talk of 1850 and a case of 2031 (the issue's examples) say why."""
    root = write_landing(tmp_path, {
        "talks": rows("talks", talk("T3", date="1850-03-05"), talk("T4", date="1950-01-01"), talk("T5", date="1949-12-31")),
        "cases": rows("cases", case("C2", "2031-01-01"), case("C3", "2026-12-31"), case("C4", "2026-01-05", "2027-01-01")),
    })
    result = ingest_landing(root, BOUNDS)
    assert reasons_by_row(result) == {
        ("talks.csv", 4): ["talk_date: 1850-03-05 is before 1950-01-01, the earliest plausible date"],
        ("talks.csv", 6): ["talk_date: 1949-12-31 is before 1950-01-01, the earliest plausible date"],
        ("cases.csv", 3): ["accepted_date: 2031-01-01 is after 2026-12-31, the latest plausible date"],
        ("cases.csv", 5): ["closed_date: 2027-01-01 is after 2026-12-31, the latest plausible date"],
    }
    assert sorted(result.staged["talks"]["talk_id"].to_list()) == ["T1", "T2", "T4"]
    assert sorted(result.staged["cases"]["case_id"].to_list()) == ["C1", "C3"]


def test_changing_the_bounds_changes_what_is_rejected(tmp_path):
    root = write_landing(tmp_path, {"talks": rows("talks", talk("T3", date="2027-06-01"), talk("T4", date="1999-12-31"))})
    assert set(reasons_by_row(ingest_landing(root, BOUNDS))) == {("talks.csv", 4)}
    later = DateBounds(dt.date(2000, 1, 1), dt.date(2027, 12, 31))  # earliest 2000, one year ahead
    assert set(reasons_by_row(ingest_landing(root, later))) == {("talks.csv", 5)}
    assert reasons_by_row(ingest_landing(root, None)) == {}  # no bounds given: not checked


def test_plausible_dates_setting_is_validated(tmp_path):
    from lianjian.rules_config import load_rules

    text = (Path(__file__).parents[1] / "rules" / "default.yaml").read_text(encoding="utf-8")
    rules = load_rules(_write(tmp_path / "ok.yaml", text))
    assert rules.settings().plausible_dates.earliest == dt.date(1950, 1, 1)
    assert rules.settings().plausible_dates.latest(2026) == dt.date(2026, 12, 31)
    bad = text.replace("earliest: 1950-01-01", "earliest: 2030-01-01")
    with pytest.raises(FatalError, match="plausible_dates: earliest must be between 1900-01-01 and 2000-01-01"):
        load_rules(_write(tmp_path / "late.yaml", bad))
    bad = text.replace("years_ahead: 0", "years_ahead: -1")
    with pytest.raises(FatalError, match="plausible_dates.years_ahead"):
        load_rules(_write(tmp_path / "neg.yaml", bad))
    bad = text.replace("years: {}", "years: {2025: {plausible_dates: {years_ahead: 1}}}")
    with pytest.raises(FatalError, match="years.2025.plausible_dates"):
        load_rules(_write(tmp_path / "per_year.yaml", bad))
    years_ahead = load_rules(_write(tmp_path / "ahead.yaml", text.replace("years_ahead: 0", "years_ahead: 2")))
    assert years_ahead.settings().plausible_dates.latest(2026) == dt.date(2028, 12, 31)


def _write(path, text):
    path.write_text(text, encoding="utf-8")
    return path



def test_corrupt_parquet_through_dagster_exits_2_with_one_line(tmp_path, capsys):
    """`lianjian run` on a landing zone with a corrupt Parquet file: exit 2, the last line names the
    file (it used to be exit 1 with `ComputeError: parquet: File out of specification`)."""
    from lianjian.cli import main

    root = write_landing(tmp_path / "landing", skip=("talks",))
    (root / "talks.parquet").write_bytes(b"PAR1" + b"\x00" * 64 + b"PAR1")
    rules = Path(__file__).parents[1] / "rules" / "default.yaml"
    code = main(["run", "--landing", str(root), "--warehouse", str(tmp_path / "wh"), "--rules", str(rules)])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2
    assert err[-1].startswith("lianjian: talks.parquet: 无法读取 Parquet 文件")
    assert not any("Traceback" in line or "out of specification" in line for line in err)
