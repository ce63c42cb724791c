"""Property-based checks of the single-item plan on random valid scenarios."""
from __future__ import annotations

import math

import numpy as np
import pulp
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lpms.domain.enums import OffsetRule
from lpms.domain.values import Costs
from lpms.planning.demand import OrderLine
from lpms.planning.single import PlanInfeasible, SingleItemPlan, SingleItemScenario, plan_priority, plan_weighted
from tests.plan_invariants import assert_plan_honest, single_costs

SETTINGS = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@st.composite
def scenarios(draw: st.DrawFn, max_n: int = 10, balance: bool | None = None) -> SingleItemScenario:
    n = draw(st.integers(2, max_n))
    q = st.integers(0, 60).map(float)
    forecast = tuple(draw(st.lists(q, min_size=n, max_size=n)))
    orders = tuple(OrderLine(draw(st.integers(0, n - 1)), float(draw(st.integers(1, 80))))
                   for _ in range(draw(st.integers(0, 3))))
    regular = tuple(float(draw(st.integers(0, 80))) for _ in range(n))
    overtime = tuple(float(draw(st.integers(0, 40))) for _ in range(n))
    j = draw(st.sampled_from([0.5, 5.0, 50.0])) if balance else (0.0 if balance is False else draw(st.sampled_from([0.0, 5.0])))
    costs = Costs(late=draw(st.sampled_from([0.0, 1.0, 10.0, 100.0])), balance=j,
                  inventory=draw(st.sampled_from([0.0, 1.0, 2.0])), overtime=draw(st.sampled_from([0.0, 1.0, 5.0])))
    return SingleItemScenario(
        forecast=forecast, regular_capacity=regular, overtime_capacity=overtime, orders=orders,
        offset_rule=draw(st.sampled_from(list(OffsetRule))), on_hand=float(draw(st.integers(0, 50))),
        safety_stock=float(draw(st.integers(0, 20))), costs=costs,
    )


def recompute(net: list[float], regular: tuple[float, ...], q: list[float], c: Costs) -> dict[str, float]:
    """The paper's formulas (1)-(8), written out independently of the engine."""
    return single_costs(net, regular, q, c)


def feasible_or_skip(scn: SingleItemScenario) -> SingleItemPlan | None:
    try:
        plan = plan_weighted(scn)
    except PlanInfeasible as exc:
        assert exc.shortages[-1].short > 0
        return None
    assert_plan_honest(plan, scn)
    return plan


@SETTINGS
@given(scenarios())
def test_plan_is_feasible_and_costs_match_a_recomputation(scn: SingleItemScenario) -> None:
    plan = feasible_or_skip(scn)
    if plan is None:
        cap = sum(scn.regular_capacity) + sum(scn.overtime_capacity)
        from lpms.planning.demand import gross_demand, net_demand
        net = net_demand(gross_demand(scn.forecast, scn.orders, scn.offset_rule), scn.on_hand, None, scn.safety_stock)
        assert sum(net) > cap
        return
    q = plan.production
    for i, x in enumerate(q):
        assert -1e-6 <= x <= scn.regular_capacity[i] + scn.overtime_capacity[i] + 1e-6
    assert sum(q) == pytest.approx(sum(plan.net_demand), abs=1e-5)
    again = recompute(plan.net_demand, scn.regular_capacity, q, scn.costs)
    for key, value in again.items():
        assert plan.costs[key] == pytest.approx(value, rel=1e-9, abs=1e-6), key


def independent_lower_bound(net: list[float], regular: tuple[float, ...], overtime: tuple[float, ...],
                            c: Costs, start_direction: np.ndarray, rounds: int = 60) -> tuple[float, float]:
    """A PuLP model of the paper's formulas (dense cumulative rows) with the standard deviation
    replaced by tangent cuts t >= <u, Q - mean> / sqrt(n-1) for unit vectors u: any such set
    under-estimates S, so the LP optimum is a valid lower bound. Kelley rounds tighten it.
    Returns (lower bound, best true cost seen)."""
    n = len(net)
    mean = sum(net) / n
    prob = pulp.LpProblem("independent_bound", pulp.LpMinimize)
    q = [prob.add_variable(f"q{i}", 0, regular[i] + overtime[i]) for i in range(n)]
    late = [prob.add_variable(f"late{i}", 0) for i in range(n)]
    inv = [prob.add_variable(f"inv{i}", 0) for i in range(n)]
    ot = [prob.add_variable(f"ot{i}", 0) for i in range(n)]
    t = prob.add_variable("t", 0)
    prob += (c.late * pulp.lpSum(late) + c.inventory * pulp.lpSum(inv) + c.overtime * pulp.lpSum(ot) + c.balance * t)
    for i in range(n):
        prob += pulp.lpSum(q[: i + 1]) - sum(net[: i + 1]) == inv[i] - late[i], f"cum{i}"
        prob += ot[i] >= q[i] - regular[i], f"ot{i}"
    prob += pulp.lpSum(q) == sum(net), "total"
    k = 0

    def cut(u: np.ndarray) -> None:
        nonlocal k
        norm = float(np.linalg.norm(u))
        if norm > 1e-12:
            prob.__iadd__((t >= pulp.lpSum(float(u[i] / norm) * (q[i] - mean) for i in range(n)) / math.sqrt(n - 1), f"cut{k}"))
            k += 1

    cut(start_direction)
    lower, best = -math.inf, math.inf
    for _ in range(rounds):
        prob.solve(pulp.HiGHS(msg=False))
        assert prob.sol_status == pulp.LpSolutionOptimal
        lower = max(lower, pulp.value(prob.objective))
        x = np.array([v.varValue for v in q])
        best = min(best, recompute(net, regular, list(x), c)["total"])
        if best - lower <= 1e-9 * max(1.0, abs(best)):
            break
        cut(x - mean)
    return lower, best


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(scenarios(max_n=7, balance=True))
def test_balanced_plans_are_within_the_stated_gap_of_an_independent_lower_bound(scn: SingleItemScenario) -> None:
    plan = feasible_or_skip(scn)
    if plan is None:
        return
    total = plan.costs["total"]
    scale = max(1.0, abs(total))
    assert plan.solver["gap_rel"] <= 1e-6
    q = np.array(plan.production)
    lower, best = independent_lower_bound(plan.net_demand, scn.regular_capacity, scn.overtime_capacity, scn.costs,
                                          q - q.mean())
    assert total >= lower - 1e-6 * scale, "the plan cannot beat a valid lower bound"
    assert total <= best + 1e-6 * scale, "the independent search found a cheaper plan"
    assert total - lower <= (plan.solver["gap_rel"] + 2e-6) * scale


@SETTINGS
@given(scenarios(max_n=8, balance=False))
def test_priority_mode_agrees_with_weights_orders_of_magnitude_apart(scn: SingleItemScenario) -> None:
    try:
        lexi = plan_priority(scn, ["late", "overtime", "inventory"])
    except PlanInfeasible:
        return
    assert_plan_honest(lexi, scn)
    heavy = SingleItemScenario(**{**scn.__dict__, "costs": Costs(late=1e8, overtime=1e4, inventory=1)})
    weighted = plan_weighted(heavy)
    assert_plan_honest(weighted, heavy)
    for key in ("late", "overtime", "inventory"):
        assert weighted.objectives[key] == pytest.approx(lexi.objectives[key], rel=1e-6, abs=1e-5), key


def latest_optimum(net: list[float], regular: tuple[float, ...], overtime: tuple[float, ...], c: Costs) -> tuple[float, float]:
    """The documented tie-break, from its definition: the optimum of the paper's LP, then among
    the plans within 1e-9 of it the least sum_t (n - t) Q_t (t = 1..n). Returns both values."""
    n = len(net)

    def model(tie: bool, opt: float = 0.0) -> tuple[pulp.LpProblem, list[pulp.LpVariable]]:
        prob = pulp.LpProblem("paper", pulp.LpMinimize)
        q = [prob.add_variable(f"q{i}", 0, regular[i] + overtime[i]) for i in range(n)]
        late = [prob.add_variable(f"late{i}", 0) for i in range(n)]
        inv = [prob.add_variable(f"inv{i}", 0) for i in range(n)]
        ot = [prob.add_variable(f"ot{i}", 0) for i in range(n)]
        cost = c.late * pulp.lpSum(late) + c.inventory * pulp.lpSum(inv) + c.overtime * pulp.lpSum(ot)
        for i in range(n):
            prob += pulp.lpSum(q[: i + 1]) - sum(net[: i + 1]) == inv[i] - late[i], f"cum{i}"
            prob += ot[i] >= q[i] - regular[i], f"ot{i}"
        prob += pulp.lpSum(q) == sum(net), "total"
        if tie:
            prob += cost <= opt + 1e-9 * max(1.0, abs(opt)), "optimal"
            prob += pulp.lpSum((n - 1 - i) * q[i] for i in range(n))
        else:
            prob += cost
        return prob, q

    prob, _ = model(False)
    prob.solve(pulp.HiGHS(msg=False))
    assert prob.sol_status == pulp.LpSolutionOptimal
    opt = pulp.value(prob.objective)
    prob, q = model(True, opt)
    prob.solve(pulp.HiGHS(msg=False))
    assert prob.sol_status == pulp.LpSolutionOptimal
    return opt, pulp.value(prob.objective)


@SETTINGS
@given(scenarios(max_n=8, balance=False))
def test_ties_go_to_the_latest_optimal_plan(scn: SingleItemScenario) -> None:
    plan = feasible_or_skip(scn)
    if plan is None:
        return
    opt, tie = latest_optimum(plan.net_demand, scn.regular_capacity, scn.overtime_capacity, scn.costs)
    n = len(plan.production)
    assert plan.costs["total"] == pytest.approx(opt, rel=1e-9, abs=1e-6)
    assert sum((n - 1 - i) * x for i, x in enumerate(plan.production)) == pytest.approx(tie, rel=1e-6, abs=1e-5)
