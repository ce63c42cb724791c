"""The jobs process against a real database (SQLite with the lease, PostgreSQL with the advisory
lock; --db=postgresql): two runners -- two engines, as two processes would have -- on one
database. A fire runs once and the other runner records ``skipped``; a failing job is recorded
failed and the next one runs; a job request runs once; the APScheduler wiring with real triggers
(fire times a fraction of a second ahead, no waiting on minutes)."""
from __future__ import annotations

import datetime as dt
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from apscheduler.triggers.date import DateTrigger  # type: ignore[import-untyped]  # APScheduler 3 ships no hints
from sqlalchemy import select

from jobs.definitions import JobContext, JobSpec
from jobs.locks import AdvisoryLocks, LeaseLocks
from jobs.runner import JobRunner
from lpms.bootstrap import Database
from lpms.db import migrate
from lpms.db.models_jobs import JobRequest, JobRun
from lpms.db.session import make_engine, session_factory
from lpms.domain.enums import JobRequestStatus, JobStatus, JobTrigger
from lpms.services import jobs as job_service
from lpms.settings import Settings
from tests.conftest import DatabaseFactory

pytestmark = pytest.mark.db

T0 = dt.datetime(2026, 12, 1, 8, 0, tzinfo=dt.UTC)


@pytest.fixture(scope="module")
def url(db_factory: DatabaseFactory) -> str:
    u = db_factory.new_url()
    migrate.upgrade(u)
    return u


def _database(url: str) -> Database:
    engine = make_engine(url)
    return Database(url, engine, session_factory(engine))


@pytest.fixture
def two_dbs(url: str) -> Iterator[tuple[Database, Database]]:
    """Two engines on one database: what two jobs processes would have."""
    a, b = _database(url), _database(url)
    yield a, b
    a.dispose()
    b.dispose()


def _spec(job_id: str, func: Callable[[JobContext], str], trigger: Any = None) -> JobSpec:
    return JobSpec(job_id, func, (lambda s: trigger), lambda s: "test", "a test job")


def _runner(db: Database, registry: dict[str, JobSpec], name: str, **kwargs: Any) -> JobRunner:
    return JobRunner(db, Settings(database_url=db.url), registry=registry, clock_fn=lambda: T0,
                     runner_id=f"test-{name}", **kwargs)


def _runs(db: Database, job_id: str) -> list[JobRun]:
    with db.sessions() as s:
        return list(s.scalars(select(JobRun).where(JobRun.job_id == job_id).order_by(JobRun.id)))


def _job_id(name: str) -> str:
    return f"t_{name}_{uuid.uuid4().hex[:6]}"


def test_a_fire_runs_once_and_the_scheduler_without_the_lock_records_skipped(two_dbs: tuple[Database, Database]) -> None:
    db_a, db_b = two_dbs
    job = _job_id("once")
    calls: list[str] = []
    started, go_on = threading.Event(), threading.Event()

    def slow(ctx: JobContext) -> str:
        calls.append(ctx.actor)
        started.set()
        assert go_on.wait(20)
        return "made it"

    registry = {job: _spec(job, slow)}
    a, b = _runner(db_a, registry, "a"), _runner(db_b, registry, "b")
    outcome_a: list[Any] = []
    thread = threading.Thread(target=lambda: outcome_a.append(a.run_fire(job, T0)))
    thread.start()
    try:
        assert started.wait(20)
        # b sees the same fire while a runs it: the lock is held, b records skipped and runs nothing
        skipped = b.run_fire(job, T0)
    finally:
        go_on.set()
        thread.join(30)
    assert skipped.status == "skipped" and "running elsewhere" in skipped.message
    assert outcome_a[0].status == "succeeded" and outcome_a[0].message == "made it"
    # later, with the lock free, b sees the same fire again: it was run, so b skips it again
    again = b.run_fire(job, T0)
    assert again.status == "skipped" and f"run {outcome_a[0].run_id} by test-a" in again.message
    assert calls == ["jobs"]
    rows = _runs(db_a, job)
    assert [(r.runner, r.status, r.fire_time) for r in rows] == [
        ("test-a", JobStatus.SUCCEEDED, T0), ("test-b", JobStatus.SKIPPED, T0), ("test-b", JobStatus.SKIPPED, T0)]
    assert rows[0].finished_at is not None and rows[0].finished_at >= rows[0].started_at
    # the next fire is a fire of its own
    later = b.run_fire(job, T0 + dt.timedelta(minutes=15))
    assert later.status == "succeeded" and len(calls) == 2


def test_the_same_fire_from_two_schedulers_at_once_runs_exactly_once(two_dbs: tuple[Database, Database]) -> None:
    db_a, db_b = two_dbs
    job = _job_id("race")
    calls: list[int] = []
    lock = threading.Lock()

    def work(ctx: JobContext) -> str:
        with lock:
            calls.append(1)
        time.sleep(0.05)
        return "ok"

    registry = {job: _spec(job, work)}
    runners = [_runner(db_a, registry, "a"), _runner(db_b, registry, "b")]
    fires = [T0 + dt.timedelta(minutes=k) for k in range(6)]
    barrier = threading.Barrier(2)
    outcomes: list[Any] = []

    def drive(r: JobRunner) -> None:
        for f in fires:
            barrier.wait(20)
            outcomes.append(r.run_fire(job, f))

    threads = [threading.Thread(target=drive, args=(r,)) for r in runners]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert len(calls) == len(fires)
    rows = _runs(db_a, job)
    for f in fires:
        statuses = sorted(r.status.value for r in rows if r.fire_time == f)
        assert statuses == ["skipped", "succeeded"], (f, statuses)


def test_a_failing_job_is_recorded_failed_and_the_next_job_still_runs(two_dbs: tuple[Database, Database]) -> None:
    db_a, _ = two_dbs
    bad, good = _job_id("bad"), _job_id("good")

    def boom(ctx: JobContext) -> str:
        raise ZeroDivisionError("the job divided by zero")

    registry = {bad: _spec(bad, boom), good: _spec(good, lambda ctx: f"fine at {ctx.now:%H:%M}")}
    runner = _runner(db_a, registry, "a")
    failed = runner.run_fire(bad, T0)
    assert failed.status == "failed" and isinstance(failed.error, ZeroDivisionError)
    ok = runner.run_fire(good, T0)
    assert ok.status == "succeeded" and ok.message == "fine at 08:00"
    [bad_row] = _runs(db_a, bad)
    assert bad_row.status is JobStatus.FAILED and bad_row.finished_at is not None
    assert bad_row.message == "internal error: ZeroDivisionError: the job divided by zero"
    assert _runs(db_a, good)[0].status is JobStatus.SUCCEEDED
    # the lock was let go after the failure: the job runs again at its next fire
    assert runner.run_fire(bad, T0 + dt.timedelta(hours=1)).status == "failed"


def test_a_job_request_is_executed_once_by_one_of_two_runners(two_dbs: tuple[Database, Database]) -> None:
    db_a, db_b = two_dbs
    job = _job_id("req")
    calls: list[str] = []

    def work(ctx: JobContext) -> str:
        calls.append(ctx.actor)
        return "requested work done"

    registry = {job: _spec(job, work)}
    request_id = job_service.request_job(db_a.uow(), job, actor="web:ann", now=T0, known=(job,))
    runners = [_runner(db_a, registry, "a"), _runner(db_b, registry, "b")]
    barrier = threading.Barrier(2)
    outcomes: list[Any] = []

    def poll(r: JobRunner) -> None:
        barrier.wait(20)
        outcomes.extend(r.run_requests())

    threads = [threading.Thread(target=poll, args=(r,)) for r in runners]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert calls == ["jobs"]
    assert [o.status for o in outcomes] == ["succeeded"]
    assert runners[0].run_requests() == [] and runners[1].run_requests() == []
    [row] = _runs(db_a, job)
    assert row.trigger is JobTrigger.REQUEST and row.request_id == request_id and row.fire_time == T0
    with db_a.sessions() as s:
        request = s.get(JobRequest, request_id)
        assert request is not None and request.status is JobRequestStatus.SUCCEEDED
        assert request.claimed_by in ("test-a", "test-b") and f"run {row.id}: succeeded" in request.message


def test_a_request_for_a_job_that_is_running_waits_for_the_next_poll(two_dbs: tuple[Database, Database]) -> None:
    db_a, db_b = two_dbs
    job = _job_id("busy")
    started, go_on = threading.Event(), threading.Event()

    def slow(ctx: JobContext) -> str:
        started.set()
        assert go_on.wait(20)
        return "done"

    registry = {job: _spec(job, slow)}
    a, b = _runner(db_a, registry, "a"), _runner(db_b, registry, "b")
    thread = threading.Thread(target=a.run_fire, args=(job, T0))
    thread.start()
    try:
        assert started.wait(20)
        request_id = job_service.request_job(db_b.uow(), job, actor="cli:bob", now=T0, known=(job,))
        assert b.run_requests() == []  # a holds the job: the request stays pending, nothing is recorded
        [pending] = job_service.list_job_requests(db_b.uow(), status=JobRequestStatus.PENDING)
        assert pending.id == request_id
    finally:
        go_on.set()
        thread.join(30)
    [outcome] = b.run_requests()
    assert outcome.status == "succeeded"
    assert job_service.list_job_requests(db_b.uow(), limit=1)[0].status is JobRequestStatus.SUCCEEDED


def test_a_request_for_an_unknown_job_is_refused_and_one_already_queued_fails(two_dbs: tuple[Database, Database]) -> None:
    from lpms.domain.errors import InvalidInput

    db_a, _ = two_dbs
    with pytest.raises(InvalidInput, match="unknown job 'nope' \\(jobs: execute_plan_runs, check_fluctuations"):
        job_service.request_job(db_a.uow(), "nope", actor="cli", now=T0)
    job = _job_id("gone")
    request_id = job_service.request_job(db_a.uow(), job, actor="cli", now=T0, known=(job,))
    runner = _runner(db_a, {}, "a")
    assert runner.run_requests() == []
    with db_a.sessions() as s:
        request = s.get(JobRequest, request_id)
        assert request is not None and request.status is JobRequestStatus.FAILED
        assert request.message == f"unknown job {job!r}"


def test_the_lease_expires_when_its_holder_stops_renewing(url: str) -> None:
    db = _database(url)
    now = [T0]
    try:
        a = LeaseLocks(db.engine, runner="a", lease_s=30, clock=lambda: now[0])
        b = LeaseLocks(db.engine, runner="b", lease_s=30, clock=lambda: now[0])
        job = _job_id("lease")
        held = a.try_acquire(job)
        assert held is not None and b.try_acquire(job) is None
        assert b.holder_of(job).startswith("a (lease until 2026-12-01 08:00:30 UTC)")
        held._stop.set()  # a stops renewing (as a process that died would)
        now[0] = T0 + dt.timedelta(seconds=31)
        taken = b.try_acquire(job)
        assert taken is not None
        held.release()  # a's late release does not free b's lease
        assert a.try_acquire(job) is None
        taken.release()
        again = a.try_acquire(job)
        assert again is not None
        again.release()
    finally:
        db.dispose()


def test_a_held_lease_is_renewed_while_the_job_runs(url: str) -> None:
    db = _database(url)
    try:
        a = LeaseLocks(db.engine, runner="a", lease_s=0.3)
        b = LeaseLocks(db.engine, runner="b", lease_s=0.3)
        job = _job_id("renew")
        held = a.try_acquire(job)
        assert held is not None
        time.sleep(1.0)  # three lease lengths: renewed, never expired
        assert b.try_acquire(job) is None and not held.lost
        held.release()
        free = b.try_acquire(job)
        assert free is not None
        free.release()
    finally:
        db.dispose()


def test_postgresql_uses_an_advisory_lock_freed_when_the_session_ends(url: str) -> None:
    if not url.startswith("postgresql"):
        pytest.skip("advisory locks are PostgreSQL's (SQLite: the lease, tested above)")
    a_db, b_db = _database(url), _database(url)
    try:
        a, b = AdvisoryLocks(a_db.engine, runner="a"), AdvisoryLocks(b_db.engine, runner="b")
        job = _job_id("adv")
        held = a.try_acquire(job)
        assert held is not None and b.try_acquire(job) is None
        assert b.holder_of(job).startswith("database session ")
        a_db.dispose()  # the process "dies": its connections close
        assert held._conn is not None
        held._conn.invalidate()
        taken = b.try_acquire(job)
        assert taken is not None
        taken.release()
    finally:
        a_db.dispose()
        b_db.dispose()


def test_two_real_schedulers_fire_a_due_job_once_and_pick_up_a_request(two_dbs: tuple[Database, Database]) -> None:
    db_a, db_b = two_dbs
    due, bad, asked = _job_id("due"), _job_id("raises"), _job_id("asked")
    calls: list[str] = []
    lock = threading.Lock()
    fire = dt.datetime.now(dt.UTC).replace(microsecond=0) + dt.timedelta(seconds=2)

    def work(name: str) -> Callable[[JobContext], str]:
        def run(ctx: JobContext) -> str:
            with lock:
                calls.append(name)
            time.sleep(0.3)  # both schedulers fire while one of them still runs it
            return f"{name} done"
        return run

    def boom(ctx: JobContext) -> str:
        raise RuntimeError("broken job")

    registry = {due: _spec(due, work(due), DateTrigger(run_date=fire)),
                bad: _spec(bad, boom, DateTrigger(run_date=fire)),
                asked: _spec(asked, work(asked), DateTrigger(run_date=fire + dt.timedelta(days=365)))}

    def wall() -> dt.datetime:  # the real clock for the real scheduler
        return dt.datetime.now(dt.UTC)

    a = JobRunner(db_a, Settings(database_url=db_a.url), registry=registry, clock_fn=wall, runner_id="sched-a",
                  request_poll_s=0.2)
    b = JobRunner(db_b, Settings(database_url=db_b.url), registry=registry, clock_fn=wall, runner_id="sched-b",
                  request_poll_s=0.2)
    a.start()
    b.start()
    try:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and len([r for r in _runs(db_a, due) if r.status is not JobStatus.RUNNING]) < 2:
            time.sleep(0.1)
        requested = time.monotonic()
        job_service.request_job(db_a.uow(), asked, actor="web:ann", now=wall(), known=(asked,))
        while time.monotonic() < deadline and not [r for r in _runs(db_a, asked) if r.status is JobStatus.SUCCEEDED]:
            time.sleep(0.05)
        picked_up_s = time.monotonic() - requested
    finally:
        a.stop()
        b.stop()
    assert sorted((r.status.value, r.fire_time) for r in _runs(db_a, due)) == [("skipped", fire), ("succeeded", fire)]
    assert sorted(r.runner for r in _runs(db_a, due)) == ["sched-a", "sched-b"]
    bad_rows = _runs(db_a, bad)
    assert [r.status for r in bad_rows if r.status is not JobStatus.SKIPPED] == [JobStatus.FAILED]
    assert "RuntimeError: broken job" in bad_rows[0].message or "RuntimeError: broken job" in bad_rows[-1].message
    assert calls.count(due) == 1 and calls.count(asked) == 1
    assert picked_up_s < 5
    [asked_run] = _runs(db_a, asked)
    assert asked_run.trigger is JobTrigger.REQUEST and asked_run.status is JobStatus.SUCCEEDED
