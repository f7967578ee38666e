"""Snapshot of every asset spec of the one Definitions (key, deps, group, description, owners, kinds,
tags, code version, partitions, checks, column schema and column lineage), so that any change to the lineage an
auditor relies on shows up as a reviewed diff of tests/snapshots/asset_specs.json.

Regenerate after a reviewed change: LIANJIAN_UPDATE_SNAPSHOTS=1 python -m pytest tests/test_asset_specs.py
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import dagster as dg

SNAPSHOT = Path(__file__).parent / "snapshots" / "asset_specs.json"


def _metadata(md: dict) -> dict:
    out = {}
    for label, value in sorted(md.items()):
        if isinstance(value, dg.TableSchema) or label == "dagster/column_schema":
            schema = value if isinstance(value, dg.TableSchema) else value.value
            out[label] = [[c.name, c.type] for c in schema.columns]
        elif isinstance(value, dg.TableColumnLineage) or label == "dagster/column_lineage":
            lin = value if isinstance(value, dg.TableColumnLineage) else value.value
            out[label] = {
                col: sorted(f"{d.asset_key.to_user_string()}.{d.column_name}" for d in deps)
                for col, deps in sorted(lin.deps_by_column.items())
            }
        else:
            out[label] = value if isinstance(value, (str, int, float, bool, type(None))) else repr(value)
    return out


def snapshot(defs: dg.Definitions) -> dict:
    """A JSON-ready description of every asset spec and check, in key order."""
    assets, checks = {}, {}
    for ad in defs.assets or []:
        if isinstance(ad, dg.AssetSpec):  # an asset Dagster observes but does not make (the landing files)
            ad = dg.AssetsDefinition(specs=[ad])
        if not isinstance(ad, dg.AssetsDefinition):
            continue
        for spec in ad.specs:
            assets[spec.key.to_user_string()] = {
                "deps": sorted(d.asset_key.to_user_string() for d in spec.deps),
                "group": spec.group_name,
                "description": spec.description,
                "owners": list(spec.owners),
                "kinds": sorted(spec.kinds),
                "tags": dict(sorted(spec.tags.items())),
                "code_version": spec.code_version,
                "partitions": str(spec.partitions_def) if spec.partitions_def else None,
                "freshness_policy": type(spec.freshness_policy).__name__ if spec.freshness_policy else None,
                "metadata": _metadata(dict(spec.metadata)),
            }
        for cs in ad.check_specs:
            checks[f"{cs.asset_key.to_user_string()}:{cs.name}"] = {"description": cs.description, "blocking": cs.blocking}
    for cd in defs.asset_checks or []:
        for cs in cd.check_specs:
            checks[f"{cs.asset_key.to_user_string()}:{cs.name}"] = {"description": cs.description, "blocking": cs.blocking}
    return {"assets": dict(sorted(assets.items())), "checks": dict(sorted(checks.items()))}


def test_asset_specs_match_the_reviewed_snapshot():
    from pipelines.definitions import defs

    current = snapshot(defs)
    text = json.dumps(current, ensure_ascii=False, indent=1, sort_keys=False) + "\n"
    if os.environ.get("LIANJIAN_UPDATE_SNAPSHOTS") == "1":
        SNAPSHOT.parent.mkdir(parents=True, exist_ok=True)
        SNAPSHOT.write_text(text, encoding="utf-8")
    committed = json.loads(SNAPSHOT.read_text(encoding="utf-8"))
    # compare asset by asset so a failure names what changed
    assert sorted(current["assets"]) == sorted(committed["assets"]), "assets added or removed: regenerate after review"
    for key, spec in current["assets"].items():
        assert spec == committed["assets"][key], f"{key} changed: review, then LIANJIAN_UPDATE_SNAPSHOTS=1"
    assert current["checks"] == committed["checks"]


def test_every_asset_follows_the_conventions():
    """Group = first key part (the layer); Chinese-first description with an English gloss; owners;
    kinds; code version (but for the landing files, which Dagster observes and no code makes)."""
    from pipelines.definitions import defs

    for key, spec in snapshot(defs)["assets"].items():
        layer = key.split("/")[0]
        assert spec["group"] == layer, key
        text = spec["description"] or ""
        first_cjk = next((i for i, ch in enumerate(text) if "\u4e00" <= ch <= "\u9fff"), None)
        first_latin = next((i for i, ch in enumerate(text) if ch.isascii() and ch.isalpha()), None)
        assert first_cjk is not None and first_latin is not None and first_cjk < first_latin, key  # Chinese first
        assert spec["owners"] and all(o.startswith("team:") for o in spec["owners"]), key
        assert spec["kinds"], key
        assert spec["code_version"] or layer == "landing", key
    from lianjian.contract import PUBLISHED, RESTRICTED

    published = {k: v for k, v in snapshot(defs)["assets"].items() if k.startswith("published/")}
    assert len(published) == len(PUBLISHED)
    restricted = {k: v for k, v in snapshot(defs)["assets"].items() if k.startswith("restricted/")}
    assert sorted(restricted) == [f"restricted/{t}" for t in RESTRICTED]
    for key, spec in restricted.items():  # lineage back to the derived asset, like the published tables
        assert spec["metadata"]["dagster/column_lineage"], key
    for key, spec in published.items():
        assert spec["freshness_policy"] == "CronFreshnessPolicy"
        if key == "published/codes":  # written from the contract declaration: no upstream asset, no column lineage
            assert spec["deps"] == [] and spec["metadata"]["computed_in"] == "lianjian/contract/published.yaml"
            continue
        assert spec["metadata"]["dagster/column_lineage"], key
