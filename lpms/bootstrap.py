"""The composition root: from ``Settings`` to a database handle, shared by the CLI, web and jobs.

One engine per process. Opening a database never creates one: only ``lpms demo`` and
``lpms db upgrade`` may (``create=True``); everything else is told there is none and how
to make one. Database driver errors are translated here into the domain's categories.
"""
from __future__ import annotations

import datetime as dt
import logging
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import Engine
from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from lpms.db import migrate
from lpms.db.session import SqlAlchemyUnitOfWork, database_error, make_engine, session_factory
from lpms.domain.errors import DatabaseMissing, DatabaseUnavailable, InternalError, LpmsError
from lpms.planning.solver import SolverOptions
from lpms.services.fluctuations import FluctuationThresholds
from lpms.services.replan import ReplanPolicy
from lpms.settings import Settings

log = logging.getLogger("lpms")


@dataclass
class Database:
    """One engine and its session factory; ``uow()`` gives a fresh unit of work."""

    url: str
    engine: Engine
    sessions: sessionmaker[Session]

    def uow(self) -> SqlAlchemyUnitOfWork:
        return SqlAlchemyUnitOfWork(self.sessions)

    def dispose(self) -> None:
        self.engine.dispose()

    def __enter__(self) -> Database:
        return self

    def __exit__(self, *exc: object) -> None:
        self.dispose()


def sqlite_path(url: str) -> Path | None:
    """The file behind a SQLite URL (None for in-memory or non-SQLite URLs)."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite" or not parsed.database or parsed.database == ":memory:":
        return None
    return Path(parsed.database)


def open_database(settings: Settings, *, create: bool = False, require_head: bool = True,
                  connections: int | None = None) -> Database:
    """Open the database named by the settings; ``connections``: how many connections the pool
    keeps open (default 5: one per thread of a server that runs that many, so that the threads do
    not open and close a connection per request).

    Raises DatabaseMissing when a SQLite file does not exist and ``create`` is false,
    DatabaseUnavailable when the server cannot be reached or the schema is not at head.
    """
    url = settings.resolved_database_url
    path = sqlite_path(url)
    if path is not None and not create and not path.is_file():
        raise DatabaseMissing(f"no database at {path}: run 'lpms demo' (demo data) or 'lpms db upgrade' "
                              f"(empty database) to create one, or set database_url")
    engine = make_engine(url) if connections is None else \
        make_engine(url, pool_size=connections, max_overflow=max(connections // 2, 2))
    database = Database(url, engine, session_factory(engine))
    try:
        with engine.connect():
            pass
        if require_head:
            check_head(database)
    except BaseException as exc:
        engine.dispose()
        if isinstance(exc, SQLAlchemyError):
            raise translate_db_error(exc, url) from None
        raise
    return database


def check_head(database: Database) -> None:
    """Raise DatabaseUnavailable unless the schema is at the newest migration."""
    current = migrate.current_revision(database.engine)
    head = migrate.head_revision()
    if current != head:
        raise DatabaseUnavailable(
            f"database {safe_url(database.url)} is at revision {current or 'none (empty)'}, not {head}: "
            f"run 'lpms db upgrade' first")


def safe_url(url: str) -> str:
    """The URL without its password, for messages and logs."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:  # noqa: BLE001 - a message helper must never fail
        return "(database url)"


def translate_db_error(exc: BaseException, url: str = "") -> LpmsError:
    """A driver or SQLAlchemy error as a domain error with a one-line message naming the database."""
    if isinstance(exc, LpmsError):
        return exc
    if not isinstance(exc, SQLAlchemyError):
        return InternalError(f"{type(exc).__name__}: {exc}")
    err = database_error(exc)
    if isinstance(err, DatabaseUnavailable) and url:
        detail = str(err).removeprefix("database unavailable: ")
        return DatabaseUnavailable(f"database {safe_url(url)}: {detail}")
    return err


class _LpmsHandler(logging.StreamHandler):  # type: ignore[type-arg]  # StreamHandler is generic in typeshed only
    """LPMS's own stderr handler (so configuring twice adds it once)."""


def configure_logging(settings: Settings) -> None:
    """Warnings and above go to stderr at the configured level; stdout stays ours."""
    root = logging.getLogger("lpms")
    if any(isinstance(h, _LpmsHandler) for h in root.handlers):
        root.setLevel(settings.log_level)
        return
    handler = _LpmsHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root.addHandler(handler)
    root.setLevel(settings.log_level)
    root.propagate = False


def write_crash_log(settings: Settings | None, text: str) -> Path:
    """Append an internal error's details to the instance log (a temporary file if there is none)."""
    instance = settings.instance_dir if settings is not None else None
    if instance is not None and instance.is_dir():
        path = instance / "lpms.log"
        try:
            with path.open("a", encoding="utf-8") as fh:
                fh.write(text + "\n")
            return path.resolve()
        except OSError:
            pass
    fd, name = tempfile.mkstemp(prefix="lpms-error-", suffix=".log")
    with open(fd, "w", encoding="utf-8") as fh:
        fh.write(text + "\n")
    return Path(name)


def solver_options(settings: Settings) -> SolverOptions:
    """The solver's options as the settings give them."""
    return SolverOptions(time_limit_s=settings.solver_time_limit_s, threads=settings.solver_threads,
                         gap_rel=settings.balance_gap_rel)


def clock(settings: Settings) -> dt.datetime:
    """Now, for an entrypoint to hand to services: the ``as_of`` setting when it pins the time,
    else the wall clock. The one place LPMS reads the clock."""
    if settings.as_of:
        return dt.datetime.fromisoformat(settings.as_of)
    return dt.datetime.now(dt.UTC)


def fluctuation_thresholds(settings: Settings) -> FluctuationThresholds:
    """The thresholds of fluctuation detection as the settings give them."""
    return FluctuationThresholds(
        behind_plan_units=settings.behind_plan_units, behind_plan_fraction=settings.behind_plan_fraction,
        kit_rate=settings.kit_rate_threshold, downtime_min=settings.downtime_threshold_min,
        scrap_fraction=settings.scrap_threshold_fraction, buffer_shortfall_units=settings.buffer_shortfall_units,
        demand_change_units=settings.demand_change_units)


def replan_policy(settings: Settings) -> ReplanPolicy:
    """How re-plans are made, as the settings give it (fence, nervousness cost, auto-approval, time zone)."""
    return ReplanPolicy(fence_periods=settings.release_fence_periods, nervousness_cost=settings.nervousness_cost,
                        auto_approve=settings.replan_auto_approve, timezone=settings.timezone)
