"""Admin screens: users, roles and API tokens; job runs and "run now"; the audit log."""
from __future__ import annotations

import datetime as dt
from typing import Any

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_wtf import FlaskForm
from wtforms import BooleanField, PasswordField, SelectField, StringField
from wtforms.validators import DataRequired, Length, Optional

from lpms.domain.enums import Role
from lpms.domain.errors import InvalidInput, LpmsError
from lpms.services import jobs as jobs_service
from lpms.services import users, views
from web.context import now, uow
from web.fields import form_errors
from web.security import actor, roles, token_cache

bp = Blueprint("admin", __name__, url_prefix="/admin")
ROLE_CHOICES = [r.value for r in Role]


class AddUserForm(FlaskForm):
    username = StringField("User name", validators=[DataRequired(), Length(max=64)])
    display_name = StringField("Display name", validators=[Optional(), Length(max=128)])
    role = SelectField("Role", choices=ROLE_CHOICES)
    password = PasswordField("Password", validators=[DataRequired(), Length(min=users.MIN_PASSWORD, max=256)])


class UserForm(FlaskForm):
    role = SelectField("Role", choices=ROLE_CHOICES)
    active = BooleanField("Active")


class PasswordForm(FlaskForm):
    password = PasswordField("New password", validators=[DataRequired(), Length(min=users.MIN_PASSWORD, max=256)])


class TokenForm(FlaskForm):
    name = StringField("Token name", validators=[Optional(), Length(max=128)])


class PlainForm(FlaskForm):
    pass


def _flash_errors(form: FlaskForm) -> None:
    for name, msgs in form.errors.items():
        for msg in msgs:
            flash(f"{form[name].label.text}: {msg}", "error")


def _page(new_token: users.NewToken | None = None, status: int = 200, add_form: AddUserForm | None = None,
          add_problems: list[str] | None = None) -> Any:
    return render_template("admin/users.html", users=users.list_users(uow()), tokens=users.list_tokens(uow()),
                           add_form=add_form or AddUserForm(formdata=None), add_problems=add_problems or [], user_form=UserForm(formdata=None),
                           password_form=PasswordForm(formdata=None), token_form=TokenForm(formdata=None),
                           plain=PlainForm(formdata=None), new_token=new_token), status


@bp.route("/")
@roles()
def index() -> Any:
    return _page()


@bp.route("/users", methods=["POST"])
@roles()
def add_user() -> Any:
    form = AddUserForm()
    if not form.validate_on_submit():
        return _page(status=400, add_form=form, add_problems=form_errors(form))
    try:
        users.add_user(uow(), form.username.data or "", form.role.data or "", form.password.data or "",
                       display_name=form.display_name.data or "", actor=actor(), now=now())
    except LpmsError as exc:
        return _page(status=400, add_form=form, add_problems=[str(exc)])
    flash(f"User {form.username.data} added.", "ok")
    return redirect(url_for("admin.index"))


@bp.route("/users/<username>", methods=["POST"])
@roles()
def update_user(username: str) -> Any:
    form = UserForm()
    if form.validate_on_submit():
        try:
            users.update_user(uow(), username, role=form.role.data, active=bool(form.active.data), actor=actor(),
                              now=now())
            token_cache().clear()
        except LpmsError as exc:
            flash(str(exc), "error")
        else:
            flash(f"User {username} saved.", "ok")
    else:
        _flash_errors(form)
    return redirect(url_for("admin.index"))


@bp.route("/users/<username>/password", methods=["POST"])
@roles()
def set_password(username: str) -> Any:
    form = PasswordForm()
    if form.validate_on_submit():
        try:
            users.set_password(uow(), username, form.password.data or "", actor=actor(), now=now())
        except LpmsError as exc:
            flash(str(exc), "error")
        else:
            flash(f"Password of {username} changed.", "ok")
    else:
        _flash_errors(form)
    return redirect(url_for("admin.index"))


@bp.route("/users/<username>/tokens", methods=["POST"])
@roles()
def create_token(username: str) -> Any:
    form = TokenForm()
    if not form.validate_on_submit():
        _flash_errors(form)
        return redirect(url_for("admin.index"))
    try:
        token = users.create_token(uow(), username, name=form.name.data or "", actor=actor(), now=now())
    except LpmsError as exc:
        flash(str(exc), "error")
        return redirect(url_for("admin.index"))
    return _page(new_token=token)


@bp.route("/tokens/<int:token_id>/revoke", methods=["POST"])
@roles()
def revoke_token(token_id: int) -> Any:
    if PlainForm().validate_on_submit():
        try:
            users.revoke_token(uow(), token_id, actor=actor(), now=now())
            token_cache().clear()
        except LpmsError as exc:
            flash(str(exc), "error")
        else:
            flash(f"Token {token_id} revoked.", "ok")
    return redirect(url_for("admin.index"))


@bp.route("/jobs")
@roles()
def jobs() -> Any:
    return render_template("admin/jobs.html", j=views.jobs_overview(uow()), form=PlainForm())


@bp.route("/jobs/<job_id>/run", methods=["POST"])
@roles()
def run_job(job_id: str) -> Any:
    if not PlainForm().validate_on_submit():
        flash("The form was not accepted: reload the page and try again.", "error")
    else:
        try:
            request_id = jobs_service.request_job(uow(), job_id, actor=actor(), now=now())
        except LpmsError as exc:
            flash(str(exc), "error")
        else:
            flash(f"Job {job_id} requested (request {request_id}): the jobs process runs it within seconds.", "ok")
    return redirect(url_for("admin.jobs"))


@bp.route("/audit")
@roles()
def audit() -> Any:
    since_text = request.args.get("since", "").strip()
    since = None
    if since_text:
        try:
            since = dt.datetime.fromisoformat(since_text)
        except ValueError:
            raise InvalidInput(f"since: {since_text!r} is not a date (YYYY-MM-DD)") from None
        since = since.replace(tzinfo=dt.UTC) if since.tzinfo is None else since
    filters = {k: request.args.get(k, "").strip()[:64] for k in ("actor", "entity", "action")}
    rows = views.audit_entries(uow(), since=since, actor=filters["actor"], entity=filters["entity"],
                                 action=filters["action"])
    return render_template("admin/audit.html", rows=rows, filters=filters, since=since_text,
                           facets=views.audit_facets(uow()))
