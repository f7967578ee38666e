"""Saying what happened (docs/operations.md): a failed run says first that it failed and which published
version stays live, and never shows its own counts next to that version's; a disk that fills while
the yearly reports are written, after the new version is live, ends with exit 1 saying the data was
published and the reports were not, and the next run writes them; reports follow the published
version."""

from __future__ import annotations

import errno
import hashlib
import json
import os
import shutil
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import polars as pl
import pytest
from support_ingest import BASE, rows, talk, write_landing
from support_report import UNITS, make_warehouse, tree_bytes

from lianjian.cli import main
from lianjian.contract import SOURCES
from lianjian.errors import ReportsNotWritten
from lianjian.publish.publish import read_manifest
from lianjian.report import DIGESTS, write_reports
from lianjian.report import xlsx as xlsx_module

ROOT = Path(__file__).resolve().parents[1]
RULES = ROOT / "rules" / "default.yaml"


def _run(landing: Path, warehouse: Path, capsys) -> tuple[int, list[str], list[str]]:
    code = main(["run", "--landing", str(landing), "--warehouse", str(warehouse), "--rules", str(RULES)])
    cap = capsys.readouterr()
    return code, [line for line in cap.out.splitlines() if line.strip()], cap.err.strip().splitlines()


def _two_secretaries_and_bad_talks(root: Path) -> Path:
    """BASE with a second party secretary in U1 2024 (a blocking check) and two talks rejected."""
    personnel = [list(r) for r in BASE["personnel"]]
    personnel[1][7] = "是"
    return write_landing(root, {"personnel": personnel, "talks": rows("talks", talk("T3", date="2024-13-40"), talk("T4", date="x"))})


def test_a_failed_run_says_which_version_stays_live_and_shows_only_its_numbers(tmp_path, capsys):
    """Run 1 publishes BASE (11 rows read, 0 rejected). Run 2 reads 13 rows, rejects 2 and fails a
    blocking check: it must say first that it failed and that run 1's version (its run id and
    time, from the live manifest) stays live; the counts shown are run 1's (0 rejected, as in the
    live rejected_records), never run 2's 2 rejected."""
    warehouse = tmp_path / "wh"
    code, out, _ = _run(write_landing(tmp_path / "good"), warehouse, capsys)
    assert code == 0 and out[0].startswith("廉检运行完成") and "已发布新版本" in out[0]
    live = read_manifest(warehouse)

    code, out, err = _run(_two_secretaries_and_bad_talks(tmp_path / "bad"), warehouse, capsys)
    assert code == 1
    assert out[0].startswith("廉检运行失败") and "未发布" in out[0]
    assert read_manifest(warehouse)["run_id"] == live["run_id"]  # nothing published
    stays = next(i for i, line in enumerate(out) if "仍在使用的发布版本" in line)
    assert f"run {live['run_id'][:8]}" in out[stays]
    shown = datetime.fromisoformat(live["time"]).astimezone(ZoneInfo("Asia/Shanghai")).strftime("%Y-%m-%d %H:%M:%S")
    assert f"发布于 {shown}（北京时间）" in out[stays]
    counts = [line for line in out if "读取" in line and "拒收" in line]
    assert counts == ["  读取 11 行，拒收 0 行，重复 0 行（拒收明细见 published/rejected_records）"]
    assert all(stays < out.index(line) for line in counts)  # after the line saying whose numbers they are
    assert "拒收 2" not in "\n".join(out)
    live_rejected = pl.read_parquet(warehouse / "published" / "rejected_records" / "part-0.parquet").height
    assert live_rejected == 0
    checks = [line for line in out if "本次运行未通过的检查" in line]
    assert any("one_party_secretary_per_unit_year" in line for line in checks)
    assert all(out.index(line) < stays for line in checks)  # this run's checks come before the old version's numbers
    assert "one_party_secretary_per_unit_year" in err[-1]


def test_a_failed_first_run_says_nothing_is_published(tmp_path, capsys):
    code, out, _ = _run(_two_secretaries_and_bad_talks(tmp_path / "bad"), tmp_path / "wh", capsys)
    assert code == 1
    assert out[0].startswith("廉检运行失败") and any(line.strip().startswith("尚无发布版本") for line in out)
    assert not any("拒收" in line for line in out)


def _fill_disk_after(monkeypatch, files_ok: int) -> list[str]:
    """The report writer's file write (``write_private`` in lianjian/report/xlsx.py ``write_bytes``,
    which writes every page, workbook and digest): ``files_ok`` files are written, then the disk is
    full — half of the next file lands, then ENOSPC."""
    opened: list[str] = []
    real = xlsx_module.write_private

    def full_disk(path, data):
        opened.append(str(path))
        if len(opened) > files_ok:
            real(path, data[: len(data) // 2])
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        return real(path, data)

    monkeypatch.setattr(xlsx_module, "write_private", full_disk)
    return opened


def _report_files(warehouse: Path) -> dict[str, bytes]:
    root = warehouse / "reports"
    return {k: v for k, v in tree_bytes(root).items() if k[:4].isdigit() and not k.endswith(DIGESTS)}


def _changed_landing(root: Path) -> Path:
    """BASE with a review for P3 and one more talk: other grades, so every report changes."""
    return write_landing(
        root,
        {
            "reviews": [["2024", "P3", "department", "P2", "95", "是", "是"], ["2024", "P3", "self", "P3", "91", "", ""]],
            "talks": rows("talks", talk("T5", interviewee="P4")),
        },
    )


def test_disk_full_while_writing_reports_after_publishing(tmp_path, capsys, monkeypatch):
    """Run 1 publishes and writes every report. Run 2 (other data) publishes, then the disk fills
    after one report file: exit 1; the last line says the new data IS published (its run id) and
    the reports are NOT, and where; no temporary file is left. Run 3 (same data, disk free again)
    writes the missing reports: afterwards they are the reports of a clean run of the same landing
    zone on a fresh warehouse (same files, same recorded content digests and sizes)."""
    warehouse = tmp_path / "wh"
    assert _run(write_landing(tmp_path / "first"), warehouse, capsys)[0] == 0
    before = _report_files(warehouse)
    assert before

    landing = _changed_landing(tmp_path / "second")
    opened = _fill_disk_after(monkeypatch, files_ok=1)
    code, out, err = _run(landing, warehouse, capsys)
    monkeypatch.undo()
    assert code == 1 and len(opened) == 2
    live = read_manifest(warehouse)
    want = {hashlib.sha256(p.read_bytes()).hexdigest() for p in landing.rglob("*.csv")}
    assert {i["sha256"] for i in live["inputs"]} == want  # the new version is live
    last = err[-1]
    assert "新版本数据已发布" in last and f"run {live['run_id'][:8]}" in last
    assert "年度报告未写完" in last and "磁盘空间不足" in last and str(warehouse / "reports") in last
    assert out[0].startswith("廉检运行失败") and "数据已发布" in out[0] and "年度报告未写完" in out[0]
    assert any("输入未变，沿用上次的结果" in line for line in err)  # the results that read no changed source were kept
    assert any("年度报告：未写完" in line for line in out)
    assert not [p for p in (warehouse / "reports").rglob("*") if ".tmp-" in p.name]
    stale = _report_files(warehouse)
    assert any(stale.get(k) == v for k, v in before.items())  # old reports still there: they must be redone

    code, out, err = _run(landing, warehouse, capsys)
    assert code == 0, err[-3:]
    clean = tmp_path / "clean"
    assert _run(landing, clean, capsys)[0] == 0
    # the same files, showing the same content: the digests record every value shown and each file's
    # size (the bytes differ only by the 生成于 date when the two runs straddle midnight)
    assert sorted(_report_files(warehouse)) == sorted(_report_files(clean))
    for year in {k.split("/")[0] for k in _report_files(clean)}:
        got, want = (json.loads((w / "reports" / year / DIGESTS).read_text(encoding="utf-8")) for w in (warehouse, clean))
        assert got == want and got


def test_disk_full_in_write_reports_names_the_folder_and_leaves_no_temporary_file(tmp_path, monkeypatch):
    wh = make_warehouse(tmp_path)
    _fill_disk_after(monkeypatch, files_ok=3)
    with pytest.raises(ReportsNotWritten) as err:
        write_reports(wh, workers=1)
    msg = str(err.value)
    assert "\n" not in msg and "磁盘空间不足" in msg and str(wh / "reports") in msg
    monkeypatch.undo()
    assert not [p for p in (wh / "reports").rglob("*") if ".tmp-" in p.name]
    again = write_reports(wh, workers=1)  # nothing was recorded: every report built again
    assert len(again) == 18 and len([w for w in again if w.fresh]) >= 18 - 2  # the first whole files kept
    clean = make_warehouse(tmp_path / "clean")
    write_reports(clean, workers=1)
    assert _report_files(wh) == _report_files(clean)


def test_a_cut_short_or_missing_report_file_is_written_again(tmp_path):
    """The digest records each file's size: a page truncated (a crash after the rename, before the
    data reached the disk) or a workbook deleted is written again; a temporary file left by a dead
    writer is removed; the others are kept."""
    wh = make_warehouse(tmp_path)
    first = {(w.report_key, w.year): w for w in write_reports(wh)}
    page = first[("CTY1", 2024)].html
    good = page.read_bytes()
    page.write_bytes(good[: len(good) // 3])
    first[("CITY.rollup", 2023)].xlsx.unlink()
    leftover = page.with_name(f".CTY1.xlsx.tmp-{2**22 + 12345}")  # above pid_max's default: never running
    leftover.write_bytes(b"half")
    again = write_reports(wh)
    assert sorted((w.report_key, w.year) for w in again if w.fresh) == [("CITY.rollup", 2023), ("CTY1", 2024)]
    assert page.read_bytes() == good and not leftover.exists()


def test_reports_follow_the_published_version(tmp_path):
    """A year no longer published and a unit no longer in the unit tree lose their reports (page,
    workbook, roll-up, digest); the index lists only what is there; data_docs/ is untouched."""
    wh = make_warehouse(tmp_path)
    write_reports(wh)
    reports = wh / "reports"
    assert (reports / "2022" / "CTY2.html").is_file() and (reports / "2024" / "CTY2.xlsx").is_file()
    docs = tree_bytes(reports / "data_docs")

    for table in (wh / "published").iterdir():  # 2022 is no longer published
        if (table / "year=2022").is_dir():
            shutil.rmtree(table / "year=2022")
    units = [u for u in UNITS if u["unit_code"] != "CTY2"]  # CTY2 merged away
    SOURCES["units"].staged_frame(units).write_parquet(wh / "staged" / "units.parquet")

    written = write_reports(wh)
    assert {w.year for w in written} == {2023, 2024} and "CTY2" not in {w.report_key for w in written}
    assert not (reports / "2022").exists()
    left = sorted(p.relative_to(reports).as_posix() for p in reports.rglob("*") if p.is_file() and "data_docs" not in p.parts)
    expected = sorted(
        [f"{y}/{k}.{ext}" for y in (2023, 2024) for k in ("PRV", "CITY", "CTY1", "PRV.rollup", "CITY.rollup") for ext in ("html", "xlsx")]
        + [f"{y}/{DIGESTS}" for y in (2023, 2024)]
        + ["index.html"]
    )
    assert left == expected
    for y in (2023, 2024):
        assert "CTY2" not in json.loads((reports / str(y) / DIGESTS).read_text(encoding="utf-8"))
    index = (reports / "index.html").read_text(encoding="utf-8")
    assert "2022/" not in index and "CTY2" not in index and "2024/CTY1.html" in index
    assert tree_bytes(reports / "data_docs") == docs


def test_a_single_report_leaves_the_others_alone(tmp_path):
    """`lianjian report --unit … --year …` (report_keys given) removes nothing."""
    wh = make_warehouse(tmp_path)
    write_reports(wh)
    before = sorted(p.name for p in (wh / "reports" / "2024").iterdir())
    write_reports(wh, report_keys=["CTY1"], years=[2024], index=False, force=True)
    assert sorted(p.name for p in (wh / "reports" / "2024").iterdir()) == before
