from __future__ import annotations

import pytest

from lpms.domain.values import Costs
from lpms.planning.demand import OrderLine
from lpms.planning.single import (
    PlanInfeasible,
    SingleItemPlan,
    SingleItemScenario,
    plan_pareto,
    plan_priority,
    plan_weighted,
)
from tests.plan_invariants import assert_plan_honest, single_costs

FORECAST = (150.0,) * 6 + (250.0,) * 6
REGULAR = (200.0,) * 6 + (100.0, 100.0) + (200.0,) * 4
OVERTIME = (150.0,) * 6 + (0.0, 0.0) + (150.0,) * 4
NET = [150, 100, 200, 150, 150, 150, 120, 380, 250, 250, 250, 250]


def paper(costs: Costs) -> SingleItemScenario:
    return SingleItemScenario(forecast=FORECAST, regular_capacity=REGULAR, overtime_capacity=OVERTIME,
                              orders=(OrderLine(2, 200), OrderLine(7, 380)), costs=costs)


def weighted(scn: SingleItemScenario) -> SingleItemPlan:
    plan = plan_weighted(scn)
    assert_plan_honest(plan, scn)
    return plan


def priority(scn: SingleItemScenario, order: list[str]) -> SingleItemPlan:
    plan = plan_priority(scn, order)
    assert_plan_honest(plan, scn)
    return plan


def test_reproduces_paper_table_2() -> None:
    plan = weighted(paper(Costs(late=100, balance=0, inventory=1, overtime=0)))
    assert plan.net_demand == NET
    assert plan.production == [150, 100, 200, 150, 250, 350, 100, 100, 250, 250, 250, 250]
    assert plan.inventory == [0, 0, 0, 0, 100, 300, 280, 0, 0, 0, 0, 0]
    assert sum(plan.inventory) == 680
    assert plan.overtime == [0, 0, 0, 0, 50, 150, 0, 0, 50, 50, 50, 50]
    assert sum(plan.overtime) == 400
    assert plan.backlog == [0] * 12
    assert plan.costs == {"late": 0, "balance": 0, "inventory": 680, "overtime": 0, "total": 680}


def test_reproduces_paper_table_3() -> None:
    plan = weighted(paper(Costs(late=10000, balance=0, inventory=1, overtime=100)))
    assert plan.net_demand == NET
    assert plan.production == [200] * 6 + [100, 100] + [250] * 4
    assert plan.inventory == [50, 150, 150, 200, 250, 300, 280, 0, 0, 0, 0, 0]
    assert sum(plan.inventory) == 1380
    assert sum(plan.overtime) == 200 and plan.overtime[8:] == [50] * 4
    assert plan.backlog == [0] * 12
    assert plan.costs["total"] == 1380 + 100 * 200


def test_priority_mode_gives_table_3_without_any_cost_coefficients() -> None:
    plan = priority(paper(Costs()), ["late", "overtime", "inventory", "balance"])
    assert plan.production == [200] * 6 + [100, 100] + [250] * 4
    assert sum(plan.inventory) == 1380 and sum(plan.overtime) == 200
    assert [s["objective"] for s in plan.solver["stages"]] == ["late", "overtime", "inventory", "balance"]


def test_priority_mode_gives_table_2_when_inventory_comes_before_overtime() -> None:
    plan = priority(paper(Costs()), ["late", "inventory", "overtime"])
    assert plan.production == [150, 100, 200, 150, 250, 350, 100, 100, 250, 250, 250, 250]


def test_balance_cost_levels_production_with_a_certified_gap() -> None:
    plan = weighted(paper(Costs(late=100, balance=50, inventory=1)))
    assert plan.solver["gap_rel"] <= 1e-6
    assert plan.objectives["balance"] < 79.77  # flatter than Table 2's plan
    assert sum(plan.production) == pytest.approx(2400, abs=1e-6)
    assert plan.costs["total"] >= plan.solver["lower_bound"] - 1e-9


def test_balance_first_in_priority_gives_the_flattest_feasible_plan() -> None:
    plan = priority(paper(Costs()), ["balance", "late"])
    # periods 7-8 are capped at 100, so the rest share 2200 evenly: 220 each
    assert plan.production == [220] * 6 + [100, 100] + [220] * 4


def test_pareto_sweep_lists_distinct_efficient_points_between_table_2_and_3() -> None:
    points = plan_pareto(paper(Costs()), "inventory", "overtime")
    for point in points:
        assert_plan_honest(point, paper(Costs()))
    pairs = [(p.objectives["inventory"], p.objectives["overtime"]) for p in points]
    assert pairs[0] == (680, 400) and pairs[-1] == (1380, 200)
    assert len(set(pairs)) == len(pairs) >= 3
    for (i1, o1), (i2, o2) in zip(pairs, pairs[1:]):
        assert i1 < i2 and o1 > o2  # each point is efficient: better in one, worse in the other
    assert all(p.objectives["late"] == 0 for p in points)


def test_short_horizon_names_the_window_and_the_shortfall() -> None:
    scn = SingleItemScenario(forecast=(100.0, 100.0, 300.0, 100.0), regular_capacity=(100.0,) * 4,
                             overtime_capacity=(20.0,) * 4, orders=(), costs=Costs(late=10, inventory=1))
    with pytest.raises(PlanInfeasible) as info:
        weighted(scn)
    assert [(s.first, s.last, s.demand, s.capacity) for s in info.value.shortages] == [(1, 3, 500, 360), (1, 4, 600, 480)]
    assert "periods 1-4 need 600, capacity (regular + overtime) is 480, short by 120" in str(info.value)


def test_backlog_past_the_horizon_still_gives_a_plan_at_the_lateness_cost() -> None:
    scn = SingleItemScenario(forecast=(100.0, 100.0, 300.0, 100.0), regular_capacity=(100.0,) * 4,
                             overtime_capacity=(20.0,) * 4, costs=Costs(late=10, inventory=1),
                             allow_backlog_past_horizon=True)
    plan = weighted(scn)
    assert plan.production == [120, 120, 120, 120]
    assert plan.backlog == [0, 0, 140, 120]
    assert plan.costs["late"] == 10 * 260


TABLE_2 = [150, 100, 200, 150, 250, 350, 100, 100, 250, 250, 250, 250]


def test_ties_are_broken_by_producing_as_late_as_possible() -> None:
    # with overtime at 1 per unit, moving 50 units from week 5 to week 4 saves 50 overtime and
    # costs 50 inventory: Table 2's plan and this earlier one tie at 1080 (the demo plant's tie)
    costs = Costs(late=100, inventory=1, overtime=1)
    earlier = [150, 100, 200, 200, 200, 350, 100, 100, 250, 250, 250, 250]
    assert single_costs(NET, REGULAR, earlier, costs)["total"] == single_costs(NET, REGULAR, TABLE_2, costs)["total"] == 1080
    plan = weighted(paper(costs))
    assert plan.production == TABLE_2  # the later of the optima, whatever HiGHS's version
    assert plan.solver["tie_break"] == "latest production"
    # the tie-break stays out of the costs and the bound
    assert plan.costs["total"] == plan.solver["lower_bound"] == plan.solver["objective"] == 1080


def test_the_tie_break_never_trades_cost_for_lateness() -> None:
    # without inventory cost producing early is free: the optimum is still unique in cost (0)
    # and the tie-break picks the latest plan among all zero-cost plans, i.e. Table 2's
    plan = weighted(paper(Costs(late=100)))
    assert plan.costs["total"] == 0
    assert plan.production == TABLE_2
