"""The planning snapshot: typed rows read from the database, turned into a plan input.

The database layer loads ``PlanningRows`` (plain values, no ORM objects, ids replaced by
codes); ``build_plan_input`` derives each end product's demand (the one composition of
averaging, offset rule and netting: ``lpms.planning.demand.derive_demand``) and builds the
``NetworkPlanInput``. Records that fall outside the planning horizon are reported in
``messages``, never dropped silently.
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field

from lpms.domain.enums import ItemKind, OffsetRule
from lpms.domain.errors import InvalidInput
from lpms.domain.values import Costs
from lpms.planning.demand import ForecastBucket, OrderLine, average_forecasts, derive_demand
from lpms.planning.network import BomEdge, ItemSpec, NetworkSnapshot, OperationSpec
from lpms.planning.network_plan import NetworkPlanInput


@dataclass(frozen=True)
class ItemRow:
    code: str
    kind: ItemKind
    lead_time_periods: int = 0
    stocked: bool = False
    safety_stock: float = 0.0
    offset_rule: OffsetRule = OffsetRule.BACKWARD
    backward_window: int | None = None
    forward_window: int | None = None


@dataclass(frozen=True)
class PeriodRow:
    seq: int  # 1-based
    start_date: dt.date
    end_date: dt.date


@dataclass(frozen=True)
class CapacityRow:
    work_center: str
    period_seq: int
    regular_min: float
    overtime_min: float


@dataclass(frozen=True)
class ForecastRow:
    item: str
    start_date: dt.date
    end_date: dt.date
    quantity: float


@dataclass(frozen=True)
class OrderRow:
    """An open or confirmed customer order, in planning order (due date, priority, number)."""

    number: str
    item: str
    due_date: dt.date
    quantity: float


@dataclass(frozen=True)
class ReceiptRow:
    item: str
    due_date: dt.date
    quantity: float


@dataclass(frozen=True)
class PlanningRows:
    """Everything a plan needs, as read in one transaction."""

    periods: tuple[PeriodRow, ...]
    items: tuple[ItemRow, ...]
    work_centers: tuple[str, ...]
    bom: tuple[BomEdge, ...] = ()
    operations: tuple[OperationSpec, ...] = ()
    capacities: tuple[CapacityRow, ...] = ()
    forecasts: tuple[ForecastRow, ...] = ()
    orders: tuple[OrderRow, ...] = ()
    on_hand: tuple[tuple[str, float], ...] = ()
    receipts: tuple[ReceiptRow, ...] = ()


@dataclass(frozen=True)
class PlanningSnapshot:
    """The plan input plus what was derived on the way (demand per product, messages)."""

    plan_input: NetworkPlanInput
    gross: dict[str, tuple[float, ...]]
    net: dict[str, tuple[float, ...]]
    period_starts: tuple[dt.date, ...]
    messages: tuple[str, ...] = field(default=())


def network_snapshot(rows: PlanningRows) -> NetworkSnapshot:
    """Items, BOM and routings as the network model takes them."""
    return NetworkSnapshot(
        items=tuple(ItemSpec(i.code, i.kind, i.lead_time_periods, i.stocked) for i in rows.items),
        bom=tuple(rows.bom), operations=tuple(rows.operations), work_centers=tuple(rows.work_centers),
    )


def period_of(periods: Sequence[PeriodRow], day: dt.date) -> int | None:
    """0-based index of the period containing ``day``; None outside the calendar."""
    for k, p in enumerate(periods):
        if p.start_date <= day <= p.end_date:
            return k
    return None


def _place(periods: Sequence[PeriodRow], day: dt.date, what: str, messages: list[str]) -> int | None:
    """The period a dated record counts in: overdue ones count in period 1, later ones not at all."""
    k = period_of(periods, day)
    if k is not None:
        return k
    if day < periods[0].start_date:
        messages.append(f"{what} is due {day}, before the horizon starts ({periods[0].start_date}): "
                        f"planned as due in period 1")
        return 0
    messages.append(f"{what} is due {day}, after the horizon ends ({periods[-1].end_date}): not planned")
    return None


def build_plan_input(rows: PlanningRows, costs: Costs, *, balance_on: str = "work_centers",
                     allow_backlog_past_horizon: bool = False) -> PlanningSnapshot:
    """Derive demand and build the network plan input. Raises InvalidInput when nothing can be planned."""
    if not rows.periods:
        raise InvalidInput("the planning calendar is empty: import calendar.csv first")
    periods = sorted(rows.periods, key=lambda p: p.seq)
    n = len(periods)
    starts = [p.start_date for p in periods]
    seq_index = {p.seq: k for k, p in enumerate(periods)}
    messages: list[str] = []

    regular = {w: [0.0] * n for w in rows.work_centers}
    overtime = {w: [0.0] * n for w in rows.work_centers}
    for c in rows.capacities:
        k = seq_index.get(c.period_seq)
        if k is not None and c.work_center in regular:
            regular[c.work_center][k] = c.regular_min
            overtime[c.work_center][k] = c.overtime_min

    forecasts: dict[str, list[ForecastBucket]] = {}
    for f in rows.forecasts:
        forecasts.setdefault(f.item, []).append(ForecastBucket(f.start_date, f.end_date, f.quantity))
    orders: dict[str, list[OrderLine]] = {}
    for o in rows.orders:
        k = _place(periods, o.due_date, f"order {o.number} ({o.item}, {o.quantity:g})", messages)
        if k is not None:
            orders.setdefault(o.item, []).append(OrderLine(k, o.quantity))
    receipts: dict[str, list[float]] = {}
    for r in rows.receipts:
        k = _place(periods, r.due_date, f"scheduled receipt of {r.quantity:g} {r.item}", messages)
        if k is not None:
            receipts.setdefault(r.item, [0.0] * n)[k] += r.quantity
    on_hand = dict(rows.on_hand)

    products = [i for i in rows.items if i.kind is ItemKind.PRODUCT]
    if not products:
        raise InvalidInput("no end product (kind 'product') to plan")
    gross: dict[str, tuple[float, ...]] = {}
    net: dict[str, tuple[float, ...]] = {}
    for item in products:
        per_period, outside = average_forecasts(starts, forecasts.get(item.code, []))
        for bucket in outside:
            messages.append(f"forecast of {bucket.quantity:g} {item.code} for {bucket.start}..{bucket.end} "
                            f"covers no planning period: not planned")
        gd, nd = derive_demand(per_period, orders.get(item.code, []), item.offset_rule,
                               backward_window=item.backward_window, forward_window=item.forward_window,
                               on_hand=on_hand.get(item.code, 0.0), receipts=receipts.get(item.code),
                               safety_stock=item.safety_stock)
        gross[item.code], net[item.code] = tuple(gd), tuple(nd)
    product_codes = set(gross)
    for f_item in sorted(set(forecasts) - product_codes):
        messages.append(f"forecast for {f_item}, which is not an end product: not planned")
    for o in rows.orders:
        if o.item not in product_codes:
            messages.append(f"order {o.number} is for {o.item}, which is not an end product: not planned")

    plan_input = NetworkPlanInput(
        snapshot=network_snapshot(rows), periods=n, demand=net,
        regular_min={k: tuple(v) for k, v in regular.items()},
        overtime_min={k: tuple(v) for k, v in overtime.items()},
        on_hand={k: v for k, v in on_hand.items() if k not in product_codes},
        receipts={k: tuple(v) for k, v in receipts.items() if k not in product_codes},
        safety_stock={i.code: i.safety_stock for i in rows.items if i.safety_stock > 0 and i.code not in product_codes},
        costs=costs, balance_on=balance_on, allow_backlog_past_horizon=allow_backlog_past_horizon,
    )
    return PlanningSnapshot(plan_input, gross, net, tuple(starts), tuple(messages))
