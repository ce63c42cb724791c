"""Models of re-planning (what triggered a plan run, its diff); imported by lpms.db.models so that Base.metadata holds them.

A re-plan is a plan run (``plan_runs``) with one ``replans`` row: why it ran, where its horizon
started, which periods were frozen, the previous approved run it was compared with, how many
units it moved, and whether it was approved and released. ``replan_changes`` holds its diff
against the previous approved plan: one row per interval and period whose production changed
(docs/replan.md)."""
from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import JSON, Boolean, CheckConstraint, Float, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from lpms.db.models import Base


class Replan(Base):
    """Why a plan run was made as a re-plan, and what it changed."""

    __tablename__ = "replans"
    __table_args__ = (
        CheckConstraint("units_moved IS NULL OR units_moved >= 0", name="units_moved_nonneg"),
        CheckConstraint("released >= 0", name="released_nonneg"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    plan_run_id: Mapped[int] = mapped_column(ForeignKey("plan_runs.id", ondelete="CASCADE"), unique=True)
    previous_run_id: Mapped[int | None] = mapped_column(ForeignKey("plan_runs.id", ondelete="SET NULL"), index=True)
    reason: Mapped[str] = mapped_column(Text, default="")  # e.g. "nightly" or "fluctuations 12, 13"
    first_period: Mapped[int] = mapped_column(Integer)  # the current period: the plan's first
    frozen_periods: Mapped[list[Any]] = mapped_column(JSON, default=list)  # released period seqs in the horizon
    nervousness_cost: Mapped[float] = mapped_column(Float, default=0.0)
    units_moved: Mapped[float | None] = mapped_column(Float)  # NULL when the re-plan has no plan
    approved: Mapped[bool] = mapped_column(Boolean, default=False)
    released: Mapped[int] = mapped_column(Integer, default=0)  # work orders created by its release
    created_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[dt.datetime] = mapped_column(index=True)  # set by the service, from its ``now``


class ReplanChange(Base):
    """One interval and period whose production the re-plan changed against the previous plan."""

    __tablename__ = "replan_changes"
    __table_args__ = (UniqueConstraint("replan_id", "interval_code", "period_seq"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    replan_id: Mapped[int] = mapped_column(ForeignKey("replans.id", ondelete="CASCADE"), index=True)
    interval_code: Mapped[str] = mapped_column(String(128))
    period_seq: Mapped[int] = mapped_column(Integer)
    old: Mapped[float] = mapped_column(Float)
    new: Mapped[float] = mapped_column(Float)
    change: Mapped[float] = mapped_column(Float)  # new - old
    frozen: Mapped[bool] = mapped_column(Boolean, default=False)  # inside the fence: fixed to released work
