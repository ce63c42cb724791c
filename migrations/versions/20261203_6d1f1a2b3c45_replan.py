"""re-planning: what triggered a plan run, its diff against the previous approved plan

Revision ID: 6d1f1a2b3c45
Revises: 6d1e0f2a3b40
Create Date: 2026-12-03
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "6d1f1a2b3c45"
down_revision = "6d1e0f2a3b40"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "replans",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("plan_run_id", sa.Integer(), nullable=False),
        sa.Column("previous_run_id", sa.Integer(), nullable=True),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("first_period", sa.Integer(), nullable=False),
        sa.Column("frozen_periods", sa.JSON(), nullable=False),
        sa.Column("nervousness_cost", sa.Float(), nullable=False),
        sa.Column("units_moved", sa.Float(), nullable=True),
        sa.Column("approved", sa.Boolean(), nullable=False),
        sa.Column("released", sa.Integer(), nullable=False),
        sa.Column("created_by", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("released >= 0", name=op.f("ck_replans_released_nonneg")),
        sa.CheckConstraint("units_moved IS NULL OR units_moved >= 0", name=op.f("ck_replans_units_moved_nonneg")),
        sa.ForeignKeyConstraint(["plan_run_id"], ["plan_runs.id"], name=op.f("fk_replans_plan_run_id_plan_runs"),
                                ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["previous_run_id"], ["plan_runs.id"],
                                name=op.f("fk_replans_previous_run_id_plan_runs"), ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_replans")),
        sa.UniqueConstraint("plan_run_id", name=op.f("uq_replans_plan_run_id")),
    )
    op.create_index(op.f("ix_replans_created_at"), "replans", ["created_at"], unique=False)
    op.create_index(op.f("ix_replans_previous_run_id"), "replans", ["previous_run_id"], unique=False)
    op.create_table(
        "replan_changes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("replan_id", sa.Integer(), nullable=False),
        sa.Column("interval_code", sa.String(length=128), nullable=False),
        sa.Column("period_seq", sa.Integer(), nullable=False),
        sa.Column("old", sa.Float(), nullable=False),
        sa.Column("new", sa.Float(), nullable=False),
        sa.Column("change", sa.Float(), nullable=False),
        sa.Column("frozen", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(["replan_id"], ["replans.id"], name=op.f("fk_replan_changes_replan_id_replans"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_replan_changes")),
        sa.UniqueConstraint("replan_id", "interval_code", "period_seq",
                            name=op.f("uq_replan_changes_replan_id_interval_code_period_seq")),
    )
    op.create_index(op.f("ix_replan_changes_replan_id"), "replan_changes", ["replan_id"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_replan_changes_replan_id"), table_name="replan_changes")
    op.drop_table("replan_changes")
    op.drop_index(op.f("ix_replans_previous_run_id"), table_name="replans")
    op.drop_index(op.f("ix_replans_created_at"), table_name="replans")
    op.drop_table("replans")
