"""`lianjian whatif`: the what-if of a candidate rules file equals the difference between a full run
with the current rules and a full run with the candidate — computed here independently, straight
from the two runs' published tables — for the years asked only, and it never touches published/
or restricted/ and never reads the landing zone again."""

from __future__ import annotations

import hashlib
from pathlib import Path

import polars as pl
import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
YEARS = [2024, 2025]


def candidate_file(path: Path) -> Path:
    raw = yaml.safe_load((ROOT / "rules" / "default.yaml").read_text(encoding="utf-8"))
    raw["version"] = "2027.0-candidate"
    raw["grades"] = {"good": 88, "fairly_good": 82, "average": 75}  # more 较差: streaks appear
    raw["integrity"]["deductions"]["family_talk_missing"] = 4
    path.write_text(yaml.safe_dump(raw, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return path


def tree_digest(root: Path) -> dict[str, str]:
    """path -> sha256 of every file under ``root`` (links followed, as a reader sees them)."""
    root = root.resolve()
    return {p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(root.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def runs(demo_run, demo_landing, tmp_path_factory):
    """(warehouse A with the current rules, warehouse B with the candidate, the what-if of A)."""
    from lianjian.ondemand.whatif import run_whatif
    from lianjian.runner import run_pipeline

    outcome, wh_a = demo_run
    assert outcome.success
    tmp = tmp_path_factory.mktemp("whatif")
    candidate = candidate_file(tmp / "candidate.yaml")
    wh_b = tmp / "b"
    b = run_pipeline(demo_landing, wh_b, candidate, progress=False, reports=False)
    assert b.success
    before = {d: tree_digest(wh_a / d) for d in ("published", "restricted", "staged")}
    result = run_whatif(wh_a, candidate, YEARS, tmp / "out")
    after = {d: tree_digest(wh_a / d) for d in ("published", "restricted", "staged")}
    return wh_a, wh_b, result, before, after


def published(wh: Path, table: str) -> pl.DataFrame:
    from lianjian.publish.publish import read_published

    return read_published(wh, table).filter(pl.col("year").is_in(YEARS)).collect()


def expected_changes(wh_a: Path, wh_b: Path) -> tuple[dict, dict, set]:
    """From the two runs: per changed subject (old, new) of (total, grade, status); grade moves in all
    years counted; trigger rows appearing and disappearing."""
    changed, moves = {}, {}
    specs = {
        "integrity_assessment": ("integrity", ["person_id"], ["self_score", "peer_score", "department_score", "review_score",
                                                               "deduction_talks", "deduction_cases", "deduction_violations"]),
        "responsibility_assessment": ("responsibility", ["subject_kind", "subject_id"], ["duty_score", "vote_score", "deduction_scope"]),
    }
    trig_a, trig_b = published(wh_a, "accountability_triggers"), published(wh_b, "accountability_triggers")

    def trig_set(t: pl.DataFrame) -> dict:
        out = {}
        for r in t.iter_rows(named=True):
            kind = "person" if r["assessment"] == "integrity" else r["subject_kind"]
            out.setdefault((r["year"], r["assessment"], kind, r["subject_id"]), []).append(
                (r["trigger_type"], r["streak_years"], tuple(r["evidence"] or [])))
        return {k: sorted(v) for k, v in out.items()}

    ta, tb = trig_set(trig_a), trig_set(trig_b)
    for table, (assessment, key, comps) in specs.items():
        a, b = published(wh_a, table), published(wh_b, table)
        cols = ["year", *key, *comps, "total_score", "grade", "status", "veto"]
        rows_a = {tuple(r[c] for c in ["year", *key]): r for r in a.select(cols).iter_rows(named=True)}
        rows_b = {tuple(r[c] for c in ["year", *key]): r for r in b.select(cols).iter_rows(named=True)}
        assert rows_a.keys() == rows_b.keys()  # the same subjects: only the rules differ
        for k in rows_a:
            ra, rb = rows_a[k], rows_b[k]
            subject = (k[0], assessment, "person" if assessment == "integrity" else k[1], k[-1])
            if any(ra[c] != rb[c] for c in cols) or ta.get(subject, []) != tb.get(subject, []):
                changed[subject] = ((ra["total_score"], ra["grade"], ra["status"]), (rb["total_score"], rb["grade"], rb["status"]))
            if ra["grade"] != rb["grade"]:
                move = (k[0], assessment, ra["grade"] or "未评定", rb["grade"] or "未评定")
                moves[move] = moves.get(move, 0) + 1
    for subject in set(ta) | set(tb):  # subjects with triggers only (一案双查 leaders)
        if ta.get(subject, []) != tb.get(subject, []) and subject not in changed and subject[1] == "none":
            changed[subject] = ((None, None, None), (None, None, None))
    appear = {("appears", r[0], r[1], r[2], r[4], tuple(r[-1])) for r in trig_b.join(trig_a, on=list(trig_a.columns), how="anti", nulls_equal=True).rows()}
    gone = {("disappears", r[0], r[1], r[2], r[4], tuple(r[-1])) for r in trig_a.join(trig_b, on=list(trig_a.columns), how="anti", nulls_equal=True).rows()}
    return changed, moves, appear | gone


def test_the_whatif_equals_the_difference_of_two_full_runs(runs):
    wh_a, wh_b, result, _, _ = runs
    changed, moves, trig = expected_changes(wh_a, wh_b)
    assert changed, "the candidate changes something on the demo data"
    subjects = result.tables["subjects"]
    got = {
        (r["year"], r["assessment"], r["subject_kind"], r["subject_id"]): (
            (r["old_total_score"], r["old_grade"], r["old_status"]),
            (r["new_total_score"], r["new_grade"], r["new_status"]),
        )
        for r in subjects.iter_rows(named=True)
    }
    assert got == changed
    in_all = result.tables["grade_moves"].filter(pl.col("unit_code").is_null())
    assert {(r["year"], r["assessment"], r["old_grade"], r["new_grade"]): r["subjects"] for r in in_all.iter_rows(named=True)} == moves
    # per unit, the moves add up to the moves in all
    per_unit = result.tables["grade_moves"].filter(pl.col("unit_code").is_not_null())
    assert per_unit["subjects"].sum() == in_all["subjects"].sum()
    t = result.tables["triggers"]
    assert {(r["change"], r["year"], r["unit_code"], r["trigger_type"], r["subject_kind"], tuple(r["evidence"])) for r in t.iter_rows(named=True)} == trig
    assert t.filter(pl.col("change") == "appears").height > 0  # the stricter grades make new streaks


def test_only_the_years_asked_and_the_files_written(runs):
    _, _, result, _, _ = runs
    for name, frame in result.tables.items():
        assert set(frame["year"].unique().to_list()) <= set(YEARS), name
        assert pl.read_parquet(result.out / f"{name}.parquet").equals(frame), name
    page = (result.out / "index.html").read_text(encoding="utf-8")
    assert 'data-chart="grades_integrity"' in page and "候选规则" in page and "现行等次" in page
    assert result.summary[0].startswith("规则试算：候选规则 2027.0-candidate")
    moved = result.tables["components"]
    assert set(moved["component"].unique().to_list()) <= {"deduction_talks", "review_score", "total_score", "self_score", "peer_score",
                                                          "department_score", "deduction_cases", "deduction_violations", "duty_score",
                                                          "vote_score", "deduction_scope"}


def test_published_restricted_and_staged_are_untouched(runs):
    wh_a, _, _, before, after = runs
    assert before == after
    assert before["published"] and before["restricted"]
    assert not (wh_a / ".whatif").exists()  # the scratch area is gone


def test_a_broken_candidate_ends_with_one_line(demo_run, tmp_path, capsys):
    from lianjian.cli import main

    _, wh = demo_run
    bad = tmp_path / "bad.yaml"
    bad.write_text("version: x\ngrades: {good: 50, fairly_good: 80, average: 60}\n", encoding="utf-8")
    assert main(["whatif", "--rules", str(bad), "--warehouse", str(wh)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "规则文件" in err[0]
