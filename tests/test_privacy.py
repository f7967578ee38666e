"""Identity numbers (身份证号) never leave the landing zone, and nothing private is left behind.

- the one detector (lianjian.privacy): every form it must find, what it must leave alone;
- ingest masks every text cell and header as it reads, rejects a row whose key or reference holds
  one, and never writes one to the landing Parquet, the warnings or the rejected rows;
- publishing's ``no_identity_numbers`` check runs before the switch and blocks it;
- temporary files live in ``<warehouse>/.tmp/`` and a killed step's leftovers are removed next time.
(The whole pipeline, modes and a planted-everywhere property: tests/test_privacy_pipeline.py.)
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from pathlib import Path

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from support_ingest import BASE, HEADERS, ID_OK, ID_OK2, ingest, reasons_by_row, rows, write_landing

from lianjian import privacy
from lianjian.errors import FatalError

TESTS = Path(__file__).resolve().parent


def full_width(s: str) -> str:
    return "".join(chr(ord(c) + 0xFEE0) if c.isdigit() or c in "Xx" else c for c in s)


# --------------------------------------------------------------------------------------------------
# The detector


FOUND = [
    ID_OK,  # 18 characters, valid check digit, ending in X
    ID_OK.lower(),  # x in lower case
    ID_OK2,  # all digits
    "110101199003070012",  # invalid check digit: personal data all the same
    "110101900307001",  # the 15-digit first-generation number
    full_width(ID_OK2),  # １１０１０１…
    full_width(ID_OK),  # …Ｘ
    full_width("110101900307001"),
]


@pytest.mark.parametrize("number", FOUND)
@pytest.mark.parametrize("before,after", [("", ""), ("张三ID", ""), ("名字", "号"), ("(", ")"), (" ", "\u3000"), ("a", "b"), ("ID:", ";x")])
def test_detector_finds_every_form_whatever_stands_around_it(number, before, after):
    text = before + number + after
    assert privacy.contains_id_str(text)
    masked = privacy.mask_str(text)
    assert masked == before + number[:4] + "*" * 14 + after  # first 4 characters kept, then 14 *
    assert not privacy.contains_id_str(masked)


@pytest.mark.parametrize(
    "text",
    ["SD-0018", "AJ-SD-2021-00001", "20240305", "2024-03-05", "11010119900307", "C12345678901234", "85.33", "", "张三"],
)
def test_detector_leaves_the_projects_own_values_alone(text):
    """No code, key or date of the project has 15 digits in a row (docs: 14 is the most kept)."""
    assert not privacy.contains_id_str(text) and privacy.mask_str(text) == text


def test_two_numbers_in_one_cell_and_lists_are_masked():
    frame = pl.LazyFrame({"a": [f"{ID_OK},{ID_OK2}", None], "l": [[ID_OK2, "x"], None], "n": [1, 2]})
    out = privacy.mask_frame(frame).collect()
    assert out["a"].to_list() == ["1101" + "*" * 14 + ",1101" + "*" * 14, None]
    assert out["l"].to_list() == [["1101" + "*" * 14, "x"], None]
    assert privacy.id_cell_counts(frame) == {"a": 1, "l": 1}
    assert privacy.id_cell_count(privacy.mask_frame(frame)) == 0


@settings(max_examples=200, deadline=None)
@given(
    digits=st.text(alphabet="0123456789", min_size=17, max_size=17),
    last=st.sampled_from(list("0123456789Xx")),
    old=st.booleans(),
    wide=st.booleans(),
    before=st.text(alphabet="abcXYZ张三（）ID:;,. -\u3000\t", max_size=6),
    after=st.text(alphabet="abcXYZ张三（）ID:;,. -\u3000\t0123456789", max_size=6),
)
def test_no_planted_number_survives_the_mask(digits, last, old, wide, before, after):
    number = digits[:15] if old else digits + last
    number = full_width(number) if wide else number
    masked = privacy.mask_str(before + number + after)
    assert number not in masked and number[4:] not in masked
    # the Python form and the Polars form are the same expression
    assert privacy.mask_strs([before + number + after]) == [masked]


# --------------------------------------------------------------------------------------------------
# Ingest: masked as read


def person(pid="P9", name="新人", idn="", unit="U1", dept="D1", pos="prosecutor"):
    return ["2024", pid, name, idn, unit, dept, pos, "", "是", "active", ""]


def _everything_written(result) -> str:
    """Every text ingest hands on: staged tables, rejected rows (raw and reasons), warnings."""
    parts = [json.dumps(f.cast({c: pl.String for c in f.columns if f.schema[c].is_temporal()}).to_dicts(), ensure_ascii=False, default=str)
             for f in result.staged.values()]
    parts.append(json.dumps(result.rejected.to_dicts(), ensure_ascii=False))
    parts += result.warnings
    return "\n".join(parts)


def test_identity_number_inside_a_name_is_masked_and_the_row_accepted(tmp_path):
    """`张三ID22010119850101040X` as a name (the issue's first finding) and a full-width number."""
    glued, wide = "张三ID22010119850101040X", "名字" + full_width(ID_OK2)
    root = write_landing(tmp_path, {"personnel": rows("personnel", person("P5", glued), person("P6", wide))})
    result = ingest(root)
    names = dict(result.staged["personnel"].select("person_id", "name").iter_rows())
    assert names["P5"] == "张三ID2201" + "*" * 14
    assert names["P6"] == "名字1101" + "*" * 14  # masked as read, then read as half width
    assert result.rejected.height == 0
    text = _everything_written(result)
    assert "22010119850101040X" not in text and full_width(ID_OK2) not in text and ID_OK not in text


def test_identity_number_in_a_key_or_reference_rejects_the_row(tmp_path):
    """Masking a key could make two rows one (`1101**************` twice): the row is rejected
    instead, and its raw row is masked when quarantined."""
    root = write_landing(tmp_path, {
        "personnel": rows("personnel", person(pid=ID_OK2), person(pid="110101199003070029")),
        "talks": rows("talks", ["T9", "2024-05-01", "family", "", "P" + ID_OK2, "", "", "", "是", ""]),
    })
    result = ingest(root)
    got = reasons_by_row(result)
    key = "person_id: holds an identity number (身份证号), masked — a code or 工号 belongs here"
    assert got[("personnel.csv", 6)] == [key] and got[("personnel.csv", 7)] == [key]
    assert got[("talks.csv", 4)][0] == "interviewee_id: holds an identity number (身份证号), masked — a code or 工号 belongs here"
    assert result.staged["personnel"].height == 4  # BASE untouched
    raw = result.rejected.filter(pl.col("file") == "personnel.csv")["raw"].to_list()
    assert all(json.loads(r)["person_id"] == "1101" + "*" * 14 for r in raw)
    assert ID_OK2 not in _everything_written(result)


def test_shifted_row_puts_no_identity_number_into_the_quarantine(tmp_path):
    """An unquoted comma in a name shifts the identity number into unit_code (the issue's case that
    stopped the night): the row is rejected with its reasons, and its raw row is masked already."""
    shifted = ["2024", "P9", "张", "三", ID_OK2, "U1", "D1", "prosecutor", "", "是", "active", "2010-01-01"]
    root = write_landing(tmp_path, {"personnel": rows("personnel", shifted)})
    result = ingest(root)
    reasons = reasons_by_row(result)[("personnel.csv", 6)]
    assert reasons[0] == "row: more fields than the 11 of the header"
    assert ID_OK2 not in _everything_written(result)


def test_unknown_header_holding_an_identity_number_is_masked_in_the_warning(tmp_path):
    header = HEADERS["talks"] + [f"备注{ID_OK}"]
    root = write_landing(tmp_path, {"talks": (header, [r + [f"联系人{ID_OK2}"] for r in BASE["talks"]])})
    result = ingest(root)
    assert [w for w in result.warnings if "未知列" in w] == [f"talks: 未知列「备注1101{'*' * 14}」已忽略 (unknown column ignored)"]
    assert ID_OK not in _everything_written(result)


def test_file_name_holding_an_identity_number_is_fatal_and_masked(tmp_path):
    root = write_landing(tmp_path, skip=("talks",))
    (root / "talks").mkdir()
    (root / "talks" / f"{ID_OK2}.csv").write_text(",".join(HEADERS["talks"]) + "\n", encoding="utf-8")
    with pytest.raises(FatalError) as err:
        ingest(root)
    assert str(err.value).startswith(f"talks/1101{'*' * 14}.csv: 文件名中含有身份证号")
    assert ID_OK2 not in str(err.value)


def test_checked_parts_and_the_file_cache_hold_no_identity_number(tmp_path):
    """Each landing file is read once into checked parts from the masked cells (reader.read_file):
    decode every part, without and with the warehouse's file cache, and read every byte the cache
    holds (parts and entries). Parts 0600 in 0700 folders."""
    from lianjian import privacy
    from lianjian.ingest.cache import FileCache
    from lianjian.ingest.reader import iter_landing

    root = write_landing(tmp_path / "landing", {"personnel": rows("personnel", person("P5", f"王{ID_OK2}"))})
    tmp = tmp_path / "tmp"
    tmp.mkdir()
    wh = tmp_path / "wh"
    for cache in (None, FileCache(wh)):
        for read in iter_landing(root, tmp, [], cache=cache):
            text = json.dumps(read.rows().collect().to_dicts(), ensure_ascii=False, default=str)
            assert ID_OK not in text and ID_OK2 not in text, read.name
            assert f"王{privacy.mask_str(ID_OK2)}" in text or read.name != "personnel"
    parts = list(tmp.rglob("*.parquet"))
    assert parts and {p.stat().st_mode & 0o777 for p in parts} == {0o600}
    cached = [p for p in (wh / ".cache").rglob("*") if p.is_file()]
    assert any(p.suffix == ".parquet" for p in cached) and any(p.suffix == ".json" for p in cached)
    for p in cached:
        raw = p.read_bytes()
        assert ID_OK.encode() not in raw and ID_OK2.encode() not in raw, p
        assert p.stat().st_mode & 0o777 == 0o600, p
    assert {p.stat().st_mode & 0o777 for p in (wh / ".cache").rglob("*") if p.is_dir()} == {0o700}


def _check_digit_by_weights(value: str | None) -> str | None:
    """GB 11643-1999 as written: the 17 digits times their weights, mod 11, the check character."""
    if value is None:
        return None
    v = value.upper()
    if len(v) != 18 or not all(c in "0123456789" for c in v[:17]) or v[17] not in "0123456789X":
        return "must be 18 characters: 17 digits and a check digit (0-9 or X)"
    total = sum(int(c) * w for c, w in zip(v[:17], privacy.ID_WEIGHTS))
    return None if privacy.ID_CHECK[total % 11] == v[17] else "invalid check digit"


@settings(max_examples=300, deadline=None)
@given(
    st.lists(
        st.one_of(
            st.text("0123456789", min_size=17, max_size=17).flatmap(lambda d: st.sampled_from("0123456789Xxｘß").map(lambda c: d + c)),
            st.sampled_from(["99999999999999999", "00000000000000000", "80000000000000000"]).flatmap(lambda d: st.sampled_from("0123456789Xx").map(lambda c: d + c)),
            st.text("0123456789Xx١ß -", max_size=20),
            st.none(),
        ),
        max_size=40,
    )
)
def test_the_check_digit_in_base_13_is_the_weighted_sums(values):
    """``id_number_problem`` reads the 17 digits in base 13 (13 ≡ 2 mod 11, the weights are powers of 2):
    the same reason as the weighted sum of GB 11643 for any text — the largest 17 digits included
    (the base-13 number near Int64's limit), lower-case x, other digit forms and characters whose upper
    case is longer."""
    got = pl.select(privacy.id_number_problem(pl.Series(values, dtype=pl.String))).to_series().to_list() if values else []
    assert got == [_check_digit_by_weights(v) for v in values]


# --------------------------------------------------------------------------------------------------
# Publishing: the check before the switch


@pytest.mark.parametrize("where", ["basis", "rule", "subject_id", "record_ids", "unit_code", None])
@pytest.mark.parametrize("number", [ID_OK, full_width(ID_OK2), "110101900307001"])
def test_the_screened_search_of_a_large_frame_counts_what_the_full_search_counts(where, number):
    """``id_cells`` screens a large frame (``SCREEN_FROM_ROWS`` rows or more): columns too short to
    hold a number are not searched, and the ``few`` columns in their distinct values. A number
    planted in any column — a few-valued one, a list, a column otherwise too short — is counted
    exactly as ``id_cell_count`` counts it, and R8's evidence is masked before it is published."""
    from lianjian.publish.publish import FEW_VALUES, OUTPUTS, _prepared

    n = privacy.SCREEN_FROM_ROWS + 7
    schema = OUTPUTS["assessment_evidence"].schema()
    frame = pl.DataFrame(
        {
            "year": [2024] * n,
            "unit_code": ["SD"] * n,
            "assessment": ["integrity"] * n,
            "subject_kind": ["person"] * n,
            "subject_id": [f"SD-{i:05d}" for i in range(n)],
            "component": ["cases"] * n,
            "value": [1.0] * n,
            "record_ids": [[f"AJ-SD-2024-{i:05d}", "reviews/2024/SD-0001/department"] for i in range(n)],
            "rule": ["R2.cases.unqualified"] * n,
            "basis": [["庆城办法 第十条第8项", "连云港意见 二（四）"][i % 2] for i in range(n)],
        },
        schema=schema,
    )
    if where is not None:
        rows = [3, 11, n - 1]
        planted = pl.Series(range(n)).is_in(rows)
        if where == "record_ids":
            value = pl.when(planted).then(pl.concat_list(pl.col(where), pl.lit(f"x{number}"))).otherwise(pl.col(where))
        else:
            value = pl.when(planted).then(pl.col(where) + pl.lit(number)).otherwise(pl.col(where))
        frame = frame.with_columns(value.alias(where))
    expected = privacy.id_cell_count(frame.lazy())
    assert expected == (0 if where is None else 3)
    assert privacy.id_cells(frame, FEW_VALUES["assessment_evidence"]) == expected
    assert privacy.id_cells(frame) == expected
    rows, found = _prepared("assessment_evidence", frame, ordered=True)
    assert found == 0 and privacy.id_cell_count(rows.lazy()) == 0


def test_no_identity_numbers_blocks_publishing_before_the_switch(tmp_path, monkeypatch):
    """With the masks switched off (a defect that must never ship), the identity number reaches the
    files of the new version: publishing stops before the switch, the previous version stays whole,
    the unfinished version is removed."""
    import lianjian.publish.publish as P
    from support_publish import golden_tables, parquet_bytes, publish_golden

    publish_golden(tmp_path, run_id="old")
    before = parquet_bytes(tmp_path)
    tables = golden_tables()
    tables["integrity_assessment"] = tables["integrity_assessment"].with_columns(pl.lit(f"孙七{ID_OK}").alias("name"))
    monkeypatch.setattr(P, "mask_frame", lambda lf: lf)
    with pytest.raises(P.IdentityNumberFound) as err:
        P.publish_tables(tmp_path, tables, ingest_report=None, run_id="leaky", rules_version="x", rules_sha256="y")
    assert "integrity_assessment 6 处" in str(err.value) and ID_OK not in str(err.value)
    assert parquet_bytes(tmp_path) == before
    assert P.read_manifest(tmp_path)["run_id"] == "old"
    assert (tmp_path / ".versions").is_dir() and not list((tmp_path / ".versions").glob(".tmp-*"))


def test_digests_are_neither_masked_nor_counted(tmp_path):
    """A SHA-256 digest is hex: 64 characters often holding 15 decimal digits in a row (the city-scale
    zone has such a file). It is no personal data: the manifest keeps it whole and publishing goes on."""
    from support_publish import publish_golden

    import lianjian.publish.publish as P

    sha = "123456789012345678" + "ab" * 23
    result = publish_golden(tmp_path, sha=sha)
    assert result.identity_cells["_manifest.json"] == 0
    assert {i["file"]: i["sha256"] for i in P.read_manifest(tmp_path)["inputs"]}["personnel.csv"] == sha


def test_a_code_version_holding_15_digits_is_neither_masked_nor_counted(tmp_path):
    """The manifest's ``code_version`` ends in 16 hex digits of the code's digest, which may hold 15
    decimal digits in a row (this one did, for a real tree): publishing goes on and keeps it whole."""
    from support_publish import RULES_VERSION, golden_leads, golden_tables, ingest_report

    import lianjian.publish.publish as P

    result = P.publish_tables(
        tmp_path, golden_tables(), ingest_report=ingest_report("a" * 64), run_id="r", rules_version=RULES_VERSION,
        rules_sha256="c" * 64, code_version_="0.1.0+src.974728176558762d", restricted={"review_leads": golden_leads(0)},
    )
    assert result.identity_cells["_manifest.json"] == 0
    assert P.read_manifest(tmp_path)["code_version"] == "0.1.0+src.974728176558762d"


def test_publish_reports_the_counts_it_checked(tmp_path):
    from support_publish import publish_golden

    result = publish_golden(tmp_path)
    assert result.identity_cells and set(result.identity_cells.values()) == {0}
    assert {"integrity_assessment", "rejected_records", "_manifest.json"} <= set(result.identity_cells)


# --------------------------------------------------------------------------------------------------
# Temporary files: in the warehouse, removed at the end and after a kill

KILLED = """
import os, signal, sys
from pathlib import Path
from lianjian.files import run_tmpdir
with run_tmpdir(Path(sys.argv[1]), "landing") as tmp:
    (tmp / "decoded.csv").write_text("张三,{idn}\\n", encoding="utf-8")
    print(tmp, flush=True)
    os.kill(os.getpid(), signal.SIGKILL)
"""

HOLDING = """
import sys, time
from pathlib import Path
from lianjian.files import run_tmpdir
with run_tmpdir(Path(sys.argv[1]), "stage") as tmp:
    print(tmp, flush=True)
    sys.stdin.readline()
"""


def test_a_killed_steps_temporary_folder_is_removed_by_the_next_one(tmp_path):
    from lianjian.files import run_tmpdir

    wh = tmp_path / "wh"
    killed = subprocess.run([sys.executable, "-c", KILLED.replace("{idn}", ID_OK), str(wh)], capture_output=True, text=True, cwd=TESTS.parent)
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    left = Path(killed.stdout.strip())
    assert left.parent == wh / ".tmp" and (left / "decoded.csv").is_file()  # what a kill leaves
    assert (wh / ".tmp").stat().st_mode & 0o777 == 0o700 and left.stat().st_mode & 0o777 == 0o700
    # a step still running elsewhere keeps its folder
    live = subprocess.Popen([sys.executable, "-c", HOLDING, str(wh)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, cwd=TESTS.parent)
    try:
        held = Path(live.stdout.readline().strip())
        with run_tmpdir(wh, "landing") as mine:
            assert mine.is_dir()
            assert not left.exists() and not (wh / ".tmp" / f"{left.name}.lock").exists()
            assert held.is_dir()
        assert not mine.exists()  # removed at the end of the step
    finally:
        live.communicate("\n", timeout=60)
    assert sorted(p.name for p in (wh / ".tmp").iterdir()) == []


def test_ingest_steps_write_no_temporary_file_outside_the_warehouse(tmp_path, monkeypatch):
    """The staging step keeps its decoded copies in <warehouse>/.tmp/ and its checked parts in the
    warehouse's file cache, not in $TMPDIR (where a killed run used to leave a decoded copy of the
    personnel file)."""
    import tempfile

    import dagster as dg

    from assets import landing, staged
    from pipelines.resources import local_resources

    system_tmp = tmp_path / "system-tmp"
    system_tmp.mkdir()
    monkeypatch.setenv("TMPDIR", str(system_tmp))
    monkeypatch.setattr(tempfile, "tempdir", None)
    seen: list[Path] = []
    import lianjian.files as files

    real = files.private_mkdir

    def spy(path):
        seen.append(Path(path))
        return real(path)

    monkeypatch.setattr(files, "private_mkdir", spy)
    root = write_landing(tmp_path / "landing")  # personnel in GB18030: decoded into a temporary copy
    (root / "personnel.csv").write_bytes((root / "personnel.csv").read_bytes().decode("utf-8").encode("gb18030"))
    wh = tmp_path / "wh"
    resources = local_resources(root, wh, TESTS.parent / "rules" / "default.yaml")
    assert dg.materialize([*landing.LANDING, staged.staged_assets], resources=resources).success
    assert list(system_tmp.iterdir()) == []
    steps = [p for p in seen if p.parent == wh / ".tmp"]
    assert {p.name.split("-")[0] for p in steps} == {"stage"}
    assert list((wh / ".tmp").iterdir()) == []
