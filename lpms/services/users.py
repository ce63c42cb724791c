"""Users of the web application and the API: accounts, roles, passwords and API tokens.

Passwords are hashed with Argon2id (argon2-cffi, its default parameters); API tokens are 256
random bits shown once and stored as their SHA-256 digest (lpms.db.models_web.ApiToken). Every
change writes an audit row with what it was before and after (never a password or a token).
Roles: ``supervisor``, ``planner``, ``manager``, ``admin`` (admin may do everything).
"""
from __future__ import annotations

import datetime as dt
import hashlib
import re
import secrets
from dataclasses import dataclass

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import select

from lpms.db.models import User
from lpms.db.models_web import ApiToken
from lpms.db.session import SqlAlchemyUnitOfWork
from lpms.domain.enums import Role
from lpms.domain.errors import Conflict, InvalidInput, NotFound

USERNAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
MIN_PASSWORD = 8
MAX_PASSWORD = 256
TOKEN_PREFIX = "lpms_"
_HASHER = PasswordHasher()
# verified against when the user does not exist, so a wrong name takes as long as a wrong password
_DUMMY_HASH = _HASHER.hash("not a password of anyone")

DEMO_USERS: tuple[tuple[str, Role, str], ...] = (
    ("supervisor", Role.SUPERVISOR, "supervisor-demo"),
    ("planner", Role.PLANNER, "planner-demo"),
    ("manager", Role.MANAGER, "manager-demo"),
    ("admin", Role.ADMIN, "admin-demo"),
)


@dataclass(frozen=True)
class UserRecord:
    id: int
    username: str
    display_name: str
    role: Role
    active: bool
    created_at: dt.datetime


@dataclass(frozen=True)
class TokenRecord:
    id: int
    username: str
    name: str
    prefix: str
    created_by: str
    created_at: dt.datetime
    revoked_at: dt.datetime | None


@dataclass(frozen=True)
class NewToken:
    record: TokenRecord
    secret: str  # shown once; only its digest is stored


def _user(u: User) -> UserRecord:
    return UserRecord(u.id, u.username, u.display_name, Role(u.role), u.active, u.created_at)


def _token(t: ApiToken, username: str) -> TokenRecord:
    return TokenRecord(t.id, username, t.name, t.prefix, t.created_by, t.created_at, t.revoked_at)


def parse_role(text: str) -> Role:
    try:
        return Role(text.strip().lower())
    except ValueError:
        raise InvalidInput(f"role {text!r} is not one of {', '.join(r.value for r in Role)}") from None


def check_password(password: str) -> None:
    if len(password) < MIN_PASSWORD:
        raise InvalidInput(f"password: at least {MIN_PASSWORD} characters")
    if len(password) > MAX_PASSWORD:
        raise InvalidInput(f"password: at most {MAX_PASSWORD} characters")


def token_digest(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def _find(uow: SqlAlchemyUnitOfWork, username: str, *, lock: bool = False) -> User:
    stmt = select(User).where(User.username == username)
    if lock and uow.session.get_bind().dialect.name == "postgresql":
        stmt = stmt.with_for_update()
    user = uow.session.scalars(stmt).one_or_none()
    if user is None:
        raise NotFound(f"user {username} does not exist")
    return user


def add_user(uow: SqlAlchemyUnitOfWork, username: str, role: Role | str, password: str, *, display_name: str = "",
             actor: str, now: dt.datetime) -> UserRecord:
    """Create a user. Raises InvalidInput (name, role, password), Conflict (the name is taken)."""
    if not USERNAME.match(username):
        raise InvalidInput(f"user name {username!r}: letters, digits, '.', '_' or '-', at most 64, "
                           f"starting with a letter or digit")
    role = parse_role(role) if isinstance(role, str) else role
    check_password(password)
    if len(display_name) > 128:
        raise InvalidInput("display name: at most 128 characters")
    with uow:
        if uow.session.scalars(select(User.id).where(User.username == username)).first() is not None:
            raise Conflict(f"user {username} exists already")
        user = User(username=username, display_name=display_name, role=role, password_hash=_HASHER.hash(password),
                    active=True, created_at=now)
        uow.session.add(user)
        uow.session.flush()
        uow.audit.add(actor=actor, action="add", entity="user", entity_key=username, at=now,
                      detail={"before": None, "after": {"role": role.value, "display_name": display_name,
                                                        "active": True}})
        record = _user(user)
        uow.commit()
    return record


def set_password(uow: SqlAlchemyUnitOfWork, username: str, password: str, *, actor: str,
                 now: dt.datetime) -> UserRecord:
    check_password(password)
    with uow:
        user = _find(uow, username, lock=True)
        user.password_hash = _HASHER.hash(password)
        uow.audit.add(actor=actor, action="set_password", entity="user", entity_key=username, at=now,
                      detail={"before": {"password": "(hidden)"}, "after": {"password": "(changed)"}})
        record = _user(user)
        uow.commit()
    return record


def update_user(uow: SqlAlchemyUnitOfWork, username: str, *, role: Role | str | None = None,
                active: bool | None = None, display_name: str | None = None, actor: str,
                now: dt.datetime) -> UserRecord:
    """Change a user's role, active flag or display name. The last active admin cannot lose
    admin rights or be deactivated (Conflict)."""
    new_role = parse_role(role) if isinstance(role, str) else role
    with uow:
        user = _find(uow, username, lock=True)
        before = {"role": Role(user.role).value, "active": user.active, "display_name": user.display_name}
        losing_admin = Role(user.role) == Role.ADMIN and user.active and (
            (new_role is not None and new_role != Role.ADMIN) or active is False)
        if losing_admin:
            admins = uow.session.scalars(select(User.id).where(User.role == Role.ADMIN, User.active.is_(True))).all()
            if len(admins) <= 1:
                raise Conflict(f"user {username} is the last active admin: make another admin first")
        if new_role is not None:
            user.role = new_role
        if active is not None:
            user.active = active
        if display_name is not None:
            if len(display_name) > 128:
                raise InvalidInput("display name: at most 128 characters")
            user.display_name = display_name
        after = {"role": Role(user.role).value, "active": user.active, "display_name": user.display_name}
        uow.audit.add(actor=actor, action="update", entity="user", entity_key=username, at=now,
                      detail={"before": before, "after": after})
        record = _user(user)
        uow.commit()
    return record


def list_users(uow: SqlAlchemyUnitOfWork) -> list[UserRecord]:
    with uow:
        return [_user(u) for u in uow.session.scalars(select(User).order_by(User.username))]


def get_user(uow: SqlAlchemyUnitOfWork, user_id: int) -> UserRecord | None:
    with uow:
        user = uow.session.get(User, user_id)
        return _user(user) if user is not None else None


def authenticate(uow: SqlAlchemyUnitOfWork, username: str, password: str) -> UserRecord | None:
    """The active user with this name and password, else None (same time either way)."""
    with uow:
        user = uow.session.scalars(select(User).where(User.username == username)).one_or_none()
        stored = user.password_hash if user is not None and user.password_hash else _DUMMY_HASH
        try:
            _HASHER.verify(stored, password)
        except (VerificationError, InvalidHashError):
            return None
        if user is None or not user.active:
            return None
        return _user(user)


def create_token(uow: SqlAlchemyUnitOfWork, username: str, *, name: str = "", actor: str,
                 now: dt.datetime) -> NewToken:
    """A new API token for the user; the secret is returned once and stored as a digest."""
    if len(name) > 128:
        raise InvalidInput("token name: at most 128 characters")
    secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
    with uow:
        user = _find(uow, username)
        token = ApiToken(user_id=user.id, name=name, prefix=secret[:12], token_hash=token_digest(secret),
                         created_by=actor, created_at=now)
        uow.session.add(token)
        uow.session.flush()
        uow.audit.add(actor=actor, action="create_token", entity="api_token", entity_key=str(token.id), at=now,
                      detail={"before": None, "after": {"user": username, "name": name, "prefix": token.prefix}})
        record = _token(token, username)
        uow.commit()
    return NewToken(record, secret)


def revoke_token(uow: SqlAlchemyUnitOfWork, token_id: int, *, actor: str, now: dt.datetime) -> TokenRecord:
    """Revoke a token (idempotent: revoking a revoked token changes nothing). Raises NotFound."""
    with uow:
        token = uow.session.get(ApiToken, token_id)
        if token is None:
            raise NotFound(f"API token {token_id} does not exist")
        user = uow.session.get(User, token.user_id)
        username = user.username if user is not None else "?"
        if token.revoked_at is None:
            token.revoked_at = now
            uow.audit.add(actor=actor, action="revoke_token", entity="api_token", entity_key=str(token_id), at=now,
                          detail={"before": {"revoked": False}, "after": {"revoked": True}, "user": username})
        record = _token(token, username)
        uow.commit()
    return record


def list_tokens(uow: SqlAlchemyUnitOfWork, username: str | None = None) -> list[TokenRecord]:
    with uow:
        stmt = select(ApiToken, User.username).join(User, User.id == ApiToken.user_id).order_by(ApiToken.id)
        if username is not None:
            stmt = stmt.where(User.username == username)
        return [_token(t, name) for t, name in uow.session.execute(stmt)]


def user_for_token(uow: SqlAlchemyUnitOfWork, secret: str) -> UserRecord | None:
    """The active user owning this unrevoked token, else None."""
    if not secret.startswith(TOKEN_PREFIX) or len(secret) > 128:
        return None
    with uow:
        row = uow.session.execute(
            select(User).join(ApiToken, ApiToken.user_id == User.id)
            .where(ApiToken.token_hash == token_digest(secret), ApiToken.revoked_at.is_(None))).scalar_one_or_none()
        user = None if row is None or not row.active else _user(row)
        uow.commit()  # a read: ended by COMMIT, since after a ROLLBACK psycopg drops the connection's prepared statements
        return user


def ensure_demo_users(uow: SqlAlchemyUnitOfWork, *, actor: str, now: dt.datetime) -> list[tuple[str, Role, str]]:
    """Create the demo plant's four users (one per role) where missing; returns name, role, password.
    Only the demo instance calls this: the passwords are public."""
    existing = {u.username for u in list_users(uow)}
    for username, role, password in DEMO_USERS:
        if username not in existing:
            add_user(uow, username, role, password, display_name=f"Demo {role.value}", actor=actor, now=now)
    return list(DEMO_USERS)
