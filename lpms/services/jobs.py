"""Scheduled jobs as data: job requests (the web's "run now"), job runs (one row per fire and
scheduler), and the stored daily progress reports. The jobs process (``jobs/``) calls these; so do
the CLI (``lpms jobs ...``) and the web. Documented in docs/jobs.md.

Every function takes a unit of work and owns its transaction; none reads the clock.
"""
from __future__ import annotations

import datetime as dt
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError

from lpms.db import models as m
from lpms.db.models_jobs import DailyReport, JobRequest, JobRun
from lpms.db.session import SqlAlchemyUnitOfWork, translated_errors
from lpms.domain.enums import JobRequestStatus, JobStatus, JobTrigger, PlanRunStatus
from lpms.domain.errors import InvalidInput, NotFound, Unavailable
from lpms.domain.plant_time import plant_date

JOB_IDS = ("execute_plan_runs", "check_fluctuations", "rolling_replan", "kit_snapshot", "daily_report",
           "extend_horizon")
MESSAGE_MAX = 4000  # characters of a run's message kept (the rest is in the jobs process's log)
LIMIT_MAX = 10_000


@dataclass(frozen=True)
class JobRunRecord:
    id: int
    job_id: str
    fire_time: dt.datetime
    trigger: JobTrigger
    request_id: int | None
    runner: str
    status: JobStatus
    started_at: dt.datetime
    finished_at: dt.datetime | None
    message: str


@dataclass(frozen=True)
class JobRequestRecord:
    id: int
    job_id: str
    status: JobRequestStatus
    requested_by: str
    requested_at: dt.datetime
    claimed_by: str
    claimed_at: dt.datetime | None
    finished_at: dt.datetime | None
    message: str


@dataclass(frozen=True)
class StoredReport:
    id: int
    plant_date: dt.date
    as_of: dt.datetime
    created_by: str
    html_path: str
    html_bytes: int
    data: dict[str, Any]


def _run(row: JobRun) -> JobRunRecord:
    return JobRunRecord(row.id, row.job_id, row.fire_time, row.trigger, row.request_id, row.runner, row.status,
                        row.started_at, row.finished_at, row.message)


def _request(row: JobRequest) -> JobRequestRecord:
    return JobRequestRecord(row.id, row.job_id, row.status, row.requested_by, row.requested_at, row.claimed_by,
                            row.claimed_at, row.finished_at, row.message)


def _report(row: DailyReport) -> StoredReport:
    return StoredReport(row.id, row.plant_date, row.as_of, row.created_by, row.html_path, row.html_bytes,
                        dict(row.data))


def _limit(limit: int) -> int:
    if not isinstance(limit, int) or isinstance(limit, bool) or not 1 <= limit <= LIMIT_MAX:
        raise InvalidInput(f"limit {limit!r}: must be a whole number from 1 to {LIMIT_MAX}")
    return limit


def _message(text: str) -> str:
    return text if len(text) <= MESSAGE_MAX else text[:MESSAGE_MAX - 1] + "\u2026"


def check_job_id(job_id: str, known: tuple[str, ...] = JOB_IDS) -> str:
    """The job id, or InvalidInput naming the known ones."""
    if job_id not in known:
        raise InvalidInput(f"unknown job {job_id!r} (jobs: {', '.join(known)})")
    return job_id


# --- job requests -------------------------------------------------------------------------------


def request_job(uow: SqlAlchemyUnitOfWork, job_id: str, *, actor: str, now: dt.datetime,
                known: tuple[str, ...] = JOB_IDS) -> int:
    """Queue a request to run ``job_id`` once, now; the jobs process picks it up within seconds.
    Returns the request's id. Raises InvalidInput for an unknown job."""
    check_job_id(job_id, known)
    with translated_errors(), uow:
        row = JobRequest(job_id=job_id, status=JobRequestStatus.PENDING, requested_by=actor[:64], requested_at=now,
                         claimed_by="", message="")
        uow.session.add(row)
        uow.session.flush()
        uow.audit.add(actor=actor, action="request", entity="job", entity_key=job_id, at=now,
                      detail={"request": row.id})
        uow.commit()
        return row.id


def list_job_requests(uow: SqlAlchemyUnitOfWork, *, status: JobRequestStatus | None = None,
                      limit: int = 100) -> list[JobRequestRecord]:
    """Requests, newest first (``status``: only those)."""
    stmt = select(JobRequest).order_by(JobRequest.id.desc()).limit(_limit(limit))
    if status is not None:
        stmt = stmt.where(JobRequest.status == status)
    with translated_errors(), uow:
        return [_request(r) for r in uow.session.scalars(stmt)]


def pending_job_requests(uow: SqlAlchemyUnitOfWork, *, limit: int = 20) -> list[JobRequestRecord]:
    """Pending requests, oldest first (the order the jobs process runs them in)."""
    stmt = (select(JobRequest).where(JobRequest.status == JobRequestStatus.PENDING).order_by(JobRequest.id)
            .limit(_limit(limit)))
    with translated_errors(), uow:
        return [_request(r) for r in uow.session.scalars(stmt)]


def claim_job_request(uow: SqlAlchemyUnitOfWork, request_id: int, *, runner: str, now: dt.datetime) -> bool:
    """Take a pending request for ``runner`` (pending -> running) in one conditional update: of
    several runners trying at once exactly one gets True."""
    stmt = (update(JobRequest).where(JobRequest.id == request_id, JobRequest.status == JobRequestStatus.PENDING)
            .values(status=JobRequestStatus.RUNNING, claimed_by=runner[:128], claimed_at=now))
    with translated_errors(), uow:
        taken = bool(uow.session.execute(stmt).rowcount == 1)  # type: ignore[attr-defined]  # a CursorResult
        uow.commit()
        return taken


def finish_job_request(uow: SqlAlchemyUnitOfWork, request_id: int, *, succeeded: bool, message: str,
                       now: dt.datetime) -> None:
    status = JobRequestStatus.SUCCEEDED if succeeded else JobRequestStatus.FAILED
    with translated_errors(), uow:
        uow.session.execute(update(JobRequest).where(JobRequest.id == request_id)
                            .values(status=status, finished_at=now, message=_message(message)))
        uow.commit()


# --- job runs -------------------------------------------------------------------------------------


def start_job_run(uow: SqlAlchemyUnitOfWork, job_id: str, *, fire_time: dt.datetime, trigger: JobTrigger,
                  runner: str, now: dt.datetime, request_id: int | None = None) -> int | None:
    """Record that ``runner`` runs this fire of ``job_id``; the run's id, or None when the fire
    already has a run (recorded by another scheduler: a fire runs once)."""
    with translated_errors(), uow:
        row = JobRun(job_id=job_id, fire_time=fire_time, trigger=trigger, request_id=request_id,
                     runner=runner[:128], status=JobStatus.RUNNING, started_at=now, message="")
        uow.session.add(row)
        try:
            uow.session.flush()
        except IntegrityError:  # the unique index on (job_id, fire_time) of runs not skipped
            return None
        uow.commit()
        return row.id


def finish_job_run(uow: SqlAlchemyUnitOfWork, run_id: int, *, status: JobStatus, message: str,
                   now: dt.datetime) -> None:
    with translated_errors(), uow:
        uow.session.execute(update(JobRun).where(JobRun.id == run_id)
                            .values(status=status, finished_at=now, message=_message(message)))
        uow.commit()


def record_skipped_run(uow: SqlAlchemyUnitOfWork, job_id: str, *, fire_time: dt.datetime, trigger: JobTrigger,
                       runner: str, message: str, now: dt.datetime, request_id: int | None = None) -> int:
    """Record that ``runner`` did not run this fire (another runner holds the job, or ran it)."""
    with translated_errors(), uow:
        row = JobRun(job_id=job_id, fire_time=fire_time, trigger=trigger, request_id=request_id,
                     runner=runner[:128], status=JobStatus.SKIPPED, started_at=now, finished_at=now,
                     message=_message(message))
        uow.session.add(row)
        uow.session.flush()
        uow.commit()
        return row.id


def fire_run(uow: SqlAlchemyUnitOfWork, job_id: str, fire_time: dt.datetime) -> JobRunRecord | None:
    """The run (not skipped) of this fire, if there is one."""
    stmt = select(JobRun).where(JobRun.job_id == job_id, JobRun.fire_time == fire_time,
                                JobRun.status != JobStatus.SKIPPED)
    with translated_errors(), uow:
        row = uow.session.scalar(stmt)
        return _run(row) if row is not None else None


def list_job_runs(uow: SqlAlchemyUnitOfWork, *, job_id: str | None = None, limit: int = 100,
                  include_skipped: bool = True) -> list[JobRunRecord]:
    """Runs, newest first (``job_id``: of that job only)."""
    stmt = select(JobRun).order_by(JobRun.id.desc()).limit(_limit(limit))
    if job_id is not None:
        stmt = stmt.where(JobRun.job_id == job_id)
    if not include_skipped:
        stmt = stmt.where(JobRun.status != JobStatus.SKIPPED)
    with translated_errors(), uow:
        return [_run(r) for r in uow.session.scalars(stmt)]


def last_job_runs(uow: SqlAlchemyUnitOfWork) -> dict[str, JobRunRecord]:
    """Each job's newest run that was not skipped."""
    newest = (select(func.max(JobRun.id)).where(JobRun.status != JobStatus.SKIPPED).group_by(JobRun.job_id)
              .scalar_subquery())
    with translated_errors(), uow:
        return {r.job_id: _run(r) for r in uow.session.scalars(select(JobRun).where(JobRun.id.in_(newest)))}


def job_run_dict(r: JobRunRecord) -> dict[str, Any]:
    return {"id": r.id, "job": r.job_id, "fire_time": r.fire_time.isoformat(), "trigger": r.trigger.value,
            "request": r.request_id, "runner": r.runner, "status": r.status.value,
            "started_at": r.started_at.isoformat(),
            "finished_at": r.finished_at.isoformat() if r.finished_at else None, "message": r.message}


def job_request_dict(r: JobRequestRecord) -> dict[str, Any]:
    return {"id": r.id, "job": r.job_id, "status": r.status.value, "requested_by": r.requested_by,
            "requested_at": r.requested_at.isoformat(), "claimed_by": r.claimed_by,
            "claimed_at": r.claimed_at.isoformat() if r.claimed_at else None,
            "finished_at": r.finished_at.isoformat() if r.finished_at else None, "message": r.message}


# --- what the plan-run executor picks up ---------------------------------------------------------


def queued_plan_runs(uow: SqlAlchemyUnitOfWork, *, limit: int = 1) -> list[int]:
    """Ids of queued plan runs, oldest first."""
    stmt = (select(m.PlanRun.id).where(m.PlanRun.status == PlanRunStatus.QUEUED).order_by(m.PlanRun.id)
            .limit(_limit(limit)))
    with translated_errors(), uow:
        return list(uow.session.scalars(stmt))


# --- stored daily reports ---------------------------------------------------------------------------


def store_daily_report(uow: SqlAlchemyUnitOfWork, data: dict[str, Any], *, directory: Path, timezone: str,
                       actor: str, now: dt.datetime) -> StoredReport:
    """Store the day's management report: a row with the measures (``data``, the JSON of
    ``lpms.services.progress.daily_report_dict``) and a self-contained HTML file
    ``directory/progress-<plant date>-<id>.html``. The file is written before the commit; when it
    cannot be written nothing is stored (Unavailable)."""
    from lpms.formats.daily_report import render_daily_report

    day = plant_date(now, timezone)
    with translated_errors(), uow:
        row = DailyReport(plant_date=day, as_of=now, created_by=actor[:64], html_path="", html_bytes=0, data=data)
        uow.session.add(row)
        uow.session.flush()
        html = render_daily_report(data, title=f"Progress report {day.isoformat()}", plant_date=day,
                                   timezone=timezone, as_of=now, report_id=row.id)
        path = (directory / f"progress-{day.isoformat()}-{row.id}.html").resolve()
        encoded = html.encode("utf-8")
        try:
            directory.mkdir(parents=True, exist_ok=True)
            tmp = path.with_suffix(".html.tmp")
            tmp.write_bytes(encoded)
            os.replace(tmp, path)
        except OSError as exc:
            raise Unavailable(f"cannot write the report file {path}: {exc.strerror or exc}") from None
        row.html_path = str(path)
        row.html_bytes = len(encoded)
        uow.audit.add(actor=actor, action="store", entity="daily_report", entity_key=str(row.id), at=now,
                      detail={"plant_date": day.isoformat(), "path": str(path)})
        uow.commit()
        return _report(row)


def list_reports(uow: SqlAlchemyUnitOfWork, *, limit: int = 100) -> list[StoredReport]:
    """Stored daily reports, newest first."""
    stmt = select(DailyReport).order_by(DailyReport.id.desc()).limit(_limit(limit))
    with translated_errors(), uow:
        return [_report(r) for r in uow.session.scalars(stmt)]


def get_report(uow: SqlAlchemyUnitOfWork, report_id: int) -> StoredReport:
    """One stored report. Raises NotFound."""
    with translated_errors(), uow:
        row = uow.session.get(DailyReport, report_id)
        if row is None:
            raise NotFound(f"report {report_id} does not exist")
        return _report(row)


def report_dict(r: StoredReport, *, with_data: bool = True) -> dict[str, Any]:
    out: dict[str, Any] = {"id": r.id, "plant_date": r.plant_date.isoformat(), "as_of": r.as_of.isoformat(),
                           "created_by": r.created_by, "html_path": r.html_path, "html_bytes": r.html_bytes}
    if with_data:
        out["data"] = r.data
    return out
