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
from lpms.planning.network_plan import NetworkPlanInput, ReplanTerms


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
    shipped: float = 0.0  # shipped against it so far (those units have left on-hand)


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
class WorkOrderRow:
    """A released work order that is still open (released or in progress), as a re-plan counts it.

    Quantities are units of the head item. ``good`` is the last operation's good output (already
    in the head's buffer, so in on-hand), ``scrap`` the units scrapped at any operation (a loss:
    the work order will not deliver them, the re-plan makes them up), ``first_good`` and
    ``first_scrap`` the first operation's, whose units have drawn their kit (issued)."""

    number: str
    interval: str
    head: str
    start_period: int  # seq
    due_period: int  # seq
    quantity: float
    good: float = 0.0
    scrap: float = 0.0
    first_good: float = 0.0
    first_scrap: float = 0.0

    @property
    def remaining(self) -> float:
        """Units the work order still delivers into the head's buffer."""
        return max(0.0, self.quantity - self.good - self.scrap)

    @property
    def in_process(self) -> float:
        """Units started (kit issued) and neither finished nor scrapped: they arrive without new load or kit."""
        wip = self.first_good - self.good - (self.scrap - self.first_scrap)
        return min(self.remaining, max(0.0, wip))

    @property
    def to_start(self) -> float:
        """Units still to start: they load the work centers and draw their kit."""
        return max(0.0, self.remaining - self.in_process)


@dataclass(frozen=True)
class ReplanRows:
    """What a re-plan adds to the rows: where the horizon starts, the frozen (released) periods,
    the open work orders, the previous approved plan, the downtime reported."""

    first_period: int  # seq of the first planned period (the current one); earlier ones are history
    frozen_periods: tuple[int, ...] = ()  # released period seqs
    work_orders: tuple[WorkOrderRow, ...] = ()
    previous: dict[str, dict[int, float]] | None = None  # interval -> {period seq: production}
    previous_last_period: int = 0  # the last period the previous plan covers
    downtime: tuple[tuple[str, int, float], ...] = ()  # (work center, period seq, minutes lost)
    nervousness_cost: float = 0.0
    yields: dict[str, float] = field(default_factory=dict)  # interval -> planned yield (planned_yields)


@dataclass(frozen=True)
class FinishedWorkOrder:
    """A completed or short-closed work order as the planned yield learns from it: per operation
    (in sequence) the good and scrapped units reported."""

    interval: str
    start_period: int
    operations: tuple[tuple[float, float], ...]  # (good, scrap) per operation

    @property
    def started(self) -> float:
        return sum(self.operations[0]) if self.operations else 0.0

    @property
    def yield_(self) -> float:
        """The share of started units that came out good: the product of the operations' yields."""
        y = 1.0
        for good, scrap in self.operations:
            if good + scrap > 0:
                y *= good / (good + scrap)
        return y


MIN_YIELD = 0.5  # a planned yield is never below this (an outlier must not double the releases)


def planned_yields(finished: Sequence[FinishedWorkOrder], *, first_period: int, window: int,
                   z: float) -> dict[str, float]:
    """The planned yield per interval: the share of the units a work order starts that arrive
    good, learned from the work orders finished recently (started in the ``window`` periods
    before ``first_period``). It is the started-units-weighted mean yield less ``z`` times the
    work orders' yields' standard deviation about that mean (weighted by units started, with the
    n / (n - 1) sample correction) (a scrap allowance that also
    covers a worse than average week, so that the kit of the next step is complete), within
    [MIN_YIELD, 1]. Intervals without a finished work
    order in the window have none (yield 1)."""
    by_interval: dict[str, list[FinishedWorkOrder]] = {}
    for wo in finished:
        if first_period - window <= wo.start_period < first_period and wo.started > 0:
            by_interval.setdefault(wo.interval, []).append(wo)
    out: dict[str, float] = {}
    for code, wos in sorted(by_interval.items()):
        ys = [w.yield_ for w in wos]
        weights = [w.started for w in wos]
        mean = sum(y * k for y, k in zip(ys, weights)) / sum(weights)
        # weighted by units started: a work order of 3 pieces with one scrapped is one unit of evidence
        n = len(ys)
        sd = (sum(k * (y - mean) ** 2 for y, k in zip(ys, weights)) / sum(weights) * n / (n - 1)) ** 0.5 \
            if n >= 2 else 0.0
        y = min(1.0, max(MIN_YIELD, mean - z * sd))
        if y < 1.0:
            out[code] = round(y, 6)
    return out


@dataclass(frozen=True)
class PlanningSnapshot:
    """The plan input plus what was derived on the way (demand per product, messages)."""

    plan_input: NetworkPlanInput
    gross: dict[str, tuple[float, ...]]
    net: dict[str, tuple[float, ...]]
    period_starts: tuple[dt.date, ...]
    messages: tuple[str, ...] = field(default=())
    first_period: int = 1  # seq of the plan's first period (plan index t is period first_period + t)


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
                        f"planned as due in period {periods[0].seq}")
        return 0
    messages.append(f"{what} is due {day}, after the horizon ends ({periods[-1].end_date}): not planned")
    return None


def build_plan_input(rows: PlanningRows, costs: Costs, *, balance_on: str = "work_centers",
                     allow_backlog_past_horizon: bool = False, replan: ReplanRows | None = None,
                     min_interval_lead: int = 0) -> PlanningSnapshot:
    """Derive demand and build the network plan input. Raises InvalidInput when nothing can be planned.

    With ``replan`` the horizon starts at ``replan.first_period`` (earlier periods are history:
    forecasts are spread over the whole calendar and only the planned periods' shares kept;
    orders and receipts due earlier count in the first planned period), downtime is taken off
    the capacity, and the plan input carries the re-plan terms (docs/replan.md)."""
    if not rows.periods:
        raise InvalidInput("the planning calendar is empty: import calendar.csv first")
    calendar = sorted(rows.periods, key=lambda p: p.seq)
    k0 = 0
    if replan is not None:
        found = [k for k, p in enumerate(calendar) if p.seq == replan.first_period]
        if not found:
            raise InvalidInput(f"period {replan.first_period} is not in the planning calendar")
        k0 = found[0]
    periods = calendar[k0:]
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
    for wc, seq, minutes in (replan.downtime if replan is not None else ()):
        k = seq_index.get(seq)
        if k is not None and wc in regular and minutes > 0:
            # lost minutes come off regular time first, then overtime
            off = min(minutes, regular[wc][k])
            regular[wc][k] -= off
            overtime[wc][k] = max(0.0, overtime[wc][k] - (minutes - off))

    forecasts: dict[str, list[ForecastBucket]] = {}
    for f in rows.forecasts:
        forecasts.setdefault(f.item, []).append(ForecastBucket(f.start_date, f.end_date, f.quantity))
    orders: dict[str, list[OrderLine]] = {}
    shipped: dict[str, float] = {}
    for o in rows.orders:
        k = _place(periods, o.due_date, f"order {o.number} ({o.item}, {o.quantity:g})", messages)
        if k is not None:
            orders.setdefault(o.item, []).append(OrderLine(k, o.quantity))
            shipped[o.item] = shipped.get(o.item, 0.0) + o.shipped
    receipts: dict[str, list[float]] = {}
    for r in rows.receipts:
        k = _place(periods, r.due_date, f"scheduled receipt of {r.quantity:g} {r.item}", messages)
        if k is not None:
            receipts.setdefault(r.item, [0.0] * n)[k] += r.quantity
    on_hand = dict(rows.on_hand)
    # A partly shipped order keeps its whole quantity (it consumes its period's forecast as a
    # whole), and the units shipped against it, which have left on-hand, are netted as if still
    # there: the order's demand is counted once, what is left to ship (they are due now or
    # overdue, so they are the first demand the on-hand covers).
    for code, q in shipped.items():
        if q > 0:
            on_hand[code] = on_hand.get(code, 0.0) + q

    products = [i for i in rows.items if i.kind is ItemKind.PRODUCT]
    if not products:
        raise InvalidInput("no end product (kind 'product') to plan")
    gross: dict[str, tuple[float, ...]] = {}
    net: dict[str, tuple[float, ...]] = {}
    for item in products:
        per_calendar, outside = average_forecasts([p.start_date for p in calendar], forecasts.get(item.code, []))
        per_period = per_calendar[k0:]  # the planned periods' shares; history keeps its own
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

    # every plan, first run or re-plan, holds stock at its material content (material_content):
    # one objective for both, so that a re-plan when nothing changed finds the approved plan
    # still optimal and moves nothing (a re-plan adds only the planned yields)
    item_costs: dict[str, dict[str, float]] = {}
    if costs.inventory > 0:
        yields = dict(replan.yields) if replan is not None else None
        item_costs = {code: {"inventory": costs.inventory * c} for code, c in material_content(rows.bom, yields).items()
                      if c != 1.0}
    plan_input = NetworkPlanInput(
        snapshot=network_snapshot(rows), periods=n, demand=net, item_costs=item_costs,
        regular_min={k: tuple(v) for k, v in regular.items()},
        overtime_min={k: tuple(v) for k, v in overtime.items()},
        on_hand={k: v for k, v in on_hand.items() if k not in product_codes},
        receipts={k: tuple(v) for k, v in receipts.items() if k not in product_codes},
        safety_stock={i.code: i.safety_stock for i in rows.items if i.safety_stock > 0 and i.code not in product_codes},
        costs=costs, balance_on=balance_on, allow_backlog_past_horizon=allow_backlog_past_horizon,
        replan=None if replan is None else replan_terms(replan, periods, messages),
        min_interval_lead=min_interval_lead,
    )
    return PlanningSnapshot(plan_input, gross, net, tuple(starts), tuple(messages), periods[0].seq)


def material_content(bom: Sequence[BomEdge], yields: dict[str, float] | None = None) -> dict[str, float]:
    """Units of purchased material in one unit of each item (rolled up the BOM; 1 for an item
    without components). A re-plan holds stock at this many times the inventory cost per unit,
    so that holding an assembly costs what holding its components costs: otherwise the plan
    would assemble early only to count fewer units in stock (12 LED chips and a PCB held as one
    strip), pulling production forward whenever material arrives early. With ``yields``
    (interval ``I:<head>`` -> planned yield) a head holds its components' content divided by its
    yield: value is kept through a step, so that scrapping units early never saves holding cost."""
    children: dict[str, list[tuple[str, float]]] = {}
    for e in bom:
        children.setdefault(e.parent, []).append((e.child, e.qty))
    memo: dict[str, float] = {}

    def content(code: str, depth: int = 0) -> float:
        if code not in memo:
            if depth > len(bom) + 1:  # a cycle (the network check rejects it): count the item itself
                return 1.0
            kids = children.get(code, [])
            y = (yields or {}).get(f"I:{code}", 1.0)
            memo[code] = sum(q * content(c, depth + 1) for c, q in kids) / y if kids else 1.0
        return memo[code]

    return {code: round(content(code), 9) for code in sorted({e.parent for e in bom} | {e.child for e in bom})}


def replan_terms(replan: ReplanRows, periods: Sequence[PeriodRow], messages: list[str]) -> ReplanTerms:
    """The re-plan's terms over the planned ``periods`` (indices 0..n-1).

    Each open work order's units still to start are committed production of its interval in
    its start period (fixed there when the period is frozen; work orders started before the
    horizon in the first period, as a floor); its units in process arrive in its due period
    (the first planned period when overdue). The previous plan is compared on the periods it
    covers."""
    n = len(periods)
    first = periods[0].seq
    index = {p.seq: k for k, p in enumerate(periods)}
    frozen = tuple(sorted(index[s] for s in set(replan.frozen_periods) if s in index))
    committed: dict[str, dict[int, float]] = {}
    in_process: dict[str, list[float]] = {}
    for wo in replan.work_orders:
        if wo.to_start > 0:
            t = index.get(max(wo.start_period, first))
            if t is not None:
                cells = committed.setdefault(wo.interval, {})
                cells[t] = cells.get(t, 0.0) + wo.to_start
            else:
                messages.append(f"work order {wo.number} starts after the horizon: not planned")
        if wo.in_process > 0:
            t = index.get(max(wo.due_period, first))
            if t is not None:
                in_process.setdefault(wo.head, [0.0] * n)[t] += wo.in_process
            else:
                messages.append(f"work order {wo.number}: {wo.in_process:g} units in process are due after the "
                                f"horizon: not planned")
    previous = None
    compare = 0
    if replan.previous is not None:
        previous = {code: tuple(float(cells.get(p.seq, 0.0)) for p in periods)
                    for code, cells in replan.previous.items()}
        compare = sum(1 for p in periods if p.seq <= replan.previous_last_period)
    return ReplanTerms(frozen_periods=frozen, committed=committed,
                       in_process={k: tuple(v) for k, v in in_process.items()}, previous=previous,
                       compare_periods=compare, nervousness_cost=replan.nervousness_cost,
                       yields=dict(replan.yields))
