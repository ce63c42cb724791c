"""Models of the web application (API tokens); imported by lpms.db.models so that Base.metadata holds them."""
from __future__ import annotations
