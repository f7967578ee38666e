"""R8's evidence, R6's case quality and R1's talk obligations: year files written in the published form and copied by publish
(lianjian/publish/publish.py ``PUBLISHED_FORM``, ``write_published_form``; pipelines/io_manager.py;
docs/performance.md "Publish for less"): the IO manager writes each year's file as publish would
write it — the contract's columns without ``year``, empty values spelled one way, identity numbers
masked, the total order, the published writer settings — with a record of its digest, rows, checks
and code; publish copies such a file instead of reading, sorting and writing it again. The bytes
are those publish prepares from the same rows, the warehouse's file stays private, and a file that
does not match its record is prepared as before."""

from __future__ import annotations

import hashlib
import stat
from pathlib import Path

import dagster as dg
import polars as pl
import pytest

import lianjian.publish.publish as P
from lianjian.publish import layout
from lianjian.publish.layers import upstream_key
from pipelines.io_manager import published_form, scan_published_form

KW = dict(ingest_report=None, rules_version="x", rules_sha256="c" * 64, code_version_="test")
TABLE = "assessment_evidence"


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def _folder(wh: Path, table: str = TABLE) -> Path:
    return wh.joinpath(*upstream_key(table))


#: Who reads each asset written in the published form, besides publishing: R8's evidence and R6's
#: case quality nobody; R1's talk obligations R2 and R3, each year from its own file
#: (assets/assessed.py ``_year_rows``).
READERS = {
    "assessment_evidence": set(),
    "case_quality": set(),
    "talk_obligations": {
        ("assessed", "integrity_assessment"),
        ("assessed", "integrity_evidence"),
        ("assessed", "responsibility_assessment"),
        ("assessed", "responsibility_evidence"),
    },
}


def test_who_reads_the_assets_written_in_the_published_form():
    """Their files have no ``year`` column inside: a scoring step reading them has it back from the
    file's year (the IO manager's ``scan_published_form``); only the steps named here do."""
    from pipelines.definitions import defs

    graph = defs.resolve_asset_graph()
    assert P.PUBLISHED_FORM == set(READERS)
    for table in P.PUBLISHED_FORM:
        key = dg.AssetKey(list(upstream_key(table)))
        assert published_form(key) == table
        children = graph.get(key).child_keys
        assert children and any(k.path[0] in ("published", "restricted") for k in children), children
        others = {tuple(k.path) for k in children if k.path[0] not in ("published", "restricted")}
        assert others == READERS[table], (table, others)
    assert published_form(dg.AssetKey(["assessed", "integrity_assessment"])) is None


@pytest.mark.parametrize("table", sorted(READERS))
def test_the_run_writes_the_table_in_the_published_form_and_publish_copies_it(demo_run, table):
    _, wh = demo_run
    files = sorted(_folder(wh, table).glob("*.parquet"))
    record = P.read_form_record(_folder(wh, table))
    assert files and set(record) == {f.stem for f in files}
    live = layout.current_version(wh) / P.LINK / table
    assert any(record[f.stem]["rows"] for f in files)
    for f in files:
        assert "year" not in pl.read_parquet_schema(f)
        assert record[f.stem]["sha256"] == _sha(f) and record[f.stem]["rows"] == pl.read_parquet(f).height
        published = live / f"year={f.stem}" / P.PART
        if not published.exists():  # a year of the partitions without rows in any table: not published
            assert record[f.stem]["rows"] == 0
            continue
        assert published.read_bytes() == f.read_bytes()
        # a copy, not a link: the warehouse's file stays private, the published one readable
        assert published.stat().st_ino != f.stat().st_ino
        assert (_mode(f), _mode(published)) == (0o600, 0o644)
        # in the order publish's own sort gives, though the file was written without one (IN_ORDER)
        rows = pl.read_parquet(f).with_columns(pl.lit(int(f.stem), pl.Int64).alias("year"))
        assert P.prepare(table, rows).drop("year").equals(pl.read_parquet(f))
    # what the IO manager hands to the steps that read it: the year back from the file's year, the
    # contract's columns
    lf = scan_published_form(table, [(f.stem, f) for f in files])
    assert lf.collect_schema() == P.OUTPUTS[table].schema()


@pytest.fixture()
def evidence(demo_run, tmp_path):
    """A copy of the demo run's evidence year files and their record, and publishing them."""
    _, wh = demo_run
    src = _folder(wh)
    folder = tmp_path / "assessed" / TABLE
    folder.mkdir(parents=True)
    for f in src.glob("*.parquet"):
        (folder / f.name).write_bytes(f.read_bytes())
    P.form_record_path(folder).write_bytes(P.form_record_path(src).read_bytes())
    files = sorted(folder.glob("*.parquet"))

    def publish(warehouse: Path, *, built_from: bool):
        frame = scan_published_form(TABLE, [(f.stem, f) for f in files])
        return P.publish_tables(
            warehouse,
            {TABLE: frame},
            run_id="r",
            built_from=(lambda table, year: folder / f"{year}.parquet" if table == TABLE else None) if built_from else None,
            **KW,
        )

    return folder, publish


def _prepared_tables(monkeypatch) -> list[str]:
    seen: list[str] = []
    real = P._prepared
    monkeypatch.setattr(P, "_prepared", lambda table, frame: seen.append(table) or real(table, frame))
    return seen


def _evidence_files(warehouse: Path) -> dict[str, bytes]:
    root = Path(warehouse) / P.LINK / TABLE
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*.parquet"))}


def test_copied_files_are_the_bytes_and_checks_publish_prepares(evidence, tmp_path, monkeypatch):
    folder, publish = evidence
    seen = _prepared_tables(monkeypatch)
    copied = publish(tmp_path / "copied", built_from=True)
    assert TABLE not in seen  # nothing of the evidence prepared
    seen.clear()
    prepared = publish(tmp_path / "prepared", built_from=False)
    assert TABLE in seen
    assert _evidence_files(tmp_path / "copied") == _evidence_files(tmp_path / "prepared")
    assert copied.schema[TABLE] == prepared.schema[TABLE] and copied.schema[TABLE]["passed"]
    assert copied.identity_cells[TABLE] == prepared.identity_cells[TABLE] == 0
    checks = {
        name: {rel: {k: v for k, v in found.items() if k != P.BUILT_FROM} for rel, found in P.read_json(layout.current_version(tmp_path / name) / P.CHECKS)[P.LINK].items() if rel.startswith(TABLE)}
        for name in ("copied", "prepared")
    }
    assert checks["copied"] == checks["prepared"]


@pytest.mark.parametrize("spoil", ["code_version", "sha256"])
def test_a_file_unlike_its_record_is_prepared(evidence, tmp_path, monkeypatch, spoil):
    """Written by other code, or not the file recorded: prepared from its rows (the same bytes)."""
    folder, publish = evidence
    record = P.read_form_record(folder)
    year = next(y for y, e in record.items() if e["rows"])
    P.write_form_record(folder, {year: {**record[year], spoil: "other"}})
    seen = _prepared_tables(monkeypatch)
    publish(tmp_path / "wh", built_from=True)
    assert [t for t in seen if t == TABLE] == [TABLE]  # that year alone
    assert (tmp_path / "wh" / P.LINK / TABLE / f"year={year}" / P.PART).read_bytes() == (folder / f"{year}.parquet").read_bytes()


def test_a_year_of_r2_and_r3_reads_the_talk_obligations_of_that_year_alone(demo_run):
    """R2 and R3 take a year's talk obligations from that year's file (``_year_rows``): a filter on
    the year of the published-form scan would read every year's file, the year being a literal of
    each file. The rows are those of the filter; a year without a file gives none."""
    from assets.assessed import R2_INS, _year_rows

    _, wh = demo_run
    files = sorted(_folder(wh, "talk_obligations").glob("*.parquet"))
    everything = scan_published_form("talk_obligations", [(f.stem, f) for f in files])
    rows = _year_rows(wh, R2_INS, {"talk_obligations": everything, "roster": pl.LazyFrame({"year": [2024]})})
    assert not callable(rows["roster"])  # an input with its year inside: filtered as before
    year_rows = rows["talk_obligations"]
    for f in files:
        year = int(f.stem)
        plan = year_rows(year).explain()
        assert f.name in plan and not any(o.name in plan for o in files if o != f), plan
        assert year_rows(year).collect().equals(everything.filter(pl.col("year") == year).collect())
    assert year_rows(1999).collect().height == 0
