"""A plan run's minimum interval lead time reaches its release and its re-plans (SQLite and
PostgreSQL): work orders of an interval feeding another are due a period after their start, and
a re-plan keeps the approved run's setting."""
from __future__ import annotations

import datetime as dt

import pytest

from lpms.db.session import UnitOfWork
from lpms.domain.enums import PlanRunStatus
from lpms.planning.solver import SolverOptions
from lpms.services.csv_io import import_texts
from lpms.services.plan_runs import PlanRequest, run_plan
from lpms.services.release import approve_plan_run, release_work_orders
from lpms.services.replan import ReplanPolicy, replan
from tests.shop_floor_plant import MONDAY, NOW, PERIODS

pytestmark = pytest.mark.db

OPTIONS = SolverOptions(time_limit_s=60)


def _load(uow: UnitOfWork) -> None:
    """P (product, lead 0) from A and M1; A (assembly, lead 0, a kitting point) from M2 and M3."""
    calendar = "period,bucket,start_date,end_date\n" + "".join(
        f"{k + 1},week,{MONDAY + dt.timedelta(weeks=k)},{MONDAY + dt.timedelta(weeks=k, days=6)}\n"
        for k in range(PERIODS))
    capacity = "work_center,period,regular_min,overtime_min\n" + "".join(
        f"{wc},{k + 1},2400,0\n" for wc in ("CUT", "ASM") for k in range(PERIODS))
    end = MONDAY + dt.timedelta(weeks=PERIODS, days=-1)
    import_texts(uow, {
        "items": "code,name,kind,lead_time_periods,stocked\nP,Product,product,0,false\nA,Assembly,assembly,0,false\n"
                 "M1,M1,material,0,false\nM2,M2,material,0,false\nM3,M3,material,0,false\n",
        "work_centers": "code,name\nCUT,Cutting\nASM,Assembly\n",
        "calendar": calendar, "capacity": capacity,
        "bom": "parent,child,qty_per\nP,A,1\nP,M1,1\nA,M2,1\nA,M3,2\n",
        "routings": "item,sequence,work_center,run_min,setup_min\nA,10,CUT,2,0\nP,10,ASM,3,0\n",
        "forecasts": f"item,start_date,end_date,quantity\nP,{MONDAY},{end},600\n",
        "stock": "item,on_hand\nP,100\nM1,2000\nM2,2000\nM3,4000\n",
    }, actor="test", now=NOW)


def _release(uow: UnitOfWork, request: PlanRequest) -> dict[str, tuple[int, int]]:
    _load(uow)
    result = run_plan(uow, request, options=OPTIONS, actor="test", now=NOW)
    assert result.status is PlanRunStatus.SUCCEEDED, result.message
    approve_plan_run(uow, result.run_id, actor="test", now=NOW)
    release = release_work_orders(uow, fence_periods=2, actor="test", now=NOW)
    return {wo.number: (wo.start_period, wo.due_period) for wo in release.work_orders if wo.interval == "I:A"}


def test_without_it_a_level_is_due_in_its_start_period(uow: UnitOfWork) -> None:
    orders = _release(uow, PlanRequest())
    assert orders and all(due == start for start, due in orders.values())


def test_with_it_a_level_is_due_a_period_after_its_start_and_re_plans_keep_it(uow: UnitOfWork) -> None:
    orders = _release(uow, PlanRequest(min_interval_lead=1))
    assert orders and all(due == start + 1 for start, due in orders.values())
    result = replan(uow, reason="test", policy=ReplanPolicy(fence_periods=2, nervousness_cost=0.01),
                    options=OPTIONS, actor="test", now=NOW + dt.timedelta(weeks=1))
    assert result.plan is not None
    with uow:
        assert uow.plan_runs.get(result.run_id).parameters["min_interval_lead"] == 1
    lead = {iv["code"]: iv["lead_time"] for iv in result.plan.to_dict()["intervals"]}
    assert lead == {"I:A": 1, "I:P": 0}
