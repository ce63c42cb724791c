"""Enumerations stored by value in the database and used across layers."""
from __future__ import annotations

from enum import StrEnum


class ItemKind(StrEnum):
    PRODUCT = "product"
    ASSEMBLY = "assembly"
    PART = "part"
    MATERIAL = "material"


class OffsetRule(StrEnum):
    FORECAST_ONLY = "forecast_only"
    ORDERS_ONLY = "orders_only"
    NO_OFFSET = "no_offset"
    BACKWARD = "backward"
    FORWARD = "forward"
    BACKWARD_THEN_FORWARD = "backward_then_forward"
    FORWARD_THEN_BACKWARD = "forward_then_backward"


class Bucket(StrEnum):
    DAY = "day"
    WEEK = "week"
    MONTH = "month"


class Role(StrEnum):
    ADMIN = "admin"
    PLANNER = "planner"
    SUPERVISOR = "supervisor"
    MANAGER = "manager"


class OrderStatus(StrEnum):
    OPEN = "open"
    CONFIRMED = "confirmed"
    SHIPPED = "shipped"
    CANCELLED = "cancelled"


class PlanRunStatus(StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    INFEASIBLE = "infeasible"
    FAILED = "failed"
    APPROVED = "approved"
    SUPERSEDED = "superseded"


class WorkOrderStatus(StrEnum):
    PLANNED = "planned"
    RELEASED = "released"
    IN_PROGRESS = "in_progress"
    COMPLETED = "completed"
    CLOSED = "closed"
    CANCELLED = "cancelled"


class StockMoveKind(StrEnum):
    """What moved stock (the ledger, docs/process.md)."""

    RECEIPT = "receipt"  # a purchase arrived
    OUTPUT = "output"  # a work order's good output into its buffer
    ISSUE = "issue"  # components backflushed to a work order
    SHIPMENT = "shipment"  # against a customer order
    ADJUSTMENT = "adjustment"  # a manual correction with a reason


class JobStatus(StrEnum):
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    SKIPPED = "skipped"


class JobTrigger(StrEnum):
    """What made a job run: its schedule, a job request (the web's "run now"), or a person (run-once)."""

    SCHEDULE = "schedule"
    REQUEST = "request"
    MANUAL = "manual"


class JobRequestStatus(StrEnum):
    PENDING = "pending"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"


class Objective(StrEnum):
    """The four objectives of a plan (paper section 2.1.3), in their documented order."""

    LATE = "late"
    BALANCE = "balance"
    INVENTORY = "inventory"
    OVERTIME = "overtime"


class PlanMode(StrEnum):
    WEIGHTED = "weighted"
    PRIORITY = "priority"
    PARETO = "pareto"


class BalanceOn(StrEnum):
    """What the balance objective spreads evenly over the periods."""

    WORK_CENTERS = "work_centers"
    INTERVALS = "intervals"
    BOTH = "both"


class FluctuationKind(StrEnum):
    """What fluctuation detection found (lpms.services.fluctuations, docs/process.md)."""

    BEHIND_PLAN = "behind_plan"  # an interval's output behind plan beyond the thresholds
    KIT_RATE = "kit_rate"  # the complete-assembly rate below its threshold
    BUFFER_BELOW_SAFETY = "buffer_below_safety"  # a buffer under its safety stock
    ORDER_NEW = "order_new"  # a customer order the approved plan did not know
    ORDER_CHANGED = "order_changed"  # an order's item, quantity or due date changed
    ORDER_CANCELLED = "order_cancelled"  # an order the plan knew is cancelled or gone
    FORECAST_CHANGED = "forecast_changed"  # an item's forecast changed
    DOWNTIME = "downtime"  # capacity lost by downtime beyond the threshold
    SCRAP = "scrap"  # a work order's scrap beyond the threshold
