from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

import numpy as np
import pytest

from lpms.domain.enums import ItemKind as K
from lpms.domain.errors import BomCycleError, InvalidInput
from lpms.domain.values import Costs
from lpms.formats.render import describe_network as describe
from lpms.planning import optimize
from lpms.planning.demand import OrderLine
from lpms.planning.network import BomEdge, ItemSpec, NetworkError, NetworkSnapshot, OperationSpec, build_graph, divide
from lpms.planning.network_plan import NetworkInfeasible, NetworkPlan, NetworkPlanInput, plan_priority, plan_weighted
from lpms.planning.single import SingleItemScenario
from lpms.planning.single import plan_weighted as plan_single
from lpms.planning.solver import SolverError, SolverOptions
from tests.cutting_planes import cutting_planes_only
from tests.plan_invariants import assert_plan_honest


def op(item: str, wc: str, run: float, seq: int = 10) -> OperationSpec:
    return OperationSpec(item, seq, wc, run)


def snapshot(items: Sequence[ItemSpec], bom: Sequence[tuple[str, str, float]], ops: Sequence[OperationSpec],
             wcs: Sequence[str] = ("W1", "W2")) -> NetworkSnapshot:
    return NetworkSnapshot(tuple(items), tuple(BomEdge(*b) for b in bom), tuple(ops), tuple(wcs))


def intervals(snap: NetworkSnapshot) -> dict[str, tuple[str, ...]]:
    return {iv.code: iv.members for iv in divide(build_graph(snap)).intervals}


def test_a_plain_chain_is_one_interval_with_one_rate() -> None:
    snap = snapshot([ItemSpec("P", K.PRODUCT), ItemSpec("S", K.ASSEMBLY, 1), ItemSpec("C", K.PART, 1), ItemSpec("M", K.MATERIAL, 2)],
                    [("P", "S", 1), ("S", "C", 2), ("C", "M", 3)],
                    [op("P", "W1", 2), op("S", "W2", 1), op("C", "W2", 0.5)])
    div = divide(build_graph(snap))
    (iv,) = div.intervals
    assert iv.members == ("P", "S", "C")
    assert iv.multiplier == {"P": 1, "S": 1, "C": 2}
    assert iv.inputs == {"M": 6}  # 3 per C, 2 C per S
    assert iv.run_min == {"W1": 2, "W2": 1 + 2 * 0.5}
    assert iv.lead_time == 2
    assert div.decoupling == {"P": ["end product"], "M": ["purchased"]}


def test_a_common_part_is_cut_with_its_parents_named() -> None:
    snap = snapshot([ItemSpec("P1", K.PRODUCT), ItemSpec("P2", K.PRODUCT), ItemSpec("C", K.PART)],
                    [("P1", "C", 1), ("P2", "C", 1)], [op("P1", "W1", 1), op("P2", "W1", 1), op("C", "W2", 1)])
    div = divide(build_graph(snap))
    assert intervals(snap) == {"I:C": ("C",), "I:P1": ("P1",), "I:P2": ("P2",)}
    assert div.decoupling["C"] == ["common part used by P1, P2"]


def test_a_kitting_point_is_cut_and_continues_into_one_input_only() -> None:
    snap = snapshot([ItemSpec("P", K.PRODUCT), ItemSpec("A", K.ASSEMBLY), ItemSpec("X", K.PART), ItemSpec("Y", K.PART),
                     ItemSpec("M", K.MATERIAL)],
                    [("P", "A", 1), ("A", "X", 1), ("A", "Y", 1), ("A", "M", 1)],
                    [op("P", "W1", 1), op("A", "W1", 1), op("X", "W2", 1), op("Y", "W2", 1)])
    div = divide(build_graph(snap))
    assert div.decoupling["A"] == ["kitting point (3 inputs: M, X, Y)"]
    assert div.decoupling["Y"] == ["parallel input of kitting point A (X continues its chain)"]
    assert intervals(snap) == {"I:A": ("A", "X"), "I:P": ("P",), "I:Y": ("Y",)}
    assert div.kit_points == ["I:A"]
    assert "[kit check]" in describe(div)


def test_a_purchased_leaf_and_a_stocked_item_are_buffers() -> None:
    snap = snapshot([ItemSpec("P", K.PRODUCT), ItemSpec("S", K.PART, stocked=True), ItemSpec("M", K.MATERIAL)],
                    [("P", "S", 1), ("S", "M", 1)], [op("P", "W1", 1), op("S", "W1", 1)])
    div = divide(build_graph(snap))
    assert div.decoupling["M"] == ["purchased"]
    assert div.decoupling["S"] == ["stocked"]
    assert intervals(snap) == {"I:P": ("P",), "I:S": ("S",)}


def test_a_cycle_is_rejected_with_the_cycle_listed() -> None:
    snap = snapshot([ItemSpec("A", K.ASSEMBLY), ItemSpec("B", K.PART), ItemSpec("C", K.PART)],
                    [("A", "B", 1), ("B", "C", 1), ("C", "A", 1)], [op(c, "W1", 1) for c in "ABC"])
    with pytest.raises(BomCycleError) as info:
        build_graph(snap)
    assert sorted(info.value.cycle) == ["A", "B", "C"]
    assert str(info.value).startswith("BOM cycle: ")


def test_invalid_networks_list_every_problem() -> None:
    snap = snapshot([ItemSpec("P", K.PRODUCT), ItemSpec("S", K.PART)], [("P", "S", 0), ("P", "Q", 1)],
                    [op("P", "NOPE", 1)])
    with pytest.raises(NetworkError) as info:
        build_graph(snap)
    assert info.value.problems == [
        "BOM P -> S: quantity per must be positive, got 0",
        "BOM P -> Q: unknown item Q",
        "routing P/10: unknown work center NOPE",
        "item S: made item (part) without routing",
    ]


# ---------------------------------------------------------------- the network plan


def solve(inp: NetworkPlanInput, options: SolverOptions = SolverOptions()) -> NetworkPlan:
    """Plan (weighted) and check the honesty invariants (bound, recomputed costs, status)."""
    plan = plan_weighted(inp, options)
    assert_plan_honest(plan, inp)
    return plan


TWO_LEVEL = snapshot(
    [ItemSpec("P", K.PRODUCT), ItemSpec("S", K.ASSEMBLY, 1, stocked=True), ItemSpec("M", K.MATERIAL, 2)],
    [("P", "S", 2), ("S", "M", 1)], [op("P", "W1", 1), op("S", "W2", 1)])


def net_input(snap: NetworkSnapshot, demand: dict[str, Any], periods: int, reg: dict[str, float],
              ot: dict[str, float], **kw: Any) -> NetworkPlanInput:
    return NetworkPlanInput(snapshot=snap, periods=periods, demand=demand,
                            regular_min={w: (reg[w],) * periods for w in reg},
                            overtime_min={w: (ot.get(w, 0.0),) * periods for w in reg}, **kw)


def test_dependent_demand_follows_the_bom_with_lead_time_offsets() -> None:
    inp = net_input(TWO_LEVEL, {"P": (0, 0, 0, 0, 10, 10)}, 6, {"W1": 1000, "W2": 1000}, {},
                    costs=Costs(late=100, inventory=1))
    plan = solve(inp)
    assert plan.item_production["P"] == [0, 0, 0, 0, 10, 10]
    # S: 2 per P, lead time 1 -> started one period earlier
    assert plan.item_production["S"] == [0, 0, 0, 20, 20, 0]
    # M: 1 per S, bought to arrive when S starts (lead time 2 allows periods >= 3)
    assert plan.purchases["M"] == [0, 0, 0, 20, 20, 0]
    assert sum(plan.backlog["P"]) == 0


def test_no_assembly_is_planned_before_its_complete_set_can_exist() -> None:
    # demand in period 1-2 cannot be met: M arrives at period 3 at the earliest, S takes one more
    inp = net_input(TWO_LEVEL, {"P": (5, 5, 0, 0, 0, 0)}, 6, {"W1": 1000, "W2": 1000}, {},
                    costs=Costs(late=100, inventory=1))
    plan = solve(inp)
    assert plan.item_production["S"][:2] == [0, 0]
    assert plan.item_production["P"][:3] == [0, 0, 0]
    assert plan.item_production["P"][3] == 10
    assert plan.backlog["P"] == [5, 10, 10, 0, 0, 0]
    # with stock of M the kit is complete earlier
    inp = net_input(TWO_LEVEL, {"P": (5, 5, 0, 0, 0, 0)}, 6, {"W1": 1000, "W2": 1000}, {}, on_hand={"M": 100, "S": 10},
                    costs=Costs(late=100, inventory=1))
    plan = solve(inp)
    assert plan.item_production["P"][:2] == [5, 5] and sum(plan.backlog["P"]) == 0


def test_capacity_with_overtime_across_several_work_centers() -> None:
    # P needs 1 min on W1 per unit and 2 S (1 min each on W2): W2 is the bottleneck
    inp = net_input(TWO_LEVEL, {"P": (0, 0, 0, 40, 40, 40)}, 6, {"W1": 100, "W2": 40}, {"W2": 20},
                    on_hand={"M": 1000}, costs=Costs(late=1000, inventory=1, overtime=5))
    plan = solve(inp)
    assert sum(plan.backlog["P"]) == 0
    assert max(plan.load_min["W2"]) <= 60 + 1e-6
    assert sum(plan.overtime_min["W2"]) == 40 and sum(plan.overtime_min["W1"]) == 0
    assert plan.costs["overtime"] == pytest.approx(5 * sum(plan.overtime_min["W2"]))


def test_short_capacity_is_explained_by_work_center_and_periods() -> None:
    inp = net_input(TWO_LEVEL, {"P": (0, 0, 0, 40, 40, 40)}, 6, {"W1": 100, "W2": 40}, {"W2": 0},
                    on_hand={"M": 1000}, costs=Costs(late=1000, inventory=1))
    with pytest.raises(NetworkInfeasible) as info:
        solve(inp)
    text = str(info.value)
    assert "P: 20 units cannot be delivered by period 6" in text
    assert "work center W2 is at full capacity (regular + overtime) in periods 1-5 and lacks 40 minutes" in text
    plan = solve(net_input(TWO_LEVEL, {"P": (0, 0, 0, 40, 40, 40)}, 6, {"W1": 100, "W2": 40}, {"W2": 0},
                                  on_hand={"M": 1000}, costs=Costs(late=1000, inventory=1), allow_backlog_past_horizon=True))
    assert plan.backlog["P"][-1] == 20


PAPER_NET = (150, 100, 200, 150, 150, 150, 120, 380, 250, 250, 250, 250)
REG = (200.0,) * 6 + (100.0, 100.0) + (200.0,) * 4
OT = (150.0,) * 6 + (0.0, 0.0) + (150.0,) * 4


@pytest.mark.parametrize("costs", [Costs(late=100, inventory=1), Costs(late=10000, inventory=1, overtime=100),
                                   Costs(late=100, inventory=1, balance=20)], ids=["table2", "table3", "balance"])
def test_one_item_one_work_center_network_equals_the_single_item_engine(costs: Costs) -> None:
    scn = SingleItemScenario(forecast=(150.0,) * 6 + (250.0,) * 6, regular_capacity=REG, overtime_capacity=OT,
                             orders=(OrderLine(2, 200), OrderLine(7, 380)), costs=costs)
    single = plan_single(scn)
    assert_plan_honest(single, scn)
    snap = snapshot([ItemSpec("P", K.PRODUCT)], [], [op("P", "W", 1)], ("W",))
    plan = solve(NetworkPlanInput(snap, 12, {"P": tuple(map(float, PAPER_NET))}, {"W": REG}, {"W": OT}, costs=costs))
    assert plan.item_production["P"] == pytest.approx(single.production, abs=1e-4)
    assert plan.inventory["P"] == pytest.approx(single.inventory, abs=1e-4)
    assert plan.overtime_min["W"] == pytest.approx(single.overtime, abs=1e-4)
    assert plan.costs["total"] == pytest.approx(single.costs["total"], rel=1e-6)


def test_network_priority_mode_gives_table_3() -> None:
    snap = snapshot([ItemSpec("P", K.PRODUCT)], [], [op("P", "W", 1)], ("W",))
    inp = NetworkPlanInput(snap, 12, {"P": tuple(map(float, PAPER_NET))}, {"W": REG}, {"W": OT}, costs=Costs())
    plan = plan_priority(inp, ["late", "overtime", "inventory"])
    assert_plan_honest(plan, inp)
    assert plan.item_production["P"] == [200] * 6 + [100, 100] + [250] * 4
    assert sum(plan.inventory["P"]) == 1380 and sum(plan.overtime_min["W"]) == 200


def test_per_item_and_per_work_center_cost_overrides_steer_the_plan() -> None:
    # two products share W; P1's lateness is ten times dearer, so P2 waits
    snap = snapshot([ItemSpec("P1", K.PRODUCT), ItemSpec("P2", K.PRODUCT)], [], [op("P1", "W", 1), op("P2", "W", 1)], ("W",))
    inp = NetworkPlanInput(snap, 3, {"P1": (10, 10, 0), "P2": (10, 10, 0)}, {"W": (10, 10, 20)}, {"W": (0, 0, 0)},
                           costs=Costs(late=1, inventory=1), item_costs={"P1": {"late": 10}})
    plan = solve(inp)
    assert plan.backlog["P1"] == [0, 0, 0]
    assert plan.backlog["P2"] == [10, 20, 0]


def test_balance_levels_each_work_center_load() -> None:
    snap = snapshot([ItemSpec("P", K.PRODUCT)], [], [op("P", "W", 1)], ("W",))
    base: dict[str, Any] = dict(snapshot=snap, periods=4, demand={"P": (0, 0, 0, 40)}, regular_min={"W": (40,) * 4},
                                overtime_min={"W": (0,) * 4})
    lumpy = solve(NetworkPlanInput(**base, costs=Costs(late=100, inventory=1)))
    level = solve(NetworkPlanInput(**base, costs=Costs(late=100, inventory=1, balance=1000)))
    assert lumpy.item_production["P"] == [0, 0, 0, 40]
    assert level.item_production["P"] == pytest.approx([10, 10, 10, 10], abs=1e-3)
    assert level.solver["gap_rel"] <= 1e-6


def test_reported_costs_price_only_the_objectives_that_are_switched_on() -> None:
    # an inventory override must not switch on a lateness cost the solver never weighed
    snap = snapshot([ItemSpec("P", K.PRODUCT)], [], [op("P", "W", 1)], ("W",))
    inp = NetworkPlanInput(snap, 3, {"P": (10, 10, 10)}, {"W": (5, 15, 30)}, {"W": (0, 0, 0)},
                           costs=Costs(late=0, inventory=0), item_costs={"P": {"inventory": 2}})
    plan = solve(inp)
    assert plan.objectives["late"] > 0
    assert plan.costs["late"] == 0
    assert plan.costs["inventory"] == pytest.approx(2 * plan.objectives["inventory"])


# ---------------------------------------------------------------- faults found by an independent model

ONE_ON_W1 = snapshot([ItemSpec("P", K.PRODUCT), ItemSpec("Q", K.PRODUCT)], [], [op("P", "W1", 1), op("Q", "W2", 1)],
                     ("W1", "W2"))


def two_periods(costs: Costs, **kw: Any) -> NetworkPlanInput:
    # P needs 20 in period 2 on W1 (10 regular + 10 overtime per period); Q has no demand
    return NetworkPlanInput(ONE_ON_W1, 2, {"P": (0.0, 20.0), "Q": (0.0, 0.0)}, {"W1": (10.0, 10.0), "W2": (10.0, 10.0)},
                            {"W1": (10.0, 10.0), "W2": (0.0, 0.0)}, costs=costs, **kw)


@pytest.mark.parametrize("overrides", [{}, {"work_center_costs": {"W2": {"overtime": 0}}},
                                       {"work_center_costs": {"W2": {"overtime": 3}}},
                                       {"work_center_costs": {"W2": {"balance": 0}}},
                                       {"work_center_costs": {"W2": {"balance": 2}}}],
                         ids=["none", "W2 overtime 0", "W2 overtime 3", "W2 balance 0", "W2 balance 2"])
def test_a_work_center_override_never_switches_on_a_global_cost_of_zero(overrides: dict[str, Any]) -> None:
    # overtime and balance cost nothing globally: making all 20 in period 2 on overtime is free;
    # an override on W2 used to charge every other work center 1 ([10, 10] at total 5)
    plan = solve(two_periods(Costs(late=100, inventory=0.5), **overrides))
    assert plan.item_production["P"] == [0, 20]
    assert plan.costs["total"] == 0 and plan.objectives["overtime"] == 10


@pytest.mark.parametrize("overrides", [{}, {"item_costs": {"Q": {"inventory": 0}}}, {"item_costs": {"Q": {"late": 0}}},
                                       {"item_costs": {"Q": {"inventory": 5}}}], ids=["none", "Q inventory 0",
                                                                                      "Q late 0", "Q inventory 5"])
def test_an_item_override_never_switches_on_a_global_cost_of_zero(overrides: dict[str, Any]) -> None:
    # inventory costs nothing globally: building 10 ahead beats 10 overtime minutes at 1
    plan = solve(two_periods(Costs(late=100, overtime=1), **overrides))
    assert plan.item_production["P"] == [10, 10]
    assert plan.costs["total"] == 0 and plan.objectives["inventory"] == 10


def test_an_override_of_zero_on_a_priced_work_center_is_used() -> None:
    plan = solve(two_periods(Costs(late=100, inventory=0.5, overtime=1), work_center_costs={"W1": {"overtime": 0}}))
    assert plan.item_production["P"] == [0, 20] and plan.costs["total"] == 0


KITTED = snapshot([ItemSpec("P", K.PRODUCT), ItemSpec("S", K.PART, stocked=True)], [("P", "S", 1)],
                  [op("P", "W1", 1), op("S", "W1", 1)], ("W1",))


@pytest.mark.parametrize("balance_on", ["work_centers", "intervals", "both"])
def test_interval_balance_is_reported_and_priced_as_optimised(balance_on: str) -> None:
    inp = NetworkPlanInput(KITTED, 4, {"P": (0.0, 10.0, 30.0, 10.0)}, {"W1": (100.0,) * 4}, {"W1": (0.0,) * 4},
                           costs=Costs(late=100, inventory=1, balance=5), balance_on=balance_on)
    plan = solve(inp)  # the helper recomputes balance over the series balance_on names
    std = {"W1": float(np.std(plan.load_min["W1"], ddof=1))}
    std.update({c: float(np.std(v, ddof=1)) for c, v in plan.interval_production.items()})
    series = {"work_centers": ["W1"], "intervals": ["I:P", "I:S"], "both": ["W1", "I:P", "I:S"]}[balance_on]
    assert plan.objectives["balance"] == pytest.approx(sum(std[k] for k in series), abs=1e-6)
    assert plan.costs["balance"] == pytest.approx(5 * plan.objectives["balance"], abs=1e-5)
    if balance_on == "both":  # was: total 41.67 reported below LPMS's own lower bound 50
        assert plan.costs["total"] == pytest.approx(50, abs=1e-4)


def test_safety_stock_shortfall_is_priced_as_lateness_in_the_reported_costs() -> None:
    # S takes a period, so its safety stock of 10 cannot exist in period 1
    snap = snapshot([ItemSpec("P", K.PRODUCT), ItemSpec("S", K.PART, 1, stocked=True)], [("P", "S", 1)],
                    [op("P", "W1", 1), op("S", "W1", 1)], ("W1",))
    inp = NetworkPlanInput(snap, 3, {"P": (0.0, 10.0, 10.0)}, {"W1": (100.0,) * 3}, {"W1": (0.0,) * 3},
                           safety_stock={"S": 10.0}, costs=Costs(late=100, inventory=1))
    plan = solve(inp)
    assert plan.safety_shortfall == {"S": [10, 0, 0]}
    # was: lower bound 1020 against a reported total of 20
    assert plan.costs == {"late": 1000, "inventory": 20, "overtime": 0, "balance": 0, "total": 1020}
    assert plan.solver["lower_bound"] == 1020 and plan.objectives["late"] == 10


def test_a_work_center_without_load_does_not_stall_the_balance_term() -> None:
    # W2 carries no load: its deviation term was a constant zero that made HiGHS's QP cycle
    # until the time limit (then a traceback)
    snap = snapshot([ItemSpec("P", K.PRODUCT)], [], [op("P", "W1", 1)], ("W1", "W2"))
    inp = NetworkPlanInput(snap, 2, {"P": (10.0, 30.0)}, {"W1": (100.0, 100.0), "W2": (100.0, 100.0)},
                           {"W1": (20.0, 20.0), "W2": (0.0, 0.0)}, costs=Costs(late=100, inventory=1, balance=1))
    started = time.perf_counter()
    plan = solve(inp, options=SolverOptions(time_limit_s=20))
    assert time.perf_counter() - started < 5
    assert plan.solver["status"] == "optimal"
    assert plan.item_production["P"] == [20, 20] and plan.costs["total"] == 10


def test_a_failing_qp_falls_back_to_cutting_planes(monkeypatch: pytest.MonkeyPatch) -> None:
    inp = NetworkPlanInput(KITTED, 4, {"P": (0.0, 10.0, 30.0, 10.0)}, {"W1": (100.0,) * 4}, {"W1": (0.0,) * 4},
                           costs=Costs(late=100, inventory=1, balance=5), balance_on="both")
    reference = solve(inp)
    real = optimize._Work.qp_runner

    def failing(self: Any) -> Any:
        runner = real(self)

        def solve_error(*args: Any, **kw: Any) -> Any:
            raise SolverError("HiGHS stopped without a proven optimum: Solve error")

        runner.solve = solve_error  # type: ignore[method-assign]
        return runner

    monkeypatch.setattr(optimize._Work, "qp_runner", failing)
    plan = solve(inp)
    assert "QP failed" in plan.solver["balance_method"]
    assert plan.solver["status"] == "optimal"
    assert plan.costs["total"] == pytest.approx(reference.costs["total"], rel=1e-6)


def test_a_time_limit_stops_the_run_with_its_proven_gap(monkeypatch: pytest.MonkeyPatch) -> None:
    cutting_planes_only(monkeypatch)
    snap = snapshot([ItemSpec("P", K.PRODUCT)], [], [op("P", "W", 1)], ("W",))
    inp = NetworkPlanInput(snap, 12, {"P": tuple(map(float, PAPER_NET))}, {"W": REG}, {"W": OT},
                           costs=Costs(late=100, inventory=1, balance=20))
    # cutting planes only and an unreachable gap target: the clock stops the run
    options = SolverOptions(time_limit_s=0.4, gap_rel=1e-15, qp_max_columns=0)
    started = time.perf_counter()
    plan = plan_weighted(inp, options)
    assert time.perf_counter() - started < 0.4 + 1.5  # margin for a loaded machine
    assert_plan_honest(plan, inp, gap_target=1e-15)
    assert plan.solver["status"] == "time limit" and plan.solver["gap_rel"] > 1e-15
    exact = solve(NetworkPlanInput(snap, 12, {"P": tuple(map(float, PAPER_NET))}, {"W": REG}, {"W": OT},
                                   costs=Costs(late=100, inventory=1, balance=20)))
    assert plan.solver["lower_bound"] <= exact.costs["total"] + 1e-6 <= plan.costs["total"] + 2e-6


def test_demand_on_a_component_is_invalid_input_whose_advice_works() -> None:
    with pytest.raises(NetworkError) as info:
        solve(net_input(TWO_LEVEL, {"S": (0, 0, 5, 5, 5, 5)}, 6, {"W1": 1000, "W2": 1000}, {}))
    assert isinstance(info.value, InvalidInput) and "S-SPARE" in str(info.value)
    snap = snapshot([*TWO_LEVEL.items, ItemSpec("S-SPARE", K.PRODUCT)],
                    [*((b.parent, b.child, b.qty) for b in TWO_LEVEL.bom), ("S-SPARE", "S", 1)],
                    [*TWO_LEVEL.operations, op("S-SPARE", "W1", 0)])
    plan = solve(net_input(snap, {"S-SPARE": (0, 0, 5, 5, 5, 5)}, 6, {"W1": 1000, "W2": 1000}, {},
                           on_hand={"M": 100}))
    assert plan.backlog["S-SPARE"] == [0] * 6


def test_ties_in_a_network_go_to_the_latest_production() -> None:
    # the one-item network with overtime at 1: Table 2's plan ties with an earlier one (the demo plant)
    snap = snapshot([ItemSpec("P", K.PRODUCT)], [], [op("P", "W", 1)], ("W",))
    plan = solve(NetworkPlanInput(snap, 12, {"P": tuple(map(float, PAPER_NET))}, {"W": REG}, {"W": OT},
                                  costs=Costs(late=100, inventory=1, overtime=1)))
    assert plan.item_production["P"] == [150, 100, 200, 150, 250, 350, 100, 100, 250, 250, 250, 250]
    assert plan.costs["total"] == 1080 == plan.solver["lower_bound"]


def test_a_priority_run_cut_off_by_the_time_limit_reports_its_first_unproven_stage(
        monkeypatch: pytest.MonkeyPatch) -> None:
    cutting_planes_only(monkeypatch)  # the exact methods can prove even a 1e-15 gap here
    snap = snapshot([ItemSpec("P", K.PRODUCT)], [], [op("P", "W", 1)], ("W",))
    inp = NetworkPlanInput(snap, 12, {"P": tuple(map(float, PAPER_NET))}, {"W": REG}, {"W": OT}, costs=Costs())
    options = SolverOptions(time_limit_s=0.3, gap_rel=1e-15, qp_max_columns=0)
    plan = plan_priority(inp, ["balance", "late", "inventory"], options)
    assert_plan_honest(plan, inp, gap_target=1e-15)
    assert plan.solver["status"] == "time limit" and plan.solver["bound_of"] == "objectives.balance"
    assert plan.solver["stages"][0]["status"] == "time limit"
    assert plan.solver["seconds"] < 0.3 + 1.5  # the limit holds (margin for a loaded machine)
