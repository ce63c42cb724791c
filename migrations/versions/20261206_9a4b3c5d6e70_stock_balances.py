"""stock_balances: the sum of each item's stock moves, kept with every move

Revision ID: 9a4b3c5d6e70
Revises: 8f3a2b4c5d60
Create Date: 2026-12-06
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "9a4b3c5d6e70"
down_revision = "8f3a2b4c5d60"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "stock_balances",
        sa.Column("item_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("moved", sa.Float(), nullable=False),
        sa.ForeignKeyConstraint(["item_id"], ["items.id"], name=op.f("fk_stock_balances_item_id_items"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("item_id", name=op.f("pk_stock_balances")),
    )
    # the ledger so far. PostgreSQL: no move may be posted while it is summed (a move committed
    # after the sum would never reach its balance); SHARE mode waits for open writers and holds
    # new ones until the migration commits. Stop the servers and jobs for the upgrade anyway:
    # a process still running the previous version would post moves without balances.
    if op.get_bind().dialect.name == "postgresql":
        op.execute("LOCK TABLE stock_moves IN SHARE MODE")
    op.execute("INSERT INTO stock_balances (item_id, moved) "
               "SELECT item_id, sum(quantity) FROM stock_moves GROUP BY item_id")


def downgrade() -> None:
    op.drop_table("stock_balances")
