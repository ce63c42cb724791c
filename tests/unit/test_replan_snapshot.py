"""Planning rows as a re-plan reads them (lpms/planning/snapshot.py, pure): a partly shipped
order counts once, overdue or due now; a re-plan's holding cost follows material content."""
from __future__ import annotations

import datetime as dt

import pytest

from lpms.domain.enums import ItemKind
from lpms.domain.values import Costs
from lpms.planning.network import BomEdge, OperationSpec
from lpms.planning.snapshot import ItemRow, OrderRow, PeriodRow, PlanningRows, ReplanRows, build_plan_input

MONDAY = dt.date(2027, 1, 4)


def rows(orders: tuple[OrderRow, ...], on_hand_p: float) -> PlanningRows:
    periods = tuple(PeriodRow(k + 1, MONDAY + dt.timedelta(weeks=k), MONDAY + dt.timedelta(weeks=k, days=6))
                    for k in range(4))
    return PlanningRows(periods=periods, items=(ItemRow("P", ItemKind.PRODUCT), ItemRow("M", ItemKind.MATERIAL)),
                        work_centers=("W",), bom=(BomEdge("P", "M", 2.0),), operations=(OperationSpec("P", 10, "W", 1.0),),
                        orders=orders, on_hand=(("P", on_hand_p),))


@pytest.mark.parametrize("due_week", [0, 1])  # overdue (period 1 is history) or due in the current period
def test_a_partly_shipped_order_counts_what_is_left_to_ship_once(due_week: int) -> None:
    due = MONDAY + dt.timedelta(weeks=due_week, days=2)
    replan = ReplanRows(first_period=2)
    whole = build_plan_input(rows((OrderRow("SO", "P", due, 50.0),), 30.0), Costs(late=10), replan=replan)
    # 20 of the 50 shipped: on-hand fell from 30 to 10, the order still reads 50
    part = build_plan_input(rows((OrderRow("SO", "P", due, 50.0, shipped=20.0),), 10.0), Costs(late=10),
                            replan=replan)
    assert whole.net["P"] == part.net["P"] == (20.0, 0.0, 0.0)


def test_every_plan_holds_stock_at_its_material_content() -> None:
    snap = build_plan_input(rows((OrderRow("SO", "P", MONDAY, 5.0),), 0.0), Costs(late=10, inventory=0.5),
                            replan=ReplanRows(first_period=1))
    assert snap.plan_input.item_costs == {"P": {"inventory": 1.0}}  # 2 M in a P: twice the cost of an M
    # a plan run holds it the same way: one objective for plans and re-plans, so a re-plan when
    # nothing changed finds the approved plan still optimal
    plain = build_plan_input(rows((OrderRow("SO", "P", MONDAY, 5.0),), 0.0), Costs(late=10, inventory=0.5))
    assert plain.plan_input.item_costs == {"P": {"inventory": 1.0}}
