"""One runner at a time per job, across processes and machines.

- PostgreSQL: a session-level advisory lock (``pg_try_advisory_lock``) on a key derived from the
  job id, held on a connection of its own for as long as the job runs. When the process dies, the
  server closes the session and the lock is free again.
- SQLite: a lease row (``job_leases``) naming the holder and an expiry; the holder renews it while
  the job runs (every third of its length) and clears it at the end. A lease whose holder died
  expires after ``job_lease_seconds``.

``try_acquire(job_id)`` never waits: it returns a handle, or None when another runner holds the
job; the caller then records ``skipped``. The lease's clock is real elapsed time (process
liveness), not the ``as_of`` that may pin the services' ``now``.
"""
from __future__ import annotations

import datetime as dt
import logging
import threading
import uuid
from collections.abc import Callable
from typing import Protocol, cast

from sqlalchemy import Connection, Engine, Table, insert, or_, select, text, update
from sqlalchemy.exc import IntegrityError, SQLAlchemyError

from lpms.db.locks import lock_key
from lpms.db.models_jobs import JobLease

log = logging.getLogger("lpms.jobs")
LOCK_PREFIX = "lpms.job."
LEASES = cast(Table, JobLease.__table__)


def wall_clock() -> dt.datetime:
    """Real time, for lease expiry only (the services' ``now`` comes from bootstrap.clock)."""
    return dt.datetime.now(dt.UTC)


class LockHandle(Protocol):
    @property
    def holder(self) -> str: ...

    def release(self) -> None: ...


class RunnerLocks(Protocol):
    kind: str

    def try_acquire(self, job_id: str) -> LockHandle | None: ...

    def holder_of(self, job_id: str) -> str: ...


class AdvisoryLocks:
    """PostgreSQL advisory locks, one connection per held lock."""

    kind = "advisory lock"

    def __init__(self, engine: Engine, *, runner: str) -> None:
        self.engine, self.runner = engine, runner

    def try_acquire(self, job_id: str) -> _AdvisoryHandle | None:
        key = lock_key(LOCK_PREFIX + job_id)
        conn = self.engine.connect()
        try:
            got = bool(conn.scalar(text("SELECT pg_try_advisory_lock(:key)"), {"key": key}))
            conn.commit()  # the lock belongs to the session, not to this transaction
        except BaseException:
            conn.invalidate()
            conn.close()
            raise
        if not got:
            conn.close()
            return None
        return _AdvisoryHandle(conn, key, self.runner)

    def holder_of(self, job_id: str) -> str:
        """Which server process holds the job's lock (PostgreSQL only knows the backend pid)."""
        key = lock_key(LOCK_PREFIX + job_id)
        hi, lo = (key >> 32) & 0xFFFFFFFF, key & 0xFFFFFFFF
        with self.engine.connect() as conn:
            pid = conn.scalar(text("SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND granted "
                                   "AND classid = :hi AND objid = :lo AND objsubid = 1"), {"hi": hi, "lo": lo})
        return f"database session {pid}" if pid is not None else "another runner"


class _AdvisoryHandle:
    def __init__(self, conn: Connection, key: int, holder: str) -> None:
        self._conn: Connection | None = conn
        self.key = key
        self.holder = holder

    def release(self) -> None:
        conn, self._conn = self._conn, None
        if conn is None:
            return
        try:
            conn.scalar(text("SELECT pg_advisory_unlock(:key)"), {"key": self.key})
            conn.commit()
        except SQLAlchemyError:
            log.warning("could not unlock the job lock; closing its database session instead", exc_info=True)
            conn.invalidate()  # a closed session releases its advisory locks
        finally:
            conn.close()


class LeaseLocks:
    """Lease rows with expiry (SQLite; works on PostgreSQL too)."""

    kind = "lease"

    def __init__(self, engine: Engine, *, runner: str, lease_s: float = 60.0,
                 clock: Callable[[], dt.datetime] = wall_clock) -> None:
        if lease_s <= 0:
            raise ValueError("lease_s must be positive")
        self.engine, self.runner, self.lease_s, self.clock = engine, runner, lease_s, clock

    def try_acquire(self, job_id: str) -> _LeaseHandle | None:
        token = f"{self.runner}/{uuid.uuid4().hex[:8]}"[:160]
        now = self.clock()
        expires = now + dt.timedelta(seconds=self.lease_s)
        try:
            with self.engine.begin() as conn:
                taken = conn.execute(
                    update(LEASES).where(LEASES.c.name == job_id,
                                         or_(LEASES.c.holder == "", LEASES.c.expires_at < now))
                    .values(holder=token, acquired_at=now, expires_at=expires)).rowcount
                if not taken:
                    if conn.scalar(select(LEASES.c.name).where(LEASES.c.name == job_id)) is not None:
                        return None
                    conn.execute(insert(LEASES).values(name=job_id, holder=token, acquired_at=now, expires_at=expires))
        except IntegrityError:  # another runner created the lease row first
            return None
        handle = _LeaseHandle(self, job_id, token)
        handle.start()
        return handle

    def renew(self, job_id: str, token: str) -> bool:
        expires = self.clock() + dt.timedelta(seconds=self.lease_s)
        with self.engine.begin() as conn:
            return bool(conn.execute(update(LEASES).where(LEASES.c.name == job_id, LEASES.c.holder == token)
                                     .values(expires_at=expires)).rowcount)

    def free(self, job_id: str, token: str) -> None:
        with self.engine.begin() as conn:
            conn.execute(update(LEASES).where(LEASES.c.name == job_id, LEASES.c.holder == token)
                         .values(holder="", expires_at=self.clock()))

    def holder_of(self, job_id: str) -> str:
        with self.engine.connect() as conn:
            row = conn.execute(select(LEASES.c.holder, LEASES.c.expires_at).where(LEASES.c.name == job_id)).first()
        if row is None or not row.holder:
            return "another runner"
        return f"{row.holder.rsplit('/', 1)[0]} (lease until {row.expires_at:%Y-%m-%d %H:%M:%S} UTC)"


class _LeaseHandle:
    def __init__(self, locks: LeaseLocks, job_id: str, token: str) -> None:
        self.locks, self.job_id, self.token = locks, job_id, token
        self.holder = token.rsplit("/", 1)[0]
        self.lost = False
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._renew_loop, name=f"lease-{self.job_id}", daemon=True)
        self._thread.start()

    def _renew_loop(self) -> None:
        while not self._stop.wait(self.locks.lease_s / 3):
            try:
                if not self.locks.renew(self.job_id, self.token):
                    self.lost = True
                    log.error("the lease on job %s expired and was taken by another runner", self.job_id)
                    return
            except SQLAlchemyError:
                log.warning("could not renew the lease on job %s; trying again", self.job_id, exc_info=True)

    def release(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
            self._thread = None
        try:
            self.locks.free(self.job_id, self.token)
        except SQLAlchemyError:
            log.warning("could not clear the lease on job %s; it expires by itself", self.job_id, exc_info=True)


def runner_locks(engine: Engine, *, runner: str, lease_s: float = 60.0,
                 clock: Callable[[], dt.datetime] = wall_clock) -> RunnerLocks:
    """Advisory locks on PostgreSQL, leases on SQLite."""
    if engine.dialect.name == "postgresql":
        return AdvisoryLocks(engine, runner=runner)
    return LeaseLocks(engine, runner=runner, lease_s=lease_s, clock=clock)
