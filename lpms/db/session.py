"""Engines, sessions and the unit of work that owns every transaction."""
from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.exc import DataError, DBAPIError, DisconnectionError, IntegrityError, SQLAlchemyError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlalchemy.orm import Session, sessionmaker

from lpms.domain.errors import Busy, Conflict, DatabaseUnavailable, InternalError, InvalidInput, LpmsError

log = logging.getLogger("lpms.db")


def make_engine(url: str, **kwargs: Any) -> Engine:
    """Create an engine; for SQLite also enable foreign keys and real SAVEPOINT support."""
    if url.startswith("sqlite"):
        path = url.split("///", 1)[-1]
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, **kwargs)

        @event.listens_for(engine, "connect")
        def _on_connect(dbapi_connection: Any, _record: Any) -> None:
            # pysqlite's own transaction handling breaks SAVEPOINT; let SQLAlchemy emit BEGIN.
            dbapi_connection.isolation_level = None
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.close()

        @event.listens_for(engine, "begin")
        def _on_begin(conn: Any) -> None:
            conn.exec_driver_sql("BEGIN")

        return engine
    engine = create_engine(url, **kwargs)
    _ping_idle_connections(engine)
    return engine


PING_AFTER_IDLE_S = 10.0  # a pooled connection idle longer than this is pinged before use


def _ping_idle_connections(engine: Engine) -> None:
    """Ping a pooled connection before its use when it sat idle in the pool for more than
    PING_AFTER_IDLE_S (a database restart or a dropped connection is then noticed and the pool
    opens a new one). SQLAlchemy's ``pool_pre_ping`` pings at every checkout: a round trip per
    transaction, a tenth of a shop-floor report's time; a connection handed back and out again
    within seconds is alive."""

    @event.listens_for(engine, "checkin")
    def _on_checkin(_dbapi_connection: Any, record: Any) -> None:
        record.info["lpms.idle_since"] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _on_checkout(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
        idle_since = record.info.get("lpms.idle_since")
        if idle_since is None or time.monotonic() - idle_since <= PING_AFTER_IDLE_S:
            return
        try:
            alive = engine.dialect.do_ping(dbapi_connection)
        except Exception as exc:  # any failure of the ping means a dead connection
            raise DisconnectionError(f"pooled connection failed its ping: {exc}") from exc
        if not alive:
            raise DisconnectionError("pooled connection failed its ping")


class SqlAlchemyUnitOfWork:
    """``with uow: ...; uow.commit()`` -- leaving the block without commit rolls back.

    Inside the block the session and the repositories (``planning``, ``plan_runs``, ``audit``,
    ``master_data``; process management: ``locks``, ``work_orders``, ``reports``, ``stock``) are
    available; none of them commits. Implements
    ``lpms.services.unit_of_work.UnitOfWork``.
    """

    def __init__(self, session_factory: Callable[[], Session]) -> None:
        self._factory = session_factory
        self._session: Session | None = None

    @property
    def session(self) -> Session:
        if self._session is None:
            raise InternalError("the database session is used outside 'with uow'")
        return self._session

    def __enter__(self) -> SqlAlchemyUnitOfWork:
        from lpms.db.repositories import AuditLog, MasterData, PlanningReader, PlanRuns
        from lpms.db.shop_floor import ShopReports, StockLedger, TransactionLocks, WorkOrders

        self._session = self._factory()
        self.planning = PlanningReader(self._session)
        self.plan_runs = PlanRuns(self._session)
        self.audit = AuditLog(self._session)
        self.master_data = MasterData(self._session)
        self.locks = TransactionLocks(self._session)
        self.work_orders = WorkOrders(self._session)
        self.reports = ShopReports(self._session)
        self.stock = StockLedger(self._session)
        return self

    def __exit__(self, *exc: object) -> None:
        session, self._session = self._session, None
        if session is None:
            return
        try:
            session.rollback()
        finally:
            session.close()

    def commit(self) -> None:
        self.session.commit()

    def rollback(self) -> None:
        self.session.rollback()


UnitOfWork = SqlAlchemyUnitOfWork


def session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(bind=engine, expire_on_commit=False)


# SQLSTATEs of PostgreSQL's "try again" errors: lock_not_available, deadlock_detected,
# serialization_failure, query_canceled (statement/lock timeout).
_PG_RETRY = {"55P03", "40P01", "40001", "57014"}


def _detail(exc: BaseException) -> str:
    orig = exc.orig if isinstance(exc, DBAPIError) and exc.orig is not None else exc
    lines = str(orig).strip().splitlines()
    return (lines[0] if lines else type(orig).__name__)[:300]


def database_error(exc: SQLAlchemyError) -> LpmsError:
    """A SQLAlchemy / driver error as a domain error with a one-line message.

    Lock contention becomes Busy, an unreachable or failing server DatabaseUnavailable, a
    constraint violation (someone else wrote the same row meanwhile) Conflict, a value the
    database refuses InvalidInput; anything else is an InternalError (logged).
    """
    detail = _detail(exc)
    sqlstate = getattr(getattr(exc, "orig", None), "sqlstate", None)
    if sqlstate in _PG_RETRY or "database is locked" in detail or "database table is locked" in detail:
        return Busy(f"the database is busy ({detail}); try again")
    if isinstance(exc, IntegrityError):
        return Conflict(f"the database changed meanwhile ({detail}); try again")
    if isinstance(exc, DataError):
        return InvalidInput(f"the database refused a value ({detail})")
    if isinstance(exc, PoolTimeout) or (isinstance(exc, DBAPIError) and (
            exc.connection_invalidated or type(exc).__name__ in ("OperationalError", "InterfaceError"))):
        return DatabaseUnavailable(f"database unavailable: {detail}")
    log.error("unexpected database error", exc_info=exc)
    return InternalError(f"unexpected database error ({detail}); details in the log (logger lpms.db)")


@contextmanager
def translated_errors() -> Iterator[None]:
    """Re-raise SQLAlchemy / driver errors raised inside the block as domain errors (database_error)."""
    try:
        yield
    except SQLAlchemyError as exc:
        raise database_error(exc) from exc
