"""Single-item plan: solve time against horizon length with a balance cost (J > 0).

python -m bench horizon [--horizons 12,24,52,104,208,365] [--balance 50,1000]

The scenario is the paper's pattern stretched: seasonal forecast, customer orders every
fifth period, capacity with dips; costs L=100, K=1, A=5 and J as given.
"""
from __future__ import annotations

import argparse
import math
import platform
import time

from lpms.domain.enums import OffsetRule
from lpms.domain.values import Costs
from lpms.planning.demand import OrderLine
from lpms.planning.single import SingleItemScenario, plan_weighted
from lpms.planning.solver import SolverOptions


def scenario(n: int, j: float) -> SingleItemScenario:
    forecast = tuple(float(round(200 + 60 * math.sin(2 * math.pi * i / 26) + (37 * i % 11) * 4)) for i in range(n))
    orders = tuple(OrderLine(i, float(150 + (i * 53) % 140)) for i in range(2, n, 5))
    regular = tuple(100.0 if i % 13 in (6, 7) else 210.0 for i in range(n))
    overtime = tuple(0.0 if i % 13 in (6, 7) else 140.0 for i in range(n))
    return SingleItemScenario(forecast=forecast, regular_capacity=regular, overtime_capacity=overtime,
                              orders=orders, offset_rule=OffsetRule.BACKWARD,
                              costs=Costs(late=100, balance=j, inventory=1, overtime=5))


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench horizon")
    parser.add_argument("--horizons", default="12,24,52,104,208,365")
    parser.add_argument("--balance", default="50,1000", help="balance cost(s) J to run")
    args = parser.parse_args(argv)
    print(f"# single-item plan, J > 0; {platform.processor() or platform.machine()}, Python {platform.python_version()}")
    print(f"{'periods':>7} {'J':>6} {'QP solves':>9} {'LP solves':>9} {'gap_rel':>9} {'S':>10} {'total cost':>14} {'time s':>7}")
    for j in (float(x) for x in args.balance.split(",")):
        for n in (int(x) for x in args.horizons.split(",")):
            t0 = time.perf_counter()
            plan = plan_weighted(scenario(n, j), SolverOptions())
            dt = time.perf_counter() - t0
            s = plan.solver
            print(f"{n:>7} {j:>6g} {s['qp_solves']:>9} {s['lp_solves']:>9} {s['gap_rel']:>9.1e} "
                  f"{plan.objectives['balance']:>10.3f} {plan.costs['total']:>14.3f} {dt:>7.3f}", flush=True)
    return 0
