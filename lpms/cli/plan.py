"""`lpms plan solve` (a scenario file, no database) and `lpms plan run` (the database's network)."""
from __future__ import annotations

import argparse
import datetime as dt
import json
from pathlib import Path
from typing import Any

from lpms.bootstrap import Database, solver_options
from lpms.cli._common import Parser, actor, database, now_of, settings_of
from lpms.formats.scenario_files import load_scenario_file
from lpms.settings import Settings


def _whole(text: str) -> int:
    if not text.strip().isdigit():
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number (0 or more)")
    return int(text)


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


def cmd_solve(args: argparse.Namespace) -> int:
    from lpms.planning.scenario import parse_single
    from lpms.planning.single import plan_pareto, plan_priority, plan_weighted

    options = solver_options(settings_of(args))
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
        from lpms.domain.enums import OffsetRule
        from lpms.formats.render import single_plan_table
        from lpms.planning.demand import gross_demand

        orders = gross_demand([0.0] * scn.periods, scn.orders, OffsetRule.ORDERS_ONLY)
        print(single_plan_table(plan, scn.forecast, orders, scn.offset_rule.value))
    return 0


def _solve_network(data: Any, args: argparse.Namespace, options: Any) -> int:
    from lpms.planning.levelling import level_period
    from lpms.planning.network_plan import plan_pareto, plan_priority, plan_weighted
    from lpms.planning.scenario import parse_network

    inp, gross, net = parse_network(data)
    if args.pareto:
        mode, plans = "pareto", plan_pareto(inp, args.pareto[0], args.pareto[1], options)
    elif args.priority:
        mode, plans = "priority", [plan_priority(inp, args.priority, options)]
    else:
        mode, plans = "weighted", [plan_weighted(inp, options)]
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


def register(sub: Any, common: argparse.ArgumentParser) -> None:
    """Add `lpms plan solve` and `lpms plan run`."""
    plan = sub.add_parser("plan", help="Plan management: solve scenarios, run plans on the database.",
                          description="Plan management: solve scenarios, run plans on the database.")
    psub = plan.add_subparsers(dest="plan_command", metavar="ACTION", parser_class=Parser)
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

    run = psub.add_parser(
        "run", parents=[common], help="plan the database's network and store a plan run",
        description="Build the snapshot from the database (demand from forecasts and orders per item offset rule, "
                    "net demand from stock), solve the multi-level network plan and store a plan run.")
    mode = run.add_mutually_exclusive_group()
    mode.add_argument("--costs", type=_costs, metavar="late=N,...",
                      help="cost coefficients; those not given are 0 (default late=100,inventory=1,overtime=1)")
    mode.add_argument("--priority", type=_objective_list, metavar="OBJ,...", help="lexicographic order of objectives")
    run.add_argument("--allow-backlog-past-horizon", action="store_true",
                     help="plan even when capacity is short, carrying the shortfall past the horizon")
    run.add_argument("--min-interval-lead", type=_whole, default=0, metavar="N",
                     help="an interval feeding another takes at least N periods (default 0: its own lead time); "
                          "kept by later re-plans")
    run.set_defaults(func=cmd_run)

    from lpms.cli.work_orders import register_approve

    register_approve(psub, common)


def _costs(text: str) -> Any:
    from lpms.domain.values import Costs

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
        if value < 0 or value != value or value == float("inf"):
            raise argparse.ArgumentTypeError(f"{key}: must be a finite number, not negative")
        values[key] = value
    return Costs(**values)


def _request(args: argparse.Namespace) -> Any:
    from lpms.domain.enums import Objective
    from lpms.domain.values import DEFAULT_COSTS
    from lpms.services.plan_runs import PlanRequest

    return PlanRequest(costs=args.costs or DEFAULT_COSTS, priority=tuple(Objective(o) for o in args.priority or ()),
                       allow_backlog_past_horizon=args.allow_backlog_past_horizon,
                       min_interval_lead=args.min_interval_lead)


def cmd_run(args: argparse.Namespace) -> int:
    from lpms.domain.enums import PlanRunStatus
    from lpms.formats.render import plan_run_report
    from lpms.services.plan_runs import run_plan

    settings = settings_of(args)
    with database(args) as db:
        result = run_plan(db.uow(), _request(args), options=solver_options(settings), actor=actor(),
                          now=now_of(args))
    for note in result.notes:
        print(f"note: {note}")
    if result.status is PlanRunStatus.INFEASIBLE or result.plan is None:
        print(f"plan run {result.run_id}: {result.status.value}: {result.message}")
        return 3
    print(plan_run_report(result.run_id, result.plan, result.snapshot))
    return 0


def print_demo_plan(db: Database, settings: Settings, now: dt.datetime) -> None:
    """Plan the freshly loaded demo database with the default costs and print a short summary."""
    from lpms.domain.values import DEFAULT_COSTS
    from lpms.services.plan_runs import PlanRequest, run_plan

    result = run_plan(db.uow(), PlanRequest(costs=DEFAULT_COSTS), options=solver_options(settings), actor="demo",
                      now=now)
    plan = result.plan
    if plan is None:
        print(f"plan run {result.run_id}: {result.status.value}: {result.message}")
        return
    s = plan.solver
    print(f"plan run {result.run_id}: {result.message.splitlines()[0]}, {len(plan.intervals)} intervals, "
          f"{s['rows']} rows x {s['columns']} columns, {s['seconds']:.2f} s")
    o = plan.objectives
    print(f"  delayed units {o['late']:g}, inventory unit-periods {o['inventory']:g}, "
          f"overtime minutes {o['overtime']:g}, total cost {plan.costs['total']:g}")
    for note in result.notes:
        print(f"  note: {note}")
