"""Where each published table is computed: its upstream asset key (the data-flow convention
landing → staged → derived → assessed → published)."""

from __future__ import annotations

from lianjian.contract import PUBLISHED, RESTRICTED, SOURCES

#: Published table -> layer of the asset it is copied from.
LAYER: dict[str, str] = {
    "talk_obligations": "derived",
    "case_quality": "derived",
    "leader_case_handling": "derived",
    "major_matter_report_stats": "derived",
    "major_matter_report_monthly": "derived",
    "integrity_assessment": "assessed",
    "responsibility_assessment": "assessed",
    "accountability_triggers": "assessed",
    "assessment_evidence": "assessed",
    "rejected_records": "staged",
}

#: Restricted output -> layer of the asset it is copied from (published under restricted/).
RESTRICTED_LAYER: dict[str, str] = {
    "review_leads": "derived",
}

#: The ingest report (one row per landing file) that feeds the manifest's ``inputs``.
INGEST_REPORT_KEY: tuple[str, str] = ("staged", "ingest_report")


def upstream_key(table: str) -> tuple[str, str]:
    """The asset key path a published table is copied from, e.g. ``("assessed", "integrity_assessment")``."""
    return ({**LAYER, **RESTRICTED_LAYER}[table], table)


def restricted_key(table: str) -> tuple[str, str]:
    """The asset key path of a restricted output as published (``("restricted", "review_leads")``)."""
    return ("restricted", table)


def published_key(table: str) -> tuple[str, str]:
    return ("published", table)


def ref_key(ref: str) -> tuple[tuple[str, str], str]:
    """A lineage reference ``<source>.<column>`` (staged source) or ``<table>.<column>`` (derived or
    assessed table) -> (asset key path, column)."""
    name, column = ref.split(".", 1)
    if name in SOURCES:
        return ("staged", name), column
    if name in PUBLISHED:
        return upstream_key(name), column
    raise KeyError(ref)


assert set(LAYER) == set(PUBLISHED), "every published table needs its layer"
assert set(RESTRICTED_LAYER) == set(RESTRICTED), "every restricted output needs its layer"
