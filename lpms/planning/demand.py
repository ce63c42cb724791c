"""Demand: averaging of coarse forecasts, offset rules between orders and forecast, net demand.

Periods are 0-based in code; the CLI and reports number them from 1.
"""
from __future__ import annotations

import datetime as dt
import math
from collections.abc import Sequence
from dataclasses import dataclass

from lpms.domain.enums import OffsetRule
from lpms.domain.errors import InvalidInput


def spread_evenly(total: float, count: int) -> list[float]:
    """Spread ``total`` over ``count`` periods; whole totals give whole quantities that add up exactly.

    Remainders go to evenly spaced periods (cumulative rounding), so nothing is lost.
    """
    if count <= 0:
        raise InvalidInput("count must be positive")
    if float(total).is_integer():
        whole = int(total)
        marks = [(whole * k) // count for k in range(count + 1)]
        return [float(marks[k + 1] - marks[k]) for k in range(count)]
    return [total / count] * count


@dataclass(frozen=True)
class ForecastBucket:
    """A forecast quantity over an inclusive date range (a month, a week, any range)."""

    start: dt.date
    end: dt.date
    quantity: float


def average_forecasts(period_starts: Sequence[dt.date], buckets: Sequence[ForecastBucket]) -> tuple[list[float], list[ForecastBucket]]:
    """Spread each bucket evenly over the planning periods that start inside it.

    Returns the per-period forecast and the buckets that cover no planning period (ignored,
    so the caller can report them).
    """
    result = [0.0] * len(period_starts)
    outside = []
    for bucket in buckets:
        inside = [i for i, start in enumerate(period_starts) if bucket.start <= start <= bucket.end]
        if not inside:
            outside.append(bucket)
            continue
        for i, q in zip(inside, spread_evenly(bucket.quantity, len(inside))):
            result[i] += q
    return result, outside


@dataclass(frozen=True)
class OrderLine:
    period: int  # 0-based period of the due date
    quantity: float


def _search_order(rule: OffsetRule, p: int, n: int, back: int | None, fwd: int | None) -> list[int]:
    earliest = 0 if back is None else max(0, p - back)
    latest = n - 1 if fwd is None else min(n - 1, p + fwd)
    backward = list(range(p - 1, earliest - 1, -1))
    forward = list(range(p + 1, latest + 1))
    if rule is OffsetRule.BACKWARD:
        return [p] + backward
    if rule is OffsetRule.FORWARD:
        return [p] + forward
    if rule is OffsetRule.BACKWARD_THEN_FORWARD:
        return [p] + backward + forward
    if rule is OffsetRule.FORWARD_THEN_BACKWARD:
        return [p] + forward + backward
    raise InvalidInput(f"{rule} does not consume forecast")


def gross_demand(
    forecast: Sequence[float],
    orders: Sequence[OrderLine],
    rule: OffsetRule,
    backward_window: int | None = None,
    forward_window: int | None = None,
) -> list[float]:
    """Combine forecast and customer orders under an offset rule (paper 2.1.1, Table 1).

    Orders are taken in due order; each counts in full and consumes forecast starting with its
    own period, then earlier (backward) or later (forward) periods, within the optional windows.
    """
    n = len(forecast)
    order_qty = [0.0] * n
    for o in orders:
        if not 0 <= o.period < n:
            raise InvalidInput(f"order period {o.period + 1} outside 1..{n}")
        order_qty[o.period] += o.quantity
    if rule is OffsetRule.FORECAST_ONLY:
        return list(map(float, forecast))
    if rule is OffsetRule.ORDERS_ONLY:
        return order_qty
    if rule is OffsetRule.NO_OFFSET:
        return [f + q for f, q in zip(forecast, order_qty)]
    remaining = list(map(float, forecast))
    for o in sorted(orders, key=lambda o: o.period):  # stable: same-period orders keep their input order
        left = o.quantity
        for j in _search_order(rule, o.period, n, backward_window, forward_window):
            if left <= 0:
                break
            take = min(remaining[j], left)
            remaining[j] -= take
            left -= take
    return [r + q for r, q in zip(remaining, order_qty)]


def net_demand(
    gross: Sequence[float],
    on_hand: float = 0.0,
    receipts: Sequence[float] | None = None,
    safety_stock: float | Sequence[float] = 0.0,
) -> list[float]:
    """Lot-for-lot netting: ND_i = max(GD_i + SS_i - projected_{i-1} - SR_i, 0).

    Stock on hand and scheduled receipts are drawn by the earliest demand; safety stock is
    built up to its level once and again whenever the level rises. Never negative.
    """
    n = len(gross)
    receipts = list(receipts) if receipts is not None else [0.0] * n
    levels = [float(safety_stock)] * n if isinstance(safety_stock, (int, float)) else list(map(float, safety_stock))
    if len(receipts) != n or len(levels) != n:
        raise InvalidInput("receipts and safety stock must have one value per period")
    projected = float(on_hand)
    result = []
    for i in range(n):
        available = projected + receipts[i]
        need = gross[i] + levels[i] - available
        nd = need if need > 1e-12 else 0.0
        if math.isclose(nd, round(nd), abs_tol=1e-9):
            nd = float(round(nd))
        result.append(nd)
        projected = available + nd - gross[i]
    return result


def derive_demand(
    forecast: Sequence[float],
    orders: Sequence[OrderLine],
    rule: OffsetRule,
    *,
    backward_window: int | None = None,
    forward_window: int | None = None,
    on_hand: float = 0.0,
    receipts: Sequence[float] | None = None,
    safety_stock: float | Sequence[float] = 0.0,
) -> tuple[list[float], list[float]]:
    """Gross and net demand of one item: the offset rule over forecast and orders, then netting.

    The one composition of the paper's demand steps, used by plan runs and scenario files alike.
    """
    gross = gross_demand(forecast, orders, rule, backward_window, forward_window)
    return gross, net_demand(gross, on_hand, receipts, safety_stock)
