"""Re-planning with minimal change (docs/replan.md) on SQLite and PostgreSQL: the fence stays,
the ledger's stock is the start, released work counts once, the penalty moves fewer units,
nothing changed moves nothing, an infeasible re-plan leaves the approved plan in force,
auto-approval on and off, the stored diff, and `lpms replan` end to end."""
from __future__ import annotations

import dataclasses
import datetime as dt
import json
from pathlib import Path

import pytest
from sqlalchemy import select

from lpms.db import models as m
from lpms.db.models_replan import Replan, ReplanChange
from lpms.db.session import UnitOfWork
from lpms.domain.enums import PlanRunStatus
from lpms.domain.errors import NotFound
from lpms.domain.values import Costs
from lpms.planning.solver import SolverOptions
from lpms.services.csv_io import import_texts
from lpms.services.plan_runs import PlanRequest, run_plan
from lpms.services.release import approve_plan_run, release_work_orders
from lpms.services.replan import (
    ReplanInfeasible,
    ReplanPolicy,
    ReplanResult,
    plan_diff,
    plan_diff_dict,
    replan,
    replan_dict,
)
from lpms.services.reports import report_completion
from lpms.services.stock import adjust_stock
from lpms.services.work_orders import list_work_orders
from tests.plan_invariants import assert_plan_honest
from tests.shop_floor_plant import MONDAY, NOW, load_plant, p_order, plant_texts, released_plant, week

pytestmark = pytest.mark.db

OPTIONS = SolverOptions(time_limit_s=60)
MANUAL = ReplanPolicy(fence_periods=2, nervousness_cost=0.01, auto_approve=False)


def _replan(uow: UnitOfWork, policy: ReplanPolicy = MANUAL, reason: str = "test",
            now: dt.datetime = NOW) -> ReplanResult:
    result = replan(uow, reason=reason, policy=policy, options=OPTIONS, actor="test", now=now)
    assert result.plan is not None and result.snapshot is not None
    assert_plan_honest(result.plan, result.snapshot.plan_input)
    return result


def _production(uow: UnitOfWork, run_id: int) -> dict[tuple[str, int], float]:
    with uow:
        rows = uow.session.execute(
            select(m.PlanLine.interval_code, m.Item.code, m.PlanLine.period_seq, m.PlanLine.production)
            .join(m.Item, m.Item.id == m.PlanLine.item_id).where(m.PlanLine.plan_run_id == run_id)).tuples()
        return {(iv, p): q for iv, code, p, q in rows if iv == f"I:{code}" and q}


def _status(uow: UnitOfWork, run_id: int) -> PlanRunStatus:
    with uow:
        return uow.plan_runs.get(run_id).status


def test_replan_keeps_the_fenced_periods_and_nothing_changed_moves_nothing(uow: UnitOfWork) -> None:
    release = released_plant(uow, fence=2)
    old = _production(uow, release.run_id)
    result = _replan(uow)
    assert result.status is PlanRunStatus.SUCCEEDED and not result.approved and result.released == 0
    assert result.previous_run_id == release.run_id and result.first_period == 1 and result.frozen_periods == (1, 2)
    new = _production(uow, result.run_id)
    released = {(wo.interval, wo.start_period): wo.quantity for wo in release.work_orders}
    assert {k: v for k, v in new.items() if k[1] in (1, 2)} == pytest.approx(released)
    assert result.units_moved == pytest.approx(0, abs=1e-6) and result.rows == ()
    assert new == pytest.approx(old)  # released quantities are the plan's: the whole plan stays
    assert _status(uow, release.run_id) is PlanRunStatus.APPROVED  # waits for a planner
    with uow:
        row = uow.session.scalars(select(Replan).where(Replan.plan_run_id == result.run_id)).one()
        assert (row.reason, row.units_moved, row.approved, row.first_period, row.frozen_periods) == (
            "test", 0.0, False, 1, [1, 2])


def test_replan_starts_from_the_ledger_and_later_from_the_current_period(uow: UnitOfWork) -> None:
    released_plant(uow, fence=1)
    base = _replan(uow)
    adjust_stock(uow, "M", 500, reason="found a pallet", actor="test", now=NOW)
    more = _replan(uow)
    assert more.snapshot is not None and base.snapshot is not None
    assert more.snapshot.plan_input.on_hand["M"] == pytest.approx(base.snapshot.plan_input.on_hand["M"] + 500)
    assert sum(more.plan.purchases["M"]) == pytest.approx(max(0.0, sum(base.plan.purchases["M"]) - 500))  # type: ignore[union-attr]
    # two weeks on, periods 1-2 are history: the plan starts at period 3 and stores absolute periods
    later = _replan(uow, now=week(3))
    assert later.first_period == 3 and later.snapshot is not None and later.snapshot.plan_input.periods == 4
    assert min(p for _, p in _production(uow, later.run_id)) >= 3
    with uow:
        assert {ld.period_seq for ld in uow.session.scalars(
            select(m.PlanLoad).where(m.PlanLoad.plan_run_id == later.run_id))} == {3, 4, 5, 6}


def test_released_work_counts_once_and_scrap_is_made_up(uow: UnitOfWork) -> None:
    release = released_plant(uow, fence=2)
    number = p_order(release, 1)
    wo = next(w for w in release.work_orders if w.number == number)
    base = _replan(uow)
    # 40 started at operation 10 (their kit drawn), 10 of them scrapped there
    report_completion(uow, number, 10, 30, 10, client_key="k1", actor="t", now=NOW)
    after = _replan(uow)
    assert after.snapshot is not None and after.snapshot.plan_input.replan is not None
    terms = after.snapshot.plan_input.replan
    assert terms.committed["I:P"][0] == pytest.approx(wo.quantity - 40)  # still to start
    assert terms.in_process["P"][wo.due_period - 1] == pytest.approx(30)  # started, arrives when due
    assert after.plan is not None and base.plan is not None
    assert after.plan.interval_production["I:P"][0] == pytest.approx(wo.quantity - 40)
    # counted once: the work order delivers its 30 in process and 460 still to start; the 10
    # scrapped are made up by 10 units started outside it; the total output is the same as before
    assert sum(after.plan.interval_production["I:P"]) + 30 == pytest.approx(sum(base.plan.interval_production["I:P"]))
    assert sum(after.plan.interval_production["I:P"][1:]) == pytest.approx(
        sum(base.plan.interval_production["I:P"][1:]) + 10)


def test_the_penalty_moves_fewer_units_than_a_replan_without_it(uow: UnitOfWork) -> None:
    load_plant(uow)
    levelled = PlanRequest(costs=Costs(late=10, balance=5, inventory=1, overtime=2))
    first = run_plan(uow, levelled, options=OPTIONS, actor="test", now=NOW)
    approve_plan_run(uow, first.run_id, actor="test", now=NOW)
    release_work_orders(uow, fence_periods=1, actor="test", now=NOW)
    # a fluctuation: a new order of 450 Q due in period 4 (more than the forecast it consumes)
    import_texts(uow, {"orders": f"number,customer,item,quantity,due_date\n"
                                 f"SO-9,Acme,Q,450,{MONDAY + dt_days(22)}\n"}, actor="test", now=NOW)
    assert first.plan is not None
    moved = {}
    more = 0.0
    for cost in (0.0, 0.5):
        result = _replan(uow, dataclasses.replace(MANUAL, nervousness_cost=cost))
        assert result.previous_run_id == first.run_id
        moved[cost] = result.units_moved
        assert result.plan is not None
        if cost:
            assert result.plan.objectives["nervousness"] == pytest.approx(result.units_moved, abs=1e-5)
        more = sum(result.plan.interval_production["I:Q"]) - sum(first.plan.interval_production["I:Q"])
    assert more > 200 and moved[0.5] >= more - 1e-6  # the new order is made somewhere
    # the penalty never moves more (strictly fewer where equally good plans exist:
    # tests/unit/test_replan_model.py)
    assert moved[0.5] <= moved[0.0] + 1e-6


def dt_days(n: int) -> dt.timedelta:
    return dt.timedelta(days=n)


def test_infeasible_replan_leaves_the_approved_plan_in_force(uow: UnitOfWork) -> None:
    release = released_plant(uow, fence=2)
    import_texts(uow, {"orders": f"number,customer,item,quantity,due_date\n"
                                 f"SO-9,Acme,P,100000,{MONDAY + dt_days(30)}\n"}, actor="test", now=NOW)
    with pytest.raises(ReplanInfeasible, match=r"infeasible; the approved plan \(run \d+\) stays in force") as err:
        replan(uow, reason="big order", policy=dataclasses.replace(MANUAL, auto_approve=True), options=OPTIONS,
               actor="test", now=NOW)
    result = err.value.result
    assert result.status is PlanRunStatus.INFEASIBLE and not result.approved and result.plan is None
    assert "work center" in result.message or "cannot be delivered" in result.message
    assert _status(uow, result.run_id) is PlanRunStatus.INFEASIBLE
    assert _status(uow, release.run_id) is PlanRunStatus.APPROVED
    with uow:
        row = uow.session.scalars(select(Replan).where(Replan.plan_run_id == result.run_id)).one()
        assert row.units_moved is None and not row.approved and row.reason == "big order"
    assert replan_dict(result)["status"] == "infeasible"


def test_auto_approve_supersedes_the_previous_plan_and_releases_new_fence_periods(uow: UnitOfWork) -> None:
    release = released_plant(uow, fence=2)
    before = {wo.number for wo in list_work_orders(uow)}
    auto = dataclasses.replace(MANUAL, auto_approve=True)
    now_result = _replan(uow, auto, reason="nightly")
    assert now_result.status is PlanRunStatus.APPROVED and now_result.approved and now_result.released == 0
    assert _status(uow, release.run_id) is PlanRunStatus.SUPERSEDED
    for k, now in ((2, week(2)), (3, week(3))):  # period k + 1 enters the fence
        later = _replan(uow, auto, reason="nightly", now=now)
        assert later.approved and later.frozen_periods == (k,)
        with uow:
            assert uow.work_orders.released_periods()[k + 1] == later.run_id
        created = [wo for wo in list_work_orders(uow) if wo.number not in before]
        assert len(created) == later.released and {wo.start_period for wo in created} <= {k + 1}
        assert all(wo.plan_run_id == later.run_id for wo in created)
        before |= {wo.number for wo in created}
    assert _status(uow, now_result.run_id) is PlanRunStatus.SUPERSEDED


def test_plan_diff_of_two_runs_and_the_stored_changes(uow: UnitOfWork) -> None:
    release = released_plant(uow, fence=1)
    import_texts(uow, {"orders": f"number,customer,item,quantity,due_date\n"
                                 f"SO-9,Acme,Q,450,{MONDAY + dt_days(22)}\n"}, actor="test", now=NOW)
    result = _replan(uow)
    assert result.units_moved > 0
    diff = plan_diff(uow, release.run_id, result.run_id)
    assert diff.periods == (1, 6) and diff.frozen_periods == (1,)
    assert diff.units_moved == pytest.approx(result.units_moved)
    assert all(r.change == pytest.approx(r.new - r.old) for r in diff.rows)
    assert sum(abs(r.change) for r in diff.changed if not r.frozen) == pytest.approx(diff.units_moved)
    with uow:
        stored = {(c.interval_code, c.period_seq): c.change for c in uow.session.scalars(
            select(ReplanChange).join(Replan).where(Replan.plan_run_id == result.run_id))}
    assert stored == pytest.approx({(r.interval, r.period): r.change for r in diff.changed})
    shape = plan_diff_dict(diff)
    assert set(shape) == {"run_a", "run_b", "periods", "frozen_periods", "units_moved", "changed", "rows"}
    assert set(shape["rows"][0]) == {"interval", "period", "old", "new", "change", "frozen"}
    with pytest.raises(NotFound):
        plan_diff(uow, release.run_id, 999)


def test_without_an_approved_plan_a_replan_is_a_plain_plan_from_today(uow: UnitOfWork) -> None:
    load_plant(uow)
    result = _replan(uow)
    assert result.previous_run_id is None and result.diff is None and result.units_moved == 0
    assert "nervousness" not in result.plan.costs  # type: ignore[union-attr]
    with pytest.raises(NotFound):
        replan(uow, reason="x", policy=MANUAL, options=OPTIONS, actor="t", now=week(30))


@pytest.fixture
def cli_db(fresh_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> list[str]:
    from lpms.cli import main

    opts = ["--database-url", fresh_url, "--as-of", "2026-12-01T08:00"]
    data = tmp_path / "plant"
    data.mkdir()
    for name, text in plant_texts().items():
        (data / f"{name}.csv").write_text(text, encoding="utf-8")
    for argv in (["db", "upgrade", "--database-url", fresh_url], ["import", str(data), *opts], ["plan", "run", *opts],
                 ["plan", "approve", "1", *opts], ["release", *opts]):
        assert main(argv) == 0
    capsys.readouterr()
    return opts


def test_lpms_replan_table_json_and_exit_codes(cli_db: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    from lpms.cli import main

    assert main(["replan", "--reason", "nightly", *cli_db]) == 0
    out, err = capsys.readouterr()
    assert "plan run 2: approved (re-plan 1, reason: nightly)" in out and "0 units moved" in out and not err
    assert main(["replan", "--format", "json", *cli_db]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["run_id"] == 3 and data["status"] == "approved" and data["reason"] == "manual"
    assert data["previous_run_id"] == 2 and data["units_moved"] == 0 and data["diff"]["rows"] == []
    assert set(data) == {"run_id", "replan_id", "status", "message", "reason", "previous_run_id", "first_period",
                         "frozen_periods", "units_moved", "approved", "released", "notes", "diff"}
    assert main(["replan", "--format", "xml", *cli_db]) == 2
    assert "invalid choice" in capsys.readouterr().err
    from lpms.bootstrap import open_database
    from lpms.settings import load_settings

    with open_database(load_settings(database_url=cli_db[1])) as db:
        import_texts(db.uow(), {"orders": "number,customer,item,quantity,due_date\nSO-9,Acme,P,100000,2026-12-30\n"},
                     actor="test", now=NOW)
    assert main(["replan", "--format", "json", *cli_db]) == 3
    out, err = capsys.readouterr()
    assert json.loads(out)["status"] == "infeasible" and err.startswith("lpms: re-plan (plan run 4) is infeasible")
    assert err.count("\n") == 1
    assert main(["replan", *cli_db[:2], "--as-of", "2030-01-01T00:00"]) == 2  # no current period



def test_one_replan_at_a_time_and_a_stale_running_one_stops_blocking(uow: UnitOfWork) -> None:
    from lpms.domain.errors import Busy
    released_plant(uow, fence=2)
    first = _replan(uow)
    # a re-plan that is still solving (its plan run "running"), as another process would leave it
    with uow:
        uow.plan_runs.update(first.run_id, status=PlanRunStatus.RUNNING)
        uow.commit()
    with pytest.raises(Busy, match=rf"re-plan {first.replan_id} \(plan run {first.run_id}.*still running"):
        replan(uow, reason="second", policy=MANUAL, options=OPTIONS, actor="test", now=NOW)
    with uow:  # nothing was recorded for the refused one
        assert uow.session.scalar(select(m.PlanRun.id).order_by(m.PlanRun.id.desc())) == first.run_id
    # once it is older than twice the solver's time limit plus 5 minutes, a crash is assumed
    later = NOW + dt.timedelta(seconds=2 * OPTIONS.time_limit_s + 301)
    assert _replan(uow, now=later).status is PlanRunStatus.SUCCEEDED


def test_an_auto_replan_does_not_approve_over_a_plan_approved_while_it_ran(uow: UnitOfWork,
                                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    from lpms.services import replan as replan_service
    release = released_plant(uow, fence=2)
    other = run_plan(uow, PlanRequest(), options=OPTIONS, actor="planner", now=NOW)
    original = replan_service._record

    def record_then_planner_approves(*args: object, **kw: object) -> ReplanResult:
        result = original(*args, **kw)  # type: ignore[arg-type]
        approve_plan_run(uow, other.run_id, actor="planner", now=NOW)
        return result

    monkeypatch.setattr(replan_service, "_record", record_then_planner_approves)
    auto = dataclasses.replace(MANUAL, auto_approve=True)
    result = replan(uow, reason="nightly", policy=auto, options=OPTIONS, actor="jobs", now=NOW)
    assert not result.approved and result.status is PlanRunStatus.SUCCEEDED
    assert any(f"plan run {other.run_id} was approved while this re-plan ran" in n for n in result.notes)
    assert _status(uow, other.run_id) is PlanRunStatus.APPROVED
    assert _status(uow, release.run_id) is PlanRunStatus.SUPERSEDED
