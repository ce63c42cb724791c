"""`lpms plan ...` and `lpms network ...` subcommands (registered by lpms.cli)."""
from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from lpms.domain.errors import InvalidInput


class ScenarioFileError(InvalidInput):
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
    if isinstance(data, dict) and "items" in data:
        return _solve_network(data, args, options)
    scn = parse_single(data)
    if args.pareto:
        plans = plan_pareto(scn, args.pareto[0], args.pareto[1], options)
        if args.format == "json":
            print(json.dumps({"pareto": {"objectives": args.pareto, "points": [p.to_dict() for p in plans]}}, indent=2))
        else:
            from lpms.formats.render import single_pareto_table

            print(single_pareto_table(plans, args.pareto[0], args.pareto[1]))
        return 0
    plan = plan_priority(scn, args.priority, options) if args.priority else plan_weighted(scn, options)
    if args.format == "json":
        print(json.dumps(plan.to_dict(), indent=2))
    else:
        from lpms.planning.demand import gross_demand
        from lpms.domain.enums import OffsetRule
        from lpms.formats.render import single_plan_table

        orders = gross_demand([0.0] * scn.periods, scn.orders, OffsetRule.ORDERS_ONLY)
        print(single_plan_table(plan, scn.forecast, orders, scn.offset_rule.value))
    return 0


def _solve_network(data: Any, args: argparse.Namespace, options: Any) -> int:
    from lpms.planning.levelling import level_period
    from lpms.planning.network_plan import plan_network
    from lpms.planning.scenario import parse_network

    inp, gross, net = parse_network(data)
    if args.pareto:
        mode, kw = "pareto", {"pareto": args.pareto}
    elif args.priority:
        mode, kw = "priority", {"priority": args.priority}
    else:
        mode, kw = "weighted", {}
    result = plan_network(inp, options, mode=mode, **kw)
    plans = result if isinstance(result, list) else [result]
    outputs = []
    for plan in plans:
        out = plan.to_dict()
        out["gross_demand"] = {k: list(v) for k, v in gross.items()}
        out["net_demand"] = {k: list(v) for k, v in net.items()}
        levelling = {}
        for t in range(plan.periods):
            mix = {p: round(plan.item_production[p][t]) for p in net if p in plan.item_production}
            if sum(mix.values()) > 0:
                seq = level_period(mix)
                levelling[str(t + 1)] = {"sequence": list(seq.sequence), "cost": round(seq.cost, 6),
                                         "lower_bound": round(seq.lower_bound, 6), "exact": seq.exact}
        out["levelling"] = levelling
        outputs.append(out)
    if args.format == "json":
        print(json.dumps({"pareto": outputs} if mode == "pareto" else outputs[0], indent=2))
        return 0
    from lpms.formats.render import network_pareto_report, network_plan_report

    if mode == "pareto":
        print(network_pareto_report(plans, args.pareto[0], args.pareto[1], outputs, gross, net))
    else:
        print(network_plan_report(plans[0], gross, net, outputs[0]["levelling"]))
    return 0


def register(sub: Any) -> None:
    """Add the planning subcommands to the top-level parser."""
    from lpms.cli import _Parser

    plan = sub.add_parser("plan", help="Plan management: solve scenarios, run plans on the database.",
                          description="Plan management: solve scenarios, run plans on the database.")
    psub = plan.add_subparsers(dest="plan_command", metavar="ACTION", parser_class=_Parser)
    psub.required = True
    solve = psub.add_parser(
        "solve", help="solve a scenario file (JSON) and print the plan",
        description="Solve a scenario file, no database needed: a single item (keys forecast, orders, capacities) "
                    "or a multi-item network (keys periods, items, bom, routings, work_centers, demand). Demand "
                    "(offset rule, netting), then the four-objective plan: weighted costs, a --priority order, or a "
                    "--pareto sweep. The file format is described in docs/scenario-format.md.")
    solve.add_argument("scenario", metavar="SCENARIO.json", help="the scenario file (JSON)")
    solve.add_argument("--format", choices=["json", "table"], default="table", help="output format (default: table)")
    mode = solve.add_mutually_exclusive_group()
    mode.add_argument("--priority", type=_objective_list, metavar="OBJ,...",
                      help="solve lexicographically in this order, e.g. late,overtime,inventory,balance")
    mode.add_argument("--pareto", type=_pair, metavar="OBJ,OBJ",
                      help="list the efficient trade-off points of two objectives, e.g. inventory,overtime")
    solve.set_defaults(func=cmd_solve)
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--database-url", help="database URL (default: settings; SQLite file under instance/)")
    register_db_commands(sub, psub, common)


def _costs(text: str):  # type: ignore[no-untyped-def]
    from lpms.planning.single import Costs

    values: dict[str, float] = {}
    for part in text.split(","):
        if not part.strip():
            continue
        key, sep, raw = part.partition("=")
        key = key.strip()
        if not sep or key not in ("late", "balance", "inventory", "overtime"):
            raise argparse.ArgumentTypeError(f"{part.strip()!r}: expected late=N, balance=N, inventory=N or overtime=N")
        try:
            value = float(raw)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{key}: {raw!r} is not a number") from None
        if value < 0 or value != value:
            raise argparse.ArgumentTypeError(f"{key}: must not be negative")
        values[key] = value
    return Costs(**values)


def cmd_run(args: argparse.Namespace) -> int:
    from lpms.cli import with_database
    from lpms.planning.single import Costs
    from lpms.services.planning import run_plan

    costs = args.costs or Costs(late=100, inventory=1, overtime=1)
    run_id, plan, message = with_database(args, lambda uow, settings: run_plan(
        uow, settings, costs, priority=args.priority or (), allow_backlog_past_horizon=args.allow_backlog_past_horizon))
    if plan is None:
        print(f"plan run {run_id}: infeasible: {message}")
        return 1
    from lpms.formats.render import plan_run_report

    print(plan_run_report(run_id, plan))
    return 0


def cmd_network_show(args: argparse.Namespace) -> int:
    from lpms.cli import with_database
    from lpms.formats.network_svg import network_svg
    from lpms.formats.render import describe_network
    from lpms.planning.network import build_graph, divide
    from lpms.planning.single import Costs
    from lpms.services.planning import read_snapshot

    snap = with_database(args, lambda uow, _s: read_snapshot(uow, Costs()))
    division = divide(build_graph(snap.plan_input.snapshot))
    print(describe_network(division))
    if args.svg:
        Path(args.svg).write_text(network_svg(division), encoding="utf-8")
        print(f"picture written to {args.svg}")
    return 0


def register_db_commands(sub: Any, psub: Any, common: argparse.ArgumentParser) -> None:
    run = psub.add_parser(
        "run", parents=[common], help="plan the database's network and store a plan run",
        description="Build the snapshot from the database (demand from forecasts and orders per item offset rule, "
                    "net demand from stock), solve the multi-level network plan and store a plan run.")
    mode = run.add_mutually_exclusive_group()
    mode.add_argument("--costs", type=_costs, metavar="late=N,...",
                      help="cost coefficients (default late=100,inventory=1,overtime=1)")
    mode.add_argument("--priority", type=_objective_list, metavar="OBJ,...", help="lexicographic order of objectives")
    run.add_argument("--allow-backlog-past-horizon", action="store_true",
                     help="plan even when capacity is short, carrying the shortfall past the horizon")
    run.set_defaults(func=cmd_run)
    from lpms.cli import _Parser

    net = sub.add_parser("network", help="Production network: intervals, kit points, picture.",
                         description="Production network: intervals, kit points, picture.")
    nsub = net.add_subparsers(dest="network_command", metavar="ACTION", parser_class=_Parser)
    nsub.required = True
    show = nsub.add_parser("show", parents=[common], help="print the intervals of the database's network",
                           description="Divide the database's network into intervals and print them; --svg draws it.")
    show.add_argument("--svg", metavar="FILE", help="also write the network picture (SVG) to FILE")
    show.set_defaults(func=cmd_network_show)
