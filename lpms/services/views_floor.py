"""Read-only views for the supervisor screens: a work center's queue for the current and the
next period in the period's levelled (heijunka) sequence, with each work order's kit status,
and one operation for the report form. Nothing here writes or reads the clock."""
from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from lpms.db.session import SqlAlchemyUnitOfWork
from lpms.db.shop_floor import OperationRecord, WorkOrderRecord
from lpms.domain.enums import WorkOrderStatus
from lpms.domain.errors import NotFound
from lpms.services import calendar as calendar_service
from lpms.services import progress
from lpms.services import work_orders as wo_service
from lpms.services.views import levelled_lots, work_center

OPEN_WORK = (WorkOrderStatus.RELEASED, WorkOrderStatus.IN_PROGRESS)
KIT_WINDOW = 2  # the kit check covers work orders starting in the current and the next period


def remaining(wo: WorkOrderRecord, op: OperationRecord) -> float:
    """Units still to report at an operation: the order's quantity less its good and scrap there."""
    return max(0.0, wo.quantity - op.good - op.scrap)


def ready(wo: WorkOrderRecord, op: OperationRecord) -> float | None:
    """Units the previous operation delivered (good) that this one has not processed yet (None
    for the first operation, which works from the kit). An operation cannot process more."""
    earlier = [o for o in wo.operations if o.seq < op.seq]
    if not earlier:
        return None
    return max(0.0, max(earlier, key=lambda o: o.seq).good - op.good - op.scrap)


@dataclass
class QueueRow:
    work_order: WorkOrderRecord
    operation: OperationRecord
    remaining: float
    period: int
    position: int  # in the period's levelled sequence (first lot of this item)
    kit: dict[str, Any] | None  # the kit measure's row {number, coverage, short: [...]}; None: not checked
    ready: float | None  # delivered by the previous operation and not yet processed here (None: first operation)
    kit_now: dict[str, Any] | None = None  # the same row from what is on hand now only (nothing still to arrive)


@dataclass
class FloorQueue:
    work_center: str
    name: str
    current: int | None
    note: str  # why there is no current period (outside the calendar)
    periods: dict[int, list[QueueRow]]
    sequences: dict[int, tuple[tuple[str, float], ...]]  # levelled lots: (item, units) runs


@dataclass
class OperationView:
    work_order: WorkOrderRecord
    operation: OperationRecord
    remaining: float
    ready: float | None  # see QueueRow
    previous: int | None  # the previous operation's number


def kit_by_work_order(uow: SqlAlchemyUnitOfWork, *, now: dt.datetime, timezone: str
                      ) -> tuple[dict[str, dict[str, Any]], dict[str, dict[str, Any]]]:
    """The kit measure's rows of the work orders starting in the current and next period, by
    number: projected (what arrives by the order's start counts) and from what is on hand now."""
    rows = []
    for k in progress.kit_projected_and_on_hand(uow, now=now, window=KIT_WINDOW, timezone=timezone):
        rows.append({row["number"]: row for row in progress.kit_dict(k).get("work_orders", [])})
    return rows[0], rows[1]


def floor_queue(uow: SqlAlchemyUnitOfWork, code: str, *, timezone: str, now: dt.datetime) -> FloorQueue:
    """The work center's open operations due in the current and the next period (and any left
    over from before, counted into the current one), in the period's levelled sequence.
    Raises NotFound for an unknown work center."""
    wc = work_center(uow, code)
    view = calendar_service.calendar_view(uow, timezone=timezone, now=now)
    current = view.current_seq
    orders = wo_service.list_work_orders(uow, work_center=code)
    by_period: dict[int, list[tuple[WorkOrderRecord, OperationRecord, float]]] = defaultdict(list)
    kit: dict[str, dict[str, Any]] = {}
    kit_now: dict[str, dict[str, Any]] = {}
    if current is not None:
        kit, kit_now = kit_by_work_order(uow, now=now, timezone=timezone)
        for wo in orders:
            if wo.status not in OPEN_WORK or wo.start_period > current + 1:
                continue
            for op in wo.operations:
                left = remaining(wo, op)
                if op.work_center == code and left > 1e-9:
                    by_period[max(wo.start_period, current)].append((wo, op, left))
    periods: dict[int, list[QueueRow]] = {}
    sequences: dict[int, tuple[tuple[str, float], ...]] = {}
    for period in sorted(by_period):
        rows = by_period[period]
        mix: dict[str, float] = defaultdict(float)
        for wo, _op, left in rows:
            mix[wo.item] += left
        lots = levelled_lots(mix)
        sequences[period] = lots
        first: dict[str, int] = {}
        for i, (item, _units) in enumerate(lots):
            first.setdefault(item, i)
        out = [QueueRow(wo, op, left, period, first.get(wo.item, len(lots)), kit.get(wo.number), ready(wo, op),
                        kit_now.get(wo.number)) for wo, op, left in rows]
        out.sort(key=lambda r: (r.work_order.start_period, r.position, r.work_order.number, r.operation.seq))
        periods[period] = out
    return FloorQueue(code, wc["name"], current, view.note, periods, sequences)


def operation_view(uow: SqlAlchemyUnitOfWork, number: str, seq: int, *,
                   work_center: str | None = None) -> OperationView:
    """A work order's operation with its remaining units (``work_center``: it must be done
    there). Raises NotFound."""
    wo = wo_service.get_work_order(uow, number)
    op = next((o for o in wo.operations if o.seq == seq), None)
    if op is None:
        raise NotFound(f"work order {number} has no operation {seq}")
    if work_center is not None and op.work_center != work_center:
        raise NotFound(f"work order {number} operation {seq} is done at {op.work_center}, not at {work_center}")
    earlier = [o.seq for o in wo.operations if o.seq < seq]
    return OperationView(wo, op, remaining(wo, op), ready(wo, op), max(earlier) if earlier else None)
