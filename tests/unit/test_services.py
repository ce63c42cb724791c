"""Plan-run services against the in-memory unit of work (tests/fakes.py): no database."""
from __future__ import annotations

import datetime as dt

import pytest

from lpms.domain.enums import ItemKind, Objective, OffsetRule, PlanMode, PlanRunStatus
from lpms.domain.errors import IllegalTransition, InvalidInput, NotFound
from lpms.domain.values import Costs
from lpms.planning.network import OperationSpec
from lpms.planning.snapshot import CapacityRow, ForecastRow, ItemRow, OrderRow, PeriodRow, PlanningRows
from lpms.planning.solver import SolverOptions
from lpms.services.plan_runs import PlanRequest, execute_plan_run, request_plan_run, run_plan
from tests.fakes import FakeUnitOfWork

NOW = dt.datetime(2026, 12, 1, 8, 0, tzinfo=dt.UTC)
OPTIONS = SolverOptions(time_limit_s=30)
MONDAY = dt.date(2026, 11, 30)


def rows(regular: float = 100.0, overtime: float = 0.0, orders: tuple[OrderRow, ...] = ()) -> PlanningRows:
    periods = tuple(PeriodRow(k + 1, MONDAY + dt.timedelta(weeks=k), MONDAY + dt.timedelta(weeks=k, days=6))
                    for k in range(4))
    return PlanningRows(
        periods=periods,
        items=(ItemRow("P", ItemKind.PRODUCT, offset_rule=OffsetRule.BACKWARD),),
        work_centers=("WC",),
        operations=(OperationSpec("P", 10, "WC", 1.0),),
        capacities=tuple(CapacityRow("WC", k + 1, regular, overtime) for k in range(4)),
        forecasts=(ForecastRow("P", periods[0].start_date, periods[-1].end_date, 320.0),),
        orders=orders,
    )


def test_request_records_a_queued_run_with_its_parameters_and_an_audit_row() -> None:
    uow = FakeUnitOfWork(rows())
    run_id = request_plan_run(uow, PlanRequest(priority=(Objective.LATE, Objective.INVENTORY)), actor="ann", now=NOW)
    run = uow.plan_runs.get(run_id)
    assert run.status is PlanRunStatus.QUEUED and run.mode is PlanMode.PRIORITY
    assert run.parameters["priority"] == ["late", "inventory"] and run.created_by == "ann" and run.created_at == NOW
    assert uow.audit.entries[-1]["action"] == "request" and uow.commits == 1


def test_execute_solves_and_records_the_plan_the_costs_and_the_time() -> None:
    uow = FakeUnitOfWork(rows())
    result = run_plan(uow, PlanRequest(costs=Costs(late=100, inventory=1)), options=OPTIONS, actor="ann", now=NOW)
    run = uow.plan_runs.get(result.run_id)
    assert run.status is PlanRunStatus.SUCCEEDED and run.message.startswith("optimal")
    assert run.started_at == NOW and run.finished_at is not None and run.finished_at >= NOW
    plan, gross, net = uow.plan_runs.plans[result.run_id]
    assert gross["P"] == (80.0, 80.0, 80.0, 80.0) and sum(plan.item_production["P"]) == pytest.approx(320)
    assert run.objectives["costs"]["total"] == pytest.approx(plan.costs["total"])
    assert [e["action"] for e in uow.audit.entries] == ["request", "execute"]


def test_an_infeasible_plan_is_recorded_with_its_explanation_and_returned() -> None:
    uow = FakeUnitOfWork(rows(regular=50.0))
    result = run_plan(uow, PlanRequest(), options=OPTIONS, actor="ann", now=NOW)
    assert result.status is PlanRunStatus.INFEASIBLE and result.plan is None
    run = uow.plan_runs.get(result.run_id)
    assert run.status is PlanRunStatus.INFEASIBLE and "WC" in run.message
    assert result.run_id not in uow.plan_runs.plans


def test_a_failed_run_is_recorded_as_failed_and_the_error_raised() -> None:
    broken = rows()
    broken = PlanningRows(periods=broken.periods, items=(ItemRow("P", ItemKind.PART),), work_centers=("WC",))
    uow = FakeUnitOfWork(broken)
    run_id = request_plan_run(uow, PlanRequest(), actor="ann", now=NOW)
    with pytest.raises(InvalidInput, match="no end product"):
        execute_plan_run(uow, run_id, options=OPTIONS, now=NOW)
    run = uow.plan_runs.get(run_id)
    assert run.status is PlanRunStatus.FAILED and "no end product" in run.message and run.finished_at is not None


def test_only_a_queued_run_can_be_executed_and_an_unknown_one_is_not_found() -> None:
    uow = FakeUnitOfWork(rows())
    result = run_plan(uow, PlanRequest(), options=OPTIONS, actor="ann", now=NOW)
    with pytest.raises(IllegalTransition, match="cannot go from 'succeeded' to 'running'"):
        execute_plan_run(uow, result.run_id, options=OPTIONS, now=NOW)
    with pytest.raises(NotFound, match="plan run 99 does not exist"):
        execute_plan_run(uow, 99, options=OPTIONS, now=NOW)


def test_orders_outside_the_horizon_are_reported_in_the_run_message_not_dropped() -> None:
    late = OrderRow("SO-9", "P", MONDAY + dt.timedelta(weeks=10), 40.0)
    early = OrderRow("SO-1", "P", MONDAY - dt.timedelta(weeks=1), 10.0)
    uow = FakeUnitOfWork(rows(overtime=50.0, orders=(early, late)))
    result = run_plan(uow, PlanRequest(), options=OPTIONS, actor="ann", now=NOW)
    message = uow.plan_runs.get(result.run_id).message
    assert "order SO-9 (P, 40) is due 2027-02-08, after the horizon ends (2026-12-27): not planned" in message
    assert "order SO-1 (P, 10) is due 2026-11-23, before the horizon starts (2026-11-30): planned as due in period 1" \
        in message
    assert result.notes and result.snapshot is not None and sum(result.snapshot.gross["P"]) == 320.0


def test_a_block_left_without_commit_changes_nothing_in_the_fake_too() -> None:
    uow = FakeUnitOfWork(rows())
    with uow:
        uow.plan_runs.add(mode=PlanMode.WEIGHTED, parameters={}, created_by="x", created_at=NOW)
    assert uow.plan_runs.runs == {}
