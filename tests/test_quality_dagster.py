"""The quality checks inside Dagster: a blocking failure of a rule stops the assessment and publishing
(the published file stays as it was), a blocking failure of a suite lets the assessment run and stops
publishing, a WARN failure lets the run finish, and the run leaves an offline Data Docs site listing
every staged table's suite. Uses the real check steps with stand-in assets for the staged, derived,
assessed and published layers (the published one writes its file, then asks the suites before putting
it in place, as the publish step does)."""

from __future__ import annotations

from html.parser import HTMLParser
from pathlib import Path

import dagster as dg
import polars as pl

from assets.published import PUBLISH_PRIORITY
from checks.quality import staged_contract_suites, staged_data_quality
from lianjian.contract import SOURCES
from lianjian.quality.docs import data_docs_index
from lianjian.quality.gate import require_suites_passed
from pipelines.resources import local_resources
from support_quality import good_rows, ingest_report, rejected_records, staged

RULES = str(Path(__file__).resolve().parents[1] / "rules" / "default.yaml")


def _stage(key: str, frame: pl.DataFrame):
    @dg.asset(key=["staged", key], group_name="staged", name=None)
    def _a():
        return frame

    return _a


def run_pipeline(warehouse: Path, frames: dict[str, pl.DataFrame], report: pl.DataFrame):
    assets = [_stage(s, f) for s, f in frames.items()]
    assets += [_stage("rejected_records", rejected_records()), _stage("ingest_report", report)]

    @dg.asset(key=["derived", "talk_obligations"], deps=[dg.AssetKey(["staged", s]) for s in SOURCES])
    def derived():
        return pl.DataFrame({"x": [1]})

    @dg.asset(key=["assessed", "integrity_assessment"], deps=[derived])
    def assessed():
        return pl.DataFrame({"x": [1]})

    @dg.asset(key=["published", "integrity_assessment"], deps=[assessed], op_tags={"dagster/priority": str(PUBLISH_PRIORITY)})
    def published() -> None:
        # as the publish step does: the new file written first, the suites asked before the switch
        out = warehouse / "published" / "integrity_assessment" / "part-0.parquet"
        out.parent.mkdir(parents=True, exist_ok=True)
        new = out.with_name(".new.parquet")
        pl.DataFrame({"run": ["new"]}).write_parquet(new)
        try:
            require_suites_passed(warehouse)
        except BaseException:
            new.unlink()
            raise
        new.replace(out)

    defs = dg.Definitions(
        assets=[*assets, derived, assessed, published],
        asset_checks=[staged_data_quality, staged_contract_suites],
        resources=local_resources(warehouse=warehouse, rules=RULES),
        jobs=[dg.define_asset_job("all", selection=dg.AssetSelection.all())],
    )
    return defs.resolve_job_def("all").execute_in_process(raise_on_error=False)


def evaluations(result) -> dict[str, dg.AssetCheckEvaluation]:
    return {e.check_name: e for e in result.get_asset_check_evaluations()}


def materialized(result) -> set[str]:
    return {m.asset_key.to_user_string() for m in result.get_asset_materialization_events()}


def test_blocking_failure_stops_assessment_and_publishing(tmp_path):
    old = tmp_path / "published" / "integrity_assessment" / "part-0.parquet"
    old.parent.mkdir(parents=True)
    pl.DataFrame({"run": ["previous"]}).write_parquet(old)
    before = old.read_bytes()
    rows = good_rows()
    rows["personnel"][1]["is_party_secretary"] = True  # two party secretaries in U1, 2024

    result = run_pipeline(tmp_path, staged(rows), ingest_report())

    assert not result.success
    ev = evaluations(result)["one_party_secretary_per_unit_year"]
    assert not ev.passed and ev.severity == dg.AssetCheckSeverity.ERROR
    assert ev.metadata["unexpected_count"].value == 2  # P1 and P2
    # flagged rows: P1, P2 (U1) and P5 (alone in U2) = 3; the 2 of U1 break the rule: 2/3
    assert abs(ev.metadata["share"].value - 2 / 3) < 1e-12
    done = materialized(result)
    assert "staged/personnel" in done
    assert not done & {"derived/talk_obligations", "assessed/integrity_assessment", "published/integrity_assessment"}
    assert old.read_bytes() == before  # previously published output untouched
    # the failure names the check (what `lianjian run` shows)
    failure = next(e for e in result.all_events if e.event_type_value == "STEP_FAILURE")
    assert "one_party_secretary_per_unit_year" in failure.event_specific_data.error.message


def test_blocking_suite_failure_lets_the_assessment_run_and_stops_publishing(tmp_path):
    """A staged table that breaks its contract suite (a duplicated case key: 2 rows) is a blocking
    failure that stops publishing, not the scoring: the derived and assessed steps run, the published
    step asks the suites before its switch and refuses to publish (the file stays as it was, the new
    one is removed) naming the check, and the suites' check step, after it, still reports the failure."""
    old = tmp_path / "published" / "integrity_assessment" / "part-0.parquet"
    old.parent.mkdir(parents=True)
    pl.DataFrame({"run": ["previous"]}).write_parquet(old)
    before = old.read_bytes()
    rows = good_rows()
    rows["cases"][1]["case_id"] = rows["cases"][0]["case_id"]

    result = run_pipeline(tmp_path, staged(rows), ingest_report())

    assert not result.success
    ev = evaluations(result)["cases_contract_suite"]
    assert not ev.passed and ev.severity == dg.AssetCheckSeverity.ERROR and ev.metadata["unexpected_count"].value == 2
    done = materialized(result)
    assert {"derived/talk_obligations", "assessed/integrity_assessment"} <= done
    assert "published/integrity_assessment" not in done
    assert old.read_bytes() == before and not (old.parent / ".new.parquet").exists()
    steps = [e.step_key for e in result.all_events if e.event_type_value == "STEP_START"]
    assert steps.index("assessed__integrity_assessment") < steps.index("published__integrity_assessment") < steps.index("staged_contract_suites")
    failure = next(e for e in result.all_events if e.event_type_value == "STEP_FAILURE")
    assert failure.step_key == "published__integrity_assessment"
    assert "cases_contract_suite" in failure.event_specific_data.error.cause.message


def test_warn_failure_lets_the_run_finish_and_is_visible(tmp_path):
    # talks: 10 read, 1 rejected = 10% > 5% (rules/default.yaml quality.max_rejected_share)
    result = run_pipeline(tmp_path, staged(), ingest_report(read={"talks": 10}, rejected={"talks": 1}))

    assert result.success
    ev = evaluations(result)["talks_rejected_share"]
    assert not ev.passed and ev.severity == dg.AssetCheckSeverity.WARN
    assert ev.metadata["unexpected_count"].value == 1 and ev.metadata["share"].value == 0.1
    assert "published/integrity_assessment" in materialized(result)
    assert all(e.passed for n, e in evaluations(result).items() if n != "talks_rejected_share")


class _Refs(HTMLParser):
    def __init__(self):
        super().__init__()
        self.refs: list[str] = []
        self.text: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.refs += [v for k, v in attrs if k in ("href", "src") and v]
        if tag in ("script", "link", "img", "iframe"):
            self.refs.append(f"<{tag}>")

    def handle_data(self, data):
        self.text.append(data)


def test_data_docs_offline_and_listing_every_suite(tmp_path):
    result = run_pipeline(tmp_path, staged(), ingest_report())
    assert result.success
    index = data_docs_index(tmp_path)
    assert index.exists()
    ev = evaluations(result)["cases_contract_suite"]
    assert ev.metadata["data_docs"].value == str(index)  # linked from the check metadata

    pages = [index, *index.parent.glob("suites/*.html")]
    for page in pages:
        parser = _Refs()
        parser.feed(page.read_text(encoding="utf-8"))
        # nothing to fetch: no script, stylesheet link or image; every link a local file that exists
        assert not [r for r in parser.refs if r.startswith("<")], page
        for ref in parser.refs:
            assert "://" not in ref and not ref.startswith("//"), ref
            assert (page.parent / ref).exists(), ref
    parser = _Refs()
    parser.feed(index.read_text(encoding="utf-8"))
    text = "".join(parser.text)
    for src in SOURCES:
        assert f"staged.{src}" in text
        assert (index.parent / "suites" / f"{src}.html").exists()
    # a second run over the same tables is served from the content-hash cache
    again = run_pipeline(tmp_path, staged(), ingest_report())
    assert evaluations(again)["cases_contract_suite"].metadata["gx_cached"].value is True
