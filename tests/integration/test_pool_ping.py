"""Pooled connections are pinged before use only after sitting idle (lpms.db.session.
PING_AFTER_IDLE_S): a connection that died while idle in the pool (a database restart, a
firewall dropping it) is replaced without the caller seeing an error, and a connection handed
back and out again at once is not pinged (no extra round trip per transaction)."""
from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import event, text

from lpms.db import session as db_session
from lpms.db.session import make_engine

pytestmark = pytest.mark.db


def test_a_connection_killed_while_idle_is_replaced(migrated_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    if not migrated_url.startswith("postgresql"):
        pytest.skip("a server-side connection kill needs PostgreSQL (PostgreSQL pass)")
    engine = make_engine(migrated_url, pool_size=1, max_overflow=0)
    admin = make_engine(migrated_url)
    try:
        with engine.connect() as conn:
            pid = conn.execute(text("SELECT pg_backend_pid()")).scalar()
        with admin.connect() as conn:  # the pooled connection dies while idle
            conn.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
        monkeypatch.setattr(db_session, "PING_AFTER_IDLE_S", 0.0)  # it has been idle "long enough"
        with engine.connect() as conn:  # the ping notices, the pool opens a new connection
            assert conn.execute(text("SELECT pg_backend_pid()")).scalar() != pid
    finally:
        engine.dispose()
        admin.dispose()


def test_a_connection_reused_at_once_is_not_pinged(migrated_url: str) -> None:
    engine = make_engine(migrated_url, pool_size=1, max_overflow=0)
    pings: list[Any] = []
    original = engine.dialect.do_ping

    def do_ping(dbapi_connection: Any) -> bool:
        pings.append(dbapi_connection)
        return original(dbapi_connection)

    engine.dialect.do_ping = do_ping  # type: ignore[method-assign]
    statements: list[str] = []
    event.listen(engine, "before_cursor_execute", lambda *args: statements.append(args[2]))
    try:
        for _ in range(5):
            with engine.connect() as conn:
                assert conn.execute(text("SELECT 1")).scalar() == 1
        assert pings == []
        assert [s for s in statements if s != "BEGIN"] == ["SELECT 1"] * 5  # SQLite: LPMS emits BEGIN itself
    finally:
        engine.dispose()
