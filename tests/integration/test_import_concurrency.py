"""Two imports at the same time, really concurrent (threads, one engine each), on SQLite and
PostgreSQL: they serialise on the import lock, or the one that cannot get it in time fails with
Busy ("another import is running; try again") and changes nothing."""
from __future__ import annotations

import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from lpms.db import locks, migrate
from lpms.db import models as m
from lpms.db.session import UnitOfWork, make_engine, session_factory
from lpms.domain.errors import Busy
from lpms.services import csv_io
from lpms.services.csv_io import ImportResult, export_texts, import_texts
from tests.helpers import NOW

pytestmark = pytest.mark.db

N = 1500
ITEMS = "code,name,kind\n" + "".join(f"I{k:05d},Item {k},part\n" for k in range(N))
STOCK = "item,on_hand\n" + "".join(f"I{k:05d},{k}\n" for k in range(N))
SET_A = {"items": ITEMS, "stock": STOCK}
SET_B = {"items": "code,name,kind\nI00000,Item 0,part\nB-ONLY,,part\n", "stock": "item,on_hand\nB-ONLY,7\n"}


@pytest.fixture
def url(fresh_url: str) -> str:
    migrate.upgrade(fresh_url)
    return fresh_url


def _in_thread(url: str, use: Callable[[UnitOfWork], Any]) -> Any:
    """Run ``use`` on a unit of work of its own engine (its own connections), as another process would."""
    engine = make_engine(url)
    try:
        return use(UnitOfWork(session_factory(engine)))
    finally:
        engine.dispose()


def _count(url: str, model: type) -> int:
    def count(uow: UnitOfWork) -> int:
        with uow:
            assert uow.session is not None
            return int(uow.session.scalar(select(func.count()).select_from(model)) or 0)
    return int(_in_thread(url, count))


def test_two_imports_started_together_serialise_and_the_second_sees_the_first(
        url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    requested: dict[str, float] = {}
    committed: dict[str, float] = {}
    original_acquire, original_commit = locks.acquire, UnitOfWork.commit

    def acquire(session: Session, name: str, **kwargs: Any) -> None:
        requested[threading.current_thread().name] = time.monotonic()
        return original_acquire(session, name, **kwargs)

    def commit(self: UnitOfWork) -> None:
        original_commit(self)
        committed[threading.current_thread().name] = time.monotonic()

    monkeypatch.setattr(locks, "acquire", acquire)
    monkeypatch.setattr(UnitOfWork, "commit", commit)
    barrier = threading.Barrier(2)

    def run(uow: UnitOfWork) -> ImportResult:
        barrier.wait(timeout=30)
        return import_texts(uow, SET_A, actor="test", now=NOW)

    with ThreadPoolExecutor(2, thread_name_prefix="import") as pool:
        futures = [pool.submit(_in_thread, url, run) for _ in range(2)]
        results = [f.result(timeout=120) for f in futures]

    # both asked for the lock before either had committed: the imports really overlapped
    assert len(requested) == 2 and len(committed) == 2
    assert max(requested.values()) < min(committed.values())
    # the lock serialised them: one inserted everything, the other found it all stored
    assert sorted(r.counts["items"]["inserted"] for r in results) == [0, N]
    assert sorted(r.counts["stock"]["inserted"] for r in results) == [0, N]
    assert all(r.counts["items"]["updated"] == 0 for r in results)
    assert _count(url, m.Item) == N and _count(url, m.Stock) == N


def _hold_the_lock_in_winner(monkeypatch: pytest.MonkeyPatch) -> tuple[threading.Event, threading.Event]:
    """The import running in a thread named 'winner...' stops right after taking the lock until released."""
    holding, release = threading.Event(), threading.Event()
    original = locks.acquire

    def acquire(session: Session, name: str, **kwargs: Any) -> None:
        original(session, name, **kwargs)
        if threading.current_thread().name.startswith("winner"):
            holding.set()
            assert release.wait(60), "test did not release the winner"

    monkeypatch.setattr(locks, "acquire", acquire)
    return holding, release


def test_an_import_that_cannot_get_the_lock_in_time_is_busy_and_changes_nothing(
        url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    holding, release = _hold_the_lock_in_winner(monkeypatch)
    with ThreadPoolExecutor(1, thread_name_prefix="winner") as pool:
        winner = pool.submit(lambda: _in_thread(url, lambda uow: import_texts(uow, SET_A, actor="test", now=NOW)))
        try:
            assert holding.wait(60), "the winner never took the lock"
            before = _in_thread(url, export_texts)
            started = time.monotonic()
            with pytest.raises(Busy) as info:
                _in_thread(url, lambda uow: import_texts(uow, SET_B, lock_timeout=0.5, actor="test", now=NOW))
            waited = time.monotonic() - started
            assert str(info.value) == "another import is running; try again"
            assert 0.4 <= waited < 10
            assert _in_thread(url, export_texts) == before, "the loser must change nothing"
        finally:
            release.set()
        result = winner.result(timeout=120)
    assert result.counts["items"]["inserted"] == N
    assert _count(url, m.Item) == N  # the winner's rows, none of the loser's (B-ONLY)

    def b_only(uow: UnitOfWork) -> int:
        with uow:
            assert uow.session is not None
            return int(uow.session.scalar(select(func.count()).select_from(m.Item).where(m.Item.code == "B-ONLY")) or 0)
    assert _in_thread(url, b_only) == 0


def test_an_import_waits_for_the_running_one_and_then_sees_its_rows(url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    holding, release = _hold_the_lock_in_winner(monkeypatch)
    with ThreadPoolExecutor(1, thread_name_prefix="winner") as winners, \
            ThreadPoolExecutor(1, thread_name_prefix="second") as seconds:
        winner = winners.submit(lambda: _in_thread(url, lambda uow: import_texts(uow, SET_A, actor="test", now=NOW)))
        try:
            assert holding.wait(60), "the winner never took the lock"
            second = seconds.submit(lambda: _in_thread(url, lambda uow: import_texts(uow, SET_B, lock_timeout=60, actor="test", now=NOW)))
            time.sleep(0.5)
            assert not second.done(), "the second import must wait for the lock"
        finally:
            release.set()
        first_result = winner.result(timeout=120)
        second_result = second.result(timeout=120)
    assert first_result.counts["items"]["inserted"] == N
    # I00000 was committed by the first import before the second read anything
    assert second_result.counts["items"] == {"rows": 2, "inserted": 1, "updated": 0}
    assert _count(url, m.Item) == N + 1


def test_lock_helper_names_and_keys_are_stable() -> None:
    assert locks.lock_key(locks.IMPORT) == locks.lock_key("lpms.import")
    assert -(2 ** 63) <= locks.lock_key(locks.IMPORT) < 2 ** 63
    assert csv_io.BUSY_MESSAGE == "another import is running; try again"
