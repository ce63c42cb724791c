"""Login (with failed-login throttling, web/throttle.py), logout, the start page by role, and
the health check."""
from __future__ import annotations

import math
from typing import Any
from urllib.parse import urlsplit

from flask import Blueprint, current_app, flash, jsonify, redirect, render_template, request, session, url_for
from flask_login import current_user, login_user, logout_user
from flask_wtf import FlaskForm
from wtforms import PasswordField, StringField
from wtforms.validators import DataRequired, Length

from lpms.bootstrap import check_head, translate_db_error
from lpms.services import users
from web.context import ctx, now, uow
from web.security import ALL_ROLES, WebUser, allows, public, roles
from web.throttle import LoginThrottle

bp = Blueprint("auth", __name__)

HOME_BY_ROLE = {"supervisor": "floor.index", "planner": "plan.index", "manager": "report.dashboard",
                "admin": "admin.index"}


class LoginForm(FlaskForm):
    username = StringField("User name", validators=[DataRequired(), Length(max=64)])
    password = PasswordField("Password", validators=[DataRequired(), Length(max=256)])


def role_allows(*allowed: str) -> bool:
    """For templates: may the current user use screens of these roles?"""
    return current_user.is_authenticated and allows(frozenset(allowed), current_user.role)


def _safe_next(target: str | None) -> str | None:
    if not target:
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return None
    return target


@bp.route("/login", methods=["GET", "POST"])
@public
def login() -> Any:
    form = LoginForm()
    error = ""
    status = 200
    headers: dict[str, str] = {}
    if form.validate_on_submit():
        name, address, at = form.username.data or "", request.remote_addr or "", now()
        throttle = login_throttle()
        until = throttle.refused_until(name, address, at)  # refused without looking at the password
        if until is None:
            record = users.authenticate(uow(), name, form.password.data or "")
            if record is not None:
                throttle.succeeded(name, address)
                session.clear()
                login_user(WebUser(record))
                return redirect(_safe_next(request.args.get("next")) or url_for(HOME_BY_ROLE[record.role.value]))
            error, status = "Unknown user name or wrong password.", 401
            until = throttle.failed(name, address, at)
        if until is not None:
            minutes = max(1, math.ceil((until - at).total_seconds() / 60))
            error = (f"Too many failed logins: logging in with this user name or from this device is paused. "
                     f"Try again in {minutes} minute{'s' if minutes != 1 else ''}.")
            status = 429
            headers["Retry-After"] = str(max(1, math.ceil((until - at).total_seconds())))
    return render_template("login.html", form=form, error=error), status, headers


def login_throttle() -> LoginThrottle:
    return current_app.extensions["lpms_login_throttle"]  # type: ignore[no-any-return]  # set by create_app


@bp.route("/logout", methods=["POST"])
@roles(*ALL_ROLES)
def logout() -> Any:
    logout_user()
    session.clear()
    flash("Logged out.")
    return redirect(url_for("auth.login"))


@bp.route("/")
@roles(*ALL_ROLES)
def home() -> Any:
    return redirect(url_for(HOME_BY_ROLE[current_user.role]))


@bp.route("/healthz")
@public
def healthz() -> Any:
    """200 when the database answers and its schema is at the newest migration, else 503."""
    try:
        check_head(ctx().database)
    except Exception as exc:  # noqa: BLE001 - any failure to answer is "unavailable"
        err = translate_db_error(exc, ctx().database.url)
        return jsonify({"status": "unavailable", "database": str(err)}), 503
    return jsonify({"status": "ok", "database": "at head"})
