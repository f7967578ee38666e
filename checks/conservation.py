"""Conservation checks (docs/contract.md "What it reads"): for every source and landing file, rows read = rows accepted
+ rows rejected + exact duplicates, and the staged and rejected tables hold exactly those counts.

Reported by the staging step itself (``assets/staged.py``), one check per staged table
(``rows_conserved``), once every staged table, ``rejected_records`` and ``ingest_report`` are written:
the staged rows are counted in the written files, not taken from the report. Blocking, severity
ERROR: a run whose counts do not add up fails loudly, before anything is assessed or published."""

import dagster as dg
import polars as pl

from lianjian.contract import SOURCES

CHECK_NAME = "rows_conserved"


#: The ingest report's counts, in the order the messages name them.
COUNTS = ("rows_read", "rows_accepted", "rows_rejected", "rows_duplicate")


def _file_counts(source: str, report: pl.DataFrame) -> list[tuple]:
    """(file, rows read, accepted, rejected, duplicate) of each of ``source``'s landing files, in the
    report's order, as Python values: the report has one row per landing file, and taking its columns
    as lists costs less than the five small Polars queries a source its checks used to run
    (docs/performance.md, "Staging a small zone without numpy")."""
    columns = [report.get_column(c).to_list() for c in ("source", "file", *COUNTS)]
    return [row[1:] for row in zip(*columns) if row[0] == source]


def _total(rows: list[tuple], i: int) -> int:
    """The sum of count ``i`` (1: rows read, …) over ``rows``, a missing count left out (Polars' sum)."""
    return sum(r[i] for r in rows if r[i] is not None)


def conservation_problems(source: str, report: pl.DataFrame, staged_rows: int, rejected_rows: int) -> list[str]:
    """Every way the counts of one source fail to add up (empty when they hold). Chinese first."""
    rows = _file_counts(source, report)
    problems = []
    for file, read, acc, rej, dup in rows:
        if None not in (read, acc, rej, dup) and read != acc + rej + dup:
            problems.append(f"{file}: 读取 {read} ≠ 接收 {acc} + 拒收 {rej} + 重复 {dup} (rows read ≠ accepted + rejected + duplicates)")
    accepted = _total(rows, 2)
    if accepted != staged_rows:
        problems.append(f"{source}: 报告接收 {accepted} 行，暂存表有 {staged_rows} 行 (staged rows ≠ accepted)")
    rejected = _total(rows, 3)
    if rejected != rejected_rows:
        problems.append(f"{source}: 报告拒收 {rejected} 行，拒收记录有 {rejected_rows} 行 (rejected_records ≠ rejected)")
    return problems


def check_spec(source: str) -> dg.AssetCheckSpec:
    return dg.AssetCheckSpec(
        name=CHECK_NAME,
        asset=dg.AssetKey(["staged", source]),
        description=f"{source}：读取行数 = 接收 + 拒收 + 重复（每个文件），且与暂存表、拒收记录一致。"
        " Rows read = accepted + rejected + duplicates, per file.",
        blocking=True,
        additional_deps=[dg.AssetKey(["staged", "ingest_report"]), dg.AssetKey(["staged", "rejected_records"])],
    )


CHECK_SPECS = [check_spec(name) for name in SOURCES]


def conservation_result(source: str, report: pl.DataFrame, staged_rows: int, rejected_rows: int) -> dg.AssetCheckResult:
    """The ``rows_conserved`` result of one staged table: ``report`` the ingest report, ``staged_rows``
    the rows of the written staged table, ``rejected_rows`` that source's rows in rejected_records."""
    problems = conservation_problems(source, report, staged_rows, rejected_rows)
    rows = _file_counts(source, report)
    read, acc, rej, dup = (_total(rows, i) for i in range(1, 5))
    return dg.AssetCheckResult(
        asset_key=dg.AssetKey(["staged", source]),
        check_name=CHECK_NAME,
        passed=not problems,
        severity=dg.AssetCheckSeverity.ERROR,
        description="；".join(problems) if problems else f"{source}：{read} = {acc} + {rej} + {dup}",
        metadata={
            "rows_read": int(read or 0),
            "rows_accepted": int(acc or 0),
            "rows_rejected": int(rej or 0),
            "rows_duplicate": int(dup or 0),
        },
    )
