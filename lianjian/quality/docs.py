"""Offline Data Docs: every run's validation results as a small static HTML site.

GX's own Data Docs pull Bootstrap, jQuery, Font Awesome and Vega from CDNs and lose their styling on
a closed network, so the pages are rendered here from the validation results: plain HTML with the
style inline, no script, no external reference. Layout under ``<warehouse>/reports/data_docs/``:

    index.html              every check (status, count, share, samples) and every suite
    suites/<source>.html    one page per staged table's suite: every expectation and its result
    results/<source>.json   the GX validation result itself (sample values masked), for auditors
"""

from __future__ import annotations

import html
import json
import os
import shutil
from datetime import datetime, timezone
from pathlib import Path

from lianjian.contract import SOURCES
from lianjian.files import PRIVATE_DIR, private_mkdir, write_private
from lianjian.quality.checks import QualityRun
from lianjian.quality.suites import FAMILY_ZH

STYLE = """
body{font-family:"Noto Sans CJK SC","Microsoft YaHei","PingFang SC",sans-serif;margin:2em;color:#222;max-width:1200px}
h1{font-size:1.5em}h2{font-size:1.2em;margin-top:1.5em}
table{border-collapse:collapse;width:100%;font-size:.9em}
th,td{border:1px solid #ccc;padding:.3em .5em;text-align:left;vertical-align:top}
th{background:#f0f0f0}
.ok{color:#1b5e20;font-weight:bold}.fail{color:#b71c1c;font-weight:bold}.warn{color:#e65100;font-weight:bold}
.num{text-align:right;font-variant-numeric:tabular-nums}code{font-size:.9em}
.muted{color:#666;font-size:.85em}
"""


def data_docs_dir(warehouse: Path) -> Path:
    return Path(warehouse) / "reports" / "data_docs"


def data_docs_index(warehouse: Path) -> Path:
    """Where the run leaves its data-quality report (link it from the run summary)."""
    return data_docs_dir(warehouse) / "index.html"


def _e(x) -> str:
    return html.escape("" if x is None else str(x))


def _page(title: str, body: str) -> str:
    return (
        "<!DOCTYPE html>\n<html lang=\"zh-CN\"><head><meta charset=\"utf-8\">"
        f"<title>{_e(title)}</title><style>{STYLE}</style></head><body>\n{body}\n</body></html>\n"
    )


def _status(passed: bool, severity: str = "ERROR") -> str:
    if passed:
        return '<span class="ok">通过 passed</span>'
    cls = "fail" if severity == "ERROR" else "warn"
    return f'<span class="{cls}">未通过 failed（{_e(severity)}）</span>'


def _index(run: QualityRun, generated: str) -> str:
    n_fail = sum(1 for o in run.outcomes if not o.passed)
    blocking = run.blocking_failures
    head = (
        "<h1>数据质量报告 Data quality report</h1>"
        f"<p class=\"muted\">生成时间 generated {generated} · 检查 {len(run.outcomes)} 项，未通过 {n_fail} 项，"
        f"其中阻断性 {len(blocking)} 项 · 用时 {run.seconds:.1f} 秒</p>"
    )
    if blocking:
        head += (
            "<p class=\"fail\">有阻断性检查未通过：本次运行不计算考核、不发布结果。"
            "Blocking checks failed: nothing was assessed or published.</p>"
        )
    rows = []
    for o in run.outcomes:
        link = f'<a href="suites/{_e(o.check.table)}.html">{_e(o.check.table)}</a>' if o.check.table in SOURCES else _e(o.check.table)
        rows.append(
            f"<tr><td><code>{_e(o.check.name)}</code><br><span class=\"muted\">{_e(o.check.zh)}</span></td>"
            f"<td>{link}</td><td>{_e(o.check.severity)}</td><td>{_status(o.passed, o.check.severity)}</td>"
            f"<td class=\"num\">{o.unexpected_count}</td><td class=\"num\">{o.total}</td>"
            f"<td class=\"num\">{o.share:.2%}</td><td>{'<br>'.join(_e(s) for s in o.samples)}</td></tr>"
        )
    checks = (
        "<h2>检查 Checks</h2><table><tr><th>检查 check</th><th>表 table</th><th>级别 severity</th><th>结果 result</th>"
        "<th>异常数 unexpected</th><th>总数 total</th><th>占比 share</th><th>样例 samples</th></tr>"
        + "".join(rows)
        + "</table>"
    )
    srows = []
    for src, r in run.suites.items():
        failed = sum(1 for e in r.expectations if not e.success)
        srows.append(
            f"<tr><td><a href=\"suites/{_e(src)}.html\">{_e(r.suite)}</a></td><td>{_e(SOURCES[src].zh)}</td>"
            f"<td class=\"num\">{r.rows}</td><td class=\"num\">{len(r.expectations)}</td>"
            f"<td class=\"num\">{failed}</td><td>{_status(r.success)}</td>"
            f"<td>{'缓存 cached' if r.cached else '本次验证 validated'}</td>"
            f"<td><a href=\"results/{_e(src)}.json\">JSON</a></td></tr>"
        )
    suites = (
        "<h2>暂存表套件 Suites of the staged tables</h2>"
        "<table><tr><th>套件 suite</th><th>数据源</th><th>行数 rows</th><th>期望 expectations</th><th>未通过 failed</th>"
        "<th>结果</th><th>来源</th><th>GX 结果</th></tr>" + "".join(srows) + "</table>"
        "<p class=\"muted\">套件由 lianjian/contract/sources.yaml 自动生成；同一内容的表只验证一次（按内容哈希缓存）。"
        "Suites are generated from the contract; a table with unchanged content is validated once (cached by content hash).</p>"
    )
    return _page("数据质量报告 Data quality report", head + checks + suites)


def _distinct_rows(r) -> str:
    info = ((r.gx_result or {}).get("meta") or {}).get("lianjian") or {}
    return str(info.get("distinct_rows", "?"))


def _suite_page(src: str, run: QualityRun) -> str:
    r = run.suites[src]
    rows = []
    for e in r.expectations:
        rows.append(
            f"<tr><td>{_e(FAMILY_ZH.get(e.family, e.family))}<br><span class=\"muted\">{_e(e.family)}</span></td>"
            f"<td>{_e(e.zh)}<br><span class=\"muted\"><code>{_e(e.type)}</code></span></td>"
            f"<td>{_status(e.success)}</td><td class=\"num\">{e.unexpected_count}</td>"
            f"<td class=\"num\">{e.share:.2%}</td><td>{'<br>'.join(_e(s) for s in e.samples)}"
            f"{'<br><span class=muted>' + _e(e.error) + '</span>' if e.error else ''}</td></tr>"
        )
    body = (
        f"<p><a href=\"../index.html\">← 返回 index</a></p><h1>{_e(r.suite)} · {_e(SOURCES[src].zh)}</h1>"
        f"<p class=\"muted\">行数 rows {r.rows} · 内容哈希 content hash <code>{_e(r.content_hash[:16])}…</code> · "
        f"{'缓存结果 cached result' if r.cached else '本次验证 validated in this run'}</p>"
        f"<p class=\"muted\">GX 按各列（或条件关联列组）的不同取值验证（{_e(_distinct_rows(r))} 行，每行代表若干原始行，"
        "异常数为原始行数）；主键唯一由 Polars 按键分组计算。GX validated the distinct values of each column group"
        " (counts are table rows); key uniqueness is computed in Polars.</p>"
        "<table><tr><th>类别 family</th><th>期望 expectation</th><th>结果</th><th>异常数</th><th>占比</th>"
        "<th>样例 samples</th></tr>" + "".join(rows) + "</table>"
    )
    return _page(f"{r.suite} · {SOURCES[src].zh}", body)


def write_data_docs(run: QualityRun, out_dir: Path) -> Path:
    """Write the site for ``run`` into ``out_dir`` (replaced whole) and return its index.html."""
    out_dir = Path(out_dir)
    tmp = out_dir.with_name(f".{out_dir.name}.tmp-{os.getpid()}")
    shutil.rmtree(tmp, ignore_errors=True)
    private_mkdir(tmp / "suites")  # samples are values of the staged layer: private (0700 / 0600)
    private_mkdir(tmp / "results")
    os.chmod(tmp, PRIVATE_DIR)
    generated = datetime.now(timezone.utc).astimezone().strftime("%Y-%m-%d %H:%M:%S %z")
    for src, r in run.suites.items():
        write_private(tmp / "suites" / f"{src}.html", _suite_page(src, run).encode("utf-8"))
        write_private(
            tmp / "results" / f"{src}.json", json.dumps(r.gx_result, ensure_ascii=False, indent=1, default=str).encode("utf-8")
        )
    write_private(tmp / "index.html", _index(run, generated).encode("utf-8"))
    old = out_dir.with_name(f".{out_dir.name}.old-{os.getpid()}")
    if out_dir.exists():
        os.replace(out_dir, old)
    os.replace(tmp, out_dir)
    shutil.rmtree(old, ignore_errors=True)
    run.docs_index = out_dir / "index.html"
    return run.docs_index
