"""The contract declaration matches CONTRACT.md and is self-consistent."""

import re
from pathlib import Path

import pytest

from lianjian.contract import ENUMS, PUBLISHED, SOURCES

CONTRACT = Path(__file__).resolve().parents[2] / "shared" / "spec" / "CONTRACT.md"


def contract_tables() -> dict[str, list[tuple[str, str]]]:
    """(column, 中文表头) per source, read from CONTRACT.md §2."""
    text = CONTRACT.read_text(encoding="utf-8")
    out, current = {}, None
    for line in text.splitlines():
        m = re.match(r"### (\w+) — ", line)
        if m:
            current = m.group(1)
            out[current] = []
            continue
        if current and line.startswith("| ") and not line.startswith("| column") and not line.startswith("|---"):
            cells = [c.strip() for c in line.strip("|").split("|")]
            out[current].append((cells[0], cells[1]))
        if line.startswith("## 3."):
            break
    return out


@pytest.mark.skipif(not CONTRACT.exists(), reason="shared spec not beside the checkout")
def test_sources_match_contract_md():
    tables = contract_tables()
    assert set(tables) == set(SOURCES)
    for name, cols in tables.items():
        assert [(c.name, c.zh) for c in SOURCES[name].columns] == cols, name


@pytest.mark.skipif(not CONTRACT.exists(), reason="shared spec not beside the checkout")
def test_published_tables_cover_contract_md():
    text = CONTRACT.read_text(encoding="utf-8").split("Published tables")[1]
    for line in text.splitlines():
        m = re.match(r"\| (\w+) \| [^|]+ \| ([^|]+) \|", line)
        if not m or m.group(1) == "table":
            continue
        # "…, parent_code, and the path of names from the province down": the words after ", and " are prose
        table, cols = m.group(1), re.sub(r"\([^)]*\)", "", m.group(2)).split(", and ")[0]
        assert table in PUBLISHED, table
        for col in re.findall(r"(?:^|, )([a-z_]+)", cols):
            assert col in PUBLISHED[table].column_names, f"{table}.{col}"


def test_keys_and_references_exist():
    for s in SOURCES.values():
        assert set(s.key) <= set(s.column_names)
        assert len(set(s.column_names)) == len(s.column_names)
        for c in s.columns:
            if c.ref:
                src, col = c.ref.split(".")
                assert col in SOURCES[src].column_names, f"{s.name}.{c.name} -> {c.ref}"
            if c.enum is not None:
                assert c.enum.codes


def test_enum_spellings_are_the_declared_codes_and_labels():
    """The contract declares simplified labels only (traditional variants are read by converting what
    is read: tests/test_ingest_traditional.py)."""
    grade = ENUMS["grade"].spellings()
    assert grade["较差"] == "poor" and grade["poor"] == "poor" and "較差" not in grade
    rating = ENUMS["quality_rating"].spellings()
    assert rating["基本合格"] == "flawed" and rating["瑕疵"] == "flawed"
    aliases = SOURCES["personnel"].header_aliases()
    assert aliases["单位编码"] == "unit_code" and aliases["工号"] == "person_id" and aliases["unit_code"] == "unit_code"


def test_personal_columns_never_staged():
    assert "id_number" not in SOURCES["personnel"].staged_schema()
    for t in PUBLISHED.values():
        assert "id_number" not in t.column_names


def test_every_dated_source_says_which_unit_a_row_belongs_to():
    """A row with a year belongs to a unit: its own unit_code, or the unit that year of the person in
    ``unit_via`` (a column referring to the roster) — what the reports' data-quality section counts by."""
    for s in SOURCES.values():
        if s.year_from is None:
            continue
        if s.unit_via is None:
            assert "unit_code" in s.column_names, s.name
        else:
            assert "unit_code" not in s.column_names and s.column(s.unit_via).ref == "personnel.person_id", s.name
