"""Alembic environment: migrations run by command (`lpms db upgrade`), never at import."""
from __future__ import annotations

from alembic import context
from sqlalchemy import Connection

from lpms.db.models import Base
from lpms.db.session import make_engine

config = context.config
target_metadata = Base.metadata


def _configure(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _configure(connection)
        with context.begin_transaction():
            context.run_migrations()
        return
    url = config.get_main_option("sqlalchemy.url")
    if not url:
        from lpms.settings import load_settings

        url = load_settings().resolved_database_url
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            sqlite = conn.dialect.name == "sqlite"
            if sqlite:
                # SQLite rebuilds a table to alter it (batch mode): DROP TABLE would fire the foreign
                # keys of rows that point at it. Off for the migration (possible only outside a
                # transaction), checked before commit, on again afterwards.
                conn.connection.dbapi_connection.execute("PRAGMA foreign_keys=OFF")  # type: ignore[union-attr]  # a live pysqlite connection
            try:
                _configure(conn)
                with context.begin_transaction():
                    context.run_migrations()
                    if sqlite:
                        _check_foreign_keys(conn)
            finally:
                if sqlite:
                    conn.connection.dbapi_connection.execute("PRAGMA foreign_keys=ON")  # type: ignore[union-attr]  # as above
    finally:
        engine.dispose()


def _check_foreign_keys(conn: Connection) -> None:
    problems = conn.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
    if problems:
        raise RuntimeError(f"the migration left rows whose foreign keys point nowhere: {problems[:10]}")


if context.is_offline_mode():
    raise SystemExit("offline (--sql) migrations are not supported; run against a database")
run_migrations_online()
