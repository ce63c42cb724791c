"""process management, continued: kit-rate history, fluctuation checks and events, the demand
baseline of approved plan runs

Revision ID: 6d1e0f2a3b40
Revises: 5c2d8e4f7a10
Create Date: 2026-12-03
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "6d1e0f2a3b40"
down_revision = "5c2d8e4f7a10"
branch_labels = None
depends_on = None

KINDS = ("behind_plan", "kit_rate", "buffer_below_safety", "order_new", "order_changed", "order_cancelled",
         "forecast_changed", "downtime", "scrap")


def upgrade() -> None:
    op.create_table(
        "kit_snapshots",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("period_seq", sa.Integer(), nullable=False),
        sa.Column("rate", sa.Float(), nullable=True),
        sa.Column("counted", sa.Integer(), nullable=False),
        sa.Column("kitted", sa.Integer(), nullable=False),
        sa.Column("recorded_by", sa.String(length=64), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("kitted >= 0 AND kitted <= counted", name=op.f("ck_kit_snapshots_kitted_counted")),
        sa.CheckConstraint("rate IS NULL OR (rate >= 0 AND rate <= 1)", name=op.f("ck_kit_snapshots_rate_fraction")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_kit_snapshots")),
        sa.UniqueConstraint("period_seq", name=op.f("uq_kit_snapshots_period_seq")),
    )
    op.create_table(
        "demand_baselines",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("plan_run_id", sa.Integer(), nullable=False),
        sa.Column("fingerprint", sa.String(length=64), nullable=False),
        sa.Column("orders", sa.JSON(), nullable=False),
        sa.Column("forecasts", sa.JSON(), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["plan_run_id"], ["plan_runs.id"],
                                name=op.f("fk_demand_baselines_plan_run_id_plan_runs"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_demand_baselines")),
        sa.UniqueConstraint("plan_run_id", name=op.f("uq_demand_baselines_plan_run_id")),
    )
    op.create_table(
        "fluctuation_checks",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("checked_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("checked_by", sa.String(length=64), nullable=False),
        sa.Column("period_seq", sa.Integer(), nullable=True),
        sa.Column("plan_run_id", sa.Integer(), nullable=True),
        sa.Column("findings", sa.Integer(), nullable=False),
        sa.Column("triggers_replan", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(["plan_run_id"], ["plan_runs.id"],
                                name=op.f("fk_fluctuation_checks_plan_run_id_plan_runs"), ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_fluctuation_checks")),
    )
    with op.batch_alter_table("fluctuation_checks") as batch_op:
        batch_op.create_index(batch_op.f("ix_fluctuation_checks_checked_at"), ["checked_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_fluctuation_checks_plan_run_id"), ["plan_run_id"], unique=False)
    op.create_table(
        "fluctuation_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("check_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.Enum(*KINDS, name="fluctuationkind", native_enum=False, create_constraint=True,
                                  length=32), nullable=False),
        sa.Column("subject", sa.String(length=128), nullable=False),
        sa.Column("amount", sa.Float(), nullable=False),
        sa.Column("detail", sa.JSON(), nullable=False),
        sa.Column("triggers_replan", sa.Boolean(), nullable=False),
        sa.Column("detected_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["check_id"], ["fluctuation_checks.id"],
                                name=op.f("fk_fluctuation_events_check_id_fluctuation_checks"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_fluctuation_events")),
    )
    with op.batch_alter_table("fluctuation_events") as batch_op:
        batch_op.create_index(batch_op.f("ix_fluctuation_events_check_id"), ["check_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_fluctuation_events_detected_at"), ["detected_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("fluctuation_events") as batch_op:
        batch_op.drop_index(batch_op.f("ix_fluctuation_events_detected_at"))
        batch_op.drop_index(batch_op.f("ix_fluctuation_events_check_id"))
    op.drop_table("fluctuation_events")
    with op.batch_alter_table("fluctuation_checks") as batch_op:
        batch_op.drop_index(batch_op.f("ix_fluctuation_checks_plan_run_id"))
        batch_op.drop_index(batch_op.f("ix_fluctuation_checks_checked_at"))
    op.drop_table("fluctuation_checks")
    op.drop_table("demand_baselines")
    op.drop_table("kit_snapshots")
