"""`lpms plan ...` and `lpms network ...` subcommands (registered by lpms.cli)."""
from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any, Callable

from lpms.domain.errors import LpmsError


class ScenarioFileError(LpmsError):
    """The scenario file cannot be read or is not JSON."""


def _objective_list(text: str) -> list[str]:
    from lpms.planning.optimize import OBJECTIVES

    names = [t.strip() for t in text.split(",") if t.strip()]
    for name in names:
        if name not in OBJECTIVES:
            raise argparse.ArgumentTypeError(f"unknown objective {name!r} (choose from {', '.join(OBJECTIVES)})")
    if len(set(names)) != len(names):
        raise argparse.ArgumentTypeError("an objective is named twice")
    return names


def _pair(text: str) -> list[str]:
    names = _objective_list(text)
    if len(names) != 2:
        raise argparse.ArgumentTypeError("give exactly two objectives, e.g. inventory,overtime")
    return names


def load_scenario_file(path: Path) -> Any:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ScenarioFileError(f"{path}: cannot read ({exc.strerror})") from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise ScenarioFileError(f"{path}: not valid JSON at line {exc.lineno}, column {exc.colno}: {exc.msg}") from None


def cmd_solve(args: argparse.Namespace) -> int:
    from lpms.planning.scenario import parse_single
    from lpms.planning.single import plan_pareto, plan_priority, plan_weighted
    from lpms.settings import load_settings
    from lpms.planning.solver import SolverOptions

    settings = load_settings()
    options = SolverOptions(time_limit_s=settings.solver_time_limit_s, threads=settings.solver_threads,
                            gap_rel=settings.balance_gap_rel)
    data = load_scenario_file(Path(args.scenario))
    scn = parse_single(data)
    if args.pareto:
        plans = plan_pareto(scn, args.pareto[0], args.pareto[1], options)
        if args.format == "json":
            print(json.dumps({"pareto": {"objectives": args.pareto, "points": [p.to_dict() for p in plans]}}, indent=2))
        else:
            a, b = args.pareto
            print(f"Pareto front: {a} against {b} ({len(plans)} efficient points; delayed delivery held at its minimum)")
            print(f"{'#':>3} {a:>14} {b:>14}  production")
            for i, p in enumerate(plans, 1):
                prod = " ".join(str(v) for v in p.to_dict()["production"])
                print(f"{i:>3} {p.to_dict()['objectives'][a]:>14} {p.to_dict()['objectives'][b]:>14}  {prod}")
        return 0
    plan = plan_priority(scn, args.priority, options) if args.priority else plan_weighted(scn, options)
    if args.format == "json":
        print(json.dumps(plan.to_dict(), indent=2))
    else:
        from lpms.planning.demand import gross_demand
        from lpms.domain.enums import OffsetRule
        from lpms.planning.report import plan_table

        orders = gross_demand([0.0] * scn.periods, scn.orders, OffsetRule.ORDERS_ONLY)
        print(plan_table(plan, scn.forecast, orders, scn.offset_rule.value))
    return 0


def register(sub: Any, add: Callable[..., argparse.ArgumentParser]) -> None:
    """Add the planning subcommands to the top-level parser."""
    from lpms.cli import _Parser

    plan = sub.add_parser("plan", help="Plan management: solve scenarios, run plans on the database.",
                          description="Plan management: solve scenarios, run plans on the database.")
    psub = plan.add_subparsers(dest="plan_command", metavar="ACTION", parser_class=_Parser)
    psub.required = True
    solve = psub.add_parser(
        "solve", help="solve a scenario file (JSON) and print the plan",
        description="Solve a single-item scenario file: demand (offset rule, netting), then the four-objective "
                    "plan (weighted costs, --priority order, or a --pareto sweep). See docs/scenario-format.md.")
    solve.add_argument("scenario", metavar="SCENARIO.json")
    solve.add_argument("--format", choices=["json", "table"], default="table", help="output format (default: table)")
    mode = solve.add_mutually_exclusive_group()
    mode.add_argument("--priority", type=_objective_list, metavar="OBJ,...",
                      help="solve lexicographically in this order, e.g. late,overtime,inventory,balance")
    mode.add_argument("--pareto", type=_pair, metavar="OBJ,OBJ",
                      help="list the efficient trade-off points of two objectives, e.g. inventory,overtime")
    solve.set_defaults(func=cmd_solve)
