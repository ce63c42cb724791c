"""Plan runs on the database: read a snapshot (one short transaction), solve with no
transaction open, write the plan run (a second transaction)."""
from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select

from lpms.db import models as m
from lpms.db.session import UnitOfWork
from lpms.domain.enums import ItemKind, OrderStatus, PlanRunStatus
from lpms.domain.errors import InvalidInput
from lpms.domain.transitions import PLAN_RUN_TRANSITIONS, check_transition
from lpms.planning.demand import ForecastBucket, OrderLine, average_forecasts, gross_demand, net_demand
from lpms.planning.network import BomEdge, ItemSpec, NetworkSnapshot, OperationSpec
from lpms.planning.network_plan import NetworkInfeasible, NetworkPlan, NetworkPlanInput, plan_network
from lpms.planning.single import Costs
from lpms.planning.solver import SolverOptions
from lpms.settings import Settings


@dataclass(frozen=True)
class PlanningSnapshot:
    """Everything a plan needs, read in one transaction; plain values, no ORM objects."""

    plan_input: NetworkPlanInput
    item_ids: dict[str, int]
    work_center_ids: dict[str, int]
    gross: dict[str, tuple[float, ...]]
    net: dict[str, tuple[float, ...]]
    period_starts: tuple[dt.date, ...]


def _period_index(starts: Sequence[dt.date], ends: Sequence[dt.date], day: dt.date) -> int | None:
    for k, (a, b) in enumerate(zip(starts, ends)):
        if a <= day <= b:
            return k
    return None


def read_snapshot(uow: UnitOfWork, costs: Costs, *, allow_backlog_past_horizon: bool = False,
                  balance_on: str = "work_centers") -> PlanningSnapshot:
    """Read items, BOM, routings, calendar, capacity, demand and stock; derive net demand of
    end products (offset rule per item, averaging, netting). Raises LpmsError if the data
    cannot be planned (no calendar, no end product)."""
    with uow:
        s = uow.session
        assert s is not None
        periods = list(s.scalars(select(m.Period).order_by(m.Period.seq)))
        if not periods:
            raise InvalidInput("the planning calendar is empty: import calendar.csv first")
        starts = [p.start_date for p in periods]
        ends = [p.end_date for p in periods]
        T = len(periods)
        items = list(s.scalars(select(m.Item).order_by(m.Item.code)))
        code = {i.id: i.code for i in items}
        wcs = list(s.scalars(select(m.WorkCenter).order_by(m.WorkCenter.code)))
        wc_code = {w.id: w.code for w in wcs}
        bom = [BomEdge(code[b.parent_id], code[b.child_id], b.qty_per) for b in s.scalars(select(m.BomLine))]
        ops = [OperationSpec(code[o.item_id], o.sequence, wc_code[o.work_center_id], o.run_min, o.setup_min)
               for o in s.scalars(select(m.Operation))]
        period_of = {p.id: k for k, p in enumerate(periods)}
        regular = {w.code: [0.0] * T for w in wcs}
        overtime = {w.code: [0.0] * T for w in wcs}
        for c in s.scalars(select(m.Capacity)):
            regular[wc_code[c.work_center_id]][period_of[c.period_id]] = c.regular_min
            overtime[wc_code[c.work_center_id]][period_of[c.period_id]] = c.overtime_min
        forecasts: dict[str, list[ForecastBucket]] = {}
        for f in s.scalars(select(m.Forecast)):
            forecasts.setdefault(code[f.item_id], []).append(ForecastBucket(f.start_date, f.end_date, f.quantity))
        orders: dict[str, list[OrderLine]] = {}
        for o in s.scalars(select(m.CustomerOrder).where(m.CustomerOrder.status.in_([OrderStatus.OPEN, OrderStatus.CONFIRMED]))
                           .order_by(m.CustomerOrder.due_date, m.CustomerOrder.priority.desc(), m.CustomerOrder.number)):
            k = _period_index(starts, ends, o.due_date)
            if k is None:
                k = 0 if o.due_date < starts[0] else None  # overdue orders are due now; beyond the horizon: ignored
            if k is not None:
                orders.setdefault(code[o.item_id], []).append(OrderLine(k, o.quantity))
        on_hand = {code[st.item_id]: st.on_hand for st in s.scalars(select(m.Stock))}
        receipts: dict[str, list[float]] = {}
        for r in s.scalars(select(m.ScheduledReceipt)):
            k = _period_index(starts, ends, r.due_date)
            k = 0 if k is None and r.due_date < starts[0] else k
            if k is not None:
                receipts.setdefault(code[r.item_id], [0.0] * T)[k] += r.quantity
        item_rows = [(i.code, i.kind, i.lead_time_periods, i.stocked, i.safety_stock, i.offset_rule,
                      i.backward_window, i.forward_window, i.id) for i in items]
        wc_ids = {w.code: w.id for w in wcs}
    # derive demand outside the transaction
    products = [r for r in item_rows if r[1] is ItemKind.PRODUCT]
    if not products:
        raise InvalidInput("no end product (kind 'product') to plan")
    gross, net = {}, {}
    for codestr, _kind, _lt, _st, ss, rule, back, fwd, _id in products:
        fc, _outside = average_forecasts(starts, forecasts.get(codestr, []))
        gd = gross_demand(fc, orders.get(codestr, []), rule, back, fwd)
        nd = net_demand(gd, on_hand.get(codestr, 0.0), receipts.get(codestr), ss)
        gross[codestr], net[codestr] = tuple(gd), tuple(nd)
    product_codes = set(gross)
    snapshot = NetworkSnapshot(
        items=tuple(ItemSpec(r[0], r[1], r[2], r[3]) for r in item_rows), bom=tuple(bom),
        operations=tuple(ops), work_centers=tuple(w for w in wc_ids),
    )
    plan_input = NetworkPlanInput(
        snapshot=snapshot, periods=T, demand=net,
        regular_min={k: tuple(v) for k, v in regular.items()}, overtime_min={k: tuple(v) for k, v in overtime.items()},
        on_hand={k: v for k, v in on_hand.items() if k not in product_codes},
        receipts={k: tuple(v) for k, v in receipts.items() if k not in product_codes},
        safety_stock={r[0]: r[4] for r in item_rows if r[4] > 0 and r[0] not in product_codes},
        costs=costs, balance_on=balance_on, allow_backlog_past_horizon=allow_backlog_past_horizon,
    )
    return PlanningSnapshot(plan_input, {r[0]: r[8] for r in item_rows}, wc_ids, gross, net, tuple(starts))


def run_plan(uow: UnitOfWork, settings: Settings, costs: Costs, *, priority: Sequence[str] = (),
             allow_backlog_past_horizon: bool = False, created_by: str = "cli",
             now: dt.datetime | None = None) -> tuple[int, NetworkPlan | None, str]:
    """Plan the database's network and store a plan run with its lines and loads.

    Returns (plan run id, plan or None, message). An infeasible plan is stored with status
    'infeasible' and the explanation; nothing else is written then.
    """
    now = now or dt.datetime.now(dt.UTC)
    snap = read_snapshot(uow, costs, allow_backlog_past_horizon=allow_backlog_past_horizon)
    params: dict[str, Any] = {"costs": costs.as_weights(), "priority": list(priority),
                              "allow_backlog_past_horizon": allow_backlog_past_horizon}
    with uow:
        run = m.PlanRun(status=PlanRunStatus.RUNNING, mode="priority" if priority else "weighted",
                        parameters=params, created_by=created_by, created_at=now)
        assert uow.session is not None
        uow.session.add(run)
        uow.commit()
        run_id = run.id
    options = SolverOptions(time_limit_s=settings.solver_time_limit_s, threads=settings.solver_threads,
                            gap_rel=settings.balance_gap_rel)
    plan: NetworkPlan | None = None
    try:
        result = plan_network(snap.plan_input, options, mode="priority" if priority else "weighted", priority=priority)
        assert not isinstance(result, list)
        plan = result
        status, message = PlanRunStatus.SUCCEEDED, solver_message(plan.solver)
    except NetworkInfeasible as exc:
        status, message = PlanRunStatus.INFEASIBLE, str(exc)
    except Exception as exc:
        _finish(uow, run_id, PlanRunStatus.FAILED, f"{type(exc).__name__}: {exc}", None, snap)
        raise
    _finish(uow, run_id, status, message, plan, snap)
    return run_id, plan, message


def solver_message(solver: dict[str, Any]) -> str:
    """The run's message: the solver status word (``optimal``, ``time limit``, ``gap not met``);
    when the plan is not proven optimal, also the certified lower bound and the gap reached."""
    status = str(solver["status"])
    if status == "optimal":
        return status
    return (f"{status}: {solver['bound_of']} {solver['objective']:.6g}, certified lower bound "
            f"{solver['lower_bound']:.6g}, gap {solver['gap_rel']:.2e} (target {solver['gap_target']:.0e})")


def _finish(uow: UnitOfWork, run_id: int, status: PlanRunStatus, message: str, plan: NetworkPlan | None,
            snap: PlanningSnapshot) -> None:
    with uow:
        s = uow.session
        assert s is not None
        run = s.get(m.PlanRun, run_id)
        assert run is not None
        run.status = check_transition("plan run", PLAN_RUN_TRANSITIONS, run.status, status)
        run.message = message
        run.finished_at = dt.datetime.now(dt.UTC)
        if plan is not None:
            run.objectives = {"values": plan.objectives, "costs": plan.costs}
            run.solver_stats = {k: v for k, v in plan.solver.items() if isinstance(v, (int, float, str))}
            interval_of = {mbr: iv["code"] for iv in plan.intervals for mbr in iv["members"]}
            items = set(plan.item_production) | set(plan.inventory) | set(plan.backlog)
            for item in sorted(items):
                prod = plan.item_production.get(item, [0.0] * plan.periods)
                inv = plan.inventory.get(item, [0.0] * plan.periods)
                back = plan.backlog.get(item, [0.0] * plan.periods)
                gross = snap.gross.get(item, (0.0,) * plan.periods)
                net = snap.net.get(item, (0.0,) * plan.periods)
                for t in range(plan.periods):
                    if prod[t] or inv[t] or back[t] or gross[t] or net[t]:
                        s.add(m.PlanLine(plan_run_id=run_id, item_id=snap.item_ids[item], interval_code=interval_of.get(item, ""),
                                         period_seq=t + 1, gross_demand=gross[t], net_demand=net[t], production=prod[t],
                                         inventory=inv[t], backlog=back[t]))
            for w, loads in plan.load_min.items():
                for t in range(plan.periods):
                    s.add(m.PlanLoad(plan_run_id=run_id, work_center_id=snap.work_center_ids[w], period_seq=t + 1,
                                     load_min=loads[t], regular_min=plan.regular_min[w][t], overtime_min=plan.overtime_min[w][t]))
        s.add(m.AuditEntry(actor=run.created_by, action="plan_run", entity="plan_run", entity_key=str(run_id),
                           detail={"status": status.value}))
        uow.commit()


def run_demo_plans(uow: UnitOfWork, settings: Settings) -> list[str]:
    """Plan the demo database (paper case and plant together) and describe the result."""
    run_id, plan, message = run_plan(uow, settings, Costs(late=100, inventory=1, overtime=1), created_by="demo")
    if plan is None:
        return [f"plan run {run_id}: {message}"]
    lines = [f"plan run {run_id}: {plan.solver['status']}, {len(plan.intervals)} intervals, "
             f"{plan.solver['rows']} rows x {plan.solver['columns']} columns, {plan.solver['seconds']:.2f} s"]
    o = plan.objectives
    lines.append(f"  delayed units {o['late']:g}, inventory unit-periods {o['inventory']:g}, overtime minutes {o['overtime']:g}")
    p = plan.item_production.get("LCD-SPARE")
    if p:
        lines.append("  paper case LCD-SPARE production: " + " ".join(f"{v:g}" for v in p))
    return lines
