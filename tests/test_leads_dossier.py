"""`lianjian leads` and `lianjian dossier` on the demo run: what they print and write, the permissions
(0600 files, 0700 folders), the access log, and that no lead reaches a file BI users or report readers
can open (published/, a DuckDB database, reports/), and no identity number reaches a dossier."""

from __future__ import annotations

import getpass
import json
import os
import shutil
import stat
import zipfile
from pathlib import Path

import openpyxl
import polars as pl
import pytest
from support_publish import LEAD_MARKERS, find_id_numbers
from test_restricted import assert_no_leads_in_duckdb, bi_readable_text

from lianjian.cli import main
from lianjian.publish.publish import read_published
from lianjian.publish.restricted import read_access_log, read_restricted


def _mode(path: Path) -> int:
    return stat.S_IMODE(os.lstat(path).st_mode)


@pytest.fixture(scope="module")
def wh(demo_run, tmp_path_factory) -> Path:
    """A copy of the demo run's warehouse (links kept), so the shared one is not written to."""
    outcome, source = demo_run
    assert outcome.success
    target = tmp_path_factory.mktemp("leads") / "warehouse"
    shutil.copytree(source, target, symlinks=True)
    return target


def _a_unit_with_leads(wh: Path) -> tuple[str, int, pl.DataFrame]:
    leads = read_restricted(wh, "review_leads").collect()
    counts = leads.group_by("unit_code", "year").len().sort("len", "unit_code", "year", descending=[True, False, False])
    unit, year, _ = counts.row(0)
    return unit, year, leads.filter((pl.col("unit_code") == unit) & (pl.col("year") == year))


def test_leads_prints_every_lead_with_each_reasons_ids_and_logs_the_call(wh, capsys):
    unit, year, expected = _a_unit_with_leads(wh)
    assert expected.height > 0
    before = len(read_access_log(wh))
    assert main(["leads", "--unit", unit, "--year", str(year), "--warehouse", str(wh)]) == 0
    out = capsys.readouterr().out
    assert f"{unit} {year} 年核查线索" in out and f"{expected.height} 人" in out and "不是认定" in out
    for r in expected.iter_rows(named=True):
        assert f"{r['name']}（{r['person_id']}" in out
        for record in r["record_ids"]:  # every id behind the lead is printed under its reason
            assert record in out
    # each reason line names the reason and lists ids of that reason only
    violation_lines = [line for line in out.splitlines() if "（violation）" in line]
    assert all("WJ-" in line and "AJ-" not in line for line in violation_lines)
    log = read_access_log(wh)
    assert len(log) == before + 1
    entry = log[-1]
    assert (entry["command"], entry["unit"], entry["year"], entry["user"]) == ("leads", unit, year, getpass.getuser())
    assert entry["time"].endswith("+08:00")  # Asia/Shanghai
    assert _mode(wh / "restricted" / "access.log") == 0o600 and _mode(wh / "restricted") == 0o700


def test_leads_for_an_unknown_unit_ends_with_one_line(wh, capsys):
    assert main(["leads", "--unit", "NOPE", "--year", "2024", "--warehouse", str(wh)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "单位编码 NOPE" in err[0]


def test_no_lead_in_published_duckdb_or_reports(wh):
    for path, text in bi_readable_text(wh).items():
        for marker in LEAD_MARKERS:
            assert marker not in text, (path, marker)
    assert_no_leads_in_duckdb(wh)
    reports = wh / "reports"
    assert any(reports.rglob("*.html")) and any(reports.rglob("*.xlsx"))
    for p in reports.rglob("*"):
        if p.suffix == ".html":
            text = p.read_text(encoding="utf-8")
        elif p.suffix == ".xlsx":
            with zipfile.ZipFile(p) as z:
                text = "".join(z.read(n).decode("utf-8") for n in z.namelist())
        else:
            continue
        for marker in ("review_leads", "线索核查", "核查线索"):
            assert marker not in text, (p, marker)


def _busy_person(wh: Path) -> str:
    """Someone with a case-quality row and a roster row in two years (a full dossier)."""
    cq = read_published(wh, "case_quality").collect()  # ``year`` from the folder names (hive)
    return cq.group_by("person_id").agg(pl.col("year").n_unique().alias("n")).sort("n", "person_id", descending=[True, False])["person_id"][0]


def test_dossier_writes_a_private_printable_file_and_a_workbook(wh, capsys):
    person = _busy_person(wh)
    before = len(read_access_log(wh))
    assert main(["dossier", "--person", person, "--years", "2024-2025", "--warehouse", str(wh)]) == 0
    out = capsys.readouterr().out
    folder = wh / "restricted" / "dossiers"
    html, xlsx = folder / f"{person}_2024-2025.html", folder / f"{person}_2024-2025.xlsx"
    assert str(html) in out and str(xlsx) in out
    assert _mode(folder) == 0o700 and _mode(html) == 0o600 and _mode(xlsx) == 0o600
    page = html.read_text(encoding="utf-8")
    # A4, page numbers, each year on its own pages with the two signature lines (连云港意见 二（四）)
    assert "size: A4" in page and "counter(page)" in page and "counter(pages)" in page
    assert page.count('class="year"') == 2 and page.count("部门负责人") >= 2 and page.count("分管院领导") == 2
    for heading in ("廉洁从检评估（R2）", "评估构成与证据（R8）", "应接受的廉政谈话及履行情况（R1）", "本年度办理的案件",
                    "违纪违法及处理", "“三个规定”记录报告", "问责触发（R4）"):
        assert heading in page
    ia = read_published(wh, "integrity_assessment").collect()
    row = ia.filter((pl.col("person_id") == person) & (pl.col("year") == 2024)).row(0, named=True)
    assert row["name"] in page and f"{row['review_score']:.2f}" in page
    book = openpyxl.load_workbook(xlsx)
    assert book.sheetnames[0] == "基本信息" and "廉洁从检评估" in book.sheetnames
    log = read_access_log(wh)
    assert len(log) == before + 1 and (log[-1]["command"], log[-1]["person"], log[-1]["years"]) == ("dossier", person, "2024-2025")
    # no lead in a dossier: a lead is not a finding to file
    assert "线索" not in page


def test_no_identity_number_in_a_dossier(wh, demo_landing):
    person = _busy_person(wh)
    assert main(["dossier", "--person", person, "--warehouse", str(wh)]) == 0
    landing = pl.read_csv(demo_landing / "personnel.csv", infer_schema_length=0)
    numbers = {n for n in landing[landing.columns[3]].drop_nulls().to_list() if len(n) == 18}  # 身份证号
    assert numbers, "the demo roster carries identity numbers"
    for path in (wh / "restricted" / "dossiers").iterdir():
        if path.suffix == ".xlsx":
            with zipfile.ZipFile(path) as z:
                text = "".join(z.read(n).decode("utf-8") for n in z.namelist())
        else:
            text = path.read_text(encoding="utf-8")
        assert find_id_numbers(text) == [], path
        assert not any(n in text for n in numbers), path


def test_dossier_of_an_unknown_person_ends_with_one_line_and_is_logged(wh, capsys):
    before = len(read_access_log(wh))
    assert main(["dossier", "--person", "NOBODY", "--warehouse", str(wh)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "工号 NOBODY" in err[0]
    assert json.dumps(read_access_log(wh)[-1], ensure_ascii=False).count("NOBODY") == 1  # the attempt is logged
    assert len(read_access_log(wh)) == before + 1


def test_the_derived_leads_are_private_too(demo_run):
    _, wh = demo_run
    folder = wh / "derived" / "review_leads"
    assert any(folder.glob("*.parquet")) and _mode(folder) == 0o700
