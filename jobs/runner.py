"""The jobs process: an APScheduler 3 BackgroundScheduler that fires the jobs of the registry, plus
a poller that runs job requests. Every fire goes through ``JobRunner.run_fire``:

1. take the job's runner lock (PostgreSQL advisory lock / SQLite lease, ``jobs.locks``) without
   waiting; when another runner holds it, record ``skipped`` and stop;
2. record the run (``running``) for (job id, fire time); when that fire already has a run (another
   scheduler ran it and let go of the lock), record ``skipped`` and stop;
3. run the job; record ``succeeded`` or ``failed`` with the message (a failure never stops the
   scheduler); let go of the lock.

APScheduler settings per job: the stable job id, ``max_instances=1``, ``coalesce=True`` and
``misfire_grace_time``. The scheduled fire time reaches the job through ``FireTimeExecutor``.
"""
from __future__ import annotations

import datetime as dt
import logging
import os
import socket
import threading
import time
import traceback
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from apscheduler.executors.pool import ThreadPoolExecutor  # type: ignore[import-untyped]  # APScheduler 3 ships no type hints
from apscheduler.schedulers.background import BackgroundScheduler  # type: ignore[import-untyped]  # APScheduler 3 ships no type hints
from apscheduler.triggers.interval import IntervalTrigger  # type: ignore[import-untyped]  # APScheduler 3 ships no type hints

from jobs.definitions import JobContext, JobSpec, default_registry, plant_tz
from jobs.locks import RunnerLocks, runner_locks
from lpms.bootstrap import Database, clock
from lpms.domain.enums import JobStatus, JobTrigger
from lpms.domain.errors import LpmsError
from lpms.services import jobs as job_service
from lpms.settings import Settings

log = logging.getLogger("lpms.jobs")
ACTOR = "jobs"
REQUEST_POLL_S = 2.0  # a job request is picked up within this (plus the time a running job takes)
MISFIRE_GRACE_S = 300  # a fire late by up to this (process busy, clock jump) still runs
REQUEST_POLLER_ID = "_job_requests"


@dataclass(frozen=True)
class JobOutcome:
    job_id: str
    fire_time: dt.datetime
    status: str  # a JobStatus value, or "idle" (a scheduled fire with nothing to do: not recorded)
    message: str
    run_id: int | None = None
    error: BaseException | None = None


def runner_identity() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"[:128]


def error_message(exc: BaseException) -> str:
    if isinstance(exc, LpmsError):
        return f"{exc.category}: {exc}"
    return f"internal error: {type(exc).__name__}: {exc}"


class FireTimeExecutor(ThreadPoolExecutor):  # type: ignore[misc]  # untyped base class
    """A thread pool executor that hands the scheduled fire time to the job as ``fire_time``
    (APScheduler 3 does not pass it to the function)."""

    def _do_submit_job(self, job: Any, run_times: list[dt.datetime]) -> None:
        super()._do_submit_job(_WithFireTime(job, run_times[-1]), run_times[-1:])


class _WithFireTime:
    """The fields of an APScheduler ``Job`` that ``run_job`` reads, with ``fire_time`` added."""

    def __init__(self, job: Any, fire_time: dt.datetime) -> None:
        self._job = job
        self.id = job.id
        self.func = job.func
        self.args = job.args
        self.kwargs = {**job.kwargs, "fire_time": fire_time}
        self.misfire_grace_time = job.misfire_grace_time
        self._jobstore_alias = job._jobstore_alias

    def __str__(self) -> str:
        return str(self._job)


class JobRunner:
    """Runs the registry's jobs against one database. ``clock`` gives the services' ``now``
    (default: bootstrap.clock, i.e. the ``as_of`` setting or the wall clock)."""

    def __init__(self, db: Database, settings: Settings, *, registry: Mapping[str, JobSpec] | None = None,
                 clock_fn: Callable[[], dt.datetime] | None = None, runner_id: str | None = None,
                 locks: RunnerLocks | None = None, request_poll_s: float = REQUEST_POLL_S,
                 misfire_grace_s: int = MISFIRE_GRACE_S) -> None:
        self.db, self.settings = db, settings
        self.registry = dict(default_registry() if registry is None else registry)
        self.clock = clock_fn or (lambda: clock(settings))
        self.runner_id = runner_id or runner_identity()
        self.locks = locks or runner_locks(db.engine, runner=self.runner_id, lease_s=settings.job_lease_seconds)
        self.request_poll_s = request_poll_s
        self.misfire_grace_s = misfire_grace_s
        self.stopping = threading.Event()
        self._scheduler: BackgroundScheduler | None = None

    # --- one fire ------------------------------------------------------------------------------

    def spec(self, job_id: str) -> JobSpec:
        job_service.check_job_id(job_id, tuple(self.registry))
        return self.registry[job_id]

    def context(self, now: dt.datetime, trigger: JobTrigger = JobTrigger.SCHEDULE) -> JobContext:
        return JobContext(db=self.db, settings=self.settings, now=now, actor=ACTOR, clock=self.clock,
                          stopping=self.stopping, trigger=trigger)

    def run_fire(self, job_id: str, fire_time: dt.datetime, *, trigger: JobTrigger = JobTrigger.SCHEDULE) -> JobOutcome:
        """Run one fire of ``job_id`` (steps 1-3 of the module's description)."""
        spec = self.spec(job_id)
        fire_time = fire_time.astimezone(dt.UTC)
        if trigger is JobTrigger.SCHEDULE and spec.has_work is not None and not spec.has_work(self.context(self.clock())):
            return JobOutcome(job_id, fire_time, "idle", "nothing to do")
        handle = self.locks.try_acquire(job_id)
        if handle is None:
            message = f"not run: {job_id} is running elsewhere ({self.locks.kind} held by {self.locks.holder_of(job_id)})"
            run_id = job_service.record_skipped_run(self.db.uow(), job_id, fire_time=fire_time, trigger=trigger,
                                                    runner=self.runner_id, message=message, now=self.clock())
            log.info("job %s at %s: %s", job_id, fire_time.isoformat(), message)
            return JobOutcome(job_id, fire_time, JobStatus.SKIPPED.value, message, run_id)
        try:
            return self._run_held(spec, fire_time, trigger, None)
        finally:
            handle.release()

    def run_once(self, job_id: str) -> JobOutcome:
        """Run a job now in this process (``lpms jobs run-once``): a fire of its own at ``now``."""
        return self.run_fire(job_id, self.clock(), trigger=JobTrigger.MANUAL)

    def _run_held(self, spec: JobSpec, fire_time: dt.datetime, trigger: JobTrigger,
                  request_id: int | None) -> JobOutcome:
        now = self.clock()
        run_id = job_service.start_job_run(self.db.uow(), spec.id, fire_time=fire_time, trigger=trigger,
                                           runner=self.runner_id, now=now, request_id=request_id)
        if run_id is None:
            earlier = job_service.fire_run(self.db.uow(), spec.id, fire_time)
            by = f"run {earlier.id} by {earlier.runner}" if earlier else "another runner"
            message = f"not run: this fire was already run ({by})"
            skipped = job_service.record_skipped_run(self.db.uow(), spec.id, fire_time=fire_time, trigger=trigger,
                                                     runner=self.runner_id, message=message, now=now,
                                                     request_id=request_id)
            return JobOutcome(spec.id, fire_time, JobStatus.SKIPPED.value, message, skipped)
        started = time.perf_counter()
        error: BaseException | None = None
        try:
            message = spec.func(self.context(now, trigger)) or "done"
            status = JobStatus.SUCCEEDED
        except Exception as exc:  # noqa: BLE001 - recorded as the run's outcome; the scheduler goes on
            error, status, message = exc, JobStatus.FAILED, error_message(exc)
            if isinstance(exc, LpmsError):
                log.warning("job %s failed: %s", spec.id, message)
            else:
                log.error("job %s failed:\n%s", spec.id, "".join(traceback.format_exception(exc)))
        finished = now + dt.timedelta(seconds=time.perf_counter() - started)
        job_service.finish_job_run(self.db.uow(), run_id, status=status, message=message, now=finished)
        log.log(logging.DEBUG if trigger is JobTrigger.MANUAL else logging.INFO, "job %s at %s: %s: %s", spec.id,
                fire_time.isoformat(), status.value, message)
        return JobOutcome(spec.id, fire_time, status.value, message, run_id, error)

    # --- job requests -----------------------------------------------------------------------------

    def run_requests(self) -> list[JobOutcome]:
        """Run the pending job requests, oldest first, each once. A request whose job is running
        elsewhere stays pending for the next poll."""
        outcomes = []
        for request in job_service.pending_job_requests(self.db.uow(), limit=20):
            if self.stopping.is_set():
                break
            if request.job_id not in self.registry:
                if job_service.claim_job_request(self.db.uow(), request.id, runner=self.runner_id, now=self.clock()):
                    job_service.finish_job_request(self.db.uow(), request.id, succeeded=False, now=self.clock(),
                                                   message=f"unknown job {request.job_id!r}")
                continue
            handle = self.locks.try_acquire(request.job_id)
            if handle is None:
                continue
            try:
                if not job_service.claim_job_request(self.db.uow(), request.id, runner=self.runner_id,
                                                     now=self.clock()):
                    continue  # another runner took it
                outcome = self._run_held(self.registry[request.job_id], request.requested_at, JobTrigger.REQUEST,
                                         request.id)
                job_service.finish_job_request(self.db.uow(), request.id,
                                               succeeded=outcome.status == JobStatus.SUCCEEDED.value,
                                               message=f"run {outcome.run_id}: {outcome.status}: {outcome.message}",
                                               now=self.clock())
                outcomes.append(outcome)
            finally:
                handle.release()
        return outcomes

    # --- the scheduler ----------------------------------------------------------------------------

    def _fire(self, job_id: str, *, fire_time: dt.datetime | None = None) -> None:
        # fire_time comes from FireTimeExecutor; None only on another executor: then the clock
        fire_time = fire_time or dt.datetime.now(dt.UTC)
        try:
            self.run_fire(job_id, fire_time)
        except Exception:
            log.exception("job %s at %s could not be run or recorded", job_id, fire_time.isoformat())

    def _poll(self, *, fire_time: dt.datetime | None = None) -> None:
        try:
            self.run_requests()
        except Exception:
            log.exception("job requests could not be read or run")

    def build_scheduler(self) -> BackgroundScheduler:
        """A scheduler with every job of the registry and the request poller (not started)."""
        scheduler = BackgroundScheduler(
            timezone=plant_tz(self.settings),
            executors={"default": FireTimeExecutor(max_workers=len(self.registry) + 1)},
            job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": self.misfire_grace_s})
        for spec in self.registry.values():
            scheduler.add_job(self._fire, spec.trigger(self.settings), args=[spec.id], id=spec.id, name=spec.id,
                              replace_existing=True)
        scheduler.add_job(self._poll, IntervalTrigger(seconds=self.request_poll_s), id=REQUEST_POLLER_ID,
                          name="job requests", replace_existing=True)
        return scheduler

    def start(self) -> BackgroundScheduler:
        self.stopping.clear()
        self._scheduler = self.build_scheduler()
        self._scheduler.start()
        log.info("jobs runner %s started: %s", self.runner_id, ", ".join(self.registry))
        return self._scheduler

    def stop(self, *, wait: bool = True) -> None:
        """Stop firing; with ``wait`` let running jobs finish (the executor stops between plan runs)."""
        self.stopping.set()
        scheduler, self._scheduler = self._scheduler, None
        if scheduler is not None and scheduler.running:
            scheduler.shutdown(wait=wait)
        log.info("jobs runner %s stopped", self.runner_id)


def next_fire_times(settings: Settings, registry: Mapping[str, JobSpec], now: dt.datetime) -> dict[str, dt.datetime | None]:
    """When each job fires next after ``now`` (for `lpms jobs list`)."""
    out: dict[str, dt.datetime | None] = {}
    for job_id, spec in registry.items():
        trigger = spec.trigger(settings)
        nxt = trigger.get_next_fire_time(None, now.astimezone(plant_tz(settings)))
        out[job_id] = nxt.astimezone(dt.UTC) if nxt is not None else None
    return out
