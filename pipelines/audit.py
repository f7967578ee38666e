"""What an auditor reads in the Dagster UI on each published table's materialization: which inputs and
which rules made it (docs/auditors.md, "In the Dagster UI").

Every published asset's materialization carries the rules version and the rules file's SHA-256, the
manifest's input files (source, file, SHA-256, rows read) and a digest of that list, the pipeline run id
and every Dagster run of the pipeline run, the warehouse, and — for the two assessment tables — the
count of each grade per year. Only counts, hashes, paths and versions: never a row's values.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import dagster as dg
import polars as pl

from pipelines.io_manager import GRADE_LABELS, UNGRADED, grade_counts
from pipelines.resources import RUN_ID_TAG
from pipelines.runs import INGEST_RUN_TAG

INPUT_COLUMNS = {"source": "string", "file": "string", "sha256": "string", "rows_read": "int"}
INGEST_REPORT = dg.AssetKey(["staged", "ingest_report"])


def pipeline_runs(context: dg.AssetExecutionContext) -> tuple[str, list[str]]:
    """(the pipeline run id, its Dagster run ids in order). The first run is the run's
    ``lianjian/ingest_run`` tag, else — a run launched alone — the run that last staged the data."""
    run = context.run
    first = run.tags.get(INGEST_RUN_TAG)
    if first is None:
        event = context.instance.get_latest_materialization_event(INGEST_REPORT)
        first = event.run_id if event is not None else None
    ids = list(dict.fromkeys([r for r in (first, run.run_id) if r]))
    return run.tags.get(RUN_ID_TAG, run.run_id), ids


def inputs_digest(inputs: list[dict]) -> str:
    """SHA-256 of the (source, file, sha256) list: one value that changes when any input file does."""
    triples = [[i.get("source"), i.get("file"), i.get("sha256")] for i in inputs]
    return hashlib.sha256(json.dumps(triples, ensure_ascii=False).encode("utf-8")).hexdigest()


def inputs_metadata(inputs: list[dict]) -> dict[str, dg.MetadataValue]:
    schema = dg.TableSchema(columns=[dg.TableColumn(c, t) for c, t in INPUT_COLUMNS.items()])
    records = [dg.TableRecord({c: i.get(c) for c in INPUT_COLUMNS}) for i in inputs]
    return {
        "inputs": dg.MetadataValue.table(records, schema=schema),
        "inputs_sha256": dg.MetadataValue.text(inputs_digest(inputs)),
        "input_files": dg.MetadataValue.int(len(inputs)),
    }


def grades_metadata(published: pl.LazyFrame) -> dict[str, dg.MetadataValue]:
    """``grades_by_year``: per year the rows of each grade (好, 较好, 一般, 较差) and ungraded rows."""
    frame = published.select("year", "grade").collect()
    columns = ["year", *GRADE_LABELS, UNGRADED]
    records = []
    for year in sorted(frame.get_column("year").unique().drop_nulls().to_list()):
        counts = grade_counts(frame.filter(pl.col("year") == year))
        records.append(dg.TableRecord({"year": int(year), **counts}))
    schema = dg.TableSchema(columns=[dg.TableColumn(c, "int") for c in columns])
    return {"grades_by_year": dg.MetadataValue.table(records, schema=schema)}


def grade_records(grades_by_year: list[dict]) -> dict[str, dg.MetadataValue]:
    """``grades_by_year`` from the rows per grade of each year (``[{"year": Y, "grades": {grade or
    None: rows}}]``, what publishing found in each year's file): the same table as ``grades_metadata``."""
    columns = ["year", *GRADE_LABELS, UNGRADED]
    records = []
    for entry in grades_by_year:
        counts = {g: int(entry["grades"].get(g, 0)) for g in GRADE_LABELS}
        counts[UNGRADED] = int(entry["grades"].get(None, 0))
        records.append(dg.TableRecord({"year": int(entry["year"]), **counts}))
    schema = dg.TableSchema(columns=[dg.TableColumn(c, "int") for c in columns])
    return {"grades_by_year": dg.MetadataValue.table(records, schema=schema)}


def published_metadata(
    *,
    rows: int,
    path: Path,
    warehouse: Path,
    manifest: dict,
    pipeline_run_id: str,
    run_ids: list[str],
    published: pl.LazyFrame | None = None,
    grades_by_year: list[dict] | None = None,
    inputs: dict[str, dg.MetadataValue] | None = None,
) -> dict:
    """The metadata of one published table's materialization (``published``: its rows as published,
    given for the tables with grades; or ``grades_by_year``: its rows per grade and year as publishing
    counted them in the files, ``grade_records``). ``inputs``: ``inputs_metadata`` of the manifest's
    inputs, made once for every table of a version (else made here)."""
    meta = {
        "dagster/row_count": dg.MetadataValue.int(rows),
        "path": dg.MetadataValue.path(str(path)),
        "warehouse": dg.MetadataValue.path(str(warehouse)),
        "published_version": dg.MetadataValue.text(manifest["version"]),
        "rules_version": dg.MetadataValue.text(manifest["rules_version"]),
        "rules_sha256": dg.MetadataValue.text(manifest["rules_sha256"]),
        "code_version": dg.MetadataValue.text(manifest["code_version"]),
        "lianjian/run_id": dg.MetadataValue.text(pipeline_run_id),
        "dagster_run_ids": dg.MetadataValue.text(", ".join(run_ids)),
        **(inputs if inputs is not None else inputs_metadata(manifest["inputs"])),
    }
    if grades_by_year is not None:
        meta.update(grade_records(grades_by_year))
    elif published is not None and "grade" in published.collect_schema():
        meta.update(grades_metadata(published))
    return meta
