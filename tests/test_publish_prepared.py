"""Preparing a published file for less (lianjian/publish/publish.py ``_prepared``; docs/performance.md
"Publish for less"): the identity-number search runs before the mask, and the mask only when it
finds one; the sorted rows are written as one chunk instead of being copied row by row into fresh
buffers. The files are those of the former recipe — mask every text cell, sort, copy each row —
byte for byte, and an identity number that reaches publishing is still masked."""

from __future__ import annotations

import io

import polars as pl
import pytest
from support_publish import golden_leads, golden_tables, parquet_bytes, with_check_digit

import lianjian.publish.publish as P
from lianjian.privacy import mask_frame

KW = dict(ingest_report=None, rules_version="x", rules_sha256="c" * 64, code_version_="test")
ID = with_check_digit("11010519491231002")


def _former(table: str, frame: pl.DataFrame) -> dict[str, bytes]:
    """The bytes the former recipe wrote for ``table``: every text cell masked, sorted, each row copied
    into fresh buffers (path relative to the table's folder -> bytes)."""
    t = P.OUTPUTS[table]
    schema = t.schema()
    lf = frame.lazy().select([pl.col(n).cast(d) for n, d in schema.items()]).with_columns(P._one_empty(schema))
    order = list(t.key) + [c for c in schema if c not in t.key]
    rows = mask_frame(lf).sort(order, nulls_last=True).collect()
    out = {}
    for year in sorted(rows.get_column("year").unique().to_list()):
        part = rows.filter(pl.col("year") == year)
        part = part.select(pl.all().gather(pl.int_range(0, part.height))).drop("year")
        buf = io.BytesIO()
        part.write_parquet(buf, **P.WRITER)
        out[f"year={year}/{P.PART}"] = buf.getvalue()
    return out


def _publish(warehouse, tables):
    return P.publish_tables(warehouse, tables, run_id="r", restricted={"review_leads": golden_leads()}, **KW)


def test_no_mask_without_an_identity_number_and_the_bytes_of_the_former_recipe(tmp_path, monkeypatch):
    masked: list[object] = []
    real = P.mask_frame
    monkeypatch.setattr(P, "mask_frame", lambda lf: masked.append(lf) or real(lf))
    tables = golden_tables()
    result = _publish(tmp_path, tables)
    # the golden rejected rows hold one identity number (as read, before masking): only they are masked
    assert [lf.collect_schema().names() for lf in masked] == [P.OUTPUTS["rejected_records"].column_names]
    files = parquet_bytes(tmp_path)
    for table in ("assessment_evidence", "integrity_assessment", "talk_obligations", "case_quality"):
        want = _former(table, tables[table])
        assert want and all(files[f"{table}/{rel}"] == b for rel, b in want.items()), table
    assert not any(result.identity_cells.values())


@pytest.mark.parametrize("table, column", [("integrity_assessment", "name"), ("assessment_evidence", "record_ids")])
def test_an_identity_number_is_still_masked_and_the_bytes_are_the_former_recipes(tmp_path, table, column):
    tables = golden_tables()
    frame = tables[table]
    leaked = pl.lit([f"R{ID}"], pl.List(pl.String)) if column == "record_ids" else pl.lit(f"孙七{ID}")
    tables[table] = frame.with_columns(pl.when(pl.int_range(pl.len()) == 0).then(leaked).otherwise(pl.col(column)).alias(column))
    result = _publish(tmp_path, tables)
    files = parquet_bytes(tmp_path)
    want = _former(table, tables[table])
    assert want and all(files[f"{table}/{rel}"] == b for rel, b in want.items())
    assert not any(ID.encode() in b for b in files.values())
    assert result.identity_cells[table] == 0
