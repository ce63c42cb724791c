"""Repositories of the process-management measures: the measures snapshot (read in a small,
fixed number of queries, never one per work order), the kit-rate history, fluctuation checks
with their events, and the demand baseline of approved plan runs. They never commit.

``MeasuresReader.load`` turns the database into ``lpms.planning.measures.MeasuresSnapshot``
(docs/measures.md, "The snapshot"; how each field is filled in: docs/process.md, "Measures"):

* the plan of a period is the plan run it was released from (``period_releases``), or the
  approved run for a period not released yet: released periods are frozen, so progress is
  measured against the plan that was in force when the work was released;
* planned output of an interval = the plan's production of its head started in period ``s``,
  arriving in ``s + lead time`` (the sum of its members' lead times);
* actual output = good units reported at a work order's last operation, in the period of the
  report (a correction counts in the period of the report it corrects); reports after ``now``
  (an as-of in the past) are left out;
* loads per interval and work center from the released work orders' operations, else from the
  routings with each member's units per head unit as the plan made them;
* overtime used = reported minutes (units x run minutes per unit) beyond the regular capacity
  less downtime, per work center and period.
"""
from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, func, or_, select
from sqlalchemy.orm import Session, aliased

from lpms.db import models as m
from lpms.db import models_process as mp
from lpms.domain.enums import FluctuationKind, OrderStatus, PlanRunStatus, StockMoveKind, WorkOrderStatus
from lpms.domain.plant_time import CalendarPeriod, current_index, current_period, period_elapsed, plant_date
from lpms.planning import measures as ms

FINISHED = (WorkOrderStatus.COMPLETED, WorkOrderStatus.CLOSED)


@dataclass(frozen=True)
class MeasuresData:
    """A measures snapshot with what the services need around it."""

    snapshot: ms.MeasuresSnapshot
    current: CalendarPeriod
    period_starts: dict[int, dt.date]
    approved_run_id: int | None
    capacity: dict[tuple[str, int], tuple[float, float]]  # (work center, period) -> (regular, overtime) minutes
    downtime: dict[tuple[str, int], float]  # (work center, period) -> minutes lost

    def period_date(self, period: int) -> dt.date:
        return self.period_starts[period]


@dataclass(frozen=True)
class KitSnapshotRecord:
    period: int
    rate: float | None
    counted: int
    kitted: int
    recorded_by: str
    recorded_at: dt.datetime


@dataclass(frozen=True)
class FluctuationEventRecord:
    id: int
    check_id: int
    kind: FluctuationKind
    subject: str
    amount: float
    detail: dict[str, Any]
    triggers_replan: bool
    detected_at: dt.datetime


@dataclass(frozen=True)
class DemandRecord:
    """Demand as fluctuation detection compares it: open orders number -> [item, quantity, due
    date], forecasts "item|start|end" -> quantity."""

    orders: dict[str, list[Any]]
    forecasts: dict[str, float]


@dataclass(frozen=True)
class BaselineRecord:
    plan_run_id: int
    fingerprint: str
    demand: DemandRecord
    recorded_at: dt.datetime


class MeasuresReader:
    """Reads the measures snapshot (docs/measures.md) in a fixed number of queries."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def _rows(self, stmt: Select[Any]) -> list[Any]:
        return list(self.session.execute(stmt).tuples())

    def load(self, *, now: dt.datetime, timezone: str) -> MeasuresData:
        """The snapshot at ``now`` (plant time in ``timezone``). Raises OutsideCalendar (NotFound)
        when ``now``'s plant date lies outside the calendar."""
        periods = [CalendarPeriod(p.seq, p.bucket, p.start_date, p.end_date)
                   for p in self.session.scalars(select(m.Period).order_by(m.Period.seq))]
        current = current_period(periods, plant_date(now, timezone))
        elapsed = period_elapsed(current, now, timezone)
        first, last = periods[0].seq, periods[-1].seq

        def period_of_day(day: dt.date) -> int:
            k = current_index(periods, day)
            if k is not None:
                return periods[k].seq
            return first if day < periods[0].start else last + 1

        def period_of(moment: dt.datetime) -> int:
            return period_of_day(plant_date(moment, timezone))

        # work orders, operations, kits, issued components: four queries
        wo_rows = self._rows(select(
            m.WorkOrder.id, m.WorkOrder.number, m.Item.code, m.WorkOrder.interval_code, m.WorkOrder.quantity,
            m.WorkOrder.start_period_seq, m.WorkOrder.due_period_seq, m.WorkOrder.status, m.WorkOrder.good_qty,
            m.WorkOrder.scrap_qty, m.WorkOrder.priority, m.WorkOrder.finished_at)
            .join(m.Item, m.Item.id == m.WorkOrder.item_id).order_by(m.WorkOrder.id))
        ops: dict[int, list[ms.Operation]] = defaultdict(list)
        run_min: dict[tuple[int, int], tuple[str, float]] = {}
        for wo_id, seq, wc, minutes, good, scrap in self._rows(select(
                m.WorkOrderOperation.work_order_id, m.WorkOrderOperation.seq, m.WorkCenter.code,
                m.WorkOrderOperation.run_min, m.WorkOrderOperation.good_qty, m.WorkOrderOperation.scrap_qty)
                .join(m.WorkCenter, m.WorkCenter.id == m.WorkOrderOperation.work_center_id)):
            ops[wo_id].append(ms.Operation(seq, wc, float(minutes), float(good), float(scrap)))
            run_min[wo_id, seq] = (wc, float(minutes))
        kits: dict[int, list[tuple[str, float]]] = defaultdict(list)
        for wo_id, item, qty_per in self._rows(select(
                m.WorkOrderComponent.work_order_id, m.Item.code, m.WorkOrderComponent.qty_per)
                .join(m.Item, m.Item.id == m.WorkOrderComponent.item_id).order_by(m.WorkOrderComponent.id)):
            kits[wo_id].append((item, float(qty_per)))
        issued: dict[tuple[int, str], float] = {}
        for wo_id, item, qty in self._rows(select(
                m.StockMove.work_order_id, m.Item.code, func.sum(m.StockMove.quantity))
                .join(m.Item, m.Item.id == m.StockMove.item_id)
                .where(m.StockMove.kind == StockMoveKind.ISSUE, m.StockMove.work_order_id.is_not(None))
                .group_by(m.StockMove.work_order_id, m.Item.code)):
            issued[wo_id, item] = max(0.0, -float(qty or 0.0))

        work_orders: list[ms.WorkOrder] = []
        requirements: list[ms.Requirement] = []
        last_seq: dict[int, int] = {}
        interval_of: dict[int, tuple[str, str]] = {}
        wo_loads: dict[str, dict[str, float]] = {}
        for (wo_id, number, item, interval, quantity, start, due, status, good, scrap, priority,
             finished_at) in wo_rows:
            operations = ops.get(wo_id, [])
            completed = None
            if status in FINISHED:
                completed = max(first, min(period_of(finished_at), last)) if finished_at else current.seq
            work_orders.append(ms.WorkOrder(number, item, interval, float(quantity), start, due, status, float(good),
                                            float(scrap), priority, tuple(operations), completed))
            if operations:
                last_seq[wo_id] = max(op.seq for op in operations)
                if interval not in wo_loads and status != WorkOrderStatus.CANCELLED:
                    load: dict[str, float] = defaultdict(float)
                    for op in operations:
                        load[op.work_center] += op.minutes_per_unit
                    wo_loads[interval] = dict(load)
            interval_of[wo_id] = (interval, item)
            if len(kits.get(wo_id, ())) >= 2:  # a kitting point: two or more buffered inputs
                requirements.extend(ms.Requirement(number, comp, qty_per, issued.get((wo_id, comp), 0.0))
                                    for comp, qty_per in kits[wo_id])

        # the plan in force per period: the run a period was released from, else the approved run
        approved = list(self.session.scalars(select(m.PlanRun.id).where(m.PlanRun.status == PlanRunStatus.APPROVED)
                                             .order_by(m.PlanRun.id)))
        approved_id = approved[-1] if approved else None
        released = {seq: run for seq, run in self._rows(select(m.PeriodRelease.period_seq,
                                                               m.PeriodRelease.plan_run_id))}

        def run_for(period: int) -> int | None:
            return released.get(period) if period in released else approved_id

        runs = {r for r in released.values() if r is not None} | ({approved_id} if approved_id else set())
        planned, loads, overtime_planned = self._plan(runs, run_for, wo_loads)

        # completion reports: actual output (last operation) and minutes worked, by period
        corrected = aliased(m.CompletionReport)
        actual: dict[tuple[str, str, int], float] = defaultdict(float)
        worked: dict[tuple[str, int], float] = defaultdict(float)
        for wo_id, seq, good, scrap, at, original_at in self._rows(select(
                m.CompletionReport.work_order_id, m.CompletionReport.operation_seq, m.CompletionReport.good_qty,
                m.CompletionReport.scrap_qty, m.CompletionReport.reported_at, corrected.reported_at)
                .outerjoin(corrected, corrected.id == m.CompletionReport.corrects_id)
                .where(m.CompletionReport.reported_at <= now)):
            period = period_of(original_at or at)
            if seq == last_seq.get(wo_id):
                interval, item = interval_of[wo_id]
                actual[interval, item, period] += float(good)
            if (wo_id, seq) in run_min:
                wc, minutes = run_min[wo_id, seq]
                worked[wc, period] += (float(good) + float(scrap)) * minutes

        capacity = {(wc, seq): (float(regular), float(over)) for wc, seq, regular, over in self._rows(
            select(m.WorkCenter.code, m.Period.seq, m.Capacity.regular_min, m.Capacity.overtime_min)
            .join(m.WorkCenter, m.WorkCenter.id == m.Capacity.work_center_id)
            .join(m.Period, m.Period.id == m.Capacity.period_id))}
        downtime = {(wc, seq): float(minutes or 0.0) for wc, seq, minutes in self._rows(
            select(m.WorkCenter.code, m.DowntimeReport.period_seq, func.sum(m.DowntimeReport.minutes))
            .join(m.WorkCenter, m.WorkCenter.id == m.DowntimeReport.work_center_id)
            .group_by(m.WorkCenter.code, m.DowntimeReport.period_seq))}
        overtime = []
        for wc, period in sorted(set(overtime_planned) | set(worked)):
            regular = max(0.0, capacity.get((wc, period), (0.0, 0.0))[0] - downtime.get((wc, period), 0.0))
            used = max(0.0, worked.get((wc, period), 0.0) - regular)
            overtime.append(ms.OvertimeUse(wc, period, max(0.0, overtime_planned.get((wc, period), 0.0)), used))

        # stock, open purchases, buffers
        opening = dict(self._rows(select(m.Item.code, m.Stock.on_hand).join(m.Item, m.Item.id == m.Stock.item_id)))
        on_hand: dict[str, float] = defaultdict(float, {c: float(q) for c, q in opening.items()})
        for code, qty in self._rows(select(m.Item.code, m.StockBalance.moved)
                                    .join(m.Item, m.Item.id == m.StockBalance.item_id)):
            on_hand[code] += float(qty or 0.0)
        purchases = [ms.Purchase(item, period_of_day(due), float(qty)) for item, due, qty in self._rows(
            select(m.Item.code, m.ScheduledReceipt.due_date, m.ScheduledReceipt.quantity)
            .join(m.Item, m.Item.id == m.ScheduledReceipt.item_id)) if qty > 0 and period_of_day(due) <= last]
        buffers = [ms.Buffer(code, float(safety)) for code, safety in self._rows(
            select(m.Item.code, m.Item.safety_stock).where(or_(m.Item.stocked.is_(True), m.Item.safety_stock > 0))
            .order_by(m.Item.code))]

        snapshot = ms.MeasuresSnapshot(
            as_of_period=current.seq, elapsed=elapsed, work_orders=tuple(work_orders),
            planned=tuple(ms.Output(i, it, p, q) for (i, it, p), q in sorted(planned.items()) if q > 0),
            actual=tuple(ms.Output(i, it, p, max(0.0, round(q, 9))) for (i, it, p), q in sorted(actual.items())),
            loads=tuple(ms.IntervalLoad(i, wc, mins) for i, per in sorted(loads.items())
                        for wc, mins in sorted(per.items())),
            requirements=tuple(requirements), on_hand={c: round(q, 9) + 0.0 for c, q in on_hand.items()},
            purchases=tuple(purchases), buffers=tuple(buffers), overtime=tuple(overtime), horizon_end=last)
        return MeasuresData(snapshot, current, {p.seq: p.start for p in periods}, approved_id, capacity, downtime)

    def _plan(self, runs: set[int], run_for: Any, wo_loads: dict[str, dict[str, float]]
              ) -> tuple[dict[tuple[str, str, int], float], dict[str, dict[str, float]], dict[tuple[str, int], float]]:
        """Planned output per (interval, head, arrival period), loads per interval, planned overtime
        per (work center, period), from the plan lines and loads of ``runs`` (three queries)."""
        planned: dict[tuple[str, str, int], float] = defaultdict(float)
        loads: dict[str, dict[str, float]] = dict(wo_loads)
        overtime: dict[tuple[str, int], float] = {}
        if not runs:
            return planned, loads, overtime
        lines = self._rows(select(m.PlanLine.plan_run_id, m.PlanLine.interval_code, m.Item.code,
                                  m.Item.lead_time_periods, m.PlanLine.period_seq, m.PlanLine.production)
                           .join(m.Item, m.Item.id == m.PlanLine.item_id)
                           .where(m.PlanLine.plan_run_id.in_(sorted(runs)), m.PlanLine.production > 0))
        members: dict[tuple[int, str], dict[str, int]] = defaultdict(dict)
        made: dict[tuple[int, str], float] = defaultdict(float)  # (run, item) -> units over the run
        for run, interval, item, lead, _period, qty in lines:
            if interval:
                members[run, interval][item] = int(lead)
                made[run, item] += float(qty)
        for run, interval, item, _lead, period, qty in lines:
            if interval == f"I:{item}" and run_for(period) == run:
                arrival = period + sum(members[run, interval].values())
                planned[interval, item, arrival] += float(qty)
        missing = {(run, interval) for (run, interval) in members if interval not in loads}
        if missing:
            routing: dict[str, list[tuple[str, float]]] = defaultdict(list)
            for item, wc, minutes in self._rows(select(m.Item.code, m.WorkCenter.code, m.Operation.run_min)
                                                .join(m.Item, m.Item.id == m.Operation.item_id)
                                                .join(m.WorkCenter, m.WorkCenter.id == m.Operation.work_center_id)):
                routing[item].append((wc, float(minutes)))
            for run, interval in sorted(missing, reverse=True):  # the newest run's ratios win
                if interval in loads:
                    continue
                head = interval.removeprefix("I:")
                head_units = made.get((run, head), 0.0)
                if head_units <= 0:
                    continue
                load: dict[str, float] = defaultdict(float)
                for member in members[run, interval]:
                    per_head = made.get((run, member), 0.0) / head_units
                    for wc, minutes in routing.get(member, ()):
                        load[wc] += per_head * minutes
                loads[interval] = dict(load)
        for run, wc, period, minutes in self._rows(
                select(m.PlanLoad.plan_run_id, m.WorkCenter.code, m.PlanLoad.period_seq, m.PlanLoad.overtime_min)
                .join(m.WorkCenter, m.WorkCenter.id == m.PlanLoad.work_center_id)
                .where(m.PlanLoad.plan_run_id.in_(sorted(runs)), m.PlanLoad.overtime_min > 0)):
            if run_for(period) == run:
                overtime[wc, period] = float(minutes)
        return planned, loads, overtime

    def demand(self) -> DemandRecord:
        """Open (and confirmed) customer orders and every forecast, in two queries."""
        orders = {number: [item, float(qty), due.isoformat()] for number, item, qty, due in self._rows(
            select(m.CustomerOrder.number, m.Item.code, m.CustomerOrder.quantity, m.CustomerOrder.due_date)
            .join(m.Item, m.Item.id == m.CustomerOrder.item_id)
            .where(m.CustomerOrder.status.in_([OrderStatus.OPEN, OrderStatus.CONFIRMED])))}
        forecasts: dict[str, float] = defaultdict(float)
        for item, start, end, qty in self._rows(select(m.Item.code, m.Forecast.start_date, m.Forecast.end_date,
                                                       m.Forecast.quantity).join(m.Item, m.Item.id == m.Forecast.item_id)):
            forecasts[f"{item}|{start.isoformat()}|{end.isoformat()}"] += float(qty)
        return DemandRecord(dict(sorted(orders.items())), dict(sorted(forecasts.items())))

    def order_statuses(self, numbers: Iterable[str]) -> dict[str, OrderStatus]:
        wanted = sorted(set(numbers))
        if not wanted:
            return {}
        return dict(self._rows(select(m.CustomerOrder.number, m.CustomerOrder.status)
                               .where(m.CustomerOrder.number.in_(wanted))))


class KitHistory:
    """The kit rate recorded once per period."""

    def __init__(self, session: Session) -> None:
        self.session = session

    @staticmethod
    def _record(row: mp.KitSnapshot) -> KitSnapshotRecord:
        return KitSnapshotRecord(row.period_seq, row.rate, row.counted, row.kitted, row.recorded_by, row.recorded_at)

    def get(self, period: int) -> KitSnapshotRecord | None:
        row = self.session.scalar(select(mp.KitSnapshot).where(mp.KitSnapshot.period_seq == period))
        return None if row is None else self._record(row)

    def add(self, *, period: int, rate: float | None, counted: int, kitted: int, recorded_by: str,
            recorded_at: dt.datetime) -> KitSnapshotRecord:
        row = mp.KitSnapshot(period_seq=period, rate=rate, counted=counted, kitted=kitted, recorded_by=recorded_by,
                             recorded_at=recorded_at)
        self.session.add(row)
        self.session.flush()
        return self._record(row)

    def history(self, *, before: int | None = None) -> list[KitSnapshotRecord]:
        """Recorded rates by period (those before ``before`` when given)."""
        stmt = select(mp.KitSnapshot).order_by(mp.KitSnapshot.period_seq)
        if before is not None:
            stmt = stmt.where(mp.KitSnapshot.period_seq < before)
        return [self._record(r) for r in self.session.scalars(stmt)]


class Fluctuations:
    """Fluctuation checks with their events, and the demand baselines of plan runs."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def add_check(self, *, checked_at: dt.datetime, checked_by: str, period: int | None, plan_run_id: int | None,
                  events: Iterable[tuple[FluctuationKind, str, float, dict[str, Any], bool]]) -> int:
        found = list(events)
        check = mp.FluctuationCheck(checked_at=checked_at, checked_by=checked_by, period_seq=period,
                                    plan_run_id=plan_run_id, findings=len(found),
                                    triggers_replan=any(e[4] for e in found))
        self.session.add(check)
        self.session.flush()
        self.session.add_all(mp.FluctuationEvent(check_id=check.id, kind=kind, subject=subject, amount=amount,
                                                 detail=detail, triggers_replan=triggers, detected_at=checked_at)
                             for kind, subject, amount, detail, triggers in found)
        self.session.flush()
        return check.id

    def check_period(self, check_id: int) -> int | None:
        """The current period when the check ran (None: no such check, or outside the calendar)."""
        return self.session.scalar(select(mp.FluctuationCheck.period_seq).where(mp.FluctuationCheck.id == check_id))

    def events(self, *, limit: int = 100, check_id: int | None = None) -> list[FluctuationEventRecord]:
        """The newest events first (of one check when given)."""
        stmt = select(mp.FluctuationEvent).order_by(mp.FluctuationEvent.id.desc()).limit(limit)
        if check_id is not None:
            stmt = stmt.where(mp.FluctuationEvent.check_id == check_id)
        return [FluctuationEventRecord(e.id, e.check_id, FluctuationKind(e.kind), e.subject, e.amount,
                                       dict(e.detail or {}), e.triggers_replan, e.detected_at)
                for e in self.session.scalars(stmt)]

    def baseline(self, plan_run_id: int) -> BaselineRecord | None:
        row = self.session.scalar(select(mp.DemandBaseline).where(mp.DemandBaseline.plan_run_id == plan_run_id))
        if row is None:
            return None
        return BaselineRecord(row.plan_run_id, row.fingerprint,
                              DemandRecord(dict(row.orders or {}), dict(row.forecasts or {})), row.recorded_at)

    def add_baseline(self, *, plan_run_id: int, fingerprint: str, demand: DemandRecord,
                     recorded_at: dt.datetime) -> None:
        self.session.add(mp.DemandBaseline(plan_run_id=plan_run_id, fingerprint=fingerprint, orders=demand.orders,
                                           forecasts=demand.forecasts, recorded_at=recorded_at))
        self.session.flush()
