"""The plant calendar: the rolling horizon (``extend_calendar``, also the ``extend_horizon`` job's
work) and the calendar with its current period (``calendar_view``). Rules in
``lpms.domain.plant_time``; documented in docs/process.md ("Time and calendar")."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from lpms.db import locks
from lpms.db.repositories import CalendarRepository
from lpms.db.session import SqlAlchemyUnitOfWork, translated_errors
from lpms.domain.errors import NotFound
from lpms.domain.plant_time import CalendarPeriod, current_period, plan_extension, plant_date

CALENDAR_LOCK_TIMEOUT_S = 10.0
BUSY_MESSAGE = "another import or calendar extension is writing the calendar; try again"


@dataclass(frozen=True)
class CalendarExtension:
    """What ``extend_calendar`` did: the periods it appended (none when the horizon was already there)."""

    today: dt.date
    timezone: str
    horizon_periods: int
    added: tuple[CalendarPeriod, ...]
    capacity_rows: int
    current_seq: int
    last: CalendarPeriod
    pattern_periods: int

    def summary(self) -> str:
        where = (f"plant date {self.today} ({self.timezone}) is in period {self.current_seq}; "
                 f"the calendar runs to period {self.last.seq} ({self.last.end})")
        if not self.added:
            return f"calendar already covers {self.horizon_periods} periods ahead: {where}"
        first = self.added[0]
        return (f"calendar extended by {len(self.added)} period(s) ({first.seq}-{self.last.seq}, "
                f"{first.start} to {self.last.end}) and {self.capacity_rows} capacity row(s), repeating a "
                f"{self.pattern_periods}-period capacity pattern: {where}")

    def to_dict(self) -> dict[str, Any]:
        return {"plant_date": self.today.isoformat(), "timezone": self.timezone,
                "horizon_periods": self.horizon_periods, "current_period": self.current_seq,
                "last_period": self.last.seq, "pattern_periods": self.pattern_periods,
                "capacity_rows": self.capacity_rows, "added": [_period_dict(p) for p in self.added]}


def _period_dict(p: CalendarPeriod) -> dict[str, Any]:
    return {"period": p.seq, "bucket": p.bucket.value, "start_date": p.start.isoformat(),
            "end_date": p.end.isoformat()}


def extend_calendar(uow: SqlAlchemyUnitOfWork, *, horizon_periods: int, timezone: str, actor: str,
                    now: dt.datetime) -> CalendarExtension:
    """Append periods, with capacity rows per work center repeating the calendar's capacity
    pattern, until at least ``horizon_periods`` periods lie after the period holding ``now`` in
    plant time (``timezone``). One transaction, serialised with imports; audited when anything
    is appended; running it again adds nothing.

    Raises InvalidInput for a bad time zone or a naive ``now``, NotFound when there is no
    calendar to extend, Busy when an import holds the calendar for longer than a few seconds.
    """
    today = plant_date(now, timezone)
    with translated_errors(), uow:
        s = uow.session
        locks.acquire(s, locks.IMPORT, timeout=CALENDAR_LOCK_TIMEOUT_S, busy_message=BUSY_MESSAGE)
        repo = CalendarRepository(s)
        periods = repo.periods()
        plan = plan_extension(periods, repo.capacities(), today, horizon_periods)
        if plan.periods:
            repo.append(plan.periods, plan.capacities)
            uow.audit.add(actor=actor, action="extend", entity="calendar",
                          entity_key=f"{plan.periods[0].seq}-{plan.last_seq}", at=now,
                          detail={"timezone": timezone, "plant_date": today.isoformat(),
                                  "horizon_periods": horizon_periods, "periods": len(plan.periods),
                                  "capacity_rows": len(plan.capacities), "pattern_periods": plan.pattern_periods,
                                  "first": _period_dict(plan.periods[0]), "last": _period_dict(plan.periods[-1])})
            uow.commit()
    last = plan.periods[-1] if plan.periods else periods[-1]
    return CalendarExtension(today, timezone, horizon_periods, plan.periods, len(plan.capacities), plan.current_seq,
                             last, plan.pattern_periods)


@dataclass(frozen=True)
class PeriodView:
    period: CalendarPeriod
    regular_min: float  # summed over work centers
    overtime_min: float
    current: bool


@dataclass(frozen=True)
class CalendarView:
    """The calendar at ``now``: every period with its capacity totals, the current one marked."""

    now: dt.datetime
    timezone: str
    today: dt.date
    periods: tuple[PeriodView, ...]
    current_seq: int | None
    note: str  # why there is no current period ("" when there is one)

    def to_dict(self) -> dict[str, Any]:
        return {"as_of": self.now.isoformat(), "timezone": self.timezone, "plant_date": self.today.isoformat(),
                "current_period": self.current_seq, "note": self.note,
                "periods": [{**_period_dict(v.period), "regular_min": v.regular_min, "overtime_min": v.overtime_min,
                             "current": v.current} for v in self.periods]}


def calendar_view(uow: SqlAlchemyUnitOfWork, *, timezone: str, now: dt.datetime) -> CalendarView:
    """The calendar and its current period at ``now`` in plant time. ``now`` outside the
    calendar is not an error here: ``current_seq`` is None and ``note`` says why."""
    today = plant_date(now, timezone)
    with translated_errors(), uow:
        repo = CalendarRepository(uow.session)
        periods = repo.periods()
        capacities = repo.capacities()
    try:
        current: int | None = current_period(periods, today).seq
        note = ""
    except NotFound as exc:
        current, note = None, str(exc)
    regular: dict[int, float] = {}
    overtime: dict[int, float] = {}
    for (_wc, seq), (reg, ot) in capacities.items():
        regular[seq] = regular.get(seq, 0.0) + reg
        overtime[seq] = overtime.get(seq, 0.0) + ot
    views = tuple(PeriodView(p, regular.get(p.seq, 0.0), overtime.get(p.seq, 0.0), p.seq == current)
                  for p in periods)
    return CalendarView(now, timezone, today, views, current, note)
