"""The demo plant: load the shipped CSV sets through the importer around today, summarise the database.

The shipped sets (``lpms/data/demo``) carry fixed dates. ``load_demo`` moves every date in them
(calendar, forecasts, orders, scheduled receipts) by the same whole number of weeks, so that the
plant's today falls in period ``DEMO_TODAY_PERIOD``, then extends the calendar to the planning
horizon: the demo shows a plant in the middle of its horizon on the day it is loaded. The
periods keep their numbers and relative dates (the paper's 12 weeks stay the paper's case).
"""
from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from lpms.db.repositories import CalendarRepository
from lpms.db.session import SqlAlchemyUnitOfWork, translated_errors
from lpms.domain.errors import InvalidInput
from lpms.domain.plant_time import plant_date
from lpms.services.calendar import CalendarExtension, extend_calendar
from lpms.services.csv_io import ImportResult, import_texts
from lpms.services.unit_of_work import UnitOfWork

DEMO_DIR = Path(__file__).resolve().parents[1] / "data" / "demo"
DEMO_SETS = ("paper", "plant")
DEMO_TODAY_PERIOD = 4  # the period today falls in once the demo is loaded
# the date columns of the CSV files (csv_io.SPECS); every one moves with the calendar
DATE_COLUMNS: dict[str, tuple[str, ...]] = {
    "calendar": ("start_date", "end_date"),
    "forecasts": ("start_date", "end_date"),
    "orders": ("due_date",),
    "receipts": ("due_date",),
}


@dataclass(frozen=True)
class DemoLoad:
    name: str
    result: ImportResult


@dataclass(frozen=True)
class DemoCalendar:
    """Where the demo's dates were placed: moved by ``shift_weeks`` weeks from the shipped files."""

    today: dt.date  # the plant date the demo was loaded at
    shift_weeks: int
    first_start: dt.date  # period 1's start after the shift
    kept: bool  # the database already held the demo calendar: its dates were kept, not moved again


@dataclass(frozen=True)
class DemoSetup:
    loads: list[DemoLoad]
    calendar: DemoCalendar
    extension: CalendarExtension


def shipped_period_start(seq: int) -> dt.date:
    """The start date of period ``seq`` in the shipped demo calendar."""
    for row in csv.DictReader(io.StringIO((DEMO_DIR / DEMO_SETS[0] / "calendar.csv").read_text(encoding="utf-8"))):
        if int(row["period"]) == seq:
            return dt.date.fromisoformat(row["start_date"])
    raise InvalidInput(f"the shipped demo calendar has no period {seq}")  # pragma: no cover - shipped data


def demo_shift_days(today: dt.date) -> int:
    """Whole weeks (in days) that move the shipped calendar so that ``today`` falls in period
    DEMO_TODAY_PERIOD (weekly periods keep their weekday)."""
    return (today - shipped_period_start(DEMO_TODAY_PERIOD)).days // 7 * 7


def shift_dates(text: str, columns: Sequence[str], days: int) -> str:
    """A CSV text with the ISO dates in ``columns`` moved by ``days`` (other cells as they are)."""
    rows = list(csv.reader(io.StringIO(text)))
    if not rows or not days:
        return text
    at = [j for j, name in enumerate(rows[0]) if name.strip() in columns]
    for row in rows[1:]:
        for j in at:
            if j < len(row) and row[j].strip():
                row[j] = (dt.date.fromisoformat(row[j].strip()) + dt.timedelta(days=days)).isoformat()
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerows(rows)
    return out.getvalue()


def demo_texts(name: str, days: int) -> dict[str, str]:
    """The shipped CSV texts of demo set ``name`` (file stem -> text), dates moved by ``days``."""
    return {path.stem: shift_dates(path.read_text(encoding="utf-8"), DATE_COLUMNS.get(path.stem, ()), days)
            for path in sorted((DEMO_DIR / name).glob("*.csv"))}


def _placement(uow: SqlAlchemyUnitOfWork, today: dt.date) -> DemoCalendar:
    """Around today; or, when the database already holds a calendar whose period 1 lies a whole
    number of weeks from the shipped one (the demo loaded earlier), where it already is, so that
    loading the demo again changes nothing and the rolling horizon carries it on."""
    shipped = shipped_period_start(1)
    with translated_errors(), uow:
        stored = next((p for p in CalendarRepository(uow.session).periods() if p.seq == 1), None)
    if stored is not None and (stored.start - shipped).days % 7 == 0:
        days, kept = (stored.start - shipped).days, True
    else:
        days, kept = demo_shift_days(today), False
    try:
        first = shipped + dt.timedelta(days=days)
    except OverflowError:
        raise InvalidInput(f"plant date {today}: the demo's dates cannot be placed around it") from None
    return DemoCalendar(today, days // 7, first, kept)


def load_demo(uow: SqlAlchemyUnitOfWork, *, actor: str, now: dt.datetime, timezone: str,
              horizon_periods: int) -> DemoSetup:
    """Import every demo set (the paper's case, then the LCD plant), each all or nothing, with
    its dates moved so that the plant date of ``now`` (in ``timezone``) falls in period
    DEMO_TODAY_PERIOD, then extend the calendar to ``horizon_periods`` periods ahead."""
    today = plant_date(now, timezone)
    placed = _placement(uow, today)
    days = placed.shift_weeks * 7
    loads = []
    for name in DEMO_SETS:
        try:
            texts = demo_texts(name, days)
        except (OverflowError, ValueError):
            raise InvalidInput(f"plant date {today}: the demo's dates cannot be placed around it") from None
        loads.append(DemoLoad(name, import_texts(uow, texts, actor=actor, now=now,
                                                 filenames={stem: f"demo/{name}/{stem}.csv" for stem in texts})))
    extension = extend_calendar(uow, horizon_periods=horizon_periods, timezone=timezone, actor=actor, now=now)
    return DemoSetup(loads, placed, extension)


def database_counts(uow: UnitOfWork) -> dict[str, int]:
    """Rows per master-data and demand table."""
    with uow:
        return uow.master_data.counts()
