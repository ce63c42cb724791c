from __future__ import annotations

import datetime as dt

import pytest

from lpms.domain.enums import OffsetRule as R
from lpms.planning.demand import ForecastBucket, OrderLine, average_forecasts, gross_demand, net_demand, spread_evenly

# Paper Table 1: forecast 3000 over 10 days (300 a day), one order of 700 due on day 2.
FORECAST = [300.0] * 10
ORDERS = [OrderLine(1, 700)]
TABLE_1 = {
    R.FORECAST_ONLY: [300, 300, 300, 300, 300, 300, 300, 300, 300, 300],
    R.ORDERS_ONLY: [0, 700, 0, 0, 0, 0, 0, 0, 0, 0],
    R.NO_OFFSET: [300, 1000, 300, 300, 300, 300, 300, 300, 300, 300],
    R.BACKWARD: [0, 700, 300, 300, 300, 300, 300, 300, 300, 300],
    R.FORWARD: [300, 700, 0, 200, 300, 300, 300, 300, 300, 300],
    R.BACKWARD_THEN_FORWARD: [0, 700, 200, 300, 300, 300, 300, 300, 300, 300],
    R.FORWARD_THEN_BACKWARD: [300, 700, 0, 200, 300, 300, 300, 300, 300, 300],
}
TOTALS = {R.FORECAST_ONLY: 3000, R.ORDERS_ONLY: 700, R.NO_OFFSET: 3700, R.BACKWARD: 3100, R.FORWARD: 3000,
          R.BACKWARD_THEN_FORWARD: 3000, R.FORWARD_THEN_BACKWARD: 3000}


@pytest.mark.parametrize("rule", list(R), ids=lambda r: r.value)
def test_offset_rules_reproduce_paper_table_1(rule: R) -> None:
    result = gross_demand(FORECAST, ORDERS, rule)
    assert result == TABLE_1[rule]
    assert sum(result) == TOTALS[rule]


def test_backward_offset_consumes_own_period_then_earlier_forecast_first() -> None:
    # Table 2's orders: 200 in period 3 and 380 in period 8 against 150 / 250 forecast
    fc = [150.0] * 6 + [250.0] * 6
    gd = gross_demand(fc, [OrderLine(2, 200), OrderLine(7, 380)], R.BACKWARD)
    assert gd == [150, 100, 200, 150, 150, 150, 120, 380, 250, 250, 250, 250]


def test_orders_are_processed_in_due_order_and_always_count_in_full() -> None:
    fc = [100.0, 100.0, 100.0]
    # the later order is listed first; the earlier one still consumes period 1 first
    gd = gross_demand(fc, [OrderLine(2, 150), OrderLine(1, 150)], R.BACKWARD)
    assert gd == [0, 150, 150]
    gd = gross_demand([10.0, 10.0], [OrderLine(0, 500)], R.FORWARD)
    assert gd == [500, 0]


def test_consumption_windows_limit_how_far_an_order_reaches() -> None:
    fc = [100.0] * 5
    assert gross_demand(fc, [OrderLine(4, 350)], R.BACKWARD, backward_window=1) == [100, 100, 100, 0, 350]
    assert gross_demand(fc, [OrderLine(0, 350)], R.FORWARD, forward_window=2) == [350, 0, 0, 100, 100]
    assert gross_demand(fc, [OrderLine(2, 450)], R.BACKWARD_THEN_FORWARD, backward_window=1, forward_window=1) == [100, 0, 450, 0, 100]


def test_spreading_keeps_integer_totals_exact() -> None:
    assert spread_evenly(900, 6) == [150] * 6
    parts = spread_evenly(1000, 3)
    assert parts == [333, 333, 334] and sum(parts) == 1000
    parts = spread_evenly(10, 4)
    assert sum(parts) == 10 and all(p in (2, 3) for p in parts)
    assert spread_evenly(1.5, 3) == [0.5, 0.5, 0.5]


def test_monthly_forecast_is_averaged_over_the_weeks_inside() -> None:
    starts = [dt.date(2027, 1, 4) + dt.timedelta(weeks=k) for k in range(12)]
    buckets = [ForecastBucket(dt.date(2027, 1, 4), dt.date(2027, 2, 14), 900),
               ForecastBucket(dt.date(2027, 2, 15), dt.date(2027, 3, 28), 1500),
               ForecastBucket(dt.date(2028, 1, 1), dt.date(2028, 1, 31), 77)]
    per_period, outside = average_forecasts(starts, buckets)
    assert per_period == [150] * 6 + [250] * 6
    assert outside == [buckets[2]]


def test_net_demand_equals_gross_without_stock_or_safety_stock() -> None:
    gd = [150.0, 100.0, 0.0, 380.0]
    assert net_demand(gd) == gd


def test_stock_and_receipts_are_drawn_by_the_earliest_demand() -> None:
    assert net_demand([100, 100, 100], on_hand=150) == [0, 50, 100]
    assert net_demand([100, 100, 100], on_hand=0, receipts=[0, 120, 0]) == [100, 0, 80]


def test_safety_stock_is_built_once_and_again_when_it_rises() -> None:
    assert net_demand([100, 100, 100], safety_stock=20) == [120, 100, 100]
    assert net_demand([100, 100, 100, 100], safety_stock=[10, 10, 30, 30]) == [110, 100, 120, 100]
    # a falling level releases stock; net demand is never negative
    assert net_demand([100, 0, 100], safety_stock=[50, 0, 0]) == [150, 0, 50]
