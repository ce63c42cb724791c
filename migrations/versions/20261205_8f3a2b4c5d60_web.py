"""web: API tokens, audit before/after

Revision ID: 8f3a2b4c5d60
Revises: 7e2f1a3b4c50
Create Date: 2026-12-05
"""
from __future__ import annotations

revision = "8f3a2b4c5d60"
down_revision = "7e2f1a3b4c50"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
