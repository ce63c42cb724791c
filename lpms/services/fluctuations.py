"""Fluctuation detection: notice when production or demand drifts from the approved plan.

``detect_fluctuations`` reads one measures snapshot and the demand, checks every kind below
against its threshold (settings; ``lpms.bootstrap.fluctuation_thresholds``) and stores each
finding as an event of one check (``fluctuation_checks`` / ``fluctuation_events``). "Beyond a
threshold" is strictly beyond it: a value exactly at the threshold is not a finding.

=====================  ===============================================================  ======
kind                   finding (subject: amount)                                        replan
=====================  ===============================================================  ======
behind_plan            an interval whose gap to date exceeds both ``behind_plan_units``  yes
                       and ``behind_plan_fraction`` of its planned output (interval:
                       gap in units)
kit_rate               the kit rate of the orders due in the current period below        no
                       ``kit_rate`` (period: the rate)
buffer_below_safety    a buffer more than ``buffer_shortfall_units`` under its safety   yes
                       stock (item: shortfall in units)
order_new              an open order the approved run's demand did not hold (order:      yes
                       quantity)
order_changed          an order whose item, due date or quantity changed (order:         yes
                       quantity change)
order_cancelled        an order of the run's demand that is cancelled or gone (order:    yes
                       its quantity); a shipped order is fulfilled, not cancelled
forecast_changed       an item whose forecast quantities changed (item: change of its    yes
                       total; found when the changes add up to more than the threshold)
downtime               a work center that lost more than ``downtime_min`` minutes in     yes
                       the current period (work center: minutes)
scrap                  a work order (open, or finished in the current period) whose      yes
                       scrap exceeds ``scrap_fraction`` of its quantity (work order:
                       scrap units)
=====================  ===============================================================  ======

Quantity changes of orders and forecasts up to ``demand_change_units`` are ignored (default
0: every change counts). The kit rate is a material matter (the re-plan cannot buy parts), so
it is reported without calling for a re-plan.

**Demand baseline.** The demand an approved run is compared against is stored per run
(``demand_baselines``: open orders, forecasts and a SHA-256 fingerprint): by
``record_demand_baseline`` (call it right after approving a run) or, when a run has none, by
the first detection after its approval, which then finds no demand change.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from lpms.db.measures_repo import DemandRecord, FluctuationEventRecord, Fluctuations, MeasuresReader
from lpms.db.replan_repo import ReplanRepository
from lpms.domain.enums import FluctuationKind, OrderStatus
from lpms.domain.errors import InvalidInput
from lpms.planning import measures as ms
from lpms.services._checks import LOCK_TIMEOUT_S
from lpms.services.progress import MeasuresUnitOfWork, load_measures

FLUCTUATION_LOCK = "lpms.fluctuations"
TRIGGERS_REPLAN = {kind: kind is not FluctuationKind.KIT_RATE for kind in FluctuationKind}
EPS = 1e-9

FluctuationEvent = FluctuationEventRecord  # a stored finding (list_fluctuations)


@dataclass(frozen=True)
class FluctuationThresholds:
    """When a deviation is a finding (settings of the same names, see lpms/settings.py)."""

    behind_plan_units: float = 1.0
    behind_plan_fraction: float = 0.1
    kit_rate: float = 0.9
    downtime_min: float = 60.0
    scrap_fraction: float = 0.05
    buffer_shortfall_units: float = 0.0
    demand_change_units: float = 0.0

    def __post_init__(self) -> None:
        for name in ("behind_plan_units", "behind_plan_fraction", "kit_rate", "downtime_min", "scrap_fraction",
                     "buffer_shortfall_units", "demand_change_units"):
            value = getattr(self, name)
            if not (isinstance(value, (int, float)) and value >= 0 and value != float("inf")):
                raise InvalidInput(f"fluctuation threshold {name}={value!r} must be a finite number, not negative")
        for name in ("behind_plan_fraction", "kit_rate", "scrap_fraction"):
            if getattr(self, name) > 1:
                raise InvalidInput(f"fluctuation threshold {name}={getattr(self, name)!r} must be a fraction in [0, 1]")


@dataclass(frozen=True)
class Finding:
    kind: FluctuationKind
    subject: str
    amount: float
    detail: dict[str, Any] = field(default_factory=dict)
    triggers_replan: bool = True


@dataclass(frozen=True)
class Detection:
    check_id: int
    as_of: dt.datetime
    current_period: int
    plan_run_id: int | None  # the approved run compared against
    findings: tuple[Finding, ...]
    baseline_recorded: bool  # the approved run had no demand baseline: this check recorded it

    @property
    def triggers_replan(self) -> bool:
        return any(f.triggers_replan for f in self.findings)


def _r(value: float) -> float:
    return round(value, 6) + 0.0


def fingerprint(demand: DemandRecord) -> str:
    """SHA-256 of the demand's canonical JSON (orders and forecasts, sorted)."""
    text = json.dumps({"orders": demand.orders, "forecasts": demand.forecasts}, sort_keys=True,
                      separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()


# --- the checks (pure) --------------------------------------------------------------------


def production_findings(s: ms.MeasuresSnapshot, t: FluctuationThresholds, *,
                        downtime: dict[tuple[str, int], float],
                        capacity: dict[tuple[str, int], tuple[float, float]]) -> list[Finding]:
    """Behind plan, kit rate, buffers, downtime and scrap on one snapshot."""
    found: list[Finding] = []
    now = s.as_of_period
    for row in ms.progress(s).intervals:
        fraction = row.gap_fraction
        if row.gap > t.behind_plan_units + EPS and fraction is not None and fraction > t.behind_plan_fraction + EPS:
            found.append(Finding(FluctuationKind.BEHIND_PLAN, row.interval, _r(row.gap),
                                 {"item": row.item, "planned": _r(row.planned), "actual": _r(row.actual),
                                  "gap_fraction": _r(fraction)}))
    kit = ms.kit_rate(s, 1)
    if kit.rate is not None and kit.rate < t.kit_rate - EPS:
        found.append(Finding(FluctuationKind.KIT_RATE, f"period {now}", _r(kit.rate),
                             {"threshold": t.kit_rate, "due": len(kit.orders), "kitted": kit.kitted,
                              "short": {o.number: [c.item for c in o.short] for o in kit.orders if o.short}},
                             TRIGGERS_REPLAN[FluctuationKind.KIT_RATE]))
    for b in ms.buffer_levels(s).buffers:
        shortfall = b.safety_stock - b.on_hand
        if b.safety_stock > 0 and shortfall > t.buffer_shortfall_units + EPS:
            found.append(Finding(FluctuationKind.BUFFER_BELOW_SAFETY, b.item, _r(shortfall),
                                 {"on_hand": _r(b.on_hand), "safety_stock": _r(b.safety_stock)}))
    for (wc, period), minutes in sorted(downtime.items()):
        if period == now and minutes > t.downtime_min + EPS:
            regular, overtime = capacity.get((wc, period), (0.0, 0.0))
            found.append(Finding(FluctuationKind.DOWNTIME, wc, _r(minutes),
                                 {"period": period, "capacity_min": _r(regular + overtime),
                                  "remaining_min": _r(max(0.0, regular + overtime - minutes))}))
    for wo in sorted(s.work_orders, key=lambda w: w.number):
        recent = wo.status in ms.OPEN_STATUSES or (wo.status in ms.FINISHED_STATUSES and wo.completed_period == now)
        if recent and wo.quantity > 0 and wo.scrap / wo.quantity > t.scrap_fraction + EPS:
            found.append(Finding(FluctuationKind.SCRAP, wo.number, _r(wo.scrap),
                                 {"item": wo.item, "quantity": _r(wo.quantity),
                                  "scrap_fraction": _r(wo.scrap / wo.quantity)}))
    return found


def demand_findings(baseline: DemandRecord, current: DemandRecord, statuses: dict[str, OrderStatus],
                    t: FluctuationThresholds) -> list[Finding]:
    """New, changed and cancelled orders and changed forecasts since the baseline. ``statuses``
    gives the status now of the baseline's orders that are no longer open (a shipped order is
    fulfilled, not cancelled)."""
    found: list[Finding] = []
    limit = t.demand_change_units + EPS
    for number, (item, qty, due) in current.orders.items():
        before = baseline.orders.get(number)
        if before is None:
            if qty > limit:
                found.append(Finding(FluctuationKind.ORDER_NEW, number, _r(qty),
                                     {"item": item, "quantity": _r(qty), "due_date": due}))
            continue
        old_item, old_qty, old_due = before
        if item != old_item or due != old_due or abs(qty - old_qty) > limit:
            found.append(Finding(FluctuationKind.ORDER_CHANGED, number, _r(qty - old_qty),
                                 {"item": item, "quantity": _r(qty), "due_date": due, "before": {
                                     "item": old_item, "quantity": _r(old_qty), "due_date": old_due}}))
    for number, (item, qty, due) in baseline.orders.items():
        if number in current.orders or statuses.get(number) is OrderStatus.SHIPPED or qty <= limit:
            continue
        status = statuses.get(number)
        found.append(Finding(FluctuationKind.ORDER_CANCELLED, number, _r(qty),
                             {"item": item, "quantity": _r(qty), "due_date": due,
                              "status": status.value if status else "deleted"}))
    changes: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for key in sorted(set(baseline.forecasts) | set(current.forecasts)):
        old, new = baseline.forecasts.get(key, 0.0), current.forecasts.get(key, 0.0)
        if abs(new - old) > EPS:
            item, start, end = key.split("|")
            changes[item].append({"start_date": start, "end_date": end, "before": _r(old), "after": _r(new)})
    for item, rows in sorted(changes.items()):
        moved = sum(abs(r["after"] - r["before"]) for r in rows)
        if moved > limit:
            net = sum(r["after"] - r["before"] for r in rows)
            found.append(Finding(FluctuationKind.FORECAST_CHANGED, item, _r(net),
                                 {"changed_units": _r(moved), "ranges": rows}))
    return found


# --- services -----------------------------------------------------------------------------


def record_demand_baseline(uow: MeasuresUnitOfWork, *, actor: str, now: dt.datetime,
                           lock_timeout: float = LOCK_TIMEOUT_S) -> str | None:
    """Store today's demand as the approved run's baseline (when it has none yet); returns its
    fingerprint, or None when no run is approved."""
    with uow:
        uow.locks.begin(FLUCTUATION_LOCK, timeout=lock_timeout, busy_message="fluctuation detection is running")
        run_ids = uow.work_orders.approved_run_ids()
        if not run_ids:
            return None
        repo = Fluctuations(uow.session)
        existing = repo.baseline(run_ids[-1])
        if existing is not None:
            return existing.fingerprint
        demand = MeasuresReader(uow.session).demand()
        print_ = fingerprint(demand)
        repo.add_baseline(plan_run_id=run_ids[-1], fingerprint=print_, demand=demand, recorded_at=now)
        uow.audit.add(actor=actor, action="baseline", entity="plan_run", entity_key=str(run_ids[-1]), at=now,
                      detail={"fingerprint": print_, "orders": len(demand.orders), "forecasts": len(demand.forecasts)})
        uow.commit()
    return print_


def detect_fluctuations(uow: MeasuresUnitOfWork, *, thresholds: FluctuationThresholds, actor: str,
                        now: dt.datetime, timezone: str = "UTC",
                        lock_timeout: float = LOCK_TIMEOUT_S) -> Detection:
    """Check every kind of fluctuation at ``now`` and store the findings as the events of one
    check (also when there are none: the check row says it ran). Raises NotFound (``now``
    outside the calendar), Busy."""
    with uow:
        uow.locks.begin(FLUCTUATION_LOCK, timeout=lock_timeout, busy_message="fluctuation detection is running")
        data = load_measures(uow, now=now, timezone=timezone)
        repo = Fluctuations(uow.session)
        reader = MeasuresReader(uow.session)
        findings = production_findings(data.snapshot, thresholds, downtime=data.downtime, capacity=data.capacity)
        recorded = False
        run_id = data.approved_run_id
        if run_id is not None:
            current = reader.demand()
            baseline = repo.baseline(run_id)
            if baseline is None:
                repo.add_baseline(plan_run_id=run_id, fingerprint=fingerprint(current), demand=current,
                                  recorded_at=now)
                recorded = True
            elif baseline.fingerprint != fingerprint(current):
                gone = [n for n in baseline.demand.orders if n not in current.orders]
                findings += demand_findings(baseline.demand, current, reader.order_statuses(gone), thresholds)
        check_id = repo.add_check(checked_at=now, checked_by=actor, period=data.current.seq, plan_run_id=run_id,
                                  events=[(f.kind, f.subject, f.amount, f.detail, f.triggers_replan)
                                          for f in findings])
        uow.audit.add(actor=actor, action="detect", entity="fluctuation_check", entity_key=str(check_id), at=now,
                      detail={"findings": len(findings), "triggers_replan": any(f.triggers_replan for f in findings),
                              "plan_run": run_id, "baseline_recorded": recorded})
        uow.commit()
    return Detection(check_id, now, data.current.seq, run_id, tuple(findings), recorded)


REPLAN_REASON = re.compile(r"^fluctuation check (\d+): ")


def replan_reason(d: Detection, findings: Iterable[Finding]) -> str:
    """The reason a check's re-plan records: ``fluctuation check ID: kind subject; ...`` (at most
    500 characters; ``unhandled_triggers`` reads the check's id back)."""
    return (f"fluctuation check {d.check_id}: " + "; ".join(f"{f.kind.value} {f.subject}"
                                                           for f in list(findings)[:5]))[:500]


def unhandled_triggers(uow: MeasuresUnitOfWork, d: Detection) -> tuple[tuple[Finding, ...], int | None]:
    """The findings of ``d`` that trigger a re-plan and are new, and the check whose re-plan
    handled the others (None: none did).

    A re-plan reacts to what is new: the latest re-plan, when it made the plan in force (or is
    waiting for approval over it) and was asked for by a check in the same period, has handled
    that check's triggering findings (same kind and subject). They persist -- output stays behind
    until it is made, a buffer stays short until it is refilled -- and would otherwise re-plan at
    every check with nothing new to plan from; the nightly re-plan plans from the real state
    anyway. A new subject, a new period, or a plan approved otherwise triggers again."""
    triggering = tuple(f for f in d.findings if f.triggers_replan)
    if not triggering or d.plan_run_id is None:
        return triggering, None
    with uow:
        latest = ReplanRepository(uow.session).latest(1)
        if not latest:
            return triggering, None
        last = latest[0]
        made_it = last.plan_run_id == d.plan_run_id
        waiting = last.previous_run_id == d.plan_run_id and not last.approved and last.units_moved is not None
        match = REPLAN_REASON.match(last.reason)
        if not (made_it or waiting) or match is None:
            return triggering, None
        check_id = int(match.group(1))
        repo = Fluctuations(uow.session)
        if repo.check_period(check_id) != d.current_period:
            return triggering, None
        handled = {(e.kind, e.subject) for e in repo.events(limit=100_000, check_id=check_id) if e.triggers_replan}
    return tuple(f for f in triggering if (f.kind, f.subject) not in handled), check_id


def list_fluctuations(uow: MeasuresUnitOfWork, *, limit: int = 100) -> list[FluctuationEvent]:
    """Stored findings, newest first."""
    if limit < 1:
        raise InvalidInput(f"limit must be at least 1, not {limit}")
    with uow:
        return Fluctuations(uow.session).events(limit=limit)


def fluctuation_dict(f: Finding | FluctuationEvent) -> dict[str, Any]:
    """A finding: ``{kind, subject, amount, detail, triggers_replan}``; a stored event also has
    ``id``, ``check_id`` and ``detected_at``."""
    out: dict[str, Any] = {"kind": f.kind.value, "subject": f.subject, "amount": _r(f.amount), "detail": f.detail,
                           "triggers_replan": f.triggers_replan}
    if isinstance(f, FluctuationEventRecord):
        out = {"id": f.id, "check_id": f.check_id, "detected_at": f.detected_at.isoformat(), **out}
    return out


def detection_dict(d: Detection) -> dict[str, Any]:
    """``{as_of, check_id, current_period, plan_run, baseline_recorded, triggers_replan, findings: [...]}``."""
    return {"as_of": d.as_of.isoformat(), "check_id": d.check_id, "current_period": d.current_period,
            "plan_run": d.plan_run_id, "baseline_recorded": d.baseline_recorded,
            "triggers_replan": d.triggers_replan, "findings": [fluctuation_dict(f) for f in d.findings]}


def _q(value: float) -> str:
    """A quantity for people: whole units as they are, others to one decimal (43.8, not 43.7962)."""
    v = float(value)
    return f"{v:,.0f}" if abs(v - round(v)) < 1e-9 else f"{v:,.1f}"


def describe(f: Finding | FluctuationEvent) -> str:
    """One line for people, e.g. ``behind plan: I:MON-24 60 units behind (24% of 250 planned)``."""
    d, a, k = f.detail, f.amount, f.kind
    if k is FluctuationKind.BEHIND_PLAN:
        return (f"behind plan: {f.subject} {_q(a)} units behind ({d.get('gap_fraction', 0):.0%} of "
                f"{_q(d.get('planned', 0))} planned)")
    if k is FluctuationKind.KIT_RATE:
        return (f"kit rate {a:.0%} in {f.subject}, below {d.get('threshold', 0):.0%} ({d.get('kitted')} of "
                f"{d.get('due')} kitting orders complete)")
    if k is FluctuationKind.BUFFER_BELOW_SAFETY:
        return (f"buffer {f.subject} {a:g} under its safety stock ({d.get('on_hand', 0):g} on hand, safety "
                f"{d.get('safety_stock', 0):g})")
    if k is FluctuationKind.ORDER_NEW:
        return f"new order {f.subject}: {a:g} {d.get('item')} due {d.get('due_date')}"
    if k is FluctuationKind.ORDER_CHANGED:
        b = d.get("before", {})
        return (f"order {f.subject} changed: {b.get('quantity', 0):g} {b.get('item')} due {b.get('due_date')} -> "
                f"{d.get('quantity', 0):g} {d.get('item')} due {d.get('due_date')}")
    if k is FluctuationKind.ORDER_CANCELLED:
        return f"order {f.subject} {d.get('status', 'cancelled')}: {a:g} {d.get('item')} due {d.get('due_date')}"
    if k is FluctuationKind.FORECAST_CHANGED:
        return f"forecast of {f.subject} changed by {a:+g} units ({d.get('changed_units', 0):g} units moved)"
    if k is FluctuationKind.DOWNTIME:
        return (f"downtime: {f.subject} lost {a:g} min in period {d.get('period')} ({d.get('remaining_min', 0):g} "
                f"of {d.get('capacity_min', 0):g} min remain)")
    return f"scrap: {f.subject} scrapped {a:g} of {d.get('quantity', 0):g} {d.get('item')} ({d.get('scrap_fraction', 0):.0%})"
