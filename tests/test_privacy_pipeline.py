"""The privacy promise and "one bad row never stops the night", end to end through Dagster
(lianjian.runner.run_pipeline, runs recorded in a DAGSTER_HOME of their own):

- identity numbers planted in random forms into random text cells and headers of every source are
  found in no file under the warehouse, in nothing the run printed, and nowhere in the Dagster
  instance (event log, compute logs) — a hypothesis property;
- a night with a shifted personnel row, implausible dates, a retired secretary still flagged and a
  supervisor from another unit publishes (each bad row rejected with its reason);
- everything written outside ``published/`` is 0600 / 0700 — but the warehouse folder itself and the
  SQL tools' ``lianjian.duckdb`` — and ``published/`` 0644 / 0755, whatever the umask of the process;
  the warehouse's temporary folder is empty at the end.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from support_ingest import ID_OK, ID_OK2
from support_privacy import ZONE, full_width, header, leaks, write_source

from lianjian.contract import SOURCES

RULES = Path(__file__).resolve().parents[1] / "rules" / "default.yaml"
_ENV = ("LIANJIAN_LANDING", "LIANJIAN_WAREHOUSE", "LIANJIAN_RULES", "DAGSTER_HOME")


def run(landing: Path, warehouse: Path, dagster_home: Path, *, progress: bool = True):
    """One run through Dagster, recorded in ``dagster_home``; the environment is restored after."""
    from lianjian.runner import run_pipeline

    saved = {k: os.environ.get(k) for k in _ENV}
    dagster_home.mkdir(parents=True, exist_ok=True)
    os.environ["DAGSTER_HOME"] = str(dagster_home)
    try:
        return run_pipeline(landing, warehouse, RULES, progress=progress)
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


# --------------------------------------------------------------------------------------------------
# One bad night: it publishes


def person(pid, name, unit="U1", dept="D1", pos="prosecutor", sec="", status="active", hire=""):
    return ["2024", pid, name, "", unit, dept, pos, sec, "是", status, hire]


@pytest.fixture(scope="module")
def bad_night(tmp_path_factory):
    """A zone with the rows that used to stop the night, run under umask 000 (every mode must be set
    by the code itself)."""
    base = tmp_path_factory.mktemp("bad_night")
    landing = base / "landing"
    landing.mkdir()
    zone = {k: [list(r) for r in v] for k, v in ZONE.items()}
    zone["personnel"] += [
        # an unquoted comma in the name shifts the identity number into unit_code
        ["2024", "P7", "张", "三", ID_OK2, "U1", "D1", "prosecutor", "", "是", "active", "2010-01-01"],
        person("P8", "周退", sec="是", status="retired"),  # retired, still flagged 党组书记 in U1 (P1 is)
        person("P9", "吴副", unit="U2", dept="", pos="deputy_chief"),  # a leadership member of U2
        person("P10", f"郑十ID{ID_OK}"),  # an identity number glued to a name
    ]
    zone["departments"].append(["2024", "U1", "D3", "三部", "P4", "P9", "", ""])  # supervisor from U2
    zone["talks"].append(["T8", "1850-03-05", "family", "", "P3", "", "", "", "是", "是"])
    zone["cases"].append(["C8", "U1", "other", "P3", "否", "2031-01-01", "", "", "", "", "", "", ""])
    for src, rows in zone.items():
        write_source(landing, src, header(src), rows, "csv")
    saved = os.umask(0)
    try:
        outcome = run(landing, base / "wh", base / "dagster_home", progress=False)
    finally:
        os.umask(saved)
    return outcome, base / "wh"


def test_a_bad_night_still_publishes_with_every_bad_row_rejected(bad_night):
    outcome, wh = bad_night
    assert outcome.success, (outcome.failure, outcome.failed_checks)
    rejected = pl.read_parquet(wh / "published" / "rejected_records" / "**" / "*.parquet")
    reasons = {(r["file"], r["row_number"]): r["reasons"] for r in rejected.to_dicts()}
    assert reasons[("personnel.csv", 6)][0] == "row: more fields than the 11 of the header"
    assert reasons[("talks.csv", 4)] == ["talk_date: 1850-03-05 is before 1950-01-01, the earliest plausible date"]
    assert reasons[("cases.csv", 3)][0].startswith("accepted_date: 2031-01-01 is after ")
    assert ID_OK2 not in json.dumps(rejected.to_dicts(), ensure_ascii=False)
    # the retired secretary and the supervisor from another unit stop nothing; both are staged
    staged = pl.read_parquet(wh / "staged" / "personnel.parquet")
    assert {"P8", "P9", "P10"} <= set(staged["person_id"].to_list())
    assert staged.filter(pl.col("person_id") == "P10")["name"].to_list() == ["郑十ID1101" + "*" * 14]
    assert "D3" in pl.read_parquet(wh / "staged" / "departments.parquet")["dept_code"].to_list()
    failed = {c["name"]: c["severity"] for c in outcome.failed_checks}
    assert "one_party_secretary_per_unit_year" not in failed and "supervisors_are_leadership" not in failed
    assert "rejected_records_without_id_numbers" not in failed


def _wanted_mode(rel: str, is_dir: bool) -> int:
    """The mode the layout promises (docs/operations.md): the warehouse and the published part of each
    version readable by BI tools, and the SQL tools' lianjian.duckdb; everything else — the layers,
    the temporary folder, the restricted part of each version, ``restricted/``, the locks — private."""
    parts = rel.split("/")
    if rel == ".":
        return 0o755  # BI tools reach published/ through it
    if rel == "lianjian.duckdb":
        return 0o644  # views over published/ for SQL tools (docs/bi.md)
    if parts[0] == ".versions" and rel != ".versions/.lock":
        if len(parts) <= 2 or parts[2] == "published":  # .versions, .versions/v…, .versions/v…/published/…
            return 0o755 if is_dir else 0o644
    return 0o700 if is_dir else 0o600


def test_modes_private_outside_published_and_readable_inside(bad_night):
    _, wh = bad_night
    wrong = []
    for p in [wh, *wh.rglob("*")]:
        if p.is_symlink():
            continue
        mode = p.stat().st_mode & 0o777
        rel = p.relative_to(wh).as_posix() if p != wh else "."
        want = _wanted_mode(rel, p.is_dir())
        if mode != want:
            wrong.append((rel, oct(mode), oct(want)))
    assert wrong == []
    layers = {p.name for p in wh.iterdir()}
    assert {".cache", "staged", "derived", "assessed", "reports", ".tmp", ".versions", "restricted", "lianjian.duckdb"} <= layers
    assert "landing" not in layers  # the landing files are read where they are, not copied
    # what was checked: a version with both parts, reached through the links
    version = (wh / ".current").resolve()
    assert version.parent == wh / ".versions" and any((version / "restricted" / "review_leads").rglob("*.parquet"))
    assert (wh / "published").resolve() == version / "published" and (wh / "restricted").is_dir()
    assert (wh / "restricted" / "review_leads").resolve() == version / "restricted" / "review_leads"


def test_the_temporary_folder_is_empty_after_the_run(bad_night):
    _, wh = bad_night
    assert list((wh / ".tmp").iterdir()) == []


def test_published_files_stay_readable_under_a_strict_umask(tmp_path):
    from support_publish import publish_golden

    saved = os.umask(0o077)
    try:
        publish_golden(tmp_path)
    finally:
        os.umask(saved)
    published = (tmp_path / "published").resolve()
    assert published.parent.parent == tmp_path / ".versions"
    assert {p.stat().st_mode & 0o777 for p in published.rglob("*") if p.is_file()} == {0o644}
    assert {p.stat().st_mode & 0o777 for p in [published, *published.rglob("*")] if p.is_dir()} == {0o755}
    # the folders BI tools pass through on the way: .versions/ and the version folder
    assert {(tmp_path / ".versions").stat().st_mode & 0o777, published.parent.stat().st_mode & 0o777} == {0o755}


# --------------------------------------------------------------------------------------------------
# The property: planted anywhere, found nowhere

SURROUND = st.text(alphabet="abcIDxyz张三号码（）()[]:;,.!?-_/ \u3000", max_size=4)
FORMS = ("ascii18", "ascii18_lower_x", "invalid18", "old15", "wide18", "wide15")


def identity_number(form: str, seed: int) -> str:
    """A number of the given form, its digits from ``seed`` (never degenerate: first digit 1-9)."""
    import random

    rnd = random.Random(seed)
    first17 = str(rnd.randint(1, 9)) + "".join(rnd.choice("0123456789") for _ in range(16))
    check = "10X98765432"[sum(int(c) * (2 ** (17 - i) % 11) for i, c in enumerate(first17)) % 11]
    n = {
        "ascii18": first17 + check,
        "ascii18_lower_x": first17 + "x",
        "invalid18": first17 + (str((int(check) + 1) % 10) if check.isdigit() else "0"),
        "old15": first17[:15],
        "wide18": full_width(first17 + check),
        "wide15": full_width(first17[:15]),
    }[form]
    return n


@st.composite
def plantings(draw):
    """Per source: a file format, one cell (row, column) and one extra header, each with a number."""
    out = {}
    for i, (src, rows) in enumerate(ZONE.items()):
        width = len(header(src))
        out[src] = {
            "format": draw(st.sampled_from(["csv", "gb18030", "xlsx"])),
            "row": draw(st.integers(0, len(rows) - 1)),
            "col": draw(st.integers(0, width - 1)),
            "glue": draw(st.booleans()),
            "cell": (draw(SURROUND), draw(st.sampled_from(FORMS)), draw(st.integers(0, 2**32)), draw(SURROUND)),
            "head": (draw(SURROUND), draw(st.sampled_from(FORMS)), draw(st.integers(0, 2**32)), draw(SURROUND)),
        }
    return out


@settings(max_examples=5, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(plan=plantings())
def test_identity_numbers_planted_anywhere_are_found_nowhere(plan, tmp_path, capfd):
    base = Path(tempfile.mkdtemp(dir=tmp_path))
    landing = base / "landing"
    landing.mkdir()
    planted = []
    for src, p in plan.items():
        before, form, seed, after = p["cell"]
        number = identity_number(form, seed)
        planted.append(number)
        rows = [list(r) for r in ZONE[src]]
        old = rows[p["row"]][p["col"]]
        rows[p["row"]][p["col"]] = (old if p["glue"] else "") + before + number + after
        hb, hform, hseed, ha = p["head"]
        in_header = identity_number(hform, hseed)
        planted.append(in_header)
        # an unknown column whose header holds a number, its cells holding the cell's number again
        head = header(src) + [f"备注{hb}{in_header}{ha}"]
        write_source(landing, src, head, [r + [f"联系{number}"] for r in rows], p["format"])
    # the scanner itself finds every planted number where it was planted
    assert {n for _, n in leaks(planted, landing)} == set(planted)
    capfd.readouterr()
    outcome = run(landing, base / "wh", base / "dagster_home")
    out, err = capfd.readouterr()
    found = leaks(planted, base / "wh", base / "dagster_home", texts=(out, err, str(outcome.failure), repr(outcome.failed_checks)))
    assert found == [], found[:5]
    # the run got to its end one way or the other (a planted key can empty a required source)
    assert outcome.run_ids
    assert set(SOURCES) == set(plan)
