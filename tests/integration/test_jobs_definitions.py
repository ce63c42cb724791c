"""Each of the six jobs through the runner, against the services on a real database (the small
plant of tests/shop_floor_plant.py): what it does and what its run records."""
from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import func, select

from jobs.runner import JobRunner
from lpms.bootstrap import Database
from lpms.db import migrate
from lpms.db import models as m
from lpms.db.models_jobs import DailyReport, JobRun
from lpms.db.session import make_engine, session_factory
from lpms.domain.enums import JobStatus, JobTrigger, PlanRunStatus
from lpms.services import jobs as job_service
from lpms.services.plan_runs import PlanRequest, request_plan_run
from lpms.services.reports import report_completion
from lpms.settings import Settings
from tests.conftest import DatabaseFactory
from tests.shop_floor_plant import NOW, load_plant, p_order, released_plant, week

pytestmark = pytest.mark.db


@pytest.fixture
def db(db_factory: DatabaseFactory) -> Iterator[Database]:
    url = db_factory.new_url()
    migrate.upgrade(url)
    engine = make_engine(url)
    database = Database(url, engine, session_factory(engine))
    yield database
    database.dispose()


def _runner(db: Database, tmp_path: Path, now: dt.datetime = NOW, **settings: object) -> JobRunner:
    return JobRunner(db, Settings(database_url=db.url, instance_dir=tmp_path / "instance", **settings),  # type: ignore[arg-type]  # test overrides
                     clock_fn=lambda: now, runner_id="test")


def _count(db: Database, model: type[m.Base]) -> int:
    with db.sessions() as s:
        return int(s.scalar(select(func.count()).select_from(model)) or 0)


def test_the_executor_runs_the_queued_plan_runs_one_at_a_time(db: Database, tmp_path: Path) -> None:
    runner = _runner(db, tmp_path)
    # a scheduled poll that finds nothing queued is not recorded
    assert runner.run_fire("execute_plan_runs", NOW).status == "idle"
    assert _count(db, JobRun) == 0
    load_plant(db.uow())
    first = request_plan_run(db.uow(), PlanRequest(), actor="web:ann", now=NOW)
    second = request_plan_run(db.uow(), PlanRequest(), actor="web:bob", now=NOW)
    outcome = runner.run_fire("execute_plan_runs", NOW)
    assert outcome.status == "succeeded"
    assert outcome.message == f"run {first}: succeeded; run {second}: succeeded"
    with db.uow() as uow:
        for run_id in (first, second):
            run = uow.plan_runs.get(run_id)
            assert run.status is PlanRunStatus.SUCCEEDED and run.started_at == NOW and run.finished_at is not None
    assert job_service.queued_plan_runs(db.uow()) == []


def test_the_executor_records_a_failed_plan_run_and_fails(db: Database, tmp_path: Path) -> None:
    # an empty database: the run cannot be planned; it is recorded failed (or infeasible) on the run
    run_id = request_plan_run(db.uow(), PlanRequest(), actor="web:ann", now=NOW)
    outcome = _runner(db, tmp_path).run_fire("execute_plan_runs", NOW)
    with db.uow() as uow:
        status = uow.plan_runs.get(run_id).status
    assert status in (PlanRunStatus.FAILED, PlanRunStatus.INFEASIBLE)
    if status is PlanRunStatus.FAILED:
        assert outcome.status == "failed" and f"run {run_id}: failed" in outcome.message
    else:
        assert outcome.status == "succeeded" and outcome.message == f"run {run_id}: infeasible"


def test_extend_horizon_keeps_the_horizon_ahead(db: Database, tmp_path: Path) -> None:
    load_plant(db.uow())
    runner = _runner(db, tmp_path, horizon_periods=8)
    outcome = runner.run_once("extend_horizon")
    assert outcome.status == "succeeded"
    assert re.match(r"calendar extended by 3 period\(s\) \(7-9", outcome.message), outcome.message
    assert runner.run_once("extend_horizon").message.startswith("calendar already covers 8 periods ahead")
    runs = job_service.list_job_runs(db.uow(), job_id="extend_horizon")
    assert [r.trigger for r in runs] == [JobTrigger.MANUAL, JobTrigger.MANUAL]


def test_kit_snapshot_records_the_period_once(db: Database, tmp_path: Path) -> None:
    released_plant(db.uow())
    runner = _runner(db, tmp_path)
    first = runner.run_once("kit_snapshot")
    assert first.status == "succeeded" and first.message.startswith("kit rate of period 1 recorded: ")
    again = runner.run_once("kit_snapshot")
    assert again.status == "succeeded" and again.message.startswith("kit rate of period 1 already recorded")


def test_daily_report_is_stored_and_written_as_a_self_contained_html_file(db: Database, tmp_path: Path) -> None:
    release = released_plant(db.uow())
    report_completion(db.uow(), p_order(release), 10, 40, 2, client_key="k1", actor="t", now=NOW)
    runner = _runner(db, tmp_path, now=NOW + dt.timedelta(days=1))
    outcome = runner.run_once("daily_report")
    assert outcome.status == "succeeded", outcome.message
    [stored] = job_service.list_reports(db.uow())
    assert outcome.message.startswith(f"report {stored.id} for 2026-12-02: ")
    path = Path(stored.html_path)
    assert path.is_file() and path.parent == (tmp_path / "instance" / "reports").resolve()
    assert path.name == f"progress-2026-12-02-{stored.id}.html" and path.stat().st_size == stored.html_bytes
    html = path.read_text(encoding="utf-8")
    assert html.startswith("<!DOCTYPE html>") and "<svg" in html and "Progress report 2026-12-02" in html
    assert not re.search(r"(src|href)=", html) and "<script" not in html  # nothing fetched, nothing run
    assert p_order(release) in html or "WO-P01" in html
    data = job_service.get_report(db.uow(), stored.id).data
    assert data["current_period"] == 1 and 0 <= (data["kit"]["rate"] or 0) <= 1
    assert job_service.report_dict(stored)["data"] == data
    assert _count(db, DailyReport) == 1


def test_a_report_file_that_cannot_be_written_stores_nothing(db: Database, tmp_path: Path) -> None:
    released_plant(db.uow())
    blocker = tmp_path / "instance"
    blocker.write_text("not a folder")
    outcome = _runner(db, tmp_path).run_once("daily_report")
    assert outcome.status == "failed" and outcome.message.startswith("unavailable: cannot write the report file ")
    assert _count(db, DailyReport) == 0


def test_rolling_replan_replans_and_releases(db: Database, tmp_path: Path) -> None:
    released_plant(db.uow())
    outcome = _runner(db, tmp_path, now=week(2)).run_once("rolling_replan")
    assert outcome.status == "succeeded", outcome.message
    assert re.fullmatch(r"re-plan run \d+: approved, [\d.e+-]+ unit\(s\) moved, \d+ work order\(s\) released( \(.*\))?",
                    outcome.message), outcome.message
    # the re-plan says who asked for it: run by hand here (the web's "run now" is a request)
    from lpms.db.models_replan import Replan
    with db.sessions() as s:
        assert s.scalars(select(Replan.reason)).all() == ["re-plan run by hand (lpms jobs run-once)"]


def test_check_fluctuations_replans_when_a_finding_triggers_it(db: Database, tmp_path: Path) -> None:
    released_plant(db.uow())
    # a week later nothing was reported: output is behind plan
    outcome = _runner(db, tmp_path, now=week(2)).run_once("check_fluctuations")
    assert outcome.status == "succeeded", outcome.message
    assert "behind_plan" in outcome.message and "; re-plan run " in outcome.message, outcome.message
    with db.sessions() as s:
        replans = s.scalar(select(func.count()).select_from(m.PlanRun).where(m.PlanRun.id > 1))
    assert replans == 1


def test_check_fluctuations_does_not_replan_again_for_the_findings_it_replanned(db: Database,
                                                                               tmp_path: Path) -> None:
    """Output stays behind plan until it is made: the next checks in the period find the same
    finding and do not re-plan again (every 15 minutes, with nothing new); a new subject does, and
    so does the same finding in a new period (the plan in force was made in another)."""
    released_plant(db.uow())
    runner = _runner(db, tmp_path, now=week(2))
    first = runner.run_once("check_fluctuations")
    assert "; re-plan run " in first.message, first.message
    again = _runner(db, tmp_path, now=week(2) + dt.timedelta(minutes=15)).run_once("check_fluctuations")
    assert again.status == "succeeded"
    assert re.search(r"; no re-plan: the same findings were re-planned after check \d+ this period", again.message), \
        again.message
    with db.sessions() as s:
        assert s.scalar(select(func.count()).select_from(m.PlanRun)) == 2  # the first plan and one re-plan
    # a new subject: a scrap finding on a work order
    from lpms.services import work_orders
    wo = next(w for w in work_orders.list_work_orders(db.uow()) if w.status.value == "released")
    report_completion(db.uow(), wo.number, wo.operations[0].seq, 0.0, max(1.0, wo.quantity * 0.5), client_key="s1",
                      actor="t", now=week(2) + dt.timedelta(minutes=20))
    third = _runner(db, tmp_path, now=week(2) + dt.timedelta(minutes=30)).run_once("check_fluctuations")
    assert "; re-plan run " in third.message and "scrap" in third.message, third.message
    with db.sessions() as s:
        reasons = s.scalars(select(m.PlanRun.parameters)).all()
    assert any(f"scrap {wo.number}" in str(p) for p in reasons)


def test_check_fluctuations_without_findings_does_not_replan(db: Database, tmp_path: Path) -> None:
    released_plant(db.uow())
    outcome = _runner(db, tmp_path, now=NOW).run_once("check_fluctuations")
    assert outcome.status == "succeeded", outcome.message
    assert outcome.message.endswith("no re-plan needed") or "re-plan run" in outcome.message
    if outcome.message.endswith("no re-plan needed"):
        with db.sessions() as s:
            assert s.scalar(select(func.count()).select_from(m.PlanRun)) == 1


def test_a_job_outside_the_calendar_fails_with_its_reason_and_is_recorded(db: Database, tmp_path: Path) -> None:
    load_plant(db.uow())
    outcome = _runner(db, tmp_path, now=NOW + dt.timedelta(weeks=52)).run_once("kit_snapshot")
    assert outcome.status == "failed" and outcome.message.startswith("not_found: ")
    [run] = job_service.list_job_runs(db.uow(), job_id="kit_snapshot")
    assert run.status is JobStatus.FAILED and run.message == outcome.message
