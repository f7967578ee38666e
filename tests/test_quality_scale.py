"""GX at scale: Great Expectations sees each column's distinct values (a few rows, whatever the table's
size), while the counts reported stay exact ROW counts. Golden numbers are worked out from the rows
built here; the property test recounts them in plain Python."""

from __future__ import annotations

import datetime as dt

import polars as pl
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lianjian.contract import SOURCES
from lianjian.quality.validate import run_suite

D = dt.date


def failed(result, fam: str, column: str | None = None, check: str | None = None):
    hits = [
        e for e in result.expectations
        if e.family == fam and (column is None or e.column == column) and (check is None or e.check == check)
    ]
    assert hits, (fam, column, check)
    return [e for e in hits if not e.success]


def big_talks() -> pl.DataFrame:
    """3,000 talks, i = 0..2999:
    - talk_type: must_talk for i < 1000, family for 1000 ≤ i < 2000, department for i ≥ 2000, except
      i ≥ 2900 (100 rows) 'tea_chat', not a contract code;
    - reason: none for i < 250 (250 must_talk rows without a reason), 'promotion' for the other must_talk;
    - interviewer_id: none for 1000 ≤ i < 2050 (1,000 family rows: allowed; 50 department rows: not);
    - interviewee_id: none when i % 100 == 0 (30 rows);
    - talk_id: T<i>, except rows 6 and 7 reuse T5 (3 rows share one key)."""
    n = 3000
    i = pl.int_range(n, eager=True).alias("i")
    frame = pl.DataFrame(i).select(
        talk_id=pl.when(pl.col("i").is_between(5, 7)).then(pl.lit("T5")).otherwise(pl.format("T{}", "i")),
        talk_date=pl.lit(D(2024, 1, 1)) + pl.duration(days=pl.col("i") % 365),
        talk_type=pl.when(pl.col("i") >= 2900).then(pl.lit("tea_chat"))
        .when(pl.col("i") < 1000).then(pl.lit("must_talk"))
        .when(pl.col("i") < 2000).then(pl.lit("family"))
        .otherwise(pl.lit("department")),
        interviewer_id=pl.when(pl.col("i").is_between(1000, 2049)).then(None).otherwise(pl.format("P{}", pl.col("i") % 7)),
        interviewee_id=pl.when(pl.col("i") % 100 == 0).then(None).otherwise(pl.format("Q{}", "i")),
        reason=pl.when(pl.col("i") < 250).then(None).when(pl.col("i") < 1000).then(pl.lit("promotion")),
        event_id=pl.lit(None, pl.String),
        witness_id=pl.lit(None, pl.String),
        form_filed=pl.lit(True),
        family_signed=pl.lit(None, pl.Boolean),
    )
    schema = SOURCES["talks"].staged_schema()
    # talk_type stays text so that 'tea_chat' can be there; every other column has the staged dtype
    return frame.cast({k: v for k, v in schema.items() if k != "talk_type"})


def test_gx_sees_distinct_values_and_reports_exact_row_counts():
    r = run_suite("talks", big_talks())
    assert r.rows == 3000

    # enum: the 100 'tea_chat' rows, of 3,000
    (enum,) = failed(r, "enum", "talk_type")
    assert (enum.unexpected_count, enum.element_count) == (100, 3000)
    assert enum.samples == ["tea_chat"]
    # must_talk without a reason: 250 of the 1,000 must_talk rows = 25 %
    (reason,) = failed(r, "conditional_required", "reason", check="must_talk_has_reason")
    assert (reason.unexpected_count, reason.element_count, reason.share) == (250, 1000, 0.25)
    # interviewer required unless family: rows not family = 3,000 − 1,000 = 2,000 (tea_chat included);
    # 50 department rows lack one: 50 / 2,000
    (interviewer,) = failed(r, "conditional_required", "interviewer_id")
    assert (interviewer.unexpected_count, interviewer.element_count) == (50, 2000)
    assert interviewer.share == 0.025
    # required interviewee: i % 100 == 0 for i < 3000 → 30 rows
    (interviewee,) = failed(r, "not_null", "interviewee_id")
    assert interviewee.unexpected_count == 30
    # key: T5 on rows 5, 6 and 7 → every row of the duplicated key counts: 3
    (key,) = failed(r, "unique_key")
    assert key.unexpected_count == 3 and key.samples == ["T5"]
    # nothing else fails (an enum reaches GX as text, so talk_type as text passes its type check)
    others = [e for e in r.expectations if not e.success and e.family not in {"enum", "conditional_required", "not_null", "unique_key"}]
    assert others == []

    # GX's own input was the distinct values, not 3,000 rows. The longest group is
    # (talk_type, interviewer_id, reason), with interviewer_id reduced to present/absent:
    # must_talk×present×{none, promotion} = 2, family×absent×none = 1,
    # department×{present, absent}×none = 2, tea_chat×present×none = 1 → 6 rows.
    info = r.gx_result["meta"]["lianjian"]
    assert (info["table_rows"], info["distinct_rows"]) == (3000, 6)


CATEGORIES = SOURCES["cases"].column("category").enum.codes


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(
        st.tuples(
            st.sampled_from(["C1", "C2", "C3", "C4", "C5", "C6"]),  # case_id: duplicates likely
            st.sampled_from([*CATEGORIES[:3], "bogus", None]),  # category (text): one bad code, or none
            st.sampled_from(["H1", "H2", None]),  # handler_id
            st.integers(0, 4),  # accepted: 2024-01-01 + n days
            st.one_of(st.none(), st.integers(0, 4)),  # closed: 2024-01-01 + n days, or none
        ),
        min_size=1,
        max_size=40,
    )
)
def test_counts_are_row_counts_whatever_the_repetition(rows):
    """Counted here in plain Python, row by row, and compared with the suite's outcome."""
    frame = SOURCES["cases"].staged_frame(
        [
            {"case_id": cid, "unit_code": "U1", "category": "other", "handler_id": h, "is_major": False,
             "accepted_date": D(2024, 1, 1) + dt.timedelta(days=a),
             "closed_date": None if c is None else D(2024, 1, 1) + dt.timedelta(days=c)}
            for cid, _, h, a, c in rows
        ]
    ).with_columns(category=pl.Series([cat for _, cat, *_ in rows], dtype=pl.String))
    ids = [cid for cid, *_ in rows]
    want = {
        "enum": sum(1 for _, cat, *_ in rows if cat == "bogus"),  # in-set ignores missing values
        "not_null category": sum(1 for _, cat, *_ in rows if cat is None),
        "not_null handler_id": sum(1 for _, _, h, _, _ in rows if h is None),
        "unique_key": sum(1 for cid in ids if ids.count(cid) > 1),
        "date_order": sum(1 for *_, a, c in rows if c is not None and c < a),
    }
    r = run_suite("cases", frame)

    def count(fam, column=None):
        return sum(e.unexpected_count for e in failed(r, fam, column))

    got = {
        "enum": count("enum", "category"),
        "not_null category": count("not_null", "category"),
        "not_null handler_id": count("not_null", "handler_id"),
        "unique_key": count("unique_key"),
        "date_order": count("date_order"),
    }
    assert got == want
    n = len(rows)
    for e in r.expectations:
        if e.family in {"enum", "not_null", "unique_key", "date_order"}:
            assert e.element_count == n and abs(e.share - e.unexpected_count / n) < 1e-12


def test_many_distinct_unexpected_values_are_all_counted():
    """More unexpected distinct values than GX lists by value (it caps that list at 200): 1,000 self
    reviews, i = 0..999 — score 101 + i for i < 300 (300 distinct values above 100, one row each),
    150 for 300 ≤ i < 600 (one value, 300 rows), i % 100 for i ≥ 600 (valid). Out of range:
    300 + 300 = 600 rows of 1,000."""
    frame = SOURCES["reviews"].staged_frame(
        [
            {"year": 2024, "person_id": f"P{i}", "reviewer_kind": "self",
             "score": float(101 + i if i < 300 else 150 if i < 600 else i % 100)}
            for i in range(1000)
        ]
    )
    r = run_suite("reviews", frame)
    (score,) = failed(r, "range", "score")
    assert (score.unexpected_count, score.element_count, score.share) == (600, 1000, 0.6)
    assert score.samples[0] == "150.0"  # the most frequent unexpected value first
    assert [e.family for e in r.expectations if not e.success] == ["range"]


def _outcomes(result) -> list[dict]:
    return [{k: v for k, v in vars(e).items()} for e in result.expectations]


def test_a_staged_file_is_validated_without_holding_the_table(tmp_path, monkeypatch):
    """A staged table validated from a lazy scan of its file, its content key known (what the suite
    worker and the suites' step do), gives the outcomes of the same table validated in memory —
    every family of big_talks' failures: 250 must_talk rows without a reason, 100 'tea_chat' types,
    50 department rows without an interviewer, 30 without an interviewee, three rows of T5 — while
    no query brings back the table: no collected frame has more than one column of 3,000 rows (the
    key check sorts one column of hashes; before, the whole table was collected first)."""
    frame = big_talks()
    path = tmp_path / "talks.parquet"
    frame.write_parquet(path)
    eager = run_suite("talks", frame, digest="d")

    seen: list[tuple[int, int]] = []
    collect, collect_all = pl.LazyFrame.collect, pl.collect_all

    def spy(df):
        if isinstance(df, pl.DataFrame):
            seen.append(df.shape)
        return df

    monkeypatch.setattr(pl.LazyFrame, "collect", lambda self, *a, **k: spy(collect(self, *a, **k)))
    monkeypatch.setattr(pl, "collect_all", lambda qs, *a, **k: [spy(df) for df in collect_all(qs, *a, **k)])
    lazy = run_suite("talks", pl.scan_parquet(path), digest="d")
    assert seen and not [s for s in seen if s[0] == 3000 and s[1] > 1], seen
    assert _outcomes(lazy) == _outcomes(eager)
    assert (lazy.rows, lazy.success, lazy.content_hash) == (3000, False, "d")
    unique = [e for e in lazy.expectations if e.family == "unique_key"]
    assert [(e.unexpected_count, e.element_count) for e in unique] == [(3, 3000)]


def big_cases(n: int = 70_000) -> pl.DataFrame:
    """``n`` cases (more than ``COUNT_SLICE`` codes), i = 0..n-1: the category cycles through the first
    five codes (three never occur); no quality rating when i % 3 == 0; no error type at all; no
    handler for i < 10 (the first rows: the representative is further on); closed three days before
    accepted when i % 1000 == 7 (70 rows break the date order); rows 1 and 2 share the key C0."""
    codes = SOURCES["cases"].column("category").enum.codes
    i = pl.int_range(n, eager=True).alias("i")
    frame = pl.DataFrame(i).select(
        case_id=pl.when(pl.col("i") <= 2).then(pl.lit("C0")).otherwise(pl.format("C{}", "i")),
        unit_code=pl.format("U{}", pl.col("i") % 13),
        category=pl.col("i").mod(5).replace_strict(list(range(5)), codes[:5]),
        handler_id=pl.when(pl.col("i") < 10).then(None).otherwise(pl.format("P{}", pl.col("i") % 97)),
        is_major=pl.col("i") % 17 == 0,
        accepted_date=pl.lit(D(2023, 1, 1)) + pl.duration(days=pl.col("i") % 700),
        closed_date=pl.lit(D(2023, 1, 1))
        + pl.duration(days=pl.col("i") % 700 + pl.when(pl.col("i") % 1000 == 7).then(-3).otherwise(pl.col("i") % 40)),
        outcome=pl.lit("prosecuted"),
        quality_rating=pl.when(pl.col("i") % 3 == 0).then(None).otherwise(pl.lit("qualified")),
        error_type=pl.lit(None, pl.String),
        dept_verified=pl.lit(True),
        supervisor_verified=pl.col("i") % 2 == 0,
        public_complaint=pl.lit(False),
    )
    return frame.cast(SOURCES["cases"].staged_schema())


def _gx_results(result) -> list:
    """The stored GX results without GX's random ids and times."""
    def plain(x):
        if isinstance(x, dict):
            return {k: plain(v) for k, v in x.items() if k not in ("id", "batch_id", "run_id", "run_time", "validation_time", "start_time", "end_time", "batch_markers")}
        return [plain(v) for v in x] if isinstance(x, list) else x

    return plain(result.gx_result)


def test_a_staged_files_footer_gives_its_counts_with_the_same_outcomes(tmp_path, monkeypatch):
    """Given the Parquet file a lazy staged table scans, its row and null counts come from the file's
    footer and each column's representative from its first rows: no query counts nulls over the table
    (without the file, one pass reads every column for them). The outcomes and the stored GX results
    are those of the same table validated from its scan without the file, and in memory — big_talks
    (an interviewee missing in the first row, two columns all null) and big_cases (a handler missing
    in the first ten rows, Enum codes counted, a date order broken, a repeated key)."""
    from lianjian.quality import validate

    for src, frame in (("talks", big_talks()), ("cases", big_cases())):
        path = tmp_path / f"{src}.parquet"
        frame.write_parquet(path)
        footer = validate.read_footer(path, frame.columns)
        assert footer is not None and footer.rows == frame.height
        assert footer.nulls == {c: frame[c].null_count() for c in frame.columns}
        eager = run_suite(src, frame, digest="d")
        scanned = run_suite(src, pl.scan_parquet(path), digest="d")

        counted: list[list[str]] = []
        collect_all = pl.collect_all

        def spy(queries, *a, **k):
            found = collect_all(queries, *a, **k)
            counted.extend(df.columns for df in found if any(c.startswith(validate.NULLS) for c in df.columns))
            return found

        monkeypatch.setattr(pl, "collect_all", spy)
        footed = run_suite(src, pl.scan_parquet(path), digest="d", file=path)
        monkeypatch.setattr(pl, "collect_all", collect_all)
        assert counted == [], counted
        assert _outcomes(footed) == _outcomes(scanned) == _outcomes(eager)
        assert _gx_results(footed) == _gx_results(scanned) == _gx_results(eager)
    cases = {(e.family, e.column): e.unexpected_count for e in footed.expectations if not e.success}
    assert cases == {("not_null", "handler_id"): 10, ("date_order", "accepted_date,closed_date"): 70, ("unique_key", "case_id"): 3}


def test_a_footer_without_null_counts_is_not_used(tmp_path):
    """A file written without statistics has no null counts in its footer: the table is counted by
    reading it, with the same outcomes."""
    from lianjian.quality import validate

    frame = big_cases(3_000)
    path = tmp_path / "cases.parquet"
    frame.write_parquet(path, statistics=False)
    assert validate.read_footer(path, frame.columns) is None
    footed = run_suite("cases", pl.scan_parquet(path), digest="d", file=path)
    assert _outcomes(footed) == _outcomes(run_suite("cases", frame, digest="d"))


def test_an_enum_column_is_counted_by_its_codes_as_a_group_by_counts_it():
    """Each code's rows and the null rows, codes that never occur left out: the rows, dtypes and
    order (after the groups' sort) of a group-by of the column, across several counted slices."""
    from lianjian.quality import validate

    codes = SOURCES["cases"].column("outcome").enum.codes
    n = 3 * validate.COUNT_SLICE + 11
    values = [None if i % 7 == 0 else codes[(i * i) % 5 + 2] for i in range(n)]
    column = pl.Series("outcome", values, dtype=pl.Enum(codes))
    weight = pl.get_index_type()
    by_codes = validate._enum_counts(column, weight).sort("outcome", nulls_last=True)
    grouped = column.to_frame().group_by("outcome").agg(pl.len().alias(validate.WEIGHT)).sort("outcome", nulls_last=True)
    assert by_codes.schema == grouped.schema
    assert by_codes.equals(grouped)
    assert validate._enum_counts(column.clear(), weight).height == 0


def test_a_date_order_nobody_breaks_is_not_counted_again(tmp_path, monkeypatch):
    """When GX flags no earlier date, no row breaks the order: the rows are not filtered and counted
    again (no query looks the flagged dates up), and the outcome is a success over every row."""

    frame = big_cases(3_000).with_columns(closed_date=pl.col("accepted_date") + pl.duration(days=1))
    path = tmp_path / "cases.parquet"
    frame.write_parquet(path)
    plans: list[str] = []
    collect_all = pl.collect_all

    def spy(queries, *a, **k):
        plans.extend(q.explain() for q in queries)
        return collect_all(queries, *a, **k)

    monkeypatch.setattr(pl, "collect_all", spy)
    r = run_suite("cases", pl.scan_parquet(path), digest="d", file=path)
    order = [e for e in r.expectations if e.family == "date_order"]
    assert [(e.success, e.unexpected_count, e.element_count, e.samples) for e in order] == [(True, 0, 3000, [])]
    assert plans and not [p for p in plans if "is_in" in p]
