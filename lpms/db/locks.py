"""Named locks held for the rest of a transaction, the same way on SQLite and PostgreSQL.

``acquire(session, name, timeout=...)`` must be the first statement of the transaction (before
anything is read), so that what the holder reads afterwards is what the previous holder committed.
The lock is released when the transaction ends (commit or rollback); there is nothing to unlock.

- PostgreSQL: a transaction-level advisory lock (``pg_try_advisory_xact_lock``) on a 64-bit key
  derived from ``name``, polled until ``timeout``. Other transactions are not blocked.
- SQLite: the database's write lock (RESERVED), taken by a statement that writes nothing, with
  the busy timeout set to ``timeout``. SQLite has one writer at a time, so this lock is shared by
  every name and by every other writer; readers are not blocked.

When the lock is not free within ``timeout`` seconds, ``Busy(busy_message)`` is raised.
"""
from __future__ import annotations

import hashlib
import time

from sqlalchemy import text
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from lpms.domain.errors import Busy, InternalError

IMPORT = "lpms.import"
_POLL_S = 0.05


def lock_key(name: str) -> int:
    """A stable signed 64-bit key for ``name`` (PostgreSQL advisory locks take a bigint)."""
    return int.from_bytes(hashlib.blake2b(name.encode("utf-8"), digest_size=8).digest(), "big", signed=True)


def acquire(session: Session, name: str, *, timeout: float, busy_message: str) -> None:
    """Hold lock ``name`` until the session's transaction ends; raise Busy after ``timeout`` s."""
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        _acquire_postgresql(session, lock_key(name), timeout, busy_message)
    elif dialect == "sqlite":
        _acquire_sqlite(session, timeout, busy_message)
    else:  # pragma: no cover - LPMS supports SQLite and PostgreSQL only
        raise InternalError(f"named locks are not available on {dialect}")


def _acquire_postgresql(session: Session, key: int, timeout: float, busy_message: str) -> None:
    deadline = time.monotonic() + max(timeout, 0.0)
    while True:
        if session.scalar(text("SELECT pg_try_advisory_xact_lock(:key)"), {"key": key}):
            return
        if time.monotonic() >= deadline:
            raise Busy(busy_message)
        time.sleep(min(_POLL_S, max(deadline - time.monotonic(), 0.0)) or _POLL_S / 5)


def _acquire_sqlite(session: Session, timeout: float, busy_message: str) -> None:
    previous = session.scalar(text("PRAGMA busy_timeout"))
    session.execute(text(f"PRAGMA busy_timeout = {int(max(timeout, 0.0) * 1000)}"))
    try:
        # A write that changes nothing still takes the RESERVED lock; as the transaction's first
        # statement it waits for the busy timeout instead of failing at once (a transaction that
        # has already read would fail at once). Every LPMS database has Alembic's version table.
        session.execute(text("UPDATE alembic_version SET version_num = version_num WHERE 0 = 1"))
    except OperationalError as exc:
        if "locked" in str(exc.orig) or "busy" in str(exc.orig):
            raise Busy(busy_message) from None
        raise
    finally:
        try:
            session.execute(text(f"PRAGMA busy_timeout = {int(previous or 0)}"))
        except OperationalError:  # pragma: no cover - the connection is gone; nothing to restore
            pass
