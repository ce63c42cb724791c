"""re-planning: what triggered a plan run, its diff against the previous approved plan

Revision ID: 6d1f1a2b3c45
Revises: 6d1e0f2a3b40
Create Date: 2026-12-03
"""
from __future__ import annotations

revision = "6d1f1a2b3c45"
down_revision = "6d1e0f2a3b40"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
