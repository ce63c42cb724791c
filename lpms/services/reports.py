"""Shop-floor reports: completion (good and scrap units per work order and operation), their
corrections, and downtime.

Completion reports are append-only events, idempotent by the client's key: the same key with
the same payload returns the original report (``replayed``); the same key with another
payload is a Conflict. Two reports on one work order at the same moment are serialised by a
row lock on the work order (PostgreSQL ``SELECT ... FOR NO KEY UPDATE``; SQLite has one
writer), so no unit is lost or counted twice; a key is guarded by an advisory lock on the key,
so a retry racing its own original waits for it and then replays it.

Rules, checked against the totals under the lock:

* an operation processes (good + scrap) no more units than its predecessor delivered good;
* no operation reports more good units than the order's quantity times (1 + tolerance);
* the first operation's output backflushes the kit: quantity per unit x (good + scrap) of
  each component, never below zero on-hand unless negative stock is allowed (StockShortage
  names each short component); the last operation's good output goes into the head's buffer;
* the order's good is its last operation's good, its scrap the sum over operations; its
  status follows the state machine: released -> in_progress -> completed (and back to
  in_progress when a correction takes completed units away).

A correction reverses one report completely (negated quantities, referencing it): it returns
the components that report took and takes back the output it made. A report is corrected at
most once, and not while a later operation has already processed the units it delivered.

Downtime reduces the work center's capacity in the current period (``ShopReports.
downtime_minutes`` gives the lost minutes per work center to the re-plan).
"""
from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass

from lpms.db.shop_floor import CompletionRecord, CompletionWrites, DowntimeRecord, OperationRecord, WorkOrderRecord
from lpms.domain.enums import StockMoveKind, WorkOrderStatus
from lpms.domain.errors import Conflict, InvalidInput, LpmsError, NotFound, StockShortage
from lpms.domain.plant_time import current_period, plant_date
from lpms.domain.transitions import WORK_ORDER_TRANSITIONS, check_transition
from lpms.services import _checks
from lpms.services._checks import LOCK_TIMEOUT_S, close_to_or_below, fmt
from lpms.services.shop_floor_uow import ShopFloorUnitOfWork

BUSY_MESSAGE = "the work order is being reported on by someone else; try again"
REPORTABLE = (WorkOrderStatus.RELEASED, WorkOrderStatus.IN_PROGRESS, WorkOrderStatus.COMPLETED)


@dataclass(frozen=True)
class CompletionResult:
    report: CompletionRecord
    work_order: WorkOrderRecord  # after the report (a replay: as it is now)
    issued: tuple[tuple[str, float], ...]  # components issued to the order by the report (negative: returned)
    output: float  # units of the head item it put into the buffer (negative: taken back)
    replayed: bool  # the key had been reported before: this is the original report


@dataclass(frozen=True)
class DowntimeResult:
    report: DowntimeRecord
    lost_min: float  # all downtime of the work center in the report's period
    capacity_min: float | None  # regular + overtime minutes of the period (None: no capacity row)
    remaining_min: float | None  # capacity less the downtime, not below 0
    replayed: bool


def _r(value: float) -> float:
    return round(value, 9) + 0.0


def _payload(work_order: str, seq: int, good: float, scrap: float) -> str:
    return f"work order {work_order} operation {seq}, good {fmt(good)}, scrap {fmt(scrap)}"


def report_completion(uow: ShopFloorUnitOfWork, work_order: str, operation_seq: int, good: float,
                      scrap: float = 0.0, *, client_key: str, actor: str, now: dt.datetime,
                      reported_by: str | None = None, tolerance: float = 0.0, allow_negative_stock: bool = False,
                      lock_timeout: float = LOCK_TIMEOUT_S) -> CompletionResult:
    """Record good and scrap units of one operation of a work order (see the module's rules).

    Raises InvalidInput (bad values, more than the predecessor delivered, over-completion),
    NotFound (work order, operation), Conflict (key reused with another payload; the order is
    closed or cancelled), StockShortage (a component would go below zero), Busy.
    """
    key = _checks.client_key(client_key)
    good = _checks.quantity(good, "good quantity")
    scrap = _checks.quantity(scrap, "scrap quantity")
    if good == 0 and scrap == 0:
        raise InvalidInput("a completion report needs good or scrap units (both are 0)")
    if not 0 <= tolerance <= 1:
        raise InvalidInput(f"over-completion tolerance {tolerance!r} is not a fraction between 0 and 1")
    by = _checks.text(reported_by or actor, "reported by", max_len=64, required=True)
    with uow:
        claim = uow.reports.claim_completion(client_key=key, work_order=work_order, lock_timeout=lock_timeout,
                                             busy_message=BUSY_MESSAGE, operation=operation_seq)
        wo = claim.work_order
        if claim.existing is not None:  # a resend: the original report (or Conflict)
            return _replay_or_conflict(uow, claim.existing, claim.existing_moves, wo, work_order, operation_seq,
                                       good, scrap)
        if wo is None:
            raise NotFound(f"work order {work_order} does not exist")
        try:
            k, op_good, op_scrap = _check_report(wo, work_order, operation_seq, good, scrap, tolerance)
        except LpmsError:
            # a send of the same key may have committed while this one waited for the work order
            # (it then counts in the totals this one was checked against): answer as a resend
            raced = uow.reports.completion_by_key(key)
            if raced is None:
                raise
            return _replay_or_conflict(uow, raced, None, wo, work_order, operation_seq, good, scrap)
        ops, op = wo.operations, wo.operations[k]
        issues = [(c.item, _r((good + scrap) * c.qty_per)) for c in wo.components] if k == 0 else []
        output = good if k == len(ops) - 1 else 0.0
        after = _after(wo, op, op_good, op_scrap, now=now)
        wanted = _wanted(issues)
        recorded = uow.reports.record_completion(CompletionWrites(
            work_order=wo, client_key=key, operation_seq=operation_seq, report_good=good, report_scrap=scrap,
            reported_by=by, reported_at=now, op_good=op_good, op_scrap=op_scrap, good=after.good, scrap=after.scrap,
            status=after.status, finished_at=after.finished_at, moves=_moves(wo, issues, output), take=tuple(wanted),
            actor=actor, now=now,
            audit_detail={"work_order": work_order, "operation": operation_seq, "good": good, "scrap": scrap,
                          "reported_by": by, "issued": dict(issues), "output": output,
                          "before": {"status": wo.status.value, "good": wo.good, "scrap": wo.scrap},
                          "after": {"status": after.status.value, "good": after.good, "scrap": after.scrap}}))
        if recorded is None:  # the key was taken meanwhile (by a send that committed): nothing was written
            raced = uow.reports.completion_by_key(key)
            if raced is None:  # pragma: no cover - the insert found the key, so it is there
                raise Conflict(f"client key {key} is being used by another report; try again")
            return _replay_or_conflict(uow, raced, None, wo, work_order, operation_seq, good, scrap)
        _check_stock(wanted, recorded.on_hand, allow_negative=allow_negative_stock,
                     what=f"work order {work_order} operation {operation_seq}")
        report = recorded.report
        uow.commit()
    return CompletionResult(report, after, tuple(issues), output, False)


def correct_completion(uow: ShopFloorUnitOfWork, report_key: str, *, client_key: str, actor: str,
                       now: dt.datetime, reason: str = "", reported_by: str | None = None,
                       allow_negative_stock: bool = False, lock_timeout: float = LOCK_TIMEOUT_S) -> CompletionResult:
    """Reverse the report ``report_key`` with a correction event (idempotent by ``client_key``).

    Raises NotFound (no such report), InvalidInput (it is itself a correction), Conflict (key
    reused with another payload; already corrected; a later operation processed its units;
    the order is closed or cancelled), StockShortage (its output was used meanwhile), Busy.
    """
    key = _checks.client_key(client_key)
    original_key = _checks.client_key(report_key)
    note = _checks.text(reason, "reason", max_len=2000)
    by = _checks.text(reported_by or actor, "reported by", max_len=64, required=True)
    with uow:
        uow.locks.begin(f"lpms.report:{key}", timeout=lock_timeout, busy_message=BUSY_MESSAGE)
        original = uow.reports.completion_by_key(original_key)
        if original is None:
            raise NotFound(f"no completion report has the key {original_key}")
        existing = uow.reports.completion_by_key(key)
        if existing is not None:
            if existing.corrects_id != original.id:
                raise Conflict(f"client key {key} was used for another report ({_describe(uow, existing)}); "
                               f"a new correction needs a new key")
            result = _replay(uow, existing)
            _end_read(uow)
            return result
        if original.corrects_id is not None:
            raise InvalidInput(f"report {original_key} is itself a correction: post a new report instead")
        wo = uow.work_orders.get(original.work_order, lock=True)
        if wo.status not in REPORTABLE:
            raise Conflict(f"work order {wo.number} is {wo.status.value}: its reports can no longer be corrected")
        done = uow.reports.correction_of(original.id)
        if done is not None:
            raise Conflict(f"report {original_key} was already corrected (by {done.client_key})")
        ops = list(wo.operations)
        k = _operation_index(wo, original.operation_seq)
        op = ops[k]
        op_good, op_scrap = _r(op.good - original.good), _r(op.scrap - original.scrap)
        if k + 1 < len(ops) and not close_to_or_below(ops[k + 1].good + ops[k + 1].scrap, op_good):
            succ = ops[k + 1]
            raise Conflict(f"operation {succ.seq} of work order {wo.number} has processed "
                           f"{fmt(succ.good + succ.scrap)} units; without report {original_key} operation {op.seq} would have delivered only "
                           f"{fmt(op_good)}: correct operation {succ.seq}'s reports first")
        moves = uow.stock.moves(completion_report_id=original.id)
        returns = [(mv.item, _r(mv.quantity)) for mv in moves if mv.kind is StockMoveKind.ISSUE]  # negative: taken
        output = -sum(mv.quantity for mv in moves if mv.kind is StockMoveKind.OUTPUT)
        if output < 0:
            _take(uow, [(wo.item, -output)], allow_negative=allow_negative_stock,
                  what=f"correcting report {original_key} (its output of {wo.item})")
        report = uow.reports.add_completion(client_key=key, work_order_id=wo.id, work_order=wo.number,
                                            operation_seq=original.operation_seq,
                                            good=-original.good + 0.0, scrap=-original.scrap + 0.0,
                                            corrects=original, reported_by=by, reported_at=now, note=note)
        _post(uow, wo, report, returns, output, actor=actor, now=now)
        after = _apply(uow, wo, op, op_good, op_scrap, now=now)
        uow.audit.add(actor=actor, action="correct", entity="completion_report", entity_key=key, at=now,
                      detail={"corrects": original_key, "work_order": wo.number, "operation": original.operation_seq,
                              "good": report.good, "scrap": report.scrap, "reason": note,
                              "before": {"status": wo.status.value, "good": wo.good, "scrap": wo.scrap},
                              "after": {"status": after.status.value, "good": after.good, "scrap": after.scrap}})
        uow.commit()
    return CompletionResult(report, after, tuple(returns), output, False)


def report_downtime(uow: ShopFloorUnitOfWork, work_center: str, minutes: float, reason: str, *, client_key: str,
                    actor: str, now: dt.datetime, work_order: str | None = None, started_at: dt.datetime | None = None,
                    reported_by: str | None = None, timezone: str = "UTC",
                    lock_timeout: float = LOCK_TIMEOUT_S) -> DowntimeResult:
    """Record lost minutes of a work center in the current period (the one containing ``now``'s
    plant date in the plant's ``timezone``; idempotent by ``client_key``).

    Raises InvalidInput, NotFound (work center, work order; ``now`` outside the calendar),
    Conflict (key reused with another payload), Busy.
    """
    key = _checks.client_key(client_key)
    minutes = _checks.quantity(minutes, "minutes", zero=False)
    why = _checks.text(reason, "reason", max_len=200, required=True)
    by = _checks.text(reported_by or actor, "reported by", max_len=64, required=True)
    with uow:
        uow.locks.begin(f"lpms.downtime:{key}", timeout=lock_timeout, busy_message="the same downtime report is "
                        "being recorded; try again")
        existing = uow.reports.downtime_by_key(key)
        if existing is not None:
            if (existing.work_center != work_center or not _same(existing.minutes, minutes) or existing.reason != why
                    or existing.work_order != work_order):
                raise Conflict(f"client key {key} was used for another downtime report ({existing.work_center}, "
                               f"{fmt(existing.minutes)} min, {existing.reason!r}); a new report needs a new key")
            replay = _downtime_result(uow, existing, replayed=True)
            _end_read(uow)
            return replay
        period = current_period(uow.work_orders.periods(), plant_date(now, timezone)).seq
        report = uow.reports.add_downtime(client_key=key, work_center=work_center, work_order=work_order,
                                          period_seq=period, started_at=started_at or now, minutes=minutes,
                                          reason=why, reported_by=by, reported_at=now)
        result = _downtime_result(uow, report, replayed=False)
        uow.audit.add(actor=actor, action="report", entity="downtime_report", entity_key=key, at=now,
                      detail={"work_center": work_center, "period": period, "minutes": minutes, "reason": why,
                              "work_order": work_order, "reported_by": by, "lost_min": result.lost_min,
                              "remaining_min": result.remaining_min})
        uow.commit()
    return result


def list_completions(uow: ShopFloorUnitOfWork, work_order: str | None = None) -> list[CompletionRecord]:
    with uow:
        if work_order is not None:
            uow.work_orders.get(work_order)  # NotFound
        return uow.reports.completions(work_order)


# --- helpers ------------------------------------------------------------------------------


def _same(a: float, b: float) -> bool:
    return abs(a - b) <= _checks.EPS * max(1.0, abs(a), abs(b))


def _check_report(wo: WorkOrderRecord, work_order: str, operation_seq: int, good: float, scrap: float,
                  tolerance: float) -> tuple[int, float, float]:
    """A new report's rules against the order's totals: (the operation's index, its good and
    scrap with the report). Raises Conflict (closed or cancelled order), NotFound (operation),
    InvalidInput (more than the predecessor delivered, over-completion)."""
    if wo.status not in REPORTABLE:
        raise Conflict(f"work order {work_order} is {wo.status.value}: it takes no more reports")
    ops = wo.operations
    k = _operation_index(wo, operation_seq)
    op = ops[k]
    op_good, op_scrap = _r(op.good + good), _r(op.scrap + scrap)
    if k > 0 and not close_to_or_below(op_good + op_scrap, ops[k - 1].good):
        pred = ops[k - 1]
        raise InvalidInput(
            f"work order {work_order} operation {operation_seq} would have processed {fmt(op_good + op_scrap)} "
            f"units (good + scrap), more than operation {pred.seq} delivered ({fmt(pred.good)} good); report the "
            f"earlier operation first")
    limit = wo.quantity * (1 + tolerance)
    if good > 0 and not close_to_or_below(op_good, limit):
        allowed = f"{fmt(limit)} with the over-completion tolerance of {tolerance:.4g}" if tolerance else \
            "no over-completion tolerance is set"
        raise InvalidInput(
            f"over-completion: work order {work_order} operation {operation_seq} would have {fmt(op_good)} good "
            f"units, the order is for {fmt(wo.quantity)} ({allowed}); {fmt(max(limit - op.good, 0))} more can be "
            f"reported")
    return k, op_good, op_scrap


def _replay_or_conflict(uow: ShopFloorUnitOfWork, existing: CompletionRecord,
                        moves: Iterable[tuple[str, StockMoveKind, float]] | None, wo: WorkOrderRecord | None,
                        work_order: str, operation_seq: int, good: float, scrap: float) -> CompletionResult:
    """The key was reported before: the original report (its order as it is now) when the payload
    is the same, else Conflict. ``moves``: the report's stock moves (None: read them)."""
    _check_same(uow, existing, work_order, operation_seq, good, scrap)
    if moves is None:
        moves = [(mv.item, mv.kind, mv.quantity) for mv in uow.stock.moves(completion_report_id=existing.id)]
    now_wo = wo if wo is not None and wo.number == existing.work_order else uow.work_orders.get(existing.work_order)
    result = _result_of(existing, now_wo, moves)
    _end_read(uow)
    return result


def _end_read(uow: ShopFloorUnitOfWork) -> None:
    """End a transaction that wrote nothing (a resend's answer) with a commit: a rollback would make
    the PostgreSQL driver drop every statement it has prepared on the connection (psycopg does so
    after any ROLLBACK), and the next reports on it would be parsed and planned again."""
    uow.commit()


def _check_same(uow: ShopFloorUnitOfWork, existing: CompletionRecord, work_order: str, operation_seq: int,
                good: float, scrap: float) -> None:
    """The key was reported before: Conflict unless with the same payload."""
    if (existing.corrects_id is not None or existing.work_order != work_order
            or existing.operation_seq != operation_seq or not _same(existing.good, good)
            or not _same(existing.scrap, scrap)):
        raise Conflict(f"client key {existing.client_key} was used for another report "
                       f"({_describe(uow, existing)}); a new report needs a new key")


def _describe(uow: ShopFloorUnitOfWork, report: CompletionRecord) -> str:
    if report.corrects_id is not None:
        return f"the correction of report {report.corrects_key}"
    return _payload(report.work_order, report.operation_seq, report.good, report.scrap)


def _operation_index(wo: WorkOrderRecord, seq: int) -> int:
    for k, op in enumerate(wo.operations):
        if op.seq == seq:
            return k
    have = ", ".join(str(op.seq) for op in wo.operations) or "none"
    raise NotFound(f"work order {wo.number} has no operation {seq} (its operations: {have})")


def _wanted(needs: Iterable[tuple[str, float]]) -> dict[str, float]:
    """Units taken from stock per item (the positive needs)."""
    wanted: dict[str, float] = {}
    for item, qty in needs:
        if qty > 0:
            wanted[item] = wanted.get(item, 0.0) + qty
    return wanted


def _check_stock(wanted: dict[str, float], on_hand: dict[str, float], *, allow_negative: bool, what: str) -> None:
    """Refuse taking more than is on hand (read under the items' locks) unless negative stock is allowed."""
    short = [(item, need, on_hand.get(item, 0.0)) for item, need in sorted(wanted.items())
             if not close_to_or_below(need, on_hand.get(item, 0.0))]
    if short and not allow_negative:
        raise StockShortage(what, short)


def _take(uow: ShopFloorUnitOfWork, needs: Iterable[tuple[str, float]], *, allow_negative: bool, what: str) -> None:
    """Lock the items stock is taken from and check that it is there (unless negative stock is allowed)."""
    wanted = _wanted(needs)
    if wanted:
        _check_stock(wanted, uow.stock.lock_on_hand(wanted),  # the item rows stay locked until commit
                     allow_negative=allow_negative, what=what)


def _moves(wo: WorkOrderRecord, issues: list[tuple[str, float]],
           output: float) -> tuple[tuple[str, StockMoveKind, float], ...]:
    """A report's stock moves: issues (positive: taken from stock) and the head's output."""
    moves = [(item, StockMoveKind.ISSUE, -qty + 0.0) for item, qty in issues if qty]
    if output:
        moves.append((wo.item, StockMoveKind.OUTPUT, output + 0.0))
    return tuple(moves)


def _post(uow: ShopFloorUnitOfWork, wo: WorkOrderRecord, report: CompletionRecord,
          issues: list[tuple[str, float]], output: float, *, actor: str, now: dt.datetime) -> None:
    uow.stock.add_moves(list(_moves(wo, issues, output)), work_order_id=wo.id, completion_report_id=report.id,
                        posted_by=actor, posted_at=now)


def _apply(uow: ShopFloorUnitOfWork, wo: WorkOrderRecord, op: OperationRecord, op_good: float, op_scrap: float, *,
           now: dt.datetime) -> WorkOrderRecord:
    """Store the operation's new totals and the order's, moving its status; the order as it is then."""
    after = _after(wo, op, op_good, op_scrap, now=now)
    uow.work_orders.set_operation(wo.id, op.seq, good=op_good, scrap=op_scrap)
    uow.work_orders.update(wo.id, now=now, good_qty=after.good, scrap_qty=after.scrap, status=after.status,
                           finished_at=after.finished_at)
    return after


def _after(wo: WorkOrderRecord, op: OperationRecord, op_good: float, op_scrap: float, *,
           now: dt.datetime) -> WorkOrderRecord:
    """The order after its operation ``op`` has the new totals: good, scrap, status (by the state
    machine), finish time, version."""
    ops = [(o.good, o.scrap) if o.seq != op.seq else (op_good, op_scrap) for o in wo.operations]
    good = ops[-1][0]
    scrap = _r(sum(s for _, s in ops))
    target = WorkOrderStatus.COMPLETED if close_to_or_below(wo.quantity, good) else WorkOrderStatus.IN_PROGRESS
    if target is not wo.status:
        check_transition(f"work order {wo.number}", WORK_ORDER_TRANSITIONS, wo.status, target)
    finished = (wo.finished_at or now) if target is WorkOrderStatus.COMPLETED else None
    return dataclasses.replace(
        wo, good=good, scrap=scrap, status=target, finished_at=finished, version=wo.version + 1, updated_at=now,
        operations=tuple(o if o.seq != op.seq else dataclasses.replace(o, good=op_good, scrap=op_scrap)
                         for o in wo.operations))


def _replay(uow: ShopFloorUnitOfWork, report: CompletionRecord) -> CompletionResult:
    moves = uow.stock.moves(completion_report_id=report.id)
    return _result_of(report, uow.work_orders.get(report.work_order),
                      tuple((mv.item, mv.kind, mv.quantity) for mv in moves))


def _result_of(report: CompletionRecord, wo: WorkOrderRecord,
               moves: Iterable[tuple[str, StockMoveKind, float]]) -> CompletionResult:
    """A replayed report's answer: the report, its order as it is now, what it issued and output."""
    moves = list(moves)
    issued = tuple((item, -qty + 0.0) for item, kind, qty in moves if kind is StockMoveKind.ISSUE)
    output = sum(qty for _, kind, qty in moves if kind is StockMoveKind.OUTPUT)
    return CompletionResult(report, wo, issued, output, True)


def _downtime_result(uow: ShopFloorUnitOfWork, report: DowntimeRecord, *, replayed: bool) -> DowntimeResult:
    lost = uow.reports.downtime_minutes(report.period_seq).get(report.work_center, 0.0)
    cap = uow.reports.capacity(report.work_center, report.period_seq)
    total = None if cap is None else cap[0] + cap[1]
    remaining = None if total is None else max(total - lost, 0.0)
    return DowntimeResult(report, lost, total, remaining, replayed)
