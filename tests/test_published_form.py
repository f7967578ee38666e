"""R8's evidence year files are written in the published form and copied by publish
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
from pipelines.io_manager import _scan_published_form, published_form

KW = dict(ingest_report=None, rules_version="x", rules_sha256="c" * 64, code_version_="test")
TABLE = "assessment_evidence"


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def _folder(wh: Path) -> Path:
    return wh.joinpath(*upstream_key(TABLE))


def test_only_publishing_reads_the_assets_written_in_the_published_form():
    """Their files have no ``year`` column inside: a scoring step reading them would need it."""
    from pipelines.definitions import defs

    graph = defs.resolve_asset_graph()
    assert P.PUBLISHED_FORM == {TABLE, "case_quality"}
    for table in P.PUBLISHED_FORM:
        key = dg.AssetKey(list(upstream_key(table)))
        assert published_form(key) == table
        children = graph.get(key).child_keys
        assert children and all(k.path[0] in ("published", "restricted") for k in children), children
    assert published_form(dg.AssetKey(["assessed", "integrity_assessment"])) is None


def test_the_run_writes_the_evidence_in_the_published_form_and_publish_copies_it(demo_run):
    _, wh = demo_run
    files = sorted(_folder(wh).glob("*.parquet"))
    record = P.read_form_record(_folder(wh))
    assert files and set(record) == {f.stem for f in files}
    live = layout.current_version(wh) / P.LINK / TABLE
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
    # what the IO manager hands to publish: the year back from the file's year, the contract's columns
    lf = _scan_published_form(TABLE, [(f.stem, f) for f in files])
    assert lf.collect_schema() == P.OUTPUTS[TABLE].schema()


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
        frame = _scan_published_form(TABLE, [(f.stem, f) for f in files])
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
