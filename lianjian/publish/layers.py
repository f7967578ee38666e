"""Where each published table is computed: its upstream asset key (the data-flow convention
landing → staged → derived → assessed → published). The ``codes`` dimension has none: it is written
from the contract declaration itself (layer ``contract``)."""

from __future__ import annotations

from lianjian.contract import INTERNAL, PUBLISHED, RESTRICTED, SOURCES

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
    "units": "staged",  # the unit tree of staged/units, with the path of names (lianjian.publish.dimensions)
    "departments": "staged",
    "codes": "contract",  # every code and label of lianjian/contract/published.yaml: no upstream asset
}

#: Internal table -> layer of the asset that computes it (not published on its own).
INTERNAL_LAYER: dict[str, str] = {
    "ingest_report": "staged",
    "integrity_evidence": "assessed",
    "responsibility_evidence": "assessed",
}
#: The layer of a table written from the contract declaration, not from an asset.
CONTRACT_LAYER = "contract"
#: Restricted output -> layer of the asset it is copied from (published under restricted/).
RESTRICTED_LAYER: dict[str, str] = {
    "review_leads": "derived",
}

#: The ingest report (one row per landing file) that feeds the manifest's ``inputs``.
INGEST_REPORT_KEY: tuple[str, str] = ("staged", "ingest_report")


def upstream_key(table: str) -> tuple[str, str] | None:
    """The asset key path a published table (or restricted output) is copied from, e.g.
    ``("assessed", "integrity_assessment")``; None for a table written from the contract declaration
    (``codes``)."""
    layer = {**LAYER, **RESTRICTED_LAYER}[table]
    if layer == CONTRACT_LAYER:
        return None
    return (layer, table)


def restricted_key(table: str) -> tuple[str, str]:
    """The asset key path of a restricted output as published (``("restricted", "review_leads")``)."""
    return ("restricted", table)


def computed_key(name: str) -> tuple[str, str]:
    """The asset key path of the asset that computes a published, restricted or internal table."""
    layer = {**INTERNAL_LAYER, **RESTRICTED_LAYER, **LAYER}[name]
    return (layer, name)


def ref_key(ref: str) -> tuple[tuple[str, str], str]:
    """A lineage reference ``<source>.<column>`` (staged source) or ``<table>.<column>`` (a derived,
    assessed or internal table) -> (asset key path, column)."""
    name, column = ref.split(".", 1)
    if name in SOURCES:
        return ("staged", name), column
    if name in PUBLISHED or name in RESTRICTED or name in INTERNAL:
        return computed_key(name), column
    raise KeyError(ref)


assert set(LAYER) == set(PUBLISHED), "every published table needs its layer"
assert set(INTERNAL_LAYER) == set(INTERNAL), "every internal table needs its layer"
assert set(RESTRICTED_LAYER) == set(RESTRICTED), "every restricted output needs its layer"
