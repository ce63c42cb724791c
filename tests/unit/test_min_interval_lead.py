"""The minimum interval lead time (``min_interval_lead``): an interval feeding another takes at
least that many periods, so a chain of intervals is not planned to flow through one period."""
from __future__ import annotations

import pytest

from lpms.domain.enums import ItemKind as K
from lpms.domain.errors import InvalidInput
from lpms.domain.values import Costs
from lpms.planning.network import BomEdge, ItemSpec, NetworkSnapshot, OperationSpec, build_graph, divide
from lpms.planning.network_plan import NetworkPlanInput, plan_weighted
from lpms.services.plan_runs import PlanRequest
from tests.plan_invariants import assert_plan_honest

# P (product) from A (a kitting point: C and M2) and M1; C (a part, lead 1) from M3; A lead 0
CHAIN = NetworkSnapshot(
    (ItemSpec("P", K.PRODUCT), ItemSpec("A", K.ASSEMBLY), ItemSpec("C", K.PART, 1), ItemSpec("Q", K.PRODUCT),
     ItemSpec("M1", K.MATERIAL), ItemSpec("M2", K.MATERIAL), ItemSpec("M3", K.MATERIAL)),
    (BomEdge("P", "A", 1), BomEdge("P", "M1", 1), BomEdge("A", "C", 2), BomEdge("A", "M2", 1),
     BomEdge("C", "M3", 1), BomEdge("Q", "C", 1), BomEdge("Q", "M1", 1)),
    (OperationSpec("P", 10, "W1", 1), OperationSpec("A", 10, "W1", 1), OperationSpec("C", 10, "W2", 1),
     OperationSpec("Q", 10, "W2", 1)),
    ("W1", "W2"))


def _leads(min_interval_lead: int) -> dict[str, int]:
    return {iv.code: iv.lead_time for iv in divide(build_graph(CHAIN), min_interval_lead).intervals}


def test_an_interval_feeding_another_takes_at_least_the_minimum() -> None:
    assert _leads(0) == {"I:A": 0, "I:C": 1, "I:P": 0, "I:Q": 0}  # the members' lead times
    # A feeds P: at least one period; C already takes one; products feed nothing and keep 0
    assert _leads(1) == {"I:A": 1, "I:C": 1, "I:P": 0, "I:Q": 0}
    assert _leads(2) == {"I:A": 2, "I:C": 2, "I:P": 0, "I:Q": 0}
    with pytest.raises(InvalidInput, match="negative"):
        divide(build_graph(CHAIN), -1)


def _plan(min_interval_lead: int) -> dict[str, list[float]]:
    T = 6
    inp = NetworkPlanInput(snapshot=CHAIN, periods=T, demand={"P": (0, 0, 0, 10, 0, 0), "Q": (0,) * T},
                           regular_min={"W1": (1000.0,) * T, "W2": (1000.0,) * T},
                           overtime_min={"W1": (0.0,) * T, "W2": (0.0,) * T},
                           on_hand={"M1": 100, "M2": 100, "M3": 100}, costs=Costs(late=100, inventory=1),
                           # stock held at its material content (as plan runs do): no gain in assembling early
                           item_costs={"P": {"inventory": 4.0}, "A": {"inventory": 3.0}},
                           min_interval_lead=min_interval_lead)
    plan = plan_weighted(inp)
    assert_plan_honest(plan, inp)
    assert sum(plan.backlog["P"]) == 0
    return plan.item_production


def test_the_plan_makes_each_level_a_period_before_its_parent() -> None:
    # without the minimum, A is made in P's own period (the chain flows through period 4)
    lean = _plan(0)
    # (after period 4 nothing is demanded: stock held at its content makes later production a tie)
    assert lean["P"][:4] == [0, 0, 0, 10] and lean["A"][:4] == [0, 0, 0, 10]
    assert lean["C"][:3] == [0, 0, 20]  # C's own lead time of one period
    # with 1, A's output is in its buffer when P's period starts: A a period earlier, C one more
    offset = _plan(1)
    assert offset["P"][:4] == [0, 0, 0, 10]
    assert offset["A"][:4] == [0, 0, 10, 0]
    assert offset["C"][:2] == [0, 20]


def test_the_request_stores_it_only_when_set_and_reads_it_back() -> None:
    assert "min_interval_lead" not in PlanRequest().parameters()  # runs without it keep their stored form
    stored = PlanRequest(min_interval_lead=1).parameters()
    assert stored["min_interval_lead"] == 1
    assert PlanRequest.from_parameters(stored).min_interval_lead == 1
    assert PlanRequest.from_parameters(PlanRequest().parameters()).min_interval_lead == 0
    for bad in (-1, 1.5, "1", True):
        with pytest.raises(InvalidInput, match="min_interval_lead"):
            PlanRequest.from_parameters({**stored, "min_interval_lead": bad})
