"""The small CSV files of a source that begin with the same line are read in one query
(``reader._read_together``, docs/performance.md "The staging step's small files read together"):
what reading gives — each file's entry, warnings and checked parts, the staged tables, the rejected
rows and the report — is what reading each file on its own gives."""

from __future__ import annotations

import hashlib
from pathlib import Path

import polars as pl
import pytest

from lianjian import privacy
from lianjian.contract import SOURCES
from lianjian.errors import FatalError
from lianjian.ingest import ingest_landing, reader
from support_ingest import HEADERS, ID_OK2, talk, write_landing

HEADER = ",".join(HEADERS["talks"] + ["备注"])  # an unknown column: a warning for every file


def _line(cells: list[str]) -> str:
    return ",".join(cells + ["x"])


def _talks_files(folder: Path) -> dict[str, bytes]:
    """Talks files of every shape reading meets, most of them beginning with one header line."""
    first = "\n".join(
        [
            HEADER,
            _line(talk("T1", "2024-01-05")),
            _line(talk("TX" + ID_OK2, "2024-01-06")),  # an identity number in the key column: rejected
            _line(talk("T2", "2024-01-07", reason="ID" + ID_OK2)),  # in a text cell: masked
            _line(talk("Ｔ３", "２０２４-01-08")),  # full-width forms
            ",,,,,,,,,,",  # a blank row: skipped
            _line(talk("T4", "2024-01-09")) + ",too,many",  # more fields than the header
            "T5,2024-01-10,family",  # fewer fields: required cells missing
            '"T6","2024-01-11",family,,P3,"a reason\nover two lines",,,是,,x',
            "",
        ]
    )
    files = {
        "2024-01.csv": first.encode(),
        "2024-02.csv": (HEADER + "\n").encode(),  # the header alone
        "2024-03.csv": (HEADER + "\n" + _line(talk("T7", "2024-03-01"))).encode(),  # no line end at the end
        "2024-04.csv": (",".join(reversed(HEADER.split(","))) + "\n" + ",".join(reversed(_line(talk("T8")).split(","))) + "\n").encode(),
        "2024-05.csv": (HEADER + "\n" + _line(talk("T1", "2024-05-01")) + "\n").encode(),  # T1 again: a conflict
        "2024-06.csv": (HEADER + "\n" + _line(talk("T9", "2024-06-01")) + "\n\n\n").encode(),
        "2024-07.csv": (HEADER + "\r\n" + _line(talk("T10", "2024-07-01")) + "\r\n").encode(),  # another first line
        "2024-08.csv": b"\xef\xbb\xbf" + (HEADER + "\n" + _line(talk("T11", "2024-08-01")) + "\n").encode(),
        "2024-09.csv": (HEADER + "\n" + _line(talk("T12", "2024-09-01")) + "\n").encode(),
    }
    folder.mkdir(parents=True, exist_ok=True)
    for name, data in files.items():
        (folder / name).write_bytes(data)
    return files


def _parts(read) -> list[tuple[dict, list[str], list[str]]]:
    return [
        (f.entry, f.warnings, [hashlib.sha256(pl.read_parquet(p).write_ipc(None).getvalue()).hexdigest() for p in f.parts])
        for f in read.files
    ]


def _same_as_alone(landing: Path, tmp_path: Path, monkeypatch) -> list[list[str]]:
    """Read talks with the files read together, then each on its own (``TOGETHER_BYTES`` 0): the same
    entries, warnings and parts, and the same staging. Returns the groups read together."""
    groups: list[list[str]] = []
    real = reader._read_together

    def spy(src, files, *args, **kwargs):
        groups.append([p.name for p, _ in files])
        return real(src, files, *args, **kwargs)

    monkeypatch.setattr(reader, "_read_together", spy)
    src = SOURCES["talks"]
    (tmp_path / "a").mkdir()
    warnings_together: list[str] = []
    together = reader.read_source(src, landing, tmp_path / "a", warnings_together)
    staged_together = ingest_landing(landing)
    assert groups
    monkeypatch.setattr(reader, "TOGETHER_BYTES", 0)
    (tmp_path / "b").mkdir()
    warnings_alone: list[str] = []
    alone = reader.read_source(src, landing, tmp_path / "b", warnings_alone)
    staged_alone = ingest_landing(landing)
    assert _parts(together) == _parts(alone)
    assert warnings_together == warnings_alone
    for name in SOURCES:
        assert staged_together.staged[name].equals(staged_alone.staged[name]), name
    assert staged_together.rejected.equals(staged_alone.rejected)
    assert staged_together.report.equals(staged_alone.report)
    assert staged_together.warnings == staged_alone.warnings
    assert ID_OK2 not in str(staged_together.rejected.to_dicts()) + str(staged_together.staged["talks"].to_dicts())
    return groups[: len(groups) // 2]  # ingest_landing read them again


def test_small_files_beginning_with_one_line_are_read_together_as_each_alone(tmp_path, monkeypatch):
    """Files 01–03, 05–06 and 09 begin with the same line: 01–03 are read together, 04 (another
    column order) alone, 05–06 together, 07 (CRLF) and 08 (a byte-order mark) alone — each file's
    entry, warnings and parts, the staged tables, rejected rows (every reason: the identity number,
    the ragged rows, the conflict between 01 and 05) and report are those of reading each alone."""
    landing = write_landing(tmp_path / "landing", skip=("talks",))
    _talks_files(landing / "talks")
    groups = _same_as_alone(landing, tmp_path, monkeypatch)
    assert groups == [["2024-01.csv", "2024-02.csv", "2024-03.csv"], ["2024-05.csv", "2024-06.csv"]]
    rejected = ingest_landing(landing).rejected.filter(pl.col("source") == "talks")
    assert [(f, r, rs[0]) for f, r, rs in rejected.select("file", "row_number", "reasons").iter_rows()] == [
        ("talks/2024-01.csv", 2, "talk_id: conflicting duplicates"),
        ("talks/2024-01.csv", 3, "talk_id: holds an identity number (身份证号), masked — a code or 工号 belongs here"),
        ("talks/2024-01.csv", 4, 'reason: unknown code "ID1101**************"'),
        ("talks/2024-01.csv", 7, "row: more fields than the 11 of the header"),
        ("talks/2024-01.csv", 8, "interviewee_id: required value missing"),
        ("talks/2024-01.csv", 9, 'reason: unknown code "a reason\nover two lines"'),
        ("talks/2024-05.csv", 2, "talk_id: conflicting duplicates"),
    ]


def test_a_file_polars_cannot_parse_sends_its_group_to_be_read_file_by_file(tmp_path, monkeypatch):
    """An unclosed quote in the second file of a group: the group is read file by file, the broken
    file line by line (its odd line rejected, ``row: unclosed quote``), the others as before."""
    landing = write_landing(tmp_path / "landing", skip=("talks",))
    folder = landing / "talks"
    folder.mkdir()
    (folder / "a.csv").write_text(HEADER + "\n" + _line(talk("T1")) + "\n")
    (folder / "b.csv").write_text(HEADER + "\n" + '"T2,2024-05-01,family,,P3,,,,是,,x\n' + _line(talk("T3")) + "\n")
    (folder / "c.csv").write_text(HEADER + "\n" + _line(talk("T4")) + "\n")
    groups = _same_as_alone(landing, tmp_path, monkeypatch)
    assert groups == [["a.csv", "b.csv", "c.csv"]]
    reasons = ingest_landing(landing).rejected.filter(pl.col("file") == "talks/b.csv")["reasons"].to_list()
    assert any("row: unclosed quote" in r for rs in reasons for r in rs)


@pytest.mark.parametrize("name", ["110101199003070011.csv", "ID１１０１０１１９９００３０７００１１.csv", "x/a1101011990030700118.csv"])
def test_a_file_name_holding_an_identity_number_still_ends_the_run(tmp_path, name):
    """The names screened out before the detector hold no identity number: one that holds one, in any
    digits and glued to anything, still ends the run, the name masked."""
    with pytest.raises(FatalError, match="文件名中含有身份证号"):
        reader.check_name(f"talks/{name}")


def test_an_ordinary_file_name_is_not_searched_by_the_detector(monkeypatch):
    """A name without fifteen characters in a row that could be digits is not handed to Polars."""
    asked: list[str] = []
    real = privacy.contains_id_str
    monkeypatch.setattr(privacy, "contains_id_str", lambda v: asked.append(v) or real(v))
    reader.check_name("talks/2024-01.csv")
    reader.check_name("谈话记录/二〇二四年一月.csv")
    assert asked == []
    reader.check_name("talks/人员名单２０２４年第一季度各院汇总.csv")  # fifteen characters that are not ASCII
    assert asked == ["talks/人员名单２０２４年第一季度各院汇总.csv"]


def test_the_parts_of_files_checked_together_are_written_in_one_call_with_each_parts_bytes(tmp_path, monkeypatch):
    """The five talks files checked together have their five parts written by one Polars call
    (``write_parts``), each part the bytes ``write_part`` writes for it alone."""
    landing = tmp_path / "landing"
    for month in range(1, 6):
        body = "\n".join(_line(talk(f"T{month}{i}", f"2024-0{month}-0{i}")) for i in range(1, 4))
        (landing / "talks").mkdir(parents=True, exist_ok=True)
        (landing / "talks" / f"2024-0{month}.csv").write_text(HEADER + "\n" + body + "\n")
    calls: list[int] = []
    real = pl.collect_all
    monkeypatch.setattr(reader.pl, "collect_all", lambda plans, *a, **k: calls.append(len(plans)) or real(plans, *a, **k))
    (tmp_path / "t").mkdir()
    read = reader.read_source(SOURCES["talks"], landing, tmp_path / "t", [], None, None, reader.Budget())
    assert calls == [5]
    for i, f in enumerate(read.files):
        [part] = f.parts
        alone = tmp_path / f"alone-{i}.parquet"
        rows = reader.held_rows(SOURCES["talks"], f.held, f.entry["file"]).collect()
        reader.write_part(rows, alone)
        assert alone.read_bytes() == part.read_bytes()
