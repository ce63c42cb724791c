from __future__ import annotations

import pytest

from lpms.domain.enums import ItemKind as K
from lpms.domain.errors import BomCycleError
from lpms.formats.render import describe_network as describe
from lpms.planning.network import BomEdge, ItemSpec, NetworkError, NetworkSnapshot, OperationSpec, build_graph, divide
from lpms.planning.network_plan import NetworkInfeasible, NetworkPlanInput, plan_network
from lpms.planning.single import Costs, SingleItemScenario, plan_weighted
from lpms.planning.demand import OrderLine


def op(item: str, wc: str, run: float, seq: int = 10) -> OperationSpec:
    return OperationSpec(item, seq, wc, run)


def snapshot(items, bom, ops, wcs=("W1", "W2")):  # type: ignore[no-untyped-def]
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

TWO_LEVEL = snapshot(
    [ItemSpec("P", K.PRODUCT), ItemSpec("S", K.ASSEMBLY, 1, stocked=True), ItemSpec("M", K.MATERIAL, 2)],
    [("P", "S", 2), ("S", "M", 1)], [op("P", "W1", 1), op("S", "W2", 1)])


def net_input(snap, demand, periods, reg, ot, **kw):  # type: ignore[no-untyped-def]
    return NetworkPlanInput(snapshot=snap, periods=periods, demand=demand,
                            regular_min={w: (reg[w],) * periods for w in reg},
                            overtime_min={w: (ot.get(w, 0.0),) * periods for w in reg}, **kw)


def test_dependent_demand_follows_the_bom_with_lead_time_offsets() -> None:
    inp = net_input(TWO_LEVEL, {"P": (0, 0, 0, 0, 10, 10)}, 6, {"W1": 1000, "W2": 1000}, {},
                    costs=Costs(late=100, inventory=1))
    plan = plan_network(inp)
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
    plan = plan_network(inp)
    assert plan.item_production["S"][:2] == [0, 0]
    assert plan.item_production["P"][:3] == [0, 0, 0]
    assert plan.item_production["P"][3] == 10
    assert plan.backlog["P"] == [5, 10, 10, 0, 0, 0]
    # with stock of M the kit is complete earlier
    inp = net_input(TWO_LEVEL, {"P": (5, 5, 0, 0, 0, 0)}, 6, {"W1": 1000, "W2": 1000}, {}, on_hand={"M": 100, "S": 10},
                    costs=Costs(late=100, inventory=1))
    plan = plan_network(inp)
    assert plan.item_production["P"][:2] == [5, 5] and sum(plan.backlog["P"]) == 0


def test_capacity_with_overtime_across_several_work_centers() -> None:
    # P needs 1 min on W1 per unit and 2 S (1 min each on W2): W2 is the bottleneck
    inp = net_input(TWO_LEVEL, {"P": (0, 0, 0, 40, 40, 40)}, 6, {"W1": 100, "W2": 40}, {"W2": 20},
                    on_hand={"M": 1000}, costs=Costs(late=1000, inventory=1, overtime=5))
    plan = plan_network(inp)
    assert sum(plan.backlog["P"]) == 0
    assert max(plan.load_min["W2"]) <= 60 + 1e-6
    assert sum(plan.overtime_min["W2"]) == 40 and sum(plan.overtime_min["W1"]) == 0
    assert plan.costs["overtime"] == pytest.approx(5 * sum(plan.overtime_min["W2"]))


def test_short_capacity_is_explained_by_work_center_and_periods() -> None:
    inp = net_input(TWO_LEVEL, {"P": (0, 0, 0, 40, 40, 40)}, 6, {"W1": 100, "W2": 40}, {"W2": 0},
                    on_hand={"M": 1000}, costs=Costs(late=1000, inventory=1))
    with pytest.raises(NetworkInfeasible) as info:
        plan_network(inp)
    text = str(info.value)
    assert "P: 20 units cannot be delivered by period 6" in text
    assert "work center W2 is at full capacity (regular + overtime) in periods 1-5 and lacks 40 minutes" in text
    plan = plan_network(net_input(TWO_LEVEL, {"P": (0, 0, 0, 40, 40, 40)}, 6, {"W1": 100, "W2": 40}, {"W2": 0},
                                  on_hand={"M": 1000}, costs=Costs(late=1000, inventory=1), allow_backlog_past_horizon=True))
    assert plan.backlog["P"][-1] == 20


PAPER_NET = (150, 100, 200, 150, 150, 150, 120, 380, 250, 250, 250, 250)
REG = (200.0,) * 6 + (100.0, 100.0) + (200.0,) * 4
OT = (150.0,) * 6 + (0.0, 0.0) + (150.0,) * 4


@pytest.mark.parametrize("costs", [Costs(late=100, inventory=1), Costs(late=10000, inventory=1, overtime=100),
                                   Costs(late=100, inventory=1, balance=20)], ids=["table2", "table3", "balance"])
def test_one_item_one_work_center_network_equals_the_single_item_engine(costs: Costs) -> None:
    single = plan_weighted(SingleItemScenario(forecast=(150.0,) * 6 + (250.0,) * 6, regular_capacity=REG,
                                              overtime_capacity=OT, orders=(OrderLine(2, 200), OrderLine(7, 380)),
                                              costs=costs))
    snap = snapshot([ItemSpec("P", K.PRODUCT)], [], [op("P", "W", 1)], ("W",))
    plan = plan_network(NetworkPlanInput(snap, 12, {"P": tuple(map(float, PAPER_NET))}, {"W": REG}, {"W": OT}, costs=costs))
    assert plan.item_production["P"] == pytest.approx(single.production, abs=1e-4)
    assert plan.inventory["P"] == pytest.approx(single.inventory, abs=1e-4)
    assert plan.overtime_min["W"] == pytest.approx(single.overtime, abs=1e-4)
    assert plan.costs["total"] == pytest.approx(single.costs["total"], rel=1e-6)


def test_network_priority_mode_gives_table_3() -> None:
    snap = snapshot([ItemSpec("P", K.PRODUCT)], [], [op("P", "W", 1)], ("W",))
    plan = plan_network(NetworkPlanInput(snap, 12, {"P": tuple(map(float, PAPER_NET))}, {"W": REG}, {"W": OT}, costs=Costs()),
                        mode="priority", priority=["late", "overtime", "inventory"])
    assert plan.item_production["P"] == [200] * 6 + [100, 100] + [250] * 4
    assert sum(plan.inventory["P"]) == 1380 and sum(plan.overtime_min["W"]) == 200


def test_per_item_and_per_work_center_cost_overrides_steer_the_plan() -> None:
    # two products share W; P1's lateness is ten times dearer, so P2 waits
    snap = snapshot([ItemSpec("P1", K.PRODUCT), ItemSpec("P2", K.PRODUCT)], [], [op("P1", "W", 1), op("P2", "W", 1)], ("W",))
    inp = NetworkPlanInput(snap, 3, {"P1": (10, 10, 0), "P2": (10, 10, 0)}, {"W": (10, 10, 20)}, {"W": (0, 0, 0)},
                           costs=Costs(late=1, inventory=1), item_costs={"P1": {"late": 10}})
    plan = plan_network(inp)
    assert plan.backlog["P1"] == [0, 0, 0]
    assert plan.backlog["P2"] == [10, 20, 0]


def test_balance_levels_each_work_center_load() -> None:
    snap = snapshot([ItemSpec("P", K.PRODUCT)], [], [op("P", "W", 1)], ("W",))
    base = dict(snapshot=snap, periods=4, demand={"P": (0, 0, 0, 40)}, regular_min={"W": (40,) * 4},
                overtime_min={"W": (0,) * 4})
    lumpy = plan_network(NetworkPlanInput(**base, costs=Costs(late=100, inventory=1)))
    level = plan_network(NetworkPlanInput(**base, costs=Costs(late=100, inventory=1, balance=1000)))
    assert lumpy.item_production["P"] == [0, 0, 0, 40]
    assert level.item_production["P"] == pytest.approx([10, 10, 10, 10], abs=1e-3)
    assert level.solver["gap_rel"] <= 1e-6


def test_reported_costs_price_only_the_objectives_that_are_switched_on() -> None:
    # an inventory override must not switch on a lateness cost the solver never weighed
    snap = snapshot([ItemSpec("P", K.PRODUCT)], [], [op("P", "W", 1)], ("W",))
    inp = NetworkPlanInput(snap, 3, {"P": (10, 10, 10)}, {"W": (5, 15, 30)}, {"W": (0, 0, 0)},
                           costs=Costs(late=0, inventory=0), item_costs={"P": {"inventory": 2}})
    plan = plan_network(inp)
    assert plan.objectives["late"] > 0
    assert plan.costs["late"] == 0
    assert plan.costs["inventory"] == pytest.approx(2 * plan.objectives["inventory"])
