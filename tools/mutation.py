#!/usr/bin/env python3
"""Mutation testing of the scoring rules (lianjian/scoring), run by hand — never in CI (docs/testing.md).

Each mutant is one small deliberate bug — an operator or a constant changed, a filter or a join that
drops rows removed, a setting hard-coded to its default, a per-year setting read from the base
settings — written into a private copy of the project; the fast scoring tests then run against it.
A mutant that makes a test fail is *killed*; one that passes every test *survives*: either it is
equivalent (it cannot change any result) or a test is still owed. The score is killed / all.

    nice -n 19 .venv/bin/python tools/mutation.py                       # every mutant, then the summary
    nice -n 19 .venv/bin/python tools/mutation.py --files lianjian/scoring/leads.py
    nice -n 19 .venv/bin/python tools/mutation.py --named               # the named bugs only, every test that kills each
    .venv/bin/python tools/mutation.py --list                           # list the mutants, run nothing

Results go, one JSON line per mutant, to ``--out`` (default ``.mutation/results.jsonl``, ignored by
git); a second run with the same file skips the mutants already done (resume after an interruption;
delete the file to start again). ``--summary`` prints the score and the survivors from that file.

Mutants are made with ``ast`` on the source text (the original formatting kept, one change each) and
never touch the working tree: the copy lives in a temporary folder, run with
``PYTHONDONTWRITEBYTECODE`` so that no stale byte code outlives a mutant.
"""

from __future__ import annotations

import argparse
import ast
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SCORING = ROOT / "lianjian" / "scoring"
PYTHON = ROOT / ".venv" / "bin" / "python"

#: The fast scoring tests (seconds, not minutes): golden cases, boundaries, settings, properties. The
#: Dagster runs (hand-worked landing zone, assets) are left out: each costs seconds more per mutant
#: and the same rules are pinned by the pure-function tests.
TESTS = [
    "tests/test_rules_boundaries.py",
    "tests/test_rules_settings.py",
    "tests/test_rules_duty_items.py",
    "tests/test_r1_talks.py",
    "tests/test_r2_integrity.py",
    "tests/test_r3_responsibility.py",
    "tests/test_r4_triggers.py",
    "tests/test_r5_r6_cases.py",
    "tests/test_r7_reports.py",
    "tests/test_r9_monthly.py",
    "tests/test_r10_leads.py",
    "tests/test_seed_figures.py::test_liaoning_figures_from_the_pure_function",
    "tests/test_seed_figures.py::test_heilongjiang_figures_from_the_pure_function",
    "tests/test_rules_inputs.py",
    "tests/test_scoring_outputs.py",
    "tests/test_rules_thresholds.py",
    "tests/test_scoring_properties.py",
]
DESELECT = ["tests/test_r4_triggers.py::test_assessed_assets_materialize",
            "tests/test_rules_settings.py::test_plausible_dates_and_rejected_share_through_dagster"]
#: What the copy needs: the package, the tests and what they read.
COPY = ["lianjian", "pipelines", "assets", "checks", "tests", "rules", "pyproject.toml"]

# ---------------------------------------------------------------- the mutants


@dataclass(frozen=True)
class Mutant:
    file: str  # relative to ROOT
    line: int
    col: int
    op: str  # the kind of mutation
    before: str  # the source text replaced
    after: str  # what replaces it
    start: int  # character offsets in the file's text
    end: int
    name: str = ""  # a named bug (--named)

    @property
    def id(self) -> str:
        return _id(self.name, self.file, self.line, self.col, self.op, self.after, self.start)

    def apply(self, text: str) -> str:
        assert text[self.start:self.end] == self.before, self
        return text[: self.start] + self.after + text[self.end :]


def _id(name: str, file: str, line: int, col: int, op: str, after: str, start: int) -> str:
    """A mutant's id. The offset of the changed text is part of it: the operators of one chain
    (``a - b - c``) belong to nested nodes that start at the same line and column."""
    return name or f"{file}:{line}:{col}:{op}:{after}@{start}"


COMPARE = {ast.Lt: "<=", ast.LtE: "<", ast.Gt: ">=", ast.GtE: ">", ast.Eq: "!=", ast.NotEq: "==",
           ast.In: "not in", ast.NotIn: "in", ast.Is: "is not", ast.IsNot: "is"}
COMPARE_TEXT = {ast.Lt: "<", ast.LtE: "<=", ast.Gt: ">", ast.GtE: ">=", ast.Eq: "==", ast.NotEq: "!=",
                ast.In: "in", ast.NotIn: "not in", ast.Is: "is", ast.IsNot: "is not"}
BINOP = {ast.Add: ("+", "-"), ast.Sub: ("-", "+"), ast.Mult: ("*", "/"), ast.Div: ("/", "*"),
         ast.FloorDiv: ("//", "/"), ast.BitAnd: ("&", "|"), ast.BitOr: ("|", "&"), ast.Mod: ("%", "//")}
#: Methods whose call is removed (``x.filter(c)`` → ``x``): the filters, joins that drop rows and
#: the steps that clean values.
REMOVABLE = {"filter", "unique", "fill_null", "drop_nulls", "sort", "clip", "over", "round", "abs"}
#: Methods swapped for their opposite.
SWAP_METHOD = {"min": "max", "max": "min", "first": "last", "last": "first", "any": "all", "all": "any",
               "is_null": "is_not_null", "is_not_null": "is_null", "min_horizontal": "max_horizontal",
               "max_horizontal": "min_horizontal", "floor": "ceil", "sum": "mean", "mean": "sum",
               "any_horizontal": "all_horizontal", "all_horizontal": "any_horizontal"}
#: Keyword values swapped (``how="semi"`` → ``"anti"`` …).
SWAP_KEYWORD = {"how": {"left": "inner", "inner": "left", "semi": "anti", "anti": "semi", "full": "left"},
                "closed": {"both": "left", "left": "both", "right": "both"}}


def _offsets(text: str) -> list[int]:
    starts, pos = [0], 0
    for line in text.splitlines(keepends=True):
        pos += len(line)
        starts.append(pos)
    return starts


class _Finder(ast.NodeVisitor):
    def __init__(self, path: Path, text: str, defaults):
        self.rel = str(path.relative_to(ROOT))
        self.text = text
        self.lines = _offsets(text)
        self.defaults = defaults
        self.mutants: list[Mutant] = []
        self.docstrings: set[int] = set()

    # -- helpers
    def pos(self, line: int, col: int) -> int:
        # ast columns are UTF-8 byte offsets: convert within the line
        start = self.lines[line - 1]
        raw = self.text[start:self.lines[line]].encode("utf-8")
        return start + len(raw[:col].decode("utf-8"))

    def span(self, node) -> tuple[int, int]:
        return self.pos(node.lineno, node.col_offset), self.pos(node.end_lineno, node.end_col_offset)

    def add(self, node, op: str, start: int, end: int, after: str) -> None:
        before = self.text[start:end]
        if before == after:
            return
        self.mutants.append(Mutant(self.rel, node.lineno, node.col_offset, op, before, after, start, end))

    def between(self, left, right, token: str) -> tuple[int, int] | None:
        """The offsets of ``token`` in the text between two nodes (an operator's own position)."""
        a, b = self.span(left)[1], self.span(right)[0]
        i = self.text.find(token, a, b)
        if i < 0:
            return None
        # a longer operator that starts with the token ("//" when looking for "/") is another one
        return i, i + len(token)

    # -- visitors
    def visit_Module(self, node):
        self._docstrings(node)
        self.generic_visit(node)

    def visit_FunctionDef(self, node):
        # annotations are never evaluated (``from __future__ import annotations``): not mutated
        self._docstrings(node)
        for child in [*node.decorator_list, *node.args.defaults, *(d for d in node.args.kw_defaults if d), *node.body]:
            self.visit(child)

    def visit_AnnAssign(self, node):
        if node.value is not None:
            self.visit(node.value)

    visit_AsyncFunctionDef = visit_FunctionDef

    def visit_ClassDef(self, node):
        self._docstrings(node)
        self.generic_visit(node)

    def _docstrings(self, node):
        body = getattr(node, "body", [])
        if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant) and isinstance(body[0].value.value, str):
            self.docstrings.add(id(body[0].value))

    def visit_Assert(self, node):
        return  # the module's own consistency checks (enumeration codes): not rules

    def visit_ImportFrom(self, node):
        return

    def visit_Compare(self, node):
        left = node.left
        for op, right in zip(node.ops, node.comparators):
            token = COMPARE_TEXT[type(op)]
            where = self.between(left, right, token)
            if where and not (token in ("<", ">") and self.text[where[1]:where[1] + 1] == "="):
                self.add(node, "compare", *where, COMPARE[type(op)])
            left = right
        self.generic_visit(node)

    def visit_BinOp(self, node):
        pair = BINOP.get(type(node.op))
        strings = any(isinstance(x, ast.Constant) and isinstance(x.value, str) for x in (node.left, node.right))
        if pair and not strings and not isinstance(node.left, ast.JoinedStr):
            where = self.between(node.left, node.right, pair[0])
            if where and not (pair[0] == "/" and self.text[where[1]:where[1] + 1] == "/"):
                self.add(node, "binop", *where, pair[1])
        self.generic_visit(node)

    def visit_UnaryOp(self, node):
        if isinstance(node.op, (ast.Invert, ast.Not, ast.USub)):
            start, end = self.span(node)
            self.add(node, "unary", start, end, self.text[slice(*self.span(node.operand))])
        self.generic_visit(node)

    def visit_BoolOp(self, node):
        token, other = ("and", "or") if isinstance(node.op, ast.And) else ("or", "and")
        for left, right in zip(node.values, node.values[1:]):
            where = self.between(left, right, f" {token} ")
            if where:
                self.add(node, "boolop", *where, f" {other} ")
        self.generic_visit(node)

    def visit_Constant(self, node):
        if id(node) in self.docstrings:
            return
        v = node.value
        start, end = self.span(node)
        if isinstance(v, bool):
            self.add(node, "constant", start, end, str(not v))
        elif isinstance(v, int):
            self.add(node, "constant", start, end, str(v + 1))
            self.add(node, "constant", start, end, str(v - 1))
        elif isinstance(v, float):
            self.add(node, "constant", start, end, repr(v + 1))
            self.add(node, "constant", start, end, repr(0.0) if v else "1.0")

    def visit_keyword(self, node):
        swaps = SWAP_KEYWORD.get(node.arg or "")
        if swaps and isinstance(node.value, ast.Constant) and node.value.value in swaps:
            start, end = self.span(node.value)
            self.add(node.value, f"keyword {node.arg}", start, end, repr(swaps[node.value.value]).replace("'", '"'))
            return
        self.generic_visit(node)

    def visit_Call(self, node):
        f = node.func
        if isinstance(f, ast.Attribute):
            start, end = self.span(node)
            recv = self.text[slice(*self.span(f.value))]
            how = next((k.value.value for k in node.keywords if k.arg == "how" and isinstance(k.value, ast.Constant)), None)
            if f.attr in REMOVABLE or (f.attr == "join" and how in ("semi", "anti")):
                self.add(node, f"drop .{f.attr}()", start, end, recv)
            if f.attr in SWAP_METHOD:
                a, b = self.span(f)
                self.add(node, "method", b - len(f.attr), b, SWAP_METHOD[f.attr])
            if f.attr == "settings" and len(node.args) == 1 and not node.keywords:
                # a per-year setting read from the base settings: the year's override ignored
                self.add(node, "per-year setting ignored", start, end, f"{recv}.settings()")
        self.generic_visit(node)

    def visit_Lambda(self, node):
        args = node.args.args
        if self.defaults is not None and args and args[0].arg == "s":
            value = _default_of(node, self.text[slice(*self.span(node.body))], self.defaults)
            if value is not None:
                start, end = self.span(node.body)
                self.add(node, "setting hard-coded to its default", start, end, value)
        self.generic_visit(node)


def _default_of(lam: ast.Lambda, body: str, defaults) -> str | None:
    """The literal a settings getter (``lambda s: float(s.grades.good)``) gives for the base settings
    of rules/default.yaml, or None when it is not a plain value."""
    names = [a.arg for a in lam.args.args]
    env = {"float": float, "int": int, "getattr": getattr}
    extra = {a.arg: None for a in lam.args.args[1:]}
    if extra:  # ``lambda s, k=k: …``: the default of the extra argument is a loop variable, unknown here
        return None
    try:
        value = eval(f"lambda {', '.join(names)}: {body}", env)(defaults)
    except Exception:
        return None
    if isinstance(value, (int, float, str, bool)) or (isinstance(value, list) and all(isinstance(v, str) for v in value)):
        return repr(value)
    if isinstance(value, dict) and all(isinstance(v, (int, float, str)) for v in value.values()):
        return repr(value)
    return None


def find_mutants(paths: list[Path]) -> list[Mutant]:
    sys.path.insert(0, str(ROOT))
    from lianjian.rules_config import load_rules

    defaults = load_rules(ROOT / "rules" / "default.yaml").settings()
    out: list[Mutant] = []
    for path in paths:
        text = path.read_text(encoding="utf-8")
        finder = _Finder(path, text, defaults)
        finder.visit(ast.parse(text))
        seen = set()
        for m in finder.mutants:
            if (m.start, m.end, m.after) not in seen:
                seen.add((m.start, m.end, m.after))
                out.append(m)
    return sorted(out, key=lambda m: (m.file, m.start, m.after))


#: Named bugs: the six of docs/testing.md ("Tests that catch a wrong rule") and the two the
#: hand-worked landing zone must catch through `lianjian run`. (file, what, before, after).
NAMED = [
    ("grade_fairly_good_strict", "lianjian/scoring/common.py", "较好 threshold > instead of ≥",
     '.when(score >= pl.col("grade_fairly_good"))', '.when(score > pl.col("grade_fairly_good"))'),
    ("june_in_second_half_r3", "lianjian/scoring/responsibility.py", "June counted in the second half (R3 duty items)",
     '((month - 1) // 6 + 1).alias("half")', 'pl.when(month <= 5).then(1).otherwise(2).alias("half")'),
    ("june_in_second_half_r1", "lianjian/scoring/talks.py", "June in the second half (R1 department talks)",
     '(DEPARTMENT_H1, _year_start(), pl.date(pl.col("year"), 6, 30)),\n        (DEPARTMENT_H2, pl.date(pl.col("year"), 7, 1), _year_end()),',
     '(DEPARTMENT_H1, _year_start(), pl.date(pl.col("year"), 5, 31)),\n        (DEPARTMENT_H2, pl.date(pl.col("year"), 6, 1), _year_end()),'),
    ("consecutive_poor_min_2", "lianjian/scoring/triggers.py", "连续两年较差 minimum hard-coded to 2",
     "_min=lambda s: s.triggers.consecutive_poor_min_years", "_min=lambda s: 2"),
    ("vote_points_swapped", "lianjian/scoring/responsibility.py", "vote points of 较好 and 一般 swapped",
     'pl.col(f"votes_{k}") * pl.col(f"vote_points_{k}")',
     'pl.col(f"votes_{k}") * pl.col(f"vote_points_{ {\'fairly_good\': \'average\', \'average\': \'fairly_good\'}.get(k, k) }")'),
    ("duty_weights_ignored", "lianjian/scoring/responsibility.py", "duty item weights ignored",
     '((pl.col("completion") * pl.col("weight")).sort().sum() / pl.col("weight").sum() * 100)',
     '(pl.col("completion").sort().mean() * 100)'),
    ("repeat_serious_no_severity_filter", "lianjian/scoring/triggers.py", "severity filter of repeat_serious_violation removed",
     '        .join(sev, on=["year", "severity"], how="semi")\n        .group_by("year", pl.col("subject_id").alias("_person"))',
     '        .group_by("year", pl.col("subject_id").alias("_person"))'),
    ("peer_trim_removed", "lianjian/scoring/integrity.py", "peer trim removed",
     "return pl.when(n >= trim_from).then((total - highest - lowest) / (n - 2)).otherwise(total / n)",
     "return total / n"),
    ("case_cap_removed", "lianjian/scoring/integrity.py", "case cap removed",
     '.with_columns(pl.min_horizontal("uncapped", "cases_cap").alias("points"))',
     '.with_columns(pl.col("uncapped").alias("points"))'),
]
#: The tests the named bugs run against: the fast ones and the hand-worked landing zone.
NAMED_TESTS = TESTS + ["tests/test_hand_zone.py"]


def named_mutants() -> list[Mutant]:
    out = []
    for name, rel, what, before, after in NAMED:
        text = (ROOT / rel).read_text(encoding="utf-8")
        start = text.find(before)
        if start < 0 or text.count(before) != 1:
            raise SystemExit(f"mutation: the named bug {name} no longer matches {rel} — update NAMED")
        line = text.count("\n", 0, start) + 1
        out.append(Mutant(rel, line, 0, what, before, after, start, start + len(before), name=name))
    return out


# ---------------------------------------------------------------- running


def _imports(path: Path) -> set[str]:
    """The modules a file imports (anywhere in it), as dotted names."""
    out = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            out |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            out.add(node.module)
            out |= {f"{node.module}.{a.name}" for a in node.names}
    return out


def _module_file(name: str) -> Path | None:
    """The file of a module of the project's scoring or of the tests' helpers, or None."""
    if name.startswith("lianjian.scoring."):
        path = ROOT / (name.replace(".", "/") + ".py")
    elif name.startswith("support_"):
        path = ROOT / "tests" / f"{name}.py"
    else:
        return None
    return path if path.exists() else None


def tests_reaching(module: str, tests: list[str]) -> list[str]:
    """The tests (of ``tests``) whose file imports ``module`` (a file of lianjian/scoring), directly or
    through a test helper or another scoring module: a test that never imports a module cannot run
    its code, so it cannot kill its mutants."""
    target = (ROOT / module).resolve()
    seen: dict[Path, set[Path]] = {}

    def closure(path: Path) -> set[Path]:
        if path in seen:
            return seen[path]
        seen[path] = set()
        found = set()
        for name in _imports(path):
            f = _module_file(name)
            if f is not None:
                found |= {f.resolve()} | closure(f)
        seen[path] = found
        return found

    return [t for t in tests if target in closure(ROOT / t.split("::")[0])]


def make_copy(into: Path) -> Path:
    for name in COPY:
        src = ROOT / name
        if src.is_dir():
            shutil.copytree(src, into / name, ignore=shutil.ignore_patterns("__pycache__", ".hypothesis"))
        else:
            shutil.copy2(src, into / name)
    return into


def run_tests(copy: Path, tests: list[str], *, stop_first: bool, timeout: float) -> tuple[str, float, list[str], str]:
    """(outcome, seconds, failed test ids, tail of the output): outcome killed / survived / timeout."""
    cmd = [str(PYTHON), "-m", "pytest", "-q", "-p", "no:cacheprovider", "--hypothesis-seed=0", "-o", "addopts=",
           "-rf", *(["-x"] if stop_first else []), *tests, *(f"--deselect={d}" for d in DESELECT)]
    env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1", "LIANJIAN_MUTATION": "1"}
    t0 = time.monotonic()
    try:
        proc = subprocess.run(cmd, cwd=copy, env=env, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return "timeout", time.monotonic() - t0, [], ""
    seconds = time.monotonic() - t0
    failed = [ln.split(" ", 2)[1] for ln in proc.stdout.splitlines() if ln.startswith(("FAILED ", "ERROR "))]
    tail = "\n".join(proc.stdout.strip().splitlines()[-3:])
    if proc.returncode == 0:
        return "survived", seconds, [], tail
    return "killed", seconds, failed, tail


def check_copy(copy: Path) -> None:
    """The copy's package is the one imported (not the working tree's, installed in editable mode)."""
    probe = subprocess.run([str(PYTHON), "-c", "import lianjian, sys; print(lianjian.__file__)"], cwd=copy,
                           capture_output=True, text=True, env={**os.environ, "PYTHONDONTWRITEBYTECODE": "1"})
    where = Path(probe.stdout.strip()).resolve()
    if copy.resolve() not in where.parents:
        raise SystemExit(f"mutation: the copy imports lianjian from {where}, not from {copy}")


def results(out: Path) -> dict[str, dict]:
    """The last result of each mutant in ``out`` (a retried survivor's new result replaces the old)."""
    if not out.exists():
        return {}
    rows = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines() if line.strip()]
    # keyed by the id made from the row's fields (rows written before the offset was part of the id
    # keep their result)
    return {_id(r["name"], r["file"], r["line"], r["col"], r["op"], r["after"], r["start"]): r for r in rows}


def summary(out: Path) -> int:
    # the results of the mutants made today (a mutant no longer made, or a changed source line, drops out)
    current = {m.id for m in find_mutants(sorted(SCORING.glob("*.py")))} | {m.id for m in named_mutants()}
    rows = [r for i, r in results(out).items() if i in current]
    generated = [r for r in rows if not r["name"]]
    named = [r for r in rows if r["name"]]
    killed = [r for r in generated if r["outcome"] in ("killed", "timeout")]
    if generated:
        print(f"{len(killed)} of {len(generated)} mutants killed: {100 * len(killed) / len(generated):.1f} %")
        by_file: dict[str, list[int]] = {}
        for r in generated:
            k = by_file.setdefault(r["file"], [0, 0])
            k[0] += r["outcome"] != "survived"
            k[1] += 1
        for f, (k, n) in sorted(by_file.items()):
            print(f"  {f}: {k}/{n}")
        survivors = [r for r in generated if r["outcome"] == "survived"]
        if survivors:
            print("survivors:")
        for r in survivors:
            print(f"  {r['file']}:{r['line']}  {r['op']}: {r['before']!r} → {r['after']!r}")
    for r in named:
        print(f"named {r['name']} ({r['op']}): {r['outcome']} by {', '.join(r['failed']) or '—'}")
    return 0


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--files", nargs="*", type=Path, help="modules to mutate (default: every module of lianjian/scoring)")
    p.add_argument("--named", action="store_true", help="run the named bugs only, each against every test (no -x)")
    p.add_argument("--list", action="store_true", help="list the mutants and stop")
    p.add_argument("--summary", action="store_true", help="print the score and the survivors of --out and stop")
    p.add_argument("--out", type=Path, default=ROOT / ".mutation" / "results.jsonl")
    p.add_argument("--limit", type=int, default=0, help="at most this many mutants (0: all)")
    p.add_argument("--tests", nargs="*", help="run these tests instead of the fast scoring tests")
    p.add_argument("--jobs", type=int, default=1, help="mutants run at a time (each in its own copy)")
    p.add_argument("--retry-survivors", action="store_true",
                   help="run again the mutants that survived in --out (after tests were added)")
    args = p.parse_args(argv)
    # stopped with kill: end as with Ctrl-C, so that the temporary copies are removed
    signal.signal(signal.SIGTERM, lambda *_: (_ for _ in ()).throw(KeyboardInterrupt()))

    if args.summary:
        return summary(args.out)
    if args.named:
        mutants, tests = named_mutants(), NAMED_TESTS
    else:
        files = [f.resolve() for f in args.files] if args.files else sorted(SCORING.glob("*.py"))
        mutants, tests = find_mutants(files), TESTS
    tests = args.tests or tests
    if args.list:
        for m in mutants:
            print(f"{m.file}:{m.line}:{m.col}  {m.op}: {m.before!r} → {m.after!r}")
        print(f"{len(mutants)} mutants")
        return 0
    args.out.parent.mkdir(parents=True, exist_ok=True)
    done = results(args.out)
    if args.retry_survivors:
        todo = [m for m in mutants if m.id in done and done[m.id]["outcome"] == "survived"]
    else:
        todo = [m for m in mutants if m.id not in done]
    if args.limit:
        todo = todo[: args.limit]
    with tempfile.TemporaryDirectory(prefix="lianjian-mutation-") as tmp:
        copies = [make_copy(Path(tmp) / f"w{i}") for i in range(max(1, args.jobs))]
        check_copy(copies[0])
        outcome, base_seconds, failed, tail = run_tests(copies[0], tests, stop_first=False, timeout=3600)
        if outcome != "survived":
            raise SystemExit(f"mutation: the tests fail without any mutant ({', '.join(failed)}):\n{tail}")
        timeout = 3 * base_seconds + 30
        print(f"baseline: {len(tests)} test files pass in {base_seconds:.0f} s; {len(todo)} mutants to run "
              f"({len(mutants) - len(todo)} done before), {len(copies)} at a time", flush=True)
        free = list(copies)
        lock = threading.Lock()
        count = iter(range(1, len(todo) + 1))

        def one(m: Mutant) -> None:
            with lock:
                copy = free.pop()
            try:
                target = copy / m.file
                original = (ROOT / m.file).read_text(encoding="utf-8")
                target.write_text(m.apply(original), encoding="utf-8")
                selected = tests if m.name else tests_reaching(m.file, tests)
                try:
                    outcome, seconds, failed, _ = run_tests(copy, selected, stop_first=not m.name, timeout=timeout)
                finally:
                    target.write_text(original, encoding="utf-8")
            finally:
                with lock:
                    free.append(copy)
            row = {"id": m.id, **asdict(m), "outcome": outcome, "seconds": round(seconds, 1), "failed": failed}
            with lock, args.out.open("a", encoding="utf-8") as out:
                out.write(json.dumps(row, ensure_ascii=False) + "\n")
                print(f"[{next(count)}/{len(todo)}] {outcome:8s} {m.file}:{m.line} {m.op}: {m.before!r} → {m.after!r}"
                      f"{'  ' + failed[0] if failed else ''}", flush=True)

        with ThreadPoolExecutor(max_workers=len(copies)) as pool:
            list(pool.map(one, todo))
    return summary(args.out)


if __name__ == "__main__":
    sys.exit(main())
