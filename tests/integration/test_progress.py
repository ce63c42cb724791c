"""Progress vs plan wired to the database (lpms.services.progress, lpms.db.measures_repo): a
hand-made approved plan and work orders, progress computed by hand; the snapshot's query count
does not grow with the number of work orders; the CLI's table and JSON. SQLite and PostgreSQL."""
from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pytest
from sqlalchemy import event

from lpms.cli import main
from lpms.db import models as m
from lpms.db.session import UnitOfWork
from lpms.db.shop_floor import NewOperation
from lpms.domain.enums import PlanMode, PlanRunStatus, WorkOrderStatus
from lpms.services.progress import build_daily_report, daily_report_dict, progress_dict, progress_report
from lpms.services.reports import report_completion, report_downtime
from tests.shop_floor_plant import MONDAY, load_plant

pytestmark = pytest.mark.db

# Thursday 12:00 UTC of period 3 (2026-12-14 .. 2026-12-20): half of the period has passed
MID_P3 = dt.datetime(2026, 12, 17, 12, 0, tzinfo=dt.UTC)
P_OPS = [NewOperation(10, "S", 10, "CUT", 2.0, 0.0), NewOperation(20, "P", 10, "ASM", 3.0, 0.0),
         NewOperation(30, "P", 20, "TEST", 1.0, 0.0)]
Q_OPS = [NewOperation(10, "Q", 10, "ASM", 1.0, 0.0)]


def at(period: int, day: int = 1) -> dt.datetime:
    """Noon UTC on day ``day`` (0 = Monday) of period ``period``."""
    return dt.datetime.combine(MONDAY + dt.timedelta(weeks=period - 1, days=day), dt.time(12), dt.UTC)


def approved_run(uow: UnitOfWork, lines: dict[tuple[str, str], dict[int, float]], *,
                 overtime: dict[tuple[str, int], float] | None = None) -> int:
    """An approved plan run with the given production (interval, item) -> period -> units."""
    with uow:
        run_id = uow.plan_runs.add(mode=PlanMode.WEIGHTED, parameters={}, created_by="test", created_at=at(1, 0))
        uow.plan_runs.update(run_id, status=PlanRunStatus.APPROVED)
        s = uow.session
        item_id = {code: i for i, code in s.query(m.Item.id, m.Item.code)}
        wc_id = {code: i for i, code in s.query(m.WorkCenter.id, m.WorkCenter.code)}
        for (interval, item), per in lines.items():
            for period, qty in per.items():
                s.add(m.PlanLine(plan_run_id=run_id, item_id=item_id[item], interval_code=interval, period_seq=period,
                                 production=qty))
        for (wc, period), minutes in (overtime or {}).items():
            s.add(m.PlanLoad(plan_run_id=run_id, work_center_id=wc_id[wc], period_seq=period, overtime_min=minutes))
        uow.commit()
    return run_id


def add_orders(uow: UnitOfWork, run_id: int, orders: list[tuple[str, str, int, float]],
               released: tuple[int, ...] = ()) -> None:
    """Work orders (number, interval, start period, quantity) of I:P or I:Q, and released periods."""
    with uow:
        for number, interval, start, qty in orders:
            p = interval == "I:P"
            uow.work_orders.add(number=number, plan_run_id=run_id, item="P" if p else "Q", interval=interval,
                                start_period=start, due_period=start + (1 if p else 0), quantity=qty,
                                status=WorkOrderStatus.RELEASED, operations=P_OPS if p else Q_OPS,
                                components=[("C", 1.0), ("M", 2.0)] if p else [("C", 1.0)], created_by="test",
                                now=at(start, 0))
        for period in released:
            uow.work_orders.add_release(period, run_id, released_by="test", released_at=at(period, 0))
        uow.commit()


def hand_plant(uow: UnitOfWork, **plant: Any) -> int:
    """The test plant with a hand-made approved plan and released work orders in periods 1-3:

    plan: Q (lead 0) 50, 60, 40, 30 in periods 1-4; P (interval I:P, lead 1 through S) 100 in
    periods 1 and 2, arriving in periods 2 and 3. Reports: Q-1 50 of 50 in period 1, Q-2 45 of
    60 in period 2, Q-3 10 good + 2 scrap of 40 in period 3; P-1 100 through S and P, 90 tested
    in period 2."""
    load_plant(uow, **plant)
    run = approved_run(uow, {("I:Q", "Q"): {1: 50, 2: 60, 3: 40, 4: 30}, ("I:P", "P"): {1: 100, 2: 100},
                             ("I:P", "S"): {1: 100, 2: 100}}, overtime={("ASM", 2): 100.0})
    add_orders(uow, run, [("Q-1", "I:Q", 1, 50), ("Q-2", "I:Q", 2, 60), ("Q-3", "I:Q", 3, 40), ("P-1", "I:P", 1, 100),
                          ("P-2", "I:P", 2, 100)], released=(1, 2, 3))
    for key, (number, seq, good, scrap, when) in {
            "q1": ("Q-1", 10, 50, 0, at(1)), "q2": ("Q-2", 10, 45, 0, at(2)), "q3": ("Q-3", 10, 10, 2, at(3, 2)),
            "p10": ("P-1", 10, 100, 0, at(1)), "p20": ("P-1", 20, 100, 0, at(2)),
            "p30": ("P-1", 30, 90, 0, at(2))}.items():
        report_completion(uow, number, seq, good, scrap, client_key=key, actor="test", now=when)
    return run


def test_progress_against_a_hand_computed_case(uow: UnitOfWork) -> None:
    hand_plant(uow)
    p = progress_report(uow, now=MID_P3)
    assert p.current_period == 3 and p.report.elapsed == pytest.approx(0.5)
    d = progress_dict(p)
    assert set(d) == {"as_of", "on_time_rate", "intervals", "items", "work_centers"}
    assert d["as_of"] == "2026-12-17T12:00:00+00:00"
    # Q: 50 + 60 + 0.5 x 40 planned, 50 + 45 + 10 made; P: arrivals 100 (P2) + 0.5 x 100 (P3), 90 made
    assert d["intervals"] == [{"interval": "I:P", "item": "P", "planned": 150.0, "actual": 90.0, "gap": 60.0},
                              {"interval": "I:Q", "item": "Q", "planned": 130.0, "actual": 105.0, "gap": 25.0}]
    assert d["items"] == [{"item": "P", "planned": 150.0, "actual": 90.0, "gap": 60.0},
                          {"item": "Q", "planned": 130.0, "actual": 105.0, "gap": 25.0}]
    # minutes: ASM 130 x 1 + 150 x 3 planned, 105 x 1 + 100 x 3 done; CUT 150 x 2 / 100 x 2; TEST 150 / 90
    assert d["work_centers"] == [
        {"work_center": "ASM", "planned": 580.0, "actual": 405.0, "gap": 175.0},
        {"work_center": "CUT", "planned": 300.0, "actual": 200.0, "gap": 100.0},
        {"work_center": "TEST", "planned": 150.0, "actual": 90.0, "gap": 60.0}]
    # decided: Q-1 (completed in period 1, due 1: on time), Q-2 and P-1 (due 2, still open: late)
    assert d["on_time_rate"] == pytest.approx(1 / 3, abs=1e-6)
    assert p.report.on_time.late == ("P-1", "Q-2")


def test_an_earlier_as_of_leaves_later_reports_out(uow: UnitOfWork) -> None:
    hand_plant(uow)
    d = progress_dict(progress_report(uow, now=at(2, 0).replace(hour=0)))  # Monday 00:00 of period 2
    q = next(r for r in d["intervals"] if r["item"] == "Q")
    assert q == {"interval": "I:Q", "item": "Q", "planned": 50.0, "actual": 50.0, "gap": 0.0}


def test_unreleased_periods_follow_the_approved_run_and_released_ones_the_run_they_came_from(uow: UnitOfWork) -> None:
    hand_plant(uow)
    # a newer approved run plans Q differently; periods 1-3 stay with the run they were released from
    with uow:
        for run_id in uow.work_orders.approved_run_ids():
            uow.plan_runs.update(run_id, status=PlanRunStatus.SUPERSEDED)
        uow.commit()
    approved_run(uow, {("I:Q", "Q"): {1: 999, 2: 999, 3: 999, 4: 70}})
    d = progress_dict(progress_report(uow, now=at(4, 3) + dt.timedelta(hours=12)))  # Friday 00:00: 4/7 passed
    q = next(r for r in d["intervals"] if r["item"] == "Q")
    assert q["planned"] == pytest.approx(150 + 70 * 4 / 7, abs=1e-6)


def _count_queries(uow: UnitOfWork, run: Any) -> int:
    with uow:
        bind = uow.session.get_bind()
    engine = bind.engine if hasattr(bind, "engine") else bind
    seen: list[str] = []

    def count(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if statement.lstrip().upper().startswith("SELECT"):
            seen.append(statement)

    event.listen(engine, "before_cursor_execute", count)
    try:
        run()
    finally:
        event.remove(engine, "before_cursor_execute", count)
    return len(seen)


def test_the_snapshot_takes_the_same_few_queries_for_5_or_45_work_orders(uow: UnitOfWork) -> None:
    from lpms.services.progress import kit_report

    run = hand_plant(uow)
    small_p = _count_queries(uow, lambda: progress_report(uow, now=MID_P3))
    small_k = _count_queries(uow, lambda: kit_report(uow, now=MID_P3, window=2))
    add_orders(uow, run, [(f"X-{k}", "I:Q" if k % 2 else "I:P", 4 + k, 10) for k in range(40)])
    big_p = _count_queries(uow, lambda: progress_report(uow, now=MID_P3))
    big_k = _count_queries(uow, lambda: kit_report(uow, now=MID_P3, window=2))
    assert small_p == big_p and small_k == big_k
    assert big_p <= 20 and big_k <= 21


def test_the_daily_report_holds_every_measure(uow: UnitOfWork) -> None:
    hand_plant(uow)
    report_downtime(uow, "ASM", 2200, "press broken", client_key="d", actor="test", now=at(2, 3))
    d = daily_report_dict(build_daily_report(uow, now=MID_P3))
    assert set(d) == {"as_of", "current_period", "period_start", "progress", "kit", "on_time", "wip", "buffers",
                      "overtime"}
    assert d["current_period"] == 3 and d["period_start"] == "2026-12-14"
    assert d["on_time"]["counted"] == 3 and d["on_time"]["late"] == ["P-1", "Q-2"]
    # P-2 is open but unstarted; P-1 holds 100 - 90 = 10 units in front of TEST; Q-3 has one operation
    assert d["wip"]["units"] == 10.0
    # period 2: ASM worked 45 x 1 + 100 x 3 = 345 min, of 2400 regular less 2200 lost: 145 overtime, 100 planned
    rows = {r["work_center"]: r for r in d["overtime"]["work_centers"]}
    assert rows["ASM"] == {"work_center": "ASM", "planned_min": 100.0, "used_min": 145.0, "excess_min": 45.0}
    assert rows["CUT"]["used_min"] == 0.0


def test_cli_progress_json_and_table(fresh_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    from lpms.db import migrate
    from lpms.db.session import make_engine, session_factory

    migrated_url = fresh_url
    migrate.upgrade(migrated_url)
    engine = make_engine(migrated_url)
    try:
        hand_plant(UnitOfWork(session_factory(engine)))
    finally:
        engine.dispose()
    assert main(["progress", "--format", "json", "--as-of", "2026-12-17T12:00", "--database-url", migrated_url]) == 0
    d = json.loads(capsys.readouterr().out)
    assert d["intervals"][0] == {"interval": "I:P", "item": "P", "planned": 150.0, "actual": 90.0, "gap": 60.0}
    assert main(["progress", "--as-of", "2026-12-17T12:00", "--database-url", migrated_url]) == 0
    out = capsys.readouterr().out
    assert "period 3, 50% passed" in out and "on-time completion 33.3% (1 of 3 decided)" in out
    assert main(["progress", "--as-of", "2020-01-01", "--database-url", migrated_url]) == 2
    assert "before the calendar's first period" in capsys.readouterr().err
    assert main(["progress", "--format", "yaml", "--database-url", migrated_url]) == 2
