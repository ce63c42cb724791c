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
