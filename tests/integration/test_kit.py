"""The kit rate wired to the database: two kitting work orders competing for one component,
issued components, open purchases, the recorded history (once per period, also from two
threads at once) and `lpms kit`. SQLite and PostgreSQL."""
from __future__ import annotations

import json
import threading

import pytest

from lpms.cli import main
from lpms.db import migrate
from lpms.db.session import UnitOfWork, make_engine, session_factory
from lpms.services.csv_io import import_texts
from lpms.services.progress import KitSnapshot, kit_dict, kit_report, record_kit_snapshot
from lpms.services.reports import report_completion
from lpms.services.work_orders import cancel_work_order
from tests.integration.test_progress import MID_P3, add_orders, approved_run, at
from tests.shop_floor_plant import load_plant

pytestmark = pytest.mark.db


def competing(uow: UnitOfWork) -> None:
    """C: 150 on hand + purchases of 50 (period 2, overdue) and 70 (period 3); M: 2000. Two P
    orders of 150 (C x1, M x2 each) start in periods 3 and 4: the first takes 150 C, the second
    finds 120."""
    load_plant(uow, c_stock=150)
    run = approved_run(uow, {("I:P", "P"): {3: 150, 4: 150}})
    add_orders(uow, run, [("P-A", "I:P", 3, 150), ("P-B", "I:P", 4, 150), ("Q-3", "I:Q", 3, 40)])


def test_two_orders_competing_for_one_component(uow: UnitOfWork) -> None:
    competing(uow)
    one = kit_dict(kit_report(uow, now=MID_P3))
    assert one == {"as_of": "2026-12-17T12:00:00+00:00", "window": 1, "rate": 1.0, "history": [],
                   "work_orders": [{"number": "P-A", "coverage": 1.0, "short": [], "kit_complete_date": "2026-12-14"}]}
    two = kit_dict(kit_report(uow, now=MID_P3, window=2))
    assert two["rate"] == 0.5  # Q-3 has one component: not a kitting order
    assert two["work_orders"] == [
        {"number": "P-A", "coverage": 1.0, "short": [], "kit_complete_date": "2026-12-14"},
        {"number": "P-B", "coverage": 0.8, "short": [{"item": "C", "required": 150.0, "available": 120.0}],
         "kit_complete_date": None}]


def test_issued_components_and_later_purchases(uow: UnitOfWork) -> None:
    competing(uow)
    # P-A starts: 50 units backflush 50 C and 100 M; it still needs 100 C, and on-hand fell by 50
    report_completion(uow, "P-A", 10, 50, client_key="a", actor="test", now=at(3))
    k = kit_report(uow, now=MID_P3, window=2)
    assert [(o.number, o.coverage) for o in k.report.orders] == [("P-A", 1.0), ("P-B", pytest.approx(0.8))]
    # 30 more C arrive in period 5: P-B's kit is complete then, still short at its start in period 4
    import_texts(uow, {"receipts": "item,due_date,quantity\nC,2026-12-28,30\n"}, actor="test", now=at(3))
    b = kit_dict(kit_report(uow, now=MID_P3, window=2))["work_orders"][1]
    assert b == {"number": "P-B", "coverage": 0.8, "short": [{"item": "C", "required": 150.0, "available": 120.0}],
                 "kit_complete_date": "2026-12-28"}


def test_the_history_is_recorded_once_per_period(uow: UnitOfWork) -> None:
    competing(uow)
    first = record_kit_snapshot(uow, actor="job", now=MID_P3)
    assert first == KitSnapshot(3, 1.0, 1, 1, MID_P3, True)
    again = record_kit_snapshot(uow, actor="job", now=at(3, 5))
    assert again == KitSnapshot(3, 1.0, 1, 1, MID_P3, False)
    # period 4: P-A (its start passed, still open) and P-B are due; P-B is short
    fourth = record_kit_snapshot(uow, actor="job", now=at(4, 0))
    assert (fourth.period, fourth.rate, fourth.counted, fourth.kitted, fourth.created) == (4, 0.5, 2, 1, True)
    d = kit_dict(kit_report(uow, now=at(4, 2)))
    assert d["history"] == [{"period": "2026-12-14", "rate": 1.0}, {"period": "2026-12-21", "rate": 0.5}]
    # a period without kitting orders due records a null rate
    for number in ("P-A", "P-B"):
        cancel_work_order(uow, number, actor="test", now=at(5, 0))
    empty = record_kit_snapshot(uow, actor="job", now=at(6, 0))
    assert (empty.rate, empty.counted) == (None, 0)
    assert kit_dict(kit_report(uow, now=at(6, 1)))["history"][-1] == {"period": "2027-01-04", "rate": None}


def test_two_snapshots_at_once_record_one_row(fresh_url: str) -> None:
    migrate.upgrade(fresh_url)
    engine = make_engine(fresh_url)
    try:
        factory = session_factory(engine)
        competing(UnitOfWork(factory))
        results: list[KitSnapshot] = []
        errors: list[BaseException] = []

        def snap() -> None:
            try:
                results.append(record_kit_snapshot(UnitOfWork(factory), actor="job", now=MID_P3))
            except BaseException as exc:  # noqa: BLE001 - collected for the assertion
                errors.append(exc)

        threads = [threading.Thread(target=snap) for _ in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert errors == []
        assert sorted(r.created for r in results) == [False, False, False, True]
        assert {(r.period, r.rate) for r in results} == {(3, 1.0)}
    finally:
        engine.dispose()


def test_cli_kit(fresh_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    migrate.upgrade(fresh_url)
    engine = make_engine(fresh_url)
    try:
        competing(UnitOfWork(session_factory(engine)))
    finally:
        engine.dispose()
    args = ["--as-of", "2026-12-17T12:00", "--database-url", fresh_url]
    assert main(["kit", "--window", "2", "--format", "json", *args]) == 0
    d = json.loads(capsys.readouterr().out)
    assert d["rate"] == 0.5 and [w["number"] for w in d["work_orders"]] == ["P-A", "P-B"]
    assert main(["kit", "--window", "2", *args]) == 0
    out = capsys.readouterr().out
    assert "kit rate 50.0%: 1 of 2 kitting work order(s) due in period(s) 3-4" in out
    assert "C 120/150" in out and "never (not within the horizon)" in out
    assert main(["kit", "--window", "0", *args]) == 2
    assert "--window: '0' is not a number of periods" in capsys.readouterr().err
