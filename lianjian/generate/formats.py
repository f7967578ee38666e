"""The demo landing zone as real records offices export it.

| source | file | header | values |
|---|---|---|---|
| units | units.xlsx | Chinese | level as labels (省级…) |
| personnel | personnel.csv, UTF-8 with BOM | Chinese | position/status labels, 是/否, dates 2024/3/5 |
| departments | departments.csv, GB18030 | Chinese | |
| personnel_events | personnel_events.csv | English | codes |
| talks | talks/<YYYY-MM>.csv, one file per month of talk_date | English | codes, booleans Y/N |
| cases | cases.csv | English | codes; quality_rating as labels (优质/合格/瑕疵/不合格) |
| reviews | reviews.csv | English | codes |
| violations | violations.csv | Chinese | labels (one in traditional characters), dates 2024年3月5日 |
| major_matter_reports | major_matter_reports.csv | English | codes |
| duty_activities | duty_activities.csv | English | codes; one date in full-width digits |
| democratic_votes | democratic_votes.csv | Chinese | subject_kind labels |

Bad rows (so the quarantine has something to show), all listed in docs/generator.md: B1 an exact
duplicate case; B2 an unknown case category; B3 a case closed before it was accepted; B4 a talk on
an impossible date; B5 a talk with an unknown interviewee; B6 a roster row of a unit that does not
exist; B7 an unknown violation severity; B8 two rows of one case that disagree; B9 a review score of
105.
"""

from __future__ import annotations

import io
import re
import zipfile
from pathlib import Path

import opencc
import polars as pl

from lianjian.contract import ENUMS, SOURCES

FIXED_ZIP_TIME = (2024, 1, 1, 0, 0, 0)
FIXED_XML_TIME = "2024-01-01T00:00:00Z"
ZH_HEADER = {"units", "personnel", "departments", "violations", "democratic_votes"}
LABELS = {"units": ["level"], "personnel": ["position", "status"], "violations": ["category", "severity", "sanction"],
          "democratic_votes": ["subject_kind"], "cases": ["quality_rating"]}


def _label(col: str, source: str) -> pl.Expr:
    enum = SOURCES[source].column(col).enum
    return pl.col(col).replace_strict({c: enum.label(c) for c in enum.codes}, default=pl.col(col), return_dtype=pl.String)


def _as_text(df: pl.DataFrame, source: str) -> pl.DataFrame:
    """Every column as the text the office's export would hold."""
    exprs = []
    for c in SOURCES[source].columns:
        e = pl.col(c.name)
        if c.name in LABELS.get(source, []):
            e = _label(c.name, source)
        elif c.kind == "date":
            fmt = {"personnel": "%Y/%-m/%-d", "violations": "%Y年%-m月%-d日"}.get(source, "%Y-%m-%d")
            e = e.dt.strftime(fmt)
        elif c.kind == "bool":
            yes, no = {"personnel": ("是", "否"), "talks": ("Y", "N")}.get(source, ("true", "false"))
            e = pl.when(e).then(pl.lit(yes)).when(e.not_()).then(pl.lit(no))
        elif c.kind == "dec":
            e = e.round(1)
        exprs.append(e.cast(pl.String).alias(c.name))
    return df.select(exprs)


def _bad_rows(text: dict[str, pl.DataFrame], years: list[int]) -> dict[str, list[dict]]:
    y = years[min(2, len(years) - 1)]
    cases = text["cases"]
    first, second = cases.row(0, named=True), cases.row(1, named=True)
    talk = text["talks"].row(0, named=True)
    person = text["personnel"].row(0, named=True)
    vio = text["violations"].row(0, named=True) if text["violations"].height else None
    review = text["reviews"].row(0, named=True)
    bad: dict[str, list[dict]] = {
        "cases": [
            dict(first),  # B1 exact duplicate
            dict(first, case_id=f"AJ-SD-{y}-99001", category="刑事案件"),  # B2 unknown category
            dict(first, case_id=f"AJ-SD-{y}-99002", accepted_date=f"{y}-05-10", closed_date=f"{y}-04-01"),  # B3 closed before accepted
            dict(second, closed_date=f"{y}-12-30"),  # B8 conflicting duplicate of the second case
        ],
        "talks": [
            dict(talk, talk_id=f"TH-SD-{y}-99001", talk_date=f"{y}-02-30"),  # B4 impossible date
            dict(talk, talk_id=f"TH-SD-{y}-99002", interviewee_id="SD-JN-9999", talk_date=f"{y}-03-03"),  # B5 dangling reference
        ],
        "personnel": [dict(person, person_id="SD-QD-0001", unit_code="SD-QD", dept_code=None)],  # B6 unknown unit
        "reviews": [dict(review, person_id=review["person_id"], reviewer_kind="peer", reviewer_id=review["person_id"], score="105")],  # B9
    }
    if vio:
        bad["violations"] = [dict(vio, violation_id=f"WJ-SD-{y}-999", severity="很严重")]  # B7 unknown label
    return bad


def _csv_bytes(df: pl.DataFrame) -> bytes:
    buf = io.BytesIO()
    df.write_csv(buf)
    return buf.getvalue()


def _headers(df: pl.DataFrame, source: str) -> pl.DataFrame:
    if source in ZH_HEADER:
        return df.rename({c.name: c.zh for c in SOURCES[source].columns})
    return df


def _xlsx(path: Path, df: pl.DataFrame) -> None:
    """A small first-sheet workbook, byte-identical for identical content (fixed zip and core times)."""
    from openpyxl import Workbook

    wb = Workbook()
    ws = wb.active
    ws.title = "Sheet1"
    ws.append(df.columns)
    for row in df.iter_rows():
        ws.append(list(row))
    raw = io.BytesIO()
    wb.save(raw)
    src = zipfile.ZipFile(io.BytesIO(raw.getvalue()))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        for info in src.infolist():
            data = src.read(info.filename)
            if info.filename == "docProps/core.xml":
                data = re.sub(rb"(<dcterms:(?:created|modified)[^>]*>)[^<]*", rb"\g<1>" + FIXED_XML_TIME.encode(), data)
            zi = zipfile.ZipInfo(info.filename, date_time=FIXED_ZIP_TIME)
            zi.compress_type = zipfile.ZIP_DEFLATED
            z.writestr(zi, data)
    path.write_bytes(out.getvalue())


def write_demo(out: Path, frames: dict[str, pl.DataFrame], years: list[int]) -> dict[str, int]:
    out.mkdir(parents=True, exist_ok=True)
    text = {s: _as_text(frames[s], s) for s in SOURCES}
    # Rows in a stable order: by key (ids sort as text).
    text = {s: df.sort(list(SOURCES[s].key), nulls_last=False, maintain_order=True) for s, df in text.items()}
    # A traditional label and full-width digits, as some offices type them.
    if text["violations"].height:
        serious = ENUMS["severity"].label("serious")
        trad = opencc.OpenCC("s2t").convert(serious)  # 嚴重
        text["violations"] = text["violations"].with_columns(
            severity=pl.when(pl.int_range(pl.len()) == 0).then(pl.col("severity").str.replace(serious, trad)).otherwise("severity"))
    fw = str.maketrans("0123456789", "０１２３４５６７８９")
    first_date = text["duty_activities"]["activity_date"][0]
    text["duty_activities"] = text["duty_activities"].with_columns(
        activity_date=pl.when(pl.int_range(pl.len()) == 0).then(pl.lit(first_date.translate(fw))).otherwise("activity_date"))
    for source, rows in _bad_rows(text, years).items():
        text[source] = pl.concat([text[source], pl.DataFrame(rows, schema=text[source].schema)], how="vertical")
    counts = {s: df.height for s, df in text.items()}
    for source, df in text.items():
        df = _headers(df, source)
        if source == "units":
            _xlsx(out / "units.xlsx", df)
        elif source == "personnel":
            (out / "personnel.csv").write_bytes(b"\xef\xbb\xbf" + _csv_bytes(df))
        elif source == "departments":
            (out / "departments.csv").write_bytes(_csv_bytes(df).decode("utf-8").encode("gb18030"))
        elif source == "talks":
            folder = out / "talks"
            folder.mkdir(exist_ok=True)
            month = df.select(pl.col("talk_date").str.slice(0, 7).alias("m"))["m"]
            for m in sorted(month.unique().to_list()):
                (folder / f"{m}.csv").write_bytes(_csv_bytes(df.filter(month == m)))
        else:
            (out / f"{source}.csv").write_bytes(_csv_bytes(df))
    return counts
