"""A version that links the unchanged years' files from the live one (docs/operations.md,
"只重算变化的年度") costs what changed: publish does not read the linked files again — their checks
are the live version's record (``_checks.json``) — yet every file it writes is still searched for
identity numbers before the switch, and the checks report what reading the files would find.

The reports side (a year whose inputs did not change is not built again) runs through the whole
pipeline in tests/test_changed_years.py.
"""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest
from support_ingest import ID_OK
from support_publish import golden_leads, golden_tables, parquet_bytes

import lianjian.publish.publish as P
from lianjian.publish import layout

KW = dict(ingest_report=None, rules_version="x", rules_sha256="c" * 64, code_version_="test")
#: The golden tables' years; the second publish recomputes 2024 only.
KEPT, REDONE = 2023, 2024


def _publish(warehouse: Path, tables: dict, run_id: str, *, recomputed: tuple[int, int] | None = None) -> P.PublishResult:
    from assets.published import YEAR_PARTITIONED

    return P.publish_tables(
        warehouse,
        tables,
        run_id=run_id,
        restricted={"review_leads": golden_leads()},
        recomputed=recomputed,
        unchanged_tables=YEAR_PARTITIONED,
        **KW,
    )


def _spy_reads(monkeypatch) -> list[tuple[Path, int]]:
    """Every file handed to Polars' Parquet readers or hashed by publish: (path, inode) — the inode,
    because a file is read under the unfinished version's name (``.tmp-<run id>``) before the rename."""
    seen: list[tuple[Path, int]] = []

    def remember(source) -> None:
        for s in source if isinstance(source, (list, tuple)) else [source]:
            if isinstance(s, (str, Path)) and Path(s).is_file():
                seen.append((Path(s), Path(s).stat().st_ino))

    for name in ("scan_parquet", "read_parquet", "read_parquet_schema"):
        real = getattr(pl, name)

        def spy(source, *args, _real=real, **kwargs):
            remember(source)
            return _real(source, *args, **kwargs)

        monkeypatch.setattr(pl, name, spy)
    real_sha = P.sha256_file
    monkeypatch.setattr(P, "sha256_file", lambda path: remember(path) or real_sha(path))
    return seen


def test_publish_does_not_read_the_files_it_links_and_reports_the_same_checks(tmp_path, monkeypatch):
    from assets.published import YEAR_PARTITIONED

    tables = golden_tables()
    first = _publish(tmp_path, tables, "first")
    live = layout.current_version(tmp_path)
    before = {p.relative_to(live): p.stat().st_ino for p in live.rglob(f"year={KEPT}/*.parquet")}
    seen = _spy_reads(monkeypatch)

    second = _publish(tmp_path, tables, "second", recomputed=(REDONE, REDONE))
    new = layout.current_version(tmp_path)
    assert new != live
    linked = {rel for rel, ino in before.items() if (new / rel).stat().st_ino == ino}
    assert {rel.parts[1] for rel in linked} == {t for t in YEAR_PARTITIONED if t in P.OUTPUTS}, sorted(map(str, linked))
    read_linked = [p for p, ino in seen if ino in {before[rel] for rel in linked}]
    assert read_linked == []  # the linked files were not opened, under any name
    assert any(f"year={REDONE}" in str(p) for p, _ in seen)  # the spy sees what publish reads: the files it wrote
    # what the checks report is what the first publish found reading every file
    assert second.schema == first.schema and all(v["passed"] for v in second.schema.values())
    assert second.grades == first.grades and second.grades["integrity_assessment"]
    assert second.identity_cells == first.identity_cells
    # the same bytes as a version that wrote every file
    cold = tmp_path / "cold"
    _publish(cold, tables, "cold")
    assert parquet_bytes(tmp_path) == parquet_bytes(cold) and parquet_bytes(tmp_path, "restricted") == parquet_bytes(cold, "restricted")
    assert (new / P.CHECKS).read_bytes() == (layout.current_version(cold) / P.CHECKS).read_bytes()
    assert (new / P.CHECKS).stat().st_mode & 0o777 == 0o600


def test_an_identity_number_in_a_recomputed_year_still_stops_publishing(tmp_path, monkeypatch):
    """With the masks switched off (a defect that must never ship), an identity number in a row of the
    recomputed year reaches the file written for it: publishing stops before the switch although the
    other year's files are linked, not read."""
    tables = golden_tables()
    _publish(tmp_path, tables, "first")
    before = parquet_bytes(tmp_path)
    leaky = dict(tables)
    integrity = tables["integrity_assessment"]
    leaky["integrity_assessment"] = integrity.with_columns(
        name=pl.when(pl.col("year") == REDONE).then(pl.lit(f"孙七{ID_OK}")).otherwise(pl.col("name"))
    )
    monkeypatch.setattr(P, "mask_frame", lambda lf: lf)
    seen = _spy_reads(monkeypatch)
    with pytest.raises(P.IdentityNumberFound) as err:
        _publish(tmp_path, leaky, "leaky", recomputed=(REDONE, REDONE))
    n = integrity.filter(pl.col("year") == REDONE).height
    assert f"integrity_assessment {n} 处" in str(err.value) and ID_OK not in str(err.value)
    assert not any(f"year={KEPT}" in str(p) and "integrity_assessment" in str(p) for p, _ in seen)
    assert parquet_bytes(tmp_path) == before and P.read_manifest(tmp_path)["run_id"] == "first"
    assert not list((tmp_path / ".versions").glob(".tmp-*"))


def test_a_live_version_without_a_record_of_its_checks_is_not_linked(tmp_path):
    """A live version published before the checks were recorded: its files are not linked (their
    checks are not known without reading them), every year is written again, the same bytes."""
    tables = golden_tables()
    _publish(tmp_path, tables, "first")
    live = layout.current_version(tmp_path)
    (live / P.CHECKS).unlink()
    inodes = {p.relative_to(live): p.stat().st_ino for p in live.rglob("*.parquet")}
    _publish(tmp_path, tables, "second", recomputed=(REDONE, REDONE))
    new = layout.current_version(tmp_path)
    assert all((new / rel).stat().st_ino != ino for rel, ino in inodes.items())
    assert (new / P.CHECKS).is_file()


def _sources(folder: Path, tables: dict, leads: pl.DataFrame) -> dict[str, pl.DataFrame]:
    """Each yearly table's rows of each year written to ``folder/<table>/<year>.parquet``, as the IO
    manager stores a year-partitioned asset (an empty file for a year without rows); returns the
    frames published from them."""
    for name, frame in {**tables, "review_leads": leads}.items():
        if P.OUTPUTS[name].yearly:
            (folder / name).mkdir(parents=True, exist_ok=True)
            for year in (KEPT, REDONE):
                frame.filter(pl.col("year") == year).write_parquet(folder / name / f"{year}.parquet")
    return tables


def _publish_from(warehouse: Path, tables: dict, leads: pl.DataFrame, sources: Path, run_id: str, **kw) -> P.PublishResult:
    return P.publish_tables(
        warehouse,
        tables,
        run_id=run_id,
        restricted={"review_leads": leads},
        built_from=lambda table, year: sources / table / f"{year}.parquet",
        **{**KW, **kw},
    )


def test_a_year_file_prepared_from_the_same_source_file_is_linked_whatever_the_years_recomputed(tmp_path, monkeypatch):
    """Every year computed again (no unchanged years), but only one source file changed — 2024's
    integrity results (P001's self-assessment score): that year file of that table is prepared and
    written; every other year file of every yearly table, restricted ones included, is the live
    version's (same inode, not read), because its source file has the SHA-256 recorded for the live
    file. The bytes equal a version that wrote every file; without a record of the sources (another
    code version) nothing is linked."""
    src, wh = tmp_path / "src", tmp_path / "wh"
    leads = golden_leads()
    _publish_from(wh, _sources(src, golden_tables(), leads), leads, src, "first")
    live = layout.current_version(wh)
    before = {p.relative_to(live): p.stat().st_ino for p in live.rglob("year=*/*.parquet")}
    changed = golden_tables(variant=1)
    changed_file = src / "integrity_assessment" / f"{REDONE}.parquet"
    old_source = P.sha256_file(changed_file)
    _sources(src, {"integrity_assessment": changed["integrity_assessment"]}, leads)
    assert P.sha256_file(changed_file) != old_source
    seen = _spy_reads(monkeypatch)

    second = _publish_from(wh, changed, leads, src, "second")  # no recomputed range: no year unchanged
    new = layout.current_version(wh)
    assert new != live
    written = {rel for rel, ino in before.items() if (new / rel).stat().st_ino != ino}
    assert written == {Path(P.LINK, "integrity_assessment", f"year={REDONE}", P.PART)}, sorted(map(str, written))
    assert {rel.parts[1] for rel in before} >= {"review_leads", "accountability_triggers", "departments", "assessment_evidence"}
    assert [p for p, ino in seen if ino in {before[rel] for rel in before if rel not in written}] == []
    assert second.schema["integrity_assessment"]["passed"] and second.identity_cells["integrity_assessment"] == 0
    # the record names each file's source, so the next version can link it too
    record = P.read_json(new / P.CHECKS)
    assert record[P.LINK][f"integrity_assessment/year={REDONE}/{P.PART}"][P.BUILT_FROM] == P.sha256_file(changed_file)
    assert record[layout.RESTRICTED][f"review_leads/year=2024/{P.PART}"][P.BUILT_FROM] == P.sha256_file(src / "review_leads" / "2024.parquet")

    cold = tmp_path / "cold"
    P.publish_tables(cold, changed, run_id="cold", restricted={"review_leads": leads}, **KW)
    assert parquet_bytes(wh) == parquet_bytes(cold) and parquet_bytes(wh, "restricted") == parquet_bytes(cold, "restricted")
    assert parquet_bytes(wh) and len(parquet_bytes(wh)) > len(before)

    third = tmp_path / "other_code"
    _publish_from(third, changed, leads, src, "a")
    a = layout.current_version(third)
    _publish_from(third, changed, leads, src, "b", code_version_="other")
    b = layout.current_version(third)
    assert all((b / rel).stat().st_ino != (a / rel).stat().st_ino for rel in before)


def test_the_source_of_a_year_not_computed_again_is_carried_to_the_next_version(tmp_path):
    """A year file linked because its year was not computed again keeps its source's digest in the
    new version's record: a later version in which every year is computed again still links it."""
    src, wh = tmp_path / "src", tmp_path / "wh"
    leads = golden_leads()
    tables = _sources(src, golden_tables(), leads)
    _publish_from(wh, tables, leads, src, "first")
    first = layout.current_version(wh)
    kept = {p.relative_to(first): p.stat().st_ino for p in first.rglob(f"year={KEPT}/*.parquet")}
    from assets.published import YEAR_PARTITIONED

    _publish_from(wh, tables, leads, src, "second", recomputed=(REDONE, REDONE), unchanged_tables=YEAR_PARTITIONED)
    _publish_from(wh, tables, leads, src, "third")
    third = layout.current_version(wh)
    assert third != first and kept
    assert all((third / rel).stat().st_ino == ino for rel, ino in kept.items())
