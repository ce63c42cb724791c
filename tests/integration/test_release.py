"""Approve a plan run, release it as work orders (fenced, idempotent, frozen periods), cancel
and short-close work orders: on SQLite and PostgreSQL."""
from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from lpms.db import models as m
from lpms.db.session import UnitOfWork
from lpms.domain.enums import PlanRunStatus, WorkOrderStatus
from lpms.domain.errors import Conflict, IllegalTransition, InvalidInput, NotFound
from lpms.services.csv_io import import_texts
from lpms.services.plan_runs import PlanRequest, request_plan_run
from lpms.services.release import approve_plan_run, release_work_orders
from lpms.services.reports import report_completion
from lpms.services.work_orders import (
    cancel_work_order,
    close_work_order,
    get_work_order,
    list_work_orders,
    work_order_dict,
)
from tests.shop_floor_plant import NOW, load_plant, p_order, plan_plant, released_plant, week

pytestmark = pytest.mark.db


def _status(uow: UnitOfWork, run_id: int) -> PlanRunStatus:
    with uow:
        return uow.plan_runs.get(run_id).status


def _audit(uow: UnitOfWork, entity: str) -> list[tuple[str, str]]:
    with uow:
        return [(a.action, a.entity_key) for a in uow.session.scalars(
            select(m.AuditEntry).where(m.AuditEntry.entity == entity).order_by(m.AuditEntry.id))]


def test_approve_only_a_succeeded_run_and_the_previous_approved_one_is_superseded(uow: UnitOfWork) -> None:
    load_plant(uow)
    first = plan_plant(uow)
    assert approve_plan_run(uow, first, actor="ann", now=NOW).superseded == ()
    assert _status(uow, first) is PlanRunStatus.APPROVED
    second = plan_plant(uow)
    result = approve_plan_run(uow, second, actor="ann", now=NOW)
    assert result.superseded == (first,)
    assert _status(uow, first) is PlanRunStatus.SUPERSEDED and _status(uow, second) is PlanRunStatus.APPROVED
    with pytest.raises(IllegalTransition, match=f"plan run {second}: cannot go from 'approved' to 'approved'"):
        approve_plan_run(uow, second, actor="ann", now=NOW)
    with pytest.raises(IllegalTransition, match=f"plan run {first}: cannot go from 'superseded' to 'approved'"):
        approve_plan_run(uow, first, actor="ann", now=NOW)
    queued = request_plan_run(uow, PlanRequest(), actor="ann", now=NOW)
    with pytest.raises(IllegalTransition, match="cannot go from 'queued' to 'approved'"):
        approve_plan_run(uow, queued, actor="ann", now=NOW)
    with pytest.raises(NotFound, match="plan run 999 does not exist"):
        approve_plan_run(uow, 999, actor="ann", now=NOW)
    assert ("approve", str(second)) in _audit(uow, "plan_run") and ("supersede", str(first)) in _audit(uow, "plan_run")


def test_release_creates_one_work_order_per_interval_and_period_inside_the_fence(uow: UnitOfWork) -> None:
    release = released_plant(uow, fence=2)
    assert release.current_period == 1 and release.fence == (1, 2) and release.released == (1, 2)
    assert release.frozen == () and release.beyond_plan == ()
    with uow:
        lines = {(pl.interval_code, pl.period_seq): pl.production for pl in uow.session.scalars(
            select(m.PlanLine).join(m.Item).where(m.PlanLine.plan_run_id == release.run_id,
                                                  m.PlanLine.production > 0,
                                                  m.PlanLine.interval_code == "I:" + m.Item.code))}
    expected = {key: qty for key, qty in lines.items() if key[1] in (1, 2)}
    assert expected, "the plan produces inside the fence"
    assert {(wo.interval, wo.start_period): wo.quantity for wo in release.work_orders} == pytest.approx(expected)
    assert all(wo.status is WorkOrderStatus.RELEASED and wo.plan_run_id == release.run_id
               for wo in release.work_orders)
    # numbers: readable, per period in interval order
    assert [wo.number for wo in release.work_orders] == sorted(wo.number for wo in release.work_orders)
    assert all(wo.number.startswith(f"WO-P{wo.start_period:02d}-") for wo in release.work_orders)
    p = get_work_order(uow, p_order(release))
    assert p.item == "P" and p.interval == "I:P" and p.due_period == p.start_period + 1  # S's lead time
    assert [(op.seq, op.item, op.routing_seq, op.work_center, op.run_min) for op in p.operations] == [
        (10, "S", 10, "CUT", 2.0), (20, "P", 10, "ASM", 3.0), (30, "P", 20, "TEST", 1.0)]
    assert sorted((c.item, c.qty_per) for c in p.components) == [("C", 1.0), ("M", 2.0)]
    q = next(wo for wo in release.work_orders if wo.interval == "I:Q")
    assert q.due_period == q.start_period and [(op.seq, op.work_center) for op in q.operations] == [(10, "ASM")]
    assert len(_audit(uow, "work_order")) == len(release.work_orders)


def test_release_again_is_idempotent_and_released_periods_stay_frozen(uow: UnitOfWork) -> None:
    first = released_plant(uow, fence=2)
    before = {wo.number: (wo.quantity, wo.start_period) for wo in list_work_orders(uow)}
    again = release_work_orders(uow, fence_periods=2, actor="test", now=NOW)
    assert again.work_orders == () and again.released == () and again.frozen == (1, 2)
    assert {wo.number: (wo.quantity, wo.start_period) for wo in list_work_orders(uow)} == before
    # a new plan with more demand is approved: the frozen periods keep their orders
    import_texts(uow, {"forecasts": "item,start_date,end_date,quantity\nQ,2026-11-30,2027-01-10,900\n"}, actor="t",
                 now=NOW)
    run_id = plan_plant(uow)
    approve_plan_run(uow, run_id, actor="test", now=NOW)
    assert release_work_orders(uow, fence_periods=2, actor="test", now=NOW).work_orders == ()
    assert {wo.number: (wo.quantity, wo.start_period) for wo in list_work_orders(uow)} == before
    # a week later the fence moves on by one period: only period 3 is released, from the new plan
    later = release_work_orders(uow, fence_periods=2, actor="test", now=week(2))
    assert later.current_period == 2 and later.fence == (2, 3) and later.frozen == (2,) and later.released == (3,)
    assert later.run_id == run_id and later.run_id != first.run_id
    assert {wo.start_period for wo in later.work_orders} == {3}
    assert all(wo.number.startswith("WO-P03-") for wo in later.work_orders)


def test_release_fence_zero_releases_nothing_and_a_plan_ending_early_is_not_frozen(uow: UnitOfWork) -> None:
    released = released_plant(uow, fence=0)
    assert released.fence == () and released.work_orders == ()
    # the calendar grows after the run: period 7 is inside the fence but not in the approved plan
    import_texts(uow, {"calendar": "period,bucket,start_date,end_date\n7,week,2027-01-11,2027-01-17\n"},
                 actor="t", now=NOW)
    result = release_work_orders(uow, fence_periods=3, actor="test", now=week(6))
    assert result.fence == (6, 7) and result.released == (6,) and result.beyond_plan == (7,)
    with uow:
        assert sorted(uow.work_orders.released_periods()) == [6]


def test_release_needs_an_approved_run_a_calendar_that_holds_now_and_a_fence(uow: UnitOfWork) -> None:
    load_plant(uow)
    with pytest.raises(NotFound, match="no plan run is approved"):
        release_work_orders(uow, fence_periods=2, actor="test", now=NOW)
    approve_plan_run(uow, plan_plant(uow), actor="test", now=NOW)
    with pytest.raises(NotFound, match="plant date 2026-11-29 is before the calendar's first period"):
        release_work_orders(uow, fence_periods=2, actor="test", now=NOW - dt.timedelta(days=2))
    with pytest.raises(NotFound, match="after the calendar's last period .*run 'lpms calendar extend'"):
        release_work_orders(uow, fence_periods=2, actor="test", now=week(8))
    with pytest.raises(InvalidInput, match="negative"):
        release_work_orders(uow, fence_periods=-1, actor="test", now=NOW)


def test_cancel_an_unreported_order_and_short_close_a_started_one(uow: UnitOfWork) -> None:
    release = released_plant(uow)
    number = p_order(release)
    q = next(wo.number for wo in release.work_orders if wo.interval == "I:Q")
    with pytest.raises(Conflict, match="has not started: cancel it instead"):
        close_work_order(uow, q, reason="no", actor="ann", now=NOW)
    cancelled = cancel_work_order(uow, q, actor="ann", now=NOW, reason="customer moved")
    assert cancelled.status is WorkOrderStatus.CANCELLED and cancelled.finished_at == NOW
    assert cancelled.version == 2 and cancelled.close_reason == "customer moved"
    with pytest.raises(IllegalTransition, match=f"work order {q}: cannot go from 'cancelled' to 'cancelled'"):
        cancel_work_order(uow, q, actor="ann", now=NOW)
    with pytest.raises(Conflict, match="cancelled: it takes no more reports"):
        report_completion(uow, q, 10, 1, client_key="k-q", actor="ann", now=NOW)

    report_completion(uow, number, 10, 5, client_key="k-1", actor="ann", now=NOW)
    with pytest.raises(Conflict, match="has 1 completion report.*short-close it instead"):
        cancel_work_order(uow, number, actor="ann", now=NOW)
    with pytest.raises(InvalidInput, match="short-closing it needs a reason"):
        close_work_order(uow, number, reason="  ", actor="ann", now=NOW)
    closed = close_work_order(uow, number, reason="material obsolete", actor="ann", now=NOW)
    assert closed.status is WorkOrderStatus.CLOSED and closed.close_reason == "material obsolete"
    with pytest.raises(Conflict, match="closed: it takes no more reports"):
        report_completion(uow, number, 20, 1, client_key="k-2", actor="ann", now=NOW)
    with pytest.raises(NotFound, match="work order WO-NOPE does not exist"):
        cancel_work_order(uow, "WO-NOPE", actor="ann", now=NOW)
    assert [a for a, _ in _audit(uow, "work_order")][-2:] == ["cancel", "close"]


def test_a_completed_order_closes_without_a_reason(uow: UnitOfWork) -> None:
    release = released_plant(uow)
    q = next(wo for wo in release.work_orders if wo.interval == "I:Q")
    report_completion(uow, q.number, 10, q.quantity, client_key="all", actor="ann", now=NOW)
    closed = close_work_order(uow, q.number, reason="", actor="ann", now=week(2))
    assert closed.status is WorkOrderStatus.CLOSED and closed.finished_at == NOW  # when it was completed


def test_list_filters_and_the_json_shape(uow: UnitOfWork) -> None:
    release = released_plant(uow)
    number = p_order(release)
    report_completion(uow, number, 10, 7, 1, client_key="k", actor="ann", now=NOW)
    assert [wo.number for wo in list_work_orders(uow, work_center="CUT")] == [
        wo.number for wo in release.work_orders if wo.interval == "I:P"]  # P's chain starts on CUT
    assert {wo.number for wo in list_work_orders(uow, work_center="ASM")} == {wo.number for wo in release.work_orders}
    assert [wo.number for wo in list_work_orders(uow, status=WorkOrderStatus.IN_PROGRESS)] == [number]
    with pytest.raises(NotFound, match="work center NOPE does not exist"):
        list_work_orders(uow, work_center="NOPE")
    shape = work_order_dict(get_work_order(uow, number))
    assert shape == {"number": number, "item": "P", "interval": "I:P", "quantity": shape["quantity"], "good": 0.0,
                     "scrap": 1.0, "status": "in_progress", "due_period": 2,
                     "operations": [{"seq": 10, "work_center": "CUT", "good": 7.0, "scrap": 1.0},
                                    {"seq": 20, "work_center": "ASM", "good": 0.0, "scrap": 0.0},
                                    {"seq": 30, "work_center": "TEST", "good": 0.0, "scrap": 0.0}]}


def test_the_fence_starts_at_the_current_period_in_plant_time(uow: UnitOfWork) -> None:
    load_plant(uow)
    approve_plan_run(uow, plan_plant(uow), actor="test", now=NOW)
    sunday_night_utc = dt.datetime(2026, 12, 6, 23, 30, tzinfo=dt.UTC)  # Monday 08:30 in Tokyo: period 2
    in_tokyo = release_work_orders(uow, fence_periods=1, actor="test", now=sunday_night_utc, timezone="Asia/Tokyo")
    assert in_tokyo.current_period == 2 and in_tokyo.released == (2,)
    in_utc = release_work_orders(uow, fence_periods=1, actor="test", now=sunday_night_utc)
    assert in_utc.current_period == 1 and in_utc.released == (1,)


def test_quantities_of_items_counted_in_pieces_are_released_in_whole_units() -> None:
    from lpms.services.release import release_quantity

    assert release_quantity(116.666667, "pcs") == 117 and release_quantity(58.33, "PCS ") == 58
    assert release_quantity(0.3, "pcs") == 1 and release_quantity(0.0, "pcs") == 0
    assert release_quantity(116.6666666666, "kg") == 116.666667 and release_quantity(2.5, "m") == 2.5


def test_two_releases_at_once_create_each_work_order_once(fresh_url: str) -> None:
    import threading
    from concurrent.futures import ThreadPoolExecutor

    from lpms.db import migrate
    from lpms.db.session import make_engine, session_factory
    from lpms.services.release import ReleaseResult

    migrate.upgrade(fresh_url)
    engine = make_engine(fresh_url)
    try:
        uow = UnitOfWork(session_factory(engine))
        load_plant(uow)
        approve_plan_run(uow, plan_plant(uow), actor="test", now=NOW)
    finally:
        engine.dispose()
    barrier = threading.Barrier(4)

    def release(_: int) -> ReleaseResult:
        own = make_engine(fresh_url)
        try:
            barrier.wait(timeout=30)
            return release_work_orders(UnitOfWork(session_factory(own)), fence_periods=3, actor="t", now=NOW)
        finally:
            own.dispose()

    with ThreadPoolExecutor(4) as pool:
        results = list(pool.map(release, range(4)))
    assert sorted(r.released for r in results) == [(), (), (), (1, 2, 3)]
    created = [wo.number for r in results for wo in r.work_orders]
    assert len(created) == len(set(created)) > 0
    engine = make_engine(fresh_url)
    try:
        assert sorted(wo.number for wo in list_work_orders(UnitOfWork(session_factory(engine)))) == sorted(created)
    finally:
        engine.dispose()
