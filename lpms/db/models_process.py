"""Models of process management, continued (kit history, fluctuation events, re-plans); imported by lpms.db.models so that Base.metadata holds them."""
from __future__ import annotations
