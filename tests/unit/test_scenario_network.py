"""Multi-item scenario files (``lpms plan solve`` with ``items``): validation and the reported
regressions, end to end through the command line."""
from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest

from lpms.cli import main
from lpms.planning.scenario import ScenarioError, parse_network
from tests.unit.test_reference_model import compare

# the safety-stock case: S takes a period, so its safety stock is short in period 1
SAFETY: dict[str, Any] = {
    "periods": 3,
    "items": [{"code": "P", "kind": "product"},
              {"code": "S", "kind": "part", "stocked": True, "lead_time": 1, "safety_stock": 10}],
    "bom": [{"parent": "P", "child": "S", "qty": 1}],
    "routings": [{"item": "P", "work_center": "W1", "run_min": 1}, {"item": "S", "work_center": "W1", "run_min": 1}],
    "work_centers": [{"code": "W1", "regular_min": 100}],
    "demand": {"P": {"forecast": [0, 10, 10]}},
    "costs": {"late": 100, "inventory": 1},
}


def solve(capsys: pytest.CaptureFixture[str], tmp_path: Path, data: dict[str, Any]) -> tuple[int, Any, str]:
    path = tmp_path / "scenario.json"
    path.write_text(json.dumps(data))
    rc = main(["plan", "solve", str(path), "--format", "json"])
    out = capsys.readouterr()
    assert "Traceback" not in out.err
    return rc, json.loads(out.out) if rc == 0 else None, out.err


def test_a_per_period_demand_value_may_be_one_number(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    rc, out, err = solve(capsys, tmp_path, {**SAFETY, "demand": {"P": {"forecast": 10}}})
    assert rc == 0, err
    assert out["gross_demand"] == {"P": [10, 10, 10]}


def test_a_forecast_of_the_wrong_length_is_named_by_its_own_key(capsys: pytest.CaptureFixture[str],
                                                                tmp_path: Path) -> None:
    rc, _, err = solve(capsys, tmp_path, {**SAFETY, "demand": {"P": {"forecast": [1, 2]}}})
    assert rc == 2
    assert "key 'demand.P.forecast': has 2 values, 'periods' is 3" in err and "regular_capacity" not in err
    rc, _, err = solve(capsys, tmp_path, {**SAFETY, "demand": {"P": {"orders": [{"period": 4, "quantity": 1}]}}})
    assert rc == 2 and "key 'demand.P.orders[1].period': 4 is out of range 1..3" in err


def test_demand_on_a_component_is_rejected_with_advice_that_works(capsys: pytest.CaptureFixture[str],
                                                                  tmp_path: Path) -> None:
    data = {**SAFETY, "demand": {"P": {"forecast": [0, 10, 10]}, "S": {"forecast": [0, 1, 1]}}}
    with pytest.raises(ScenarioError):
        parse_network(data)
    rc, _, err = solve(capsys, tmp_path, data)
    assert rc == 2 and "key 'demand.S': S is a component of P" in err and "S-SPARE" in err
    # the advice: a product whose only component is S, with a routing, carries the demand
    advised = {**SAFETY,
               "items": SAFETY["items"] + [{"code": "S-SPARE", "kind": "product"}],
               "bom": SAFETY["bom"] + [{"parent": "S-SPARE", "child": "S", "qty": 1}],
               "routings": SAFETY["routings"] + [{"item": "S-SPARE", "work_center": "W1", "run_min": 0}],
               "demand": {"P": {"forecast": [0, 10, 10]}, "S-SPARE": {"forecast": [0, 1, 1]}}}
    rc, out, err = solve(capsys, tmp_path, advised)
    assert rc == 0, err
    assert out["solver"]["status"] == "optimal"


def test_safety_stock_on_an_item_without_a_buffer_is_rejected(capsys: pytest.CaptureFixture[str],
                                                             tmp_path: Path) -> None:
    items = [SAFETY["items"][0], {"code": "S", "kind": "part", "safety_stock": 10}]
    rc, _, err = solve(capsys, tmp_path, {**SAFETY, "items": items})
    assert rc == 2 and "key 'items[2].safety_stock': S which has no buffer" in err and "mark it stocked" in err


def test_the_safety_stock_shortfall_is_in_the_reported_costs(capsys: pytest.CaptureFixture[str],
                                                             tmp_path: Path) -> None:
    rc, out, err = solve(capsys, tmp_path, SAFETY)
    assert rc == 0, err
    assert out["safety_shortfall"] == {"S": [10, 0, 0]}
    assert out["costs"]["total"] == 1020 == out["solver"]["lower_bound"]  # was 20 against a bound of 1020


# random cases on which the previous release failed with a balance cost: HiGHS's QP "Solve error"
# or QP cycling until the time limit (exit 1); each must now agree with the reference model
REGRESSIONS: list[dict[str, Any]] = [
    {'periods': 3, 'items': [{'code': 'M1', 'kind': 'material', 'lead_time': 1, 'on_hand': 5}, {'code': 'M2', 'kind': 'material', 'lead_time': 1, 'on_hand': 5}, {'code': 'C1', 'kind': 'assembly', 'lead_time': 1, 'stocked': True, 'safety_stock': 0}, {'code': 'P1', 'kind': 'product', 'on_hand': 0, 'safety_stock': 0}, {'code': 'P2', 'kind': 'product', 'on_hand': 0, 'safety_stock': 0}], 'bom': [{'parent': 'C1', 'child': 'M1', 'qty': 1}, {'parent': 'P1', 'child': 'M1', 'qty': 1}, {'parent': 'P2', 'child': 'M1', 'qty': 2}], 'routings': [{'item': 'C1', 'work_center': 'W1', 'sequence': 10, 'run_min': 1}, {'item': 'P1', 'work_center': 'W1', 'sequence': 10, 'run_min': 1}, {'item': 'P2', 'work_center': 'W1', 'sequence': 10, 'run_min': 0.5}, {'item': 'P2', 'work_center': 'W1', 'sequence': 20, 'run_min': 2}], 'work_centers': [{'code': 'W1', 'regular_min': [20, 40, 20], 'overtime_min': 10}], 'demand': {'P1': {'forecast': [1, 1, 2], 'offset_rule': 'forecast_only'}, 'P2': {'forecast': [1, 3, 6], 'offset_rule': 'forecast_only'}}, 'costs': {'late': 0, 'inventory': 0, 'overtime': 0, 'balance': 1}, 'item_costs': {}, 'work_center_costs': {}, 'balance_on': 'both', 'allow_backlog_past_horizon': False},
    {'periods': 3, 'items': [{'code': 'M1', 'kind': 'material', 'lead_time': 1, 'on_hand': 5}, {'code': 'M2', 'kind': 'material', 'lead_time': 1, 'on_hand': 5}, {'code': 'C1', 'kind': 'assembly', 'lead_time': 1, 'stocked': True, 'safety_stock': 0}, {'code': 'P1', 'kind': 'product', 'on_hand': 0, 'safety_stock': 0}, {'code': 'P2', 'kind': 'product', 'on_hand': 0, 'safety_stock': 0}], 'bom': [{'parent': 'C1', 'child': 'M1', 'qty': 2}, {'parent': 'P1', 'child': 'M1', 'qty': 1}, {'parent': 'P2', 'child': 'M1', 'qty': 2}], 'routings': [{'item': 'C1', 'work_center': 'W1', 'sequence': 10, 'run_min': 1}, {'item': 'P1', 'work_center': 'W1', 'sequence': 10, 'run_min': 1}, {'item': 'P2', 'work_center': 'W1', 'sequence': 10, 'run_min': 0.5}, {'item': 'P2', 'work_center': 'W1', 'sequence': 20, 'run_min': 2}], 'work_centers': [{'code': 'W1', 'regular_min': [20, 40, 20], 'overtime_min': 10}], 'demand': {'P1': {'forecast': [1, 1, 2], 'offset_rule': 'forecast_only'}, 'P2': {'forecast': [1, 3, 6], 'offset_rule': 'forecast_only'}}, 'costs': {'late': 0, 'inventory': 0, 'overtime': 0, 'balance': 1}, 'item_costs': {}, 'work_center_costs': {}, 'balance_on': 'both', 'allow_backlog_past_horizon': False},
    {'periods': 3, 'items': [{'code': 'M1', 'kind': 'material', 'lead_time': 1, 'on_hand': 5}, {'code': 'M2', 'kind': 'material', 'lead_time': 1, 'on_hand': 5}, {'code': 'C1', 'kind': 'assembly', 'lead_time': 1, 'stocked': True, 'safety_stock': 0}, {'code': 'P1', 'kind': 'product', 'on_hand': 0, 'safety_stock': 0}, {'code': 'P2', 'kind': 'product', 'on_hand': 0, 'safety_stock': 0}], 'bom': [{'parent': 'C1', 'child': 'M1', 'qty': 2}, {'parent': 'P1', 'child': 'M1', 'qty': 1}, {'parent': 'P2', 'child': 'M1', 'qty': 2}], 'routings': [{'item': 'C1', 'work_center': 'W1', 'sequence': 10, 'run_min': 1}, {'item': 'P1', 'work_center': 'W1', 'sequence': 10, 'run_min': 0.5}, {'item': 'P2', 'work_center': 'W1', 'sequence': 10, 'run_min': 0.5}, {'item': 'P2', 'work_center': 'W1', 'sequence': 20, 'run_min': 2}], 'work_centers': [{'code': 'W1', 'regular_min': [20, 40, 20], 'overtime_min': 10}], 'demand': {'P1': {'forecast': [1, 1, 2], 'offset_rule': 'forecast_only'}, 'P2': {'forecast': [1, 3, 6], 'offset_rule': 'forecast_only'}}, 'costs': {'late': 0, 'inventory': 0, 'overtime': 0, 'balance': 1}, 'item_costs': {}, 'work_center_costs': {}, 'balance_on': 'both', 'allow_backlog_past_horizon': False},
]


@pytest.mark.parametrize("data", REGRESSIONS, ids=["case 1", "case 2", "case 3"])
def test_degenerate_balance_cases_are_solved_within_seconds(data: dict[str, Any]) -> None:
    started = time.perf_counter()
    compare(data)
    assert time.perf_counter() - started < 10
