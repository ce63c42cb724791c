"""jobs: job runs by fire time, job requests, the runner lease, stored progress reports

Revision ID: 7e2f1a3b4c50
Revises: 6d1f1a2b3c45
Create Date: 2026-12-04
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "7e2f1a3b4c50"
down_revision = "6d1f1a2b3c45"
branch_labels = None
depends_on = None

ONE_RUN_PER_FIRE = sa.text("status <> 'skipped' AND \"trigger\" = 'schedule'")


def upgrade() -> None:
    op.create_table(
        "job_requests",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("job_id", sa.String(length=64), nullable=False),
        sa.Column("status", sa.Enum("pending", "running", "succeeded", "failed", name="jobrequeststatus",
                                    native_enum=False, create_constraint=True, length=32), nullable=False),
        sa.Column("requested_by", sa.String(length=64), nullable=False),
        sa.Column("requested_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("claimed_by", sa.String(length=128), nullable=False),
        sa.Column("claimed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("message", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_job_requests")),
    )
    with op.batch_alter_table("job_requests", schema=None) as batch_op:
        batch_op.create_index("ix_job_requests_status_id", ["status", "id"], unique=False)

    op.create_table(
        "job_leases",
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("holder", sa.String(length=160), nullable=False),
        sa.Column("acquired_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_job_leases")),
    )

    op.create_table(
        "daily_reports",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("plant_date", sa.Date(), nullable=False),
        sa.Column("as_of", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.String(length=64), nullable=False),
        sa.Column("html_path", sa.String(length=500), nullable=False),
        sa.Column("html_bytes", sa.Integer(), nullable=False),
        sa.Column("data", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_daily_reports")),
    )
    with op.batch_alter_table("daily_reports", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_daily_reports_plant_date"), ["plant_date"], unique=False)

    # job_runs (from the initial schema): the fire it belongs to, what triggered it, who ran it.
    # Runs recorded before this revision get their start as fire time.
    with op.batch_alter_table("job_runs", schema=None) as batch_op:
        batch_op.add_column(sa.Column("fire_time", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column(
            "trigger", sa.Enum("schedule", "request", "manual", name="jobtrigger", native_enum=False,
                               create_constraint=True, length=32),
            nullable=False, server_default="schedule"))
        batch_op.add_column(sa.Column("request_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("runner", sa.String(length=128), nullable=False, server_default=""))
    op.execute("UPDATE job_runs SET fire_time = started_at")
    # a fire recorded twice before the rule existed keeps its first run; the others become skipped
    op.execute("UPDATE job_runs SET status = 'skipped' WHERE status <> 'skipped' AND EXISTS ("
               "SELECT 1 FROM job_runs AS earlier WHERE earlier.job_id = job_runs.job_id "
               "AND earlier.fire_time = job_runs.fire_time AND earlier.status <> 'skipped' "
               "AND earlier.\"trigger\" = 'schedule' AND job_runs.\"trigger\" = 'schedule' "
               "AND earlier.id < job_runs.id)")
    with op.batch_alter_table("job_runs", schema=None) as batch_op:
        batch_op.alter_column("fire_time", existing_type=sa.DateTime(timezone=True), nullable=False)
        batch_op.alter_column("trigger", server_default=None)
        batch_op.alter_column("runner", server_default=None)
        batch_op.create_foreign_key(batch_op.f("fk_job_runs_request_id_job_requests"), "job_requests",
                                    ["request_id"], ["id"], ondelete="SET NULL")
        batch_op.create_index("uq_job_runs_job_id_fire_time", ["job_id", "fire_time"], unique=True,
                              sqlite_where=ONE_RUN_PER_FIRE, postgresql_where=ONE_RUN_PER_FIRE)
        batch_op.create_index(batch_op.f("ix_job_runs_fire_time"), ["fire_time"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("job_runs", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_job_runs_fire_time"))
        batch_op.drop_index("uq_job_runs_job_id_fire_time")
        batch_op.drop_constraint(batch_op.f("fk_job_runs_request_id_job_requests"), type_="foreignkey")
        batch_op.drop_column("runner")
        batch_op.drop_column("request_id")
        batch_op.drop_column("trigger")
        batch_op.drop_column("fire_time")
    with op.batch_alter_table("daily_reports", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_daily_reports_plant_date"))
    op.drop_table("daily_reports")
    op.drop_table("job_leases")
    with op.batch_alter_table("job_requests", schema=None) as batch_op:
        batch_op.drop_index("ix_job_requests_status_id")
    op.drop_table("job_requests")
