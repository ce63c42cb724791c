"""Scenario files for `lpms plan solve`: parsed and checked, every problem named by its key."""
from __future__ import annotations

from typing import Any

from lpms.domain.enums import ItemKind, OffsetRule
from lpms.domain.errors import InvalidInput
from lpms.domain.limits import MAX_PERIOD, MAX_QUANTITY, MIN_NONZERO
from lpms.domain.values import Costs
from lpms.planning.demand import OrderLine, derive_demand
from lpms.planning.network import BomEdge, ItemSpec, NetworkSnapshot, OperationSpec, build_graph, divide
from lpms.planning.network_plan import BALANCE_ON, NetworkPlanInput, no_buffer, spare_part_advice
from lpms.planning.single import SingleItemScenario


class ScenarioError(InvalidInput):
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
    if value > MAX_QUANTITY:
        raise ScenarioError(f"key '{key}': {value:g} is larger than {MAX_QUANTITY:g}, the largest value LPMS plans with")
    if 0 < value < MIN_NONZERO:
        raise ScenarioError(f"key '{key}': {value:g} is smaller than {MIN_NONZERO:g}, the smallest non-zero value "
                            f"LPMS plans with")
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


def parse_orders(raw_orders: Any, prefix: str, n: int) -> list[OrderLine]:
    """Customer orders ``[{"period": P, "quantity": Q}]``; keys named with ``prefix`` (e.g. ``demand.P.``)."""
    if not isinstance(raw_orders, list):
        raise ScenarioError(f"key '{prefix}orders': must be a list of {{\"period\": P, \"quantity\": Q}}")
    orders = []
    for i, o in enumerate(raw_orders):
        where = f"{prefix}orders[{i + 1}]"
        if not isinstance(o, dict) or set(o) - {"period", "quantity"} or "period" not in o or "quantity" not in o:
            raise ScenarioError(f"key '{where}': must be {{\"period\": P, \"quantity\": Q}}")
        period = _number(o["period"], f"{where}.period", whole=True)
        if not 1 <= period <= n:
            raise ScenarioError(f"key '{where}.period': {int(period)} is out of range 1..{n}")
        orders.append(OrderLine(int(period) - 1, _number(o["quantity"], f"{where}.quantity")))
    return orders


def parse_offset_rule(value: Any, where: str) -> OffsetRule:
    try:
        return OffsetRule(value)
    except ValueError:
        raise ScenarioError(f"key '{where}': {value!r} is not one of {', '.join(r.value for r in OffsetRule)}") from None


def parse_window(value: Any, where: str) -> int | None:
    return None if value is None else int(_number(value, where, whole=True))


def parse_costs(raw_costs: Any) -> Costs:
    """The global costs ``{"late", "balance", "inventory", "overtime"}``; a cost not given is 0."""
    if not isinstance(raw_costs, dict):
        raise ScenarioError("key 'costs': must be an object with late, balance, inventory, overtime")
    bad = sorted(set(raw_costs) - set(COST_KEYS))
    if bad:
        raise ScenarioError(f"key 'costs.{bad[0]}': unknown cost (known: {', '.join(COST_KEYS)})")
    return Costs(**{k: _number(raw_costs.get(k, 0), f"costs.{k}") for k in COST_KEYS})


def _flag(data: dict[str, Any], key: str, where: str | None = None) -> bool:
    value = data.get(key, False)
    if not isinstance(value, bool):
        raise ScenarioError(f"key '{where or key}': must be true or false")
    return value


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
    if n > MAX_PERIOD:
        raise ScenarioError(f"key 'forecast': {n} periods, more than {MAX_PERIOD}")
    regular = _series(data, "regular_capacity", n)
    overtime = _series(data, "overtime_capacity", n)
    orders = parse_orders(data.get("orders", []), "", n)
    rule = parse_offset_rule(data.get("offset_rule", "backward"), "offset_rule")
    windows = {key: parse_window(data.get(key), key) for key in ("backward_window", "forward_window")}
    safety: float | tuple[float, ...] = 0.0
    if isinstance(data.get("safety_stock"), list):
        safety = _series(data, "safety_stock", n)
    elif "safety_stock" in data:
        safety = _number(data["safety_stock"], "safety_stock")
    receipts = _series(data, "receipts", n) if "receipts" in data else None
    costs = parse_costs(data.get("costs", {"late": 100, "inventory": 1}))
    past = _flag(data, "allow_backlog_past_horizon")
    return SingleItemScenario(
        forecast=forecast, regular_capacity=regular, overtime_capacity=overtime, orders=tuple(orders),
        offset_rule=rule, backward_window=windows["backward_window"], forward_window=windows["forward_window"],
        on_hand=_number(data.get("on_hand", 0), "on_hand"), receipts=receipts, safety_stock=safety,
        costs=costs, allow_backlog_past_horizon=past,
    )


NETWORK_KEYS = {"periods", "items", "bom", "routings", "work_centers", "demand", "receipts", "costs", "item_costs",
                "work_center_costs", "balance_on", "allow_backlog_past_horizon"}


def _list(data: dict[str, Any], key: str) -> list[Any]:
    value = data.get(key, [])
    if not isinstance(value, list):
        raise ScenarioError(f"key '{key}': must be a list")
    return value


def _obj(value: Any, where: str, required: tuple[str, ...], optional: tuple[str, ...] = ()) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise ScenarioError(f"key '{where}': must be an object")
    for key in required:
        if key not in value:
            raise ScenarioError(f"key '{where}.{key}': missing (required)")
    extra = sorted(set(value) - set(required) - set(optional))
    if extra:
        raise ScenarioError(f"key '{where}.{extra[0]}': unknown key")
    return value


def _per_period(value: Any, where: str, n: int) -> tuple[float, ...]:
    if isinstance(value, list):
        if len(value) != n:
            raise ScenarioError(f"key '{where}': has {len(value)} values, 'periods' is {n}")
        return tuple(_number(v, f"{where}[{i + 1}]") for i, v in enumerate(value))
    return (_number(value, where),) * n


def parse_network(data: Any) -> tuple[NetworkPlanInput, dict[str, tuple[float, ...]], dict[str, tuple[float, ...]]]:
    """Check a multi-item scenario (see docs/scenario-format.md) and build the plan input.

    Returns (plan input, gross demand, net demand). Raises ScenarioError naming the key."""
    if not isinstance(data, dict):
        raise ScenarioError("the scenario must be a JSON object")
    unknown = sorted(set(data) - NETWORK_KEYS)
    if unknown:
        raise ScenarioError(f"key '{unknown[0]}': unknown key (known keys: {', '.join(sorted(NETWORK_KEYS))})")
    if "periods" not in data:
        raise ScenarioError("key 'periods': missing (required)")
    n = int(_number(data["periods"], "periods", whole=True))
    if n < 1:
        raise ScenarioError("key 'periods': needs at least one period")
    if n > MAX_PERIOD:
        raise ScenarioError(f"key 'periods': {n} periods, more than {MAX_PERIOD}")
    items, on_hand, safety = [], {}, {}
    for i, raw in enumerate(_list(data, "items")):
        where = f"items[{i + 1}]"
        it = _obj(raw, where, ("code", "kind"), ("lead_time", "stocked", "on_hand", "safety_stock"))
        try:
            kind = ItemKind(it["kind"])
        except ValueError:
            raise ScenarioError(f"key '{where}.kind': {it['kind']!r} is not one of {', '.join(k.value for k in ItemKind)}") from None
        code = _code(it["code"], f"{where}.code")
        items.append(ItemSpec(code, kind, int(_number(it.get("lead_time", 0), f"{where}.lead_time", whole=True)),
                              _flag(it, "stocked", f"{where}.stocked")))
        on_hand[code] = _number(it.get("on_hand", 0), f"{where}.on_hand")
        safety[code] = _number(it.get("safety_stock", 0), f"{where}.safety_stock")
    if not items:
        raise ScenarioError("key 'items': needs at least one item")
    bom = []
    for i, raw in enumerate(_list(data, "bom")):
        where = f"bom[{i + 1}]"
        b = _obj(raw, where, ("parent", "child", "qty"))
        bom.append(BomEdge(_code(b["parent"], f"{where}.parent"), _code(b["child"], f"{where}.child"),
                           _number(b["qty"], f"{where}.qty")))
    ops = []
    for i, raw in enumerate(_list(data, "routings")):
        where = f"routings[{i + 1}]"
        o = _obj(raw, where, ("item", "work_center", "run_min"), ("sequence", "setup_min"))
        ops.append(OperationSpec(_code(o["item"], f"{where}.item"),
                                 int(_number(o.get("sequence", 10 * (i + 1)), f"{where}.sequence", whole=True)),
                                 _code(o["work_center"], f"{where}.work_center"), _number(o["run_min"], f"{where}.run_min"),
                                 _number(o.get("setup_min", 0), f"{where}.setup_min")))
    wcs, regular, overtime = [], {}, {}
    for i, raw in enumerate(_list(data, "work_centers")):
        w = _obj(raw, f"work_centers[{i + 1}]", ("code", "regular_min"), ("overtime_min",))
        code = _code(w["code"], f"work_centers[{i + 1}].code")
        wcs.append(code)
        regular[code] = _per_period(w["regular_min"], f"work_centers[{i + 1}].regular_min", n)
        overtime[code] = _per_period(w.get("overtime_min", 0), f"work_centers[{i + 1}].overtime_min", n)
    codes = {spec.code for spec in items}
    snapshot = NetworkSnapshot(tuple(items), tuple(bom), tuple(ops), tuple(wcs))
    division = divide(build_graph(snapshot))  # the network itself first: BOM cycles, unknown items, routings
    for i, spec in enumerate(items):
        if safety[spec.code] > 0 and spec.code not in division.decoupling:
            raise ScenarioError(f"key 'items[{i + 1}].safety_stock': {spec.code} {no_buffer(division, spec.code)}")
    parents_of: dict[str, list[str]] = {}
    for e in bom:
        parents_of.setdefault(e.child, []).append(e.parent)
    demand_raw = data.get("demand", {})
    if not isinstance(demand_raw, dict) or not demand_raw:
        raise ScenarioError("key 'demand': must be an object item -> {forecast, orders, offset_rule}")
    gross, net = {}, {}
    for code, raw in demand_raw.items():
        where = f"demand.{code}"
        if code not in codes:
            raise ScenarioError(f"key '{where}': unknown item {code!r}")
        if code in parents_of:
            parents = ", ".join(sorted(set(parents_of[code])))
            raise ScenarioError(f"key '{where}': {code} is a component of {parents}; {spare_part_advice(code)}")
        d = _obj(raw, where, (), ("forecast", "orders", "offset_rule", "backward_window", "forward_window"))
        forecast = _per_period(d.get("forecast", 0), f"{where}.forecast", n)
        orders = parse_orders(d.get("orders", []), f"{where}.", n)
        rule = parse_offset_rule(d.get("offset_rule", "backward"), f"{where}.offset_rule")
        back = parse_window(d.get("backward_window"), f"{where}.backward_window")
        fwd = parse_window(d.get("forward_window"), f"{where}.forward_window")
        gd, nd = derive_demand(forecast, orders, rule, backward_window=back, forward_window=fwd,
                               on_hand=on_hand.get(code, 0.0), safety_stock=safety.get(code, 0.0))
        gross[code], net[code] = tuple(gd), tuple(nd)
    receipts = {}
    raw_receipts = data.get("receipts", {})
    if not isinstance(raw_receipts, dict):
        raise ScenarioError("key 'receipts': must be an object item -> per-period quantities")
    for code, raw in raw_receipts.items():
        if code not in codes:
            raise ScenarioError(f"key 'receipts.{code}': unknown item {code!r}")
        receipts[code] = _per_period(raw, f"receipts.{code}", n)
    base = parse_costs(data.get("costs", {"late": 100, "inventory": 1}))
    overrides: dict[str, dict[str, dict[str, float]]] = {}
    for key, allowed, known in (("item_costs", ("late", "inventory"), codes),
                                ("work_center_costs", ("overtime", "balance"), set(wcs))):
        table = data.get(key, {})
        if not isinstance(table, dict):
            raise ScenarioError(f"key '{key}': must be an object")
        overrides[key] = {}
        for code, values in table.items():
            if code not in known:
                raise ScenarioError(f"key '{key}.{code}': unknown {'item' if key == 'item_costs' else 'work center'}")
            v = _obj(values, f"{key}.{code}", (), allowed)
            overrides[key][code] = {k: _number(x, f"{key}.{code}.{k}") for k, x in v.items()}
    balance_on = data.get("balance_on", "work_centers")
    if balance_on not in BALANCE_ON:
        raise ScenarioError(f"key 'balance_on': {balance_on!r} is not one of {', '.join(BALANCE_ON)}")
    past = _flag(data, "allow_backlog_past_horizon")
    inp = NetworkPlanInput(snapshot=snapshot, periods=n, demand=net, regular_min=regular, overtime_min=overtime,
                           on_hand={k: v for k, v in on_hand.items() if k not in net and v},
                           receipts=receipts, safety_stock={k: v for k, v in safety.items() if k not in net and v},
                           costs=base, item_costs=overrides["item_costs"], work_center_costs=overrides["work_center_costs"],
                           balance_on=balance_on, allow_backlog_past_horizon=past)
    return inp, gross, net


def _code(value: Any, where: str) -> str:
    if isinstance(value, bool) or not isinstance(value, (str, int)) or str(value) == "":
        raise ScenarioError(f"key '{where}': must be a code (text)")
    return str(value)
