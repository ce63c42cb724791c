"""Work orders: list them, cancel one that has no reports, short-close a started one.

A cancelled order's quantity is no longer fixed production: the next re-plan plans it again
outside the freeze. A short-closed order keeps what it made; its missing quantity (and its
scrap) is a loss the re-plan makes up.
"""
from __future__ import annotations

import datetime as dt

from lpms.db.shop_floor import WorkOrderRecord
from lpms.domain.enums import WorkOrderStatus
from lpms.domain.errors import Conflict, InvalidInput, NotFound
from lpms.domain.transitions import WORK_ORDER_TRANSITIONS, check_transition
from lpms.services import _checks
from lpms.services._checks import LOCK_TIMEOUT_S, fmt
from lpms.services.shop_floor_uow import ShopFloorUnitOfWork

BUSY_MESSAGE = "the work order is being changed by someone else; try again"


def list_work_orders(uow: ShopFloorUnitOfWork, *, status: WorkOrderStatus | None = None,
                     work_center: str | None = None) -> list[WorkOrderRecord]:
    """Work orders by planned start and number, optionally of one status or with an operation on
    one work center. Raises NotFound for an unknown work center."""
    with uow:
        if work_center is not None and not uow.work_orders.work_center_exists(work_center):
            raise NotFound(f"work center {work_center} does not exist")
        return uow.work_orders.list(status=status, work_center=work_center)


def get_work_order(uow: ShopFloorUnitOfWork, number: str) -> WorkOrderRecord:
    with uow:
        return uow.work_orders.get(number)


def cancel_work_order(uow: ShopFloorUnitOfWork, number: str, *, actor: str, now: dt.datetime, reason: str = "",
                      lock_timeout: float = LOCK_TIMEOUT_S) -> WorkOrderRecord:
    """Cancel a work order nobody has reported on. Raises NotFound, Conflict (it has reports:
    short-close it instead), IllegalTransition (already finished), Busy."""
    reason = _checks.text(reason, "reason", max_len=2000)
    with uow:
        uow.locks.begin(None, timeout=lock_timeout, busy_message=BUSY_MESSAGE)
        wo = uow.work_orders.get(number, lock=True)
        reports = uow.work_orders.report_count(wo.id)
        if reports:
            raise Conflict(f"work order {number} has {reports} completion report(s): it cannot be cancelled; "
                           f"short-close it instead (lpms work-orders close {number} --reason TEXT)")
        check_transition(f"work order {number}", WORK_ORDER_TRANSITIONS, wo.status, WorkOrderStatus.CANCELLED)
        uow.work_orders.update(wo.id, now=now, status=WorkOrderStatus.CANCELLED, finished_at=now,
                               close_reason=reason or None)
        uow.audit.add(actor=actor, action="cancel", entity="work_order", entity_key=number, at=now,
                      detail={"before": {"status": wo.status.value}, "after": {"status": "cancelled"},
                              "quantity": wo.quantity, "reason": reason})
        after = uow.work_orders.get(number)
        uow.commit()
    return after


def close_work_order(uow: ShopFloorUnitOfWork, number: str, *, reason: str, actor: str, now: dt.datetime,
                     lock_timeout: float = LOCK_TIMEOUT_S) -> WorkOrderRecord:
    """Close a work order: a completed one, or short-close a started one (``reason`` required).

    Raises NotFound, InvalidInput (no reason for a short close), Conflict (not started: cancel
    it instead), IllegalTransition (already closed or cancelled), Busy."""
    reason = _checks.text(reason, "reason", max_len=2000)
    with uow:
        uow.locks.begin(None, timeout=lock_timeout, busy_message=BUSY_MESSAGE)
        wo = uow.work_orders.get(number, lock=True)
        if wo.status is WorkOrderStatus.RELEASED:
            raise Conflict(f"work order {number} has not started: cancel it instead (lpms work-orders cancel "
                           f"{number})")
        if wo.status is WorkOrderStatus.IN_PROGRESS and not reason:
            raise InvalidInput(f"work order {number} is in progress ({fmt(wo.good)} of {fmt(wo.quantity)} good): "
                               f"short-closing it needs a reason")
        check_transition(f"work order {number}", WORK_ORDER_TRANSITIONS, wo.status, WorkOrderStatus.CLOSED)
        uow.work_orders.update(wo.id, now=now, status=WorkOrderStatus.CLOSED, close_reason=reason or None,
                               finished_at=wo.finished_at or now)
        uow.audit.add(actor=actor, action="close", entity="work_order", entity_key=number, at=now,
                      detail={"before": {"status": wo.status.value}, "after": {"status": "closed"},
                              "quantity": wo.quantity, "good": wo.good, "scrap": wo.scrap,
                              "short": max(0.0, wo.quantity - wo.good), "reason": reason})
        after = uow.work_orders.get(number)
        uow.commit()
    return after


def work_order_dict(wo: WorkOrderRecord) -> dict[str, object]:
    """The documented JSON shape of a work order (docs/process.md)."""
    return {"number": wo.number, "item": wo.item, "interval": wo.interval, "quantity": _r(wo.quantity),
            "good": _r(wo.good), "scrap": _r(wo.scrap), "status": wo.status.value, "due_period": wo.due_period,
            "operations": [{"seq": op.seq, "work_center": op.work_center, "good": _r(op.good), "scrap": _r(op.scrap)}
                           for op in wo.operations]}


def _r(value: float) -> float:
    return round(value, 6) + 0.0
