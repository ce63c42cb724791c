"""process management: work orders with operations and components, released periods,
completion corrections, downtime per period, the stock ledger

Revision ID: 5c2d8e4f7a10
Revises: 3b7e1c0a9f21
Create Date: 2026-12-02
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "5c2d8e4f7a10"
down_revision = "3b7e1c0a9f21"
branch_labels = None
depends_on = None

MOVE_KINDS = ("receipt", "output", "issue", "shipment", "adjustment")
SIGN = ("(corrects_id IS NULL AND good_qty >= 0 AND scrap_qty >= 0) OR "
        "(corrects_id IS NOT NULL AND good_qty <= 0 AND scrap_qty <= 0)")


def upgrade() -> None:
    op.create_table(
        "period_releases",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("period_seq", sa.Integer(), nullable=False),
        sa.Column("plan_run_id", sa.Integer(), nullable=True),
        sa.Column("released_by", sa.String(length=64), nullable=False),
        sa.Column("released_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["plan_run_id"], ["plan_runs.id"], name=op.f("fk_period_releases_plan_run_id_plan_runs"),
                                ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_period_releases")),
        sa.UniqueConstraint("period_seq", name=op.f("uq_period_releases_period_seq")),
    )
    with op.batch_alter_table("period_releases") as batch_op:
        batch_op.create_index(batch_op.f("ix_period_releases_plan_run_id"), ["plan_run_id"], unique=False)

    # work orders: the planned start and the due period, who released them, short-close reason
    with op.batch_alter_table("work_orders") as batch_op:
        batch_op.alter_column("period_seq", new_column_name="start_period_seq", existing_type=sa.Integer(),
                              existing_nullable=False)
        batch_op.add_column(sa.Column("due_period_seq", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("priority", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("close_reason", sa.Text(), nullable=True))
        batch_op.add_column(sa.Column("created_by", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True))
    op.execute("UPDATE work_orders SET due_period_seq = start_period_seq, priority = 0, created_by = 'system'")
    with op.batch_alter_table("work_orders") as batch_op:
        batch_op.alter_column("due_period_seq", existing_type=sa.Integer(), nullable=False)
        batch_op.alter_column("priority", existing_type=sa.Integer(), nullable=False)
        batch_op.alter_column("created_by", existing_type=sa.String(length=64), nullable=False)
        batch_op.create_unique_constraint(batch_op.f("uq_work_orders_interval_code_start_period_seq"),
                                          ["interval_code", "start_period_seq"])
        batch_op.create_check_constraint(op.f("ck_work_orders_due_not_before_start"),
                                         "due_period_seq >= start_period_seq")

    op.create_table(
        "work_order_operations",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("work_order_id", sa.Integer(), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("item_id", sa.Integer(), nullable=False),
        sa.Column("routing_seq", sa.Integer(), nullable=False),
        sa.Column("work_center_id", sa.Integer(), nullable=False),
        sa.Column("run_min", sa.Float(), nullable=False),
        sa.Column("setup_min", sa.Float(), nullable=False),
        sa.Column("good_qty", sa.Float(), nullable=False),
        sa.Column("scrap_qty", sa.Float(), nullable=False),
        sa.CheckConstraint("run_min >= 0", name=op.f("ck_work_order_operations_run_nonneg")),
        sa.CheckConstraint("setup_min >= 0", name=op.f("ck_work_order_operations_setup_nonneg")),
        sa.CheckConstraint("good_qty >= 0", name=op.f("ck_work_order_operations_good_nonneg")),
        sa.CheckConstraint("scrap_qty >= 0", name=op.f("ck_work_order_operations_scrap_nonneg")),
        sa.ForeignKeyConstraint(["work_order_id"], ["work_orders.id"],
                                name=op.f("fk_work_order_operations_work_order_id_work_orders"), ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["item_id"], ["items.id"], name=op.f("fk_work_order_operations_item_id_items"),
                                ondelete="RESTRICT"),
        sa.ForeignKeyConstraint(["work_center_id"], ["work_centers.id"],
                                name=op.f("fk_work_order_operations_work_center_id_work_centers"), ondelete="RESTRICT"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_work_order_operations")),
        sa.UniqueConstraint("work_order_id", "seq", name=op.f("uq_work_order_operations_work_order_id_seq")),
    )
    with op.batch_alter_table("work_order_operations") as batch_op:
        batch_op.create_index(batch_op.f("ix_work_order_operations_work_center_id"), ["work_center_id"], unique=False)

    op.create_table(
        "work_order_components",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("work_order_id", sa.Integer(), nullable=False),
        sa.Column("item_id", sa.Integer(), nullable=False),
        sa.Column("qty_per", sa.Float(), nullable=False),
        sa.CheckConstraint("qty_per > 0", name=op.f("ck_work_order_components_qty_per_positive")),
        sa.ForeignKeyConstraint(["work_order_id"], ["work_orders.id"],
                                name=op.f("fk_work_order_components_work_order_id_work_orders"), ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["item_id"], ["items.id"], name=op.f("fk_work_order_components_item_id_items"),
                                ondelete="RESTRICT"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_work_order_components")),
        sa.UniqueConstraint("work_order_id", "item_id", name=op.f("uq_work_order_components_work_order_id_item_id")),
    )
    with op.batch_alter_table("work_order_components") as batch_op:
        batch_op.create_index(batch_op.f("ix_work_order_components_item_id"), ["item_id"], unique=False)

    # completion reports: corrections reverse a report (negated quantities, at most one per report)
    op.execute("UPDATE completion_reports SET operation_seq = 10 WHERE operation_seq IS NULL")
    with op.batch_alter_table("completion_reports") as batch_op:
        batch_op.add_column(sa.Column("corrects_id", sa.Integer(), nullable=True))
        batch_op.alter_column("operation_seq", existing_type=sa.Integer(), nullable=False)
        batch_op.drop_constraint(op.f("ck_completion_reports_good_nonneg"), type_="check")
        batch_op.drop_constraint(op.f("ck_completion_reports_scrap_nonneg"), type_="check")
        batch_op.create_check_constraint(op.f("ck_completion_reports_sign"), SIGN)
        batch_op.create_unique_constraint(batch_op.f("uq_completion_reports_corrects_id"), ["corrects_id"])
        batch_op.create_foreign_key(batch_op.f("fk_completion_reports_corrects_id_completion_reports"),
                                    "completion_reports", ["corrects_id"], ["id"], ondelete="RESTRICT")

    # downtime reports: the period whose capacity they reduce
    with op.batch_alter_table("downtime_reports") as batch_op:
        batch_op.add_column(sa.Column("period_seq", sa.Integer(), nullable=True))
    op.execute("UPDATE downtime_reports SET period_seq = 1")
    with op.batch_alter_table("downtime_reports") as batch_op:
        batch_op.alter_column("period_seq", existing_type=sa.Integer(), nullable=False)
        batch_op.create_index(batch_op.f("ix_downtime_reports_period_seq"), ["period_seq"], unique=False)

    op.create_table(
        "stock_moves",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("item_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.Enum(*MOVE_KINDS, name="stockmovekind", native_enum=False, create_constraint=True,
                                  length=32), nullable=False),
        sa.Column("quantity", sa.Float(), nullable=False),
        sa.Column("work_order_id", sa.Integer(), nullable=True),
        sa.Column("completion_report_id", sa.Integer(), nullable=True),
        sa.Column("customer_order_id", sa.Integer(), nullable=True),
        sa.Column("reference", sa.String(length=64), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("posted_by", sa.String(length=64), nullable=False),
        sa.Column("posted_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("quantity <> 0", name=op.f("ck_stock_moves_quantity_nonzero")),
        sa.ForeignKeyConstraint(["item_id"], ["items.id"], name=op.f("fk_stock_moves_item_id_items"),
                                ondelete="RESTRICT"),
        sa.ForeignKeyConstraint(["work_order_id"], ["work_orders.id"], name=op.f("fk_stock_moves_work_order_id_work_orders"),
                                ondelete="RESTRICT"),
        sa.ForeignKeyConstraint(["completion_report_id"], ["completion_reports.id"],
                                name=op.f("fk_stock_moves_completion_report_id_completion_reports"), ondelete="RESTRICT"),
        sa.ForeignKeyConstraint(["customer_order_id"], ["customer_orders.id"],
                                name=op.f("fk_stock_moves_customer_order_id_customer_orders"), ondelete="RESTRICT"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_stock_moves")),
    )
    with op.batch_alter_table("stock_moves") as batch_op:
        batch_op.create_index(batch_op.f("ix_stock_moves_item_id"), ["item_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_stock_moves_work_order_id"), ["work_order_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_stock_moves_completion_report_id"), ["completion_report_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_stock_moves_customer_order_id"), ["customer_order_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("stock_moves") as batch_op:
        batch_op.drop_index(batch_op.f("ix_stock_moves_customer_order_id"))
        batch_op.drop_index(batch_op.f("ix_stock_moves_completion_report_id"))
        batch_op.drop_index(batch_op.f("ix_stock_moves_work_order_id"))
        batch_op.drop_index(batch_op.f("ix_stock_moves_item_id"))
    op.drop_table("stock_moves")

    with op.batch_alter_table("downtime_reports") as batch_op:
        batch_op.drop_index(batch_op.f("ix_downtime_reports_period_seq"))
        batch_op.drop_column("period_seq")

    # corrections cannot be kept without corrects_id: the corrected report and its correction go
    op.execute("DELETE FROM completion_reports WHERE corrects_id IS NOT NULL")
    with op.batch_alter_table("completion_reports") as batch_op:
        batch_op.drop_constraint(batch_op.f("fk_completion_reports_corrects_id_completion_reports"), type_="foreignkey")
        batch_op.drop_constraint(batch_op.f("uq_completion_reports_corrects_id"), type_="unique")
        batch_op.drop_constraint(op.f("ck_completion_reports_sign"), type_="check")
        batch_op.create_check_constraint(op.f("ck_completion_reports_good_nonneg"), "good_qty >= 0")
        batch_op.create_check_constraint(op.f("ck_completion_reports_scrap_nonneg"), "scrap_qty >= 0")
        batch_op.alter_column("operation_seq", existing_type=sa.Integer(), nullable=True)
        batch_op.drop_column("corrects_id")

    with op.batch_alter_table("work_order_components") as batch_op:
        batch_op.drop_index(batch_op.f("ix_work_order_components_item_id"))
    op.drop_table("work_order_components")
    with op.batch_alter_table("work_order_operations") as batch_op:
        batch_op.drop_index(batch_op.f("ix_work_order_operations_work_center_id"))
    op.drop_table("work_order_operations")

    with op.batch_alter_table("work_orders") as batch_op:
        batch_op.drop_constraint(op.f("ck_work_orders_due_not_before_start"), type_="check")
        batch_op.drop_constraint(batch_op.f("uq_work_orders_interval_code_start_period_seq"), type_="unique")
        batch_op.drop_column("finished_at")
        batch_op.drop_column("created_by")
        batch_op.drop_column("close_reason")
        batch_op.drop_column("priority")
        batch_op.drop_column("due_period_seq")
        batch_op.alter_column("start_period_seq", new_column_name="period_seq", existing_type=sa.Integer(),
                              existing_nullable=False)

    with op.batch_alter_table("period_releases") as batch_op:
        batch_op.drop_index(batch_op.f("ix_period_releases_plan_run_id"))
    op.drop_table("period_releases")
