"""Models of the web application (API tokens); imported by lpms.db.models so that Base.metadata holds them.

A token is shown once, when it is created; only its SHA-256 digest is stored (tokens are 256
random bits, so a fast digest is enough: there is nothing to guess), with its first characters
so a person can tell tokens apart.
"""
from __future__ import annotations

import datetime as dt

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from lpms.db.models import Base


class ApiToken(Base):
    __tablename__ = "api_tokens"
    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(128), default="")
    prefix: Mapped[str] = mapped_column(String(16))  # the token's first characters, for display
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)  # SHA-256 hex of the whole token
    created_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[dt.datetime] = mapped_column()  # set by the service, from its ``now``
    revoked_at: Mapped[dt.datetime | None] = mapped_column()
