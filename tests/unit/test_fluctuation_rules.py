"""The pure rules of fluctuation detection: thresholds, demand comparison, fingerprint."""
from __future__ import annotations

import pytest

from lpms.db.measures_repo import DemandRecord
from lpms.domain.enums import FluctuationKind as K
from lpms.domain.enums import OrderStatus
from lpms.domain.errors import InvalidInput
from lpms.services.fluctuations import FluctuationThresholds, demand_findings, describe, fingerprint

BASE = DemandRecord({"SO-1": ["P", 30.0, "2026-12-03"], "SO-2": ["Q", 20.0, "2026-12-10"]},
                    {"P|2026-11-30|2027-01-10": 600.0})


def test_thresholds_must_be_finite_non_negative_and_fractions_at_most_1() -> None:
    for bad in ({"behind_plan_units": -1}, {"downtime_min": float("inf")}, {"kit_rate": 1.5}, {"scrap_fraction": 2}):
        with pytest.raises(InvalidInput, match="fluctuation threshold"):
            FluctuationThresholds(**bad)


def test_the_fingerprint_ignores_order_of_insertion_and_sees_every_change() -> None:
    same = DemandRecord(dict(reversed(list(BASE.orders.items()))), dict(BASE.forecasts))
    assert fingerprint(same) == fingerprint(BASE)
    moved = DemandRecord({**BASE.orders, "SO-1": ["P", 30.0, "2026-12-04"]}, BASE.forecasts)
    assert fingerprint(moved) != fingerprint(BASE)


def test_demand_findings_by_kind_and_threshold() -> None:
    now = DemandRecord({"SO-1": ["P", 33.0, "2026-12-03"], "SO-3": ["Q", 4.0, "2026-12-20"]},
                       {"P|2026-11-30|2027-01-10": 597.0, "P|2027-01-11|2027-01-17": 2.0})
    t = FluctuationThresholds(demand_change_units=3)
    got = {(f.kind, f.subject, f.amount) for f in demand_findings(BASE, now, {}, t)}
    # SO-1 +3 and SO-3 (4 units, above 3) ... forecast: -3 and +2 move 5 units in all
    assert got == {(K.ORDER_NEW, "SO-3", 4.0), (K.ORDER_CANCELLED, "SO-2", 20.0), (K.FORECAST_CHANGED, "P", -1.0)}
    shipped = demand_findings(BASE, now, {"SO-2": OrderStatus.SHIPPED}, FluctuationThresholds(demand_change_units=2.9))
    assert {(f.kind, f.subject) for f in shipped} == {(K.ORDER_NEW, "SO-3"), (K.ORDER_CHANGED, "SO-1"),
                                                      (K.FORECAST_CHANGED, "P")}
    cancelled = demand_findings(BASE, now, {"SO-2": OrderStatus.CANCELLED}, t)
    [c] = [f for f in cancelled if f.kind is K.ORDER_CANCELLED]
    assert c.detail["status"] == "cancelled" and describe(c) == "order SO-2 cancelled: 20 Q due 2026-12-10"
    assert demand_findings(BASE, BASE, {}, FluctuationThresholds()) == []
