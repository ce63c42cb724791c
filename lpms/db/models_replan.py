"""Models of re-planning (what triggered a plan run, its diff); imported by lpms.db.models so that Base.metadata holds them."""
from __future__ import annotations
