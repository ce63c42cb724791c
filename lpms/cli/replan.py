"""`lpms replan`: re-plan from the plant's real state with minimal change (docs/process.md)."""
from __future__ import annotations

import argparse
from typing import Any


def register(sub: Any, common: argparse.ArgumentParser) -> None:
    """Add this module's commands to the `lpms` parser (none yet)."""
