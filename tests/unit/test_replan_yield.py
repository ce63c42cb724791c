"""The re-plan's scrap allowance (planned yield learned from finished work orders) and its
value-based holding cost (material content), both pure (lpms/planning/snapshot.py)."""
from __future__ import annotations

import pytest

from lpms.planning.network import BomEdge
from lpms.planning.snapshot import MIN_YIELD, FinishedWorkOrder, material_content, planned_yields


def wo(interval: str, start: int, *ops: tuple[float, float]) -> FinishedWorkOrder:
    return FinishedWorkOrder(interval, start, tuple(ops))


def test_a_work_orders_yield_is_the_product_of_its_operations_yields() -> None:
    # 100 started, 10 scrapped at the first operation, 9 of the 90 at the second: 0.9 * 0.9
    assert wo("I:A", 1, (90, 10), (81, 9)).yield_ == pytest.approx(0.81)
    assert wo("I:A", 1, (90, 10), (81, 9)).started == 100
    assert wo("I:A", 1, (50, 0), (0, 0)).yield_ == 1.0  # an operation that processed nothing counts as 1


def test_planned_yield_is_the_weighted_mean_less_z_standard_deviations() -> None:
    finished = [wo("I:A", 3, (95, 5)), wo("I:A", 4, (270, 30)), wo("I:B", 4, (100, 0))]
    # weighted mean (95 + 270) / 400 = 0.9125; yields 0.95 (100 started) and 0.90 (300) deviate
    # from it by 0.0375 and 0.0125: weighted variance (100 * 0.0375^2 + 300 * 0.0125^2) / 400 =
    # 0.00046875, times n / (n - 1) = 2: sd 0.0306186
    assert planned_yields(finished, first_period=5, window=8, z=0.0) == {"I:A": pytest.approx(0.9125)}
    y = planned_yields(finished, first_period=5, window=8, z=1.0)["I:A"]
    assert y == pytest.approx(0.9125 - 0.0306186, abs=1e-6)
    assert "I:B" not in planned_yields(finished, first_period=5, window=8, z=1.0)  # no scrap: yield 1, omitted


def test_planned_yield_learns_only_from_the_window_before_the_first_period() -> None:
    finished = [wo("I:A", 1, (50, 50)), wo("I:A", 6, (80, 20)), wo("I:A", 9, (10, 90))]
    # window 3 before period 9: only the work order started in period 6 (1 is too old, 9 is not before)
    assert planned_yields(finished, first_period=9, window=3, z=1.0) == {"I:A": pytest.approx(0.8)}
    assert planned_yields(finished, first_period=9, window=0, z=1.0) == {}


def test_planned_yield_has_a_floor() -> None:
    assert planned_yields([wo("I:A", 1, (1, 99))], first_period=2, window=4, z=0.0) == {"I:A": MIN_YIELD}


def test_material_content_rolls_purchased_units_up_the_bom() -> None:
    # P = 2 S + 1 M2; S = 12 M1 + 1 M2: S holds 13 purchased units, P 27
    bom = [BomEdge("P", "S", 2), BomEdge("P", "M2", 1), BomEdge("S", "M1", 12), BomEdge("S", "M2", 1)]
    assert material_content(bom) == {"M1": 1.0, "M2": 1.0, "P": 27.0, "S": 13.0}


def test_material_content_keeps_value_through_a_step_at_its_yield() -> None:
    # S at yield 0.8 holds its 13 units of material / 0.8: scrapping early never saves holding cost
    bom = [BomEdge("P", "S", 2), BomEdge("S", "M1", 12), BomEdge("S", "M2", 1)]
    assert material_content(bom, {"I:S": 0.8}) == {"M1": 1.0, "M2": 1.0, "P": 32.5, "S": 16.25}
