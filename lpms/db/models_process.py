"""Models of process management, continued: the kit-rate history, fluctuation checks with their
events, and the demand each approved plan run was made for; imported by lpms.db.models so that
Base.metadata holds them."""
from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import Boolean, CheckConstraint, Float, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from lpms.db.models import Base, enum_column
from lpms.domain.enums import FluctuationKind


class KitSnapshot(Base):
    """The complete-assembly rate recorded once per period (at or after its start): the rate of the
    kitting work orders due in that period. ``rate`` is NULL when none was due."""

    __tablename__ = "kit_snapshots"
    __table_args__ = (
        CheckConstraint("rate IS NULL OR (rate >= 0 AND rate <= 1)", name="rate_fraction"),
        CheckConstraint("kitted >= 0 AND kitted <= counted", name="kitted_counted"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    period_seq: Mapped[int] = mapped_column(Integer, unique=True)
    rate: Mapped[float | None] = mapped_column(Float)
    counted: Mapped[int] = mapped_column(Integer)  # kitting work orders due in the period
    kitted: Mapped[int] = mapped_column(Integer)  # of those, with every component available
    recorded_by: Mapped[str] = mapped_column(String(64))
    recorded_at: Mapped[dt.datetime] = mapped_column()  # set by the service, from its ``now``


class FluctuationCheck(Base):
    """One run of fluctuation detection; its findings are the events that reference it."""

    __tablename__ = "fluctuation_checks"
    id: Mapped[int] = mapped_column(primary_key=True)
    checked_at: Mapped[dt.datetime] = mapped_column(index=True)  # set by the service, from its ``now``
    checked_by: Mapped[str] = mapped_column(String(64))
    period_seq: Mapped[int | None] = mapped_column(Integer)  # the current period at the check
    plan_run_id: Mapped[int | None] = mapped_column(ForeignKey("plan_runs.id", ondelete="SET NULL"), index=True)
    findings: Mapped[int] = mapped_column(Integer, default=0)
    triggers_replan: Mapped[bool] = mapped_column(Boolean, default=False)


class FluctuationEvent(Base):
    """A finding of a fluctuation check: what (kind, subject), how much (amount, detail) and
    whether it calls for a re-plan."""

    __tablename__ = "fluctuation_events"
    id: Mapped[int] = mapped_column(primary_key=True)
    check_id: Mapped[int] = mapped_column(ForeignKey("fluctuation_checks.id", ondelete="CASCADE"), index=True)
    kind: Mapped[FluctuationKind] = mapped_column(enum_column(FluctuationKind))
    subject: Mapped[str] = mapped_column(String(128))
    amount: Mapped[float] = mapped_column(Float)
    detail: Mapped[dict[str, Any]] = mapped_column(default=dict)
    triggers_replan: Mapped[bool] = mapped_column(Boolean)
    detected_at: Mapped[dt.datetime] = mapped_column(index=True)


class DemandBaseline(Base):
    """The demand (open customer orders and forecasts) an approved plan run is compared against
    by fluctuation detection, with a fingerprint (SHA-256 of its canonical JSON)."""

    __tablename__ = "demand_baselines"
    id: Mapped[int] = mapped_column(primary_key=True)
    plan_run_id: Mapped[int] = mapped_column(ForeignKey("plan_runs.id", ondelete="CASCADE"), unique=True)
    fingerprint: Mapped[str] = mapped_column(String(64))
    orders: Mapped[dict[str, Any]] = mapped_column(default=dict)
    forecasts: Mapped[dict[str, Any]] = mapped_column(default=dict)
    recorded_at: Mapped[dt.datetime] = mapped_column()
