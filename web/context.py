"""What every view needs: the settings, the database (a fresh unit of work per service call),
the time of the request, and who is acting."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from flask import current_app, g

from lpms.bootstrap import Database, clock, solver_options
from lpms.db.session import SqlAlchemyUnitOfWork
from lpms.planning.solver import SolverOptions
from lpms.settings import Settings


@dataclass
class WebContext:
    settings: Settings
    database: Database


def ctx() -> WebContext:
    return current_app.extensions["lpms"]  # type: ignore[no-any-return]  # set by create_app


def settings() -> Settings:
    return ctx().settings


def uow() -> SqlAlchemyUnitOfWork:
    """A new unit of work; the service it is handed to opens and commits its transaction."""
    return ctx().database.uow()


def now() -> dt.datetime:
    """The request's time: the ``as_of`` setting when it pins time, else the clock (read once per request)."""
    if "lpms_now" not in g:
        g.lpms_now = clock(settings())
    return g.lpms_now  # type: ignore[no-any-return]  # set just above


def options() -> SolverOptions:
    return solver_options(settings())
