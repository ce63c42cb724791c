"""Approve a plan run and release its production inside the fence as work orders.

``approve_plan_run``: only a succeeded run; the run approved before it becomes superseded.
``release_work_orders``: for each period of the fence (the current period and the ones after
it, ``fence_periods`` in all) that was never released, one work order per interval with
production in that period in the approved plan: the interval's head item, the quantity (in
whole units for items counted in pieces), the planned start (the period) and the due period
(start + the interval's lead time, at least the approved run's ``min_interval_lead`` for an
interval feeding another), its operations (the chain's routing steps in flow order,
numbered 10, 20, 30 ...) and its kit (the interval's buffered inputs per unit). Released periods are recorded and frozen: releasing
again creates nothing for them, whatever plan is approved later. Numbers are
``WO-P<period>-<n>``, ``n`` counting the period's orders in interval-code order, so the same
plan released into an empty database gets the same numbers.

Approval and release take one named lock, so they run one at a time.
"""
from __future__ import annotations

import datetime as dt
import math
from collections import defaultdict
from dataclasses import dataclass

from lpms.db.shop_floor import NewOperation, NewWorkOrder, WorkOrderRecord
from lpms.domain.enums import PlanRunStatus, WorkOrderStatus
from lpms.domain.errors import Conflict, InvalidInput, NotFound
from lpms.domain.plant_time import current_period, plant_date
from lpms.domain.transitions import PLAN_RUN_TRANSITIONS, check_transition
from lpms.planning.network import Division, OperationSpec, build_graph, divide
from lpms.planning.snapshot import network_snapshot
from lpms.services._checks import LOCK_TIMEOUT_S
from lpms.services.shop_floor_uow import ShopFloorUnitOfWork

RELEASE_LOCK = "lpms.release"
# units of measure that count pieces: a work order for them is released in whole units
COUNT_UNITS = frozenset({"pcs", "pc", "piece", "pieces", "ea", "each", "unit", "units"})
BUSY_MESSAGE = "another approval or release is running; try again"


@dataclass(frozen=True)
class ApprovalResult:
    run_id: int
    superseded: tuple[int, ...]  # runs that were approved before


@dataclass(frozen=True)
class ReleaseResult:
    run_id: int  # the approved run released from
    current_period: int
    fence: tuple[int, ...]  # the periods inside the fence
    released: tuple[int, ...]  # released by this call
    frozen: tuple[int, ...]  # inside the fence but released before: left as they are
    beyond_plan: tuple[int, ...]  # inside the fence but after the approved plan's horizon: not released
    work_orders: tuple[WorkOrderRecord, ...]  # created by this call


def work_order_number(period: int, n: int) -> str:
    return f"WO-P{period:02d}-{n:04d}"


def approve_plan_run(uow: ShopFloorUnitOfWork, run_id: int, *, actor: str, now: dt.datetime,
                     lock_timeout: float = LOCK_TIMEOUT_S) -> ApprovalResult:
    """Approve a succeeded run; the previously approved run becomes superseded.

    Raises NotFound (no such run), IllegalTransition (the run is not ``succeeded``), Busy.
    """
    with uow:
        uow.locks.begin(RELEASE_LOCK, timeout=lock_timeout, busy_message=BUSY_MESSAGE)
        run = uow.plan_runs.get(run_id, lock=True)
        check_transition(f"plan run {run_id}", PLAN_RUN_TRANSITIONS, run.status, PlanRunStatus.APPROVED)
        superseded = []
        for other in uow.work_orders.approved_run_ids():
            previous = uow.plan_runs.get(other, lock=True)
            check_transition(f"plan run {other}", PLAN_RUN_TRANSITIONS, previous.status, PlanRunStatus.SUPERSEDED)
            uow.plan_runs.update(other, status=PlanRunStatus.SUPERSEDED)
            uow.audit.add(actor=actor, action="supersede", entity="plan_run", entity_key=str(other), at=now,
                          detail={"before": {"status": previous.status.value},
                                  "after": {"status": PlanRunStatus.SUPERSEDED.value}, "by_run": run_id})
            superseded.append(other)
        uow.plan_runs.update(run_id, status=PlanRunStatus.APPROVED)
        uow.audit.add(actor=actor, action="approve", entity="plan_run", entity_key=str(run_id), at=now,
                      detail={"before": {"status": run.status.value}, "after": {"status": PlanRunStatus.APPROVED.value},
                              "superseded": superseded})
        uow.commit()
    # The demand this plan answers is the baseline fluctuation detection compares against; store
    # it now, not at the first detection, so that a change between approval and that check is seen.
    from lpms.services.fluctuations import record_demand_baseline

    if hasattr(type(uow), "session"):  # the in-memory fakes have no measures repositories
        record_demand_baseline(uow, actor=actor, now=now, lock_timeout=lock_timeout)  # type: ignore[arg-type]
    return ApprovalResult(run_id, tuple(superseded))


def release_work_orders(uow: ShopFloorUnitOfWork, *, fence_periods: int, actor: str, now: dt.datetime,
                        timezone: str = "UTC", lock_timeout: float = LOCK_TIMEOUT_S) -> ReleaseResult:
    """Release the approved plan's production in the fence's unreleased periods as work orders.

    The fence starts at the current period: the one containing ``now``'s plant date in the
    plant's ``timezone``. Idempotent: a period is released once; calling again creates nothing
    for it. Raises InvalidInput (negative fence), NotFound (no approved run; ``now`` outside
    the calendar), Conflict (an interval of the plan is no longer in the network), Busy.
    """
    if fence_periods < 0:
        raise InvalidInput(f"release fence: {fence_periods} periods is negative")
    with uow:
        uow.locks.begin(RELEASE_LOCK, timeout=lock_timeout, busy_message=BUSY_MESSAGE)
        approved = uow.work_orders.approved_run_ids()
        if not approved:
            raise NotFound("no plan run is approved: approve one first (lpms plan approve RUN)")
        run_id = approved[-1]
        calendar = uow.work_orders.periods()
        periods = [p.seq for p in sorted(calendar, key=lambda p: p.seq)]
        current = current_period(calendar, plant_date(now, timezone)).seq
        start = periods.index(current)
        fence = tuple(periods[start:start + fence_periods])
        done = uow.work_orders.released_periods()
        horizon = uow.work_orders.run_horizon(run_id)
        frozen = tuple(p for p in fence if p in done)
        beyond = tuple(p for p in fence if p not in done and p > horizon)
        to_release = tuple(p for p in fence if p not in done and p <= horizon)
        output = uow.work_orders.interval_output(run_id, to_release)
        created: list[WorkOrderRecord] = []
        if output:
            # the run's own division: its minimum interval lead decides the work orders' due periods
            lead = uow.plan_runs.get(run_id).parameters.get("min_interval_lead", 0)
            division = divide(build_graph(network_snapshot(uow.planning.load_rows())), int(lead or 0))
            intervals = {iv.code: iv for iv in division.intervals}
            units = uow.work_orders.units(out.head for out in output)
            counter = uow.work_orders.counts_in_periods(out.period for out in output)
            new: list[NewWorkOrder] = []
            for out in output:  # by period, then interval code
                iv = intervals.get(out.interval)
                if iv is None:
                    raise Conflict(f"plan run {run_id} plans interval {out.interval}, which is no longer in the "
                                   f"production network: re-plan and approve the new run")
                quantity = release_quantity(out.quantity, units.get(out.head, ""))
                if quantity <= 0:
                    continue
                counter[out.period] += 1
                new.append(NewWorkOrder(
                    number=work_order_number(out.period, counter[out.period]), plan_run_id=run_id, item=iv.head,
                    interval=iv.code, start_period=out.period, due_period=out.period + iv.lead_time,
                    quantity=quantity, status=WorkOrderStatus.RELEASED, operations=chain_operations(division, iv.code),
                    components=sorted(iv.inputs.items())))
            created = uow.work_orders.add_many(new, created_by=actor, now=now)  # three inserts for all of them
            for record in created:
                uow.audit.add(actor=actor, action="release", entity="work_order", entity_key=record.number, at=now,
                              detail={"after": {"status": record.status.value, "item": record.item,
                                                "interval": record.interval, "quantity": record.quantity,
                                                "start_period": record.start_period,
                                                "due_period": record.due_period},
                                      "plan_run": run_id})
        for period in to_release:
            uow.work_orders.add_release(period, run_id, released_by=actor, released_at=now)
        uow.audit.add(actor=actor, action="release", entity="plan_run", entity_key=str(run_id), at=now,
                      detail={"fence": list(fence), "released": list(to_release), "frozen": list(frozen),
                              "beyond_plan": list(beyond), "work_orders": len(created)})
        uow.commit()
    return ReleaseResult(run_id, current, fence, to_release, frozen, beyond, tuple(created))


def release_quantity(planned: float, unit: str) -> float:
    """The quantity a work order is released for: whole units (the nearest, at least 1) when the
    item is counted in pieces (``COUNT_UNITS``), else the plan's quantity to 6 decimals."""
    if planned <= 1e-6:
        return 0.0
    if unit.strip().lower() in COUNT_UNITS:
        return float(max(1, math.floor(planned + 0.5)))
    return round(planned, 6)


def chain_operations(division: Division, interval_code: str) -> list[NewOperation]:
    """The interval's routing steps in flow order (its first member's steps first, the head's
    last), numbered 10, 20, 30 ...; minutes per unit of the head item."""
    iv = next(i for i in division.intervals if i.code == interval_code)
    steps: dict[str, list[OperationSpec]] = defaultdict(list)
    for member in iv.members:
        steps[member] = sorted(division.graph.nodes[member]["ops"], key=lambda o: o.sequence)
    result: list[NewOperation] = []
    for member in reversed(iv.members):
        for op in steps[member]:
            result.append(NewOperation(10 * (len(result) + 1), member, op.sequence, op.work_center,
                                       round(iv.multiplier[member] * op.run_min, 9), op.setup_min))
    return result
