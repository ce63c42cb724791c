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
import math
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from lpms.db.repositories import CalendarRepository
from lpms.db.session import SqlAlchemyUnitOfWork, translated_errors
from lpms.domain.errors import InvalidInput
from lpms.domain.plant_time import CalendarPeriod, current_period, period_bounds, plant_date
from lpms.planning import measures as ms
from lpms.services.calendar import CalendarExtension, extend_calendar
from lpms.services.csv_io import ImportResult, import_texts
from lpms.services.fluctuations import record_demand_baseline
from lpms.services.progress import MeasuresUnitOfWork, load_measures, record_kit_snapshot
from lpms.services.release import approve_plan_run, release_work_orders
from lpms.services.reports import report_completion, report_downtime
from lpms.services.stock import adjust_stock, receive_stock
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


# --- the shop floor of the demo: weeks before today, simulated -------------------------------


@dataclass(frozen=True)
class DemoFloor:
    """What ``simulate_demo_floor`` did (``skipped``: the database already had work orders)."""

    run_id: int
    current_period: int
    released: tuple[int, ...]
    work_orders: int
    reports: int
    downtime: int
    receipts: int
    held: tuple[str, float, str] | None  # (component, units put on hold, work order whose kit it breaks)
    skipped: bool = False


def _moment(period: CalendarPeriod, timezone: str, hours: float) -> dt.datetime:
    return period_bounds(period, timezone)[0] + dt.timedelta(hours=hours)


def simulate_demo_floor(uow: MeasuresUnitOfWork, run_id: int, *, fence_periods: int, actor: str, now: dt.datetime,
                        timezone: str) -> DemoFloor:
    """Run the demo plant's shop floor from period 1 to today with the services a plant uses.

    Approve ``run_id`` and record its demand baseline; for each period before today's: receive
    the purchases due by then, release the fence, record the kit rate, and report the work
    orders started in the period (most complete, every fourth 80 % only -- behind plan -- every
    fifth with 3 % scrap at its first operation; never more than the components on hand allow,
    so a short kit makes an order fall behind too; an order due after today has only its first
    operation done); a breakdown of 240 minutes in the last of
    them. Today: release, a 120-minute stop, and a quality hold on one component that leaves
    exactly one kit due this period incomplete (chosen with the pure kit-rate function). Reports
    are posted at 08:00-10:00 plant time on each period's second day. Does nothing when work
    orders exist (the demo loaded before)."""
    with uow:
        existing = len(uow.work_orders.list())
        calendar = sorted(uow.work_orders.periods(), key=lambda p: p.seq)
    today = current_period(calendar, plant_date(now, timezone))
    if existing:
        return DemoFloor(run_id, today.seq, (), existing, 0, 0, 0, None, skipped=True)
    past = [p for p in calendar if p.seq < today.seq]
    first_moment = _moment(past[0], timezone, 30) if past else now
    approve_plan_run(uow, run_id, actor=actor, now=min(first_moment, now))
    record_demand_baseline(uow, actor=actor, now=min(first_moment, now))
    released: list[int] = []
    reports = downtime = receipts = 0
    for period in past:
        at = _moment(period, timezone, 32)  # the period's second day, 08:00
        receipts += _receive_due(uow, period.seq, actor=actor, now=at, timezone=timezone)
        released += release_work_orders(uow, fence_periods=fence_periods, actor=actor, now=at,
                                        timezone=timezone).released
        record_kit_snapshot(uow, actor=actor, now=at, timezone=timezone)
        with uow:
            orders = [wo for wo in uow.work_orders.list() if wo.start_period == period.seq]
        for i, wo in enumerate(orders):
            share = 0.8 if i % 4 == 1 else 1.0
            scrap = math.floor(wo.quantity * 0.03) if i % 5 == 3 else 0.0
            good = math.floor(wo.quantity * share) if share < 1 else wo.quantity - scrap
            with uow:  # a kit short of components: run what the stock allows
                stock = uow.stock.on_hand(c.item for c in wo.components)
            if wo.components:
                kits = min(stock[c.item] / c.qty_per for c in wo.components)
                good = min(good, max(0.0, math.floor(kits + 1e-9) - scrap))
            if good <= 0:
                continue
            # an order due after today is still on its way: only its first operation is done
            steps = wo.operations if wo.due_period < today.seq else wo.operations[:1]
            for k, op in enumerate(steps):
                report_completion(uow, wo.number, op.seq, good, scrap if k == 0 else 0.0,
                                  client_key=f"demo-{wo.number}-{op.seq}", actor=actor, reported_by="demo",
                                  now=at + dt.timedelta(minutes=2 * i + k))
                reports += 1
        if period is past[-1] and orders:
            report_downtime(uow, orders[0].operations[0].work_center, 240, "conveyor breakdown",
                            client_key=f"demo-down-{period.seq}", actor=actor, now=at + dt.timedelta(hours=3),
                            timezone=timezone)
            downtime += 1
    receipts += _receive_due(uow, today.seq, actor=actor, now=now, timezone=timezone)
    released += release_work_orders(uow, fence_periods=fence_periods, actor=actor, now=now, timezone=timezone).released
    with uow:
        orders = [wo for wo in uow.work_orders.list() if wo.start_period == today.seq]
    if orders:
        report_downtime(uow, orders[-1].operations[0].work_center, 120, "tool change overran",
                        client_key=f"demo-down-{today.seq}", actor=actor, now=now, timezone=timezone)
        downtime += 1
    held = _hold_one_kit(uow, actor=actor, now=now, timezone=timezone)
    with uow:
        count = len(uow.work_orders.list())
    return DemoFloor(run_id, today.seq, tuple(released), count, reports, downtime, receipts, held)


def _receive_due(uow: MeasuresUnitOfWork, period: int, *, actor: str, now: dt.datetime, timezone: str) -> int:
    """Receive every open purchase due by ``period`` (in full, as the supplier promised), then
    buy what the released work orders starting by the next period still lack of purchased
    components (items no interval makes), received the same day. Returns the receipts posted."""
    with uow:
        snap = load_measures(uow, now=now, timezone=timezone).snapshot
    due = [p for p in snap.purchases if p.due_period <= period]
    for p in due:
        receive_stock(uow, p.item, p.quantity, actor=actor, now=now, reference=f"PO-{p.item}-P{p.due_period:02d}")
    made = {o.item for o in snap.planned} | {wo.item for wo in snap.work_orders}
    with uow:
        orders = [wo for wo in uow.work_orders.list() if wo.status.value in ("released", "in_progress")
                  and wo.start_period <= period + 1]
        on_hand = uow.stock.on_hand()
    need: dict[str, float] = {}
    for wo in orders:
        started = wo.operations[0].good + wo.operations[0].scrap if wo.operations else 0.0
        for c in wo.components:
            if c.item not in made:
                need[c.item] = need.get(c.item, 0.0) + c.qty_per * max(0.0, wo.quantity - started)
    for p in due:
        on_hand[p.item] = on_hand.get(p.item, 0.0) + p.quantity
    bought = 0
    for item, qty in sorted(need.items()):
        lack = math.ceil(qty - on_hand.get(item, 0.0) - 1e-9)
        if lack > 0:
            receive_stock(uow, item, lack, actor=actor, now=now, reference=f"PO-{item}-P{period:02d}")
            bought += 1
    return len(due) + bought


def _hold_one_kit(uow: MeasuresUnitOfWork, *, actor: str, now: dt.datetime,
                  timezone: str) -> tuple[str, float, str] | None:
    """Put part of one component's stock on quality hold (an adjustment) so that exactly one
    kitting work order due this period is short; None when a kit is short already or no choice
    does that."""
    with uow:
        snap = load_measures(uow, now=now, timezone=timezone).snapshot
    kit = ms.kit_rate(snap, 1)
    if any(order.short for order in kit.orders):
        return None  # a kit is short already
    for order in kit.orders:
        if order.short:
            continue
        for req in (r for r in snap.requirements if r.work_order == order.number):
            stock = snap.on_hand.get(req.component, 0.0)
            for share in (0.25, 0.5, 0.75, 1.0):
                hold = float(math.ceil(stock * share))
                if hold <= 0 or hold > stock:
                    continue
                trial = ms.kit_rate(replace(snap, on_hand={**snap.on_hand, req.component: stock - hold}), 1)
                if [o.number for o in trial.orders if o.short] == [order.number]:
                    adjust_stock(uow, req.component, -hold, reason="quality hold: failed incoming inspection",
                                 actor=actor, now=now)
                    return req.component, hold, order.number
    return None
