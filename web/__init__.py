"""The LPMS web application: screens for supervisors, planners, managers and admins, and the
JSON API under /api/v1 (docs/web.md, docs/api.md).

Thin like the CLI: every screen and endpoint calls the services of lpms/services (each owns its
transaction through a unit of work from the composition root, lpms/bootstrap.py); no scheduler
runs in a web worker (the jobs process does that). ``create_app(settings)`` builds the app.
"""
from __future__ import annotations

import datetime as dt
from typing import Any

from flask import Flask
from markupsafe import Markup

from lpms.bootstrap import Database, open_database
from lpms.settings import Settings

MAX_UPLOAD_BYTES = 16 * 1024 * 1024


def create_app(settings: Settings, *, database: Database | None = None, testing: bool = False) -> Flask:
    """The Flask application over the database the settings name (opened here unless given)."""
    from web import admin, api, auth, errors, floor, plan, report
    from web.context import WebContext
    from web.security import ScreenSessionInterface, TokenCache, csrf, init_login, public
    from web.throttle import LoginThrottle

    app = Flask(__name__)
    app.config.update(
        SECRET_KEY=settings.secret_key,
        TESTING=testing,
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        REMEMBER_COOKIE_HTTPONLY=True,
        REMEMBER_COOKIE_SAMESITE="Lax",
        PERMANENT_SESSION_LIFETIME=dt.timedelta(hours=12),
        WTF_CSRF_TIME_LIMIT=12 * 3600,  # a tablet left on the line for a shift keeps a valid form
        MAX_CONTENT_LENGTH=MAX_UPLOAD_BYTES,
        JSON_SORT_KEYS=False,
    )
    app.session_interface = ScreenSessionInterface()
    db = database if database is not None else open_database(settings)
    app.extensions["lpms"] = WebContext(settings, db)
    app.extensions["lpms_tokens"] = TokenCache(settings.api_token_cache_seconds)
    app.extensions["lpms_login_throttle"] = LoginThrottle()
    csrf.init_app(app)
    init_login(app)
    errors.register(app)
    for bp in (auth.bp, floor.bp, plan.bp, report.bp, admin.bp):
        app.register_blueprint(bp)
    api.init_api(app)
    csrf.exempt(api.blp)
    static_view = app.view_functions["static"]

    @public
    def static(filename: str) -> Any:
        return static_view(filename=filename)

    app.view_functions["static"] = static
    app.jinja_env.globals.update(role_allows=auth.role_allows)
    app.jinja_env.filters.update(qty=_qty, when=_when, runs=_runs, signed=_signed)
    return app


def _qty(value: object, decimals: int = 2) -> str:
    if value is None:
        return ""
    try:
        number = float(value)  # type: ignore[arg-type]  # numbers and numeric strings
    except (TypeError, ValueError):
        return str(value)
    text = f"{number:,.{decimals}f}"
    if decimals > 0:  # 2.50 -> 2.5, 3.00 -> 3 (never 700 -> 7)
        text = text.rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def _signed(value: object, decimals: int = 0) -> str:
    """A change with its sign: +82, −205, and small ones with decimals (−0.3, never −0)."""
    number = float(value)  # type: ignore[arg-type]  # numbers by contract
    if number == 0:
        return "0"
    text = _qty(abs(number), decimals)
    if text == "0":
        text = _qty(abs(number), 2)
        if text == "0":
            text = "0.01" if abs(number) < 0.01 else text
            return ("+<" if number > 0 else "−<") + text
    return ("+" if number > 0 else "−") + text


def _runs(lots: object, limit: int = 40) -> Markup:
    """Levelled lots: (("A", 40), ("B", 20)) -> "A×40 B×20" (at most ``limit`` shown), each lot
    kept on one line (a line never breaks inside "TV-32×10")."""
    runs = list(lots or ())  # type: ignore[call-overload]  # (item, units) pairs
    text = Markup(" ").join(Markup('<span class="nowrap">{}</span>').format(f"{item}×{_qty(units, 0)}")
                            for item, units in runs[:limit])
    return text + (f" … ({len(runs) - limit} more)" if len(runs) > limit else "")


def _when(value: dt.datetime | None) -> Markup:
    """A time as "2026-12-02 08:00", on one line (never "2026-12-" and "02 08:00")."""
    return Markup("") if value is None else Markup('<span class="nowrap">{}</span>').format(
        value.strftime("%Y-%m-%d %H:%M"))
