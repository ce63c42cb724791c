"""Completion reports under real concurrency: 16 workers (threads, each with its own engine and
so its own connections) post 100 reports each on the same 5 work orders; every report is sent
twice under the same key, and some are retried after an injected error (before the commit:
the report is rolled back; after it: the client lost the answer). Afterwards every work
order's and operation's good and scrap equal the sums of the distinct accepted reports, no
operation processed more than its predecessor delivered, exactly the acknowledged reports are
stored, and the ledger balances (issues = first-operation units x quantity per, output = the
order's good, nothing below zero).

The same run against a naive read-modify-write implementation (the work-order row read
without a lock, then written back) must break these invariants: that is the second test,
PostgreSQL only (SQLite serialises writers with its database lock, so there is no race to
lose there)."""
from __future__ import annotations

import random
import threading
import time
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import pytest
from sqlalchemy import func, select

from lpms.db import migrate, shop_floor
from lpms.db import models as m
from lpms.db.session import UnitOfWork, make_engine, session_factory
from lpms.db.shop_floor import NewOperation, ReportClaim, WorkOrderRecord
from lpms.domain.enums import StockMoveKind, WorkOrderStatus
from lpms.domain.errors import Busy, Conflict, InvalidInput, LpmsError
from lpms.services.csv_io import import_texts
from lpms.services.reports import report_completion
from tests.helpers import balance_problems
from tests.shop_floor_plant import NOW, plant_texts

pytestmark = pytest.mark.db

ORDERS = [f"WO-C{k}" for k in range(1, 6)]
OPENING = {"C": 100_000.0, "M": 200_000.0}


class InjectedError(Exception):
    """A failure the test injects around a commit."""


@dataclass
class Outcome:
    accepted: dict[str, tuple[str, int, float, float]] = field(default_factory=dict)  # key -> payload
    rejected: int = 0
    injected: int = 0
    busy: int = 0
    duplicates_replayed: int = 0
    errors: list[str] = field(default_factory=list)


@pytest.fixture
def url(fresh_url: str) -> str:
    migrate.upgrade(fresh_url)
    engine = make_engine(fresh_url)
    try:
        uow = UnitOfWork(session_factory(engine))
        import_texts(uow, plant_texts(c_stock=OPENING["C"], m_stock=OPENING["M"]), actor="test", now=NOW)
        with uow:
            for k, number in enumerate(ORDERS):
                uow.work_orders.add(
                    number=number, plan_run_id=None, item="P", interval="I:P", start_period=k + 1, due_period=k + 2,
                    quantity=300, status=WorkOrderStatus.RELEASED,
                    operations=[NewOperation(10, "S", 10, "CUT", 2, 0), NewOperation(20, "P", 10, "ASM", 3, 0),
                                NewOperation(30, "P", 20, "TEST", 1, 0)],
                    components=[("C", 1.0), ("M", 2.0)], created_by="test", now=NOW)
            uow.commit()
    finally:
        engine.dispose()
    return fresh_url


def _run(url: str, monkeypatch: pytest.MonkeyPatch, workers: int, reports: int) -> Outcome:
    local = threading.local()
    original_commit = UnitOfWork.commit

    def commit(self: UnitOfWork) -> None:
        inject = getattr(local, "inject", None)
        local.inject = None
        if inject == "before":
            raise InjectedError("connection lost before the commit")
        original_commit(self)
        if inject == "after":
            raise InjectedError("connection lost after the commit: the client never got the answer")

    monkeypatch.setattr(UnitOfWork, "commit", commit)
    outcome = Outcome()
    lock = threading.Lock()
    barrier = threading.Barrier(workers)

    def worker(w: int) -> None:
        rng = random.Random(w)
        engine = make_engine(url, pool_size=2)
        uow = UnitOfWork(session_factory(engine))
        try:
            barrier.wait(timeout=60)
            for j in range(reports):
                key = f"w{w:02d}-{j:03d}"
                payload = (rng.choice(ORDERS), rng.choice((10, 10, 10, 20, 20, 30)), float(rng.randint(1, 3)),
                           float(rng.random() < 0.1))
                if j % 10 == 3:
                    local.inject = "before"
                elif j % 10 == 7:
                    local.inject = "after"
                first = _send(uow, key, payload, local, outcome, lock)
                local.inject = None
                if first is None:
                    continue
                again = _send(uow, key, payload, local, outcome, lock)
                with lock:
                    if again is None or not again.replayed or again.report.id != first.report.id:
                        outcome.errors.append(f"{key}: the second send was not the original report")
                    else:
                        outcome.duplicates_replayed += 1
        finally:
            engine.dispose()

    with ThreadPoolExecutor(workers, thread_name_prefix="tablet") as pool:
        for future in [pool.submit(worker, w) for w in range(workers)]:
            future.result(timeout=600)
    return outcome


def _send(uow: UnitOfWork, key: str, payload: tuple[str, int, float, float], local: threading.local,
          outcome: Outcome, lock: threading.Lock) -> Any:
    number, seq, good, scrap = payload
    for _attempt in range(100):
        try:
            result = report_completion(uow, number, seq, good, scrap, client_key=key, actor="tablet", now=NOW)
        except InjectedError:
            with lock:
                outcome.injected += 1
            continue  # a client retries with the same key
        except Busy:
            with lock:
                outcome.busy += 1
            continue
        except (InvalidInput, Conflict) as exc:  # more than the predecessor delivered, over-completion
            if "was used for another report" in str(exc):
                with lock:
                    outcome.errors.append(f"{key}: {exc}")
            with lock:
                outcome.rejected += 1
            return None
        except LpmsError as exc:
            with lock:
                outcome.errors.append(f"{key}: {type(exc).__name__}: {exc}")
            return None
        with lock:
            outcome.accepted[key] = payload
        return result
    with lock:
        outcome.errors.append(f"{key}: gave up after 100 attempts")
    return None


def problems(url: str, outcome: Outcome) -> list[str]:
    """Every way the database disagrees with the accepted reports (empty: none)."""
    found = list(outcome.errors)
    engine = make_engine(url)
    try:
        uow = UnitOfWork(session_factory(engine))
        with uow:
            stored = set(uow.session.scalars(select(m.CompletionReport.client_key)))
            if stored != set(outcome.accepted):
                found.append(f"stored reports differ from the acknowledged ones: {len(stored - set(outcome.accepted))} "
                             f"stored but not acknowledged, {len(set(outcome.accepted) - stored)} acknowledged but "
                             f"not stored")
            sums: dict[tuple[str, int], list[float]] = defaultdict(lambda: [0.0, 0.0])
            for number, seq, good, scrap in outcome.accepted.values():
                sums[number, seq][0] += good
                sums[number, seq][1] += scrap
            issued_c = 0.0
            for number in ORDERS:
                wo: WorkOrderRecord = uow.work_orders.get(number)
                for op in wo.operations:
                    want = sums[number, op.seq]
                    if abs(op.good - want[0]) > 1e-6 or abs(op.scrap - want[1]) > 1e-6:
                        found.append(f"{number} operation {op.seq}: good {op.good:g} scrap {op.scrap:g}, the accepted "
                                     f"reports sum to good {want[0]:g} scrap {want[1]:g}")
                if abs(wo.good - sums[number, 30][0]) > 1e-6:
                    found.append(f"{number}: good {wo.good:g}, its last operation's accepted reports sum to "
                                 f"{sums[number, 30][0]:g}")
                if abs(wo.scrap - sum(sums[number, s][1] for s in (10, 20, 30))) > 1e-6:
                    found.append(f"{number}: scrap {wo.scrap:g} is not the sum of its accepted scrap")
                ops = wo.operations
                for before, after in zip(ops, ops[1:]):
                    if after.good + after.scrap > before.good + 1e-6:
                        found.append(f"{number}: operation {after.seq} processed {after.good + after.scrap:g}, more "
                                     f"than operation {before.seq} delivered ({before.good:g})")
                first = sums[number, 10][0] + sums[number, 10][1]
                issued = uow.stock.issued(wo.id)
                if abs(issued.get("C", 0.0) - first) > 1e-6 or abs(issued.get("M", 0.0) - 2 * first) > 1e-6:
                    found.append(f"{number}: issued {issued}, its first operation's accepted units are {first:g}")
                output = sum(mv.quantity for mv in uow.stock.moves(work_order=number) if mv.kind is StockMoveKind.OUTPUT)
                if abs(output - sums[number, 30][0]) > 1e-6:
                    found.append(f"{number}: output {output:g} into the buffer, accepted good at the last operation "
                                 f"{sums[number, 30][0]:g}")
                issued_c += first
            on_hand = uow.stock.on_hand(["C", "M"])
            if abs(on_hand["C"] - (OPENING["C"] - issued_c)) > 1e-6 or on_hand["C"] < 0 or on_hand["M"] < 0:
                found.append(f"ledger: on-hand {on_hand}, expected C {OPENING['C'] - issued_c:g}")
            found += [f"balance: {p}" for p in balance_problems(uow.session)]
            audit = uow.session.scalar(select(func.count()).select_from(m.AuditEntry)
                                       .where(m.AuditEntry.entity == "completion_report"))
            if audit != len(stored):
                found.append(f"{audit} audit rows for {len(stored)} reports")
    finally:
        engine.dispose()
    return found


def _sizes(url: str) -> tuple[int, int]:
    return (16, 100) if url.startswith("postgresql") else (8, 25)


def test_concurrent_reports_never_lose_or_double_count_a_unit(url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    workers, reports = _sizes(url)
    started = time.monotonic()
    outcome = _run(url, monkeypatch, workers, reports)
    seconds = time.monotonic() - started
    assert problems(url, outcome) == []
    # the run did what it says: many accepted, duplicates replayed, injected errors retried, some rejected
    assert len(outcome.accepted) > workers * reports // 3
    assert outcome.duplicates_replayed == len(outcome.accepted)
    assert outcome.injected >= workers * reports // 10
    assert outcome.rejected > 0
    print(f"\n{workers} workers x {reports} reports: {len(outcome.accepted)} accepted, {outcome.rejected} rejected, "
          f"{outcome.injected} injected errors retried, {outcome.busy} busy, in {seconds:.1f} s")


def test_a_naive_read_modify_write_loses_units_under_the_same_load(url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    if not url.startswith("postgresql"):
        pytest.skip("SQLite serialises writers by its database lock: there is no race to lose (PostgreSQL pass)")
    # naive: read the work order (and the stock) without a row lock, compute, write back
    monkeypatch.setattr(shop_floor, "_locks_rows", lambda session: False)
    original_claim = shop_floor.ShopReports.claim_completion

    def claim(self: shop_floor.ShopReports, **kwargs: Any) -> ReportClaim:
        found = original_claim(self, **kwargs)
        time.sleep(0.002)  # the time a busy server takes between the read and the write
        return found

    monkeypatch.setattr(shop_floor.ShopReports, "claim_completion", claim)
    outcome = _run(url, monkeypatch, 16, 30)
    found = problems(url, outcome)
    print(f"\nnaive read-modify-write: {len(found)} problems, e.g.\n  " + "\n  ".join(found[:8]))
    assert found, "the naive implementation should have lost or double-counted units"

