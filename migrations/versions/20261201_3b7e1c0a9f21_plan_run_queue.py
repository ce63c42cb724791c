"""plan runs can be queued: status 'queued', started_at

Revision ID: 3b7e1c0a9f21
Revises: 92de90c27a21
Create Date: 2026-12-01
"""
from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import op

revision = "3b7e1c0a9f21"
down_revision = "92de90c27a21"
branch_labels = None
depends_on = None

OLD = ("running", "succeeded", "infeasible", "failed", "approved", "superseded")
NEW = ("queued",) + OLD


def _alter() -> Any:
    return op.batch_alter_table(
        "plan_runs", recreate="auto",
        reflect_args=[sa.Column("status", sa.String(length=32), nullable=False)])


def _replace_check(batch_op: Any, values: tuple[str, ...]) -> None:
    batch_op.drop_constraint(op.f("ck_plan_runs_planrunstatus"), type_="check")
    batch_op.create_check_constraint(
        op.f("ck_plan_runs_planrunstatus"), "status IN (" + ", ".join(f"'{v}'" for v in values) + ")")


def upgrade() -> None:
    with _alter() as batch_op:
        _replace_check(batch_op, NEW)
        batch_op.add_column(sa.Column("started_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    op.execute("UPDATE plan_runs SET status = 'failed' WHERE status = 'queued'")
    with _alter() as batch_op:
        _replace_check(batch_op, OLD)
        batch_op.drop_column("started_at")
