"""The six jobs: what each does (a thin call into the services through the composition root) and
when it fires. Job ids are stable (``lpms.services.jobs.JOB_IDS``); docs/jobs.md lists them.

A job function takes a ``JobContext`` (database, settings, ``now`` from the clock, actor) and
returns a one-line message for its ``job_runs`` row; an exception marks the run failed.

Fire times are aligned to the wall clock (intervals counted from a fixed epoch, times of day in
plant time), so every scheduler computes the same fire times and the unique (job id, fire time)
lets each fire run once.
"""
from __future__ import annotations

import datetime as dt
import re
import threading
import zoneinfo
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from apscheduler.triggers.base import BaseTrigger  # type: ignore[import-untyped]  # APScheduler 3 ships no type hints
from apscheduler.triggers.cron import CronTrigger  # type: ignore[import-untyped]  # APScheduler 3 ships no type hints
from apscheduler.triggers.interval import IntervalTrigger  # type: ignore[import-untyped]  # APScheduler 3 ships no type hints

from lpms.bootstrap import Database, solver_options
from lpms.domain.enums import JobTrigger
from lpms.settings import Settings, SettingsError

# intervals are counted from here, so that every scheduler has the same fire times
EPOCH = dt.datetime(2000, 1, 1, tzinfo=dt.UTC)
KIT_SNAPSHOT_AT = (0, 5)  # plant time: just after a period starts (at plant-local midnight)
EXTEND_HORIZON_AT = (0, 15)


@dataclass(frozen=True)
class JobContext:
    db: Database
    settings: Settings
    now: dt.datetime  # when the run started (bootstrap.clock: as_of, or the wall clock)
    actor: str
    clock: Callable[[], dt.datetime]  # for a job that runs long and needs a later now
    stopping: threading.Event = field(default_factory=threading.Event)
    trigger: JobTrigger = JobTrigger.SCHEDULE  # what made this run: its schedule, a request, a person


JobFunc = Callable[[JobContext], str]


@dataclass(frozen=True)
class JobSpec:
    id: str
    func: JobFunc
    trigger: Callable[[Settings], BaseTrigger]
    schedule: Callable[[Settings], str]  # the schedule in words, for `lpms jobs list`
    description: str
    # a scheduled fire that finds nothing to do is not run and not recorded (the executor's polls)
    has_work: Callable[[JobContext], bool] | None = None


def time_of_day(settings: Settings, name: str) -> tuple[int, int]:
    """The setting ``name`` (HH:MM) as (hour, minute); SettingsError when it is not a time of day."""
    raw = str(getattr(settings, name))
    match = re.fullmatch(r"(\d{1,2}):(\d{2})", raw.strip())
    if not match or int(match[1]) > 23 or int(match[2]) > 59:
        raise SettingsError(f"{name}={raw!r}: not a time of day HH:MM (plant time), e.g. 02:00")
    return int(match[1]), int(match[2])


def positive(settings: Settings, name: str) -> int:
    value = int(getattr(settings, name))
    if value <= 0:
        raise SettingsError(f"{name}={value!r}: must be at least 1")
    return value


def plant_tz(settings: Settings) -> zoneinfo.ZoneInfo:
    return zoneinfo.ZoneInfo(settings.timezone)


def _daily(hour_minute: Callable[[Settings], tuple[int, int]]) -> Callable[[Settings], BaseTrigger]:
    def trigger(settings: Settings) -> BaseTrigger:
        hour, minute = hour_minute(settings)
        return CronTrigger(hour=hour, minute=minute, timezone=plant_tz(settings))
    return trigger


def _every(seconds: Callable[[Settings], int]) -> Callable[[Settings], BaseTrigger]:
    def trigger(settings: Settings) -> BaseTrigger:
        return IntervalTrigger(seconds=seconds(settings), start_date=EPOCH, timezone=dt.UTC)
    return trigger


# --- the jobs ---------------------------------------------------------------------------------


def has_queued_plan_runs(ctx: JobContext) -> bool:
    from lpms.services.jobs import queued_plan_runs

    return bool(queued_plan_runs(ctx.db.uow(), limit=1))


def execute_plan_runs(ctx: JobContext) -> str:
    """Execute the queued plan runs one at a time, oldest first, until none is left (or the process
    stops). Each run records its own progress and outcome (running -> succeeded | infeasible |
    failed); this job fails when a run failed with an error."""
    from lpms.domain.errors import IllegalTransition
    from lpms.services.jobs import queued_plan_runs
    from lpms.services.plan_runs import execute_plan_run

    done: list[str] = []
    errors = 0
    tried: set[int] = set()
    while not ctx.stopping.is_set():
        queued = [r for r in queued_plan_runs(ctx.db.uow(), limit=len(tried) + 1) if r not in tried]
        if not queued:
            break
        run_id = queued[0]
        tried.add(run_id)
        try:
            result = execute_plan_run(ctx.db.uow(), run_id, options=solver_options(ctx.settings), now=ctx.clock())
        except IllegalTransition:  # started by someone else meanwhile (e.g. `lpms plan run` itself)
            done.append(f"run {run_id}: taken by another process")
            continue
        except Exception as exc:  # noqa: BLE001 - recorded on the run by execute_plan_run; the next run goes on
            errors += 1
            done.append(f"run {run_id}: failed: {exc}")
            continue
        done.append(f"run {run_id}: {result.status.value}")
    if errors:
        raise RuntimeError(f"{errors} plan run(s) failed: " + "; ".join(done))
    return "; ".join(done) if done else "no queued plan runs"


def _replan(ctx: JobContext, reason: str) -> str:
    from lpms import bootstrap
    from lpms.services.replan import replan

    result = replan(ctx.db.uow(), reason=reason, policy=bootstrap.replan_policy(ctx.settings),
                    options=solver_options(ctx.settings), actor=ctx.actor, now=ctx.now)
    state = "approved" if result.approved else f"{result.status.value}, waiting for approval"
    text = (f"re-plan run {result.run_id}: {state}, {_fmt(result.units_moved)} unit(s) moved, "
            f"{result.released} work order(s) released")
    return text + (f" ({result.message})" if result.message else "")


def _fmt(value: Any) -> str:
    return f"{value:.6g}" if isinstance(value, float) else str(value)


def check_fluctuations(ctx: JobContext) -> str:
    """Detect fluctuations (findings stored as events); re-plan when one of them triggers it."""
    from lpms import bootstrap
    from lpms.services.fluctuations import detect_fluctuations, replan_reason, unhandled_triggers

    detection = detect_fluctuations(ctx.db.uow(), thresholds=bootstrap.fluctuation_thresholds(ctx.settings),
                                    actor=ctx.actor, now=ctx.now, timezone=ctx.settings.timezone)
    findings = list(detection.findings)
    kinds = sorted({f.kind.value for f in findings})
    text = f"{len(findings)} finding(s)" + (f" ({', '.join(kinds)})" if kinds else "")
    if not detection.triggers_replan:
        return text + "; no re-plan needed"
    new, handled_by = unhandled_triggers(ctx.db.uow(), detection)
    if not new:
        return text + (f"; no re-plan: the same findings were re-planned after check {handled_by} this period "
                       f"(the nightly re-plan plans from the real state)")
    return text + "; " + _replan(ctx, replan_reason(detection, new))


def rolling_replan(ctx: JobContext) -> str:
    """The nightly re-plan from the plant's real state (or one asked for now)."""
    why = {JobTrigger.SCHEDULE: "rolling re-plan (nightly)",
           JobTrigger.REQUEST: "re-plan asked for on the web (run now)",
           JobTrigger.MANUAL: "re-plan run by hand (lpms jobs run-once)"}[ctx.trigger]
    return _replan(ctx, why)


def kit_snapshot(ctx: JobContext) -> str:
    """Record the kit rate of the work orders due in the current period (once per period)."""
    from lpms.services.progress import record_kit_snapshot

    snap = record_kit_snapshot(ctx.db.uow(), actor=ctx.actor, now=ctx.now, timezone=ctx.settings.timezone)
    rate = "none due" if snap.rate is None else f"{snap.rate:.4f} ({snap.kitted} of {snap.counted} kitted)"
    what = "recorded" if snap.created else "already recorded"
    return f"kit rate of period {snap.period} {what}: {rate}"


def daily_report(ctx: JobContext) -> str:
    """Build the management report, store it as a row and write its HTML file under instance/reports/."""
    from lpms.services.jobs import store_daily_report
    from lpms.services.progress import build_daily_report, daily_report_dict

    report = build_daily_report(ctx.db.uow(), now=ctx.now, timezone=ctx.settings.timezone)
    stored = store_daily_report(ctx.db.uow(), daily_report_dict(report),
                                directory=ctx.settings.instance_dir / "reports", timezone=ctx.settings.timezone,
                                actor=ctx.actor, now=ctx.now)
    return f"report {stored.id} for {stored.plant_date}: {stored.html_path} ({stored.html_bytes} bytes)"


def extend_horizon(ctx: JobContext) -> str:
    """Keep ``horizon_periods`` periods ahead of the current one (the rolling horizon)."""
    from lpms.services.calendar import extend_calendar

    return extend_calendar(ctx.db.uow(), horizon_periods=ctx.settings.horizon_periods,
                           timezone=ctx.settings.timezone, actor=ctx.actor, now=ctx.now).summary()


def _at(name: str) -> Callable[[Settings], str]:
    return lambda s: f"daily at {getattr(s, name)} plant time ({s.timezone}; setting {name})"


def default_registry() -> dict[str, JobSpec]:
    """The six jobs, by id, in the order of ``lpms.services.jobs.JOB_IDS``."""
    specs = [
        JobSpec("execute_plan_runs", execute_plan_runs,
                _every(lambda s: positive(s, "plan_run_poll_seconds")),
                lambda s: f"every {s.plan_run_poll_seconds} s when a plan run is queued (plan_run_poll_seconds)",
                "executes queued plan runs one at a time", has_work=has_queued_plan_runs),
        JobSpec("check_fluctuations", check_fluctuations,
                _every(lambda s: 60 * positive(s, "fluctuation_check_minutes")),
                lambda s: f"every {s.fluctuation_check_minutes} min (fluctuation_check_minutes)",
                "detects fluctuations; re-plans when one triggers it"),
        JobSpec("rolling_replan", rolling_replan, _daily(lambda s: time_of_day(s, "rolling_replan_time")),
                _at("rolling_replan_time"), "re-plans from the plant's real state"),
        JobSpec("kit_snapshot", kit_snapshot, _daily(lambda s: KIT_SNAPSHOT_AT),
                lambda s: f"daily at 00:05 plant time ({s.timezone}): records once per period, at its start",
                "records the period's kit rate"),
        JobSpec("daily_report", daily_report, _daily(lambda s: time_of_day(s, "daily_report_time")),
                _at("daily_report_time"), "stores the management report and writes it as HTML"),
        JobSpec("extend_horizon", extend_horizon, _daily(lambda s: EXTEND_HORIZON_AT),
                lambda s: f"daily at 00:15 plant time ({s.timezone})",
                "extends the calendar to horizon_periods ahead"),
    ]
    return {spec.id: spec for spec in specs}
