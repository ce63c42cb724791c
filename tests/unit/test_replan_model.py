"""The network LP's re-plan terms (docs/replan.md): frozen released work, work in process,
initial stock, and the nervousness penalty against the previous approved plan. Pure: no
database; every plan is checked by assert_plan_honest."""
from __future__ import annotations

import dataclasses
from collections.abc import Sequence

import pytest

from lpms.domain.enums import ItemKind as K
from lpms.domain.values import Costs
from lpms.planning.network import BomEdge, ItemSpec, NetworkError, NetworkSnapshot, OperationSpec
from lpms.planning.network_plan import (
    NetworkPlan,
    NetworkPlanInput,
    ReplanTerms,
    plan_priority,
    plan_weighted,
)
from lpms.planning.solver import SolverOptions
from tests.plan_invariants import assert_plan_honest

T = 6
OPTIONS = SolverOptions(time_limit_s=60)


def plant(demand_p: Sequence[float] = (40, 40, 40, 40, 40, 40), demand_q: Sequence[float] = (20,) * T,
          *, balance: float = 0.0, on_hand: dict[str, float] | None = None, regular: float = 300.0,
          replan: ReplanTerms | None = None) -> NetworkPlanInput:
    """P and Q share the part C (its own interval, on W2, from material M); P and Q run on W1."""
    snap = NetworkSnapshot(
        items=(ItemSpec("P", K.PRODUCT), ItemSpec("Q", K.PRODUCT), ItemSpec("C", K.PART, 1), ItemSpec("M", K.MATERIAL)),
        bom=(BomEdge("P", "C", 1), BomEdge("Q", "C", 2), BomEdge("C", "M", 1)),
        operations=(OperationSpec("P", 10, "W1", 3), OperationSpec("Q", 10, "W1", 2), OperationSpec("C", 10, "W2", 1)),
        work_centers=("W1", "W2"))
    return NetworkPlanInput(
        snapshot=snap, periods=T, demand={"P": tuple(demand_p), "Q": tuple(demand_q)},
        regular_min={"W1": (regular,) * T, "W2": (400.0,) * T}, overtime_min={"W1": (60.0,) * T, "W2": (0.0,) * T},
        on_hand=on_hand or {"C": 30.0}, costs=Costs(late=10, balance=balance, inventory=1, overtime=2),
        replan=replan)


def moved(plan: NetworkPlan, previous: dict[str, tuple[float, ...]], periods: Sequence[int]) -> float:
    return sum(abs(plan.interval_production[c][t] - previous.get(c, (0.0,) * T)[t])
               for c in plan.interval_production for t in periods)


def previous_of(plan: NetworkPlan) -> dict[str, tuple[float, ...]]:
    return {c: tuple(v) for c, v in plan.interval_production.items()}


def test_empty_replan_terms_change_nothing() -> None:
    base = plan_weighted(plant(), OPTIONS)
    again = plan_weighted(plant(replan=ReplanTerms()), OPTIONS)
    assert_plan_honest(base, plant())
    assert_plan_honest(again, plant(replan=ReplanTerms()))
    assert again.interval_production == base.interval_production
    assert again.costs == pytest.approx(base.costs) and "nervousness" not in again.costs


def test_frozen_periods_fix_production_to_the_released_work() -> None:
    terms = ReplanTerms(frozen_periods=(0, 1), committed={"I:P": {0: 25.0, 1: 55.0}, "I:C": {0: 60.0}})
    inp = plant(replan=terms)
    plan = plan_weighted(inp, OPTIONS)
    assert_plan_honest(plan, inp)
    assert plan.interval_production["I:P"][:2] == pytest.approx([25, 55])  # C: 30 on hand, 60 arrive in period 2
    assert plan.interval_production["I:Q"][:2] == pytest.approx([0, 0])  # nothing released: nothing made
    assert plan.interval_production["I:C"][:2] == pytest.approx([60, 0])
    # the rest of the horizon makes up for it: all demand is met by the end
    assert sum(plan.backlog["P"]) >= 0 and plan.backlog["P"][-1] == pytest.approx(0)
    assert plan.backlog["Q"][-1] == pytest.approx(0)


def test_work_in_process_is_supply_counted_once_without_load_or_kit() -> None:
    # 40 P in process arrive in period 1 (index 0): no production, no load, no C drawn for them
    terms = ReplanTerms(frozen_periods=(0,), in_process={"P": (40.0, 0, 0, 0, 0, 0)})
    inp = plant(demand_q=(0,) * T, on_hand={"C": 300.0}, replan=terms)
    plan = plan_weighted(inp, OPTIONS)
    assert_plan_honest(plan, inp)
    assert plan.interval_production["I:P"][0] == 0 and plan.backlog["P"][0] == pytest.approx(0)
    assert plan.load_min["W1"][0] == pytest.approx(0)
    # the same 40 as a released work order still to start: it loads W1 (3 min each) and draws C
    terms = ReplanTerms(frozen_periods=(0,), committed={"I:P": {0: 40.0}})
    inp = plant(demand_q=(0,) * T, on_hand={"C": 300.0}, replan=terms)
    started = plan_weighted(inp, OPTIONS)
    assert_plan_honest(started, inp)
    assert started.load_min["W1"][0] == pytest.approx(120) and started.backlog["P"][0] == pytest.approx(0)
    # either way the 40 are counted once: total P production over the horizon covers the rest only
    assert sum(plan.interval_production["I:P"]) == pytest.approx(200)
    assert sum(started.interval_production["I:P"]) == pytest.approx(240)


def test_initial_stock_of_a_buffer_is_used_before_production() -> None:
    low = plan_weighted(plant(on_hand={"C": 0.0}), OPTIONS)
    high = plan_weighted(plant(on_hand={"C": 200.0}), OPTIONS)
    assert_plan_honest(high, plant(on_hand={"C": 200.0}))
    assert sum(high.interval_production["I:C"]) == pytest.approx(sum(low.interval_production["I:C"]) - 200)


def test_released_work_beyond_demand_is_kept_as_stock_not_infeasible() -> None:
    terms = ReplanTerms(frozen_periods=(0, 1), committed={"I:P": {0: 150.0, 1: 150.0}, "I:C": {0: 300.0}})
    inp = plant(demand_p=(10,) * T, on_hand={"C": 400.0}, replan=terms, regular=1000.0)
    plan = plan_weighted(inp, OPTIONS)
    assert_plan_honest(plan, inp)
    assert plan.inventory["P"][-1] == pytest.approx(300 - 60)  # forced surplus, nothing more
    assert sum(plan.interval_production["I:P"]) == pytest.approx(300)


def test_committed_work_over_capacity_is_planned_as_overtime_and_said() -> None:
    terms = ReplanTerms(frozen_periods=(0,), committed={"I:P": {0: 200.0}})  # 600 minutes on W1, 300 + 60 available
    inp = plant(on_hand={"C": 300.0}, replan=terms)
    plan = plan_weighted(inp, OPTIONS)
    assert_plan_honest(plan, inp)
    assert plan.load_min["W1"][0] == pytest.approx(600) and plan.overtime_min["W1"][0] == pytest.approx(300)
    assert plan.notes == ["released work needs 600 minutes on W1 in planned period 1, which has 360 (regular + "
                          "overtime): planned as overtime beyond the limit"]
    assert plan.to_dict()["notes"] == plan.notes


def test_a_kit_short_of_released_work_is_a_component_backlog_made_up_later() -> None:
    # 100 P released in period 1 need 100 C; 30 are on hand, C takes a period to make
    terms = ReplanTerms(frozen_periods=(0,), committed={"I:P": {0: 100.0}})
    inp = plant(demand_q=(0,) * T, replan=terms, regular=1000.0)
    plan = plan_weighted(inp, OPTIONS)
    assert_plan_honest(plan, inp)
    assert plan.backlog["C"][0] == pytest.approx(70) and plan.backlog["C"][-1] == pytest.approx(0)
    assert sum(plan.interval_production["I:C"]) >= 70
    # free production never draws on a missing kit: P waits for C (P's backlog), C has none
    free = plant(demand_p=(100, 0, 0, 0, 0, 0), demand_q=(0,) * T, regular=1000.0, replan=ReplanTerms())
    waits = plan_weighted(free, OPTIONS)
    assert_plan_honest(waits, free)
    assert "C" not in waits.backlog and waits.backlog["P"][0] == pytest.approx(70)


def test_the_component_backlog_of_released_work_never_grows_after_its_draws() -> None:
    # 100 P released in period 1 draw 100 C, 30 on hand; C's material M takes 2 periods to buy,
    # so no C arrives before period 4. Later P (free production) must wait for C -- drawing on
    # the released work's backlog instead (cheaper: P's lateness costs 50, C's 10) would use
    # material that is not there
    base = plant(demand_p=(100, 60, 0, 0, 0, 0), demand_q=(0,) * T, on_hand={"C": 30.0}, regular=1000.0,
                 replan=ReplanTerms(frozen_periods=(0,), committed={"I:P": {0: 100.0}}))
    items = tuple(dataclasses.replace(i, lead_time=2) if i.code == "M" else i for i in base.snapshot.items)
    inp = dataclasses.replace(base, snapshot=dataclasses.replace(base.snapshot, items=items),
                              item_costs={"P": {"late": 50.0}})
    plan = plan_weighted(inp, OPTIONS)
    assert_plan_honest(plan, inp)
    c = plan.backlog["C"]
    assert c[0] == pytest.approx(70)
    assert all(c[t] <= c[t - 1] + 1e-9 for t in range(1, T)), c
    assert plan.interval_production["I:P"][1] == pytest.approx(0, abs=1e-9)  # P waits for its kit


def test_released_work_of_an_unknown_interval_is_invalid_input() -> None:
    with pytest.raises(NetworkError, match="interval I:X, which is no longer in the production network"):
        plan_weighted(plant(replan=ReplanTerms(committed={"I:X": {0: 1.0}})), OPTIONS)
    with pytest.raises(NetworkError, match="not a buffer"):
        plan_weighted(plant(replan=ReplanTerms(in_process={"W1": (0.0,) * T})), OPTIONS)


@pytest.mark.parametrize("balance", [0.0, 5.0])
def test_nothing_changed_moves_nothing(balance: float) -> None:
    base_inp = plant(balance=balance)
    base = plan_weighted(base_inp, OPTIONS)
    prev = previous_of(base)
    committed = {c: {t: v[t] for t in (0, 1) if v[t] > 0} for c, v in prev.items()}
    terms = ReplanTerms(frozen_periods=(0, 1), committed=committed, previous=prev, compare_periods=T,
                        nervousness_cost=0.01)
    inp = plant(balance=balance, replan=terms)
    plan = plan_weighted(inp, OPTIONS)
    assert_plan_honest(plan, inp)
    assert plan.objectives["nervousness"] == pytest.approx(0, abs=1e-5)
    assert moved(plan, prev, range(T)) == pytest.approx(0, abs=1e-5)
    assert plan.costs["total"] == pytest.approx(base.costs["total"] + plan.costs["nervousness"], rel=1e-6)


@pytest.mark.parametrize("balance", [0.0, 5.0])
def test_the_penalty_moves_fewer_units_than_a_replan_without_it(balance: float) -> None:
    free_c = {"C": {"inventory": 0.0}}  # C may be made any time before it is used: many plans cost the same
    base = plan_weighted(dataclasses.replace(plant(balance=balance), item_costs=free_c), OPTIONS)
    prev = previous_of(base)
    committed = {c: {t: v[t] for t in (0,) if v[t] > 0} for c, v in prev.items()}
    # a fluctuation: a new order of 60 P due in period 4
    demand = (40, 40, 40, 100, 40, 40)
    outcomes = {}
    for cost in (0.0, 1.0):
        terms = ReplanTerms(frozen_periods=(0,), committed=committed, previous=prev, compare_periods=T,
                            nervousness_cost=cost)
        inp = dataclasses.replace(plant(demand, balance=balance, replan=terms), item_costs=free_c)
        plan = plan_weighted(inp, OPTIONS)
        assert_plan_honest(plan, inp)
        assert plan.interval_production["I:P"][0] == pytest.approx(prev["I:P"][0])  # frozen
        outcomes[cost] = moved(plan, prev, range(1, T))
        assert plan.objectives["nervousness"] == pytest.approx(outcomes[cost], abs=1e-5)
    assert outcomes[1.0] <= outcomes[0.0] + 1e-6
    assert outcomes[1.0] >= 120 - 1e-6  # 60 P more, and 60 C for them, have to be made somewhere
    if balance:
        # levelling spreads the extra C over W2's periods; the penalty keeps the change local
        assert outcomes[1.0] == pytest.approx(120) and outcomes[0.0] > 130


def test_priority_mode_ends_with_minimal_change() -> None:
    base = plan_priority(plant(), ["late", "overtime", "inventory"], OPTIONS)
    prev = previous_of(base)
    terms = ReplanTerms(frozen_periods=(), previous=prev, compare_periods=T, nervousness_cost=0.01)
    inp = plant((40, 40, 40, 70, 40, 40), replan=terms)
    plan = plan_priority(inp, ["late", "overtime", "inventory"], OPTIONS)
    assert_plan_honest(plan, inp)
    assert [s["objective"] for s in plan.solver["stages"]] == ["late", "overtime", "inventory", "nervousness"]
    assert plan.solver["bound_of"] == "objectives.nervousness"


def test_cells_beyond_the_previous_horizon_and_in_frozen_periods_are_not_penalised() -> None:
    base = plan_weighted(plant(), OPTIONS)
    prev = {c: tuple(v[:4]) for c, v in base.interval_production.items()}  # the old plan covered 4 periods
    terms = ReplanTerms(frozen_periods=(0,), committed={"I:P": {0: 10.0}}, previous=prev, compare_periods=4,
                        nervousness_cost=0.5)
    inp = plant(replan=terms)
    plan = plan_weighted(inp, OPTIONS)
    assert_plan_honest(plan, inp)
    assert plan.objectives["nervousness"] == pytest.approx(moved(plan, prev, range(1, 4)), abs=1e-6)
    assert dataclasses.replace(terms, previous=None).compared(T).sum() == 0


# ---------------------------------------------------------------- planned yield (scrap allowance)


def test_a_planned_yield_starts_enough_to_make_up_the_expected_scrap() -> None:
    # P and C have yield 0.8: 40 P arrive from 50 started, and those 50 draw 50 C, which take
    # 62.5 C started; every start draws its full kit (scrap is lost after the kit is issued)
    terms = ReplanTerms(yields={"I:P": 0.8, "I:C": 0.8})
    inp = plant(demand_q=(0,) * T, on_hand={"C": 0.0}, replan=terms)
    plan = plan_weighted(inp, OPTIONS)
    assert_plan_honest(plan, inp)
    assert plan.backlog["P"][-1] == pytest.approx(0)
    p, c = plan.interval_production["I:P"], plan.interval_production["I:C"]
    assert sum(p) == pytest.approx(sum(inp.demand["P"]) / 0.8)  # 240 P needed: 300 started
    assert sum(c[:-1]) == pytest.approx(sum(p[1:]) / 0.8)  # C (lead time 1) covers P's kit with its own scrap
    assert plan.load_min["W1"] == pytest.approx([3 * q for q in p])  # started units load the work center
    without = plan_weighted(plant(demand_q=(0,) * T, on_hand={"C": 0.0}, replan=ReplanTerms()), OPTIONS)
    assert sum(without.interval_production["I:P"]) == pytest.approx(240)


def test_committed_work_arrives_at_its_yield() -> None:
    # 100 P released in period 1 with yield 0.9 deliver 90: the 50 demanded there and 40 kept,
    # which the plan uses before starting more
    terms = ReplanTerms(frozen_periods=(0,), committed={"I:P": {0: 100.0}}, yields={"I:P": 0.9})
    inp = plant(demand_p=(50, 40, 0, 0, 0, 0), demand_q=(0,) * T, on_hand={"C": 100.0}, replan=terms)
    plan = plan_weighted(inp, OPTIONS)
    assert_plan_honest(plan, inp)
    assert plan.interval_production["I:P"] == pytest.approx([100, 0, 0, 0, 0, 0])
    assert plan.inventory["P"][0] == pytest.approx(40) and plan.backlog["P"][-1] == pytest.approx(0)


@pytest.mark.parametrize("y", [0.0, -0.1, 1.5, float("nan")])
def test_a_planned_yield_outside_0_1_is_invalid_input(y: float) -> None:
    with pytest.raises(NetworkError, match="planned yield"):
        plan_weighted(plant(replan=ReplanTerms(yields={"I:P": y})), OPTIONS)
