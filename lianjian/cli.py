"""`lianjian` command line (CONTRACT.md §1): run, demo, ui, generate, explain, lineage, report.

A fatal problem ends with one line on stderr (file, column, what to do) and exit status 2; never a
traceback. Set LIANJIAN_DEBUG=1 to see the traceback as well.
"""

from __future__ import annotations

import argparse
import os
import sys

from lianjian.errors import FatalError


def _paths(p: argparse.ArgumentParser, *, landing=True, rules=True) -> None:
    if landing:
        p.add_argument("--landing", help="落地区目录 landing zone (default data/landing/ or $LIANJIAN_LANDING)")
    p.add_argument("--warehouse", help="数据仓库目录 warehouse (default warehouse/ or $LIANJIAN_WAREHOUSE)")
    if rules:
        p.add_argument("--rules", help="规则文件 rules file (default rules/default.yaml or $LIANJIAN_RULES)")


def _settings(args: argparse.Namespace):
    """The flags, else the LIANJIAN_* environment, else the defaults — as the one settings object the
    Dagster runs get as run configuration (the environment is read, never written)."""
    from pipelines.resources import LianjianSettings

    return LianjianSettings.resolve(getattr(args, "landing", None), getattr(args, "warehouse", None), getattr(args, "rules", None))


def parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(prog="lianjian", description="廉检：廉洁从检评估与党风廉政考核 (integrity results for a procuratorate)")
    sub = ap.add_subparsers(dest="command", required=True)

    p = sub.add_parser("run", help="运行全流程 materialize every asset through Dagster")
    _paths(p)
    p.add_argument(
        "--years",
        help="只重算这些年度的派生与考核结果，如 2024 或 2021-2025（默认全部年度）"
        " recompute only these years' derived and assessed results (default: every year)",
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
    p.add_argument("--out", required=True, help="输出目录 output folder")
    p.add_argument("--scale", default="demo", choices=["demo", "county", "city", "province", "national"])
    p.add_argument("--years", default="2021-2025", help="年度范围 e.g. 2021-2025")
    p.add_argument("--seed", type=int, default=20240101)
    p = sub.add_parser("explain", help="说明评定过程 explain how a grade was reached")
    g = p.add_mutually_exclusive_group(required=True)
    g.add_argument("--person", help="工号 person_id")
    g.add_argument("--unit", help="单位编码 unit_code")
    p.add_argument("--year", type=int, required=True)
    _paths(p, landing=False, rules=False)
    p = sub.add_parser("lineage", help="列级血缘 where a published column comes from (TABLE.COLUMN)")
    p.add_argument("target", help="TABLE or TABLE.COLUMN")
    p = sub.add_parser("report", help="年度报告 write (or open) one unit's yearly report")
    p.add_argument("--unit", required=True)
    p.add_argument("--year", type=int, required=True)
    p.add_argument("--open", action="store_true")
    _paths(p, landing=False, rules=False)
    return ap


def dispatch(args: argparse.Namespace) -> int:
    if args.command == "run":
        from lianjian.runner import run

        s = _settings(args)
        return run(s.landing_path, s.warehouse_path, s.rules_path, years=args.years)
    if args.command == "demo":
        from lianjian.runner import demo

        s = _settings(args)
        return demo(s.landing_path, s.warehouse_path)
    if args.command == "ui":
        from lianjian.ui import ui_command

        s = _settings(args)
        return ui_command(s, port=args.port, host=args.host)
    if args.command == "generate":
        from lianjian.generate import generate_command

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
    raise AssertionError(args.command)


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        return dispatch(args)
    except FatalError as err:
        if os.environ.get("LIANJIAN_DEBUG"):
            raise
        print(f"lianjian: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("lianjian: 已中断 (interrupted)", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
