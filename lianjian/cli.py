"""`lianjian` command line (docs/contract.md, "Commands"): run, demo, ui, generate, explain, lineage,
report; and the on-demand commands leads, dossier, whatif (lianjian/ondemand/), which never change
published/.

What staff read comes first in Chinese: help texts, usage (用法), and every error — argparse's own
messages are translated (``ChineseParser.error``), with the English original in parentheses. A flag
must be written in full (``allow_abbrev=False``: ``--landin`` is an error, not ``--landing``).

Exit status, the same in every command (README "Exit status", ``lianjian.errors``): 0 done; 1 a
run's step or blocking data-quality check failed; 2 cannot run at all — bad flags, a missing or wrong
file or folder, unreadable rules — with one line on stderr (file, column, what to do), never a
traceback; 3 what was asked for (a person, unit, year, table or column) is not published. Set
LIANJIAN_DEBUG=1 to see the traceback as well.
"""

from __future__ import annotations

import argparse
import os
import re
import sys
from typing import NoReturn

from lianjian.errors import EXIT_CANNOT_RUN, EXIT_NOT_FOUND, FatalError, NotFound, not_a_file

#: argparse's messages (Python 3.11–3.13 wording) -> Chinese; each pattern's groups are kept.
_MESSAGES: list[tuple[str, str]] = [
    (r"the following arguments are required: (.+)", "缺少必需的参数：{0}"),
    (r"one of the arguments (.+) is required", "必须给出以下参数之一：{0}"),
    (r"unrecognized arguments: (.+)", "无法识别的参数：{0}（参数须写全，例如 --landing）"),
    (r"argument (\S+): not allowed with argument (\S+)", "参数 {0} 不能与 {1} 同时使用"),
    (r"argument (\S+): invalid choice: (.+?) \(choose from (.+)\)", "参数 {0}：{1} 不是可选值（可选：{2}）"),
    (r"argument (\S+): invalid int value: (.+)", "参数 {0}：{1} 不是整数"),
    (r"argument (\S+): invalid (\S+) value: (.+)", "参数 {0}：{2} 不是有效的值"),
    (r"argument (\S+): expected one argument", "参数 {0} 后面需要一个值"),
    (r"argument (\S+): expected at most one argument", "参数 {0} 后面最多一个值"),
    (r"argument (\S+): expected at least one argument", "参数 {0} 后面至少需要一个值"),
    (r"argument (\S+): ignored explicit argument (.+)", "参数 {0} 不接受值 {1}"),
    (r"argument (\S+): (.+)", "参数 {0}：{1}"),
]

#: Names argparse uses in its messages -> what staff call them.
_NAMES = {"command": "命令", "target": "TABLE.COLUMN"}


def chinese_message(message: str) -> str:
    """One argparse error message in Chinese, the English original in parentheses."""
    for pattern, template in _MESSAGES:
        m = re.fullmatch(pattern, message)
        if m:
            groups = [_NAMES.get(g.strip(), g) for g in m.groups()]
            return f"{template.format(*groups)}（{message}）"
    return message


class ChineseFormatter(argparse.HelpFormatter):
    """Help text with Chinese headings: 用法 for the usage line."""

    def add_usage(self, usage, actions, groups, prefix=None):
        return super().add_usage(usage, actions, groups, prefix="用法：" if prefix is None else prefix)


class ChineseParser(argparse.ArgumentParser):
    """An ArgumentParser for staff: no abbreviated flags, Chinese headings and help, and errors as the
    usage line plus one Chinese line (exit 2)."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("allow_abbrev", False)
        kwargs.setdefault("formatter_class", ChineseFormatter)
        kwargs["add_help"] = False
        super().__init__(*args, **kwargs)
        self._positionals.title = "参数 arguments"
        self._optionals.title = "选项 options"
        self.add_argument("-h", "--help", action="help", default=argparse.SUPPRESS, help="显示本帮助并退出 show this help and exit")

    def error(self, message: str):
        self.print_usage(sys.stderr)
        self.exit(EXIT_CANNOT_RUN, f"{self.prog}: 错误：{chinese_message(message)}\n")


def _paths(p: argparse.ArgumentParser, *, landing=True, rules=True) -> None:
    if landing:
        p.add_argument("--landing", metavar="DIR", help="落地区目录 landing zone folder (default data/landing/ or $LIANJIAN_LANDING)")
    p.add_argument("--warehouse", metavar="DIR", help="数据仓库目录 warehouse folder (default warehouse/ or $LIANJIAN_WAREHOUSE)")
    if rules:
        p.add_argument("--rules", metavar="FILE", help="规则文件 rules file (default rules/default.yaml or $LIANJIAN_RULES)")


def _settings(args: argparse.Namespace):
    """The flags, else the LIANJIAN_* environment, else the defaults — as the one settings object the
    Dagster runs get as run configuration (the environment is read, never written)."""
    from pipelines.resources import LianjianSettings

    return LianjianSettings.resolve(getattr(args, "landing", None), getattr(args, "warehouse", None), getattr(args, "rules", None))


def parser() -> argparse.ArgumentParser:
    ap = ChineseParser(prog="lianjian", description="廉检：廉洁从检评估与党风廉政考核 (integrity results for a procuratorate)")
    sub = ap.add_subparsers(dest="command", required=True, title="命令 commands", metavar="命令")

    p = sub.add_parser("run", help="运行全流程 materialize every asset through Dagster")
    _paths(p)
    p.add_argument(
        "--years",
        metavar="YEARS",
        help="只重算这些年度的派生与考核结果，如 2024 或 2021-2025（默认全部年度）"
        " recompute only these years' derived and assessed results (default: every year)",
    )
    p.add_argument(
        "--no-wait",
        action="store_true",
        help="数据仓库正被另一运行占用时不等待，立即退出（状态 2）并说明占用者"
        " exit at once (status 2) naming the holder when another run holds the warehouse, instead of waiting",
    )
    p.add_argument(
        "--force",
        action="store_true",
        help="即使已发布版本为最新（落地文件、规则文件和程序版本均未改变）也重新计算并发布"
        " recompute and publish even when the published version is current",
    )
    p = sub.add_parser("demo", help="生成演示数据（如无）并运行 generate the demo landing zone if absent, then run")
    _paths(p, landing=True, rules=False)
    p = sub.add_parser(
        "ui",
        help="打开 Dagster 界面（项目自带的实例设置：.dagster_home/） start the Dagster UI with the project's instance settings",
    )
    _paths(p)
    p.add_argument("--port", type=int, default=3000, help="端口 port (default 3000)")
    p.add_argument("--host", default="127.0.0.1", help="监听地址 host (default 127.0.0.1)")
    p = sub.add_parser("generate", help="生成模拟落地数据 write a synthetic landing zone")
    p.add_argument("--out", required=True, metavar="DIR", help="输出目录 output folder")
    p.add_argument("--scale", default="demo", choices=["demo", "county", "city", "province", "national"], help="规模 scale")
    p.add_argument("--years", default="2021-2025", metavar="YEARS", help="年度范围 years, e.g. 2021-2025")
    p.add_argument("--seed", type=int, default=20240101, metavar="N", help="随机种子 seed")
    p = sub.add_parser("explain", help="说明评定过程 explain how a grade was reached")
    g = p.add_mutually_exclusive_group(required=True)
    g.add_argument("--person", metavar="ID", help="工号 person_id")
    g.add_argument("--unit", metavar="CODE", help="单位编码 unit_code")
    p.add_argument("--year", type=int, required=True, metavar="YYYY", help="年度 year")
    _paths(p, landing=False, rules=False)
    p = sub.add_parser("lineage", help="列级血缘 where a published column comes from (TABLE.COLUMN)")
    p.add_argument("target", metavar="TABLE.COLUMN", help="发布表或 表.列 TABLE or TABLE.COLUMN")
    p = sub.add_parser("report", help="年度报告 write (or open) one unit's yearly report")
    p.add_argument("--unit", required=True, metavar="CODE", help="单位编码 unit_code")
    p.add_argument("--year", type=int, required=True, metavar="YYYY", help="年度 year")
    p.add_argument("--open", action="store_true", help="写好后在浏览器中打开 open the page in the desktop's browser")
    _paths(p, landing=False, rules=False)
    p = sub.add_parser("leads", help="核查线索（受限，记入访问日志）print one unit's R10 review leads of a year")
    p.add_argument("--unit", required=True, help="单位编码 unit_code")
    p.add_argument("--year", type=int, required=True)
    _paths(p, landing=False, rules=False)
    p = sub.add_parser("dossier", help="个人廉政档案（按需生成，记入访问日志）one officer's integrity file, HTML and Excel")
    p.add_argument("--person", required=True, help="工号 person_id")
    p.add_argument("--years", help="年度，如 2024 或 2021-2025（默认名册中的全部年度）")
    p.add_argument("--out", help="输出目录（默认 <仓库>/restricted/dossiers/）")
    _paths(p, landing=False, rules=False)
    p = sub.add_parser("whatif", help="规则试算：候选规则文件会改变什么（不改动发布结果）what a candidate rules file would change")
    p.add_argument("--rules", required=True, help="候选规则文件 candidate rules file")
    p.add_argument("--years", help="试算年度，如 2024 或 2024-2025（默认已发布的全部年度）")
    p.add_argument("--out", help="输出目录（默认 <仓库>/whatif/<候选文件名>-<摘要>/）")
    _paths(p, landing=False, rules=False)
    return ap


def _published_is_current(args: argparse.Namespace) -> int | None:
    """`lianjian run` when the published version is current: one line and exit 0, before Dagster is
    even loaded (lianjian/fingerprint.py). None: not known to be current — the run goes on (and,
    once it holds the warehouse lock, checks again: another run may just have published)."""
    from lianjian.fingerprint import check_current
    from lianjian.paths import resolve_paths

    paths = resolve_paths(args.landing, args.warehouse, args.rules)
    current = check_current(paths["landing"], paths["warehouse"], paths["rules"])
    if current is None:
        return None
    print(current.message())
    return 0


def _start_suite_worker(args: argparse.Namespace) -> None:
    """Tables will be staged (the published version is not current): have the suite worker import
    Great Expectations now, beside this process's imports of Dagster and the pipeline's definitions
    (≈ 1 s earlier than the runner would start it), when the run is one it serves
    (lianjian/quality/worker.py ``beside_staging``). The runner's own start of it is then a no-op."""
    from lianjian.paths import resolve_paths
    from lianjian.quality.worker import warm_beside_staging

    warm_beside_staging(resolve_paths(args.landing, args.warehouse, args.rules)["landing"])


def _fewer_collections(args: argparse.Namespace) -> None:
    """Before Dagster is imported: Python's cycle collector less often for a small landing zone
    (lianjian/processes.py)."""
    from lianjian.paths import resolve_paths
    from lianjian.processes import fewer_collections

    fewer_collections(resolve_paths(args.landing, args.warehouse, getattr(args, "rules", None))["landing"])


def dispatch(args: argparse.Namespace) -> int:
    if args.command in ("explain", "report", "leads", "dossier", "whatif"):  # they read a warehouse: a file named as one is not "nothing published"
        not_a_file(_settings(args).warehouse_path, "数据仓库", "--warehouse")
    if args.command == "run":
        if not args.force and not args.years:
            done = _published_is_current(args)
            if done is not None:
                return done
        if not args.force:
            _start_suite_worker(args)
        _fewer_collections(args)
        from lianjian.runner import run

        s = _settings(args)
        return run(s.landing_path, s.warehouse_path, s.rules_path, years=args.years, wait=not args.no_wait, force=args.force)
    if args.command == "demo":
        _fewer_collections(args)
        from lianjian.runner import demo

        s = _settings(args)
        return demo(s.landing_path, s.warehouse_path)
    if args.command == "ui":
        from lianjian.ui import ui_command

        s = _settings(args)
        return ui_command(s, port=args.port, host=args.host)
    if args.command == "generate":
        from lianjian.generate import generate_command

        not_a_file(args.out, "输出目录", "--out")
        return generate_command(out=args.out, scale=args.scale, years=args.years, seed=args.seed)
    if args.command == "explain":
        from lianjian.publish.explain import explain_command

        return explain_command(person=args.person, unit=args.unit, year=args.year, warehouse=_settings(args).warehouse_path)
    if args.command == "lineage":
        from lianjian.publish.lineage import lineage_command

        return lineage_command(args.target)
    if args.command == "report":
        from lianjian.report import report_command

        return report_command(unit=args.unit, year=args.year, open_=args.open, warehouse=_settings(args).warehouse_path)
    if args.command == "leads":
        from lianjian.ondemand.leads import leads_command

        return leads_command(unit=args.unit, year=args.year, warehouse=_settings(args).warehouse_path)
    if args.command == "dossier":
        from lianjian.ondemand.dossier import dossier_command

        return dossier_command(person=args.person, years=args.years, out=args.out, warehouse=_settings(args).warehouse_path)
    if args.command == "whatif":
        from lianjian.ondemand.whatif import whatif_command

        return whatif_command(candidate=args.rules, years=args.years, out=args.out, warehouse=_settings(args).warehouse_path)
    raise AssertionError(args.command)


#: The commands that run the pipeline in this process: the ones whose process holds, when it ends,
#: what a run leaves in memory (Dagster's definitions, events and records, the frames' Python objects).
PIPELINE_COMMANDS = ("run", "demo")


def end_process(code: int) -> NoReturn:
    """End this process with ``code`` as the interpreter would, but without its teardown: first what an
    ordinary exit runs — the threads' exit hooks (the suite worker ended, concurrent.futures' threads
    joined) and non-daemon threads waited for, then every ``atexit`` hook (multiprocessing's children
    and finalizers, logging's flush), then the standard streams flushed — and then ``os._exit``.

    What is skipped is Python's own finalization: clearing every module and collecting the whole heap
    again and again. After a pipeline run that heap is the imports plus the run's objects, and walking
    it took ≈ 0.5–2 CPU-s after the last line was printed (docs/performance.md, "The end of a run"):
    nothing in it writes a file or releases anything the operating system does not take back at exit
    (the warehouse lock is released, and the run's files closed, before ``dispatch`` returns)."""
    import atexit
    import threading

    try:
        threading._shutdown()  # type: ignore[attr-defined]  # what the interpreter calls first at exit
    finally:
        atexit._run_exitfuncs()
        for stream in (sys.stdout, sys.stderr):
            try:
                stream.flush()
            except (OSError, ValueError):  # a closed pipe: nothing left to say
                pass
        os._exit(code)


def main(argv: list[str] | None = None) -> int:
    """The command line. Called as the program (``argv`` None: the ``lianjian`` script, ``python -m
    lianjian.cli``), a pipeline command ends the process itself once it is done (``end_process``);
    called with arguments (tests, scripts), it returns the exit status."""
    try:
        args = parser().parse_args(argv)
    except SystemExit as done:  # --help (0) or a usage error (2, already printed in Chinese)
        return int(done.code or 0)
    code = _main(args)
    if argv is None and args.command in PIPELINE_COMMANDS:
        end_process(code)
    return code


def _main(args: argparse.Namespace) -> int:
    try:
        return dispatch(args)
    except NotFound as err:
        print(f"lianjian: {err}", file=sys.stderr)
        return EXIT_NOT_FOUND
    except FatalError as err:
        if os.environ.get("LIANJIAN_DEBUG"):
            raise
        print(f"lianjian: {err}", file=sys.stderr)
        return EXIT_CANNOT_RUN
    except KeyboardInterrupt:
        print("lianjian: 已中断 (interrupted)", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
