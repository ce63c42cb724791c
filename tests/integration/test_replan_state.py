"""What a re-plan starts from (docs/replan.md), on SQLite and PostgreSQL: a partly shipped
order's demand is counted once (its shipped units have left the ledger's on-hand; they still
consume the order's forecast),
and the planned yield is learned from the scrap reported on finished work orders."""
from __future__ import annotations

import pytest

from lpms.db.session import UnitOfWork
from lpms.planning.solver import SolverOptions
from lpms.services.replan import ReplanPolicy, ReplanResult, replan
from lpms.services.reports import report_completion
from lpms.services.stock import ship_order
from lpms.services.work_orders import close_work_order
from tests.plan_invariants import assert_plan_honest
from tests.shop_floor_plant import NOW, p_order, released_plant, week

pytestmark = pytest.mark.db

OPTIONS = SolverOptions(time_limit_s=60)
MANUAL = ReplanPolicy(fence_periods=2, nervousness_cost=0.01, auto_approve=False)


def _replan(uow: UnitOfWork, policy: ReplanPolicy = MANUAL, now=NOW) -> ReplanResult:  # type: ignore[no-untyped-def]
    result = replan(uow, reason="test", policy=policy, options=OPTIONS, actor="test", now=now)
    assert result.plan is not None and result.snapshot is not None
    assert_plan_honest(result.plan, result.snapshot.plan_input)
    return result


def test_planning_rows_carry_what_is_left_to_ship_and_the_ledgers_on_hand(uow: UnitOfWork) -> None:
    released_plant(uow, fence=2)
    with uow:
        before = uow.planning.load_rows()
    ship_order(uow, "SO-1", 10, actor="test", now=NOW)  # 10 of the 30 P leave stock (100 -> 90)
    with uow:
        after = uow.planning.load_rows()
    assert {o.number: (o.quantity, o.shipped) for o in before.orders}["SO-1"] == (30, 0)
    assert {o.number: (o.quantity, o.shipped) for o in after.orders}["SO-1"] == (30, 10)
    assert dict(before.on_hand)["P"] == 100 and dict(after.on_hand)["P"] == 90  # the ledger's
    ship_order(uow, "SO-1", actor="test", now=NOW)  # the rest: the line is closed, not planned
    with uow:
        assert "SO-1" not in {o.number for o in uow.planning.load_rows().orders}


def test_a_partial_shipment_does_not_change_the_replans_net_demand(uow: UnitOfWork) -> None:
    released_plant(uow, fence=2)
    base = _replan(uow)
    ship_order(uow, "SO-1", 10, actor="test", now=NOW)
    after = _replan(uow)
    assert base.snapshot is not None and after.snapshot is not None
    # 10 units fewer on hand and 10 fewer to ship: the demand left to plan is the same (counting
    # the whole order against fewer units on hand would plan 10 more)
    assert after.snapshot.net["P"] == pytest.approx(base.snapshot.net["P"])
    assert after.units_moved == pytest.approx(0, abs=1e-6)


def test_the_planned_yield_is_learned_from_finished_work_orders(uow: UnitOfWork) -> None:
    release = released_plant(uow, fence=2)
    number = p_order(release, 1)
    wo = next(w for w in release.work_orders if w.number == number)
    q = wo.quantity
    assert q >= 50
    # operation 10 (S on CUT) scraps 10% of 50 started, 20 (P on ASM) 0, 30 (P on TEST) 1 of 45
    report_completion(uow, number, 10, 45, 5, client_key="a", actor="t", now=NOW)
    report_completion(uow, number, 20, 45, 0, client_key="b", actor="t", now=NOW)
    report_completion(uow, number, 30, 44, 1, client_key="c", actor="t", now=NOW)
    same_period = _replan(uow)  # the work order is still open: nothing learned yet
    assert same_period.snapshot is not None and same_period.snapshot.plan_input.replan is not None
    assert same_period.snapshot.plan_input.replan.yields == {}
    close_work_order(uow, number, reason="short: scrap", actor="t", now=NOW)
    later = _replan(uow, now=week(2))
    assert later.snapshot is not None and later.snapshot.plan_input.replan is not None
    y = 0.9 * 1.0 * 44 / 45  # one work order: its yield, no spread to deduct
    assert later.snapshot.plan_input.replan.yields == {"I:P": pytest.approx(y, abs=1e-6)}
    with uow:
        params = uow.plan_runs.get(later.run_id).parameters
    assert params["replan"]["yields"] == {"I:P": pytest.approx(y, abs=1e-6)}
    # the plan starts P at that yield: its arrivals (yield x started) meet the demand
    plain = _replan(uow, ReplanPolicy(fence_periods=2, nervousness_cost=0.01, auto_approve=False, yield_window=0),
                    now=week(2))
    assert later.plan is not None and plain.plan is not None
    assert sum(later.plan.interval_production["I:P"]) > sum(plain.plan.interval_production["I:P"])
