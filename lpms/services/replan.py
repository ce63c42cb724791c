"""Re-planning with minimal change (docs/replan.md).

``replan`` plans from the current period (plant time) with the plant's real state: on-hand from
the stock ledger, the released work orders' remaining quantities fixed inside the frozen fence
(counted once: units still to start as production, units in process as arrivals), downtime off
the capacity, and a nervousness penalty per unit of change against the previous approved plan
outside the fence. The new run records what triggered it and its diff against the previous
approved plan; with ``auto_approve`` it is approved and released to the fence at once.

A re-plan that is infeasible is recorded (run status ``infeasible``, its message says why) and
leaves the previous approved plan in force; the service then raises ``ReplanInfeasible`` (an
``Infeasible``, exit status 3) carrying the recorded result. Any other failure is recorded as
``failed`` and raised.

Like a plan run, it reads in one short transaction, solves with none open, and writes in another.
"""
from __future__ import annotations

import dataclasses
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from lpms.db.replan_repo import DiffRow, ReplanRecord, ReplanRepository
from lpms.domain.enums import PlanRunStatus, WorkOrderStatus
from lpms.domain.errors import Busy, Infeasible, InvalidInput, LpmsError
from lpms.domain.plant_time import current_period, plant_date
from lpms.domain.transitions import PLAN_RUN_TRANSITIONS, check_transition
from lpms.planning.network_plan import NetworkPlan, plan_priority, plan_weighted
from lpms.planning.snapshot import (
    FinishedWorkOrder,
    PlanningSnapshot,
    ReplanRows,
    WorkOrderRow,
    build_plan_input,
    planned_yields,
)
from lpms.planning.solver import SolverOptions
from lpms.services import _checks
from lpms.services.plan_runs import PlanRequest, solver_message
from lpms.services.release import approve_plan_run, release_work_orders
from lpms.services.shop_floor_uow import ShopFloorUnitOfWork

OPEN = (WorkOrderStatus.RELEASED, WorkOrderStatus.IN_PROGRESS)
FINISHED = (WorkOrderStatus.COMPLETED, WorkOrderStatus.CLOSED)
DIGITS = 6  # quantities are compared at the precision plans are printed with


@dataclass(frozen=True)
class ReplanPolicy:
    """How re-plans are made (lpms.bootstrap.replan_policy builds it from the settings)."""

    fence_periods: int = 2  # release fence when the re-plan is released (release_fence_periods)
    nervousness_cost: float = 0.01  # per unit of change outside the fence
    auto_approve: bool = True  # approve and release at once (replan_auto_approve)
    timezone: str = "UTC"  # the plant's, for the current period
    yield_window: int = 8  # periods of finished work orders the planned yield learns from (0: no allowance)
    yield_z: float = 2.0  # the scrap allowance covers the mean scrap plus this many standard deviations


@dataclass(frozen=True)
class PlanDiff:
    """Production per interval and period of two runs, on the periods both plan."""

    run_a: int
    run_b: int
    periods: tuple[int, int] | None  # first and last period compared; None when the runs share none
    frozen_periods: tuple[int, ...]  # run_b's fence (a re-plan's frozen periods): not counted as moved
    rows: tuple[DiffRow, ...]  # every cell with production in either run, by interval and period
    units_moved: float  # sum of |change| outside the frozen periods

    @property
    def changed(self) -> tuple[DiffRow, ...]:
        return tuple(r for r in self.rows if r.change != 0)

    def largest(self, n: int = 10) -> list[DiffRow]:
        """The n largest changes (by |change|), frozen ones last."""
        return sorted(self.changed, key=lambda r: (r.frozen, -abs(r.change), r.interval, r.period))[:n]


@dataclass(frozen=True)
class ReplanResult:
    run_id: int
    status: PlanRunStatus
    message: str
    units_moved: float  # 0 when the re-plan has no plan
    approved: bool
    released: int  # work orders created by the release
    diff: PlanDiff | None  # against the previous approved run (None without one, or without a plan)
    replan_id: int = 0
    reason: str = ""
    previous_run_id: int | None = None
    first_period: int = 0
    frozen_periods: tuple[int, ...] = ()
    notes: tuple[str, ...] = field(default=())
    plan: NetworkPlan | None = None
    snapshot: PlanningSnapshot | None = None

    @property
    def rows(self) -> tuple[DiffRow, ...]:
        """The diff's changed rows."""
        return self.diff.changed if self.diff is not None else ()


class ReplanInfeasible(Infeasible):
    """The re-plan has no feasible plan; the run is recorded, the previous approved plan stays."""

    def __init__(self, result: ReplanResult) -> None:
        self.result = result
        super().__init__(f"re-plan (plan run {result.run_id}) is infeasible; the approved plan"
                         f"{'' if result.previous_run_id is None else f' (run {result.previous_run_id})'} stays in "
                         f"force: {result.message}")


def _r(v: float) -> float:
    return round(float(v), DIGITS) + 0.0


def diff_rows(old: dict[str, dict[int, float]], new: dict[str, dict[int, float]], periods: Iterable[int],
              frozen: Iterable[int] = ()) -> tuple[tuple[DiffRow, ...], float]:
    """Rows for every interval and period with production in either plan, and the units moved
    (sum of |change| outside ``frozen``)."""
    wanted = set(periods)
    fz = set(frozen)
    rows = []
    for interval in sorted(set(old) | set(new)):
        a, b = old.get(interval, {}), new.get(interval, {})
        for p in sorted((set(a) | set(b)) & wanted):
            o, n = _r(a.get(p, 0.0)), _r(b.get(p, 0.0))
            if o or n:
                rows.append(DiffRow(interval, p, o, n, _r(n - o), p in fz))
    moved = _r(sum(abs(r.change) for r in rows if not r.frozen))
    return tuple(rows), moved


def plan_diff(uow: ShopFloorUnitOfWork, run_a: int, run_b: int) -> PlanDiff:
    """Compare two runs' production per interval and period on the periods both plan. When
    ``run_b`` is a re-plan, its frozen periods are marked and not counted as moved. Raises NotFound."""
    with uow:
        uow.plan_runs.get(run_a)
        uow.plan_runs.get(run_b)
        repo = ReplanRepository(uow.session)  # type: ignore[attr-defined]  # the SQL unit of work's session
        return _diff(repo, run_a, run_b)


def _diff(repo: ReplanRepository, run_a: int, run_b: int) -> PlanDiff:
    pa, pb = repo.periods_planned(run_a), repo.periods_planned(run_b)
    record = repo.by_run(run_b)
    frozen = record.frozen_periods if record is not None else ()
    if pa is None or pb is None or max(pa[0], pb[0]) > min(pa[1], pb[1]):
        return PlanDiff(run_a, run_b, None, frozen, (), 0.0)
    span = (max(pa[0], pb[0]), min(pa[1], pb[1]))
    rows, moved = diff_rows(repo.interval_production(run_a), repo.interval_production(run_b),
                            range(span[0], span[1] + 1), frozen)
    return PlanDiff(run_a, run_b, span, frozen, rows, moved)


def plan_diff_dict(d: PlanDiff, *, changed_only: bool = False) -> dict[str, Any]:
    """``{run_a, run_b, periods: [first, last] | null, frozen_periods, units_moved, changed,
    rows: [{interval, period, old, new, change, frozen}]}`` (rows: every cell with production in
    either run, or only the changed ones)."""
    rows = d.changed if changed_only else d.rows
    return {"run_a": d.run_a, "run_b": d.run_b, "periods": list(d.periods) if d.periods else None,
            "frozen_periods": list(d.frozen_periods), "units_moved": d.units_moved, "changed": len(d.changed),
            "rows": [{"interval": r.interval, "period": r.period, "old": r.old, "new": r.new, "change": r.change,
                      "frozen": r.frozen} for r in rows]}


def replan_dict(r: ReplanResult, *, largest: int | None = None) -> dict[str, Any]:
    """The JSON shape of ``lpms replan --format json`` (docs/replan.md)."""
    diff = None
    if r.diff is not None:
        diff = plan_diff_dict(r.diff, changed_only=True)
        if largest is not None:
            diff["rows"] = plan_diff_dict(dataclasses.replace(r.diff, rows=tuple(r.diff.largest(largest))),
                                          changed_only=True)["rows"]
    return {"run_id": r.run_id, "replan_id": r.replan_id, "status": r.status.value, "message": r.message,
            "reason": r.reason, "previous_run_id": r.previous_run_id, "first_period": r.first_period,
            "frozen_periods": list(r.frozen_periods), "units_moved": r.units_moved, "approved": r.approved,
            "released": r.released, "notes": list(r.notes), "diff": diff}


def list_replans(uow: ShopFloorUnitOfWork, *, limit: int = 100) -> list[ReplanRecord]:
    """The latest re-plans, newest first."""
    with uow:
        return ReplanRepository(uow.session).latest(limit)  # type: ignore[attr-defined]


def _work_order_rows(uow: ShopFloorUnitOfWork) -> tuple[tuple[WorkOrderRow, ...], tuple[FinishedWorkOrder, ...]]:
    """The open work orders as the re-plan counts them, and the finished (completed or
    short-closed) ones the planned yield learns from."""
    rows = []
    finished = []
    for wo in uow.work_orders.list():
        if wo.status in FINISHED:
            finished.append(FinishedWorkOrder(wo.interval, wo.start_period,
                                              tuple((op.good, op.scrap) for op in wo.operations)))
        if wo.status not in OPEN:
            continue
        first = wo.operations[0] if wo.operations else None
        rows.append(WorkOrderRow(
            wo.number, wo.interval, wo.item, wo.start_period, wo.due_period, wo.quantity, wo.good, wo.scrap,
            first.good if first is not None else wo.good, first.scrap if first is not None else wo.scrap))
    return tuple(rows), tuple(finished)


REPLAN_LOCK = "lpms.replan"
REPLAN_LOCK_TIMEOUT_S = 10.0


def replan(uow: ShopFloorUnitOfWork, *, reason: str, policy: ReplanPolicy, options: SolverOptions, actor: str,
           now: datetime) -> ReplanResult:
    """Re-plan from the current period with minimal change; approve and release it when the
    policy says so.

    Returns the result (``status`` succeeded, or approved when auto-approved). Raises
    ReplanInfeasible after recording an infeasible run (the previous approved plan stays in
    force), InvalidInput (reason, policy), NotFound (``now`` outside the calendar), Busy, and
    any error of the solver after recording the run as failed.
    """
    why = _checks.text(reason, "reason", max_len=2000) or "manual"
    if policy.fence_periods < 0:
        raise InvalidInput(f"release fence: {policy.fence_periods} periods is negative")
    if not policy.nervousness_cost >= 0:
        raise InvalidInput(f"nervousness cost {policy.nervousness_cost!r} must not be negative")
    if policy.yield_window < 0 or not policy.yield_z >= 0:
        raise InvalidInput(f"planned yield: window {policy.yield_window} and z {policy.yield_z!r} must not be negative")
    started = time.perf_counter()
    with uow:
        # one re-plan at a time: the check and this run's row under one lock, so that two callers
        # (the nightly job, a planner's "re-plan now") never plan from the same previous plan and
        # approve over each other; a run left "running" by a crash stops blocking once stale
        uow.locks.begin(REPLAN_LOCK, timeout=REPLAN_LOCK_TIMEOUT_S,
                        busy_message="another re-plan is starting; try again in a moment")
        repo = ReplanRepository(uow.session)  # type: ignore[attr-defined]  # the SQL unit of work's session
        stale = timedelta(seconds=2 * float(options.time_limit_s) + 300)
        for other in repo.running(since=now - stale):
            raise Busy(f"re-plan {other.id} (plan run {other.plan_run_id}, started {other.created_at:%Y-%m-%d %H:%M} "
                       f"UTC by {other.created_by}) is still running; wait for it to finish")
        calendar = uow.work_orders.periods()
        first = current_period(calendar, plant_date(now, policy.timezone)).seq  # NotFound outside the calendar
        approved = uow.work_orders.approved_run_ids()
        previous_id = approved[-1] if approved else None
        request = PlanRequest()
        previous = None
        previous_last = 0
        if previous_id is not None:
            request = PlanRequest.from_parameters(uow.plan_runs.get(previous_id).parameters)
            previous = repo.interval_production(previous_id)
            span = repo.periods_planned(previous_id)
            previous_last = span[1] if span else 0
        rows = uow.planning.load_rows()
        rows = dataclasses.replace(rows, on_hand=tuple(sorted(uow.stock.on_hand().items())))  # the ledger's
        frozen = tuple(sorted(p for p in uow.work_orders.released_periods() if p >= first))
        downtime = tuple((wc, p.seq, minutes) for p in calendar if p.seq >= first
                         for wc, minutes in sorted(uow.reports.downtime_minutes(p.seq).items()))
        open_rows, finished = _work_order_rows(uow)
        yields = planned_yields(finished, first_period=first, window=policy.yield_window, z=policy.yield_z) \
            if policy.yield_window > 0 else {}
        replan_rows = ReplanRows(first_period=first, frozen_periods=frozen, work_orders=open_rows,
                                 previous=previous, previous_last_period=previous_last, downtime=downtime,
                                 nervousness_cost=policy.nervousness_cost, yields=yields)
        parameters = {**request.parameters(), "replan": {"reason": why, "previous_run": previous_id,
                                                         "first_period": first, "frozen_periods": list(frozen),
                                                         "nervousness_cost": policy.nervousness_cost,
                                                         "yields": yields}}
        run_id = uow.plan_runs.add(mode=request.mode, parameters=parameters, created_by=actor, created_at=now)
        uow.plan_runs.update(run_id, status=PlanRunStatus.RUNNING, started_at=now)
        replan_id = repo.add(plan_run_id=run_id, previous_run_id=previous_id, reason=why, first_period=first,
                             frozen_periods=frozen, nervousness_cost=policy.nervousness_cost, created_by=actor,
                             created_at=now)
        uow.audit.add(actor=actor, action="replan", entity="plan_run", entity_key=str(run_id), at=now,
                      detail={"after": {"status": PlanRunStatus.RUNNING.value}, "reason": why,
                              "previous_run": previous_id, "first_period": first, "frozen_periods": list(frozen)})
        uow.commit()
    base = ReplanResult(run_id, PlanRunStatus.RUNNING, "", 0.0, False, 0, None, replan_id, why, previous_id, first,
                        frozen)
    snapshot: PlanningSnapshot | None = None
    try:
        snapshot = build_plan_input(rows, request.costs, balance_on=request.balance_on.value,
                                    allow_backlog_past_horizon=request.allow_backlog_past_horizon, replan=replan_rows,
                                    min_interval_lead=request.min_interval_lead)
        if request.priority:
            plan = plan_priority(snapshot.plan_input, [o.value for o in request.priority], options)
        else:
            plan = plan_weighted(snapshot.plan_input, options)
    except Infeasible as exc:
        result = _record(uow, base, PlanRunStatus.INFEASIBLE, str(exc), None, snapshot, now, started, actor)
        raise ReplanInfeasible(result) from None
    except LpmsError as exc:
        _record(uow, base, PlanRunStatus.FAILED, str(exc), None, snapshot, now, started, actor)
        raise
    except Exception as exc:
        _record(uow, base, PlanRunStatus.FAILED, f"internal error: {type(exc).__name__}: {exc}", None, snapshot, now,
                started, actor)
        raise
    result = _record(uow, base, PlanRunStatus.SUCCEEDED, solver_message(plan.solver), plan, snapshot, now,
                     started, actor)
    if not policy.auto_approve:
        return result
    with uow:
        approved_now = uow.work_orders.approved_run_ids()
    if (approved_now[-1] if approved_now else None) != previous_id:
        # a planner approved another run while this one was solving: theirs stays in force
        note = (f"not approved: plan run {approved_now[-1]} was approved while this re-plan ran, "
                f"so this plan (from run {previous_id}) is out of date")
        return dataclasses.replace(result, notes=(*result.notes, note))
    approve_plan_run(uow, run_id, actor=actor, now=now)
    release = release_work_orders(uow, fence_periods=policy.fence_periods, actor=actor, now=now,
                                  timezone=policy.timezone)
    with uow:
        ReplanRepository(uow.session).update(replan_id, approved=True,  # type: ignore[attr-defined]
                                             released=len(release.work_orders))
        uow.commit()
    return dataclasses.replace(result, status=PlanRunStatus.APPROVED, approved=True, released=len(release.work_orders))


def _record(uow: ShopFloorUnitOfWork, base: ReplanResult, status: PlanRunStatus, message: str,
            plan: NetworkPlan | None, snapshot: PlanningSnapshot | None, now: datetime,
            started: float, actor: str) -> ReplanResult:
    """Write the outcome: the run's status and message, its plan and the diff against the previous run."""
    finished = now + timedelta(seconds=time.perf_counter() - started)
    notes = (snapshot.messages if snapshot is not None else ()) + tuple(plan.notes if plan is not None else ())
    run_id = base.run_id
    diff = None
    moved = 0.0
    with uow:
        repo = ReplanRepository(uow.session)  # type: ignore[attr-defined]
        before = uow.plan_runs.get(run_id).status
        check_transition("plan run", PLAN_RUN_TRANSITIONS, before, status)
        fields: dict[str, Any] = {"status": status, "message": "\n".join([message, *notes]), "finished_at": finished}
        if plan is not None and snapshot is not None:
            fields["objectives"] = {"values": plan.objectives, "costs": plan.costs}
            fields["solver_stats"] = {k: v for k, v in plan.solver.items() if isinstance(v, (int, float, str))}
            uow.plan_runs.store_plan(run_id, plan, snapshot.gross, snapshot.net, first_period=snapshot.first_period)
            uow.session.flush()  # type: ignore[attr-defined]
            if base.previous_run_id is not None:
                diff = _diff(repo, base.previous_run_id, run_id)
                moved = diff.units_moved
                repo.add_changes(base.replan_id, diff.changed)
            repo.update(base.replan_id, units_moved=moved)
        uow.plan_runs.update(run_id, **fields)
        uow.audit.add(actor=actor, action="execute", entity="plan_run",
                      entity_key=str(run_id), at=finished,
                      detail={"before": {"status": before.value},
                              "after": {"status": status.value, "message": message[:500]},
                              "units_moved": moved, "notes": list(notes)})
        uow.commit()
    return dataclasses.replace(base, status=status, message=message, units_moved=moved, diff=diff, notes=notes,
                               plan=plan, snapshot=snapshot)
