"""`lianjian` fails with one actionable line (no traceback) when it cannot run at all; its usage errors
are Chinese first, flags must be written in full, and "not found" is exit 3 in every command."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from lianjian.cli import main

ROOT = Path(__file__).resolve().parents[1]


def test_missing_landing_is_one_line(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    code = main(["run", "--landing", str(tmp_path / "nope"), "--warehouse", str(tmp_path / "wh"), "--rules", str(ROOT / "rules" / "default.yaml")])
    err = capsys.readouterr().err.strip()
    assert code == 2
    assert len(err.splitlines()) == 1
    assert "nope" in err and "--landing" in err


def test_unreadable_rules_is_one_line(tmp_path, capsys):
    (tmp_path / "landing").mkdir()
    bad = tmp_path / "rules.yaml"
    bad.write_text("version: '1'\ngrades: {good: 50, fairly_good: 80, average: 60}\n", encoding="utf-8")
    code = main(["run", "--landing", str(tmp_path / "landing"), "--warehouse", str(tmp_path / "wh"), "--rules", str(bad)])
    err = capsys.readouterr().err.strip()
    assert code == 2 and len(err.splitlines()) == 1
    assert "rules.yaml" in err


def test_unwritable_warehouse_is_one_line(tmp_path, capsys):
    (tmp_path / "landing").mkdir()
    blocker = tmp_path / "file"
    blocker.write_text("x")
    code = main(["run", "--landing", str(tmp_path / "landing"), "--warehouse", str(blocker / "wh"), "--rules", str(ROOT / "rules" / "default.yaml")])
    err = capsys.readouterr().err.strip()
    assert code == 2 and len(err.splitlines()) == 1 and "--warehouse" in err


def test_entry_point_installed():
    exe = Path(sys.executable).with_name("lianjian")
    out = subprocess.run([str(exe), "--help"], capture_output=True, text=True, env={**os.environ})
    assert out.returncode == 0
    for cmd in ("run", "demo", "generate", "explain"):
        assert cmd in out.stdout


def test_missing_required_column_through_dagster_ends_with_one_line(demo_landing, tmp_path, capsys):
    """A required column missing from a landing file stops `lianjian run` (exit 2) with a last line
    naming the file and the column, and no traceback."""
    import shutil

    import polars as pl

    landing = tmp_path / "landing"
    shutil.copytree(demo_landing, landing)
    cases = pl.read_csv(landing / "cases.csv", infer_schema=False)
    cases.drop("accepted_date").write_csv(landing / "cases.csv")
    code = main(["run", "--landing", str(landing), "--warehouse", str(tmp_path / "wh"), "--rules", str(ROOT / "rules" / "default.yaml")])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2
    assert "cases.csv" in err[-1] and "accepted_date" in err[-1]
    assert not any("Traceback" in line for line in err)


# --- Chinese-first errors, full flags, one exit status per meaning -----------------------------------


def _usage_error(argv, capsys) -> tuple[int, list[str]]:
    code = main(argv)
    return code, capsys.readouterr().err.strip().splitlines()


@pytest.mark.parametrize(
    "argv, words",
    [
        ([], "缺少必需的参数：命令"),
        (["nope"], "参数 命令：'nope' 不是可选值"),
        (["report", "--unit", "X"], "缺少必需的参数：--year"),
        (["explain", "--person", "P1", "--year", "二〇二四"], "参数 --year：'二〇二四' 不是整数"),
        (["explain", "--person", "P1", "--unit", "U1", "--year", "2024"], "参数 --unit 不能与 --person 同时使用"),
        (["generate", "--out", "x", "--scale", "big"], "参数 --scale：'big' 不是可选值"),
        (["run", "--years"], "参数 --years 后面需要一个值"),
        (["run", "--landing", "x", "--bogus"], "无法识别的参数：--bogus"),
    ],
)
def test_usage_errors_are_chinese_first(argv, words, capsys):
    """argparse's errors come out as the usage line (用法：…) and one line: 错误：Chinese, then the
    English original in parentheses; exit 2."""
    code, err = _usage_error(argv, capsys)
    assert code == 2
    assert err[0].startswith("用法：lianjian")
    last = err[-1]
    assert ": 错误：" in last and words in last, last
    assert last.index("错误") < min(i for i, ch in enumerate(last) if ch.isascii() and ch.isalpha() and i > last.index("错误"))


def test_flags_are_not_accepted_by_prefix(tmp_path, capsys):
    """`--landin` is not `--landing` (allow_abbrev=False), in every command."""
    code, err = _usage_error(["run", "--landin", str(tmp_path)], capsys)
    assert code == 2 and "无法识别的参数：--landin" in err[-1]
    code, err = _usage_error(["report", "--uni", "X", "--year", "2024"], capsys)
    assert code == 2 and "--uni" in err[-1]
    code, err = _usage_error(["generate", "--ou", str(tmp_path)], capsys)
    assert code == 2 and "--ou" in err[-1]


def test_help_is_chinese_first(capsys):
    assert main(["report", "--help"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("用法：lianjian report") and "选项 options:" in out and "显示本帮助并退出" in out


def test_a_file_given_as_a_folder_says_it_is_a_file(tmp_path, capsys):
    """`--landing FILE` (and --warehouse, --out) say "this is a file, not a folder", not "missing"."""
    f = tmp_path / "personnel.csv"
    f.write_text("year\n", encoding="utf-8")
    rules = str(ROOT / "rules" / "default.yaml")
    for argv, flag in (
        (["run", "--landing", str(f), "--warehouse", str(tmp_path / "wh"), "--rules", rules], "--landing"),
        (["run", "--landing", str(tmp_path), "--warehouse", str(f), "--rules", rules], "--warehouse"),
        (["demo", "--landing", str(f), "--warehouse", str(tmp_path / "wh")], "--landing"),
        (["generate", "--out", str(f)], "--out"),
        (["report", "--unit", "U", "--year", "2024", "--warehouse", str(f)], "--warehouse"),
        (["explain", "--unit", "U", "--year", "2024", "--warehouse", str(f)], "--warehouse"),
    ):
        code = main(argv)
        err = capsys.readouterr().err.strip().splitlines()
        assert code == 2 and len(err) == 1, (argv, err)
        assert str(f) in err[0] and "这是一个文件，不是目录" in err[0] and flag in err[0] and "不存在" not in err[0]


def test_not_found_is_exit_3_in_every_command(tmp_path, capsys, monkeypatch):
    """One exit status for "not found": explain (person, unit, year, nothing published), report (unit,
    year, nothing published) and lineage (table, column) all end with 3 and one Chinese line."""
    from support_report import make_warehouse

    wh = make_warehouse(tmp_path / "r", data_docs=False)
    empty = tmp_path / "empty"
    cases = [
        ["report", "--unit", "NOPE", "--year", "2024", "--warehouse", str(wh)],
        ["report", "--unit", "CTY1", "--year", "1999", "--warehouse", str(wh)],
        ["report", "--unit", "CTY1", "--year", "2024", "--warehouse", str(empty)],
        ["explain", "--unit", "NOPE", "--year", "2024", "--warehouse", str(wh)],
        ["explain", "--person", "p1", "--year", "1999", "--warehouse", str(wh)],
        ["explain", "--person", "p1", "--year", "2024", "--warehouse", str(empty)],
        ["lineage", "no_such_table"],
        ["lineage", "integrity_assessment.no_such_column"],
    ]
    for argv in cases:
        code = main(argv)
        err = capsys.readouterr().err.strip().splitlines()
        assert code == 3, (argv, code, err)
        assert len(err) == 1 and "— 请" in err[0], (argv, err)  # one Chinese line saying what to do
