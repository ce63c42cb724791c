"""Models of the jobs process (job runs, job requests, the runner lease, stored reports); imported by lpms.db.models so that Base.metadata holds them."""
from __future__ import annotations
