"""Plan runs: request one (a queued row), execute it (read, solve with no transaction open,
record the outcome), or both at once.

The web queues runs with ``request_plan_run``; the jobs process executes them with
``execute_plan_run``; the CLI calls ``run_plan`` for both. Every outcome is recorded on the
run, success or failure.
"""
from __future__ import annotations

import datetime as dt
import time
from dataclasses import dataclass, field
from typing import Any

from lpms.db.repositories import PlanRunRecord
from lpms.domain.enums import BalanceOn, Objective, PlanMode, PlanRunStatus
from lpms.domain.errors import Infeasible, InvalidInput, LpmsError
from lpms.domain.transitions import PLAN_RUN_TRANSITIONS, check_transition
from lpms.domain.values import DEFAULT_COSTS, Costs
from lpms.planning.network_plan import NetworkPlan, plan_priority, plan_weighted
from lpms.planning.snapshot import PlanningSnapshot, build_plan_input
from lpms.planning.solver import SolverOptions
from lpms.services.unit_of_work import UnitOfWork


@dataclass(frozen=True)
class PlanRequest:
    """What to plan: costs (weighted mode) or a priority order, and the model's options."""

    costs: Costs = DEFAULT_COSTS
    priority: tuple[Objective, ...] = ()
    balance_on: BalanceOn = BalanceOn.WORK_CENTERS
    allow_backlog_past_horizon: bool = False
    min_interval_lead: int = 0  # an interval feeding another takes at least this many periods (network.divide)

    @property
    def mode(self) -> PlanMode:
        return PlanMode.PRIORITY if self.priority else PlanMode.WEIGHTED

    def parameters(self) -> dict[str, Any]:
        """The request as stored with the run (JSON; keys are a stored format)."""
        out = {"costs": self.costs.as_weights(), "priority": [o.value for o in self.priority],
               "balance_on": self.balance_on.value, "allow_backlog_past_horizon": self.allow_backlog_past_horizon}
        if self.min_interval_lead:  # stored only when set: runs without it keep their stored form
            out["min_interval_lead"] = self.min_interval_lead
        return out

    @classmethod
    def from_parameters(cls, parameters: dict[str, Any]) -> PlanRequest:
        try:
            return cls(costs=Costs(**parameters.get("costs", DEFAULT_COSTS.as_weights())),
                       priority=tuple(Objective(o) for o in parameters.get("priority", [])),
                       balance_on=BalanceOn(parameters.get("balance_on", BalanceOn.WORK_CENTERS.value)),
                       allow_backlog_past_horizon=bool(parameters.get("allow_backlog_past_horizon", False)),
                       min_interval_lead=min_interval_lead(parameters))
        except (TypeError, ValueError) as exc:
            raise InvalidInput(f"plan run parameters {parameters!r} are not valid: {exc}") from None


def min_interval_lead(parameters: dict[str, Any]) -> int:
    """A stored run's minimum interval lead time (0 when not stored); raises ValueError when bad."""
    value = parameters.get("min_interval_lead", 0)
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValueError(f"min_interval_lead {value!r} is not a whole number >= 0")
    return value


@dataclass(frozen=True)
class PlanRunResult:
    run_id: int
    status: PlanRunStatus
    message: str
    plan: NetworkPlan | None = None
    snapshot: PlanningSnapshot | None = None
    notes: tuple[str, ...] = field(default=())  # records outside the horizon and the like


def request_plan_run(uow: UnitOfWork, request: PlanRequest, *, actor: str, now: dt.datetime) -> int:
    """Record a queued plan run and return its id (the jobs process executes it)."""
    with uow:
        run_id = _add(uow, request, actor=actor, now=now)
        uow.commit()
    return run_id


def _add(uow: UnitOfWork, request: PlanRequest, *, actor: str, now: dt.datetime) -> int:
    run_id = uow.plan_runs.add(mode=request.mode, parameters=request.parameters(), created_by=actor, created_at=now)
    uow.audit.add(actor=actor, action="request", entity="plan_run", entity_key=str(run_id), at=now,
                  detail={"after": {"status": PlanRunStatus.QUEUED.value, **request.parameters()}})
    return run_id


def _start(uow: UnitOfWork, run_id: int, now: dt.datetime) -> PlanRunRecord:
    record = uow.plan_runs.get(run_id, lock=True)
    check_transition("plan run", PLAN_RUN_TRANSITIONS, record.status, PlanRunStatus.RUNNING)
    uow.plan_runs.update(run_id, status=PlanRunStatus.RUNNING, started_at=now)
    return record


def execute_plan_run(uow: UnitOfWork, run_id: int, *, options: SolverOptions, now: dt.datetime) -> PlanRunResult:
    """Solve a queued run and record its outcome.

    Reads the snapshot in one transaction, solves with none open, writes in another. An
    infeasible plan is recorded as ``infeasible`` with the explanation and returned; any
    other error is recorded as ``failed`` and raised. ``finished_at`` is ``now`` plus the
    time the run took. Raises NotFound, IllegalTransition (the run is not queued).
    """
    started = time.perf_counter()
    with uow:
        record = _start(uow, run_id, now)
        uow.commit()
    return _solve(uow, run_id, record, options=options, now=now, started=started)


def _solve(uow: UnitOfWork, run_id: int, record: PlanRunRecord, *, options: SolverOptions, now: dt.datetime,
           started: float) -> PlanRunResult:
    request = PlanRequest.from_parameters(record.parameters)
    snapshot: PlanningSnapshot | None = None
    try:
        with uow:
            rows = uow.planning.load_rows()
        snapshot = build_plan_input(rows, request.costs, balance_on=request.balance_on.value,
                                    allow_backlog_past_horizon=request.allow_backlog_past_horizon,
                                    min_interval_lead=request.min_interval_lead)
        if request.priority:
            plan = plan_priority(snapshot.plan_input, [o.value for o in request.priority], options)
        else:
            plan = plan_weighted(snapshot.plan_input, options)
    except Infeasible as exc:
        return _record(uow, run_id, PlanRunStatus.INFEASIBLE, str(exc), None, snapshot, now, started,
                       record.created_by)
    except LpmsError as exc:
        _record(uow, run_id, PlanRunStatus.FAILED, str(exc), None, snapshot, now, started, record.created_by)
        raise
    except Exception as exc:
        _record(uow, run_id, PlanRunStatus.FAILED, f"internal error: {type(exc).__name__}: {exc}", None, snapshot,
                now, started, record.created_by)
        raise
    return _record(uow, run_id, PlanRunStatus.SUCCEEDED, solver_message(plan.solver), plan, snapshot, now, started,
                   record.created_by)


def run_plan(uow: UnitOfWork, request: PlanRequest, *, options: SolverOptions, actor: str,
             now: dt.datetime) -> PlanRunResult:
    """Request and execute a plan run in one call (the CLI's ``lpms plan run``). The run is
    recorded and marked running in one transaction, so a jobs process polling for queued runs
    never takes it."""
    started = time.perf_counter()
    with uow:
        run_id = _add(uow, request, actor=actor, now=now)
        record = _start(uow, run_id, now)
        uow.commit()
    return _solve(uow, run_id, record, options=options, now=now, started=started)


def solver_message(solver: dict[str, Any]) -> str:
    """The run's message: the solver's status word (``optimal``, ``time limit``, ...); when the
    plan is not proven optimal, also its cost, the certified lower bound and the gap reached."""
    status = str(solver.get("status", "unknown"))
    if status == "optimal" or "lower_bound" not in solver:
        return status
    return (f"{status}: {solver.get('bound_of', 'cost')} {solver['objective']:.6g}, certified lower bound "
            f"{solver['lower_bound']:.6g}, gap {solver['gap_rel']:.2e} (target {solver['gap_target']:.0e})")


def _record(uow: UnitOfWork, run_id: int, status: PlanRunStatus, message: str, plan: NetworkPlan | None,
            snapshot: PlanningSnapshot | None, now: dt.datetime, started: float, actor: str) -> PlanRunResult:
    finished = now + dt.timedelta(seconds=time.perf_counter() - started)
    notes = snapshot.messages if snapshot is not None else ()
    with uow:
        before = uow.plan_runs.get(run_id).status
        check_transition("plan run", PLAN_RUN_TRANSITIONS, before, status)
        # the run's message: the outcome, then one line per record the plan could not use
        stored = "\n".join([message, *notes])
        fields: dict[str, Any] = {"status": status, "message": stored, "finished_at": finished}
        if plan is not None and snapshot is not None:
            fields["objectives"] = {"values": plan.objectives, "costs": plan.costs}
            fields["solver_stats"] = {k: v for k, v in plan.solver.items() if isinstance(v, (int, float, str))}
            uow.plan_runs.store_plan(run_id, plan, snapshot.gross, snapshot.net)
        uow.plan_runs.update(run_id, **fields)
        uow.audit.add(actor=actor, action="execute", entity="plan_run", entity_key=str(run_id), at=finished,
                      detail={"before": {"status": before.value},
                              "after": {"status": status.value, "message": message[:500]},
                              "notes": list(notes)})
        uow.commit()
    return PlanRunResult(run_id, status, message, plan, snapshot, notes)
