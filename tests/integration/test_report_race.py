"""Two sends of one report under the same key that race (a tablet's retry while the first send
is still waiting for the work order): the second must answer with the first's report, even when
the first has used up what the order may still take (its checks would refuse a *new* report as
over-completion). PostgreSQL only: SQLite serialises writers, there is no race."""
from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from sqlalchemy import text

from lpms.db import migrate
from lpms.db.session import UnitOfWork, make_engine, session_factory
from lpms.db.shop_floor import NewOperation
from lpms.domain.enums import WorkOrderStatus
from lpms.services.csv_io import import_texts
from lpms.services.reports import report_completion
from tests.shop_floor_plant import NOW, plant_texts

pytestmark = pytest.mark.db


@pytest.fixture
def url(fresh_url: str) -> str:
    migrate.upgrade(fresh_url)
    engine = make_engine(fresh_url)
    try:
        uow = UnitOfWork(session_factory(engine))
        import_texts(uow, plant_texts(c_stock=1000.0, m_stock=1000.0), actor="test", now=NOW)
        with uow:
            uow.work_orders.add(
                number="WO-R1", plan_run_id=None, item="P", interval="I:P", start_period=1, due_period=2, quantity=10,
                status=WorkOrderStatus.RELEASED, operations=[NewOperation(10, "S", 10, "CUT", 2, 0)],
                components=[("C", 1.0)], created_by="test", now=NOW)
            uow.commit()
    finally:
        engine.dispose()
    return fresh_url


def test_a_resend_racing_its_original_gets_the_original(url: str) -> None:
    if not url.startswith("postgresql"):
        pytest.skip("SQLite serialises writers by its database lock: there is no race (PostgreSQL pass)")
    engine = make_engine(url, pool_size=4)
    holder = make_engine(url)
    try:
        with holder.connect() as conn:
            # hold the work order so that both sends pass their key check and queue for it
            conn.execute(text("SELECT id FROM work_orders WHERE number = 'WO-R1' FOR UPDATE"))
            uow_factory = session_factory(engine)
            started = threading.Barrier(3)

            def send() -> Any:
                started.wait(timeout=30)
                # all 10 units: a second new report of them would be over-completion
                return report_completion(UnitOfWork(uow_factory), "WO-R1", 10, 10.0, 0.0, client_key="race-1",
                                         actor="tablet", now=NOW)

            with ThreadPoolExecutor(2) as pool:
                futures = [pool.submit(send), pool.submit(send)]
                started.wait(timeout=30)
                time.sleep(0.5)  # both are waiting for the work order's row lock
                conn.rollback()  # let them go
                results = [f.result(timeout=60) for f in futures]
        assert sorted(r.replayed for r in results) == [False, True]
        assert results[0].report.id == results[1].report.id
        with engine.connect() as conn:
            assert conn.execute(text("SELECT count(*) FROM completion_reports")).scalar() == 1
            assert conn.execute(text("SELECT good_qty FROM work_orders WHERE number = 'WO-R1'")).scalar() == 10
    finally:
        engine.dispose()
        holder.dispose()


def _add_order(url: str, number: str, *, start_period: int, quantity: float = 10) -> None:
    engine = make_engine(url)
    try:
        uow = UnitOfWork(session_factory(engine))
        with uow:
            uow.work_orders.add(
                number=number, plan_run_id=None, item="P", interval="I:P", start_period=start_period,
                due_period=start_period + 1, quantity=quantity, status=WorkOrderStatus.RELEASED, operations=[NewOperation(10, "S", 10, "CUT", 2, 0)],
                components=[("C", 1.0)], created_by="test", now=NOW)
            uow.commit()
    finally:
        engine.dispose()


def _set_on_hand(engine: Any, item: str, quantity: float) -> None:
    """Set the item's opening balance so that its on-hand (opening + moves) is ``quantity``."""
    with engine.begin() as conn:
        conn.execute(text("UPDATE stock SET on_hand = :q - coalesce((SELECT sum(quantity) FROM stock_moves v "
                          "WHERE v.item_id = stock.item_id), 0) WHERE item_id = (SELECT id FROM items "
                          "WHERE code = :item)"), {"q": quantity, "item": item})


def _queue_behind(url: str, hold_sql: str, sends: list[tuple[str, float, str]]) -> list[Any]:
    """Run ``sends`` (work order, good, key) at once while another transaction holds the rows
    ``hold_sql`` locks; let them go once all wait. Their results or errors, in order."""
    engine = make_engine(url, pool_size=len(sends) + 1)
    holder = make_engine(url)
    try:
        with holder.connect() as conn:
            conn.execute(text(hold_sql))
            uow_factory = session_factory(engine)
            started = threading.Barrier(len(sends) + 1)

            def send(number: str, good: float, key: str) -> Any:
                started.wait(timeout=30)
                try:
                    return report_completion(UnitOfWork(uow_factory), number, 10, good, 0.0, client_key=key,
                                             actor="tablet", now=NOW)
                except Exception as exc:  # noqa: BLE001 - the refusal is the result
                    return exc

            with ThreadPoolExecutor(len(sends)) as pool:
                futures = [pool.submit(send, *s) for s in sends]
                started.wait(timeout=30)
                time.sleep(0.5)  # all wait for the held rows
                conn.rollback()
                return [f.result(timeout=60) for f in futures]
    finally:
        engine.dispose()
        holder.dispose()


def test_two_new_reports_queued_for_one_order_are_checked_against_each_other(url: str) -> None:
    """Both read the order (0 done) before the lock wait; the second must see the first's 10 units
    once it holds the lock (the claim reads again) and be refused as over-completion."""
    if not url.startswith("postgresql"):
        pytest.skip("SQLite serialises writers by its database lock: there is no race (PostgreSQL pass)")
    results = _queue_behind(url, "SELECT id FROM work_orders WHERE number = 'WO-R1' FOR UPDATE",
                            [("WO-R1", 10.0, "race-a"), ("WO-R1", 10.0, "race-b")])
    accepted = [r for r in results if not isinstance(r, Exception)]
    refused = [r for r in results if isinstance(r, Exception)]
    assert len(accepted) == 1 and len(refused) == 1, results
    assert type(refused[0]).__name__ == "InvalidInput" and "over-completion" in str(refused[0]), refused[0]
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            assert conn.execute(text("SELECT good_qty FROM work_orders WHERE number = 'WO-R1'")).scalar() == 10
            assert conn.execute(text("SELECT count(*) FROM completion_reports")).scalar() == 1
    finally:
        engine.dispose()


def test_two_orders_queued_for_the_last_components_take_them_once(url: str) -> None:
    """Two orders' first operations issue component C, of which only enough for one is on hand:
    the report that gets C's lock second reads on-hand after the first's issue and is refused."""
    if not url.startswith("postgresql"):
        pytest.skip("SQLite serialises writers by its database lock: there is no race (PostgreSQL pass)")
    _add_order(url, "WO-R2", start_period=2)
    engine = make_engine(url)
    try:
        _set_on_hand(engine, "C", 10)
    finally:
        engine.dispose()
    results = _queue_behind(url, "SELECT id FROM items WHERE code = 'C' FOR UPDATE",
                            [("WO-R1", 10.0, "kit-a"), ("WO-R2", 10.0, "kit-b")])
    refused = [r for r in results if isinstance(r, Exception)]
    assert len(refused) == 1 and type(refused[0]).__name__ == "StockShortage", results
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            issued = conn.execute(text("SELECT coalesce(sum(quantity), 0) FROM stock_moves v JOIN items i ON "
                                       "i.id = v.item_id WHERE i.code = 'C' AND v.kind = 'issue'")).scalar()
            assert issued == -10
            assert conn.execute(text("SELECT count(*) FROM completion_reports")).scalar() == 1
    finally:
        engine.dispose()


def test_components_not_locked_by_the_claim_are_locked_and_checked_with_the_writes(
        url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """The claim locks the components only for a report of the order's first operation (where the
    service issues them); should the service take stock the claim did not lock, the repository
    locks it after the writes and still gives on-hand before the report's moves."""
    from lpms.db import shop_floor

    original = shop_floor.ShopReports.claim_completion

    def claim_without_operation(self: shop_floor.ShopReports, **kwargs: Any) -> Any:
        return original(self, **{**kwargs, "operation": None})

    monkeypatch.setattr(shop_floor.ShopReports, "claim_completion", claim_without_operation)
    _add_order(url, "WO-R2", start_period=2)
    engine = make_engine(url)
    try:
        _set_on_hand(engine, "C", 15)
        uow_factory = session_factory(engine)
        first = report_completion(UnitOfWork(uow_factory), "WO-R1", 10, 10.0, 0.0, client_key="fb-1", actor="t",
                                  now=NOW)
        assert first.issued == (("C", 10.0),)
        with pytest.raises(Exception) as refused:  # 10 more would leave -5
            report_completion(UnitOfWork(uow_factory), "WO-R2", 10, 10.0, 0.0, client_key="fb-2", actor="t", now=NOW)
        assert type(refused.value).__name__ == "StockShortage"
        assert "C" in str(refused.value) and "5" in str(refused.value)
        second = report_completion(UnitOfWork(uow_factory), "WO-R2", 10, 5.0, 0.0, client_key="fb-3", actor="t",
                                   now=NOW)
        assert second.issued == (("C", 5.0),)
        with engine.connect() as conn:
            assert conn.execute(text("SELECT count(*) FROM completion_reports")).scalar() == 2
    finally:
        engine.dispose()
