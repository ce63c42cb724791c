"""SQLAlchemy 2 models. Tables are plural snake case; enums are stored by value.

Quantities are floats (units of measure may be fractional: kg, m); times are UTC.
The data model is documented in docs/data-model.md.
"""
from __future__ import annotations

import datetime as dt
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    Date,
    DateTime,
    Enum,
    Float,
    ForeignKey,
    Integer,
    MetaData,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship
from sqlalchemy.types import TypeDecorator

from lpms.domain.enums import (
    Bucket,
    ItemKind,
    OffsetRule,
    OrderStatus,
    PlanRunStatus,
    Role,
    StockMoveKind,
    WorkOrderStatus,
)

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def enum_column(enum_cls: type[StrEnum]) -> Enum:
    """Store a StrEnum by its value in a VARCHAR with a CHECK constraint (portable, migratable)."""
    return Enum(
        enum_cls,
        values_callable=lambda e: [m.value for m in e],
        native_enum=False,
        create_constraint=True,
        length=32,
        name=enum_cls.__name__.lower(),
        validate_strings=True,
    )


class UtcDateTime(TypeDecorator[dt.datetime]):
    """A point in time, stored and returned as an aware UTC datetime on every database
    (SQLite keeps no time zone: without this it would hand back naive values)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect: Any) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value.isoformat()}: LPMS stores times in UTC with their zone")
        return value.astimezone(dt.UTC)

    def process_result_value(self, value: dt.datetime | None, dialect: Any) -> dt.datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value.astimezone(dt.UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {dt.datetime: UtcDateTime(), dict[str, Any]: JSON}


class User(Base):
    __tablename__ = "users"
    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    display_name: Mapped[str] = mapped_column(String(128), default="")
    role: Mapped[Role] = mapped_column(enum_column(Role))
    password_hash: Mapped[str] = mapped_column(String(256), default="")
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class Item(Base):
    __tablename__ = "items"
    __table_args__ = (
        CheckConstraint("lead_time_periods >= 0", name="lead_time_nonneg"),
        CheckConstraint("safety_stock >= 0", name="safety_stock_nonneg"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200), default="")
    kind: Mapped[ItemKind] = mapped_column(enum_column(ItemKind))
    unit: Mapped[str] = mapped_column(String(16), default="pcs")
    lead_time_periods: Mapped[int] = mapped_column(Integer, default=0)
    stocked: Mapped[bool] = mapped_column(Boolean, default=False)
    safety_stock: Mapped[float] = mapped_column(Float, default=0.0)
    offset_rule: Mapped[OffsetRule] = mapped_column(enum_column(OffsetRule), default=OffsetRule.BACKWARD)
    backward_window: Mapped[int | None] = mapped_column(Integer)
    forward_window: Mapped[int | None] = mapped_column(Integer)
    updated_at: Mapped[dt.datetime] = mapped_column()  # set by the service, from its ``now``


class BomLine(Base):
    __tablename__ = "bom_lines"
    __table_args__ = (
        UniqueConstraint("parent_id", "child_id"),
        CheckConstraint("qty_per > 0", name="qty_per_positive"),
        CheckConstraint("parent_id <> child_id", name="not_self"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    parent_id: Mapped[int] = mapped_column(ForeignKey("items.id", ondelete="CASCADE"), index=True)
    child_id: Mapped[int] = mapped_column(ForeignKey("items.id", ondelete="RESTRICT"), index=True)
    qty_per: Mapped[float] = mapped_column(Float)
    parent: Mapped[Item] = relationship(foreign_keys=[parent_id])
    child: Mapped[Item] = relationship(foreign_keys=[child_id])


class WorkCenter(Base):
    __tablename__ = "work_centers"
    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200), default="")


class Operation(Base):
    """One step of an item's routing: a sequence number on a work center."""

    __tablename__ = "operations"
    __table_args__ = (
        UniqueConstraint("item_id", "sequence"),
        CheckConstraint("run_min >= 0", name="run_nonneg"),
        CheckConstraint("setup_min >= 0", name="setup_nonneg"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("items.id", ondelete="CASCADE"), index=True)
    sequence: Mapped[int] = mapped_column(Integer)
    work_center_id: Mapped[int] = mapped_column(ForeignKey("work_centers.id", ondelete="RESTRICT"), index=True)
    run_min: Mapped[float] = mapped_column(Float)
    setup_min: Mapped[float] = mapped_column(Float, default=0.0)
    item: Mapped[Item] = relationship()
    work_center: Mapped[WorkCenter] = relationship()


class Period(Base):
    """A planning bucket of the calendar; ``seq`` is the 1-based period number."""

    __tablename__ = "periods"
    __table_args__ = (CheckConstraint("end_date >= start_date", name="dates_ordered"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    seq: Mapped[int] = mapped_column(Integer, unique=True)
    bucket: Mapped[Bucket] = mapped_column(enum_column(Bucket))
    start_date: Mapped[dt.date] = mapped_column(Date, unique=True)
    end_date: Mapped[dt.date] = mapped_column(Date)


class Capacity(Base):
    __tablename__ = "capacities"
    __table_args__ = (
        UniqueConstraint("work_center_id", "period_id"),
        CheckConstraint("regular_min >= 0", name="regular_nonneg"),
        CheckConstraint("overtime_min >= 0", name="overtime_nonneg"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    work_center_id: Mapped[int] = mapped_column(ForeignKey("work_centers.id", ondelete="CASCADE"), index=True)
    period_id: Mapped[int] = mapped_column(ForeignKey("periods.id", ondelete="CASCADE"), index=True)
    regular_min: Mapped[float] = mapped_column(Float)
    overtime_min: Mapped[float] = mapped_column(Float, default=0.0)
    work_center: Mapped[WorkCenter] = relationship()
    period: Mapped[Period] = relationship()


class Forecast(Base):
    """Forecast quantity over a date range; averaging spreads it over the periods inside."""

    __tablename__ = "forecasts"
    __table_args__ = (
        UniqueConstraint("item_id", "start_date", "end_date"),
        CheckConstraint("quantity >= 0", name="quantity_nonneg"),
        CheckConstraint("end_date >= start_date", name="dates_ordered"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("items.id", ondelete="CASCADE"), index=True)
    start_date: Mapped[dt.date] = mapped_column(Date)
    end_date: Mapped[dt.date] = mapped_column(Date)
    quantity: Mapped[float] = mapped_column(Float)
    item: Mapped[Item] = relationship()


class CustomerOrder(Base):
    __tablename__ = "customer_orders"
    __table_args__ = (CheckConstraint("quantity > 0", name="quantity_positive"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(String(64), unique=True)
    customer: Mapped[str] = mapped_column(String(200))
    item_id: Mapped[int] = mapped_column(ForeignKey("items.id", ondelete="RESTRICT"), index=True)
    quantity: Mapped[float] = mapped_column(Float)
    due_date: Mapped[dt.date] = mapped_column(Date)
    priority: Mapped[int] = mapped_column(Integer, default=0)
    status: Mapped[OrderStatus] = mapped_column(enum_column(OrderStatus), default=OrderStatus.OPEN)
    item: Mapped[Item] = relationship()


class Stock(Base):
    __tablename__ = "stock"
    __table_args__ = (CheckConstraint("on_hand >= 0", name="on_hand_nonneg"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("items.id", ondelete="CASCADE"), unique=True)
    on_hand: Mapped[float] = mapped_column(Float)
    item: Mapped[Item] = relationship()


class ScheduledReceipt(Base):
    __tablename__ = "scheduled_receipts"
    __table_args__ = (
        UniqueConstraint("item_id", "due_date"),
        CheckConstraint("quantity > 0", name="quantity_positive"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("items.id", ondelete="CASCADE"), index=True)
    due_date: Mapped[dt.date] = mapped_column(Date)
    quantity: Mapped[float] = mapped_column(Float)
    item: Mapped[Item] = relationship()


class PlanRun(Base):
    __tablename__ = "plan_runs"
    id: Mapped[int] = mapped_column(primary_key=True)
    status: Mapped[PlanRunStatus] = mapped_column(enum_column(PlanRunStatus), default=PlanRunStatus.QUEUED)
    mode: Mapped[str] = mapped_column(String(16), default="weighted")
    parameters: Mapped[dict[str, Any]] = mapped_column(default=dict)
    objectives: Mapped[dict[str, Any]] = mapped_column(default=dict)
    solver_stats: Mapped[dict[str, Any]] = mapped_column(default=dict)
    message: Mapped[str] = mapped_column(Text, default="")
    created_by: Mapped[str] = mapped_column(String(64), default="system")
    created_at: Mapped[dt.datetime] = mapped_column()  # set by the service, from its ``now``
    started_at: Mapped[dt.datetime | None] = mapped_column()
    finished_at: Mapped[dt.datetime | None] = mapped_column()
    lines: Mapped[list[PlanLine]] = relationship(back_populates="plan_run", cascade="all, delete-orphan")
    loads: Mapped[list[PlanLoad]] = relationship(back_populates="plan_run", cascade="all, delete-orphan")


class PlanLine(Base):
    """Per item and period: demand, planned production, end-of-period inventory and backlog."""

    __tablename__ = "plan_lines"
    __table_args__ = (UniqueConstraint("plan_run_id", "item_id", "period_seq"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    plan_run_id: Mapped[int] = mapped_column(ForeignKey("plan_runs.id", ondelete="CASCADE"), index=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("items.id", ondelete="CASCADE"), index=True)
    interval_code: Mapped[str] = mapped_column(String(128), default="")
    period_seq: Mapped[int] = mapped_column(Integer)
    gross_demand: Mapped[float] = mapped_column(Float, default=0.0)
    net_demand: Mapped[float] = mapped_column(Float, default=0.0)
    production: Mapped[float] = mapped_column(Float, default=0.0)
    inventory: Mapped[float] = mapped_column(Float, default=0.0)
    backlog: Mapped[float] = mapped_column(Float, default=0.0)
    plan_run: Mapped[PlanRun] = relationship(back_populates="lines")


class PlanLoad(Base):
    """Per work center and period: planned load and overtime in minutes."""

    __tablename__ = "plan_loads"
    __table_args__ = (UniqueConstraint("plan_run_id", "work_center_id", "period_seq"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    plan_run_id: Mapped[int] = mapped_column(ForeignKey("plan_runs.id", ondelete="CASCADE"), index=True)
    work_center_id: Mapped[int] = mapped_column(ForeignKey("work_centers.id", ondelete="CASCADE"), index=True)
    period_seq: Mapped[int] = mapped_column(Integer)
    load_min: Mapped[float] = mapped_column(Float, default=0.0)
    regular_min: Mapped[float] = mapped_column(Float, default=0.0)
    overtime_min: Mapped[float] = mapped_column(Float, default=0.0)
    plan_run: Mapped[PlanRun] = relationship(back_populates="loads")


class WorkOrder(Base):
    """A released share of the approved plan: one interval's production started in one period.

    ``good_qty`` is the good output of the last operation (units into the head's buffer),
    ``scrap_qty`` the units scrapped at any operation; both in units of the head item. The
    status follows ``lpms.domain.transitions.WORK_ORDER_TRANSITIONS``; ``version`` counts
    changes (every update adds 1) for optimistic checks by clients such as the web screens.
    """

    __tablename__ = "work_orders"
    __table_args__ = (
        UniqueConstraint("interval_code", "start_period_seq"),
        CheckConstraint("quantity > 0", name="quantity_positive"),
        CheckConstraint("good_qty >= 0", name="good_nonneg"),
        CheckConstraint("scrap_qty >= 0", name="scrap_nonneg"),
        CheckConstraint("due_period_seq >= start_period_seq", name="due_not_before_start"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(String(64), unique=True)
    plan_run_id: Mapped[int | None] = mapped_column(ForeignKey("plan_runs.id", ondelete="SET NULL"), index=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("items.id", ondelete="RESTRICT"), index=True)
    interval_code: Mapped[str] = mapped_column(String(128), default="")
    start_period_seq: Mapped[int] = mapped_column(Integer)  # planned start (the plan's production period)
    due_period_seq: Mapped[int] = mapped_column(Integer)  # start + the interval's lead time
    quantity: Mapped[float] = mapped_column(Float)
    good_qty: Mapped[float] = mapped_column(Float, default=0.0)
    scrap_qty: Mapped[float] = mapped_column(Float, default=0.0)
    status: Mapped[WorkOrderStatus] = mapped_column(enum_column(WorkOrderStatus), default=WorkOrderStatus.PLANNED)
    priority: Mapped[int] = mapped_column(Integer, default=0)  # higher first when components are allocated
    version: Mapped[int] = mapped_column(Integer, default=1)
    close_reason: Mapped[str | None] = mapped_column(Text)
    created_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[dt.datetime] = mapped_column()  # set by the service, from its ``now``
    updated_at: Mapped[dt.datetime] = mapped_column()
    finished_at: Mapped[dt.datetime | None] = mapped_column()  # completed, short-closed or cancelled
    item: Mapped[Item] = relationship()
    operations: Mapped[list[WorkOrderOperation]] = relationship(
        back_populates="work_order", cascade="all, delete-orphan", order_by="WorkOrderOperation.seq")
    components: Mapped[list[WorkOrderComponent]] = relationship(
        back_populates="work_order", cascade="all, delete-orphan", order_by="WorkOrderComponent.id")


class WorkOrderOperation(Base):
    """A routing step of a work order: the interval chain's steps numbered 10, 20, 30 ... in flow
    order. Minutes and quantities are per unit of the work order (its head item)."""

    __tablename__ = "work_order_operations"
    __table_args__ = (
        UniqueConstraint("work_order_id", "seq"),
        CheckConstraint("run_min >= 0", name="run_nonneg"),
        CheckConstraint("setup_min >= 0", name="setup_nonneg"),
        CheckConstraint("good_qty >= 0", name="good_nonneg"),
        CheckConstraint("scrap_qty >= 0", name="scrap_nonneg"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    work_order_id: Mapped[int] = mapped_column(ForeignKey("work_orders.id", ondelete="CASCADE"))
    seq: Mapped[int] = mapped_column(Integer)
    item_id: Mapped[int] = mapped_column(ForeignKey("items.id", ondelete="RESTRICT"))  # the chain member made here
    routing_seq: Mapped[int] = mapped_column(Integer)  # the member's routing sequence number
    work_center_id: Mapped[int] = mapped_column(ForeignKey("work_centers.id", ondelete="RESTRICT"), index=True)
    run_min: Mapped[float] = mapped_column(Float)  # per unit of the work order
    setup_min: Mapped[float] = mapped_column(Float, default=0.0)
    good_qty: Mapped[float] = mapped_column(Float, default=0.0)
    scrap_qty: Mapped[float] = mapped_column(Float, default=0.0)
    work_order: Mapped[WorkOrder] = relationship(back_populates="operations")
    work_center: Mapped[WorkCenter] = relationship()


class WorkOrderComponent(Base):
    """A buffered input of a work order's interval, per unit of the work order (the kit)."""

    __tablename__ = "work_order_components"
    __table_args__ = (
        UniqueConstraint("work_order_id", "item_id"),
        CheckConstraint("qty_per > 0", name="qty_per_positive"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    work_order_id: Mapped[int] = mapped_column(ForeignKey("work_orders.id", ondelete="CASCADE"))
    item_id: Mapped[int] = mapped_column(ForeignKey("items.id", ondelete="RESTRICT"), index=True)
    qty_per: Mapped[float] = mapped_column(Float)
    work_order: Mapped[WorkOrder] = relationship(back_populates="components")


class PeriodRelease(Base):
    """A period released as work orders: frozen against re-planning and never released again."""

    __tablename__ = "period_releases"
    id: Mapped[int] = mapped_column(primary_key=True)
    period_seq: Mapped[int] = mapped_column(Integer, unique=True)
    plan_run_id: Mapped[int | None] = mapped_column(ForeignKey("plan_runs.id", ondelete="SET NULL"), index=True)
    released_by: Mapped[str] = mapped_column(String(64))
    released_at: Mapped[dt.datetime] = mapped_column()


class CompletionReport(Base):
    """Append-only shop-floor event; ``client_key`` makes a retried report idempotent.

    Quantities are work-order units at one operation. A correction is a reversing event: it
    references the report it corrects (``corrects_id``, at most one correction per report)
    and carries the negated quantities."""

    __tablename__ = "completion_reports"
    __table_args__ = (
        CheckConstraint("(corrects_id IS NULL AND good_qty >= 0 AND scrap_qty >= 0) OR "
                        "(corrects_id IS NOT NULL AND good_qty <= 0 AND scrap_qty <= 0)", name="sign"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    client_key: Mapped[str] = mapped_column(String(64), unique=True)
    work_order_id: Mapped[int] = mapped_column(ForeignKey("work_orders.id", ondelete="RESTRICT"), index=True)
    operation_seq: Mapped[int] = mapped_column(Integer)
    good_qty: Mapped[float] = mapped_column(Float)
    scrap_qty: Mapped[float] = mapped_column(Float, default=0.0)
    corrects_id: Mapped[int | None] = mapped_column(ForeignKey("completion_reports.id", ondelete="RESTRICT"),
                                                    unique=True)
    reported_by: Mapped[str] = mapped_column(String(64))
    reported_at: Mapped[dt.datetime] = mapped_column()  # set by the service, from its ``now``
    note: Mapped[str] = mapped_column(Text, default="")


class DowntimeReport(Base):
    """Lost capacity of a work center in a period; idempotent by ``client_key``."""

    __tablename__ = "downtime_reports"
    __table_args__ = (CheckConstraint("minutes > 0", name="minutes_positive"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    client_key: Mapped[str] = mapped_column(String(64), unique=True)
    work_center_id: Mapped[int] = mapped_column(ForeignKey("work_centers.id", ondelete="RESTRICT"), index=True)
    work_order_id: Mapped[int | None] = mapped_column(ForeignKey("work_orders.id", ondelete="SET NULL"))
    period_seq: Mapped[int] = mapped_column(Integer, index=True)  # the period whose capacity it reduces
    started_at: Mapped[dt.datetime] = mapped_column()
    minutes: Mapped[float] = mapped_column(Float)
    reason: Mapped[str] = mapped_column(String(200))
    reported_by: Mapped[str] = mapped_column(String(64))
    reported_at: Mapped[dt.datetime] = mapped_column()  # set by the service, from its ``now``


class StockMove(Base):
    """The append-only stock ledger. ``quantity`` is signed: positive adds to on-hand (receipt,
    work-order output, upward adjustment, a returned issue), negative takes from it (issue to a
    work order, shipment, downward adjustment). On-hand of an item is its opening balance (the
    ``stock`` row) plus the sum of its moves, kept in ``stock_balances``."""

    __tablename__ = "stock_moves"
    __table_args__ = (CheckConstraint("quantity <> 0", name="quantity_nonzero"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("items.id", ondelete="RESTRICT"), index=True)
    kind: Mapped[StockMoveKind] = mapped_column(enum_column(StockMoveKind))
    quantity: Mapped[float] = mapped_column(Float)
    work_order_id: Mapped[int | None] = mapped_column(ForeignKey("work_orders.id", ondelete="RESTRICT"), index=True)
    completion_report_id: Mapped[int | None] = mapped_column(
        ForeignKey("completion_reports.id", ondelete="RESTRICT"), index=True)
    customer_order_id: Mapped[int | None] = mapped_column(
        ForeignKey("customer_orders.id", ondelete="RESTRICT"), index=True)
    reference: Mapped[str] = mapped_column(String(64), default="")  # e.g. the purchase's receipt number
    reason: Mapped[str] = mapped_column(Text, default="")
    posted_by: Mapped[str] = mapped_column(String(64))
    posted_at: Mapped[dt.datetime] = mapped_column()  # set by the service, from its ``now``


class StockBalance(Base):
    """The sum of an item's stock moves, kept with every move posted (in the move's transaction):
    on-hand is ``stock.on_hand`` (the opening balance) plus ``moved``, read in one row however
    long the ledger grows. No row: no moves."""

    __tablename__ = "stock_balances"
    item_id: Mapped[int] = mapped_column(ForeignKey("items.id", ondelete="CASCADE"), primary_key=True,
                                         autoincrement=False)
    moved: Mapped[float] = mapped_column(Float)


class AuditEntry(Base):
    __tablename__ = "audit_log"
    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[dt.datetime] = mapped_column(index=True)  # set by the service, from its ``now``
    actor: Mapped[str] = mapped_column(String(64))
    action: Mapped[str] = mapped_column(String(64))
    entity: Mapped[str] = mapped_column(String(64))
    entity_key: Mapped[str] = mapped_column(String(128), default="")
    detail: Mapped[dict[str, Any]] = mapped_column(default=dict)


# JobRun (job_runs) lives in lpms/db/models_jobs.py with the other tables of the jobs process.


# Models kept in their own modules (one per area); imported here so that Base.metadata, Alembic's
# autogenerate and ``alembic check`` see every table.
from lpms.db import models_jobs, models_process, models_replan, models_web  # noqa: E402,F401
