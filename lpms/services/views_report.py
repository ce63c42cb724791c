"""Read-only view of the management dashboard: every measure of the daily report
(``progress.build_daily_report``: progress, the kit rate and its history, on-time completion,
WIP, buffers, overtime) from one snapshot, with the buffers' planned inventory of the approved
plan beside their on-hand and the work orders counted by status. Nothing here writes or reads
the clock."""
from __future__ import annotations

import datetime as dt
from collections import Counter
from typing import Any

from sqlalchemy import select

from lpms.db import models as m
from lpms.db.session import SqlAlchemyUnitOfWork
from lpms.services import progress
from lpms.services import work_orders as wo_service


def _planned_inventory(uow: SqlAlchemyUnitOfWork, period: int) -> tuple[int | None, dict[str, float]]:
    """The approved run and its planned inventory of each item at the end of ``period``."""
    with uow:
        approved = uow.work_orders.approved_run_ids()
        if not approved:
            return None, {}
        run_id = approved[-1]
        rows = uow.session.execute(select(m.Item.code, m.PlanLine.inventory).join(m.Item, m.Item.id == m.PlanLine.item_id)
                                   .where(m.PlanLine.plan_run_id == run_id, m.PlanLine.period_seq == period)).tuples()
        return run_id, {code: float(inv) for code, inv in rows}


def dashboard(uow: SqlAlchemyUnitOfWork, *, now: dt.datetime, timezone: str) -> dict[str, Any]:
    """``{as_of, current_period, period_start, on_time: {rate, counted, on_time, late}, kit: {rate,
    window, work_orders}, kit_history: [{period, start, rate, counted, kitted}], progress:
    {work_centers, intervals, items}, wip: {units, open_orders, work_centers}, buffers: [{item,
    on_hand, safety_stock, margin, below, planned}], plan_run (the approved run or null),
    overtime: [{work_center, planned_min, used_min, excess_min}], work_orders: {total, by_status,
    good, quantity}}``. Rates are fractions in [0, 1] or null. Raises NotFound when ``now``
    lies outside the calendar."""
    report = progress.build_daily_report(uow, now=now, timezone=timezone)
    data = progress.daily_report_dict(report)
    run_id, planned = _planned_inventory(uow, report.current_period)
    buffers = [{**b, "planned": planned.get(b["item"])} for b in data["buffers"]["buffers"]]
    history = [{"period": r.period, "start": report.kit.period_date(r.period).isoformat(), "rate": r.rate,
                "counted": r.counted, "kitted": r.kitted} for r in report.kit.history]
    orders = wo_service.list_work_orders(uow)
    by_status = Counter(wo.status.value for wo in orders)
    return {"as_of": data["as_of"], "current_period": report.current_period, "period_start": data["period_start"],
            "on_time": data["on_time"], "kit": data["kit"], "kit_history": history, "progress": data["progress"],
            "wip": data["wip"], "buffers": buffers, "plan_run": run_id, "overtime": data["overtime"]["work_centers"],
            "work_orders": {"total": len(orders), "by_status": dict(sorted(by_status.items())),
                            "good": sum(wo.good for wo in orders), "quantity": sum(wo.quantity for wo in orders)}}


def kit_history_table(uow: SqlAlchemyUnitOfWork, *, now: dt.datetime,
                      timezone: str) -> tuple[list[str], list[list[Any]]]:
    """The recorded kit rate per period as a table (header, rows) for a CSV download."""
    kit = progress.kit_report(uow, now=now, timezone=timezone)
    return (["period", "period_start", "rate", "counted", "kitted"],
            [[r.period, kit.period_date(r.period).isoformat(), r.rate, r.counted, r.kitted] for r in kit.history])
