"""`lianjian` command line (CONTRACT.md §1): run, demo, generate, explain, lineage, report; and the
on-demand commands leads, dossier, whatif (lianjian/ondemand/), which never change published/.

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


def _apply_paths(args: argparse.Namespace) -> None:
    """Flags become the LIANJIAN_* environment, which the Dagster resources read (one mechanism)."""
    for flag, env in (("landing", "LIANJIAN_LANDING"), ("warehouse", "LIANJIAN_WAREHOUSE"), ("rules", "LIANJIAN_RULES")):
        value = getattr(args, flag, None)
        if value:
            os.environ[env] = os.path.abspath(value)


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


def dispatch(args: argparse.Namespace) -> int:
    _apply_paths(args)
    if args.command == "run":
        from lianjian.runner import run

        return run(years=args.years)
    if args.command == "demo":
        from lianjian.runner import demo

        return demo()
    if args.command == "generate":
        from lianjian.generate import generate_command

        return generate_command(out=args.out, scale=args.scale, years=args.years, seed=args.seed)
    if args.command == "explain":
        from lianjian.publish.explain import explain_command

        return explain_command(person=args.person, unit=args.unit, year=args.year)
    if args.command == "lineage":
        from lianjian.publish.lineage import lineage_command

        return lineage_command(args.target)
    if args.command == "report":
        from lianjian.report import report_command

        return report_command(unit=args.unit, year=args.year, open_=args.open)
    if args.command == "leads":
        from lianjian.ondemand.leads import leads_command

        return leads_command(unit=args.unit, year=args.year)
    if args.command == "dossier":
        from lianjian.ondemand.dossier import dossier_command

        return dossier_command(person=args.person, years=args.years, out=args.out)
    if args.command == "whatif":
        from lianjian.ondemand.whatif import whatif_command

        return whatif_command(candidate=args.rules, years=args.years, out=args.out)
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
