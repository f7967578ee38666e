"""The "published version is current" fast path (lianjian/fingerprint.py, docs/operations.md).

One small pipeline run (one unit, 2024) on a landing zone and a rules file of the module's own; each
test changes one thing, looks, and puts it back. What must hold:

- right after a finished run: current — ``lianjian run`` prints one line, exits 0 and starts no
  Dagster run (without even importing Dagster or Polars), the nightly schedule's and the landing
  sensor's ticks skip saying so;
- a landing file touched (new mtime) or copied over with the same bytes: still current (hashed again);
- a landing file's bytes changed, a file added or removed, the rules file changed, another code
  version, the staged tables rewritten by a later staging: not current;
- a version whose run did not finish (the reports failed after publishing, or were left out) never
  counts; nor does anything while another process holds the warehouse lock.
"""

from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess
import sys
import time
from pathlib import Path

import dagster as dg
import pytest

from lianjian import fingerprint as fp
from lianjian.fingerprint import check_current, is_current
from pipelines.resources import LianjianSettings
from tests.support_ingest import write_landing

ROOT = Path(__file__).resolve().parents[1]
RULES = ROOT / "rules" / "default.yaml"


@pytest.fixture(scope="module")
def zone(tmp_path_factory):
    """(landing, warehouse, rules) after one finished `lianjian run` (reports written)."""
    from lianjian.runner import run_pipeline

    root = tmp_path_factory.mktemp("fingerprint")
    landing = write_landing(root / "landing")
    rules = root / "rules.yaml"
    shutil.copyfile(RULES, rules)
    warehouse = root / "wh"
    outcome = run_pipeline(landing, warehouse, rules, instance=dg.DagsterInstance.ephemeral(), progress=False)
    assert outcome.success, outcome.failure
    assert outcome.current is None and len(outcome.run_ids) == 2
    return landing, warehouse, rules


def _manifest(warehouse: Path) -> dict:
    return json.loads(((warehouse / "published").resolve() / "_manifest.json").read_text(encoding="utf-8"))


def test_current_after_a_finished_run(zone):
    landing, warehouse, rules = zone
    current = check_current(landing, warehouse, rules)
    manifest = _manifest(warehouse)
    assert current is not None
    assert current.version == manifest["version"] and current.run_id == manifest["run_id"]
    line = current.message()
    assert line.startswith(f"已发布版本为最新：run {manifest['run_id'][:8]}，发布于 ") and "（北京时间）" in line
    # the private cache: 0700 folder, 0600 files; every landing file recorded with the manifest's digest
    cache = warehouse / fp.CACHE
    assert stat.S_IMODE(cache.stat().st_mode) == 0o700
    for name in (fp.STAT_CACHE, fp.FINISHED):
        assert stat.S_IMODE((cache / name).stat().st_mode) == 0o600
    recorded = json.loads((cache / fp.STAT_CACHE).read_text(encoding="utf-8"))["files"]
    assert {rel: entry[-1] for rel, entry in recorded.items()} == {i["file"]: i["sha256"] for i in manifest["inputs"]}


def test_lianjian_run_says_so_in_one_line_without_loading_dagster(zone):
    """`lianjian run` in a fresh interpreter: one line on stdout, nothing on stderr, exit 0, no
    Dagster run, and neither Dagster, Polars nor Great Expectations imported."""
    landing, warehouse, rules = zone
    before = sorted(p.name for p in (warehouse / ".versions").iterdir())
    code = (
        "import sys; from lianjian.cli import main; rc = main(sys.argv[1:]);"
        "heavy = [m for m in ('dagster', 'polars', 'great_expectations', 'pyarrow') if m in sys.modules];"
        "assert not heavy, heavy; sys.exit(rc)"
    )
    args = ["run", "--landing", str(landing), "--warehouse", str(warehouse), "--rules", str(rules)]
    done = subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""
    lines = done.stdout.splitlines()
    assert len(lines) == 1 and lines[0].startswith("已发布版本为最新：run ")
    assert sorted(p.name for p in (warehouse / ".versions").iterdir()) == before  # nothing published


def test_run_pipeline_starts_no_dagster_run_and_force_recomputes(zone, tmp_path):
    """Through the runner (what `lianjian run` does once it holds the lock): no run when current;
    ``force`` runs both Dagster runs again and the new version is current in its turn."""
    from lianjian.runner import run_pipeline

    landing, warehouse, rules = zone
    instance = dg.DagsterInstance.ephemeral()
    outcome = run_pipeline(landing, warehouse, rules, instance=instance, progress=False)
    assert outcome.success and outcome.current and outcome.current.startswith("已发布版本为最新")
    assert outcome.run_ids == [] and not instance.get_runs()
    old = _manifest(warehouse)["version"]
    forced = run_pipeline(landing, warehouse, rules, instance=instance, progress=False, force=True)
    assert forced.success and forced.current is None and len(forced.run_ids) == 2
    new = _manifest(warehouse)
    assert new["version"] != old
    assert check_current(landing, warehouse, rules).version == new["version"]


def test_schedule_and_landing_sensor_skip_saying_so(zone):
    from pipelines.definitions import defs

    landing, warehouse, rules = zone
    settings = LianjianSettings(landing=str(landing), warehouse=str(warehouse), rules=str(rules))
    with dg.DagsterInstance.ephemeral() as instance:
        context = dg.build_schedule_context(instance=instance, resources={"lianjian": settings})
        data = defs.resolve_schedule_def("lianjian_nightly").evaluate_tick(context)
        assert not data.run_requests and data.skip_message.startswith("已发布版本为最新")
        context = dg.build_sensor_context(instance=instance, cursor=None, resources={"lianjian": settings})
        data = defs.resolve_sensor_def("landing_zone_sensor").evaluate_tick(context)
        assert not data.run_requests and data.skip_message.startswith("已发布版本为最新")
        assert data.cursor  # the listing is remembered: the next tick does not look again


def test_touched_or_copied_over_with_the_same_bytes_is_still_current(zone):
    landing, warehouse, rules = zone
    talks = landing / "talks.csv"
    st = talks.stat()
    os.utime(talks, ns=(st.st_atime_ns, st.st_mtime_ns + 5_000_000_000))
    assert is_current(landing, warehouse, rules) is not None
    recorded = json.loads((warehouse / fp.CACHE / fp.STAT_CACHE).read_text(encoding="utf-8"))["files"]["talks.csv"]
    assert recorded[1] == st.st_mtime_ns + 5_000_000_000  # hashed again, recorded with its new stat
    data = talks.read_bytes()
    talks.unlink()
    talks.write_bytes(data)  # a new inode, the same bytes
    assert is_current(landing, warehouse, rules) is not None


def test_changed_bytes_added_or_removed_files_are_not_current(zone):
    landing, warehouse, rules = zone
    talks = landing / "talks.csv"
    data = talks.read_bytes()
    try:
        talks.write_bytes(data.replace(b"\n", b"\r\n", 1))  # the same rows to a reader, other bytes
        assert is_current(landing, warehouse, rules) is None
    finally:
        talks.write_bytes(data)
    assert is_current(landing, warehouse, rules) is not None
    # same size, mtime set back: the ctime still tells (the content differs)
    st = talks.stat()
    try:
        talks.write_bytes(data[:-2] + bytes([data[-2] ^ 1]) + data[-1:])
        os.utime(talks, ns=(st.st_atime_ns, st.st_mtime_ns))
        assert talks.stat().st_size == st.st_size
        assert is_current(landing, warehouse, rules) is None
    finally:
        talks.write_bytes(data)
    extra = landing / "talks" / "more.csv"  # a second file of a source, in its folder
    extra.parent.mkdir()
    try:
        extra.write_bytes(data)
        assert is_current(landing, warehouse, rules) is None
    finally:
        shutil.rmtree(extra.parent)
    (landing / "notes.txt").write_text("not a landing file")  # the reader does not read it
    assert is_current(landing, warehouse, rules) is not None
    (landing / "notes.txt").unlink()
    moved = landing.parent / "reviews.csv.away"
    os.rename(landing / "reviews.csv", moved)
    try:
        assert is_current(landing, warehouse, rules) is None
    finally:
        os.rename(moved, landing / "reviews.csv")
    assert is_current(landing, warehouse, rules) is not None


def test_rules_file_or_code_version_changed_is_not_current(zone, monkeypatch):
    landing, warehouse, rules = zone
    text = rules.read_bytes()
    try:
        rules.write_bytes(text + b"\n# a comment is a change of the file\n")
        assert is_current(landing, warehouse, rules) is None
    finally:
        rules.write_bytes(text)
    assert is_current(landing, warehouse, rules) is not None
    monkeypatch.setattr(fp, "code_version", lambda: "9.9.9+gdeadbeef")
    assert is_current(landing, warehouse, rules) is None


def test_the_manifest_records_the_code_digest_and_the_commit(zone):
    """code_version is the package version + the first 16 hex of the code's digest; git_commit is
    the checkout's commit (this suite runs from a checkout)."""
    _, warehouse, _ = zone
    manifest = _manifest(warehouse)
    assert manifest["code_version"] == fp.code_version()
    assert manifest["code_version"].endswith("+src." + fp.code_digest()[:16])
    assert manifest["git_commit"] == fp.git_commit()


def _code_tree(root: Path) -> None:
    for package in fp.CODE_PACKAGES:
        (root / package).mkdir(parents=True)
        (root / package / "__init__.py").write_text(f"# {package}\n")
    (root / "lianjian" / "contract").mkdir()
    (root / "lianjian" / "contract" / "sources.yaml").write_text("sources: {}\n")


def test_the_code_digest_changes_with_the_code_and_only_with_it(tmp_path, monkeypatch):
    """An edit of any Python, YAML or JSON file of the code's folders, committed or not, changes the
    digest; documentation, tests, caches and other folders do not; nor does the place of the tree."""
    a, b = tmp_path / "a", tmp_path / "b"
    _code_tree(a)
    _code_tree(b)
    digest = fp.code_digest.__wrapped__
    base = digest(a)
    assert digest(b) == base  # the same files elsewhere: the same code
    (a / "docs").mkdir()
    (a / "docs" / "x.md").write_text("prose\n")
    (a / "tests").mkdir()
    (a / "tests" / "test_x.py").write_text("assert True\n")
    (a / "lianjian" / "__pycache__").mkdir()
    (a / "lianjian" / "__pycache__" / "x.py").write_text("cache\n")
    (a / "lianjian" / "notes.md").write_text("prose\n")
    assert digest(a) == base
    for rel in ("assets/__init__.py", "pipelines/__init__.py", "checks/__init__.py", "lianjian/contract/sources.yaml"):
        path = a / rel
        text = path.read_text()
        path.write_text(text + " ")
        assert digest(a) != base, rel
        path.write_text(text)
    assert digest(a) == base
    (a / "lianjian" / "contract" / "table.json").write_text("{}")
    assert digest(a) != base
    (a / "lianjian" / "contract" / "table.json").unlink()
    (a / "lianjian" / "__init__.py").rename(a / "lianjian" / "renamed.py")
    assert digest(a) != base  # same bytes under another name
    (a / "lianjian" / "renamed.py").rename(a / "lianjian" / "__init__.py")
    from importlib import metadata

    real = metadata.version
    monkeypatch.setattr(metadata, "version", lambda name: "0.0.1" if name == "pyarrow" else real(name))
    assert digest(a) != base  # another PyArrow may write other bytes


def test_git_commit_says_dirty_only_for_edits_of_the_code(tmp_path):
    root = tmp_path / "repo"
    _code_tree(root)
    git = ["git", "-C", str(root), "-c", "user.name=t", "-c", "user.email=t@t"]
    subprocess.run([*git, "init", "-q"], check=True)
    subprocess.run([*git, "add", "-A"], check=True)
    subprocess.run([*git, "commit", "-q", "-m", "c"], check=True)
    sha = subprocess.run([*git, "rev-parse", "--short=12", "HEAD"], check=True, capture_output=True, text=True).stdout.strip()
    commit = fp.git_commit.__wrapped__
    assert commit(root) == sha
    (root / "README.md").write_text("x\n")
    subprocess.run([*git, "add", "README.md"], check=True)
    assert commit(root) == sha  # not the code
    (root / "pipelines" / "__init__.py").write_text("# edited\n")
    assert commit(root) == f"{sha}-dirty"
    assert commit(tmp_path) is None  # not a checkout


def test_a_later_staging_or_a_busy_warehouse_is_not_current(zone):
    landing, warehouse, rules = zone
    report = warehouse / "staged" / "ingest_report.parquet"
    data = report.read_bytes()
    report.unlink()
    report.write_bytes(data)  # rewritten as a later staging would (a run that then failed)
    assert is_current(landing, warehouse, rules) is None
    # the state of a finished run again (what the reports step records)
    finished = json.loads((warehouse / fp.CACHE / fp.FINISHED).read_text(encoding="utf-8"))
    finished["staged"] = fp.staged_stamp(warehouse)
    fp._write_json(warehouse / fp.CACHE / fp.FINISHED, finished)
    assert check_current(landing, warehouse, rules) is not None
    # another process holds the warehouse (it may be publishing): never reported current
    holder = subprocess.Popen(
        [sys.executable, "-c", "import fcntl, os, sys, time; fd = os.open(sys.argv[1], os.O_RDWR);"
         "fcntl.flock(fd, fcntl.LOCK_EX); print('held', flush=True); time.sleep(60)", str(warehouse / ".lock")],
        stdout=subprocess.PIPE, text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "held"
        started = time.monotonic()
        assert check_current(landing, warehouse, rules) is None
        assert time.monotonic() - started < 10  # does not wait for the holder
    finally:
        holder.kill()
        holder.wait()
    assert check_current(landing, warehouse, rules) is not None


@pytest.mark.parametrize("how", ["reports_failed", "reports_left_out"])
def test_a_version_whose_run_did_not_finish_never_counts(how, tmp_path, monkeypatch):
    """Published, then the reports failed (or were left out): the version is live, but its run did not
    finish — the next run recomputes."""
    import lianjian.report.xlsx
    from lianjian.runner import run_pipeline

    landing = write_landing(tmp_path / "landing")
    warehouse = tmp_path / "wh"
    if how == "reports_failed":  # every report file goes through it, made before the switch or not
        def broken(*_a, **_k):
            raise OSError(28, "No space left on device")

        monkeypatch.setattr(lianjian.report.xlsx, "write_private", broken)
    outcome = run_pipeline(
        landing, warehouse, RULES, instance=dg.DagsterInstance.ephemeral(), progress=False, reports=how != "reports_left_out"
    )
    assert outcome.success is (how == "reports_left_out")
    assert (warehouse / "published" / "_manifest.json").is_file()  # the data was published
    assert not (warehouse / fp.CACHE / fp.FINISHED).exists()
    assert check_current(landing, warehouse, RULES) is None


def test_the_landing_files_are_the_ones_the_reader_reads(tmp_path):
    """``landing_files`` finds exactly what ``lianjian.ingest.reader.source_files`` reads, per source:
    single files in every format, folders of parts at any depth, other files left out."""
    from lianjian.contract import SOURCES
    from lianjian.ingest import reader

    assert fp.EXTENSIONS == reader.EXTENSIONS
    assert fp.source_names() == tuple(SOURCES)
    landing = write_landing(tmp_path / "landing")
    (landing / "talks").mkdir()
    for rel in ("talks/2024/a.csv", "talks/b.XLSX", "talks/c.txt", "talks/.hidden.csv", "cases.parquet", "extra.csv", "README.md"):
        (landing / rel).parent.mkdir(parents=True, exist_ok=True)
        (landing / rel).write_text("x")
    want = sorted(
        (p.relative_to(landing).as_posix(), p) for name in SOURCES for p in reader.source_files(landing, name)
    )
    assert fp.landing_files(landing) == want
    assert "talks/2024/a.csv" in dict(want) and "extra.csv" not in dict(want)


def test_a_new_month_of_the_run_date_is_not_current(zone, monkeypatch):
    """The R9 monthly counts cover the months begun by the run date: in another month the same data
    gives more rows, so the version is not current any more."""
    from lianjian.clock import RUN_DATE_ENV, run_month

    landing, warehouse, rules = zone
    assert is_current(landing, warehouse, rules) is not None
    this = run_month()
    year, month = int(this[:4]), int(this[5:])
    next_month = f"{year + month // 12}-{month % 12 + 1:02d}-01"
    monkeypatch.setenv(RUN_DATE_ENV, next_month)
    assert is_current(landing, warehouse, rules) is None
    monkeypatch.setenv(RUN_DATE_ENV, f"{this}-28")  # another day of the same month
    assert is_current(landing, warehouse, rules) is not None
