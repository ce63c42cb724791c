"""Completion reports (idempotent, predecessor rule, over-completion, backflush and negative
stock, corrections, status) and downtime reports: on SQLite and PostgreSQL."""
from __future__ import annotations

import pytest

from lpms.db.session import UnitOfWork
from lpms.domain.enums import StockMoveKind, WorkOrderStatus
from lpms.domain.errors import Conflict, InvalidInput, NotFound, StockShortage
from lpms.services.reports import correct_completion, list_completions, report_completion, report_downtime
from lpms.services.stock import stock_moves
from lpms.services.work_orders import get_work_order
from tests.shop_floor_plant import NOW, p_order, released_plant, week

pytestmark = pytest.mark.db


def _on_hand(uow: UnitOfWork, *items: str) -> dict[str, float]:
    with uow:
        return uow.stock.on_hand(items)


def test_first_operation_backflushes_the_kit_and_starts_the_order(uow: UnitOfWork) -> None:
    number = p_order(released_plant(uow))
    before = _on_hand(uow, "C", "M", "P")
    result = report_completion(uow, number, 10, 40, 2, client_key="r1", actor="ann", now=NOW, reported_by="tablet-3")
    assert result.replayed is False and result.output == 0
    assert dict(result.issued) == {"C": 42.0, "M": 84.0}  # (good + scrap) x quantity per
    assert result.report.reported_by == "tablet-3" and result.report.reported_at == NOW
    wo = result.work_order
    assert wo.status is WorkOrderStatus.IN_PROGRESS and wo.good == 0 and wo.scrap == 2 and wo.version == 2
    assert [(op.seq, op.good, op.scrap) for op in wo.operations] == [(10, 40, 2), (20, 0, 0), (30, 0, 0)]
    assert _on_hand(uow, "C", "M", "P") == {"C": before["C"] - 42, "M": before["M"] - 84, "P": before["P"]}
    moves = stock_moves(uow, work_order=number)
    assert [(mv.item, mv.kind, mv.quantity) for mv in moves] == [("C", StockMoveKind.ISSUE, -42.0),
                                                                  ("M", StockMoveKind.ISSUE, -84.0)]
    assert all(mv.completion_report_id == result.report.id for mv in moves)


def test_an_operation_cannot_process_more_than_its_predecessor_delivered(uow: UnitOfWork) -> None:
    number = p_order(released_plant(uow))
    report_completion(uow, number, 10, 30, client_key="a", actor="ann", now=NOW)
    with pytest.raises(InvalidInput, match=f"{number} operation 20 would have processed 31 units .*operation 10 "
                                           r"delivered \(30 good\)"):
        report_completion(uow, number, 20, 30, 1, client_key="b", actor="ann", now=NOW)
    report_completion(uow, number, 20, 29, 1, client_key="c", actor="ann", now=NOW)
    with pytest.raises(InvalidInput, match="operation 30 would have processed 30 units"):
        report_completion(uow, number, 30, 30, client_key="d", actor="ann", now=NOW)
    assert get_work_order(uow, number).operations[2].good == 0
    with pytest.raises(NotFound, match=f"work order {number} has no operation 40 \\(its operations: 10, 20, 30\\)"):
        report_completion(uow, number, 40, 1, client_key="e", actor="ann", now=NOW)
    with pytest.raises(NotFound, match="work order WO-X does not exist"):
        report_completion(uow, "WO-X", 10, 1, client_key="f", actor="ann", now=NOW)


def test_the_same_key_counts_once_and_another_payload_under_it_is_a_conflict(uow: UnitOfWork) -> None:
    number = p_order(released_plant(uow))
    first = report_completion(uow, number, 10, 12, client_key="tablet-1/0001", actor="ann", now=NOW)
    again = report_completion(uow, number, 10, 12, client_key="tablet-1/0001", actor="bob", now=week(2))
    assert again.replayed is True and again.report == first.report and again.issued == first.issued
    wo = get_work_order(uow, number)
    assert wo.operations[0].good == 12 and wo.version == first.work_order.version
    assert _on_hand(uow, "C")["C"] == 1000 - 12
    with pytest.raises(Conflict, match=f"client key tablet-1/0001 was used for another report \\(work order {number} "
                                       "operation 10, good 12, scrap 0\\)"):
        report_completion(uow, number, 10, 13, client_key="tablet-1/0001", actor="ann", now=NOW)
    with pytest.raises(Conflict, match="was used for another report"):
        report_completion(uow, number, 20, 12, client_key="tablet-1/0001", actor="ann", now=NOW)
    assert [r.client_key for r in list_completions(uow, number)] == ["tablet-1/0001"]


def test_bad_values_are_rejected_before_anything_is_read(uow: UnitOfWork) -> None:
    number = p_order(released_plant(uow))
    for good, scrap, message in [(0, 0, "needs good or scrap"), (-1, 0, "good quantity: -1 is negative"),
                                 (float("nan"), 0, "not a finite number"), (1, 2e12, "larger than")]:
        with pytest.raises(InvalidInput, match=message):
            report_completion(uow, number, 10, good, scrap, client_key="k", actor="ann", now=NOW)
    for key in ("", " k", "x" * 65, "a\u200bb"):
        with pytest.raises(InvalidInput, match="client key"):
            report_completion(uow, number, 10, 1, client_key=key, actor="ann", now=NOW)


def test_over_completion_is_rejected_beyond_the_tolerance(uow: UnitOfWork) -> None:
    release = released_plant(uow)
    q = next(wo for wo in release.work_orders if wo.interval == "I:Q")
    assert q.quantity == 50
    with pytest.raises(InvalidInput, match=f"over-completion: work order {q.number} operation 10 would have 51 good "
                                           "units, the order is for 50 \\(no over-completion tolerance is set\\); 50 "
                                           "more can be reported"):
        report_completion(uow, q.number, 10, 51, client_key="a", actor="ann", now=NOW)
    done = report_completion(uow, q.number, 10, 50, client_key="b", actor="ann", now=NOW)
    assert done.work_order.status is WorkOrderStatus.COMPLETED and done.work_order.finished_at == NOW
    assert done.output == 50 and done.work_order.good == 50
    with pytest.raises(InvalidInput, match="over-completion"):
        report_completion(uow, q.number, 10, 1, client_key="c", actor="ann", now=NOW)
    more = report_completion(uow, q.number, 10, 5, client_key="d", actor="ann", now=NOW, tolerance=0.1)
    assert more.work_order.good == 55 and more.work_order.status is WorkOrderStatus.COMPLETED
    with pytest.raises(InvalidInput, match="55.000001 good units.*tolerance of 0.1"):
        report_completion(uow, q.number, 10, 0.000001, client_key="e", actor="ann", now=NOW, tolerance=0.1)
    # scrap is not output: it never completes an order, and is not limited by the quantity
    assert report_completion(uow, q.number, 10, 0, 3, client_key="f", actor="ann", now=NOW).work_order.scrap == 3


def test_the_last_operation_delivers_into_the_buffer_and_completes_the_order(uow: UnitOfWork) -> None:
    release = released_plant(uow)
    number = p_order(release)
    quantity = get_work_order(uow, number).quantity
    p_before = _on_hand(uow, "P")["P"]
    report_completion(uow, number, 10, quantity, client_key="10", actor="ann", now=NOW)
    report_completion(uow, number, 20, quantity, client_key="20", actor="ann", now=NOW)
    half = report_completion(uow, number, 30, quantity - 10, client_key="30a", actor="ann", now=NOW)
    assert half.output == quantity - 10 and half.work_order.status is WorkOrderStatus.IN_PROGRESS
    last = report_completion(uow, number, 30, 10, client_key="30b", actor="ann", now=week(2))
    assert last.work_order.status is WorkOrderStatus.COMPLETED and last.work_order.good == quantity
    assert last.work_order.finished_at == week(2)
    assert _on_hand(uow, "P")["P"] == p_before + quantity


def test_a_component_shortage_is_rejected_naming_it_unless_negative_stock_is_allowed(uow: UnitOfWork) -> None:
    number = p_order(released_plant(uow, c_stock=1000, m_stock=30))
    with pytest.raises(StockShortage, match=f"work order {number} operation 10: not enough stock: M needs 40, 30 on "
                                            "hand \\(short 10\\)") as info:
        report_completion(uow, number, 10, 20, client_key="k", actor="ann", now=NOW)
    assert info.value.shortages == [("M", 40.0, 30.0)]
    assert get_work_order(uow, number).operations[0].good == 0 and _on_hand(uow, "M", "C") == {"M": 30, "C": 1000}
    assert list_completions(uow, number) == []  # rejected: nothing stored, the key is free again
    allowed = report_completion(uow, number, 10, 20, client_key="k", actor="ann", now=NOW, allow_negative_stock=True)
    assert allowed.replayed is False and _on_hand(uow, "M")["M"] == -10


def test_a_correction_reverses_one_report_once(uow: UnitOfWork) -> None:
    release = released_plant(uow)
    q = next(wo for wo in release.work_orders if wo.interval == "I:Q")
    c_before = _on_hand(uow, "C", "Q")
    first = report_completion(uow, q.number, 10, 50, client_key="r1", actor="ann", now=NOW)
    assert first.work_order.status is WorkOrderStatus.COMPLETED
    fix = correct_completion(uow, "r1", client_key="r1-fix", actor="sue", now=NOW, reason="counted twice")
    assert fix.report.corrects_id == first.report.id and fix.report.good == -50 and fix.report.note == "counted twice"
    assert fix.output == -50 and dict(fix.issued) == {"C": -50.0}  # components returned
    assert fix.work_order.status is WorkOrderStatus.IN_PROGRESS and fix.work_order.good == 0
    assert fix.work_order.finished_at is None
    assert _on_hand(uow, "C", "Q") == c_before
    # idempotent; once only; a correction is not corrected
    assert correct_completion(uow, "r1", client_key="r1-fix", actor="sue", now=NOW).replayed is True
    with pytest.raises(Conflict, match="report r1 was already corrected \\(by r1-fix\\)"):
        correct_completion(uow, "r1", client_key="r1-fix2", actor="sue", now=NOW)
    with pytest.raises(InvalidInput, match="report r1-fix is itself a correction"):
        correct_completion(uow, "r1-fix", client_key="r1-fix3", actor="sue", now=NOW)
    with pytest.raises(Conflict, match="client key r1-fix was used for another report \\(the correction of report "
                                       "r1\\)"):
        report_completion(uow, q.number, 10, 1, client_key="r1-fix", actor="ann", now=NOW)
    with pytest.raises(NotFound, match="no completion report has the key nope"):
        correct_completion(uow, "nope", client_key="x", actor="sue", now=NOW)
    # the order takes the right report again
    again = report_completion(uow, q.number, 10, 25, client_key="r2", actor="ann", now=NOW)
    assert again.work_order.good == 25 and [r.client_key for r in list_completions(uow, q.number)] == [
        "r1", "r1-fix", "r2"]


def test_a_report_whose_units_a_later_operation_used_is_corrected_after_it(uow: UnitOfWork) -> None:
    number = p_order(released_plant(uow))
    report_completion(uow, number, 10, 10, client_key="a10", actor="ann", now=NOW)
    report_completion(uow, number, 10, 10, client_key="b10", actor="ann", now=NOW)
    report_completion(uow, number, 20, 15, client_key="a20", actor="ann", now=NOW)
    with pytest.raises(Conflict, match="operation 20 of work order .* has processed 15 units; without report a10 "
                                       "operation 10 would have delivered only 10: correct operation 20's reports "
                                       "first"):
        correct_completion(uow, "a10", client_key="fix-a10", actor="sue", now=NOW)
    correct_completion(uow, "a20", client_key="fix-a20", actor="sue", now=NOW)
    fixed = correct_completion(uow, "a10", client_key="fix-a10", actor="sue", now=NOW)
    assert [(op.good, op.scrap) for op in fixed.work_order.operations] == [(10, 0), (0, 0), (0, 0)]


def test_correcting_output_that_was_used_meanwhile_is_a_shortage(uow: UnitOfWork) -> None:
    from lpms.services.stock import adjust_stock

    release = released_plant(uow)
    q = next(wo for wo in release.work_orders if wo.interval == "I:Q")
    report_completion(uow, q.number, 10, 20, client_key="r", actor="ann", now=NOW)
    adjust_stock(uow, "Q", -20, reason="shipped by hand", actor="ann", now=NOW)
    with pytest.raises(StockShortage, match="correcting report r \\(its output of Q\\): not enough stock: Q needs 20, "
                                            "0 on hand"):
        correct_completion(uow, "r", client_key="fix", actor="sue", now=NOW)


def test_ledger_balances_after_a_sequence_of_reports(uow: UnitOfWork) -> None:
    release = released_plant(uow)
    number = p_order(release)
    q = next(wo for wo in release.work_orders if wo.interval == "I:Q")
    start = _on_hand(uow, "C", "M", "P", "Q")
    report_completion(uow, number, 10, 100, 4, client_key="1", actor="a", now=NOW)
    report_completion(uow, number, 20, 90, 6, client_key="2", actor="a", now=NOW)
    report_completion(uow, number, 30, 80, 1, client_key="3", actor="a", now=NOW)
    report_completion(uow, q.number, 10, 30, 2, client_key="4", actor="a", now=NOW)
    correct_completion(uow, "3", client_key="5", actor="a", now=NOW)
    report_completion(uow, number, 30, 85, 0, client_key="6", actor="a", now=NOW)
    end = _on_hand(uow, "C", "M", "P", "Q")
    assert end == {"C": start["C"] - 104 - 32, "M": start["M"] - 2 * 104, "P": start["P"] + 85, "Q": start["Q"] + 30}
    wo = get_work_order(uow, number)
    assert (wo.good, wo.scrap) == (85, 10) and [op.good for op in wo.operations] == [100, 90, 85]
    with uow:
        assert uow.stock.issued(wo.id) == {"C": 104.0, "M": 208.0}


def test_downtime_reduces_the_current_periods_capacity_idempotently(uow: UnitOfWork) -> None:
    release = released_plant(uow)
    result = report_downtime(uow, "ASM", 90, "press jammed", client_key="d1", actor="ann", now=week(2),
                             work_order=p_order(release))
    assert result.report.period_seq == 2 and result.lost_min == 90 and result.capacity_min == 3000
    assert result.remaining_min == 2910 and result.replayed is False
    assert report_downtime(uow, "ASM", 90, "press jammed", client_key="d1", actor="ann", now=week(3),
                           work_order=p_order(release)).replayed is True
    second = report_downtime(uow, "ASM", 30, "no operator", client_key="d2", actor="ann", now=week(2))
    assert second.lost_min == 120 and second.remaining_min == 2880
    with pytest.raises(Conflict, match="client key d1 was used for another downtime report \\(ASM, 90 min, "
                                       "'press jammed'\\)"):
        report_downtime(uow, "ASM", 60, "press jammed", client_key="d1", actor="ann", now=week(2))
    with pytest.raises(NotFound, match="work center NOPE does not exist"):
        report_downtime(uow, "NOPE", 60, "x", client_key="d3", actor="ann", now=week(2))
    with pytest.raises(InvalidInput, match="minutes: must not be 0"):
        report_downtime(uow, "ASM", 0, "x", client_key="d4", actor="ann", now=week(2))
    with pytest.raises(InvalidInput, match="reason is required"):
        report_downtime(uow, "ASM", 5, " ", client_key="d5", actor="ann", now=week(2))
    with uow:
        assert uow.reports.downtime_minutes(2) == {"ASM": 120.0} and uow.reports.downtime_minutes(1) == {}
