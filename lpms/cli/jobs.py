"""`lpms jobs run|list|run-once`: the scheduled jobs process (docs/jobs.md)."""
from __future__ import annotations

import argparse
from typing import Any


def register(sub: Any, common: argparse.ArgumentParser) -> None:
    """Add this module's commands to the `lpms` parser (none yet)."""
