"""Read-only views for the screens and the API (docs/web.md): rows read in one short
transaction each and shaped for display, with every aggregation the screens show. Nothing here
writes and nothing reads the clock (``now`` is passed in); web/ only formats what these return.

This module: master data, demand, the audit log, jobs, and ``levelled_lots`` (a period's
levelled sequence in lots). Plan runs, their comparison and the Pareto points are in
``views_plan``; the shop-floor queue in ``views_floor``; the management dashboard in
``views_report``.
"""
from __future__ import annotations

import datetime as dt
import math
from collections.abc import Mapping
from typing import Any

from sqlalchemy import func, select

from lpms.db import models as m
from lpms.db.session import SqlAlchemyUnitOfWork
from lpms.domain.enums import JobRequestStatus
from lpms.domain.errors import NotFound
from lpms.planning.levelling import level_period
from lpms.services import jobs as jobs_service

LEVEL_EXACT_UP_TO = 60  # lots: above this the sequence is the goal-chasing heuristic
OPEN_REQUESTS = (JobRequestStatus.PENDING, JobRequestStatus.RUNNING)


def levelled_lots(mix: Mapping[str, float], *, max_lots: int = 24) -> tuple[tuple[str, float], ...]:
    """The mix (units per item) levelled in at most about ``max_lots`` equal lots (the pitch: the
    smallest whole number of units that keeps the lot count within ``max_lots``); each item's last
    lot carries its remainder. Returns runs of (item, units), neighbouring lots of an item merged."""
    whole = {k: float(round(v)) for k, v in mix.items() if v >= 0.5}
    total = sum(whole.values())
    if total <= 0:
        return ()
    pitch = max(1, math.ceil(total / max_lots))
    lots = {k: max(1.0, float(round(v / pitch))) for k, v in whole.items()}
    sequence = level_period(lots, exact_up_to=LEVEL_EXACT_UP_TO).sequence
    left = dict(whole)
    count = {k: 0 for k in lots}
    runs: list[tuple[str, float]] = []
    for item in sequence:
        count[item] += 1
        units = left[item] if count[item] == lots[item] else min(float(pitch), left[item])
        left[item] -= units
        if units <= 0:
            continue
        if runs and runs[-1][0] == item:
            runs[-1] = (item, runs[-1][1] + units)
        else:
            runs.append((item, units))
    return tuple(runs)


# --- master data --------------------------------------------------------------------------


def items(uow: SqlAlchemyUnitOfWork) -> list[dict[str, Any]]:
    with uow:
        return [{"code": i.code, "name": i.name, "kind": i.kind.value, "unit": i.unit,
                 "lead_time_periods": i.lead_time_periods, "stocked": i.stocked, "safety_stock": i.safety_stock}
                for i in uow.session.scalars(select(m.Item).order_by(m.Item.code))]


def bom(uow: SqlAlchemyUnitOfWork) -> list[dict[str, Any]]:
    with uow:
        code = dict(uow.session.execute(select(m.Item.id, m.Item.code)).tuples().all())
        return sorted(({"parent": code[b.parent_id], "child": code[b.child_id], "qty_per": b.qty_per}
                       for b in uow.session.scalars(select(m.BomLine))), key=lambda r: (r["parent"], r["child"]))


def work_centers(uow: SqlAlchemyUnitOfWork) -> list[dict[str, Any]]:
    with uow:
        return [{"code": w.code, "name": w.name}
                for w in uow.session.scalars(select(m.WorkCenter).order_by(m.WorkCenter.code))]


def work_center(uow: SqlAlchemyUnitOfWork, code: str) -> dict[str, Any]:
    """One work center ``{code, name}``. Raises NotFound."""
    with uow:
        wc = uow.session.scalars(select(m.WorkCenter).where(m.WorkCenter.code == code)).one_or_none()
        if wc is None:
            raise NotFound(f"work center {code} does not exist")
        return {"code": wc.code, "name": wc.name}


def capacity(uow: SqlAlchemyUnitOfWork, work_center: str | None = None) -> list[dict[str, Any]]:
    """Capacity per work center and period (``work_center``: of that one only)."""
    with uow:
        stmt = (select(m.WorkCenter.code, m.Period.seq, m.Period.start_date, m.Capacity.regular_min,
                       m.Capacity.overtime_min)
                .join(m.WorkCenter, m.WorkCenter.id == m.Capacity.work_center_id)
                .join(m.Period, m.Period.id == m.Capacity.period_id)
                .order_by(m.WorkCenter.code, m.Period.seq))
        if work_center:
            stmt = stmt.where(m.WorkCenter.code == work_center)
        return [{"work_center": wc, "period": seq, "start_date": start.isoformat(), "regular_min": reg,
                 "overtime_min": ot} for wc, seq, start, reg, ot in uow.session.execute(stmt)]


def periods(uow: SqlAlchemyUnitOfWork) -> list[dict[str, Any]]:
    with uow:
        return [{"period": p.seq, "start_date": p.start_date.isoformat(), "end_date": p.end_date.isoformat()}
                for p in uow.session.scalars(select(m.Period).order_by(m.Period.seq))]


# --- demand -------------------------------------------------------------------------------


def forecasts(uow: SqlAlchemyUnitOfWork) -> list[dict[str, Any]]:
    with uow:
        stmt = (select(m.Item.code, m.Forecast.start_date, m.Forecast.end_date, m.Forecast.quantity)
                .join(m.Item, m.Item.id == m.Forecast.item_id).order_by(m.Item.code, m.Forecast.start_date))
        return [{"item": code, "start_date": s, "end_date": e, "quantity": q}
                for code, s, e, q in uow.session.execute(stmt)]


def _order_dict(o: m.CustomerOrder, item: str) -> dict[str, Any]:
    return {"number": o.number, "customer": o.customer, "item": item, "quantity": o.quantity,
            "due_date": o.due_date, "priority": o.priority, "status": o.status.value}


def orders(uow: SqlAlchemyUnitOfWork) -> list[dict[str, Any]]:
    """Customer orders by due date and number."""
    with uow:
        stmt = (select(m.CustomerOrder, m.Item.code).join(m.Item, m.Item.id == m.CustomerOrder.item_id)
                .order_by(m.CustomerOrder.due_date, m.CustomerOrder.number))
        return [_order_dict(o, code) for o, code in uow.session.execute(stmt).tuples()]


def order(uow: SqlAlchemyUnitOfWork, number: str) -> dict[str, Any]:
    """One customer order. Raises NotFound."""
    with uow:
        row = uow.session.execute(select(m.CustomerOrder, m.Item.code).join(m.Item, m.Item.id == m.CustomerOrder.item_id)
                                  .where(m.CustomerOrder.number == number)).tuples().one_or_none()
        if row is None:
            raise NotFound(f"customer order {number} does not exist")
        return _order_dict(*row)


# --- audit --------------------------------------------------------------------------------


def audit_entries(uow: SqlAlchemyUnitOfWork, *, actor: str = "", entity: str = "", action: str = "",
                  since: dt.datetime | None = None, limit: int = 200) -> list[dict[str, Any]]:
    """The newest audit rows matching the filters (``actor``: a part of the name)."""
    with uow:
        stmt = select(m.AuditEntry).order_by(m.AuditEntry.id.desc()).limit(limit)
        if actor:
            stmt = stmt.where(m.AuditEntry.actor.contains(actor, autoescape=True))
        if entity:
            stmt = stmt.where(m.AuditEntry.entity == entity)
        if action:
            stmt = stmt.where(m.AuditEntry.action == action)
        if since is not None:
            stmt = stmt.where(m.AuditEntry.at >= since)
        return [{"id": a.id, "at": a.at, "actor": a.actor, "action": a.action, "entity": a.entity,
                 "entity_key": a.entity_key, "detail": a.detail} for a in uow.session.scalars(stmt)]


def audit_facets(uow: SqlAlchemyUnitOfWork) -> dict[str, list[str]]:
    """The entities and actions that occur in the audit log (the filter's choices)."""
    with uow:
        s = uow.session
        return {"entity": list(s.scalars(select(m.AuditEntry.entity).distinct().order_by(m.AuditEntry.entity))),
                "action": list(s.scalars(select(m.AuditEntry.action).distinct().order_by(m.AuditEntry.action)))}


def count_audit(uow: SqlAlchemyUnitOfWork) -> int:
    with uow:
        return int(uow.session.scalar(select(func.count(m.AuditEntry.id))) or 0)


# --- jobs ---------------------------------------------------------------------------------


def jobs_overview(uow: SqlAlchemyUnitOfWork, *, runs: int = 100, requests: int = 50) -> dict[str, Any]:
    """``{job_ids, runs: [JobRunRecord] newest first, requests: [JobRequestRecord] newest first,
    pending: bool}`` (pending: a "run now" request not finished yet)."""
    job_runs = jobs_service.list_job_runs(uow, limit=runs)
    job_requests = jobs_service.list_job_requests(uow, limit=requests)
    return {"job_ids": jobs_service.JOB_IDS, "runs": job_runs, "requests": job_requests,
            "pending": any(r.status in OPEN_REQUESTS for r in job_requests)}


def job_runs_by_job(uow: SqlAlchemyUnitOfWork, *, per_job: int = 20, limit: int = 200) -> list[dict[str, Any]]:
    """Each job with its newest runs: ``[{job_id, runs: [{id, status, started_at, finished_at,
    message}]}]`` (the API's ``/jobs``)."""
    recent = jobs_service.list_job_runs(uow, limit=limit)
    return [{"job_id": j, "runs": [{"id": r.id, "status": r.status.value, "started_at": r.started_at.isoformat(),
                                    "finished_at": r.finished_at.isoformat() if r.finished_at else None,
                                    "message": r.message} for r in recent if r.job_id == j][:per_job]}
            for j in jobs_service.JOB_IDS]
