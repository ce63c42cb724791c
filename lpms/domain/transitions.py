"""Explicit state machines for the statuses that change over time."""
from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum
from typing import TypeVar

from lpms.domain.enums import OrderStatus, PlanRunStatus, WorkOrderStatus
from lpms.domain.errors import IllegalTransition

S = TypeVar("S", bound=StrEnum)

WORK_ORDER_TRANSITIONS: Mapping[WorkOrderStatus, frozenset[WorkOrderStatus]] = {
    WorkOrderStatus.PLANNED: frozenset({WorkOrderStatus.RELEASED, WorkOrderStatus.CANCELLED}),
    WorkOrderStatus.RELEASED: frozenset({WorkOrderStatus.IN_PROGRESS, WorkOrderStatus.COMPLETED, WorkOrderStatus.CANCELLED}),
    # a started order is not cancelled: it is short-closed (with a reason) or completed
    WorkOrderStatus.IN_PROGRESS: frozenset({WorkOrderStatus.COMPLETED, WorkOrderStatus.CLOSED}),
    WorkOrderStatus.COMPLETED: frozenset({WorkOrderStatus.CLOSED, WorkOrderStatus.IN_PROGRESS}),  # back: a correction
    WorkOrderStatus.CLOSED: frozenset(),
    WorkOrderStatus.CANCELLED: frozenset(),
}

ORDER_TRANSITIONS: Mapping[OrderStatus, frozenset[OrderStatus]] = {
    OrderStatus.OPEN: frozenset({OrderStatus.CONFIRMED, OrderStatus.SHIPPED, OrderStatus.CANCELLED}),
    OrderStatus.CONFIRMED: frozenset({OrderStatus.SHIPPED, OrderStatus.CANCELLED}),
    OrderStatus.SHIPPED: frozenset(),
    OrderStatus.CANCELLED: frozenset(),
}

PLAN_RUN_TRANSITIONS: Mapping[PlanRunStatus, frozenset[PlanRunStatus]] = {
    PlanRunStatus.QUEUED: frozenset({PlanRunStatus.RUNNING, PlanRunStatus.FAILED}),
    PlanRunStatus.RUNNING: frozenset({PlanRunStatus.SUCCEEDED, PlanRunStatus.INFEASIBLE, PlanRunStatus.FAILED}),
    PlanRunStatus.SUCCEEDED: frozenset({PlanRunStatus.APPROVED, PlanRunStatus.SUPERSEDED}),
    PlanRunStatus.APPROVED: frozenset({PlanRunStatus.SUPERSEDED}),
    PlanRunStatus.INFEASIBLE: frozenset(),
    PlanRunStatus.FAILED: frozenset(),
    PlanRunStatus.SUPERSEDED: frozenset(),
}


def check_transition(entity: str, table: Mapping[S, frozenset[S]], current: S, target: S) -> S:
    """Return ``target`` if ``current -> target`` is allowed; raises IllegalTransition otherwise."""
    if target not in table[current]:
        raise IllegalTransition(entity, current.value, target.value)
    return target
