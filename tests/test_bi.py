"""The BI reader (CONTRACT.md §3, docs/bi.md): every published table read folder by folder with pandas,
``pyarrow.parquet.read_table``, a PyArrow dataset, Polars and DuckDB (hive partitioning on), and through
``warehouse/lianjian.duckdb`` from a separate connection and a separate process, gives the same rows
and ``year`` as an integer; the dimension tables; one spelling of an empty value."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import duckdb
import pandas as pd
import polars as pl
import pyarrow as pa
import pyarrow.dataset as ds
import pyarrow.parquet as pq
import pytest

from lianjian.contract import PUBLISHED
from lianjian.publish import publish as P
from lianjian.publish.bi_database import DATABASE, column_comment, table_comment
from lianjian.publish.dimensions import codes_table, units_table
from support_publish import golden_tables, publish_golden, units_rows

YEARLY = [t for t, spec in PUBLISHED.items() if spec.yearly]


@pytest.fixture(scope="module")
def golden(tmp_path_factory) -> Path:
    wh = tmp_path_factory.mktemp("bi")
    publish_golden(wh)
    return wh


def expected(table: str) -> pl.DataFrame:
    """What was handed to the publisher, in the publisher's total row order (``codes``: the contract's)."""
    frames = golden_tables()
    frame = frames[table] if table in frames else codes_table() if table == "codes" else PUBLISHED[table].empty()
    return P.prepare(table, frame)


def normalized(table: str, frame: pl.DataFrame) -> pl.DataFrame:
    """A reader's result as the contract's columns and types, in the publisher's row order."""
    schema = PUBLISHED[table].schema()
    return P.prepare(table, frame.select([pl.col(c).cast(t) for c, t in schema.items()]))


def assert_integer_years(values) -> None:
    assert all(isinstance(v, int) for v in values), values


# --------------------------------------------------------------------------------------------------
# Five readers, folder by folder


def test_pandas_reads_every_table_folder(golden):
    for table, spec in PUBLISHED.items():
        df = pd.read_parquet(golden / "published" / table)
        if spec.yearly:  # as for any hive partition: a categorical whose categories are integers
            assert isinstance(df["year"].dtype, pd.CategoricalDtype), table
            assert pd.api.types.is_integer_dtype(df["year"].cat.categories.dtype), table
            df["year"] = df["year"].astype("int64")
        got = pl.from_arrow(pa.Table.from_pandas(df, preserve_index=False))
        assert normalized(table, got).equals(expected(table)), table


def test_pyarrow_read_table_reads_every_table_folder(golden):
    for table, spec in PUBLISHED.items():
        t = pq.read_table(golden / "published" / table)
        if spec.yearly:  # dictionary-encoded integers, decoded to plain integers
            year = t.schema.field("year").type
            assert pa.types.is_dictionary(year) and pa.types.is_integer(year.value_type), (table, year)
            assert_integer_years(t.column("year").to_pylist())
        assert normalized(table, pl.from_arrow(t)).equals(expected(table)), table


def test_pyarrow_dataset_reads_every_table_folder(golden):
    for table, spec in PUBLISHED.items():
        t = ds.dataset(golden / "published" / table, format="parquet", partitioning="hive").to_table()
        if spec.yearly:
            assert pa.types.is_integer(t.schema.field("year").type), table
        assert normalized(table, pl.from_arrow(t)).equals(expected(table)), table


def test_polars_reads_every_table_folder(golden):
    for table, spec in PUBLISHED.items():
        got = pl.read_parquet(golden / "published" / table / "**" / "*.parquet", hive_partitioning=True)
        if spec.yearly:
            assert got.schema["year"] == pl.Int64, table
        assert normalized(table, got).equals(expected(table)), table


def test_duckdb_reads_every_table_folder(golden):
    con = duckdb.connect()
    for table, spec in PUBLISHED.items():
        rel = con.sql(f"SELECT * FROM read_parquet('{golden}/published/{table}/**/*.parquet', hive_partitioning=true)")
        if spec.yearly:
            assert dict(zip(rel.columns, map(str, rel.types)))["year"] == "BIGINT", table
        assert normalized(table, rel.pl()).equals(expected(table)), table


def test_year_lives_in_the_folder_names_only(golden):
    """The hive convention: no yearly file holds ``year``; every yearly table has the run's years."""
    for table in YEARLY:
        folder = golden / "published" / table
        assert sorted(p.name for p in folder.iterdir()) == ["year=2023", "year=2024"], table
        for f in folder.rglob("*.parquet"):
            assert "year" not in pq.read_schema(f).names, f
        assert P.schema_problems(golden, table)["passed"], table


# --------------------------------------------------------------------------------------------------
# The DuckDB database of views


def test_database_has_a_commented_view_per_published_table(golden):
    db = golden / DATABASE
    assert db.is_file() and (db.stat().st_mode & 0o777) == 0o644  # no data in it: readable like published/
    con = duckdb.connect(str(db), read_only=True)  # a separate connection to the file, as a BI tool opens it
    try:
        views = dict(con.execute("SELECT view_name, comment FROM duckdb_views() WHERE NOT internal").fetchall())
        assert views == {name: table_comment(t) for name, t in PUBLISHED.items()}
        assert con.execute("SELECT count(*) FROM duckdb_tables()").fetchall() == [(0,)]  # views only, no data
        for table, spec in PUBLISHED.items():
            cols = con.execute(
                "SELECT column_name, data_type, comment FROM duckdb_columns() WHERE table_name = ? ORDER BY column_index",
                [table],
            ).fetchall()
            assert [c[0] for c in cols] == spec.column_names, table  # in contract order, year first
            assert [c[2] for c in cols] == [column_comment(c) for c in spec.columns], table
            if spec.yearly:
                assert cols[0][:2] == ("year", "BIGINT"), table
            got = con.sql(f'SELECT * FROM "{table}"').pl()
            assert normalized(table, got).equals(expected(table)), table
        sql = " ".join(s for (s,) in con.execute("SELECT sql FROM duckdb_views() WHERE NOT internal").fetchall())
        assert "restricted" not in sql and f"{golden}/published/" in sql
    finally:
        con.close()
    # the comments carry the dictionary's words: name, meaning and what an empty value means
    grade = next(c for c in PUBLISHED["integrity_assessment"].columns if c.name == "grade")
    assert column_comment(grade).startswith("等次：") and "为空表示：未评定" in column_comment(grade)


def test_database_read_by_another_process(golden):
    """A BI tool is another program: a fresh Python with only duckdb opens the file read-only."""
    script = (
        "import duckdb, json, sys\n"
        "con = duckdb.connect(sys.argv[1], read_only=True)\n"
        "rows = con.execute('SELECT year, grade, count(*) FROM integrity_assessment GROUP BY ALL ORDER BY ALL').fetchall()\n"
        "units = con.execute('SELECT unit_code, path FROM units ORDER BY depth').fetchall()\n"
        "print(json.dumps({'rows': rows, 'units': units}, ensure_ascii=False))\n"
    )
    out = subprocess.run([sys.executable, "-c", script, str(golden / DATABASE)], capture_output=True, text=True, cwd="/", timeout=120)
    assert out.returncode == 0, out.stderr
    got = json.loads(out.stdout)
    # golden integrity rows: 2023 好 P001, 较差 P002; 2024 一般 P001 P003, 较好 P002, none P005
    assert got["rows"] == [[2023, "好", 1], [2023, "较差", 1], [2024, "一般", 2], [2024, "较好", 1], [2024, None, 1]]
    assert got["units"][-1] == ["U01", "某省人民检察院 / 某市人民检察院 / 甲县人民检察院"]


def test_database_follows_each_publish_and_is_written_only_when_its_views_change(tmp_path, monkeypatch):
    """The views read the ``published`` link, so a second version of the same tables keeps the file
    (the same inode; DuckDB not even connected to) and its views show the new version; when a view
    changes (a table that had no file gets one) or the record of what the file was written from is
    gone, a new file is written and renamed over the old one."""
    from lianjian.publish import bi_database

    wh = tmp_path / "wh"
    P.publish_tables(wh, {}, ingest_report=None, run_id="empty", rules_version="x", rules_sha256="0" * 64, code_version_="t")
    empty_inode = (wh / DATABASE).stat().st_ino
    publish_golden(wh, run_id="one")  # the tables now have files: other views
    inode = (wh / DATABASE).stat().st_ino
    assert inode != empty_inode
    old = duckdb.connect(str(wh / DATABASE), read_only=True)
    connects = []
    real_connect = duckdb.connect
    monkeypatch.setattr(duckdb, "connect", lambda *a, **k: connects.append(a) or real_connect(*a, **k))
    publish_golden(wh, run_id="two", variant=1)  # P001's 2024 self score 90 -> 91
    assert (wh / DATABASE).stat().st_ino == inode and connects == []  # kept: the same views
    assert [p.name for p in wh.iterdir() if p.name.startswith(f".{DATABASE}")] == []
    new = real_connect(str(wh / DATABASE), read_only=True)
    query = "SELECT self_score FROM integrity_assessment WHERE person_id = 'P001' AND year = 2024"
    assert new.execute(query).fetchall() == [(91.0,)]
    # a connection opened before still works: its views read the published link, now the new version
    assert old.execute(query).fetchall() == [(91.0,)]
    old.close()
    new.close()
    (wh / bi_database.RECORD).unlink()
    publish_golden(wh, run_id="three")
    assert (wh / DATABASE).stat().st_ino != inode and len(connects) == 1  # no record: written again
    assert ((wh / bi_database.RECORD).stat().st_mode & 0o777) == 0o600
    # something a SQL tool created in it is gone at the next run, as documented (docs/bi.md)
    tool = real_connect(str(wh / DATABASE))
    tool.execute("CREATE TABLE scratch AS SELECT 1 AS x")
    tool.close()
    publish_golden(wh, run_id="four")
    assert len(connects) == 2
    again = real_connect(str(wh / DATABASE), read_only=True)
    assert again.execute("SELECT count(*) FROM information_schema.tables WHERE table_name = 'scratch'").fetchall() == [(0,)]
    again.close()


def test_database_of_a_table_without_files_is_an_empty_typed_view(tmp_path):
    """A yearly table with no year at all has no file; its view is empty but has the contract's types."""
    wh = tmp_path / "wh"
    P.publish_tables(wh, {}, ingest_report=None, run_id="empty", rules_version="x", rules_sha256="0" * 64, code_version_="t")
    con = duckdb.connect(str(wh / DATABASE), read_only=True)
    rel = con.sql("SELECT * FROM integrity_assessment")
    assert rel.columns == PUBLISHED["integrity_assessment"].column_names
    assert str(rel.types[0]) == "BIGINT" and rel.fetchall() == []
    assert con.execute("SELECT count(*) FROM codes").fetchall() == [(len(codes_table()),)]
    con.close()


# --------------------------------------------------------------------------------------------------
# Dimension tables


def test_units_path_levels_and_parents():
    """By hand: P1 (province) → C1 (city) → U01 (county) → X1 (county, a branch below a county), and a
    city CX without a province; the nearest unit of each level is named, the path runs from the top."""
    staged = pl.DataFrame(
        {
            "unit_code": ["U01", "C1", "P1", "X1", "CX"],
            "unit_name": ["甲县人民检察院", "某市人民检察院", "某省人民检察院", "甲县派出检察室", "独立市院"],
            "level": ["county", "city", "province", "county", "city"],
            "parent_code": ["C1", "P1", None, "U01", None],
        }
    )
    got = units_table(staged).sort("unit_code")
    want = P.prepare("units", pl.DataFrame(units_rows(), schema=PUBLISHED["units"].schema()))
    assert P.prepare("units", got.filter(pl.col("unit_code").is_in(["P1", "C1", "U01"]))).equals(want)
    x1 = got.filter(pl.col("unit_code") == "X1").row(0, named=True)
    assert x1["county_code"] == "X1" and x1["city_code"] == "C1" and x1["province_code"] == "P1"  # nearest county: itself
    assert x1["depth"] == 3 and x1["parent_name"] == "甲县人民检察院"
    assert x1["path"] == "某省人民检察院 / 某市人民检察院 / 甲县人民检察院 / 甲县派出检察室"
    cx = got.filter(pl.col("unit_code") == "CX").row(0, named=True)
    assert (cx["province_code"], cx["city_code"], cx["depth"], cx["path"]) == (None, "CX", 0, "独立市院")


def test_units_parent_cycle_ends():
    staged = pl.DataFrame({"unit_code": ["A", "B"], "unit_name": ["甲", "乙"], "level": ["city", "county"], "parent_code": ["B", "A"]})
    got = units_table(staged)
    assert got.height == 2 and set(got["city_code"]) == {"A"}


def test_codes_list_every_code_with_its_label_and_order():
    codes = codes_table()
    grade = codes.filter((pl.col("table") == "integrity_assessment") & (pl.col("column") == "grade")).sort("sort_order")
    assert grade.select("code", "label", "sort_order").rows() == [("好", "好", 1), ("较好", "较好", 2), ("一般", "一般", 3), ("较差", "较差", 4)]
    status = dict(codes.filter((pl.col("table") == "integrity_assessment") & (pl.col("column") == "status")).select("code", "label").rows())
    assert status == {"graded": "已评定", "incomplete": "材料不全", "signoff_pending": "待签字"}
    level = codes.filter(pl.col("table") == "units").select("column", "code", "label").rows()
    assert level == [("level", "province", "省级"), ("level", "city", "市级"), ("level", "county", "县级")]
    # every enumeration column of every published table is there, and nothing else
    enum_columns = {(t, c.name) for t, spec in PUBLISHED.items() for c in spec.columns if c.enum is not None or c.labels_of}
    assert set(codes.select("table", "column").unique().rows()) == enum_columns
    assert ("responsibility_assessment", "grade") in enum_columns and ("talk_obligations", "obligation") in enum_columns


def test_bi_join_names_units_and_codes(golden):
    """What a dashboard does: grades with unit names and Chinese status labels, by joins only."""
    con = duckdb.connect(str(golden / DATABASE), read_only=True)
    rows = con.execute(
        """
        SELECT u.unit_name, u.city_name, d.dept_name, c.label AS status, count(*) AS people
        FROM integrity_assessment a
        JOIN units u USING (unit_code)
        LEFT JOIN departments d USING (year, unit_code, dept_code)
        JOIN codes c ON c."table" = 'integrity_assessment' AND c."column" = 'status' AND c.code = a.status
        WHERE a.year = 2024 GROUP BY ALL ORDER BY ALL
        """
    ).fetchall()
    con.close()
    assert rows == [  # DuckDB sorts nulls last
        ("甲县人民检察院", "某市人民检察院", "第一检察部", "已评定", 1),  # P001
        ("甲县人民检察院", "某市人民检察院", "第一检察部", "材料不全", 1),  # P005
        ("甲县人民检察院", "某市人民检察院", None, "已评定", 1),  # P003, no department
        ("甲县人民检察院", "某市人民检察院", None, "待签字", 1),  # P002, no department
    ]


# --------------------------------------------------------------------------------------------------
# Empty values


def test_empty_is_spelled_one_way():
    """An empty text becomes null, a null list the empty list; other values pass unchanged."""
    rows = golden_tables()["accountability_triggers"].with_columns(
        subject_name=pl.lit(""), evidence=pl.lit(None, dtype=pl.List(pl.String)), basis=pl.lit(" ")
    )
    out = P.prepare("accountability_triggers", rows)
    n = rows.height
    assert out["subject_name"].to_list() == [None] * n and out["evidence"].to_list() == [[]] * n
    assert out["basis"].to_list() == [" "] * n


def test_every_column_that_can_be_empty_says_what_it_means():
    """The golden tables' nulls are all in columns with a declared meaning; the schema check counts a
    null where the declaration says the column is never empty."""
    for table, frame in golden_tables().items():
        for c in PUBLISHED[table].columns:
            if frame[c.name].null_count():
                assert c.nullable and c.empty, (table, c.name)
    d = json.loads(P.dictionary_bytes())
    grade = next(c for c in d["tables"]["integrity_assessment"]["columns"] if c["name"] == "grade")
    assert grade["empty"].startswith("未评定")
    name = next(c for c in d["tables"]["integrity_assessment"]["columns"] if c["name"] == "name")
    assert name["empty"] is None


def test_schema_check_reports_an_undeclared_empty_value(tmp_path):
    tables = golden_tables()
    tables["integrity_assessment"] = tables["integrity_assessment"].with_columns(
        name=pl.when(pl.col("person_id") == "P003").then(None).otherwise(pl.col("name"))
    )
    result = P.publish_tables(tmp_path, tables, ingest_report=None, run_id="x", rules_version="x", rules_sha256="0" * 64, code_version_="t")
    got = P.schema_problems(tmp_path, "integrity_assessment")
    assert not got["passed"] and got["unexpected_empty"] == {"name": 1} and got["types_match"]
    assert P.schema_problems(tmp_path, "responsibility_assessment")["passed"]
    # what the publish step reports, found in each file as it was written, is what reading the
    # published tables back finds (the check no longer reads them after the switch)
    for table in P.OUTPUTS:
        assert result.schema[table] == P.schema_problems(tmp_path, table), table
    published = P.read_published(tmp_path, "integrity_assessment").collect()
    assert result.grades["integrity_assessment"] == [
        {"year": y, "grades": dict(published.filter(pl.col("year") == y).group_by("grade").len().iter_rows())}
        for y in sorted(published["year"].unique())
    ]


def test_demo_run_published_tables_pass_the_schema_check_and_read_the_same_through_the_database(demo_run):
    _, warehouse = demo_run
    con = duckdb.connect(str(warehouse / DATABASE), read_only=True)
    for table in PUBLISHED:
        problems = P.schema_problems(warehouse, table)
        assert problems["passed"], (table, problems)
        via_db = normalized(table, con.sql(f'SELECT * FROM "{table}"').pl())
        assert via_db.equals(P.read_published(warehouse, table).collect()), table
    con.close()
    assert os.access(warehouse / DATABASE, os.R_OK)


def test_database_views_and_comments_are_written_in_one_transaction(tmp_path, monkeypatch):
    """Every view and comment in one transaction, committed once (each statement committed on its
    own cost ≈ 0.5 s of a publish), then checkpointed: the file has them all."""
    from lianjian.publish import bi_database

    statements: list[str] = []
    real_connect = duckdb.connect

    class Recording:
        def __init__(self, con):
            self.con = con

        def execute(self, sql, *args):
            statements.append(sql.split(" ", 2)[0] + (" " + sql.split(" ", 2)[1] if sql.startswith("COMMENT") else ""))
            return self.con.execute(sql, *args)

        def close(self):
            self.con.close()

    monkeypatch.setattr(duckdb, "connect", lambda *a, **k: Recording(real_connect(*a, **k)))
    publish_golden(tmp_path / "wh")
    assert statements[0] == "BEGIN" and statements[-2:] == ["COMMIT", "CHECKPOINT"], statements[:3] + statements[-3:]
    assert statements.count("COMMIT") == 1 and statements.count("CREATE") == len(PUBLISHED)
    monkeypatch.undo()
    con = duckdb.connect(str(tmp_path / "wh" / DATABASE), read_only=True)
    try:
        assert {v for (v,) in con.execute("SELECT view_name FROM duckdb_views() WHERE NOT internal").fetchall()} == set(PUBLISHED)
        comments = con.execute("SELECT count(*) FROM duckdb_columns() WHERE comment IS NOT NULL AND NOT internal").fetchone()[0]
        assert comments == sum(len(t.columns) for t in PUBLISHED.values())
    finally:
        con.close()
    assert bi_database.DATABASE == DATABASE


def test_the_database_can_be_written_beside_the_caller_under_the_publish_lock(tmp_path, monkeypatch):
    """``publish_tables(finish_beside=True)`` returns once the new version is current, while the
    database is written on a thread under the publish lock (another publisher waits for it);
    ``finish`` waits for it and raises its failure, the lock released either way."""
    import fcntl
    import threading

    from lianjian.errors import FatalError
    from support_publish import golden_leads, ingest_report

    def lock_free(wh: Path) -> bool:
        with open(wh / ".versions" / ".lock", "a+") as f:
            try:
                fcntl.flock(f.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                return False
            fcntl.flock(f.fileno(), fcntl.LOCK_UN)
            return True

    def publish(wh: Path):
        return P.publish_tables(
            wh, golden_tables(), ingest_report=ingest_report("a" * 64), run_id="beside", rules_version="x",
            rules_sha256="0" * 64, code_version_="t", restricted={"review_leads": golden_leads()}, finish_beside=True,
        )

    go = threading.Event()
    real = P.write_bi_database
    threads: list[int] = []
    monkeypatch.setattr(P, "write_bi_database", lambda wh: threads.append(threading.get_ident()) or go.wait(20) and real(wh))
    wh = tmp_path / "wh"
    result = publish(wh)
    assert P.read_manifest(wh)["run_id"] == "beside"  # current before the database is written
    assert not (wh / DATABASE).exists() and not lock_free(wh)
    go.set()
    result.finish()
    assert (wh / DATABASE).is_file() and lock_free(wh) and threads and threads[0] != threading.get_ident()
    con = duckdb.connect(str(wh / DATABASE), read_only=True)
    assert con.execute("SELECT count(*) FROM units").fetchall()[0][0] == golden_tables()["units"].height
    con.close()

    def fails(wh: Path):
        raise FatalError("BI 数据库: 无法写入")

    monkeypatch.setattr(P, "write_bi_database", fails)
    failing = tmp_path / "failing"
    result = publish(failing)
    with pytest.raises(FatalError, match="BI 数据库"):
        result.finish()
    assert P.read_manifest(failing)["run_id"] == "beside" and lock_free(failing)
