"""The range of values LPMS plans with, in one place (documented in docs/csv-formats.md and
docs/scenario-format.md). Larger or smaller numbers are rejected on input, so that no solver
ever meets a value it cannot take."""
from __future__ import annotations

MAX_QUANTITY = 1_000_000_000  # units: orders, forecasts, stock, receipts, safety stock
MAX_QTY_PER = 1_000_000  # a BOM line, and the product of qty_per along any BOM path
MIN_NONZERO = 0.000_001  # smallest non-zero number (and smallest product along a BOM path)
MAX_RUN_MIN = 1_000_000  # run_min, setup_min: minutes per unit / per period
MAX_CAPACITY_MIN = 1_000_000_000  # regular_min, overtime_min: minutes per period
MAX_PERIOD = 10_000  # period numbers and counts; lead times and offset windows in periods
MAX_SEQUENCE = 1_000_000  # routing sequence numbers
MAX_PRIORITY = 1_000_000  # order priority, -MAX_PRIORITY .. MAX_PRIORITY
MAX_COST = 1_000_000_000  # a cost coefficient (late, balance, inventory, overtime)
