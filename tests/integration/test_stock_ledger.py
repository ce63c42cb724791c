"""The stock ledger: receipts, shipments closing order lines, adjustments, issues never below
zero, and a property test: after any sequence of posts and reports, on-hand is opening +
receipts + outputs - issues - shipments +/- adjustments. On SQLite and PostgreSQL."""
from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine, select
from sqlalchemy.orm import sessionmaker

from lpms.db import models as m
from lpms.db.session import UnitOfWork
from lpms.db.shop_floor import NewOperation
from lpms.domain.enums import OrderStatus, StockMoveKind, WorkOrderStatus
from lpms.domain.errors import Conflict, InvalidInput, LpmsError, NotFound, StockShortage
from lpms.services.csv_io import import_texts
from lpms.services.reports import correct_completion, report_completion
from lpms.services.stock import adjust_stock, receive_stock, ship_order, stock_levels, stock_moves
from tests.helpers import balance_problems
from tests.shop_floor_plant import NOW, load_plant, plant_texts

pytestmark = pytest.mark.db


def _on_hand(uow: UnitOfWork, item: str) -> float:
    with uow:
        return uow.stock.on_hand([item])[item]


def _order_status(uow: UnitOfWork, number: str) -> OrderStatus:
    with uow:
        return uow.stock.order(number).status


def test_a_receipt_adds_stock_and_fulfils_scheduled_receipts_earliest_first(uow: UnitOfWork) -> None:
    load_plant(uow)  # C: 1000 on hand, receipts of 50 (2026-12-07) and 70 (2026-12-14)
    post = receive_stock(uow, "C", 80, reference="PO-77", actor="ann", now=NOW)
    assert post.kind is StockMoveKind.RECEIPT and post.quantity == 80 and post.on_hand == 1080
    assert post.receipts_taken == ((dt.date(2026, 12, 7), 50.0), (dt.date(2026, 12, 14), 30.0))
    with uow:
        assert [(r.due_date, r.quantity) for r in uow.session.scalars(select(m.ScheduledReceipt))] == [
            (dt.date(2026, 12, 14), 40.0)]
    assert receive_stock(uow, "M", 5, actor="ann", now=NOW).receipts_taken == ()
    moves = stock_moves(uow, item="C")
    assert [(mv.kind, mv.quantity, mv.reference, mv.posted_by) for mv in moves] == [
        (StockMoveKind.RECEIPT, 80.0, "PO-77", "ann")]
    with pytest.raises(InvalidInput, match="receipt quantity: must not be 0"):
        receive_stock(uow, "C", 0, actor="ann", now=NOW)
    with pytest.raises(NotFound, match="item NOPE does not exist"):
        receive_stock(uow, "NOPE", 1, actor="ann", now=NOW)


def test_a_shipment_takes_stock_and_closes_the_order_line_when_fully_shipped(uow: UnitOfWork) -> None:
    load_plant(uow)  # P: 100 on hand; SO-1: 30 P
    part = ship_order(uow, "SO-1", 10, actor="ann", now=NOW)
    assert (part.shipped, part.remaining, part.order_status) == (10, 20, OrderStatus.OPEN)
    assert part.post.quantity == -10 and part.post.on_hand == 90
    with pytest.raises(InvalidInput, match="customer order SO-1 has 20 of 30 P left to ship, not 25"):
        ship_order(uow, "SO-1", 25, actor="ann", now=NOW)
    rest = ship_order(uow, "SO-1", actor="ann", now=NOW)  # default: all that is left
    assert (rest.post.quantity, rest.shipped, rest.remaining, rest.order_status) == (-20, 30, 0, OrderStatus.SHIPPED)
    assert _order_status(uow, "SO-1") is OrderStatus.SHIPPED and _on_hand(uow, "P") == 70
    with pytest.raises(Conflict, match="customer order SO-1 is shipped: nothing is left to ship"):
        ship_order(uow, "SO-1", 1, actor="ann", now=NOW)
    with pytest.raises(NotFound, match="customer order SO-9 does not exist"):
        ship_order(uow, "SO-9", actor="ann", now=NOW)
    assert [mv.customer_order for mv in stock_moves(uow, item="P")] == ["SO-1", "SO-1"]


def test_a_shipment_beyond_on_hand_is_rejected_and_changes_nothing(uow: UnitOfWork) -> None:
    load_plant(uow)  # Q: none on hand; SO-2: 20 Q
    with pytest.raises(StockShortage, match="shipping customer order SO-2: not enough stock: Q needs 20, 0 on hand "
                                            "\\(short 20\\)"):
        ship_order(uow, "SO-2", actor="ann", now=NOW)
    assert stock_moves(uow, item="Q") == [] and _order_status(uow, "SO-2") is OrderStatus.OPEN


def test_adjustments_need_a_reason_and_never_leave_stock_below_zero(uow: UnitOfWork) -> None:
    load_plant(uow, m_stock=10)
    assert adjust_stock(uow, "M", -4, reason="count", actor="ann", now=NOW).on_hand == 6
    assert adjust_stock(uow, "M", 2.5, reason="found a box", actor="ann", now=NOW).on_hand == 8.5
    with pytest.raises(StockShortage, match="adjusting M by -9: not enough stock: M needs 9, 8.5 on hand"):
        adjust_stock(uow, "M", -9, reason="count", actor="ann", now=NOW)
    with pytest.raises(InvalidInput, match="reason is required"):
        adjust_stock(uow, "M", 1, reason="", actor="ann", now=NOW)
    levels = {lvl.item: lvl for lvl in stock_levels(uow, ["M", "Q"])}
    assert (levels["M"].opening, levels["M"].moves, levels["M"].on_hand) == (10, -1.5, 8.5)
    assert levels["Q"].on_hand == 0
    with uow:
        audit = [(a.action, a.entity_key, a.detail.get("reason")) for a in uow.session.scalars(
            select(m.AuditEntry).where(m.AuditEntry.entity == "stock").order_by(m.AuditEntry.id))]
    assert audit == [("adjust", "M", "count"), ("adjust", "M", "found a box")]


# --- the property test --------------------------------------------------------------------


@contextmanager
def _rolled_back_uow(engine: Engine) -> Iterator[UnitOfWork]:
    """A fresh unit of work whose commits are rolled back at the end (one per example)."""
    connection = engine.connect()
    outer = connection.begin()
    try:
        yield UnitOfWork(sessionmaker(bind=connection, join_transaction_mode="create_savepoint",
                                      expire_on_commit=False))
    finally:
        outer.rollback()
        connection.close()


def _two_orders(uow: UnitOfWork) -> dict[str, str]:
    """A P order (operations 10 S/CUT, 20 P/ASM; kit C x1, M x2) and a Q order (10 Q/ASM; kit C x1)."""
    with uow:
        p = uow.work_orders.add(number="WO-P", plan_run_id=None, item="P", interval="I:P", start_period=1,
                                due_period=2, quantity=40, status=WorkOrderStatus.RELEASED,
                                operations=[NewOperation(10, "S", 10, "CUT", 2, 0), NewOperation(20, "P", 10, "ASM", 3, 0)],
                                components=[("C", 1.0), ("M", 2.0)], created_by="t", now=NOW)
        q = uow.work_orders.add(number="WO-Q", plan_run_id=None, item="Q", interval="I:Q", start_period=1,
                                due_period=1, quantity=30, status=WorkOrderStatus.RELEASED,
                                operations=[NewOperation(10, "Q", 10, "ASM", 1, 0)], components=[("C", 1.0)],
                                created_by="t", now=NOW)
        assert p and q
        uow.commit()
    return {"WO-P": "P", "WO-Q": "Q"}


@dataclass
class Expected:
    opening: dict[str, float]
    by_kind: dict[StockMoveKind, dict[str, float]] = field(default_factory=dict)

    def add(self, kind: StockMoveKind, item: str, qty: float) -> None:
        per_item = self.by_kind.setdefault(kind, {})
        per_item[item] = per_item.get(item, 0.0) + qty

    def on_hand(self, item: str) -> float:
        k = self.by_kind
        return (self.opening.get(item, 0.0) + k.get(StockMoveKind.RECEIPT, {}).get(item, 0.0)
                + k.get(StockMoveKind.OUTPUT, {}).get(item, 0.0) - k.get(StockMoveKind.ISSUE, {}).get(item, 0.0)
                - k.get(StockMoveKind.SHIPMENT, {}).get(item, 0.0) + k.get(StockMoveKind.ADJUSTMENT, {}).get(item, 0.0))


ITEMS = ("C", "M", "P", "Q")
steps = st.lists(st.one_of(
    st.tuples(st.just("receive"), st.sampled_from(("C", "M")), st.integers(1, 40)),
    st.tuples(st.just("ship"), st.sampled_from(("SO-1", "SO-2")), st.one_of(st.none(), st.integers(1, 25))),
    st.tuples(st.just("adjust"), st.sampled_from(ITEMS), st.integers(-30, 30).filter(bool)),
    st.tuples(st.just("report"), st.sampled_from(("WO-P/10", "WO-P/20", "WO-Q/10")), st.integers(0, 15),
              st.integers(0, 2)),
    st.tuples(st.just("correct"), st.integers(0, 10)),
), min_size=1, max_size=25)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(sequence=steps)
def test_ledger_on_hand_is_opening_plus_receipts_and_outputs_less_issues_and_shipments_with_adjustments(
        engine: Engine, sequence: list[tuple[object, ...]]) -> None:
    with _rolled_back_uow(engine) as uow:
        import_texts(uow, plant_texts(c_stock=20, m_stock=30), actor="test", now=NOW)
        _two_orders(uow)
        expected = Expected(opening={"C": 20.0, "M": 30.0, "P": 100.0})
        accepted: list[str] = []
        rejected = 0
        for n, step in enumerate(sequence):
            try:
                if step[0] == "receive":
                    post = receive_stock(uow, str(step[1]), float(step[2]), actor="t", now=NOW)  # type: ignore[arg-type]
                    expected.add(StockMoveKind.RECEIPT, post.item, post.quantity)
                elif step[0] == "ship":
                    shipped = ship_order(uow, str(step[1]), step[2], actor="t", now=NOW)  # type: ignore[arg-type]
                    expected.add(StockMoveKind.SHIPMENT, shipped.post.item, -shipped.post.quantity)
                    assert (shipped.order_status is OrderStatus.SHIPPED) == (shipped.remaining == 0)
                elif step[0] == "adjust":
                    post = adjust_stock(uow, str(step[1]), float(step[2]), reason="count", actor="t", now=NOW)  # type: ignore[arg-type]
                    expected.add(StockMoveKind.ADJUSTMENT, post.item, post.quantity)
                elif step[0] == "report":
                    number, seq = str(step[1]).split("/")
                    result = report_completion(uow, number, int(seq), float(step[2]), float(step[3]),  # type: ignore[arg-type]
                                               client_key=f"k{n}", actor="t", now=NOW)
                    accepted.append(f"k{n}")
                    for item, qty in result.issued:
                        expected.add(StockMoveKind.ISSUE, item, qty)
                    expected.add(StockMoveKind.OUTPUT, result.work_order.item, result.output)
                else:
                    if not accepted:
                        continue
                    target = accepted[int(step[1]) % len(accepted)]  # type: ignore[call-overload]
                    result = correct_completion(uow, target, client_key=f"fix-{n}", actor="t", now=NOW)
                    for item, qty in result.issued:
                        expected.add(StockMoveKind.ISSUE, item, qty)
                    expected.add(StockMoveKind.OUTPUT, result.work_order.item, result.output)
            except LpmsError:
                rejected += 1
        with uow:
            on_hand = uow.stock.on_hand(ITEMS)
            for item in ITEMS:
                assert on_hand[item] == pytest.approx(expected.on_hand(item), abs=1e-9), item
                assert on_hand[item] >= -1e-9, f"{item} went below zero"
            assert balance_problems(uow.session) == []
            # the ledger's moves, by kind, are exactly what the accepted posts and reports said
            for kind, per_item in expected.by_kind.items():
                for item, qty in per_item.items():
                    total = sum(mv.quantity for mv in uow.stock.moves(item=item) if mv.kind is kind)
                    sign = -1.0 if kind in (StockMoveKind.ISSUE, StockMoveKind.SHIPMENT) else 1.0
                    assert sign * total == pytest.approx(qty, abs=1e-9), (kind, item)
            for number in ("WO-P", "WO-Q"):
                wo = uow.work_orders.get(number)
                ops = wo.operations
                assert wo.good == ops[-1].good and wo.scrap == pytest.approx(sum(op.scrap for op in ops))
                for before, after in zip(ops, ops[1:]):
                    assert after.good + after.scrap <= before.good + 1e-9
                first = ops[0].good + ops[0].scrap
                issued = uow.stock.issued(wo.id)
                for c in wo.components:
                    assert issued.get(c.item, 0.0) == pytest.approx(first * c.qty_per, abs=1e-9)
