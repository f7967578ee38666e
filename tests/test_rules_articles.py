"""The rules in the project's own words (docs/rules.md): each duty item rests on its own article and its
evidence cites it; the dictionary describes the grades with the thresholds of the rules file in force;
docs/rules.md and docs/contract.md cover every rule, setting, source and published table."""

from __future__ import annotations

import json
import re
from pathlib import Path

import support_scoring as s
import yaml
from support_assessed import r3

from lianjian.contract import PUBLISHED, SOURCES
from lianjian.publish.dictionary import build_dictionary

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"


# ---------------------------------------------------------------- duty items and their articles


def test_every_duty_item_rests_on_its_own_article():
    """庆城办法 第九条 (党组), 第十条 (党组书记), 第十一条 (班子成员), 第十三条 (纪检组), item by item; the talk
    items on 连云港意见 二（二）/（三）, the special cases on 三（三）."""
    items = s.default_rules().settings().responsibility.duty_items
    basis = {(kind, it.item): it.basis for kind, its in items.items() for it in its}
    assert basis == {
        ("party_group", "special_meeting"): "庆城办法 第九条第1项",
        ("party_group", "work_report"): "庆城办法 第九条第3项",
        ("party_group", "special_inspection"): "庆城办法 第九条第14项",
        ("party_group", "special_rectification"): "庆城办法 第九条第14项",
        ("party_group", "responsibility_letter"): "庆城办法 第九条第5项",
        ("secretary", "lecture"): "庆城办法 第十条第6项",
        ("secretary", "interview"): "庆城办法 第十条第7项",
        ("secretary", "heart_talk"): "庆城办法 第十条第8项",
        ("secretary", "responsibility_letter"): "庆城办法 第十条第3项",
        ("leader", "report_hearing"): "庆城办法 第十一条第6项",
        ("leader", "integrity_talk"): "庆城办法 第十一条第6项",
        ("leader", "lecture"): "庆城办法 第十一条第6项",
        ("leader", "responsibility_letter"): "庆城办法 第十一条第2项",
        ("leader", "talk_obligations"): "连云港意见 二（二）、二（三）",
        ("dept_head", "talk_obligations"): "连云港意见 二（二）",
        ("dept_head", "commitment_letter"): "庆城办法 第九条第7项",
        ("dept_head", "special_cases_verified"): "连云港意见 三（三）",
        ("discipline_group", "opinion_exchange"): "庆城办法 第十三条第2项",
        ("discipline_group", "duty_report"): "庆城办法 第十三条第10项",
        ("discipline_group", "special_inspection"): "庆城办法 第十三条第7项",
    }


def _letters():
    roster = s.roster([{"person_id": "C1", "position": "chief"}, {"person_id": "D1", "position": "deputy_chief"}])
    acts = s.duty_activities([
        {"activity_id": "A1", "actor_kind": "party_group", "activity_type": "responsibility_letter", "activity_date": "2024-02-01"},
        {"activity_id": "A2", "actor_kind": "secretary", "actor_id": "C1", "activity_type": "responsibility_letter",
         "activity_date": "2024-02-01", "target_id": "D1"},
    ])
    return roster, acts


def _basis(ev: list[dict], kind: str, rule: str) -> str:
    """The basis of a subject's item row (the settings rows of the same rule carry no subject)."""
    [row] = [e for e in ev if e["subject_kind"] == kind and e["rule"] == rule and e["subject_id"] is not None]
    return row["basis"]


def test_a_duty_items_evidence_cites_the_items_article_for_its_subject_kind():
    """The same item — a responsibility letter — rests on 第九条第5项 for the 党组 and on 第十条第3项 for
    the secretary; items without an article of their own fall back on the R3 basis."""
    roster, acts = _letters()
    _, ev = r3(roster, activities=acts)
    assert _basis(ev, "party_group", "R3.duty.responsibility_letter") == "庆城办法 第九条第5项"
    assert _basis(ev, "secretary", "R3.duty.responsibility_letter") == "庆城办法 第十条第3项"
    assert _basis(ev, "discipline_group", "R3.duty.duty_report") == "庆城办法 第十三条第10项"

    # the setting changed: another article for the secretary's letter, none for the 党组's
    raw = yaml.safe_load((ROOT / "rules" / "default.yaml").read_text(encoding="utf-8"))
    items = raw["responsibility"]["duty_items"]
    for it in items["secretary"]:
        if it["item"] == "responsibility_letter":
            it["basis"] = "某某办法 第一条"
    for it in items["party_group"]:
        it.pop("basis")
    _, ev = r3(roster, activities=acts, rules=s.rules_with({"responsibility": {"duty_items": items}}))
    assert _basis(ev, "secretary", "R3.duty.responsibility_letter") == "某某办法 第一条"
    assert _basis(ev, "party_group", "R3.duty.responsibility_letter") == raw["basis"]["R3"]


# ---------------------------------------------------------------- grades in the dictionary


def _grade_codes(d: dict) -> dict:
    col = next(c for c in d["tables"]["integrity_assessment"]["columns"] if c["name"] == "grade")
    return col["codes"], col.get("thresholds_from")


def test_the_dictionary_describes_grades_with_the_thresholds_in_force():
    codes, source = _grade_codes(build_dictionary(s.default_rules()))
    assert codes == {"好": "总分 ≥ 90", "较好": "80 ≤ 总分 < 90", "一般": "60 ≤ 总分 < 80", "较差": "总分 < 60，或一票否决"}
    assert source == f"规则文件版本 {s.default_rules().version}"
    assert "默认" not in json.dumps(codes, ensure_ascii=False)

    changed = s.rules_with({"version": "t-1", "grades": {"good": 92.5, "fairly_good": 85, "average": 65},
                            "years": {2024: {"grades": {"good": 95}}, 2025: {"rounding_decimals": 1}}})
    codes, source = _grade_codes(build_dictionary(changed))
    # 2024 overrides good only; 2025 overrides something else (its grades are the file's own)
    assert codes == {
        "好": "总分 ≥ 92.5；2024 年：总分 ≥ 95",
        "较好": "85 ≤ 总分 < 92.5；2024 年：85 ≤ 总分 < 95",
        "一般": "65 ≤ 总分 < 85；2024 年：65 ≤ 总分 < 85",
        "较差": "总分 < 65，或一票否决；2024 年：总分 < 65，或一票否决",
    }
    assert source == "规则文件版本 t-1"
    # the responsibility assessment's grade is described the same way
    col = next(c for c in build_dictionary(changed)["tables"]["responsibility_assessment"]["columns"] if c["name"] == "grade")
    assert col["codes"]["好"].startswith("总分 ≥ 92.5")


def test_publishing_writes_the_dictionary_of_the_rules_in_force(tmp_path):
    from support_publish import golden_tables, ingest_report

    from lianjian.publish.publish import publish_tables

    rules = s.rules_with({"grades": {"good": 91, "fairly_good": 81, "average": 61}})
    publish_tables(tmp_path, golden_tables(0), ingest_report=ingest_report(), run_id="r", rules_version=rules.version,
                   rules_sha256=rules.sha256, code_version_="test", rules=rules)
    d = json.loads((tmp_path / "published" / "_dictionary.json").read_text(encoding="utf-8"))
    assert _grade_codes(d)[0]["好"] == "总分 ≥ 91" and _grade_codes(d)[0]["较差"] == "总分 < 61，或一票否决"


def test_the_nightly_run_publishes_thresholds_and_articles(demo_run):
    """Through Dagster on the demo data: the dictionary names the default thresholds, and the published
    evidence of a duty item cites the item's article."""
    import duckdb

    _, warehouse = demo_run
    d = json.loads((warehouse / "published" / "_dictionary.json").read_text(encoding="utf-8"))
    assert _grade_codes(d)[0]["好"] == "总分 ≥ 90"
    rows = duckdb.sql(
        f"SELECT DISTINCT subject_kind, basis FROM read_parquet('{warehouse}/published/assessment_evidence/**/*.parquet',"
        " hive_partitioning=true) WHERE rule = 'R3.duty.responsibility_letter' ORDER BY subject_kind"
    ).fetchall()
    assert ("party_group", "庆城办法 第九条第5项") in rows and ("secretary", "庆城办法 第十条第3项") in rows


# ---------------------------------------------------------------- the docs


def _sections(text: str) -> list[str]:
    return re.findall(r"^## (R\d+)\b", text, flags=re.M)


def _setting_paths(node, prefix=()):
    """Every setting of the rules file as a dotted path (duty items by subject kind)."""
    if isinstance(node, dict):
        for k, v in node.items():
            yield from _setting_paths(v, (*prefix, str(k)))
    elif isinstance(node, list) and node and isinstance(node[0], dict):
        for it in node:
            yield ".".join((*prefix, it["item"]))
    else:
        yield ".".join(prefix)


def test_docs_rules_has_one_section_per_rule_and_names_every_setting():
    text = (DOCS / "rules.md").read_text(encoding="utf-8")
    assert _sections(text) == [f"R{i}" for i in range(1, 11)]
    raw = yaml.safe_load((ROOT / "rules" / "default.yaml").read_text(encoding="utf-8"))
    body = {k: v for k, v in raw.items() if k not in ("version", "years", "basis")}
    missing = []
    for path in _setting_paths(body):
        leaf = path.split(".")
        # a setting is named by its path from the top (`integrity.deductions.cases.cap`), or, for the
        # members of a named group, by the group's path followed by the member (`… .cases`: `flawed`)
        if f"`{path}`" not in text and not (f"`{'.'.join(leaf[:-1])}`" in text and f"`{leaf[-1]}`" in text):
            missing.append(path)
    assert missing == []
    for item_basis in {it.basis for its in s.default_rules().settings().responsibility.duty_items.values() for it in its}:
        assert item_basis in text, item_basis


def test_docs_contract_names_every_source_header_and_published_table():
    text = (DOCS / "contract.md").read_text(encoding="utf-8")
    for name, src in SOURCES.items():
        assert f"`{name}`" in text and src.zh in text, name
        for c in src.columns:  # every header, in English and Chinese
            assert f"| `{c.name}` | {c.zh} |" in text, f"{name}.{c.name}"
            if c.enum is not None:
                assert all(f"`{code}`（" in text for code in c.enum.codes), c.enum.name
    for name, t in PUBLISHED.items():
        assert f"`{name}`" in text and t.zh in text, name
    for word in ("_manifest.json", "_dictionary.json", "year=", "rejected_records", "restricted/review_leads"):
        assert word in text, word


def test_docs_stand_without_the_spec_folder():
    """The project's docs speak in their own words: no pointer into the external spec folder."""
    for name in ("rules.md", "contract.md"):
        text = (DOCS / name).read_text(encoding="utf-8")
        assert "RULES.md" not in text and "CONTRACT.md" not in text and "shared/spec" not in text, name
