"""Re-plan at scale, end to end: a generated plant of about 200 intervals in a database, planned,
approved and released; then a fluctuation (a new customer order) and a timed ``replan`` (read,
solve, write the plan and its diff, approve, release). ``measure_replan`` is what
``bench/process.py`` calls; the test runs a small plant on SQLite and PostgreSQL."""
from __future__ import annotations

import datetime as dt
import time
from typing import Any

import pytest

from bench.plan_scale import generate_plant
from lpms.bootstrap import open_database
from lpms.db import migrate
from lpms.domain.enums import PlanRunStatus
from lpms.domain.values import Costs
from lpms.planning.network import build_graph, divide
from lpms.planning.network_plan import NetworkPlanInput
from lpms.planning.solver import SolverOptions
from lpms.services.csv_io import import_texts
from lpms.services.plan_runs import PlanRequest, run_plan
from lpms.services.release import approve_plan_run, release_work_orders
from lpms.services.replan import ReplanPolicy, replan
from lpms.settings import load_settings

MONDAY = dt.date(2026, 11, 30)
NOW = dt.datetime(2026, 12, 1, 8, 0, tzinfo=dt.UTC)  # period 1


def plant_for_intervals(intervals: int, periods: int, seed: int = 7) -> NetworkPlanInput:
    """The generated plant (bench/plan_scale.py) whose interval count is closest to ``intervals``."""
    best: tuple[int, NetworkPlanInput] | None = None
    n = max(20, int(intervals * 1.9))
    for _ in range(12):
        inp = generate_plant(n, periods=periods, seed=seed)
        k = len(divide(build_graph(inp.snapshot)).intervals)
        if best is None or abs(k - intervals) < abs(len(divide(build_graph(best[1].snapshot)).intervals) - intervals):
            best = (k, inp)
        if k == intervals:
            break
        n = max(20, n + (1 if k < intervals else -1) * max(1, abs(intervals - k)))
    assert best is not None
    return best[1]


def plant_texts(inp: NetworkPlanInput) -> dict[str, str]:
    """A generated plant as the CSV files of the importer (weekly periods from MONDAY; the
    demand as one forecast per product and period)."""
    snap = inp.snapshot
    T = inp.periods

    def day(t: int, d: int = 0) -> dt.date:
        return MONDAY + dt.timedelta(weeks=t, days=d)

    return {
        "items": "code,name,kind,lead_time_periods,stocked\n" + "".join(
            f"{i.code},{i.code},{i.kind.value},{i.lead_time},{str(i.stocked).lower()}\n" for i in snap.items),
        "work_centers": "code,name\n" + "".join(f"{w},{w}\n" for w in snap.work_centers),
        "calendar": "period,bucket,start_date,end_date\n" + "".join(
            f"{t + 1},week,{day(t)},{day(t, 6)}\n" for t in range(T)),
        "capacity": "work_center,period,regular_min,overtime_min\n" + "".join(
            f"{w},{t + 1},{inp.regular_min[w][t]},{inp.overtime_min[w][t]}\n" for w in snap.work_centers
            for t in range(T)),
        "bom": "parent,child,qty_per\n" + "".join(f"{b.parent},{b.child},{b.qty}\n" for b in snap.bom),
        "routings": "item,sequence,work_center,run_min,setup_min\n" + "".join(
            f"{o.item},{o.sequence},{o.work_center},{o.run_min},0\n" for o in snap.operations),
        "forecasts": "item,start_date,end_date,quantity\n" + "".join(
            f"{p},{day(t)},{day(t, 6)},{q}\n" for p, d in inp.demand.items() for t, q in enumerate(d) if q > 0),
        "stock": "item,on_hand\n" + "".join(f"{c},{q}\n" for c, q in inp.on_hand.items()),
    }


def measure_replan(database_url: str, *, balance_cost: float = 0.0, intervals: int = 200, periods: int = 12,
                   fence: int = 2, time_limit_s: float = 300.0, seed: int = 7) -> dict[str, Any]:
    """Set up the plant in ``database_url`` (an empty database: it is migrated here), plan it
    with the given balance cost, approve and release it, add a new customer order (the
    fluctuation) and time one ``replan`` end to end. Returns the figures."""
    inp = plant_for_intervals(intervals, periods, seed)
    settings = load_settings(database_url=database_url)
    migrate.upgrade(database_url)
    options = SolverOptions(time_limit_s=time_limit_s)
    costs = Costs(late=100, balance=balance_cost, inventory=1, overtime=0.5)
    with open_database(settings, create=True) as db:
        import_texts(db.uow(), plant_texts(inp), actor="bench", now=NOW)
        t0 = time.perf_counter()
        first = run_plan(db.uow(), PlanRequest(costs=costs), options=options, actor="bench", now=NOW)
        plan_s = time.perf_counter() - t0
        assert first.status is PlanRunStatus.SUCCEEDED, first.message
        approve_plan_run(db.uow(), first.run_id, actor="bench", now=NOW)
        released = release_work_orders(db.uow(), fence_periods=fence, actor="bench", now=NOW)
        product = max(inp.demand, key=lambda p: sum(inp.demand[p]))
        order = round(sum(inp.demand[product]) / periods * 2)
        import_texts(db.uow(), {"orders": "number,customer,item,quantity,due_date\n"
                                          f"SO-BENCH,Bench,{product},{order},{MONDAY + dt.timedelta(weeks=4, days=2)}\n"},
                     actor="bench", now=NOW)
        policy = ReplanPolicy(fence_periods=fence, nervousness_cost=0.01, auto_approve=True)
        t0 = time.perf_counter()
        result = replan(db.uow(), reason="bench: new order", policy=policy, options=options, actor="bench", now=NOW)
        seconds = time.perf_counter() - t0
    assert result.plan is not None
    solver = result.plan.solver
    return {"intervals": len(result.plan.intervals), "periods": periods, "balance_cost": balance_cost,
            "rows": solver.get("rows"), "columns": solver.get("columns"), "first_plan_seconds": round(plan_s, 3),
            "released_work_orders": len(released.work_orders), "new_order": order,
            "replan_seconds": round(seconds, 3), "solve_seconds": solver.get("seconds"),
            "status": result.status.value, "solver_status": solver.get("status"), "gap_rel": solver.get("gap_rel"),
            "units_moved": result.units_moved, "work_orders_released_by_replan": result.released}


@pytest.mark.db
@pytest.mark.parametrize("balance", [0.0, 5.0])
def test_measure_replan_on_a_small_generated_plant(fresh_url: str, balance: float) -> None:
    figures = measure_replan(fresh_url, balance_cost=balance, intervals=30, periods=8, time_limit_s=60)
    assert figures["status"] == "approved" and figures["units_moved"] > 0
    assert 20 <= figures["intervals"] <= 40 and figures["replan_seconds"] > 0
