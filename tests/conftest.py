"""Test fixtures. Database tests run on SQLite (default) or PostgreSQL (--db=postgresql).

With --db=postgresql the tests create and drop their own databases on the server given by
--pg-admin-url; an unreachable server is an error, never a skip.
"""
from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import settings as hypothesis_settings
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.orm import sessionmaker

from lpms.db import migrate
from lpms.db.session import UnitOfWork, make_engine

# CI runs the property tests on a fixed sequence of examples, so a red build is reproducible;
# local runs keep exploring new examples.
hypothesis_settings.register_profile("ci", derandomize=True, database=None)
if os.environ.get("CI"):
    hypothesis_settings.load_profile("ci")


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--db", choices=["sqlite", "postgresql"], default="sqlite", help="database backend for db tests")
    parser.addoption("--pg-admin-url", default="postgresql+psycopg://postgres@127.0.0.1:5432/postgres",
                     help="PostgreSQL server used to create and drop test databases")


def pytest_report_header(config: pytest.Config) -> str:
    return f"lpms database backend: {config.getoption('--db')}"


class DatabaseFactory:
    """Creates throw-away databases on the selected backend and drops them at the end."""

    def __init__(self, backend: str, admin_url: str, tmp: Path) -> None:
        self.backend, self.admin_url, self.tmp = backend, admin_url, tmp
        self._created: list[str] = []
        self._admin: Engine | None = None

    def _admin_engine(self) -> Engine:
        if self._admin is None:
            self._admin = create_engine(self.admin_url, isolation_level="AUTOCOMMIT")
            try:
                with self._admin.connect() as conn:
                    conn.execute(text("select 1"))
            except Exception as exc:
                raise RuntimeError(f"PostgreSQL at {self.admin_url} is not reachable: {exc}") from exc
        return self._admin

    def new_url(self) -> str:
        name = f"lpms_test_{uuid.uuid4().hex[:12]}"
        if self.backend == "sqlite":
            return f"sqlite:///{self.tmp / (name + '.db')}"
        with self._admin_engine().connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        self._created.append(name)
        return self.admin_url.rsplit("/", 1)[0] + "/" + name

    def drop_all(self) -> None:
        if self._admin is None:
            return
        with self._admin.connect() as conn:
            for name in self._created:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        self._admin.dispose()


@pytest.fixture(scope="session")
def db_factory(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[DatabaseFactory]:
    factory = DatabaseFactory(request.config.getoption("--db"), request.config.getoption("--pg-admin-url"),
                              tmp_path_factory.mktemp("db"))
    yield factory
    factory.drop_all()


@pytest.fixture(scope="session")
def migrated_url(db_factory: DatabaseFactory) -> str:
    url = db_factory.new_url()
    migrate.upgrade(url)
    return url


@pytest.fixture(scope="session")
def engine(migrated_url: str) -> Iterator[Engine]:
    eng = make_engine(migrated_url)
    yield eng
    eng.dispose()


@pytest.fixture
def uow(engine: Engine) -> Iterator[UnitOfWork]:
    """A unit of work whose commits land in a savepoint of an outer transaction rolled back after the test."""
    connection = engine.connect()
    outer = connection.begin()
    factory = sessionmaker(bind=connection, join_transaction_mode="create_savepoint", expire_on_commit=False)
    try:
        yield UnitOfWork(factory)
    finally:
        outer.rollback()
        connection.close()


@pytest.fixture
def fresh_url(db_factory: DatabaseFactory) -> str:
    """A new, empty database (not migrated)."""
    return db_factory.new_url()


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    db_fixtures = {"uow", "engine", "migrated_url", "fresh_url", "db_factory"}
    for item in items:
        if db_fixtures & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.db)
