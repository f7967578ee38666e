"""Enumeration labels and headers in any regional traditional variant (docs/contract.md, "Accepted
forms"): every label and every Chinese header of the contract, as two independent converters write
them — OpenCC (s2t, s2tw, s2hk) and zhconv (zh-hant, zh-tw, zh-hk) — reads back as its code or
column; so do mixed and padded spellings, and the characters each region writes its own way."""

from __future__ import annotations

import functools

import opencc
import polars as pl
import pytest
import zhconv
from support_ingest import ingest, write_csv, write_landing

from lianjian.contract import ENUMS, SOURCES
from lianjian.ingest import reader, text


@functools.cache
def _opencc(config: str) -> opencc.OpenCC:
    return opencc.OpenCC(config)


#: What offices' tools write for a simplified text: OpenCC's three conversions and zhconv's three.
#: Each OpenCC converter is made once, at its first use: making one loads its dictionaries (≈ 0.5 s
#: on two busy cores), converting a label takes microseconds, and a converter gives the same text
#: whichever instance converts it.
WRITERS = {
    **{f"opencc-{c}": (lambda c: lambda s: _opencc(c).convert(s))(c) for c in ("s2t", "s2tw", "s2hk")},
    **{f"zhconv-{v}": (lambda v: lambda s: zhconv.convert(s, v))(v) for v in ("zh-hant", "zh-tw", "zh-hk")},
}

#: The enumerations the landing zone is read with (a source column's type).
SOURCE_ENUMS = {c.enum.name: c.enum for s in SOURCES.values() for c in s.columns if c.enum is not None}


def _read_codes(values: list[str], enum) -> list[str | None]:
    return pl.select(text.to_enum(text.clean(pl.lit(pl.Series(values, dtype=pl.String))), enum)).to_series().to_list()


@pytest.mark.parametrize("writer", list(WRITERS))
def test_every_label_of_the_contract_in_every_variant(writer):
    convert = WRITERS[writer]
    wrong, changed = [], 0
    for enum in SOURCE_ENUMS.values():
        pairs = [(convert(label), code) for code in enum.codes for label in enum.labels[code]]
        changed += sum(form not in enum.spellings() for form, _ in pairs)
        got = _read_codes([form for form, _ in pairs], enum)
        wrong += [(enum.name, form, code, g) for (form, code), g in zip(pairs, got) if g != code]
    assert wrong == []
    assert changed > 50  # most labels do change: the test reads real traditional text


@pytest.mark.parametrize("writer", list(WRITERS))
def test_every_header_of_the_contract_in_every_variant(writer):
    convert = WRITERS[writer]
    for src in SOURCES.values():
        headers = [convert(c.zh) for c in src.columns]
        warnings: list[str] = []
        got = reader._header_map(src, headers, f"{src.name}.csv", warnings)
        assert got == dict(enumerate(src.column_names)), (src.name, headers)
        assert warnings == []


def test_the_two_converters_write_signing_differently_and_both_are_read():
    """签订党风廉政建设责任书: OpenCC writes 簽訂, zhconv 籤訂 — the same activity either way."""
    simplified = ENUMS["activity_type"].label("responsibility_letter")
    assert simplified == "签订党风廉政建设责任书"
    assert WRITERS["opencc-s2t"](simplified) == "簽訂黨風廉政建設責任書"
    assert WRITERS["zhconv-zh-hant"](simplified) == "籤訂黨風廉政建設責任書"
    assert _read_codes(["簽訂黨風廉政建設責任書", "籤訂黨風廉政建設責任書"], ENUMS["activity_type"]) == [
        "responsibility_letter",
        "responsibility_letter",
    ]


@pytest.mark.parametrize(
    "enum,spelling,code",
    [
        ("activity_type", "\u3000 簽訂黨風廉政建設責任書 ", "responsibility_letter"),  # full-width and ASCII spaces
        ("activity_type", "籤訂廉潔從檢承諾書\u3000", "commitment_letter"),
        ("activity_type", "聽取分管部門匯報", "report_hearing"),  # 匯 (zhconv) and 彙 (OpenCC) are both 汇
        ("activity_type", "聽取分管部門彙報", "report_hearing"),
        ("activity_type", "ＬＥＣＴＵＲＥ", "lecture"),  # full-width letters, any case
        ("grade", " 較差 ", "poor"),
        ("grade", "較好", "fairly_good"),
        ("report_category", "領導幹部幹預司法活動、插手具體案件處理", "leader_interference"),  # zhconv's 幹預
        ("severity", "嚴重", "serious"),
        ("level", "縣級", "county"),
        ("quality_rating", "基本合格", "flawed"),  # a second simplified label
        ("position", "檢察長", "chief"),
    ],
)
def test_padded_and_mixed_spellings(enum, spelling, code):
    assert _read_codes([spelling], ENUMS[enum]) == [code]


@pytest.mark.parametrize("spelling", ["簽訂責任書", "較", "差較", "lecture2", "黨組書記 黨組"])
def test_a_spelling_that_is_no_label_stays_unknown(spelling):
    enum = ENUMS["activity_type"] if len(spelling) > 4 else ENUMS["grade"]
    assert _read_codes([spelling], enum) == [None]


@pytest.mark.parametrize(
    "written,simplified",
    [
        ("穿著", "穿着"),  # Taiwan 著 (only tw2s reads it as 着)
        ("這裏", "这里"),  # 裏
        ("這裡", "这里"),  # 裡
        ("綫索", "线索"),  # 綫 (Hong Kong) and 線 are both 线
        ("線索", "线索"),
        ("作爲", "作为"),  # 爲 and 為 are both 为
        ("作為", "作为"),
        ("高峯", "高峰"),  # 峯 is 峰
        ("衞生", "卫生"),  # Hong Kong 衞 (only hk2s reads it)
        ("衞生穿著", "卫生穿着"),  # Hong Kong 衞 and Taiwan 著 in one text
        ("事件型別", "事件类型"),  # Taiwan vocabulary as OpenCC's s2twp writes it
    ],
)
def test_characters_each_region_writes_its_own_way(written, simplified):
    assert text.resolve_spellings([written], {simplified: "x"}) == {written: "x"}


def test_a_header_in_traditional_with_spaces_and_an_unknown_one(tmp_path):
    src = SOURCES["talks"]
    headers = ["\u3000談話編號 ", "談話日期", "談話型別", "  談話人工號", "談話對象工號", "談話事由", "關聯事件編號", "在場紀檢人員工號",
               "已填談話表", "親屬籤字", "備註"]
    warnings: list[str] = []
    got = reader._header_map(src, headers, "talks.csv", warnings)
    assert [got[i] for i in range(10)] == src.column_names
    assert 10 not in got and len(warnings) == 1 and "備註" in warnings[0]


def test_conversion_runs_once_per_distinct_value(monkeypatch):
    """A column of codes repeats a few values a million times: each distinct value is converted once."""
    seen: list[str] = []
    real = text.simplified_readings

    def counting(value: str) -> list[str]:
        seen.append(value)
        return real(value)

    monkeypatch.setattr(text, "simplified_readings", counting)
    values = ["較差", "較好", "好", "poor"] * 25_000
    got = _read_codes(values, ENUMS["grade"])
    assert got[:4] == ["poor", "fairly_good", "good", "poor"] and len(got) == 100_000
    assert sorted(seen) == sorted(["較差", "較好"])  # 好 and poor are read as written, without converting


def test_a_landing_zone_written_in_traditional_characters(tmp_path):
    """duty_activities with Hong Kong headers (OpenCC s2hk) and labels from both converters: every row
    accepted, with its codes."""
    root = write_landing(tmp_path)
    src = SOURCES["duty_activities"]
    header = [WRITERS["opencc-s2hk"](c.zh) for c in src.columns]
    rows = [
        ["A1", "U1", "黨組書記", "P1", "簽訂黨風廉政建設責任書", "2024-03-01", "P2", ""],
        ["A2", "U1", "黨組書記", "P1", "籤訂黨風廉政建設責任書", "2024-03-02", "P3", ""],
        ["A3", "U1", "班子成員", "P1", "聽取分管部門彙報", "2024-04-01", "", "D1"],
        ["A4", "U1", "黨組", "", "專項督察", "2024-05-01", "", ""],
        ["A5", "U1", "黨組", "", "簽訂責任書", "2024-05-02", "", ""],  # no such activity
    ]
    write_csv(root / "duty_activities.csv", header, rows)
    result = ingest(root)
    staged = result.staged["duty_activities"].with_columns(pl.col("actor_kind", "activity_type").cast(pl.String))
    assert staged.select("activity_id", "actor_kind", "activity_type").rows() == [
        ("A1", "secretary", "responsibility_letter"),
        ("A2", "secretary", "responsibility_letter"),
        ("A3", "leader", "report_hearing"),
        ("A4", "party_group", "special_inspection"),
    ]
    [reasons] = result.rejected.filter(pl.col("source") == "duty_activities")["reasons"].to_list()
    assert reasons == ['activity_type: unknown code "簽訂責任書"']
