"""Scenario files for `lpms plan solve`: parsed and checked, every problem named by its key."""
from __future__ import annotations

from typing import Any

from lpms.domain.enums import OffsetRule
from lpms.domain.errors import LpmsError
from lpms.planning.demand import OrderLine
from lpms.planning.single import Costs, SingleItemScenario


class ScenarioError(LpmsError):
    """A scenario key is missing or holds a bad value."""


SINGLE_KEYS = {"forecast", "orders", "offset_rule", "backward_window", "forward_window", "on_hand", "receipts",
               "safety_stock", "regular_capacity", "overtime_capacity", "costs", "allow_backlog_past_horizon"}
COST_KEYS = ("late", "balance", "inventory", "overtime")


def _number(value: Any, key: str, *, whole: bool = False) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ScenarioError(f"key '{key}': {value!r} is not a number")
    if value != value or value in (float("inf"), float("-inf")):
        raise ScenarioError(f"key '{key}': {value!r} is not a finite number")
    if value < 0:
        raise ScenarioError(f"key '{key}': {value} is negative")
    if whole and not float(value).is_integer():
        raise ScenarioError(f"key '{key}': {value} is not a whole number")
    return float(value)


def _series(data: dict[str, Any], key: str, n: int | None) -> tuple[float, ...]:
    value = data[key]
    if not isinstance(value, list):
        raise ScenarioError(f"key '{key}': must be a list of numbers")
    out = tuple(_number(v, f"{key}[{i + 1}]") for i, v in enumerate(value))
    if n is not None and len(out) != n:
        raise ScenarioError(f"key '{key}': has {len(out)} values, 'forecast' has {n}")
    return out


def parse_single(data: Any) -> SingleItemScenario:
    """Check a single-item scenario (a dict from JSON) and build it. Raises ScenarioError."""
    if not isinstance(data, dict):
        raise ScenarioError("the scenario must be a JSON object")
    unknown = sorted(set(data) - SINGLE_KEYS)
    if unknown:
        raise ScenarioError(f"key '{unknown[0]}': unknown key (known keys: {', '.join(sorted(SINGLE_KEYS))})")
    for key in ("forecast", "regular_capacity", "overtime_capacity"):
        if key not in data:
            raise ScenarioError(f"key '{key}': missing (required)")
    forecast = _series(data, "forecast", None)
    n = len(forecast)
    if n == 0:
        raise ScenarioError("key 'forecast': needs at least one period")
    regular = _series(data, "regular_capacity", n)
    overtime = _series(data, "overtime_capacity", n)
    orders = []
    raw_orders = data.get("orders", [])
    if not isinstance(raw_orders, list):
        raise ScenarioError("key 'orders': must be a list of {\"period\": P, \"quantity\": Q}")
    for i, o in enumerate(raw_orders):
        where = f"orders[{i + 1}]"
        if not isinstance(o, dict) or set(o) - {"period", "quantity"} or "period" not in o or "quantity" not in o:
            raise ScenarioError(f"key '{where}': must be {{\"period\": P, \"quantity\": Q}}")
        period = _number(o["period"], f"{where}.period", whole=True)
        if not 1 <= period <= n:
            raise ScenarioError(f"key '{where}.period': {int(period)} is out of range 1..{n}")
        orders.append(OrderLine(int(period) - 1, _number(o["quantity"], f"{where}.quantity")))
    rule_text = data.get("offset_rule", "backward")
    try:
        rule = OffsetRule(rule_text)
    except ValueError:
        raise ScenarioError(f"key 'offset_rule': {rule_text!r} is not one of {', '.join(r.value for r in OffsetRule)}") from None
    windows = {}
    for key in ("backward_window", "forward_window"):
        value = data.get(key)
        windows[key] = None if value is None else int(_number(value, key, whole=True))
    safety: float | tuple[float, ...] = 0.0
    if isinstance(data.get("safety_stock"), list):
        safety = _series(data, "safety_stock", n)
    elif "safety_stock" in data:
        safety = _number(data["safety_stock"], "safety_stock")
    receipts = _series(data, "receipts", n) if "receipts" in data else None
    raw_costs = data.get("costs", {"late": 100, "inventory": 1})
    if not isinstance(raw_costs, dict):
        raise ScenarioError("key 'costs': must be an object with late, balance, inventory, overtime")
    bad = sorted(set(raw_costs) - set(COST_KEYS))
    if bad:
        raise ScenarioError(f"key 'costs.{bad[0]}': unknown cost (known: {', '.join(COST_KEYS)})")
    costs = Costs(**{k: _number(raw_costs.get(k, 0), f"costs.{k}") for k in COST_KEYS})
    past = data.get("allow_backlog_past_horizon", False)
    if not isinstance(past, bool):
        raise ScenarioError("key 'allow_backlog_past_horizon': must be true or false")
    return SingleItemScenario(
        forecast=forecast, regular_capacity=regular, overtime_capacity=overtime, orders=tuple(orders),
        offset_rule=rule, backward_window=windows["backward_window"], forward_window=windows["forward_window"],
        on_hand=_number(data.get("on_hand", 0), "on_hand"), receipts=receipts, safety_stock=safety,
        costs=costs, allow_backlog_past_horizon=past,
    )
