"""Repositories of process management: work orders, shop-floor reports, the stock ledger, and
the locks their services take. They never commit (the unit of work does) and return plain
records, never ORM objects.

Concurrency (docs/process.md): a service that changes a work order, an order line or stock
first calls ``TransactionLocks.begin`` (SQLite: the database's write lock, so writers queue
instead of failing; PostgreSQL: a transaction-level advisory lock when named, and a lock
timeout for row locks), then locks the rows it changes with ``lock=True`` (PostgreSQL:
``SELECT ... FOR NO KEY UPDATE``, which does not block foreign-key checks of other
transactions). Rows are locked in one order everywhere: work order or customer order first,
then items by id. A lock not granted within the timeout is ``Busy``.
"""
from __future__ import annotations

import datetime as dt
import functools
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, cast

from sqlalchemy import Select, Table, bindparam, func, insert, literal, null, select, text, union_all, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session, aliased

from lpms.db import locks
from lpms.db import models as m
from lpms.domain.enums import OrderStatus, PlanRunStatus, StockMoveKind, WorkOrderStatus
from lpms.domain.errors import NotFound
from lpms.domain.plant_time import CalendarPeriod


def _dialect(session: Session) -> str:
    return session.get_bind().dialect.name


def _locks_rows(session: Session) -> bool:
    """Whether ``lock=True`` reads lock rows: on PostgreSQL (FOR NO KEY UPDATE); SQLite writers
    are already serialised by the write lock ``TransactionLocks.begin`` took."""
    return _dialect(session) == "postgresql"


def _row_lock(stmt: Select[Any], session: Session, of: Any = None) -> Select[Any]:
    """Lock the selected rows (of the table ``of``, default all) until commit (``_locks_rows``)."""
    if _locks_rows(session):
        return stmt.with_for_update(key_share=True, of=of)
    return stmt


# --- statements of the completion report's path, built once ------------------------------
# (building a select with joins, aliases and a union costs more Python time than running it:
# the report path reuses these; SQLAlchemy caches their compiled form)


@functools.cache
def _wo_head(lock: bool) -> Select[Any]:
    w = m.WorkOrder
    stmt = (select(w.id, w.number, w.plan_run_id, m.Item.code, w.interval_code, w.start_period_seq,
                   w.due_period_seq, w.quantity, w.good_qty, w.scrap_qty, w.status, w.priority, w.version,
                   w.close_reason, w.created_by, w.created_at, w.updated_at, w.finished_at)
            .join(m.Item, m.Item.id == w.item_id).where(w.number == bindparam("number")))
    return stmt.with_for_update(key_share=True, of=w) if lock else stmt


@functools.cache
def _wo_lines() -> Select[Any]:
    """One row per operation (component columns NULL) and one per component (operation columns NULL)."""
    o, op_item, comp_item, c = (aliased(m.WorkOrderOperation), aliased(m.Item), aliased(m.Item),
                                aliased(m.WorkOrderComponent))
    op_rows = (select(literal(0).label("kind"), o.seq, op_item.code, o.routing_seq, m.WorkCenter.code.label("wc"),
                      o.run_min, o.setup_min, o.good_qty, o.scrap_qty, literal(0).label("cid"))
               .join(op_item, op_item.id == o.item_id).join(m.WorkCenter, m.WorkCenter.id == o.work_center_id)
               .where(o.work_order_id == bindparam("wo_id")))
    comp_rows = (select(literal(1), null(), comp_item.code, null(), null(), c.qty_per, null(), null(), null(), c.id)
                 .join(comp_item, comp_item.id == c.item_id).where(c.work_order_id == bindparam("wo_id")))
    both = union_all(op_rows, comp_rows).subquery()
    return select(both).order_by(both.c.kind, both.c.seq, both.c.cid)


@functools.cache
def _completion_select() -> Select[Any]:
    r, corrected = m.CompletionReport, aliased(m.CompletionReport)
    return (select(r.id, r.client_key, m.WorkOrder.number, r.operation_seq, r.good_qty, r.scrap_qty, r.corrects_id,
                   r.reported_by, r.reported_at, r.note, corrected.client_key)
            .join(m.WorkOrder, m.WorkOrder.id == r.work_order_id)
            .outerjoin(corrected, corrected.id == r.corrects_id))


@functools.cache
def _completion_by(column: str) -> Select[Any]:
    return _completion_select().where(getattr(m.CompletionReport, column) == bindparam("value"))


@functools.cache
def _set_operation() -> Any:
    op = _table(m.WorkOrderOperation).c
    return (update(_table(m.WorkOrderOperation)).where(op.work_order_id == bindparam("b_wo_id"), op.seq == bindparam("b_seq"))
            .values(good_qty=bindparam("b_good"), scrap_qty=bindparam("b_scrap")))


@functools.cache
def _update_wo(fields: tuple[str, ...]) -> Any:
    w = _table(m.WorkOrder)
    return (update(w).where(w.c.id == bindparam("b_wo_id"))
            .values(version=w.c.version + 1, updated_at=bindparam("b_now"), **{f: bindparam(f"b_{f}") for f in fields}))


def _table(model: Any) -> Table:
    """A mapped class's table: Core statements on it skip the ORM's bulk machinery."""
    return cast(Table, model.__table__)


@functools.cache
def _items_by_code(lock: bool) -> Select[Any]:
    stmt = (select(m.Item.id, m.Item.code).where(m.Item.code.in_(bindparam("codes", expanding=True)))
            .order_by(m.Item.id))
    return stmt.with_for_update(key_share=True) if lock else stmt


@functools.cache
def _on_hand() -> Select[Any]:
    opening = select(m.Stock.on_hand).where(m.Stock.item_id == m.Item.id).scalar_subquery()
    moved = select(m.StockBalance.moved).where(m.StockBalance.item_id == m.Item.id).scalar_subquery()
    return select(m.Item.code, opening, moved).where(m.Item.code.in_(bindparam("codes", expanding=True)))


@functools.cache
def _add_to_balance(dialect: str) -> Any:
    """Add ``b_moved`` to the item's balance (its row made on its first move)."""
    table = _table(m.StockBalance)
    ins = pg_insert(table) if dialect == "postgresql" else sqlite_insert(table)
    stmt = ins.values(item_id=bindparam("b_item"), moved=bindparam("b_moved"))
    return stmt.on_conflict_do_update(index_elements=[table.c.item_id],
                                      set_={"moved": table.c.moved + stmt.excluded.moved})


@functools.cache
def _insert_completion(dialect: str) -> Any:
    values: dict[str, Any] = {k: bindparam(k) for k in ("client_key", "work_order_id", "operation_seq", "good_qty", "scrap_qty",
                                          "corrects_id", "reported_by", "reported_at", "note")}
    table = _table(m.CompletionReport)
    if dialect == "postgresql":
        stmt: Any = pg_insert(table).values(values).on_conflict_do_nothing(index_elements=[table.c.client_key])
    elif dialect == "sqlite":
        stmt = sqlite_insert(table).values(values).on_conflict_do_nothing(index_elements=[table.c.client_key])
    else:
        stmt = insert(table).values(values)
    return stmt.returning(table.c.id)


@functools.cache
def _moves_select() -> Select[Any]:
    mv = m.StockMove
    return (select(mv.id, m.Item.code, mv.kind, mv.quantity, m.WorkOrder.number, mv.completion_report_id,
                   m.CustomerOrder.number, mv.reference, mv.reason, mv.posted_by, mv.posted_at)
            .join(m.Item, m.Item.id == mv.item_id)
            .outerjoin(m.WorkOrder, m.WorkOrder.id == mv.work_order_id)
            .outerjoin(m.CustomerOrder, m.CustomerOrder.id == mv.customer_order_id)
            .order_by(mv.id))


@functools.cache
def _moves_of_report() -> Select[Any]:
    return _moves_select().where(m.StockMove.completion_report_id == bindparam("report_id"))


# --- records ------------------------------------------------------------------------------


@dataclass(frozen=True)
class IntervalOutput:
    """The approved plan's production of one interval (its head item) started in one period."""

    interval: str
    head: str
    period: int
    quantity: float


@dataclass(frozen=True)
class NewOperation:
    seq: int
    item: str
    routing_seq: int
    work_center: str
    run_min: float
    setup_min: float


@dataclass(frozen=True)
class NewWorkOrder:
    """A work order to create (``WorkOrders.add_many``)."""

    number: str
    plan_run_id: int | None
    item: str
    interval: str
    start_period: int
    due_period: int
    quantity: float
    status: WorkOrderStatus
    operations: Sequence[NewOperation]
    components: Sequence[tuple[str, float]]


@dataclass(frozen=True)
class OperationRecord:
    seq: int
    item: str
    routing_seq: int
    work_center: str
    run_min: float  # per work-order unit
    setup_min: float
    good: float
    scrap: float


@dataclass(frozen=True)
class ComponentRecord:
    item: str
    qty_per: float  # per work-order unit


@dataclass(frozen=True)
class WorkOrderRecord:
    id: int
    number: str
    plan_run_id: int | None
    item: str
    interval: str
    start_period: int
    due_period: int
    quantity: float
    good: float
    scrap: float
    status: WorkOrderStatus
    priority: int
    version: int
    close_reason: str | None
    created_by: str
    created_at: dt.datetime
    updated_at: dt.datetime
    finished_at: dt.datetime | None
    operations: tuple[OperationRecord, ...]
    components: tuple[ComponentRecord, ...]


@dataclass(frozen=True)
class CompletionRecord:
    id: int
    client_key: str
    work_order: str
    operation_seq: int
    good: float
    scrap: float
    corrects_id: int | None
    reported_by: str
    reported_at: dt.datetime
    note: str
    corrects_key: str | None = None  # the client key of the report a correction reverses


@dataclass(frozen=True)
class DowntimeRecord:
    id: int
    client_key: str
    work_center: str
    work_order: str | None
    period_seq: int
    started_at: dt.datetime
    minutes: float
    reason: str
    reported_by: str
    reported_at: dt.datetime


@dataclass(frozen=True)
class StockMoveRecord:
    id: int
    item: str
    kind: StockMoveKind
    quantity: float
    work_order: str | None
    completion_report_id: int | None
    customer_order: str | None
    reference: str
    reason: str
    posted_by: str
    posted_at: dt.datetime


@dataclass(frozen=True)
class OrderRecord:
    id: int
    number: str
    item: str
    quantity: float
    status: OrderStatus
    shipped: float  # from the ledger's shipment moves


@dataclass(frozen=True)
class StockLevel:
    item: str
    opening: float
    moves: float
    on_hand: float


@dataclass(frozen=True)
class ReportClaim:
    """The start of a completion report (``ShopReports.claim_completion``)."""

    work_order: WorkOrderRecord | None  # None: no such work order; locked until commit unless ``existing``
    existing: CompletionRecord | None = None  # the report that has the key already (a resend), if any
    existing_moves: tuple[tuple[str, StockMoveKind, float], ...] = ()  # its stock moves (item, kind, quantity)


@dataclass(frozen=True)
class CompletionWrites:
    """What an accepted completion report changes (``ShopReports.record_completion``)."""

    work_order: WorkOrderRecord  # as claimed (before the report)
    client_key: str  # the report
    operation_seq: int
    report_good: float
    report_scrap: float
    reported_by: str
    reported_at: dt.datetime
    op_good: float  # the operation's new totals
    op_scrap: float
    good: float  # the order's new totals, status and finish time
    scrap: float
    status: WorkOrderStatus
    finished_at: dt.datetime | None
    moves: tuple[tuple[str, StockMoveKind, float], ...]  # signed (an issue takes: negative)
    take: tuple[str, ...]  # items whose stock the report takes: locked, on-hand returned
    actor: str
    now: dt.datetime
    audit_detail: dict[str, Any]


@dataclass(frozen=True)
class RecordedCompletion:
    report: CompletionRecord
    on_hand: dict[str, float]  # of the ``take`` items before the report's moves, read under their locks


# --- locks --------------------------------------------------------------------------------


class TransactionLocks:
    def __init__(self, session: Session) -> None:
        self.session = session

    def begin(self, name: str | None, *, timeout: float, busy_message: str) -> None:
        """The first statement of a writing transaction. SQLite: take the database's write lock
        (``name`` is ignored: SQLite has one writer). PostgreSQL: take the advisory lock ``name``
        (when given) and let row locks wait at most ``timeout`` seconds. Raises Busy."""
        if _dialect(self.session) == "postgresql":
            ms = str(max(int(timeout * 1000), 1))
            if name is None:
                self.session.execute(text("SELECT set_config('lock_timeout', :ms, true)"), {"ms": ms})
                return
            # the lock timeout and a first try of the advisory lock in one round trip; when the
            # lock is taken, wait for it as locks.acquire does
            got = self.session.execute(text("SELECT set_config('lock_timeout', :ms, true), "
                                            "pg_try_advisory_xact_lock(:key)"),
                                       {"ms": ms, "key": locks.lock_key(name)}).one()[1]
            if not got:
                locks.acquire(self.session, name, timeout=timeout, busy_message=busy_message)
        else:
            locks.acquire(self.session, name or "lpms.write", timeout=timeout, busy_message=busy_message)


# --- work orders --------------------------------------------------------------------------


class WorkOrders:
    """Work orders with their operations and components, released periods, the approved plan."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self._item_id: dict[str, int] = {}  # codes -> ids, read once per transaction by add()
        self._wc_id: dict[str, int] = {}

    def _codes(self, item_ids: Iterable[int] | None = None,
               wc_ids: Iterable[int] | None = None) -> tuple[dict[int, str], dict[int, str]]:
        """Codes of items and work centers (all, or those with the ids given)."""
        s = self.session
        items = select(m.Item.id, m.Item.code)
        wcs = select(m.WorkCenter.id, m.WorkCenter.code)
        if item_ids is not None:
            items = items.where(m.Item.id.in_(set(item_ids)))
        if wc_ids is not None:
            wcs = wcs.where(m.WorkCenter.id.in_(set(wc_ids)))
        return dict(s.execute(items).tuples().all()), dict(s.execute(wcs).tuples().all())

    def periods(self) -> list[CalendarPeriod]:
        return [CalendarPeriod(p.seq, p.bucket, p.start_date, p.end_date)
                for p in self.session.scalars(select(m.Period).order_by(m.Period.seq))]

    def approved_run_ids(self) -> list[int]:
        """Runs whose status is ``approved`` (normally one), oldest first."""
        return list(self.session.scalars(select(m.PlanRun.id).where(m.PlanRun.status == PlanRunStatus.APPROVED)
                                         .order_by(m.PlanRun.id)))

    def run_horizon(self, run_id: int) -> int:
        """The last period a run planned (its loads cover every period; else its last line), 0 if none."""
        s = self.session
        last = s.scalar(select(func.max(m.PlanLoad.period_seq)).where(m.PlanLoad.plan_run_id == run_id))
        if last is None:
            last = s.scalar(select(func.max(m.PlanLine.period_seq)).where(m.PlanLine.plan_run_id == run_id))
        return int(last or 0)

    def interval_output(self, run_id: int, periods: Iterable[int]) -> list[IntervalOutput]:
        """A run's production per interval and start period: the line of each interval's head
        item (the line whose item is the head named by the interval code ``I:<head>``)."""
        wanted = sorted(set(periods))
        if not wanted:
            return []
        rows = self.session.execute(
            select(m.PlanLine.interval_code, m.Item.code, m.PlanLine.period_seq, m.PlanLine.production)
            .join(m.Item, m.Item.id == m.PlanLine.item_id)
            .where(m.PlanLine.plan_run_id == run_id, m.PlanLine.period_seq.in_(wanted), m.PlanLine.production > 0)
            .order_by(m.PlanLine.period_seq, m.PlanLine.interval_code)).tuples()
        return [IntervalOutput(iv, code, seq, qty) for iv, code, seq, qty in rows if iv == f"I:{code}"]

    def units(self, codes: Iterable[str]) -> dict[str, str]:
        """Item code -> its unit of measure."""
        wanted = sorted(set(codes))
        if not wanted:
            return {}
        return dict(self.session.execute(select(m.Item.code, m.Item.unit).where(m.Item.code.in_(wanted))).tuples().all())

    def released_periods(self) -> dict[int, int | None]:
        """Released (frozen) period -> the plan run it was released from."""
        return dict(self.session.execute(select(m.PeriodRelease.period_seq, m.PeriodRelease.plan_run_id)).tuples().all())

    def add_release(self, period_seq: int, plan_run_id: int | None, *, released_by: str,
                    released_at: dt.datetime) -> None:
        self.session.add(m.PeriodRelease(period_seq=period_seq, plan_run_id=plan_run_id, released_by=released_by,
                                         released_at=released_at))

    def count_in_period(self, period_seq: int) -> int:
        return self.counts_in_periods([period_seq]).get(period_seq, 0)

    def counts_in_periods(self, period_seqs: Iterable[int]) -> dict[int, int]:
        """Work orders per start period (the periods named; 0 when none), in one query."""
        wanted = sorted(set(period_seqs))
        result = dict.fromkeys(wanted, 0)
        if wanted:
            rows = self.session.execute(
                select(m.WorkOrder.start_period_seq, func.count()).where(m.WorkOrder.start_period_seq.in_(wanted))
                .group_by(m.WorkOrder.start_period_seq)).tuples()
            result.update({int(seq): int(n) for seq, n in rows})
        return result

    def add(self, *, number: str, plan_run_id: int | None, item: str, interval: str, start_period: int,
            due_period: int, quantity: float, status: WorkOrderStatus, operations: Sequence[NewOperation],
            components: Sequence[tuple[str, float]], created_by: str, now: dt.datetime) -> int:
        new = NewWorkOrder(number, plan_run_id, item, interval, start_period, due_period, quantity, status,
                           operations, components)
        return self.add_many([new], created_by=created_by, now=now)[0].id

    def add_many(self, orders: Sequence[NewWorkOrder], *, created_by: str, now: dt.datetime) -> list[WorkOrderRecord]:
        """Create work orders with their operations and components: three multi-row inserts in
        all (work orders with RETURNING ids, then operations, then components), whatever their
        number. Returns the new orders as records, in the order given."""
        if not orders:
            return []
        s = self.session
        codes = {c for o in orders for c in (o.item, *(op.item for op in o.operations), *(c for c, _ in o.components))}
        wcs = {op.work_center for o in orders for op in o.operations}
        if not codes <= self._item_id.keys() or not wcs <= self._wc_id.keys():
            self._item_id = dict(s.execute(select(m.Item.code, m.Item.id)).tuples().all())
            self._wc_id = dict(s.execute(select(m.WorkCenter.code, m.WorkCenter.id)).tuples().all())
        item_id, wc_id = self._item_id, self._wc_id
        missing = sorted(codes - item_id.keys()) + sorted(wcs - wc_id.keys())
        if missing:
            raise NotFound(f"item or work center {', '.join(missing)} does not exist")
        ids = s.execute(
            insert(m.WorkOrder).returning(m.WorkOrder.id, sort_by_parameter_order=True),
            [{"number": o.number, "plan_run_id": o.plan_run_id, "item_id": item_id[o.item],
              "interval_code": o.interval, "start_period_seq": o.start_period, "due_period_seq": o.due_period,
              "quantity": o.quantity, "good_qty": 0.0, "scrap_qty": 0.0, "status": o.status, "priority": 0,
              "version": 1, "close_reason": None, "created_by": created_by, "created_at": now, "updated_at": now,
              "finished_at": None} for o in orders]).scalars().all()
        ops = [{"work_order_id": wo_id, "seq": op.seq, "item_id": item_id[op.item], "routing_seq": op.routing_seq,
                "work_center_id": wc_id[op.work_center], "run_min": op.run_min, "setup_min": op.setup_min,
                "good_qty": 0.0, "scrap_qty": 0.0} for wo_id, o in zip(ids, orders, strict=True) for op in o.operations]
        comps = [{"work_order_id": wo_id, "item_id": item_id[code], "qty_per": q}
                 for wo_id, o in zip(ids, orders, strict=True) for code, q in o.components]
        if ops:
            s.execute(insert(m.WorkOrderOperation), ops)
        if comps:
            s.execute(insert(m.WorkOrderComponent), comps)
        return [WorkOrderRecord(
            wo_id, o.number, o.plan_run_id, o.item, o.interval, o.start_period, o.due_period, o.quantity, 0.0, 0.0,
            o.status, 0, 1, None, created_by, now, now, None,
            tuple(OperationRecord(op.seq, op.item, op.routing_seq, op.work_center, op.run_min, op.setup_min, 0.0, 0.0)
                  for op in o.operations),
            tuple(ComponentRecord(code, q) for code, q in o.components)) for wo_id, o in zip(ids, orders, strict=True)]

    def get(self, number: str, *, lock: bool = False) -> WorkOrderRecord:
        """The work order; ``lock`` holds its row until commit (PostgreSQL). Raises NotFound.

        Two statements: the order's row (locked first), then its operations and components
        together. They must stay two: a statement that waits for the row lock reads the other
        tables as they were when it started, so the operations' totals are read only once the
        lock is held."""
        s = self.session
        found = s.execute(_wo_head(lock and _locks_rows(s)), {"number": number}).first()
        if found is None:
            raise NotFound(f"work order {number} does not exist")
        wo_id = found[0]
        rows = s.execute(_wo_lines(), {"wo_id": wo_id}).tuples().all()
        ops = tuple(OperationRecord(int(r[1]), r[2], int(r[3]), r[4], float(r[5]), float(r[6]), float(r[7]),
                                    float(r[8])) for r in rows if r[0] == 0)
        comps = tuple(ComponentRecord(r[2], float(r[5])) for r in rows if r[0] == 1)
        (_, num, run, item, interval, start, due, qty, good, scrap, status, priority, version, reason, by, created,
         updated, finished) = found
        return WorkOrderRecord(wo_id, num, run, item, interval, start, due, qty, good, scrap, status, priority, version,
                               reason, by, created, updated, finished, ops, comps)

    def list(self, *, status: WorkOrderStatus | None = None, work_center: str | None = None) -> list[WorkOrderRecord]:
        """Work orders by start period and number, optionally of one status or with an operation
        on one work center."""
        s = self.session
        stmt = select(m.WorkOrder).order_by(m.WorkOrder.start_period_seq, m.WorkOrder.number)
        if status is not None:
            stmt = stmt.where(m.WorkOrder.status == status)
        if work_center is not None:
            on_wc = (select(m.WorkOrderOperation.work_order_id).join(m.WorkCenter)
                     .where(m.WorkCenter.code == work_center))
            stmt = stmt.where(m.WorkOrder.id.in_(on_wc))
        orders = list(s.scalars(stmt))
        ids = [wo.id for wo in orders]
        ops: dict[int, list[m.WorkOrderOperation]] = defaultdict(list)
        comps: dict[int, list[m.WorkOrderComponent]] = defaultdict(list)
        for chunk in _chunks(ids):
            for op in s.scalars(select(m.WorkOrderOperation).where(m.WorkOrderOperation.work_order_id.in_(chunk))):
                ops[op.work_order_id].append(op)
            for c in s.scalars(select(m.WorkOrderComponent).where(m.WorkOrderComponent.work_order_id.in_(chunk))
                               .order_by(m.WorkOrderComponent.id)):
                comps[c.work_order_id].append(c)
        item_code, wc_code = self._codes()
        return [WorkOrderRecord(
            wo.id, wo.number, wo.plan_run_id, item_code[wo.item_id], wo.interval_code, wo.start_period_seq,
            wo.due_period_seq, wo.quantity, wo.good_qty, wo.scrap_qty, wo.status, wo.priority, wo.version,
            wo.close_reason, wo.created_by, wo.created_at, wo.updated_at, wo.finished_at,
            tuple(OperationRecord(o.seq, item_code[o.item_id], o.routing_seq, wc_code[o.work_center_id], o.run_min,
                                  o.setup_min, o.good_qty, o.scrap_qty)
                  for o in sorted(ops[wo.id], key=lambda o: o.seq)),
            tuple(ComponentRecord(item_code[c.item_id], c.qty_per) for c in comps[wo.id])) for wo in orders]

    def work_center_exists(self, code: str) -> bool:
        return self.session.scalar(select(m.WorkCenter.id).where(m.WorkCenter.code == code)) is not None

    def update(self, work_order_id: int, *, now: dt.datetime, **fields: Any) -> None:
        """Set good_qty, scrap_qty, status, close_reason or finished_at; adds 1 to the version."""
        for name in fields:
            if name not in ("good_qty", "scrap_qty", "status", "close_reason", "finished_at"):
                raise AttributeError(name)
        names = tuple(sorted(fields))
        done = self.session.execute(_update_wo(names), {"b_wo_id": work_order_id, "b_now": now,
                                                        **{f"b_{f}": fields[f] for f in names}})
        if getattr(done, "rowcount", 1) != 1:
            raise NotFound(f"work order id {work_order_id} does not exist")

    def set_operation(self, work_order_id: int, seq: int, *, good: float, scrap: float) -> None:
        done = self.session.execute(_set_operation(), {"b_wo_id": work_order_id, "b_seq": seq, "b_good": good,
                                                       "b_scrap": scrap})
        if getattr(done, "rowcount", 1) != 1:
            raise NotFound(f"operation {seq} of work order id {work_order_id} does not exist")

    def report_count(self, work_order_id: int) -> int:
        return int(self.session.scalar(select(func.count()).select_from(m.CompletionReport)
                                       .where(m.CompletionReport.work_order_id == work_order_id)) or 0)


def _utc(value: dt.datetime) -> dt.datetime:
    """A timestamptz read by the driver, in UTC (as ``models.UtcDateTime`` hands it back)."""
    return value.astimezone(dt.UTC)


def _chunks(ids: Sequence[int], size: int = 500) -> Iterable[Sequence[int]]:
    for k in range(0, len(ids), size):
        yield ids[k:k + size]


# --- shop-floor reports -------------------------------------------------------------------


class ShopReports:
    """Completion reports (with corrections) and downtime reports. Append-only."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self._item_ids: dict[str, int] = {}  # the claimed work order's items (PostgreSQL path)
        self._held: tuple[int, ...] = ()  # the items the claim locked (PostgreSQL path)

    def claim_completion(self, *, client_key: str, work_order: str, lock_timeout: float,
                         busy_message: str, operation: int | None = None) -> ReportClaim:
        """The first statements of a completion report's transaction: the write lock or lock
        timeout (``TransactionLocks.begin``); the report that has the key already, if any (then
        the work order is read without a lock); else the work order locked until commit and read.
        PostgreSQL: one statement (``lpms.db.completion_pg``), which also locks the order's
        component items when ``operation`` is its first (where a report issues them), so that
        ``record_completion`` reads their on-hand with its writes. Raises Busy."""
        self._held = ()
        if _dialect(self.session) != "postgresql":
            TransactionLocks(self.session).begin(None, timeout=lock_timeout, busy_message=busy_message)
            before = self.completion_by_key(client_key)
            try:
                found: WorkOrderRecord | None = WorkOrders(self.session).get(work_order, lock=before is None)
            except NotFound:
                found = None
            moves = () if before is None else tuple(
                (mv.item, mv.kind, mv.quantity) for mv in StockLedger(self.session).moves(completion_report_id=before.id))
            return ReportClaim(found, before, moves)
        from lpms.db import completion_pg

        rows = completion_pg.claim(
            self.session, lock_timeout_ms=max(int(lock_timeout * 1000), 1), lock_rows=_locks_rows(self.session),
            number=work_order, key=client_key, seq=-1 if operation is None else operation)
        wo = None if rows.head is None else self._claimed(rows)
        self._held = rows.held_items
        if rows.before is None:
            return ReportClaim(wo)
        b = rows.before
        existing = self._completion((*b[:8], _utc(b[8]), *b[9:11]))
        return ReportClaim(wo, existing, tuple((code, StockMoveKind(kind), q) for code, kind, q in rows.before_moves))

    def _claimed(self, rows: Any) -> WorkOrderRecord:
        """The claimed work order's record from the report path's rows (and its items' ids)."""
        ops = tuple(OperationRecord(int(seq), item, int(routing), wc, float(run), float(setup), float(good),
                                    float(scrap)) for seq, item, routing, wc, run, setup, good, scrap, _ in rows.operations)
        comps = tuple(ComponentRecord(item, float(qty_per)) for item, qty_per, _ in rows.components)
        self._item_ids = {item: int(item_id) for item, _, item_id in rows.components}
        head = rows.head
        self._item_ids[head[3]] = int(head[18])
        (wo_id, num, run, item, interval, start, due, qty, wo_good, wo_scrap, status, priority, version, reason, by,
         created, updated, finished, _) = head
        return WorkOrderRecord(int(wo_id), num, run, item, interval, start, due, float(qty), float(wo_good),
                               float(wo_scrap), WorkOrderStatus(status), priority, version, reason, by, _utc(created),
                               _utc(updated), None if finished is None else _utc(finished), ops, comps)

    def record_completion(self, writes: CompletionWrites) -> RecordedCompletion | None:
        """Store an accepted report unless a report with its key exists (a send of the same key
        committed meanwhile: None, nothing written): the report, the operation's and the order's
        totals (the version + 1), the audit row and the stock moves; lock the ``take`` items (id
        order, until commit) and read their on-hand once the locks are held. PostgreSQL: one
        statement for the writes and the on-hand of the items the claim locked."""
        w = writes
        wo, detail = w.work_order, w.audit_detail
        if _dialect(self.session) != "postgresql":
            report = self.add_completion_if_new(
                client_key=w.client_key, work_order_id=wo.id, work_order=wo.number, operation_seq=w.operation_seq,
                good=w.report_good, scrap=w.report_scrap, reported_by=w.reported_by, reported_at=w.reported_at)
            if report is None:
                return None
            works = WorkOrders(self.session)
            works.set_operation(wo.id, w.operation_seq, good=w.op_good, scrap=w.op_scrap)
            works.update(wo.id, now=w.now, good_qty=w.good, scrap_qty=w.scrap, status=w.status,
                         finished_at=w.finished_at)
            from lpms.db.repositories import AuditLog

            AuditLog(self.session).add(actor=w.actor, action="report", entity="completion_report",
                                       entity_key=w.client_key, at=w.now, detail=detail)
            ledger = StockLedger(self.session)
            on_hand = ledger.lock_on_hand(w.take)
            ledger.add_moves(list(w.moves), work_order_id=wo.id, completion_report_id=report.id,
                             posted_by=w.actor, posted_at=w.now)
            return RecordedCompletion(report, on_hand)
        from lpms.db import completion_pg

        codes = {item for item, _, _ in w.moves} | set(w.take)
        if not codes <= self._item_ids.keys():
            self._item_ids.update(StockLedger(self.session).item_ids(codes - self._item_ids.keys()))
        ids = self._item_ids
        report_id, counts, before = completion_pg.record(
            self.session, lock_rows=_locks_rows(self.session), key=w.client_key, wo_id=wo.id, seq=w.operation_seq,
            report_good=w.report_good, report_scrap=w.report_scrap, reported_by=w.reported_by,
            reported_at=w.reported_at, op_good=w.op_good, op_scrap=w.op_scrap, good=w.good, scrap=w.scrap,
            status=w.status.value, finished=w.finished_at, now=w.now, actor=w.actor, action="report",
            entity="completion_report", detail=detail,
            moves=[(ids[item], kind.value, qty) for item, kind, qty in w.moves], take=[ids[c] for c in w.take],
            held=self._held)
        if report_id is None:
            return None
        if counts[:2] != (1, 1):
            raise NotFound(f"work order {wo.number} or its operation {w.operation_seq} does not exist")
        report = CompletionRecord(report_id, w.client_key, wo.number, w.operation_seq, w.report_good, w.report_scrap,
                                  None, w.reported_by, w.reported_at, "")
        return RecordedCompletion(report, {c: before.get(ids[c], 0.0) for c in w.take})

    @staticmethod
    def _completion(row: Any) -> CompletionRecord:
        (report_id, key, number, seq, good, scrap, corrects_id, by, at, note, corrects_key) = row
        return CompletionRecord(report_id, key, number, seq, good, scrap, corrects_id, by, at, note, corrects_key)

    def _one(self, column: str, value: Any) -> CompletionRecord | None:
        found = self.session.execute(_completion_by(column), {"value": value}).first()
        return None if found is None else self._completion(found)

    def completion_by_key(self, client_key: str) -> CompletionRecord | None:
        return self._one("client_key", client_key)

    def completion_by_id(self, report_id: int) -> CompletionRecord | None:
        return self._one("id", report_id)

    def correction_of(self, report_id: int) -> CompletionRecord | None:
        return self._one("corrects_id", report_id)

    def add_completion(self, *, client_key: str, work_order_id: int, work_order: str, operation_seq: int,
                       good: float, scrap: float, reported_by: str, reported_at: dt.datetime,
                       corrects: CompletionRecord | None = None, note: str = "") -> CompletionRecord:
        record = self.add_completion_if_new(client_key=client_key, work_order_id=work_order_id, work_order=work_order,
                                            operation_seq=operation_seq, good=good, scrap=scrap,
                                            reported_by=reported_by, reported_at=reported_at, corrects=corrects,
                                            note=note, skip_existing=False)
        assert record is not None
        return record

    def add_completion_if_new(self, *, client_key: str, work_order_id: int, work_order: str, operation_seq: int,
                              good: float, scrap: float, reported_by: str, reported_at: dt.datetime,
                              corrects: CompletionRecord | None = None, note: str = "",
                              skip_existing: bool = True) -> CompletionRecord | None:
        """Insert a report in one statement; None when ``skip_existing`` and a report with the key
        exists (``INSERT ... ON CONFLICT (client_key) DO NOTHING``: a transaction inserting the
        same key that has not committed yet is waited for)."""
        values = {"client_key": client_key, "work_order_id": work_order_id, "operation_seq": operation_seq,
                  "good_qty": good, "scrap_qty": scrap, "corrects_id": corrects.id if corrects else None,
                  "reported_by": reported_by, "reported_at": reported_at, "note": note}
        stmt = _insert_completion(_dialect(self.session) if skip_existing else "")
        report_id = self.session.execute(stmt, values).scalar()
        if report_id is None:
            return None
        return CompletionRecord(int(report_id), client_key, work_order, operation_seq, good, scrap,
                                corrects.id if corrects else None, reported_by, reported_at, note,
                                corrects.client_key if corrects else None)

    def completions(self, work_order: str | None = None) -> list[CompletionRecord]:
        stmt = _completion_select().order_by(m.CompletionReport.id)
        if work_order is not None:
            stmt = stmt.where(m.WorkOrder.number == work_order)
        return [self._completion(r) for r in self.session.execute(stmt)]

    def _downtime(self, row: m.DowntimeReport) -> DowntimeRecord:
        s = self.session
        wc = s.scalar(select(m.WorkCenter.code).where(m.WorkCenter.id == row.work_center_id))
        wo = (None if row.work_order_id is None
              else s.scalar(select(m.WorkOrder.number).where(m.WorkOrder.id == row.work_order_id)))
        return DowntimeRecord(row.id, row.client_key, str(wc), wo, row.period_seq, row.started_at, row.minutes,
                              row.reason, row.reported_by, row.reported_at)

    def downtime_by_key(self, client_key: str) -> DowntimeRecord | None:
        row = self.session.scalar(select(m.DowntimeReport).where(m.DowntimeReport.client_key == client_key))
        return None if row is None else self._downtime(row)

    def add_downtime(self, *, client_key: str, work_center: str, work_order: str | None, period_seq: int,
                     started_at: dt.datetime, minutes: float, reason: str, reported_by: str,
                     reported_at: dt.datetime) -> DowntimeRecord:
        s = self.session
        wc_id = s.scalar(select(m.WorkCenter.id).where(m.WorkCenter.code == work_center))
        if wc_id is None:
            raise NotFound(f"work center {work_center} does not exist")
        wo_id = None
        if work_order is not None:
            wo_id = s.scalar(select(m.WorkOrder.id).where(m.WorkOrder.number == work_order))
            if wo_id is None:
                raise NotFound(f"work order {work_order} does not exist")
        row = m.DowntimeReport(client_key=client_key, work_center_id=wc_id, work_order_id=wo_id, period_seq=period_seq,
                               started_at=started_at, minutes=minutes, reason=reason, reported_by=reported_by,
                               reported_at=reported_at)
        s.add(row)
        s.flush()
        return self._downtime(row)

    def downtime_minutes(self, period_seq: int) -> dict[str, float]:
        """Lost minutes per work center in a period (the capacity a re-plan must not count on)."""
        rows = self.session.execute(
            select(m.WorkCenter.code, func.sum(m.DowntimeReport.minutes))
            .join(m.WorkCenter, m.WorkCenter.id == m.DowntimeReport.work_center_id)
            .where(m.DowntimeReport.period_seq == period_seq).group_by(m.WorkCenter.code)).tuples()
        return {code: float(total or 0.0) for code, total in rows}

    def capacity(self, work_center: str, period_seq: int) -> tuple[float, float] | None:
        """(regular, overtime) minutes of a work center in a period; None without a capacity row."""
        row = self.session.execute(
            select(m.Capacity.regular_min, m.Capacity.overtime_min)
            .join(m.WorkCenter, m.WorkCenter.id == m.Capacity.work_center_id)
            .join(m.Period, m.Period.id == m.Capacity.period_id)
            .where(m.WorkCenter.code == work_center, m.Period.seq == period_seq)).first()
        return None if row is None else (float(row[0]), float(row[1]))


# --- the stock ledger ---------------------------------------------------------------------


class StockLedger:
    """Stock moves (append-only), on-hand derived from them (the opening balance plus the
    item's running sum of moves, ``stock_balances``, kept here with every move), shipments
    against order lines."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self._ids: dict[str, int] = {}  # item codes seen in this transaction

    def item_ids(self, codes: Iterable[str], *, lock: bool = False) -> dict[str, int]:
        """Item code -> id; ``lock`` holds the item rows (in id order) until commit, so that two
        transactions taking stock of the same item queue. Raises NotFound for an unknown code."""
        wanted = sorted(set(codes))
        if not wanted:
            return {}
        if not lock and all(c in self._ids for c in wanted):
            return {c: self._ids[c] for c in wanted}
        stmt = _items_by_code(lock and _locks_rows(self.session))
        found = {code: item_id for item_id, code in self.session.execute(stmt, {"codes": wanted}).tuples()}
        self._ids.update(found)
        missing = [c for c in wanted if c not in found]
        if missing:
            raise NotFound(f"item {', '.join(missing)} does not exist")
        return found

    def levels(self, codes: Iterable[str] | None = None) -> dict[str, StockLevel]:
        """Opening balance, sum of moves and on-hand per item (every item with either, or the
        items named; an item with neither is at 0)."""
        s = self.session
        wanted = None if codes is None else sorted(set(codes))
        opening_q = select(m.Item.code, m.Stock.on_hand).join(m.Item, m.Item.id == m.Stock.item_id)
        moves_q = select(m.Item.code, m.StockBalance.moved).join(m.Item, m.Item.id == m.StockBalance.item_id)
        if wanted is not None:
            opening_q = opening_q.where(m.Item.code.in_(wanted))
            moves_q = moves_q.where(m.Item.code.in_(wanted))
        opening = {code: float(q) for code, q in s.execute(opening_q).tuples()}
        moved = {code: float(q or 0.0) for code, q in s.execute(moves_q).tuples()}
        names = sorted(set(opening) | set(moved) | set(wanted or ()))
        return {c: StockLevel(c, opening.get(c, 0.0), moved.get(c, 0.0),
                              round(opening.get(c, 0.0) + moved.get(c, 0.0), 9) + 0.0) for c in names}

    def lock_on_hand(self, codes: Iterable[str]) -> dict[str, float]:
        """Hold the item rows (in id order) until commit, then give their on-hand. Two statements
        on purpose: a statement that waits for a row lock reads the ledger as it was when it
        started (READ COMMITTED), so on-hand is read only once the locks are held. Raises NotFound."""
        wanted = sorted(set(codes))
        if not wanted:
            return {}
        self.item_ids(wanted, lock=True)
        return self.on_hand(wanted)

    def add_moves(self, moves: Sequence[tuple[str, StockMoveKind, float]], *, posted_by: str, posted_at: dt.datetime,
                  work_order_id: int | None = None, completion_report_id: int | None = None) -> None:
        """Several moves (item, kind, quantity) of one work order or report in one statement."""
        if not moves:
            return
        ids = self.item_ids([item for item, _, _ in moves])
        self.session.execute(insert(_table(m.StockMove)), [  # Core: no ORM bulk-insert machinery
            {"item_id": ids[item], "kind": kind, "quantity": qty, "work_order_id": work_order_id,
             "completion_report_id": completion_report_id, "customer_order_id": None, "reference": "",
             "reason": "", "posted_by": posted_by, "posted_at": posted_at} for item, kind, qty in moves])
        deltas: dict[int, float] = {}
        for item, _, qty in moves:
            deltas[ids[item]] = deltas.get(ids[item], 0.0) + qty
        self._add_to_balances(deltas)

    def _add_to_balances(self, deltas: dict[int, float]) -> None:
        """Keep ``stock_balances`` equal to the sum of each item's moves, in id order (services
        post a transaction's moves in one call, after locking the items they take: two
        transactions moving the same items queue for their balance rows, never in a cycle)."""
        self.session.execute(_add_to_balance(_dialect(self.session)),
                             [{"b_item": item_id, "b_moved": qty} for item_id, qty in sorted(deltas.items())])

    def on_hand(self, codes: Iterable[str] | None = None) -> dict[str, float]:
        """On-hand per item (every item with stock or moves, or the items named, in one query)."""
        if codes is None:
            return {c: lvl.on_hand for c, lvl in self.levels().items()}
        wanted = sorted(set(codes))
        if not wanted:
            return {}
        rows = self.session.execute(_on_hand(), {"codes": wanted}).tuples()
        result = {c: 0.0 for c in wanted}
        for code, start, delta in rows:
            result[code] = round(float(start or 0.0) + float(delta or 0.0), 9) + 0.0
        return result

    def add_move(self, *, item: str, kind: StockMoveKind, quantity: float, posted_by: str, posted_at: dt.datetime,
                 work_order_id: int | None = None, completion_report_id: int | None = None,
                 customer_order_id: int | None = None, reference: str = "", reason: str = "") -> int:
        item_id = self.item_ids([item])[item]
        row = m.StockMove(item_id=item_id, kind=kind, quantity=quantity, work_order_id=work_order_id,
                          completion_report_id=completion_report_id, customer_order_id=customer_order_id,
                          reference=reference, reason=reason, posted_by=posted_by, posted_at=posted_at)
        self.session.add(row)
        self.session.flush()
        self._add_to_balances({item_id: quantity})
        return row.id

    def moves(self, *, item: str | None = None, completion_report_id: int | None = None,
              work_order: str | None = None) -> list[StockMoveRecord]:
        """Stock moves in the order posted, optionally of one item, report or work order (one query)."""
        if completion_report_id is not None and item is None and work_order is None:
            rows = self.session.execute(_moves_of_report(), {"report_id": completion_report_id}).tuples().all()
        else:
            stmt = _moves_select()
            if item is not None:
                stmt = stmt.where(m.StockMove.item_id == self.item_ids([item])[item])
            if completion_report_id is not None:
                stmt = stmt.where(m.StockMove.completion_report_id == completion_report_id)
            if work_order is not None:
                stmt = stmt.where(m.WorkOrder.number == work_order)
            rows = self.session.execute(stmt).tuples().all()
        return [StockMoveRecord(*r) for r in rows]

    def issued(self, work_order_id: int) -> dict[str, float]:
        """Units of each component issued to a work order, net of returns."""
        rows = self.session.execute(
            select(m.Item.code, func.sum(m.StockMove.quantity)).join(m.Item, m.Item.id == m.StockMove.item_id)
            .where(m.StockMove.work_order_id == work_order_id, m.StockMove.kind == StockMoveKind.ISSUE)
            .group_by(m.Item.code)).tuples()
        return {code: -float(q or 0.0) + 0.0 for code, q in rows}

    def order(self, number: str, *, lock: bool = False) -> OrderRecord:
        """A customer order with the quantity shipped so far; ``lock`` holds its row. Raises NotFound."""
        s = self.session
        stmt = select(m.CustomerOrder).where(m.CustomerOrder.number == number)
        if lock:
            stmt = _row_lock(stmt, s).execution_options(populate_existing=True)
        row = s.scalar(stmt)
        if row is None:
            raise NotFound(f"customer order {number} does not exist")
        shipped = s.scalar(select(func.sum(m.StockMove.quantity)).where(
            m.StockMove.customer_order_id == row.id, m.StockMove.kind == StockMoveKind.SHIPMENT)) or 0.0
        code = s.scalar(select(m.Item.code).where(m.Item.id == row.item_id))
        return OrderRecord(row.id, row.number, str(code), row.quantity, row.status, -float(shipped) + 0.0)

    def set_order_status(self, order_id: int, status: OrderStatus) -> None:
        row = self.session.get(m.CustomerOrder, order_id)
        if row is None:
            raise NotFound(f"customer order id {order_id} does not exist")
        row.status = status

    def shipped_by_order(self) -> dict[str, float]:
        """Customer order number -> units shipped (orders with shipments only)."""
        rows = self.session.execute(
            select(m.CustomerOrder.number, func.sum(m.StockMove.quantity))
            .join(m.CustomerOrder, m.CustomerOrder.id == m.StockMove.customer_order_id)
            .where(m.StockMove.kind == StockMoveKind.SHIPMENT).group_by(m.CustomerOrder.number)).tuples()
        return {number: -float(q or 0.0) + 0.0 for number, q in rows}

    def consume_receipts(self, item: str, quantity: float) -> list[tuple[dt.date, float]]:
        """Take ``quantity`` off the item's open scheduled receipts, earliest due first (a receipt
        fully taken is removed), so that a purchase that arrived is not counted again as supply.
        Returns (due date, units taken) per receipt touched."""
        s = self.session
        item_id = self.item_ids([item])[item]
        left = quantity
        taken: list[tuple[dt.date, float]] = []
        rows = s.scalars(_row_lock(select(m.ScheduledReceipt).where(m.ScheduledReceipt.item_id == item_id)
                                   .order_by(m.ScheduledReceipt.due_date), s))
        for row in rows:
            if left <= 1e-9:
                break
            take = min(row.quantity, left)
            taken.append((row.due_date, take))
            left -= take
            if row.quantity - take <= 1e-9:
                s.delete(row)
            else:
                row.quantity -= take
        s.flush()
        return taken
