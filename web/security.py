"""Who is asking and what they may do.

Screens: a session login (Flask-Login), CSRF on every form post (Flask-WTF). API: a per-user
bearer token (``Authorization: Bearer TOKEN``), no session cookie, no CSRF. Every view declares
its roles with ``@roles(...)`` (admin may always) or ``@public``; tests/web/test_route_roles.py
fails for a route that does neither or that lets a role through it does not declare.
"""
from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import wraps
from typing import Any, TypeVar

from flask import Flask, abort, current_app, g, redirect, request, url_for
from flask.sessions import SecureCookieSession, SecureCookieSessionInterface
from flask_login import LoginManager, UserMixin, current_user
from flask_wtf.csrf import CSRFProtect

from lpms.domain.enums import Role
from lpms.services import users
from web.context import uow

csrf = CSRFProtect()
login_manager = LoginManager()
F = TypeVar("F", bound=Callable[..., Any])
ALL_ROLES = tuple(r.value for r in Role)


@dataclass
class WebUser(UserMixin):
    """The logged-in user as Flask-Login and the templates see it."""

    record: users.UserRecord

    def get_id(self) -> str:
        return str(self.record.id)

    @property
    def username(self) -> str:
        return self.record.username

    @property
    def role(self) -> str:
        return self.record.role.value

    @property
    def is_active(self) -> bool:
        return self.record.active


def init_login(app: Flask) -> None:
    login_manager.init_app(app)
    login_manager.login_view = "auth.login"
    login_manager.login_message = "Please log in."
    login_manager.session_protection = "strong"

    @login_manager.user_loader
    def load(user_id: str) -> WebUser | None:
        if not user_id.isdigit():
            return None
        record = users.get_user(uow(), int(user_id))
        return WebUser(record) if record is not None and record.active else None


class ScreenSessionInterface(SecureCookieSessionInterface):
    """Flask's signed-cookie session for the screens; none for the API (``/api/``), which takes
    no session cookie: its requests get Flask's null session (reading finds nothing, writing
    raises), never open or sign a cookie, and never set one."""

    def open_session(self, app: Flask, request: Any) -> SecureCookieSession | None:
        if request.path.startswith("/api/"):
            return self.make_null_session(app)
        return super().open_session(app, request)


def is_api_request() -> bool:
    return request.blueprint == "api" or request.path.startswith("/api/")


class TokenCache:
    """Tokens checked in the last ``seconds`` (by digest): an API client posting reports does not
    pay a database round trip per request for its token. A revoke or user change made on the admin
    screens clears it at once; one made elsewhere (``lpms users revoke``, another server process)
    takes effect within ``seconds``. Only valid tokens are kept; 0 seconds checks every request."""

    def __init__(self, seconds: float, size: int = 1024) -> None:
        self.seconds = seconds
        self.size = size
        self._entries: dict[str, tuple[float, users.UserRecord]] = {}
        self._lock = threading.Lock()

    def get(self, secret: str) -> users.UserRecord | None:
        if self.seconds <= 0:
            return users.user_for_token(uow(), secret)
        digest = users.token_digest(secret)
        now = time.monotonic()
        with self._lock:
            hit = self._entries.get(digest)
        if hit is not None and hit[0] > now:
            return hit[1]
        user = users.user_for_token(uow(), secret)
        with self._lock:
            if user is None:
                self._entries.pop(digest, None)
            else:
                if len(self._entries) >= self.size:
                    self._entries = {k: v for k, v in self._entries.items() if v[0] > now}
                    if len(self._entries) >= self.size:
                        self._entries.clear()
                self._entries[digest] = (now + self.seconds, user)
        return user

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()


def token_cache() -> TokenCache:
    return current_app.extensions["lpms_tokens"]  # type: ignore[no-any-return]  # set by create_app


def api_user() -> users.UserRecord | None:
    """The user of the request's bearer token (None: no or no valid token). Cached per request
    and, for valid tokens, for a few seconds across requests (TokenCache)."""
    if "api_user" not in g:
        header = request.headers.get("Authorization", "")
        scheme, _, token = header.partition(" ")
        token = token.strip()
        g.api_user = (token_cache().get(token) if scheme.lower() == "bearer" and token
                      and token.startswith(users.TOKEN_PREFIX) and len(token) <= 128 else None)
    return g.api_user  # type: ignore[no-any-return]  # set just above


def actor() -> str:
    """Who acts, as written into the audit log and the reports: ``web:NAME`` or ``api:NAME``."""
    if is_api_request():
        user = api_user()
        return f"api:{user.username}" if user else "api"
    return f"web:{current_user.username}" if current_user.is_authenticated else "web"


def current_role() -> str | None:
    if is_api_request():
        user = api_user()
        return user.role.value if user else None
    return current_user.role if current_user.is_authenticated else None


def allows(allowed: frozenset[str], role: str | None) -> bool:
    return role is not None and (role == Role.ADMIN.value or role in allowed)


def roles(*allowed: str) -> Callable[[F], F]:
    """Declare (and enforce) the roles that may use a view; admin always may."""
    unknown = set(allowed) - set(ALL_ROLES)
    if unknown:
        raise ValueError(f"unknown roles {sorted(unknown)}")
    declared = frozenset(allowed) | {Role.ADMIN.value}

    def decorate(view: F) -> F:
        @wraps(view)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            role = current_role()
            if role is None:
                if is_api_request():
                    abort(401)
                return redirect(url_for("auth.login", next=request.full_path if request.method == "GET" else None))
            if not allows(declared, role):
                others = sorted(declared - {Role.ADMIN.value})
                who = (f"the {' and '.join(others)} role{'s' if len(others) > 1 else ''} (and admin)" if others
                       else "the admin role")
                abort(403, description=f"This is for {who}; your role is {role}.")
            return view(*args, **kwargs)

        wrapper.lpms_roles = declared  # type: ignore[attr-defined]  # read by the route-role test
        return wrapper  # type: ignore[return-value]  # same signature

    return decorate


def public(view: F) -> F:
    """Mark a view reachable without login (login page, health check, the API's description)."""
    view.lpms_public = True  # type: ignore[attr-defined]  # read by the route-role test
    return view
