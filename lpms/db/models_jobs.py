"""Models of the jobs process (job runs, job requests, the runner lease, stored reports); imported by
lpms.db.models so that Base.metadata holds them. Documented in docs/jobs.md."""
from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import ForeignKey, Index, Integer, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from lpms.db.models import Base, enum_column, utcnow
from lpms.domain.enums import JobRequestStatus, JobStatus, JobTrigger

# At most one run per job and scheduled fire time that was not skipped: however many schedulers see
# a fire, it runs once; the schedulers that did not run it record a ``skipped`` row each. (A request
# is run once by its claim; a run by hand is a fire of its own.)
ONE_RUN_PER_FIRE = text("status <> 'skipped' AND \"trigger\" = 'schedule'")


class JobRequest(Base):
    """A request to run a job now (the web's "run now", ``lpms jobs request``): the jobs process
    claims it (pending -> running) and runs the job once."""

    __tablename__ = "job_requests"
    __table_args__ = (Index("ix_job_requests_status_id", "status", "id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    job_id: Mapped[str] = mapped_column(String(64))
    status: Mapped[JobRequestStatus] = mapped_column(enum_column(JobRequestStatus),
                                                     default=JobRequestStatus.PENDING)
    requested_by: Mapped[str] = mapped_column(String(64))
    requested_at: Mapped[dt.datetime] = mapped_column()
    claimed_by: Mapped[str] = mapped_column(String(128), default="")  # the runner that took it
    claimed_at: Mapped[dt.datetime | None] = mapped_column()
    finished_at: Mapped[dt.datetime | None] = mapped_column()
    message: Mapped[str] = mapped_column(Text, default="")


class JobRun(Base):
    """One fire of one job, as one scheduler saw it: ``running`` -> ``succeeded`` | ``failed``, or
    ``skipped`` (another runner held the job's lock, or had already run this fire)."""

    __tablename__ = "job_runs"
    __table_args__ = (
        Index("uq_job_runs_job_id_fire_time", "job_id", "fire_time", unique=True,
              sqlite_where=ONE_RUN_PER_FIRE, postgresql_where=ONE_RUN_PER_FIRE),
        Index("ix_job_runs_fire_time", "fire_time"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    job_id: Mapped[str] = mapped_column(String(64), index=True)
    fire_time: Mapped[dt.datetime] = mapped_column()  # when it was due (schedule), requested, or run by hand
    trigger: Mapped[JobTrigger] = mapped_column(enum_column(JobTrigger), default=JobTrigger.SCHEDULE)
    request_id: Mapped[int | None] = mapped_column(ForeignKey("job_requests.id", ondelete="SET NULL"))
    runner: Mapped[str] = mapped_column(String(128), default="")  # host:pid:token of the scheduler
    status: Mapped[JobStatus] = mapped_column(enum_column(JobStatus), default=JobStatus.RUNNING)
    started_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    finished_at: Mapped[dt.datetime | None] = mapped_column()
    message: Mapped[str] = mapped_column(Text, default="")


class JobLease(Base):
    """The lease that lets one runner at a time run a job on SQLite (PostgreSQL uses an advisory
    lock): held by ``holder`` until ``expires_at``; the holder renews it while the job runs."""

    __tablename__ = "job_leases"
    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    holder: Mapped[str] = mapped_column(String(160), default="")  # empty: free
    acquired_at: Mapped[dt.datetime | None] = mapped_column()
    expires_at: Mapped[dt.datetime] = mapped_column()


class DailyReport(Base):
    """The management progress report of one day (the ``daily_report`` job): the measures as JSON
    and the path of the self-contained HTML file written under ``instance/reports/``."""

    __tablename__ = "daily_reports"
    id: Mapped[int] = mapped_column(primary_key=True)
    plant_date: Mapped[dt.date] = mapped_column(index=True)
    as_of: Mapped[dt.datetime] = mapped_column()
    created_by: Mapped[str] = mapped_column(String(64))
    html_path: Mapped[str] = mapped_column(String(500), default="")
    html_bytes: Mapped[int] = mapped_column(Integer, default=0)
    data: Mapped[dict[str, Any]] = mapped_column(default=dict)
