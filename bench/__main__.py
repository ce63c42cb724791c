"""Run a benchmark: python -m bench horizon | plan_scale | balance | process | http_reports [options]."""
from __future__ import annotations

import importlib
import sys

BENCHES = {"horizon": "bench.plan_horizon", "plan_scale": "bench.plan_scale", "balance": "bench.balance",
           "process": "bench.process", "http_reports": "bench.http_reports"}

if __name__ == "__main__":
    if len(sys.argv) < 2 or sys.argv[1] not in BENCHES:
        raise SystemExit(f"usage: python -m bench {{{'|'.join(BENCHES)}}} [options]")
    module = importlib.import_module(BENCHES[sys.argv[1]])
    raise SystemExit(module.main(sys.argv[2:]))
