"""Read-only views for screens and the API: rows read in one short transaction and shaped for
display. Nothing here writes; every write goes through a service in lpms/services."""
from __future__ import annotations

import datetime as dt
import importlib
from collections import defaultdict
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any

from sqlalchemy import func, select

from lpms.db import models as m
from lpms.db.repositories import PlanRunRecord
from lpms.db.session import SqlAlchemyUnitOfWork
from lpms.db.shop_floor import OperationRecord, WorkOrderRecord
from lpms.domain.enums import PlanRunStatus, WorkOrderStatus
from lpms.domain.errors import NotFound
from lpms.services import calendar as calendar_service
from lpms.services import work_orders as wo_service
from lpms.services.views import levelled_lots

OPEN_WORK = (WorkOrderStatus.RELEASED, WorkOrderStatus.IN_PROGRESS)


def optional_service(name: str) -> ModuleType | None:
    """A service module written by another part of LPMS that may not be installed in this build
    (progress, fluctuations, replan, jobs): None when it is missing."""
    try:
        return importlib.import_module(f"lpms.services.{name}")
    except ImportError:
        return None


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


def capacity(uow: SqlAlchemyUnitOfWork, work_center: str | None = None) -> list[dict[str, Any]]:
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
    with uow:
        stmt = (select(m.CustomerOrder, m.Item.code).join(m.Item, m.Item.id == m.CustomerOrder.item_id)
                .order_by(m.CustomerOrder.due_date, m.CustomerOrder.number))
        return [_order_dict(o, code) for o, code in uow.session.execute(stmt).tuples()]


def order(uow: SqlAlchemyUnitOfWork, number: str) -> dict[str, Any]:
    with uow:
        row = uow.session.execute(select(m.CustomerOrder, m.Item.code).join(m.Item, m.Item.id == m.CustomerOrder.item_id)
                                  .where(m.CustomerOrder.number == number)).tuples().one_or_none()
        if row is None:
            raise NotFound(f"customer order {number} does not exist")
        return _order_dict(*row)


# --- plan runs ----------------------------------------------------------------------------


def run_dict(r: PlanRunRecord) -> dict[str, Any]:
    return {"id": r.id, "status": r.status.value, "mode": r.mode.value, "parameters": r.parameters,
            "objectives": (r.objectives or {}).get("values", {}), "message": r.message.split("\n")[0],
            "notes": r.message.split("\n")[1:], "created_by": r.created_by, "created_at": r.created_at,
            "started_at": r.started_at, "finished_at": r.finished_at}


def plan_runs(uow: SqlAlchemyUnitOfWork, limit: int = 200) -> list[dict[str, Any]]:
    with uow:
        ids = list(uow.session.scalars(select(m.PlanRun.id).order_by(m.PlanRun.id.desc()).limit(limit)))
        return [run_dict(uow.plan_runs.get(i)) for i in ids]


def plan_run(uow: SqlAlchemyUnitOfWork, run_id: int) -> dict[str, Any]:
    with uow:
        return run_dict(uow.plan_runs.get(run_id))


@dataclass
class PlanView:
    run: dict[str, Any]
    periods: list[int]
    # (interval, item) -> production per period
    production: dict[tuple[str, str], list[float]] = field(default_factory=dict)
    inventory: dict[str, list[float]] = field(default_factory=dict)
    backlog: dict[str, list[float]] = field(default_factory=dict)
    # work center -> (load, regular used, overtime used, regular capacity, overtime capacity) per period
    load: dict[str, dict[str, list[float]]] = field(default_factory=dict)
    safety: dict[str, float] = field(default_factory=dict)
    levelled: dict[int, dict[str, Any]] = field(default_factory=dict)


def plan_view(uow: SqlAlchemyUnitOfWork, run_id: int, *, levelled: bool = True) -> PlanView:
    with uow:
        run = run_dict(uow.plan_runs.get(run_id))
        s = uow.session
        lines = s.execute(select(m.PlanLine.period_seq, m.PlanLine.interval_code, m.PlanLine.production,
                                 m.PlanLine.inventory, m.PlanLine.backlog, m.Item.code)
                          .join(m.Item, m.Item.id == m.PlanLine.item_id)
                          .where(m.PlanLine.plan_run_id == run_id)).tuples().all()
        loads = s.execute(select(m.PlanLoad.period_seq, m.PlanLoad.load_min, m.PlanLoad.regular_min,
                                 m.PlanLoad.overtime_min, m.WorkCenter.code).join(m.WorkCenter)
                          .where(m.PlanLoad.plan_run_id == run_id)).tuples().all()
        cap_rows = s.execute(select(m.WorkCenter.code, m.Period.seq, m.Capacity.regular_min, m.Capacity.overtime_min)
                             .join(m.WorkCenter, m.WorkCenter.id == m.Capacity.work_center_id)
                             .join(m.Period, m.Period.id == m.Capacity.period_id)).tuples().all()
        safety = dict(s.execute(select(m.Item.code, m.Item.safety_stock).where(m.Item.stocked.is_(True))).tuples().all())
    n = max([ln[0] for ln in lines] + [ld[0] for ld in loads] + [0])
    view = PlanView(run, list(range(1, n + 1)), safety=safety)
    for seq, interval, production, inventory, backlog, code in lines:
        t = seq - 1
        if interval and production:
            view.production.setdefault((interval, code), [0.0] * n)[t] = production
        if code in safety:
            view.inventory.setdefault(code, [0.0] * n)[t] = inventory
        if backlog:
            view.backlog.setdefault(code, [0.0] * n)[t] = backlog
    cap = {(wc, seq): (reg, ot) for wc, seq, reg, ot in cap_rows}
    for seq, load_min, regular_min, overtime_min, wc in loads:
        t = seq - 1
        row = view.load.setdefault(wc, {k: [0.0] * n for k in ("load", "regular", "overtime", "cap_regular",
                                                                 "cap_overtime")})
        row["load"][t], row["regular"][t], row["overtime"][t] = load_min, regular_min, overtime_min
        reg, ot = cap.get((wc, seq), (0.0, 0.0))
        row["cap_regular"][t], row["cap_overtime"][t] = reg, ot
    view.production = dict(sorted(view.production.items()))
    view.load = dict(sorted(view.load.items()))
    if levelled:
        heads = _interval_heads(view)
        for t in view.periods:
            mix = {heads[iv]: float(round(q[t - 1])) for (iv, item), q in view.production.items()
                   if heads.get(iv) == item and q[t - 1] >= 0.5}  # levelling sequences whole units
            if mix:
                view.levelled[t] = {"lots": levelled_lots(mix), "units": round(sum(mix.values())),
                                    "mix": {k: round(v) for k, v in sorted(mix.items())}}
    return view


def _interval_heads(view: PlanView) -> dict[str, str]:
    """Interval code -> its head item (the interval's code is its head's code with a suffix, or the
    member whose production is largest when the code names no member)."""
    members: dict[str, list[tuple[str, float]]] = defaultdict(list)
    for (iv, item), q in view.production.items():
        members[iv].append((item, sum(q)))
    heads = {}
    for iv, rows in members.items():
        named = [item for item, _ in rows if iv == item or iv.startswith(item + "[") or iv.endswith(item)]
        heads[iv] = named[0] if named else max(rows, key=lambda r: (r[1], r[0]))[0]
    return heads


def compare_runs(uow: SqlAlchemyUnitOfWork, a: int, b: int) -> dict[str, Any]:
    """Two runs side by side: objectives, and per interval and item the production per period
    of each and the change (b - a); units moved is the sum of |change|."""
    va, vb = plan_view(uow, a, levelled=False), plan_view(uow, b, levelled=False)
    n = max(len(va.periods), len(vb.periods))
    keys = sorted(set(va.production) | set(vb.production))
    rows = []
    moved = 0.0
    for key in keys:
        pa = (va.production.get(key, []) + [0.0] * n)[:n]
        pb = (vb.production.get(key, []) + [0.0] * n)[:n]
        change = [round(y - x, 6) for x, y in zip(pa, pb)]
        moved += sum(abs(c) for c in change)
        rows.append({"interval": key[0], "item": key[1], "a": pa, "b": pb, "change": change,
                     "total_change": round(sum(change), 6)})
    names = sorted(set(va.run["objectives"]) | set(vb.run["objectives"]))
    objectives = [{"objective": k, "a": va.run["objectives"].get(k), "b": vb.run["objectives"].get(k)} for k in names]
    return {"a": va.run, "b": vb.run, "periods": list(range(1, n + 1)), "objectives": objectives, "rows": rows,
            "units_moved": round(moved, 6)}


def pareto_points(uow: SqlAlchemyUnitOfWork, x: str, y: str) -> list[dict[str, Any]]:
    """Every run with a plan (succeeded, approved, superseded) as a point of objectives x and y;
    ``front`` marks the runs no other run beats on both."""
    with uow:
        runs = list(uow.session.scalars(
            select(m.PlanRun).where(m.PlanRun.status.in_([PlanRunStatus.SUCCEEDED, PlanRunStatus.APPROVED,
                                                         PlanRunStatus.SUPERSEDED])).order_by(m.PlanRun.id)))
        points = []
        for r in runs:
            values = (r.objectives or {}).get("values", {})
            if x in values and y in values:
                points.append({"id": r.id, "x": float(values[x]), "y": float(values[y]), "status": r.status.value})
    xy = [(float(p["x"]), float(p["y"])) for p in points]
    for p, (px, py) in zip(points, xy):
        p["front"] = not any(qx <= px and qy <= py and (qx < px or qy < py) for qx, qy in xy)
    return points


# --- shop floor -------------------------------------------------------------------------


@dataclass
class QueueRow:
    work_order: WorkOrderRecord
    operation: OperationRecord
    remaining: float
    period: int
    position: int  # in the period's levelled sequence (first unit of this item)
    kit: dict[str, Any] | None  # {"coverage", "short": [...]} from the kit measure, None: not known


@dataclass
class FloorQueue:
    work_center: str
    current: int | None
    note: str
    periods: dict[int, list[QueueRow]]
    sequences: dict[int, tuple[tuple[str, float], ...]]  # levelled lots: (item, units) runs
    kit_known: bool


def current_period(uow: SqlAlchemyUnitOfWork, *, timezone: str, now: dt.datetime) -> tuple[int | None, str]:
    view = calendar_service.calendar_view(uow, timezone=timezone, now=now)
    return view.current_seq, view.note


def kit_by_work_order(uow: SqlAlchemyUnitOfWork, *, now: dt.datetime) -> dict[str, dict[str, Any]] | None:
    progress = optional_service("progress")
    if progress is None:
        return None
    kit = progress.kit_dict(progress.kit_report(uow, now=now, window=2))
    return {row["number"]: row for row in kit.get("work_orders", [])}


def floor_queue(uow: SqlAlchemyUnitOfWork, work_center: str, *, timezone: str, now: dt.datetime) -> FloorQueue:
    """The work center's open operations due in the current and the next period (and any left
    over from before, counted into the current one), in the period's levelled sequence."""
    current, note = current_period(uow, timezone=timezone, now=now)
    orders = wo_service.list_work_orders(uow, work_center=work_center)
    kit = kit_by_work_order(uow, now=now)
    by_period: dict[int, list[tuple[WorkOrderRecord, OperationRecord, float]]] = defaultdict(list)
    if current is not None:
        for wo in orders:
            if wo.status not in OPEN_WORK or wo.start_period > current + 1:
                continue
            for op in wo.operations:
                if op.work_center != work_center:
                    continue
                remaining = max(0.0, wo.quantity - op.good - op.scrap)
                if remaining > 1e-9:
                    by_period[max(wo.start_period, current)].append((wo, op, remaining))
    periods: dict[int, list[QueueRow]] = {}
    sequences: dict[int, tuple[tuple[str, float], ...]] = {}
    for period in sorted(by_period):
        rows = by_period[period]
        mix: dict[str, float] = defaultdict(float)
        for wo, _op, remaining in rows:
            mix[wo.item] += remaining
        lots = levelled_lots(mix)
        sequences[period] = lots
        first: dict[str, int] = {}
        for i, (item, _units) in enumerate(lots):
            first.setdefault(item, i)
        out = [QueueRow(wo, op, remaining, period, first.get(wo.item, len(lots)),
                        kit.get(wo.number) if kit is not None else None) for wo, op, remaining in rows]
        out.sort(key=lambda r: (r.work_order.start_period, r.position, r.work_order.number, r.operation.seq))
        periods[period] = out
    return FloorQueue(work_center, current, note, periods, sequences, kit is not None)


# --- audit --------------------------------------------------------------------------------


def audit_entries(uow: SqlAlchemyUnitOfWork, *, actor: str = "", entity: str = "", action: str = "",
                  since: dt.datetime | None = None, limit: int = 200) -> list[dict[str, Any]]:
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
    with uow:
        s = uow.session
        return {"entity": list(s.scalars(select(m.AuditEntry.entity).distinct().order_by(m.AuditEntry.entity))),
                "action": list(s.scalars(select(m.AuditEntry.action).distinct().order_by(m.AuditEntry.action)))}


def count_audit(uow: SqlAlchemyUnitOfWork) -> int:
    with uow:
        return int(uow.session.scalar(select(func.count(m.AuditEntry.id))) or 0)
