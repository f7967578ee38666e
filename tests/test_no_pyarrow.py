"""A run's main process does not import pyarrow (docs/performance.md, "The staging step's small files
read together"): a workbook's sheet reaches Polars through the Arrow C interface, and the years left
in the result files are counted from their footers by Polars — importing pyarrow cost ≈ 0.1–0.2 s."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import polars as pl

from support_ingest import BASE, HEADERS, ID_OK, write_landing, write_xlsx

ROOT = Path(__file__).resolve().parents[1]

SCRIPT = """
import sys
from pathlib import Path
from lianjian.contract import SOURCES
from lianjian.ingest import reader
from pipelines.partitions import result_years
assert "pyarrow" not in sys.modules
landing, tmp, warehouse = (Path(a) for a in sys.argv[1:4])
read = reader.read_source(SOURCES["personnel"], landing, tmp, [])
rows = reader.read_landing(landing).frames["personnel"]
print(rows.height, sorted(rows.get_column("person_id").to_list()), rows.get_column("id_number").to_list()[0])
print(sorted(result_years(warehouse)))
print("pyarrow" in sys.modules)
"""


def test_a_workbook_is_read_and_the_result_years_counted_without_pyarrow(tmp_path):
    """personnel.xlsx (its identity number typed as text) is read, and the year files of a warehouse
    counted, in a process that imports the pipeline's modules: pyarrow is never imported."""
    landing = write_landing(tmp_path / "landing", skip=("personnel",))
    write_xlsx(landing / "personnel.xlsx", HEADERS["personnel"], BASE["personnel"])
    years = tmp_path / "wh" / "assessed" / "integrity_assessment"
    years.mkdir(parents=True)
    pl.DataFrame({"year": [2023], "n": [1]}).write_parquet(years / "2023.parquet")
    pl.DataFrame({"year": [], "n": []}, schema={"year": pl.Int64, "n": pl.Int64}).write_parquet(years / "2022.parquet")
    (tmp_path / "t").mkdir()
    out = subprocess.run(
        [sys.executable, "-c", SCRIPT, str(landing), str(tmp_path / "t"), str(tmp_path / "wh")],
        cwd=ROOT, capture_output=True, text=True, check=True, env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"},
    ).stdout.splitlines()
    assert out == ["4 ['P1', 'P2', 'P3', 'P4'] " + ID_OK[:4] + "*" * 14, "[2023]", "False"]
