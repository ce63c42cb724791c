"""A small plant for the process-management tests, and helpers to plan, approve and release it.

Six weekly periods from Monday 2026-11-30 (the tests' NOW, 2026-12-01, is in period 1).
Intervals: I:P (P made from S and C, S made from 2 M; P is a kitting point, S flows on into P;
S has a lead time of one period, so a P order is due one period after its start), and I:Q (Q
made from C). Routings: S/10 on CUT, P/10 on ASM, P/20 on TEST, Q/10 on ASM, so a P work order
has the operations 10 (S on CUT), 20 (P on ASM), 30 (P on TEST) and the kit C x1, M x2.
"""
from __future__ import annotations

import datetime as dt
from typing import Any

from lpms.db.session import UnitOfWork
from lpms.domain.enums import PlanRunStatus
from lpms.planning.solver import SolverOptions
from lpms.services.csv_io import import_texts
from lpms.services.plan_runs import PlanRequest, run_plan
from lpms.services.release import ReleaseResult, approve_plan_run, release_work_orders

NOW = dt.datetime(2026, 12, 1, 8, 0, tzinfo=dt.UTC)  # period 1
MONDAY = dt.date(2026, 11, 30)
PERIODS = 6


def week(k: int) -> dt.datetime:
    """A moment inside period ``k`` (Tuesday 08:00 UTC)."""
    return NOW + dt.timedelta(weeks=k - 1)


def plant_texts(*, c_stock: float = 1000, m_stock: float = 2000, p_forecast: float = 600,
                q_forecast: float = 300) -> dict[str, str]:
    calendar = "period,bucket,start_date,end_date\n" + "".join(
        f"{k + 1},week,{MONDAY + dt.timedelta(weeks=k)},{MONDAY + dt.timedelta(weeks=k, days=6)}\n"
        for k in range(PERIODS))
    capacity = "work_center,period,regular_min,overtime_min\n" + "".join(
        f"{wc},{k + 1},2400,600\n" for wc in ("CUT", "ASM", "TEST") for k in range(PERIODS))
    end = MONDAY + dt.timedelta(weeks=PERIODS, days=-1)
    return {
        "items": "code,name,kind,lead_time_periods,stocked\n"
                 "P,Product P,product,0,false\nQ,Product Q,product,0,false\nS,Sub-assembly S,assembly,1,false\n"
                 "C,Component C,material,0,false\nM,Material M,material,0,false\n",
        "work_centers": "code,name\nCUT,Cutting\nASM,Assembly\nTEST,Test\n",
        "calendar": calendar,
        "capacity": capacity,
        "bom": "parent,child,qty_per\nP,S,1\nP,C,1\nS,M,2\nQ,C,1\n",
        "routings": "item,sequence,work_center,run_min,setup_min\nS,10,CUT,2,0\nP,10,ASM,3,0\nP,20,TEST,1,0\n"
                    "Q,10,ASM,1,0\n",
        "forecasts": f"item,start_date,end_date,quantity\nP,{MONDAY},{end},{p_forecast}\nQ,{MONDAY},{end},{q_forecast}\n",
        "stock": f"item,on_hand\nP,100\nC,{c_stock}\nM,{m_stock}\n",
        "orders": f"number,customer,item,quantity,due_date\nSO-1,Acme,P,30,{MONDAY + dt.timedelta(days=3)}\n"
                  f"SO-2,Acme,Q,20,{MONDAY + dt.timedelta(days=10)}\n",
        "receipts": f"item,due_date,quantity\nC,{MONDAY + dt.timedelta(weeks=1)},50\nC,"
                    f"{MONDAY + dt.timedelta(weeks=2)},70\n",
    }


def load_plant(uow: UnitOfWork, **kwargs: Any) -> None:
    import_texts(uow, plant_texts(**kwargs), actor="test", now=NOW)


def plan_plant(uow: UnitOfWork, now: dt.datetime = NOW) -> int:
    result = run_plan(uow, PlanRequest(), options=SolverOptions(time_limit_s=60), actor="test", now=now)
    assert result.status is PlanRunStatus.SUCCEEDED, result.message
    return result.run_id


def released_plant(uow: UnitOfWork, *, fence: int = 2, now: dt.datetime = NOW, **kwargs: Any) -> ReleaseResult:
    """Load, plan, approve and release the plant; the release's result."""
    load_plant(uow, **kwargs)
    run_id = plan_plant(uow, now)
    approve_plan_run(uow, run_id, actor="test", now=now)
    return release_work_orders(uow, fence_periods=fence, actor="test", now=now)


def p_order(release: ReleaseResult, period: int = 1) -> str:
    """The number of the P work order started in ``period``."""
    return next(wo.number for wo in release.work_orders if wo.interval == "I:P" and wo.start_period == period)
