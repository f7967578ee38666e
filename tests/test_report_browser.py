"""The yearly report in a real browser: Debian's headless Chromium (installed by tests/setup_extra.py)
driven over the DevTools protocol. Checks that the page loads nothing from outside and no request
fails, that the charts are drawn and non-empty, that the headline numbers equal the published
tables' (counted here straight from the Parquet files), that Chinese text is drawn with a CJK font,
that it prints to A4 with the page number and count at the foot of every page, and that the printed
to-do list keeps dates and ids on one line. Skipped without Chromium, except in CI (CI set), where it
must run."""

from __future__ import annotations

import base64
import contextlib
import json
import os
import shutil
import signal
import subprocess
import re
import time
import urllib.request
import zlib
from pathlib import Path

import polars as pl
import pytest
from support_report import make_warehouse

from lianjian.report import write_reports

FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
    "--disable-extensions",
    "--disable-default-apps",
    "--mute-audio",
    "--hide-scrollbars",
    "--window-size=1100,1600",
]
CJK_FONTS = {"Microsoft YaHei", "SimSun", "Noto Sans CJK SC", "WenQuanYi Micro Hei"}


def chromium() -> str:
    path = shutil.which("chromium") or shutil.which("chromium-browser")
    if path:
        return path
    if os.environ.get("CI"):
        pytest.fail("CI: Debian 的 chromium 未安装（tests/setup_extra.py 应已安装）— chromium is required in CI")
    pytest.skip("未安装 chromium（python3 dev.py test 以 root 运行时会自动安装）— Chromium not installed")


class Browser:
    """One headless Chromium with its own profile, spoken to over one DevTools websocket."""

    def __init__(self, binary: str, profile: Path):
        self.proc = subprocess.Popen(
            [binary, *FLAGS, f"--user-data-dir={profile}", "--remote-debugging-port=0", "about:blank"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        port_file = profile / "DevToolsActivePort"
        deadline = time.monotonic() + 60
        while not (port_file.exists() and port_file.read_text().strip()):
            if time.monotonic() > deadline or self.proc.poll() is not None:
                self.close()
                pytest.fail("chromium 未能启动 (no DevToolsActivePort)")
            time.sleep(0.1)
        port = int(port_file.read_text().split()[0])
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/json/list", timeout=10) as resp:
            targets = json.load(resp)
        url = next(t["webSocketDebuggerUrl"] for t in targets if t["type"] == "page")
        from websockets.sync.client import connect

        self._stack = contextlib.ExitStack()
        self.ws = self._stack.enter_context(connect(url, max_size=None, open_timeout=10))
        self.next_id = 0
        self.events: list[dict] = []

    def send(self, method: str, timeout: float = 60, **params) -> dict:
        self.next_id += 1
        self.ws.send(json.dumps({"id": self.next_id, "method": method, "params": params}))
        deadline = time.monotonic() + timeout
        while True:
            msg = json.loads(self.ws.recv(timeout=max(deadline - time.monotonic(), 0.1)))
            if msg.get("id") == self.next_id:
                if "error" in msg:
                    raise AssertionError(f"{method}: {msg['error']}")
                return msg["result"]
            if "method" in msg:
                self.events.append(msg)

    def wait_for(self, method: str, timeout: float = 60) -> dict:
        deadline = time.monotonic() + timeout
        seen = [e for e in self.events if e["method"] == method]
        while not seen:
            msg = json.loads(self.ws.recv(timeout=max(deadline - time.monotonic(), 0.1)))
            if "method" in msg:
                self.events.append(msg)
                if msg["method"] == method:
                    return msg
        return seen[0]

    def evaluate(self, expression: str):
        result = self.send("Runtime.evaluate", expression=expression, returnByValue=True)
        return result["result"].get("value")

    def close(self) -> None:
        stack = getattr(self, "_stack", None)
        if stack is not None:
            with contextlib.suppress(Exception):
                stack.close()
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)  # the browser we started, and its children
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=10)


@pytest.fixture(scope="module")
def rendered(tmp_path_factory):
    binary = chromium()
    root = tmp_path_factory.mktemp("browser")
    wh = make_warehouse(root)
    write_reports(wh, years=[2024])
    page = wh / "reports" / "2024" / "CTY1.html"
    browser = Browser(binary, root / "profile")
    try:
        browser.send("Network.enable")
        browser.send("Page.enable")
        browser.send("Page.navigate", url=page.as_uri())
        browser.wait_for("Page.loadEventFired")
        facts = browser.evaluate(
            """JSON.stringify({
              metrics: Object.fromEntries([...document.querySelectorAll('[data-metric]')].map(
                  m => [m.dataset.metric, m.querySelector('.value').textContent.trim()])),
              charts: [...document.querySelectorAll('svg.chart')].map(svg => {
                  const box = svg.getBoundingClientRect();
                  const bars = [...svg.querySelectorAll('rect.bar')];
                  return {key: svg.dataset.chart, width: box.width, height: box.height, bars: bars.length,
                          drawn: bars.filter(b => { const r = b.getBBox(); return r.width > 0 && r.height > 0; }).length,
                          labels: [...svg.querySelectorAll('text')].map(t => t.textContent)};
              }),
              title: document.querySelector('h1').textContent,
              font: getComputedStyle(document.body).fontFamily,
            })"""
        )
        browser.send("DOM.enable")
        browser.send("CSS.enable")
        root_node = browser.send("DOM.getDocument")["root"]["nodeId"]
        h1 = browser.send("DOM.querySelector", nodeId=root_node, selector="h1")["nodeId"]
        fonts = browser.send("CSS.getPlatformFontsForNode", nodeId=h1)["fonts"]
        shot = browser.send("Page.captureScreenshot", format="png", captureBeyondViewport=True)["data"]
        pdf = browser.send("Page.printToPDF", preferCSSPageSize=True, printBackground=True, timeout=120)["data"]
        events = list(browser.events)
        margin_boxes = json.loads(browser.evaluate(
            """JSON.stringify([...document.styleSheets].flatMap(sheet => [...sheet.cssRules])
                 .filter(r => r instanceof CSSPageRule).flatMap(r => [...r.cssRules])
                 .map(m => ({kind: m.constructor.name, name: m.name, content: m.style.content})))"""
        ))
        # the to-do list as printed on a narrow page, where long cells must wrap: lines per cell
        browser.send("Emulation.setEmulatedMedia", media="print")
        browser.send("Emulation.setDeviceMetricsOverride", width=480, height=1600, deviceScaleFactor=1, mobile=False)
        todo = json.loads(browser.evaluate(
            """JSON.stringify({
              head: [...document.querySelectorAll('table[data-table="talks_todo"] thead th')].map(th => th.textContent),
              rows: [...document.querySelectorAll('table[data-table="talks_todo"] tbody tr')].map(tr => [...tr.children].map(td => {
                  const r = document.createRange(); r.selectNodeContents(td);
                  return {text: td.textContent, lines: r.getClientRects().length};
              }))})"""
        ))
    finally:
        browser.close()
    out = Path(os.environ.get("LIANJIAN_REPORT_SHOT") or root / "CTY1-2024.png")
    out.write_bytes(base64.b64decode(shot))
    return {"warehouse": wh, "page": page, "facts": json.loads(facts), "fonts": fonts, "events": events,
            "screenshot": out, "pdf": base64.b64decode(pdf), "margin_boxes": margin_boxes, "todo": todo}


def test_no_failed_or_outside_requests(rendered):
    events = rendered["events"]
    requested = [e["params"]["request"]["url"] for e in events if e["method"] == "Network.requestWillBeSent"]
    assert rendered["page"].as_uri() in requested  # the log did see the page itself
    assert all(u.startswith(("file://", "data:")) for u in requested), requested
    failed = [e["params"] for e in events if e["method"] == "Network.loadingFailed"]
    assert failed == []


def test_charts_present_and_not_empty(rendered):
    charts = {c["key"]: c for c in rendered["facts"]["charts"]}
    assert set(charts) == {"integrity_grades", "responsibility_grades", "major_matters"}
    for c in charts.values():
        assert c["width"] > 200 and c["height"] > 100, c
    # integrity: five grades with one person each (all drawn); responsibility: 未评定 is 0 (not drawn)
    assert (charts["integrity_grades"]["bars"], charts["integrity_grades"]["drawn"]) == (5, 5)
    assert (charts["responsibility_grades"]["bars"], charts["responsibility_grades"]["drawn"]) == (5, 4)
    assert "较差" in charts["integrity_grades"]["labels"]
    # 三个规定: 3 years × (unit, parent median); 2023's unit rate is 0 -> 5 drawn
    assert (charts["major_matters"]["bars"], charts["major_matters"]["drawn"]) == (6, 5)


def test_headline_numbers_equal_published_tables(rendered):
    pub = rendered["warehouse"] / "published"

    def read(table: str) -> pl.DataFrame:
        return pl.read_parquet(pub / table / "**" / "*.parquet", hive_partitioning=True).filter(
            (pl.col("year") == 2024) & (pl.col("unit_code") == "CTY1")
        )

    ia, ra, ob = read("integrity_assessment"), read("responsibility_assessment"), read("talk_obligations")
    expected = {
        "integrity_people": ia.height,
        "integrity_poor": ia.filter(pl.col("grade") == "较差").height,
        "integrity_incomplete": ia.filter(pl.col("status") == "incomplete").height,
        "responsibility_subjects": ra.height,
        "responsibility_poor": ra.filter(pl.col("grade") == "较差").height,
        "triggers": read("accountability_triggers").height,
        "obligations_due": ob.height,
        "obligations_outstanding": ob.filter(~pl.col("fulfilled")).height,
        "cases_closed": read("case_quality")["cases_closed"].sum(),
        "special_unverified": read("case_quality")["special_unverified"].sum(),
        "leaders_handling": read("leader_case_handling")["leaders_handling"].sum(),
        "staff": read("major_matter_report_stats")["staff"].sum(),
        "mm_reports": read("major_matter_report_stats")["reports"].sum(),
    }
    shown = {k: int(v) for k, v in rendered["facts"]["metrics"].items()}
    assert shown == expected
    assert expected["integrity_people"] == 5 and expected["obligations_outstanding"] == 3  # the fixture, by hand


def test_chinese_is_drawn_with_a_cjk_font(rendered):
    assert rendered["facts"]["title"].startswith("甲县人民检察院 2024")
    assert "Microsoft YaHei" in rendered["facts"]["font"] and "WenQuanYi Micro Hei" in rendered["facts"]["font"]
    installed = subprocess.run(["fc-list", ":lang=zh", "family"], capture_output=True, text=True).stdout
    if any(f in installed for f in CJK_FONTS):
        used = {f["familyName"] for f in rendered["fonts"]}
        assert used & CJK_FONTS, used


def test_screenshot_and_a4_print(rendered):
    png = rendered["screenshot"].read_bytes()
    assert png.startswith(b"\x89PNG") and len(png) > 20_000
    pdf = rendered["pdf"]
    assert pdf.startswith(b"%PDF")
    assert pdf.count(b"/Type /Page") - pdf.count(b"/Type /Pages") >= 2 or pdf.count(b"/Type/Page") >= 2
    assert b"595" in pdf and b"842" in pdf  # A4 in points (MediaBox 595.x × 842.x)


def _footers(pdf: bytes) -> list[list[bytes]]:
    """Per printed page, the glyph strings of the text drawn in the page's foot: the runs of one text
    line in the muted colour (#57606a, written by Chromium's PDF backend as ``.3412 .3765 .4157 rg``)
    that open a page's content stream. Glyphs, not characters: the fonts are embedded subsets."""
    streams = []
    for raw in re.findall(rb"stream\r?\n(.*?)endstream", pdf, re.S):
        try:
            streams.append(zlib.decompressobj().decompress(raw))
        except zlib.error:
            continue
    pattern = rb"\.3412 \.3765 \.4157 rg\n/G\d+ gs\n((?:BT\n/F\d+ [\d.]+ Tf\n1 0 0 -1 [\d.]+ [\d.]+ Tm\n<[0-9A-F]+> Tj\nET\n)+)"
    out = []
    for d in streams:
        for m in re.finditer(pattern, d):
            runs = re.findall(rb"1 0 0 -1 [\d.]+ ([\d.]+) Tm\n<([0-9A-F]+)> Tj", m.group(1))
            if len({y for y, _ in runs}) == 1:  # one line
                out.append([g for _, g in runs])
    return out


def test_printed_pages_carry_page_number_and_count(rendered):
    """The @page margin box is taken by Chromium (CSSOM) and drawn on every page: "第 N 页 / 共 M 页"
    is five runs — text, N, text, M, text — where N differs on every page and M is the same on all."""
    boxes = {b["name"]: b for b in rendered["margin_boxes"] if b["kind"] == "CSSMarginRule"}
    assert "counter(page)" in boxes["bottom-center"]["content"] and "counter(pages)" in boxes["bottom-center"]["content"]
    pdf = rendered["pdf"]
    pages = pdf.count(b"/Type /Page") - pdf.count(b"/Type /Pages")
    footers = _footers(pdf)
    assert pages >= 2 and len(footers) == pages, (pages, len(footers))
    assert all(len(f) == 5 for f in footers), footers
    numbers = [f[1] for f in footers]
    assert len(set(numbers)) == pages  # 1, 2, … : a different number on each page
    assert {f[3] for f in footers} == {numbers[-1]}  # the count, on every page, is the last page's number
    assert len({(f[0], f[2], f[4]) for f in footers}) == 1  # the same words around them


def test_printed_todo_list_keeps_dates_and_ids_on_one_line(rendered):
    """On a page too narrow for the to-do list (480 px, print media), the unit and department wrap,
    but every date, event id and person with id (姓名（工号）) stays on one line."""
    head, rows = rendered["todo"]["head"], rendered["todo"]["rows"]
    kept = [head.index(h) for h in ("责任人", "谈话对象", "事件编号", "应谈起始日", "应谈截止日")]
    assert rows and len(rows) == 3
    for row in rows:
        for i in kept:
            assert row[i]["lines"] <= 1, (head[i], row[i])  # 0 for an empty cell
    assert any(re.fullmatch(r"\d{4}-\d{2}-\d{2}", row[head.index("应谈截止日")]["text"]) for row in rows)
    assert max(row[head.index("单位")]["lines"] for row in rows) > 1  # the page is narrow enough to wrap
