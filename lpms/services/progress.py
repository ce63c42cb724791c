"""Progress, the complete-assembly (kit) rate with its history, and the daily management report.

Each service reads one measures snapshot (``lpms.db.measures_repo.MeasuresReader``: a fixed,
small number of queries, none per work order) in one short transaction and computes with the
pure functions of ``lpms.planning.measures`` (definitions: docs/measures.md). The ``*_dict``
functions give the JSON shapes of docs/process.md ("Measures"); rates are fractions in [0, 1]
or null, never percentages.

* ``progress_report``: cumulative planned vs actual good output to date per interval, item and
  work center, and the on-time completion rate;
* ``kit_report``: the kit rate of the kitting work orders due in a window, each order's
  coverage, short components and projected kit-complete date, and the recorded history;
* ``record_kit_snapshot``: records the current period's rate once (idempotent per period);
* ``build_daily_report``: every management measure as one value (the jobs process stores it).
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any, Protocol

from lpms.db.measures_repo import KitHistory, KitSnapshotRecord, MeasuresData, MeasuresReader
from lpms.planning import measures as ms
from lpms.services._checks import LOCK_TIMEOUT_S
from lpms.services.shop_floor_uow import ShopFloorUnitOfWork

KIT_LOCK = "lpms.kit_snapshot"


class MeasuresUnitOfWork(ShopFloorUnitOfWork, Protocol):
    """A unit of work on a database (the measures repositories are built on its session)."""

    @property
    def session(self) -> Any: ...


def load_measures(uow: MeasuresUnitOfWork, *, now: dt.datetime, timezone: str) -> MeasuresData:
    """The measures snapshot at ``now`` (inside ``with uow``). Raises NotFound outside the calendar."""
    return MeasuresReader(uow.session).load(now=now, timezone=timezone)


def _history(uow: MeasuresUnitOfWork, up_to: int) -> tuple[KitSnapshotRecord, ...]:
    return tuple(r for r in KitHistory(uow.session).history() if r.period <= up_to)


# --- progress -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Progress:
    as_of: dt.datetime
    current_period: int
    report: ms.ProgressReport

    @property
    def on_time_rate(self) -> float | None:
        return self.report.on_time_rate


def progress_report(uow: MeasuresUnitOfWork, *, now: dt.datetime, timezone: str = "UTC") -> Progress:
    """Planned vs actual good output to date per interval, item and work center, and the on-time
    rate. Raises NotFound when ``now`` lies outside the calendar."""
    with uow:
        data = load_measures(uow, now=now, timezone=timezone)
    return Progress(now, data.current.seq, ms.progress(data.snapshot))


def progress_dict(p: Progress) -> dict[str, Any]:
    """``{as_of, on_time_rate, intervals: [{interval, item, planned, actual, gap}], items: [{item,
    planned, actual, gap}], work_centers: [{work_center, planned, actual, gap}]}``."""
    return p.report.to_dict(as_of=p.as_of)


# --- the kit rate -------------------------------------------------------------------------


@dataclass(frozen=True)
class Kit:
    as_of: dt.datetime
    current_period: int
    window: int
    report: ms.KitReport
    history: tuple[KitSnapshotRecord, ...]  # recorded rates, oldest first
    period_starts: dict[int, dt.date]

    @property
    def rate(self) -> float | None:
        return self.report.rate

    def period_date(self, period: int) -> dt.date:
        return self.period_starts[period]


def _kits(uow: MeasuresUnitOfWork, *, now: dt.datetime, window: int, timezone: str,
          on_hand_only: tuple[bool, ...]) -> list[Kit]:
    """The kit reports of one snapshot, one per ``on_hand_only`` mode (see ``kit_rate``)."""
    with uow:
        data = load_measures(uow, now=now, timezone=timezone)
        history = _history(uow, data.current.seq)
    return [Kit(now, data.current.seq, window, ms.kit_rate(data.snapshot, window, on_hand_only=only), history,
                data.period_starts) for only in on_hand_only]


def kit_report(uow: MeasuresUnitOfWork, *, now: dt.datetime, window: int = 1, timezone: str = "UTC") -> Kit:
    """The kit rate of the kitting work orders due to start in ``window`` periods from the current
    one, with the recorded history. Raises InvalidInput (window < 1), NotFound (outside the
    calendar)."""
    return _kits(uow, now=now, window=window, timezone=timezone, on_hand_only=(False,))[0]


def kit_projected_and_on_hand(uow: MeasuresUnitOfWork, *, now: dt.datetime, window: int = 1,
                              timezone: str = "UTC") -> tuple[Kit, Kit]:
    """``kit_report`` twice from one snapshot: the projection (supply arriving by each order's
    start counts) and what is on hand now only. Raises as ``kit_report``."""
    projected, on_hand = _kits(uow, now=now, window=window, timezone=timezone, on_hand_only=(False, True))
    return projected, on_hand


def kit_dict(k: Kit) -> dict[str, Any]:
    """``{as_of, window, rate, work_orders: [{number, coverage, short: [{item, required, available}],
    kit_complete_date}], history: [{period, rate}]}`` (periods as their start dates)."""
    return k.report.to_dict(as_of=k.as_of, period_date=k.period_date,
                            history=[(r.period, r.rate) for r in k.history])


@dataclass(frozen=True)
class KitSnapshot:
    period: int
    rate: float | None
    counted: int  # kitting work orders due in the period
    kitted: int  # of those, with every component available
    recorded_at: dt.datetime
    created: bool  # False: the period's rate had been recorded before (this is that record)


def record_kit_snapshot(uow: MeasuresUnitOfWork, *, actor: str, now: dt.datetime, timezone: str = "UTC",
                        lock_timeout: float = LOCK_TIMEOUT_S) -> KitSnapshot:
    """Record the kit rate (window 1) of the work orders due in the current period, once per
    period: when the period already has a record, nothing is written and that record is
    returned. Raises NotFound (outside the calendar), Busy."""
    with uow:
        uow.locks.begin(KIT_LOCK, timeout=lock_timeout, busy_message="a kit-rate snapshot is being recorded; try again")
        data = load_measures(uow, now=now, timezone=timezone)
        history = KitHistory(uow.session)
        existing = history.get(data.current.seq)
        if existing is not None:
            return KitSnapshot(existing.period, existing.rate, existing.counted, existing.kitted,
                               existing.recorded_at, False)
        report = ms.kit_rate(data.snapshot, 1)
        rec = history.add(period=data.current.seq, rate=report.rate, counted=len(report.orders), kitted=report.kitted,
                          recorded_by=actor, recorded_at=now)
        uow.audit.add(actor=actor, action="record", entity="kit_snapshot", entity_key=str(rec.period), at=now,
                      detail={"rate": rec.rate, "counted": rec.counted, "kitted": rec.kitted})
        uow.commit()
    return KitSnapshot(rec.period, rec.rate, rec.counted, rec.kitted, rec.recorded_at, True)


# --- the daily management report ----------------------------------------------------------


@dataclass(frozen=True)
class DailyReport:
    as_of: dt.datetime
    current_period: int
    progress: Progress
    kit: Kit
    on_time: ms.OnTime
    wip: ms.WipReport
    buffers: ms.BufferReport
    overtime: ms.OvertimeReport


def build_daily_report(uow: MeasuresUnitOfWork, *, now: dt.datetime, timezone: str = "UTC") -> DailyReport:
    """Every management measure at ``now`` from one snapshot: progress, the kit rate (window 1) and
    its history, on-time completion, WIP, buffers against safety stock, overtime used vs planned.
    Raises NotFound (outside the calendar)."""
    with uow:
        data = load_measures(uow, now=now, timezone=timezone)
        history = _history(uow, data.current.seq)
    s = data.snapshot
    progress = Progress(now, data.current.seq, ms.progress(s))
    kit = Kit(now, data.current.seq, 1, ms.kit_rate(s, 1), history, data.period_starts)
    return DailyReport(now, data.current.seq, progress, kit, progress.report.on_time, ms.wip(s), ms.buffer_levels(s),
                       ms.overtime(s))


def daily_report_dict(r: DailyReport) -> dict[str, Any]:
    """``{as_of, current_period, period_start, progress: <progress>, kit: <kit>, on_time: {rate,
    counted, on_time, late}, wip: {units, open_orders, work_centers, work_orders}, buffers:
    {buffers, below}, overtime: {work_centers}}``."""
    return {"as_of": r.as_of.isoformat(), "current_period": r.current_period,
            "period_start": r.kit.period_date(r.current_period).isoformat(),
            "progress": progress_dict(r.progress), "kit": kit_dict(r.kit), "on_time": r.on_time.to_dict(),
            "wip": r.wip.to_dict(), "buffers": r.buffers.to_dict(), "overtime": r.overtime.to_dict()}
