"""Process-management measures: pure functions over a snapshot of the shop floor.

A service reads one ``MeasuresSnapshot`` (work orders with their operations, planned and
actual output, kit requirements, on-hand stock, open purchases, buffers, overtime) in one
short transaction and calls the functions here; nothing in this module touches a database.
The definitions are in docs/measures.md; in short:

* ``progress``: cumulative planned vs actual good output to date, per interval, item and
  work center (work centers in standard minutes), with ``gap = planned - actual``;
* ``on_time``: the share of decided work orders completed by their due period;
* ``wip``: units started but not yet out of their work order's last operation;
* ``buffer_levels``: on-hand against safety stock;
* ``overtime``: overtime minutes used against planned, to date;
* ``kit_rate``: the complete-assembly rate of the kitting-point work orders due to start in
  a window, with each order's coverage, short components and projected kit-complete period.

Periods are integers as the caller counts them (the calendar's sequence numbers); only their
order matters. Rates are fractions in [0, 1], never percentages, and ``None`` when nothing is
there to measure. ``to_dict`` gives each result's JSON shape; the caller supplies ``as_of``
and, where periods appear, the date of a period.
"""
from __future__ import annotations

import datetime as dt
import math
from collections import defaultdict, deque
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, fields
from types import MappingProxyType
from typing import Any

from lpms.domain.enums import WorkOrderStatus
from lpms.domain.errors import InvalidInput

OPEN_STATUSES = frozenset({WorkOrderStatus.PLANNED, WorkOrderStatus.RELEASED, WorkOrderStatus.IN_PROGRESS})
FINISHED_STATUSES = frozenset({WorkOrderStatus.COMPLETED, WorkOrderStatus.CLOSED})
TOLERANCE = 1e-9  # relative: a requirement counts as met when short by less than this share

PeriodDate = Callable[[int], dt.date | str]


def _check(value: float, what: str, *, negative: bool = False) -> None:
    if not math.isfinite(value) or (value < 0 and not negative):
        raise InvalidInput(f"{what} must be a finite{'' if negative else ', non-negative'} number, not {value!r}")


def _met(available: float, required: float) -> bool:
    return available >= required - TOLERANCE * max(1.0, abs(required))


def _r(value: float) -> float:
    return round(value, 6) + 0.0


def _iso(value: dt.date | str) -> str:
    return value if isinstance(value, str) else value.isoformat()


def _ratio(num: float, den: float) -> float | None:
    return num / den if den > 0 else None


def _tuples(obj: Any) -> None:
    """Store every sequence field of a frozen dataclass as a tuple (callers may pass lists)."""
    for f in fields(obj):
        value = getattr(obj, f.name)
        if isinstance(value, list):
            object.__setattr__(obj, f.name, tuple(value))


# --- inputs ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Operation:
    """One routing step of a work order. ``good`` and ``scrap`` are work-order units reported
    at this step so far; ``minutes_per_unit`` is the step's run time per work-order unit."""

    seq: int
    work_center: str
    minutes_per_unit: float = 0.0
    good: float = 0.0
    scrap: float = 0.0

    def __post_init__(self) -> None:
        for name in ("minutes_per_unit", "good", "scrap"):
            _check(getattr(self, name), f"operation {self.seq} {name}")


@dataclass(frozen=True)
class WorkOrder:
    """A released (or planned) work order. ``good`` and ``scrap`` are the order's totals: good
    units delivered into its buffer and units scrapped anywhere along the chain.
    ``completed_period`` is the period it was completed or short-closed (required for those
    statuses). A higher ``priority`` is served first."""

    number: str
    item: str
    interval: str
    quantity: float
    start_period: int
    due_period: int
    status: WorkOrderStatus = WorkOrderStatus.RELEASED
    good: float = 0.0
    scrap: float = 0.0
    priority: int = 0
    operations: tuple[Operation, ...] = ()
    completed_period: int | None = None

    def __post_init__(self) -> None:
        _tuples(self)
        object.__setattr__(self, "status", WorkOrderStatus(self.status))
        for name in ("quantity", "good", "scrap"):
            _check(getattr(self, name), f"work order {self.number} {name}")
        if self.due_period < self.start_period:
            raise InvalidInput(f"work order {self.number} is due in period {self.due_period}, "
                               f"before its start period {self.start_period}")
        if self.status in FINISHED_STATUSES and self.completed_period is None:
            raise InvalidInput(f"work order {self.number} is {self.status.value} but has no completed period")
        seqs = [op.seq for op in self.operations]
        if len(set(seqs)) != len(seqs):
            raise InvalidInput(f"work order {self.number} has an operation sequence number twice")
        object.__setattr__(self, "operations", tuple(sorted(self.operations, key=lambda op: op.seq)))

    @property
    def remaining(self) -> float:
        """Good units still expected: quantity less good and scrapped units, never below 0."""
        return max(0.0, self.quantity - self.good - self.scrap)


@dataclass(frozen=True)
class Output:
    """Good output of an interval (its head item) in a period: planned or actually reported."""

    interval: str
    item: str
    period: int
    quantity: float

    def __post_init__(self) -> None:
        _check(self.quantity, f"output of {self.interval} in period {self.period}")


@dataclass(frozen=True)
class IntervalLoad:
    """Run minutes an interval puts on a work center per unit of its head item."""

    interval: str
    work_center: str
    minutes_per_unit: float

    def __post_init__(self) -> None:
        _check(self.minutes_per_unit, f"minutes of {self.interval} on {self.work_center}")


@dataclass(frozen=True)
class Requirement:
    """A kitting work order's need of one component: ``quantity_per`` units per work-order
    unit, of which ``issued`` units have already been issued to the order."""

    work_order: str
    component: str
    quantity_per: float
    issued: float = 0.0

    def __post_init__(self) -> None:
        _check(self.quantity_per, f"quantity per of {self.component} in {self.work_order}")
        _check(self.issued, f"issued {self.component} to {self.work_order}")


@dataclass(frozen=True)
class Purchase:
    """An open purchase (scheduled receipt) still to arrive."""

    item: str
    due_period: int
    quantity: float

    def __post_init__(self) -> None:
        _check(self.quantity, f"open purchase of {self.item}")


@dataclass(frozen=True)
class Buffer:
    item: str
    safety_stock: float = 0.0

    def __post_init__(self) -> None:
        _check(self.safety_stock, f"safety stock of {self.item}")


@dataclass(frozen=True)
class OvertimeUse:
    """Overtime minutes of a work center in a period: planned by the approved plan, used."""

    work_center: str
    period: int
    planned_min: float
    used_min: float

    def __post_init__(self) -> None:
        _check(self.planned_min, f"planned overtime of {self.work_center} in period {self.period}")
        _check(self.used_min, f"used overtime of {self.work_center} in period {self.period}")


@dataclass(frozen=True)
class MeasuresSnapshot:
    """The shop floor as of ``as_of_period`` (the current period).

    ``elapsed`` is the share of the current period that has passed (0 at its start, 1 at its
    end): the current period's planned output and overtime count pro rata in "to date".
    ``on_hand`` may be negative where the plant allows negative stock. ``horizon_end`` is the
    last period a kit projection looks at (None: every supply given counts).
    """

    as_of_period: int
    elapsed: float
    work_orders: tuple[WorkOrder, ...] = ()
    planned: tuple[Output, ...] = ()
    actual: tuple[Output, ...] = ()
    loads: tuple[IntervalLoad, ...] = ()
    requirements: tuple[Requirement, ...] = ()
    on_hand: Mapping[str, float] = field(default_factory=dict)
    purchases: tuple[Purchase, ...] = ()
    buffers: tuple[Buffer, ...] = ()
    overtime: tuple[OvertimeUse, ...] = ()
    horizon_end: int | None = None

    def __post_init__(self) -> None:
        _tuples(self)
        if not (math.isfinite(self.elapsed) and 0.0 <= self.elapsed <= 1.0):
            raise InvalidInput(f"elapsed must be a fraction in [0, 1], not {self.elapsed!r}")
        if self.horizon_end is not None and self.horizon_end < self.as_of_period:
            raise InvalidInput(f"horizon end {self.horizon_end} is before the current period {self.as_of_period}")
        for item, qty in self.on_hand.items():
            _check(qty, f"on-hand of {item}", negative=True)
        object.__setattr__(self, "on_hand", MappingProxyType(dict(self.on_hand)))
        numbers = [wo.number for wo in self.work_orders]
        if len(set(numbers)) != len(numbers):
            twice = sorted({n for n in numbers if numbers.count(n) > 1})
            raise InvalidInput(f"work order numbers given twice: {', '.join(twice)}")
        known = set(numbers)
        unknown = sorted({r.work_order for r in self.requirements} - known)
        if unknown:
            raise InvalidInput(f"requirements name unknown work orders: {', '.join(unknown)}")
        items = [b.item for b in self.buffers]
        if len(set(items)) != len(items):
            raise InvalidInput("a buffer is given twice")


# --- progress and on-time completion ------------------------------------------------------------


@dataclass(frozen=True)
class OnTime:
    """On-time completion: ``rate = on_time / counted``; None when no work order is counted."""

    counted: int
    on_time: int
    late: tuple[str, ...]  # numbers of the counted work orders that were not on time

    @property
    def rate(self) -> float | None:
        return self.on_time / self.counted if self.counted else None

    def to_dict(self) -> dict[str, Any]:
        return {"rate": None if self.rate is None else _r(self.rate), "counted": self.counted,
                "on_time": self.on_time, "late": list(self.late)}


def on_time(s: MeasuresSnapshot) -> OnTime:
    """On-time completion rate of work orders.

    A work order is *counted* once its outcome is known: it is finished (completed or
    short-closed), or its due period has ended (``due_period < as_of_period``). Cancelled
    orders are never counted. It is *on time* when it is completed (its full quantity, not
    short-closed) in a period no later than its due period. With no counted work order the
    rate is None (nothing to measure), not 0 or 1.
    """
    counted, hits, late = 0, 0, []
    for wo in sorted(s.work_orders, key=lambda w: w.number):
        if wo.status == WorkOrderStatus.CANCELLED:
            continue
        if wo.status not in FINISHED_STATUSES and wo.due_period >= s.as_of_period:
            continue
        counted += 1
        if (wo.status == WorkOrderStatus.COMPLETED and wo.completed_period is not None
                and wo.completed_period <= wo.due_period):
            hits += 1
        else:
            late.append(wo.number)
    return OnTime(counted, hits, tuple(late))


class _Gap:
    """planned vs actual of one progress row."""

    planned: float
    actual: float

    @property
    def gap(self) -> float:
        """planned - actual: positive when behind plan, negative when ahead."""
        return self.planned - self.actual

    @property
    def gap_fraction(self) -> float | None:
        """gap / planned (negative when ahead); None when nothing was planned to date."""
        return _ratio(self.gap, self.planned)

    def _numbers(self) -> dict[str, float]:
        return {"planned": _r(self.planned), "actual": _r(self.actual), "gap": _r(self.gap)}


@dataclass(frozen=True)
class IntervalProgress(_Gap):
    """In units of the interval's head item."""

    interval: str
    item: str
    planned: float
    actual: float

    def to_dict(self) -> dict[str, Any]:
        return {"interval": self.interval, "item": self.item, **self._numbers()}


@dataclass(frozen=True)
class ItemProgress(_Gap):
    item: str
    planned: float
    actual: float

    def to_dict(self) -> dict[str, Any]:
        return {"item": self.item, **self._numbers()}


@dataclass(frozen=True)
class WorkCenterProgress(_Gap):
    """In standard minutes: units times run minutes per unit."""

    work_center: str
    planned: float
    actual: float

    def to_dict(self) -> dict[str, Any]:
        return {"work_center": self.work_center, **self._numbers()}


@dataclass(frozen=True)
class ProgressReport:
    as_of_period: int
    elapsed: float
    on_time: OnTime
    intervals: tuple[IntervalProgress, ...]
    items: tuple[ItemProgress, ...]
    work_centers: tuple[WorkCenterProgress, ...]

    @property
    def on_time_rate(self) -> float | None:
        return self.on_time.rate

    def to_dict(self, *, as_of: dt.datetime | dt.date | str) -> dict[str, Any]:
        return {
            "as_of": _iso(as_of),
            "on_time_rate": None if self.on_time_rate is None else _r(self.on_time_rate),
            "intervals": [row.to_dict() for row in self.intervals],
            "items": [row.to_dict() for row in self.items],
            "work_centers": [row.to_dict() for row in self.work_centers],
        }


def _planned_to_date(s: MeasuresSnapshot, period: int, quantity: float) -> float:
    if period < s.as_of_period:
        return quantity
    if period == s.as_of_period:
        return quantity * s.elapsed
    return 0.0


def progress(s: MeasuresSnapshot) -> ProgressReport:
    """Cumulative planned vs actual good output to date, and the gap.

    planned to date = planned output of the periods before the current one plus ``elapsed``
    times the current period's; actual to date = reported good output of the periods up to
    and including the current one (later periods, which an as-of in the past can show, are
    left out). Rows by interval (with its head item) and by item are in units; rows by work
    center in standard minutes: planned = interval output planned to date times the
    interval's run minutes per unit on the center (``loads``), actual = each operation's good
    units times its minutes per unit, over every work order that is not cancelled.
    ``gap = planned - actual`` (positive: behind plan). The on-time rate is ``on_time(s)``.
    """
    by_interval: dict[tuple[str, str], list[float]] = defaultdict(lambda: [0.0, 0.0])
    by_item: dict[str, list[float]] = defaultdict(lambda: [0.0, 0.0])
    planned_interval: dict[str, float] = defaultdict(float)
    for o in s.planned:
        q = _planned_to_date(s, o.period, o.quantity)
        by_interval[o.interval, o.item][0] += q
        by_item[o.item][0] += q
        planned_interval[o.interval] += q
    for o in s.actual:
        if o.period <= s.as_of_period:
            by_interval[o.interval, o.item][1] += o.quantity
            by_item[o.item][1] += o.quantity
    by_wc: dict[str, list[float]] = defaultdict(lambda: [0.0, 0.0])
    for load in s.loads:
        by_wc[load.work_center][0] += planned_interval.get(load.interval, 0.0) * load.minutes_per_unit
    for wo in s.work_orders:
        if wo.status != WorkOrderStatus.CANCELLED:
            for op in wo.operations:
                by_wc[op.work_center][1] += op.good * op.minutes_per_unit
    return ProgressReport(
        as_of_period=s.as_of_period, elapsed=s.elapsed, on_time=on_time(s),
        intervals=tuple(IntervalProgress(i, it, p, a) for (i, it), (p, a) in sorted(by_interval.items())),
        items=tuple(ItemProgress(it, p, a) for it, (p, a) in sorted(by_item.items())),
        work_centers=tuple(WorkCenterProgress(w, p, a) for w, (p, a) in sorted(by_wc.items())),
    )


# --- work in process ----------------------------------------------------------------------------


@dataclass(frozen=True)
class WipOrder:
    number: str
    item: str
    interval: str
    started: float  # units through the first operation (good + scrap); the order's good + scrap without operations
    in_process: float  # units out of one operation and not yet out of the last
    remaining: float  # good units still expected (WorkOrder.remaining)

    def to_dict(self) -> dict[str, Any]:
        return {"number": self.number, "item": self.item, "interval": self.interval, "started": _r(self.started),
                "in_process": _r(self.in_process), "remaining": _r(self.remaining)}


@dataclass(frozen=True)
class WipReport:
    orders: tuple[WipOrder, ...]  # every open work order, by number
    work_centers: tuple[tuple[str, float], ...]  # units waiting for or in an operation on the center

    @property
    def units(self) -> float:
        return sum(o.in_process for o in self.orders)

    @property
    def open_orders(self) -> int:
        return len(self.orders)

    def to_dict(self) -> dict[str, Any]:
        return {"units": _r(self.units), "open_orders": self.open_orders,
                "work_centers": [{"work_center": w, "units": _r(u)} for w, u in self.work_centers],
                "work_orders": [o.to_dict() for o in self.orders]}


def wip(s: MeasuresSnapshot) -> WipReport:
    """Work in process of the open work orders (planned, released, in progress).

    Along a work order's operations in sequence, the units in front of operation k (waiting
    for it or on it, at its work center) are ``good[k-1] - good[k] - scrap[k]`` (never below
    0): delivered by the previous step and neither passed nor scrapped by this one. A work
    order's WIP is the sum over its operations after the first; an order without operations
    has none. Finished and cancelled orders hold no WIP.
    """
    orders = []
    at: dict[str, float] = defaultdict(float)
    for wo in sorted(s.work_orders, key=lambda w: w.number):
        if wo.status not in OPEN_STATUSES:
            continue
        ops = wo.operations
        in_process = 0.0
        for prev, op in zip(ops, ops[1:]):
            queue = max(0.0, prev.good - op.good - op.scrap)
            in_process += queue
            at[op.work_center] += queue
        started = ops[0].good + ops[0].scrap if ops else wo.good + wo.scrap
        orders.append(WipOrder(wo.number, wo.item, wo.interval, started, in_process, wo.remaining))
    return WipReport(tuple(orders), tuple(sorted(at.items())))


# --- buffers and overtime -----------------------------------------------------------------------


@dataclass(frozen=True)
class BufferLevel:
    item: str
    on_hand: float
    safety_stock: float

    @property
    def margin(self) -> float:
        """on-hand - safety stock: negative when the buffer is under its safety stock."""
        return self.on_hand - self.safety_stock

    @property
    def below(self) -> bool:
        return self.on_hand < self.safety_stock

    @property
    def ratio(self) -> float | None:
        """on-hand / safety stock (may exceed 1 or be negative); None without safety stock."""
        return _ratio(self.on_hand, self.safety_stock)

    def to_dict(self) -> dict[str, Any]:
        return {"item": self.item, "on_hand": _r(self.on_hand), "safety_stock": _r(self.safety_stock),
                "margin": _r(self.margin), "below": self.below}


@dataclass(frozen=True)
class BufferReport:
    buffers: tuple[BufferLevel, ...]

    @property
    def below(self) -> tuple[BufferLevel, ...]:
        return tuple(b for b in self.buffers if b.below)

    def to_dict(self) -> dict[str, Any]:
        return {"buffers": [b.to_dict() for b in self.buffers], "below": [b.item for b in self.below]}


def buffer_levels(s: MeasuresSnapshot) -> BufferReport:
    """Each buffer's on-hand (0 when not given) against its safety stock, by item."""
    return BufferReport(tuple(BufferLevel(b.item, s.on_hand.get(b.item, 0.0), b.safety_stock)
                              for b in sorted(s.buffers, key=lambda b: b.item)))


@dataclass(frozen=True)
class OvertimeRow:
    work_center: str
    planned_min: float
    used_min: float

    @property
    def excess_min(self) -> float:
        """used - planned: positive when more overtime was used than planned."""
        return self.used_min - self.planned_min

    @property
    def ratio(self) -> float | None:
        """used / planned (may exceed 1); None when no overtime was planned to date."""
        return _ratio(self.used_min, self.planned_min)

    def to_dict(self) -> dict[str, Any]:
        return {"work_center": self.work_center, "planned_min": _r(self.planned_min),
                "used_min": _r(self.used_min), "excess_min": _r(self.excess_min)}


@dataclass(frozen=True)
class OvertimeReport:
    work_centers: tuple[OvertimeRow, ...]

    def to_dict(self) -> dict[str, Any]:
        return {"work_centers": [w.to_dict() for w in self.work_centers]}


def overtime(s: MeasuresSnapshot) -> OvertimeReport:
    """Overtime used vs planned to date, per work center: planned as in ``progress`` (earlier
    periods whole, the current one pro rata), used over the periods up to the current one."""
    rows: dict[str, list[float]] = defaultdict(lambda: [0.0, 0.0])
    for u in s.overtime:
        rows[u.work_center][0] += _planned_to_date(s, u.period, u.planned_min)
        if u.period <= s.as_of_period:
            rows[u.work_center][1] += u.used_min
    return OvertimeReport(tuple(OvertimeRow(w, p, used) for w, (p, used) in sorted(rows.items())))


# --- the complete-assembly (kit) rate ----------------------------------------------------------


@dataclass(frozen=True)
class ShortComponent:
    item: str
    required: float  # still needed by the work order (quantity per x quantity - issued)
    available: float  # allocated to it by its planned start (< required)

    def to_dict(self) -> dict[str, Any]:
        return {"item": self.item, "required": _r(self.required), "available": _r(self.available)}


@dataclass(frozen=True)
class KitStatus:
    """One kitting work order: ``coverage`` = min over its components of available / required
    at planned start (1 when nothing is still required), ``short`` the components below
    their requirement, ``complete_period`` the period its kit is projected to be complete
    (None: not within the horizon)."""

    number: str
    item: str
    start_period: int
    priority: int
    coverage: float
    short: tuple[ShortComponent, ...]
    complete_period: int | None

    @property
    def complete(self) -> bool:
        return not self.short

    def to_dict(self, *, period_date: PeriodDate) -> dict[str, Any]:
        return {"number": self.number, "coverage": _r(self.coverage), "short": [c.to_dict() for c in self.short],
                "kit_complete_date": None if self.complete_period is None else _iso(period_date(self.complete_period))}


@dataclass(frozen=True)
class KitReport:
    """The kit rate over periods ``as_of_period .. last_period`` (``window`` periods)."""

    as_of_period: int
    window: int
    orders: tuple[KitStatus, ...]  # in allocation order

    @property
    def last_period(self) -> int:
        return self.as_of_period + self.window - 1

    @property
    def kitted(self) -> int:
        return sum(o.complete for o in self.orders)

    @property
    def rate(self) -> float | None:
        """kitted / orders; None when no kitting work order is due to start in the window."""
        return self.kitted / len(self.orders) if self.orders else None

    def to_dict(self, *, as_of: dt.datetime | dt.date | str, period_date: PeriodDate,
                history: Iterable[tuple[int, float | None]] = ()) -> dict[str, Any]:
        """The ``kit`` JSON shape; ``history`` is (period, recorded rate) pairs, oldest first."""
        return {
            "as_of": _iso(as_of), "window": self.window, "rate": None if self.rate is None else _r(self.rate),
            "work_orders": [o.to_dict(period_date=period_date) for o in self.orders],
            "history": [{"period": _iso(period_date(p)), "rate": None if r is None else _r(r)} for p, r in history],
        }


def requirements_of(s: MeasuresSnapshot) -> dict[str, dict[str, float]]:
    """Work order -> component -> units still required (quantity per x quantity - issued, >= 0);
    several lines for one component add up."""
    quantity = {wo.number: wo.quantity for wo in s.work_orders}
    need: dict[str, dict[str, float]] = defaultdict(lambda: defaultdict(float))
    for r in s.requirements:
        need[r.work_order][r.component] += r.quantity_per * quantity[r.work_order] - r.issued
    return {wo: {c: max(0.0, q) for c, q in comps.items()} for wo, comps in need.items()}


def supply_of(s: MeasuresSnapshot, items: Iterable[str], *,
              on_hand_only: bool = False) -> dict[str, list[tuple[int, float]]]:
    """Projected supply of each item as (period, units) lots, earliest first.

    On-hand counts in the current period; an open purchase in its due period; an open work
    order making the item with its remaining good units in its due period. Anything due before
    the current period (overdue) counts in the current period, as in the plan; anything due
    after ``horizon_end`` not at all. Negative on-hand is a debt that the earliest lots pay
    off first. ``on_hand_only``: on-hand alone (what is there now, nothing still to arrive).
    """
    wanted = set(items)
    lots: dict[str, list[tuple[int, float]]] = {i: [] for i in wanted}
    now, end = s.as_of_period, s.horizon_end

    def add(item: str, period: int, qty: float) -> None:
        if item in wanted and qty > 0 and (end is None or period <= end):
            lots[item].append((max(period, now), qty))

    if not on_hand_only:
        for p in s.purchases:
            add(p.item, p.due_period, p.quantity)
        for wo in s.work_orders:
            if wo.status in OPEN_STATUSES:
                add(wo.item, wo.due_period, wo.remaining)
    out = {}
    for item, found in lots.items():
        merged: dict[int, float] = defaultdict(float)
        for period, qty in found:
            merged[period] += qty
        stock = s.on_hand.get(item, 0.0)
        if stock > 0:
            merged[now] += stock
        debt = max(0.0, -stock)
        series = []
        for period in sorted(merged):
            qty = merged[period]
            pay = min(debt, qty)
            debt -= pay
            if qty - pay > 0:
                series.append((period, qty - pay))
        out[item] = series
    return out


def kit_rate(s: MeasuresSnapshot, window: int = 1, *, on_hand_only: bool = False) -> KitReport:
    """The complete-assembly (kit) rate of the kitting work orders due to start in a window.

    *Kitting work orders* are the work orders with requirements in the snapshot (the caller
    gives requirements for kitting-point work orders only). Those that are open (planned,
    released, in progress) with a planned start no later than the window's last period
    (``as_of_period + window - 1``) are due: an order whose planned start has passed still
    waits for its kit, so it counts as due now, and its effective start is the current period.

    Allocation: the due orders, in order of planned start, then priority (higher first), then
    number, each claim their full remaining requirement of every component from the earliest
    supply lots (``supply_of``) not yet claimed by an order before them; so no two orders
    count the same units, and an order first in line keeps its claim on later arrivals too.
    An order's *available* quantity of a component is what its claim holds by its effective
    start. Its coverage is min over components of available / required (a fraction in
    [0, 1]; 1 when nothing is still required), its short components are those with
    available < required, and its kit-complete period is the period its claim becomes whole
    for every component (the current period when already whole; None when the supply within
    the horizon cannot make it whole).

    ``rate`` = orders with no short component / due orders, a fraction in [0, 1]. With no due
    kitting work order the rate is None (there is nothing to measure), and ``orders`` is empty.

    ``on_hand_only``: the same allocation of what is on hand now only (no purchase or work order
    still to deliver): which orders could take their whole kit from the shelf at once, in line.
    """
    if window < 1:
        raise InvalidInput(f"the kit window must be at least 1 period, not {window}")
    need = requirements_of(s)
    last = s.as_of_period + window - 1
    due = sorted((wo for wo in s.work_orders
                  if wo.number in need and wo.status in OPEN_STATUSES and wo.start_period <= last),
                 key=lambda w: (w.start_period, -w.priority, w.number))
    supply = {item: deque(lots) for item, lots in supply_of(s, {c for wo in due for c in need[wo.number]},
                                                             on_hand_only=on_hand_only).items()}
    return KitReport(s.as_of_period, window, tuple(_claim(wo, need[wo.number], supply, s.as_of_period) for wo in due))


def _claim(wo: WorkOrder, need: Mapping[str, float], supply: Mapping[str, deque[tuple[int, float]]],
           now: int) -> KitStatus:
    start = max(wo.start_period, now)
    coverage, complete = 1.0, now
    never = False
    short = []
    for component in sorted(need):
        required = need[component]
        if _met(0.0, required):
            continue
        lots = supply[component]
        left, at_start, whole_at = required, 0.0, now
        while lots and not _met(required - left, required):
            period, qty = lots[0]
            take = min(qty, left)
            left -= take
            whole_at = period
            if period <= start:
                at_start += take
            if take < qty:
                lots[0] = (period, qty - take)
            else:
                lots.popleft()
        if not _met(required - left, required):
            never = True
        else:
            complete = max(complete, whole_at)
        if not _met(at_start, required):
            short.append(ShortComponent(component, required, at_start))
            coverage = min(coverage, at_start / required)
    return KitStatus(wo.number, wo.item, wo.start_period, wo.priority, max(0.0, coverage),
                     tuple(short), None if never else complete)


def periods_to_dates(starts: Sequence[dt.date], first_period: int = 1) -> PeriodDate:
    """A ``period_date`` for ``to_dict``: period ``first_period + k`` starts on ``starts[k]``."""
    def date_of(period: int) -> dt.date:
        k = period - first_period
        if not 0 <= k < len(starts):
            raise InvalidInput(f"period {period} is outside the calendar")
        return starts[k]
    return date_of
