"""process management, continued: kit-rate history, fluctuation events, re-plan trigger and diff

Revision ID: 6d1e0f2a3b40
Revises: 5c2d8e4f7a10
Create Date: 2026-12-03
"""
from __future__ import annotations

revision = "6d1e0f2a3b40"
down_revision = "5c2d8e4f7a10"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
