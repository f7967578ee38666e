"""``lianjian leads --unit CODE --year YYYY``: the R10 review leads (线索核查) of one unit and year,
printed for the operator with the record ids behind each reason.

Read from the restricted output ``restricted/review_leads`` (published with the run, 0600); the ids
are split by reason from the staged cases and violations the leads were computed from, keeping only
the ids the published lead lists. Every call is logged in ``restricted/access.log`` (time in
Asia/Shanghai, OS user, command, unit, year) before anything is printed. A lead names a person for
a check, not a finding: the page says so.
"""

from __future__ import annotations

import sys
from pathlib import Path

import polars as pl

from lianjian.contract import ENUMS, SOURCES
from lianjian.errors import FatalError
from lianjian.publish.restricted import log_access, read_restricted
from lianjian.scoring.leads import REASONS, lead_facts

REASON = ENUMS["lead_reason"]


def _staged(warehouse: Path, source: str) -> pl.LazyFrame:
    path = warehouse / "staged" / f"{source}.parquet"
    if path.exists():
        return pl.scan_parquet(path)
    return SOURCES[source].staged_frame().lazy()


def unit_leads(warehouse: Path, unit: str, year: int) -> pl.DataFrame:
    """The unit's leads of the year, one row per person, with ``ids_by_reason``: a list of
    (reason, record ids) in the order of the reasons."""
    leads = read_restricted(warehouse, "review_leads").filter((pl.col("unit_code") == unit) & (pl.col("year") == year)).collect()
    if leads.height == 0:
        return leads.with_columns(pl.lit(None, pl.List(pl.Struct({"reason": pl.String, "ids": pl.List(pl.String)}))).alias("ids_by_reason"))
    facts = (
        lead_facts(_staged(warehouse, "cases"), _staged(warehouse, "violations"))
        .filter(pl.col("year") == year)
        .join(leads.lazy().select("person_id", "reasons", "record_ids"), on="person_id", how="inner")
        .filter(pl.col("reasons").list.contains(pl.col("reason")) & pl.col("record_ids").list.contains(pl.col("record_id")))
        .with_columns(pl.col("reason").replace_strict({r: i for i, r in enumerate(REASONS)}, return_dtype=pl.Int64).alias("_order"))
        .group_by("person_id", "reason", "_order")
        .agg(pl.col("record_id").unique().sort().alias("ids"))
        .sort("person_id", "_order")
        .group_by("person_id", maintain_order=True)
        .agg(pl.struct("reason", "ids").alias("ids_by_reason"))
        .collect()
    )
    return leads.join(facts, on="person_id", how="left").sort("person_id")


def leads_lines(warehouse: Path, unit: str, year: int) -> list[str]:
    leads = unit_leads(warehouse, unit, year)
    lines = [
        f"{unit} {year} 年核查线索（R10，黑龙江巡礼：健全线索核查制度）：{leads.height} 人",
        "说明：线索是需要核查的对象，不是认定；仅供运行本系统的账户查阅，请勿转发。",
    ]
    for r in leads.iter_rows(named=True):
        dept = f"，部门 {r['dept_code']}" if r["dept_code"] else ""
        reasons = "、".join(REASON.label(c) for c in r["reasons"])
        lines.append(f"· {r['name']}（{r['person_id']}{dept}）：{reasons}")
        shown: set[str] = set()
        for part in r["ids_by_reason"] or []:
            lines.append(f"    {REASON.label(part['reason'])}（{part['reason']}）：{'、'.join(part['ids'])}")
            shown.update(part["ids"])
        rest = [i for i in r["record_ids"] if i not in shown]
        if rest:  # staged data changed since the run: the published ids, without a reason
            lines.append(f"    其他记录：{'、'.join(rest)}")
    if leads.height == 0:
        lines.append("（无）")
    return lines


def leads_command(unit: str, year: int, warehouse: Path) -> int:
    warehouse = Path(warehouse)
    units = warehouse / "staged" / "units.parquet"
    if not (warehouse / "restricted" / "review_leads").exists():
        raise FatalError(f"数据仓库 {warehouse}: 没有 restricted/review_leads — 请先运行 lianjian run（或 --warehouse 指向正确的仓库）")
    if units.exists() and unit not in set(pl.read_parquet(units, columns=["unit_code"])["unit_code"].to_list()):
        raise FatalError(f"单位编码 {unit}: 不在 {units} 中 — 请检查 --unit（区分大小写）")
    log_access(warehouse, "leads", unit=unit, year=year)
    print("\n".join(leads_lines(warehouse, unit, year)), file=sys.stdout)
    return 0
