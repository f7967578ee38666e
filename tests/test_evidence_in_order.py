"""R2's and R3's evidence rows come in the total order publishing writes ``assessment_evidence`` in
(``lianjian.scoring.evidence.PUBLISHED_ORDER``: the key, then every other column, empty text and null
lists spelled as publish spells them, empty values last), so R8's year files are written in the
published form without a sort (``lianjian.publish.publish.IN_ORDER``; docs/performance.md, "Evidence
in publish's order"). The published bytes are those of before: the rows sorted by publish."""

from __future__ import annotations

import hashlib
from pathlib import Path

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import lianjian.publish.publish as P
from lianjian.scoring.evidence import EVIDENCE, assessment_evidence, merged_evidence

TABLE = "assessment_evidence"
SCHEMA = EVIDENCE.schema()

# few distinct values, so that ties, empty text and nulls meet in every column of the order
TEXT = st.sampled_from([None, "", "a", "b", "P001"])
ROW = st.fixed_dictionaries(
    {
        "year": st.sampled_from([2024, 2025]),
        "unit_code": TEXT,
        "assessment": st.sampled_from(["integrity", "responsibility"]),
        "subject_kind": st.sampled_from([None, "person", "leader"]),
        "subject_id": TEXT,
        "component": st.sampled_from(["veto", "peer_score", ""]),
        "value": st.sampled_from([None, 0.0, 1.5, -2.0]),
        "record_ids": st.sampled_from([None, [], ["a"], ["a", "b"], ["b"], [""]]),
        "rule": st.sampled_from(["R2.veto", "R2.review.peer", ""]),
    }
)
BASES = (None, "", "第四条", "二（四）")


def _frame(rows: list[dict]) -> pl.DataFrame:
    """The rows, each with its basis as ``finish_evidence`` gives it: a function of (year, assessment,
    subject_kind, rule) — so the sort may leave the basis out."""
    def basis(r: dict) -> str | None:
        return r.get("basis", BASES[sum(map(ord, f"{r['year']}{r['assessment']}{r['subject_kind']}{r['rule']}")) % len(BASES)])

    return pl.DataFrame([{**r, "basis": basis(r)} for r in rows], schema=SCHEMA)


@settings(max_examples=150, deadline=None)
@given(st.lists(ROW, max_size=40))
def test_the_evidence_order_is_publishs_total_order(rows):
    """Publish's own sort of R2's and R3's sorted rows moves none of them, whatever the ties, empty
    text, null values and null lists: not sorting them gives publish's rows."""
    frame = _frame(rows)
    parts = [frame.filter(pl.col("assessment") == a).lazy() for a in ("integrity", "responsibility")]
    ordered = assessment_evidence(*parts).collect()
    assert ordered.sort(list(SCHEMA)).equals(frame.sort(list(SCHEMA)))  # the same rows
    published = P.prepare(TABLE, frame)  # publish's sort of the rows as they came
    assert P._prepared(TABLE, ordered, ordered=True)[0].equals(published)
    # and so R8's merge of the two parts, year after year, as the IO manager computes it
    years = sorted(set(frame["year"]))
    merged = merged_evidence(years, integrity=parts[0].pipe(assessment_evidence), responsibility=parts[1].pipe(assessment_evidence))
    assert P._prepared(TABLE, merged.collect(), ordered=True)[0].equals(published)


def test_the_basis_is_a_function_of_what_comes_before_it_in_the_order(demo_run):
    """Why the sort may leave the basis out: in the demo's evidence every (year, assessment,
    subject_kind, rule) has one basis (``finish_evidence``), so two rows tied on the other columns
    are tied on it too."""
    from pipelines.io_manager import scan_published_form

    _, wh = demo_run
    files = sorted((wh / "assessed" / TABLE).glob("*.parquet"))
    rows = scan_published_form(TABLE, [(f.stem, f) for f in files]).collect()
    per = rows.group_by("year", "assessment", "subject_kind", "rule").agg(pl.col("basis").n_unique().alias("n"))
    assert per.height > 20 and per["n"].max() == 1
    # and the sort does leave it out (sorting on the long text cost a third more)
    from lianjian.scoring.evidence import _SORTED_BY, PUBLISHED_ORDER

    names = [e.meta.output_name() for e in PUBLISHED_ORDER]
    assert names[-1] == "basis" and [e.meta.output_name() for e in _SORTED_BY] == names[:-1]


def test_the_former_order_was_not_publishs():
    """Why R8 sorted again before: the key with empty values first is not publish's order."""
    rows = [
        {"year": 2025, "assessment": "integrity", "subject_kind": "person", "subject_id": "P1", "component": "veto",
         "rule": "R2.veto", "record_ids": [], "unit_code": "U1", "value": None, "basis": "x"},
        {"year": 2025, "assessment": "integrity", "subject_kind": None, "subject_id": None, "component": "integrity.weights.peer",
         "rule": "R2.review", "record_ids": [], "unit_code": None, "value": 0.3, "basis": "x"},
    ]
    ordered = assessment_evidence(_frame(rows).lazy()).collect()
    assert ordered["subject_kind"].to_list() == ["person", None]  # settings rows last, as publish puts them
    assert P.prepare(TABLE, _frame(rows))["subject_kind"].to_list() == ["person", None]


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _evidence_year(demo_run) -> pl.DataFrame:
    """The demo's evidence of its largest year, as R8 hands it to the IO manager (with ``year``)."""
    from pipelines.io_manager import scan_published_form

    _, wh = demo_run
    files = sorted((wh / "assessed" / TABLE).glob("*.parquet"), key=lambda f: f.stat().st_size)
    return scan_published_form(TABLE, [(files[-1].stem, files[-1])]).collect()


def test_the_published_form_is_written_without_a_sort_and_with_the_same_bytes(demo_run, tmp_path, monkeypatch):
    """R8's rows, in order, are written without ``DataFrame.sort`` and give the bytes of the rows
    sorted by publish (one chunk either way)."""
    rows = _evidence_year(demo_run)
    assert rows.height > 100
    parts = pl.concat([rows.slice(0, rows.height // 2), rows.slice(rows.height // 2)], rechunk=False)
    assert parts.n_chunks() == 2
    write = lambda frame, to: frame.write_parquet(to, **P.WRITER)  # noqa: E731
    sorted_once = tmp_path / "sorted.parquet"
    write(P.prepare(TABLE, rows.reverse()).drop(P.PARTITION), sorted_once)  # publish's sort of the same rows

    calls = []
    real_sort = pl.DataFrame.sort
    monkeypatch.setattr(pl.DataFrame, "sort", lambda self, *a, **k: calls.append(a) or real_sort(self, *a, **k))
    entry = P.write_published_form(TABLE, parts, tmp_path / "formed.parquet", write)
    assert calls == []
    assert entry["sha256"] == _sha(sorted_once) == _sha(tmp_path / "formed.parquet")


def test_an_identity_number_is_masked_and_the_rows_sorted_again(demo_run, tmp_path):
    """Masking changes the text, so it may change the order: then publish's sort runs as before (the
    rows handed over here are in reverse order: only a sort puts them back)."""
    from support_publish import with_check_digit

    rows = _evidence_year(demo_run)
    first = rows.row(0, named=True)["subject_id"]
    leaked = "A" + with_check_digit("11010519491231002")
    spoiled = rows.with_columns(
        pl.when(pl.col("subject_id") == first).then(pl.lit(leaked)).otherwise(pl.col("subject_id")).alias("subject_id")
    ).reverse()
    write = lambda frame, to: frame.write_parquet(to, **P.WRITER)  # noqa: E731
    entry = P.write_published_form(TABLE, spoiled, tmp_path / "formed.parquet", write)
    reference = tmp_path / "reference.parquet"
    write(P.prepare(TABLE, spoiled.sample(fraction=1.0, shuffle=True, seed=3)).drop(P.PARTITION), reference)
    assert _sha(reference) == _sha(tmp_path / "formed.parquet") == entry["sha256"]
    assert leaked.encode() not in reference.read_bytes()


@pytest.mark.parametrize("table", sorted(P.IN_ORDER))
def test_only_published_form_tables_skip_the_sort(table):
    assert table in P.PUBLISHED_FORM


def test_a_derived_step_does_not_sort_its_rows_again(monkeypatch):
    """The scoring functions give their rows in the table-key order (tests/test_scoring_outputs.py::
    test_rows_come_in_the_key_order): the derived step keeps the run's years in that order, without
    a second sort (R1: 5.4 M rows at national)."""
    from types import SimpleNamespace

    from assets.derived import _done

    calls = []
    real_sort = pl.DataFrame.sort
    monkeypatch.setattr(pl.DataFrame, "sort", lambda self, *a, **k: calls.append(a) or real_sort(self, *a, **k))
    metadata = []
    context = SimpleNamespace(partition_keys=["2024", "2025"], add_asset_metadata=lambda m, partition_key: metadata.append((partition_key, m)))
    rows = pl.concat(
        [pl.LazyFrame({"year": [2023, 2024], "person_id": ["P9", "P2"]}), pl.LazyFrame({"year": [2024, 2025], "person_id": ["P1", "P3"]})]
    )
    out = _done(context, rows, people=pl.len())
    assert calls == []
    assert out.n_chunks() == 1  # as a sort gave it: the year files' bytes follow the chunks
    assert out.rows() == [(2024, "P2"), (2024, "P1"), (2025, "P3")]  # as given, the other years left out
    assert [(k, m["people"].value) for k, m in metadata] == [("2024", 2), ("2025", 1)]


@settings(max_examples=150, deadline=None)
@given(st.lists(ROW, max_size=40), st.sampled_from([2024, 2025]), st.sampled_from(["integrity", "responsibility"]))
def test_a_years_evidence_sorted_without_year_and_assessment_is_in_the_order(rows, year, assessment):
    """A year of R2 or R3 (``year_evidence_in_order``): the rows of one year and one assessment sorted
    by the order without its first two columns are the rows ``assessment_evidence`` gives, whatever
    the ties, empty text, nulls and null lists; rows of several years or assessments, or with an
    empty assessment, are sorted by the whole order."""
    from lianjian.scoring.evidence import year_evidence_in_order

    one = _frame([{**r, "year": year, "assessment": assessment} for r in rows])
    assert year_evidence_in_order(one).equals(assessment_evidence(one.lazy()).collect())
    mixed = _frame(rows)
    assert year_evidence_in_order(mixed).equals(assessment_evidence(mixed.lazy()).collect())
    if rows:
        empty = one.with_columns(pl.when(pl.int_range(pl.len()) == 0).then(pl.lit("")).otherwise("assessment").alias("assessment"))
        assert year_evidence_in_order(empty).equals(assessment_evidence(empty.lazy()).collect())


def test_a_years_evidence_is_sorted_without_year_and_assessment(monkeypatch):
    """The sort of a year of R2 or R3 leaves out the two columns that hold one value throughout."""
    from lianjian.scoring.evidence import PUBLISHED_ORDER, year_evidence_in_order

    seen: list[list[str]] = []
    sort = pl.DataFrame.sort

    def recording(self, by, *more, **kwargs):
        seen.append([b.meta.output_name() if isinstance(b, pl.Expr) else b for b in by])
        return sort(self, by, *more, **kwargs)

    monkeypatch.setattr(pl.DataFrame, "sort", recording)
    rows = [{"year": 2025, "unit_code": "U1", "assessment": "integrity", "subject_kind": "person", "subject_id": s,
             "component": "veto", "value": None, "record_ids": [], "rule": "R2.veto"} for s in ("P2", "P1")]
    out = year_evidence_in_order(_frame(rows))
    assert out["subject_id"].to_list() == ["P1", "P2"]
    assert seen == [[e.meta.output_name() for e in PUBLISHED_ORDER[2:-1]]]
