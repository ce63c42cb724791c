"""Login, logout, the start page by role, and the health check."""
from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from flask import Blueprint, flash, jsonify, redirect, render_template, request, session, url_for
from flask_login import current_user, login_user, logout_user
from flask_wtf import FlaskForm
from wtforms import PasswordField, StringField
from wtforms.validators import DataRequired, Length

from lpms.bootstrap import check_head, translate_db_error
from lpms.services import users
from web.context import ctx, uow
from web.security import ALL_ROLES, WebUser, allows, public, roles

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
    if form.validate_on_submit():
        record = users.authenticate(uow(), form.username.data or "", form.password.data or "")
        if record is None:
            error = "Unknown user name or wrong password."
        else:
            session.clear()
            login_user(WebUser(record))
            return redirect(_safe_next(request.args.get("next")) or url_for(HOME_BY_ROLE[record.role.value]))
    status = 401 if error else 200
    return render_template("login.html", form=form, error=error), status


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
