"""The stock ledger: receipts of purchases, shipments against customer orders, adjustments.

On-hand of an item is its opening balance (the ``stock`` row, as imported) plus the sum of its
moves; work-order output and component issues are posted by the completion reports
(``lpms.services.reports``). Every post is one move and one audit row.

* A receipt adds stock and takes the quantity off the item's open scheduled receipts,
  earliest due first, so that the arrived purchase is not counted again as future supply.
* A shipment never takes stock that is not there (whatever the negative-stock setting), nor
  more than the order line has left to ship; a line shipped in full is closed (``shipped``).
* An adjustment changes on-hand by a signed quantity with a reason; it never leaves on-hand
  below zero.

Writers of one item queue on its row (PostgreSQL ``FOR NO KEY UPDATE``; SQLite has one writer).
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from lpms.db.shop_floor import StockLevel, StockMoveRecord
from lpms.domain.enums import OrderStatus, StockMoveKind
from lpms.domain.errors import Conflict, InvalidInput, StockShortage
from lpms.domain.transitions import ORDER_TRANSITIONS, check_transition
from lpms.services import _checks
from lpms.services._checks import LOCK_TIMEOUT_S, close_to_or_below, fmt
from lpms.services.shop_floor_uow import ShopFloorUnitOfWork

BUSY_MESSAGE = "the stock is being changed by someone else; try again"
SHIPPABLE = (OrderStatus.OPEN, OrderStatus.CONFIRMED)


@dataclass(frozen=True)
class StockPost:
    move_id: int
    item: str
    kind: StockMoveKind
    quantity: float  # signed, as in the ledger
    on_hand: float  # after the move
    receipts_taken: tuple[tuple[dt.date, float], ...] = ()  # receipt: scheduled receipts it fulfilled


@dataclass(frozen=True)
class ShipmentResult:
    post: StockPost
    order: str
    ordered: float
    shipped: float  # in total, after this shipment
    remaining: float
    order_status: OrderStatus


def _r(value: float) -> float:
    return round(value, 9) + 0.0


def receive_stock(uow: ShopFloorUnitOfWork, item: str, quantity: float, *, actor: str, now: dt.datetime,
                  reference: str = "", lock_timeout: float = LOCK_TIMEOUT_S) -> StockPost:
    """Post the receipt of a purchase. Raises InvalidInput, NotFound (item), Busy."""
    qty = _checks.quantity(quantity, "receipt quantity", zero=False)
    ref = _checks.text(reference, "receipt reference", max_len=64)
    with uow:
        uow.locks.begin(None, timeout=lock_timeout, busy_message=BUSY_MESSAGE)
        uow.stock.item_ids([item], lock=True)
        move_id = uow.stock.add_move(item=item, kind=StockMoveKind.RECEIPT, quantity=qty, reference=ref,
                                     posted_by=actor, posted_at=now)
        taken = uow.stock.consume_receipts(item, qty)
        on_hand = uow.stock.on_hand([item])[item]
        uow.audit.add(actor=actor, action="receive", entity="stock", entity_key=item, at=now,
                      detail={"quantity": qty, "reference": ref, "on_hand": on_hand,
                              "scheduled_receipts": [[d.isoformat(), q] for d, q in taken]})
        uow.commit()
    return StockPost(move_id, item, StockMoveKind.RECEIPT, qty, on_hand, tuple(taken))


def ship_order(uow: ShopFloorUnitOfWork, order: str, quantity: float | None = None, *, actor: str,
               now: dt.datetime, lock_timeout: float = LOCK_TIMEOUT_S) -> ShipmentResult:
    """Ship ``quantity`` (default: all that is left) of a customer order line from stock.

    Raises InvalidInput (bad or too large a quantity), NotFound (order), Conflict (the order is
    shipped or cancelled), StockShortage (not on hand), Busy.
    """
    qty = None if quantity is None else _checks.quantity(quantity, "shipment quantity", zero=False)
    with uow:
        uow.locks.begin(None, timeout=lock_timeout, busy_message=BUSY_MESSAGE)
        line = uow.stock.order(order, lock=True)
        if line.status not in SHIPPABLE:
            raise Conflict(f"customer order {order} is {line.status.value}: nothing is left to ship")
        remaining = _r(line.quantity - line.shipped)
        if qty is None:
            qty = remaining
        if qty <= 0:
            raise Conflict(f"customer order {order} has nothing left to ship")
        if not close_to_or_below(qty, remaining):
            raise InvalidInput(f"customer order {order} has {fmt(remaining)} of {fmt(line.quantity)} {line.item} left to "
                               f"ship, not {fmt(qty)}")
        uow.stock.item_ids([line.item], lock=True)
        on_hand = uow.stock.on_hand([line.item])[line.item]
        if not close_to_or_below(qty, on_hand):
            raise StockShortage(f"shipping customer order {order}", [(line.item, qty, on_hand)])
        move_id = uow.stock.add_move(item=line.item, kind=StockMoveKind.SHIPMENT, quantity=-qty,
                                     customer_order_id=line.id, reference=order, posted_by=actor, posted_at=now)
        shipped = _r(line.shipped + qty)
        status = line.status
        if close_to_or_below(line.quantity, shipped):
            status = check_transition(f"customer order {order}", ORDER_TRANSITIONS, line.status, OrderStatus.SHIPPED)
            uow.stock.set_order_status(line.id, status)
        after = _r(on_hand - qty)
        uow.audit.add(actor=actor, action="ship", entity="customer_order", entity_key=order, at=now,
                      detail={"item": line.item, "quantity": qty, "shipped": shipped, "ordered": line.quantity,
                              "before": {"status": line.status.value}, "after": {"status": status.value},
                              "on_hand": after})
        uow.commit()
    return ShipmentResult(StockPost(move_id, line.item, StockMoveKind.SHIPMENT, -qty, after), order, line.quantity,
                          shipped, _r(max(line.quantity - shipped, 0.0)), status)


def adjust_stock(uow: ShopFloorUnitOfWork, item: str, quantity: float, *, reason: str, actor: str,
                 now: dt.datetime, lock_timeout: float = LOCK_TIMEOUT_S) -> StockPost:
    """Change on-hand by ``quantity`` (signed) with a reason (a count, breakage, a found box).

    Raises InvalidInput (0, no reason), NotFound (item), StockShortage (below zero), Busy.
    """
    qty = _checks.quantity(quantity, "adjustment quantity", zero=False, negative=True)
    why = _checks.text(reason, "reason", max_len=2000, required=True)
    with uow:
        uow.locks.begin(None, timeout=lock_timeout, busy_message=BUSY_MESSAGE)
        uow.stock.item_ids([item], lock=True)
        on_hand = uow.stock.on_hand([item])[item]
        if qty < 0 and not close_to_or_below(-qty, on_hand):
            raise StockShortage(f"adjusting {item} by {fmt(qty)}", [(item, -qty, on_hand)])
        move_id = uow.stock.add_move(item=item, kind=StockMoveKind.ADJUSTMENT, quantity=qty, reason=why,
                                     posted_by=actor, posted_at=now)
        after = _r(on_hand + qty)
        uow.audit.add(actor=actor, action="adjust", entity="stock", entity_key=item, at=now,
                      detail={"quantity": qty, "reason": why, "before": {"on_hand": on_hand},
                              "after": {"on_hand": after}})
        uow.commit()
    return StockPost(move_id, item, StockMoveKind.ADJUSTMENT, qty, after)


def stock_levels(uow: ShopFloorUnitOfWork, items: list[str] | None = None) -> list[StockLevel]:
    """Opening balance, moves and on-hand per item (all items with stock or moves, or those named)."""
    with uow:
        if items:
            uow.stock.item_ids(items)  # NotFound
        return list(uow.stock.levels(items or None).values())


def stock_moves(uow: ShopFloorUnitOfWork, *, item: str | None = None,
                work_order: str | None = None) -> list[StockMoveRecord]:
    with uow:
        return uow.stock.moves(item=item, work_order=work_order)
