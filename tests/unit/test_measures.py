"""Process-management measures (lpms.planning.measures) on hand-made snapshots, plus properties
of the kit allocation against an independent closed form."""
from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lpms.domain.enums import WorkOrderStatus as S
from lpms.domain.errors import InvalidInput
from lpms.planning.measures import (
    Buffer,
    IntervalLoad,
    KitReport,
    MeasuresSnapshot,
    Operation,
    Output,
    OvertimeUse,
    Purchase,
    Requirement,
    WorkOrder,
    buffer_levels,
    kit_rate,
    on_time,
    overtime,
    periods_to_dates,
    progress,
    supply_of,
    wip,
)

NOW = 3  # the current period in most cases


def wo(number: str, start: int | None = None, due: int | None = None, *, qty: float = 10.0, item: str = "ASM",
       status: S = S.RELEASED, priority: int = 0, good: float = 0.0, scrap: float = 0.0,
       operations: tuple[Operation, ...] = (), completed: int | None = None) -> WorkOrder:
    if start is None:
        start = NOW if due is None else min(NOW, due)
    return WorkOrder(number=number, item=item, interval=f"I:{item}", quantity=qty, start_period=start,
                     due_period=start if due is None else due, status=status, good=good, scrap=scrap,
                     priority=priority, operations=operations, completed_period=completed)


def snap(**kw: Any) -> MeasuresSnapshot:
    kw.setdefault("as_of_period", NOW)
    kw.setdefault("elapsed", 1.0)
    return MeasuresSnapshot(**kw)


def needs(*numbers: str, component: str = "X", per: float = 1.0) -> tuple[Requirement, ...]:
    return tuple(Requirement(n, component, per) for n in numbers)


# --- kit rate: hand-made cases ------------------------------------------------------------------


def test_an_order_kitted_from_stock_has_coverage_1_and_its_kit_is_complete_now() -> None:
    report = kit_rate(snap(work_orders=(wo("WO-1"),), requirements=needs("WO-1", per=2.0), on_hand={"X": 20.0}))
    assert report.rate == 1.0
    (status,) = report.orders
    assert (status.coverage, status.short, status.complete_period, status.complete) == (1.0, (), NOW, True)


def test_two_orders_competing_for_one_component_cannot_both_count_the_same_units() -> None:
    orders = (wo("WO-1", priority=1), wo("WO-2", priority=5))
    report = kit_rate(snap(work_orders=orders, requirements=needs("WO-1", "WO-2"), on_hand={"X": 15.0}))
    # same planned start: the higher priority is served first
    assert [o.number for o in report.orders] == ["WO-2", "WO-1"]
    first, second = report.orders
    assert first.complete and first.coverage == 1.0
    assert not second.complete
    assert second.coverage == pytest.approx(0.5)
    assert [(c.item, c.required, c.available) for c in second.short] == [("X", 10.0, 5.0)]
    assert second.complete_period is None  # no more X within the horizon
    assert report.rate == 0.5
    assert report.kitted == 1


def test_an_earlier_planned_start_comes_before_a_higher_priority() -> None:
    orders = (wo("WO-1", start=NOW + 1, priority=9), wo("WO-2", start=NOW, priority=0))
    report = kit_rate(snap(work_orders=orders, requirements=needs("WO-1", "WO-2"), on_hand={"X": 10.0}), window=2)
    assert [(o.number, o.complete) for o in report.orders] == [("WO-2", True), ("WO-1", False)]


def test_equal_start_and_priority_are_served_by_number() -> None:
    orders = (wo("WO-B"), wo("WO-A"))
    report = kit_rate(snap(work_orders=orders, requirements=needs("WO-A", "WO-B"), on_hand={"X": 10.0}))
    assert [(o.number, o.complete) for o in report.orders] == [("WO-A", True), ("WO-B", False)]


def test_a_purchase_arriving_later_projects_the_kit_complete_in_its_period() -> None:
    s = snap(work_orders=(wo("WO-1"),), requirements=needs("WO-1"), on_hand={"X": 4.0},
             purchases=(Purchase("X", NOW + 2, 6.0), Purchase("X", NOW + 4, 100.0)), horizon_end=NOW + 5)
    (status,) = kit_rate(s).orders
    assert status.coverage == pytest.approx(0.4)
    assert [(c.item, c.required, c.available) for c in status.short] == [("X", 10.0, 4.0)]
    assert status.complete_period == NOW + 2
    # the horizon ends before the purchase arrives: never complete within it
    (status,) = kit_rate(snap(work_orders=(wo("WO-1"),), requirements=needs("WO-1"), on_hand={"X": 4.0},
                              purchases=(Purchase("X", NOW + 2, 6.0),), horizon_end=NOW + 1)).orders
    assert status.complete_period is None
    assert status.coverage == pytest.approx(0.4)


def test_supply_due_in_the_start_period_counts_at_planned_start() -> None:
    # as in the plan model: what arrives in period t can be consumed by starts in period t
    s = snap(work_orders=(wo("WO-1", start=NOW + 2),), requirements=needs("WO-1"),
             purchases=(Purchase("X", NOW + 2, 10.0),))
    assert kit_rate(s, window=1).rate is None  # the order starts after the window
    report = kit_rate(s, window=3)
    assert report.rate == 1.0
    assert report.orders[0].complete_period == NOW + 2


def test_on_hand_only_counts_what_is_on_the_shelf_now_in_the_same_line() -> None:
    """The supervisor's "ready": a component made or bought within the start period completes the
    projected kit, but is not on hand yet; on-hand is allocated in the same order as the
    projection (the order ahead in line takes its kit first)."""
    orders = (wo("WO-1", priority=5), wo("WO-2"),
              wo("WO-X", due=NOW, item="X", qty=15.0))  # makes 15 X this period
    s = snap(work_orders=orders, requirements=needs("WO-1", "WO-2"), on_hand={"X": 12.0},
             purchases=(Purchase("Y", NOW, 1.0),))
    projected = kit_rate(s)
    assert [(o.number, o.complete) for o in projected.orders] == [("WO-1", True), ("WO-2", True)]
    now = kit_rate(s, on_hand_only=True)
    assert [(o.number, o.complete) for o in now.orders] == [("WO-1", True), ("WO-2", False)]
    assert [(c.item, c.required, c.available) for c in now.orders[1].short] == [("X", 10.0, 2.0)]
    assert supply_of(s, {"X", "Y"}, on_hand_only=True) == {"X": [(NOW, 12.0)], "Y": []}


def test_planned_output_of_component_work_orders_is_supply_in_their_due_period() -> None:
    maker = wo("WO-X", start=NOW, due=NOW + 1, item="X", qty=12.0, good=1.0, scrap=1.0)  # 10 still to come
    s = snap(work_orders=(maker, wo("WO-1", start=NOW + 1), wo("WO-2", start=NOW + 1)),
             requirements=needs("WO-1", "WO-2", per=0.5))  # 5 X each
    report = kit_rate(s, window=2)
    assert [o.number for o in report.orders] == ["WO-1", "WO-2"]  # WO-X has no requirements: not a kitting order
    assert report.rate == 1.0
    assert all(o.complete_period == NOW + 1 for o in report.orders)
    # a finished or cancelled component order supplies nothing more
    for status in (S.COMPLETED, S.CANCELLED):
        done = wo("WO-X", start=NOW, due=NOW + 1, item="X", qty=12.0, status=status,
                  completed=NOW if status == S.COMPLETED else None)
        again = kit_rate(snap(work_orders=(done, wo("WO-1", start=NOW + 1)), requirements=needs("WO-1")), window=2)
        assert again.rate == 0.0 and again.orders[0].complete_period is None


def test_coverage_is_the_minimum_over_components_and_every_short_component_is_listed() -> None:
    reqs = (Requirement("WO-1", "X", 1.0), Requirement("WO-1", "Y", 2.0), Requirement("WO-1", "Z", 1.0))
    s = snap(work_orders=(wo("WO-1"),), requirements=reqs, on_hand={"X": 10.0, "Y": 5.0, "Z": 8.0},
             purchases=(Purchase("Y", NOW + 1, 15.0), Purchase("Z", NOW + 3, 2.0)))
    (status,) = kit_rate(s).orders
    assert status.coverage == pytest.approx(0.25)  # Y: 5 of 20
    assert [(c.item, c.required, c.available) for c in status.short] == [("Y", 20.0, 5.0), ("Z", 10.0, 8.0)]
    assert status.complete_period == NOW + 3  # the last component to become whole


def test_a_short_order_first_in_line_keeps_its_claim_on_later_arrivals() -> None:
    # WO-1 (start now) is short until the purchase in NOW+1; WO-2 (start NOW+2) is behind it
    s = snap(work_orders=(wo("WO-1"), wo("WO-2", start=NOW + 2)), requirements=needs("WO-1", "WO-2"),
             purchases=(Purchase("X", NOW + 1, 10.0),))
    first, second = kit_rate(s, window=3).orders
    assert (first.coverage, first.complete_period) == (0.0, NOW + 1)
    assert (second.coverage, second.complete_period) == (0.0, None)
    assert second.short[0].available == 0.0


def test_issued_components_reduce_the_requirement_and_lines_for_one_component_add_up() -> None:
    started = wo("WO-1", status=S.IN_PROGRESS, good=0.0,
                 operations=(Operation(10, "WC1", 1.0, good=4.0), Operation(20, "WC2", 1.0)))
    reqs = (Requirement("WO-1", "X", 1.0, issued=4.0), Requirement("WO-1", "X", 1.0, issued=4.0))
    (status,) = kit_rate(snap(work_orders=(started,), requirements=reqs, on_hand={"X": 11.0})).orders
    assert [(c.required, c.available) for c in status.short] == [(12.0, 11.0)]


def test_zero_requirement_is_kitted_and_complete_now() -> None:
    reqs = (Requirement("WO-1", "X", 0.0), Requirement("WO-2", "X", 1.0, issued=10.0), Requirement("WO-3", "X", 1.0))
    s = snap(work_orders=(wo("WO-1"), wo("WO-2"), wo("WO-3", qty=0.0)), requirements=reqs)
    report = kit_rate(s)
    assert report.rate == 1.0
    assert all((o.coverage, o.short, o.complete_period) == (1.0, (), NOW) for o in report.orders)


def test_no_kitting_order_in_the_window_gives_rate_none() -> None:
    later = wo("WO-1", start=NOW + 1)
    done = wo("WO-2", start=NOW, status=S.COMPLETED, completed=NOW)
    cancelled = wo("WO-3", start=NOW, status=S.CANCELLED)
    plain = wo("WO-4", start=NOW)  # no requirements: not a kitting order
    s = snap(work_orders=(later, done, cancelled, plain), requirements=needs("WO-1", "WO-2", "WO-3"),
             on_hand={"X": 100.0})
    report = kit_rate(s)
    assert (report.rate, report.orders, report.kitted) == (None, (), 0)
    out = report.to_dict(as_of="2025-01-15T08:00:00+00:00", period_date=lambda p: f"P{p}")
    assert out == {"as_of": "2025-01-15T08:00:00+00:00", "window": 1, "rate": None, "work_orders": [], "history": []}
    assert kit_rate(snap()).rate is None  # an empty snapshot
    assert kit_rate(s, window=2).rate == 1.0


def test_an_overdue_order_is_due_now_and_comes_first() -> None:
    overdue = wo("WO-OLD", start=NOW - 2, due=NOW - 1)
    s = snap(work_orders=(wo("WO-NEW", priority=99), overdue), requirements=needs("WO-NEW", "WO-OLD"),
             on_hand={"X": 10.0}, purchases=(Purchase("X", NOW - 1, 10.0),))  # an overdue purchase counts now
    report = kit_rate(s)
    assert [(o.number, o.complete, o.complete_period) for o in report.orders] == [
        ("WO-OLD", True, NOW), ("WO-NEW", True, NOW)]


def test_negative_on_hand_is_a_debt_the_first_arrivals_pay_off() -> None:
    s = snap(work_orders=(wo("WO-1"),), requirements=needs("WO-1"), on_hand={"X": -4.0},
             purchases=(Purchase("X", NOW + 1, 6.0), Purchase("X", NOW + 2, 8.0)))
    assert supply_of(s, ["X"]) == {"X": [(NOW + 1, 2.0), (NOW + 2, 8.0)]}
    (status,) = kit_rate(s).orders
    assert (status.coverage, status.complete_period) == (0.0, NOW + 2)


def test_kit_report_to_dict_has_the_documented_shape() -> None:
    orders = (wo("WO-P03-0001", priority=1), wo("WO-P03-0002"))
    s = snap(work_orders=orders, requirements=needs("WO-P03-0001", "WO-P03-0002"), on_hand={"X": 13.0},
             purchases=(Purchase("X", NOW + 1, 7.0),), horizon_end=NOW + 4)
    date_of = periods_to_dates([dt.date(2025, 1, 6) + dt.timedelta(weeks=k) for k in range(8)])
    out = kit_rate(s).to_dict(as_of=dt.datetime(2025, 1, 22, 9, 30, tzinfo=dt.UTC), period_date=date_of,
                              history=[(1, 1.0), (2, 0.5)])
    assert out == {
        "as_of": "2025-01-22T09:30:00+00:00", "window": 1, "rate": 0.5,
        "work_orders": [
            {"number": "WO-P03-0001", "coverage": 1.0, "short": [], "kit_complete_date": "2025-01-20"},
            {"number": "WO-P03-0002", "coverage": 0.3, "short": [{"item": "X", "required": 10.0, "available": 3.0}],
             "kit_complete_date": "2025-01-27"},
        ],
        "history": [{"period": "2025-01-06", "rate": 1.0}, {"period": "2025-01-13", "rate": 0.5}],
    }
    json.dumps(out)
    with pytest.raises(InvalidInput, match="period 9 is outside the calendar"):
        date_of(9)


def test_the_window_must_be_a_period_or_more() -> None:
    with pytest.raises(InvalidInput, match="at least 1 period"):
        kit_rate(snap(), window=0)


# --- kit rate: properties -----------------------------------------------------------------------


@st.composite
def kit_snapshots(draw: st.DrawFn) -> MeasuresSnapshot:
    components = ["X", "Y", "Z"][:draw(st.integers(1, 3))]
    qty = st.integers(0, 30).map(float)
    orders, reqs = [], []
    for k in range(draw(st.integers(0, 8))):
        number = f"WO-{k:02d}"
        status = draw(st.sampled_from([S.RELEASED, S.RELEASED, S.IN_PROGRESS, S.PLANNED, S.CANCELLED]))
        start = draw(st.integers(NOW - 2, NOW + 4))
        orders.append(wo(number, start=start, due=start + draw(st.integers(0, 2)), qty=draw(qty), status=status,
                         priority=draw(st.integers(0, 3))))
        for c in draw(st.lists(st.sampled_from(components), min_size=1, max_size=3)):
            reqs.append(Requirement(number, c, draw(st.sampled_from([0.0, 0.5, 1.0, 2.0])),
                                    issued=draw(st.sampled_from([0.0, 0.0, 3.0]))))
    for k in range(draw(st.integers(0, 3))):  # component work orders
        start = draw(st.integers(NOW - 1, NOW + 4))
        orders.append(wo(f"WO-C{k}", item=draw(st.sampled_from(components)), start=start,
                         due=start + draw(st.integers(0, 2)), qty=draw(qty), good=draw(st.sampled_from([0.0, 2.0]))))
    purchases = [Purchase(draw(st.sampled_from(components)), draw(st.integers(NOW - 2, NOW + 7)), draw(qty))
                 for _ in range(draw(st.integers(0, 4)))]
    on_hand = {c: float(draw(st.integers(-10, 40))) for c in components}
    horizon = draw(st.one_of(st.none(), st.integers(NOW, NOW + 7)))
    return snap(work_orders=tuple(orders), requirements=tuple(reqs), on_hand=on_hand, purchases=tuple(purchases),
                horizon_end=horizon)


def cumulative_supply(s: MeasuresSnapshot, item: str, period: int) -> float:
    """Units of ``item`` that can exist by ``period``, written out independently of supply_of."""
    end = s.horizon_end if s.horizon_end is not None else 10**9
    stock = s.on_hand.get(item, 0.0)
    total = max(stock, 0.0) + sum(p.quantity for p in s.purchases
                                  if p.item == item and max(p.due_period, NOW) <= period and p.due_period <= end)
    total += sum(max(0.0, w.quantity - w.good - w.scrap) for w in s.work_orders
                 if w.item == item and w.status in (S.PLANNED, S.RELEASED, S.IN_PROGRESS)
                 and max(w.due_period, NOW) <= period and w.due_period <= end)
    return max(0.0, total + min(stock, 0.0))


def available_of(report: KitReport, number: str, required: dict[str, float]) -> dict[str, float]:
    status = next(o for o in report.orders if o.number == number)
    short = {c.item: c.available for c in status.short}
    return {c: short.get(c, q) for c, q in required.items()}


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(kit_snapshots(), st.integers(1, 4))
def test_kit_allocation_properties(s: MeasuresSnapshot, window: int) -> None:
    report = kit_rate(s, window)
    required: dict[str, dict[str, float]] = {}
    for r in s.requirements:
        wo_qty = next(w.quantity for w in s.work_orders if w.number == r.work_order)
        required.setdefault(r.work_order, {}).setdefault(r.component, 0.0)
        required[r.work_order][r.component] += r.quantity_per * wo_qty - r.issued
    required = {n: {c: max(0.0, q) for c, q in comps.items()} for n, comps in required.items()}
    last = NOW + window - 1
    due = [w for w in s.work_orders if w.number in required and w.status != S.CANCELLED and w.start_period <= last]
    # every due order, in order of planned start, then priority (higher first), then number
    expected_order = sorted(due, key=lambda w: (w.start_period, -w.priority, w.number))
    assert [o.number for o in report.orders] == [w.number for w in expected_order]
    # the rate is the share of fully covered orders; coverage is a fraction, 1 exactly when nothing is short
    if due:
        assert report.rate == sum(o.coverage == 1.0 for o in report.orders) / len(due)
        assert report.rate is not None and 0.0 <= report.rate <= 1.0
    else:
        assert report.rate is None
    for o in report.orders:
        assert 0.0 <= o.coverage <= 1.0
        assert (o.coverage == 1.0) == (not o.short) == o.complete
        for sc in o.short:
            assert 0.0 <= sc.available < sc.required
        start = max(o.start_period, NOW)
        if o.complete:
            assert o.complete_period is not None and NOW <= o.complete_period <= start
        if o.complete_period is not None and s.horizon_end is not None:
            assert o.complete_period <= s.horizon_end
    # allocation never hands out more than can exist: for every period t, what the orders
    # starting by t hold at their start is within the supply by t; and it matches the closed
    # form of first-come claims: available = clamp(S(start) - claimed before, 0, required)
    claimed_before: dict[str, float] = {}
    held: list[tuple[int, str, float]] = []
    for o in report.orders:
        start = max(o.start_period, NOW)
        got = available_of(report, o.number, required[o.number])
        for c, q in sorted(required[o.number].items()):
            before = claimed_before.get(c, 0.0)
            expect = min(q, max(0.0, cumulative_supply(s, c, start) - before))
            assert got[c] == pytest.approx(expect, abs=1e-9), (o.number, c)
            claimed_before[c] = before + q
            held.append((start, c, got[c]))
        if o.complete_period is not None:
            for c, q in required[o.number].items():
                if q > 1e-9:
                    assert cumulative_supply(s, c, o.complete_period) >= claimed_before[c] - 1e-6
    for t in range(NOW, NOW + window + 8):
        for c in {c for _, c, _ in held}:
            assert sum(q for start, cc, q in held if cc == c and start <= t) <= cumulative_supply(s, c, t) + 1e-6


# --- progress and on-time completion ----------------------------------------------------------


def progress_snapshot(elapsed: float = 0.5) -> MeasuresSnapshot:
    planned = (Output("I:A", "A", 1, 100.0), Output("I:A", "A", 2, 100.0), Output("I:A", "A", 3, 100.0),
               Output("I:A", "A", 4, 100.0), Output("I:B", "B", 2, 40.0), Output("I:B", "B", 3, 40.0))
    actual = (Output("I:A", "A", 1, 90.0), Output("I:A", "A", 2, 80.0), Output("I:A", "A", 3, 20.0),
              Output("I:B", "B", 2, 50.0), Output("I:B", "B", 3, 25.0),
              Output("I:B", "B", 5, 1000.0))  # after the as-of period: not counted
    loads = (IntervalLoad("I:A", "ASSY", 2.0), IntervalLoad("I:A", "TEST", 1.0), IntervalLoad("I:B", "ASSY", 3.0))
    ops_a = (Operation(10, "ASSY", 2.0, good=60.0), Operation(20, "TEST", 1.0, good=50.0, scrap=2.0))
    orders = (wo("WO-A", item="A", start=3, due=3, qty=100.0, status=S.IN_PROGRESS, good=50.0, scrap=2.0,
                 operations=ops_a),
              wo("WO-B", item="B", start=3, due=3, status=S.CANCELLED,
                 operations=(Operation(10, "ASSY", 3.0, good=5.0),)))  # cancelled: its operations do not count
    return snap(elapsed=elapsed, planned=planned, actual=actual, loads=loads, work_orders=orders)


def test_progress_is_cumulative_planned_vs_actual_to_date_with_the_current_period_pro_rata() -> None:
    report = progress(progress_snapshot(elapsed=0.5))
    [a, b] = report.intervals
    assert (a.interval, a.item, a.planned, a.actual, a.gap) == ("I:A", "A", 250.0, 190.0, 60.0)
    assert a.gap_fraction == pytest.approx(60 / 250)
    assert (b.interval, b.planned, b.actual, b.gap) == ("I:B", 60.0, 75.0, -15.0)  # ahead: negative gap
    assert [(r.item, r.planned, r.actual) for r in report.items] == [("A", 250.0, 190.0), ("B", 60.0, 75.0)]
    # work centers in standard minutes: ASSY = 250*2 + 60*3 planned, 60 good * 2 actual; TEST = 250*1, 50*1
    assert [(r.work_center, r.planned, r.actual, r.gap) for r in report.work_centers] == [
        ("ASSY", 680.0, 120.0, 560.0), ("TEST", 250.0, 50.0, 200.0)]
    at_start = progress(progress_snapshot(elapsed=0.0))
    assert at_start.intervals[0].planned == 200.0
    at_end = progress(progress_snapshot(elapsed=1.0))
    assert at_end.intervals[0].planned == 300.0


def test_progress_with_nothing_planned_has_no_gap_fraction_and_an_empty_snapshot_has_no_rows() -> None:
    report = progress(snap(actual=(Output("I:A", "A", NOW, 5.0),)))
    [row] = report.intervals
    assert (row.planned, row.actual, row.gap, row.gap_fraction) == (0.0, 5.0, -5.0, None)
    empty = progress(snap())
    assert (empty.intervals, empty.items, empty.work_centers, empty.on_time_rate) == ((), (), (), None)
    assert empty.to_dict(as_of="2025-01-01T00:00:00+00:00") == {
        "as_of": "2025-01-01T00:00:00+00:00", "on_time_rate": None, "intervals": [], "items": [], "work_centers": []}


def test_progress_to_dict_has_the_documented_shape() -> None:
    s = progress_snapshot()
    s = MeasuresSnapshot(as_of_period=s.as_of_period, elapsed=s.elapsed, planned=s.planned, actual=s.actual,
                         loads=s.loads, work_orders=(*s.work_orders, wo("WO-C", due=1, status=S.COMPLETED, completed=1)))
    out = progress(s).to_dict(as_of=dt.datetime(2025, 1, 22, 9, 30, tzinfo=dt.UTC))
    assert out["as_of"] == "2025-01-22T09:30:00+00:00"
    assert out["on_time_rate"] == 1.0
    assert out["intervals"][0] == {"interval": "I:A", "item": "A", "planned": 250.0, "actual": 190.0, "gap": 60.0}
    assert out["items"][1] == {"item": "B", "planned": 60.0, "actual": 75.0, "gap": -15.0}
    assert out["work_centers"][1] == {"work_center": "TEST", "planned": 250.0, "actual": 50.0, "gap": 200.0}
    json.dumps(out)


def test_on_time_counts_decided_work_orders_only() -> None:
    orders = (
        wo("WO-1", due=2, status=S.COMPLETED, completed=2),  # on time
        wo("WO-2", due=2, status=S.COMPLETED, completed=1),  # early: on time
        wo("WO-3", due=1, status=S.COMPLETED, completed=2),  # late
        wo("WO-4", due=2, status=S.CLOSED, completed=2),  # short-closed: counted, not on time
        wo("WO-5", start=1, due=2, status=S.IN_PROGRESS),  # due period over, still open: late
        wo("WO-6", due=NOW, status=S.RELEASED),  # due now, not done: not yet decided
        wo("WO-7", due=NOW + 1, status=S.COMPLETED, completed=NOW),  # done ahead of its due period: on time
        wo("WO-8", due=1, status=S.CANCELLED),  # cancelled: never counted
    )
    result = on_time(snap(work_orders=orders))
    assert (result.counted, result.on_time, result.late) == (7 - 1, 3, ("WO-3", "WO-4", "WO-5"))
    assert result.rate == pytest.approx(0.5)
    assert result.to_dict() == {"rate": 0.5, "counted": 6, "on_time": 3, "late": ["WO-3", "WO-4", "WO-5"]}


def test_on_time_rate_is_none_without_a_decided_work_order() -> None:
    assert on_time(snap()).rate is None
    assert on_time(snap(work_orders=(wo("WO-1", due=NOW), wo("WO-2", due=1, status=S.CANCELLED)))).rate is None


# --- WIP, buffers, overtime -----------------------------------------------------------------------


def test_wip_counts_units_between_the_first_and_the_last_operation_per_work_center() -> None:
    ops = (Operation(10, "CUT", good=50.0, scrap=1.0), Operation(20, "WELD", good=40.0, scrap=2.0),
           Operation(30, "PAINT", good=30.0))
    orders = (wo("WO-1", qty=60.0, status=S.IN_PROGRESS, good=30.0, scrap=3.0, operations=ops),
              wo("WO-2", qty=10.0, status=S.RELEASED, operations=(Operation(10, "CUT"), Operation(20, "WELD"))),
              wo("WO-3", qty=5.0, status=S.RELEASED),  # no operations
              wo("WO-4", status=S.COMPLETED, completed=2, operations=ops))  # finished: no WIP
    report = wip(snap(work_orders=orders))
    assert [(o.number, o.started, o.in_process, o.remaining) for o in report.orders] == [
        ("WO-1", 51.0, 8.0 + 10.0, 27.0), ("WO-2", 0.0, 0.0, 10.0), ("WO-3", 0.0, 0.0, 5.0)]
    assert report.work_centers == (("PAINT", 10.0), ("WELD", 8.0))
    assert (report.units, report.open_orders) == (18.0, 3)
    assert report.to_dict()["work_centers"] == [{"work_center": "PAINT", "units": 10.0},
                                                {"work_center": "WELD", "units": 8.0}]
    assert wip(snap()).to_dict() == {"units": 0.0, "open_orders": 0, "work_centers": [], "work_orders": []}


def test_buffer_levels_against_safety_stock() -> None:
    s = snap(buffers=(Buffer("B", 20.0), Buffer("A", 10.0), Buffer("C", 0.0), Buffer("D", 5.0)),
             on_hand={"A": 12.0, "B": 5.0, "C": 3.0, "D": -1.0})
    report = buffer_levels(s)
    assert [(b.item, b.on_hand, b.margin, b.below, b.ratio) for b in report.buffers] == [
        ("A", 12.0, 2.0, False, 1.2), ("B", 5.0, -15.0, True, 0.25), ("C", 3.0, 3.0, False, None),
        ("D", -1.0, -6.0, True, -0.2)]
    assert report.to_dict()["below"] == ["B", "D"]
    assert buffer_levels(snap(buffers=(Buffer("E", 1.0),))).buffers[0].on_hand == 0.0  # not in stock: 0


def test_overtime_used_vs_planned_to_date() -> None:
    uses = (OvertimeUse("ASSY", 1, 60.0, 90.0), OvertimeUse("ASSY", NOW, 60.0, 10.0),
            OvertimeUse("ASSY", NOW + 1, 60.0, 0.0), OvertimeUse("TEST", 2, 0.0, 30.0))
    report = overtime(snap(elapsed=0.5, overtime=uses))
    assert [(r.work_center, r.planned_min, r.used_min, r.excess_min, r.ratio) for r in report.work_centers] == [
        ("ASSY", 90.0, 100.0, 10.0, pytest.approx(100 / 90)), ("TEST", 0.0, 30.0, 30.0, None)]
    assert report.to_dict()["work_centers"][1] == {"work_center": "TEST", "planned_min": 0.0, "used_min": 30.0,
                                                   "excess_min": 30.0}


# --- input checks -------------------------------------------------------------------------------


@pytest.mark.parametrize(("make", "message"), [
    (lambda: snap(elapsed=1.5), "elapsed must be a fraction"),
    (lambda: snap(horizon_end=NOW - 1), "horizon end 2 is before the current period 3"),
    (lambda: snap(work_orders=(wo("WO-1"), wo("WO-1"))), "given twice: WO-1"),
    (lambda: snap(requirements=needs("WO-9")), "unknown work orders: WO-9"),
    (lambda: snap(on_hand={"X": float("nan")}), "on-hand of X"),
    (lambda: snap(buffers=(Buffer("A"), Buffer("A"))), "a buffer is given twice"),
    (lambda: wo("WO-1", qty=-1.0), "WO-1 quantity"),
    (lambda: wo("WO-1", start=4, due=3), "before its start period 4"),
    (lambda: wo("WO-1", status=S.COMPLETED), "completed but has no completed period"),
    (lambda: wo("WO-1", operations=(Operation(10, "A"), Operation(10, "B"))), "sequence number twice"),
    (lambda: Operation(10, "A", good=float("inf")), "operation 10 good"),
    (lambda: Requirement("WO-1", "X", -1.0), "quantity per of X in WO-1"),
    (lambda: Purchase("X", 1, -5.0), "open purchase of X"),
    (lambda: OvertimeUse("A", 1, 0.0, -1.0), "used overtime of A"),
])
def test_bad_input_is_rejected_by_name(make: Any, message: str) -> None:
    with pytest.raises(InvalidInput, match=message):
        make()


def test_lists_are_stored_as_tuples_and_operations_in_sequence() -> None:
    order = WorkOrder("WO-1", "A", "I:A", 1.0, 1, 1, status="released",  # type: ignore[arg-type]
                      operations=[Operation(20, "B"), Operation(10, "A")])  # type: ignore[arg-type]
    assert order.status is S.RELEASED
    assert [op.seq for op in order.operations] == [10, 20] and isinstance(order.operations, tuple)
    s = MeasuresSnapshot(as_of_period=1, elapsed=0.0, work_orders=[order])  # type: ignore[arg-type]
    assert isinstance(s.work_orders, tuple)
    with pytest.raises(TypeError):
        s.on_hand["X"] = 1.0  # type: ignore[index]
