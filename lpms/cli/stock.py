"""`lpms stock receive|ship|adjust|show`: the stock ledger (docs/process.md, "Stock ledger")."""
from __future__ import annotations

import argparse
import json
from typing import Any

from lpms.cli._common import Parser, actor, now_of, with_database


def _number(text: str) -> float:
    try:
        return float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None


def cmd_receive(args: argparse.Namespace) -> int:
    from lpms.services.stock import receive_stock

    now = now_of(args)
    post: Any = with_database(args, lambda uow, _s: receive_stock(uow, args.item, args.quantity, actor=actor(),
                                                                  now=now, reference=args.receipt or ""))
    taken = "".join(f"; scheduled receipt of {d} fulfilled by {q:g}" for d, q in post.receipts_taken)
    print(f"received {post.quantity:g} {post.item}: on hand {post.on_hand:g}{taken}")
    return 0


def cmd_ship(args: argparse.Namespace) -> int:
    from lpms.services.stock import ship_order

    now = now_of(args)
    result: Any = with_database(args, lambda uow, _s: ship_order(uow, args.order, args.quantity, actor=actor(),
                                                                 now=now))
    print(f"shipped {-result.post.quantity:g} {result.post.item} against {result.order}: {result.shipped:g} of "
          f"{result.ordered:g} shipped, order {result.order_status.value}; on hand {result.post.on_hand:g}")
    return 0


def cmd_adjust(args: argparse.Namespace) -> int:
    from lpms.services.stock import adjust_stock

    now = now_of(args)
    post: Any = with_database(args, lambda uow, _s: adjust_stock(uow, args.item, args.quantity, reason=args.reason,
                                                                 actor=actor(), now=now))
    print(f"adjusted {post.item} by {post.quantity:+g}: on hand {post.on_hand:g}")
    return 0


def cmd_show(args: argparse.Namespace) -> int:
    from lpms.formats.render import Table
    from lpms.services.stock import stock_levels

    levels: Any = with_database(args, lambda uow, _s: stock_levels(uow, args.items or None))
    if args.format == "json":
        print(json.dumps([{"item": lvl.item, "opening": round(lvl.opening, 6) + 0.0,
                           "moves": round(lvl.moves, 6) + 0.0, "on_hand": round(lvl.on_hand, 6) + 0.0}
                          for lvl in levels], indent=2))
        return 0
    if not levels:
        print("no stock")
        return 0
    print(Table(["item", "opening", "moves", "on hand"], [[lvl.item, lvl.opening, lvl.moves, lvl.on_hand]
                                                          for lvl in levels], blank_zero=False).render())
    return 0


def register(sub: Any, common: argparse.ArgumentParser) -> None:
    """Add `lpms stock receive|ship|adjust|show`."""
    st = sub.add_parser("stock", help="The stock ledger: receipts, shipments, adjustments, on-hand.",
                        description="The stock ledger. On-hand = opening balance (stock.csv) + the moves: receipts, "
                                    "work-order output, component issues, shipments, adjustments.")
    ssub = st.add_subparsers(dest="stock_command", metavar="ACTION", parser_class=Parser)
    ssub.required = True
    rec = ssub.add_parser("receive", parents=[common], help="post the receipt of a purchase",
                          description="Post a purchase that arrived; it fulfils the item's open scheduled receipts, "
                                      "earliest first.")
    rec.add_argument("item", metavar="ITEM")
    rec.add_argument("quantity", type=_number, metavar="QTY")
    rec.add_argument("--receipt", metavar="REF", help="the receipt's reference (e.g. the purchase order)")
    rec.set_defaults(func=cmd_receive)
    ship = ssub.add_parser("ship", parents=[common], help="ship against a customer order",
                           description="Ship from stock against a customer order (default: all that is left to "
                                       "ship). Never more than is on hand; a fully shipped order is closed.")
    ship.add_argument("order", metavar="ORDER")
    ship.add_argument("quantity", type=_number, nargs="?", metavar="QTY")
    ship.set_defaults(func=cmd_ship)
    adj = ssub.add_parser("adjust", parents=[common], help="change on-hand by a signed quantity, with a reason",
                          description="Change an item's on-hand by QTY (negative to take away), with a reason. "
                                      "On-hand never goes below zero.")
    adj.add_argument("item", metavar="ITEM")
    adj.add_argument("quantity", type=_number, metavar="QTY")
    adj.add_argument("--reason", required=True, metavar="TEXT")
    adj.set_defaults(func=cmd_adjust)
    show = ssub.add_parser("show", parents=[common], help="on-hand per item (opening, moves, on hand)",
                           description="On-hand per item: the opening balance, the sum of its moves, on hand.")
    show.add_argument("items", nargs="*", metavar="ITEM", help="only these items (default: all with stock or moves)")
    show.add_argument("--format", choices=["table", "json"], default="table", help="output format (default: table)")
    show.set_defaults(func=cmd_show)
