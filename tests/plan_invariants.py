"""The three honesty invariants of a plan (docs/planning.md), checked by every plan test.

1. Bound: ``solver.lower_bound`` is a true lower bound of the reported objective in the same
   units: ``solver.objective`` is the quantity named by ``solver.bound_of`` (``costs.total``
   in weighted mode, e.g. ``objectives.late`` in priority mode) recomputed from the reported
   plan, the bound does not exceed it, and ``gap_rel`` is their relative difference.
2. Costs: every reported cost equals the cost recomputed here from the plan's quantities,
   independently of the engine (the paper's formulas for one item; docs/scenario-format.md
   for a network), and ``total`` is their sum.
3. Status: ``optimal`` exactly when the certified gap meets the setting; otherwise the run
   says why it stopped (``time limit`` or ``gap not met``).
"""
from __future__ import annotations

import math
import re
from collections.abc import Sequence
from typing import Any

import numpy as np
import pytest

from lpms.domain.values import Costs
from lpms.planning.network_plan import NetworkPlan, NetworkPlanInput
from lpms.planning.single import SingleItemPlan, SingleItemScenario

STATUSES = ("optimal", "time limit", "gap not met")
COST_KEYS = ("late", "balance", "inventory", "overtime")


def _close(a: float, b: float, rel: float = 1e-6) -> bool:
    return abs(a - b) <= rel * max(1.0, abs(a), abs(b))


def _bounded_value(bound_of: str, costs: dict[str, float], objectives: dict[str, float]) -> float:
    if bound_of == "costs.total":
        return costs["total"]
    total = 0.0
    for term in bound_of.split(" + "):
        m = re.fullmatch(r"(?:([0-9.eE+-]+)\*)?objectives\.(\w+)", term.strip())
        assert m, f"unknown bound label {bound_of!r}"
        total += float(m.group(1) or 1.0) * objectives[m.group(2)]
    return total


def assert_solver_honest(solver: dict[str, Any], costs: dict[str, float], objectives: dict[str, float],
                         gap_target: float = 1e-6) -> None:
    """Invariants 1 and 3 on a plan's solver section."""
    status, lb, value, gap = solver["status"], solver["lower_bound"], solver["objective"], solver["gap_rel"]
    assert status in STATUSES, status
    assert math.isfinite(lb) and math.isfinite(value)
    assert _close(value, _bounded_value(solver["bound_of"], costs, objectives)), \
        f"solver objective {value} is not the plan's {solver['bound_of']}"
    assert lb <= value + 1e-9 * max(1.0, abs(value)), f"lower bound {lb} above the objective {value}"
    assert gap == pytest.approx(max(0.0, value - lb) / max(1.0, abs(value)), rel=1e-6, abs=1e-12)
    assert solver["gap_target"] == gap_target
    assert (status == "optimal") == (gap <= gap_target), (status, gap, gap_target)
    stages = solver.get("stages") or []
    for st in stages:
        assert st["lower_bound"] <= st["optimum"] + 1e-9 * max(1.0, abs(st["optimum"]))
        assert (st["status"] == "optimal") == (st["gap_rel"] <= gap_target)
    if stages and status == "optimal":
        assert all(st["status"] == "optimal" for st in stages)


# ---------------------------------------------------------------- single item (paper formulas)


def single_costs(net: Sequence[float], regular: Sequence[float], q: Sequence[float], c: Costs) -> dict[str, float]:
    """The paper's formulas (1)-(8), written out independently of the engine."""
    late = inv = ot = 0.0
    cum = 0.0
    for i in range(len(q)):
        cum += q[i] - net[i]
        late += max(-cum, 0.0)
        inv += max(cum, 0.0)
        ot += max(q[i] - regular[i], 0.0)
    mean = sum(q) / len(q)
    s = math.sqrt(sum((x - mean) ** 2 for x in q) / (len(q) - 1)) if len(q) >= 2 else 0.0
    return {"late": c.late * late, "balance": c.balance * s, "inventory": c.inventory * inv,
            "overtime": c.overtime * ot, "total": c.late * late + c.balance * s + c.inventory * inv + c.overtime * ot}


def assert_single_plan_honest(plan: SingleItemPlan, scn: SingleItemScenario, gap_target: float = 1e-6) -> None:
    again = single_costs(plan.net_demand, scn.regular_capacity, plan.production, scn.costs)
    for key, value in again.items():
        assert plan.costs[key] == pytest.approx(value, rel=1e-9, abs=1e-6), key
    assert plan.costs["total"] == pytest.approx(sum(plan.costs[k] for k in COST_KEYS), rel=1e-12, abs=1e-9)
    assert_solver_honest(plan.solver, plan.costs, plan.objectives, gap_target)


# ---------------------------------------------------------------- network (docs/scenario-format.md)


def network_costs(plan: NetworkPlan, inp: NetworkPlanInput) -> tuple[dict[str, float], dict[str, float]]:
    """Objectives and costs of a network plan from its quantities, written from the docs:
    late = backlog unit-periods of external demand + unit-periods below a non-demanded buffer's
    safety stock; inventory = buffer unit-periods; overtime = minutes above regular capacity of
    each work center's load (routing minutes x units started); balance = sample standard
    deviations of the loads and/or interval outputs (``balance_on``). Each at its item's / work
    center's cost: the override when given, else the global cost."""
    T = inp.periods
    c = inp.costs

    def item_cost(item: str, key: str) -> float:
        return float(inp.item_costs.get(item, {}).get(key, getattr(c, key)))

    def wc_cost(wc: str, key: str) -> float:
        return float(inp.work_center_costs.get(wc, {}).get(key, getattr(c, key)))

    def backlog_cost(item: str) -> float:
        # a component's backlog (released work short of its kit): 10 x the highest late cost
        if item in inp.demand:
            return item_cost(item, "late")
        return 10.0 * max([c.late, *(v["late"] for v in inp.item_costs.values() if "late" in v)])

    load = {w: np.zeros(T) for w in inp.snapshot.work_centers}
    for op in inp.snapshot.operations:
        load[op.work_center] += op.run_min * np.asarray(plan.item_production.get(op.item, [0.0] * T))
    for w in load:
        assert plan.load_min[w] == pytest.approx(list(load[w]), abs=1e-6), w
    overtime = {w: np.maximum(load[w] - np.asarray(inp.regular_min.get(w, (0.0,) * T)), 0.0) for w in load}
    shortfall = {b: np.maximum(level - np.asarray(plan.inventory[b]), 0.0)
                 for b, level in inp.safety_stock.items() if level > 0 and b not in inp.demand}

    def std(a: np.ndarray) -> float:
        return float(np.std(a, ddof=1)) if len(a) >= 2 else 0.0

    wc_on = inp.balance_on in ("work_centers", "both")
    iv_on = inp.balance_on in ("intervals", "both")
    series_wc = [(wc_cost(w, "balance"), std(v)) for w, v in load.items()] if wc_on else []
    series_iv = [(c.balance, std(np.asarray(v))) for v in plan.interval_production.values()] if iv_on else []
    objectives = {
        "late": sum(map(sum, plan.backlog.values())) + sum(float(v.sum()) for v in shortfall.values()),
        "inventory": sum(map(sum, plan.inventory.values())),
        "overtime": sum(float(v.sum()) for v in overtime.values()),
        "balance": sum(s for _, s in series_wc + series_iv),
    }
    costs = {
        "late": sum(backlog_cost(b) * sum(v) for b, v in plan.backlog.items())
        + sum(item_cost(b, "late") * float(v.sum()) for b, v in shortfall.items()),
        "inventory": sum(item_cost(b, "inventory") * sum(v) for b, v in plan.inventory.items()),
        "overtime": sum(wc_cost(w, "overtime") * float(v.sum()) for w, v in overtime.items()),
        "balance": sum(k * s for k, s in series_wc + series_iv),
    }
    rt = inp.replan
    if rt is not None and rt.previous is not None:
        # a re-plan's nervousness (docs/replan.md): units of change against the previous approved
        # plan on every cell outside the frozen periods that the previous plan covers
        compared = [t for t in range(min(rt.compare_periods, T)) if t not in rt.frozen_periods]
        moved = 0.0
        for code, row in plan.interval_production.items():
            prev = list(rt.previous.get(code, ())) + [0.0] * T
            moved += sum(abs(row[t] - prev[t]) for t in compared)
        objectives["nervousness"] = moved
        costs["nervousness"] = rt.nervousness_cost * moved
    costs["total"] = sum(costs.values())
    return objectives, costs


def assert_network_plan_honest(plan: NetworkPlan, inp: NetworkPlanInput, gap_target: float = 1e-6) -> None:
    objectives, costs = network_costs(plan, inp)
    for key, value in objectives.items():
        assert plan.objectives[key] == pytest.approx(value, rel=1e-9, abs=1e-6), key
    for key, value in costs.items():
        assert plan.costs[key] == pytest.approx(value, rel=1e-9, abs=1e-6), key
    if inp.replan is not None:  # released work is fixed inside the frozen periods, a floor elsewhere
        for code, row in plan.interval_production.items():
            cells = inp.replan.committed.get(code, {})
            for t in range(inp.periods):
                if t in inp.replan.frozen_periods:
                    assert row[t] == pytest.approx(cells.get(t, 0.0), abs=1e-6), (code, t)
                else:
                    assert row[t] >= cells.get(t, 0.0) - 1e-6, (code, t)
    for b in plan.inventory:
        assert min(plan.inventory[b], default=0.0) >= -1e-9
        if b in plan.backlog:  # never stock and backlog of one item at once
            assert all(i * k <= 1e-9 for i, k in zip(plan.inventory[b], plan.backlog[b]))
    assert_solver_honest(plan.solver, plan.costs, plan.objectives, gap_target)


def assert_plan_honest(plan: SingleItemPlan | NetworkPlan, source: SingleItemScenario | NetworkPlanInput,
                       gap_target: float = 1e-6) -> None:
    """The one helper every plan test calls: bound, recomputed costs, status."""
    if isinstance(plan, SingleItemPlan):
        assert isinstance(source, SingleItemScenario)
        assert_single_plan_honest(plan, source, gap_target)
    else:
        assert isinstance(source, NetworkPlanInput)
        assert_network_plan_honest(plan, source, gap_target)
