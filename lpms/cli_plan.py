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
    for k, (plan, out) in enumerate(zip(plans, outputs)):
        if mode == "pareto":
            print(f"--- efficient point {k + 1}: " + ", ".join(f"{o} {plan.objectives[o]:g}" for o in args.pareto))
        print(_network_table(plan, out))
    return 0


def _network_table(plan: Any, out: dict[str, Any]) -> str:
    n = plan.periods
    head = f"{'':28}" + "".join(f"{t + 1:>8}" for t in range(n)) + f"{'Total':>10}"
    lines = [head]

    def row(label: str, values: list[float]) -> None:
        cells = "".join(f"{'' if abs(v) < 1e-9 else f'{v:g}':>8}" for v in values)
        lines.append(f"{label[:28]:28}{cells}{sum(values):>10g}")

    lines.append("Production (units started)")
    for code, values in plan.interval_production.items():
        row(f"  {code}", values)
    lines.append("Backlog of external demand")
    for code, values in plan.backlog.items():
        row(f"  {code}", values)
    lines.append("Buffer inventory")
    for code, values in plan.inventory.items():
        if any(values):
            row(f"  {code}", values)
    lines.append("Work-center load / overtime (minutes)")
    for w in plan.load_min:
        row(f"  {w} load", plan.load_min[w])
        row(f"  {w} overtime", plan.overtime_min[w])
    c = plan.costs
    lines.append("")
    lines.append("Costs: " + ", ".join(f"{k} {v:g}" for k, v in c.items()))
    s = plan.solver
    lines.append(f"Solver: HiGHS, {s.get('mode')}, {s['rows']} rows x {s['columns']} columns, "
                 f"gap {s.get('gap_rel', 0):.2e}, {s.get('seconds', 0):.3f} s")
    for t, lv in out["levelling"].items():
        seq = lv["sequence"]
        shown = " ".join(seq[:24]) + (" ..." if len(seq) > 24 else "")
        lines.append(f"Period {t} final-assembly sequence ({'optimal' if lv['exact'] else 'goal chasing'}): {shown}")
    return "\n".join(lines)


def register(sub: Any) -> None:
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
    s = plan.solver
    o, c = plan.objectives, plan.costs
    print(f"plan run {run_id} stored: {len(plan.intervals)} intervals, {s['rows']} rows x {s['columns']} columns, "
          f"build {s['build_seconds']:.3f} s, solve {s['seconds']:.3f} s, gap {s['gap_rel']:.1e}")
    print(f"objectives: delayed units {o['late']:g}, inventory unit-periods {o['inventory']:g}, "
          f"overtime minutes {o['overtime']:g}, load std (sum over work centers) {o['balance']:.3f}")
    print("costs: " + ", ".join(f"{k} {v:g}" for k, v in c.items()))
    return 0


def cmd_network_show(args: argparse.Namespace) -> int:
    from lpms.cli import with_database
    from lpms.planning.network import build_graph, describe, divide, network_svg
    from lpms.planning.single import Costs
    from lpms.services.planning import read_snapshot

    snap = with_database(args, lambda uow, _s: read_snapshot(uow, Costs()))
    division = divide(build_graph(snap.plan_input.snapshot))
    print(describe(division))
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
