"""GX suites generated from the contract: for each expectation family a crafted bad table fails it
with the expected count, and the good table passes. Counts are worked out from the rows below."""

from __future__ import annotations

import datetime as dt

import polars as pl
import pytest

from lianjian.contract import SOURCES
from lianjian.quality.suites import build_suite, expectations_for
from lianjian.quality.validate import run_suite, validate_cached
from support_quality import good_rows, staged


def family(result, fam: str, column: str | None = None):
    """The summed unexpected count of the failed expectations of one family (and column)."""
    hits = [e for e in result.expectations if e.family == fam and (column is None or e.column == column)]
    assert hits, f"no {fam} expectation for {column}"
    return sum(e.unexpected_count for e in hits if not e.success)


def rows(src: str) -> list[dict]:
    return [dict(r) for r in good_rows()[src]]


def test_every_source_has_a_generated_suite_with_its_families():
    for src, s in SOURCES.items():
        fams = {e.meta["family"] for e in expectations_for(src)}
        assert {"columns", "types", "not_null", "unique_key"} <= fams, src
        assert ("row_count" in fams) == s.required
        assert ("enum" in fams) == any(c.enum is not None for c in s.columns if not c.personal)
    # personal columns never reach the staged table, so no suite mentions them
    assert all("id_number" not in str(e.configuration.to_json_dict()) for e in expectations_for("personnel"))
    assert build_suite("cases").name == "staged.cases"


@pytest.mark.parametrize("src", list(SOURCES))
def test_good_tables_pass_every_expectation(src):
    r = run_suite(src, staged()[src])
    assert [e.zh for e in r.expectations if not e.success] == []
    assert r.success


def test_columns_missing_and_extra():
    frame = staged()["units"].drop("unit_name").with_columns(extra=pl.lit("x"))
    r = run_suite("units", frame)
    # one missing (unit_name) + one extra (extra) = 2
    assert family(r, "columns") == 2
    assert any("缺少 unit_name" in s for e in r.expectations for s in e.samples)


def test_types_follow_the_contract():
    frame = staged()["personnel"].with_columns(pl.col("year").cast(pl.Int32), pl.col("hire_date").cast(pl.String))
    r = run_suite("personnel", frame)
    # year (Int32 instead of Int64) and hire_date (text instead of date): one column each
    assert family(r, "types", "year") == 1
    assert family(r, "types", "hire_date") == 1
    assert family(r, "types", "name") == 0


def test_required_values_not_null():
    bad = rows("cases")
    bad[0]["handler_id"] = None
    bad[1]["handler_id"] = None
    bad[1]["accepted_date"] = None
    r = run_suite("cases", SOURCES["cases"].staged_frame(bad))
    assert family(r, "not_null", "handler_id") == 2
    assert family(r, "not_null", "accepted_date") == 1
    assert not any(e.column == "closed_date" and e.family == "not_null" for e in r.expectations)  # optional


def test_enumeration_sets():
    frame = staged()["talks"].with_columns(pl.col("talk_type").cast(pl.String))
    frame = frame.with_columns(pl.when(pl.col("talk_id") == "T2").then(pl.lit("tea_chat")).otherwise("talk_type").alias("talk_type"))
    r = run_suite("talks", frame)
    assert family(r, "enum", "talk_type") == 1  # T2 only


def test_ranges_years_scores_votes():
    rv = rows("reviews")
    rv[0]["score"] = 100.5
    rv[1]["year"] = 1999
    r = run_suite("reviews", SOURCES["reviews"].staged_frame(rv))
    assert family(r, "range", "score") == 1
    assert family(r, "range", "year") == 1
    votes = rows("democratic_votes")
    votes[0]["votes_poor"] = -1
    r = run_suite("democratic_votes", SOURCES["democratic_votes"].staged_frame(votes))
    assert family(r, "range", "votes_poor") == 1
    assert family(r, "range", "votes_good") == 0


def test_key_uniqueness_single_and_compound():
    cases = rows("cases")
    cases[1]["case_id"] = "C1"
    r = run_suite("cases", SOURCES["cases"].staged_frame(cases))
    assert family(r, "unique_key") == 2  # both rows of the duplicated key
    people = rows("personnel")
    people[3]["person_id"] = "P3"  # (2024, P3) twice
    r = run_suite("personnel", SOURCES["personnel"].staged_frame(people))
    assert family(r, "unique_key") == 2


def test_unit_code_pattern():
    units = rows("units") + [{"unit_code": "U 3", "unit_name": "x", "level": "county"},
                             {"unit_code": "U" * 33, "unit_name": "y", "level": "county"}]
    r = run_suite("units", SOURCES["units"].staged_frame(units))
    assert family(r, "pattern", "unit_code") == 2  # a space; 33 characters


def test_row_count_only_for_required_sources():
    r = run_suite("talks", SOURCES["talks"].staged_frame([]))
    assert family(r, "row_count") == 1
    assert run_suite("reviews", SOURCES["reviews"].staged_frame([])).success  # optional: may be empty


def test_date_order():
    cases = rows("cases")
    cases[0]["closed_date"] = dt.date(2023, 12, 31)  # accepted 2024-01-02
    r = run_suite("cases", SOURCES["cases"].staged_frame(cases))
    assert family(r, "date_order") == 1  # C2 has no closed date: ignored


def test_must_talk_needs_a_reason_and_interviewer_unless_family():
    talks = rows("talks")
    talks[0]["reason"] = None  # T1 is must_talk
    talks[1]["reason"] = None  # T2 is family: no reason needed
    talks[1]["interviewer_id"] = None  # family: no interviewer needed
    r = run_suite("talks", SOURCES["talks"].staged_frame(talks))
    reason = [e for e in r.expectations if e.check == "must_talk_has_reason"]
    assert [e.unexpected_count for e in reason] == [1]
    assert family(r, "conditional_required", "interviewer_id") == 0


def test_cache_reuses_a_result_for_the_same_content_only(tmp_path):
    frame = staged()["cases"]
    first = validate_cached("cases", frame, tmp_path)
    second = validate_cached("cases", frame, tmp_path)
    assert (first.cached, second.cached) == (False, True)
    assert [e.unexpected_count for e in first.expectations] == [e.unexpected_count for e in second.expectations]
    changed = validate_cached("cases", frame.with_columns(pl.lit("C9").alias("case_id")), tmp_path)
    assert changed.cached is False and not changed.success  # new content: validated again (C9 twice)
    assert len(list(tmp_path.glob("*.json"))) == 2


def test_a_validation_builds_each_expectations_configuration_once_with_the_same_results(monkeypatch):
    """GX rebuilds an expectation's configuration at every read; inside a validation it is built once
    per expectation (lianjian/quality/validate.py ``_configurations_kept``) and the results, failures
    and their counts included, are those of GX's own property."""
    import contextlib

    import lianjian.quality.validate as validate

    frame = staged()["talks"].with_columns(pl.when(pl.col("talk_type") == "family").then(pl.col("interviewer_id")).otherwise(None).alias("interviewer_id"))
    validate._configuration_once_per_validation()
    gx_own = validate._gx_configuration
    builds = [0]

    def counted(expectation):
        builds[0] += 1
        return gx_own(expectation)

    monkeypatch.setattr(validate, "_gx_configuration", counted)
    kept = run_suite("talks", frame)
    kept_builds, builds[0] = builds[0], 0
    monkeypatch.setattr(validate, "_configurations_kept", contextlib.nullcontext)
    each_read = run_suite("talks", frame)

    def outcome(result):
        return result.success, result.expectations, [r.get("result") for r in result.gx_result["results"]]

    assert not kept.success and outcome(kept) == outcome(each_read)
    assert kept_builds * 3 < builds[0]


def _without_ids(result) -> str:
    """A suite result's JSON without what GX draws at random or times (ids, load times, seconds)."""
    import json
    import re

    def walk(x):
        if isinstance(x, dict):
            return {k: walk(v) for k, v in x.items() if k not in ("id", "ge_load_time", "seconds")}
        if isinstance(x, list):
            return [walk(v) for v in x]
        return x

    text = json.dumps(walk(result.to_json()), ensure_ascii=False, default=str)
    return re.sub(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", "<id>", text)


def test_a_validation_adds_nothing_to_the_context_and_converts_none_at_once_with_gx_own_results(monkeypatch):
    """A suite is validated without being added to the GX context, the ephemeral context does not
    write its configuration again for each data asset, and GX's JSON conversion returns None at once
    (lianjian/quality/validate.py ``_validate``, ``gx_context``, ``_none_converted_at_once``), and the
    batch is fetched once per validation, by GX's validator, not fetched first: the outcomes and GX
    results, failures and their counts and the batch's markers included, are those of GX's own path,
    the ids given as GX's store gives them."""
    import numpy as np

    import great_expectations.util as gx_util
    import lianjian.quality.validate as validate
    from lianjian.quality.suites import import_gx

    import_gx()
    from great_expectations.execution_engine import PandasExecutionEngine

    fetches = [0]
    gx_fetch = PandasExecutionEngine.get_batch_data_and_markers

    def fetch(self, batch_spec):
        fetches[0] += 1
        return gx_fetch(self, batch_spec)

    monkeypatch.setattr(PandasExecutionEngine, "get_batch_data_and_markers", fetch)

    frame = staged()["talks"].with_columns(pl.when(pl.col("talk_type") == "family").then(pl.col("interviewer_id")).otherwise(None).alias("interviewer_id"))
    validate.gx_context.cache_clear()  # a fresh context: no data source, asset or suite yet
    ctx = validate.gx_context()
    saves, issubdtype = [0], [0]
    variables_save = type(ctx.variables).save
    monkeypatch.setattr(type(ctx.variables), "save", lambda self: (saves.__setitem__(0, saves[0] + 1), variables_save(self))[1])
    gx_issubdtype = np.issubdtype
    monkeypatch.setattr(np, "issubdtype", lambda *a: (issubdtype.__setitem__(0, issubdtype[0] + 1), gx_issubdtype(*a))[1])

    ours = run_suite("talks", frame)
    our_saves, our_issubdtype, our_fetches = saves[0], issubdtype[0], fetches[0]
    ids = [r["expectation_config"]["id"] for r in ours.gx_result["results"] if r.get("meta", {}).get("engine") != "polars"]
    assert len(set(ids)) == len(ids) and all(len(i) == 36 for i in ids)
    with pytest.raises(Exception):  # noqa: B017,PT011 — GX raises its DataContextError: the suite is not in the context
        ctx.suites.get("staged.talks")

    def gx_own(src, batch, expectations, name):  # the suite added to the context, as GX's guides do
        gx = import_gx()
        suite = ctx.suites.add_or_update(gx.ExpectationSuite(name=name, expectations=expectations, meta={"source": src}))
        gx_batch = validate._batch_definition(src).get_batch(batch_parameters={"dataframe": validate.to_gx_pandas(batch.frame)})
        with validate._configurations_kept():
            return gx_batch.validate(suite, result_format={"result_format": "COMPLETE", "partial_unexpected_count": validate.MAX_SAMPLES})

    saves[0] = issubdtype[0] = fetches[0] = 0
    validate.gx_context.cache_clear()
    ctx = validate.gx_context()
    monkeypatch.delattr(ctx, "_save_project_config")  # GX's own method of the class
    monkeypatch.setattr(validate, "_validate", gx_own)
    monkeypatch.setattr(gx_util, "convert_to_json_serializable", gx_util.convert_to_json_serializable.__wrapped__)
    from great_expectations.core.id_dict import IDDict

    monkeypatch.setattr(IDDict, "to_id", validate._gx_to_id)  # GX's own ids of metric configurations
    theirs = run_suite("talks", frame)

    assert not ours.success and _without_ids(ours) == _without_ids(theirs)
    assert ctx.suites.get("staged.talks").name == "staged.talks"
    assert our_saves == 0 < saves[0]
    assert our_issubdtype * 3 < issubdtype[0]
    assert 0 < our_fetches * 2 == fetches[0]  # each validation's batch fetched once, not twice
    monkeypatch.undo()
    validate.gx_context.cache_clear()


def test_a_validation_makes_each_expectation_again_once_and_plain_ids_once_with_gx_own_results(monkeypatch):
    """Inside a suite's validation GX makes an expectation again from a configuration built there once,
    not at every metric's keyword arguments, and the ids of plain keyword arguments are computed once
    per process (lianjian/quality/validate.py ``_configuration_once_per_validation``,
    ``_plain_ids_once``); the configurations read around the validations are built once each
    (``run_suite``). The outcomes and GX results, failures and their counts included, are those of
    GX's own path, apart from ids."""
    import contextlib

    import lianjian.quality.validate as validate
    from great_expectations.core.id_dict import IDDict
    from great_expectations.expectations.expectation_configuration import ExpectationConfiguration

    frame = staged()["talks"].with_columns(pl.when(pl.col("talk_type") == "family").then(pl.col("interviewer_id")).otherwise(None).alias("interviewer_id"))
    frame = frame.with_columns(pl.when(pl.int_range(pl.len()) % 5 == 0).then(None).otherwise(pl.col("reason")).alias("reason"))
    with validate._configurations_kept():  # every replacement in place
        pass
    made, ids, builds = [0], [0], [0]
    gx_made, gx_ids, gx_built = validate._gx_to_domain_obj, validate._gx_to_id, validate._gx_configuration

    def counting(counter, function):
        def counted(*args):
            counter[0] += not isinstance(args[0], IDDict) or len(args[0]) > 1  # ids of one key: GX's own, in both
            return function(*args)

        return counted

    monkeypatch.setattr(validate, "_gx_to_domain_obj", counting(made, gx_made))
    monkeypatch.setattr(validate, "_gx_to_id", counting(ids, gx_ids))
    monkeypatch.setattr(validate, "_gx_configuration", counting(builds, gx_built))
    ours = run_suite("talks", frame)
    our_made, our_ids, our_builds = made[0], ids[0], builds[0]

    made[0] = ids[0] = builds[0] = 0
    monkeypatch.setattr(ExpectationConfiguration, "to_domain_obj", counting(made, gx_made))
    monkeypatch.setattr(IDDict, "to_id", counting(ids, gx_ids))
    monkeypatch.setattr(validate, "_configurations_kept", contextlib.nullcontext)
    theirs = run_suite("talks", frame)

    assert not ours.success and _without_ids(ours) == _without_ids(theirs)
    assert our_made * 3 < made[0] and our_ids * 3 < ids[0] and our_builds * 3 < builds[0]


def test_a_results_json_is_dataclasses_own_without_shared_values():
    """``SuiteResult.to_json`` (copied without ``copy.deepcopy`` for each value) is what
    ``dataclasses.asdict`` makes of a result, failing or not, fresh or read from its JSON, and shares
    no dictionary or list with the result; a value of another type is ``asdict``'s own copy."""
    import dataclasses

    from lianjian.quality.validate import SuiteResult

    bad = staged()["talks"].with_columns(pl.when(pl.col("talk_type") == "family").then(pl.col("interviewer_id")).alias("interviewer_id"))
    for result in (run_suite("talks", bad), run_suite("units", staged()["units"])):
        for one in (result, SuiteResult.from_json(result.to_json())):
            raw = one.to_json()
            assert raw == dataclasses.asdict(one) and type(raw["expectations"][0]) is dict
            assert raw["gx_result"] is not one.gx_result and raw["expectations"][0]["kwargs"] is not one.expectations[0].kwargs
            assert raw["gx_result"]["results"][0] is not one.gx_result["results"][0]
    one.gx_result["odd"] = ({"a": [1]}, 2)  # a tuple: asdict's own copy
    raw = one.to_json()
    assert raw["gx_result"]["odd"] == ({"a": [1]}, 2) and raw["gx_result"]["odd"][0] is not one.gx_result["odd"][0]


def test_the_suites_make_only_the_expectation_classes_declared_with_great_expectations_import(monkeypatch):
    """``GX_USED`` is the one list of the expectation classes the suites make (imported with GX, not
    lazily after it): every class it declares is made by some suite, and a class left out of it cannot
    be made — the suite's build fails instead of importing it late."""
    from lianjian.quality import suites

    package = "great_expectations.expectations"
    made = {type(e).__name__ for src in SOURCES for e in suites.expectations_for(src)}
    assert made == set(suites.GX_USED[package])
    dropped = sorted(made)[0]
    monkeypatch.setitem(suites.GX_USED, package, tuple(n for n in suites.GX_USED[package] if n != dropped))
    with pytest.raises(AttributeError, match=dropped):
        for src in SOURCES:
            suites.expectations_for(src)
