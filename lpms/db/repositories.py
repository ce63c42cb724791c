"""Repositories and read models over one session. They never commit: the unit of work does.

Each returns plain values (the planning core's typed rows, small records), never ORM objects
to callers outside ``lpms.db``, so services can be tested against in-memory fakes.
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, TypeVar, cast

from sqlalchemy import Select, Table, func, insert, select
from sqlalchemy.orm import Session

from lpms.db import models as m
from lpms.domain.enums import OrderStatus, PlanMode, PlanRunStatus, StockMoveKind
from lpms.domain.errors import NotFound
from lpms.domain.plant_time import CalendarPeriod
from lpms.planning.network import BomEdge, OperationSpec
from lpms.planning.network_plan import NetworkPlan
from lpms.planning.snapshot import CapacityRow, ForecastRow, ItemRow, OrderRow, PeriodRow, PlanningRows, ReceiptRow

T = TypeVar("T")


def for_update(stmt: Select[Any], session: Session) -> Select[Any]:
    """Lock the selected rows until commit on PostgreSQL (SQLite locks the whole file on write)."""
    if session.get_bind().dialect.name == "postgresql":
        return stmt.with_for_update()
    return stmt


class PlanningReader:
    """Loads everything a plan needs in one transaction, as the planning core's typed rows."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def load_rows(self) -> PlanningRows:
        s = self.session
        items = list(s.scalars(select(m.Item).order_by(m.Item.code)))
        code = {i.id: i.code for i in items}
        wcs = list(s.scalars(select(m.WorkCenter).order_by(m.WorkCenter.code)))
        wc_code = {w.id: w.code for w in wcs}
        periods = list(s.scalars(select(m.Period).order_by(m.Period.seq)))
        seq = {p.id: p.seq for p in periods}
        orders = s.scalars(
            select(m.CustomerOrder)
            .where(m.CustomerOrder.status.in_([OrderStatus.OPEN, OrderStatus.CONFIRMED]))
            .order_by(m.CustomerOrder.due_date, m.CustomerOrder.priority.desc(), m.CustomerOrder.number))
        # units already shipped against each open order (they have left the ledger's on-hand)
        shipped = dict(s.execute(
            select(m.StockMove.customer_order_id, func.sum(m.StockMove.quantity))
            .where(m.StockMove.kind == StockMoveKind.SHIPMENT, m.StockMove.customer_order_id.is_not(None))
            .group_by(m.StockMove.customer_order_id)).tuples().all())
        # on-hand is the ledger's: the opening balance (``stock``) plus every stock move (their sum
        # per item is kept in ``stock_balances``)
        on_hand = {code[st.item_id]: st.on_hand for st in s.scalars(select(m.Stock))}
        for item_id, moved in s.execute(select(m.StockBalance.item_id, m.StockBalance.moved)).tuples():
            on_hand[code[item_id]] = round(on_hand.get(code[item_id], 0.0) + float(moved or 0.0), 9) + 0.0
        return PlanningRows(
            periods=tuple(PeriodRow(p.seq, p.start_date, p.end_date) for p in periods),
            items=tuple(ItemRow(i.code, i.kind, i.lead_time_periods, i.stocked, i.safety_stock, i.offset_rule,
                                i.backward_window, i.forward_window) for i in items),
            work_centers=tuple(wc_code.values()),
            bom=tuple(BomEdge(code[b.parent_id], code[b.child_id], b.qty_per)
                      for b in s.scalars(select(m.BomLine).order_by(m.BomLine.id))),
            operations=tuple(OperationSpec(code[o.item_id], o.sequence, wc_code[o.work_center_id], o.run_min,
                                           o.setup_min)
                             for o in s.scalars(select(m.Operation).order_by(m.Operation.id))),
            capacities=tuple(CapacityRow(wc_code[c.work_center_id], seq[c.period_id], c.regular_min, c.overtime_min)
                             for c in s.scalars(select(m.Capacity))),
            forecasts=tuple(ForecastRow(code[f.item_id], f.start_date, f.end_date, f.quantity)
                            for f in s.scalars(select(m.Forecast).order_by(m.Forecast.id))),
            orders=tuple(OrderRow(o.number, code[o.item_id], o.due_date, o.quantity,
                                  round(-float(shipped.get(o.id) or 0.0), 9) + 0.0) for o in orders),
            on_hand=tuple(sorted(on_hand.items())),
            receipts=tuple(ReceiptRow(code[r.item_id], r.due_date, r.quantity)
                           for r in s.scalars(select(m.ScheduledReceipt).order_by(m.ScheduledReceipt.id))),
        )


@dataclass(frozen=True)
class PlanRunRecord:
    """A plan run as services see it."""

    id: int
    status: PlanRunStatus
    mode: PlanMode
    parameters: dict[str, Any]
    objectives: dict[str, Any]
    solver_stats: dict[str, Any]
    message: str
    created_by: str
    created_at: dt.datetime
    started_at: dt.datetime | None
    finished_at: dt.datetime | None


def _record(run: m.PlanRun) -> PlanRunRecord:
    return PlanRunRecord(run.id, run.status, PlanMode(run.mode), dict(run.parameters or {}), dict(run.objectives or {}),
                         dict(run.solver_stats or {}), run.message, run.created_by, run.created_at, run.started_at,
                         run.finished_at)


class PlanRuns:
    """Plan runs with their lines and loads."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def add(self, *, mode: PlanMode, parameters: dict[str, Any], created_by: str, created_at: dt.datetime) -> int:
        run = m.PlanRun(status=PlanRunStatus.QUEUED, mode=mode, parameters=parameters, created_by=created_by,
                        created_at=created_at)
        self.session.add(run)
        self.session.flush()
        return run.id

    def _row(self, run_id: int, *, lock: bool = False) -> m.PlanRun:
        stmt = select(m.PlanRun).where(m.PlanRun.id == run_id)
        run = self.session.scalar(for_update(stmt, self.session) if lock else stmt)
        if run is None:
            raise NotFound(f"plan run {run_id} does not exist")
        return run

    def get(self, run_id: int, *, lock: bool = False) -> PlanRunRecord:
        """The run; ``lock`` holds its row until commit (PostgreSQL). Raises NotFound."""
        return _record(self._row(run_id, lock=lock))

    def latest_id(self) -> int | None:
        return self.session.scalar(select(func.max(m.PlanRun.id)))

    def update(self, run_id: int, **fields: Any) -> None:
        """Set status, message, timestamps, objectives or solver statistics of a run."""
        run = self._row(run_id)
        for name, value in fields.items():
            if not hasattr(run, name):
                raise AttributeError(name)
            setattr(run, name, value)

    def store_plan(self, run_id: int, plan: NetworkPlan, gross: dict[str, tuple[float, ...]],
                   net: dict[str, tuple[float, ...]], first_period: int = 1) -> None:
        """Write the plan's lines (per item and period) and loads (per work center and period);
        the plan's period index t is period ``first_period + t`` (a re-plan starts at the current period)."""
        s = self.session
        item_id = dict(s.execute(select(m.Item.code, m.Item.id)).tuples().all())
        wc_id = dict(s.execute(select(m.WorkCenter.code, m.WorkCenter.id)).tuples().all())
        interval_of = {member: iv["code"] for iv in plan.intervals for member in iv["members"]}
        zeros = [0.0] * plan.periods
        items = set(plan.item_production) | set(plan.inventory) | set(plan.backlog) | set(gross)
        for item in sorted(items):
            prod = plan.item_production.get(item, zeros)
            inv = plan.inventory.get(item, zeros)
            back = plan.backlog.get(item, zeros)
            g = gross.get(item, tuple(zeros))
            nd = net.get(item, tuple(zeros))
            for t in range(plan.periods):
                if prod[t] or inv[t] or back[t] or g[t] or nd[t]:
                    s.add(m.PlanLine(plan_run_id=run_id, item_id=item_id[item], interval_code=interval_of.get(item, ""),
                                     period_seq=first_period + t, gross_demand=g[t], net_demand=nd[t], production=prod[t],
                                     inventory=inv[t], backlog=back[t]))
        for w, loads in plan.load_min.items():
            for t in range(plan.periods):
                s.add(m.PlanLoad(plan_run_id=run_id, work_center_id=wc_id[w], period_seq=first_period + t,
                                 load_min=loads[t], regular_min=plan.regular_min[w][t],
                                 overtime_min=plan.overtime_min[w][t]))


class AuditLog:
    """Who did what, when, with before/after details. Append-only."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def add(self, *, actor: str, action: str, entity: str, entity_key: str, at: dt.datetime,
            detail: dict[str, Any] | None = None) -> None:
        # a Core insert, sent now: no ORM object to track and flush (the report path's hot spot)
        self.session.execute(insert(cast(Table, m.AuditEntry.__table__)), {"actor": actor, "action": action, "entity": entity,
                                                              "entity_key": entity_key, "at": at,
                                                              "detail": detail or {}})


class MasterData:
    """Small read models over master data."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def counts(self) -> dict[str, int]:
        """Rows per master-data and demand table, labelled for people."""
        tables = [("items", m.Item), ("BOM lines", m.BomLine), ("work centers", m.WorkCenter),
                  ("operations", m.Operation), ("periods", m.Period), ("capacity rows", m.Capacity),
                  ("forecasts", m.Forecast), ("customer orders", m.CustomerOrder), ("stock rows", m.Stock),
                  ("scheduled receipts", m.ScheduledReceipt)]
        return {label: int(self.session.scalar(select(func.count()).select_from(model)) or 0)
                for label, model in tables}


class CalendarRepository:
    """The calendar (periods) and capacity rows, as the plant-time domain's plain values."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def periods(self) -> list[CalendarPeriod]:
        return [CalendarPeriod(p.seq, p.bucket, p.start_date, p.end_date)
                for p in self.session.scalars(select(m.Period).order_by(m.Period.seq))]

    def capacities(self) -> dict[tuple[str, int], tuple[float, float]]:
        """(work center code, period seq) -> (regular_min, overtime_min)."""
        rows = self.session.execute(
            select(m.WorkCenter.code, m.Period.seq, m.Capacity.regular_min, m.Capacity.overtime_min)
            .join(m.WorkCenter, m.WorkCenter.id == m.Capacity.work_center_id)
            .join(m.Period, m.Period.id == m.Capacity.period_id)).tuples()
        return {(wc, seq): (float(regular), float(overtime)) for wc, seq, regular, overtime in rows}

    def append(self, periods: Sequence[CalendarPeriod], capacities: Sequence[tuple[str, int, float, float]]) -> None:
        """Insert new periods and their capacity rows (work center code, period seq, regular, overtime)."""
        s = self.session
        added = {p.seq: m.Period(seq=p.seq, bucket=p.bucket, start_date=p.start, end_date=p.end) for p in periods}
        s.add_all(added.values())
        s.flush()
        wc_id = dict(s.execute(select(m.WorkCenter.code, m.WorkCenter.id)).tuples().all())
        s.add_all(m.Capacity(work_center_id=wc_id[wc], period_id=added[seq].id, regular_min=regular,
                             overtime_min=overtime) for wc, seq, regular, overtime in capacities)
        s.flush()
